/*
 * bench_bare.c — the bare-loop reference of tests/bench/engines: each traffic
 * kind written with the fewest system calls it needs, so that cntb-traffic
 * (and the peer engines) can be compared with what the kernel alone costs on
 * the same path.
 *
 * No hello, no JSON protocol, no threads on the hot path, no samples: a
 * server serves one kind on its own port, one connection at a time, and a
 * client runs one flow for a given time and prints one JSON line.
 *
 *   kind        client loop                          server loop
 *   tcp_stream  send(size) until the deadline,       accept; recv to EOF (counting);
 *               shutdown, read the server's count    send "bytes ns\n"; close
 *   tcp_rr      send(size); recv(size)               accept; recv(size); send ... to EOF
 *   udp_rr      send(size); recv(size)               recvfrom; sendto
 *   tcp_crr     socket; connect; send; recv;         accept; recv(size); send; close
 *               recv (EOF); close                    (the client waits for the server's FIN,
 *                                                    so TIME_WAIT stays on the server)
 *   udp_stream  sendmmsg batches of 32 (paced to     recvmmsg batches (counting); a TCP
 *               RATE/s when given), then asks the    connection on the same port is answered
 *               server's count on TCP                with the count since the last one
 *
 * The rr and crr clients stamp before the first system call of a
 * transaction (CASES.md case 10) and report the mean round trip.
 *
 * Usage:
 *   bench_bare server KIND ADDR PORT SIZE      prints "listening" once ready; runs until killed
 *   bench_bare client KIND ADDR PORT SIZE SECONDS [RATE]
 *   bench_bare cputime CMD ARG...             runs CMD, then prints "cputime user_ns U system_ns S"
 *                                             on stderr (its process tree's CPU, wait4)
 * The client prints one JSON object: {"kind","seconds","ops","per_s","bps",
 * "rtt_us_mean","timeouts","sent"}; ops are transactions (rr, crr), bytes
 * (tcp_stream: as the server counted) or datagrams (udp_stream: as the
 * server received; "sent" is what the client sent, elsewhere = ops).
 * Exit 0, 1 on a socket failure, 2 on bad arguments.
 * A benchmark's yardstick: addresses come from the bench script, which makes
 * its own namespaces.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BARE_BATCH 32                /* datagrams per sendmmsg/recvmmsg */
#define BARE_STREAM_BUF (256 * 1024) /* bytes per recv() of the stream sink */
#define BARE_SIZE_MAX (1024 * 1024)  /* bytes per send() */
#define BARE_UDP_TIMEOUT_MS 200      /* udp_rr: an answer later than this is lost */

enum kind { TCP_STREAM, UDP_STREAM, TCP_RR, UDP_RR, TCP_CRR };

static const char *const kind_names[] = { "tcp_stream", "udp_stream", "tcp_rr", "udp_rr",
                                          "tcp_crr" };

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
    va_list ap;

    fputs("bench_bare: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s\n", strerror(errno));
    exit(1);
}

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Reads exactly len bytes; 0, or -1 at EOF or on an error. */
static int
recv_all(int fd, char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static struct sockaddr_in
addr_of(const char *ip, long port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        fprintf(stderr, "bench_bare: %s is not an IPv4 address\n", ip);
        exit(2);
    }
    return sa;
}

static int
tcp_listen(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 || listen(fd, 4096) < 0)
        die("bind/listen port %d", ntohs(sa->sin_port));
    return fd;
}

static int
tcp_connect(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0)
        die("connect");
    return fd;
}

/* udp_stream server: datagrams counted here, read and reset by the TCP side. */
static _Atomic uint64_t udp_count;

static void *
udp_sink(void *arg)
{
    int fd = *(int *)arg;
    static char bufs[BARE_BATCH][2048];
    struct mmsghdr msgs[BARE_BATCH];
    struct iovec iov[BARE_BATCH];

    for (int i = 0; i < BARE_BATCH; i++) {
        iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = sizeof bufs[i] };
        msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
    }
    for (;;) {
        /* Block for the first datagram only: without WAITFORONE every datagram wakes us. */
        int n = recvmmsg(fd, msgs, BARE_BATCH, MSG_WAITFORONE, NULL);
        if (n > 0)
            atomic_fetch_add_explicit(&udp_count, (uint64_t)n, memory_order_relaxed);
    }
    return NULL;
}

