/*
 * ctl.c — the controller's loop, scheduler and run state machine (ctl.h).
 *
 * Nested VMs: a nesting=vm run leases the VMs of its hosts through ctl_vm.c
 * (started on demand by the parent's agent, reused for the batch, stopped at
 * its end), then runs in them as on bare hosts.
 *
 * Scheduling.  Every 200 ms tick: (1) queue entries that are due become
 * batches (the matrix text is expanded again, checked against this testbed,
 * its runs stored in execution order); (2) the unfinished batches are taken
 * oldest first, and a batch with no run in flight and its pause over gets
 * its next queued run if the hosts that run needs can be leased: a
 * same-host run needs one bare-metal host of the batch's host set, a
 * cross-host run two.  A host is leased by at most one run at a time, so
 * batches on disjoint hosts run at the same time and batches that share a
 * host take turns.  Hosts an older batch is waiting for are reserved for it
 * during the tick, so a younger batch cannot starve it.  Runs of one batch
 * run one after the other (pause_s apart).
 *
 * A run's progress lives in a slot of `runs[]` (ctl_run_t); every
 * transition is written to the database before the next message goes out,
 * so a restarted controller knows where it was: runs found in collect are
 * adopted (runs_adopt: rebuilt in memory, waiting for the RESULT the agent
 * re-delivers on WELCOME), the other runs found in flight are requeued
 * (store_requeue_interrupted) and their hosts told to tear them down when
 * their agents say HELLO again.  A result is stored only for a run in
 * flight in its collect stage; anything else (a result re-delivered for an
 * attempt that was cut short) is acknowledged and dropped, so every run ends
 * with the one result set of its final attempt.
 */
#include "ctl.h"
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
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTL_AGENTS_MAX 1024
#define CTL_RUNS_MAX 256     /* runs in flight at once (one per batch at most): 500
                              * hosts in cross-host pairs (issue 9, tests/bench/scale) */
#define CTL_BATCHES_MAX 256  /* unfinished batches held in memory */
#define CTL_STALE_MAX 256    /* runs cut short by a restart, to tear down */
#define CTL_HOSTS_MAX TB_MAX_HOSTS /* testbed hosts that can be leased: every host of a
                                    * testbed file (lease[] is indexed by host index) */

typedef struct {
    char host[32];
    bool connected;
    int64_t last_seen_ms;
    char kind[16];
    json_t *caps;        /* capabilities of the last HELLO (owned) */
    json_t *meta;        /* metadata snapshot (owned) */
    char peer[64];       /* source address of its last HELLO, as ZeroMQ saw it ("" unknown) */
} ctl_agent_t;

typedef enum { STAGE_NONE, STAGE_LEASING, STAGE_SETUP, STAGE_RUNNING, STAGE_COLLECT,
               STAGE_TEARDOWN } ctl_stage_t;

/* An unfinished batch. */
typedef struct {
    int64_t id;                 /* 0 = free slot */
    matrix_t *m;                /* owned: the matrix as stored with the batch */
    int nhosts;                 /* hosts it may lease, bare-metal, in order */
    int host[CTL_HOSTS_MAX];    /* indices into the testbed's hosts */
    int64_t not_before_ms;      /* pause_s after its last run */
    int64_t in_flight;          /* its run in flight, 0 = none */
} ctl_batch_t;

typedef struct {
    int64_t id;                 /* 0 = free slot */
    ctl_batch_t *batch;         /* borrowed */
    json_t *params;             /* owned */
    char network[32];
    char placement[16];
    ctl_stage_t stage;
    int64_t stage_since_ms;
    int64_t deadline_ms;
    int timeout_ms[MATRIX_STAGES]; /* from the matrix, else the CTL_*_MS defaults */
    int nhosts;                 /* 1 (same-host) or 2 */
    int host_idx[2];            /* leased testbed hosts: [0] client, [1] server */
    char hosts[2][32];          /* their names ([1] = [0] when same-host) */
    bool acked[2];              /* SETUP_OK / TEARDOWN_OK per host */
    bool server_ready;
    char server_addr[16];
    char peer_addr[2][16];
    int port;
    bool result_stored;
    bool failed;
    int64_t failed_ms;          /* when it failed (now_ms), 0 = not failed */
    ctl_stage_t failed_stage;   /* the stage it failed in */
    bool skipped;               /* an agent refused the run (ERROR stage "skip") */
    char reason[600];
    char finish_state[16];      /* its end could not be stored: retried once the store works */
    bool adopted;               /* rebuilt at start-up from the database (runs_adopt) */
} ctl_run_t;

typedef struct {
    int64_t run;
    char host[32];
} ctl_stale_t;

typedef struct {
    const ctl_config_t *cfg;
    testbed_t *testbed;
    store_t *store;
    zsock_t *agents_sock;
    zsock_t *cli_sock;
    ctl_auth_t *auth;           /* owns agents_sock (ctl_auth.h) */
    ctl_vm_t *vms;              /* nested VMs (ctl_vm.h) */
    zloop_t *loop;
    int nagents;
    ctl_agent_t agents[CTL_AGENTS_MAX];
    ctl_run_t runs[CTL_RUNS_MAX];       /* the runs in flight */
    ctl_batch_t batches[CTL_BATCHES_MAX];
    int64_t lease[CTL_HOSTS_MAX];       /* per testbed host: the run holding it, 0 = free */
    int nstale;
    ctl_stale_t stale[CTL_STALE_MAX];   /* TEARDOWN owed to hosts after a restart */
    int64_t last_heartbeat_ms;
    bool store_down;            /* the last write failed: no new runs (ctl.h) */
    char store_why[300];        /* why, for the log and `cntb controller status` */
    int64_t store_down_since_ms;
    int64_t store_probe_ms;     /* last write attempt while down */
    bool stop;
    bool reschedule;            /* a run ended: schedule now, not at the next tick */
} ctl_t;

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ctl_agent_t *
agent_find(ctl_t *self, const char *host)
{
    for (int i = 0; i < self->nagents; i++)
        if (strcmp(self->agents[i].host, host) == 0)
            return &self->agents[i];
    return NULL;
}

static bool
agent_connected(ctl_t *self, const char *host)
{
    ctl_agent_t *a = agent_find(self, host);
    return a && a->connected;
}

static void
send_to(ctl_t *self, const char *host, msg_type_t type, json_t *body)
{
    proto_send(self->agents_sock, host, type, body);
}

/* ctl_vm_send_fn and the connectivity question of ctl_vm_lease. */
static void
vm_send(void *arg, const char *host, msg_type_t type, json_t *body)
{
    send_to(arg, host, type, body);
}

static bool
vm_agent_connected(void *arg, const char *host)
{
    ctl_agent_t *a = agent_find(arg, host);
    return a && a->connected;
}

static ctl_run_t *
run_by_id(ctl_t *self, int64_t id)
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
static void
stale_add(ctl_t *self, int64_t run, const char *host)
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
static void
store_failed(ctl_t *self, const char *what)
{
    if (self->store_down)
        return;
    self->store_down = true;
    self->store_down_since_ms = self->store_probe_ms = now_ms();
    snprintf(self->store_why, sizeof self->store_why, "%s: %s", what, store_errmsg(self->store));
    log_error("database not writable (%s): taking no new runs, results not acknowledged until "
              "it can be written again",
              self->store_why);
}

static void
store_ok(ctl_t *self)
{
    if (!self->store_down)
        return;
    self->store_down = false;
    log_warn("database writable again after %lld ms: going on",
             (long long) (now_ms() - self->store_down_since_ms));
}

/*
 * While the store is down, a committed write every CTL_STORE_PROBE_MS: the
 * newest batch row is rewritten unchanged (SQLite writes the page, so a full
 * disk or a read-only file fails it; with no batch there is nothing to lose).
 */
