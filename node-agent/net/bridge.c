/*
 * bridge.c — network `bridge`: containers on a Linux bridge, same host.
 *
 * What Docker's default network does, minus NAT: in the agent's namespace a
 * bridge "cntb<run>-br" holding 198.19.S.1/24 (netkind_subnet), and per
 * container a namespace (cntb-<testbed>-<run>-client<i> / -server<i>; pair
 * 0 without the number) whose "eth0" is one end of a veth pair; the other
 * end, "cntb<run>-c<i>" / "cntb<run>-s<i>" (pair 0: "-c" / "-s"), is a port
 * of the bridge.  Pair i's client is .(2+2i), its server .(3+2i).
 *
 * Each container costs two netlink round trips (nl_port_add: the veth is
 * born with its container end inside the namespace, its host end on the
 * bridge and up; then eth0 up and addressed from inside).  Setup completes
 * what exists (a repeated step after a reconnect succeeds).  The MTU asked
 * for is set on both veth ends (68..65535, veth's ETH_MAX_MTU); the bridge
 * follows its ports.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "netkind.h"
#include "netplace.h"
#include "nl.h"

static int bridge_capability(char *reason, size_t len)
{
    char err[NL_ERR_MAX];
    int rc = nl_kind_probe("bridge", err);

    if (rc == 1) {
        if (reason && len)
            reason[0] = '\0';
        return 1;
    }
    snprintf(reason, len, "%s", err);
    return 0;
}

static bool bridge_supports(const char *placement)
{
    return netplace_supports("bridge", placement);
}

static int bridge_refuse(const netkind_ctx_t *ctx, char *reason, size_t len)
{
    return netkind_mtu_check("bridge", ctx->mtu_req, 65535, reason, len);
}

/* Builds one container of pair i: namespace, veth on the bridge, address. */
static int bridge_container(const netkind_ctx_t *ctx, const char *br, int i, bool server,
                            netkind_pair_t *p, char *err)
{
    char role[64], ns[64], veth[32], cidr[32], addr[16];
    nl_port_t port;
    int rc;

    netkind_pair_role(role, server ? "server" : "client", i);
    netkind_netns_name(ns, ctx->testbed, ctx->run, role);
    if (i == 0)
        snprintf(veth, sizeof(veth), "cntb%" PRId64 "-%c", ctx->run, server ? 's' : 'c');
    else
        snprintf(veth, sizeof(veth), "cntb%" PRId64 "-%c%d", ctx->run, server ? 's' : 'c', i);
    netkind_addr(addr, ctx->run, 2 + 2 * i + (server ? 1 : 0));
    snprintf(cidr, sizeof(cidr), "%s/24", addr);
    if (netns_create(ns, true, err) < 0)
        return -1;
    rc = nl_link_exists(NULL, veth, err);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        memset(&port, 0, sizeof(port));
        port.kind = "veth";
        port.host_name = veth;
        port.master = br;
        port.group = netkind_link_group(ctx->run);
        port.mtu = ctx->mtu_req;
        port.cidr = cidr;
        if (nl_port_add(ns, &port, err) < 0)
            return -1;
    }
    if (server) {
        snprintf(p->server_netns, sizeof(p->server_netns), "%s", ns);
        snprintf(p->server_addr, sizeof(p->server_addr), "%s", addr);
    } else {
        snprintf(p->client_netns, sizeof(p->client_netns), "%s", ns);
        snprintf(p->client_addr, sizeof(p->client_addr), "%s", addr);
    }
    return 0;
}

static int bridge_setup(netkind_ctx_t *ctx, char *err)
{
    char br[32], cidr[32], addr[16], nlerr[NL_ERR_MAX];
    int rc, mtu, i;

    snprintf(br, sizeof(br), "cntb%" PRId64 "-br", ctx->run);
    if (ctx->run < 1 || !nl_ifname_valid(br)) {
        snprintf(err, NETKIND_ERR_MAX, "network bridge: run %" PRId64 ": link name %s invalid",
                 ctx->run, br);
        return -1;
    }
    netkind_addr(addr, ctx->run, 1);
    snprintf(cidr, sizeof(cidr), "%s/24", addr);
    rc = nl_link_exists(NULL, br, nlerr);
    if (rc < 0)
        goto fail;
    if (rc == 0 && nl_bridge_add(NULL, br, 0, nlerr) < 0)
        goto fail;
    if (nl_addr_add(NULL, br, cidr, nlerr) < 0 ||
        nl_link_set_group(NULL, br, netkind_link_group(ctx->run), nlerr) < 0 ||
        nl_link_up(NULL, br, nlerr) < 0)
        goto fail;
    for (i = 0; i < ctx->pairs; i++) {
        if (ctx->has_client && bridge_container(ctx, br, i, false, &ctx->pair[i], nlerr) < 0)
            goto fail;
        if (ctx->has_server && bridge_container(ctx, br, i, true, &ctx->pair[i], nlerr) < 0)
            goto fail;
    }
    mtu = ctx->pair[0].client_netns[0] ? nl_link_mtu(ctx->pair[0].client_netns, "eth0", nlerr)
                                       : nl_link_mtu(NULL, br, nlerr);
    if (mtu < 0)
        goto fail;
    ctx->mtu = mtu;
    return 0;
fail:
    snprintf(err, NETKIND_ERR_MAX, "network bridge: run %" PRId64 ": %.200s", ctx->run, nlerr);
    return -1;
}

static int bridge_teardown(netkind_ctx_t *ctx, char *err)
{
    return netkind_remove_all(ctx, "bridge", err);
}

const netkind_t netkind_bridge = {
    .name = "bridge",
    .capability = bridge_capability,
    .supports = bridge_supports,
    .refuse = bridge_refuse,
    .setup = bridge_setup,
    .teardown = bridge_teardown,
};
