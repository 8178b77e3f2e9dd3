/*
 * test_store.c — Check suite for controller/store.c: migrations, batches and
 * runs, exactly-once results, rollback of a bad result, requeue after a
 * controller restart, the controller's queries (store_run.c), read-only
 * opening.  Every test makes its own mkdtemp
 * directory and database and removes them.
 */
#include "store.h"

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tdir[PATH_MAX];
static char tdb[PATH_MAX + 16];

/* The highest NNN of schemas/sql/NNN-*.sql: the version a fresh database gets. */
static int
latest_migration(void)
{
    DIR *d = opendir(CNTB_SOURCE_DIR "/schemas/sql");
    struct dirent *e;
    int latest = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        int n;
        if (sscanf(e->d_name, "%3d-", &n) == 1 && strstr(e->d_name, ".sql") && n > latest)
            latest = n;
    }
    closedir(d);
    return latest;
}

static void
setup(void)
{
    snprintf(tdir, sizeof tdir, "%s/cntb-test-store-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
    snprintf(tdb, sizeof tdb, "%s/cntb.db", tdir);
}

static void
teardown(void)
{
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    char p[PATH_MAX + 32];

    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(p, sizeof p, "%s%s", tdb, suffix[i]);
        unlink(p);
    }
    rmdir(tdir);
}

static store_t *
open_rw(void)
{
    char err[256];
    store_t *s = store_open(tdb, false, err, sizeof err);

    ck_assert_msg(s != NULL, "store_open: %s", err);
    return s;
}

/* One integer from a query without parameters. */
static long long
q1(store_t *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;

    ck_assert_int_eq(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A batch of three runs (network host, bridge, host); their ids in ids. */
static int64_t
make_batch(store_t *s, int64_t ids[3])
{
    const char *params[] = { "{\"network\":\"host\"}", "{\"network\":\"bridge\"}",
                             "{\"network\":\"host\"}" };
    int point[] = { 0, 1, 0 }, rep[] = { 0, 0, 1 };
    int64_t b = store_batch_insert(s, "demo", "{\"name\":\"demo\"}", "lab", 3, params, point,
                                   rep, ids);

    ck_assert_msg(b > 0, "store_batch_insert: %s", store_errmsg(s));
    return b;
}

START_TEST(test_migrate_fresh_and_reopen)
{
    store_t *s = open_rw();

    ck_assert_int_eq(store_schema_version(s), latest_migration());
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN"
                           " ('batch', 'run', 'result', 'metric', 'sample', 'queue',"
                           "  'run_attempt')"), 7);
    ck_assert_int_eq(latest_migration() >= 3, 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN"
                           " ('run_batch_id', 'sample_run_id')"), 2);
    ck_assert_int_eq(q1(s, "PRAGMA foreign_keys"), 1);
    int objects = q1(s, "SELECT count(*) FROM sqlite_schema");
    store_close(&s);
    ck_assert_ptr_null(s);
    store_close(&s);    /* NULL is fine */

    /* Reopening applies nothing: the schema is unchanged. */
    s = open_rw();
    ck_assert_int_eq(store_schema_version(s), latest_migration());
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM sqlite_schema"), objects);
    {
        sqlite3_stmt *st = NULL;

        ck_assert_int_eq(sqlite3_prepare_v2(store_db(s), "PRAGMA journal_mode", -1, &st, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
    }
    store_close(&s);
}
END_TEST


/* 002-analysis: host_meta per (batch, host), the views, the flags of results. */
START_TEST(test_analysis_views_and_host_meta)
{
    store_t *s = open_rw();
    int64_t ids[3], b = make_batch(s, ids);
    json_t *meta = json_pack("{s:{s:s}}", "kernel", "release", "6.1.0");
    json_t *res = json_pack("{s:{s:f, s:f}, s:[s, s]}", "metrics", "throughput_bps", 1e9,
                            "rtt_us_p50", 30.0, "flags", "tool_bound", "fragmented");

    ck_assert_int_eq(store_host_meta_insert(s, b, "h1", meta), 0);
    json_object_set_new(json_object_get(meta, "kernel"), "release", json_string("6.2.0"));
    ck_assert_int_eq(store_host_meta_insert(s, b, "h1", meta), 0);     /* replaces */
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM host_meta"), 1);
    ck_assert_int_eq(q1(s, "SELECT json_extract(meta_json, '$.kernel.release') = '6.2.0'"
                           " FROM host_meta"), 1);
    ck_assert_int_eq(store_host_meta_insert(s, b, "", meta), -1);
    ck_assert_int_eq(store_host_meta_insert(s, b, "h1", json_object_get(meta, "nope")), -1);
    ck_assert_int_eq(store_result_insert(s, ids[0], 0, "h1", res), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run_metric WHERE run_id = 1"), 2);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run_flag WHERE run_id = 1"), 2);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run_params WHERE network = 'bridge'"
                           " AND matrix_name = 'demo' AND size IS NULL"), 1);
    json_decref(meta);
    json_decref(res);
    store_close(&s);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
    store_t *s = open_rw();
    char err[256];

    ck_assert_int_eq(sqlite3_exec(store_db(s), "PRAGMA user_version = 999", NULL, NULL, NULL),
                     SQLITE_OK);
    store_close(&s);
    s = store_open(tdb, false, err, sizeof err);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "newer") != NULL, "%s", err);
}
END_TEST

