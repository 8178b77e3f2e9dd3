/*
 * traffic.h — cntb-traffic, the traffic engine: the pieces shared by its
 * command line (traffic.c), the server (traffic_server.c), the client
 * (traffic_client.c) and the small helpers (traffic_util.c).
 *
 * cntb-traffic is a standalone program like iperf3: the agent starts a server
 * in one container and a client in another; the client prints one JSON result
 * on stdout.  Wire protocol (version 3): every TCP connection to the server
 * starts with one JSON line, the hello (at most TRAFFIC_HELLO_MAX bytes),
 * whose "t" says what follows:
 *
 *   {"t":"stream","dir":"up"}        client sends payload ... FIN; server
 *                                    replies {"bytes":N,"elapsed_ns":NS}\n
 *                                    (first byte .. EOF) and closes
 *   {"t":"stream","dir":"down","size":S,"duration_ns":D}
 *                                    server sends S-byte buffers for D ns, closes
 *   {"t":"rr","size":S}              client sends S bytes, server echoes S
 *                                    bytes, ... until the client's FIN
 *   {"t":"crr","size":S}             the same, one exchange per connection,
 *                                    hello and request in one send(); the
 *                                    server closes after the reply and the
 *                                    client reads that EOF before closing
 *   {"t":"udp","dir":"up"|"down"|"rr","size":S,"rate":R,"omit_ns":O,
 *    "duration_ns":D,"gso":0|1}      server replies {"port":P,"token":T}\n;
 *                                    the client sends PUNCH datagrams (below)
 *                                    carrying T to the port it connected to,
 *                                    over UDP, until the server replies
 *                                    {"ready":true}\n (or {"error":E}\n after
 *                                    TRAFFIC_CONNECT_TIMEOUT_S); datagrams
 *                                    then flow between the punch's source
 *                                    and that port until the client writes
 *                                    "end\n"; the server replies with its
 *                                    counters ({"received":..} up, {"sent":..}
 *                                    down, {"echoed":..} rr) and closes
 *   {"t":"stats"}                    server replies {"cpu_ns":C,"now_ns":T}\n:
 *                                    its process CPU time, for cpu_server_pct
 *
 * A datagram starts with a big-endian 64-bit word: the sequence number
 * (from 0 after the warm-up), TRAFFIC_SEQ_WARMUP set during omit_s, or
 * TRAFFIC_SEQ_PUNCH on the 16-byte datagrams by which a client tells the
 * server its address (as the server sees it, after any NAT): the second
 * word is the flow's token.  Data and punches of every datagram flow use the
 * server's one port, so a network that publishes only that port (nat) carries
 * them.  udp rr echoes each datagram as it came.
 */
#ifndef CNTB_TRAFFIC_H
#define CNTB_TRAFFIC_H

#include "param.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TRAFFIC_VERSION "0.3"
#define TRAFFIC_HELLO_MAX 1024     /* bytes of the hello line, newline included */
#define TRAFFIC_DEFAULT_PORT 5300
/* The engine's limits are the matrix parameters' (proto/param.h), except
 * where the engine, a standalone program, accepts more (--interval up to
 * TRAFFIC_DURATION_MAX). */
#define TRAFFIC_SIZE_MAX ((long)PARAM_SIZE_MAX)         /* bytes per send() */
#define TRAFFIC_STREAMS_MAX ((long)PARAM_STREAMS_MAX)
#define TRAFFIC_DURATION_MAX ((double)PARAM_DURATION_MAX_S) /* seconds */
#define TRAFFIC_INTERVAL_MIN PARAM_INTERVAL_MIN_S        /* seconds */
#define TRAFFIC_REPLY_TIMEOUT_S 10    /* wait for the server's reply after FIN */
#define TRAFFIC_CONNECT_TIMEOUT_S 5   /* connect() to an unresponsive address */

/* Exit codes of cntb-traffic (DESIGN.md: 1 runtime failure, 2 bad usage). */
enum traffic_exit { TRAFFIC_EXIT_OK = 0, TRAFFIC_EXIT_RUNTIME = 1, TRAFFIC_EXIT_USAGE = 2 };

