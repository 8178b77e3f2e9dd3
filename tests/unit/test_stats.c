/*
 * test_stats.c — Check suite for controller/stats.c: Student-t quantiles
 * against printed tables, and mean / stddev / CI of known data.
 */
#include "stats.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

/* Relative error of got against want. */
static double
rel(double got, double want)
{
    return fabs(got - want) / fabs(want);
}

START_TEST(test_t_table)
{
    /* Two-sided 95 % (p = 0.975) and one 90 % (p = 0.95) value, 6 digits. */
    static const struct {
        double p;
        int df;
        double t;
    } table[] = {
        { 0.975, 1, 12.706205 }, { 0.975, 2, 4.302653 },  { 0.975, 4, 2.776445 },
        { 0.975, 10, 2.228139 }, { 0.975, 30, 2.042272 }, { 0.975, 1000, 1.962339 },
        { 0.95, 5, 2.015048 },   { 0.995, 3, 5.840909 },  { 0.9995, 1, 636.6192 },
    };

    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        double t = stats_t_quantile(table[i].p, table[i].df);

        ck_assert_msg(rel(t, table[i].t) < 1e-6, "p=%g df=%d: got %.9f want %.6f", table[i].p,
                      table[i].df, t, table[i].t);
    }
}
END_TEST

START_TEST(test_t_closed_forms)
{
    /* df = 1 is Cauchy, df = 2 has a closed form: check across p. */
    for (double p = 0.001; p < 1.0; p += 0.0137) {
        double t1 = stats_t_quantile(p, 1), e1 = tan(M_PI * (p - 0.5));
        double t2 = stats_t_quantile(p, 2), e2 = (2 * p - 1) / sqrt(2 * p * (1 - p));

        ck_assert_msg(fabs(t1 - e1) <= 1e-6 * fabs(e1) + 1e-12, "df=1 p=%g", p);
        ck_assert_msg(fabs(t2 - e2) <= 1e-6 * fabs(e2) + 1e-12, "df=2 p=%g", p);
    }
}
END_TEST

START_TEST(test_t_symmetry_and_bad_input)
{
    ck_assert(fabs(stats_t_quantile(0.025, 4) + 2.776445) < 1e-5);
    ck_assert(stats_t_quantile(0.5, 7) == 0.0);
    ck_assert(isnan(stats_t_quantile(0.0, 3)));
    ck_assert(isnan(stats_t_quantile(1.0, 3)));
    ck_assert(isnan(stats_t_quantile(0.975, 0)));
    ck_assert(isnan(stats_t_quantile(NAN, 3)));
}
END_TEST

START_TEST(test_summarize_known)
{
    const double x[] = { 1, 2, 3, 4, 5 };
    stats_summary_t s;

    ck_assert_int_eq(stats_summarize(x, 5, 0.95, &s), 0);
    ck_assert_int_eq(s.n, 5);
    ck_assert_double_eq_tol(s.mean, 3.0, 1e-12);
    ck_assert_double_eq_tol(s.stddev, 1.5811388, 1e-7);
    ck_assert_double_eq_tol(s.ci_low, 1.036757, 1e-6);
    ck_assert_double_eq_tol(s.ci_high, 4.963243, 1e-6);
}
END_TEST

START_TEST(test_summarize_large_offset)
{
    /* 1e9 + {1, 2, 3}: a one-pass variance would lose the digits. */
    const double x[] = { 1e9 + 1, 1e9 + 2, 1e9 + 3 };
    stats_summary_t s;

    ck_assert_int_eq(stats_summarize(x, 3, 0.95, &s), 0);
    ck_assert_double_eq_tol(s.stddev, 1.0, 1e-9);
    ck_assert_double_eq_tol(s.ci_high - s.mean, 4.302653 / sqrt(3.0), 1e-5);
}
END_TEST

START_TEST(test_summarize_single_and_bad)
{
    const double x[] = { 42.0, NAN };
    stats_summary_t s = { 0 }, keep = { .n = 7 };

    ck_assert_int_eq(stats_summarize(x, 1, 0.95, &s), 0);
    ck_assert_int_eq(s.n, 1);
    ck_assert(s.mean == 42.0 && s.stddev == 0.0);
    ck_assert(isnan(s.ci_low) && isnan(s.ci_high));
    ck_assert_int_eq(stats_summarize(x, 0, 0.95, &keep), -1);
    ck_assert_int_eq(stats_summarize(x, 1, 1.0, &keep), -1);
    ck_assert_int_eq(stats_summarize(x, 1, 0.0, &keep), -1);
    ck_assert_int_eq(stats_summarize(x, 2, 0.95, &keep), -1);    /* NAN in the data */
    ck_assert_int_eq(stats_summarize(NULL, 2, 0.95, &keep), -1);
    ck_assert_int_eq(keep.n, 7);
}
END_TEST


