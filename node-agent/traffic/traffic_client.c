/*
 * traffic_client.c — the client side of cntb-traffic (tcp_stream).
 *
 * How it works: the main thread connects every stream first (a failure there
 * ends the run before any traffic), reads what the kernel applied on the first
 * stream (TCP_MAXSEG, SO_SNDBUF), then starts one thread per stream.  Each
 * thread send()s `size`-byte buffers until a shared monotonic deadline,
 * counting sent bytes in an atomic counter, reads TCP_INFO, shuts its write
 * side and waits (at most TRAFFIC_REPLY_TIMEOUT_S) for the server's
 * {"bytes","elapsed_ns"} line.  Meanwhile the main thread sleeps from one
 * interval boundary to the next and turns counter deltas into samples.
 *
 * Throughput is computed from what the server received and timed (first byte
 * to EOF), not from what the client handed to its socket buffers, so large
 * send buffers do not inflate it; the samples, taken on the client, do show
 * the sender's view.
 */
#include "traffic.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_THREAD_STACK (256 * 1024)
#define CLIENT_SEND_TIMEOUT_MS 100    /* a blocked send() re-checks the deadline this often */

/* One TCP connection and its results. */
struct stream {
    int idx;                          /* 0-based stream number, for messages */
    int fd;                           /* connected socket, owned; -1 when closed */
    const char *buf;                  /* payload, `size` bytes, shared and read-only */
    size_t size;                      /* bytes per send() */
    _Atomic uint64_t deadline_ns;     /* monotonic time to stop sending (0 = stop now) */
    _Atomic uint64_t sent;            /* bytes accepted by send() so far */
    uint64_t end_ns;                  /* monotonic time the sending stopped */
    uint64_t retrans;                 /* tcpi_total_retrans just before shutdown */
    uint64_t srv_bytes;               /* bytes the server received */
    uint64_t srv_elapsed_ns;          /* server's first byte .. EOF, nanoseconds */
    int failed;                       /* 1 when err holds a message */
    char err[200];                    /* why this stream failed */
};

/* Records the first failure of a stream (printf format). */
static void __attribute__((format(printf, 2, 3)))
stream_fail(struct stream *s, const char *fmt, ...)
{
    va_list ap;

    if (s->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    s->failed = 1;
}

/*
 * Connects to one of the addresses of server:port within
 * TRAFFIC_CONNECT_TIMEOUT_S each; returns a blocking socket or -1 with the
 * reason in why.
 */
static int
client_connect(const struct addrinfo *res, char *why, size_t whylen)
{
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        int fd, err = 0, flags;
        socklen_t elen = sizeof err;

        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            snprintf(why, whylen, "socket: %s", strerror(errno));
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            if (errno != EINPROGRESS) {
                snprintf(why, whylen, "%s", strerror(errno));
                close(fd);
                continue;
            }
            pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
            int n;
            do
                n = poll(&pfd, 1, TRAFFIC_CONNECT_TIMEOUT_S * 1000);
            while (n < 0 && errno == EINTR);
            if (n == 0) {
                snprintf(why, whylen, "timed out after %d s", TRAFFIC_CONNECT_TIMEOUT_S);
                close(fd);
                continue;
            }
            if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
                err = errno;
            if (err) {
                snprintf(why, whylen, "%s", strerror(err));
                close(fd);
                continue;
            }
        }
        flags = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        return fd;
    }
    return -1;
}

