/*
 * traffic_io.c — socket plumbing shared by the client and the server of
 * cntb-traffic: the hello/reply lines of the wire protocol (traffic.h),
 * exact reads and writes, and the two datagram loops.
 *
 * The datagram sender (traffic_udp_send_loop) fills batches of up to
 * UDP_BATCH datagrams and hands each batch to the kernel with one
 * sendmmsg(2); with a target rate it paces against the clock from the start
 * of the flow (so that a late wake-up is caught up, not lost) and sleeps
 * with clock_nanosleep until the next datagram is due.  Without `gso` every
 * datagram is a message of its own; with it, one message carries up to
 * UDP_GSO_SEGS datagrams and the kernel segments it (UDP_SEGMENT, Linux
 * 4.18).  The receiver (traffic_udp_recv_loop) takes batches with
 * recvmmsg(2) and feeds the sequence numbers to traffic_seq; with `gso` it
 * turns UDP_GRO on and splits coalesced buffers into `size`-byte datagrams.
 */
#include "traffic.h"
#include "traffic_io.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define UDP_BATCH 32          /* datagrams per sendmmsg/recvmmsg */
#define UDP_GSO_SEGS 16       /* datagrams per GSO message */
#define UDP_GRO_BUF 65536     /* bytes per receive buffer with GRO */
#define UDP_POLL_MS 20        /* stop flags are looked at this often */

int
traffic_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
traffic_recv_all(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            return 1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
traffic_read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    uint64_t limit = traffic_now_ns() + (uint64_t)timeout_ms * 1000000ull;

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        uint64_t now = traffic_now_ns();
        ssize_t n;
        char *nl;
        int p;

        if (now >= limit)
            return -1;
        p = poll(&pfd, 1, (int)((limit - now) / 1000000ull + 1));
        if (p < 0 && errno != EINTR)
            return -1;
        if (p <= 0)
            continue;
        /* Peek, so that nothing after the newline (payload) is consumed. */
        n = recv(fd, buf, cap - 1, MSG_PEEK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        nl = memchr(buf, '\n', (size_t)n);
        if (!nl) {
            if ((size_t)n >= cap - 1)
                return -1;              /* no newline within cap bytes */
            /* Wait for more: the line is incomplete.  A short sleep avoids a busy peek loop. */
            struct timespec ts = { 0, 200000 };
            nanosleep(&ts, NULL);
            continue;
        }
        size_t len = (size_t)(nl - buf) + 1;
        if (traffic_recv_all(fd, buf, len) != 0)
            return -1;
        buf[len - 1] = '\0';
        return (int)(len - 1);
    }
}

int
traffic_write_json_line(int fd, json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    int rc = -1;

    json_decref(obj);
    if (!s)
        return -1;
    size_t len = strlen(s);
    char *line = malloc(len + 2);
    if (line) {
        memcpy(line, s, len);
        line[len] = '\n';
        rc = traffic_send_all(fd, line, len + 1);
        free(line);
    }
    free(s);
    return rc;
}

json_t *
traffic_read_json_line(int fd, int timeout_ms)
{
    char line[TRAFFIC_HELLO_MAX];

    if (traffic_read_line(fd, line, sizeof line, timeout_ms) < 0)
        return NULL;
    return json_loads(line, 0, NULL);
}

void
traffic_sleep_until(uint64_t t_ns)
{
    struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000ull),
                           .tv_nsec = (long)(t_ns % 1000000000ull) };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void
put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

uint64_t
traffic_get_be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void
traffic_put_be64(unsigned char *p, uint64_t v)
{
    put_be64(p, v);
}

int
traffic_udp_set_gso(int fd, int sender, int on, long size)
{
    int v;

    if (sender) {
        v = on ? (int)size : 0;
        if (!on)
            return 0;       /* off is the kernel's default: nothing to set */
        return setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof v);
    }
    v = on ? 1 : 0;
    if (!on)
        return 0;
    return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &v, sizeof v);
}

int
traffic_udp_get_gso(int fd, int sender)
{
    int v = 0;
    socklen_t len = sizeof v;

    if (getsockopt(fd, IPPROTO_UDP, sender ? UDP_SEGMENT : UDP_GRO, &v, &len) < 0)
        return 0;
    return v;
}

