/*
 * overlay.c — network `overlay`: a VXLAN overlay programmed from etcd.
 *
 * What Docker's overlay driver and flannel's vxlan backend build.  On each
 * host of a cross-host run: the container on the run's bridge (inter.h,
 * overlay addressing 198.19.250.H/24) and VXLAN link cntb<run>-vx on the
 * same bridge, VNI = run % 16777214 + 1 (one per run, RFC 7348 §5: 24 bits,
 * 0 avoided), UDP 4789, local address = the host's underlay address,
 * learning off.  Its MTU is the underlay device's MTU, read from the
 * device, minus 50 bytes of encapsulation (outer IPv4 20 + UDP 8 + VXLAN 8
 * + inner Ethernet 14; RFC 7348 §4.3 and CASES.md case 2); a matrix `mtu`
 * above that is refused, below it is used; the value used goes into the
 * run's result as `mtu`.
 *
 * Nothing floods: the container-to-host mapping lives in the testbed's etcd
 * (kv_etcd.h) under /cntb/<testbed>/overlay/<run>/, each host writing only
 * below its own underlay address A, with a lease of OVL_LEASE_S:
 *   <A>/map          {"ip", "mac", "vtep"}  this host's container
 *   <A>/ack/<B>      "1"                    A has programmed B's mapping
 * Each agent reads the prefix, programs for every other host's map an FDB
 * entry (MAC -> VTEP, on the VXLAN link) and a permanent neighbour entry
 * (IP -> MAC, in its container), acknowledges it, and watches the prefix
 * from the revision it read for what changes.  Setup ends when every peer's
 * mapping is programmed here and every peer has acknowledged ours;
 * `convergence_ms` is the time from our put to that moment, on this host's
 * monotonic clock (so it includes the acknowledgement's trip through etcd:
 * an upper bound of the distribution time, without comparing two hosts'
 * clocks).  After setup a thread per run keeps watching: a mapping that
 * appears is programmed, one that vanishes is removed.  Teardown stops the
 * thread, deletes this host's keys, revokes the lease and removes the links.
 * etcd unreachable: setup fails at once naming etcd and its URL.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "inter.h"
#include "kv_etcd.h"
#include "log.h"
#include "netkind.h"
#include "netplace.h"
#include "nl.h"
#include "nl_l2.h"

#define OVL_OVERHEAD 50          /* bytes of VXLAN over IPv4 encapsulation (RFC 7348) */
#define OVL_PORT 4789            /* IANA's VXLAN port (RFC 7348 §5) */
#define OVL_LEASE_S 300          /* keys outlive a crashed agent by at most this */
#define OVL_WAIT_MS 15000        /* setup waits this long for the peers (controller: 30 s) */
#define OVL_KV_TIMEOUT_MS 2000   /* one etcd request */
#define OVL_PEERS_MAX 8
#define OVL_RUNS_MAX 32

/* One peer's mapping as programmed here. */
typedef struct {
    char vtep[16], ip[16], mac[18];
    bool programmed;             /* FDB + neighbour entries are in */
    bool acked;                  /* the peer has programmed ours */
} ovl_peer_t;

/* The state of one run on this host. */
typedef struct {
    bool used;
    int64_t run;
    char prefix[96];             /* /cntb/<testbed>/overlay/<run>/ */
    char self[16];               /* our underlay address */
    char vx[16], ns[64];         /* VXLAN link, container */
    int64_t lease, rev;
    kv_etcd_t *kv;               /* owned; used by the watcher thread after setup */
    int npeers;
    ovl_peer_t peers[OVL_PEERS_MAX];
    pthread_t thread;
    bool thread_on;
    atomic_bool stop;            /* set by teardown, read by the watcher thread */
    char err[KV_ERR_MAX];        /* first error of a sync */
} ovl_run_t;

static ovl_run_t ovl_runs[OVL_RUNS_MAX];

