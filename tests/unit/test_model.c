/*
 * test_model.c — Check suite for controller/model.c: a synthetic sweep
 * whose packet rates follow time per packet = a + b · size exactly (host:
 * a = 1000 ns, b = 0.25 ns/byte; bridge: a = 1600 ns, b = 0.40 ns/byte) is
 * fitted back to those a and b, the bridge's overhead against host is
 * 600 ns/packet and 0.15 ns/byte, a held-out size is predicted; with ±1 %
 * noise the estimates stay close; bad arguments are refused.  Each test has
 * its own mkdtemp directory and database.
 */
#include "model.h"

#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tdir[PATH_MAX];
static char tdb[PATH_MAX + 16];
static store_t *tstore;

static void
setup(void)
{
    char err[256];

    snprintf(tdir, sizeof tdir, "/tmp/cntb-test-model-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
    snprintf(tdb, sizeof tdb, "%s/cntb.db", tdir);
    tstore = store_open(tdb, false, err, sizeof err);
    ck_assert_msg(tstore != NULL, "%s", err);
}

static void
teardown(void)
{
    static const char *const suffix[] = { "", "-wal", "-shm" };
    char p[PATH_MAX + 32];

    store_close(&tstore);
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", tdb, suffix[i]);
        unlink(p);
    }
    rmdir(tdir);
}

static const int sizes[] = { 64, 128, 256, 512, 1024, 1472 };
#define NSIZES 6
#define NREPS 3

/* host and bridge, every size, NREPS repetitions; noise: relative amplitude of a fixed pattern. */
static void
fill(double noise)
{
    static const double a[2] = { 1000, 1600 }, b[2] = { 0.25, 0.40 };
    static const char *const net[2] = { "host", "bridge" };
    static const double pattern[NREPS] = { -1, 0.5, 0.5 };
    enum { N = 2 * NSIZES * NREPS };
    const char *params[N];
    char buf[N][128];
    int point[N], rep[N], n = 0;
    int64_t ids[N], batch;

    for (int r = 0; r < NREPS; r++)
        for (int k = 0; k < 2; k++)
            for (int s = 0; s < NSIZES; s++) {
                snprintf(buf[n], sizeof buf[n],
                         "{\"network\":\"%s\",\"placement\":\"same-host\",\"size\":%d}", net[k],
                         sizes[s]);
                params[n] = buf[n];
                point[n] = k * NSIZES + s;
                rep[n++] = r;
            }
    batch = store_batch_insert(tstore, "pps", "{}", "lab", n, params, point, rep, ids);
    ck_assert_int_gt(batch, 0);
    for (int i = 0; i < n; i++) {
        int k = point[i] / NSIZES, s = point[i] % NSIZES;
        double t = (a[k] + b[k] * sizes[s]) * (1 + noise * pattern[rep[i]] * (s % 2 ? 1 : -1));
        json_t *r = json_pack("{s:{s:f}}", "metrics", "throughput_pps", 1e9 / t);

        ck_assert_int_eq(store_result_insert(tstore, ids[i], 0, "h1", r), 1);
        json_decref(r);
        ck_assert_int_eq(store_run_set_state(tstore, ids[i], "done", NULL), 0);
    }
}

