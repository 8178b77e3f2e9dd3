/*
 * test_results.c — Check suite for controller/results*.c: `cntb results
 * compare` on small constructed databases (grouping, baseline matching per
 * the other --by parameters, exact CSV text, table and JSON forms, errors for
 * bad arguments), and list / show.  Every test makes its own mkdtemp
 * directory and database and removes them.
 */
#include "agent_result.h"
#include "results.h"
#include "stats.h"

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

    snprintf(tdir, sizeof tdir, "%s/cntb-test-results-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
    snprintf(tdb, sizeof tdb, "%s/cntb.db", tdir);
    tstore = store_open(tdb, false, err, sizeof err);
    ck_assert_msg(tstore != NULL, "%s", err);
}

static void
teardown(void)
{
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    char p[PATH_MAX + 32];

    store_close(&tstore);
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(p, sizeof p, "%s%s", tdb, suffix[i]);
        unlink(p);
    }
    rmdir(tdir);
}

/*
 * A batch of n runs with params[i]; run i ends in state[i] and, when
 * value[i] is not NAN, has throughput_bps = value[i].  Returns the batch id.
 */
static int64_t
add_batch(int n, const char *const *params, const double *value, const char *const *state)
{
    int point[16], rep[16];
    int64_t ids[16], b;

    ck_assert_int_le(n, 16);
    for (int i = 0; i < n; i++) {
        point[i] = i;
        rep[i] = 0;
    }
    b = store_batch_insert(tstore, "cmp", "{}", "lab", n, params, point, rep, ids);
    ck_assert_msg(b > 0, "%s", store_errmsg(tstore));
    for (int i = 0; i < n; i++) {
        if (!isnan(value[i])) {
            json_t *r = json_pack("{s:{s:f, s:f}}", "metrics", "throughput_bps", value[i],
                                  "rtt_us_p50", 25.0);

            ck_assert_int_eq(store_result_insert(tstore, ids[i], 0, "h1", r), 1);
            json_decref(r);
        }
        ck_assert_int_eq(store_run_set_state(tstore, ids[i], state[i], NULL), 0);
    }
    return b;
}

#define HS "{\"network\":\"host\",\"placement\":\"same-host\"}"
#define BS "{\"network\":\"bridge\",\"placement\":\"same-host\"}"
#define HC "{\"network\":\"host\",\"placement\":\"cross-host\"}"
#define BC "{\"network\":\"bridge\",\"placement\":\"cross-host\"}"
#define MC "{\"network\":\"macvlan\",\"placement\":\"cross-host\"}"

/* Batch: host and bridge, same-host and cross-host, 3 each, a failed run, a bare macvlan run. */
static int64_t
add_four_groups(void)
{
    const char *const params[] = { HS, BS, HC, BC, HS, BS, HC, BC, HS, BS, HC, BC, BS, MC };
    const double value[] = { 40e9, 32e9, 9e9, 8e9, 41e9, 33e9, 10e9, 9e9,
                             42e9, 34e9, 11e9, 10e9, 1e3, 7e9 };
    const char *const state[] = { "done", "done", "done", "done", "done", "done", "done",
                                  "done", "done", "done", "done", "done", "failed", "done" };

    return add_batch(14, params, value, state);
}

/* Runs results_compare into a fresh string in *text; returns its result. */
static int
compare(int64_t batch, const char *by, const char *baseline, const char *metric,
        results_format_t format, char **text, char *err, size_t errlen)
{
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    int rc;

    ck_assert_ptr_nonnull(f);
    rc = results_compare(tstore, batch, by, baseline, metric, format, f, err, errlen);
    fclose(f);
    return rc;
}

/* "%.15g" of the 95 % CI bound of mean +- sd over n samples. */
static void
ci_text(double mean, double sd, int n, int sign, char *buf, size_t len)
{
    snprintf(buf, len, "%.15g", mean + sign * stats_t_quantile(0.975, n - 1) * sd / sqrt(n));
}

START_TEST(test_compare_csv_two_groups)
{
    const char *const params[] = { "{\"network\":\"host\"}", "{\"network\":\"bridge\"}",
                                   "{\"network\":\"host\"}", "{\"network\":\"bridge\"}",
                                   "{\"network\":\"host\"}", "{\"network\":\"bridge\"}" };
    const double value[] = { 40e9, 32e9, 41e9, 33e9, 42e9, 34e9 };
    const char *const state[] = { "done", "done", "done", "done", "done", "done" };
    char err[256] = "", lo1[64], hi1[64], lo2[64], hi2[64], want[1024];
    char *text = NULL;
    int64_t b = add_batch(6, params, value, state);

    ck_assert_int_eq(compare(b, "network", "network=host", "throughput_bps", RESULTS_CSV, &text,
                             err, sizeof err), 0);
    ci_text(41e9, 1e9, 3, -1, lo1, sizeof lo1);
    ci_text(41e9, 1e9, 3, +1, hi1, sizeof hi1);
    ci_text(33e9, 1e9, 3, -1, lo2, sizeof lo2);
    ci_text(33e9, 1e9, 3, +1, hi2, sizeof hi2);
    snprintf(want, sizeof want,
             "network,n,mean_bit_per_s,median_bit_per_s,stddev_bit_per_s,ci95_low_bit_per_s,"
             "ci95_high_bit_per_s,change_pct,change_ci95_low_pct,change_ci95_high_pct,p_welch,"
             "significant,flags\n"
             "host,3,41000000000,41000000000,1000000000,%s,%s,+0.0,,,,,\n"
             "bridge,3,33000000000,33000000000,1000000000,%s,%s,-19.5,",
             lo1, hi1, lo2, hi2);
    ck_assert_msg(strncmp(text, want, strlen(want)) == 0, "%s\nwant\n%s", text, want);
    {
        /*
         * {32, 33, 34} against {40, 41, 42} (Gbit/s), python3 reference
         * (statistics.mean/variance, Simpson-integrated t density): Welch
         * t = -9.797958971, df = 4, p = 0.000608184944; Fieller 95 % interval
         * of the change [-24.413134539, -14.364814311] %.
         */
        double lo, hi, pw;
        char sig[8] = "";

        ck_assert_int_eq(sscanf(text + strlen(want), "%lf,%lf,%lf,%3[a-z],\n", &lo, &hi, &pw,
                                sig), 4);
        ck_assert_double_eq_tol(lo, -24.413134539, 1e-5);
        ck_assert_double_eq_tol(hi, -14.364814311, 1e-5);
        ck_assert_double_eq_tol(pw, 0.000608184944, 1e-9);
        ck_assert_str_eq(sig, "yes");
    }
    /* The CI is mean -+ 4.302653 sd / sqrt(3): check one bound against the table. */
    ck_assert(fabs(strtod(lo1, NULL) - (41e9 - 4.302653e9 / sqrt(3))) < 1e3);
    free(text);

    /* Table form: scaled to Gbit/s, units in the header, the baseline named. */
    ck_assert_int_eq(compare(b, "network", "network=host", "throughput_bps", RESULTS_TABLE,
                             &text, err, sizeof err), 0);
    ck_assert_msg(strstr(text, "mean (Gbit/s)") && strstr(text, "95% CI (Gbit/s)") &&
                      strstr(text, "change vs network=host") && strstr(text, "median (Gbit/s)") &&
                      strstr(text, "[-24.4, -14.4] %") && strstr(text, "p (Welch)"),
                  "%s", text);
    ck_assert_msg(strstr(text, "41.00") && strstr(text, "[38.52, 43.48]") &&
                      strstr(text, "baseline") && strstr(text, "-19.5 %"), "%s", text);
    ck_assert_msg(strstr(text, "host") < strstr(text, "bridge"), "order of appearance: %s",
                  text);
    free(text);
}
END_TEST

