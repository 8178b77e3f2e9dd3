/*
 * traffic_client.c — the client side of cntb-traffic: every traffic kind.
 *
 * How it works: the main thread opens every flow first (TCP connection and
 * hello; for the datagram kinds also the UDP socket the server announced),
 * so that a failure ends the run before any traffic, and checks a UDP size
 * against the path MTU (CASES.md case 1).  It then starts one thread per
 * flow and, while they run, sleeps from one interval boundary to the next,
 * turning the flows' counters into samples.  The run lasts omit_s (warm-up,
 * not counted) + duration_s; at the start of the measured part the main
 * thread takes the counters, /proc/stat, its own CPU time and the server's
 * (a "stats" connection), and again at the end.
 *
 * Per kind, a flow thread:
 *   tcp_stream upload   send()s until the end; the server's byte count and
 *                       first-byte..EOF time give the throughput;
 *   tcp_stream download recv()s what the server sends until its EOF;
 *   udp_stream          sends paced sendmmsg batches (upload) or receives
 *                       recvmmsg batches (download); sequence numbers give
 *                       loss, reordering and duplicates at the receiver;
 *   tcp_rr, udp_rr      keeps `burst` probes outstanding, each timestamped
 *                       with CLOCK_MONOTONIC when sent and when its answer
 *                       came; a UDP probe unanswered after timeout_ms is
 *                       lost (CASES.md case 4) and its slot is reused;
 *   tcp_crr             connect, one request/response, close, again.
 * Latencies go to log-bucket histograms (traffic_hist.c) merged at the end.
 * The total is checked against the samples (case 8: "invalid"), and a
 * thread or the server that used >= 95 % of a core marks "tool_bound".
 */
#include "traffic.h"
#include "traffic_io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_THREAD_STACK (256 * 1024)
#define CLIENT_SEND_TIMEOUT_MS 100    /* a blocked send()/recv() re-checks the deadline this often */
#define CLIENT_DRAIN_MS 200           /* datagrams still in flight at the end get this long */
#define CLIENT_RECV_BUF (256 * 1024)
#define CLIENT_PUNCH_MS 20            /* rendezvous: one punch datagram this often */

enum kind { K_TCP_STREAM, K_UDP_STREAM, K_TCP_RR, K_UDP_RR, K_TCP_CRR };

/* One connection or datagram flow and its results. */
struct flow {
    int idx;                          /* 0-based flow number, for messages */
    const struct traffic_client_opts *o;
    enum kind kind;
    const struct addrinfo *ai;        /* the server address that worked (crr reconnects) */
    int fd;                           /* TCP connection, owned; -1 when closed */
    int ufd;                          /* UDP socket, owned; -1 when none */
    const char *buf;                  /* payload pattern, `size` bytes, shared */
    uint64_t start_ns;                /* traffic starts (warm-up) */
    uint64_t measure_ns;              /* measured part starts */
    uint64_t deadline_ns;             /* measured part ends */
    _Atomic int stop;                 /* set by main to end at once */
    _Atomic uint64_t count;           /* bytes (stream) or transactions (rr, crr) */
    uint64_t end_ns;                  /* when this flow stopped */
    uint64_t cpu_end_ns;              /* this thread's CPU time when its measured part ended */
    uint64_t retrans;                 /* tcpi_total_retrans (upload) */
    uint64_t srv_bytes, srv_elapsed_ns; /* stream upload: the server's count */
    uint64_t rx_first_ns, rx_eof_ns;  /* stream download */
    uint64_t transactions, timeouts;  /* rr, crr: measured */
    traffic_hist_t *hist;             /* rtt, measured */
    traffic_hist_t *chist;            /* crr: connect time, measured */
    struct traffic_udp_tx tx;         /* udp_stream upload */
    struct traffic_udp_rx rx;         /* udp_stream download */
    json_t *reply;                    /* the server's counters (udp) */
    int failed;
    char err[200];
};

static void __attribute__((format(printf, 2, 3)))
flow_fail(struct flow *f, const char *fmt, ...)
{
    va_list ap;

    if (f->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    va_end(ap);
    f->failed = 1;
}

/* Notes the thread's CPU time once, the first time the measured part is seen over. */
static void
flow_cpu_mark(struct flow *f)
{
    if (!f->cpu_end_ns)
        f->cpu_end_ns = traffic_thread_cpu_ns();
}

static enum kind
kind_of(const char *t)
{
    if (strcmp(t, "udp_stream") == 0)
        return K_UDP_STREAM;
    if (strcmp(t, "tcp_rr") == 0)
        return K_TCP_RR;
    if (strcmp(t, "udp_rr") == 0)
        return K_UDP_RR;
    if (strcmp(t, "tcp_crr") == 0)
        return K_TCP_CRR;
    return K_TCP_STREAM;
}

/*
 * Connects to one address (within TRAFFIC_CONNECT_TIMEOUT_S); returns a
 * blocking socket or -1 with the reason in why.
 */
static int
connect_one(const struct addrinfo *ai, char *why, size_t whylen)
{
    struct pollfd pfd;
    int fd, err = 0, flags, n;
    socklen_t elen = sizeof err;

    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(why, whylen, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            snprintf(why, whylen, "%s", strerror(errno));
            close(fd);
            return -1;
        }
        pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
        do
            n = poll(&pfd, 1, TRAFFIC_CONNECT_TIMEOUT_S * 1000);
        while (n < 0 && errno == EINTR);
        if (n == 0) {
            snprintf(why, whylen, "timed out after %d s", TRAFFIC_CONNECT_TIMEOUT_S);
            close(fd);
            return -1;
        }
        if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        if (err) {
            snprintf(why, whylen, "%s", strerror(err));
            close(fd);
            return -1;
        }
    }
    flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

/* Connects to the first address of res that answers; *used = that address. */
static int
client_connect(const struct addrinfo *res, const struct addrinfo **used, char *why, size_t whylen)
{
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = connect_one(ai, why, whylen);
        if (fd >= 0) {
            *used = ai;
            return fd;
        }
    }
    return -1;
}

static void
set_timeouts(int fd, int ms)
{
    struct timeval to = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &to, sizeof to);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof to);
}

/* Writes "end\n" and reads the server's counters into f->reply. */
static void
flow_end_udp(struct flow *f)
{
    if (traffic_send_all(f->fd, "end\n", 4) < 0) {
        flow_fail(f, "flow %d: server gone before the end: %s", f->idx, strerror(errno));
        return;
    }
    f->reply = traffic_read_json_line(f->fd, TRAFFIC_REPLY_TIMEOUT_S * 1000);
    if (!json_is_object(f->reply))
        flow_fail(f, "flow %d: no counters from the server within %d s", f->idx,
                  TRAFFIC_REPLY_TIMEOUT_S);
}