START_TEST(test_fit_recovers_a_and_b)
{
    results_select_t sel = { .batch = 0 };
    char err[256] = "";
    model_t m;

    fill(0.0);
    ck_assert_msg(model_fit_paths(tstore, &sel, "network,placement", "network=host", NULL, &m, err,
                                  sizeof err) == 0, "%s", err);
    ck_assert_int_eq(m.np, 2);
    ck_assert_str_eq(m.p[0].val[0], "host");
    ck_assert(m.p[0].fitted && m.p[1].fitted);
    ck_assert_int_eq(m.p[0].fit.n, NSIZES * NREPS);
    ck_assert_int_eq(m.p[0].nsizes, NSIZES);
    ck_assert_double_eq_tol(m.p[0].fit.a, 1000.0, 1e-6);
    ck_assert_double_eq_tol(m.p[0].fit.b, 0.25, 1e-9);
    ck_assert_double_eq_tol(m.p[1].fit.a, 1600.0, 1e-6);
    ck_assert_double_eq_tol(m.p[1].fit.b, 0.40, 1e-9);
    ck_assert_double_eq_tol(m.p[0].fit.r2, 1.0, 1e-12);
    ck_assert_double_eq_tol(m.p[1].resid[3], 0.0, 1e-6);
    ck_assert_int_eq(m.p[1].base, 0);
    ck_assert_int_eq(m.p[0].base, 0);
    ck_assert_double_eq_tol(m.p[1].fit.a - m.p[m.p[1].base].fit.a, 600.0, 1e-6);
    ck_assert_double_eq_tol(m.p[1].fit.b - m.p[m.p[1].base].fit.b, 0.15, 1e-9);
    model_free(&m);
}
END_TEST

START_TEST(test_fit_noisy_and_predict_held_out)
{
    results_select_t sel = { .batch = 0 };
    char err[256] = "", *text = NULL;
    const char *where[] = { "network=bridge" };
    size_t len = 0;
    FILE *f;
    model_t m;
    json_t *j, *row;
    double want = 1e9 / (1600 + 0.40 * 700), pps, lo, hi;

    fill(0.01);
    ck_assert_int_eq(model_fit_paths(tstore, &sel, "network", NULL, NULL, &m, err, sizeof err), 0);
    ck_assert_msg(fabs(m.p[1].fit.a - 1600) < 0.03 * 1600, "a = %g", m.p[1].fit.a);
    ck_assert_msg(fabs(m.p[1].fit.b - 0.40) < 0.05 * 0.40, "b = %g", m.p[1].fit.b);
    ck_assert(m.p[1].fit.r2 > 0.95 && m.p[1].fit.r2 < 1.0);
    model_free(&m);

    /* 700 bytes was never measured: within 2 % of the true rate, inside the interval. */
    f = open_memstream(&text, &len);
    ck_assert_int_eq(model_predict(tstore, &sel, "network", NULL, where, 1, 700, RESULTS_JSON, f, err,
                                   sizeof err), 0);
    fclose(f);
    j = json_loads(text, 0, NULL);
    ck_assert_msg(json_array_size(j) == 1, "%s", text);
    row = json_array_get(j, 0);
    ck_assert_str_eq(json_string_value(json_object_get(row, "network")), "bridge");
    pps = json_real_value(json_object_get(row, "packet_per_s"));
    lo = json_real_value(json_object_get(row, "packet_per_s_low"));
    hi = json_real_value(json_object_get(row, "packet_per_s_high"));
    ck_assert_msg(fabs(pps - want) < 0.02 * want, "pps %g want %g", pps, want);
    ck_assert_msg(lo < want && want < hi, "[%g, %g] misses %g", lo, hi, want);
    ck_assert_double_eq_tol(json_real_value(json_object_get(row, "bit_per_s")), pps * 700 * 8,
                            1e-3 * pps);
    json_decref(j);
    free(text);

    /* The table carries units in its headers. */
    f = open_memstream(&text, &len);
    ck_assert_int_eq(model_fit(tstore, &sel, "network", "network=host", NULL, RESULTS_TABLE, f, err,
                               sizeof err), 0);
    fclose(f);
    ck_assert_msg(strstr(text, "a (ns/packet)") && strstr(text, "b (ns/byte)") &&
                      strstr(text, "Δa vs base (ns/packet)") && strstr(text, "bridge"),
                  "%s", text);
    free(text);
}
END_TEST

