/*
 * vlanport.h — what macvlan.c and ipvlan.c share: containers whose eth0 is a
 * child device of the host's underlay link, one namespace per container,
 * addressed in the run's subnet (netkind_subnet) so that the containers of
 * both hosts of a cross-host run sit on one L2 segment, the underlay's.
 */
#ifndef CNTB_VLANPORT_H
#define CNTB_VLANPORT_H

#include "netkind.h"

/*
 * Builds the containers of ctx this host holds: for every pair, the client
 * (when has_client) and the server (when has_server) in namespaces
 * "cntb-<testbed>-<run>-client<i>" / "-server<i>", with eth0 of `kind`
 * ("macvlan" or "ipvlan") in `mode` on ctx->underlay_if, MAC from
 * netkind_mac (macvlan only; in source mode the peer's MAC is the only one
 * allowed in), address .(2+2i) / .(3+2i) of the run's subnet, MTU
 * ctx->mtu_req when set, and `default dev eth0` when default_dev.
 * Fills ctx->pair[] and ctx->mtu.  0 or -1 with err (NETKIND_ERR_MAX bytes).
 */
int vlanport_setup(netkind_ctx_t *ctx, const char *kind, int mode, bool default_dev, char *err);

/*
 * The refusal macvlan and ipvlan share: 1 with a one-line reason in reason
 * (len bytes) when ctx is a cross-host run on a host whose underlay is
 * routed (ctx->underlay_routed: a VM).  The containers' addresses and MACs
 * then exist only behind this host's link; the parent routes and
 * proxy-answers ARP for the VM's own address alone, so no frame of the
 * other host's containers ever reaches them.  0 otherwise.
 */
int vlanport_refuse_routed(const netkind_ctx_t *ctx, const char *kind, char *reason, size_t len);

/*
 * The teardown of macvlan and ipvlan: deletes eth0 inside every container
 * namespace of ctx's run that this host holds, then netkind_remove_all.
 * A namespace's links are freed asynchronously after the namespace goes,
 * and until then the underlay keeps its macvlan or ipvlan port (its
 * rx_handler): the next run of the other kind on the same parent would be
 * refused with EBUSY ("Device or resource busy").  An explicit RTM_DELLINK
 * releases the port before it returns.  Idempotent; 0, or -1 with err
 * (NETKIND_ERR_MAX bytes) naming `kind` and the first failure.
 */
int vlanport_teardown(netkind_ctx_t *ctx, const char *kind, char *err);

#endif