static void
stream_up(struct flow *f)
{
    struct tcp_info ti;
    socklen_t tlen = sizeof ti;
    size_t size = (size_t)f->o->size, off = 0;
    json_t *r;

    while (traffic_now_ns() < f->deadline_ns && !atomic_load(&f->stop)) {
        ssize_t n = send(f->fd, f->buf + off, size - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            flow_fail(f, "stream %d: send: %s", f->idx, strerror(errno));
            break;
        }
        atomic_fetch_add_explicit(&f->count, (uint64_t)n, memory_order_relaxed);
        off = (off + (size_t)n) % size;
    }
    flow_cpu_mark(f);
    f->end_ns = traffic_now_ns();
    memset(&ti, 0, sizeof ti);
    if (getsockopt(f->fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0)
        f->retrans = ti.tcpi_total_retrans;
    if (f->failed)
        return;
    if (shutdown(f->fd, SHUT_WR) < 0) {
        flow_fail(f, "stream %d: shutdown: %s", f->idx, strerror(errno));
        return;
    }
    r = traffic_read_json_line(f->fd, TRAFFIC_REPLY_TIMEOUT_S * 1000);
    if (!json_is_integer(json_object_get(r, "bytes"))
        || !json_is_integer(json_object_get(r, "elapsed_ns"))) {
        flow_fail(f, "stream %d: no valid reply from the server within %d s", f->idx,
                  TRAFFIC_REPLY_TIMEOUT_S);
    } else {
        f->srv_bytes = (uint64_t)json_integer_value(json_object_get(r, "bytes"));
        f->srv_elapsed_ns = (uint64_t)json_integer_value(json_object_get(r, "elapsed_ns"));
    }
    json_decref(r);
}

static void
stream_down(struct flow *f)
{
    char *buf = malloc(CLIENT_RECV_BUF);
    /* The server stops on its own clock; allow it a few seconds of skew. */
    uint64_t limit = f->deadline_ns + (uint64_t)TRAFFIC_REPLY_TIMEOUT_S * 1000000000ull;

    if (!buf) {
        flow_fail(f, "out of memory");
        return;
    }
    for (;;) {
        ssize_t n = recv(f->fd, buf, CLIENT_RECV_BUF, 0);
        if (n > 0) {
            if (!f->rx_first_ns)
                f->rx_first_ns = traffic_now_ns();
            atomic_fetch_add_explicit(&f->count, (uint64_t)n, memory_order_relaxed);
            continue;
        }
        if (n == 0) {
            f->rx_eof_ns = traffic_now_ns();
            break;
        }
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
            if (traffic_now_ns() > limit || atomic_load(&f->stop)) {
                flow_fail(f, "stream %d: the server did not end its stream", f->idx);
                break;
            }
            continue;
        }
        flow_fail(f, "stream %d: recv: %s", f->idx, strerror(errno));
        break;
    }
    flow_cpu_mark(f);
    f->end_ns = traffic_now_ns();
    free(buf);
}

static void
udp_up(struct flow *f)
{
    f->tx.fd = f->ufd;
    f->tx.size = (size_t)f->o->size;
    f->tx.rate = f->o->rate;
    f->tx.start_ns = f->start_ns;
    f->tx.omit_ns = f->measure_ns - f->start_ns;
    f->tx.dur_ns = f->deadline_ns - f->measure_ns;
    traffic_udp_send_loop(&f->tx);
    flow_cpu_mark(f);
    f->end_ns = f->tx.end_ns;
    if (f->tx.failed) {
        flow_fail(f, "flow %d: sendmmsg: %s", f->idx, strerror(f->tx.err));
        return;
    }
    traffic_sleep_until(traffic_now_ns() + CLIENT_DRAIN_MS * 1000000ull);
    flow_end_udp(f);
}

static void
udp_down(struct flow *f)
{
    f->rx.fd = f->ufd;
    f->rx.ctl_fd = -1;
    f->rx.size = (size_t)f->o->size;
    traffic_udp_recv_loop(&f->rx);     /* until main sets rx.stop after the drain */
    flow_cpu_mark(f);
    f->end_ns = traffic_now_ns();
    flow_end_udp(f);
}

/* One outstanding probe of an rr flow. */
struct probe {
    uint64_t seq;                     /* sequence number it carries */
    uint64_t sent_ns;                 /* CLOCK_MONOTONIC when sent; 0 = slot free */
};

/* Records the answer to a probe sent at sent_ns, if it belongs to the measured part. */
static void
rr_done(struct flow *f, uint64_t sent_ns, uint64_t now)
{
    if (sent_ns >= f->measure_ns && sent_ns < f->deadline_ns) {
        traffic_hist_record(f->hist, now - sent_ns);
        f->transactions++;
        atomic_fetch_add_explicit(&f->count, 1, memory_order_relaxed);
    }
}

/*
 * udp_rr with one probe outstanding: a blocking recv() bounded by
 * SO_RCVTIMEO = timeout_ms waits for the answer, so a transaction costs a
 * send() and a recv(), as in a bare loop (the general loop below adds a
 * poll() and a recv() that finds nothing per transaction).  An answer to
 * an earlier, expired probe, or an error queued by an ICMP message, is
 * skipped and the wait goes on with poll() for the rest of the timeout.
 */
