/*
 * traffic_server.c — the server side of cntb-traffic.
 *
 * The main thread blocks SIGTERM/SIGINT (so every connection thread inherits
 * the mask), binds, listens, binds a UDP rendezvous socket to the same
 * address and port, prints the listening line, then runs one epoll loop over
 * the listening socket, the rendezvous socket, a signalfd and every
 * connection whose hello has not been read yet.  The hello line (traffic.h)
 * decides where a connection goes:
 *
 *   crr     stays on the loop: the request is read, echoed, and the server
 *           closes first (the client waits for that FIN, so TIME_WAIT stays
 *           on the server and the client's ports are not exhausted).  A crr connection lives for one exchange, so
 *           what it costs beyond the kernel's connect/exchange/close is what
 *           tcp_crr measures of the engine: here it is the epoll_wait
 *           that reports it, one accept4, one recv of hello and request
 *           (they come in one segment), one send and one close, without a
 *           thread (a thread per connection, with its stack, scheduling and
 *           exit, made tcp_crr 3 to 11 times slower than a bare loop:
 *           issue 16);
 *   others  get a detached thread of their own, which takes the hello (and
 *           any bytes read past it) from the loop and serves it with
 *           blocking calls: a byte sink or source for
 *           tcp_stream, an echo for tcp_rr, a UDP flow on the server's own
 *           port for the datagram kinds (see "rendezvous" below), or the
 *           process CPU time for cpu_server_pct (one server serves one run,
 *           so the process time is the run's).  These connections live for
 *           a whole flow, so their thread costs nothing per transaction.
 *
 * A connection that sends no complete hello (or crr request) within
 * TRAFFIC_REPLY_TIMEOUT_S is closed.  A signal makes the main thread exit 0
 * without waiting for connections in progress.  SIGPIPE is ignored and every
 * send uses MSG_NOSIGNAL, so a peer that leaves early costs only its own
 * connection.
 */
#include "traffic.h"
#include "traffic_io.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <unistd.h>

#define SERVER_RECV_BUF (256 * 1024)   /* bytes read per recv() */
#define SERVER_THREAD_STACK (256 * 1024)
#define SERVER_BACKLOG 4096            /* listen(); the kernel caps it at net.core.somaxconn */
#define SERVER_EVENTS 64               /* epoll events taken per epoll_wait */

