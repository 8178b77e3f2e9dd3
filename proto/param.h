/*
 * param.h — the one definition of every matrix parameter (issue 15).
 *
 * A run's parameters travel from the matrix (controller/matrix.c) in SETUP
 * and START (proto/proto.c) to the agent (node-agent/agent.c,
 * agent_traffic.c), which turns them into cntb-traffic's argv
 * (node-agent/traffic/traffic.c).  Each of them checks the values it gets,
 * and all of them take the ranges and defaults from here, as the kernel's
 * netlink families check attributes against one nla_policy array: the
 * table param_table[] (param.c) has one row per parameter, and the numbers
 * that other code needs at compile time (array sizes, usage texts, option
 * parsers) are the macros below, each with where its value comes from.
 * docs/matrix.md's parameter table and schemas/matrix.schema.json are
 * checked against the table by tests/unit/test_param.c.
 *
 * This file and param.c need no library: they are built into cntbparam,
 * which the protocol library (controller, agent) and the traffic engine's
 * library both link.
 */
#ifndef CNTB_PARAM_H
#define CNTB_PARAM_H

#include <stdbool.h>

#define PARAM_STR_(x) #x
#define PARAM_STR(x) PARAM_STR_(x)  /* a macro's value as a string literal, for usage texts */

/* size: L4 payload bytes per send() (TCP) or per datagram (UDP).  The upper
 * limit is cntb's own choice, no outside limit (1 MiB, since the first
 * matrix loader): the engine allocates buffers of this size per stream
 * (traffic_client.c). */
#define PARAM_SIZE_MIN 1
#define PARAM_SIZE_MAX 1048576
#define PARAM_SIZE_DEFAULT 1448      /* Ethernet 1500 - 20 IPv4 - 32 TCP (timestamps): one segment */
/* UDP sizes: 65535 - 20 IPv4 header - 8 UDP header (RFC 791, RFC 768) is the
 * largest IPv4 UDP payload; the builtin engine's datagram begins with an
 * 8-byte sequence number (traffic.h).  Not a range of `size` itself (TCP
 * takes more) but of size with traffic udp_*: matrix.c point_conflict(). */
#define PARAM_UDP_IPV4_OVERHEAD 28
#define PARAM_UDP_SIZE_MAX (65535 - PARAM_UDP_IPV4_OVERHEAD)
#define PARAM_UDP_SIZE_MIN 8

/* streams: parallel connections or flows, one engine thread each; the bound
 * is cntb's own (pairs x streams is further limited, matrix.c). */
#define PARAM_STREAMS_MAX 128
#define PARAM_STREAMS_DEFAULT 1

/* The traffic engine's shortest sample interval (cntb-traffic --interval,
 * node-agent/traffic/traffic.c parses no less). */
#define PARAM_INTERVAL_MIN_S 0.01
#define PARAM_INTERVAL_MAX_S 3600    /* one sample an hour */
#define PARAM_INTERVAL_DEFAULT_S 1

/* duration_s: the shortest run is 10 samples at the shortest interval, so
 * that the check of the total against the samples (CASES.md 8) has samples;
 * the longest a day. */
#define PARAM_DURATION_MIN_S (10 * PARAM_INTERVAL_MIN_S)
#define PARAM_DURATION_MAX_S 86400
#define PARAM_DURATION_DEFAULT_S 10

/* The agent hands seconds to the engine with 3 decimals (agent_traffic.c)
 * and the controller's timers count milliseconds: a smaller positive value
 * would silently become 0 (CASES.md 7). */
#define PARAM_SECONDS_RESOLUTION 0.001
#define PARAM_OMIT_MAX_S 3600

/* pairs: client/server container pairs per run (issue 3: "N up to 64";
 * node-agent/net/netkind.h sizes its arrays by it). */
#define PARAM_PAIRS_MAX 64

/* mtu: 0 (the network's default) or IPv4's minimum 68 (RFC 791) up to the
 * largest 16-bit IPv4 total length. */
#define PARAM_MTU_MIN 68
#define PARAM_MTU_MAX 65535
/* Not a parameter: the largest path MTU an agent reports (SETUP_OK's mtu)
 * and hands the engine (cntb-traffic --mtu); above any link's (loopback's
 * is 65536, one more than the mtu parameter takes). */
#define PARAM_PATH_MTU_MAX (1024 * 1024)

/* rate: datagrams/s per flow, 0 = unpaced; the bound is cntb's own (a
 * guard against typos), no outside limit. */
#define PARAM_RATE_MAX 100000000

/* burst: rr probes outstanding per flow (the engine keeps a slot array of
 * this size per flow, traffic_client.c). */
#define PARAM_BURST_MAX 64

/* timeout_ms: an unanswered udp_rr probe is lost after it; the bounds are
 * cntb's own (at most a minute). */
#define PARAM_TIMEOUT_MS_MAX 60000
#define PARAM_TIMEOUT_MS_DEFAULT 200

/* PARAM_NUM: a number in [fmin, max]; PARAM_NUM0: 0 or a number in [fmin, max]
 * (-0 is stored as 0); PARAM_BOOL: true|false; PARAM_ENUM: one of values. */
typedef enum { PARAM_ENUM, PARAM_INT, PARAM_NUM, PARAM_NUM0, PARAM_BOOL } param_type_t;

typedef struct {
    const char *name;          /* the key in a matrix and in a run's params */
    param_type_t type;
    const char *unit;          /* what a number counts: bytes, count, s, ms, packet/s,
                                * probes (as results print it); NULL: enums, booleans */
    const char *const *values; /* PARAM_ENUM: NULL-terminated allowed values */
    long long min, max;        /* PARAM_INT: inclusive range; PARAM_NUM*: max only */
    double fmin;               /* PARAM_NUM*: the smallest positive value */
    const char *fmin_why;      /* PARAM_NUM*: where fmin comes from ("below <why>" in errors) */
    const char *def_str;       /* PARAM_ENUM default */
    long long def_int;         /* PARAM_INT / PARAM_NUM* default; PARAM_BOOL: 0 or 1 */
    const char *used_by;       /* who reads it: network kinds, traffic kinds, engines */
    const char *source;        /* where the range comes from */
} param_t;

/* Number of rows of param_table (a constant: callers size arrays by it). */
#define PARAM_COUNT 21

/* The parameters in the order every run's params object lists them. */
extern const param_t *const param_table;

/* The row of parameter name, or NULL when there is none. */
const param_t *param_find(const char *name);

/* The default of a PARAM_INT, PARAM_NUM* or PARAM_BOOL parameter as a
 * number; 0 for an unknown name or an enum. */
double param_default_num(const char *name);

/* The default of a PARAM_ENUM parameter (static), NULL for any other name. */
const char *param_default_str(const char *name);

/* v is a valid value of the numeric parameter p (PARAM_INT: whole and in
 * [min, max]; PARAM_NUM: in [fmin, max]; PARAM_NUM0: also 0). */
bool param_num_ok(const param_t *p, double v);

#endif