START_TEST(test_batch_and_runs)
{
    store_t *s = open_rw();
    int64_t ids[3], b = make_batch(s, ids);
    const char *bad[] = { "{\"network\":\"host\"}", "[1,2]" };
    int point[] = { 0, 1 }, rep[] = { 0, 0 };

    ck_assert(ids[0] > 0 && ids[1] == ids[0] + 1 && ids[2] == ids[1] + 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'queued'"), 3);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE created_at GLOB"
                           " '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:"
                           "[0-9][0-9].[0-9][0-9][0-9]Z'"), 3);
    ck_assert_int_eq(store_latest_batch(s), b);

    /* A run whose params are not an object: nothing of the batch is kept. */
    ck_assert_int_eq(store_batch_insert(s, "x", "{}", NULL, 2, bad, point, rep, NULL), -1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM batch"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run"), 3);

    ck_assert_int_eq(store_run_set_state(s, ids[0], "setup", NULL), 0);
    ck_assert_int_eq(q1(s, "SELECT started_at IS NOT NULL FROM run WHERE id = 1"), 1);
    ck_assert_int_eq(store_run_set_hosts(s, ids[0], "h1", "h2"), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[0], "failed", "setup timeout"), 0);
    ck_assert_int_eq(q1(s, "SELECT finished_at IS NOT NULL AND reason = 'setup timeout'"
                           " FROM run WHERE id = 1"), 1);
    ck_assert_int_eq(store_run_set_state(s, ids[0], "bogus", NULL), -1);
    ck_assert_int_eq(store_run_set_state(s, 9999, "done", NULL), -1);
    ck_assert_int_eq(store_run_set_hosts(s, 9999, "h1", "h2"), -1);
    ck_assert_int_eq(store_batch_set_state(s, b, "running"), 0);
    ck_assert_int_eq(q1(s, "SELECT finished_at IS NULL FROM batch"), 1);
    ck_assert_int_eq(store_batch_set_state(s, b, "done"), 0);
    ck_assert_int_eq(q1(s, "SELECT finished_at IS NOT NULL FROM batch"), 1);
    ck_assert_int_eq(store_batch_set_state(s, b, "weird"), -1);
    ck_assert_int_eq(store_batch_set_state(s, b + 10, "done"), -1);
    store_close(&s);
}
END_TEST

/* Commits are synchronous = NORMAL except a new batch and a stored result,
 * made FULL by store_durable; the store returns to NORMAL after them. */