START_TEST(test_model_bad_arguments)
{
    results_select_t sel = { .batch = 0 };
    const char *nope[] = { "network=nope" }, *badkey[] = { "colour=red" }, *bad[] = { "x" };
    char err[256], *text = NULL;
    size_t len = 0;
    FILE *f;

    fill(0.0);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(model_predict(tstore, &sel, "network", NULL, nope, 1, 0, RESULTS_TABLE, f, err,
                                   sizeof err), -1);
    ck_assert_msg(strstr(err, "bad --size"), "%s", err);
    ck_assert_int_eq(model_predict(tstore, &sel, "network", NULL, nope, 1, 700, RESULTS_TABLE, f, err,
                                   sizeof err), -1);
    ck_assert_msg(strstr(err, "no fitted path matches network=nope"), "%s", err);
    ck_assert_int_eq(model_predict(tstore, &sel, "network", NULL, badkey, 1, 700, RESULTS_TABLE, f,
                                   err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown key"), "%s", err);
    ck_assert_int_eq(model_predict(tstore, &sel, "network", NULL, bad, 1, 700, RESULTS_TABLE, f, err,
                                   sizeof err), -1);
    ck_assert_msg(strstr(err, "expected param=value"), "%s", err);
    ck_assert_int_eq(model_fit(tstore, &sel, "nesting", NULL, NULL, RESULTS_TABLE, f, err, sizeof err),
                     -1);
    ck_assert_msg(strstr(err, "unknown key 'nesting'"), "%s", err);
    fclose(f);
    free(text);
}
END_TEST

/* Cross-validation: sizes 128 and 1024 left out of an exact sweep are
 * predicted exactly (error 0 %) from the other four sizes. */
START_TEST(test_check_held_out)
{
    static const double held[] = { 128, 1024 }, odd[] = { 700 };
    model_holdout_t hold = { held, 2 }, none = { odd, 1 };
    results_select_t sel = { .batch = 0 };
    char err[256] = "", *text = NULL;
    size_t len = 0, i;
    json_t *j, *row;
    model_t m;
    FILE *f;
    int rows = 0;

    fill(0.0);
    ck_assert_int_eq(model_fit_paths(tstore, &sel, "network", NULL, &hold, &m, err, sizeof err),
                     0);
    ck_assert_int_eq(m.np, 2);
    ck_assert_int_eq(m.p[0].nsizes, 4); /* 64, 256, 512, 1472 */
    ck_assert_int_eq(m.p[0].fit.n, 4 * NREPS);
    model_free(&m);

    f = open_memstream(&text, &len);
    ck_assert_int_eq(model_check(tstore, &sel, "network", &hold, RESULTS_JSON, f, err, sizeof err),
                     0);
    fclose(f);
    j = json_loads(text, 0, NULL);
    ck_assert_msg(json_is_array(j) && json_array_size(j) == 4, "%s", text);
    json_array_foreach(j, i, row) {
        const char *net = json_string_value(json_object_get(row, "network"));
        double size = (double)json_integer_value(json_object_get(row, "size_bytes"));
        double t = strcmp(net, "host") == 0 ? 1000 + 0.25 * size : 1600 + 0.40 * size;

        ck_assert(size == 128 || size == 1024);
        ck_assert_int_eq(json_integer_value(json_object_get(row, "runs")), NREPS);
        ck_assert_double_eq_tol(json_real_value(json_object_get(row, "measured_packet_per_s")),
                                1e9 / t, 1e-6 * 1e9 / t);
        ck_assert_double_eq_tol(json_real_value(json_object_get(row, "packet_per_s")), 1e9 / t,
                                1e-6 * 1e9 / t);
        ck_assert_double_eq_tol(json_real_value(json_object_get(row, "error_pct")), 0, 1e-6);
        rows++;
    }
    ck_assert_int_eq(rows, 4);
    json_decref(j);
    free(text);

    /* A held-out size nobody measured would make an empty check. */
    f = open_memstream(&text, &len);
    ck_assert_int_eq(model_check(tstore, &sel, "network", &none, RESULTS_TABLE, f, err,
                                 sizeof err), -1);
    fclose(f);
    ck_assert_msg(strstr(err, "no run of the selection has size 700"), "%s", err);
    free(text);
}
END_TEST

static Suite *
model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fit_recovers_a_and_b);
    tcase_add_test(tc, test_fit_noisy_and_predict_held_out);
    tcase_add_test(tc, test_model_bad_arguments);
    tcase_add_test(tc, test_check_held_out);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(model_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