/*
 * R's sleep data (datasets::sleep, Cushny & Peebles 1905): R documents
 * t.test(extra ~ group, data = sleep) as "t = -1.8608, df = 17.776,
 * p-value = 0.07939".  More digits below from python3 (statistics.mean /
 * variance, Simpson integration of the t density with 200000 steps):
 * t = -1.860813467, df = 17.776473516, p = 0.079394140.
 */
static const double sleep1[] = { 0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0 };
static const double sleep2[] = { 1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4 };

START_TEST(test_welch_sleep)
{
    stats_summary_t a, b;
    stats_welch_t w;

    ck_assert_int_eq(stats_summarize(sleep1, 10, 0.95, &a), 0);
    ck_assert_int_eq(stats_summarize(sleep2, 10, 0.95, &b), 0);
    ck_assert_int_eq(stats_welch(&a, &b, &w), 0);
    ck_assert_double_eq_tol(w.t, -1.860813467, 1e-8);
    ck_assert_double_eq_tol(w.df, 17.776473516, 1e-8);
    ck_assert_double_eq_tol(w.p, 0.079394140, 1e-8);
    /* Symmetric in the order of the groups but for the sign of t. */
    ck_assert_int_eq(stats_welch(&b, &a, &w), 0);
    ck_assert_double_eq_tol(w.t, 1.860813467, 1e-8);
    ck_assert_double_eq_tol(w.p, 0.079394140, 1e-8);
}
END_TEST

START_TEST(test_welch_degenerate)
{
    stats_summary_t a = { .n = 3, .mean = 5, .stddev = 0 }, b = a, one = { .n = 1, .mean = 5 };
    stats_welch_t w = { 0 };

    ck_assert_int_eq(stats_welch(&a, &b, &w), 0);
    ck_assert(w.p == 1.0 && w.t == 0.0 && w.df == 4.0);
    b.mean = 6;
    ck_assert_int_eq(stats_welch(&a, &b, &w), 0);
    ck_assert(w.p == 0.0 && isinf(w.t) && w.t < 0);
    ck_assert_int_eq(stats_welch(&a, &one, &w), -1);
    ck_assert_int_eq(stats_welch(NULL, &a, &w), -1);
}
END_TEST

START_TEST(test_t_cdf)
{
    /* Inverse of the quantiles of the printed tables, and Cauchy (df = 1) in closed form. */
    ck_assert_double_eq_tol(stats_t_cdf(2.776445, 4), 0.975, 1e-7);
    ck_assert_double_eq_tol(stats_t_cdf(-12.706205, 1), 0.025, 1e-7);
    ck_assert_double_eq_tol(stats_t_cdf(1.0, 1), 0.5 + atan(1.0) / M_PI, 1e-12);
    ck_assert(stats_t_cdf(0.0, 3.5) == 0.5);
    ck_assert(isnan(stats_t_cdf(1.0, 0.0)));
    /* Real df: the 0.975 quantile at df = 3.805940594 is 2.833177449 (python3 Simpson + bisection). */
    ck_assert_double_eq_tol(stats_t_quantile_df(0.975, 3.805940594), 2.833177449, 1e-6);
}
END_TEST

START_TEST(test_median)
{
    const double odd[] = { 3, 1, 2 }, one[] = { 7.5 };

    /* python3 statistics.median: 0.35 and 1.75 for the sleep groups, 2 for {3, 1, 2}. */
    ck_assert_double_eq_tol(stats_median(sleep1, 10), 0.35, 1e-12);
    ck_assert_double_eq_tol(stats_median(sleep2, 10), 1.75, 1e-12);
    ck_assert(stats_median(odd, 3) == 2.0);
    ck_assert(odd[0] == 3.0);                /* input untouched */
    ck_assert(stats_median(one, 1) == 7.5);
    ck_assert(isnan(stats_median(one, 0)));
}
END_TEST

