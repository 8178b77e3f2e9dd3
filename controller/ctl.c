/*
 * ctl.c — the controller's loop (ctl.h): the zloop with its agents and CLI
 * sockets and its 200 ms tick, the agent table and heartbeats, the health
 * of the database (the store outage: no new runs while a write fails), and
 * ctl_run(), which opens everything, adopts or requeues what a previous
 * controller left in flight, and runs the loop.
 *
 * The rest of the controller: ctl_sched.c (batches, leases, the queue),
 * ctl_run.c (the run state machine, ctl_run.h draws it), ctl_cli.c (CLI
 * requests); ctl_int.h holds the state they share.
 */
#include "ctl_int.h"
#include "ctl_run.h"
#include "ctl_auth.h"
#include "ctl_lock.h"
#include "ctl_vm.h"

#include "ferr.h"
#include "log.h"
#include "matrix.h"
#include "proto.h"
#include "queue.h"
#include "schedule.h"
#include "store.h"
#include "testbed.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

int64_t
ctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ctl_agent_t *
ctl_agent_find(ctl_t *self, const char *host)
{
    for (int i = 0; i < self->nagents; i++)
        if (strcmp(self->agents[i].host, host) == 0)
            return &self->agents[i];
    return NULL;
}

bool
ctl_agent_connected(ctl_t *self, const char *host)
{
    ctl_agent_t *a = ctl_agent_find(self, host);
    return a && a->connected;
}

void
ctl_send_to(ctl_t *self, const char *host, msg_type_t type, json_t *body)
{
    proto_send(self->agents_sock, host, type, body);
}

/* ctl_vm_send_fn and the connectivity question of ctl_vm_lease. */
static void
vm_send(void *arg, const char *host, msg_type_t type, json_t *body)
{
    ctl_send_to(arg, host, type, body);
}

bool
ctl_agent_connected_cb(void *arg, const char *host)
{
    ctl_agent_t *a = ctl_agent_find(arg, host);
    return a && a->connected;
}

ctl_run_t *
ctl_run_by_id(ctl_t *self, int64_t id)
{
    if (id <= 0)
        return NULL;
    for (int i = 0; i < CTL_RUNS_MAX; i++)
        if (self->runs[i].id == id)
            return &self->runs[i];
    return NULL;
}

/*
 * Owes host a TEARDOWN of run, sent when its agent says HELLO (before
 * anything else goes to it).  Once per (run, host); dropped when the list is
 * full (the agent's start-up cleanup removes what is left, agent_clean.h).
 */
void
ctl_stale_add(ctl_t *self, int64_t run, const char *host)
{
    for (int i = 0; i < self->nstale; i++)
        if (self->stale[i].run == run && strcmp(self->stale[i].host, host) == 0)
            return;
    if (self->nstale >= CTL_STALE_MAX)
        return;
    self->stale[self->nstale].run = run;
    snprintf(self->stale[self->nstale].host, sizeof self->stale[0].host, "%s", host);
    self->nstale++;
}

/* ---- database health ------------------------------------------------------ */

/*
 * A write failed (rc < 0 from a store_* call): the controller stops taking
 * new runs until a write succeeds again (store_probe).  Logged once per
 * outage with SQLite's message (e.g. "database or disk is full", "attempt to
 * write a readonly database").
 */
void
ctl_store_failed(ctl_t *self, const char *what)
{
    if (self->store_down)
        return;
    self->store_down = true;
    self->store_down_since_ms = self->store_probe_ms = ctl_now_ms();
    snprintf(self->store_why, sizeof self->store_why, "%s: %s", what, store_errmsg(self->store));
    log_error("database not writable (%s): taking no new runs, results not acknowledged until "
              "it can be written again",
              self->store_why);
}

void
ctl_store_ok(ctl_t *self)
{
    if (!self->store_down)
        return;
    self->store_down = false;
    log_warn("database writable again after %lld ms: going on",
             (long long) (ctl_now_ms() - self->store_down_since_ms));
}

/*
 * While the store is down, a committed write every CTL_STORE_PROBE_MS: the
 * newest batch row is rewritten unchanged (SQLite writes the page, so a full
 * disk or a read-only file fails it; with no batch there is nothing to lose).
 */
static void
store_probe(ctl_t *self)
{
    int64_t now = ctl_now_ms();
    if (!self->store_down || now - self->store_probe_ms < CTL_STORE_PROBE_MS)
        return;
    self->store_probe_ms = now;
    if (store_probe_write(self->store) == 0)
        ctl_store_ok(self);
}

/* ---- sockets ------------------------------------------------------------ */

