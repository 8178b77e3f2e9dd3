/*
 * nat.c — network `nat`: Docker's `-p` path between hosts.
 *
 * On each host of a cross-host run the container sits on the run's bridge
 * with an address of the host's private container subnet (inter.h).  Rules
 * go in through libnftables as one table per run, "ip cntb<run>", in the
 * host's namespace:
 *   postrouting (nat, srcnat): traffic from the container subnet leaving by
 *     any other link than the bridge is masqueraded to the host's address;
 *   prerouting (nat, dstnat), on the server's host only: TCP and UDP to the
 *     host's underlay address and the run's port are DNATed to the server
 *     container, same port: the port is "published".
 * The client connects to the server host's underlay address and the run's
 * port, which the controller allocates per run (5300 + (run % 429) * 64), so two
 * runs never publish the same port.  IPv4 forwarding is switched on in the
 * host's namespace (Docker does the same).  Each nft batch is atomic: setup
 * adds the table, flushes it and fills it (a repeated setup gives the same
 * table); teardown adds and deletes it in one batch, which never fails on a
 * missing table.
 */
#include <inttypes.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <errno.h>

#include "inter.h"
#include "netkind.h"
#include "netplace.h"
#include "nl.h"
#include "nl_l2.h"

/*
 * 1 when this kernel speaks nf_tables over netlink, else 0 with the reason.
 * Asked before every nft_ctx_new(): libnftables 1.0 calls exit(3) from inside
 * nft_ctx_new() when it cannot open its netlink socket (a guest kernel
 * without nfnetlink), which would take the whole agent down.
 */
static int nat_netlink_ok(char *reason, size_t len)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

    if (fd < 0) {
        snprintf(reason, len, "the kernel has no nf_tables netlink (NETLINK_NETFILTER: %s)",
                 strerror(errno));
        return 0;
    }
    close(fd);
    return 1;
}

/* Runs an nft script in the caller's namespace.  0, or -1 with nft's error in err. */
static int nat_nft(const char *script, char *err, size_t len)
{
    struct nft_ctx *nft;
    const char *e;
    int rc;

    if (!nat_netlink_ok(err, len))
        return -1;
    nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft) {
        snprintf(err, len, "nftables: cannot create a context");
        return -1;
    }
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    rc = nft_run_cmd_from_buffer(nft, script);
    if (rc != 0) {
        e = nft_ctx_get_error_buffer(nft);
        snprintf(err, len, "nftables: %.200s", e && *e ? e : "command failed");
        /* one line: nft's messages span several */
        for (char *p = err; *p; p++)
            if (*p == '\n')
                *p = ' ';
    }
    nft_ctx_free(nft);
    return rc == 0 ? 0 : -1;
}

static int nat_capability(char *reason, size_t len)
{
    struct nft_ctx *nft;

    if (!nat_netlink_ok(reason, len))
        return 0;
    nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft) {
        snprintf(reason, len, "libnftables cannot create a context");
        return 0;
    }
    nft_ctx_free(nft);
    if (reason && len)
        reason[0] = '\0';
    return 1;
}

static bool nat_supports(const char *placement)
{
    return netplace_supports("nat", placement);
}

static int nat_setup(netkind_ctx_t *ctx, char *err)
{
    inter_plan_t p;
    char nlerr[NL_ERR_MAX], script[2048];
    int mtu, n;

    if (inter_plan(ctx, "nat", true, &p, err) < 0)
        return -1;
    if (ctx->port < 1 || ctx->port > 65535) {
        snprintf(err, NETKIND_ERR_MAX, "network nat: run %" PRId64 ": no port to publish", ctx->run);
        return -1;
    }
    if (inter_build(&p, true, 0, nlerr) < 0 || nl_ipv4_forward_on(nlerr) < 0)
        goto fail;
    n = snprintf(script, sizeof script,
                 "add table ip cntb%" PRId64 "\n"
                 "flush table ip cntb%" PRId64 "\n"
                 "add chain ip cntb%" PRId64 " post { type nat hook postrouting priority srcnat; policy accept; }\n"
                 "add rule ip cntb%" PRId64 " post ip saddr %s oifname != \"%s\" masquerade\n",
                 ctx->run, ctx->run, ctx->run, ctx->run, p.subnet, p.br);
    if (ctx->has_server)
        snprintf(script + n, sizeof script - (size_t)n,
                 "add chain ip cntb%" PRId64 " pre { type nat hook prerouting priority dstnat; policy accept; }\n"
                 "add rule ip cntb%" PRId64 " pre ip daddr %s tcp dport %d dnat to %s:%d\n"
                 "add rule ip cntb%" PRId64 " pre ip daddr %s udp dport %d dnat to %s:%d\n",
                 ctx->run, ctx->run, ctx->underlay_addr, ctx->port, p.addr, ctx->port, ctx->run,
                 ctx->underlay_addr, ctx->port, p.addr, ctx->port);
    if (nat_nft(script, nlerr, sizeof nlerr) < 0)
        goto fail;
    mtu = ctx->underlay_if[0] ? nl_link_mtu(NULL, ctx->underlay_if, nlerr) : 0;
    if (mtu < 0)
        goto fail;
    snprintf(ctx->pair[0].client_netns, sizeof ctx->pair[0].client_netns, "%s", ctx->has_client ? p.ns : "");
    snprintf(ctx->pair[0].server_netns, sizeof ctx->pair[0].server_netns, "%s", ctx->has_server ? p.ns : "");
    /* The client is told the published address; the server binds its own. */
    if (ctx->has_server) /* the client host learns it from the controller (START) */
        snprintf(ctx->pair[0].server_addr, sizeof ctx->pair[0].server_addr, "%s", ctx->underlay_addr);
    snprintf(ctx->server_bind, sizeof ctx->server_bind, "%s", p.addr);
    ctx->mtu = mtu;
    return 0;
fail:
    snprintf(err, NETKIND_ERR_MAX, "network nat: run %" PRId64 ": %.200s", ctx->run, nlerr);
    return -1;
}

static int nat_teardown(netkind_ctx_t *ctx, char *err)
{
    inter_plan_t p;
    char nlerr[NL_ERR_MAX], script[128];
    int ret = 0;

    if (inter_plan(ctx, "nat", true, &p, err) < 0)
        return -1;
    snprintf(script, sizeof script, "add table ip cntb%" PRId64 "\ndelete table ip cntb%" PRId64 "\n",
             ctx->run, ctx->run);
    if (nat_nft(script, nlerr, sizeof nlerr) < 0) {
        snprintf(err, NETKIND_ERR_MAX, "network nat: run %" PRId64 ": %.200s", ctx->run, nlerr);
        ret = -1;
    }
    if (inter_teardown(&p, nlerr) < 0 && ret == 0) {
        snprintf(err, NETKIND_ERR_MAX, "network nat: run %" PRId64 ": %.200s", ctx->run, nlerr);
        ret = -1;
    }
    return ret;
}

static int
nat_refuse(const netkind_ctx_t *ctx, char *reason, size_t len)
{
    return netkind_refuse_pairs(ctx, "nat", reason, len);
}

const netkind_t netkind_nat = {
    .name = "nat",
    .capability = nat_capability,
    .supports = nat_supports,
    .refuse = nat_refuse,
    .setup = nat_setup,
    .teardown = nat_teardown,
};
