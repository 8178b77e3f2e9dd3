/*
 * store.c — the results database (SQLite) behind store.h.
 *
 * The schema is the sequence of migrations in schemas/sql/, compiled in as
 * generated/store_migrations.h (see CMakeLists.txt).  store_open() applies
 * every migration whose number is above PRAGMA user_version, each in its own
 * BEGIN IMMEDIATE transaction that also sets user_version, so that a crash
 * leaves the database at a whole version and two processes opening one
 * database at once do not both migrate it.  Connections run in WAL mode (the
 * CLI reads while the controller writes) with a 5000 ms busy timeout and
 * foreign keys on.  Writable connections commit with synchronous = NORMAL
 * (no fdatasync per commit) except where store_durable() asks for FULL: a
 * new batch and a stored result, which someone is told about; a run's
 * state changes in between are lost only to a power loss, and a run whose
 * end was lost is queued again at start-up (store_requeue_interrupted).  Every write that touches more than one row is one
 * transaction; timestamps come from SQLite's clock as UTC ISO 8601 with
 * milliseconds.  The last error of a store is kept for store_errmsg().
 */
#include "store.h"
#include "store_int.h"

#include "metric.h"
#include "store_migrations.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STORE_BUSY_TIMEOUT_MS 5000


static const char *const store_run_states[] = {
    "queued", "leasing", "setup", "running", "collect",
    "teardown", "done", "failed", "skipped", "interrupted",
};
static const char *const store_batch_states[] = {
    "queued", "running", "done", "failed", "cancelled",
};

void
store_seterr(store_t *self, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(self->err, sizeof self->err, fmt, ap);
    va_end(ap);
}

