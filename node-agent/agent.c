/*
 * agent.c — the node agent's event loop.
 *
 * One czmq zloop: the DEALER socket to the controller, a 1 s timer
 * (heartbeat, HELLO again when the controller has been silent, RESULT
 * re-sends, nested VMs that exited), and a 20 ms timer draining the pipes of
 * cntb-traffic processes (agent_proc.c).  Steps are idempotent per run id
 * (see agent.h).
 *
 * A run has `pairs` client/server pairs (1..64): pair i's server listens on
 * port + i in its own container; one START server starts all servers and is
 * answered once all listen; one START client starts all clients, and when
 * the last one ends the agent sends ONE RESULT whose metrics are the pairs'
 * sums (throughput, retransmits, transactions) or means (everything else)
 * and which lists every pair's own metrics under "pairs" (agent_result.h).
 *
 * setup_ms runs from SETUP received until every client container reaches
 * its server's address (agent_probe.c).
 *
 * A host agent also starts and stops nested VMs on VM_START / VM_STOP
 * (agent_vm.c, vm.h).
 *
 * agent_int.h declares what these files share.
 */
#include "agent_int.h"
#include "agent_auth.h"
#include "agent_clean.h"
#include "agent_meta.h"
#include "agent_traffic.h"
#include "log.h"
#include "nl.h"
#include "param.h"
#include "proto.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t
agent_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static agent_run_t *
run_find(agent_t *self, int64_t run, bool create)
{
    for (int i = 0; i < AGENT_RUNS_MAX; i++)
        if (self->runs[i].used && self->runs[i].run == run)
            return &self->runs[i];
    if (!create)
        return NULL;
    for (int i = 0; i < AGENT_RUNS_MAX; i++)
        if (!self->runs[i].used) {
            agent_run_t *r = &self->runs[i];
            memset(r, 0, sizeof *r);
            r->used = true;
            r->run = run;
            r->npairs = 1;
            for (int k = 0; k < NETKIND_PAIRS_MAX; k++) {
                agent_proc_init(&r->server[k]);
                agent_proc_init(&r->client[k]);
                r->cpu_server[k] = r->cpu_client[k] = -1;
            }
            return r;
        }
    return NULL;
}

void
agent_send_error(agent_t *self, int64_t run, const char *stage, const char *message)
{
    log_warn("run %" PRId64 " %s: %s", run, stage, message);
    json_t *b = json_pack("{s:s, s:s}", "message", message, "stage", stage);
    if (run > 0)
        json_object_set_new(b, "run", json_integer(run));
    proto_send(self->sock, NULL, MSG_ERROR, b);
}

/* Capabilities are probed once (links are created and deleted) and kept. */
static json_t *
capabilities(void)
{
    static json_t *cached;
    if (cached)
        return json_incref(cached);
    json_t *networks = json_object(), *unavailable = json_object();
    for (const netkind_t *const *k = netkind_all(); *k; k++) {
        char reason[256] = "";
        if ((*k)->capability(reason, sizeof reason) == 1) {
            json_t *pl = json_array();
            if ((*k)->supports("same-host"))
                json_array_append_new(pl, json_string("same-host"));
            if ((*k)->supports("cross-host"))
                json_array_append_new(pl, json_string("cross-host"));
            json_object_set_new(networks, (*k)->name, pl);
        } else {
            json_object_set_new(unavailable, (*k)->name, json_string(reason));
        }
    }
    cached = json_pack("{s:o, s:o, s:o}", "networks", networks, "unavailable", unavailable,
                       "traffic", agent_traffic_kinds());
    return json_incref(cached);
}

