/*
 * ipvlan.c — network `ipvlan`: each container's eth0 is an ipvlan device on
 * the host's underlay link; all share the parent's MAC, and `ipvlan_mode`
 * picks the kernel's mode (Documentation/networking/ipvlan.rst):
 *
 *   l2   the parent switches at L2 among its slaves and sends the rest out;
 *        ARP works, containers of two hosts share the underlay segment.
 *   l3   the parent routes at L3: no broadcast or ARP on the slaves; each
 *        container gets `default dev eth0`.  Same-host only: reaching a
 *        container of another host needs routes on that host (network
 *        `routing` does this), so cross-host l3 is refused.
 *   l3s  l3 plus the parent namespace's netfilter/conntrack (the "s" is
 *        for symmetric); same limits as l3.
 *
 * MTU: 68..the parent's MTU.  Capability: probed by creating a throw-away
 * ipvlan (nl_kind_probe); a kernel without the ipvlan driver gets the
 * kernel's refusal as the reason, and runs asking for ipvlan are skipped.
 */
#include <inttypes.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>

#include "netkind.h"
#include "netplace.h"
#include "nl.h"
#include "vlanport.h"

/* The kernel's mode number for a matrix value, or -1. */
static int ipvlan_mode_num(const char *mode)
{
    if (strcmp(mode, "l2") == 0)
        return IPVLAN_MODE_L2;
    if (strcmp(mode, "l3") == 0)
        return IPVLAN_MODE_L3;
    if (strcmp(mode, "l3s") == 0)
        return IPVLAN_MODE_L3S;
    return -1;
}

static int ipvlan_capability(char *reason, size_t len)
{
    static int cached = -2;
    static char why[NL_ERR_MAX];

    if (cached == -2) {
        cached = nl_kind_probe("ipvlan", why);
        if (cached < 0)
            cached = -2;
    }
    if (cached == 1) {
        if (reason && len)
            reason[0] = '\0';
        return 1;
    }
    snprintf(reason, len, "%s", cached == 0 ? why : "ipvlan probe failed");
    return 0;
}

static bool ipvlan_supports(const char *placement)
{
    return netplace_supports("ipvlan", placement);
}

static int ipvlan_refuse(const netkind_ctx_t *ctx, char *reason, size_t len)
{
    const char *m = ctx->ipvlan_mode[0] ? ctx->ipvlan_mode : "l2";

    if (ipvlan_mode_num(m) < 0) {
        snprintf(reason, len, "network ipvlan: unknown ipvlan_mode %.8s", m);
        return 1;
    }
    if (strcmp(ctx->placement, "cross-host") == 0 && strcmp(m, "l2") != 0) {
        snprintf(reason, len,
                 "network ipvlan mode %s: slaves answer no ARP, so the other host has no route "
                 "to this host's containers; cross-host needs routes (network routing)",
                 m);
        return 1;
    }
    if (vlanport_refuse_routed(ctx, "ipvlan", reason, len))
        return 1;
    return netkind_mtu_check("ipvlan", ctx->mtu_req, ctx->underlay_mtu, reason, len);
}

static int ipvlan_setup(netkind_ctx_t *ctx, char *err)
{
    const char *m = ctx->ipvlan_mode[0] ? ctx->ipvlan_mode : "l2";
    int mode = ipvlan_mode_num(m);

    if (mode < 0) {
        snprintf(err, NETKIND_ERR_MAX, "network ipvlan: unknown ipvlan_mode %.8s", m);
        return -1;
    }
    return vlanport_setup(ctx, "ipvlan", mode, mode != IPVLAN_MODE_L2, err);
}

static int ipvlan_teardown(netkind_ctx_t *ctx, char *err)
{
    return vlanport_teardown(ctx, "ipvlan", err);
}

const netkind_t netkind_ipvlan = {
    .name = "ipvlan",
    .capability = ipvlan_capability,
    .supports = ipvlan_supports,
    .refuse = ipvlan_refuse,
    .setup = ipvlan_setup,
    .teardown = ipvlan_teardown,
};
