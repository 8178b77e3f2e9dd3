/*
 * store.h — the results database (SQLite): batches, runs, results, metrics.
 *
 * Only the controller writes; the CLI opens read-only for `results`.
 * The schema lives in schemas/sql/NNN-*.sql (numbered migrations applied in
 * order inside one transaction each; PRAGMA user_version holds the last
 * applied number).  Tables (see docs/schema.md):
 *   batch(id, matrix_name, matrix_json, testbed, state, created_at, finished_at)
 *   run(id, batch_id, idx, point, repetition, params_json, state, reason,
 *       client_host, server_host, created_at, started_at, finished_at)
 *   result(run_id, seq, host, received_at, raw_json)   PRIMARY KEY(run_id, seq)
 *   metric(run_id, name, value, unit)                   PRIMARY KEY(run_id, name)
 *   sample(run_id, seq, t_s, name, value)               per-second samples
 *   host_meta(batch_id, host, taken_at, meta_json)      PRIMARY KEY(batch_id, host)
 * and the views run_params, run_metric, run_flag (schemas/sql/002-analysis.sql).
 *   queue(id, name, file, matrix, testbed, at, every_s, ..., next_start, state)  (003)
 *   run_attempt(run_id, attempt, state, reason, ...)    failed/interrupted attempts (003)
 * Timestamps are UTC ISO 8601 text ("2026-11-29T23:59:01.123Z").
 * Run states: queued leasing setup running collect teardown done failed skipped interrupted.
 */
#ifndef CNTB_STORE_H
#define CNTB_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

typedef struct store store_t;

/* The writes below return -1 when nothing (or not all) was written: a caller
 * that ignores it leaves its memory out of step with the database (or goes
 * on taking work on a full disk), so the compiler insists on a look. */
#define STORE_MUST_CHECK __attribute__((warn_unused_result))

/*
 * Opens (creating if needed, unless readonly) the database at path and applies
 * pending migrations from the SQL compiled into the program (the files of
 * schemas/sql/ are embedded at build time or read from CNTB_SOURCE_DIR).
 * readonly opens an existing database without migrating.  Returns a fresh
 * store or NULL with a message in err (errlen bytes).
 */
store_t *store_open(const char *path, bool readonly, char *err, size_t errlen);

/* Closes and sets *self_p to NULL; accepts NULL. */
void store_close(store_t **self_p);

/*
 * Durability of the commits that follow (sqlite.org/pragma.html#pragma_synchronous,
 * sqlite.org/wal.html#performance_considerations).  A writable store runs in
 * WAL mode with synchronous = NORMAL: each commit is atomic and survives a
 * crash of the process (SIGKILL), but a power loss or kernel crash may undo
 * the commits since the last synced one.  Between store_durable(self, true)
 * and store_durable(self, false) (synchronous = FULL) every COMMIT syncs the
 * WAL (fdatasync) before it returns, which makes every earlier commit
 * durable too.  The store uses it for what it reports to someone else: a
 * new batch (store_batch_insert) and a stored result (store_result_insert,
 * which the controller then acknowledges); queue.c for queue entries.
 * Outside a transaction only (SQLite refuses it inside one).  0, or -1 with
 * store_errmsg().
 */
int store_durable(store_t *self, bool on);

/* The underlying connection (borrowed), for queries of results.c. */
sqlite3 *store_db(store_t *self);

/* The schema version applied (PRAGMA user_version). */
int store_schema_version(store_t *self);

/*
 * Inserts a batch and all its runs (state queued) in one transaction.
 * params_json[i], point[i], repetition[i] for i < nruns.  Returns the batch id
 * (> 0) or -1 (database untouched).  run ids are returned in run_ids (caller
 * array of nruns) when not NULL.
 */
int64_t store_batch_insert(store_t *self, const char *matrix_name, const char *matrix_json,
                           const char *testbed, int nruns, const char *const *params_json,
                           const int *point, const int *repetition, int64_t *run_ids)
    STORE_MUST_CHECK;