static int64_t ovl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ovl_run_t *ovl_find(int64_t run, bool create)
{
    for (int i = 0; i < OVL_RUNS_MAX; i++)
        if (ovl_runs[i].used && ovl_runs[i].run == run)
            return &ovl_runs[i];
    if (!create)
        return NULL;
    for (int i = 0; i < OVL_RUNS_MAX; i++)
        if (!ovl_runs[i].used) {
            memset(&ovl_runs[i], 0, sizeof ovl_runs[i]);
            ovl_runs[i].used = true;
            ovl_runs[i].run = run;
            return &ovl_runs[i];
        }
    return NULL;
}

static ovl_peer_t *peer_find(ovl_run_t *o, const char *vtep, bool create)
{
    for (int i = 0; i < o->npeers; i++)
        if (strcmp(o->peers[i].vtep, vtep) == 0)
            return &o->peers[i];
    if (!create || o->npeers >= OVL_PEERS_MAX)
        return NULL;
    ovl_peer_t *p = &o->peers[o->npeers++];
    memset(p, 0, sizeof *p);
    snprintf(p->vtep, sizeof p->vtep, "%s", vtep);
    return p;
}

/* Programs (or removes, when ip is NULL) the entries of peer p.  0 or -1 with err. */
static int peer_program(ovl_run_t *o, ovl_peer_t *p, const char *ip, const char *mac, char *err)
{
    char e[NL_ERR_MAX];

    if (!ip) {
        if (p->programmed && (nl_neigh_del(o->ns, "eth0", p->ip, e) < 0 ||
                              nl_fdb_del(NULL, o->vx, p->mac, p->vtep, e) < 0)) {
            snprintf(err, KV_ERR_MAX, "%s", e);
            return -1;
        }
        p->programmed = false;
        return 0;
    }
    if (p->programmed && strcmp(p->ip, ip) == 0 && strcmp(p->mac, mac) == 0)
        return 0;
    if (nl_fdb_add(NULL, o->vx, mac, p->vtep, e) < 0 || nl_neigh_add(o->ns, "eth0", ip, mac, e) < 0) {
        snprintf(err, KV_ERR_MAX, "%s", e);
        return -1;
    }
    snprintf(p->ip, sizeof p->ip, "%s", ip);
    snprintf(p->mac, sizeof p->mac, "%s", mac);
    p->programmed = true;
    return 0;
}

/*
 * Applies one key of the prefix (put, or delete when put is false): a
 * peer's map is programmed and acknowledged, a peer's ack of us is noted.
 * 0 or -1 with o->err.
 */
static int ovl_apply(ovl_run_t *o, bool put, const char *key, const char *value)
{
    char owner[16], what[64], key2[160];
    const char *rest = key + strlen(o->prefix);
    const char *slash = strchr(rest, '/');

    if (strncmp(key, o->prefix, strlen(o->prefix)) != 0 || !slash || (size_t)(slash - rest) >= sizeof owner)
        return 0;
    snprintf(owner, sizeof owner, "%.*s", (int)(slash - rest), rest);
    snprintf(what, sizeof what, "%s", slash + 1);
    if (strcmp(owner, o->self) == 0)
        return 0;
    if (strcmp(what, "map") == 0) {
        ovl_peer_t *p = peer_find(o, owner, put);
        if (!p)
            return 0;
        if (!put) {
            log_info("overlay run %" PRId64 ": mapping of %s vanished", o->run, owner);
            return peer_program(o, p, NULL, NULL, o->err);
        }
        json_t *m = json_loads(value, 0, NULL);
        const char *ip = json_string_value(json_object_get(m, "ip"));
        const char *mac = json_string_value(json_object_get(m, "mac"));
        int rc = 0;
        if (ip && mac && strlen(ip) < 16 && strlen(mac) < 18) {
            rc = peer_program(o, p, ip, mac, o->err);
            snprintf(key2, sizeof key2, "%s%s/ack/%s", o->prefix, o->self, owner);
            if (rc == 0)
                rc = kv_etcd_put(o->kv, key2, "1", o->lease, o->err);
        }
        json_decref(m);
        return rc;
    }
    snprintf(key2, sizeof key2, "ack/%s", o->self);
    if (strcmp(what, key2) == 0) {
        ovl_peer_t *p = peer_find(o, owner, true);
        if (p)
            p->acked = put;
    }
    return 0;
}