START_TEST(test_compare_baseline_per_placement)
{
    char err[256] = "", *text = NULL, *line;
    int64_t b = add_four_groups();
    int rows = 0;

    ck_assert_int_eq(compare(b, "network,placement", "network=host", "throughput_bps",
                             RESULTS_CSV, &text, err, sizeof err), 0);
    /* Header, then groups in order of appearance; the failed run is not counted. */
    line = strtok(text, "\n");
    ck_assert_str_eq(line, "network,placement,n,mean_bit_per_s,median_bit_per_s,"
                           "stddev_bit_per_s,ci95_low_bit_per_s,ci95_high_bit_per_s,change_pct,"
                           "change_ci95_low_pct,change_ci95_high_pct,p_welch,significant,flags");
    while ((line = strtok(NULL, "\n")) != NULL) {
        char f[14][64];
        int nf = 0;

        for (const char *p = line; nf < 14; nf++) {
            size_t l = strcspn(p, ",");

            snprintf(f[nf], sizeof f[nf], "%.*s", (int)l, p);
            if (!p[l]) {
                nf++;
                break;
            }
            p += l + 1;
        }
        ck_assert_int_eq(nf, 14);
        rows++;
        if (strncmp(line, "host,same-host,3,41000000000,", 29) == 0 ||
            strncmp(line, "host,cross-host,3,10000000000,", 30) == 0)
            ck_assert_str_eq(f[8], "+0.0");
        else if (strncmp(line, "bridge,same-host,3,33000000000,", 31) == 0) {
            ck_assert_str_eq(f[8], "-19.5");       /* against host same-host */
            ck_assert_str_eq(f[13], "failed:1");   /* the failed run of the point */
        } else if (strncmp(line, "bridge,cross-host,3,9000000000,", 31) == 0)
            ck_assert_str_eq(f[8], "-10.0");       /* against host cross-host */
        else if (strncmp(line, "macvlan,cross-host,1,7000000000,7000000000,,,,", 46) == 0) {
            ck_assert_str_eq(f[8], "-30.0");
            ck_assert_str_eq(f[9], "");            /* n = 1: no interval, no test */
            ck_assert_str_eq(f[11], "");
        } else
            ck_abort_msg("unexpected row %s", line);
    }
    ck_assert_int_eq(rows, 5);
    free(text);

    /* --by placement alone: network varies, so it is added to the key (never pooled). */
    ck_assert_int_eq(compare(b, "placement", "placement=same-host", "throughput_bps",
                             RESULTS_CSV, &text, err, sizeof err), 0);
    ck_assert_msg(strncmp(text, "placement,network,n,", 20) == 0 &&
                      strstr(text, "\ncross-host,bridge,3,9000000000,") &&
                      strstr(text, "\ncross-host,macvlan,1,"), "%s", text);
    free(text);

    /* A baseline value no group has is a bad argument. */
    ck_assert_int_eq(compare(b, "network,placement", "network=ipvlan", "throughput_bps",
                             RESULTS_TABLE, &text, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "network=ipvlan: no done run in batch 1 with that value has metric throughput_bps"), "%s", err);
    free(text);
}
END_TEST