/* Options of `cntb-traffic server`. */
struct traffic_server_opts {
    const char *bind;             /* numeric address to bind, borrowed from argv */
    long port;                    /* TCP port, 0..65535 (0 = kernel picks; builtin only) */
    const char *engine;           /* "builtin", "iperf3" or "sockperf" */
    const char *traffic;          /* traffic kind (sockperf: TCP or UDP server) */
};

/* Options of `cntb-traffic client`. */
struct traffic_client_opts {
    const char *server;           /* server address or name, borrowed from argv */
    long port;                    /* TCP port, 1..65535 */
    const char *traffic;          /* tcp_stream|udp_stream|tcp_rr|udp_rr|tcp_crr */
    long size;                    /* bytes per send(), 1..TRAFFIC_SIZE_MAX (UDP: 8..65507) */
    long streams;                 /* parallel connections or flows, 1..TRAFFIC_STREAMS_MAX */
    double duration;              /* seconds measured, (0, TRAFFIC_DURATION_MAX] */
    double interval;              /* seconds between samples, [0.01, TRAFFIC_DURATION_MAX] */
    double omit;                  /* seconds of warm-up before the measurement, [0, 3600] */
    long rate;                    /* udp_stream target datagrams/s per flow, 0 = unpaced */
    long burst;                   /* rr: outstanding probes per flow, 1..TRAFFIC_BURST_MAX */
    int download;                 /* 1: the server sends (stream kinds) */
    long timeout_ms;              /* udp_rr: a probe unanswered this long is lost */
    long mtu;                     /* path MTU in bytes from the agent, 0 = unknown */
    int allow_fragments;          /* 1: UDP size above MTU - 28 runs, marked fragmented */
    int gso;                      /* 1: UDP GSO on the sender and GRO on the receiver */
    const char *engine;           /* "builtin", "iperf3" or "sockperf" */
};

#define TRAFFIC_BURST_MAX ((long)PARAM_BURST_MAX)
#define TRAFFIC_OMIT_MAX ((double)PARAM_OMIT_MAX_S)    /* seconds */
#define TRAFFIC_RATE_MAX ((long)PARAM_RATE_MAX)        /* datagrams/s */
#define TRAFFIC_TIMEOUT_MS_MAX ((long)PARAM_TIMEOUT_MS_MAX)
#define TRAFFIC_UDP_SIZE_MIN PARAM_UDP_SIZE_MIN         /* the sequence number */
#define TRAFFIC_UDP_SIZE_MAX ((long)PARAM_UDP_SIZE_MAX) /* 65535 - 20 (IPv4) - 8 (UDP) */
#define TRAFFIC_MTU_MAX ((long)PARAM_PATH_MTU_MAX)    /* --mtu, bytes */
#define TRAFFIC_TOOL_BOUND_PCT 95.0   /* CASES.md case 3: >= 95 % of one core */
#define TRAFFIC_CONSISTENCY_TOL 0.02  /* case 8: total may exceed the best interval by 2 % */

/* UDP datagram header: one big-endian 64-bit word, then padding to `size`. */
#define TRAFFIC_SEQ_WARMUP (1ull << 63)  /* sent during omit_s: not counted */
#define TRAFFIC_SEQ_PUNCH (1ull << 62)   /* download: the client's address announcement */
#define TRAFFIC_SEQ_MASK (TRAFFIC_SEQ_PUNCH - 1)

/*
 * Runs the server until SIGTERM or SIGINT.  Prints the listening line on
 * stdout once the socket listens.  Returns an exit code (enum traffic_exit);
 * errors are reported on stderr.
 */
int traffic_server_run(const struct traffic_server_opts *opts);

/*
 * Runs one client measurement and prints its JSON result on stdout.  Returns
 * an exit code (enum traffic_exit); errors are reported on stderr.
 */
int traffic_client_run(const struct traffic_client_opts *opts);

/* The adapters of other engines (traffic_engine.c): same exit codes and output. */
int traffic_engine_server_run(const struct traffic_server_opts *opts);
int traffic_engine_client_run(const struct traffic_client_opts *opts);