START_TEST(test_change_ci_fieller)
{
    /*
     * x = {32, 33, 34} against base = {40, 41, 42.5}: change -19.838056680 %,
     * Fieller 95 % interval [-25.291551945, -13.982777549] % at Welch
     * df = 3.805940594, t = 2.833177449 (python3: statistics.mean/variance,
     * the quadratic of Fieller 1954, the t quantile by Simpson + bisection).
     */
    const double x[] = { 32, 33, 34 }, b[] = { 40, 41, 42.5 };
    stats_summary_t sx, sb, c = { .n = 3, .mean = 50, .stddev = 0 },
                    c0 = { .n = 3, .mean = 40, .stddev = 0 }, noisy = { .n = 2, .mean = 1,
                                                                       .stddev = 10 };
    double lo = 0, hi = 0;

    ck_assert_int_eq(stats_summarize(x, 3, 0.95, &sx), 0);
    ck_assert_int_eq(stats_summarize(b, 3, 0.95, &sb), 0);
    ck_assert_int_eq(stats_change_ci(&sx, &sb, 0.95, &lo, &hi), 0);
    ck_assert_double_eq_tol(lo, -25.291551945, 1e-5);
    ck_assert_double_eq_tol(hi, -13.982777549, 1e-5);
    /* No spread: the interval is the point, +25 %. */
    ck_assert_int_eq(stats_change_ci(&c, &c0, 0.95, &lo, &hi), 0);
    ck_assert(lo == 25.0 && hi == 25.0);
    /* A baseline mean not significantly above 0: unbounded, refused. */
    ck_assert_int_eq(stats_change_ci(&c, &noisy, 0.95, &lo, &hi), -1);
    ck_assert_int_eq(stats_change_ci(&c, &sx, 1.5, &lo, &hi), -1);
}
END_TEST

START_TEST(test_linfit_reference)
{
    /*
     * ns per packet against size: python3 statistics.linear_regression gives
     * a = 1173.360809652, b = 0.501408841, statistics.correlation^2 gives
     * R^2 = 0.999844606466; the 95 % prediction interval at x0 = 700 is
     * 1524.346998306 in [1512.698989246, 1535.995007366] (t(0.975; 4) =
     * 2.776445105, Draper & Smith 1.4).
     */
    const double x[] = { 64, 128, 256, 512, 1024, 1448 };
    const double y[] = { 1210, 1236, 1301, 1425, 1690, 1899 };
    stats_linfit_t f;
    double p, lo, hi;

    ck_assert_int_eq(stats_linfit(x, y, 6, &f), 0);
    ck_assert_double_eq_tol(f.a, 1173.360809652, 1e-6);
    ck_assert_double_eq_tol(f.b, 0.501408841, 1e-9);
    ck_assert_double_eq_tol(f.r2, 0.999844606466, 1e-10);
    ck_assert_int_eq(stats_linfit_predict(&f, 700, 0.95, &p, &lo, &hi), 0);
    ck_assert_double_eq_tol(p, 1524.346998306, 1e-6);
    ck_assert_double_eq_tol(lo, 1512.698989246, 1e-5);
    ck_assert_double_eq_tol(hi, 1535.995007366, 1e-5);
}
END_TEST

START_TEST(test_linfit_bad)
{
    const double x[] = { 5, 5, 5 }, y[] = { 1, 2, 3 };
    stats_linfit_t f = { .n = 9 };

    ck_assert_int_eq(stats_linfit(x, y, 3, &f), -1);     /* one distinct x */
    ck_assert_int_eq(stats_linfit(y, x, 2, &f), -1);     /* too few */
    ck_assert_int_eq(f.n, 9);
}
END_TEST

static Suite *
stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tq = tcase_create("t_quantile");
    TCase *ts = tcase_create("summarize");

    tcase_set_timeout(tq, 10);
    tcase_add_test(tq, test_t_table);
    tcase_add_test(tq, test_t_closed_forms);
    tcase_add_test(tq, test_t_symmetry_and_bad_input);
    suite_add_tcase(s, tq);
    tcase_set_timeout(ts, 10);
    tcase_add_test(ts, test_summarize_known);
    tcase_add_test(ts, test_summarize_large_offset);
    tcase_add_test(ts, test_summarize_single_and_bad);
    suite_add_tcase(s, ts);
    {
        TCase *tw = tcase_create("tests_and_models");

        tcase_set_timeout(tw, 10);
        tcase_add_test(tw, test_welch_sleep);
        tcase_add_test(tw, test_welch_degenerate);
        tcase_add_test(tw, test_t_cdf);
        tcase_add_test(tw, test_median);
        tcase_add_test(tw, test_change_ci_fieller);
        tcase_add_test(tw, test_linfit_reference);
        tcase_add_test(tw, test_linfit_bad);
        suite_add_tcase(s, tw);
    }
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(stats_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