static int
serve(enum kind k, const struct sockaddr_in *sa, long size)
{
    char *buf = malloc(k == TCP_STREAM ? BARE_STREAM_BUF : (size_t)size);
    int lfd = -1, ufd = -1;

    if (!buf)
        die("malloc");
    if (k != UDP_RR)
        lfd = tcp_listen(sa);
    if (k == UDP_RR || k == UDP_STREAM) {
        int big = 4 * 1024 * 1024;
        ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (ufd < 0 || bind(ufd, (const struct sockaddr *)sa, sizeof *sa) < 0)
            die("udp bind");
        setsockopt(ufd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    }
    if (k == UDP_STREAM) {
        pthread_t t;
        if (pthread_create(&t, NULL, udp_sink, &ufd) != 0)
            die("pthread_create");
    }
    printf("listening\n");
    fflush(stdout);
    if (k == UDP_RR) {
        for (;;) {
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(ufd, buf, (size_t)size, 0, (struct sockaddr *)&from, &fl);
            if (n > 0)
                sendto(ufd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        }
    }
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), one = 1;
        char line[64];
        if (fd < 0)
            continue;
        switch (k) {
        case TCP_STREAM: {
            uint64_t bytes = 0, first = 0;
            ssize_t n;
            while ((n = recv(fd, buf, BARE_STREAM_BUF, 0)) > 0) {
                if (!bytes)
                    first = now_ns();
                bytes += (uint64_t)n;
            }
            int l = snprintf(line, sizeof line, "%" PRIu64 " %" PRIu64 "\n", bytes,
                             bytes ? now_ns() - first : 0);
            (void)!send(fd, line, (size_t)l, MSG_NOSIGNAL);
            break;
        }
        case TCP_RR:
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            while (recv_all(fd, buf, (size_t)size) == 0)
                if (send(fd, buf, (size_t)size, MSG_NOSIGNAL) != size)
                    break;
            break;
        case TCP_CRR:
            if (recv_all(fd, buf, (size_t)size) == 0)
                (void)!send(fd, buf, (size_t)size, MSG_NOSIGNAL);
            break;
        case UDP_STREAM: {
            int l = snprintf(line, sizeof line, "%" PRIu64 "\n",
                             atomic_exchange(&udp_count, 0));
            (void)!send(fd, line, (size_t)l, MSG_NOSIGNAL);
            break;
        }
        case UDP_RR:
            break;
        }
        close(fd);
    }
}

/* udp_stream: the server's count since its last answer. */
static uint64_t
udp_count_query(const struct sockaddr_in *sa)
{
    int fd = tcp_connect(sa);
    char line[64] = "";
    ssize_t n = recv(fd, line, sizeof line - 1, 0);

    close(fd);
    return n > 0 ? strtoull(line, NULL, 10) : 0;
}

static int
run_client(enum kind k, const struct sockaddr_in *sa, long size, double secs, long rate)
{
    char *buf = calloc(1, (size_t)size), *rbuf = malloc((size_t)size);
    uint64_t start, deadline, ops = 0, rtt_sum = 0, timeouts = 0, bytes = 0, elapsed = 0;
    uint64_t sent = 0;                  /* udp_stream: datagrams sent */
    int fd = -1, one = 1;

    if (!buf || !rbuf)
        die("malloc");
    if (k == UDP_STREAM)
        (void)udp_count_query(sa);      /* zero the server's count */
    if (k == TCP_STREAM || k == TCP_RR)
        fd = tcp_connect(sa);
    if (k == TCP_RR)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (k == UDP_RR || k == UDP_STREAM) {
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0)
            die("udp connect");
    }
    if (k == UDP_RR) {
        struct timeval to = { 0, BARE_UDP_TIMEOUT_MS * 1000 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof to);
    }
    start = now_ns();
    deadline = start + (uint64_t)(secs * 1e9);
    switch (k) {
    case TCP_STREAM: {
        char line[64] = "";
        while (now_ns() < deadline)
            if (send(fd, buf, (size_t)size, MSG_NOSIGNAL) < 0)
                die("send");
        shutdown(fd, SHUT_WR);
        if (recv(fd, line, sizeof line - 1, 0) <= 0
            || sscanf(line, "%" SCNu64 " %" SCNu64, &bytes, &elapsed) != 2)
            die("no count from the server");
        ops = bytes;
        break;
    }
    case TCP_RR:
    case UDP_RR:
        for (uint64_t t0 = now_ns(); t0 < deadline; t0 = now_ns()) {
            if (send(fd, buf, (size_t)size, 0) != size)
                die("send");
            if (k == TCP_RR ? recv_all(fd, rbuf, (size_t)size) < 0
                            : recv(fd, rbuf, (size_t)size, 0) != size) {
                if (k == UDP_RR && errno == EAGAIN) {
                    timeouts++;
                    continue;
                }
                die("recv");
            }
            rtt_sum += now_ns() - t0;
            ops++;
        }
        break;
    case TCP_CRR:
        for (uint64_t t0 = now_ns(); t0 < deadline; t0 = now_ns()) {
            int c = tcp_connect(sa);
            if (send(c, buf, (size_t)size, 0) != size || recv_all(c, rbuf, (size_t)size) < 0)
                die("request/response");
            /*
             * The server's FIN before our close: closing at once races it
             * (a simultaneous close leaves TIME_WAIT on both sides), and
             * client ports in TIME_WAIT make connect() search for a free
             * port at length.
             */
            if (recv(c, rbuf, 1, 0) != 0)
                die("no EOF after the reply");
            close(c);
            rtt_sum += now_ns() - t0;
            ops++;
        }
        break;
    case UDP_STREAM: {
        struct mmsghdr msgs[BARE_BATCH];
        struct iovec iov = { .iov_base = buf, .iov_len = (size_t)size };

        for (int i = 0; i < BARE_BATCH; i++)
            msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
        for (uint64_t t = start; t < deadline; t = now_ns()) {
            if (rate > 0) {
                /* Pace batch by batch from the start: a late wake-up is caught up. */
                uint64_t due = start + (uint64_t)((double)sent * 1e9 / (double)rate);
                if (due > t) {
                    struct timespec ts = { (time_t)(due / 1000000000ull),
                                           (long)(due % 1000000000ull) };
                    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
                }
            }
            int n = sendmmsg(fd, msgs, BARE_BATCH, 0);
            if (n > 0)
                sent += (uint64_t)n;
        }
        usleep(200 * 1000);             /* datagrams still in flight */
        ops = udp_count_query(sa);
        break;
    }
    }
    double s = (double)(now_ns() - start) / 1e9;
    if (k == TCP_STREAM && elapsed)
        s = (double)elapsed / 1e9;
    else if (k == UDP_STREAM)
        s = secs;
    printf("{\"kind\":\"%s\",\"seconds\":%.6f,\"ops\":%" PRIu64 ",\"per_s\":%.3f,\"bps\":%.1f,"
           "\"rtt_us_mean\":%.3f,\"timeouts\":%" PRIu64 ",\"sent\":%" PRIu64 "}\n",
           kind_names[k], s, ops, (double)ops / s,
           k == TCP_STREAM ? (double)bytes * 8 / s : (double)ops * (double)size * 8 / s,
           ops && (k == TCP_RR || k == UDP_RR || k == TCP_CRR) ? (double)rtt_sum / (double)ops / 1e3
                                                              : 0.0,
           timeouts, k == UDP_STREAM ? sent : ops);
    if (fd >= 0)
        close(fd);
    free(buf);
    free(rbuf);
    return 0;
}

