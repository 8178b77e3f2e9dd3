/*
 * queue.h — the queue of matrices waiting for their start (table `queue`,
 * schemas/sql/003-queue.sql, docs/queue.md).
 *
 * Entries are written by the controller only (the CLI asks it over its CLI
 * socket).  An entry holds the matrix text as read from its file, the first
 * start `at` and, for a series, the period; `next_start` is when the
 * controller makes its next batch.  States: waiting (a start is ahead),
 * started (a one-off entry made its batch), cancelled, failed (its matrix
 * could not be expanded when due: `error` says why).
 */
#ifndef CNTB_QUEUE_H
#define CNTB_QUEUE_H

#include "matrix.h"
#include "store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* What queue_get() returns: fresh strings, freed by queue_entry_free() (store.h). */
typedef store_queue_entry_t queue_entry_t;

/*
 * Adds an entry (state waiting, next_start = at).  every_s 0 = once;
 * every_text is the period as the user wrote it (NULL when once).  Returns
 * the entry id (> 0) or -1 (message in store_errmsg).
 */
int64_t queue_add(store_t *store, const char *name, const char *file, const char *matrix,
                  const char *testbed, time_t at, int64_t every_s, const char *every_text,
                  bool calendar) STORE_MUST_CHECK;

/*
 * Ids of the waiting entries of testbed `testbed` (queue.testbed; NULL =
 * every testbed's) whose next_start is at or before now, oldest start
 * first; up to max into ids.  A controller passes its own testbed's name so
 * that it never starts another testbed's entry from a shared database.
 * Returns the count or -1.
 */
int queue_due(store_t *store, const char *testbed, time_t now, int64_t *ids, int max)
    STORE_MUST_CHECK;

/* Loads entry id into *e.  0, or -1 when there is none (or on error). */
int queue_get(store_t *store, int64_t id, queue_entry_t *e) STORE_MUST_CHECK;

/* Frees the strings of *e (not e itself); accepts a zeroed entry. */
void queue_entry_free(queue_entry_t *e);

/*
 * Records that entry id started batch `batch` (batch.queue_id, queue.batch_id,
 * batches + 1) and sets its next start: next (> 0) keeps it waiting, 0 makes
 * it "started".  One transaction.  0 or -1.
 */
int queue_started(store_t *store, int64_t id, int64_t batch, time_t next) STORE_MUST_CHECK;

/*
 * Orders matrix m (expanded from e->matrix) for the entry's next batch: a
 * random order gets the seed matrix_batch_seed(the matrix's seed,
 * e->batches), so that every batch of a series runs its own order and the
 * first one the order `cntb matrix expand` shows (docs/queue.md, SEEDS).
 * *seed gets that seed, or -1 for a sequential matrix (left as it is).
 * 0, or -1 when out of memory.
 */
int queue_order(matrix_t *m, const queue_entry_t *e, int64_t *seed);

/*
 * Makes the batch of entry id: store_batch_insert of the runs, the batch's
 * seed (batch.seed; seed < 0: NULL, a sequential order) and
 * queue_started(id, batch, next) in ONE transaction, so that either the
 * batch is stored and the entry advanced, or neither (a full disk between the
 * two must not leave a batch that runs while the entry stays due and makes
 * another one).  Returns the batch id (> 0), or -1 with store_errmsg() and
 * nothing stored.
 */
int64_t queue_start_batch(store_t *store, int64_t id, const char *matrix_name,
                          const char *matrix_json, const char *testbed, int nruns,
                          const char *const *params_json, const int *point,
                          const int *repetition, int64_t seed, time_t next) STORE_MUST_CHECK;

/* Marks entry id failed with the reason (its matrix was refused when due).  0 or -1. */
int queue_failed(store_t *store, int64_t id, const char *error) STORE_MUST_CHECK;

/*
 * Cancels entry id: no further start, and the unfinished batch it started
 * (if any) is cancelled: its queued runs become skipped ("cancelled with
 * queue entry N"), a run in flight finishes.  *batch gets the id of that batch while it
 * still has a run in flight (it ends when that run does), else 0.
 * Returns 0, 1 when the entry was already cancelled, -1 when there is no such
 * entry or on error.
 */
int queue_cancel(store_t *store, int64_t id, int64_t *batch) STORE_MUST_CHECK;

/*
 * Every entry, oldest first, as a fresh JSON array of objects {id, name,
 * file, testbed, at, every, next_start, state, error, batch, batches,
 * batch_state, runs, runs_done}; times UTC ISO 8601 text.  NULL on error.
 */
json_t *queue_list(store_t *store);

#endif