static int
on_agents(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    ctl_t *self = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg)
        return 0;
    if (ctl_auth_check(self->auth, msg) != 0) { /* logged; no state changes */
        zmsg_destroy(&msg);
        return 0;
    }
    char *identity = NULL;
    msg_type_t type;
    json_t *b = NULL;
    char err[PROTO_ERR_MAX], peer[64] = "";
    /* Where the message came from (ZMQ_MSG_PROPERTY_PEER_ADDRESS), so that `testbed check`
     * can tell an agent at the file's address from one of the same name elsewhere. */
    const char *pa = zmsg_first(msg) ? zframe_meta(zmsg_last(msg), "Peer-Address") : NULL;
    if (pa)
        snprintf(peer, sizeof peer, "%s", pa);
    if (proto_decode(&msg, true, &identity, &type, &b, err) != 0) {
        log_warn("bad message from %s: %s", identity ? identity : "?", err);
        if (identity)
            ctl_send_to(self, identity, MSG_ERROR,
                        json_pack("{s:s, s:s}", "message", err, "stage", "protocol"));
        free(identity);
        return 0;
    }
    if (type == MSG_HELLO) {
        const char *host = json_string_value(json_object_get(b, "host"));
        int proto = (int) json_integer_value(json_object_get(b, "proto"));
        if (proto != PROTO_VERSION || strcmp(host, identity) != 0 ||
            !testbed_host(self->testbed, host)) {
            char m[200];
            if (proto != PROTO_VERSION)
                snprintf(m, sizeof m, "protocol %d not supported (controller speaks %d)", proto,
                         PROTO_VERSION);
            else
                snprintf(m, sizeof m, "host %.31s is not in testbed %s (or identity differs)",
                         host, self->testbed->name);
            log_warn("refusing agent %s: %s", identity, m);
            ctl_send_to(self, identity, MSG_ERROR, json_pack("{s:s, s:s}", "message", m, "stage", "hello"));
            goto out;
        }
        ctl_agent_t *a = ctl_agent_find(self, host);
        if (!a && self->nagents < CTL_AGENTS_MAX) {
            a = &self->agents[self->nagents++];
            memset(a, 0, sizeof *a);
            snprintf(a->host, sizeof a->host, "%s", host);
        }
        if (!a)
            goto out;
        if (!a->connected)
            log_info("agent %s connected", host);
        a->connected = true;
        a->last_seen_ms = ctl_now_ms();
        snprintf(a->peer, sizeof a->peer, "%s", peer);
        snprintf(a->kind, sizeof a->kind, "%s", json_string_value(json_object_get(b, "kind")));
        json_decref(a->caps);
        json_decref(a->meta);
        a->caps = json_incref(json_object_get(b, "capabilities"));
        a->meta = json_incref(json_object_get(b, "meta"));
        ctl_vm_on_hello(self->vms, host, a->kind, json_string_value(json_object_get(b, "parent")));
        json_t *welcome = json_pack("{s:i, s:s, s:i}", "proto", PROTO_VERSION, "testbed",
                                    self->testbed->name, "heartbeat_ms", CTL_HEARTBEAT_MS);
        if (self->testbed->kv_count > 0) { /* the KV store overlay agents program from */
            json_t *eps = json_array();
            for (int k = 0; k < self->testbed->kv_count; k++)
                json_array_append_new(eps, json_string(self->testbed->kv_endpoints[k]));
            json_object_set_new(welcome, "kv", json_pack("{s:s, s:o}", "kind",
                                                         self->testbed->kv_kind[0]
                                                             ? self->testbed->kv_kind : "etcd",
                                                         "endpoints", eps));
        }
        ctl_send_to(self, host, MSG_WELCOME, welcome);
        /* TEARDOWNs owed to this host (runs cut short by a restart, lost while
         * it was away, adopted runs ending before it came back): before
         * anything new goes to it (one connection keeps the order). */
        for (int i = 0; i < self->nstale;) {
            if (strcmp(self->stale[i].host, host) == 0) {
                log_info("run %" PRId64 ": teardown owed to %s sent", self->stale[i].run, host);
                ctl_send_to(self, host, MSG_TEARDOWN,
                            json_pack("{s:I}", "run", (json_int_t) self->stale[i].run));
                self->stale[i] = self->stale[--self->nstale];
            } else {
                i++;
            }
        }
        goto out;
    }
    ctl_agent_t *a = ctl_agent_find(self, identity);
    if (!a || !a->connected) {
        /* The agent takes ERROR stage "hello" as a request to say HELLO again
         * (a controller that restarted does not know it yet). */
        ctl_send_to(self, identity, MSG_ERROR,
                    json_pack("{s:s, s:s}", "message", "say HELLO first", "stage", "hello"));
        goto out;
    }
    a->last_seen_ms = ctl_now_ms();
    ctl_on_agent_msg(self, identity, type, b);
    /* A run ended: its batch's next run (and a waiting batch's) goes out now
     * rather than at the next tick (due -> dispatched, tests/bench/scale). */
    if (self->reschedule && !self->store_down) {
        self->reschedule = false;
        ctl_schedule_batches(self);
    }