START_TEST(test_compare_json_and_units)
{
    char err[256] = "", *text = NULL;
    int64_t b = add_four_groups();
    json_t *j, *row;

    ck_assert_int_eq(compare(b, "network,placement", "network=host", "throughput_bps",
                             RESULTS_JSON, &text, err, sizeof err), 0);
    j = json_loads(text, 0, NULL);
    ck_assert_msg(json_is_array(j) && json_array_size(j) == 5, "%s", text);
    row = json_array_get(j, 1);
    ck_assert_str_eq(json_string_value(json_object_get(row, "network")), "bridge");
    ck_assert_str_eq(json_string_value(json_object_get(row, "unit")), "bit/s");
    ck_assert_int_eq(json_integer_value(json_object_get(row, "n")), 3);
    ck_assert(json_real_value(json_object_get(row, "mean_bit_per_s")) == 33e9);
    ck_assert(json_real_value(json_object_get(row, "change_pct")) == -19.5);
    ck_assert(json_is_null(json_object_get(json_array_get(j, 4), "ci95_low_bit_per_s")));
    json_decref(j);
    free(text);

    /* Another metric keeps its unit as is. */
    ck_assert_int_eq(compare(b, "network", NULL, "rtt_us_p50", RESULTS_TABLE, &text, err,
                             sizeof err), 0);
    ck_assert_msg(strstr(text, "mean (us)") && strstr(text, "25.00") &&
                      !strstr(text, "change"), "%s", text);
    free(text);
    ck_assert_int_eq(compare(b, "network", NULL, "rtt_us_p50", RESULTS_CSV, &text, err,
                             sizeof err), 0);
    ck_assert_msg(strncmp(text, "network,placement,n,mean_us,median_us,stddev_us,ci95_low_us,"
                                "ci95_high_us,change_pct,change_ci95_low_pct,"
                                "change_ci95_high_pct,p_welch,significant,flags\n"
                                "host,same-host,3,25,25,0,25,25,,,,,,\n", 174) == 0, "%s", text);
    free(text);
}
END_TEST

START_TEST(test_compare_latest_all_and_none)
{
    char err[256] = "", *text = NULL;
    const char *const p1[] = { "{\"network\":\"host\"}" };
    const double v1[] = { 5e6 };
    const char *const s1[] = { "done" };
    int64_t b1, b2;

    /* No batch at all: 1 and a message. */
    ck_assert_int_eq(compare(0, "network", NULL, "throughput_bps", RESULTS_TABLE, &text, err,
                             sizeof err), 1);
    ck_assert_msg(strstr(text, "no batches"), "%s", text);
    free(text);
    b1 = add_four_groups();
    b2 = add_batch(1, p1, v1, s1);
    ck_assert_int_gt(b2, b1);
    /* 0 = the latest batch: one run of 5 Mbit/s. */
    ck_assert_int_eq(compare(0, "network", NULL, "throughput_bps", RESULTS_TABLE, &text, err,
                             sizeof err), 0);
    ck_assert_msg(strstr(text, "mean (Mbit/s)") && strstr(text, "5.00"), "%s", text);
    free(text);
    /* -1 = every batch: the run without placement is a group of its own. */
    ck_assert_int_eq(compare(-1, "network", NULL, "throughput_bps", RESULTS_CSV, &text, err,
                             sizeof err), 0);
    ck_assert_msg(strstr(text, "\nhost,same-host,3,") && strstr(text, "\nhost,(none),1,5000000,"),
                  "%s", text);
    free(text);
    /* A metric no run has. */
    ck_assert_int_eq(compare(b1, "network", NULL, "setup_ms", RESULTS_TABLE, &text, err,
                             sizeof err), 1);
    ck_assert_msg(strstr(text, "no done runs with metric setup_ms"), "%s", text);
    free(text);
}
END_TEST

START_TEST(test_compare_errors)
{
    static const struct {
        int64_t batch;
        const char *by, *baseline, *metric, *want;
    } bad[] = {
        { 0, "Network", NULL, "throughput_bps", "bad --by" },
        { 0, "", NULL, "throughput_bps", "bad --by" },
        { 0, NULL, NULL, "throughput_bps", "bad --by" },
        { 0, "network,", NULL, "throughput_bps", "bad --by" },
        { 0, "network,network", NULL, "throughput_bps", "twice" },
        { 0, "network') --", NULL, "throughput_bps", "bad --by" },
        { 0, "abcdefghijklmnopqrstuvwxyz_abcdefg", NULL, "throughput_bps", "bad --by" },
        { 0, "network", "nesting=bare", "throughput_bps", "unknown key 'nesting'" },
        { 0, "network,size", NULL, "throughput_bps", "unknown key 'size'" },
        { 0, "network", NULL, "foo_bar", "unknown metric 'foo_bar'" },
        { 0, "network", "network=ipvlan", "throughput_bps", "no done run" },
        { 0, "network", "network", "throughput_bps", "expected param=value" },
        { 0, "network", "network=", "throughput_bps", "bad --baseline" },
        { 0, "network", NULL, "Throughput", "bad metric" },
        { 0, "network", NULL, "x'; DROP TABLE run; --", "bad metric" },
        { 0, "network", NULL,
          "a123456789012345678901234567890123456789012345678901234567890123456", "bad metric" },
        { 99, "network", NULL, "throughput_bps", "no batch 99" },
        { -5, "network", NULL, "throughput_bps", "bad batch id" },
    };
    char err[256], *text = NULL;

    add_four_groups();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_int_eq(compare(bad[i].batch, bad[i].by, bad[i].baseline, bad[i].metric,
                                 RESULTS_TABLE, &text, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i].want), "case %zu: err '%s', want '%s'", i, err,
                      bad[i].want);
        ck_assert_str_eq(text, "");
        free(text);
    }
}
END_TEST


/* results_compare_sel of batch b with sort into a fresh *text; the note into note. */
static int
compare_sorted(int64_t batch, const char *by, const char *baseline, const char *metric,
               results_sort_t sort, results_format_t format, char **text, char *note,
               size_t notelen, char *err, size_t errlen)
{
    results_select_t sel = { .batch = batch };
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    int rc;

    ck_assert_ptr_nonnull(f);
    rc = results_compare_sel(tstore, &sel, by, baseline, metric, sort, format, f, note, notelen,
                             err, errlen);
    fclose(f);
    return rc;
}