/*
 * Converts iperf3's -J output (a parsed document, borrowed) of a run with
 * options o into cntb's result object {"metrics", "samples", "applied"}: a
 * fresh object, or NULL with a reason in why when the document lacks the
 * end summary or reports an error.  Throughput is iperf3's receiver-side sum
 * (end.sum_received for TCP; end.sum for UDP, with lost_percent / 100 as
 * loss_ratio); pps is bytes / size; CPU from end.cpu_utilization_percent.
 */
json_t *traffic_engine_iperf3_convert(const json_t *doc, const struct traffic_client_opts *o,
                                      char *why, size_t whylen);

/*
 * Converts sockperf's text output (NUL-terminated, borrowed) of a run with
 * options o into cntb's result object.  Ping-pong (tcp_rr, udp_rr): the
 * percentiles and average; without --full-rtt sockperf prints half the round
 * trip ("avg-latency"), which is doubled here so that rtt_us_* is the full
 * RTT as everywhere in cntb; "avg-rtt" (--full-rtt) is taken as is.
 * transactions_per_s = ReceivedMessages / RunTime of the valid duration.
 * Throughput mode (udp_stream): "Message Rate" is the sender's rate.
 * Returns a fresh object, or NULL with a reason in why.
 */
json_t *traffic_engine_sockperf_convert(const char *text, const struct traffic_client_opts *o,
                                        char *why, size_t whylen);

/* --- Latency histogram (traffic_hist.c) --- */
typedef struct traffic_hist traffic_hist_t;

/* A fresh empty histogram (about 60 KiB), or NULL when out of memory. */
traffic_hist_t *traffic_hist_new(void);
/* Frees it and sets *self_p to NULL; accepts NULL. */
void traffic_hist_destroy(traffic_hist_t **self_p);
/* Records one value in nanoseconds (any uint64_t). */
void traffic_hist_record(traffic_hist_t *self, uint64_t ns);
/* Adds other's values into self. */
void traffic_hist_merge(traffic_hist_t *self, const traffic_hist_t *other);
/* Values recorded. */
uint64_t traffic_hist_count(const traffic_hist_t *self);
/* Exact mean in ns, NAN when empty. */
double traffic_hist_mean(const traffic_hist_t *self);
/*
 * The p-th percentile (0 <= p <= 100, nearest rank) in ns, within 0.4 % of
 * the exact value; NAN when empty or p is out of range.
 */
double traffic_hist_percentile(const traffic_hist_t *self, double p);

/* --- Sequence numbers (traffic_seq.c) --- */
#define TRAFFIC_SEQ_WINDOW 4096u      /* numbers below the highest checked for duplicates */
struct traffic_seq {
    uint64_t highest;             /* highest number received */
    int any;                      /* 1 once a number was received */
    uint64_t received;            /* unique numbers received (late ones included) */
    uint64_t reordered;           /* received below the highest already seen */
    uint64_t duplicates;          /* received again, not counted in received */
    uint64_t bits[TRAFFIC_SEQ_WINDOW / 64]; /* seen-bitmap of the window */
};
/* Empties the counter. */
void traffic_seq_init(struct traffic_seq *s);
/* Counts the arrival of number n. */
void traffic_seq_add(struct traffic_seq *s, uint64_t n);
/*
 * Datagrams lost out of `sent` (the sender's count; 0 = unknown, then
 * highest + 1 is expected): sent - received, never negative.
 */
uint64_t traffic_seq_lost(const struct traffic_seq *s, uint64_t sent);

/* --- Checks (traffic_check.c) --- */
/* Largest UDP payload in bytes that fits the MTU unfragmented: mtu - 28 (IPv4) or - 48 (IPv6). */
long traffic_udp_payload_max(long mtu, int ipv6);
/*
 * CASES.md case 1.  Returns 0 when size fits mtu (or mtu <= 0, unknown), or
 * when it does not but allow_fragments is set (then *fragmented = 1);
 * otherwise -1 with a one-line reason in why.
 */