static void
store_probe(ctl_t *self)
{
    int64_t now = now_ms();
    if (!self->store_down || now - self->store_probe_ms < CTL_STORE_PROBE_MS)
        return;
    self->store_probe_ms = now;
    if (store_probe_write(self->store) == 0)
        store_ok(self);
}

/* ---- batches -------------------------------------------------------------- */

static void
batch_forget(ctl_batch_t *b)
{
    matrix_destroy(&b->m);
    memset(b, 0, sizeof *b);
}

/*
 * Skips every queued run of a batch with a reason (its matrix cannot be
 * used) and marks the batch failed.  0, or -1 when a write failed (then the
 * caller declares the outage: the batch is looked at again, and its runs
 * skipped, once the store can be written).
 */
static int
batch_skip_all(ctl_t *self, int64_t batch, const char *reason)
{
    if (store_batch_skip_queued(self->store, batch, reason) < 0)
        return -1;
    return store_batch_set_state(self->store, batch, "failed");
}

/*
 * The host set of a matrix as testbed host indices: $.hosts in its order,
 * else every bare-metal host of the testbed.  Returns the count, or -1 with
 * the reason in why (a host not in the testbed or not bare-metal).
 */
static int
hosts_of(ctl_t *self, const matrix_t *m, int *out, char *why, size_t len)
{
    const json_t *hosts = matrix_hosts(m);
    testbed_t *tb = self->testbed;
    int n = 0;
    if (!hosts) {
        for (int i = 0; i < tb->host_count && n < CTL_HOSTS_MAX; i++)
            if (strcmp(tb->hosts[i].kind, "bare-metal") == 0)
                out[n++] = i;
        return n;
    }
    for (size_t j = 0; j < json_array_size(hosts) && n < CTL_HOSTS_MAX; j++) {
        const char *name = json_string_value(json_array_get(hosts, j));
        int found = -1;
        for (int i = 0; i < tb->host_count; i++)
            if (strcmp(tb->hosts[i].name, name) == 0)
                found = i;
        if (found < 0) {
            snprintf(why, len, "$.hosts[%zu]: no host %s in testbed %s", j, name, tb->name);
            return -1;
        }
        if (strcmp(tb->hosts[found].kind, "bare-metal") != 0) {
            snprintf(why, len, "$.hosts[%zu]: host %s is a %s, not bare-metal", j, name,
                     tb->hosts[found].kind);
            return -1;
        }
        out[n++] = found;
    }
    return n;
}

/* The cached batch id, loading it on first use; NULL when it cannot be used (runs skipped). */
static ctl_batch_t *
batch_get(ctl_t *self, int64_t id)
{
    ctl_batch_t *free_slot = NULL;
    for (int i = 0; i < CTL_BATCHES_MAX; i++) {
        if (self->batches[i].id == id)
            return &self->batches[i];
        if (!self->batches[i].id && !free_slot)
            free_slot = &self->batches[i];
    }
    if (!free_slot)
        return NULL; /* more unfinished batches than slots: it waits its turn */
    char err[FERR_MAX] = "", name[32], *text = NULL;
    matrix_t *m = NULL;
    if (store_batch_matrix(self->store, id, &text) < 0)
        return NULL;
    snprintf(name, sizeof name, "batch %" PRId64, id);
    if (text)
        m = matrix_load_text(name, text, strlen(text), err);
    free(text);
    ctl_batch_t *b = free_slot;
    memset(b, 0, sizeof *b);
    if (m)
        b->nhosts = hosts_of(self, m, b->host, err, sizeof err);
    if (!m || b->nhosts < 0) {
        log_error("batch %" PRId64 " cannot run: %s", id, err);
        if (batch_skip_all(self, id, err) < 0) {
            char what[64];
            snprintf(what, sizeof what, "batch %" PRId64 " that cannot run", id);
            store_failed(self, what);
        }
        matrix_destroy(&m);
        return NULL;
    }
    b->id = id;
    b->m = m;
    return b;
}

/* Sets a batch done when none of its runs is left to run. */
static void
batch_maybe_finish(ctl_t *self, int64_t batch)
{
    int left = -1;
    bool cancelled = false;
    if (store_batch_progress(self->store, batch, &left, &cancelled) < 0 || left != 0)
        return;
    const char *state = cancelled ? "cancelled" : "done";
    if (store_batch_set_state(self->store, batch, state) < 0) {
        /* Still unfinished on record: it stays cached, and once the store
         * can be written the scheduler comes back here to end it. */
        char what[64];
        snprintf(what, sizeof what, "end of batch %" PRId64, batch);
        store_failed(self, what);
        return;
    }
    ctl_vm_batch_end(self->vms, batch); /* its VMs are not reused by another batch */
    log_info("batch %" PRId64 " %s", batch, state);
    for (int i = 0; i < CTL_BATCHES_MAX; i++)
        if (self->batches[i].id == batch && !self->batches[i].in_flight)
            batch_forget(&self->batches[i]);
}

/* ---- run state machine ------------------------------------------------ */

static void
run_clear(ctl_run_t *r)
{
    json_decref(r->params);
    memset(r, 0, sizeof *r);
}

static const char *const stage_names[] = { "none", "leasing", "setup", "running", "collect",
                                           "teardown" };

static void
run_enter(ctl_t *self, ctl_run_t *r, ctl_stage_t stage, int64_t timeout_ms)
{
    r->stage = stage;
    r->stage_since_ms = now_ms();
    r->deadline_ms = r->stage_since_ms + timeout_ms;
    r->acked[0] = r->acked[1] = false;
    int rc;
    if (stage != STAGE_TEARDOWN || !r->failed)
        rc = store_run_set_state(self->store, r->id, stage_names[stage], NULL);
    else
        rc = store_run_set_state(self->store, r->id, "teardown", r->reason);
    if (rc < 0) /* the run goes on; a restart would queue it again */
        store_failed(self, "run state");
}

static void run_teardown(ctl_t *self, ctl_run_t *r);

/* Records a failure reason (the first one wins) and moves to teardown. */
/*
 * The first server port of run `run`: pair i of the run uses port + i (up to
 * NETKIND_PAIRS_MAX = 64 pairs), so each run gets its own block of 64 ports,
 * 5300 + (run mod 429) * 64, all in 5300..32755: below 32768, where Linux's
 * default ephemeral range (ip_local_port_range 32768-60999) starts, so no
 * client's port takes it.  Runs 429 apart share a block, minutes apart at the
 * least, after the 60 s TIME_WAIT of the earlier one (a run of 2 pairs used
 * to take the next run's port, where a server that closed first left
 * TIME_WAIT, and sockperf could not bind it).
 */
static int
run_port(int64_t run)
{
    return 5300 + (int) (run % 429) * 64;
}

static void
run_fail(ctl_t *self, ctl_run_t *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
run_fail(ctl_t *self, ctl_run_t *r, const char *fmt, ...)
{
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->reason, sizeof r->reason, fmt, ap);
        va_end(ap);
        r->failed = true;
        r->failed_ms = now_ms();
        r->failed_stage = r->stage;
        log_warn("run %" PRId64 " failed: %s", r->id, r->reason);
    }
    if (r->stage != STAGE_TEARDOWN && r->stage >= STAGE_SETUP)
        run_teardown(self, r);
}

/*
 * Ends a run: done, skipped, or failed — a failed run with retries left is
 * recorded in run_attempt and queued again.  Releases its hosts and starts
 * its batch's pause.
 */