static void
udp_rr_one(struct flow *f, unsigned char *sbuf, unsigned char *rbuf)
{
    long size = f->o->size;
    uint64_t timeout_ns = (uint64_t)f->o->timeout_ms * 1000000ull, seq = 0;
    struct timeval to = { .tv_sec = f->o->timeout_ms / 1000,
                          .tv_usec = (f->o->timeout_ms % 1000) * 1000 };

    setsockopt(f->ufd, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof to);
    while (traffic_now_ns() < f->deadline_ns && !atomic_load(&f->stop)) {
        traffic_put_be64(sbuf, seq);
        /* Stamped before send(): see udp_rr (CASES.md case 10). */
        uint64_t t_send = traffic_now_ns();
        if (send(f->ufd, sbuf, (size_t)size, 0) != size) {
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);        /* ENOBUFS, ECONNREFUSED: do not spin */
            seq++;
            continue;
        }
        for (int first = 1;; first = 0) {
            uint64_t now = traffic_now_ns();
            ssize_t n;

            if (!first) {
                struct pollfd pfd = { .fd = f->ufd, .events = POLLIN };
                if (now >= t_send + timeout_ns
                    || poll(&pfd, 1, (int)((t_send + timeout_ns - now + 999999) / 1000000)) == 0)
                    n = -2;             /* the rest of the timeout passed */
                else
                    n = recv(f->ufd, rbuf, (size_t)size, MSG_DONTWAIT);
            } else {
                n = recv(f->ufd, rbuf, (size_t)size, 0);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                    n = -2;             /* SO_RCVTIMEO: timeout_ms without an answer */
            }
            if (n == -2) {
                if (t_send >= f->measure_ns && t_send < f->deadline_ns)
                    f->timeouts++;
                break;
            }
            if (n >= 8 && traffic_get_be64(rbuf) == seq) {
                rr_done(f, t_send, traffic_now_ns());
                break;
            }
        }
        seq++;
    }
    flow_cpu_mark(f);
    f->end_ns = traffic_now_ns();
    flow_end_udp(f);
}

static void
udp_rr(struct flow *f)
{
    long burst = f->o->burst, size = f->o->size;
    uint64_t timeout_ns = (uint64_t)f->o->timeout_ms * 1000000ull, next_seq = 0;
    struct probe slot[TRAFFIC_BURST_MAX];
    unsigned char *sbuf = malloc((size_t)size), *rbuf = malloc((size_t)size);

    if (!sbuf || !rbuf) {
        flow_fail(f, "out of memory");
        goto out;
    }
    memcpy(sbuf, f->buf, (size_t)size);
    if (burst == 1) {
        udp_rr_one(f, sbuf, rbuf);
        goto out;
    }
    memset(slot, 0, sizeof slot);
    for (;;) {
        uint64_t now = traffic_now_ns(), wake = UINT64_MAX;
        int busy = 0;

        /* Expire probes past their timeout, then refill free slots while sending is on. */
        for (long i = 0; i < burst; i++) {
            if (slot[i].sent_ns && now - slot[i].sent_ns >= timeout_ns) {
                if (slot[i].sent_ns >= f->measure_ns && slot[i].sent_ns < f->deadline_ns)
                    f->timeouts++;
                slot[i].sent_ns = 0;
            }
            if (!slot[i].sent_ns && now < f->deadline_ns && !atomic_load(&f->stop)) {
                traffic_put_be64(sbuf, next_seq);
                /*
                 * Stamped before send(): on veth and loopback the system call
                 * carries the datagram to the server's socket before it
                 * returns (CASES.md case 10).
                 */
                uint64_t t_send = traffic_now_ns();
                if (send(f->ufd, sbuf, (size_t)size, 0) == size) {
                    slot[i].seq = next_seq;
                    slot[i].sent_ns = t_send;
                }
                next_seq++;
                /* A failed send (ENOBUFS, ECONNREFUSED) leaves the slot free: tried again next turn. */
            }
            if (slot[i].sent_ns) {
                busy = 1;
                if (slot[i].sent_ns + timeout_ns < wake)
                    wake = slot[i].sent_ns + timeout_ns;
            }
        }
        if (!busy) {
            if (now >= f->deadline_ns || atomic_load(&f->stop))
                break;
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);        /* every send failed: do not spin */
            continue;
        }
        now = traffic_now_ns();
        struct pollfd pfd = { .fd = f->ufd, .events = POLLIN };
        int ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
        int p = poll(&pfd, 1, ms);
        if (p <= 0)
            continue;
        for (;;) {
            ssize_t n = recv(f->ufd, rbuf, (size_t)size, MSG_DONTWAIT);
            if (n < 8)
                break;
            uint64_t seq = traffic_get_be64(rbuf), t = traffic_now_ns();
            for (long i = 0; i < burst; i++)
                if (slot[i].sent_ns && slot[i].seq == seq) {
                    rr_done(f, slot[i].sent_ns, t);
                    slot[i].sent_ns = 0;
                    break;
                }
            /* An answer to an expired probe finds no slot: it was counted as lost. */
        }
    }
    flow_cpu_mark(f);
    f->end_ns = traffic_now_ns();
    flow_end_udp(f);
out:
    free(sbuf);
    free(rbuf);
}

static void
tcp_rr(struct flow *f)
{
    long burst = f->o->burst;
    size_t size = (size_t)f->o->size;
    uint64_t sent_at[TRAFFIC_BURST_MAX];
    long head = 0, tail = 0;          /* FIFO of send times: TCP answers in order */
    char *rbuf = malloc(size);

    if (!rbuf) {
        flow_fail(f, "out of memory");
        return;
    }
    set_timeouts(f->fd, TRAFFIC_REPLY_TIMEOUT_S * 1000);
    for (;;) {
        uint64_t now = traffic_now_ns();
        int sending = now < f->deadline_ns && !atomic_load(&f->stop);

        while (sending && tail - head < burst) {
            sent_at[tail % burst] = traffic_now_ns();
            if (traffic_send_all(f->fd, f->buf, size) < 0) {
                flow_fail(f, "flow %d: send: %s", f->idx, strerror(errno));
                goto out;
            }
            tail++;
        }
        if (tail == head)
            break;
        int r = traffic_recv_all(f->fd, rbuf, size);
        if (r != 0) {
            flow_fail(f, "flow %d: %s", f->idx,
                      r > 0 ? "the server closed the connection"
                            : "no answer within the reply timeout");
            goto out;
        }
        rr_done(f, sent_at[head % burst], traffic_now_ns());
        head++;
    }
    flow_cpu_mark(f);
    f->end_ns = traffic_now_ns();
    shutdown(f->fd, SHUT_WR);
out:
    free(rbuf);
}

/*
 * One crr connection to ai: a blocking socket whose send timeout bounds
 * connect() and send() (TRAFFIC_CONNECT_TIMEOUT_S) and whose receive timeout
 * bounds the reply (TRAFFIC_REPLY_TIMEOUT_S).  Returns the connected socket
 * or -1 with the reason in why.
 */
