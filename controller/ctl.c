/*
 * ctl.c — the controller's loop, scheduler and run state machine (ctl.h).
 *
 * Runs are taken from the database in batch order (queued, lowest batch then
 * index first) one at a time: on the emulated testbed every host shares the
 * machine's cores, so two runs at once would measure each other.  A run's
 * progress lives in `ctl_run_t`; every transition is written to the database
 * before the next message goes out, so a restarted controller knows where it
 * was.  A nesting=vm run leases the VMs of its hosts through ctl_vm.c
 * (started on demand, reused for the batch, stopped at its end).
 */
#include "ctl.h"

#include "ctl_vm.h"
#include "ferr.h"
#include "log.h"
#include "matrix.h"
#include "proto.h"
#include "store.h"
#include "testbed.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTL_AGENTS_MAX 1024

typedef struct {
    char host[32];
    bool connected;
    int64_t last_seen_ms;
    char kind[16];
    json_t *caps;        /* capabilities of the last HELLO (owned) */
    json_t *meta;        /* metadata snapshot (owned) */
} ctl_agent_t;

typedef enum { STAGE_NONE, STAGE_LEASING, STAGE_SETUP, STAGE_RUNNING, STAGE_COLLECT,
               STAGE_TEARDOWN } ctl_stage_t;

typedef struct {
    int64_t id;
    int64_t batch;
    json_t *params;             /* owned */
    char network[32];
    char placement[16];
    ctl_stage_t stage;
    int64_t stage_since_ms;
    int64_t deadline_ms;
    int nhosts;                 /* 1 (same-host) or 2 */
    char hosts[2][32];          /* [0] client, [1] server (same as [0] when same-host) */
    bool acked[2];              /* SETUP_OK / TEARDOWN_OK per host */
    bool server_ready;
    char server_addr[16];
    char peer_addr[2][16];
    int port;
    bool result_stored;
    bool failed;
    char reason[600];
} ctl_run_t;

typedef struct {
    const ctl_config_t *cfg;
    testbed_t *testbed;
    store_t *store;
    zsock_t *agents_sock;
    zsock_t *cli_sock;
    zloop_t *loop;
    int nagents;
    ctl_agent_t agents[CTL_AGENTS_MAX];
    ctl_run_t run;              /* the run in flight; id 0 = none */
    ctl_vm_t *vms;              /* nested VMs (ctl_vm.h) */
    int64_t last_heartbeat_ms;
    bool stop;
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

/* ---- run state machine ------------------------------------------------ */

static void
run_clear(ctl_run_t *r)
{
    json_decref(r->params);
    memset(r, 0, sizeof *r);
}

static void
run_enter(ctl_t *self, ctl_stage_t stage, int64_t timeout_ms)
{
    ctl_run_t *r = &self->run;
    static const char *const names[] = { "none", "leasing", "setup", "running", "collect",
                                         "teardown" };
    r->stage = stage;
    r->stage_since_ms = now_ms();
    r->deadline_ms = r->stage_since_ms + timeout_ms;
    r->acked[0] = r->acked[1] = false;
    if (stage != STAGE_TEARDOWN || !r->failed)
        store_run_set_state(self->store, r->id, names[stage], NULL);
    else
        store_run_set_state(self->store, r->id, "teardown", r->reason);
}

static void run_teardown(ctl_t *self);

/* Records a failure reason (the first one wins) and moves to teardown. */
static void
run_fail(ctl_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
run_fail(ctl_t *self, const char *fmt, ...)
{
    ctl_run_t *r = &self->run;
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->reason, sizeof r->reason, fmt, ap);
        va_end(ap);
        r->failed = true;
        log_warn("run %" PRId64 " failed: %s", r->id, r->reason);
    }
    if (r->stage != STAGE_TEARDOWN && r->stage >= STAGE_SETUP)
        run_teardown(self);
}

