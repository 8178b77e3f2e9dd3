/*
 * agent_probe.c — the reachability probe that ends setup_ms: a TCP connect
 * from inside each client container to its server's address on a port
 * nobody listens on (discard, 9), which an RST (ECONNREFUSED) or an accept
 * answers only once links, addresses and neighbours work end to end.
 * Repeated until it answers or AGENT_PROBE_MS pass, with a keepalive
 * HEARTBEAT between attempts so that the controller does not count the
 * agent as gone meanwhile.
 */
#include "agent_int.h"

#include "nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * One reachability attempt from namespace ns to addr:AGENT_PROBE_PORT,
 * waiting up to wait_ms: 1 when the server's stack answered (connected, or
 * refused by an RST), 0 when not yet (timeout, no route, unreachable), -1
 * when no socket could be made (err).
 */
static int
probe_once(const char *ns, const char *addr, int wait_ms, char *err)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(AGENT_PROBE_PORT) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(err, NL_ERR_MAX, "probe: %s is not an IPv4 address", addr);
        return -1;
    }
    int fd = netns_socket(ns, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, err);
    if (fd < 0)
        return -1;
    int ret = 0;
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
        ret = 1;
    } else if (errno == ECONNREFUSED) {
        ret = 1;
    } else if (errno == EINPROGRESS) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        if (poll(&pfd, 1, wait_ms) == 1) {
            int e = 0;
            socklen_t l = sizeof e;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
            ret = (e == 0 || e == ECONNREFUSED) ? 1 : 0;
            if (!ret)
                usleep(20000); /* an ICMP error came back at once: do not spin */
        }
    } else {
        usleep(20000);
    }
    close(fd);
    return ret;
}

/* Waits until every pair's client container reaches its server (see the top). 0 or -1 with err. */
int
agent_probe_pairs(agent_run_t *r, int64_t deadline_ms, char *err, size_t errlen)
{
    char e[NL_ERR_MAX];
    for (int i = 0; i < r->npairs; i++) {
        const netkind_pair_t *p = &r->ctx.pair[i];
        /* The inter-host kinds (nat, overlay, routing) give the client's host no
         * server address before START: they wait for their own convergence
         * (convergence_ms), and setup_ms is this host's build time. */
        if (!p->server_addr[0])
            continue;
        for (;;) {
            int64_t left = deadline_ms - agent_now_ms();
            /* A probe that never answers lasts AGENT_PROBE_MS, as long as the
             * controller's CTL_AGENT_SILENCE_MS: without a beat the run would
             * fail as "agent lost" instead of with the reason below. */
            if (r->ctx.keepalive)
                r->ctx.keepalive(r->ctx.keepalive_arg);
            int rc = probe_once(p->client_netns, p->server_addr, left > 200 ? 200 : (int) left, e);
            if (rc < 0) {
                snprintf(err, errlen, "pair %d: %s", i, e);
                return -1;
            }
            if (rc == 1)
                break;
            if (agent_now_ms() >= deadline_ms) {
                snprintf(err, errlen,
                         "pair %d: client container %s cannot reach server address %s within "
                         "%d ms",
                         i, p->client_netns[0] ? p->client_netns : "(host)", p->server_addr,
                         AGENT_PROBE_MS);
                return -1;
            }
        }
    }
    return 0;
}
