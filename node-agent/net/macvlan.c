/*
 * macvlan.c — network `macvlan`: each container's eth0 is a macvlan device
 * on the host's underlay link (parent), with its own MAC; `macvlan_mode`
 * picks the kernel's mode (drivers/net/macvlan.c, ip-link(8)):
 *
 *   bridge    macvlans of one parent reach each other inside the kernel;
 *             others over the underlay.  Same-host and cross-host.
 *   private   macvlans of one parent never exchange frames, not even via the
 *             switch: cross-host only (same-host is refused).
 *   vepa      every frame goes out to the switch, which must send frames
 *             between two macvlans of one port back (802.1Qbg reflective
 *             relay, "hairpin"); cntb cannot verify the switch, so same-host
 *             is refused and cross-host runs.
 *   passthru  the parent is handed to a single macvlan; the underlay carries
 *             this host's control connection and would be taken from the
 *             agent, so it is refused (needs a dedicated underlay device).
 *   source    a macvlan receives only frames whose source MAC is on its list
 *             (the peer's, from netkind_mac); it transmits like vepa, so
 *             same-host is refused, cross-host runs.
 *
 * A macvlan cannot talk to its own parent's namespace (CASES.md case 5):
 * a run whose peer is this very host (peer_addr = underlay_addr) is refused.
 * MTU: 68..the parent's MTU (macvlan's max_mtu is the lower device's).
 * Capability: probed by creating a throw-away macvlan (nl_kind_probe).
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
static int macvlan_mode_num(const char *mode)
{
    static const struct {
        const char *name;
        int num;
    } modes[] = {
        {"bridge", MACVLAN_MODE_BRIDGE}, {"private", MACVLAN_MODE_PRIVATE},
        {"vepa", MACVLAN_MODE_VEPA},     {"passthru", MACVLAN_MODE_PASSTHRU},
        {"source", MACVLAN_MODE_SOURCE},
    };
    size_t i;

    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(modes[i].name, mode) == 0)
            return modes[i].num;
    return -1;
}

static int macvlan_capability(char *reason, size_t len)
{
    static int cached = -2;
    static char why[NL_ERR_MAX];

    if (cached == -2) {
        cached = nl_kind_probe("macvlan", why);
        if (cached < 0)
            cached = -2; /* the probe itself failed: try again next time */
    }
    if (cached == 1) {
        if (reason && len)
            reason[0] = '\0';
        return 1;
    }
    snprintf(reason, len, "%s", cached == 0 ? why : "macvlan probe failed");
    return 0;
}

static bool macvlan_supports(const char *placement)
{
    return netplace_supports("macvlan", placement);
}

static int macvlan_refuse(const netkind_ctx_t *ctx, char *reason, size_t len)
{
    const char *m = ctx->macvlan_mode[0] ? ctx->macvlan_mode : "bridge";
    bool same = strcmp(ctx->placement, "same-host") == 0;

    if (macvlan_mode_num(m) < 0) {
        snprintf(reason, len, "network macvlan: unknown macvlan_mode %.16s", m);
        return 1;
    }
    if (!same && ctx->peer_addr[0] && strcmp(ctx->peer_addr, ctx->underlay_addr) == 0) {
        snprintf(reason, len,
                 "network macvlan: the peer is this host's own namespace, and a macvlan cannot "
                 "reach its own parent (the kernel never delivers a macvlan's frames to the "
                 "parent's stack)");
        return 1;
    }
    if (strcmp(m, "passthru") == 0) {
        snprintf(reason, len,
                 "network macvlan mode passthru: hands the underlay device %.15s to a single "
                 "container and takes it from this host's agent, whose control connection it "
                 "carries; needs a dedicated underlay device",
                 ctx->underlay_if);
        return 1;
    }
    if (same && strcmp(m, "private") == 0) {
        snprintf(reason, len,
                 "network macvlan mode private: macvlan devices on one parent never exchange "
                 "frames, so two containers on one host cannot talk; use cross-host");
        return 1;
    }
    if (same && (strcmp(m, "vepa") == 0 || strcmp(m, "source") == 0)) {
        snprintf(reason, len,
                 "network macvlan mode %s: frames between two containers of one host go out "
                 "to the switch and come back only through a reflective relay (802.1Qbg "
                 "hairpin) port, which cntb cannot verify; use cross-host",
                 m);
        return 1;
    }
    if (vlanport_refuse_routed(ctx, "macvlan", reason, len))
        return 1;
    return netkind_mtu_check("macvlan", ctx->mtu_req, ctx->underlay_mtu, reason, len);
}

static int macvlan_setup(netkind_ctx_t *ctx, char *err)
{
    const char *m = ctx->macvlan_mode[0] ? ctx->macvlan_mode : "bridge";
    int mode = macvlan_mode_num(m);

    if (mode < 0) {
        snprintf(err, NETKIND_ERR_MAX, "network macvlan: unknown macvlan_mode %.16s", m);
        return -1;
    }
    return vlanport_setup(ctx, "macvlan", mode, false, err);
}

static int macvlan_teardown(netkind_ctx_t *ctx, char *err)
{
    return vlanport_teardown(ctx, "macvlan", err);
}

const netkind_t netkind_macvlan = {
    .name = "macvlan",
    .capability = macvlan_capability,
    .supports = macvlan_supports,
    .refuse = macvlan_refuse,
    .setup = macvlan_setup,
    .teardown = macvlan_teardown,
};