out:
    json_decref(b);
    free(identity);
    return 0;
}

static int
on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ctl_t *self = arg;
    int64_t now = ctl_now_ms();
    bool beat = now - self->last_heartbeat_ms >= CTL_HEARTBEAT_MS;
    if (beat)
        self->last_heartbeat_ms = now;
    for (int i = 0; i < self->nagents; i++) { /* silence is checked every tick */
        ctl_agent_t *a = &self->agents[i];
        if (!a->connected)
            continue;
        if (now - a->last_seen_ms > CTL_AGENT_SILENCE_MS) {
            a->connected = false;
            log_warn("agent %s lost: silent for %lld ms", a->host,
                     (long long) (now - a->last_seen_ms));
            ctl_runs_lose_host(self, a->host, a->last_seen_ms);
            continue;
        }
        if (beat)
            ctl_send_to(self, a->host, MSG_HEARTBEAT, NULL);
    }
    store_probe(self);
    for (int i = 0; i < CTL_RUNS_MAX; i++) /* ends that could not be stored */
        if (self->runs[i].id && self->runs[i].finish_state[0] && !self->store_down) {
            char state[16];
            snprintf(state, sizeof state, "%s", self->runs[i].finish_state);
            self->runs[i].finish_state[0] = '\0';
            ctl_run_finish(self, &self->runs[i], state);
        }
    if (!self->store_down) { /* no new batch, no new run while it cannot be written */
        ctl_queue_tick(self);
        self->reschedule = false;
        ctl_schedule_batches(self);
    }
    for (int i = 0; i < CTL_RUNS_MAX; i++) {
        ctl_run_t *r = &self->runs[i];
        if (r->id && r->finish_state[0])
            continue;
        if (r->id && r->stage == STAGE_LEASING)
            ctl_step_leasing(self, r);
        if (r->id)
            ctl_step_timeouts(self, r);
    }
    return 0;
}