/*
 * store_batch_insert, and then, in the same transaction, then(self, batch,
 * arg) (may be NULL) for further writes that belong with the batch (queue.c
 * marks its queue entry started): the transaction commits only when then
 * returns 0, so either the batch and those writes are all stored or none of
 * them (a full disk that fails then's statement or the COMMIT leaves no batch
 * that could run).  then must not begin or end a transaction.  Returns the
 * batch id (> 0) or -1 with store_errmsg() (SQLite's message of the
 * statement that failed).
 */
int64_t store_batch_insert_then(store_t *self, const char *matrix_name, const char *matrix_json,
                                const char *testbed, int nruns, const char *const *params_json,
                                const int *point, const int *repetition, int64_t *run_ids,
                                int (*then)(store_t *self, int64_t batch, void *arg), void *arg)
    STORE_MUST_CHECK;

/* Sets a batch's state ("running", "done", "failed", "cancelled"); finished_at when final. */
int store_batch_set_state(store_t *self, int64_t batch, const char *state) STORE_MUST_CHECK;

/*
 * Sets a run's state and optional reason (NULL keeps none).  started_at is
 * set on entering "setup", finished_at on done/failed/skipped.  0 or -1.
 */
int store_run_set_state(store_t *self, int64_t run, const char *state, const char *reason)
    STORE_MUST_CHECK;

/* Records which hosts a run uses.  0 or -1. */
int store_run_set_hosts(store_t *self, int64_t run, const char *client_host,
                        const char *server_host) STORE_MUST_CHECK;

/*
 * Stores one result exactly once, in one transaction: the raw JSON in result,
 * each entry of result["metrics"] (object name -> number) in metric with its
 * unit from metric_unit(), each entry of result["samples"] (array of objects
 * with "t_s" and metric-named numbers) in sample.  Returns 1 when stored,
 * 0 when (run, seq) was already stored (nothing changes), -1 on error
 * (rolled back).  The commit is durable (store_durable): a result is
 * acknowledged only once it is on disk.  Does not take ownership of result.
 */
int store_result_insert(store_t *self, int64_t run, int seq, const char *host,
                        const json_t *result) STORE_MUST_CHECK;

/*
 * Marks every run of unfinished batches that is between leasing and
 * teardown as "interrupted" and queues it again (state queued), in one
 * transaction: each such attempt (and each run a clean stop left
 * "interrupted") is recorded in run_attempt with the stage it was cut short
 * in, and its partial result, metrics and samples are deleted, so that the
 * run ends with exactly the result set of its final attempt.  The nkeep
 * runs of keep (borrowed; NULL when nkeep is 0) are left exactly as they
 * are: the runs a restarted controller adopts (ctl_run.c, docs/faults.md "The
 * controller dies").  Only batches of testbed `testbed` (batch.testbed)
 * are touched, every batch when it is NULL: a controller leaves alone what
 * another testbed's controller left in flight in a database they share
 * over time.  Returns the number of runs requeued, or -1 (rolled back,
 * message in store_errmsg()).
 */
int store_requeue_interrupted(store_t *self, const char *testbed, const int64_t *keep, int nkeep)
    STORE_MUST_CHECK;

/*
 * A failed attempt of a run that has retries left: records it in
 * run_attempt (state failed, reason, hosts, started_at), deletes its result,
 * metrics and samples, and queues the run again, in one transaction.
 * 0 or -1 (rolled back).
 */
int store_run_retry(store_t *self, int64_t run, const char *reason) STORE_MUST_CHECK;

/* The number of failed attempts recorded for a run (run_attempt), or -1. */
int store_run_failed_attempts(store_t *self, int64_t run);

/*
 * The batch id to show by default: the most recent batch, or 0 when there is
 * none, -1 on error.
 */
int64_t store_latest_batch(store_t *self);

/*
 * Records the metadata snapshot `meta` (a JSON object: the "meta" of the
 * host's HELLO, built by node-agent/agent_meta.c) of `host` for `batch`
 * (> 0).  A second call for the same (batch, host) replaces the first, so
 * the row holds the latest snapshot of the batch.  Does not take ownership
 * of meta.  0, or -1 (bad arguments, no such batch: foreign key) with the
 * error in store_errmsg().
 */