START_TEST(test_durable_commits)
{
    store_t *s = open_rw();
    int64_t ids[3];
    json_t *r = json_pack("{s:{s:f}}", "metrics", "throughput_bps", 1e9);

    ck_assert_int_eq(q1(s, "PRAGMA synchronous"), 1);         /* NORMAL */
    ck_assert_int_eq(store_durable(s, true), 0);
    ck_assert_int_eq(q1(s, "PRAGMA synchronous"), 2);         /* FULL */
    ck_assert_int_eq(store_durable(s, false), 0);
    make_batch(s, ids);
    ck_assert_int_eq(q1(s, "PRAGMA synchronous"), 1);
    ck_assert_int_eq(store_result_insert(s, ids[0], 0, "h1", r), 1);
    ck_assert_int_eq(q1(s, "PRAGMA synchronous"), 1);
    ck_assert_int_eq(store_result_insert(s, 9999, 0, "h1", r), -1); /* fails: still NORMAL */
    ck_assert_int_eq(q1(s, "PRAGMA synchronous"), 1);
    /* Not inside a transaction (SQLite refuses it there). */
    ck_assert_int_eq(sqlite3_exec(store_db(s), "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(store_durable(s, true), -1);
    ck_assert_msg(strstr(store_errmsg(s), "inside a transaction"), "%s", store_errmsg(s));
    ck_assert_int_eq(sqlite3_exec(store_db(s), "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    json_decref(r);
    store_close(&s);
}
END_TEST

START_TEST(test_result_exactly_once)
{
    store_t *s = open_rw();
    int64_t ids[3];
    json_t *r = json_pack("{s:{s:f, s:i, s:f}, s:[{s:f, s:f}, {s:f, s:f}]}", "metrics",
                          "throughput_bps", 41.2e9, "retransmits", 3, "my_metric", 1.5,
                          "samples", "t_s", 1.0, "throughput_bps", 40e9, "t_s", 2.0,
                          "throughput_bps", 42.4e9);

    make_batch(s, ids);
    ck_assert_int_eq(store_result_insert(s, ids[0], 0, "h1", r), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM result"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM metric"), 3);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM sample"), 2);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM metric WHERE name = 'throughput_bps'"
                           " AND unit = 'bit/s' AND value = 41.2e9"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM metric WHERE name = 'retransmits'"
                           " AND unit = 'count' AND value = 3"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM metric WHERE name = 'my_metric'"
                           " AND unit IS NULL"), 1);

    /* Re-delivered after a reconnect: acknowledged, nothing changes. */
    ck_assert_int_eq(store_result_insert(s, ids[0], 0, "h1", r), 0);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM result"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM metric"), 3);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM sample"), 2);

    /* The next sequence number of the same run is a new result. */
    ck_assert_int_eq(store_result_insert(s, ids[0], 1, "h2", r), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM result"), 2);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM metric"), 3);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM sample"), 4);

    /* A run that does not exist. */
    ck_assert_int_eq(store_result_insert(s, 9999, 0, "h1", r), -1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM result"), 2);
    json_decref(r);
    store_close(&s);
}
END_TEST

START_TEST(test_result_bad_metric_rolls_back)
{
    store_t *s = open_rw();
    int64_t ids[3];
    json_t *bad = json_pack("{s:{s:f, s:s}, s:[{s:f, s:f}]}", "metrics", "throughput_bps",
                            41.2e9, "zz_loss", "a lot", "samples", "t_s", 1.0,
                            "throughput_bps", 40e9);
    json_t *badsample = json_pack("{s:{s:f}, s:[{s:f, s:s}]}", "metrics", "throughput_bps",
                                  1.0, "samples", "t_s", 1.0, "throughput_bps", "fast");

    make_batch(s, ids);
    ck_assert_int_eq(store_result_insert(s, ids[1], 0, "h1", bad), -1);
    ck_assert_msg(strstr(store_errmsg(s), "zz_loss") != NULL, "%s", store_errmsg(s));
    ck_assert_int_eq(store_result_insert(s, ids[1], 0, "h1", badsample), -1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM result"), 0);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM metric"), 0);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM sample"), 0);
    /* The connection is usable afterwards (no transaction left open). */
    ck_assert_int_eq(sqlite3_get_autocommit(store_db(s)), 1);
    ck_assert_int_eq(store_run_set_state(s, ids[1], "done", NULL), 0);
    json_decref(bad);
    json_decref(badsample);
    store_close(&s);
}
END_TEST

/* Two testbeds' controllers over one database (in turn): each requeues only
 * its own batches' runs (issue: controller ownership of the database). */