/* The first two CSV fields of every row after the header, "a/b;c/d;...". */
static void
csv_keys(const char *text, char *out, size_t len)
{
    const char *p = strchr(text, '\n');
    size_t o = 0;

    out[0] = '\0';
    while (p && p[1] && o < len) {
        const char *a = p + 1, *c1 = strchr(a, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;

        if (!c2)
            break;
        o += (size_t)snprintf(out + o, len - o, "%s%.*s/%.*s", o ? ";" : "", (int)(c1 - a), a,
                              (int)(c2 - c1 - 1), c1 + 1);
        p = strchr(a, '\n');
    }
}

/* Issue 22: rows came in the order of each group's first run, so with a random
 * order the baseline could land at the bottom and placements mixed.  Now blocks
 * (equal but for the baseline parameter) in key order, each headed by its
 * baseline; --sort value|change orders the rest of a block, largest first. */
START_TEST(test_compare_order_baseline_first)
{
#define MS "{\"network\":\"macvlan\",\"placement\":\"same-host\"}"
#define NC "{\"network\":\"nat\",\"placement\":\"cross-host\"}"
    /* Run order as a random order might leave it: the baselines last. */
    const char *const params[] = { BC, MS, NC, BS, HC, HS, MS, BC, BS, NC, HS, HC };
    const double value[] = { 8e9, 36e9, 9e9, 33e9, 10e9, 40e9, 36e9, 8e9, 33e9, 9e9, 40e9, 10e9 };
    const char *const state[] = { "done", "done", "done", "done", "done", "done",
                                  "done", "done", "done", "done", "done", "done" };
    static const struct {
        const char *baseline;
        results_sort_t sort;
        const char *want;
    } cases[] = {
        { "network=host", RESULTS_SORT_KEY, "host/same-host;bridge/same-host;macvlan/same-host;"
          "host/cross-host;bridge/cross-host;nat/cross-host" },
        { "network=host", RESULTS_SORT_VALUE, "host/same-host;macvlan/same-host;"
          "bridge/same-host;host/cross-host;nat/cross-host;bridge/cross-host" },
        { "network=host", RESULTS_SORT_CHANGE, "host/same-host;macvlan/same-host;"
          "bridge/same-host;host/cross-host;nat/cross-host;bridge/cross-host" },
        /* Another baseline value heads its blocks the same way. */
        { "network=bridge", RESULTS_SORT_KEY, "bridge/same-host;host/same-host;"
          "macvlan/same-host;bridge/cross-host;host/cross-host;nat/cross-host" },
        /* Without a baseline: key order; value over the whole table; change falls back to key. */
        { NULL, RESULTS_SORT_KEY, "host/same-host;host/cross-host;bridge/same-host;"
          "bridge/cross-host;macvlan/same-host;nat/cross-host" },
        { NULL, RESULTS_SORT_VALUE, "host/same-host;macvlan/same-host;bridge/same-host;"
          "host/cross-host;nat/cross-host;bridge/cross-host" },
        { NULL, RESULTS_SORT_CHANGE, "host/same-host;host/cross-host;bridge/same-host;"
          "bridge/cross-host;macvlan/same-host;nat/cross-host" },
    };
    char err[256] = "", note[RESULTS_NOTE_MAX], got[512], *text = NULL;
    int64_t b = add_batch(12, params, value, state);
    results_sort_t sort;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(compare_sorted(b, "network,placement", cases[i].baseline,
                                        "throughput_bps", cases[i].sort, RESULTS_CSV, &text,
                                        note, sizeof note, err, sizeof err), 0);
        csv_keys(text, got, sizeof got);
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "case %zu: got %s, want %s\n%s", i, got,
                      cases[i].want, text);
        ck_assert_str_eq(note, "");
        free(text);
    }
    /* Each row is still set against its own block's baseline after sorting. */
    ck_assert_int_eq(compare_sorted(b, "network,placement", "network=host", "throughput_bps",
                                    RESULTS_SORT_VALUE, RESULTS_CSV, &text, note, sizeof note,
                                    err, sizeof err), 0);
    ck_assert_msg(strstr(text, "\nmacvlan,same-host,2,36000000000,36000000000,0,36000000000,"
                               "36000000000,-10.0,") &&
                  strstr(text, "\nnat,cross-host,2,9000000000,9000000000,0,9000000000,"
                               "9000000000,-10.0,"), "%s", text);
    free(text);
    /* Sizes sort by value, not as text; the baseline heads each size's block. */
    {
        const char *const sp[] = { "{\"network\":\"bridge\",\"size\":1448}",
                                   "{\"network\":\"host\",\"size\":1448}",
                                   "{\"network\":\"bridge\",\"size\":64}",
                                   "{\"network\":\"host\",\"size\":64}" };
        const double sv[] = { 9e9, 10e9, 1e9, 2e9 };

        b = add_batch(4, sp, sv, state);
        ck_assert_int_eq(compare_sorted(b, "network", "network=host", "throughput_bps",
                                        RESULTS_SORT_KEY, RESULTS_CSV, &text, note, sizeof note,
                                        err, sizeof err), 0);
        csv_keys(text, got, sizeof got);
        ck_assert_str_eq(got, "host/64;bridge/64;host/1448;bridge/1448");
        free(text);
    }
    ck_assert_int_eq(results_sort_parse("key", &sort), 0);
    ck_assert_int_eq(sort, RESULTS_SORT_KEY);
    ck_assert_int_eq(results_sort_parse("change", &sort), 0);
    ck_assert_int_eq(sort, RESULTS_SORT_CHANGE);
    ck_assert_int_eq(results_sort_parse("mean", &sort), -1);
#undef MS
#undef NC
}
END_TEST

/* A batch of runs with the given metrics objects (NULL: no result), all done. */
static int64_t
add_runs(int n, const char *const *params, json_t *const *metrics)
{
    int point[16], rep[16];
    int64_t ids[16], b;

    ck_assert_int_le(n, 16);
    for (int i = 0; i < n; i++) {
        point[i] = i;
        rep[i] = 1;
    }
    b = store_batch_insert(tstore, "rr", "{}", "lab", n, params, point, rep, ids);
    ck_assert_msg(b > 0, "%s", store_errmsg(tstore));
    for (int i = 0; i < n; i++) {
        if (metrics[i]) {
            json_t *r = json_pack("{s:O}", "metrics", metrics[i]);

            ck_assert_int_eq(store_result_insert(tstore, ids[i], 0, "h1", r), 1);
            json_decref(r);
        }
        ck_assert_int_eq(store_run_set_state(tstore, ids[i], "done", NULL), 0);
    }
    return b;
}

