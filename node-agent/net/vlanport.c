/*
 * vlanport.c — containers on child devices of the underlay (see vlanport.h).
 *
 * Both hosts of a cross-host run compute the same plan from the run id: the
 * same addresses and the same MACs (netkind_mac), so each side knows the
 * other's server address without asking, and a macvlan in source mode can
 * be told the one source MAC it accepts.
 */
#include "vlanport.h"

#include <inttypes.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"

/* One container of pair i. */
static int vlanport_one(netkind_ctx_t *ctx, const char *kind, int mode, bool default_dev, int i,
                        bool server, char *err)
{
    char role[64], ns[64], cidr[32], addr[16], mac[18], peer_mac[18];
    netkind_pair_t *p = &ctx->pair[i];
    nl_port_t port;
    int rc;

    netkind_pair_role(role, server ? "server" : "client", i);
    netkind_netns_name(ns, ctx->testbed, ctx->run, role);
    netkind_addr(addr, ctx->run, 2 + 2 * i + (server ? 1 : 0));
    snprintf(cidr, sizeof(cidr), "%s/24", addr);
    netkind_mac(mac, ctx->run, i, server);
    netkind_mac(peer_mac, ctx->run, i, !server);
    if (netns_create(ns, true, err) < 0)
        return -1;
    rc = nl_link_exists(ns, "eth0", err);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        memset(&port, 0, sizeof(port));
        port.kind = kind;
        port.parent = ctx->underlay_if;
        port.mode = mode;
        port.mtu = ctx->mtu_req;
        port.cidr = cidr;
        port.default_dev = default_dev;
        if (strcmp(kind, "macvlan") == 0) {
            port.mac = mac;
            if (mode == MACVLAN_MODE_SOURCE)
                port.src_macs[0] = peer_mac;
        }
        if (nl_port_add(ns, &port, err) < 0)
            return -1;
    }
    if (server)
        snprintf(p->server_netns, sizeof(p->server_netns), "%s", ns);
    else
        snprintf(p->client_netns, sizeof(p->client_netns), "%s", ns);
    /* Both sides know both addresses: the plan is the run's. */
    netkind_addr(p->client_addr, ctx->run, 2 + 2 * i);
    netkind_addr(p->server_addr, ctx->run, 3 + 2 * i);
    return 0;
}

int vlanport_setup(netkind_ctx_t *ctx, const char *kind, int mode, bool default_dev, char *err)
{
    char nlerr[NL_ERR_MAX];
    const char *ns;
    int i, mtu;

    if (!ctx->underlay_if[0]) {
        snprintf(err, NETKIND_ERR_MAX, "network %s: run %" PRId64 ": no underlay link", kind,
                 ctx->run);
        return -1;
    }
    for (i = 0; i < ctx->pairs; i++) {
        if (ctx->has_client && vlanport_one(ctx, kind, mode, default_dev, i, false, nlerr) < 0)
            goto fail;
        if (ctx->has_server && vlanport_one(ctx, kind, mode, default_dev, i, true, nlerr) < 0)
            goto fail;
    }
    ns = ctx->has_client ? ctx->pair[0].client_netns : ctx->pair[0].server_netns;
    mtu = nl_link_mtu(ns, "eth0", nlerr);
    if (mtu < 0)
        goto fail;
    ctx->mtu = mtu;
    return 0;
fail:
    snprintf(err, NETKIND_ERR_MAX, "network %s: run %" PRId64 ": %.200s", kind, ctx->run, nlerr);
    return -1;
}

int vlanport_teardown(netkind_ctx_t *ctx, const char *kind, char *err)
{
    char prefix[64], nlerr[NL_ERR_MAX], rerr[NETKIND_ERR_MAX];
    char **names = NULL;
    int n, i, ret = 0;

    snprintf(prefix, sizeof(prefix), "cntb-%s-%" PRId64 "-", ctx->testbed, ctx->run);
    n = netns_list(prefix, &names, nlerr);
    if (n < 0) {
        snprintf(err, NETKIND_ERR_MAX, "network %s: run %" PRId64 ": %.200s", kind, ctx->run,
                 nlerr);
        return -1;
    }
    for (i = 0; i < n; i++) {
        /* Only this host's containers (netkind_remove_all says why). */
        const char *role = names[i] + strlen(prefix);
        bool mine = strncmp(role, "server", 6) == 0   ? ctx->has_server
                    : strncmp(role, "client", 6) == 0 ? ctx->has_client
                                                      : false;
        if (mine && nl_link_del(names[i], "eth0", nlerr) < 0 && ret == 0) {
            snprintf(err, NETKIND_ERR_MAX, "network %s: run %" PRId64 ": %.200s", kind, ctx->run,
                     nlerr);
            ret = -1;
        }
    }
    netns_list_free(&names);
    /* The namespaces go even when a link would not: teardown always finishes. */
    if (netkind_remove_all(ctx, kind, rerr) < 0 && ret == 0) {
        snprintf(err, NETKIND_ERR_MAX, "%s", rerr);
        ret = -1;
    }
    return ret;
}

int vlanport_refuse_routed(const netkind_ctx_t *ctx, const char *kind, char *reason, size_t len)
{
    if (!ctx->underlay_routed || strcmp(ctx->placement, "cross-host") != 0)
        return 0;
    snprintf(reason, len,
             "network %s cross-host: this host is a VM whose %.15s its parent routes (a tap with "
             "proxy ARP for the VM's own address only, docs/vm.md), not a port on the underlay's "
             "switch, so the containers of two VMs cannot reach each other; use same-host",
             kind, ctx->underlay_if);
    return 1;
}