/* Opens, binds and listens on addr:port; returns the socket or -1 (reported). */
static int
server_listen(const char *addr, long port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
    struct addrinfo *res = NULL;
    char portstr[16];
    int fd = -1, one = 1, rc;

    snprintf(portstr, sizeof portstr, "%ld", port);
    rc = getaddrinfo(addr, portstr, &hints, &res);
    if (rc != 0) {
        traffic_err("server: --bind %s is not a numeric IP address: %s", addr, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        traffic_err("server: socket: %s", strerror(errno));
        goto out;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
        traffic_err("server: cannot bind %s port %ld: %s", addr, port, strerror(errno));
        goto fail;
    }
    /*
     * Many crr flows connect at once; a full accept queue drops SYNs, which
     * the client retries only after a second.
     */
    if (listen(fd, SERVER_BACKLOG) < 0) {
        traffic_err("server: listen: %s", strerror(errno));
        goto fail;
    }
    goto out;
fail:
    close(fd);
    fd = -1;
out:
    freeaddrinfo(res);
    return fd;
}

/*
 * Binds the UDP rendezvous socket (SO_REUSEPORT) to the address and port the
 * listening socket lfd really has; returns it or -1 (reported).
 */
static int
server_rendezvous(int lfd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd, one = 1;

    if (getsockname(lfd, (struct sockaddr *)&ss, &len) < 0) {
        traffic_err("server: cannot read the bound address: %s", strerror(errno));
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0
        || bind(fd, (struct sockaddr *)&ss, len) < 0) {
        traffic_err("server: cannot bind UDP on the listening port: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Prints the listening line with the address and port the socket really has. */
static int
server_announce(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    json_t *ev;
    char *line;
    long port;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0
        || getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, serv, sizeof serv,
                       NI_NUMERICHOST | NI_NUMERICSERV) != 0
        || traffic_parse_long(serv, 0, 65535, &port) < 0) {
        traffic_err("server: cannot read the bound address: %s", strerror(errno));
        return -1;
    }
    ev = json_pack("{s:s, s:s, s:I}", "event", "listening", "address", host,
                   "port", (json_int_t)port);
    line = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!line) {
        traffic_err("server: out of memory");
        return -1;
    }
    printf("%s\n", line);
    fflush(stdout);
    free(line);
    return 0;
}

/*
 * stream up: count to EOF, reply {"bytes","elapsed_ns"}.  extra bytes of
 * payload came with the hello, read at extra_ns.
 */
static void
serve_stream_up(int fd, size_t extra, uint64_t extra_ns)
{
    char *buf = malloc(SERVER_RECV_BUF);
    uint64_t bytes = extra, first_ns = extra ? extra_ns : 0, eof_ns = 0;

    if (!buf)
        return;
    for (;;) {
        ssize_t n = recv(fd, buf, SERVER_RECV_BUF, 0);
        if (n > 0) {
            if (bytes == 0)
                first_ns = traffic_now_ns();
            bytes += (uint64_t)n;
            continue;
        }
        if (n == 0) {
            eof_ns = traffic_now_ns();
            break;
        }
        if (errno == EINTR)
            continue;
        free(buf);
        return;                         /* reset by the peer: no one to answer */
    }
    free(buf);
    (void)traffic_write_json_line(fd, json_pack("{s:I, s:I}", "bytes", (json_int_t)bytes,
                                                "elapsed_ns",
                                                (json_int_t)(bytes ? eof_ns - first_ns : 0)));
}

/* stream down: send size-byte buffers for duration_ns, then close. */
static void
serve_stream_down(int fd, long size, uint64_t duration_ns)
{
    char *buf = malloc((size_t)size);
    struct timeval to = { .tv_sec = 0, .tv_usec = 100000 };
    uint64_t deadline = traffic_now_ns() + duration_ns;

    if (!buf)
        return;
    for (long i = 0; i < size; i++)
        buf[i] = (char)(i * 131 + 7);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &to, sizeof to);
    while (traffic_now_ns() < deadline) {
        ssize_t n = send(fd, buf, (size_t)size, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            break;
    }
    free(buf);
    shutdown(fd, SHUT_WR);
}

/*
 * rr: echo size-byte requests until EOF; the first extra_len bytes of
 * requests (borrowed) came with the hello.
 */
static void
serve_rr(int fd, long size, const char *extra, size_t extra_len)
{
    char *buf = malloc((size_t)size);
    int one = 1;

    if (!buf)
        return;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (;;) {
        size_t have = extra_len < (size_t)size ? extra_len : (size_t)size;
        memcpy(buf, extra, have);
        extra += have;
        extra_len -= have;
        if (have < (size_t)size && traffic_recv_all(fd, buf + have, (size_t)size - have) != 0)
            break;
        if (traffic_send_all(fd, buf, (size_t)size) < 0)
            break;
    }
    free(buf);
}

/*
 * The datagram kinds travel on the server's own port (the TCP port's number,
 * over UDP), so that a path that publishes only that port (network nat,
 * docs/networks/nat.md) carries them.  One unconnected rendezvous socket is
 * bound there; each datagram flow gets a token in its control reply, and the
 * client sends PUNCH datagrams carrying it until the server says "ready".  The
 * main thread reads the rendezvous socket and hands the punch's source
 * address (as the server sees it, after any NAT) to the flow waiting for that
 * token, which then binds a socket of its own to the same address and port
 * (SO_REUSEPORT) and connects it to that source: the kernel delivers a
 * connected socket's datagrams to it before any unconnected one, so the flows
 * of one port are kept apart by their 4-tuples.
 */
struct rendezvous {
    uint64_t token;                   /* the flow's, from the control reply */
    struct sockaddr_storage peer;     /* source of the first punch with that token */
    socklen_t peer_len;
    int matched;
    struct rendezvous *next;
};

static pthread_mutex_t rdv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rdv_cond = PTHREAD_COND_INITIALIZER;
static struct rendezvous *rdv_list;   /* flows waiting for their punch */
static _Atomic uint64_t rdv_next;     /* token counter, seeded from the clock */

/* Reads the rendezvous socket: every punch with a waiting token is handed over. */
static void
rendezvous_read(int rfd)
{
    unsigned char buf[64];
    struct sockaddr_storage from;

    for (;;) {
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(rfd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
        if (n < 0)
            return;
        if (n < 16 || !(traffic_get_be64(buf) & TRAFFIC_SEQ_PUNCH))
            continue;                   /* not a punch: a late datagram of an ended flow */
        uint64_t token = traffic_get_be64(buf + 8);
        pthread_mutex_lock(&rdv_lock);
        for (struct rendezvous *r = rdv_list; r; r = r->next)
            if (r->token == token && !r->matched) {
                memcpy(&r->peer, &from, flen);
                r->peer_len = flen;
                r->matched = 1;
                pthread_cond_broadcast(&rdv_cond);
                break;
            }
        pthread_mutex_unlock(&rdv_lock);
    }
}

/*
 * Waits up to timeout_ms for the punch of r (registered by the caller);
 * unregisters it.  1 when it came, 0 otherwise.
 */
static int
rendezvous_wait(struct rendezvous *r, int timeout_ms)
{
    struct timespec until;
    int matched;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&rdv_lock);
    while (!r->matched)
        if (pthread_cond_timedwait(&rdv_cond, &rdv_lock, &until) == ETIMEDOUT)
            break;
    matched = r->matched;
    for (struct rendezvous **pp = &rdv_list; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    pthread_mutex_unlock(&rdv_lock);
    return matched;
}

/*
 * A UDP socket bound to local (the control connection's own address and
 * port, i.e. the rendezvous port) with SO_REUSEPORT and connected to peer;
 * -1 on failure.
 */
static int
flow_socket(const struct sockaddr_storage *local, socklen_t llen,
            const struct sockaddr_storage *peer, socklen_t plen)
{
    int one = 1, big = 4 * 1024 * 1024;
    int ufd = socket(local->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (ufd < 0)
        return -1;
    if (setsockopt(ufd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0
        || bind(ufd, (const struct sockaddr *)local, llen) < 0
        || connect(ufd, (const struct sockaddr *)peer, plen) < 0) {
        close(ufd);
        return -1;
    }
    setsockopt(ufd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    return ufd;
}

/* The datagram kinds: rendezvous on the server's port, then up, down or rr. */
static void
serve_udp(int fd, const json_t *hello)
{
    const char *dir = json_string_value(json_object_get(hello, "dir"));
    long size = (long)json_integer_value(json_object_get(hello, "size"));
    json_int_t rate = json_integer_value(json_object_get(hello, "rate"));
    json_int_t omit_ns = json_integer_value(json_object_get(hello, "omit_ns"));
    json_int_t dur_ns = json_integer_value(json_object_get(hello, "duration_ns"));
    int gso = json_is_true(json_object_get(hello, "gso"));
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    struct rendezvous rdv = { 0 };
    int ufd = -1, port;
    char line[64];

    if (!dir || size < TRAFFIC_UDP_SIZE_MIN || size > TRAFFIC_UDP_SIZE_MAX || rate < 0
        || omit_ns < 0 || dur_ns < 0
        || (strcmp(dir, "up") != 0 && strcmp(dir, "down") != 0 && strcmp(dir, "rr") != 0))
        return;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return;
    port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
    /* 62 bits: the word after the PUNCH flag, and a JSON integer in the reply. */
    rdv.token = atomic_fetch_add(&rdv_next, 0x9e3779b97f4a7c15ull) & TRAFFIC_SEQ_MASK;
    pthread_mutex_lock(&rdv_lock);
    rdv.next = rdv_list;
    rdv_list = &rdv;
    pthread_mutex_unlock(&rdv_lock);
    if (traffic_write_json_line(fd, json_pack("{s:i, s:I}", "port", port, "token",
                                              (json_int_t)rdv.token)) < 0) {
        (void)rendezvous_wait(&rdv, 0);
        return;
    }
    if (!rendezvous_wait(&rdv, TRAFFIC_CONNECT_TIMEOUT_S * 1000)) {
        (void)traffic_write_json_line(
            fd, json_pack("{s:s}", "error", "no datagram reached the server's UDP port"));
        return;
    }
    ufd = flow_socket(&ss, len, &rdv.peer, rdv.peer_len);
    if (ufd < 0) {
        (void)traffic_write_json_line(fd, json_pack("{s:s}", "error", strerror(errno)));
        return;
    }
    if (strcmp(dir, "up") == 0) {
        struct traffic_udp_rx *rx = calloc(1, sizeof *rx);

        if (!rx)
            goto out;
        rx->fd = ufd;
        rx->ctl_fd = fd;
        rx->size = (size_t)size;
        rx->gso = gso;
        traffic_seq_init(&rx->seq);
        traffic_udp_set_gso(ufd, 0, gso, size);
        if (traffic_write_json_line(fd, json_pack("{s:b}", "ready", 1)) == 0) {
            traffic_udp_recv_loop(rx);
            if (traffic_read_line(fd, line, sizeof line, 1000) >= 0)
                (void)traffic_write_json_line(
                    fd, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
                                  "received", (json_int_t)rx->seq.received,
                                  "reordered", (json_int_t)rx->seq.reordered,
                                  "duplicates", (json_int_t)rx->seq.duplicates,
                                  "highest", (json_int_t)(rx->seq.any ? rx->seq.highest + 1 : 0),
                                  "bytes", (json_int_t)atomic_load(&rx->rx_bytes),
                                  "warmup", (json_int_t)atomic_load(&rx->rx_warmup)));
        }
        free(rx);
    } else if (strcmp(dir, "rr") == 0) {
        if (traffic_write_json_line(fd, json_pack("{s:b}", "ready", 1)) == 0) {
            uint64_t echoed = traffic_udp_echo_loop(ufd, fd, (size_t)size);
            if (traffic_read_line(fd, line, sizeof line, 1000) >= 0)
                (void)traffic_write_json_line(fd, json_pack("{s:I}", "echoed", (json_int_t)echoed));
        }
    } else {
        struct traffic_udp_tx *tx = calloc(1, sizeof *tx);

        if (!tx)
            goto out;
        if (traffic_write_json_line(fd, json_pack("{s:b}", "ready", 1)) < 0) {
            free(tx);
            goto out;
        }
        tx->fd = ufd;
        tx->size = (size_t)size;
        tx->rate = (long)rate;
        tx->gso = gso && traffic_udp_set_gso(ufd, 1, 1, size) == 0;
        tx->omit_ns = (uint64_t)omit_ns;
        tx->dur_ns = (uint64_t)dur_ns;
        tx->start_ns = traffic_now_ns();
        traffic_udp_send_loop(tx);
        if (traffic_read_line(fd, line, sizeof line, (int)(dur_ns / 1000000) + 10000) >= 0)
            (void)traffic_write_json_line(fd, json_pack("{s:I, s:I}", "sent",
                                                        (json_int_t)atomic_load(&tx->sent),
                                                        "warmup",
                                                        (json_int_t)atomic_load(&tx->sent_warmup)));
        free(tx);
    }
out:
    if (ufd >= 0)
        close(ufd);
}

/* A connection the loop hands to a thread, with its hello read already. */
struct handoff {
    int fd;                             /* the socket, owned */
    json_t *hello;                      /* the parsed hello, owned */
    uint64_t extra_ns;                  /* monotonic time extra was read */
    size_t extra_len;                   /* bytes that came after the hello line */
    char extra[];                       /* those extra_len bytes */
};

/*
 * One connection of any kind but crr (those stay on the main loop): serve
 * its hello, close.  arg is a struct handoff, owned here.
 */
static void *
server_conn(void *arg)
{
    struct handoff *h = arg;
    int fd = h->fd;
    json_t *hello = h->hello;
    const char *t = json_string_value(json_object_get(hello, "t"));
    const char *dir = json_string_value(json_object_get(hello, "dir"));
    json_int_t size = json_integer_value(json_object_get(hello, "size"));

    if (!t)
        goto out;
    if (strcmp(t, "stream") == 0 && dir && strcmp(dir, "up") == 0) {
        serve_stream_up(fd, h->extra_len, h->extra_ns);
    } else if (strcmp(t, "stream") == 0 && dir && strcmp(dir, "down") == 0) {
        json_int_t d = json_integer_value(json_object_get(hello, "duration_ns"));
        if (size >= 1 && size <= TRAFFIC_SIZE_MAX && d > 0)
            serve_stream_down(fd, (long)size, (uint64_t)d);
    } else if (strcmp(t, "rr") == 0 && size >= 1 && size <= TRAFFIC_SIZE_MAX) {
        serve_rr(fd, (long)size, h->extra, h->extra_len);
    } else if (strcmp(t, "udp") == 0) {
        serve_udp(fd, hello);
    } else if (strcmp(t, "stats") == 0) {
        (void)traffic_write_json_line(fd, json_pack("{s:I, s:I}",
                                                    "cpu_ns", (json_int_t)traffic_process_cpu_ns(),
                                                    "now_ns", (json_int_t)traffic_now_ns()));
    }
out:
    json_decref(hello);
    close(fd);
    free(h);
    return NULL;
}

/*
 * The epoll loop.  Its event data points at one of the three markers below
 * (the listening, signal and rendezvous sockets) or at a struct conn.
 */
static char mark_listen, mark_signal, mark_rendezvous;

enum conn_state {
    CONN_HELLO,                         /* waiting for a complete hello line */
    CONN_REQUEST,                       /* crr: reading the request */
    CONN_REPLY,                         /* crr: sending the echo */
};

/* A connection on the loop: before its hello, or a crr exchange. */
struct conn {
    int fd;                             /* blocking socket, owned; every call is MSG_DONTWAIT */
    enum conn_state state;
    uint32_t watched;                   /* epoll events registered, 0 = not in the epoll set */
    uint64_t deadline_ns;               /* monotonic: closed when still here then */
    char hbuf[TRAFFIC_HELLO_MAX];       /* the hello line as it comes, and what follows it */
    size_t hlen;                        /* bytes in hbuf */
    size_t size;                        /* crr: request and reply bytes */
    size_t done;                        /* crr: bytes received (REQUEST) or sent (REPLY) */
    char *buf;                          /* crr: size bytes, owned */
    struct conn *prev, *next;           /* the loop's list, in arrival (= deadline) order */
};

struct loop {
    int ep;                             /* epoll descriptor */
    struct conn *head, *tail;           /* connections on the loop, oldest first */
    pthread_attr_t attr;                /* of connection threads: detached, small stack */
};

/*
 * Unlinks and frees c.  With close_fd its socket is closed (which also takes
 * it out of the epoll set); without, it is only taken out of the set (the
 * socket goes on to a thread).
 */
static void
conn_close(struct loop *l, struct conn *c, int close_fd)
{
    if (close_fd)
        close(c->fd);                   /* also leaves the epoll set */
    else if (c->watched)
        epoll_ctl(l->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    free(c->buf);
    free(c);
}

/*
 * Registers c for events, edge-triggered (every read goes on until EAGAIN
 * or until c has what it waits for, and c then waits for nothing more on
 * that side); 0 or -1.
 */
static int
conn_watch(struct loop *l, struct conn *c, uint32_t events)
{
    struct epoll_event ev = { .events = events | EPOLLET, .data.ptr = c };

    if (c->watched == events)
        return 0;
    if (epoll_ctl(l->ep, c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) < 0)
        return -1;
    c->watched = events;
    return 0;
}

/*
 * Hands c's socket to a thread of its own (server_conn) with its hello
 * (reference taken) and the hl.. bytes of hbuf that followed the hello line;
 * frees c.
 */
static void
conn_handoff(struct loop *l, struct conn *c, json_t *hello, size_t hl, uint64_t read_ns)
{
    pthread_t tid;
    size_t extra = c->hlen - hl;
    struct handoff *h = malloc(sizeof *h + extra);

    if (!h) {
        json_decref(hello);
        conn_close(l, c, 1);
        return;
    }
    h->fd = c->fd;
    h->hello = hello;
    h->extra_ns = read_ns;
    h->extra_len = extra;
    memcpy(h->extra, c->hbuf + hl, extra);
    conn_close(l, c, 0);
    if (pthread_create(&tid, &l->attr, server_conn, h) != 0) {
        traffic_err("server: cannot start a connection thread");
        json_decref(h->hello);
        close(h->fd);
        free(h);
    }
}

/*
 * Reads what has come of c's hello.  When the line is complete: a crr hello
 * moves c on to CONN_REQUEST with the bytes that followed it (hello and
 * request come in one segment, so a crr connection usually costs one recv
 * here); any other hello goes with its socket to a thread (conn_handoff).
 * Returns 1 when c waits for more, 0 when it moved on to CONN_REQUEST, -1
 * when c must be closed (EOF, error, a line too long or not a hello), 2
 * when it was handed off (c is freed).
 */
static int
conn_hello(struct loop *l, struct conn *c)
{
    char *nl = NULL;
    size_t hl;
    json_t *hello;
    const char *t;
    json_int_t size;

    while (!nl) {
        size_t room = sizeof c->hbuf - 1 - c->hlen;
        ssize_t n;

        if (room == 0)
            return -1;                  /* no newline within TRAFFIC_HELLO_MAX - 1 bytes */
        n = recv(c->fd, c->hbuf + c->hlen, room, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        if (n <= 0)
            return -1;
        nl = memchr(c->hbuf + c->hlen, '\n', (size_t)n);
        c->hlen += (size_t)n;
    }
    hl = (size_t)(nl - c->hbuf) + 1;
    hello = json_loadb(c->hbuf, hl - 1, 0, NULL);
    t = json_string_value(json_object_get(hello, "t"));
    size = json_integer_value(json_object_get(hello, "size"));
    if (!t) {
        json_decref(hello);
        return -1;
    }
    if (strcmp(t, "crr") != 0) {
        conn_handoff(l, c, hello, hl, traffic_now_ns());
        return 2;
    }
    json_decref(hello);
    if (size < 1 || size > TRAFFIC_SIZE_MAX)
        return -1;
    c->size = (size_t)size;
    c->buf = malloc(c->size);
    if (!c->buf)
        return -1;
    c->done = c->hlen - hl < c->size ? c->hlen - hl : c->size;
    memcpy(c->buf, c->hbuf + hl, c->done);
    c->state = CONN_REQUEST;
    return 0;
}

/*
 * Moves c on as far as its socket allows without blocking: hello, crr
 * request, echo, close.  Leaves c watched for what it waits for, or gone
 * (closed, freed or handed to a thread).
 */
static void
conn_advance(struct loop *l, struct conn *c)
{
    ssize_t n;

    if (c->state == CONN_HELLO) {
        switch (conn_hello(l, c)) {
        case 1:
            if (conn_watch(l, c, EPOLLIN) < 0)
                conn_close(l, c, 1);
            return;
        case 2:
            return;
        case -1:
            conn_close(l, c, 1);
            return;
        }
    }
    while (c->state == CONN_REQUEST && c->done < c->size) {
        n = recv(c->fd, c->buf + c->done, c->size - c->done, MSG_DONTWAIT);
        if (n > 0) {
            c->done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (conn_watch(l, c, EPOLLIN) < 0)
                conn_close(l, c, 1);
            return;
        } else {
            conn_close(l, c, 1);        /* EOF or reset before the whole request */
            return;
        }
    }
    if (c->state == CONN_REQUEST) {
        c->state = CONN_REPLY;
        c->done = 0;
    }
    while (c->done < c->size) {
        n = send(c->fd, c->buf + c->done, c->size - c->done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            c->done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (conn_watch(l, c, EPOLLOUT) < 0)
                conn_close(l, c, 1);
            return;
        } else {
            break;
        }
    }
    conn_close(l, c, 1);                /* the server closes first: TIME_WAIT stays here */
}

/*
 * Accepts one connection and moves it on as far as it goes.  One per event:
 * the listening socket is level-triggered, so epoll_wait reports it again at
 * once while connections wait, and a second accept4 would mostly return
 * EAGAIN (one system call per crr connection for nothing).
 */
static void
loop_accept(struct loop *l, int lfd)
{
    int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    struct conn *c;

    if (cfd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            traffic_err("server: accept: %s", strerror(errno));
            usleep(100 * 1000);         /* let connections finish and free descriptors */
        }
        return;                         /* EAGAIN, ECONNABORTED, EINTR, ...: the next event */
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        close(cfd);
        return;
    }
    c->fd = cfd;
    c->state = CONN_HELLO;
    c->deadline_ns = traffic_now_ns() + (uint64_t)TRAFFIC_REPLY_TIMEOUT_S * 1000000000ull;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    /* The client sends its hello right after connect(): it is often here already. */
    conn_advance(l, c);
}

/* Closes the connections past their deadline; returns epoll_wait's timeout in ms. */
static int
loop_expire(struct loop *l)
{
    uint64_t now = traffic_now_ns();

    while (l->head && l->head->deadline_ns <= now)
        conn_close(l, l->head, 1);
    if (!l->head)
        return -1;
    return (int)((l->head->deadline_ns - now) / 1000000ull) + 1;
}

int
traffic_server_run(const struct traffic_server_opts *opts)
{
    sigset_t mask;
    struct loop l = { .ep = -1 };
    struct epoll_event evs[SERVER_EVENTS];
    int lfd, sfd = -1, rfd = -1, rc = TRAFFIC_EXIT_RUNTIME, attr_made = 0;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        traffic_err("server: signalfd: %s", strerror(errno));
        return TRAFFIC_EXIT_RUNTIME;
    }
    lfd = server_listen(opts->bind, opts->port);
    if (lfd < 0) {
        close(sfd);
        return TRAFFIC_EXIT_RUNTIME;
    }
    rfd = server_rendezvous(lfd);
    if (rfd < 0)
        goto out;
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event el = { .events = EPOLLIN, .data.ptr = &mark_listen };
    struct epoll_event es = { .events = EPOLLIN, .data.ptr = &mark_signal };
    struct epoll_event er = { .events = EPOLLIN, .data.ptr = &mark_rendezvous };
    if (l.ep < 0 || fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) < 0
        || epoll_ctl(l.ep, EPOLL_CTL_ADD, lfd, &el) < 0
        || epoll_ctl(l.ep, EPOLL_CTL_ADD, sfd, &es) < 0
        || epoll_ctl(l.ep, EPOLL_CTL_ADD, rfd, &er) < 0) {
        traffic_err("server: epoll: %s", strerror(errno));
        goto out;
    }
    if (server_announce(lfd) < 0)
        goto out;
    atomic_store(&rdv_next, traffic_now_ns() ^ ((uint64_t)getpid() << 32));

    pthread_attr_init(&l.attr);
    attr_made = 1;
    pthread_attr_setdetachstate(&l.attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&l.attr, SERVER_THREAD_STACK);
    for (;;) {
        int n = epoll_wait(l.ep, evs, SERVER_EVENTS, loop_expire(&l));

        if (n < 0) {
            if (errno == EINTR)
                continue;
            traffic_err("server: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &mark_signal) {
                rc = TRAFFIC_EXIT_OK;   /* SIGTERM or SIGINT: leave quietly */
                goto out;
            }
            if (p == &mark_rendezvous)
                rendezvous_read(rfd);
            else if (p == &mark_listen)
                loop_accept(&l, lfd);
            else
                conn_advance(&l, p);
        }
    }
out:
    while (l.head)
        conn_close(&l, l.head, 1);
    if (attr_made)
        pthread_attr_destroy(&l.attr);
    if (l.ep >= 0)
        close(l.ep);
    if (rfd >= 0)
        close(rfd);
    close(lfd);
    close(sfd);
    fflush(stdout);
    return rc;
}