/* Issue 22: request/response runs have no throughput_bps and vanished from compare
 * without a word.  Now a note says how many, of which traffic, and what to ask for;
 * it is kept apart from the output (stdout stays valid CSV/JSON). */
START_TEST(test_compare_note_for_runs_without_metric)
{
    const char *const params[] = {
        "{\"network\":\"host\",\"traffic\":\"tcp_stream\"}",
        "{\"network\":\"bridge\",\"traffic\":\"tcp_stream\"}",
        "{\"network\":\"host\",\"traffic\":\"tcp_rr\"}",
        "{\"network\":\"bridge\",\"traffic\":\"tcp_rr\"}",
        "{\"network\":\"host\",\"traffic\":\"udp_rr\"}",
    };
    json_t *m[5];
    char err[256] = "", note[RESULTS_NOTE_MAX], *text = NULL;
    int64_t b;
    json_t *j;

    for (int i = 0; i < 2; i++)
        m[i] = json_pack("{s:f}", "throughput_bps", 1e9 * (i + 1));
    for (int i = 2; i < 5; i++)
        m[i] = json_pack("{s:f, s:f}", "rtt_us_p50", 20.0 + i, "transactions_per_s", 4e4);
    b = add_runs(5, params, m);
    ck_assert_int_eq(compare_sorted(b, "network", "network=host", "throughput_bps",
                                    RESULTS_SORT_KEY, RESULTS_JSON, &text, note, sizeof note, err,
                                    sizeof err), 0);
    ck_assert_str_eq(note, "3 done runs in batch 1 have no throughput_bps and are left out "
                           "(traffic tcp_rr 2, udp_rr 1): try --metric rtt_us_p50");
    j = json_loads(text, 0, NULL);
    ck_assert_msg(json_is_array(j) && json_array_size(j) == 2, "stdout is the JSON alone: %s",
                  text);
    json_decref(j);
    free(text);
    /* The other way round: stream runs have no RTT. */
    ck_assert_int_eq(compare_sorted(b, "network", NULL, "rtt_us_p50", RESULTS_SORT_KEY,
                                    RESULTS_CSV, &text, note, sizeof note, err, sizeof err), 0);
    ck_assert_str_eq(note, "2 done runs in batch 1 have no rtt_us_p50 and are left out "
                           "(traffic tcp_stream 2): try --metric throughput_bps");
    free(text);
    /* A batch of request/response runs only: nothing to compare (1), and the note says why. */
    b = add_runs(3, params + 2, m + 2);
    ck_assert_int_eq(compare_sorted(b, "network", NULL, "throughput_bps", RESULTS_SORT_KEY,
                                    RESULTS_TABLE, &text, note, sizeof note, err, sizeof err), 1);
    ck_assert_str_eq(text, "no done runs with metric throughput_bps in batch 2\n");
    ck_assert_str_eq(note, "3 done runs in batch 2 have no throughput_bps and are left out "
                           "(traffic tcp_rr 2, udp_rr 1): try --metric rtt_us_p50");
    free(text);
    for (int i = 0; i < 5; i++)
        json_decref(m[i]);
}
END_TEST

/* Issue 22: unknown values got no hint.  A metric: the closest names; a baseline
 * value: the values there are; a key: the closest parameter. */
START_TEST(test_compare_hints)
{
    static const struct {
        const char *by, *baseline, *metric, *want;
    } bad[] = {
        { "network", NULL, "rtt_p50", "unknown metric 'rtt_p50': not a standard metric "
          "(docs/schema.md) and no run has it (did you mean rtt_us_p50?)" },
        { "network", NULL, "throughput", "unknown metric 'throughput': not a standard metric "
          "(docs/schema.md) and no run has it (did you mean throughput_bps or throughput_pps?)" },
        { "network", NULL, "zzzzzzzz", "unknown metric 'zzzzzzzz': not a standard metric "
          "(docs/schema.md) and no run has it (this database has rtt_us_p50, throughput_bps)" },
        { "network,placement", "network=Host", "throughput_bps", "bad --baseline network=Host: "
          "no done run in batch 1 with that value has metric throughput_bps (network there: "
          "host, bridge, macvlan)" },
        { "netwrk", NULL, "throughput_bps", "unknown key 'netwrk' in --by: no run in batch 1 "
          "has that parameter (did you mean network?)" },
        { "network", "placment=same-host", "throughput_bps", "unknown key 'placment' in "
          "--baseline: no run in batch 1 has that parameter (did you mean placement?)" },
    };
    char err[512], *text = NULL;

    add_four_groups();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_int_eq(compare(1, bad[i].by, bad[i].baseline, bad[i].metric, RESULTS_TABLE,
                                 &text, err, sizeof err), -1);
        ck_assert_str_eq(err, bad[i].want);
        free(text);
    }
}
END_TEST