void
traffic_udp_send_loop(struct traffic_udp_tx *t)
{
    int segs = t->gso ? (int)(UDP_GSO_SEGS * t->size > 65000 ? 65000 / t->size : UDP_GSO_SEGS) : 1;
    size_t msgbytes = (size_t)segs * t->size;
    unsigned char *buf = NULL;
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    uint64_t measure_ns = t->start_ns + t->omit_ns, end_ns = measure_ns + t->dur_ns;
    uint64_t total = 0;         /* datagrams sent since start, warm-up included (pacing) */

    if (segs < 1)
        segs = 1;
    buf = calloc(UDP_BATCH, msgbytes);
    if (!buf) {
        t->failed = 1;
        return;
    }
    for (size_t i = 0; i < UDP_BATCH * msgbytes; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    t->measure_start_ns = measure_ns;
    for (;;) {
        uint64_t now = traffic_now_ns();
        long want = UDP_BATCH;
        int nmsg = 0;

        if (now >= end_ns || atomic_load_explicit(&t->stop, memory_order_relaxed))
            break;
        if (t->rate > 0) {
            uint64_t due = (uint64_t)((double)(now - t->start_ns) * (double)t->rate / 1e9) + 1;
            if (due <= total) {
                uint64_t next = t->start_ns + (uint64_t)((double)total * 1e9 / (double)t->rate);
                traffic_sleep_until(next < end_ns ? next : end_ns);
                continue;
            }
            want = (long)((due - total + (uint64_t)segs - 1) / (uint64_t)segs);
            if (want > UDP_BATCH)
                want = UDP_BATCH;
        }
        int warm = now < measure_ns;
        for (nmsg = 0; nmsg < want; nmsg++) {
            unsigned char *m = buf + (size_t)nmsg * msgbytes;
            for (int s = 0; s < segs; s++) {
                uint64_t hdr = warm ? (atomic_load_explicit(&t->sent_warmup, memory_order_relaxed)
                                       + (uint64_t)(nmsg * segs + s)) | TRAFFIC_SEQ_WARMUP
                                    : atomic_load_explicit(&t->sent, memory_order_relaxed)
                                       + (uint64_t)(nmsg * segs + s);
                put_be64(m + (size_t)s * t->size, hdr);
            }
            iov[nmsg].iov_base = m;
            iov[nmsg].iov_len = msgbytes;
            memset(&msgs[nmsg].msg_hdr, 0, sizeof msgs[nmsg].msg_hdr);
            msgs[nmsg].msg_hdr.msg_iov = &iov[nmsg];
            msgs[nmsg].msg_hdr.msg_iovlen = 1;
        }
        int r = sendmmsg(t->fd, msgs, (unsigned)nmsg, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED)
                continue;
            t->failed = 1;
            t->err = errno;
            break;
        }
        /* A partial batch: the datagrams not taken are re-numbered next time. */
        uint64_t n = (uint64_t)r * (uint64_t)segs;
        if (warm)
            atomic_fetch_add_explicit(&t->sent_warmup, n, memory_order_relaxed);
        else
            atomic_fetch_add_explicit(&t->sent, n, memory_order_relaxed);
        total += n;
    }
    t->end_ns = traffic_now_ns();
    if (t->end_ns > end_ns)
        t->end_ns = end_ns;
    free(buf);
}