static void
send_hello(agent_t *self)
{
    json_t *meta = agent_meta_snapshot(self->cfg->underlay_if) ?: json_object();
    json_object_set_new(meta, "pid", json_integer((int) getpid())); /* cntb deploy waits for this agent */
    json_t *vm = agent_vm_self_info(self);
    if (vm)
        json_object_set(meta, "vm", vm);
    json_t *b = json_pack("{s:i, s:s, s:s, s:o, s:o}", "proto", PROTO_VERSION, "host",
                          self->cfg->host, "kind", self->cfg->kind, "capabilities",
                          capabilities(), "meta", meta);
    if (self->cfg->parent && self->cfg->parent[0])
        json_object_set_new(b, "parent", json_string(self->cfg->parent));
    json_decref(vm);
    proto_send(self->sock, NULL, MSG_HELLO, b);
}

void
agent_send_result(agent_t *self, agent_run_t *r)
{
    if (!r->result)
        return;
    proto_send(self->sock, NULL, MSG_RESULT, json_incref(r->result));
    r->result_sent_ms = agent_now_ms();
}

/* At most one keepalive HEARTBEAT per this many ms: a third of the controller's
 * CTL_AGENT_SILENCE_MS (3 s) at most, so that one late beat does not lose it. */
#define AGENT_KEEPALIVE_MS 500

/* netkind_ctx_t.keepalive: a HEARTBEAT while a setup waits for other hosts,
 * and while the agent starts or stops many traffic processes one after the
 * other (64 pairs x 128 streams: each fork, cgroup move and exec competes
 * with the connections already open, seconds in all),
 * so that the controller does not count this agent as gone (it does after
 * CTL_AGENT_SILENCE_MS); the controller's own heartbeats queue meanwhile and
 * are read after the setup, so its silence is not held against it either. */
static void
setup_keepalive(void *arg)
{
    agent_t *self = arg;
    int64_t now = agent_now_ms();
    static int64_t last;
    if (now - last < AGENT_KEEPALIVE_MS)
        return;
    last = now;
    proto_send(self->sock, NULL, MSG_HEARTBEAT, NULL);
    self->last_heard_ms = now;
}

/* Fills the inter-host inputs of c from a SETUP body b. */
static void
setup_interhost(agent_t *self, netkind_ctx_t *c, json_t *b)
{
    snprintf(c->host, sizeof c->host, "%s", self->cfg->host);
    c->port = (int) json_integer_value(json_object_get(b, "port"));
    c->mtu_override = (int) json_integer_value(json_object_get(json_object_get(b, "params"), "mtu"));
    snprintf(c->kv_kind, sizeof c->kv_kind, "%s", self->kv_kind);
    snprintf(c->kv_endpoint, sizeof c->kv_endpoint, "%s", self->kv_endpoint);
    json_t *bgp = json_object_get(b, "bgp");
    c->bgp_asn = (int) json_integer_value(json_object_get(bgp, "asn"));
    snprintf(c->bgp_router_id, sizeof c->bgp_router_id, "%s",
             json_string_value(json_object_get(bgp, "router_id")) ?: "");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(bgp, "peers"), i, p) {
        if (c->npeers >= (int) (sizeof c->peers / sizeof c->peers[0]))
            break;
        const char *addr = json_string_value(json_object_get(p, "addr"));
        if (!addr)
            continue;
        snprintf(c->peers[c->npeers].addr, sizeof c->peers[0].addr, "%s", addr);
        c->peers[c->npeers].asn = (int) json_integer_value(json_object_get(p, "asn"));
        c->npeers++;
    }
    c->keepalive = setup_keepalive;
    c->keepalive_arg = self;
}

static void
send_setup_ok(agent_t *self, agent_run_t *r)
{
    json_t *ok = json_pack("{s:I, s:i, s:f}", "run", (json_int_t) r->run, "mtu", r->ctx.mtu,
                           "setup_ms", r->setup_ms);
    if (r->ctx.has_server && r->ctx.pair[0].server_addr[0])
        json_object_set_new(ok, "server_addr", json_string(r->ctx.pair[0].server_addr));
    if (proto_send(self->sock, NULL, MSG_SETUP_OK, ok) != 0) /* never leave the barrier waiting */
        agent_send_error(self, r->run, "setup",
                         "SETUP_OK could not be encoded (see the agent's log)");
}