START_TEST(test_requeue_interrupted_own_testbed)
{
    store_t *s = open_rw();
    const char *params[] = { "{\"network\":\"host\"}" };
    int point[] = { 0 }, rep[] = { 0 };
    int64_t lab[3], other[1];
    int64_t b = make_batch(s, lab); /* testbed "lab" */
    int64_t o = store_batch_insert(s, "x", "{\"name\":\"x\"}", "nc2", 1, params, point, rep,
                                   other);
    ck_assert_int_gt(o, 0);
    ck_assert_int_eq(store_batch_set_state(s, b, "running"), 0);
    ck_assert_int_eq(store_batch_set_state(s, o, "running"), 0);
    ck_assert_int_eq(store_run_set_state(s, lab[0], "setup", NULL), 0);
    ck_assert_int_eq(store_run_set_state(s, other[0], "collect", NULL), 0);

    ck_assert_int_eq(store_requeue_interrupted(s, "nc2", NULL, 0), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'setup'"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'queued' AND"
                           " reason = 'interrupted in collect'"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run_attempt"), 1);
    /* A name with a quote is a literal, not SQL. */
    ck_assert_int_eq(store_requeue_interrupted(s, "x' OR '1'='1", NULL, 0), 0);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'setup'"), 1);
    ck_assert_int_eq(store_requeue_interrupted(s, "lab", NULL, 0), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'queued' AND"
                           " reason = 'interrupted in setup'"), 1);
    store_close(&s);
}
END_TEST

START_TEST(test_requeue_interrupted)
{
    store_t *s = open_rw();
    int64_t ids[3], b = make_batch(s, ids), ids2[3], b2;

    ck_assert_int_eq(store_batch_set_state(s, b, "running"), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[0], "done", NULL), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[1], "setup", NULL), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[2], "collect", NULL), 0);
    /* A finished batch is left alone even with a run stuck in flight. */
    b2 = make_batch(s, ids2);
    ck_assert_int_eq(store_run_set_state(s, ids2[0], "running", NULL), 0);
    ck_assert_int_eq(store_batch_set_state(s, b2, "cancelled"), 0);

    ck_assert_int_eq(store_requeue_interrupted(s, NULL, NULL, 0), 2);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'queued'"
                           " AND reason = 'interrupted in setup' AND started_at IS NULL"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'queued'"
                           " AND reason = 'interrupted in collect'"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'done'"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'running'"), 1);
    /* Each cut-short attempt is on record, with the stage it was in. */
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run_attempt WHERE state = 'interrupted'"
                           " AND attempt = 1 AND reason LIKE 'interrupted in %'"), 2);
    ck_assert_int_eq(store_requeue_interrupted(s, NULL, NULL, 0), 0);
    store_close(&s);
}
END_TEST

START_TEST(test_requeue_drops_partial_result)
{
    store_t *s = open_rw();
    int64_t ids[3], b = make_batch(s, ids);
    json_t *res = json_pack("{s:{s:f}}", "metrics", "throughput_bps", 1e9);

    ck_assert_int_eq(store_batch_set_state(s, b, "running"), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[0], "teardown", NULL), 0);
    ck_assert_int_eq(store_result_insert(s, ids[0], 1, "h1", res), 1);
    ck_assert_int_eq(store_requeue_interrupted(s, NULL, NULL, 0), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM result"), 0);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM metric"), 0);
    /* The rerun's result is stored (not taken for a duplicate of the old one). */
    ck_assert_int_eq(store_result_insert(s, ids[0], 1, "h1", res), 1);
    json_decref(res);
    store_close(&s);
}
END_TEST

/* Runs a restarted controller adopts are left as they are, result included. */
START_TEST(test_requeue_keeps_adopted)
{
    store_t *s = open_rw();
    int64_t ids[3], b = make_batch(s, ids);
    json_t *res = json_pack("{s:{s:f}}", "metrics", "throughput_bps", 2e9);

    ck_assert_int_eq(store_batch_set_state(s, b, "running"), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[0], "collect", NULL), 0);
    ck_assert_int_eq(store_run_set_hosts(s, ids[0], "h1", "h2"), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[1], "teardown", NULL), 0);
    ck_assert_int_eq(store_result_insert(s, ids[1], 1, "h1", res), 1);
    ck_assert_int_eq(store_run_set_state(s, ids[2], "collect", NULL), 0);
    int64_t keep[2] = { ids[0], ids[1] };
    ck_assert_int_eq(store_requeue_interrupted(s, NULL, keep, 2), 1);
    /* The kept runs: same state, hosts, result; no attempt recorded. */
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'collect' AND reason IS NULL"
                           " AND client_host = 'h1' AND server_host = 'h2'"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'teardown'"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM metric WHERE value = 2e9"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM result"), 1);
    /* The third is requeued as before, its attempt on record. */
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'queued'"
                           " AND reason = 'interrupted in collect'"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run_attempt"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run_attempt WHERE state = 'interrupted'"
                           " AND attempt = 1 AND reason = 'interrupted in collect'"), 1);
    /* A bad list is refused with nothing changed. */
    ck_assert_int_eq(store_requeue_interrupted(s, NULL, NULL, 1), -1);
    ck_assert_int_eq(store_requeue_interrupted(s, NULL, keep, -1), -1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state IN ('collect', 'teardown')"), 2);
    /* Without the list they go too. */
    ck_assert_int_eq(store_requeue_interrupted(s, NULL, NULL, 0), 2);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM result"), 0);
    json_decref(res);
    store_close(&s);
}
END_TEST