/* Baseline groups match on every parameter but the baseline one; flags; --matrix. */
START_TEST(test_compare_match_sizes_flags_matrix)
{
#define H64 "{\"network\":\"host\",\"size\":64}"
#define B64 "{\"network\":\"bridge\",\"size\":64}"
#define H1K "{\"network\":\"host\",\"size\":1448}"
#define B1K "{\"network\":\"bridge\",\"size\":1448}"
    const char *const params[] = { H64, B64, H1K, B1K, H64, B64, H1K, B1K, B1K, B64 };
    const double value[] = { 1e9, 0.5e9, 10e9, 9e9, 1.2e9, 0.6e9, 11e9, 10e9, 99e9, NAN };
    const char *const flags[] = { NULL, NULL, NULL, "tool_bound", NULL, NULL, NULL,
                                  "tool_bound", "invalid", NULL };
    int point[10], rep[10];
    int64_t ids[10], b;
    char err[256] = "", *text = NULL;
    json_t *j;

    for (int i = 0; i < 10; i++) {
        point[i] = i % 4;
        rep[i] = i / 4;
    }
    b = store_batch_insert(tstore, "sizes", "{}", "lab", 10, params, point, rep, ids);
    ck_assert_int_gt(b, 0);
    for (int i = 0; i < 10; i++) {
        if (!isnan(value[i])) {
            json_t *r = json_pack("{s:{s:f}}", "metrics", "throughput_bps", value[i]);

            if (flags[i])
                json_object_set_new(r, "flags", json_pack("[s]", flags[i]));
            ck_assert_int_eq(store_result_insert(tstore, ids[i], 0, "h1", r), 1);
            json_decref(r);
        }
        ck_assert_int_eq(store_run_set_state(tstore, ids[i], isnan(value[i]) ? "skipped" : "done",
                                             NULL), 0);
    }
    ck_assert_int_eq(compare(b, "network", "network=host", "throughput_bps", RESULTS_JSON, &text,
                             err, sizeof err), 0);
    j = json_loads(text, 0, NULL);
    ck_assert_msg(json_array_size(j) == 4, "%s", text);
    /* bridge at 64 bytes against host at 64 bytes only: 0.55 vs 1.1 Gbit/s = -50 %. */
    {
        json_t *r = json_array_get(j, 1);

        ck_assert_str_eq(json_string_value(json_object_get(r, "network")), "bridge");
        ck_assert_str_eq(json_string_value(json_object_get(r, "size")), "64");
        ck_assert(json_real_value(json_object_get(r, "change_pct")) == -50.0);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "flags"),
                                                            "skipped")), 1);
        /* at 1448 bytes: 9.5 vs 10.5 Gbit/s = -9.5 %; the invalid run (99e9) is not counted. */
        r = json_array_get(j, 3);
        ck_assert_str_eq(json_string_value(json_object_get(r, "size")), "1448");
        ck_assert_int_eq(json_integer_value(json_object_get(r, "n")), 2);
        ck_assert(json_real_value(json_object_get(r, "change_pct")) == -9.5);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "flags"),
                                                            "tool_bound")), 2);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "flags"),
                                                            "invalid")), 1);
        ck_assert(json_is_boolean(json_object_get(r, "significant")));
    }
    json_decref(j);
    free(text);
    /* The table shows the flags column. */
    ck_assert_int_eq(compare(b, "network", "network=host", "throughput_bps", RESULTS_TABLE,
                             &text, err, sizeof err), 0);
    ck_assert_msg(strstr(text, "flags (runs)") && strstr(text, "tool_bound:2 invalid:1"), "%s",
                  text);
    free(text);
    /* --matrix: every batch of the matrix; an unknown matrix is an error. */
    {
        results_select_t sel = { .batch = 0, .matrix = "sizes" };
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        ck_assert_int_eq(results_compare_sel(tstore, &sel, "network", NULL, "throughput_bps",
                                             RESULTS_SORT_KEY, RESULTS_CSV, f, NULL, 0, err,
                                             sizeof err), 0);
        fclose(f);
        ck_assert_msg(strstr(text, "\nhost,64,2,"), "%s", text);
        free(text);
        sel.matrix = "nope";
        f = open_memstream(&text, &len);
        ck_assert_int_eq(results_compare_sel(tstore, &sel, "network", NULL, "throughput_bps",
                                             RESULTS_SORT_KEY, RESULTS_CSV, f, NULL, 0, err,
                                             sizeof err), -1);
        fclose(f);
        ck_assert_str_eq(err, "no batch of matrix 'nope'");
        free(text);
    }
}
END_TEST


/*
 * A run of 2 pairs whose pair 1 was flagged (its total above every interval:
 * invalid, and tool-bound): the agent's combined result (agent_result_combine)
 * as the controller stores it carries both flags to the run_flag view, and
 * compare leaves the invalid run's number out and shows its flags.
 */
START_TEST(test_compare_multipair_flags)
{
#define P2H "{\"network\":\"host\",\"pairs\":2}"
#define P2B "{\"network\":\"bridge\",\"pairs\":2}"
    const char *const params[] = { P2H, P2B, P2H, P2B, P2H, P2B };
    /* per run: the throughput of pair 0 and pair 1, and pair 1's flags */
    const double bps[6][2] = { { 5e9, 5e9 }, { 4e9, 4e9 }, { 6e9, 6e9 },
                               { 5e9, 5e9 }, { 7e9, 7e9 }, { 4e9, 90e9 } };
    const char *const pflags[6] = { "[]", "[]", "[]", "[]", "[]", "[\"invalid\",\"tool_bound\"]" };
    int point[6], rep[6];
    int64_t ids[6], b;
    char err[256] = "", *text = NULL;
    sqlite3_stmt *st;
    json_t *j, *r;

    for (int i = 0; i < 6; i++) {
        point[i] = i % 2;
        rep[i] = i / 2;
    }
    b = store_batch_insert(tstore, "pairs", "{}", "lab", 6, params, point, rep, ids);
    ck_assert_int_gt(b, 0);
    for (int i = 0; i < 6; i++) {
        json_t *p[2], *sum;

        for (int k = 0; k < 2; k++) {
            char text1[512];

            snprintf(text1, sizeof text1,
                     "{\"version\":1,\"traffic\":\"tcp_stream\",\"size\":1448,\"streams\":1,"
                     "\"duration_s\":1.0,\"metrics\":{\"throughput_bps\":%g},\"samples\":[],"
                     "\"applied\":{\"mss\":1448},\"flags\":%s}",
                     bps[i][k], k == 1 ? pflags[i] : "[]");
            p[k] = json_loads(text1, 0, NULL);
            ck_assert_ptr_nonnull(p[k]);
        }
        sum = agent_result_combine(p, 2, err, sizeof err);
        ck_assert_msg(sum != NULL, "%s", err);
        ck_assert_int_eq(store_result_insert(tstore, ids[i], 1, "h1", sum), 1);
        ck_assert_int_eq(store_run_set_state(tstore, ids[i], "done", NULL), 0);
        json_decref(sum);
        json_decref(p[0]);
        json_decref(p[1]);
    }
    /* run_flag: both flags of the last run, none of the others */
    ck_assert_int_eq(sqlite3_prepare_v2(store_db(tstore),
                                        "SELECT run_id, group_concat(flag, ' ') FROM"
                                        " (SELECT run_id, flag FROM run_flag ORDER BY flag)"
                                        " GROUP BY run_id", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int64(st, 0), ids[5]);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), "invalid tool_bound");
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    /* compare: bridge from its 2 valid runs, (8 + 10) / 2 = 9 Gbit/s against host's 12 */
    ck_assert_int_eq(compare(b, "network", "network=host", "throughput_bps", RESULTS_JSON, &text,
                             err, sizeof err), 0);
    j = json_loads(text, 0, NULL);
    ck_assert_msg(json_array_size(j) == 2, "%s", text);
    r = json_array_get(j, 1);
    ck_assert_str_eq(json_string_value(json_object_get(r, "network")), "bridge");
    ck_assert_int_eq(json_integer_value(json_object_get(r, "n")), 2);
    ck_assert(json_real_value(json_object_get(r, "mean_bit_per_s")) == 9e9);
    ck_assert(json_real_value(json_object_get(r, "change_pct")) == -25.0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "flags"), "invalid")),
                     1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "flags"),
                                                        "tool_bound")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(j, 0), "n")), 3);
    json_decref(j);
    free(text);
}
END_TEST