/*
 * Reads the run's network parameters from SETUP's params into c, each
 * checked against its row of proto/param.c; absent ones take the row's
 * default.  0, or -1 with a reason (out of range).
 */
static int
setup_params(netkind_ctx_t *c, const json_t *params, char *err, size_t len)
{
    static const char *const ints[] = { "pairs", "mtu" };
    json_t *v;
    int val[2];

    for (int i = 0; i < 2; i++) {
        const param_t *p = param_find(ints[i]);

        val[i] = (int) p->def_int;
        if ((v = json_object_get(params, ints[i])) == NULL)
            continue;
        if (!json_is_integer(v) || !param_num_ok(p, (double) json_integer_value(v))) {
            snprintf(err, len, "params.%s must be an integer %lld..%lld", p->name, p->min, p->max);
            return -1;
        }
        val[i] = (int) json_integer_value(v);
    }
    c->pairs = val[0];
    c->mtu_req = val[1];
    const char *m = json_string_value(json_object_get(params, "macvlan_mode"));
    snprintf(c->macvlan_mode, sizeof c->macvlan_mode, "%s", m ? m : param_default_str("macvlan_mode"));
    m = json_string_value(json_object_get(params, "ipvlan_mode"));
    snprintf(c->ipvlan_mode, sizeof c->ipvlan_mode, "%s", m ? m : param_default_str("ipvlan_mode"));
    return 0;
}

/* Core of each traffic process when pinning: client i on 2i, server i on 2i+1, modulo the cores we may use. */
static void
plan_cpus(agent_run_t *r, bool pin)
{
    cpu_set_t set;
    int allowed[CPU_SETSIZE], n = 0;
    if (pin && sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set))
                allowed[n++] = c;
    for (int i = 0; i < r->npairs; i++) {
        r->cpu_client[i] = n ? allowed[(2 * i) % n] : -1;
        r->cpu_server[i] = n ? allowed[(2 * i + 1) % n] : -1;
    }
}