int
ctl_run(const ctl_config_t *cfg)
{
    static ctl_t self; /* large (agent table): not on the stack */
    int rc = 1;
    char err[FERR_MAX];
    memset(&self, 0, sizeof self);
    self.cfg = cfg;
    self.testbed = testbed_load_file(cfg->testbed_path, err);
    if (!self.testbed) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    static char rundir[256], pidfile[300], sockpath[300], dblock[PATH_MAX + 16];
    int pid_fd = -1, db_fd = -1;
    if (!cfg->rundir) { /* the default of `cntb controller start` */
        mkdir("/run/cntb", 0755);
        snprintf(rundir, sizeof rundir, "/run/cntb/%s", self.testbed->name);
    } else
        snprintf(rundir, sizeof rundir, "%s", cfg->rundir);
    if (ctl_auth_private_dir(rundir, err, sizeof err) != 0) {
        log_error("%s", err);
        rc = 3;
        goto out;
    }
    /* One controller per testbed, then one per database (ctl_lock.h): the
     * pid file is written under its lock, so it always names the holder. */
    char pidtext[32], holder[FERR_MAX];
    snprintf(pidfile, sizeof pidfile, "%s/controller.pid", rundir);
    snprintf(pidtext, sizeof pidtext, "%d\n", (int) getpid());
    pid_fd = ctl_lock_take(pidfile, pidtext, holder, sizeof holder);
    if (pid_fd < 0) {
        if (pid_fd == CTL_LOCK_HELD)
            log_error("the controller of testbed %s is already running (pid %s)",
                      self.testbed->name, holder[0] ? holder : "?");
        else
            log_error("%s", holder);
        rc = 3;
        goto out;
    }
    char dbtext[96];
    snprintf(dblock, sizeof dblock, "%s-controller", cfg->db_path);
    snprintf(dbtext, sizeof dbtext, "%d %s\n", (int) getpid(), self.testbed->name);
    db_fd = ctl_lock_take(dblock, dbtext, holder, sizeof holder);
    if (db_fd < 0) {
        if (db_fd == CTL_LOCK_HELD) {
            int opid = 0;
            char otb[64] = "?";
            sscanf(holder, "%d %63s", &opid, otb);
            log_error("database %s is in use by the controller of testbed %s (pid %d): one "
                      "controller per database (start this one with its own --db)",
                      cfg->db_path, otb, opid);
        } else
            log_error("%s", holder);
        rc = 3;
        goto out;
    }
    /* We hold the testbed's lock: a cli.sock there is a dead controller's. */
    snprintf(sockpath, sizeof sockpath, "%s/cli.sock", rundir);
    unlink(sockpath);
    self.store = store_open(cfg->db_path, false, err, sizeof err);
    if (!self.store) {
        log_error("%s", err);
        rc = 3;
        goto out;
    }
    /* Runs in collect are adopted (ctl_runs_adopt); the other runs in flight
     * when the controller stopped are queued again and their hosts get a
     * TEARDOWN when they say HELLO. */
    static int64_t adopted[CTL_RUNS_MAX];
    int nadopted = ctl_runs_adopt(&self, adopted, CTL_RUNS_MAX);
    store_run_row_t *flying = NULL;
    int nflying = store_runs_in_flight(self.store, self.testbed->name, &flying);
    for (int i = 0; i < nflying; i++) {
        if (ctl_run_by_id(&self, flying[i].id)) /* adopted: no stale TEARDOWN before its result */
            continue;
        if (flying[i].client_host)
            ctl_stale_add(&self, flying[i].id, flying[i].client_host);
        if (flying[i].server_host)
            ctl_stale_add(&self, flying[i].id, flying[i].server_host);
    }
    if (nflying < 0)
        log_error("runs in flight could not be read: %s", store_errmsg(self.store));
    store_run_rows_free(&flying, nflying);
    int requeued = store_requeue_interrupted(self.store, self.testbed->name, adopted, nadopted);
    if (requeued > 0)
        log_warn("%d runs were in flight when the controller stopped: queued again", requeued);
    else if (requeued < 0)
        log_error("runs in flight could not be queued again: %s", store_errmsg(self.store));
    self.vms = ctl_vm_new(self.testbed, vm_send, &self);
    if (!self.vms) {
        rc = 3;
        goto out;
    }
    self.auth = ctl_auth_new(self.testbed, &self.agents_sock, err, sizeof err);
    if (!self.auth) {
        log_error("%s", err);
        rc = 3;
        goto out;
    }
    self.cli_sock = zsock_new(ZMQ_REP);
    if (zsock_bind(self.cli_sock, "ipc://%s/cli.sock", rundir) < 0) {
        log_error("cannot listen on ipc://%s/cli.sock: %s", rundir, zmq_strerror(zmq_errno()));
        rc = 3;
        goto out;
    }
    self.loop = zloop_new();
    zloop_reader(self.loop, self.agents_sock, on_agents, &self);
    zloop_reader(self.loop, self.cli_sock, ctl_on_cli, &self);
    zloop_timer(self.loop, CTL_TICK_MS, 0, on_tick, &self);
    log_info("controller of testbed %s: agents on tcp://%s:%d, database %s", self.testbed->name,
             self.testbed->ctl_address, self.testbed->ctl_port, cfg->db_path);
    zloop_start(self.loop);
    for (int i = 0; i < CTL_RUNS_MAX; i++) {
        ctl_run_t *r = &self.runs[i];
        if (!r->id) /* stopping mid-run: agents tear down; the run is requeued on restart */
            continue;
        for (int h = 0; h < r->nhosts; h++)
            ctl_send_to(&self, r->hosts[h], MSG_TEARDOWN, json_pack("{s:I}", "run", (json_int_t) r->id));
        /* Not on record: the run is between leasing and teardown in the
         * database, which a restart requeues as well (store_requeue_interrupted). */
        if (store_run_set_state(self.store, r->id, "interrupted", "controller stopped") < 0)
            log_error("run %" PRId64 ": interrupted, not recorded: %s", r->id,
                      store_errmsg(self.store));
        ctl_run_clear(r);
    }
    for (int i = 0; i < CTL_BATCHES_MAX; i++)
        ctl_batch_forget(&self.batches[i]);
    ctl_vm_stop_all(self.vms, "controller stopped");
    log_info("controller stopped");
    rc = 0;
out:
    zloop_destroy(&self.loop);
    zsock_destroy(&self.cli_sock);
    ctl_auth_destroy(&self.auth); /* and agents_sock */
    ctl_vm_destroy(&self.vms);
    self.agents_sock = NULL;
    for (int i = 0; i < self.nagents; i++) {
        json_decref(self.agents[i].caps);
        json_decref(self.agents[i].meta);
    }
    store_close(&self.store);
    if (pid_fd >= 0) /* the socket is ours only while we hold the lock */
        unlink(sockpath);
    ctl_lock_release(&db_fd, dblock);
    ctl_lock_release(&pid_fd, pidfile);
    testbed_destroy(&self.testbed);
    return rc;
}
