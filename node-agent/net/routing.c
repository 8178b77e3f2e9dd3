/*
 * routing.c — network `routing`: container subnets announced over eBGP by
 * BIRD 2, traffic routed over the underlay, not encapsulated (Calico's
 * BGP mode without IP-in-IP).
 *
 * On each host of a cross-host run: the container on the run's bridge with
 * the host's container subnet 198.19.H.0/24 (inter.h), IPv4 forwarding on,
 * and one BIRD for the run in the host's namespace, with a configuration
 * the agent writes and its own control socket, both under
 * /run/cntb/<testbed>/bird-<run>-<host>.{conf,ctl,pid,log}.  BIRD's
 * `direct` protocol takes the bridge's subnet, one eBGP session per peer
 * host (protocol cntb_<peer address with underscores>) announces it and
 * imports the peer's, and the `kernel` protocol installs the imported
 * routes (protocol "bird", RTPROT_BIRD = 12) in the main table.  ASNs
 * (private, RFC 6996) and router ids (the hosts' underlay addresses) come
 * from the controller in SETUP's `bgp`.  Timers are short so that a run
 * converges in seconds: connect delay 1 s, connect retry 2 s, hold 6 s,
 * keepalive 2 s (RFC 4271 §10 allows any hold time >= 3 s).
 *
 * Setup waits until every session is Established and every peer's subnet
 * is a kernel route (asked over BIRD's control socket and netlink) and
 * stores that time, from BIRD's start, as `convergence_ms`.  A session that
 * is not Established after ROUTING_WAIT_MS fails the run with the session,
 * the peer and BIRD's own words (CASES.md case 6).  Teardown stops BIRD
 * (which withdraws its kernel routes), removes any route left to the peer
 * subnets, the container and the files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bird.h"
#include "inter.h"
#include "netkind.h"
#include "netplace.h"
#include "nl.h"
#include "nl_l2.h"

#define ROUTING_WAIT_MS 15000     /* setup waits this long for BGP (controller: 30 s) */
#define ROUTING_RTPROT_BIRD 12    /* linux/rtnetlink.h: RTPROT_BIRD */
#define ROUTING_RUNS_MAX 32
#define ROUTING_DIR "/run/cntb"

/* BIRD processes started by this agent, per run, to reap them. */
static struct {
    int64_t run;
    pid_t pid;
} routing_birds[ROUTING_RUNS_MAX];

static int64_t routing_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The files of the run: base "/run/cntb/<testbed>/bird-<run>-<host>" + suffixes. */
typedef struct {
    char conf[160], sock[160], pid[160], log[160];
} routing_files_t;

static void routing_files(const netkind_ctx_t *ctx, routing_files_t *f)
{
    char base[140];
    snprintf(base, sizeof base, "%s/%s/bird-%" PRId64 "-%s", ROUTING_DIR, ctx->testbed, ctx->run,
             ctx->host[0] ? ctx->host : ctx->underlay_addr);
    snprintf(f->conf, sizeof f->conf, "%s.conf", base);
    snprintf(f->sock, sizeof f->sock, "%s.ctl", base);
    snprintf(f->pid, sizeof f->pid, "%s.pid", base);
    snprintf(f->log, sizeof f->log, "%s.log", base);
}

/* BIRD's protocol name of the session to peer addr: "cntb_198_18_7_2". */
static void routing_proto_name(const char *addr, char *out, size_t len)
{
    snprintf(out, len, "cntb_%s", addr);
    for (char *p = out; *p; p++)
        if (*p == '.')
            *p = '_';
}

