/*
 * inter.h — what the inter-host kinds (nat.c, overlay.c, routing.c) share:
 * one container per host, on a bridge of the run in the host's namespace.
 *
 * On each host of a cross-host run the container (client on one host,
 * server on the other) is namespace cntb-<testbed>-<run>-<role> whose
 * "eth0" is one end of a veth pair; the other end, cntb<run>-c or
 * cntb<run>-s, is a port of bridge cntb<run>-br.  Addresses:
 *   routed kinds (nat, routing): the host's own container subnet
 *     198.19.H.0/24, H = last octet of the host's underlay address (unique
 *     among hosts of one underlay /24); the bridge holds 198.19.H.1 and is
 *     the container's default gateway, the container is 198.19.H.2;
 *   overlay: one subnet for the run, 198.19.250.0/24, the container is
 *     198.19.250.H; the bridge has no address, nothing is routed.
 * 198.19.0.0/16 is the upper half of RFC 2544's benchmarking range, the
 * emulated underlay uses the lower half (198.18.0.0/16).
 */
#ifndef CNTB_INTER_H
#define CNTB_INTER_H

#include <stdbool.h>

#include "netkind.h"

#define INTER_OVERLAY_NET 250   /* third octet of the overlay subnet */

typedef struct {
    const char *kind;        /* "nat", "overlay", "routing": for messages */
    const char *role;        /* "client" or "server" */
    int h;                   /* last octet of this host's underlay address */
    char br[32], veth[32];   /* links in the host's namespace (checked: <= 15 bytes) */
    char ns[64];             /* the container */
    char subnet[20];         /* routed: 198.19.H.0/24; overlay: 198.19.250.0/24 */
    char gw[16], gw_cidr[20];/* routed: 198.19.H.1 (on the bridge); overlay: "" */
    char addr[16], cidr[20]; /* the container's address */
} inter_plan_t;

/*
 * Fills p for ctx (a cross-host run: exactly one of has_client/has_server).
 * routed: true for nat/routing addressing, false for overlay.  0, or -1 with
 * err (NETKIND_ERR_MAX bytes) naming the kind and run.
 */
int inter_plan(const netkind_ctx_t *ctx, const char *kind, bool routed, inter_plan_t *p, char *err);

/*
 * Subnet of the host with underlay address addr, routed addressing:
 * "198.19.H.0/24" into out (20 bytes).  0, or -1 when addr is no IPv4.
 */
int inter_subnet_of(const char *addr, char *out);

/*
 * Builds bridge, veth and container of p (idempotent), the veth with MTU mtu
 * (bytes, 0 = kernel's default); routed: bridge address and the container's
 * default route via it.  0 or -1 with err (NL_ERR_MAX bytes).
 */
int inter_build(const inter_plan_t *p, bool routed, int mtu, char *err);

/* Removes veth, bridge and container of p; missing pieces are fine.  0 or -1. */
int inter_teardown(const inter_plan_t *p, char *err);

#endif