int store_host_meta_insert(store_t *self, int64_t batch, const char *host, const json_t *meta)
    STORE_MUST_CHECK;

/*
 * The message of the last failure of a store function on self ("" when none
 * yet), e.g. "run 3 seq 0: $.metrics.throughput_bps: must be a number".
 * Borrowed: valid until the next call on self.
 */
const char *store_errmsg(store_t *self);

/* ---- the queue (store_queue.c; queue.h is the module that uses it) ------------
 * Times are UTC ISO 8601 text in the table, time_t (seconds since the epoch)
 * here.  Every function accepts a NULL store (and fails). */

/* One queue entry (store_queue_get): fresh strings, freed by store_queue_entry_free(). */
typedef struct {
    int64_t id;
    char *name, *file, *matrix, *testbed; /* testbed may be NULL */
    time_t at;                            /* the anchor of the series */
    int64_t every_s;                      /* 0 = once */
    bool calendar;                        /* every_s counts local calendar days */
    char state[16];
    int64_t batch;                        /* the last batch it started, 0 = none */
    int64_t batches;                      /* how many batches it started: the next one's
                                             occurrence number, from 0 */
} store_queue_entry_t;

/*
 * Adds an entry (state waiting, next_start = at), durably (store_durable).
 * every_s (seconds) 0 = once; every_text is the period as the user wrote it
 * (NULL when once).  Returns the entry id (> 0) or -1 (store_errmsg).
 */
int64_t store_queue_add(store_t *self, const char *name, const char *file, const char *matrix,
                        const char *testbed, time_t at, int64_t every_s, const char *every_text,
                        bool calendar) STORE_MUST_CHECK;

/*
 * Ids of the waiting entries of testbed (NULL = every testbed's) whose
 * next_start is at or before now, oldest start first; up to max into ids
 * (caller's array).  The count, or -1 (store_errmsg).
 */
int store_queue_due(store_t *self, const char *testbed, time_t now, int64_t *ids, int max)
    STORE_MUST_CHECK;

/*
 * Loads entry id into *e (zeroed first; its strings fresh).  0, or -1 when
 * there is none or on error (then *e holds nothing to free).
 */
int store_queue_get(store_t *self, int64_t id, store_queue_entry_t *e) STORE_MUST_CHECK;

/* Frees the strings of *e (not e itself) and zeroes it; accepts NULL and a zeroed entry. */
void store_queue_entry_free(store_queue_entry_t *e);

/*
 * Records that entry id started batch `batch` (batch.queue_id,
 * queue.batch_id, batches + 1) and sets its next start: next (> 0) keeps it
 * waiting, 0 makes it "started".  One transaction.  0 or -1 (rolled back,
 * store_errmsg).
 */
int store_queue_started(store_t *self, int64_t id, int64_t batch, time_t next) STORE_MUST_CHECK;

/*
 * store_batch_insert of the runs, the batch's seed (seed < 0: NULL) and
 * store_queue_started(id, batch, next), in ONE transaction (queue.h,
 * queue_start_batch, says why).  The batch id (> 0), or -1 with
 * store_errmsg() and nothing stored.
 */
int64_t store_queue_start_batch(store_t *self, int64_t id, const char *matrix_name,
                                const char *matrix_json, const char *testbed, int nruns,
                                const char *const *params_json, const int *point,
                                const int *repetition, int64_t seed, time_t next)
    STORE_MUST_CHECK;

/* Marks entry id failed with error (borrowed text).  0 or -1 (rolled back). */
int store_queue_failed(store_t *self, int64_t id, const char *error) STORE_MUST_CHECK;

/*
 * Cancels entry id and the unfinished batch it started (its queued runs
 * skipped "cancelled with queue entry N"), in one transaction.  *batch gets
 * that batch's id while it still has a run in flight, else 0.  0, 1 when
 * the entry was already cancelled, -1 when there is no such entry or on
 * error (rolled back).
 */
int store_queue_cancel(store_t *self, int64_t id, int64_t *batch) STORE_MUST_CHECK;

/*
 * Every entry, oldest first, as a fresh JSON array of objects {id, name,
 * file, testbed, at, every, next_start, state, error, batch, batches,
 * batch_state, runs, runs_finished}.  NULL on error.
 */