static void
batch_maybe_finish(ctl_t *self, int64_t batch)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(store_db(self->store),
                           "SELECT count(*), sum(state = 'failed') FROM run WHERE batch_id = ?1 "
                           "AND state NOT IN ('done', 'failed', 'skipped')",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, batch);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0) {
        ctl_vm_batch_end(self->vms, batch);
        store_batch_set_state(self->store, batch, "done");
        log_info("batch %" PRId64 " done", batch);
    }
    sqlite3_finalize(st);
}

static void
run_finish(ctl_t *self, const char *state)
{
    ctl_run_t *r = &self->run;
    store_run_set_state(self->store, r->id, state, r->reason[0] ? r->reason : NULL);
    log_info("run %" PRId64 " %s%s%s", r->id, state, r->reason[0] ? ": " : "", r->reason);
    int64_t batch = r->batch;
    run_clear(r);
    batch_maybe_finish(self, batch);
}

static void
run_teardown(ctl_t *self)
{
    ctl_run_t *r = &self->run;
    run_enter(self, STAGE_TEARDOWN, CTL_TEARDOWN_MS);
    for (int i = 0; i < r->nhosts; i++)
        send_to(self, r->hosts[i], MSG_TEARDOWN,
                json_pack("{s:I}", "run", (json_int_t) r->id));
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

/* Loads the next queued run, if any, into self->run (stage leasing). */
static void
schedule_next(ctl_t *self)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(store_db(self->store),
                           "SELECT id, batch_id, params_json FROM run WHERE state = 'queued' "
                           "ORDER BY batch_id, idx LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        log_error("scheduler query: %s", sqlite3_errmsg(store_db(self->store)));
        return;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        ctl_run_t *r = &self->run;
        run_clear(r);
        r->id = sqlite3_column_int64(st, 0);
        r->batch = sqlite3_column_int64(st, 1);
        r->params = json_loads((const char *) sqlite3_column_text(st, 2), 0, NULL);
        snprintf(r->network, sizeof r->network, "%s",
                 json_string_value(json_object_get(r->params, "network")) ?: "?");
        snprintf(r->placement, sizeof r->placement, "%s",
                 json_string_value(json_object_get(r->params, "placement")) ?: "?");
        r->port = 5300 + (int) (r->id % 1000);
        store_batch_set_state(self->store, r->batch, "running");
        run_enter(self, STAGE_LEASING, CTL_LEASE_MS);
        log_info("run %" PRId64 ": %s %s", r->id, r->network, r->placement);
    }
    sqlite3_finalize(st);
}