static void
run_finish(ctl_t *self, ctl_run_t *r, const char *state)
{
    ctl_batch_t *b = r->batch;
    int retries = b && b->m ? matrix_retries(b->m) : 0;
    int failed_before = strcmp(state, "failed") == 0 ? store_run_failed_attempts(self->store, r->id)
                                                     : -1;
    int rc;
    if (failed_before >= 0 && failed_before < retries)
        rc = store_run_retry(self->store, r->id, r->reason);
    else
        rc = store_run_set_state(self->store, r->id, state, r->reason[0] ? r->reason : NULL);
    if (rc < 0) {
        /* Not on record: keep the run (and its lease) until the store works again. */
        store_failed(self, "end of a run");
        r->stage = STAGE_NONE;
        snprintf(r->finish_state, sizeof r->finish_state, "%s", state);
        return;
    }
    if (failed_before >= 0 && failed_before < retries) {
        log_warn("run %" PRId64 " attempt %d failed (%s): retrying (%d of %d retries left)", r->id,
                 failed_before + 1, r->reason, retries - failed_before - 1, retries);
    } else {
        log_info("run %" PRId64 " %s%s%s", r->id, state, r->reason[0] ? ": " : "", r->reason);
    }
    for (int i = 0; i < CTL_HOSTS_MAX; i++)
        if (self->lease[i] == r->id)
            self->lease[i] = 0;
    int64_t batch = b ? b->id : 0;
    if (b) {
        b->in_flight = 0;
        b->not_before_ms = now_ms() + (int64_t) (matrix_pause_s(b->m) * 1000);
    }
    run_clear(r);
    self->reschedule = true;
    if (batch)
        batch_maybe_finish(self, batch);
}

/*
 * TEARDOWN to every host of the run.  A host whose agent is not connected
 * (an adopted run's host that has not said HELLO since the restart, a lost
 * agent) gets it when it says HELLO: a message to an unconnected identity is
 * dropped by the ROUTER socket.  Its TEARDOWN_OK is waited for as any other,
 * up to teardown_s.
 */
static void
run_teardown(ctl_t *self, ctl_run_t *r)
{
    run_enter(self, r, STAGE_TEARDOWN, r->timeout_ms[MATRIX_TEARDOWN]);
    for (int i = 0; i < r->nhosts; i++) {
        if (agent_connected(self, r->hosts[i]))
            send_to(self, r->hosts[i], MSG_TEARDOWN,
                    json_pack("{s:I}", "run", (json_int_t) r->id));
        else
            stale_add(self, r->id, r->hosts[i]);
    }
}

static bool
caps_allow(ctl_agent_t *a, const char *network, const char *placement, const char *traffic,
           char *why, size_t len)
{
    json_t *caps = a->caps;
    json_t *pl = json_object_get(json_object_get(caps, "networks"), network);
    if (!json_is_array(pl)) {
        const char *r = json_string_value(
            json_object_get(json_object_get(caps, "unavailable"), network));
        snprintf(why, len, "host %s cannot build network %s: %s", a->host, network,
                 r ? r : "not implemented by its agent");
        return false;
    }
    bool ok = false;
    size_t i;
    json_t *v;
    json_array_foreach(pl, i, v) if (json_is_string(v) && strcmp(json_string_value(v), placement) == 0)
        ok = true;
    if (!ok) {
        snprintf(why, len, "network %s does not support placement %s", network, placement);
        return false;
    }
    ok = false;
    json_array_foreach(json_object_get(caps, "traffic"), i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), traffic) == 0)
            ok = true;
    if (!ok) {
        snprintf(why, len, "host %s cannot generate traffic %s", a->host, traffic);
        return false;
    }
    return true;
}

/*
 * Picks `need` hosts of the batch's set that are neither leased nor
 * reserved, those with a connected agent first.  Fills pick; returns true
 * when enough are free.
 */
static bool
hosts_pick(ctl_t *self, const ctl_batch_t *b, const bool *reserved, int need, int *pick)
{
    int n = 0;
    for (int pass = 0; pass < 2 && n < need; pass++)
        for (int j = 0; j < b->nhosts && n < need; j++) {
            int h = b->host[j];
            bool conn = agent_connected(self, self->testbed->hosts[h].name);
            if (self->lease[h] || reserved[h] || (pass == 0) != conn)
                continue;
            pick[n++] = h;
        }
    return n == need;
}

static void step_leasing(ctl_t *self, ctl_run_t *r);

/*
 * Gives batch b its next queued run when its hosts can be leased.  Marks in
 * reserved the hosts it waits for.
 */
static void
batch_step(ctl_t *self, ctl_batch_t *b, bool *reserved)
{
    ctl_run_t *r = NULL;
    int64_t id = 0;
    char *text = NULL;
    if (b->in_flight || now_ms() < b->not_before_ms)
        return;
    int found = store_batch_next_run(self->store, b->id, &id, &text);
    if (found < 0) {
        log_error("scheduler query: %s", store_errmsg(self->store));
        return;
    }
    if (found == 0) {
        batch_maybe_finish(self, b->id);
        return;
    }
    json_t *params = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    const char *placement = json_string_value(json_object_get(params, "placement")) ?: "?";
    int need = strcmp(placement, "cross-host") == 0 ? 2 : 1, pick[2];
    if (b->nhosts < need) {
        char why[200];
        snprintf(why, sizeof why, "placement %s needs %d bare-metal hosts, the batch may use %d",
                 placement, need, b->nhosts);
        json_decref(params);
        if (store_run_set_state(self->store, id, "skipped", why) < 0) {
            store_failed(self, "a skipped run"); /* still queued: skipped once it can be written */
            return;
        }
        log_info("run %" PRId64 " skipped: %s", id, why);
        batch_maybe_finish(self, b->id);
        return;
    }
    if (!hosts_pick(self, b, reserved, need, pick)) {
        /* Wait for the lease; keep the first hosts of its set for it. */
        for (int j = 0, n = 0; j < b->nhosts && n < need; j++)
            if (!reserved[b->host[j]]) {
                reserved[b->host[j]] = true;
                n++;
            }
        json_decref(params);
        return;
    }
    for (int i = 0; i < CTL_RUNS_MAX && !r; i++)
        if (!self->runs[i].id)
            r = &self->runs[i];
    if (!r) {
        json_decref(params);
        return;
    }
    /* On record before anything is leased: a batch that cannot be marked
     * running starts no run. */
    if (store_batch_set_state(self->store, b->id, "running") < 0) {
        store_failed(self, "batch state");
        json_decref(params);
        return;
    }
    memset(r, 0, sizeof *r);
    r->id = id;
    r->batch = b;
    r->params = params;
    snprintf(r->network, sizeof r->network, "%s",
             json_string_value(json_object_get(params, "network")) ?: "?");
    snprintf(r->placement, sizeof r->placement, "%s", placement);
    static const int defaults[MATRIX_STAGES] = { CTL_LEASE_MS, CTL_SETUP_MS, CTL_START_MS,
                                                 CTL_COLLECT_GRACE_MS, CTL_TEARDOWN_MS };
    for (int s = 0; s < MATRIX_STAGES; s++)
        r->timeout_ms[s] = matrix_timeout_ms(b->m, (matrix_stage_t) s, defaults[s]);
    r->nhosts = need;
    r->host_idx[0] = pick[0];
    r->host_idx[1] = pick[need - 1];
    testbed_host_t *hc = &self->testbed->hosts[pick[0]], *hs = &self->testbed->hosts[pick[need - 1]];
    snprintf(r->hosts[0], sizeof r->hosts[0], "%s", hc->name);
    snprintf(r->hosts[1], sizeof r->hosts[1], "%s", hs->name);
    snprintf(r->peer_addr[0], 16, "%s", hs->address);
    snprintf(r->peer_addr[1], 16, "%s", hc->address);
    r->port = run_port(r->id);
    for (int i = 0; i < need; i++)
        self->lease[pick[i]] = id;
    b->in_flight = id;
    run_enter(self, r, STAGE_LEASING, r->timeout_ms[MATRIX_LEASE]);
    log_info("run %" PRId64 " (batch %" PRId64 "): %s %s on %s%s%s", r->id, b->id, r->network,
             r->placement, r->hosts[0], need == 2 ? "," : "", need == 2 ? r->hosts[1] : "");
    step_leasing(self, r); /* SETUP now when the agents are there, else at a later tick */
}