/* Reads the server's reply line into s->srv_*; records a failure if it is missing. */
static void
stream_read_reply(struct stream *s)
{
    char line[512];
    size_t len = 0;
    uint64_t limit = traffic_now_ns() + (uint64_t)TRAFFIC_REPLY_TIMEOUT_S * 1000000000ull;
    json_t *root;
    json_error_t jerr;
    json_int_t bytes = -1, elapsed = -1;

    while (len < sizeof line - 1 && !memchr(line, '\n', len)) {
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        uint64_t now = traffic_now_ns();
        ssize_t n;
        int p;

        if (now >= limit) {
            stream_fail(s, "stream %d: no reply from the server within %d s",
                        s->idx, TRAFFIC_REPLY_TIMEOUT_S);
            return;
        }
        p = poll(&pfd, 1, (int)((limit - now) / 1000000 + 1));
        if (p < 0 && errno != EINTR) {
            stream_fail(s, "stream %d: poll: %s", s->idx, strerror(errno));
            return;
        }
        if (p <= 0)
            continue;
        n = recv(s->fd, line + len, sizeof line - 1 - len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            stream_fail(s, "stream %d: server reply missing: %s", s->idx, strerror(errno));
            return;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len == 0) {
        stream_fail(s, "stream %d: server reply missing (connection closed)", s->idx);
        return;
    }
    root = json_loadb(line, len, JSON_DISABLE_EOF_CHECK, &jerr);
    if (!root || json_unpack_ex(root, &jerr, 0, "{s:I, s:I}", "bytes", &bytes,
                                "elapsed_ns", &elapsed) < 0
        || bytes < 0 || elapsed < 0) {
        stream_fail(s, "stream %d: bad server reply at column %d: %s",
                    s->idx, jerr.column, jerr.text);
        json_decref(root);
        return;
    }
    json_decref(root);
    s->srv_bytes = (uint64_t)bytes;
    s->srv_elapsed_ns = (uint64_t)elapsed;
}

/* The thread of one stream: send until the deadline, then collect the reply. */
static void *
stream_run(void *arg)
{
    struct stream *s = arg;
    struct tcp_info ti;
    socklen_t tlen = sizeof ti;
    size_t off = 0;

    for (;;) {
        ssize_t n;

        if (traffic_now_ns() >= atomic_load_explicit(&s->deadline_ns, memory_order_relaxed))
            break;
        n = send(s->fd, s->buf + off, s->size - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;               /* SO_SNDTIMEO expired: look at the clock */
            stream_fail(s, "stream %d: send: %s", s->idx, strerror(errno));
            break;
        }
        atomic_fetch_add_explicit(&s->sent, (uint64_t)n, memory_order_relaxed);
        off = (off + (size_t)n) % s->size;
    }
    s->end_ns = traffic_now_ns();
    memset(&ti, 0, sizeof ti);
    if (getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0)
        s->retrans = ti.tcpi_total_retrans;
    if (s->failed)
        return NULL;
    if (shutdown(s->fd, SHUT_WR) < 0) {
        stream_fail(s, "stream %d: shutdown: %s", s->idx, strerror(errno));
        return NULL;
    }
    stream_read_reply(s);
    return NULL;
}

/* Sum of the bytes every stream has sent so far. */
static uint64_t
streams_sent(struct stream *st, long n)
{
    uint64_t sum = 0;

    for (long i = 0; i < n; i++)
        sum += atomic_load_explicit(&st[i].sent, memory_order_relaxed);
    return sum;
}

/* Sleeps until the monotonic time t_ns. */
static void
sleep_until(uint64_t t_ns)
{
    struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000ull),
                           .tv_nsec = (long)(t_ns % 1000000000ull) };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* CPU time (user + system) of the whole process, seconds. */
static double
cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
           + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Appends one sample: bytes sent over dt_ns, ending t_s seconds after the start. */
static void
add_sample(json_t *samples, double t_s, uint64_t bytes, uint64_t dt_ns)
{
    double bps = dt_ns ? 8.0 * (double)bytes / ((double)dt_ns / 1e9) : 0.0;

    json_array_append_new(samples, json_pack("{s:f, s:f}", "t_s", t_s, "throughput_bps", bps));
}

