/*
 * store_queue.c — the SQL of the `queue` table (store.h, "queue";
 * schemas/sql/003-queue.sql), for queue.c.
 *
 * Times go in and out as UTC ISO 8601 text (schedule_format_utc /
 * schedule_parse_utc) so that SQLite can compare them as strings:
 * next_start <= now is a text comparison of equal-width
 * "YYYY-MM-DDTHH:MM:SSZ" values.  Writes that touch two tables are one
 * transaction each.
 */
#include "store.h"
#include "store_int.h"

#include "schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t
store_queue_add(store_t *self, const char *name, const char *file, const char *matrix,
                const char *testbed, time_t at, int64_t every_s, const char *every_text,
                bool calendar)
{
    char ts[32];
    int64_t id = -1;
    sqlite3_stmt *st = NULL;

    if (!self)
        return -1;
    st = store_prepare(self, "INSERT INTO queue (name, file, matrix, testbed, at, every_s,"
                             " every_text, calendar, next_start, state, created_at)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?5, 'waiting', "
                             STORE_NOW ")");
    if (!st)
        return -1;
    schedule_format_utc(at, ts, sizeof ts);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, matrix, -1, SQLITE_STATIC);
    if (testbed)
        sqlite3_bind_text(st, 4, testbed, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, ts, -1, SQLITE_STATIC);
    if (every_s > 0) {
        sqlite3_bind_int64(st, 6, every_s);
        sqlite3_bind_text(st, 7, every_text, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int(st, 8, calendar ? 1 : 0);
    /* The caller is told the entry's id: the commit is synced (store_durable). */
    if (store_durable(self, true) == 0 && store_step_done(self, st) == 0)
        id = sqlite3_last_insert_rowid(self->db);
    sqlite3_finalize(st);
    store_durable_end(self);
    return id;
}

int
store_queue_due(store_t *self, const char *testbed, time_t now, int64_t *ids, int max)
{
    char ts[32];
    int n = 0;
    sqlite3_stmt *st = NULL;

    if (!self)
        return -1;
    st = store_prepare(self, "SELECT id FROM queue WHERE state = 'waiting' AND"
                             " next_start <= ?1 AND (?2 IS NULL OR testbed = ?2)"
                             " ORDER BY next_start, id");
    if (!st)
        return -1;
    schedule_format_utc(now, ts, sizeof ts);
    sqlite3_bind_text(st, 1, ts, -1, SQLITE_STATIC);
    if (testbed)
        sqlite3_bind_text(st, 2, testbed, -1, SQLITE_STATIC);
    while (n < max && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

int
store_queue_get(store_t *self, int64_t id, store_queue_entry_t *e)
{
    int rc = -1;
    sqlite3_stmt *st = NULL;

    memset(e, 0, sizeof *e);
    if (!self)
        return -1;
    st = store_prepare(self, "SELECT name, file, matrix, testbed, at, coalesce(every_s, 0),"
                             " calendar, state, coalesce(batch_id, 0), batches FROM queue"
                             " WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        e->id = id;
        e->name = store_col_dup(st, 0);
        e->file = store_col_dup(st, 1);
        e->matrix = store_col_dup(st, 2);
        e->testbed = store_col_dup(st, 3);
        if (schedule_parse_utc((const char *)sqlite3_column_text(st, 4), &e->at) == 0 &&
            e->name && e->file && e->matrix)
            rc = 0;
        e->every_s = sqlite3_column_int64(st, 5);
        e->calendar = sqlite3_column_int(st, 6) != 0;
        snprintf(e->state, sizeof e->state, "%s", (const char *)sqlite3_column_text(st, 7));
        e->batch = sqlite3_column_int64(st, 8);
        e->batches = sqlite3_column_int64(st, 9);
    }
    sqlite3_finalize(st);
    if (rc < 0)
        store_queue_entry_free(e);
    return rc;
}

void
store_queue_entry_free(store_queue_entry_t *e)
{
    if (!e)
        return;
    free(e->name);
    free(e->file);
    free(e->matrix);
    free(e->testbed);
    memset(e, 0, sizeof *e);
}

/* Runs each statement with ?1 = a and ?2 = b (text or integer) in one transaction. */
static int
store_queue_exec_all(store_t *self, const char *const *sql, int n, int64_t a, int64_t b,
                     const char *text)
{
    if (store_exec(self, "BEGIN IMMEDIATE") < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        sqlite3_stmt *st = store_prepare(self, sql[i]);
        if (!st)
            goto fail;
        sqlite3_bind_int64(st, 1, a);
        if (text)
            sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(st, 2, b);
        int rc = store_step_done(self, st);
        sqlite3_finalize(st);
        if (rc < 0)
            goto fail;
    }
    if (store_exec(self, "COMMIT") == 0)
        return 0;
fail:
    store_rollback(self);
    return -1;
}

/*
 * The two updates of store_queue_started inside the caller's transaction.
 * 0, or -1 with the error recorded.
 */
static int
store_queue_started_tx(store_t *self, int64_t id, int64_t batch, time_t next)
{
    char ts[32];
    sqlite3_stmt *st = NULL;
    int rc = -1;

    st = store_prepare(self, "UPDATE batch SET queue_id = ?1 WHERE id = ?2");
    if (!st)
        goto out;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, batch);
    if (store_step_done(self, st) < 0)
        goto out;
    sqlite3_finalize(st);
    st = store_prepare(self, "UPDATE queue SET batch_id = ?2, batches = batches + 1,"
                             " next_start = ?3, state = CASE WHEN ?3 IS NULL THEN 'started'"
                             " ELSE state END WHERE id = ?1");
    if (!st)
        goto out;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, batch);
    if (next > 0) {
        schedule_format_utc(next, ts, sizeof ts);
        sqlite3_bind_text(st, 3, ts, -1, SQLITE_STATIC);
    }
    if (store_step_done(self, st) < 0)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int
store_queue_started(store_t *self, int64_t id, int64_t batch, time_t next)
{
    if (!self || store_exec(self, "BEGIN IMMEDIATE") < 0)
        return -1;
    if (store_queue_started_tx(self, id, batch, next) == 0 && store_exec(self, "COMMIT") == 0)
        return 0;
    store_rollback(self);
    return -1;
}

struct store_queue_start {
    int64_t id;
    int64_t seed;
    time_t next;
};

static int
store_queue_start_then(store_t *self, int64_t batch, void *arg)
{
    const struct store_queue_start *a = arg;

    if (a->seed >= 0) {
        sqlite3_stmt *st = store_prepare(self, "UPDATE batch SET seed = ?1 WHERE id = ?2");
        int rc;

        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, a->seed);
        sqlite3_bind_int64(st, 2, batch);
        rc = store_step_done(self, st);
        sqlite3_finalize(st);
        if (rc < 0)
            return -1;
    }
    return store_queue_started_tx(self, a->id, batch, a->next);
}

int64_t
store_queue_start_batch(store_t *self, int64_t id, const char *matrix_name,
                        const char *matrix_json, const char *testbed, int nruns,
                        const char *const *params_json, const int *point,
                        const int *repetition, int64_t seed, time_t next)
{
    struct store_queue_start a = { id, seed, next };
    return store_batch_insert_then(self, matrix_name, matrix_json, testbed, nruns, params_json,
                                   point, repetition, NULL, store_queue_start_then, &a);
}

int
store_queue_failed(store_t *self, int64_t id, const char *error)
{
    static const char *const sql[] = {
        "UPDATE queue SET state = 'failed', error = ?2, next_start = NULL WHERE id = ?1",
    };
    if (!self)
        return -1;
    return store_queue_exec_all(self, sql, 1, id, 0, error);
}

int
store_queue_cancel(store_t *self, int64_t id, int64_t *batch)
{
    store_queue_entry_t e;
    char why[64];
    static const char *const sql_batch[] = {
        "UPDATE run SET state = 'skipped', reason = ?2, finished_at = " STORE_NOW
        " WHERE batch_id = (SELECT batch_id FROM queue WHERE id = ?1) AND state = 'queued'",
        "UPDATE batch SET state = 'cancelled' WHERE id = (SELECT batch_id FROM queue"
        " WHERE id = ?1) AND state IN ('queued', 'running')",
        "UPDATE batch SET finished_at = " STORE_NOW " WHERE id = (SELECT batch_id FROM queue"
        " WHERE id = ?1) AND state = 'cancelled' AND finished_at IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM run WHERE batch_id = batch.id AND state NOT IN"
        " ('done', 'failed', 'skipped', 'interrupted'))",
        "UPDATE queue SET state = 'cancelled', next_start = NULL, cancelled_at = coalesce("
        "cancelled_at, " STORE_NOW ") WHERE id = ?1 AND ?2 IS NOT NULL",
    };
    *batch = 0;
    if (store_queue_get(self, id, &e) < 0)
        return -1;
    bool already = strcmp(e.state, "cancelled") == 0;
    *batch = e.batch;
    store_queue_entry_free(&e);
    snprintf(why, sizeof why, "cancelled with queue entry %lld", (long long)id);
    if (store_queue_exec_all(self, sql_batch, 4, id, 0, why) < 0)
        return -1;
    if (*batch > 0) {
        /* Named only while it still has a run in flight (an ended batch stays as it was). */
        sqlite3_stmt *st = store_prepare(self, "SELECT state = 'cancelled' AND finished_at IS"
                                               " NULL FROM batch WHERE id = ?1");
        bool flight = false;

        if (st) {
            sqlite3_bind_int64(st, 1, *batch);
            flight = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
            sqlite3_finalize(st);
        }
        if (!flight)
            *batch = 0;
    }
    return already ? 1 : 0;
}

json_t *
store_queue_list(store_t *self)
{
    json_t *list = json_array();
    sqlite3_stmt *st = self ? store_prepare(self,
        "SELECT q.id, q.name, q.file, q.testbed, q.at, q.every_text, q.next_start, q.state,"
        " q.error, q.batch_id, q.batches, b.state,"
        " (SELECT count(*) FROM run r WHERE r.batch_id = q.batch_id),"
        " (SELECT count(*) FROM run r WHERE r.batch_id = q.batch_id AND r.state IN"
        "  ('done', 'failed', 'skipped'))"
        " FROM queue q LEFT JOIN batch b ON b.id = q.batch_id ORDER BY q.id") : NULL;
    if (!st || !list) {
        sqlite3_finalize(st);
        json_decref(list);
        return NULL;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        static const char *const keys[] = { "id", "name", "file", "testbed", "at", "every",
                                            "next_start", "state", "error", "batch", "batches",
                                            "batch_state", "runs", "runs_finished" };
        for (int i = 0; i < 14; i++) {
            json_t *v;
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL: v = json_null(); break;
            case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, i)); break;
            default: v = json_string((const char *)sqlite3_column_text(st, i)); break;
            }
            json_object_set_new(o, keys[i], v);
        }
        json_array_append_new(list, o);
    }
    sqlite3_finalize(st);
    return list;
}

int
store_queue_next_start(store_t *self, int64_t id, char *buf, size_t len)
{
    sqlite3_stmt *st;
    int rc;

    buf[0] = '\0';
    if (!self)
        return -1;
    rc = store_row_by_id(self, "SELECT next_start FROM queue WHERE id = ?1", id, &st);
    if (rc == 1) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL)
            snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    return rc < 0 ? -1 : 0;
}
