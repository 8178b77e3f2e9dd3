/*
 * agent_sim.c — N simulated agents in one process (agent_sim.h).
 *
 * Each simulated agent is its own ZeroMQ DEALER socket with identity simI
 * (and its own CURVE certificate DIR/simI.cert when a certificate directory
 * is given, agent_auth.h), so the controller sees N distinct hosts, each
 * with its own connection, exactly as it would see N machines.  One czmq
 * zloop polls all sockets; a 1 s timer sends each agent's HEARTBEAT (or
 * HELLO while not welcomed, or when the controller has been silent 5 s, as
 * agent.c does) and re-sends RESULTs not yet acknowledged.
 *
 * The steps are no-ops: the agent announces only the network `noop`
 * (docs/networks.md), builds nothing, starts no process, and answers every
 * step at once.  A client START is answered with START_OK and a synthetic
 * RESULT: throughput_bps 1e9 bit/s, retransmits 0, duration_s as asked,
 * flagged "simulated": true in applied{} so no one mistakes it for a
 * measurement.  What this exercises is the controller's side: scheduling,
 * state machine, store and heartbeats, per run and per agent.
 */
#include "agent_sim.h"
#include "agent_auth.h"
#include "agent_traffic.h"
#include "log.h"
#include "proto.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SIM_TICK_MS 1000        /* heartbeat period (the controller's is 1000 ms too) */
#define SIM_SILENCE_MS 5000     /* controller silent this long: HELLO again (agent.c) */
#define SIM_RESEND_MS 2000      /* unacknowledged RESULT re-sent this often (agent.c) */

typedef struct {
    char host[16];              /* "simI" */
    zsock_t *sock;              /* owned */
    bool welcomed;
    int64_t last_heard_ms;
    json_t *result;             /* RESULT body until acknowledged (owned), NULL = none */
    int64_t result_run;
    int64_t result_sent_ms;
} sim_t;

static json_t *caps_cached;

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The capabilities every simulated agent announces (shared, cached). */
static json_t *
sim_capabilities(void)
{
    if (!caps_cached)
        caps_cached = json_pack("{s:{s:[s,s]}, s:{}, s:o}", "networks", "noop", "same-host",
                                "cross-host", "unavailable", "traffic", agent_traffic_kinds());
    return json_incref(caps_cached);
}

static void
sim_hello(sim_t *s)
{
    json_t *b = json_pack("{s:i, s:s, s:s, s:o, s:{s:i, s:b}}", "proto", PROTO_VERSION, "host",
                          s->host, "kind", "bare-metal", "capabilities", sim_capabilities(),
                          "meta", "pid", (int) getpid(), "simulated", 1);
    proto_send(s->sock, NULL, MSG_HELLO, b);
}

static void
sim_send_result(sim_t *s)
{
    proto_send(s->sock, NULL, MSG_RESULT, json_incref(s->result));
    s->result_sent_ms = now_ms();
}

/* One message for simulated agent s: answers it at once. */
static int
sim_on_message(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    sim_t *s = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg)
        return 0;
    msg_type_t type;
    json_t *b = NULL;
    char err[PROTO_ERR_MAX];
    if (proto_decode(&msg, false, NULL, &type, &b, err) != 0) {
        log_warn("%s: bad message from controller: %s", s->host, err);
        return 0;
    }
    if (type != MSG_ERROR)
        s->last_heard_ms = now_ms();
    json_int_t run = json_integer_value(json_object_get(b, "run"));
    switch (type) {
    case MSG_WELCOME:
        s->welcomed = true;
        if (s->result)
            sim_send_result(s);
        break;
    case MSG_HEARTBEAT: break;
    case MSG_SETUP:
        proto_send(s->sock, NULL, MSG_SETUP_OK,
                   json_pack("{s:I, s:s, s:i, s:f}", "run", run, "server_addr", "198.18.0.1",
                             "mtu", 1500, "setup_ms", 0.0));
        break;
    case MSG_START: {
        const char *role = json_string_value(json_object_get(b, "role")) ?: "";
        proto_send(s->sock, NULL, MSG_START_OK, json_pack("{s:I, s:s}", "run", run, "role", role));
        if (strcmp(role, "client") == 0) {
            json_t *p = json_object_get(b, "params");
            double d = json_number_value(json_object_get(p, "duration_s"));
            json_decref(s->result);
            s->result = json_pack("{s:I, s:i, s:s, s:{s:{s:f, s:f, s:f}, s:[], s:{s:b}}}",
                                  "run", run, "seq", 1, "role", "client", "result", "metrics",
                                  "throughput_bps", 1e9, "retransmits", 0.0, "duration_s", d,
                                  "samples", "applied", "simulated", 1);
            s->result_run = run;
            sim_send_result(s);
        }
        break;
    }
    case MSG_RESULT_ACK:
        if (s->result && run == s->result_run) {
            json_decref(s->result);
            s->result = NULL;
        }
        break;
    case MSG_TEARDOWN:
        proto_send(s->sock, NULL, MSG_TEARDOWN_OK, json_pack("{s:I, s:s}", "run", run, "leaks", ""));
        break;
    case MSG_ERROR: {
        const char *stage = json_string_value(json_object_get(b, "stage"));
        if (stage && strcmp(stage, "hello") == 0 && s->welcomed) {
            s->welcomed = false;
            sim_hello(s);
        }
        break;
    }
    default:
        proto_send(s->sock, NULL, MSG_ERROR,
                   json_pack("{s:s, s:s}", "message", "not a message a simulated agent accepts",
                             "stage", "protocol"));
    }
    json_decref(b);
    return 0;
}

