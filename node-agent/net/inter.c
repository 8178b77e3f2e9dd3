/*
 * inter.c — the container and bridge of a host in a cross-host run, shared
 * by nat.c, overlay.c and routing.c (layout and addresses in inter.h).
 *
 * The same order as bridge.c: setup completes what exists, so a repeated
 * SETUP after a reconnect succeeds; teardown deletes the veth before the
 * namespace, because a deleted namespace frees its links asynchronously
 * and the leak check right after would still see them.
 */
#include "inter.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"

int inter_subnet_of(const char *addr, char *out)
{
    struct in_addr a;

    if (!addr || inet_pton(AF_INET, addr, &a) != 1)
        return -1;
    snprintf(out, 20, "198.19.%u.0/24", (unsigned)(ntohl(a.s_addr) & 0xff));
    return 0;
}

int inter_plan(const netkind_ctx_t *ctx, const char *kind, bool routed, inter_plan_t *p, char *err)
{
    struct in_addr a;

    memset(p, 0, sizeof *p);
    p->kind = kind;
    if (ctx->run < 1 || ctx->has_client == ctx->has_server) {
        snprintf(err, NETKIND_ERR_MAX,
                 "network %s: run %" PRId64 ": a host holds exactly one container of a cross-host run",
                 kind, ctx->run);
        return -1;
    }
    if (inet_pton(AF_INET, ctx->underlay_addr, &a) != 1) {
        snprintf(err, NETKIND_ERR_MAX, "network %s: run %" PRId64 ": underlay address \"%s\" is not IPv4",
                 kind, ctx->run, ctx->underlay_addr);
        return -1;
    }
    p->h = (int)(ntohl(a.s_addr) & 0xff);
    if (p->h < 1 || p->h > 254) {
        snprintf(err, NETKIND_ERR_MAX,
                 "network %s: run %" PRId64 ": underlay address %s: last octet must be 1..254",
                 kind, ctx->run, ctx->underlay_addr);
        return -1;
    }
    p->role = ctx->has_server ? "server" : "client";
    snprintf(p->br, sizeof p->br, "cntb%" PRId64 "-br", ctx->run);
    snprintf(p->veth, sizeof p->veth, "cntb%" PRId64 "-%c", ctx->run, p->role[0]);
    if (!nl_ifname_valid(p->br)) {
        snprintf(err, NETKIND_ERR_MAX, "network %s: run %" PRId64 ": link name %s is longer than 15 bytes",
                 kind, ctx->run, p->br);
        return -1;
    }
    netkind_netns_name(p->ns, ctx->testbed, ctx->run, p->role);
    if (routed) {
        snprintf(p->subnet, sizeof p->subnet, "198.19.%d.0/24", p->h);
        snprintf(p->gw, sizeof p->gw, "198.19.%d.1", p->h);
        snprintf(p->gw_cidr, sizeof p->gw_cidr, "198.19.%d.1/24", p->h);
        snprintf(p->addr, sizeof p->addr, "198.19.%d.2", p->h);
        snprintf(p->cidr, sizeof p->cidr, "198.19.%d.2/24", p->h);
    } else {
        snprintf(p->subnet, sizeof p->subnet, "198.19.%d.0/24", INTER_OVERLAY_NET);
        snprintf(p->addr, sizeof p->addr, "198.19.%d.%d", INTER_OVERLAY_NET, p->h);
        snprintf(p->cidr, sizeof p->cidr, "198.19.%d.%d/24", INTER_OVERLAY_NET, p->h);
    }
    return 0;
}

int inter_build(const inter_plan_t *p, bool routed, int mtu, char *err)
{
    int rc;

    rc = nl_link_exists(NULL, p->br, err);
    if (rc < 0)
        return -1;
    if (rc == 0 && nl_bridge_add(NULL, p->br, 0, err) < 0)
        return -1;
    if (routed && nl_addr_add(NULL, p->br, p->gw_cidr, err) < 0)
        return -1;
    if (nl_link_up(NULL, p->br, err) < 0)
        return -1;
    if (netns_create(p->ns, true, err) < 0)
        return -1;
    rc = nl_link_exists(NULL, p->veth, err);
    if (rc < 0)
        return -1;
    if (rc == 0 && nl_veth_add(NULL, p->veth, "eth0", p->ns, mtu, err) < 0)
        return -1;
    if (nl_link_set_master(NULL, p->veth, p->br, err) < 0 || nl_link_up(NULL, p->veth, err) < 0)
        return -1;
    if (nl_addr_add(p->ns, "eth0", p->cidr, err) < 0 || nl_link_up(p->ns, "eth0", err) < 0)
        return -1;
    if (routed) {
        char e2[NL_ERR_MAX];
        /* An existing default route (a repeated setup) is fine. */
        if (nl_route_add(p->ns, "default", p->gw, "eth0", e2) < 0 && !strstr(e2, "exists")) {
            snprintf(err, NL_ERR_MAX, "%s", e2);
            return -1;
        }
    }
    return 0;
}

int inter_teardown(const inter_plan_t *p, char *err)
{
    char e[NL_ERR_MAX];
    int ret = 0;

    if (nl_link_del(NULL, p->veth, e) < 0 && ret == 0) {
        snprintf(err, NL_ERR_MAX, "%s", e);
        ret = -1;
    }
    if (nl_link_del(NULL, p->br, e) < 0 && ret == 0) {
        snprintf(err, NL_ERR_MAX, "%s", e);
        ret = -1;
    }
    if (netns_delete(p->ns, e) < 0 && ret == 0) {
        snprintf(err, NL_ERR_MAX, "%s", e);
        ret = -1;
    }
    return ret;
}
