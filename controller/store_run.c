/*
 * store_run.c — what the controller's scheduler, run state machine and CLI
 * ask of the batch and run tables (store.h, "the controller's questions"),
 * so that ctl*.c hold no SQL.
 *
 * Reads return fresh copies (strings, JSON, row arrays) so that nothing a
 * caller keeps points into a statement; every failure leaves its message in
 * store_errmsg().
 */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
store_probe_write(store_t *self)
{
    char sql[64];
    int version = store_schema_version(self);

    if (version <= 0)
        return -1;
    /* A write that always reaches the file: setting user_version (to the value it
     * has) rewrites page 1 into the WAL, even in a database with no batch yet. */
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
    return store_exec(self, sql);
}

int
store_batch_skip_queued(store_t *self, int64_t batch, const char *reason)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (!self)
        return -1;
    st = store_prepare(self, "UPDATE run SET state = 'skipped', reason = ?2, finished_at = "
                             STORE_NOW " WHERE batch_id = ?1 AND state = 'queued'");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, batch);
    sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
    rc = store_step_done(self, st);
    sqlite3_finalize(st);
    return rc;
}

int
store_batch_matrix(store_t *self, int64_t batch, char **matrix_json)
{
    sqlite3_stmt *st;
    int rc;

    *matrix_json = NULL;
    if (!self)
        return -1;
    rc = store_row_by_id(self, "SELECT matrix_json FROM batch WHERE id = ?1", batch, &st);
    if (rc == 1) {
        *matrix_json = store_col_dup(st, 0);
        sqlite3_finalize(st);
    }
    return rc < 0 ? -1 : 0;
}

int
store_batch_progress(store_t *self, int64_t batch, int *left, bool *cancelled)
{
    sqlite3_stmt *st;
    int rc;

    *left = -1;
    *cancelled = false;
    if (!self)
        return -1;
    rc = store_row_by_id(self, "SELECT (SELECT count(*) FROM run WHERE batch_id = ?1 AND state"
                               " NOT IN ('done', 'failed', 'skipped')), state FROM batch"
                               " WHERE id = ?1", batch, &st);
    if (rc == 0)
        store_seterr(self, "no batch %lld", (long long)batch);
    if (rc != 1)
        return -1;
    *left = sqlite3_column_int(st, 0);
    *cancelled = strcmp((const char *)sqlite3_column_text(st, 1), "cancelled") == 0;
    sqlite3_finalize(st);
    return 0;
}

int
store_batch_next_run(store_t *self, int64_t batch, int64_t *run, char **params_json)
{
    sqlite3_stmt *st;
    int rc;

    *run = 0;
    *params_json = NULL;
    if (!self)
        return -1;
    rc = store_row_by_id(self, "SELECT id, params_json FROM run WHERE batch_id = ?1 AND"
                               " state = 'queued' ORDER BY idx LIMIT 1", batch, &st);
    if (rc == 1) {
        *run = sqlite3_column_int64(st, 0);
        *params_json = store_col_dup(st, 1);
        sqlite3_finalize(st);
    }
    return rc;
}