/* The controller's questions (store_run.c): next run, progress, skip, matrix, adoption. */
START_TEST(test_controller_queries)
{
    store_t *s = open_rw();
    int64_t ids[3], b = make_batch(s, ids), run = 0, open_ids[4];
    char *text = NULL, *state = NULL;
    int left = -1;
    bool cancelled = true;
    store_run_row_t *rows = NULL;
    json_t *runs;

    ck_assert_int_eq(store_probe_write(s), 0);
    ck_assert_int_eq(store_batch_matrix(s, b, &text), 0);
    ck_assert_str_eq(text, "{\"name\":\"demo\"}");
    free(text);
    ck_assert_int_eq(store_batch_matrix(s, b + 10, &text), 0);
    ck_assert_ptr_null(text);
    ck_assert_int_eq(store_batches_unfinished(s, "lab", open_ids, 4), 1);
    ck_assert_int_eq(open_ids[0], b);
    ck_assert_int_eq(store_batches_unfinished(s, "other", open_ids, 4), 0);

    /* The next queued run is the lowest idx; it moves on as runs leave the queue. */
    ck_assert_int_eq(store_batch_next_run(s, b, &run, &text), 1);
    ck_assert_int_eq(run, ids[0]);
    ck_assert_str_eq(text, "{\"network\":\"host\"}");
    free(text);
    ck_assert_int_eq(store_run_set_state(s, ids[0], "leasing", NULL), 0);
    ck_assert_int_eq(store_batch_next_run(s, b, &run, &text), 1);
    ck_assert_int_eq(run, ids[1]);
    free(text);
    ck_assert_int_eq(store_batch_progress(s, b, &left, &cancelled), 0);
    ck_assert_int_eq(left, 3);
    ck_assert(!cancelled);
    ck_assert_int_eq(store_batch_progress(s, b + 10, &left, &cancelled), -1);

    /* Adoption: a run in collect with hosts; in flight: every run between leasing and teardown. */
    ck_assert_int_eq(store_batch_set_state(s, b, "running"), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[0], "collect", NULL), 0);
    ck_assert_int_eq(store_run_set_hosts(s, ids[0], "h1", "h2"), 0);
    ck_assert_int_eq(store_runs_adoptable(s, "lab", &rows), 1);
    ck_assert_int_eq(rows[0].id, ids[0]);
    ck_assert_int_eq(rows[0].batch, b);
    ck_assert_str_eq(rows[0].client_host, "h1");
    ck_assert_str_eq(rows[0].server_host, "h2");
    ck_assert_str_eq(rows[0].params_json, "{\"network\":\"host\"}");
    ck_assert(!rows[0].has_result);
    store_run_rows_free(&rows, 1);
    ck_assert_ptr_null(rows);
    ck_assert_int_eq(store_runs_adoptable(s, "other", &rows), 0);
    store_run_rows_free(&rows, 0);
    ck_assert_int_eq(store_run_set_state(s, ids[1], "setup", NULL), 0);
    ck_assert_int_eq(store_runs_in_flight(s, "lab", &rows), 2);
    ck_assert_ptr_null(rows[1].client_host);
    store_run_rows_free(&rows, 2);

    /* Skipping the queued runs leaves the others; the batch reads back for `cntb status`. */
    ck_assert_int_eq(store_batch_skip_queued(s, b, "cannot run"), 0);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE state = 'skipped'"
                           " AND reason = 'cannot run' AND finished_at IS NOT NULL"), 1);
    runs = store_batch_runs(s, b, &state);
    ck_assert_ptr_nonnull(runs);
    ck_assert_str_eq(state, "running");
    ck_assert_int_eq(json_array_size(runs), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0), "client_host")),
                     "h1");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(runs, 2), "attempts")), 1);
    json_decref(runs);
    free(state);
    ck_assert_ptr_null(store_batch_runs(s, b + 10, &state));
    ck_assert_ptr_null(state);
    store_close(&s);
}
END_TEST