/*
 * The BGP identity of host i (0 client, 1 server) of a cross-host run and of
 * its peer, for network routing: {asn, router_id, peers: [{addr, asn}]}.
 * ASNs come from the 16-bit private range 64512..65534 (RFC 6996): 64512 +
 * the host's index in the testbed file, so every host of a testbed of up to
 * 1023 hosts has its own; router ids are the hosts' underlay addresses,
 * unicast and unique because testbed addresses are (RFC 6286 only asks for
 * uniqueness within the AS, eBGP peers with equal ids refuse each other:
 * CASES.md case 6).  Fresh object.
 */
static json_t *
bgp_assign(const testbed_t *tb, const ctl_run_t *r, int i)
{
    int self_ix = 0, peer_ix = 0;
    for (int k = 0; k < tb->host_count; k++) {
        if (strcmp(tb->hosts[k].name, r->hosts[i]) == 0)
            self_ix = k;
        if (strcmp(tb->hosts[k].name, r->hosts[1 - i]) == 0)
            peer_ix = k;
    }
    return json_pack("{s:i, s:s, s:[{s:s, s:i}]}", "asn", 64512 + self_ix % 1023, "router_id",
                     tb->hosts[self_ix].address, "peers", "addr", tb->hosts[peer_ix].address,
                     "asn", 64512 + peer_ix % 1023);
}


/* Every unfinished batch, oldest first, gets a chance at its next run. */
static void
schedule_batches(ctl_t *self)
{
    bool reserved[CTL_HOSTS_MAX] = { false };
    int64_t ids[CTL_BATCHES_MAX];
    /* Only our testbed's batches: a database another testbed used before
     * keeps its batches for that testbed's controller (docs/cntb-controller.md). */
    int n = store_batches_unfinished(self->store, self->testbed->name, ids, CTL_BATCHES_MAX);
    if (n < 0)
        return;
    /* A write that fails on the way (store_failed) stops the round: no run
     * of a later batch starts while the store cannot be written. */
    for (int i = 0; i < n && !self->store_down; i++) {
        ctl_batch_t *b = batch_get(self, ids[i]);
        if (b)
            batch_step(self, b, reserved);
    }
    /* Batches cancelled or finished elsewhere leave the cache once idle. */
    for (int i = 0; i < CTL_BATCHES_MAX; i++) {
        ctl_batch_t *b = &self->batches[i];
        bool listed = false;
        for (int j = 0; j < n && !listed; j++)
            listed = ids[j] == b->id;
        if (b->id && !listed && !b->in_flight)
            batch_forget(b);
    }
}

/* Leasing: the hosts are ours; wait for their agents, check capabilities, send SETUP. */
static void
step_leasing(ctl_t *self, ctl_run_t *r)
{
    const char *traffic = json_string_value(json_object_get(r->params, "traffic")) ?: "?";
    const char *nesting = json_string_value(json_object_get(r->params, "nesting")) ?: "bare";
    bool vm = strcmp(nesting, "vm") == 0;
    if (strcmp(nesting, "bare") != 0 && !vm) {
        snprintf(r->reason, sizeof r->reason, "nesting %s is not supported", nesting);
        run_finish(self, r, "skipped");
        return;
    }
    bool cross = r->nhosts == 2;
    /* nesting vm: the containers go into a VM on each leased host (ctl_vm.c starts it
     * on demand and reuses it for the batch); both hosts' VMs boot at once. */
    bool vm_wait = false;
    for (int i = 0; vm && i < r->nhosts; i++) {
        const testbed_host_t *parent = &self->testbed->hosts[r->host_idx[i]];
        char name[32], addr[16];
        switch (ctl_vm_lease(self->vms, r->batch->id, parent->name, now_ms(), vm_agent_connected,
                             self, name, addr, r->reason, sizeof r->reason)) {
        case CTL_VM_READY: break;
        case CTL_VM_WAIT: vm_wait = true; continue;
        case CTL_VM_NONE: run_finish(self, r, "skipped"); return;
        default: run_finish(self, r, "failed"); return;
        }
        snprintf(r->hosts[i], sizeof r->hosts[i], "%s", name);
        snprintf(r->peer_addr[1 - i], 16, "%s", addr);
    }
    if (vm_wait)
        return;
    if (vm && !cross)
        snprintf(r->hosts[1], sizeof r->hosts[1], "%s", r->hosts[0]);
    for (int i = 0; i < r->nhosts; i++) {
        ctl_agent_t *a = agent_find(self, r->hosts[i]);
        if (!a || !a->connected) {
            if (now_ms() > r->deadline_ms) {
                snprintf(r->reason, sizeof r->reason,
                         "agent of host %s not connected within %d s", r->hosts[i],
                         r->timeout_ms[MATRIX_LEASE] / 1000);
                run_finish(self, r, "skipped");
            }
            return; /* wait for it */
        }
        char why[400];
        if (!caps_allow(a, r->network, r->placement, traffic, why, sizeof why)) {
            snprintf(r->reason, sizeof r->reason, "%s", why);
            run_finish(self, r, "skipped");
            return;
        }
    }
    /* Like a run's state (run_enter): the run goes on, the store outage stops
     * new ones; a restart queues it again. */
    if (store_run_set_hosts(self->store, r->id, r->hosts[0], r->hosts[1]) < 0)
        store_failed(self, "hosts of a run");
    for (int i = 0; i < r->nhosts; i++) {
        ctl_agent_t *a = agent_find(self, r->hosts[i]);
        if (a && json_is_object(a->meta) &&
            store_host_meta_insert(self->store, r->batch->id, r->hosts[i], a->meta) < 0) {
            log_error("run %" PRId64 ": host metadata: %s", r->id, store_errmsg(self->store));
            store_failed(self, "host metadata");
        }
    }
    run_enter(self, r, STAGE_SETUP, r->timeout_ms[MATRIX_SETUP]);
    for (int i = 0; i < r->nhosts; i++) {
        json_t *b = json_pack("{s:I, s:s, s:s, s:b, s:b, s:O}", "run", (json_int_t) r->id,
                              "network", r->network, "placement", r->placement, "client",
                              i == 0, "server", i == 1 || r->nhosts == 1, "params", r->params);
        if (cross)
            json_object_set_new(b, "peer_addr", json_string(r->peer_addr[i]));
        json_object_set_new(b, "port", json_integer(r->port));
        if (cross)
            json_object_set_new(b, "bgp", bgp_assign(self->testbed, r, i));
        send_to(self, r->hosts[i], MSG_SETUP, b);
    }
}

static int
host_index(ctl_run_t *r, const char *host)
{
    for (int i = 0; i < r->nhosts; i++)
        if (strcmp(r->hosts[i], host) == 0)
            return i;
    return -1;
}

static void
start_server(ctl_t *self, ctl_run_t *r)
{
    run_enter(self, r, STAGE_RUNNING, r->timeout_ms[MATRIX_START]);
    send_to(self, r->hosts[r->nhosts - 1], MSG_START,
            json_pack("{s:I, s:s, s:i, s:O}", "run", (json_int_t) r->id, "role", "server", "port",
                      r->port, "params", r->params));
}

static void
start_client(ctl_t *self, ctl_run_t *r)
{
    /* The warm-up (omit_s) runs before the measured duration_s. */
    double duration = json_number_value(json_object_get(r->params, "duration_s")) +
                      json_number_value(json_object_get(r->params, "omit_s"));
    run_enter(self, r, STAGE_COLLECT, (int64_t) (duration * 1000) + r->timeout_ms[MATRIX_COLLECT]);
    send_to(self, r->hosts[0], MSG_START,
            json_pack("{s:I, s:s, s:i, s:s, s:O}", "run", (json_int_t) r->id, "role", "client",
                      "port", r->port, "server_addr", r->server_addr, "params", r->params));
}