/* Host metadata: show prints it with samples, diff-hosts names changes, export carries it. */
START_TEST(test_meta_show_diff_export)
{
    const char *const p1[] = { "{\"network\":\"host\",\"size\":64}" };
    const double v1[] = { 5e9 };
    const char *const s1[] = { "done" };
    char err[256] = "", *text = NULL;
    size_t len = 0;
    FILE *f;
    int64_t b1 = add_batch(1, p1, v1, s1), b2 = add_batch(1, p1, v1, s1);
    json_t *m1 = json_pack("{s:{s:s}, s:{s:i, s:{s:b}}, s:{s:s}}", "kernel", "release", "6.1.0",
                           "underlay", "mtu", 1500, "offloads", "tso", 1, "versions", "iperf3",
                           "3.12");
    json_t *m2 = json_deep_copy(m1), *j, *run;
    results_select_t all = { .batch = -1 };

    json_object_set_new(json_object_get(m2, "underlay"), "mtu", json_integer(9000));
    json_object_set_new(json_object_get(m2, "versions"), "iperf3", json_string("3.16"));
    /* Values that differ by nature are no difference between the hosts. */
    json_object_set_new(m1, "pid", json_integer(4242));
    json_object_set_new(m2, "pid", json_integer(5151));
    json_object_set_new(m1, "vm", json_pack("{s:i, s:s, s:i}", "qemu_pid", 7, "accel", "tcg",
                                            "uptime_s", 30));
    json_object_set_new(m2, "vm", json_pack("{s:i, s:s, s:i}", "qemu_pid", 8, "accel", "kvm",
                                            "uptime_s", 90));
    ck_assert_int_eq(store_host_meta_insert(tstore, b1, "h1", m1), 0);
    ck_assert_int_eq(store_host_meta_insert(tstore, b2, "h1", m2), 0);
    ck_assert_int_eq(store_host_meta_insert(tstore, b2, "h2", m2), 0);
    ck_assert_int_eq(store_run_set_hosts(tstore, 1, "h1", "h1"), 0);
    ck_assert_int_eq(store_host_meta_insert(tstore, 99, "h1", m1), -1);   /* no batch 99 */

    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_diff_hosts(tstore, b1, b2, RESULTS_CSV, f, err, sizeof err), 0);
    fclose(f);
    ck_assert_msg(strstr(text, "host,key,batch_1,batch_2\n") &&
                      strstr(text, "h1,underlay.mtu,1500,9000\n") &&
                      strstr(text, "h1,versions.iperf3,3.12,3.16\n") &&
                      strstr(text, "h2,(host),,used\n") && !strstr(text, "kernel.release") &&
                      strstr(text, "h1,vm.accel,tcg,kvm\n") && !strstr(text, "pid") &&
                      !strstr(text, "uptime"),
                  "%s", text);
    free(text);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_diff_hosts(tstore, b1, b1, RESULTS_TABLE, f, err, sizeof err), 0);
    ck_assert_int_eq(results_diff_hosts(tstore, b1, 42, RESULTS_TABLE, f, err, sizeof err), -1);
    ck_assert_str_eq(err, "no batch 42");
    fclose(f);
    ck_assert_msg(strstr(text, "no differences"), "%s", text);
    free(text);

    /* show: the run's samples and its hosts' metadata. */
    {
        json_t *r = json_pack("{s:{s:f}, s:[{s:f, s:f}, {s:f, s:f}]}", "metrics",
                              "throughput_bps", 5e9, "samples", "t_s", 1.0, "throughput_bps",
                              4.9e9, "t_s", 2.0, "throughput_bps", 5.1e9);

        ck_assert_int_eq(store_result_insert(tstore, 1, 1, "h1", r), 1);
        json_decref(r);
    }
    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_show(tstore, 1, RESULTS_TABLE, f, err, sizeof err), 0);
    fclose(f);
    ck_assert_msg(strstr(text, "t (s)") && strstr(text, "5100000000") &&
                      strstr(text, "host h1 (metadata of batch 1)") &&
                      strstr(text, "underlay.mtu") && strstr(text, "1500"), "%s", text);
    free(text);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_show(tstore, 1, RESULTS_JSON, f, err, sizeof err), 0);
    fclose(f);
    j = json_loads(text, 0, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(j, "samples")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(
                         json_object_get(j, "hosts"), "h1"), "underlay"), "mtu")), 1500);
    json_decref(j);
    free(text);

    /* export: JSON per run with params, metrics, flags, hosts; CSV with units in headers. */
    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_export(tstore, &all, RESULTS_JSON, f, err, sizeof err), 0);
    fclose(f);
    j = json_loads(text, 0, NULL);
    ck_assert_msg(json_array_size(j) == 2, "%s", text);
    run = json_array_get(j, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(run, "id")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(run, "state")), "done");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(run, "params"), "size")),
                     64);
    ck_assert(json_real_value(json_object_get(json_object_get(run, "metrics"),
                                              "throughput_bps")) == 5e9);
    ck_assert(json_is_array(json_object_get(run, "flags")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(
                         json_object_get(run, "hosts"), "h1"), "underlay"), "mtu")), 1500);
    json_decref(j);
    free(text);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_export(tstore, &all, RESULTS_CSV, f, err, sizeof err), 0);
    fclose(f);
    {
        const char *want = "id,batch,state,reason,client_host,server_host,flags,network,"
                           "size (bytes),rtt_us_p50 (us),throughput_bps (bit/s)\n"
                           "1,1,done,,h1,h1,,host,64,25,5000000000\n";

        ck_assert_msg(strncmp(text, want, strlen(want)) == 0, "%s", text);
    }
    free(text);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_export(tstore, &all, RESULTS_TABLE, f, err, sizeof err), -1);
    fclose(f);
    free(text);
    json_decref(m1);
    json_decref(m2);
}
END_TEST

