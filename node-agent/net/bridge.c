/*
 * bridge.c — network `bridge`: two containers on a Linux bridge, same host.
 *
 * What Docker's default network does, minus NAT: in the agent's namespace a
 * bridge "cntb<run>-br" holding 198.19.S.1/24, and per container a namespace
 * (cntb-<testbed>-<run>-client / -server) whose "eth0" is one end of a veth
 * pair; the other end, "cntb<run>-c" / "cntb<run>-s", is a port of the
 * bridge.  The client is 198.19.S.2, the server 198.19.S.3, with
 * S = run % 254 + 1: a host runs one run at a time, so the subnet only has
 * to differ from the emulated underlay (198.18.X.0/24), which it does.
 *
 * The container end is created directly inside its namespace under its final
 * name: the kernel checks "eth0" against the target namespace's names only.
 * Setup completes what exists (a repeated step after a reconnect succeeds);
 * teardown deletes the veths first, because a deleted namespace frees its
 * links asynchronously and the leak check right after would still see them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "netkind.h"
#include "nl.h"

/* The names and addresses of one run. */
struct bridge_plan {
    char br[32], veth_c[32], veth_s[32];  /* links in the agent's namespace */
    char ns_c[64], ns_s[64];              /* container namespaces */
    char br_cidr[32], c_cidr[32], s_cidr[32], s_addr[16];
};

static int bridge_plan(const netkind_ctx_t *ctx, struct bridge_plan *p, char *err)
{
    int s;

    if (ctx->run < 1) {
        snprintf(err, NETKIND_ERR_MAX, "network bridge: run %" PRId64 ": must be >= 1", ctx->run);
        return -1;
    }
    snprintf(p->br, sizeof(p->br), "cntb%" PRId64 "-br", ctx->run);
    snprintf(p->veth_c, sizeof(p->veth_c), "cntb%" PRId64 "-c", ctx->run);
    snprintf(p->veth_s, sizeof(p->veth_s), "cntb%" PRId64 "-s", ctx->run);
    if (!nl_ifname_valid(p->br)) {
        snprintf(err, NETKIND_ERR_MAX,
                 "network bridge: run %" PRId64 ": link name %s is longer than 15 bytes",
                 ctx->run, p->br);
        return -1;
    }
    netkind_netns_name(p->ns_c, ctx->testbed, ctx->run, "client");
    netkind_netns_name(p->ns_s, ctx->testbed, ctx->run, "server");
    s = (int)(ctx->run % 254) + 1;
    snprintf(p->br_cidr, sizeof(p->br_cidr), "198.19.%d.1/24", s);
    snprintf(p->c_cidr, sizeof(p->c_cidr), "198.19.%d.2/24", s);
    snprintf(p->s_cidr, sizeof(p->s_cidr), "198.19.%d.3/24", s);
    snprintf(p->s_addr, sizeof(p->s_addr), "198.19.%d.3", s);
    return 0;
}

static int bridge_capability(char *reason, size_t len)
{
    if (reason && len)
        reason[0] = '\0';
    return 1;
}

static bool bridge_supports(const char *placement)
{
    return placement && strcmp(placement, "same-host") == 0;
}

/* Builds one container: namespace, veth on the bridge, address, all up. */
static int bridge_container(const struct bridge_plan *p, const char *ns, const char *veth,
                            const char *cidr, char *err)
{
    int rc;

    if (netns_create(ns, true, err) < 0)
        return -1;
    rc = nl_link_exists(NULL, veth, err);
    if (rc < 0)
        return -1;
    if (rc == 0 && nl_veth_add(NULL, veth, "eth0", ns, 0, err) < 0)
        return -1;
    if (nl_link_set_master(NULL, veth, p->br, err) < 0 || nl_link_up(NULL, veth, err) < 0)
        return -1;
    if (nl_addr_add(ns, "eth0", cidr, err) < 0 || nl_link_up(ns, "eth0", err) < 0)
        return -1;
    return 0;
}

static int bridge_setup(netkind_ctx_t *ctx, char *err)
{
    struct bridge_plan p;
    char nlerr[NL_ERR_MAX];
    int rc, mtu;

    if (bridge_plan(ctx, &p, err) < 0)
        return -1;
    rc = nl_link_exists(NULL, p.br, nlerr);
    if (rc < 0)
        goto fail;
    if (rc == 0 && nl_bridge_add(NULL, p.br, 0, nlerr) < 0)
        goto fail;
    if (nl_addr_add(NULL, p.br, p.br_cidr, nlerr) < 0 || nl_link_up(NULL, p.br, nlerr) < 0)
        goto fail;
    if (ctx->has_client && bridge_container(&p, p.ns_c, p.veth_c, p.c_cidr, nlerr) < 0)
        goto fail;
    if (ctx->has_server && bridge_container(&p, p.ns_s, p.veth_s, p.s_cidr, nlerr) < 0)
        goto fail;
    mtu = nl_link_mtu(NULL, p.br, nlerr);
    if (mtu < 0)
        goto fail;
    snprintf(ctx->client_netns, sizeof(ctx->client_netns), "%s", p.ns_c);
    snprintf(ctx->server_netns, sizeof(ctx->server_netns), "%s", p.ns_s);
    snprintf(ctx->server_addr, sizeof(ctx->server_addr), "%s", p.s_addr);
    ctx->mtu = mtu;
    return 0;
fail:
    snprintf(err, NETKIND_ERR_MAX, "network bridge: run %" PRId64 ": %.200s", ctx->run, nlerr);
    return -1;
}

static int bridge_teardown(netkind_ctx_t *ctx, char *err)
{
    struct bridge_plan p;
    char nlerr[NL_ERR_MAX];
    const char *links[3], *nss[2];
    int ret = 0;
    size_t i;

    if (bridge_plan(ctx, &p, err) < 0)
        return -1;
    links[0] = p.veth_c;
    links[1] = p.veth_s;
    links[2] = p.br;
    nss[0] = p.ns_c;
    nss[1] = p.ns_s;
    /* Try everything; report the first failure. */
    for (i = 0; i < 3; i++)
        if (nl_link_del(NULL, links[i], nlerr) < 0 && ret == 0) {
            snprintf(err, NETKIND_ERR_MAX, "network bridge: run %" PRId64 ": %.200s", ctx->run, nlerr);
            ret = -1;
        }
    for (i = 0; i < 2; i++)
        if (netns_delete(nss[i], nlerr) < 0 && ret == 0) {
            snprintf(err, NETKIND_ERR_MAX, "network bridge: run %" PRId64 ": %.200s", ctx->run, nlerr);
            ret = -1;
        }
    return ret;
}

const netkind_t netkind_bridge = {
    .name = "bridge",
    .capability = bridge_capability,
    .supports = bridge_supports,
    .setup = bridge_setup,
    .teardown = bridge_teardown,
};