static void
on_agent_msg(ctl_t *self, const char *host, msg_type_t type, json_t *b)
{
    int64_t run = json_integer_value(json_object_get(b, "run"));
    ctl_run_t *r = run_by_id(self, run);
    int hi = r ? host_index(r, host) : -1;
    switch (type) {
    case MSG_HEARTBEAT: return;
    case MSG_SETUP_OK:
        if (!r || r->stage != STAGE_SETUP || hi < 0)
            return;
        r->acked[hi] = true;
        if (hi == r->nhosts - 1) {
            const char *sa = json_string_value(json_object_get(b, "server_addr"));
            if (!sa) {
                run_fail(self, r, "host %s set up without a server address", host);
                return;
            }
            snprintf(r->server_addr, sizeof r->server_addr, "%s", sa);
        }
        for (int i = 0; i < r->nhosts; i++)
            if (!r->acked[i])
                return;
        start_server(self, r);
        return;
    case MSG_START_OK: {
        const char *role = json_string_value(json_object_get(b, "role"));
        if (r && r->stage == STAGE_RUNNING && strcmp(role, "server") == 0 && !r->server_ready) {
            r->server_ready = true;
            start_client(self, r);
        }
        return;
    }
    case MSG_RESULT: {
        int seq = (int) json_integer_value(json_object_get(b, "seq"));
        if (!r || r->stage != STAGE_COLLECT || hi < 0) {
            /* An attempt that is over (cut short by a restart, failed, timed out): its
             * result does not count.  Acknowledge so that the agent forgets it. */
            log_info("run %" PRId64 ": result seq %d from %s for no attempt in collect: dropped",
                     run, seq, host);
            send_to(self, host, MSG_RESULT_ACK,
                    json_pack("{s:I, s:i}", "run", (json_int_t) run, "seq", seq));
            return;
        }
        int rc = store_result_insert(self->store, run, seq, host, json_object_get(b, "result"));
        if (rc < 0) {
            /* Never acknowledge what is not stored: the agent keeps the result and
             * re-sends it; the run waits in collect until the store works again. */
            store_failed(self, "result");
            log_warn("run %" PRId64 ": result seq %d from %s not stored, not acknowledged", run,
                     seq, host);
            return;
        }
        store_ok(self);
        send_to(self, host, MSG_RESULT_ACK, json_pack("{s:I, s:i}", "run", (json_int_t) run, "seq", seq));
        if (rc == 0)
            log_info("run %" PRId64 ": duplicate result seq %d from %s acknowledged", run, seq, host);
        else if (r->adopted)
            log_info("run %" PRId64 ": result seq %d from %s re-delivered after the controller "
                     "restart: stored",
                     run, seq, host);
        r->result_stored = true;
        run_teardown(self, r);
        return;
    }
    case MSG_TEARDOWN_OK:
        if (!r || r->stage != STAGE_TEARDOWN || hi < 0)
            return;
        r->acked[hi] = true;
        const char *leaks = json_string_value(json_object_get(b, "leaks"));
        if (leaks && leaks[0] && !r->failed) {
            snprintf(r->reason, sizeof r->reason, "teardown on %s left: %.500s", host, leaks);
            r->failed = true;
        }
        for (int i = 0; i < r->nhosts; i++)
            if (!r->acked[i])
                return;
        run_finish(self, r, r->skipped && !r->failed ? "skipped"
                            : r->failed || !r->result_stored ? "failed" : "done");
        return;
    case MSG_VM_STARTED:
    case MSG_VM_STOPPED: ctl_vm_on_message(self->vms, host, type, b); return;
    case MSG_ERROR: {
        const char *m = json_string_value(json_object_get(b, "message"));
        const char *stage = json_string_value(json_object_get(b, "stage")) ?: "?";
        log_warn("agent %s: %s: %s", host, stage, m);
        /* An agent that refuses the run's parameters before building
         * anything (a mode that can never carry the traffic) ends it as
         * skipped with its reason; teardown still runs on every host. */
        if (r && hi >= 0 && r->stage == STAGE_SETUP && strcmp(stage, "skip") == 0 &&
            !r->failed) {
            snprintf(r->reason, sizeof r->reason, "%s: %s", host, m ? m : "refused");
            r->skipped = true;
            run_teardown(self, r);
            return;
        }
        if (r && hi >= 0 && r->stage != STAGE_TEARDOWN)
            run_fail(self, r, "%s on %s: %s", stage, host, m);
        return;
    }
    default: {
        char m[96];
        snprintf(m, sizeof m, "%s is not a message a controller accepts", proto_type_name(type));
        send_to(self, host, MSG_ERROR, json_pack("{s:s, s:s}", "message", m, "stage", "protocol"));
    }
    }
}

static void
step_timeouts(ctl_t *self, ctl_run_t *r)
{
    if (r->id == 0 || now_ms() <= r->deadline_ms)
        return;
    if (r->stage == STAGE_COLLECT && self->store_down) {
        /* Its result may be waiting on the agent for the store: hold. */
        r->deadline_ms = now_ms() + CTL_STORE_PROBE_MS;
        return;
    }
    switch (r->stage) {
    case STAGE_SETUP:
        run_fail(self, r, "setup timed out after %d s", r->timeout_ms[MATRIX_SETUP] / 1000);
        break;
    case STAGE_RUNNING:
        run_fail(self, r, "server did not start within %d s", r->timeout_ms[MATRIX_START] / 1000);
        break;
    case STAGE_COLLECT:
        if (!r->adopted) {
            run_fail(self, r, "no result before the collect timeout");
            break;
        }
        /* An adopted run: the result is not coming (the agent restarted, or
         * died, or the client never finished).  A host whose agent has not
         * said HELLO in all that time is treated as lost: not waited for, its
         * TEARDOWN owed to it (runs_lose_host). */
        run_fail(self, r, "no result after controller restart");
        if (!r->id || r->stage != STAGE_TEARDOWN)
            break;
        bool all = true;
        for (int h = 0; h < r->nhosts; h++) {
            if (!agent_connected(self, r->hosts[h]))
                r->acked[h] = true;
            all = all && r->acked[h];
        }
        if (all)
            run_finish(self, r, "failed");
        break;
    case STAGE_TEARDOWN:
        for (int i = 0; i < r->nhosts; i++)
            if (!r->acked[i] && !r->failed) {
                snprintf(r->reason, sizeof r->reason, "teardown timed out on host %s", r->hosts[i]);
                r->failed = true;
            }
        run_finish(self, r, "failed");
        break;
    default: break;
    }
}

/*
 * An agent went silent (lost: killed, its host down, the network cut): its
 * runs past leasing fail now with reason "agent lost: ..." rather than at
 * their stage timeout, the other hosts of the run get their TEARDOWN, and the
 * teardown does not wait for the lost host (a run in leasing waits for the
 * agent to come back, up to lease_s).  The lost agent removes what is left
 * of the run when it starts again (agent_clean.h) or when the TEARDOWN owed
 * to it arrives after it reconnects.
 */
