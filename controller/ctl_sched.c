/*
 * ctl_sched.c — the scheduler of the controller: batches, host leases and
 * the queue: which run starts next, on which hosts.
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

/* ---- batches -------------------------------------------------------------- */

void
ctl_batch_forget(ctl_batch_t *b)
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
ctl_batch_t *
ctl_batch_get(ctl_t *self, int64_t id)
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
            ctl_store_failed(self, what);
        }
        matrix_destroy(&m);
        return NULL;
    }
    b->id = id;
    b->m = m;
    return b;
}

/* Sets a batch done when none of its runs is left to run. */
void
ctl_batch_maybe_finish(ctl_t *self, int64_t batch)
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
        ctl_store_failed(self, what);
        return;
    }
    ctl_vm_batch_end(self->vms, batch); /* its VMs are not reused by another batch */
    log_info("batch %" PRId64 " %s", batch, state);
    for (int i = 0; i < CTL_BATCHES_MAX; i++)
        if (self->batches[i].id == batch && !self->batches[i].in_flight)
            ctl_batch_forget(&self->batches[i]);
}

bool
ctl_caps_allow(ctl_agent_t *a, const char *network, const char *placement,
               const char *traffic, char *why, size_t len)
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
            bool conn = ctl_agent_connected(self, self->testbed->hosts[h].name);
            if (self->lease[h] || reserved[h] || (pass == 0) != conn)
                continue;
            pick[n++] = h;
        }
    return n == need;
}

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
    if (b->in_flight || ctl_now_ms() < b->not_before_ms)
        return;
    int found = store_batch_next_run(self->store, b->id, &id, &text);
    if (found < 0) {
        log_error("scheduler query: %s", store_errmsg(self->store));
        return;
    }
    if (found == 0) {
        ctl_batch_maybe_finish(self, b->id);
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
            ctl_store_failed(self, "a skipped run"); /* still queued: skipped once it can be written */
            return;
        }
        log_info("run %" PRId64 " skipped: %s", id, why);
        ctl_batch_maybe_finish(self, b->id);
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
        ctl_store_failed(self, "batch state");
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
    r->port = ctl_run_port(r->id);
    for (int i = 0; i < need; i++)
        self->lease[pick[i]] = id;
    b->in_flight = id;
    ctl_run_enter(self, r, STAGE_LEASING, r->timeout_ms[MATRIX_LEASE]);
    log_info("run %" PRId64 " (batch %" PRId64 "): %s %s on %s%s%s", r->id, b->id, r->network,
             r->placement, r->hosts[0], need == 2 ? "," : "", need == 2 ? r->hosts[1] : "");
    ctl_step_leasing(self, r); /* SETUP now when the agents are there, else at a later tick */
}


/* Every unfinished batch, oldest first, gets a chance at its next run. */
void
ctl_schedule_batches(ctl_t *self)
{
    bool reserved[CTL_HOSTS_MAX] = { false };
    int64_t ids[CTL_BATCHES_MAX];
    /* Only our testbed's batches: a database another testbed used before
     * keeps its batches for that testbed's controller (docs/cntb-controller.md). */
    int n = store_batches_unfinished(self->store, self->testbed->name, ids, CTL_BATCHES_MAX);
    if (n < 0)
        return;
    /* A write that fails on the way (ctl_store_failed) stops the round: no run
     * of a later batch starts while the store cannot be written. */
    for (int i = 0; i < n && !self->store_down; i++) {
        ctl_batch_t *b = ctl_batch_get(self, ids[i]);
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
            ctl_batch_forget(b);
    }
}

/* ---- the queue -------------------------------------------------------------- */

/*
 * Checks a matrix against this controller's testbed: $.testbed names it,
 * $.hosts are bare-metal hosts of it, and there are enough of them for each
 * point's placement (matrix_check_host_count).  0, or -1 with a ferr-style message.
 */
int
ctl_matrix_fits(ctl_t *self, const matrix_t *m, const char *file, const char *text, char *err)
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
int64_t
ctl_queue_start(ctl_t *self, int64_t id, time_t now)
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
    if (!m || ctl_matrix_fits(self, m, e.file, e.matrix, err) < 0) {
        log_error("queue entry %" PRId64 ": %s", id, err);
        /* Not on record: the entry stays due and is refused again once the
         * store can be written (the outage holds the queue until then). */
        if (queue_failed(self->store, id, err) < 0)
            ctl_store_failed(self, "failed queue entry");
        goto out;
    }
    n = matrix_run_count(m);
    params = calloc((size_t) n, sizeof *params);
    point = calloc((size_t) n, sizeof *point);
    rep = calloc((size_t) n, sizeof *rep);
    if (!params || !point || !rep || queue_order(m, &e, &seed) < 0) {
        if (queue_failed(self->store, id, "out of memory") < 0)
            ctl_store_failed(self, "failed queue entry");
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
        ctl_store_failed(self, what);
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

void
ctl_queue_tick(ctl_t *self)
{
    int64_t ids[16];
    time_t now = time(NULL);
    int n = queue_due(self->store, self->testbed->name, now, ids, 16);
    for (int i = 0; i < n && !self->store_down; i++)
        ctl_queue_start(self, ids[i], now);
}