static void
handle_setup(agent_t *self, json_t *b)
{
    int64_t t0 = agent_now_ms();
    int64_t run = json_integer_value(json_object_get(b, "run"));
    const char *network = json_string_value(json_object_get(b, "network"));
    const char *placement = json_string_value(json_object_get(b, "placement"));
    const char *peer = json_string_value(json_object_get(b, "peer_addr"));
    json_t *params = json_object_get(b, "params");
    agent_run_t *r = run_find(self, run, false);
    if (r && r->built) { /* a repeated SETUP: answer again */
        send_setup_ok(self, r);
        return;
    }
    const netkind_t *kind = netkind_find(network);
    if (!kind) {
        agent_send_error(self, run, "setup", "unknown network");
        return;
    }
    if (strcmp(placement, "same-host") != 0 && strcmp(placement, "cross-host") != 0) {
        agent_send_error(self, run, "setup", "unknown placement");
        return;
    }
    if (!kind->supports(placement)) {
        agent_send_error(self, run, "skip", "network does not support this placement");
        return;
    }
    netkind_ctx_t c;
    memset(&c, 0, sizeof c);
    c.run = run;
    snprintf(c.testbed, sizeof c.testbed, "%s", self->testbed);
    snprintf(c.placement, sizeof c.placement, "%s", placement);
    c.has_client = json_is_true(json_object_get(b, "client"));
    c.has_server = json_is_true(json_object_get(b, "server"));
    snprintf(c.underlay_if, sizeof c.underlay_if, "%s", self->cfg->underlay_if);
    snprintf(c.underlay_addr, sizeof c.underlay_addr, "%s", self->cfg->underlay_addr);
    c.underlay_routed = strcmp(self->cfg->kind, "vm") == 0;
    if (peer)
        snprintf(c.peer_addr, sizeof c.peer_addr, "%s", peer);
    setup_interhost(self, &c, b);
    char err[NETKIND_ERR_MAX] = "";
    if (setup_params(&c, params, err, sizeof err) != 0) {
        agent_send_error(self, run, "setup", err);
        return;
    }
    if (c.underlay_if[0]) {
        char nlerr[NL_ERR_MAX];
        int mtu = nl_link_mtu(NULL, c.underlay_if, nlerr);
        c.underlay_mtu = mtu > 0 ? mtu : 0;
    }
    if (kind->refuse && kind->refuse(&c, err, sizeof err) == 1) {
        agent_send_error(self, run, "skip", err);
        return;
    }
    if (!r)
        r = run_find(self, run, true);
    if (!r) {
        agent_send_error(self, run, "setup", "too many runs in flight on this host");
        return;
    }
    if (agent_clean_journal_add(self->cfg->state_dir, run, c.has_client, c.has_server) != 0)
        log_warn("run %" PRId64 ": journal %s: %s", run, self->cfg->state_dir, strerror(errno));
    r->kind = kind;
    r->ctx = c;
    r->npairs = c.pairs;
    plan_cpus(r, json_is_true(json_object_get(params, "cpu_pinning")));
    if (kind->setup(&r->ctx, err) != 0) {
        char e2[NETKIND_ERR_MAX];
        kind->teardown(&r->ctx, e2);
        agent_send_error(self, run, "setup", err[0] ? err : "setup failed");
        return;
    }
    /* CASES.md case 1: a datagram larger than the path's MTU - 28 would fragment.
     * The path MTU is known now; such a run is skipped with the reason unless
     * the matrix allows fragments (then the result is flagged fragmented). */
    if (r->ctx.has_client) {
        int udp = agent_traffic_check_udp(params, r->ctx.mtu, err, sizeof err);
        if (udp != 0) {
            agent_send_error(self, run, udp > 0 ? "skip" : "setup", err);
            return;
        }
    }
    if (r->ctx.has_client && agent_probe_pairs(r, t0 + AGENT_PROBE_MS, err, sizeof err) != 0) {
        agent_send_error(self, run, "setup", err);
        return;
    }
    r->setup_ms = (double) (agent_now_ms() - t0);
    r->built = true;
    log_info("run %" PRId64 ": %s %s, %d pair(s), set up in %.0f ms (client %d, server %d)", run,
             network, placement, r->npairs, r->setup_ms, r->ctx.has_client, r->ctx.has_server);
    send_setup_ok(self, r);
}