START_TEST(test_run_retry)
{
    store_t *s = open_rw();
    int64_t ids[3];
    json_t *res = json_pack("{s:{s:f}}", "metrics", "throughput_bps", 1e9);

    make_batch(s, ids);
    ck_assert_int_eq(store_run_set_hosts(s, ids[1], "h1", "h2"), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[1], "setup", NULL), 0);
    ck_assert_int_eq(store_result_insert(s, ids[1], 1, "h1", res), 1);
    ck_assert_int_eq(store_run_failed_attempts(s, ids[1]), 0);
    ck_assert_int_eq(store_run_retry(s, ids[1], "teardown on h1 left: cntb5-a"), 0);
    ck_assert_int_eq(store_run_retry(s, ids[1], "setup timed out after 30 s"), 0);
    ck_assert_int_eq(store_run_failed_attempts(s, ids[1]), 2);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run_attempt WHERE run_id = (SELECT id FROM run"
                           " WHERE idx = 1) AND attempt = 2 AND reason = 'setup timed out after 30 s'"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run_attempt WHERE attempt = 1 AND"
                           " client_host = 'h1' AND server_host = 'h2' AND started_at IS NOT NULL"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run WHERE idx = 1 AND state = 'queued'"
                           " AND client_host IS NULL"), 1);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM result"), 0);
    ck_assert_int_eq(store_run_retry(s, 999, "x"), -1);
    json_decref(res);
    store_close(&s);
}
END_TEST

START_TEST(test_readonly)
{
    char err[256] = "";
    store_t *s = store_open(tdb, true, err, sizeof err);
    int64_t ids[3];

    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "cannot open DB") && strstr(err, "no such file"), "%s", err);
    ck_assert_int_ne(access(tdb, F_OK), 0);    /* not created */

    s = open_rw();
    make_batch(s, ids);
    {
        /* A reader beside the writer (WAL): sees committed rows. */
        store_t *ro = store_open(tdb, true, err, sizeof err);

        ck_assert_msg(ro != NULL, "%s", err);
        ck_assert_int_eq(q1(ro, "SELECT count(*) FROM run"), 3);
        store_close(&ro);
    }
    store_close(&s);
    s = store_open(tdb, true, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_int_eq(store_schema_version(s), latest_migration());
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM run"), 3);
    ck_assert_int_eq(store_run_set_state(s, ids[0], "done", NULL), -1);
    store_close(&s);
}
END_TEST

START_TEST(test_readonly_not_a_db)
{
    char err[256] = "";
    FILE *f = fopen(tdb, "w");
    store_t *s;

    ck_assert_ptr_nonnull(f);
    fputs("this is not a database, it is a text file long enough to have a header....\n", f);
    fclose(f);
    s = store_open(tdb, true, err, sizeof err);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "cannot open DB") != NULL, "%s", err);
}
END_TEST

static Suite *
store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_migrate_fresh_and_reopen);
    tcase_add_test(tc, test_newer_schema_refused);
    tcase_add_test(tc, test_analysis_views_and_host_meta);
    tcase_add_test(tc, test_batch_and_runs);
    tcase_add_test(tc, test_result_exactly_once);
    tcase_add_test(tc, test_durable_commits);
    tcase_add_test(tc, test_result_bad_metric_rolls_back);
    tcase_add_test(tc, test_requeue_interrupted);
    tcase_add_test(tc, test_requeue_interrupted_own_testbed);
    tcase_add_test(tc, test_requeue_drops_partial_result);
    tcase_add_test(tc, test_requeue_keeps_adopted);
    tcase_add_test(tc, test_run_retry);
    tcase_add_test(tc, test_controller_queries);
    tcase_add_test(tc, test_readonly);
    tcase_add_test(tc, test_readonly_not_a_db);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(store_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