static int
crr_connect(const struct addrinfo *ai, char *why, size_t whylen)
{
    struct timeval sto = { .tv_sec = TRAFFIC_CONNECT_TIMEOUT_S };
    struct timeval rto = { .tv_sec = TRAFFIC_REPLY_TIMEOUT_S };
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        snprintf(why, whylen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sto, sizeof sto);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rto, sizeof rto);
    while (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno == EINTR)
            continue;
        /* A blocking connect() that outlives SO_SNDTIMEO fails with EINPROGRESS. */
        if (errno == EINPROGRESS)
            snprintf(why, whylen, "timed out after %d s", TRAFFIC_CONNECT_TIMEOUT_S);
        else
            snprintf(why, whylen, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * tcp_crr: per transaction socket, connect, one send of hello and request
 * (one segment up to the MSS), the reply, the server's EOF, close: eight
 * system calls.  The client waits for the server's FIN before closing: a
 * client that closes as soon as the reply is in races that FIN, and a
 * simultaneous close leaves TIME_WAIT on both sides; with the client's
 * ports in TIME_WAIT, connect() searches the port range for a free one
 * (milliseconds each once most of it is taken).  TCP_NODELAY is set only
 * when the request may not fit one segment: a single send() of at most an
 * MSS is never held by Nagle, nothing being in flight.
 */
static void
tcp_crr(struct flow *f)
{
    char hello[64], why[160];
    int hl = snprintf(hello, sizeof hello, "{\"t\":\"crr\",\"size\":%ld}\n", f->o->size);
    size_t size = (size_t)f->o->size;
    char *req = malloc((size_t)hl + size), *rbuf = malloc(size);
    int nodelay = (size_t)hl + size > 536;    /* the smallest MSS IPv4 allows */

    if (!req || !rbuf) {
        flow_fail(f, "out of memory");
        goto out;
    }
    memcpy(req, hello, (size_t)hl);
    memcpy(req + hl, f->buf, size);
    while (traffic_now_ns() < f->deadline_ns && !atomic_load(&f->stop)) {
        uint64_t t0 = traffic_now_ns(), t1, t2;
        int fd = crr_connect(f->ai, why, sizeof why), one = 1, r = 0;
        char eof;

        if (fd < 0) {
            flow_fail(f, "flow %d: connect: %s", f->idx, why);
            break;
        }
        t1 = traffic_now_ns();
        if (nodelay)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (traffic_send_all(fd, req, (size_t)hl + size) < 0
            || (r = traffic_recv_all(fd, rbuf, size)) != 0) {
            flow_fail(f, "flow %d: request/response failed: %s", f->idx,
                      r > 0 ? "the server closed the connection" : strerror(errno));
            close(fd);
            break;
        }
        t2 = traffic_now_ns();
        while (recv(fd, &eof, 1, 0) < 0 && errno == EINTR)
            ;                           /* the server's FIN (or a timeout: close anyway) */
        close(fd);
        if (t0 >= f->measure_ns && t0 < f->deadline_ns) {
            traffic_hist_record(f->chist, t1 - t0);
            rr_done(f, t0, t2);
        }
    }
    flow_cpu_mark(f);
    f->end_ns = traffic_now_ns();
out:
    free(req);
    free(rbuf);
}

static void *
flow_run(void *arg)
{
    struct flow *f = arg;

    traffic_sleep_until(f->start_ns);
    switch (f->kind) {
    case K_TCP_STREAM:
        if (f->o->download)
            stream_down(f);
        else
            stream_up(f);
        break;
    case K_UDP_STREAM:
        if (f->o->download)
            udp_down(f);
        else
            udp_up(f);
        break;
    case K_UDP_RR:
        udp_rr(f);
        break;
    case K_TCP_RR:
        tcp_rr(f);
        break;
    case K_TCP_CRR:
        tcp_crr(f);
        break;
    }
    return NULL;
}

/* Current count of a flow in the unit of the samples. */
static uint64_t
flow_count(struct flow *f)
{
    if (f->kind == K_UDP_STREAM)
        return f->o->download ? atomic_load_explicit(&f->rx.rx_pkts, memory_order_relaxed)
                              : atomic_load_explicit(&f->tx.sent, memory_order_relaxed);
    return atomic_load_explicit(&f->count, memory_order_relaxed);
}

static uint64_t
flows_count(struct flow *fl, long n)
{
    uint64_t sum = 0;

    for (long i = 0; i < n; i++)
        sum += flow_count(&fl[i]);
    return sum;
}

/* Asks the server for its process CPU time; 0 or -1. */
static int
server_stats(const struct addrinfo *ai, uint64_t *cpu_ns, uint64_t *now_ns)
{
    char why[160];
    int fd = connect_one(ai, why, sizeof why), rc = -1;
    json_t *r = NULL;

    if (fd < 0)
        return -1;
    if (traffic_send_all(fd, "{\"t\":\"stats\"}\n", 14) == 0) {
        r = traffic_read_json_line(fd, 2000);
        if (json_is_integer(json_object_get(r, "cpu_ns"))
            && json_is_integer(json_object_get(r, "now_ns"))) {
            *cpu_ns = (uint64_t)json_integer_value(json_object_get(r, "cpu_ns"));
            *now_ns = (uint64_t)json_integer_value(json_object_get(r, "now_ns"));
            rc = 0;
        }
    }
    json_decref(r);
    close(fd);
    return rc;
}

/*
 * Sends PUNCH datagrams carrying token on f->ufd every CLIENT_PUNCH_MS until
 * the server's control line says "ready" (0) or "error", or nothing came
 * within TRAFFIC_CONNECT_TIMEOUT_S (-1, reported with the direction that
 * failed: no punch reached the server's port).
 */
static int
flow_rendezvous(struct flow *f, uint64_t token)
{
    unsigned char p[16];
    uint64_t until = traffic_now_ns() + (uint64_t)TRAFFIC_CONNECT_TIMEOUT_S * 1000000000ull
                     + 500000000ull;     /* the server's own wait, plus its reply */
    uint64_t sent = 0;
    json_t *r = NULL;

    traffic_put_be64(p, TRAFFIC_SEQ_PUNCH);
    traffic_put_be64(p + 8, token);
    while (traffic_now_ns() < until) {
        struct pollfd pfd = { .fd = f->fd, .events = POLLIN };

        if (send(f->ufd, p, sizeof p, 0) == (ssize_t)sizeof p)
            sent++;
        if (poll(&pfd, 1, CLIENT_PUNCH_MS) == 1) {
            r = traffic_read_json_line(f->fd, TRAFFIC_REPLY_TIMEOUT_S * 1000);
            break;
        }
    }
    if (json_is_true(json_object_get(r, "ready"))) {
        json_decref(r);
        return 0;
    }
    traffic_err("flow %d: no datagram reached the server's UDP port %ld within %d s (sent %"
                PRIu64 " from the client; the path or a NAT in it does not carry UDP to that "
                "port)%s%s", f->idx, f->o->port, TRAFFIC_CONNECT_TIMEOUT_S, sent,
                json_is_string(json_object_get(r, "error")) ? ": server says: " : "",
                json_is_string(json_object_get(r, "error"))
                    ? json_string_value(json_object_get(r, "error")) : "");
    json_decref(r);
    return -1;
}

/* Opens flow f: TCP connection, hello, UDP socket; 0 or -1 (reported). */
static int
flow_open(struct flow *f, const struct addrinfo *res, json_t *applied, int *fragmented)
{
    const struct traffic_client_opts *o = f->o;
    char why[200] = "no address";
    int one = 1;
    json_t *hello = NULL, *r = NULL;
    const char *dir = o->download ? "down" : "up";
    uint64_t total_ns = (uint64_t)((o->omit + o->duration) * 1e9);

    if (f->kind == K_TCP_CRR) {
        /* Only find the address that answers; the flow connects per transaction. */
        int fd = client_connect(res, &f->ai, why, sizeof why);
        if (fd < 0)
            goto refused;
        close(fd);
        return 0;
    }
    f->fd = client_connect(res, &f->ai, why, sizeof why);
    if (f->fd < 0)
        goto refused;
    switch (f->kind) {
    case K_TCP_STREAM:
        hello = o->download ? json_pack("{s:s, s:s, s:I, s:I}", "t", "stream", "dir", "down",
                                        "size", (json_int_t)o->size,
                                        "duration_ns", (json_int_t)total_ns)
                            : json_pack("{s:s, s:s}", "t", "stream", "dir", "up");
        set_timeouts(f->fd, CLIENT_SEND_TIMEOUT_MS);
        break;
    case K_TCP_RR:
        setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        hello = json_pack("{s:s, s:I}", "t", "rr", "size", (json_int_t)o->size);
        break;
    default:
        hello = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:b}", "t", "udp", "dir",
                          f->kind == K_UDP_RR ? "rr" : dir, "size", (json_int_t)o->size,
                          "rate", (json_int_t)o->rate,
                          "omit_ns", (json_int_t)(o->omit * 1e9),
                          "duration_ns", (json_int_t)(o->duration * 1e9), "gso", o->gso);
        break;
    }
    if (traffic_write_json_line(f->fd, hello) < 0) {
        traffic_err("flow %d: cannot send the hello: %s", f->idx, strerror(errno));
        return -1;
    }
    if (f->kind != K_UDP_STREAM && f->kind != K_UDP_RR)
        return 0;

    /* The datagram kinds: the server answers with a token for the rendezvous. */
    r = traffic_read_json_line(f->fd, TRAFFIC_REPLY_TIMEOUT_S * 1000);
    json_t *tok = json_object_get(r, "token");
    uint64_t token = json_is_integer(tok) ? (uint64_t)json_integer_value(tok) : 0;
    int has_token = json_is_integer(tok);
    json_decref(r);
    if (!has_token) {
        traffic_err("flow %d: the server answered no rendezvous token (is it cntb-traffic %s?)",
                    f->idx, TRAFFIC_VERSION);
        return -1;
    }
    /* Data goes to the port this connection reached (the published one, through nat). */
    struct sockaddr_storage ss;
    memcpy(&ss, f->ai->ai_addr, f->ai->ai_addrlen);
    f->ufd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (f->ufd < 0 || connect(f->ufd, (struct sockaddr *)&ss, f->ai->ai_addrlen) < 0) {
        traffic_err("flow %d: UDP socket: %s", f->idx, strerror(errno));
        return -1;
    }
    /* Never let the kernel fragment silently: DF set unless fragments are allowed. */
    int pmtu = o->allow_fragments ? IP_PMTUDISC_DONT : IP_PMTUDISC_DO;
    int v6 = ss.ss_family == AF_INET6;
    if (v6)
        setsockopt(f->ufd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
    else
        setsockopt(f->ufd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    int big = 4 * 1024 * 1024;
    setsockopt(f->ufd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    int sender = f->kind == K_UDP_STREAM && !o->download;
    if (f->kind == K_UDP_STREAM && traffic_udp_set_gso(f->ufd, sender, o->gso, o->size) < 0) {
        traffic_err("flow %d: gso: the kernel refused %s: %s", f->idx,
                    sender ? "UDP_SEGMENT" : "UDP_GRO", strerror(errno));
        return -1;
    }
    f->tx.gso = f->rx.gso = sender ? o->gso : 0;
    if (f->kind == K_UDP_STREAM && !sender)
        f->rx.gso = o->gso;

    /* CASES.md case 1: the path MTU from the agent, or the kernel's route MTU. */
    int kmtu = 0;
    socklen_t len = sizeof kmtu;
    if (getsockopt(f->ufd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &kmtu, &len) < 0)
        kmtu = 0;
    long mtu = o->mtu > 0 ? o->mtu : kmtu;
    if (o->mtu > 0 && kmtu > 0 && kmtu < mtu)
        mtu = kmtu;
    if (f->idx == 0) {
        int got = 0;
        len = sizeof got;
        if (v6)
            getsockopt(f->ufd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &got, &len);
        else
            getsockopt(f->ufd, IPPROTO_IP, IP_MTU_DISCOVER, &got, &len);
        json_object_set_new(applied, "path_mtu", json_integer(mtu));
        json_object_set_new(applied, "udp_payload_max",
                            json_integer(traffic_udp_payload_max(mtu, v6)));
        json_object_set_new(applied, "dont_fragment",
                            json_boolean(got == IP_PMTUDISC_DO));
        json_object_set_new(applied, "gso", json_boolean(traffic_udp_get_gso(f->ufd, sender) != 0));
        len = sizeof big;
        if (getsockopt(f->ufd, SOL_SOCKET, SO_RCVBUF, &big, &len) == 0)
            json_object_set_new(applied, "rcvbuf", json_integer(big));
        len = sizeof big;
        if (getsockopt(f->ufd, SOL_SOCKET, SO_SNDBUF, &big, &len) == 0)
            json_object_set_new(applied, "sndbuf", json_integer(big));
    }
    if (traffic_check_udp_size(o->size, mtu, v6, o->allow_fragments, fragmented, why,
                               sizeof why) < 0) {
        traffic_err("%s", why);
        return -2;
    }
    return flow_rendezvous(f, token);
refused:
    traffic_err("cannot connect to %s port %ld: %s", o->server, o->port, why);
    return -1;
}

/*
 * Appends one sample: n units over dt_ns ending t_s after the measured start.
 * An upload samples the sender's count, so its samples are named
 * sent_bps (and sent_pps); throughput_* always means received.
 */
static void
add_sample(json_t *samples, enum kind k, int download, long size, double *rates, size_t *nrates,
           double t_s, uint64_t n, uint64_t dt_ns)
{
    double per_s = dt_ns ? (double)n / ((double)dt_ns / 1e9) : 0.0;
    json_t *s;

    if (k == K_TCP_STREAM) {
        s = json_pack("{s:f, s:f}", "t_s", t_s, download ? "throughput_bps" : "sent_bps",
                      8.0 * per_s);
        rates[(*nrates)++] = 8.0 * per_s;
    } else if (k == K_UDP_STREAM) {
        s = json_pack("{s:f, s:f, s:f}", "t_s", t_s, download ? "throughput_pps" : "sent_pps",
                      per_s, download ? "throughput_bps" : "sent_bps",
                      8.0 * per_s * (double)size);
        rates[(*nrates)++] = per_s;
    } else {
        s = json_pack("{s:f, s:f}", "t_s", t_s, "transactions_per_s", per_s);
        rates[(*nrates)++] = per_s;
    }
    json_array_append_new(samples, s);
}

static void
set_num(json_t *m, const char *name, double v)
{
    if (isfinite(v))
        json_object_set_new(m, name, json_real(v));
}

/* rtt_us_* (or connect_us_*) from a histogram. */
static void
set_percentiles(json_t *m, const char *prefix, const traffic_hist_t *h)
{
    static const struct { const char *suffix; double p; } ps[] = {
        { "p50", 50.0 }, { "p90", 90.0 }, { "p99", 99.0 }, { "p999", 99.9 },
    };
    char name[48];

    if (!traffic_hist_count(h))
        return;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        snprintf(name, sizeof name, "%s_%s", prefix, ps[i].suffix);
        set_num(m, name, traffic_hist_percentile(h, ps[i].p) / 1000.0);
    }
    snprintf(name, sizeof name, "%s_mean", prefix);
    set_num(m, name, traffic_hist_mean(h) / 1000.0);
}

int
traffic_client_run(const struct traffic_client_opts *o)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    struct flow *fl = NULL;
    pthread_t *tids = NULL;
    pthread_attr_t attr;
    char *buf = NULL, portstr[16];
    long started = 0, nsamples_max;
    int rc = TRAFFIC_EXIT_RUNTIME, gai, mss = 0, sndbuf = 0, fragmented = 0, srv_ok;
    enum kind kind = kind_of(o->traffic);
    socklen_t olen;
    uint64_t t0, tm, deadline, prev_t, prev_n, end_ns, n_at_tm = 0;
    uint64_t cpu0 = 0, cpu1, user0 = 0, user1, scpu0 = 0, scpu1 = 0, snow0 = 0, snow1 = 0;
    uint64_t *tcpu0 = NULL;
    struct traffic_cpu host0 = { 0 }, host1 = { 0 };
    double interval_ns = o->interval * 1e9, wall_s, *rates = NULL, total = 0, max_thread = 0;
    size_t nrates = 0;
    json_t *samples = NULL, *out = NULL, *metrics = NULL, *applied = NULL, *flags = NULL;
    traffic_hist_t *hist = NULL, *chist = NULL;

    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);  /* pacing: wake within ~1 us, not 50 us */
    if ((kind == K_UDP_STREAM || kind == K_UDP_RR)
        && (o->size < TRAFFIC_UDP_SIZE_MIN || o->size > TRAFFIC_UDP_SIZE_MAX)) {
        traffic_err("%s: size %ld is outside %d..%ld (a datagram carries an 8-byte sequence "
                    "number)", o->traffic, o->size, TRAFFIC_UDP_SIZE_MIN, TRAFFIC_UDP_SIZE_MAX);
        return TRAFFIC_EXIT_USAGE;
    }
    snprintf(portstr, sizeof portstr, "%ld", o->port);
    gai = getaddrinfo(o->server, portstr, &hints, &res);
    if (gai != 0) {
        traffic_err("cannot resolve %s: %s", o->server, gai_strerror(gai));
        return TRAFFIC_EXIT_RUNTIME;
    }
    nsamples_max = (long)ceil(o->duration / o->interval) + 2;
    fl = calloc((size_t)o->streams, sizeof *fl);
    tids = calloc((size_t)o->streams, sizeof *tids);
    tcpu0 = calloc((size_t)o->streams, sizeof *tcpu0);
    buf = malloc((size_t)o->size);
    rates = calloc((size_t)nsamples_max, sizeof *rates);
    samples = json_array();
    metrics = json_object();
    applied = json_object();
    flags = json_array();
    hist = traffic_hist_new();
    chist = traffic_hist_new();
    if (!fl || !tids || !tcpu0 || !buf || !rates || !samples || !metrics || !applied || !flags
        || !hist || !chist) {
        traffic_err("out of memory");
        goto out;
    }
    /* A pattern rather than zeros, in case a path ever compresses. */
    for (long i = 0; i < o->size; i++)
        buf[i] = (char)(i * 131 + 7);
    for (long i = 0; i < o->streams; i++) {
        fl[i].fd = fl[i].ufd = -1;
        fl[i].idx = (int)i;
        fl[i].o = o;
        fl[i].kind = kind;
        fl[i].buf = buf;
    }
    for (long i = 0; i < o->streams; i++) {
        int r;
        fl[i].hist = traffic_hist_new();
        fl[i].chist = traffic_hist_new();
        if (!fl[i].hist || !fl[i].chist) {
            traffic_err("out of memory");
            goto out;
        }
        traffic_seq_init(&fl[i].rx.seq);
        r = flow_open(&fl[i], res, applied, &fragmented);
        if (r == -2)
            rc = TRAFFIC_EXIT_USAGE;    /* refused (CASES.md case 1), not a failure of the path */
        if (r < 0)
            goto out;
    }
    if (fl[0].fd >= 0 && kind != K_UDP_STREAM && kind != K_UDP_RR) {
        int one = 0;
        olen = sizeof mss;
        getsockopt(fl[0].fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &olen);
        olen = sizeof sndbuf;
        getsockopt(fl[0].fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &olen);
        json_object_set_new(applied, "mss", json_integer(mss));
        json_object_set_new(applied, "sndbuf", json_integer(sndbuf));
        olen = sizeof sndbuf;
        if (getsockopt(fl[0].fd, SOL_SOCKET, SO_RCVBUF, &sndbuf, &olen) == 0)
            json_object_set_new(applied, "rcvbuf", json_integer(sndbuf));
        olen = sizeof one;
        if (getsockopt(fl[0].fd, IPPROTO_TCP, TCP_NODELAY, &one, &olen) == 0)
            json_object_set_new(applied, "nodelay", json_boolean(one));
    }

    /* Start every flow at one instant a little ahead, so that they all begin together. */
    t0 = traffic_now_ns() + 10000000ull;
    tm = t0 + (uint64_t)(o->omit * 1e9);
    deadline = tm + (uint64_t)(o->duration * 1e9);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, CLIENT_THREAD_STACK);
    for (long i = 0; i < o->streams; i++) {
        fl[i].start_ns = t0;
        fl[i].measure_ns = tm;
        fl[i].deadline_ns = deadline;
        if (pthread_create(&tids[i], &attr, flow_run, &fl[i]) != 0) {
            traffic_err("cannot start the thread of flow %ld", i);
            for (long j = 0; j < started; j++)
                atomic_store(&fl[j].stop, 1);
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);

    prev_n = 0;
    prev_t = tm;
    if (started == o->streams) {
        traffic_sleep_until(tm);
        prev_t = traffic_now_ns();
        prev_n = n_at_tm = flows_count(fl, o->streams);
        traffic_cpu_read(&host0);
        cpu0 = traffic_process_cpu_ns();
        user0 = traffic_process_user_ns();
        for (long i = 0; i < o->streams; i++) {
            clockid_t cid;
            struct timespec ts;
            if (pthread_getcpuclockid(tids[i], &cid) == 0 && clock_gettime(cid, &ts) == 0)
                tcpu0[i] = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        }
        if (fl[0].ai)
            (void)server_stats(fl[0].ai, &scpu0, &snow0);
        for (long k = 1; (double)k * o->interval < o->duration - 1e-9; k++) {
            uint64_t now, n;

            traffic_sleep_until(tm + (uint64_t)((double)k * interval_ns));
            now = traffic_now_ns();
            n = flows_count(fl, o->streams);
            add_sample(samples, kind, o->download, o->size, rates, &nrates, (double)k * o->interval,
                       n - prev_n, now - prev_t);
            prev_t = now;
            prev_n = n;
        }
        traffic_sleep_until(deadline);
    }
    /* The measured part is over: CPU first, before the drain and the replies. */
    end_ns = traffic_now_ns();
    uint64_t last_n = flows_count(fl, o->streams);
    traffic_cpu_read(&host1);
    cpu1 = traffic_process_cpu_ns();
    user1 = traffic_process_user_ns();
    srv_ok = fl[0].ai && scpu0 && server_stats(fl[0].ai, &scpu1, &snow1) == 0 && snow1 > snow0;
    if (kind == K_UDP_STREAM && o->download) {
        traffic_sleep_until(traffic_now_ns() + CLIENT_DRAIN_MS * 1000000ull);
        for (long i = 0; i < started; i++)
            atomic_store(&fl[i].rx.stop, 1);
    }
    for (long i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    if (started < o->streams)
        goto out;
    for (long i = 0; i < o->streams; i++) {
        double pct;
        if (!tcpu0[i] || fl[i].cpu_end_ns < tcpu0[i])
            continue;
        /* Thread CPU from the measured start to when the thread saw the end. */
        pct = 100.0 * (double)(fl[i].cpu_end_ns - tcpu0[i]) / (double)(end_ns - tm);
        if (pct > max_thread)
            max_thread = pct;
    }
    add_sample(samples, kind, o->download, o->size, rates, &nrates, o->duration, last_n - prev_n,
               end_ns - prev_t);

    for (long i = 0; i < o->streams; i++)
        if (fl[i].failed) {
            traffic_err("%s", fl[i].err);
            goto out;
        }

    wall_s = (double)(end_ns - tm) / 1e9;
    double pkts = 0;                  /* packets (datagrams, segments, or 2 per transaction) */
    double bytes = 0;
    switch (kind) {
    case K_TCP_STREAM: {
        uint64_t b = 0, retrans = 0, el = 0, omit_ns = tm - t0;
        if (!o->download) {
            /*
             * Receiver side: what the server counted from its first byte to
             * EOF.  With a warm-up, the bytes sent before the measured part
             * and the warm-up time come off (bytes still in the socket
             * buffers at that instant are missed: at most sndbuf + rcvbuf).
             */
            for (long i = 0; i < o->streams; i++) {
                b += fl[i].srv_bytes;
                retrans += fl[i].retrans;
                if (fl[i].srv_elapsed_ns > el)
                    el = fl[i].srv_elapsed_ns;
            }
            if (omit_ns) {
                b = b > n_at_tm ? b - n_at_tm : 0;
                el = el > omit_ns ? el - omit_ns : 0;
            }
            json_object_set_new(metrics, "retransmits", json_integer((json_int_t)retrans));
        } else {
            /* Client side: first byte (or the measured start) to the server's EOF. */
            for (long i = 0; i < o->streams; i++) {
                uint64_t from = omit_ns ? tm : fl[i].rx_first_ns;
                b += atomic_load(&fl[i].count);
                if (fl[i].rx_eof_ns > from && fl[i].rx_eof_ns - from > el)
                    el = fl[i].rx_eof_ns - from;
            }
            if (omit_ns)
                b = b > n_at_tm ? b - n_at_tm : 0;
        }
        total = el ? 8.0 * (double)b / ((double)el / 1e9) : 0.0;
        bytes = (double)b;
        break;
    }
    case K_UDP_STREAM: {
        uint64_t sent = 0, recvd = 0, reord = 0, dups = 0, rbytes = 0;
        for (long i = 0; i < o->streams; i++) {
            const json_t *r = fl[i].reply;
            if (!o->download) {
                sent += atomic_load(&fl[i].tx.sent);
                recvd += (uint64_t)json_integer_value(json_object_get(r, "received"));
                reord += (uint64_t)json_integer_value(json_object_get(r, "reordered"));
                dups += (uint64_t)json_integer_value(json_object_get(r, "duplicates"));
                rbytes += (uint64_t)json_integer_value(json_object_get(r, "bytes"));
            } else {
                sent += (uint64_t)json_integer_value(json_object_get(r, "sent"));
                recvd += fl[i].rx.seq.received;
                reord += fl[i].rx.seq.reordered;
                dups += fl[i].rx.seq.duplicates;
                rbytes += atomic_load(&fl[i].rx.rx_bytes);
            }
        }
        double lost = sent > recvd ? (double)(sent - recvd) : 0.0;
        total = (double)recvd / wall_s;
        pkts = (double)recvd;
        bytes = (double)rbytes;
        set_num(metrics, "throughput_pps", total);
        set_num(metrics, "throughput_bps", 8.0 * (double)recvd * (double)o->size / wall_s);
        set_num(metrics, "sent_pps", (double)sent / wall_s);
        set_num(metrics, "sent_bps", 8.0 * (double)sent * (double)o->size / wall_s);
        set_num(metrics, "loss_ratio", sent ? lost / (double)sent : 0.0);
        set_num(metrics, "reorder_ratio", recvd ? (double)reord / (double)recvd : 0.0);
        json_object_set_new(metrics, "duplicates", json_integer((json_int_t)dups));
        if (o->rate > 0) {
            json_object_set_new(applied, "rate_pps", json_real((double)sent / wall_s / (double)o->streams));
            if ((double)sent / wall_s < 0.95 * (double)o->rate * (double)o->streams)
                json_array_append_new(flags, json_string("rate_not_reached"));
        }
        break;
    }
    default: {
        uint64_t tx = 0, to = 0;
        for (long i = 0; i < o->streams; i++) {
            traffic_hist_merge(hist, fl[i].hist);
            traffic_hist_merge(chist, fl[i].chist);
            tx += fl[i].transactions;
            to += fl[i].timeouts;
        }
        total = (double)tx / wall_s;
        pkts = 2.0 * (double)tx;
        bytes = 2.0 * (double)tx * (double)o->size;
        set_num(metrics, "transactions_per_s", total);
        set_num(metrics, "loss_ratio", tx + to ? (double)to / (double)(tx + to) : 0.0);
        set_percentiles(metrics, "rtt_us", hist);
        if (kind == K_UDP_RR)
            json_object_set_new(metrics, "timeouts", json_integer((json_int_t)to));
        if (kind == K_TCP_CRR) {
            set_num(metrics, "connections_per_s", total);
            set_percentiles(metrics, "connect_us", chist);
        }
        json_object_set_new(applied, "burst", json_integer(o->burst));
        if (kind == K_UDP_RR)
            json_object_set_new(applied, "timeout_ms", json_integer(o->timeout_ms));
        break;
    }
    }
    if (kind == K_TCP_STREAM) {
        set_num(metrics, "throughput_bps", total);
        /* Segments of the MSS in force (read back above), not of the send size. */
        pkts = mss > 0 ? bytes / (double)mss : bytes / (double)o->size;
        set_num(metrics, "throughput_pps", mss > 0 ? total / 8.0 / (double)mss
                                                   : total / 8.0 / (double)o->size);
    }

    /* CPU accounting. */
    double cpu_pct = 100.0 * (double)(cpu1 - cpu0) / 1e9 / wall_s;
    double hu, hs, hsi;
    set_num(metrics, "cpu_client_pct", cpu_pct);
    set_num(metrics, "cpu_client_user_pct", 100.0 * (double)(user1 - user0) / 1e9 / wall_s);
    if (host0.user + host0.system) {
        traffic_cpu_pct(&host0, &host1, wall_s, sysconf(_SC_CLK_TCK), &hu, &hs, &hsi);
        set_num(metrics, "cpu_user_pct", hu);
        set_num(metrics, "cpu_system_pct", hs);
        set_num(metrics, "cpu_softirq_pct", hsi);
        double host_ns = (hu + hs + hsi) / 100.0 * wall_s * 1e9;
        if (pkts > 0)
            set_num(metrics, "cpu_ns_per_packet", host_ns / pkts);
        if (bytes > 0)
            set_num(metrics, "cpu_ns_per_byte", host_ns / bytes);
    }
    if (pkts > 0)
        set_num(metrics, "cpu_client_ns_per_packet", (double)(cpu1 - cpu0) / pkts);
    double srv_pct = -1;
    if (srv_ok) {
        srv_pct = 100.0 * (double)(scpu1 - scpu0) / (double)(snow1 - snow0);
        set_num(metrics, "cpu_server_pct", srv_pct);
    }
    json_object_set_new(applied, "max_thread_cpu_pct", json_real(max_thread));
    if (traffic_tool_bound(max_thread) || (srv_ok && traffic_tool_bound(srv_pct / (double)o->streams)))
        json_array_append_new(flags, json_string("tool_bound"));
    if (!traffic_check_consistency(total, rates, nrates, TRAFFIC_CONSISTENCY_TOL))
        json_array_append_new(flags, json_string("invalid"));
    if (fragmented)
        json_array_append_new(flags, json_string("fragmented"));

    json_object_set_new(applied, "engine", json_string("builtin"));
    json_object_set_new(applied, "engine_version", json_string(TRAFFIC_VERSION));
    json_object_set_new(applied, "direction", json_string(o->download ? "download" : "upload"));
    json_object_set_new(applied, "omit_s", json_real(o->omit));
    json_object_set_new(applied, "interval_s", json_real(o->interval));
    json_object_set_new(applied, "measured_s", json_real(wall_s));

    out = json_pack("{s:i, s:s, s:I, s:I, s:f, s:O, s:O, s:O, s:O}",
                    "version", 1, "traffic", o->traffic, "size", (json_int_t)o->size,
                    "streams", (json_int_t)o->streams, "duration_s", o->duration,
                    "metrics", metrics, "samples", samples, "applied", applied, "flags", flags);
    if (!out || json_dumpf(out, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF
        || fflush(stdout) == EOF) {
        traffic_err("cannot write the result");
        goto out;
    }
    rc = TRAFFIC_EXIT_OK;
out:
    if (fl)
        for (long i = 0; i < o->streams; i++) {
            if (fl[i].fd >= 0)
                close(fl[i].fd);
            if (fl[i].ufd >= 0)
                close(fl[i].ufd);
            json_decref(fl[i].reply);
            traffic_hist_destroy(&fl[i].hist);
            traffic_hist_destroy(&fl[i].chist);
        }
    traffic_hist_destroy(&hist);
    traffic_hist_destroy(&chist);
    json_decref(out);
    json_decref(samples);
    json_decref(metrics);
    json_decref(applied);
    json_decref(flags);
    free(rates);
    free(tcpu0);
    free(buf);
    free(tids);
    free(fl);
    freeaddrinfo(res);
    return rc;
}
