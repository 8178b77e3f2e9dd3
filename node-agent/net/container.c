/*
 * container.c — network `container`: client and server share one namespace.
 *
 * Docker's `--network container:<id>` and a Kubernetes pod: the server's
 * container owns a namespace "cntb-<testbed>-<run>-pod<i>" (pair 0: "-pod")
 * whose eth0 is a veth on the bridge "cntb<run>-br" (198.19.S.1/24, pod i at
 * .(2+2i)), and the client joins that namespace instead of getting its own;
 * the two talk over 127.0.0.1.  The path is loopback's, the namespace is a
 * real container's (with its outside link), which is the difference from
 * `none`.  Same-host only; the MTU asked for, if any, is refused: traffic
 * never crosses eth0.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "netkind.h"
#include "netplace.h"
#include "nl.h"

static int container_capability(char *reason, size_t len)
{
    if (reason && len)
        reason[0] = '\0';
    return 1;
}

static bool container_supports(const char *placement)
{
    return netplace_supports("container", placement);
}

static int container_refuse(const netkind_ctx_t *ctx, char *reason, size_t len)
{
    if (ctx->mtu_req != 0) {
        snprintf(reason, len,
                 "network container: client and server talk over the shared namespace's "
                 "loopback; an eth0 MTU would never be used (mtu must be 0)");
        return 1;
    }
    return 0;
}

static int container_setup(netkind_ctx_t *ctx, char *err)
{
    char role[64], ns[64], br[32], veth[32], cidr[32], addr[16], nlerr[NL_ERR_MAX];
    nl_port_t port;
    int i, rc, mtu;

    snprintf(br, sizeof(br), "cntb%" PRId64 "-br", ctx->run);
    netkind_addr(addr, ctx->run, 1);
    snprintf(cidr, sizeof(cidr), "%s/24", addr);
    rc = nl_link_exists(NULL, br, nlerr);
    if (rc < 0 || (rc == 0 && nl_bridge_add(NULL, br, 0, nlerr) < 0))
        goto fail;
    if (nl_addr_add(NULL, br, cidr, nlerr) < 0 ||
        nl_link_set_group(NULL, br, netkind_link_group(ctx->run), nlerr) < 0 ||
        nl_link_up(NULL, br, nlerr) < 0)
        goto fail;
    for (i = 0; i < ctx->pairs; i++) {
        netkind_pair_t *p = &ctx->pair[i];

        netkind_pair_role(role, "pod", i);
        netkind_netns_name(ns, ctx->testbed, ctx->run, role);
        snprintf(veth, sizeof(veth), "cntb%" PRId64 "-p%d", ctx->run, i);
        netkind_addr(addr, ctx->run, 2 + 2 * i);
        snprintf(cidr, sizeof(cidr), "%s/24", addr);
        if (netns_create(ns, true, nlerr) < 0)
            goto fail;
        rc = nl_link_exists(NULL, veth, nlerr);
        if (rc < 0)
            goto fail;
        if (rc == 0) {
            memset(&port, 0, sizeof(port));
            port.kind = "veth";
            port.host_name = veth;
            port.master = br;
        port.group = netkind_link_group(ctx->run);
            port.group = netkind_link_group(ctx->run);
            port.cidr = cidr;
            if (nl_port_add(ns, &port, nlerr) < 0)
                goto fail;
        }
        snprintf(p->client_netns, sizeof(p->client_netns), "%s", ns);
        snprintf(p->server_netns, sizeof(p->server_netns), "%s", ns);
        snprintf(p->server_addr, sizeof(p->server_addr), "127.0.0.1");
        snprintf(p->client_addr, sizeof(p->client_addr), "127.0.0.1");
    }
    mtu = nl_link_mtu(ctx->pair[0].client_netns, "lo", nlerr);
    if (mtu < 0)
        goto fail;
    ctx->mtu = mtu;
    return 0;
fail:
    snprintf(err, NETKIND_ERR_MAX, "network container: run %" PRId64 ": %.200s", ctx->run, nlerr);
    return -1;
}

static int container_teardown(netkind_ctx_t *ctx, char *err)
{
    return netkind_remove_all(ctx, "container", err);
}

const netkind_t netkind_container = {
    .name = "container",
    .capability = container_capability,
    .supports = container_supports,
    .refuse = container_refuse,
    .setup = container_setup,
    .teardown = container_teardown,
};
