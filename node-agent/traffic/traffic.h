/*
 * traffic.h — cntb-traffic, the traffic engine: the pieces shared by its
 * command line (traffic.c), the server (traffic_server.c), the client
 * (traffic_client.c) and the small helpers (traffic_util.c).
 *
 * cntb-traffic is a standalone program like iperf3: the agent starts a server
 * in one container and a client in another; the client prints one JSON result
 * on stdout.  Wire protocol of tcp_stream (one TCP connection per stream):
 *
 *   client ── payload bytes ... FIN ──►  server (counts bytes, times first
 *   client ◄── {"bytes":N,"elapsed_ns":NS}\n ── server     byte .. EOF)
 */
#ifndef CNTB_TRAFFIC_H
#define CNTB_TRAFFIC_H

#include <stdint.h>

#define TRAFFIC_VERSION "0.1"
#define TRAFFIC_DEFAULT_PORT 5300
#define TRAFFIC_SIZE_MAX 1048576L     /* bytes per send() */
#define TRAFFIC_STREAMS_MAX 128L
#define TRAFFIC_DURATION_MAX 86400.0  /* seconds */
#define TRAFFIC_REPLY_TIMEOUT_S 10    /* wait for the server's reply after FIN */
#define TRAFFIC_CONNECT_TIMEOUT_S 5   /* connect() to an unresponsive address */

/* Exit codes of cntb-traffic (DESIGN.md: 1 runtime failure, 2 bad usage). */
enum traffic_exit { TRAFFIC_EXIT_OK = 0, TRAFFIC_EXIT_RUNTIME = 1, TRAFFIC_EXIT_USAGE = 2 };

/* Options of `cntb-traffic server`. */
struct traffic_server_opts {
    const char *bind;             /* numeric address to bind, borrowed from argv */
    long port;                    /* TCP port, 0..65535 (0 = kernel picks) */
};

/* Options of `cntb-traffic client`. */
struct traffic_client_opts {
    const char *server;           /* server address or name, borrowed from argv */
    long port;                    /* TCP port, 1..65535 */
    const char *traffic;          /* traffic kind; only "tcp_stream" is implemented */
    long size;                    /* bytes per send(), 1..TRAFFIC_SIZE_MAX */
    long streams;                 /* parallel connections, 1..TRAFFIC_STREAMS_MAX */
    double duration;              /* seconds of sending, (0, TRAFFIC_DURATION_MAX] */
    double interval;              /* seconds between samples, [0.01, TRAFFIC_DURATION_MAX] */
};

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