static void
handle_start(agent_t *self, json_t *b)
{
    int64_t run = json_integer_value(json_object_get(b, "run"));
    const char *role = json_string_value(json_object_get(b, "role"));
    int port = (int) json_integer_value(json_object_get(b, "port"));
    const char *server_addr = json_string_value(json_object_get(b, "server_addr"));
    json_t *params = json_object_get(b, "params");
    agent_run_t *r = run_find(self, run, false);
    if (!r || !r->built) {
        agent_send_error(self, run, "start", "START for a run that is not set up");
        return;
    }
    if (port <= 0)
        port = 5300;
    if (port + r->npairs - 1 > 65535) {
        agent_send_error(self, run, "start", "port + pairs exceeds 65535");
        return;
    }
    const char *tp = self->cfg->traffic_path;
    char err[256];
    if (strcmp(role, "server") == 0) {
        if (!r->ctx.has_server) {
            agent_send_error(self, run, "start", "this host holds no server for the run");
            return;
        }
        if (r->server[0].pid > 0 || r->server_ready) {
            if (r->server_ready)
                proto_send(self->sock, NULL, MSG_START_OK,
                           json_pack("{s:I, s:s}", "run", (json_int_t) run, "role", "server"));
            return;
        }
        for (int i = 0; i < r->npairs; i++) {
            const netkind_pair_t *p = &r->ctx.pair[i];
            /* nat: the server binds its container address; clients connect to
             * the published port on the host's underlay address. */
            const char *bind = (i == 0 && r->ctx.server_bind[0]) ? r->ctx.server_bind
                               : p->server_addr[0]                ? p->server_addr
                                                                  : "0.0.0.0";
            char **argv = agent_traffic_argv(tp, "server", params, bind, port + i, r->ctx.mtu,
                                             err, sizeof err);
            if (!argv) {
                agent_send_error(self, run, "start", err);
                return;
            }
            setup_keepalive(self);
            char role[64];
            netkind_pair_role(role, "server", i);
            int rc = agent_proc_start(self, r, role, &r->server[i], p->server_netns,
                                      r->cpu_server[i], argv, err, sizeof err);
            agent_traffic_argv_free(&argv);
            if (rc != 0) {
                agent_send_error(self, run, "start", err);
                return;
            }
        }
        return;
    }
    if (strcmp(role, "client") != 0) {
        agent_send_error(self, run, "start", "role must be server or client");
        return;
    }
    if (!r->ctx.has_client || !server_addr) {
        agent_send_error(self, run, "start",
                         "this host holds no client for the run, or no server_addr");
        return;
    }
    if (r->client[0].pid > 0 || r->clients_done > 0 || r->result) {
        agent_send_result(self, r); /* repeated START: the result will come or came */
        return;
    }
    for (int i = 0; i < r->npairs; i++) {
        const netkind_pair_t *p = &r->ctx.pair[i];
        /* Pair 0 may follow the controller's word; the others' addresses
         * are the plan's, which both hosts share. */
        const char *to = p->server_addr[0] ? p->server_addr : server_addr;
        char **argv = agent_traffic_argv(tp, "client", params, to, port + i, r->ctx.mtu,
                                             err, sizeof err);
        if (!argv) {
            agent_send_error(self, run, "start", err);
            return;
        }
        setup_keepalive(self);
        char role[64];
        netkind_pair_role(role, "client", i);
        int rc = agent_proc_start(self, r, role, &r->client[i], p->client_netns,
                                  r->cpu_client[i], argv, err, sizeof err);
        agent_traffic_argv_free(&argv);
        if (rc != 0) {
            agent_send_error(self, run, "client", err);
            return;
        }
    }
    log_info("run %" PRId64 ": %d client(s) started towards %s:%d", run, r->npairs, server_addr,
             port);
    proto_send(self->sock, NULL, MSG_START_OK,
               json_pack("{s:I, s:s}", "run", (json_int_t) run, "role", "client"));
}

/* Stops processes, tears the network down, checks for leaks.  Fills leaks. */
static void
run_teardown(agent_t *self, agent_run_t *r, char *leaks, size_t len)
{
    for (int i = 0; i < NETKIND_PAIRS_MAX; i++) {
        setup_keepalive(self); /* up to 2 s per process that ignores SIGTERM */
        if (r->client[i].pid > 0 || r->client[i].out_fd >= 0)
            agent_proc_stop(&r->client[i]);
        if (r->server[i].pid > 0 || r->server[i].out_fd >= 0)
            agent_proc_stop(&r->server[i]);
        json_decref(r->pres[i]);
        r->pres[i] = NULL;
    }
    char err[NETKIND_ERR_MAX] = "";
    if (r->kind && r->kind->teardown(&r->ctx, err) != 0)
        log_warn("run %" PRId64 ": teardown: %s", r->run, err);
    leaks[0] = '\0';
    bool cross = strcmp(r->ctx.placement, "cross-host") == 0;
    netkind_leaks_held(self->testbed, r->run, !cross || r->ctx.has_client,
                       !cross || r->ctx.has_server, leaks, len);
    /* The containers' cgroups, once their processes are gone (agent_proc_stop reaped them). */
    for (int s = 0; s < 2 && self->cg.version > 0; s++) {
        char prefix[96], cgerr[AGENT_CGROUP_ERR_MAX];
        if (!(s == 0 ? r->ctx.has_client : r->ctx.has_server))
            continue;
        snprintf(prefix, sizeof prefix, "cntb-%s-%" PRId64 "-%s", self->testbed, r->run,
                 s == 0 ? "client" : "server");
        if (agent_cgroup_remove_prefix(&self->cg, prefix, 2000, NULL, 0, cgerr, sizeof cgerr) < 0) {
            size_t used = strlen(leaks);
            snprintf(leaks + used, len - used, "%s%s", used ? ", " : "", cgerr);
        }
    }
    if (leaks[0])
        log_warn("run %" PRId64 ": left behind: %s", r->run, leaks);
}