void
traffic_udp_recv_loop(struct traffic_udp_rx *r)
{
    size_t bufsz = r->gso ? UDP_GRO_BUF : (size_t)r->size;
    unsigned char *buf = malloc(UDP_BATCH * bufsz);
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sockaddr_storage from[UDP_BATCH];

    if (!buf) {
        r->failed = 1;
        return;
    }
    for (;;) {
        struct pollfd pfd[2] = { { .fd = r->fd, .events = POLLIN },
                                 { .fd = r->ctl_fd, .events = POLLIN } };
        int p;

        if (atomic_load_explicit(&r->stop, memory_order_relaxed))
            break;
        p = poll(pfd, r->ctl_fd >= 0 ? 2 : 1, UDP_POLL_MS);
        if (p < 0 && errno != EINTR)
            break;
        if (p <= 0)
            continue;
        if (r->ctl_fd >= 0 && pfd[1].revents)
            break;              /* the client's "end" (or its close) */
        for (int i = 0; i < UDP_BATCH; i++) {
            iov[i].iov_base = buf + (size_t)i * bufsz;
            iov[i].iov_len = bufsz;
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        int n = recvmmsg(r->fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            continue;
        uint64_t now = traffic_now_ns();
        uint64_t pk = 0, by = 0, warm = 0;
        for (int i = 0; i < n; i++) {
            size_t len = msgs[i].msg_len;
            unsigned char *m = iov[i].iov_base;
            for (size_t off = 0; off < len; off += (size_t)r->size) {
                size_t seg = len - off < (size_t)r->size ? len - off : (size_t)r->size;
                uint64_t hdr;

                if (seg < 8)
                    continue;   /* not ours */
                hdr = traffic_get_be64(m + off);
                if (hdr & TRAFFIC_SEQ_PUNCH) {
                    if (!r->have_peer) {
                        memcpy(&r->peer, &from[i], sizeof r->peer);
                        r->peer_len = msgs[i].msg_hdr.msg_namelen;
                        r->have_peer = 1;
                    }
                    continue;
                }
                if (hdr & TRAFFIC_SEQ_WARMUP) {
                    warm++;
                    continue;
                }
                traffic_seq_add(&r->seq, hdr & TRAFFIC_SEQ_MASK);
                pk++;
                by += seg;
            }
        }
        if (pk) {
            if (!r->first_ns)
                r->first_ns = now;
            r->last_ns = now;
        }
        atomic_fetch_add_explicit(&r->rx_pkts, pk, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->rx_bytes, by, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->rx_warmup, warm, memory_order_relaxed);
    }
    free(buf);
}

uint64_t
traffic_udp_echo_loop(int fd, int ctl_fd, size_t size)
{
    unsigned char *buf = malloc(UDP_BATCH * size);
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sockaddr_storage from[UDP_BATCH];
    uint64_t echoed = 0, ctl_at = traffic_now_ns();
    struct timeval to = { .tv_sec = 0, .tv_usec = UDP_POLL_MS * 1000 };

    if (!buf)
        return 0;
    /*
     * A blocking recvmmsg (bounded by SO_RCVTIMEO) and a sendmmsg per batch:
     * with one probe outstanding that is a recv and a send per transaction,
     * as in a bare echo loop.  The control connection is looked at when the
     * socket has been idle for UDP_POLL_MS (the client writes "end" after
     * its last probe) and at least every UDP_POLL_MS while datagrams flow.
     */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof to);
    for (;;) {
        uint64_t now = traffic_now_ns();
        int idle;

        for (int i = 0; i < UDP_BATCH; i++) {
            iov[i].iov_base = buf + (size_t)i * size;
            iov[i].iov_len = size;
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        int n = recvmmsg(fd, msgs, UDP_BATCH, MSG_WAITFORONE, NULL);
        idle = n <= 0;                  /* the timeout, or an error (ICMP, EINTR) */
        if (idle || now - ctl_at >= (uint64_t)UDP_POLL_MS * 1000000ull) {
            struct pollfd pfd = { .fd = ctl_fd, .events = POLLIN };
            ctl_at = now;
            if (poll(&pfd, 1, 0) > 0)
                break;                  /* the client's "end" (or its close) */
        }
        if (idle)
            continue;
        /* Punches still in flight after the rendezvous are not echoed. */
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (msgs[i].msg_len >= 8 && (traffic_get_be64(iov[i].iov_base) & TRAFFIC_SEQ_PUNCH))
                continue;
            iov[i].iov_len = msgs[i].msg_len;
            if (k != i) {
                msgs[k] = msgs[i];
                iov[k] = iov[i];
                msgs[k].msg_hdr.msg_iov = &iov[k];
            }
            k++;
        }
        n = k;
        int off = 0;
        while (off < n) {
            int s = sendmmsg(fd, msgs + off, (unsigned)(n - off), 0);
            if (s < 0) {
                if (errno == EINTR)
                    continue;
                break;          /* ENOBUFS and friends: those replies are lost, the client times out */
            }
            off += s;
        }
        echoed += (uint64_t)off;
    }
    free(buf);
    return echoed;
}
