/*
 * host.c — network `host`: the containers are the host's own namespace.
 *
 * The baseline every other kind is compared with: no namespace, no link, the
 * clients and the servers run in the agent's namespace and talk over the
 * underlay address of the host holding the servers (loopback-free, so that a
 * same-host run still crosses the IP stack the way the others do).  Pairs
 * share the address and differ by port.  Nothing is built, so nothing is
 * torn down.
 */
#include <stdio.h>
#include <string.h>

#include "netkind.h"
#include "netplace.h"
#include "nl.h"

static int host_capability(char *reason, size_t len)
{
    if (reason && len)
        reason[0] = '\0';
    return 1;
}

static bool host_supports(const char *placement)
{
    return netplace_supports("host", placement);
}

static int host_refuse(const netkind_ctx_t *ctx, char *reason, size_t len)
{
    if (ctx->mtu_req != 0) {
        snprintf(reason, len,
                 "network host: the containers are the host's namespace; cntb does not change "
                 "the MTU of the host's own devices (mtu must be 0)");
        return 1;
    }
    return 0;
}

static int host_setup(netkind_ctx_t *ctx, char *err)
{
    char nlerr[NL_ERR_MAX];
    const char *server;
    int mtu, i;

    /* The servers listen on their host's underlay address: ours when we hold
     * them (same-host, or the server's half of cross-host), else the peer's. */
    server = ctx->has_server || strcmp(ctx->placement, "same-host") == 0 ? ctx->underlay_addr
                                                                         : ctx->peer_addr;
    if (!server[0]) {
        snprintf(err, NETKIND_ERR_MAX, "network host: run %lld: no underlay address for the server",
                 (long long)ctx->run);
        return -1;
    }
    for (i = 0; i < ctx->pairs; i++) {
        netkind_pair_t *p = &ctx->pair[i];

        p->client_netns[0] = p->server_netns[0] = '\0';
        snprintf(p->server_addr, sizeof(p->server_addr), "%s", server);
        snprintf(p->client_addr, sizeof(p->client_addr), "%s", ctx->underlay_addr);
    }
    ctx->mtu = 0;
    if (ctx->underlay_if[0]) {
        mtu = nl_link_mtu(NULL, ctx->underlay_if, nlerr);
        if (mtu < 0) {
            snprintf(err, NETKIND_ERR_MAX, "network host: %.230s", nlerr);
            return -1;
        }
        ctx->mtu = mtu;
    }
    return 0;
}

static int host_teardown(netkind_ctx_t *ctx, char *err)
{
    (void)ctx;
    (void)err;
    return 0;
}

const netkind_t netkind_host = {
    .name = "host",
    .capability = host_capability,
    .supports = host_supports,
    .refuse = host_refuse,
    .setup = host_setup,
    .teardown = host_teardown,
};