int
traffic_client_run(const struct traffic_client_opts *o)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    struct stream *st = NULL;
    pthread_t *tids = NULL;
    pthread_attr_t attr;
    char *buf = NULL, portstr[16], why[160] = "no address";
    long started = 0;
    int rc = TRAFFIC_EXIT_RUNTIME, gai, mss = 0, sndbuf = 0;
    socklen_t olen;
    uint64_t t0, deadline, prev_t, prev_bytes, end_ns, total_sent;
    uint64_t srv_bytes = 0, srv_elapsed_max = 0, retrans = 0;
    double cpu0, cpu1, wall_s, bps, interval_ns = o->interval * 1e9;
    json_t *samples = NULL, *out = NULL;
    struct timeval sndto = { .tv_sec = 0, .tv_usec = CLIENT_SEND_TIMEOUT_MS * 1000 };

    signal(SIGPIPE, SIG_IGN);
    snprintf(portstr, sizeof portstr, "%ld", o->port);
    gai = getaddrinfo(o->server, portstr, &hints, &res);
    if (gai != 0) {
        traffic_err("cannot resolve %s: %s", o->server, gai_strerror(gai));
        return TRAFFIC_EXIT_RUNTIME;
    }
    st = calloc((size_t)o->streams, sizeof *st);
    tids = calloc((size_t)o->streams, sizeof *tids);
    buf = malloc((size_t)o->size);
    samples = json_array();
    if (!st || !tids || !buf || !samples) {
        traffic_err("out of memory");
        goto out;
    }
    /* A pattern rather than zeros, in case a path ever compresses. */
    for (long i = 0; i < o->size; i++)
        buf[i] = (char)(i * 131 + 7);
    for (long i = 0; i < o->streams; i++)
        st[i].fd = -1;

    for (long i = 0; i < o->streams; i++) {
        st[i].idx = (int)i;
        st[i].buf = buf;
        st[i].size = (size_t)o->size;
        st[i].fd = client_connect(res, why, sizeof why);
        if (st[i].fd < 0) {
            traffic_err("cannot connect to %s port %ld: %s", o->server, o->port, why);
            goto out;
        }
        setsockopt(st[i].fd, SOL_SOCKET, SO_SNDTIMEO, &sndto, sizeof sndto);
    }
    olen = sizeof mss;
    getsockopt(st[0].fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &olen);
    olen = sizeof sndbuf;
    getsockopt(st[0].fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &olen);

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, CLIENT_THREAD_STACK);
    cpu0 = cpu_seconds();
    t0 = traffic_now_ns();
    deadline = t0 + (uint64_t)(o->duration * 1e9);
    for (long i = 0; i < o->streams; i++) {
        atomic_store(&st[i].deadline_ns, deadline);
        if (pthread_create(&tids[i], &attr, stream_run, &st[i]) != 0) {
            traffic_err("cannot start the thread of stream %ld", i);
            /* Stop the streams already running at once, then collect them. */
            for (long j = 0; j < started; j++)
                atomic_store(&st[j].deadline_ns, 0);
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);

    /* Sampler: one sample per whole interval that ends before the deadline. */
    prev_t = t0;
    prev_bytes = 0;
    if (started == o->streams) {
        for (long k = 1; (double)k * o->interval < o->duration - 1e-9; k++) {
            uint64_t now, sent;

            sleep_until(t0 + (uint64_t)((double)k * interval_ns));
            now = traffic_now_ns();
            sent = streams_sent(st, o->streams);
            add_sample(samples, (double)k * o->interval, sent - prev_bytes, now - prev_t);
            prev_t = now;
            prev_bytes = sent;
        }
        sleep_until(deadline);
    }
    for (long i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    cpu1 = cpu_seconds();
    if (started < o->streams)
        goto out;

    /* The last (possibly partial) interval ends when the last stream stopped. */
    end_ns = deadline;
    for (long i = 0; i < o->streams; i++)
        if (st[i].end_ns > end_ns)
            end_ns = st[i].end_ns;
    total_sent = streams_sent(st, o->streams);
    add_sample(samples, o->duration, total_sent - prev_bytes, end_ns - prev_t);

    for (long i = 0; i < o->streams; i++) {
        if (st[i].failed) {
            traffic_err("%s", st[i].err);
            goto out;
        }
        srv_bytes += st[i].srv_bytes;
        retrans += st[i].retrans;
        if (st[i].srv_elapsed_ns > srv_elapsed_max)
            srv_elapsed_max = st[i].srv_elapsed_ns;
    }
    wall_s = (double)(end_ns - t0) / 1e9;
    bps = srv_elapsed_max ? 8.0 * (double)srv_bytes / ((double)srv_elapsed_max / 1e9) : 0.0;

    out = json_pack("{s:i, s:s, s:I, s:I, s:f, s:{s:f, s:f, s:I, s:f}, s:O, s:{s:i, s:i}}",
                    "version", 1,
                    "traffic", o->traffic,
                    "size", (json_int_t)o->size,
                    "streams", (json_int_t)o->streams,
                    "duration_s", o->duration,
                    "metrics",
                      "throughput_bps", bps,
                      "throughput_pps", bps / 8.0 / (double)o->size,
                      "retransmits", (json_int_t)retrans,
                      "cpu_client_pct", wall_s > 0 ? 100.0 * (cpu1 - cpu0) / wall_s : 0.0,
                    "samples", samples,
                    "applied",
                      "mss", mss,
                      "sndbuf", sndbuf);
    if (!out || json_dumpf(out, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF
        || fflush(stdout) == EOF) {
        traffic_err("cannot write the result");
        goto out;
    }
    rc = TRAFFIC_EXIT_OK;
out:
    if (st)
        for (long i = 0; i < o->streams; i++)
            if (st[i].fd >= 0)
                close(st[i].fd);
    json_decref(out);
    json_decref(samples);
    free(buf);
    free(tids);
    free(st);
    freeaddrinfo(res);
    return rc;
}