/* Leasing: pick hosts, check agents and capabilities, then send SETUP. */
static void
step_leasing(ctl_t *self)
{
    ctl_run_t *r = &self->run;
    testbed_t *tb = self->testbed;
    const char *traffic = json_string_value(json_object_get(r->params, "traffic")) ?: "?";
    const char *nesting = json_string_value(json_object_get(r->params, "nesting")) ?: "bare";
    int bare[2] = { -1, -1 }, nb = 0;
    for (int i = 0; i < tb->host_count && nb < 2; i++)
        if (strcmp(tb->hosts[i].kind, "bare-metal") == 0)
            bare[nb++] = i;
    bool vm = strcmp(nesting, "vm") == 0;
    if (strcmp(nesting, "bare") != 0 && !vm) {
        snprintf(r->reason, sizeof r->reason, "nesting %s is not supported", nesting);
        run_finish(self, "skipped");
        return;
    }
    bool cross = strcmp(r->placement, "cross-host") == 0;
    if (nb < (cross ? 2 : 1)) {
        snprintf(r->reason, sizeof r->reason, "placement %s needs %d bare-metal hosts, testbed has %d",
                 r->placement, cross ? 2 : 1, nb);
        run_finish(self, "skipped");
        return;
    }
    r->nhosts = cross ? 2 : 1;
    snprintf(r->hosts[0], sizeof r->hosts[0], "%s", tb->hosts[bare[0]].name);
    snprintf(r->hosts[1], sizeof r->hosts[1], "%s", tb->hosts[bare[cross ? 1 : 0]].name);
    snprintf(r->peer_addr[0], 16, "%s", tb->hosts[bare[cross ? 1 : 0]].address);
    snprintf(r->peer_addr[1], 16, "%s", tb->hosts[bare[0]].address);
    bool vm_wait = false; /* the containers go into a VM on each host; both boot at once */
    for (int i = 0; vm && i < r->nhosts; i++) {
        char name[32], addr[16];
        switch (ctl_vm_lease(self->vms, r->batch, tb->hosts[bare[i]].name, now_ms(),
                             vm_agent_connected, self, name, addr, r->reason, sizeof r->reason)) {
        case CTL_VM_READY: break;
        case CTL_VM_WAIT: vm_wait = true; continue;
        case CTL_VM_NONE: run_finish(self, "skipped"); return;
        default: run_finish(self, "failed"); return;
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
                         CTL_LEASE_MS / 1000);
                run_finish(self, "failed");
            }
            return; /* wait for it */
        }
        char why[400];
        if (!caps_allow(a, r->network, r->placement, traffic, why, sizeof why)) {
            snprintf(r->reason, sizeof r->reason, "%s", why);
            run_finish(self, "skipped");
            return;
        }
    }
    store_run_set_hosts(self->store, r->id, r->hosts[0], r->hosts[1]);
    run_enter(self, STAGE_SETUP, CTL_SETUP_MS);
    for (int i = 0; i < r->nhosts; i++) {
        json_t *b = json_pack("{s:I, s:s, s:s, s:b, s:b, s:O}", "run", (json_int_t) r->id,
                              "network", r->network, "placement", r->placement, "client",
                              i == 0, "server", i == 1 || r->nhosts == 1, "params", r->params);
        if (cross)
            json_object_set_new(b, "peer_addr", json_string(r->peer_addr[i]));
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
start_server(ctl_t *self)
{
    ctl_run_t *r = &self->run;
    run_enter(self, STAGE_RUNNING, CTL_START_MS);
    send_to(self, r->hosts[r->nhosts - 1], MSG_START,
            json_pack("{s:I, s:s, s:i, s:O}", "run", (json_int_t) r->id, "role", "server", "port",
                      r->port, "params", r->params));
}

static void
start_client(ctl_t *self)
{
    ctl_run_t *r = &self->run;
    double duration = json_number_value(json_object_get(r->params, "duration_s"));
    run_enter(self, STAGE_COLLECT, (int64_t) (duration * 1000) + CTL_COLLECT_GRACE_MS);
    send_to(self, r->hosts[0], MSG_START,
            json_pack("{s:I, s:s, s:i, s:s, s:O}", "run", (json_int_t) r->id, "role", "client",
                      "port", r->port, "server_addr", r->server_addr, "params", r->params));
}

static void
on_agent_msg(ctl_t *self, const char *host, msg_type_t type, json_t *b)
{
    ctl_run_t *r = &self->run;
    int64_t run = json_integer_value(json_object_get(b, "run"));
    bool ours = r->id != 0 && run == r->id;
    int hi = ours ? host_index(r, host) : -1;
    switch (type) {
    case MSG_HEARTBEAT: return;
    case MSG_SETUP_OK:
        if (!ours || r->stage != STAGE_SETUP || hi < 0)
            return;
        r->acked[hi] = true;
        if (hi == r->nhosts - 1) {
            const char *sa = json_string_value(json_object_get(b, "server_addr"));
            if (!sa) {
                run_fail(self, "host %s set up without a server address", host);
                return;
            }
            snprintf(r->server_addr, sizeof r->server_addr, "%s", sa);
        }
        for (int i = 0; i < r->nhosts; i++)
            if (!r->acked[i])
                return;
        start_server(self);
        return;
    case MSG_START_OK: {
        const char *role = json_string_value(json_object_get(b, "role"));
        if (ours && r->stage == STAGE_RUNNING && strcmp(role, "server") == 0 && !r->server_ready) {
            r->server_ready = true;
            start_client(self);
        }
        return;
    }
    case MSG_RESULT: {
        int seq = (int) json_integer_value(json_object_get(b, "seq"));
        int rc = store_result_insert(self->store, run, seq, host, json_object_get(b, "result"));
        if (rc < 0) {
            send_to(self, host, MSG_ERROR,
                    json_pack("{s:s, s:I, s:s}", "message", "result could not be stored", "run",
                              (json_int_t) run, "stage", "collect"));
            if (ours)
                run_fail(self, "result from %s could not be stored", host);
            return;
        }
        send_to(self, host, MSG_RESULT_ACK, json_pack("{s:I, s:i}", "run", (json_int_t) run, "seq", seq));
        if (rc == 0)
            log_info("run %" PRId64 ": duplicate result seq %d from %s acknowledged", run, seq, host);
        if (ours && r->stage == STAGE_COLLECT) {
            r->result_stored = true;
            run_teardown(self);
        }
        return;
    }
    case MSG_TEARDOWN_OK:
        if (!ours || r->stage != STAGE_TEARDOWN || hi < 0)
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
        run_finish(self, r->failed || !r->result_stored ? "failed" : "done");
        return;
    case MSG_VM_STARTED:
    case MSG_VM_STOPPED: ctl_vm_on_message(self->vms, host, type, b); return;
    case MSG_ERROR: {
        const char *m = json_string_value(json_object_get(b, "message"));
        const char *stage = json_string_value(json_object_get(b, "stage")) ?: "?";
        log_warn("agent %s: %s: %s", host, stage, m);
        if (ours && r->stage != STAGE_TEARDOWN)
            run_fail(self, "%s on %s: %s", stage, host, m);
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
step_timeouts(ctl_t *self)
{
    ctl_run_t *r = &self->run;
    if (r->id == 0 || now_ms() <= r->deadline_ms)
        return;
    switch (r->stage) {
    case STAGE_SETUP: run_fail(self, "setup timed out after %d s", CTL_SETUP_MS / 1000); break;
    case STAGE_RUNNING:
        run_fail(self, "server did not start within %d s", CTL_START_MS / 1000);
        break;
    case STAGE_COLLECT: run_fail(self, "no result before the collect timeout"); break;
    case STAGE_TEARDOWN:
        for (int i = 0; i < r->nhosts; i++)
            if (!r->acked[i] && !r->failed) {
                snprintf(r->reason, sizeof r->reason, "teardown timed out on host %s", r->hosts[i]);
                r->failed = true;
            }
        run_finish(self, "failed");
        break;
    default: break;
    }
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
    char *identity = NULL;
    msg_type_t type;
    json_t *b = NULL;
    char err[PROTO_ERR_MAX];
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
        snprintf(a->kind, sizeof a->kind, "%s", json_string_value(json_object_get(b, "kind")));
        json_decref(a->caps);
        json_decref(a->meta);
        a->caps = json_incref(json_object_get(b, "capabilities"));
        a->meta = json_incref(json_object_get(b, "meta"));
        ctl_vm_on_hello(self->vms, host, a->kind, json_string_value(json_object_get(b, "parent")));
        send_to(self, host, MSG_WELCOME,
                json_pack("{s:i, s:s, s:i}", "proto", PROTO_VERSION, "testbed",
                          self->testbed->name, "heartbeat_ms", CTL_HEARTBEAT_MS));
        goto out;
    }
    ctl_agent_t *a = agent_find(self, identity);
    if (!a || !a->connected) {
        send_to(self, identity, MSG_ERROR,
                json_pack("{s:s, s:s}", "message", "say HELLO first", "stage", "hello"));
        goto out;
    }
    a->last_seen_ms = now_ms();
    on_agent_msg(self, identity, type, b);
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

static json_t *
cli_submit(ctl_t *self, json_t *req)
{
    const char *file = json_string_value(json_object_get(req, "file"));
    const char *text = json_string_value(json_object_get(req, "matrix"));
    if (!file || !text)
        return cli_error("submit needs file and matrix", 2);
    char err[FERR_MAX];
    matrix_t *m = matrix_load_text(file, text, json_string_length(json_object_get(req, "matrix")), err);
    if (!m)
        return cli_error(err, 2);
    int n = matrix_run_count(m);
    char **params = calloc((size_t) n, sizeof *params);
    int *point = calloc((size_t) n, sizeof *point), *rep = calloc((size_t) n, sizeof *rep);
    json_t *answer = NULL;
    if (!params || !point || !rep) {
        answer = cli_error("out of memory", 1);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        params[i] = json_dumps(matrix_run_params(m, i), JSON_COMPACT | JSON_PRESERVE_ORDER);
        point[i] = matrix_run_point(m, i);
        rep[i] = matrix_run_repetition(m, i);
    }
    char *doc = json_dumps(matrix_document(m), JSON_COMPACT | JSON_PRESERVE_ORDER);
    int64_t batch = store_batch_insert(self->store, matrix_name(m), doc, self->testbed->name, n,
                                       (const char *const *) params, point, rep, NULL);
    free(doc);
    if (batch < 0)
        answer = cli_error("the batch could not be stored", 1);
    else {
        log_info("batch %" PRId64 " queued: matrix %s, %d runs", batch, matrix_name(m), n);
        answer = json_pack("{s:b, s:I, s:i}", "ok", 1, "batch", (json_int_t) batch, "runs", n);
    }
out:
    for (int i = 0; params && i < n; i++)
        free(params[i]);
    free(params);
    free(point);
    free(rep);
    matrix_destroy(&m);
    return answer;
}

static json_t *
cli_batch(ctl_t *self, json_t *req)
{
    json_int_t batch = json_integer_value(json_object_get(req, "batch"));
    sqlite3 *db = store_db(self->store);
    sqlite3_stmt *st = NULL;
    json_t *runs = json_array();
    const char *bstate = NULL;
    if (sqlite3_prepare_v2(db, "SELECT state FROM batch WHERE id = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, batch);
        if (sqlite3_step(st) == SQLITE_ROW)
            bstate = strdup((const char *) sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    if (!bstate) {
        json_decref(runs);
        return cli_error("no such batch", 2);
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT r.id, r.idx, r.repetition, r.state, r.reason, r.params_json, "
                           "(SELECT value FROM metric m WHERE m.run_id = r.id AND "
                           " m.name = 'throughput_bps') FROM run r WHERE r.batch_id = ?1 "
                           "ORDER BY r.idx",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, batch);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *o = json_pack("{s:I, s:i, s:i, s:s}", "id", (json_int_t) sqlite3_column_int64(st, 0),
                                  "idx", sqlite3_column_int(st, 1), "repetition",
                                  sqlite3_column_int(st, 2), "state", sqlite3_column_text(st, 3));
            if (sqlite3_column_type(st, 4) != SQLITE_NULL)
                json_object_set_new(o, "reason", json_string((const char *) sqlite3_column_text(st, 4)));
            json_object_set_new(o, "params", json_loads((const char *) sqlite3_column_text(st, 5), 0, NULL));
            if (sqlite3_column_type(st, 6) != SQLITE_NULL)
                json_object_set_new(o, "throughput_bps", json_real(sqlite3_column_double(st, 6)));
            json_array_append_new(runs, o);
        }
    }
    sqlite3_finalize(st);
    json_t *answer = json_pack("{s:b, s:s, s:o}", "ok", 1, "state", bstate, "runs", runs);
    free((char *) bstate);
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
    else if (strcmp(cmd, "ping") == 0)
        answer = json_pack("{s:b, s:s, s:s, s:i}", "ok", 1, "testbed", self->testbed->name, "db",
                           self->cfg->db_path, "pid", (int) getpid());
    else if (strcmp(cmd, "agents") == 0) {
        json_t *list = json_array();
        for (int i = 0; i < self->nagents; i++) {
            ctl_agent_t *a = &self->agents[i];
            json_array_append_new(list, json_pack("{s:s, s:b, s:s, s:O*, s:O*}", "host", a->host,
                                                  "connected", a->connected, "kind", a->kind,
                                                  "capabilities", a->caps, "meta", a->meta));
        }
        answer = json_pack("{s:b, s:o, s:i}", "ok", 1, "agents", list, "hosts",
                           self->testbed->host_count);
    } else if (strcmp(cmd, "submit") == 0)
        answer = cli_submit(self, req);
    else if (strcmp(cmd, "batch") == 0)
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
    if (now - self->last_heartbeat_ms >= CTL_HEARTBEAT_MS) {
        self->last_heartbeat_ms = now;
        for (int i = 0; i < self->nagents; i++) {
            ctl_agent_t *a = &self->agents[i];
            if (!a->connected)
                continue;
            if (now - a->last_seen_ms > CTL_AGENT_SILENCE_MS) {
                a->connected = false;
                log_warn("agent %s silent for %lld ms: disconnected", a->host,
                         (long long) (now - a->last_seen_ms));
                continue;
            }
            send_to(self, a->host, MSG_HEARTBEAT, NULL);
        }
    }
    if (self->run.id == 0)
        schedule_next(self);
    if (self->run.id != 0 && self->run.stage == STAGE_LEASING)
        step_leasing(self);
    step_timeouts(self);
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
    static char rundir[256];
    if (!cfg->rundir) { /* the default of `cntb controller start` */
        mkdir("/run/cntb", 0755);
        snprintf(rundir, sizeof rundir, "/run/cntb/%s", self.testbed->name);
    } else
        snprintf(rundir, sizeof rundir, "%s", cfg->rundir);
    mkdir(rundir, 0700);
    self.store = store_open(cfg->db_path, false, err, sizeof err);
    if (!self.store) {
        log_error("%s", err);
        rc = 3;
        goto out;
    }
    int requeued = store_requeue_interrupted(self.store);
    if (requeued > 0)
        log_warn("%d runs were in flight when the controller stopped: queued again", requeued);
    self.vms = ctl_vm_new(self.testbed, vm_send, &self);
    if (!self.vms) {
        rc = 3;
        goto out;
    }
    self.agents_sock = zsock_new(ZMQ_ROUTER);
    zsock_set_router_mandatory(self.agents_sock, 0);
    if (zsock_bind(self.agents_sock, "tcp://%s:%d", self.testbed->ctl_address,
                   self.testbed->ctl_port) < 0) {
        log_error("cannot listen on tcp://%s:%d: %s", self.testbed->ctl_address,
                  self.testbed->ctl_port, zmq_strerror(zmq_errno()));
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
    zloop_timer(self.loop, 200, 0, on_tick, &self);
    log_info("controller of testbed %s: agents on tcp://%s:%d, database %s", self.testbed->name,
             self.testbed->ctl_address, self.testbed->ctl_port, cfg->db_path);
    zloop_start(self.loop);
    if (self.run.id != 0) { /* stopping mid-run: agents tear down; the run is requeued on restart */
        for (int i = 0; i < self.run.nhosts; i++)
            send_to(&self, self.run.hosts[i], MSG_TEARDOWN,
                    json_pack("{s:I}", "run", (json_int_t) self.run.id));
        store_run_set_state(self.store, self.run.id, "interrupted", "controller stopped");
        run_clear(&self.run);
    }
    ctl_vm_stop_all(self.vms, "controller stopped");
    log_info("controller stopped");
    rc = 0;
out:
    zloop_destroy(&self.loop);
    zsock_destroy(&self.cli_sock);
    zsock_destroy(&self.agents_sock);
    ctl_vm_destroy(&self.vms);
    for (int i = 0; i < self.nagents; i++) {
        json_decref(self.agents[i].caps);
        json_decref(self.agents[i].meta);
    }
    store_close(&self.store);
    testbed_destroy(&self.testbed);
    return rc;
}