static void
runs_lose_host(ctl_t *self, const char *host, int64_t silent_since_ms)
{
    for (int i = 0; i < CTL_RUNS_MAX; i++) {
        ctl_run_t *r = &self->runs[i];
        int hi = r->id ? host_index(r, host) : -1;
        if (hi < 0 || r->stage <= STAGE_LEASING)
            continue;
        if (r->stage == STAGE_TEARDOWN) {
            if (!r->failed) {
                snprintf(r->reason, sizeof r->reason, "agent lost: host %s silent during teardown",
                         host);
                r->failed = true;
                r->failed_ms = now_ms();
                r->failed_stage = STAGE_TEARDOWN;
            } else if (r->failed_ms >= silent_since_ms && strncmp(r->reason, "agent lost", 10)) {
                /* It failed on another host after this one had gone silent (a client
                 * whose server vanished): the silence is the cause, the rest its effect. */
                char was[sizeof r->reason];
                snprintf(was, sizeof was, "%s", r->reason);
                snprintf(r->reason, sizeof r->reason,
                         "agent lost: host %s silent during %s (then %.500s)", host,
                         stage_names[r->failed_stage], was);
                log_warn("run %" PRId64 ": %s", r->id, r->reason);
            }
        } else {
            run_fail(self, r, "agent lost: host %s silent during %s", host, stage_names[r->stage]);
        }
        /* Owed to it: when it says HELLO again it tears the run down (it may
         * have come back without restarting, after a partition). */
        stale_add(self, r->id, host);
        for (int h = 0; h < r->nhosts; h++)
            if (strcmp(r->hosts[h], host) == 0)
                r->acked[h] = true;
        bool all = true;
        for (int h = 0; h < r->nhosts; h++)
            all = all && r->acked[h];
        if (all)
            run_finish(self, r, "failed");
    }
}

/* ---- the queue -------------------------------------------------------------- */

/*
 * Checks a matrix against this controller's testbed: $.testbed names it,
 * $.hosts are bare-metal hosts of it, and there are enough of them for each
 * point's placement (matrix_check_host_count).  0, or -1 with a ferr-style message.
 */
static int
matrix_fits(ctl_t *self, const matrix_t *m, const char *file, const char *text, char *err)
{
    const char *tb = matrix_testbed(m);
    int hosts[CTL_HOSTS_MAX];
    char why[256];
    if (tb && strcmp(tb, self->testbed->name) != 0) {
        ferr_set(err, file, text, strlen(text), "$.testbed",
                 "the matrix is for testbed %s; this controller runs testbed %s", tb,
                 self->testbed->name);
        return -1;
    }
    int n = hosts_of(self, m, hosts, why, sizeof why);
    if (n < 0) {
        char path[32];
        const char *colon = strchr(why, ':');
        snprintf(path, sizeof path, "%.*s", colon ? (int) (colon - why) : 0, why);
        ferr_set(err, file, text, strlen(text), path, "%s", colon ? colon + 2 : why);
        return -1;
    }
    return matrix_check_host_count(m, n, self->testbed->name, file, text, err);
}

/*
 * Makes the batch of queue entry id now: expands its matrix, stores the
 * runs, advances the entry.  Returns the batch id, or -1 (the entry is
 * marked failed with the reason).
 */
static int64_t
queue_start(ctl_t *self, int64_t id, time_t now)
{
    queue_entry_t e;
    char err[FERR_MAX];
    int64_t batch = -1;
    matrix_t *m = NULL;
    char **params = NULL;
    int *point = NULL, *rep = NULL, n = 0;
    int64_t seed = -1; /* the batch's own seed of a random order (queue_order) */
    if (queue_get(self->store, id, &e) < 0)
        return -1;
    m = matrix_load_text(e.file, e.matrix, strlen(e.matrix), err);
    if (!m || matrix_fits(self, m, e.file, e.matrix, err) < 0) {
        log_error("queue entry %" PRId64 ": %s", id, err);
        queue_failed(self->store, id, err);
        goto out;
    }
    n = matrix_run_count(m);
    params = calloc((size_t) n, sizeof *params);
    point = calloc((size_t) n, sizeof *point);
    rep = calloc((size_t) n, sizeof *rep);
    if (!params || !point || !rep || queue_order(m, &e, &seed) < 0) {
        queue_failed(self->store, id, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        params[i] = json_dumps(matrix_run_params(m, i), JSON_COMPACT | JSON_PRESERVE_ORDER);
        point[i] = matrix_run_point(m, i);
        rep[i] = matrix_run_repetition(m, i);
    }
    time_t next = e.every_s > 0 ? schedule_next(e.at, e.every_s, e.calendar, now) : 0;
    if (next < 0)
        next = 0;
    char *doc = json_dumps(matrix_document(m), JSON_COMPACT | JSON_PRESERVE_ORDER);
    /* The batch and the entry's advance in one transaction: a write that
     * fails leaves neither, the entry stays due, and the store-outage
     * machinery (logged once) holds the queue until a write works again. */
    batch = queue_start_batch(self->store, id, matrix_name(m), doc, self->testbed->name, n,
                              (const char *const *) params, point, rep, seed, next);
    free(doc);
    if (batch < 0) {
        char what[64];
        snprintf(what, sizeof what, "batch of queue entry %" PRId64, id);
        store_failed(self, what);
        goto out;
    }
    char when[32] = "";
    if (next > 0)
        schedule_format_local(next, when, sizeof when);
    log_info("queue entry %" PRId64 ": batch %" PRId64 " of matrix %s, %d runs%s%s", id, batch,
             matrix_name(m), n, next > 0 ? "; next start " : "", when);
out:
    for (int i = 0; params && i < n; i++)
        free(params[i]);
    free(params);
    free(point);
    free(rep);
    matrix_destroy(&m);
    queue_entry_free(&e);
    return batch;
}

static void
queue_tick(ctl_t *self)
{
    int64_t ids[16];
    time_t now = time(NULL);
    int n = queue_due(self->store, self->testbed->name, now, ids, 16);
    for (int i = 0; i < n && !self->store_down; i++)
        queue_start(self, ids[i], now);
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
            send_to(self, identity, MSG_ERROR,
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
            send_to(self, identity, MSG_ERROR, json_pack("{s:s, s:s}", "message", m, "stage", "hello"));
            goto out;
        }
        ctl_agent_t *a = agent_find(self, host);
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
        a->last_seen_ms = now_ms();
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
        send_to(self, host, MSG_WELCOME, welcome);
        /* TEARDOWNs owed to this host (runs cut short by a restart, lost while
         * it was away, adopted runs ending before it came back): before
         * anything new goes to it (one connection keeps the order). */
        for (int i = 0; i < self->nstale;) {
            if (strcmp(self->stale[i].host, host) == 0) {
                log_info("run %" PRId64 ": teardown owed to %s sent", self->stale[i].run, host);
                send_to(self, host, MSG_TEARDOWN,
                        json_pack("{s:I}", "run", (json_int_t) self->stale[i].run));
                self->stale[i] = self->stale[--self->nstale];
            } else {
                i++;
            }
        }
        goto out;
    }
    ctl_agent_t *a = agent_find(self, identity);
    if (!a || !a->connected) {
        /* The agent takes ERROR stage "hello" as a request to say HELLO again
         * (a controller that restarted does not know it yet). */
        send_to(self, identity, MSG_ERROR,
                json_pack("{s:s, s:s}", "message", "say HELLO first", "stage", "hello"));
        goto out;
    }
    a->last_seen_ms = now_ms();
    on_agent_msg(self, identity, type, b);
    /* A run ended: its batch's next run (and a waiting batch's) goes out now
     * rather than at the next tick (due -> dispatched, tests/bench/scale). */
    if (self->reschedule && !self->store_down) {
        self->reschedule = false;
        schedule_batches(self);
    }
out:
    json_decref(b);
    free(identity);
    return 0;
}

static json_t *
cli_error(const char *message, int code)
{
    return json_pack("{s:b, s:s, s:i}", "ok", 0, "error", message, "code", code);
}

/*
 * queue_add {file, matrix (text), at (epoch seconds, optional: now), every_s,
 * every (text), calendar}: validates the matrix (exit code 2 on refusal,
 * nothing stored), stores the entry and, when it is due, makes its batch at
 * once.  Answers {ok, queue, batch (0 when not started yet), runs, next_start}.
 */