json_t *store_queue_list(store_t *self);

/*
 * The next_start of entry id (UTC ISO 8601 text) into buf (len bytes);
 * "" when it has none (started, cancelled, failed) or there is no such
 * entry.  0, or -1 on a database error (buf "").
 */
int store_queue_next_start(store_t *self, int64_t id, char *buf, size_t len) STORE_MUST_CHECK;

/* ---- the controller's questions (store_run.c, for ctl*.c) ---------------------
 * Every function accepts a NULL store (and fails). */

/*
 * A write that always reaches the file (PRAGMA user_version set to the
 * value it has): whether the store can be written again after a failed
 * write.  0, or -1 (store_errmsg; also for a store with no schema).
 */
int store_probe_write(store_t *self) STORE_MUST_CHECK;

/*
 * Skips every queued run of batch with reason (borrowed), finished now.
 * Does not touch the batch's state (store_batch_set_state).  0 or -1.
 */
int store_batch_skip_queued(store_t *self, int64_t batch, const char *reason) STORE_MUST_CHECK;

/*
 * The matrix of batch as stored (batch.matrix_json) into *matrix_json:
 * fresh (free()), NULL when there is no such batch.  0, or -1 on a
 * database error (*matrix_json NULL).
 */
int store_batch_matrix(store_t *self, int64_t batch, char **matrix_json) STORE_MUST_CHECK;

/*
 * How far batch is: *left = its runs not done, failed or skipped,
 * *cancelled = its state is "cancelled".  0, or -1 when there is no such
 * batch or on error (*left -1).
 */
int store_batch_progress(store_t *self, int64_t batch, int *left, bool *cancelled)
    STORE_MUST_CHECK;

/*
 * The next queued run of batch (lowest idx): its id in *run and its
 * parameters in *params_json (fresh, free()).  1 when there is one, 0 when
 * none is queued, -1 on error (store_errmsg).
 */
int store_batch_next_run(store_t *self, int64_t batch, int64_t *run, char **params_json)
    STORE_MUST_CHECK;

/*
 * Ids of the batches of testbed that are queued or running, oldest first,
 * up to max into ids (caller's array).  The count, or -1.
 */
int store_batches_unfinished(store_t *self, const char *testbed, int64_t *ids, int max)
    STORE_MUST_CHECK;

/*
 * The runs of batch for `cntb status`: a fresh JSON array (idx order) of
 * {id, idx, repetition, state, reason?, params, throughput_bps?,
 * started_at?, finished_at?, client_host?, server_host?, attempts,
 * rtt_us_p50?, flags?}, empty when the run query fails; *state gets the
 * batch's state (fresh, free()).  NULL (and *state NULL) when there is no
 * such batch.
 */
json_t *store_batch_runs(store_t *self, int64_t batch, char **state);

/* A run as the controller finds it at start-up (store_runs_adoptable, store_runs_in_flight). */
typedef struct {
    int64_t id;
    int64_t batch;
    char *params_json;   /* fresh */
    char *client_host;   /* fresh, NULL when not recorded */
    char *server_host;   /* fresh, NULL when not recorded */
    bool has_result;     /* a result of it is stored */
} store_run_row_t;

/*
 * The runs a restarted controller of testbed may adopt (docs/faults.md
 * "The controller dies"): in collect, or in teardown with a result and no
 * reason, of an unfinished batch; id order.  *rows gets a fresh array
 * (store_run_rows_free).  The count, or -1 (*rows NULL).
 */
int store_runs_adoptable(store_t *self, const char *testbed, store_run_row_t **rows)
    STORE_MUST_CHECK;

/*
 * The runs of testbed's unfinished batches between leasing and teardown or
 * interrupted: those whose hosts a restarted controller owes a TEARDOWN.
 * As store_runs_adoptable (has_result always false).
 */
int store_runs_in_flight(store_t *self, const char *testbed, store_run_row_t **rows)
    STORE_MUST_CHECK;

/* Frees the n rows of *rows_p and sets it to NULL; accepts NULL. */
void store_run_rows_free(store_run_row_t **rows_p, int n);

#endif