int
store_batches_unfinished(store_t *self, const char *testbed, int64_t *ids, int max)
{
    sqlite3_stmt *st = NULL;
    int n = 0;

    if (!self)
        return -1;
    st = store_prepare(self, "SELECT id FROM batch WHERE state IN ('queued', 'running') AND"
                             " testbed = ?1 ORDER BY id");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, testbed, -1, SQLITE_STATIC);
    while (n < max && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

json_t *
store_batch_runs(store_t *self, int64_t batch, char **state)
{
    sqlite3_stmt *st = NULL;
    json_t *runs = NULL;

    *state = NULL;
    if (!self)
        return NULL;
    st = store_prepare(self, "SELECT state FROM batch WHERE id = ?1");
    if (st) {
        sqlite3_bind_int64(st, 1, batch);
        if (sqlite3_step(st) == SQLITE_ROW)
            *state = store_col_dup(st, 0);
    }
    sqlite3_finalize(st);
    if (!*state)
        return NULL;
    if (!(runs = json_array())) {
        store_seterr(self, "out of memory");
        free(*state);
        *state = NULL;
        return NULL;
    }
    st = store_prepare(self,
                       "SELECT r.id, r.idx, r.repetition, r.state, r.reason, r.params_json, "
                       "(SELECT value FROM metric m WHERE m.run_id = r.id AND "
                       " m.name = 'throughput_bps'), r.started_at, r.finished_at, "
                       "r.client_host, r.server_host, "
                       "(SELECT count(*) FROM run_attempt a WHERE a.run_id = r.id), "
                       "(SELECT value FROM metric m WHERE m.run_id = r.id AND "
                       " m.name = 'rtt_us_p50'), "
                       "(SELECT group_concat(flag, ',') FROM run_flag f WHERE f.run_id = r.id) "
                       "FROM run r WHERE r.batch_id = ?1 ORDER BY r.idx");
    if (st) {
        sqlite3_bind_int64(st, 1, batch);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *o = json_pack("{s:I, s:i, s:i, s:s}", "id",
                                  (json_int_t)sqlite3_column_int64(st, 0), "idx",
                                  sqlite3_column_int(st, 1), "repetition",
                                  sqlite3_column_int(st, 2), "state", sqlite3_column_text(st, 3));
            if (sqlite3_column_type(st, 4) != SQLITE_NULL)
                json_object_set_new(o, "reason",
                                    json_string((const char *)sqlite3_column_text(st, 4)));
            json_object_set_new(o, "params",
                                json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL));
            if (sqlite3_column_type(st, 6) != SQLITE_NULL)
                json_object_set_new(o, "throughput_bps", json_real(sqlite3_column_double(st, 6)));
            static const char *const extra[] = { "started_at", "finished_at", "client_host",
                                                 "server_host" };
            for (int k = 0; k < 4; k++)
                if (sqlite3_column_type(st, 7 + k) != SQLITE_NULL)
                    json_object_set_new(o, extra[k],
                                        json_string((const char *)sqlite3_column_text(st, 7 + k)));
            json_object_set_new(o, "attempts", json_integer(sqlite3_column_int(st, 11) + 1));
            if (sqlite3_column_type(st, 12) != SQLITE_NULL) /* request/response runs */
                json_object_set_new(o, "rtt_us_p50", json_real(sqlite3_column_double(st, 12)));
            if (sqlite3_column_type(st, 13) != SQLITE_NULL) /* "tool_bound,lossy" */
                json_object_set_new(o, "flags",
                                    json_string((const char *)sqlite3_column_text(st, 13)));
            json_array_append_new(runs, o);
        }
    }
    sqlite3_finalize(st);
    return runs;
}

/* The rows of a query of (id, batch_id, params_json, client_host, server_host, has_result). */
static int
store_run_rows(store_t *self, const char *sql, const char *testbed, store_run_row_t **rows)
{
    sqlite3_stmt *st = NULL;
    store_run_row_t *v = NULL;
    int n = 0, cap = 0;

    *rows = NULL;
    if (!self)
        return -1;
    if (!(st = store_prepare(self, sql)))
        return -1;
    sqlite3_bind_text(st, 1, testbed, -1, SQLITE_STATIC);
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            store_seterr(self, "%s", sqlite3_errmsg(self->db));
            goto fail;
        }
        if (n == cap) {
            store_run_row_t *nv = realloc(v, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *v);
            if (!nv) {
                store_seterr(self, "out of memory");
                goto fail;
            }
            v = nv;
        }
        store_run_row_t *r = &v[n++];
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(st, 0);
        r->batch = sqlite3_column_int64(st, 1);
        r->params_json = store_col_dup(st, 2);
        r->client_host = store_col_dup(st, 3);
        r->server_host = store_col_dup(st, 4);
        r->has_result = sqlite3_column_int(st, 5) != 0;
    }
    sqlite3_finalize(st);
    *rows = v;
    return n;
fail:
    sqlite3_finalize(st);
    store_run_rows_free(&v, n);
    return -1;
}

int
store_runs_adoptable(store_t *self, const char *testbed, store_run_row_t **rows)
{
    return store_run_rows(self,
                          "SELECT id, batch_id, params_json, client_host, server_host, "
                          "EXISTS (SELECT 1 FROM result WHERE run_id = run.id) FROM run WHERE "
                          "(state = 'collect' OR (state = 'teardown' AND reason IS NULL AND "
                          "EXISTS (SELECT 1 FROM result WHERE run_id = run.id))) AND batch_id "
                          "IN (SELECT id FROM batch WHERE state NOT IN ('done', 'failed', "
                          "'cancelled') AND testbed = ?1) ORDER BY id",
                          testbed, rows);
}

int
store_runs_in_flight(store_t *self, const char *testbed, store_run_row_t **rows)
{
    return store_run_rows(self,
                          "SELECT id, batch_id, params_json, client_host, server_host, 0 "
                          "FROM run WHERE state IN ('leasing', 'setup', 'running', 'collect', "
                          "'teardown', 'interrupted') AND batch_id IN (SELECT id FROM batch "
                          "WHERE state NOT IN ('done', 'failed', 'cancelled') AND testbed = ?1)",
                          testbed, rows);
}

void
store_run_rows_free(store_run_row_t **rows_p, int n)
{
    if (!rows_p || !*rows_p)
        return;
    for (int i = 0; i < n; i++) {
        free((*rows_p)[i].params_json);
        free((*rows_p)[i].client_host);
        free((*rows_p)[i].server_host);
    }
    free(*rows_p);
    *rows_p = NULL;
}
