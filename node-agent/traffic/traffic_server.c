/*
 * traffic_server.c — the server side of cntb-traffic.
 *
 * The main thread blocks SIGTERM/SIGINT (so every connection thread inherits
 * the mask), binds, listens, prints the listening line, then polls the
 * listening socket and a signalfd.  Each accepted connection gets a detached
 * thread that reads until EOF, notes the monotonic time of the first byte and
 * of EOF, writes {"bytes":N,"elapsed_ns":NS}\n and closes.  A signal makes
 * the main thread exit 0 without waiting for connections in progress.
 * SIGPIPE is ignored and every send uses MSG_NOSIGNAL, so a peer that leaves
 * early costs only its own connection.
 */
#include "traffic.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define SERVER_RECV_BUF (256 * 1024)   /* bytes read per recv() */
#define SERVER_THREAD_STACK (256 * 1024)

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
    if (listen(fd, 128) < 0) {
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

/* Sends all of buf (MSG_NOSIGNAL); returns 0 or -1 when the peer is gone. */
static int
server_send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One connection: count to EOF, reply, close.  arg is the fd, owned here. */
static void *
server_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(SERVER_RECV_BUF);
    uint64_t bytes = 0, first_ns = 0, eof_ns = 0;
    char reply[96];
    int len;

    if (!buf)
        goto out;
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
        goto out;                       /* reset by the peer: no one to answer */
    }
    /* A fixed two-field line: snprintf is the simplest correct encoder here. */
    len = snprintf(reply, sizeof reply, "{\"bytes\":%llu,\"elapsed_ns\":%llu}\n",
                   (unsigned long long)bytes,
                   (unsigned long long)(bytes ? eof_ns - first_ns : 0));
    (void)server_send_all(fd, reply, (size_t)len);
out:
    free(buf);
    close(fd);
    return NULL;
}

int
traffic_server_run(const struct traffic_server_opts *opts)
{
    sigset_t mask;
    pthread_attr_t attr;
    struct pollfd pfd[2];
    int lfd, sfd = -1, rc = TRAFFIC_EXIT_RUNTIME;

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
    if (server_announce(lfd) < 0)
        goto out;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, SERVER_THREAD_STACK);
    pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
    pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
    for (;;) {
        pthread_t tid;
        int cfd;

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            traffic_err("server: poll: %s", strerror(errno));
            break;
        }
        if (pfd[1].revents) {
            rc = TRAFFIC_EXIT_OK;       /* SIGTERM or SIGINT: leave quietly */
            break;
        }
        if (!(pfd[0].revents & POLLIN))
            continue;
        cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                traffic_err("server: accept: %s", strerror(errno));
                usleep(100 * 1000);     /* let connections finish and free descriptors */
            }
            continue;                   /* ECONNABORTED, EINTR, ...: the next one */
        }
        if (pthread_create(&tid, &attr, server_conn, (void *)(intptr_t)cfd) != 0) {
            traffic_err("server: cannot start a connection thread");
            close(cfd);
        }
    }
    pthread_attr_destroy(&attr);
out:
    close(lfd);
    close(sfd);
    fflush(stdout);
    return rc;
}