/* Reads the whole prefix and applies it.  0 or -1 with o->err. */
static int ovl_sync(ovl_run_t *o)
{
    json_t *kvs = NULL, *v;
    const char *k;
    int ret = 0;

    if (kv_etcd_range(o->kv, o->prefix, &kvs, &o->rev, o->err) < 0)
        return -1;
    json_object_foreach(kvs, k, v) {
        if (ovl_apply(o, true, k, json_string_value(v)) < 0) {
            ret = -1;
            break;
        }
    }
    /* Mappings programmed before and absent now have vanished. */
    for (int i = 0; ret == 0 && i < o->npeers; i++) {
        char key[160];
        snprintf(key, sizeof key, "%s%s/map", o->prefix, o->peers[i].vtep);
        if (o->peers[i].programmed && !json_object_get(kvs, key))
            ret = ovl_apply(o, false, key, "");
    }
    json_decref(kvs);
    return ret;
}

/* kv_etcd_watch callback: any event ends the watch (ovl_sync re-reads). */
static bool ovl_event(void *arg, bool put, const char *key, const char *value)
{
    (void)arg;
    (void)put;
    (void)key;
    (void)value;
    return true;
}

/* After setup: keeps the entries in step with etcd until teardown. */
static void *ovl_watcher(void *arg)
{
    ovl_run_t *o = arg;
    char err[KV_ERR_MAX];

    while (!atomic_load(&o->stop)) {
        int rc = kv_etcd_watch(o->kv, o->prefix, o->rev + 1, 500, ovl_event, NULL, NULL, NULL, err);
        if (atomic_load(&o->stop))
            break;
        if (rc < 0) {
            log_warn("overlay run %" PRId64 ": %s", o->run, err);
            struct timespec ts = {0, 500 * 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (rc == 1 && ovl_sync(o) < 0)
            log_warn("overlay run %" PRId64 ": %s", o->run, o->err);
    }
    return NULL;
}

/* True when every expected peer is programmed here and has acknowledged us. */
static bool ovl_converged(ovl_run_t *o, const netkind_ctx_t *ctx, char *missing, size_t len)
{
    const char *want[OVL_PEERS_MAX];
    int nwant = 0;

    if (ctx->peer_addr[0])
        want[nwant++] = ctx->peer_addr;
    for (int i = 0; i < ctx->npeers && nwant < OVL_PEERS_MAX; i++)
        if (strcmp(ctx->peers[i].addr, ctx->peer_addr) != 0)
            want[nwant++] = ctx->peers[i].addr;
    for (int i = 0; i < nwant; i++) {
        ovl_peer_t *p = peer_find(o, want[i], false);
        if (!p || !p->programmed) {
            snprintf(missing, len, "no mapping from host %s in etcd", want[i]);
            return false;
        }
        if (!p->acked) {
            snprintf(missing, len, "host %s did not acknowledge our mapping in etcd", want[i]);
            return false;
        }
    }
    return true;
}

static int ovl_capability(char *reason, size_t len)
{
    if (reason && len)
        reason[0] = '\0';
    return 1;
}

static bool ovl_supports(const char *placement)
{
    return netplace_supports("overlay", placement);
}

static void ovl_names(const netkind_ctx_t *ctx, char *vx, char *prefix, size_t plen)
{
    snprintf(vx, 16, "cntb%" PRId64 "-vx", ctx->run);
    snprintf(prefix, plen, "/cntb/%s/overlay/%" PRId64 "/", ctx->testbed, ctx->run);
}

static int ovl_setup(netkind_ctx_t *ctx, char *err)
{
    inter_plan_t p;
    ovl_run_t *o = NULL;
    char e[KV_ERR_MAX] = "", mac[18], key[160], value[160], missing[128] = "";
    int umtu, mtu, rc;
    int64_t t0, deadline;

#define OVL_FAIL(...)                                                                              \
    do {                                                                                           \
        snprintf(err, NETKIND_ERR_MAX, "network overlay: run %" PRId64 ": ", ctx->run);            \
        size_t _n = strlen(err);                                                                   \
        snprintf(err + _n, NETKIND_ERR_MAX - _n, __VA_ARGS__);                                     \
        return -1;                                                                                 \
    } while (0)

    if (inter_plan(ctx, "overlay", false, &p, err) < 0)
        return -1;
    if (strcmp(ctx->kv_kind, "etcd") != 0 || !ctx->kv_endpoint[0])
        OVL_FAIL("the testbed names no etcd (kv: {kind: etcd, endpoints: [...]} in its file)");
    if (!ctx->underlay_if[0])
        OVL_FAIL("no underlay device to read the MTU from");
    umtu = nl_link_mtu(NULL, ctx->underlay_if, e);
    if (umtu < 0)
        OVL_FAIL("%.200s", e);
    mtu = umtu - OVL_OVERHEAD;
    if (ctx->mtu_override > mtu)
        OVL_FAIL("mtu %d is larger than the overlay allows: %d (underlay %s MTU %d - %d)",
                 ctx->mtu_override, mtu, ctx->underlay_if, umtu, OVL_OVERHEAD);
    if (ctx->mtu_override > 0) {
        if (ctx->mtu_override < 68) /* IPv4's minimum, RFC 791 */
            OVL_FAIL("mtu %d is below IPv4's minimum of 68", ctx->mtu_override);
        mtu = ctx->mtu_override;
    }
    o = ovl_find(ctx->run, true);
    if (!o)
        OVL_FAIL("too many overlay runs on this host");
    if (o->thread_on) { /* a repeated SETUP after a success */
        ctx->mtu = mtu;
        return 0;
    }
    ovl_names(ctx, o->vx, o->prefix, sizeof o->prefix);
    snprintf(o->self, sizeof o->self, "%s", ctx->underlay_addr);
    snprintf(o->ns, sizeof o->ns, "%s", p.ns);
    if (!o->kv && !(o->kv = kv_etcd_new(ctx->kv_endpoint, OVL_KV_TIMEOUT_MS, e)))
        OVL_FAIL("%.200s", e);
    if (!o->lease && kv_etcd_lease_grant(o->kv, OVL_LEASE_S, &o->lease, e) < 0)
        OVL_FAIL("%.200s", e);
    rc = nl_link_exists(NULL, o->vx, e);
    if (rc < 0)
        OVL_FAIL("%.200s", e);
    if (rc == 0 && nl_vxlan_add(NULL, o->vx, (uint32_t)(ctx->run % 16777214 + 1), ctx->underlay_addr,
                                ctx->underlay_if, OVL_PORT, mtu, e) < 0)
        OVL_FAIL("%.200s", e);
    if (inter_build(&p, false, mtu, e) < 0 || nl_link_set_master(NULL, o->vx, p.br, e) < 0 ||
        nl_link_up(NULL, o->vx, e) < 0 || nl_link_mac(p.ns, "eth0", mac, e) < 0)
        OVL_FAIL("%.200s", e);
    snprintf(key, sizeof key, "%s%s/map", o->prefix, o->self);
    snprintf(value, sizeof value, "{\"ip\":\"%s\",\"mac\":\"%s\",\"vtep\":\"%s\"}", p.addr, mac, o->self);
    t0 = ovl_now_ms();
    if (kv_etcd_put(o->kv, key, value, o->lease, e) < 0)
        OVL_FAIL("%.200s", e);
    deadline = t0 + OVL_WAIT_MS;
    for (;;) {
        if (ovl_sync(o) < 0)
            OVL_FAIL("%.200s", o->err);
        if (ovl_converged(o, ctx, missing, sizeof missing))
            break;
        int64_t left = deadline - ovl_now_ms();
        if (left <= 0)
            OVL_FAIL("%s after %d s", missing, OVL_WAIT_MS / 1000);
        rc = kv_etcd_watch(o->kv, o->prefix, o->rev + 1, (int)(left < 1000 ? left : 1000), ovl_event,
                           NULL, ctx->keepalive, ctx->keepalive_arg, e);
        if (ctx->keepalive)
            ctx->keepalive(ctx->keepalive_arg);
        if (rc < 0)
            OVL_FAIL("%.200s", e);
    }
    ctx->convergence_ms = (double)(ovl_now_ms() - t0);
    atomic_store(&o->stop, false);
    if (pthread_create(&o->thread, NULL, ovl_watcher, o) != 0)
        OVL_FAIL("cannot start the etcd watcher thread");
    o->thread_on = true;
    snprintf(ctx->pair[0].client_netns, sizeof ctx->pair[0].client_netns, "%s", ctx->has_client ? p.ns : "");
    snprintf(ctx->pair[0].server_netns, sizeof ctx->pair[0].server_netns, "%s", ctx->has_server ? p.ns : "");
    if (ctx->has_server) /* the client host learns it from the controller (START) */
        snprintf(ctx->pair[0].server_addr, sizeof ctx->pair[0].server_addr, "%s", p.addr);
    ctx->mtu = mtu;
    return 0;
#undef OVL_FAIL
}

static int ovl_teardown(netkind_ctx_t *ctx, char *err)
{
    inter_plan_t p;
    ovl_run_t *o = ovl_find(ctx->run, false);
    char vx[16], prefix[96], mine[128], e[KV_ERR_MAX];
    kv_etcd_t *kv = NULL;
    int ret = 0;

    if (inter_plan(ctx, "overlay", false, &p, err) < 0)
        return -1;
    ovl_names(ctx, vx, prefix, sizeof prefix);
    if (o && o->thread_on) {
        atomic_store(&o->stop, true);
        pthread_join(o->thread, NULL);
        o->thread_on = false;
    }
    if (o && o->kv) {
        kv = o->kv;
        o->kv = NULL;
    } else if (ctx->kv_endpoint[0]) {
        kv = kv_etcd_new(ctx->kv_endpoint, OVL_KV_TIMEOUT_MS, e);
    }
    if (kv) {
        snprintf(mine, sizeof mine, "%s%s/", prefix, ctx->underlay_addr);
        if (kv_etcd_delete_prefix(kv, mine, NULL, e) < 0 ||
            (o && o->lease && kv_etcd_lease_revoke(kv, o->lease, e) < 0)) {
            snprintf(err, NETKIND_ERR_MAX, "network overlay: run %" PRId64 ": %.200s", ctx->run, e);
            ret = -1;
        }
        kv_etcd_destroy(&kv);
    }
    if (o)
        o->used = false;
    if (nl_link_del(NULL, vx, e) < 0 && ret == 0) {
        snprintf(err, NETKIND_ERR_MAX, "network overlay: run %" PRId64 ": %.200s", ctx->run, e);
        ret = -1;
    }
    if (inter_teardown(&p, e) < 0 && ret == 0) {
        snprintf(err, NETKIND_ERR_MAX, "network overlay: run %" PRId64 ": %.200s", ctx->run, e);
        ret = -1;
    }
    return ret;
}

static int
ovl_refuse(const netkind_ctx_t *ctx, char *reason, size_t len)
{
    return netkind_refuse_pairs(ctx, "overlay", reason, len);
}

const netkind_t netkind_overlay = {
    .name = "overlay",
    .capability = ovl_capability,
    .supports = ovl_supports,
    .refuse = ovl_refuse,
    .setup = ovl_setup,
    .teardown = ovl_teardown,
};