static void
handle_teardown(agent_t *self, json_t *b)
{
    int64_t run = json_integer_value(json_object_get(b, "run"));
    agent_run_t *r = run_find(self, run, false);
    char leaks[1024] = "";
    if (r) {
        run_teardown(self, r, leaks, sizeof leaks);
        if (r->result) /* never acknowledged: the controller has moved on */
            log_warn("run %" PRId64 ": result dropped at teardown without ack", run);
        json_decref(r->result);
        r->used = false;
    } else {
        netkind_leaks(self->testbed, run, leaks, sizeof leaks);
    }
    if (!leaks[0])
        agent_clean_journal_del(self->cfg->state_dir, run);
    log_info("run %" PRId64 ": torn down%s%s", run, leaks[0] ? ", leaks: " : "", leaks);
    proto_send(self->sock, NULL, MSG_TEARDOWN_OK,
               json_pack("{s:I, s:s}", "run", (json_int_t) run, "leaks", leaks));
}

static int
on_controller(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    agent_t *self = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg)
        return 0;
    msg_type_t type;
    json_t *b = NULL;
    char err[PROTO_ERR_MAX];
    if (proto_decode(&msg, false, NULL, &type, &b, err) != 0) {
        log_warn("bad message from controller: %s", err);
        agent_send_error(self, 0, "protocol", err);
        return 0;
    }
    if (type != MSG_ERROR) /* an ERROR is not a sign that we are welcome */
        self->last_heard_ms = agent_now_ms();
    switch (type) {
    case MSG_WELCOME: {
        if (json_integer_value(json_object_get(b, "proto")) != PROTO_VERSION) {
            log_error("controller speaks protocol %lld, this agent %d",
                      (long long) json_integer_value(json_object_get(b, "proto")), PROTO_VERSION);
            break;
        }
        const char *tb = json_string_value(json_object_get(b, "testbed"));
        if (!netns_name_valid(tb)) {
            agent_send_error(self, 0, "protocol", "WELCOME: $.testbed: invalid name");
            break;
        }
        snprintf(self->testbed, sizeof self->testbed, "%s", tb);
        json_t *kv = json_object_get(b, "kv");
        const char *kvk = json_string_value(json_object_get(kv, "kind"));
        const char *kve = json_string_value(json_array_get(json_object_get(kv, "endpoints"), 0));
        snprintf(self->kv_kind, sizeof self->kv_kind, "%s", kvk && kve ? kvk : "");
        snprintf(self->kv_endpoint, sizeof self->kv_endpoint, "%s", kvk && kve ? kve : "");
        if (!self->welcomed)
            log_info("welcomed by the controller of testbed %s", self->testbed);
        if (!self->cleaned) { /* before any SETUP: this process holds no run yet */
            char report[2048], rundir[PATH_MAX];
            agent_clean_cfg_t cc = {
                .testbed = self->testbed, .host = self->cfg->host,
                .state_dir = self->cfg->state_dir, .underlay_if = self->cfg->underlay_if,
                .underlay_addr = self->cfg->underlay_addr,
                .kv_endpoint = strcmp(self->kv_kind, "etcd") == 0 ? self->kv_endpoint : NULL,
                .cgroups = &self->cg,
            };
            int n = agent_clean_all(&cc, report, sizeof report);
            if (n > 0)
                log_warn("removed leftovers of %d earlier runs: %s", n, report);
            /* VMs are per batch, not per run: their pid files (vm.h), same rundir as
             * agent_vm_handle_start. */
            snprintf(rundir, sizeof rundir, "/run/cntb/%s", self->testbed);
            report[0] = '\0';
            n = vm_clean_stale(rundir, self->cfg->host, report, sizeof report);
            if (n > 0)
                log_warn("removed %d QEMU of earlier VMs: %s", n, report);
            self->cleaned = true;
        }
        self->welcomed = true;
        self->sock_welcomed = true;
        for (int i = 0; i < AGENT_RUNS_MAX; i++) /* re-deliver what is unacknowledged */
            if (self->runs[i].used && self->runs[i].result)
                agent_send_result(self, &self->runs[i]);
        break;
    }
    case MSG_HEARTBEAT: break;
    case MSG_SETUP: handle_setup(self, b); break;
    case MSG_START: handle_start(self, b); break;
    case MSG_TEARDOWN: handle_teardown(self, b); break;
    case MSG_VM_START: agent_vm_handle_start(self, b); break;
    case MSG_VM_STOP: agent_vm_handle_stop(self, b); break;
    case MSG_RESULT_ACK: {
        agent_run_t *r = run_find(self, json_integer_value(json_object_get(b, "run")), false);
        if (r && r->result && json_integer_value(json_object_get(b, "seq")) == r->result_seq) {
            json_decref(r->result);
            r->result = NULL;
        }
        break;
    }
    case MSG_ERROR: {
        const char *stage = json_string_value(json_object_get(b, "stage"));
        log_warn("controller says: %s", json_string_value(json_object_get(b, "message")));
        if (stage && strcmp(stage, "hello") == 0 && self->welcomed) {
            /* The controller does not know us (it restarted, or dropped us): HELLO again. */
            self->welcomed = false;
            self->last_heard_ms = agent_now_ms();
            send_hello(self);
        }
        break;
    }
    default: {
        char m[96];
        snprintf(m, sizeof m, "%s is not a message an agent accepts", proto_type_name(type));
        agent_send_error(self, 0, "protocol", m);
    }
    }
    json_decref(b);
    return 0;
}