/* Runs argv, waits for it and reports its process tree's CPU time on stderr. */
static int
cputime(char **argv)
{
    struct rusage ru;
    int st;
    pid_t pid = fork();

    if (pid < 0)
        die("fork");
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "bench_bare: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (wait4(pid, &st, 0, &ru) < 0)
        die("wait4");
    fprintf(stderr, "cputime user_ns %" PRIu64 " system_ns %" PRIu64 "\n",
            (uint64_t)ru.ru_utime.tv_sec * UINT64_C(1000000000) + (uint64_t)ru.ru_utime.tv_usec * 1000,
            (uint64_t)ru.ru_stime.tv_sec * UINT64_C(1000000000) + (uint64_t)ru.ru_stime.tv_usec * 1000);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static long
number(const char *s, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "bench_bare: %s: not a number in %ld..%ld\n", s, min, max);
        exit(2);
    }
    return v;
}

int
main(int argc, char **argv)
{
    int k = -1;

    if (argc >= 3 && strcmp(argv[1], "cputime") == 0)
        return cputime(argv + 2);
    if (argc >= 3)
        for (int i = 0; i < (int)(sizeof kind_names / sizeof kind_names[0]); i++)
            if (strcmp(argv[2], kind_names[i]) == 0)
                k = i;
    if (k >= 0 && argc == 6 && strcmp(argv[1], "server") == 0) {
        struct sockaddr_in sa = addr_of(argv[3], number(argv[4], 1, 65535));
        return serve((enum kind)k, &sa, number(argv[5], 1, BARE_SIZE_MAX));
    }
    if (k >= 0 && (argc == 7 || argc == 8) && strcmp(argv[1], "client") == 0) {
        struct sockaddr_in sa = addr_of(argv[3], number(argv[4], 1, 65535));
        char *end;
        double secs = strtod(argv[6], &end);
        if (*end || !(secs > 0 && secs <= 3600)) {
            fprintf(stderr, "bench_bare: %s: not a duration in (0, 3600] s\n", argv[6]);
            return 2;
        }
        long size = number(argv[5], 1, BARE_SIZE_MAX);
        if ((k == UDP_STREAM || k == UDP_RR) && size > 65507) {
            fprintf(stderr, "bench_bare: UDP size %ld above 65507\n", size);
            return 2;
        }
        return run_client((enum kind)k, &sa, size, secs,
                          argc == 8 ? number(argv[7], 0, 100000000) : 0);
    }
    fprintf(stderr, "usage: bench_bare server KIND ADDR PORT SIZE\n"
                    "       bench_bare client KIND ADDR PORT SIZE SECONDS [RATE]\n"
                    "       bench_bare cputime CMD ARG...\n"
                    "KIND: tcp_stream udp_stream tcp_rr udp_rr tcp_crr\n");
    return 2;
}
