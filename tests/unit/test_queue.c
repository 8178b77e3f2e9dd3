/*
 * test_queue.c — Check suite for controller/queue.c: adding entries, which
 * are due when, loading one, recording a started batch and the next start,
 * failing an entry, cancelling (the batch's queued runs skipped, a run in
 * flight left alone, the batch cancelled once nothing runs), and the list.
 * Every test makes its own mkdtemp directory and database.
 */
#include "ferr.h"
#include "matrix.h"
#include "queue.h"
#include "schedule.h"
#include "store.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tdir[PATH_MAX];
static char tdb[PATH_MAX + 16];

static void
setup(void)
{
    snprintf(tdir, sizeof tdir, "%s/cntb-test-queue-XXXXXX",
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

static char *
q_text(store_t *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out ? out : strdup("NULL");
}

static void
expect_q(store_t *s, const char *sql, const char *want)
{
    char *got = q_text(s, sql);
    ck_assert_msg(strcmp(got, want) == 0, "%s: got %s, want %s", sql, got, want);
    free(got);
}

static time_t
utc(const char *s)
{
    time_t t;
    ck_assert_int_eq(schedule_parse_utc(s, &t), 0);
    return t;
}

/* A batch of 3 runs (queued). */
static int64_t
make_batch(store_t *s, int64_t *ids)
{
    const char *params[] = { "{\"network\":\"host\"}", "{\"network\":\"bridge\"}",
                             "{\"network\":\"host\"}" };
    int point[] = { 0, 1, 0 }, rep[] = { 1, 1, 2 };
    int64_t b = store_batch_insert(s, "m", "{\"name\":\"m\"}", "lab", 3, params, point, rep, ids);
    ck_assert_msg(b > 0, "%s", store_errmsg(s));
    return b;
}

START_TEST(test_add_due_get)
{
    store_t *s = open_rw();
    int64_t ids[4];
    queue_entry_t e;
    int64_t a = queue_add(s, "m", "m.json", "{\"name\": \"m\"}", "lab",
                          utc("2026-11-30T01:00:00Z"), 0, NULL, false);
    int64_t b = queue_add(s, "n", "dir/n.json", "{}", NULL, utc("2026-11-30T00:30:00Z"), 86400,
                          "1d", true);
    ck_assert_int_eq(a, 1);
    ck_assert_int_eq(b, 2);
    /* Nothing due before the first start; then oldest start first; a start is due at its second. */
    ck_assert_int_eq(queue_due(s, NULL, utc("2026-11-30T00:29:59Z"), ids, 4), 0);
    ck_assert_int_eq(queue_due(s, NULL, utc("2026-11-30T00:30:00Z"), ids, 4), 1);
    ck_assert_int_eq(queue_due(s, NULL, utc("2026-11-30T02:00:00Z"), ids, 4), 2);
    ck_assert_int_eq(ids[0], 2);
    ck_assert_int_eq(ids[1], 1);
    ck_assert_int_eq(queue_due(s, NULL, utc("2026-11-30T02:00:00Z"), ids, 1), 1);
    /* A controller takes its own testbed's entries only: one database, two testbeds. */
    ck_assert_int_eq(queue_due(s, "lab", utc("2026-11-30T02:00:00Z"), ids, 4), 1);
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(queue_due(s, "nc2", utc("2026-11-30T02:00:00Z"), ids, 4), 0);

    ck_assert_int_eq(queue_get(s, b, &e), 0);
    ck_assert_str_eq(e.name, "n");
    ck_assert_str_eq(e.file, "dir/n.json");
    ck_assert_str_eq(e.matrix, "{}");
    ck_assert_ptr_null(e.testbed);
    ck_assert_int_eq(e.at, utc("2026-11-30T00:30:00Z"));
    ck_assert_int_eq(e.every_s, 86400);
    ck_assert(e.calendar);
    ck_assert_str_eq(e.state, "waiting");
    ck_assert_int_eq(e.batch, 0);
    queue_entry_free(&e);
    queue_entry_free(&e); /* a freed entry is zeroed */
    ck_assert_int_eq(queue_get(s, 99, &e), -1);
    store_close(&s);
}
END_TEST

START_TEST(test_started_and_failed)
{
    store_t *s = open_rw();
    int64_t ids[3], n[4];
    int64_t once = queue_add(s, "m", "m.json", "{}", "lab", utc("2026-11-30T01:00:00Z"), 0, NULL,
                             false);
    int64_t series = queue_add(s, "m", "m.json", "{}", "lab", utc("2026-11-30T01:00:00Z"), 3600,
                               "1h", false);
    int64_t bad = queue_add(s, "m", "m.json", "{}", "lab", utc("2026-11-30T01:00:00Z"), 0, NULL,
                            false);
    int64_t b1 = make_batch(s, ids), b2 = make_batch(s, ids);

    ck_assert_int_eq(queue_started(s, once, b1, 0), 0);
    ck_assert_int_eq(queue_started(s, series, b2, utc("2026-11-30T02:00:00Z")), 0);
    ck_assert_int_eq(queue_failed(s, bad, "m.json:1:2: $.hosts[0]: no host h9 in testbed lab"), 0);
    expect_q(s, "SELECT state || ' ' || coalesce(next_start, '-') || ' ' || batch_id || ' ' || batches"
                " FROM queue WHERE id = 1", "started - 1 1");
    expect_q(s, "SELECT state || ' ' || next_start || ' ' || batch_id FROM queue WHERE id = 2",
             "waiting 2026-11-30T02:00:00Z 2");
    expect_q(s, "SELECT state || ' ' || error FROM queue WHERE id = 3",
             "failed m.json:1:2: $.hosts[0]: no host h9 in testbed lab");
    expect_q(s, "SELECT group_concat(coalesce(queue_id, '-'), ',') FROM batch", "1,2");
    /* Only the series is due again, at its next start. */
    ck_assert_int_eq(queue_due(s, NULL, utc("2026-11-30T01:59:59Z"), n, 4), 0);
    ck_assert_int_eq(queue_due(s, NULL, utc("2026-11-30T02:00:00Z"), n, 4), 1);
    ck_assert_int_eq(n[0], series);
    /* The next start as the controller answers `cntb queue add` (store_queue_next_start). */
    char next[32];
    ck_assert_int_eq(store_queue_next_start(s, series, next, sizeof next), 0);
    ck_assert_str_eq(next, "2026-11-30T02:00:00Z");
    ck_assert_int_eq(store_queue_next_start(s, once, next, sizeof next), 0);
    ck_assert_str_eq(next, "");
    ck_assert_int_eq(store_queue_next_start(s, 99, next, sizeof next), 0);
    ck_assert_str_eq(next, "");
    store_close(&s);
}
END_TEST

/* Issue: a full disk failed the queue update after the batch insert had
 * committed; the entry stayed due and made a second batch.  Now both are one
 * transaction: a failing second statement leaves no batch, no run, and the
 * entry still due; the retry makes exactly one batch. */
START_TEST(test_start_batch_atomic)
{
    store_t *s = open_rw();
    int64_t n[4];
    const char *params[2] = { "{\"a\":1}", "{\"a\":2}" };
    int point[2] = { 0, 1 }, rep[2] = { 0, 0 };
    int64_t id = queue_add(s, "m", "m.json", "{}", "lab", utc("2026-11-30T01:00:00Z"), 0, NULL,
                           false);
    ck_assert_int_gt(id, 0);
    ck_assert_int_eq(sqlite3_exec(store_db(s),
                                  "CREATE TRIGGER cntb_full BEFORE UPDATE ON queue BEGIN"
                                  " SELECT RAISE(ABORT, 'database or disk is full'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(queue_start_batch(s, id, "m", "{}", "lab", 2, params, point, rep, -1, 0), -1);
    ck_assert_str_eq(store_errmsg(s), "database or disk is full");
    expect_q(s, "SELECT count(*) FROM batch", "0");
    expect_q(s, "SELECT count(*) FROM run", "0");
    expect_q(s, "SELECT state || ' ' || batches FROM queue", "waiting 0");
    ck_assert_int_eq(queue_due(s, NULL, utc("2026-11-30T01:00:00Z"), n, 4), 1);

    ck_assert_int_eq(sqlite3_exec(store_db(s), "DROP TRIGGER cntb_full", NULL, NULL, NULL),
                     SQLITE_OK);
    int64_t b = queue_start_batch(s, id, "m", "{}", "lab", 2, params, point, rep, -1, 0);
    ck_assert_int_gt(b, 0);
    expect_q(s, "SELECT count(*) || ' ' || queue_id FROM batch", "1 1");
    expect_q(s, "SELECT group_concat(state || ':' || params_json, ',') FROM run",
             "queued:{\"a\":1},queued:{\"a\":2}");
    expect_q(s, "SELECT state || ' ' || batches || ' ' || batch_id FROM queue", "started 1 1");
    ck_assert_int_eq(queue_due(s, NULL, utc("2026-11-30T03:00:00Z"), n, 4), 0);
    store_close(&s);
}
END_TEST

/* The batch of a queue entry: what ctl_sched.c's ctl_queue_start does, after queue_get. */
static int64_t
start_entry(store_t *s, int64_t id, time_t next, int64_t *seed)
{
    queue_entry_t e;
    char err[FERR_MAX];
    ck_assert_int_eq(queue_get(s, id, &e), 0);
    matrix_t *m = matrix_load_text(e.file, e.matrix, strlen(e.matrix), err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_int_eq(queue_order(m, &e, seed), 0);
    int n = matrix_run_count(m), point[64], rep[64];
    char *params[64];
    ck_assert_int_le(n, 64);
    for (int i = 0; i < n; i++) {
        params[i] = json_dumps(matrix_run_params(m, i), JSON_COMPACT | JSON_PRESERVE_ORDER);
        point[i] = matrix_run_point(m, i);
        rep[i] = matrix_run_repetition(m, i);
    }
    char *doc = json_dumps(matrix_document(m), JSON_COMPACT | JSON_PRESERVE_ORDER);
    int64_t b = queue_start_batch(s, id, matrix_name(m), doc, e.testbed, n,
                                  (const char *const *)params, point, rep, *seed, next);
    ck_assert_msg(b > 0, "%s", store_errmsg(s));
    free(doc);
    for (int i = 0; i < n; i++)
        free(params[i]);
    matrix_destroy(&m);
    queue_entry_free(&e);
    return b;
}

/* The stored order of batch b: its runs' point numbers by idx, "3,0,2,...". */
static char *
batch_order(store_t *s, int64_t b)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT group_concat(point, ',') FROM (SELECT point FROM run"
             " WHERE batch_id = %lld ORDER BY idx)", (long long)b);
    return q_text(s, sql);
}

/* Issue 22: every night of a `--every 1d` series ran the same "random" order,
 * the matrix's seed.  Now batch k of an entry draws its order with a seed of
 * its own (matrix_batch_seed(seed, k); the first keeps the matrix's seed, the
 * order `cntb matrix expand` prints), stored in batch.seed; a matrix with
 * that seed expands to that batch's order again. */
START_TEST(test_series_batches_get_their_own_seed)
{
    static const char text[] =
        "{\"name\": \"nightly\", \"vary\": {\"size\": {\"from\": 1, \"to\": 12}},"
        " \"repetitions\": 2, \"order\": \"random\", \"seed\": 7}";
    store_t *s = open_rw();
    int64_t seed[3], id = queue_add(s, "nightly", "n.json", text, "lab",
                                    utc("2026-11-30T01:00:00Z"), 86400, "1d", true);
    int64_t b0 = start_entry(s, id, utc("2026-12-01T01:00:00Z"), &seed[0]);
    int64_t b1 = start_entry(s, id, utc("2026-12-02T01:00:00Z"), &seed[1]);
    int64_t b2 = start_entry(s, id, utc("2026-12-03T01:00:00Z"), &seed[2]);
    char *o0 = batch_order(s, b0), *o1 = batch_order(s, b1), *o2 = batch_order(s, b2);

    /* The first night keeps the matrix's seed; the next ones differ from it and each other. */
    ck_assert_int_eq(seed[0], 7);
    ck_assert_int_ne(seed[1], 7);
    ck_assert_int_ne(seed[2], seed[1]);
    ck_assert_int_eq(seed[1], (int64_t)matrix_batch_seed(7, 1));
    ck_assert_int_eq(seed[2], (int64_t)matrix_batch_seed(7, 2));
    ck_assert(seed[1] >= 0 && (uint64_t)seed[1] <= MATRIX_SEED_MAX);
    ck_assert_msg(strcmp(o0, o1) != 0 && strcmp(o1, o2) != 0 && strcmp(o0, o2) != 0,
                  "three nights, one order: %s / %s / %s", o0, o1, o2);
    /* The seeds are stored with their batches. */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT group_concat(seed, ',') FROM (SELECT seed FROM batch"
             " ORDER BY id)");
    char want[96];
    snprintf(want, sizeof want, "%lld,%lld,%lld", (long long)seed[0], (long long)seed[1],
             (long long)seed[2]);
    expect_q(s, sql, want);

    /* Replay night 2: the matrix with "seed" set to the stored one gives its order. */
    char *stored = q_text(s, "SELECT seed FROM batch WHERE id = 2");
    char replay[256];
    snprintf(replay, sizeof replay,
             "{\"name\": \"nightly\", \"vary\": {\"size\": {\"from\": 1, \"to\": 12}},"
             " \"repetitions\": 2, \"order\": \"random\", \"seed\": %s}", stored);
    char err[FERR_MAX], got[512] = "";
    matrix_t *m = matrix_load_text("replay.json", replay, strlen(replay), err);
    ck_assert_msg(m != NULL, "%s", err);
    for (int i = 0; i < matrix_run_count(m); i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%d", i ? "," : "",
                 matrix_run_point(m, i));
    ck_assert_str_eq(got, o1);
    matrix_destroy(&m);

    /* A sequential matrix stores no seed and keeps its order. */
    int64_t sq = queue_add(s, "seq", "s.json", "{\"vary\": {\"size\": [1, 2]}}", "lab",
                           utc("2026-11-30T01:00:00Z"), 3600, "1h", false), sseed;
    int64_t bs = start_entry(s, sq, utc("2026-11-30T02:00:00Z"), &sseed);
    ck_assert_int_eq(sseed, -1);
    snprintf(sql, sizeof sql, "SELECT coalesce(seed, 'NULL') FROM batch WHERE id = %lld",
             (long long)bs);
    expect_q(s, sql, "NULL");
    free(stored);
    free(o0);
    free(o1);
    free(o2);
    store_close(&s);
}
END_TEST

START_TEST(test_cancel)
{
    store_t *s = open_rw();
    int64_t ids[3], batch = -1;
    int64_t id = queue_add(s, "m", "m.json", "{}", "lab", utc("2026-11-30T01:00:00Z"), 86400, "1d",
                           true);
    int64_t b = make_batch(s, ids);
    ck_assert_int_eq(queue_started(s, id, b, utc("2026-12-01T01:00:00Z")), 0);
    ck_assert_int_eq(store_batch_set_state(s, b, "running"), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[0], "done", NULL), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[1], "collect", NULL), 0);

    ck_assert_int_eq(queue_cancel(s, id, &batch), 0);
    ck_assert_int_eq(batch, b);
    /* The run in flight goes on; the queued one is skipped; the batch is cancelled
     * but not finished while a run is in flight. */
    expect_q(s, "SELECT group_concat(state || ':' || coalesce(reason, ''), ',') FROM"
                " (SELECT state, reason FROM run ORDER BY idx)",
             "done:,collect:,skipped:cancelled with queue entry 1");
    expect_q(s, "SELECT state || ' ' || coalesce(finished_at, '-') FROM batch", "cancelled -");
    expect_q(s, "SELECT state || ' ' || coalesce(next_start, '-') || ' ' || (cancelled_at IS NOT NULL)"
                " FROM queue", "cancelled - 1");
    ck_assert_int_eq(queue_due(s, NULL, utc("2027-01-01T00:00:00Z"), ids, 3), 0);
    /* Twice: not an error, says so. */
    ck_assert_int_eq(queue_cancel(s, id, &batch), 1);
    ck_assert_int_eq(queue_cancel(s, 42, &batch), -1);
    store_close(&s);
}
END_TEST

START_TEST(test_cancel_idle_batch_finishes_it)
{
    store_t *s = open_rw();
    int64_t ids[3], batch = 0;
    int64_t id = queue_add(s, "m", "m.json", "{}", "lab", utc("2026-11-30T01:00:00Z"), 0, NULL,
                           false);
    int64_t b = make_batch(s, ids);
    ck_assert_int_eq(queue_started(s, id, b, 0), 0);
    ck_assert_int_eq(queue_cancel(s, id, &batch), 0);
    expect_q(s, "SELECT state || ' ' || (finished_at IS NOT NULL) FROM batch", "cancelled 1");
    expect_q(s, "SELECT count(*) FROM run WHERE state = 'skipped'", "3");
    ck_assert_int_eq(batch, 0); /* it ended at once: nothing to wait for */
    store_close(&s);
}
END_TEST

START_TEST(test_list)
{
    store_t *s = open_rw();
    int64_t ids[3];
    int64_t id = queue_add(s, "m", "m.json", "{}", "lab", utc("2026-11-30T01:00:00Z"), 43200,
                           "12h", false);
    ck_assert_int_gt(queue_add(s, "n", "n.json", "{}", "lab", utc("2026-12-24T18:00:00Z"), 0, NULL,
                               false), id);
    int64_t b = make_batch(s, ids);
    ck_assert_int_eq(queue_started(s, id, b, utc("2026-11-30T13:00:00Z")), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[0], "done", NULL), 0);
    json_t *l = queue_list(s);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(json_array_size(l), 2);
    char *t = json_dumps(json_array_get(l, 0), JSON_COMPACT | JSON_PRESERVE_ORDER);
    ck_assert_str_eq(t, "{\"id\":1,\"name\":\"m\",\"file\":\"m.json\",\"testbed\":\"lab\","
                        "\"at\":\"2026-11-30T01:00:00Z\",\"every\":\"12h\","
                        "\"next_start\":\"2026-11-30T13:00:00Z\",\"state\":\"waiting\","
                        "\"error\":null,\"batch\":1,\"batches\":1,\"batch_state\":\"queued\","
                        "\"runs\":3,\"runs_finished\":1}");
    free(t);
    ck_assert(json_is_null(json_object_get(json_array_get(l, 1), "batch")));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 1), "next_start")),
                     "2026-12-24T18:00:00Z");
    json_decref(l);
    store_close(&s);
}
END_TEST

static Suite *
queue_suite(void)
{
    Suite *s = suite_create("queue");
    TCase *tc = tcase_create("queue");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_add_due_get);
    tcase_add_test(tc, test_started_and_failed);
    tcase_add_test(tc, test_start_batch_atomic);
    tcase_add_test(tc, test_series_batches_get_their_own_seed);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_cancel_idle_batch_finishes_it);
    tcase_add_test(tc, test_list);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(queue_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