static bool
store_in(const char *s, const char *const *set, size_t n)
{
    if (!s)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

int
store_exec(store_t *self, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(self->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        store_seterr(self, "%s", msg ? msg : sqlite3_errmsg(self->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

sqlite3_stmt *
store_prepare(store_t *self, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK) {
        store_seterr(self, "%s", sqlite3_errmsg(self->db));
        return NULL;
    }
    return st;
}

int
store_row_by_id(store_t *self, const char *sql, int64_t id, sqlite3_stmt **st)
{
    int step;

    *st = store_prepare(self, sql);
    if (!*st)
        return -1;
    sqlite3_bind_int64(*st, 1, id);
    step = sqlite3_step(*st);
    if (step == SQLITE_ROW)
        return 1;
    if (step != SQLITE_DONE)
        store_seterr(self, "%s", sqlite3_errmsg(self->db));
    sqlite3_finalize(*st);
    *st = NULL;
    return step == SQLITE_DONE ? 0 : -1;
}

int
store_step_done(store_t *self, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        store_seterr(self, "%s", sqlite3_errmsg(self->db));
        return -1;
    }
    return 0;
}

void
store_durable_end(store_t *self)
{
    sqlite3_exec(self->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
}

char *
store_col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

void
store_rollback(store_t *self)
{
    /* Keeps the error that caused the rollback. */
    if (!sqlite3_get_autocommit(self->db))
        sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
store_user_version(store_t *self)
{
    sqlite3_stmt *st = store_prepare(self, "PRAGMA user_version");
    int v = -1;

    if (!st)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    else
        store_seterr(self, "%s", sqlite3_errmsg(self->db));
    sqlite3_finalize(st);
    return v;
}

/* Applies every migration above user_version; 0 or -1 (the failed one rolled back). */
static int
store_migrate(store_t *self)
{
    size_t n = sizeof store_migrations / sizeof store_migrations[0];
    int latest = store_migrations[n - 1].number;
    int v = store_user_version(self);

    if (v < 0)
        return -1;
    if (v > latest) {
        store_seterr(self, "database schema version %d is newer than this program's (%d)", v,
                     latest);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct store_migration *m = &store_migrations[i];
        char pragma[64];

        if (m->number <= v)
            continue;
        if (store_exec(self, "BEGIN IMMEDIATE") < 0)
            return -1;
        /* Another process may have migrated between our read and the lock. */
        v = store_user_version(self);
        if (v < 0)
            goto fail;
        if (m->number <= v) {
            if (store_exec(self, "COMMIT") < 0)
                goto fail;
            continue;
        }
        if (store_exec(self, m->sql) < 0) {
            char why[sizeof self->err];

            snprintf(why, sizeof why, "%s", self->err);
            store_seterr(self, "migration %03d-%s: %s", m->number, m->name, why);
            goto fail;
        }
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->number);
        if (store_exec(self, pragma) < 0 || store_exec(self, "COMMIT") < 0)
            goto fail;
        v = m->number;
    }
    return 0;
fail:
    store_rollback(self);
    return -1;
}

store_t *
store_open(const char *path, bool readonly, char *err, size_t errlen)
{
    store_t *self = NULL;
    struct stat sb;
    int flags;

    if (err && errlen)
        err[0] = '\0';
    if (!path || !*path) {
        if (err)
            snprintf(err, errlen, "cannot open DB: no path given");
        return NULL;
    }
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        /* SQLite would say "disk I/O error". */
        if (err)
            snprintf(err, errlen, "cannot open DB %s: is a directory (give a file name, e.g. "
                                  "%s/cntb.db)", path, path);
        return NULL;
    }
    if (readonly && stat(path, &sb) < 0) {
        /* SQLite would only say "unable to open database file". */
        if (err)
            snprintf(err, errlen, "cannot open DB %s: %s", path,
                     errno == ENOENT ? "no such file" : strerror(errno));
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        if (err)
            snprintf(err, errlen, "cannot open DB %s: out of memory", path);
        return NULL;
    }
    self->readonly = readonly;
    flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &self->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        store_seterr(self, "cannot open DB %s: %s", path,
                     self->db ? sqlite3_errmsg(self->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(self->db, 1);
    if (sqlite3_busy_timeout(self->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK ||
        store_exec(self, "PRAGMA foreign_keys = ON") < 0)
        goto fail_ctx;
    if (readonly) {
        /* Reading the version also proves the file is a database. */
        int v = store_user_version(self);

        if (v < 0)
            goto fail_ctx;
        if (v == 0) {
            store_seterr(self, "cannot open DB %s: not a cntb database (schema version 0)",
                         path);
            goto fail;
        }
    } else {
        sqlite3_stmt *st = store_prepare(self, "PRAGMA journal_mode = WAL");

        if (!st)
            goto fail_ctx;
        if (sqlite3_step(st) != SQLITE_ROW) {
            store_seterr(self, "%s", sqlite3_errmsg(self->db));
            sqlite3_finalize(st);
            goto fail_ctx;
        }
        sqlite3_finalize(st);
        if (store_migrate(self) < 0 || store_durable(self, false) < 0)
            goto fail_ctx;
    }
    return self;
fail_ctx: {
        char why[sizeof self->err];

        snprintf(why, sizeof why, "%s", self->err);
        store_seterr(self, "cannot open DB %s: %s", path, why);
    }
fail:
    if (err)
        snprintf(err, errlen, "%s", self->err);
    store_close(&self);
    return NULL;
}

void
store_close(store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sqlite3_close_v2((*self_p)->db);
    free(*self_p);
    *self_p = NULL;
}

int
store_durable(store_t *self, bool on)
{
    if (!self)
        return -1;
    return store_exec(self, on ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
}

sqlite3 *
store_db(store_t *self)
{
    return self ? self->db : NULL;
}

const char *
store_errmsg(store_t *self)
{
    return self ? self->err : "no store";
}

int
store_schema_version(store_t *self)
{
    if (!self)
        return -1;
    return store_user_version(self);
}

int64_t
store_batch_insert(store_t *self, const char *matrix_name, const char *matrix_json,
                   const char *testbed, int nruns, const char *const *params_json,
                   const int *point, const int *repetition, int64_t *run_ids)
{
    return store_batch_insert_then(self, matrix_name, matrix_json, testbed, nruns, params_json,
                                   point, repetition, run_ids, NULL, NULL);
}

int64_t
store_batch_insert_then(store_t *self, const char *matrix_name, const char *matrix_json,
                        const char *testbed, int nruns, const char *const *params_json,
                        const int *point, const int *repetition, int64_t *run_ids,
                        int (*then)(store_t *self, int64_t batch, void *arg), void *arg)
{
    sqlite3_stmt *bst = NULL, *rst = NULL;
    int64_t batch = -1;

    if (!self)
        return -1;
    if (!matrix_name || !matrix_json || nruns < 0 ||
        (nruns > 0 && (!params_json || !point || !repetition))) {
        store_seterr(self, "store_batch_insert: bad arguments");
        return -1;
    }
    if (store_durable(self, true) < 0)
        return -1;
    if (store_exec(self, "BEGIN IMMEDIATE") < 0) {
        batch = -1;
        goto out;
    }
    bst = store_prepare(self, "INSERT INTO batch (matrix_name, matrix_json, testbed, state,"
                              " created_at) VALUES (?1, ?2, ?3, 'queued', " STORE_NOW ")");
    rst = store_prepare(self, "INSERT INTO run (batch_id, idx, point, repetition, params_json,"
                              " state, created_at)"
                              " VALUES (?1, ?2, ?3, ?4, ?5, 'queued', " STORE_NOW ")");
    if (!bst || !rst)
        goto fail;
    sqlite3_bind_text(bst, 1, matrix_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(bst, 2, matrix_json, -1, SQLITE_STATIC);
    if (testbed)
        sqlite3_bind_text(bst, 3, testbed, -1, SQLITE_STATIC);
    if (store_step_done(self, bst) < 0)
        goto fail;
    batch = sqlite3_last_insert_rowid(self->db);
    for (int i = 0; i < nruns; i++) {
        if (!params_json[i]) {
            store_seterr(self, "run %d: no parameters", i);
            goto fail;
        }
        sqlite3_reset(rst);
        sqlite3_bind_int64(rst, 1, batch);
        sqlite3_bind_int(rst, 2, i);
        sqlite3_bind_int(rst, 3, point[i]);
        sqlite3_bind_int(rst, 4, repetition[i]);
        sqlite3_bind_text(rst, 5, params_json[i], -1, SQLITE_STATIC);
        if (store_step_done(self, rst) < 0) {
            char why[sizeof self->err];

            snprintf(why, sizeof why, "%s", self->err);
            store_seterr(self, "run %d: %s", i, why);
            goto fail;
        }
        if (run_ids)
            run_ids[i] = sqlite3_last_insert_rowid(self->db);
    }
    if (then && then(self, batch, arg) < 0) {
        store_seterr(self, "%s", sqlite3_errmsg(self->db));
        goto fail;
    }
    if (store_exec(self, "COMMIT") < 0)
        goto fail;
    goto out;
fail:
    batch = -1;
    store_rollback(self);
out:
    sqlite3_finalize(bst);
    sqlite3_finalize(rst);
    store_durable_end(self);
    return batch;
}

int
store_batch_set_state(store_t *self, int64_t batch, const char *state)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (!self)
        return -1;
    if (!store_in(state, store_batch_states,
                  sizeof store_batch_states / sizeof store_batch_states[0])) {
        store_seterr(self, "bad batch state '%s'", state ? state : "(null)");
        return -1;
    }
    st = store_prepare(self, "UPDATE batch SET state = ?2, finished_at = CASE WHEN ?2 IN"
                             " ('done', 'failed', 'cancelled') THEN " STORE_NOW
                             " ELSE NULL END WHERE id = ?1");
    if (!st)
        goto out;
    sqlite3_bind_int64(st, 1, batch);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    if (store_step_done(self, st) < 0)
        goto out;
    if (sqlite3_changes(self->db) == 0) {
        store_seterr(self, "no batch %lld", (long long)batch);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int
store_run_set_state(store_t *self, int64_t run, const char *state, const char *reason)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (!self)
        return -1;
    if (!store_in(state, store_run_states,
                  sizeof store_run_states / sizeof store_run_states[0])) {
        store_seterr(self, "bad run state '%s'", state ? state : "(null)");
        return -1;
    }
    /* queued starts over; setup starts the clock; done/failed/skipped stop it. */
    st = store_prepare(self,
                       "UPDATE run SET state = ?2, reason = ?3,"
                       " started_at = CASE WHEN ?2 = 'setup' THEN " STORE_NOW
                       "   WHEN ?2 = 'queued' THEN NULL ELSE started_at END,"
                       " finished_at = CASE WHEN ?2 IN ('done', 'failed', 'skipped') THEN "
                       STORE_NOW " WHEN ?2 = 'queued' THEN NULL ELSE finished_at END"
                       " WHERE id = ?1");
    if (!st)
        goto out;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    if (reason)
        sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
    if (store_step_done(self, st) < 0)
        goto out;
    if (sqlite3_changes(self->db) == 0) {
        store_seterr(self, "no run %lld", (long long)run);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int
store_run_set_hosts(store_t *self, int64_t run, const char *client_host,
                    const char *server_host)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (!self)
        return -1;
    st = store_prepare(self, "UPDATE run SET client_host = ?2, server_host = ?3 WHERE id = ?1");
    if (!st)
        goto out;
    sqlite3_bind_int64(st, 1, run);
    if (client_host)
        sqlite3_bind_text(st, 2, client_host, -1, SQLITE_STATIC);
    if (server_host)
        sqlite3_bind_text(st, 3, server_host, -1, SQLITE_STATIC);
    if (store_step_done(self, st) < 0)
        goto out;
    if (sqlite3_changes(self->db) == 0) {
        store_seterr(self, "no run %lld", (long long)run);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Inserts result["metrics"]; 0 or -1 with the error recorded. */
static int
store_metrics_insert(store_t *self, int64_t run, const json_t *metrics)
{
    sqlite3_stmt *st = NULL;
    const char *name;
    json_t *v;
    int rc = -1;

    if (!metrics)
        return 0;
    if (!json_is_object(metrics)) {
        store_seterr(self, "$.metrics: must be an object of name -> number");
        return -1;
    }
    /* A later result of the same run may carry a metric again: it wins. */
    st = store_prepare(self, "INSERT INTO metric (run_id, name, value, unit)"
                             " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (run_id, name)"
                             " DO UPDATE SET value = excluded.value, unit = excluded.unit");
    if (!st)
        goto out;
    json_object_foreach ((json_t *)metrics, name, v) {
        const char *unit = metric_unit(name);

        if (!*name) {
            store_seterr(self, "$.metrics: empty metric name");
            goto out;
        }
        if (!json_is_number(v)) {
            store_seterr(self, "$.metrics.%s: must be a number", name);
            goto out;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, json_number_value(v));
        if (unit)
            sqlite3_bind_text(st, 4, unit, -1, SQLITE_STATIC);
        if (store_step_done(self, st) < 0)
            goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Inserts result["samples"]; 0 or -1 with the error recorded. */
static int
store_samples_insert(store_t *self, int64_t run, int seq, const json_t *samples)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    json_t *s;
    int rc = -1;

    if (!samples)
        return 0;
    if (!json_is_array(samples)) {
        store_seterr(self, "$.samples: must be an array");
        return -1;
    }
    st = store_prepare(self, "INSERT INTO sample (run_id, seq, t_s, name, value)"
                             " VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        goto out;
    json_array_foreach ((json_t *)samples, i, s) {
        json_t *t = json_object_get(s, "t_s"), *v;
        const char *name;

        if (!json_is_object(s) || !json_is_number(t)) {
            store_seterr(self, "$.samples[%zu]: must be an object with a number t_s", i);
            goto out;
        }
        json_object_foreach (s, name, v) {
            if (strcmp(name, "t_s") == 0)
                continue;
            if (!json_is_number(v)) {
                store_seterr(self, "$.samples[%zu].%s: must be a number", i, name);
                goto out;
            }
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, run);
            sqlite3_bind_int(st, 2, seq);
            sqlite3_bind_double(st, 3, json_number_value(t));
            sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
            sqlite3_bind_double(st, 5, json_number_value(v));
            if (store_step_done(self, st) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int
store_result_insert(store_t *self, int64_t run, int seq, const char *host,
                    const json_t *result)
{
    sqlite3_stmt *st = NULL;
    char *raw = NULL;
    int rc = -1;

    if (!self)
        return -1;
    if (run <= 0 || seq < 0 || !json_is_object(result)) {
        store_seterr(self, "store_result_insert: bad arguments (run %lld, seq %d)",
                     (long long)run, seq);
        return -1;
    }
    raw = json_dumps(result, JSON_COMPACT);
    if (!raw) {
        store_seterr(self, "run %lld seq %d: cannot encode result", (long long)run, seq);
        return -1;
    }
    if (store_durable(self, true) < 0 || store_exec(self, "BEGIN IMMEDIATE") < 0)
        goto out;
    st = store_prepare(self, "INSERT INTO result (run_id, seq, host, received_at, raw_json)"
                             " VALUES (?1, ?2, ?3, " STORE_NOW ", ?4)"
                             " ON CONFLICT (run_id, seq) DO NOTHING");
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int(st, 2, seq);
    if (host)
        sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, raw, -1, SQLITE_STATIC);
    if (store_step_done(self, st) < 0)
        goto fail;
    if (sqlite3_changes(self->db) == 0) {
        /* Re-delivered after a reconnect: already stored, acknowledge again. */
        if (store_exec(self, "COMMIT") < 0)
            goto fail;
        rc = 0;
        goto out;
    }
    if (store_metrics_insert(self, run, json_object_get(result, "metrics")) < 0 ||
        store_samples_insert(self, run, seq, json_object_get(result, "samples")) < 0 ||
        store_exec(self, "COMMIT") < 0)
        goto fail;
    rc = 1;
    goto out;
fail: {
        char why[sizeof self->err];

        snprintf(why, sizeof why, "%s", self->err);
        store_seterr(self, "run %lld seq %d: %s", (long long)run, seq, why);
        store_rollback(self);
        rc = -1;
    }
out:
    sqlite3_finalize(st);
    free(raw);
    store_durable_end(self);
    return rc;
}

/* Runs of unfinished batches: the scope of a requeue after a restart. */
/* The runs of unfinished batches (of one testbed: %s is "" or " AND testbed = 'NAME'"). */
#define STORE_UNFINISHED \
    " AND batch_id IN (SELECT id FROM batch WHERE state NOT IN ('done', 'failed', 'cancelled')%s)"
#define STORE_IN_FLIGHT "('leasing', 'setup', 'running', 'collect', 'teardown')"

int
store_requeue_interrupted(store_t *self, const char *testbed, const int64_t *keep, int nkeep)
{
    sqlite3_stmt *st = NULL;
    char *tb = NULL, *q[5] = { NULL };
    json_t *ids = NULL;
    char *ids_text = NULL;
    int n = -1;

    if (!self || nkeep < 0 || (nkeep > 0 && !keep))
        return -1;
    /* The runs kept, as a JSON array for json_each (SQLite's JSON1, built in
     * since 3.38): one bound parameter whatever their number. */
    ids = json_array();
    for (int i = 0; ids && i < nkeep; i++)
        json_array_append_new(ids, json_integer(keep[i]));
    ids_text = ids ? json_dumps(ids, JSON_COMPACT) : NULL;
    if (!ids_text) {
        store_seterr(self, "out of memory");
        goto out;
    }
    /* %Q quotes the name as an SQL literal (sqlite3_mprintf(3)). */
    tb = testbed ? sqlite3_mprintf(" AND testbed = %Q", testbed) : sqlite3_mprintf("%s", "");
    q[0] = tb ? sqlite3_mprintf("UPDATE run SET state = 'interrupted',"
                                " reason = 'interrupted in ' || state"
                                " WHERE state IN " STORE_IN_FLIGHT STORE_UNFINISHED
                                " AND id NOT IN (SELECT value FROM json_each(?1))", tb) : NULL;
    q[1] = tb ? sqlite3_mprintf("INSERT INTO run_attempt (run_id, attempt, state, reason,"
                                " client_host, server_host, started_at, finished_at)"
                                " SELECT id, (SELECT count(*) FROM run_attempt a WHERE"
                                " a.run_id = run.id) + 1, 'interrupted',"
                                " coalesce(reason, 'interrupted'), client_host, server_host,"
                                " started_at, %s" /* STORE_NOW has % in it */
                                " FROM run WHERE state = 'interrupted'" STORE_UNFINISHED,
                                STORE_NOW, tb)
              : NULL;
    q[2] = tb ? sqlite3_mprintf("DELETE FROM metric WHERE run_id IN (SELECT id FROM run"
                                " WHERE state = 'interrupted'" STORE_UNFINISHED ")", tb) : NULL;
    q[3] = tb ? sqlite3_mprintf("DELETE FROM result WHERE run_id IN (SELECT id FROM run"
                                " WHERE state = 'interrupted'" STORE_UNFINISHED ")", tb) : NULL;
    q[4] = tb ? sqlite3_mprintf("UPDATE run SET state = 'queued', started_at = NULL,"
                                " finished_at = NULL, client_host = NULL, server_host = NULL"
                                " WHERE state = 'interrupted'" STORE_UNFINISHED, tb) : NULL;
    for (int k = 0; k < 5; k++)
        if (!q[k]) {
            store_seterr(self, "out of memory");
            goto out;
        }
    if (store_exec(self, "BEGIN IMMEDIATE") < 0)
        goto out;
    /* Two steps so that the reason names the stage that was cut short. */
    st = store_prepare(self, q[0]);
    if (!st)
        goto fail;
    sqlite3_bind_text(st, 1, ids_text, -1, SQLITE_STATIC);
    if (store_step_done(self, st) < 0)
        goto fail;
    /* The cut-short attempt is kept in run_attempt; its partial result goes,
     * so that the run ends with the one result set of its final attempt. */
    if (store_exec(self, q[1]) < 0 || store_exec(self, q[2]) < 0 || store_exec(self, q[3]) < 0)
        goto fail;
    if (store_exec(self, q[4]) < 0)
        goto fail;
    n = sqlite3_changes(self->db);
    if (store_exec(self, "COMMIT") < 0) {
        n = -1;
        goto fail;
    }
    goto out;
fail:
    store_rollback(self);
out:
    sqlite3_finalize(st);
    free(ids_text);
    for (int k = 0; k < 5; k++)
        sqlite3_free(q[k]);
    sqlite3_free(tb);
    json_decref(ids);
    return n;
}

int
store_run_retry(store_t *self, int64_t run, const char *reason)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    static const char *const sql[] = {
        "INSERT INTO run_attempt (run_id, attempt, state, reason, client_host, server_host,"
        " started_at, finished_at) SELECT id, (SELECT count(*) FROM run_attempt a"
        " WHERE a.run_id = run.id) + 1, 'failed', ?2, client_host, server_host, started_at, "
        STORE_NOW " FROM run WHERE id = ?1",
        "DELETE FROM metric WHERE run_id = ?1",
        "DELETE FROM result WHERE run_id = ?1",
        "UPDATE run SET state = 'queued', reason = NULL, started_at = NULL, finished_at = NULL,"
        " client_host = NULL, server_host = NULL WHERE id = ?1",
    };

    if (!self)
        return -1;
    if (store_exec(self, "BEGIN IMMEDIATE") < 0)
        return -1;
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        st = store_prepare(self, sql[i]);
        if (!st)
            goto fail;
        sqlite3_bind_int64(st, 1, run);
        if (i == 0)
            sqlite3_bind_text(st, 2, reason ? reason : "failed", -1, SQLITE_STATIC);
        if (store_step_done(self, st) < 0)
            goto fail;
        if (i == 0 && sqlite3_changes(self->db) == 0) {
            store_seterr(self, "no run %lld", (long long)run);
            goto fail;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (store_exec(self, "COMMIT") < 0)
        goto fail;
    rc = 0;
    goto out;
fail:
    store_rollback(self);
out:
    sqlite3_finalize(st);
    return rc;
}

int
store_run_failed_attempts(store_t *self, int64_t run)
{
    sqlite3_stmt *st = NULL;
    int n = -1;

    if (!self)
        return -1;
    st = store_prepare(self, "SELECT count(*) FROM run_attempt WHERE run_id = ?1"
                             " AND state = 'failed'");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, run);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

int64_t
store_latest_batch(store_t *self)
{
    sqlite3_stmt *st = NULL;
    int64_t id = -1;

    if (!self)
        return -1;
    st = store_prepare(self, "SELECT coalesce(max(id), 0) FROM batch");
    if (!st)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    else
        store_seterr(self, "%s", sqlite3_errmsg(self->db));
    sqlite3_finalize(st);
    return id;
}

int
store_host_meta_insert(store_t *self, int64_t batch, const char *host, const json_t *meta)
{
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    int rc = -1;

    if (!self)
        return -1;
    if (batch < 1 || !host || !host[0] || !json_is_object(meta)) {
        store_seterr(self, "store_host_meta_insert: bad arguments");
        return -1;
    }
    if (!(text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS))) {
        store_seterr(self, "out of memory");
        return -1;
    }
    st = store_prepare(self, "INSERT OR REPLACE INTO host_meta (batch_id, host, taken_at,"
                             " meta_json) VALUES (?1, ?2, " STORE_NOW ", ?3)");
    if (!st)
        goto out;
    sqlite3_bind_int64(st, 1, batch);
    sqlite3_bind_text(st, 2, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    if (store_step_done(self, st) < 0)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(st);
    free(text);
    return rc;
}
