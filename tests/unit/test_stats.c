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