static zsock_t *agent_sock_open(const agent_config_t *cfg);

static int
on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) timer_id;
    agent_t *self = arg;
    int64_t now = agent_now_ms();
    agent_vm_check(self);
    if (self->welcomed)
        self->unwelcomed_ms = 0;
    else if (!self->unwelcomed_ms)
        self->unwelcomed_ms = now;
    else if (!self->sock_welcomed && now - self->unwelcomed_ms >= AGENT_REDIAL_MS) {
        zsock_t *fresh = agent_sock_open(self->cfg);

        log_warn("no WELCOME from %s for %lld s (a controller that does not accept this host's "
                 "certificate drops the connection without a word): connecting again",
                 self->cfg->endpoint, (long long) ((now - self->unwelcomed_ms) / 1000));
        self->unwelcomed_ms = now;
        if (fresh) {
            zloop_reader_end(loop, self->sock);
            zsock_destroy(&self->sock);
            self->sock = fresh;
            zloop_reader(loop, self->sock, on_controller, self);
        }
    }
    if (!self->welcomed || now - self->last_heard_ms > AGENT_SILENCE_MS) {
        if (self->welcomed)
            log_warn("controller silent for %lld ms: saying HELLO again",
                     (long long) (now - self->last_heard_ms));
        self->welcomed = false;
        self->last_heard_ms = now;
        send_hello(self);
        return 0;
    }
    proto_send(self->sock, NULL, MSG_HEARTBEAT, NULL);
    for (int i = 0; i < AGENT_RUNS_MAX; i++)
        if (self->runs[i].used && self->runs[i].result &&
            now - self->runs[i].result_sent_ms >= AGENT_RESEND_MS)
            agent_send_result(self, &self->runs[i]);
    return 0;
}