/* Writes BIRD's configuration for the run.  0 or -1 with err. */
static int routing_conf(const netkind_ctx_t *ctx, const inter_plan_t *p, const routing_files_t *f,
                        char *err)
{
    char tmp[170];
    FILE *out;
    int ok;

    snprintf(tmp, sizeof tmp, "%s.tmp", f->conf);
    out = fopen(tmp, "w");
    if (!out) {
        snprintf(err, NETKIND_ERR_MAX, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(out,
            "# BIRD configuration of cntb run %" PRId64 " on host %s (written by cntb-agent)\n"
            "router id %s;\n"
            "protocol device { scan time 10; }\n"
            "protocol direct cntb_direct { ipv4; interface \"%s\"; }\n"
            "protocol kernel cntb_kernel {\n"
            "  ipv4 { import none; export where source = RTS_BGP; };\n"
            "}\n",
            ctx->run, ctx->host, ctx->bgp_router_id, p->br);
    for (int i = 0; i < ctx->npeers; i++) {
        char name[40];
        routing_proto_name(ctx->peers[i].addr, name, sizeof name);
        fprintf(out,
                "protocol bgp %s {\n"
                "  local %s as %d;\n"
                "  neighbor %s as %d;\n"
                "  connect delay time 1; connect retry time 2; error wait time 1, 4;\n"
                "  hold time 6; keepalive time 2;\n"
                "  ipv4 { import where net ~ [ 198.19.0.0/16{24,24} ];\n"
                "         export where source = RTS_DEVICE && net = %s; };\n"
                "}\n",
                name, ctx->underlay_addr, ctx->bgp_asn, ctx->peers[i].addr, ctx->peers[i].asn,
                p->subnet);
    }
    ok = !ferror(out);
    ok &= fclose(out) == 0;
    if (!ok || rename(tmp, f->conf) != 0) {
        snprintf(err, NETKIND_ERR_MAX, "%s: %s", f->conf, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int routing_capability(char *reason, size_t len)
{
    if (access(BIRD_BIN, X_OK) != 0) {
        snprintf(reason, len, "%s not found (Debian package bird2)", BIRD_BIN);
        return 0;
    }
    if (reason && len)
        reason[0] = '\0';
    return 1;
}

static bool routing_supports(const char *placement)
{
    return netplace_supports("routing", placement);
}

/*
 * One look at the sessions and routes: 1 when every session is Established
 * and every peer subnet is a BIRD route in the kernel, 0 when not yet (why
 * in why), -1 on an error (in why).
 */
static int routing_check(const netkind_ctx_t *ctx, const routing_files_t *f, char *why, size_t len)
{
    char show[8192], e[BIRD_ERR_MAX], nlerr[NL_ERR_MAX];
    int code;

    if (bird_cmd(f->sock, "show protocols", show, sizeof show, &code, e) < 0) {
        snprintf(why, len, "%s", e);
        return -1;
    }
    for (int i = 0; i < ctx->npeers; i++) {
        char name[40], info[200], subnet[20];
        routing_proto_name(ctx->peers[i].addr, name, sizeof name);
        if (!bird_bgp_established(show, name, info, sizeof info)) {
            snprintf(why, len, "BGP session %s with %s (AS %d) not Established after %d s: %s",
                     name, ctx->peers[i].addr, ctx->peers[i].asn, ROUTING_WAIT_MS / 1000, info);
            return 0;
        }
        inter_subnet_of(ctx->peers[i].addr, subnet);
        int n = nl_route_count(NULL, subnet, ROUTING_RTPROT_BIRD, nlerr);
        if (n < 0) {
            snprintf(why, len, "%s", nlerr);
            return -1;
        }
        if (n == 0) {
            snprintf(why, len,
                     "BGP session %s with %s is Established but route %s is not in the kernel after %d s",
                     name, ctx->peers[i].addr, subnet, ROUTING_WAIT_MS / 1000);
            return 0;
        }
    }
    return 1;
}

static int routing_setup(netkind_ctx_t *ctx, char *err)
{
    inter_plan_t p;
    routing_files_t f;
    char e[NETKIND_ERR_MAX], dir[128], why[NETKIND_ERR_MAX] = "";
    int64_t t0, deadline;
    pid_t pid = 0;
    int slot = -1, rc, mtu;

#define RT_FAIL(...)                                                                               \
    do {                                                                                           \
        snprintf(err, NETKIND_ERR_MAX, "network routing: run %" PRId64 ": ", ctx->run);            \
        size_t _n = strlen(err);                                                                   \
        snprintf(err + _n, NETKIND_ERR_MAX - _n, __VA_ARGS__);                                     \
        return -1;                                                                                 \
    } while (0)

    if (inter_plan(ctx, "routing", true, &p, err) < 0)
        return -1;
    if (ctx->bgp_asn < 1 || !ctx->bgp_router_id[0] || ctx->npeers < 1)
        RT_FAIL("no BGP identity from the controller (SETUP without bgp)");
    for (int i = 0; i < ctx->npeers; i++) {
        char subnet[20];
        if (inter_subnet_of(ctx->peers[i].addr, subnet) < 0 || strcmp(subnet, p.subnet) == 0)
            RT_FAIL("peer %s would announce our own container subnet %s", ctx->peers[i].addr,
                    p.subnet);
        if (strcmp(ctx->peers[i].addr, ctx->bgp_router_id) == 0)
            RT_FAIL("peer %s has our router id %s", ctx->peers[i].addr, ctx->bgp_router_id);
    }
    if (inter_build(&p, true, 0, e) < 0 || nl_ipv4_forward_on(e) < 0)
        RT_FAIL("%.200s", e);
    routing_files(ctx, &f);
    snprintf(dir, sizeof dir, "%s", ROUTING_DIR);
    mkdir(dir, 0755);
    snprintf(dir, sizeof dir, "%s/%s", ROUTING_DIR, ctx->testbed);
    mkdir(dir, 0700);
    if (routing_conf(ctx, &p, &f, e) < 0)
        RT_FAIL("%.200s", e);
    for (int i = 0; i < ROUTING_RUNS_MAX; i++)
        if (routing_birds[i].run == ctx->run)
            slot = i;
    t0 = routing_now_ms();
    if (slot < 0) {
        for (int i = 0; i < ROUTING_RUNS_MAX && slot < 0; i++)
            if (routing_birds[i].run == 0)
                slot = i;
        if (slot < 0)
            RT_FAIL("too many routing runs on this host");
        pid = bird_start(f.conf, f.sock, f.pid, f.log, e);
        if (pid < 0)
            RT_FAIL("%.200s", e);
        routing_birds[slot].run = ctx->run;
        routing_birds[slot].pid = pid;
    } else {
        pid = routing_birds[slot].pid;
    }
    if (bird_wait_socket(pid, f.sock, f.log, 5000, e) < 0)
        RT_FAIL("%.200s", e);
    deadline = t0 + ROUTING_WAIT_MS;
    for (;;) {
        rc = routing_check(ctx, &f, why, sizeof why);
        if (rc < 0)
            RT_FAIL("%.200s", why);
        if (rc == 1)
            break;
        if (routing_now_ms() >= deadline)
            RT_FAIL("%.200s", why);
        if (ctx->keepalive)
            ctx->keepalive(ctx->keepalive_arg);
        usleep(100000);
    }
    ctx->convergence_ms = (double)(routing_now_ms() - t0);
    mtu = ctx->underlay_if[0] ? nl_link_mtu(NULL, ctx->underlay_if, e) : 0;
    if (mtu < 0)
        RT_FAIL("%.200s", e);
    snprintf(ctx->pair[0].client_netns, sizeof ctx->pair[0].client_netns, "%s", ctx->has_client ? p.ns : "");
    snprintf(ctx->pair[0].server_netns, sizeof ctx->pair[0].server_netns, "%s", ctx->has_server ? p.ns : "");
    if (ctx->has_server) /* the client host learns it from the controller (START) */
        snprintf(ctx->pair[0].server_addr, sizeof ctx->pair[0].server_addr, "%s", p.addr);
    ctx->mtu = mtu;
    return 0;
#undef RT_FAIL
}

static int routing_teardown(netkind_ctx_t *ctx, char *err)
{
    inter_plan_t p;
    routing_files_t f;
    char e[NL_ERR_MAX];
    pid_t pid = 0;
    int ret = 0;

    if (inter_plan(ctx, "routing", true, &p, err) < 0)
        return -1;
    routing_files(ctx, &f);
    for (int i = 0; i < ROUTING_RUNS_MAX; i++)
        if (routing_birds[i].run == ctx->run) {
            pid = routing_birds[i].pid;
            routing_birds[i].run = 0;
            routing_birds[i].pid = 0;
        }
    bird_stop(pid, f.pid, f.conf);
    for (int i = 0; i < ctx->npeers; i++) {
        char subnet[20];
        if (inter_subnet_of(ctx->peers[i].addr, subnet) == 0 && nl_route_del(NULL, subnet, e) < 0 &&
            ret == 0) {
            snprintf(err, NETKIND_ERR_MAX, "network routing: run %" PRId64 ": %.200s", ctx->run, e);
            ret = -1;
        }
    }
    if (inter_teardown(&p, e) < 0 && ret == 0) {
        snprintf(err, NETKIND_ERR_MAX, "network routing: run %" PRId64 ": %.200s", ctx->run, e);
        ret = -1;
    }
    unlink(f.conf);
    unlink(f.sock);
    unlink(f.log);
    return ret;
}

static int
routing_refuse(const netkind_ctx_t *ctx, char *reason, size_t len)
{
    return netkind_refuse_pairs(ctx, "routing", reason, len);
}

const netkind_t netkind_routing = {
    .name = "routing",
    .capability = routing_capability,
    .supports = routing_supports,
    .refuse = routing_refuse,
    .setup = routing_setup,
    .teardown = routing_teardown,
};