int traffic_check_udp_size(long size, long mtu, int ipv6, int allow_fragments, int *fragmented,
                           char *why, size_t whylen);
/*
 * CASES.md case 8.  1 when total (a rate) is at most the highest of the n
 * interval rates times (1 + rel_tol), or there are no samples; 0 otherwise
 * (the run is invalid).
 */
int traffic_check_consistency(double total, const double *samples, size_t n, double rel_tol);
/*
 * The validity gate (CASES.md case 9), applied by the agent to every pair's
 * result whatever engine made it (builtin, iperf3, sockperf).  A result
 * (borrowed, changed in place) that measured nothing fails: tcp_stream with
 * no byte received, udp_stream with no datagram received, a request/response
 * kind with no transaction completed (every probe timed out); then -1 with a
 * one-line reason in why naming what did not arrive, where, in how long and
 * how much was sent.  A result that passes but lost at least
 * TRAFFIC_LOSSY_RATIO of its datagrams or probes gets the flag "lossy"
 * (kept once) and is stored; a tcp_rr or udp_rr result of one flow with
 * burst 1 whose 1e6 / transactions_per_s and rtt_us_mean differ by more than
 * TRAFFIC_RR_CONSISTENCY_TOL gets "rr_inconsistent".  Returns 0 or -1.
 */
int traffic_result_gate(json_t *result, char *why, size_t whylen)
    __attribute__((warn_unused_result));
/*
 * loss_ratio from which a stored result is flagged "lossy": at 5 % or more
 * lost, the received rate says more about where packets are dropped (a full
 * socket buffer, a policer) than about what the path carries.
 */
#define TRAFFIC_LOSSY_RATIO 0.05
/*
 * tcp_rr and udp_rr with one flow, burst 1 and no loss: 1e6 / transactions_per_s
 * and rtt_us_mean must agree within this fraction of the mean, else the result
 * is flagged "rr_inconsistent" (CASES.md case 10; the gate above checks it).
 */
#define TRAFFIC_RR_CONSISTENCY_TOL 0.10

/* CASES.md case 3: 1 when a process or thread used >= 95 % of one core. */
int traffic_tool_bound(double cpu_pct_of_one_core);

/* --- CPU accounting (traffic_cpu.c) --- */
struct traffic_cpu {
    uint64_t user, system, idle, irq, softirq, steal;  /* USER_HZ ticks, all CPUs */
};
/* Parses the "cpu " line of /proc/stat; 0 or -1 when it is not one. */
int traffic_cpu_parse(const char *text, struct traffic_cpu *out);
/* Reads /proc/stat's first line; 0 or -1. */
int traffic_cpu_read(struct traffic_cpu *out);
/* Deltas b - a over wall_s seconds as % of one core (ticks_per_s = sysconf(_SC_CLK_TCK)). */
void traffic_cpu_pct(const struct traffic_cpu *a, const struct traffic_cpu *b, double wall_s,
                     long ticks_per_s, double *user_pct, double *system_pct,
                     double *softirq_pct);
/* CPU time (user + system) of this process, ns. */
uint64_t traffic_process_cpu_ns(void);
/* User CPU time of this process, ns. */
uint64_t traffic_process_user_ns(void);
/* CPU time of the calling thread, ns. */
uint64_t traffic_thread_cpu_ns(void);

/* Monotonic clock (CLOCK_MONOTONIC) in nanoseconds. */
uint64_t traffic_now_ns(void);

/*
 * Parses all of s as a decimal integer in [min, max] into *out.  Returns 0,
 * or -1 (nothing stored) for an empty string, trailing characters, or a value
 * out of range.
 */
int traffic_parse_long(const char *s, long min, long max, long *out)
    __attribute__((warn_unused_result));

/*
 * Parses all of s as a finite decimal number in [min, max] into *out; with
 * min_open set the minimum itself is excluded.  Returns 0, or -1 (nothing
 * stored) for anything else.
 */
int traffic_parse_double(const char *s, double min, int min_open, double max, double *out)
    __attribute__((warn_unused_result));

/* Prints "cntb-traffic: <message>\n" on stderr (printf format). */
void traffic_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
