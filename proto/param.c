/*
 * param.c — the parameter table: one row per matrix parameter.
 *
 * Every validator of a parameter reads its row (or the macros of param.h
 * that the row is made of): controller/matrix.c when a matrix is loaded,
 * node-agent/agent.c and agent_traffic.c when SETUP and START arrive, and
 * cntb-traffic when it parses its options.  The order of the rows is the
 * order of every run's params object and of docs/matrix.md's table;
 * tests/unit/test_param.c checks that table and schemas/matrix.schema.json
 * against this one.
 */
#include "param.h"

#include <math.h>
#include <string.h>

static const char *const networks[] = { "none", "host", "container", "bridge", "macvlan",
                                        "ipvlan", "nat", "overlay", "routing", "noop", NULL };
static const char *const placements[] = { "same-host", "cross-host", NULL };
static const char *const nestings[] = { "bare", "vm", NULL };
static const char *const traffics[] = { "tcp_stream", "udp_stream", "tcp_rr", "udp_rr",
                                        "tcp_crr", NULL };
static const char *const directions[] = { "upload", "download", NULL };
static const char *const engines[] = { "builtin", "iperf3", "sockperf", NULL };
static const char *const macvlan_modes[] = { "bridge", "private", "vepa", "passthru", "source",
                                             NULL };
static const char *const ipvlan_modes[] = { "l2", "l3", "l3s", NULL };

#define ENUM(n, vals, def, who, src) \
    { .name = n, .type = PARAM_ENUM, .values = vals, .def_str = def, .used_by = who, .source = src }
#define INT(n, u, lo, hi, def, who, src) \
    { .name = n, .type = PARAM_INT, .unit = u, .min = lo, .max = hi, .def_int = def, \
      .used_by = who, .source = src }
#define NUM(n, t, u, lo, why, hi, def, who, src) \
    { .name = n, .type = t, .unit = u, .fmin = lo, .fmin_why = why, .max = hi, .def_int = def, \
      .used_by = who, .source = src }
#define BOOL(n, def, who) \
    { .name = n, .type = PARAM_BOOL, .def_int = def, .used_by = who, .source = "true or false" }

static const param_t rows[] = {
    ENUM("network", networks, "host", "agent: node-agent/net/ (one file per kind)",
         "the network kinds; noop only on simulated agents"),
    ENUM("placement", placements, "same-host", "controller: leasing; agent: SETUP",
         "proto/netplace.c says which network runs where"),
    ENUM("nesting", nestings, "bare", "controller: ctl_vm.c", "docs/vm.md"),
    ENUM("traffic", traffics, "tcp_stream", "every engine (builtin: all; iperf3, sockperf: some)",
         "the kinds of cntb-traffic"),
    INT("size", "bytes", PARAM_SIZE_MIN, PARAM_SIZE_MAX, PARAM_SIZE_DEFAULT,
        "every traffic kind and engine (UDP kinds: 8..65507 with builtin)",
        "param.h PARAM_SIZE_MAX (cntb's own); UDP: PARAM_UDP_SIZE_MAX (IPv4)"),
    INT("streams", "count", 1, PARAM_STREAMS_MAX, PARAM_STREAMS_DEFAULT,
        "every traffic kind; sockperf: 1 only", "param.h PARAM_STREAMS_MAX (cntb's own)"),
    NUM("duration_s", PARAM_NUM, "s", PARAM_DURATION_MIN_S,
        "the shortest run, 10 samples at the engine's shortest interval", PARAM_DURATION_MAX_S,
        PARAM_DURATION_DEFAULT_S, "every traffic kind and engine",
        "10 x the engine's shortest interval .. a day"),
    ENUM("macvlan_mode", macvlan_modes, "bridge", "network macvlan (node-agent/net/)",
         "the kernel's macvlan modes"),
    ENUM("ipvlan_mode", ipvlan_modes, "l2", "network ipvlan (node-agent/net/)",
         "the kernel's ipvlan modes"),
    INT("pairs", "count", 1, PARAM_PAIRS_MAX, 1, "agent: every network kind",
        "param.h PARAM_PAIRS_MAX (issue 3); pairs x streams <= 1024 (matrix.c)"),
    BOOL("cpu_pinning", 0, "agent: sched_setaffinity and cgroup cpuset"),
    INT("mtu", "bytes", 0, PARAM_MTU_MAX, 0,
        "networks bridge, macvlan, ipvlan, overlay (none, host, container: 0 only)",
        "0 or 68 (RFC 791) .. 65535; the agent refuses more than the network allows"),
    ENUM("direction", directions, "upload", "stream kinds; sockperf: upload only",
         "who sends"),
    NUM("omit_s", PARAM_NUM0, "s", PARAM_SECONDS_RESOLUTION,
        "the millisecond resolution the agent passes to the engine", PARAM_OMIT_MAX_S, 0,
        "every traffic kind", "milliseconds (agent -> engine) .. an hour"),
    NUM("interval_s", PARAM_NUM, "s", PARAM_INTERVAL_MIN_S,
        "the traffic engine's shortest sample interval (cntb-traffic --interval)",
        PARAM_INTERVAL_MAX_S, PARAM_INTERVAL_DEFAULT_S,
        "every traffic kind; iperf3 samples at most every 0.1 s",
        "the engine's shortest interval .. an hour"),
    INT("rate", "packet/s", 0, PARAM_RATE_MAX, 0, "udp_stream",
        "param.h PARAM_RATE_MAX (cntb's own)"),
    INT("burst", "probes", 1, PARAM_BURST_MAX, 1, "tcp_rr, udp_rr (builtin)",
        "param.h PARAM_BURST_MAX: the engine's slots per flow"),
    INT("timeout_ms", "ms", 1, PARAM_TIMEOUT_MS_MAX, PARAM_TIMEOUT_MS_DEFAULT,
        "udp_rr (builtin)", "param.h PARAM_TIMEOUT_MS_MAX (cntb's own)"),
    ENUM("engine", engines, "builtin", "cntb-traffic (traffic_engine.c adapts the others)",
         "iperf3: tcp_stream, udp_stream; sockperf: udp_stream, udp_rr, tcp_rr"),
    BOOL("gso", 0, "udp_stream (builtin)"),
    BOOL("allow_fragments", 0, "UDP kinds: agent and engine check size against the MTU"),
};

_Static_assert(sizeof rows / sizeof rows[0] == PARAM_COUNT, "PARAM_COUNT is the number of rows");

const param_t *const param_table = rows;

const param_t *
param_find(const char *name)
{
    for (int i = 0; name && i < PARAM_COUNT; i++)
        if (strcmp(param_table[i].name, name) == 0)
            return &param_table[i];
    return NULL;
}

double
param_default_num(const char *name)
{
    const param_t *p = param_find(name);
    return p && p->type != PARAM_ENUM ? (double)p->def_int : 0;
}

const char *
param_default_str(const char *name)
{
    const param_t *p = param_find(name);
    return p && p->type == PARAM_ENUM ? p->def_str : NULL;
}

bool
param_num_ok(const param_t *p, double v)
{
    switch (p->type) {
    case PARAM_INT:
        return v >= (double)p->min && v <= (double)p->max && floor(v) == v;
    case PARAM_NUM0:
        if (v == 0)
            return true;
        /* fall through */
    case PARAM_NUM:
        return v >= p->fmin && v <= (double)p->max;
    default:
        return false;
    }
}