static int
sim_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    sim_t *sims = arg;
    int64_t now = now_ms();
    for (sim_t *s = sims; s->sock; s++) {
        if (!s->welcomed || now - s->last_heard_ms > SIM_SILENCE_MS) {
            s->welcomed = false;
            s->last_heard_ms = now;
            sim_hello(s);
            continue;
        }
        proto_send(s->sock, NULL, MSG_HEARTBEAT, NULL);
        if (s->result && now - s->result_sent_ms >= SIM_RESEND_MS)
            sim_send_result(s);
    }
    return 0;
}

int
agent_sim_run(const agent_sim_config_t *cfg)
{
    int ret = -1;
    zloop_t *loop = NULL;
    sim_t *sims = NULL;
    if (cfg->count < 1 || cfg->count > AGENT_SIM_MAX) {
        log_error("--simulate: must be 1..%d", AGENT_SIM_MAX);
        return -1;
    }
    /* Each socket holds a few descriptors (its TCP connection, its mailbox):
     * raise the soft limit to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    zsys_set_max_sockets(0); /* ZMQ's default of 1023 sockets would cap N */
    sims = calloc((size_t) cfg->count + 1, sizeof *sims); /* NULL sock ends the array */
    loop = zloop_new();
    if (!sims || !loop) {
        log_error("out of memory");
        goto out;
    }
    for (int i = 0; i < cfg->count; i++) {
        sim_t *s = &sims[i];
        snprintf(s->host, sizeof s->host, "sim%d", i + 1);
        s->sock = zsock_new(ZMQ_DEALER);
        if (!s->sock) {
            log_error("%s: cannot create a socket: %s", s->host, zmq_strerror(zmq_errno()));
            goto out;
        }
        zsock_set_identity(s->sock, s->host);
        zsock_set_linger(s->sock, 0);
        zsock_set_reconnect_ivl(s->sock, 200);
        zsock_set_reconnect_ivl_max(s->sock, 2000);
        if (cfg->cert_dir) {
            char cert[4096], err[512];
            snprintf(cert, sizeof cert, "%s/%s.cert", cfg->cert_dir, s->host);
            if (agent_auth_apply(s->sock, cert, cfg->controller_cert_path, err, sizeof err) != 0) {
                log_error("%s: %s", s->host, err);
                goto out;
            }
        }
        if (zsock_connect(s->sock, "%s", cfg->endpoint) != 0) {
            log_error("%s: cannot connect to %s", s->host, cfg->endpoint);
            goto out;
        }
        zloop_reader(loop, s->sock, sim_on_message, s);
        s->last_heard_ms = now_ms();
        sim_hello(s);
    }
    zloop_timer(loop, SIM_TICK_MS, 0, sim_on_tick, sims);
    log_info("%d simulated agents connecting to %s", cfg->count, cfg->endpoint);
    zloop_start(loop);
    ret = 0;
out:
    zloop_destroy(&loop);
    for (int i = 0; sims && i < cfg->count; i++) {
        zsock_destroy(&sims[i].sock);
        json_decref(sims[i].result);
    }
    free(sims);
    json_decref(caps_cached);
    caps_cached = NULL;
    return ret;
}