START_TEST(test_list_and_show)
{
    char err[256] = "", *text = NULL;
    size_t len = 0;
    FILE *f;
    int64_t b = add_four_groups();
    json_t *j;

    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_list(tstore, -1, RESULTS_CSV, f, err, sizeof err), 0);
    fclose(f);
    ck_assert_msg(strncmp(text, "id,name,testbed,state,done,failed,skipped,total,created_at,"
                                "seed\n1,cmp,lab,queued,13,1,0,14,", 90) == 0, "%s", text);
    /* A batch without a random order has no seed: the last field is empty. */
    ck_assert_msg(strlen(text) > 2 && text[strlen(text) - 2] == ',', "%s", text);
    free(text);

    /* The seed a batch's random order was drawn with is listed (issue 22: replay a night). */
    ck_assert_int_eq(sqlite3_exec(store_db(tstore), "UPDATE batch SET seed = 6529064058449557"
                                  " WHERE id = 1", NULL, NULL, NULL), SQLITE_OK);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_list(tstore, -1, RESULTS_JSON, f, err, sizeof err), 0);
    fclose(f);
    j = json_loads(text, 0, NULL);
    ck_assert_msg(json_integer_value(json_object_get(json_array_get(j, 0), "seed")) ==
                  6529064058449557LL, "%s", text);
    json_decref(j);
    free(text);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_list(tstore, -1, RESULTS_TABLE, f, err, sizeof err), 0);
    fclose(f);
    ck_assert_msg(strstr(text, "created (UTC)") && strstr(text, " seed\n") &&
                      strstr(text, " 6529064058449557\n"),
                  "%s", text);
    free(text);

    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_list(tstore, b, RESULTS_TABLE, f, err, sizeof err), 0);
    fclose(f);
    ck_assert_msg(strstr(text, "{\"network\":\"host\",\"placement\":\"same-host\"}") &&
                      strstr(text, "40.00 Gbit/s") && strstr(text, "failed"), "%s", text);
    free(text);

    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_list(tstore, 42, RESULTS_TABLE, f, err, sizeof err), -1);
    fclose(f);
    ck_assert_str_eq(err, "no batch 42");
    free(text);

    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_show(tstore, 1, RESULTS_JSON, f, err, sizeof err), 0);
    fclose(f);
    j = json_loads(text, 0, NULL);
    ck_assert_msg(j != NULL, "%s", text);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "params"), "network")),
                     "host");
    ck_assert(json_real_value(json_object_get(
                  json_object_get(json_object_get(j, "metrics"), "throughput_bps"), "value")) ==
              40e9);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "metrics"), "rtt_us_p50"), "unit")),
                     "us");
    json_decref(j);
    free(text);

    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_show(tstore, 1, RESULTS_TABLE, f, err, sizeof err), 0);
    fclose(f);
    ck_assert_msg(strstr(text, "state") && strstr(text, "done") &&
                      strstr(text, "bit/s (40.00 Gbit/s)"), "%s", text);
    free(text);

    f = open_memstream(&text, &len);
    ck_assert_int_eq(results_show(tstore, 777, RESULTS_TABLE, f, err, sizeof err), -1);
    fclose(f);
    ck_assert_str_eq(err, "no run 777");
    free(text);
}
END_TEST

static Suite *
results_suite(void)
{
    Suite *s = suite_create("results");
    TCase *tc = tcase_create("compare");
    TCase *tl = tcase_create("list_show");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_compare_csv_two_groups);
    tcase_add_test(tc, test_compare_baseline_per_placement);
    tcase_add_test(tc, test_compare_json_and_units);
    tcase_add_test(tc, test_compare_latest_all_and_none);
    tcase_add_test(tc, test_compare_errors);
    tcase_add_test(tc, test_compare_match_sizes_flags_matrix);
    tcase_add_test(tc, test_compare_order_baseline_first);
    tcase_add_test(tc, test_compare_note_for_runs_without_metric);
    tcase_add_test(tc, test_compare_hints);
    tcase_add_test(tc, test_compare_multipair_flags);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(tl, setup, teardown);
    tcase_set_timeout(tl, 30);
    tcase_add_test(tl, test_list_and_show);
    tcase_add_test(tl, test_meta_show_diff_export);
    suite_add_tcase(s, tl);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(results_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