static json_t *
cli_queue_add(ctl_t *self, json_t *req)
{
    const char *file = json_string_value(json_object_get(req, "file"));
    const char *text = json_string_value(json_object_get(req, "matrix"));
    json_t *jat = json_object_get(req, "at");
    int64_t every_s = json_integer_value(json_object_get(req, "every_s"));
    const char *every = json_string_value(json_object_get(req, "every"));
    bool calendar = json_is_true(json_object_get(req, "calendar"));
    time_t now = time(NULL), at = jat ? (time_t) json_integer_value(jat) : now;
    char err[FERR_MAX];
    if (self->store_down) {
        char m[400];
        snprintf(m, sizeof m, "the database cannot be written (%s): nothing queued", self->store_why);
        return cli_error(m, 1);
    }
    if (!file || !text || (jat && !json_is_integer(jat)) || every_s < 0 ||
        every_s > SCHEDULE_EVERY_MAX_S || (every_s > 0 && !every))
        return cli_error("queue_add needs file, matrix, and a valid at/every", 2);
    if (strlen(text) != json_string_length(json_object_get(req, "matrix")))
        return cli_error("the matrix text contains a NUL byte", 2);
    matrix_t *m = matrix_load_text(file, text, strlen(text), err);
    if (!m || matrix_fits(self, m, file, text, err) < 0) {
        matrix_destroy(&m);
        return cli_error(err, 2);
    }
    int runs = matrix_run_count(m);
    int64_t id = queue_add(self->store, matrix_name(m), file, text, self->testbed->name, at,
                           every_s, every, calendar);
    matrix_destroy(&m);
    if (id < 0)
        return cli_error("the queue entry could not be stored", 1);
    int64_t batch = 0;
    if (at <= now) {
        batch = queue_start(self, id, now);
        if (batch < 0)
            return cli_error("the batch could not be made (cntb queue list shows why)", 1);
    }
    char next[32] = "";
    json_t *answer = json_pack("{s:b, s:I, s:I, s:i}", "ok", 1, "queue", (json_int_t) id, "batch",
                               (json_int_t) batch, "runs", runs);
    if (store_queue_next_start(self->store, id, next, sizeof next) < 0)
        next[0] = '\0'; /* the answer only lacks next_start */
    if (next[0])
        json_object_set_new(answer, "next_start", json_string(next));
    log_info("queue entry %" PRId64 " added: %s%s%s", id, file, next[0] ? ", next start " : "",
             next);
    return answer;
}

/* submit {file, matrix}: the walking skeleton's request, now queue_add for now. */
static json_t *
cli_submit(ctl_t *self, json_t *req)
{
    json_object_del(req, "at");
    json_object_del(req, "every_s");
    return cli_queue_add(self, req);
}

static json_t *
cli_queue_cancel(ctl_t *self, json_t *req)
{
    json_int_t id = json_integer_value(json_object_get(req, "id"));
    int64_t batch = 0;
    int rc = queue_cancel(self->store, id, &batch);
    if (rc < 0)
        return cli_error("no such queue entry", 2);
    if (batch) {
        /* A run in flight finishes; its batch then ends as cancelled. */
        for (int i = 0; i < CTL_BATCHES_MAX; i++)
            if (self->batches[i].id == batch && !self->batches[i].in_flight)
                batch_forget(&self->batches[i]);
        batch_maybe_finish(self, batch);
    }
    log_info("queue entry %lld cancelled%s", (long long) id, rc == 1 ? " (already)" : "");
    return json_pack("{s:b, s:I, s:I, s:b}", "ok", 1, "queue", id, "batch", (json_int_t) batch,
                     "already", rc == 1);
}

static json_t *
cli_batch(ctl_t *self, json_t *req)
{
    json_int_t batch = json_integer_value(json_object_get(req, "batch"));
    char *bstate = NULL;
    json_t *runs = store_batch_runs(self->store, batch, &bstate);
    if (!runs)
        return cli_error("no such batch", 2);
    json_t *answer = json_pack("{s:b, s:s, s:o}", "ok", 1, "state", bstate, "runs", runs);
    free(bstate);
    return answer;
}

static int
on_cli(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    ctl_t *self = arg;
    char *text = zstr_recv(sock);
    if (!text)
        return 0;
    json_t *req = json_loads(text, 0, NULL);
    free(text);
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    json_t *answer;
    if (!cmd)
        answer = cli_error("bad request", 2);
    else if (strcmp(cmd, "ping") == 0) {
        answer = json_pack("{s:b, s:s, s:s, s:s, s:i, s:s}", "ok", 1, "testbed",
                           self->testbed->name, "testbed_file", self->cfg->testbed_path, "db",
                           self->cfg->db_path, "pid", (int) getpid(), "store",
                           self->store_down ? "not writable" : "ok");
        if (self->store_down)
            json_object_set_new(answer, "store_error", json_string(self->store_why));
    }
    else if (strcmp(cmd, "agents") == 0) {
        json_t *list = json_array();
        for (int i = 0; i < self->nagents; i++) {
            ctl_agent_t *a = &self->agents[i];
            json_array_append_new(list, json_pack("{s:s, s:b, s:s, s:s, s:O*, s:O*}", "host",
                                                  a->host, "connected", a->connected, "kind",
                                                  a->kind, "peer", a->peer, "capabilities",
                                                  a->caps, "meta", a->meta));
        }
        answer = json_pack("{s:b, s:o, s:i}", "ok", 1, "agents", list, "hosts",
                           self->testbed->host_count);
    } else if (strcmp(cmd, "submit") == 0)
        answer = cli_submit(self, req);
    else if (strcmp(cmd, "queue_add") == 0)
        answer = cli_queue_add(self, req);
    else if (strcmp(cmd, "queue_cancel") == 0)
        answer = cli_queue_cancel(self, req);
    else if (strcmp(cmd, "queue_list") == 0) {
        json_t *list = queue_list(self->store);
        answer = list ? json_pack("{s:b, s:o}", "ok", 1, "queue", list)
                      : cli_error("the queue could not be read", 1);
    } else if (strcmp(cmd, "batch") == 0)
        answer = cli_batch(self, req);
    else if (strcmp(cmd, "stop") == 0) {
        answer = json_pack("{s:b}", "ok", 1);
        self->stop = true;
    } else
        answer = cli_error("unknown command", 2);
    char *out = json_dumps(answer, JSON_COMPACT);
    zstr_send(sock, out);
    free(out);
    json_decref(answer);
    json_decref(req);
    return self->stop ? -1 : 0;
}

static int
on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ctl_t *self = arg;
    int64_t now = now_ms();
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
            runs_lose_host(self, a->host, a->last_seen_ms);
            continue;
        }
        if (beat)
            send_to(self, a->host, MSG_HEARTBEAT, NULL);
    }
    store_probe(self);
    for (int i = 0; i < CTL_RUNS_MAX; i++) /* ends that could not be stored */
        if (self->runs[i].id && self->runs[i].finish_state[0] && !self->store_down) {
            char state[16];
            snprintf(state, sizeof state, "%s", self->runs[i].finish_state);
            self->runs[i].finish_state[0] = '\0';
            run_finish(self, &self->runs[i], state);
        }
    if (!self->store_down) { /* no new batch, no new run while it cannot be written */
        queue_tick(self);
        self->reschedule = false;
        schedule_batches(self);
    }
    for (int i = 0; i < CTL_RUNS_MAX; i++) {
        ctl_run_t *r = &self->runs[i];
        if (r->id && r->finish_state[0])
            continue;
        if (r->id && r->stage == STAGE_LEASING)
            step_leasing(self, r);
        if (r->id)
            step_timeouts(self, r);
    }
    return 0;
}

