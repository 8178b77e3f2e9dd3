/*
 * none.c — network `none`: one namespace per pair with only loopback.
 *
 * Docker's `--network none`: the namespace "cntb-<testbed>-<run>-pod<i>"
 * (pair 0: "-pod") has no device but `lo`; the client and the server of the
 * pair both run in it and talk to 127.0.0.1.  What it measures is the cost
 * of the kernel's TCP/IP stack alone, the floor below every other kind.
 * Same-host only; the MTU is loopback's (65536) and is not changed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "netkind.h"
#include "netplace.h"
#include "nl.h"

static int none_capability(char *reason, size_t len)
{
    if (reason && len)
        reason[0] = '\0';
    return 1;
}

static bool none_supports(const char *placement)
{
    return netplace_supports("none", placement);
}

static int none_refuse(const netkind_ctx_t *ctx, char *reason, size_t len)
{
    if (ctx->mtu_req != 0) {
        snprintf(reason, len,
                 "network none: traffic runs over loopback, whose MTU cntb does not change "
                 "(mtu must be 0)");
        return 1;
    }
    return 0;
}

static int none_setup(netkind_ctx_t *ctx, char *err)
{
    char role[64], ns[64], nlerr[NL_ERR_MAX];
    int i, mtu;

    for (i = 0; i < ctx->pairs; i++) {
        netkind_pair_t *p = &ctx->pair[i];

        netkind_pair_role(role, "pod", i);
        netkind_netns_name(ns, ctx->testbed, ctx->run, role);
        if (netns_create(ns, true, nlerr) < 0)
            goto fail;
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
    snprintf(err, NETKIND_ERR_MAX, "network none: run %" PRId64 ": %.200s", ctx->run, nlerr);
    return -1;
}

static int none_teardown(netkind_ctx_t *ctx, char *err)
{
    return netkind_remove_all(ctx, "none", err);
}

const netkind_t netkind_none = {
    .name = "none",
    .capability = none_capability,
    .supports = none_supports,
    .refuse = none_refuse,
    .setup = none_setup,
    .teardown = none_teardown,
};