/*
 * The DEALER socket to the controller: identity = the host's name, CURVE
 * client when the agent has certificates (agent_auth_apply), connected to
 * cfg->endpoint.  NULL with the reason logged.
 */
static zsock_t *
agent_sock_open(const agent_config_t *cfg)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (!sock) {
        log_error("cannot create the controller socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    zsock_set_identity(sock, cfg->host);
    zsock_set_linger(sock, 1000);
    zsock_set_reconnect_ivl(sock, 200);
    zsock_set_reconnect_ivl_max(sock, 2000);
    /* Never block the loop on a send: with CURVE, no message can be queued until
     * the handshake completes, and a refused one never does.  A message that
     * cannot go is dropped (HELLO and heartbeats are sent again each second,
     * RESULTs until acknowledged). */
    zsock_set_sndtimeo(sock, 0);
    if (cfg->cert_path) {
        char err[1200];
        if (agent_auth_apply(sock, cfg->cert_path, cfg->controller_cert_path, err,
                             sizeof err) != 0) {
            log_error("%s", err);
            zsock_destroy(&sock);
            return NULL;
        }
    }
    if (zsock_connect(sock, "%s", cfg->endpoint) != 0) {
        log_error("cannot connect to %s", cfg->endpoint);
        zsock_destroy(&sock);
        return NULL;
    }
    return sock;
}

int
agent_run(const agent_config_t *cfg)
{
    agent_t self;
    int ret = -1;

    memset(&self, 0, sizeof self);
    self.cfg = cfg;
    self.runs = calloc(AGENT_RUNS_MAX, sizeof *self.runs);
    if (!self.runs) {
        log_error("out of memory");
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    agent_cgroup_probe(&self.cg);
    {
        char cgd[AGENT_CGROUP_ERR_MAX + 8];
        agent_cgroup_describe(&self.cg, cgd, sizeof cgd);
        if (self.cg.version == 0)
            log_warn("containers run without cgroups (%s)", cgd);
        else
            log_info("containers get cgroups %s (%s%s%s)", cgd, self.cg.cpuset,
                     self.cg.cpuacct[0] ? ", " : "", self.cg.cpuacct);
    }
    self.sock = agent_sock_open(cfg);
    if (!self.sock)
        goto out;
    self.loop = zloop_new();
    if (!self.loop) {
        log_error("cannot create the event loop");
        goto out;
    }
    zloop_reader(self.loop, self.sock, on_controller, &self);
    zloop_timer(self.loop, 1000, 0, on_tick, &self);
    zloop_timer(self.loop, AGENT_PIPE_MS, 0, agent_proc_on_pipes, &self);
    log_info("agent %s connecting to %s", cfg->host, cfg->endpoint);
    self.last_heard_ms = agent_now_ms();
    send_hello(&self);
    zloop_start(self.loop);
    log_info("stopping: tearing down what is left");
    for (int i = 0; i < AGENT_RUNS_MAX; i++)
        if (self.runs[i].used) {
            char leaks[1024];
            run_teardown(&self, &self.runs[i], leaks, sizeof leaks);
            json_decref(self.runs[i].result);
            self.runs[i].used = false;
        }
    for (int i = 0; i < AGENT_VMS_MAX; i++)
        if (self.vms[i].name[0]) {
            char console[VM_CONSOLE_MAX];
            agent_vm_slot_stop(&self.vms[i], console, sizeof console);
        }
    ret = 0;
out:
    zloop_destroy(&self.loop);
    zsock_destroy(&self.sock);
    free(self.runs);
    return ret;
}