/*
 * Adoption at start-up (docs/faults.md "The controller dies").  A run the
 * database shows in collect has had its client started: the controller
 * writes "collect" before the client's START goes out (run_enter), so the
 * measurement is done or under way on the agent, which keeps its RESULT
 * until RESULT_ACK and re-sends it on every WELCOME.  Rather than throwing it
 * away, the run is rebuilt in memory as it was (hosts leased, stage collect,
 * the attempt and the result key (run, seq) unchanged) and waits for the
 * RESULT up to duration_s + omit_s + collect_s from the restart: the client
 * may have been started just before the controller died, and this bound is
 * the one the collect stage had.  The result is then stored once,
 * acknowledged, and the run goes to teardown and done; if it does not come,
 * the attempt fails "no result after controller restart" and is retried per
 * `retries`.  A run in teardown whose result is stored (the controller died
 * between storing and the end of teardown; collect with its result stored
 * likewise) is adopted in teardown: its hosts get TEARDOWN on HELLO and it
 * ends done.
 *
 * Not adopted, requeued as before: runs in leasing, setup and running (the
 * stored "running" means the client's START has not gone out — the server
 * alone never sends a RESULT — so waiting would only turn a prompt requeue
 * into a failed attempt); teardown without a stored result (a failure or a
 * skip on its way out); nesting vm (the VM leases of ctl_vm.c are not on
 * record); runs whose batch, hosts or slot cannot be had.
 *
 * Fills ids (up to max) with the adopted run ids; returns their count.
 */
static int
runs_adopt(ctl_t *self, int64_t *ids, int max)
{
    static const int defaults[MATRIX_STAGES] = { CTL_LEASE_MS, CTL_SETUP_MS, CTL_START_MS,
                                                 CTL_COLLECT_GRACE_MS, CTL_TEARDOWN_MS };
    store_run_row_t *rows = NULL;
    int n = 0;
    int nrows = store_runs_adoptable(self->store, self->testbed->name, &rows);
    if (nrows < 0) {
        log_error("adoption query: %s", store_errmsg(self->store));
        return 0;
    }
    for (int row = 0; row < nrows && n < max; row++) {
        int64_t id = rows[row].id;
        const char *ch = rows[row].client_host;
        const char *sh = rows[row].server_host;
        bool has_result = rows[row].has_result;
        json_t *params = rows[row].params_json ? json_loads(rows[row].params_json, 0, NULL) : NULL;
        const char *placement = json_string_value(json_object_get(params, "placement")) ?: "?";
        const char *nesting = json_string_value(json_object_get(params, "nesting")) ?: "bare";
        int need = strcmp(placement, "cross-host") == 0 ? 2 : 1;
        int hidx[2] = { -1, -1 };
        for (int k = 0; k < self->testbed->host_count && ch && sh; k++) {
            if (strcmp(self->testbed->hosts[k].name, ch) == 0)
                hidx[0] = k;
            if (strcmp(self->testbed->hosts[k].name, sh) == 0)
                hidx[1] = k;
        }
        ctl_run_t *r = NULL;
        for (int i = 0; i < CTL_RUNS_MAX && !r; i++)
            if (!self->runs[i].id)
                r = &self->runs[i];
        ctl_batch_t *b = NULL;
        const char *why = NULL;
        if (!json_is_object(params) || strcmp(nesting, "bare") != 0)
            why = "not a bare run";
        else if (hidx[0] < 0 || hidx[1] < 0 || (need == 1) != (hidx[0] == hidx[1]))
            why = "its hosts are not those of this testbed";
        else if (self->lease[hidx[0]] || self->lease[hidx[1]])
            why = "a host is held by another adopted run";
        else if (!r)
            why = "no free run slot";
        else if (!(b = batch_get(self, rows[row].batch)) || b->in_flight)
            why = "its batch cannot be loaded or has another run in flight";
        if (why) {
            log_warn("run %" PRId64 " not adopted (%s): queued again", id, why);
            json_decref(params);
            continue;
        }
        memset(r, 0, sizeof *r);
        r->id = id;
        r->batch = b;
        r->params = params;
        r->adopted = true;
        snprintf(r->network, sizeof r->network, "%s",
                 json_string_value(json_object_get(params, "network")) ?: "?");
        snprintf(r->placement, sizeof r->placement, "%s", placement);
        for (int s = 0; s < MATRIX_STAGES; s++)
            r->timeout_ms[s] = matrix_timeout_ms(b->m, (matrix_stage_t) s, defaults[s]);
        r->nhosts = need;
        for (int i = 0; i < 2; i++) {
            testbed_host_t *h = &self->testbed->hosts[hidx[i]];
            r->host_idx[i] = hidx[i];
            snprintf(r->hosts[i], sizeof r->hosts[i], "%s", h->name);
            snprintf(r->peer_addr[1 - i], 16, "%s", h->address);
            self->lease[hidx[i]] = id;
        }
        r->port = run_port(r->id);
        r->server_ready = true;
        b->in_flight = id;
        ids[n++] = id;
        if (has_result) {
            r->result_stored = true;
            run_teardown(self, r); /* every host: owed on HELLO */
            log_warn("run %" PRId64 " (batch %" PRId64 ") adopted after the restart: its result "
                     "is stored, teardown on %s%s%s when their agents say HELLO",
                     id, b->id, r->hosts[0], need == 2 ? "," : "", need == 2 ? r->hosts[1] : "");
            continue;
        }
        double wait_s = json_number_value(json_object_get(params, "duration_s")) +
                        json_number_value(json_object_get(params, "omit_s")) +
                        r->timeout_ms[MATRIX_COLLECT] / 1000.0;
        r->stage = STAGE_COLLECT; /* as stored: no write */
        r->stage_since_ms = now_ms();
        r->deadline_ms = r->stage_since_ms + (int64_t) (wait_s * 1000);
        log_warn("run %" PRId64 " (batch %" PRId64 ") adopted in collect after the restart: "
                 "waiting up to %.1f s for the result of %s",
                 id, b->id, wait_s, r->hosts[0]);
    }
    store_run_rows_free(&rows, nrows);
    return n;
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
    /* Runs in collect are adopted (runs_adopt); the other runs in flight
     * when the controller stopped are queued again and their hosts get a
     * TEARDOWN when they say HELLO. */
    static int64_t adopted[CTL_RUNS_MAX];
    int nadopted = runs_adopt(&self, adopted, CTL_RUNS_MAX);
    store_run_row_t *flying = NULL;
    int nflying = store_runs_in_flight(self.store, self.testbed->name, &flying);
    for (int i = 0; i < nflying; i++) {
        if (run_by_id(&self, flying[i].id)) /* adopted: no stale TEARDOWN before its result */
            continue;
        if (flying[i].client_host)
            stale_add(&self, flying[i].id, flying[i].client_host);
        if (flying[i].server_host)
            stale_add(&self, flying[i].id, flying[i].server_host);
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
    zloop_reader(self.loop, self.cli_sock, on_cli, &self);
    zloop_timer(self.loop, CTL_TICK_MS, 0, on_tick, &self);
    log_info("controller of testbed %s: agents on tcp://%s:%d, database %s", self.testbed->name,
             self.testbed->ctl_address, self.testbed->ctl_port, cfg->db_path);
    zloop_start(self.loop);
    for (int i = 0; i < CTL_RUNS_MAX; i++) {
        ctl_run_t *r = &self.runs[i];
        if (!r->id) /* stopping mid-run: agents tear down; the run is requeued on restart */
            continue;
        for (int h = 0; h < r->nhosts; h++)
            send_to(&self, r->hosts[h], MSG_TEARDOWN, json_pack("{s:I}", "run", (json_int_t) r->id));
        /* Not on record: the run is between leasing and teardown in the
         * database, which a restart requeues as well (store_requeue_interrupted). */
        if (store_run_set_state(self.store, r->id, "interrupted", "controller stopped") < 0)
            log_error("run %" PRId64 ": interrupted, not recorded: %s", r->id,
                      store_errmsg(self.store));
        run_clear(r);
    }
    for (int i = 0; i < CTL_BATCHES_MAX; i++)
        batch_forget(&self.batches[i]);
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
