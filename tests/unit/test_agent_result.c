/*
 * test_agent_result.c — Check suite of node-agent/agent_result.c: one RESULT
 * out of the cntb-traffic results of N concurrent pairs.
 *
 * Rates and counts add up over pairs, per-flow properties are averaged over
 * the pairs that report them, interval samples are summed element by
 * element, and every pair's own metrics travel under "pairs".  The inputs are
 * small JSON texts whose sums and means are exact in binary floating point,
 * so every value is compared exactly.  Pure functions: no file, no root.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "agent_result.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    ck_assert_msg(j != NULL, "bad test JSON: %s", e.text);
    return j;
}

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    ck_assert_msg(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

#define PAIR0                                                                                    \
    "{\"metrics\":{\"throughput_bps\":1e9,\"throughput_pps\":86000,\"rtt_us_p50\":10,"          \
    "\"loss_ratio\":0.25,\"cpu_client_pct\":40,\"tool\":\"cntb-traffic\"},"                     \
    "\"samples\":[{\"t_s\":1,\"throughput_bps\":1e9,\"retransmits\":1},"                         \
    "{\"t_s\":2,\"throughput_bps\":2e9,\"retransmits\":0}],"                                     \
    "\"applied\":{\"size\":1448,\"sndbuf\":212992}}"
#define PAIR1                                                                                    \
    "{\"metrics\":{\"throughput_bps\":3e9,\"throughput_pps\":14000,\"rtt_us_p50\":30,"          \
    "\"retransmits\":4,\"cpu_client_pct\":60},"                                                  \
    "\"samples\":[{\"t_s\":1.01,\"throughput_bps\":5e8,\"retransmits\":2}],"                     \
    "\"applied\":{\"size\":9000}}"

START_TEST(test_is_sum)
{
    static const char *const sums[] = {"throughput_bps", "throughput_pps", "transactions_per_s",
                                       "retransmits"};
    static const char *const means[] = {"rtt_us_p50",     "rtt_us_p90",     "rtt_us_p99",
                                        "rtt_us_p999",    "rtt_us_mean",    "loss_ratio",
                                        "cpu_client_pct", "cpu_server_pct", "cpu_softirq_pct",
                                        "setup_ms",       "convergence_ms"};
    size_t i;

    for (i = 0; i < sizeof(sums) / sizeof(sums[0]); i++)
        ck_assert_msg(agent_result_is_sum(sums[i]), "%s adds up", sums[i]);
    for (i = 0; i < sizeof(means) / sizeof(means[0]); i++)
        ck_assert_msg(!agent_result_is_sum(means[i]), "%s is averaged", means[i]);
}
END_TEST

START_TEST(test_two_pairs)
{
    json_t *p[2] = {parse(PAIR0), parse(PAIR1)};
    char err[128] = "";
    json_t *out = agent_result_combine(p, 2, err, sizeof(err));
    json_t *m, *s, *pairs;

    ck_assert_ptr_nonnull(out);
    m = json_object_get(out, "metrics");
    ck_assert_double_eq(num(m, "throughput_bps"), 4e9);        /* 1e9 + 3e9 */
    ck_assert_double_eq(num(m, "throughput_pps"), 100000);     /* 86000 + 14000 */
    ck_assert_double_eq(num(m, "retransmits"), 4);             /* only pair 1 reports it */
    ck_assert_double_eq(num(m, "rtt_us_p50"), 20);             /* (10 + 30) / 2 */
    ck_assert_double_eq(num(m, "cpu_client_pct"), 50);         /* (40 + 60) / 2 */
    ck_assert_double_eq(num(m, "loss_ratio"), 0.25);           /* mean over the one reporter */
    ck_assert_ptr_null(json_object_get(m, "tool"));            /* not a number: dropped */
    ck_assert_int_eq(json_object_size(m), 6);
    /* samples summed per interval; t_s of the first pair that has the interval */
    s = json_object_get(out, "samples");
    ck_assert_int_eq(json_array_size(s), 2);
    ck_assert_double_eq(num(json_array_get(s, 0), "t_s"), 1);
    ck_assert_double_eq(num(json_array_get(s, 0), "throughput_bps"), 1.5e9);
    ck_assert_double_eq(num(json_array_get(s, 0), "retransmits"), 3);
    ck_assert_double_eq(num(json_array_get(s, 1), "t_s"), 2);
    ck_assert_double_eq(num(json_array_get(s, 1), "throughput_bps"), 2e9);
    ck_assert_double_eq(num(json_array_get(s, 1), "retransmits"), 0);
    /* applied: pair 0's, a copy */
    ck_assert_double_eq(num(json_object_get(out, "applied"), "size"), 1448);
    ck_assert_ptr_ne(json_object_get(out, "applied"), json_object_get(p[0], "applied"));
    /* every pair's own metrics, in order */
    pairs = json_object_get(out, "pairs");
    ck_assert_int_eq(json_array_size(pairs), 2);
    ck_assert_double_eq(num(json_array_get(pairs, 0), "throughput_bps"), 1e9);
    ck_assert_double_eq(num(json_array_get(pairs, 1), "throughput_bps"), 3e9);
    ck_assert_double_eq(num(json_array_get(pairs, 1), "rtt_us_p50"), 30);
    /* the inputs are borrowed and unchanged */
    ck_assert_double_eq(num(json_object_get(p[0], "metrics"), "throughput_bps"), 1e9);
    ck_assert_int_eq(json_array_size(json_object_get(p[0], "samples")), 2);
    json_decref(out);
    json_decref(p[0]);
    json_decref(p[1]);
}
END_TEST

START_TEST(test_three_pairs_mean)
{
    json_t *p[3] = {
        parse("{\"metrics\":{\"rtt_us_p99\":10,\"transactions_per_s\":1000},\"samples\":[]}"),
        parse("{\"metrics\":{\"rtt_us_p99\":20,\"transactions_per_s\":2000},\"samples\":[]}"),
        parse("{\"metrics\":{\"rtt_us_p99\":60,\"transactions_per_s\":500}}"),
    };
    char err[128] = "";
    json_t *out = agent_result_combine(p, 3, err, sizeof(err));
    json_t *m;

    ck_assert_ptr_nonnull(out);
    m = json_object_get(out, "metrics");
    ck_assert_double_eq(num(m, "rtt_us_p99"), 30);            /* (10 + 20 + 60) / 3 */
    ck_assert_double_eq(num(m, "transactions_per_s"), 3500);  /* 1000 + 2000 + 500 */
    ck_assert_int_eq(json_array_size(json_object_get(out, "samples")), 0);
    ck_assert_ptr_null(json_object_get(out, "applied"));     /* pair 0 has none */
    ck_assert_int_eq(json_array_size(json_object_get(out, "pairs")), 3);
    json_decref(out);
    for (int i = 0; i < 3; i++)
        json_decref(p[i]);
}
END_TEST

START_TEST(test_one_pair_unchanged)
{
    json_t *p[1] = {parse(PAIR0)};
    char err[128] = "";
    json_t *out = agent_result_combine(p, 1, err, sizeof(err));
    json_t *m;

    ck_assert_ptr_nonnull(out);
    m = json_object_get(out, "metrics");
    /* n = 1: pair 0's result as it is, non-numeric fields included, plus "pairs" */
    ck_assert_double_eq(num(m, "throughput_bps"), 1e9);
    ck_assert_double_eq(num(m, "rtt_us_p50"), 10);
    ck_assert_str_eq(json_string_value(json_object_get(m, "tool")), "cntb-traffic");
    ck_assert_int_eq(json_array_size(json_object_get(out, "samples")), 2);
    ck_assert_double_eq(num(json_array_get(json_object_get(out, "samples"), 1), "throughput_bps"),
                        2e9);
    ck_assert_double_eq(num(json_object_get(out, "applied"), "sndbuf"), 212992);
    ck_assert_int_eq(json_array_size(json_object_get(out, "pairs")), 1);
    ck_assert_ptr_ne(out, p[0]);
    ck_assert_ptr_null(json_object_get(p[0], "pairs")); /* the input was not touched */
    json_decref(out);
    json_decref(p[0]);
}
END_TEST

START_TEST(test_bad_input)
{
    json_t *p[2] = {parse(PAIR0), parse("{\"samples\":[]}")};
    char err[128] = "";

    ck_assert_ptr_null(agent_result_combine(p, 0, err, sizeof(err)));
    ck_assert_str_eq(err, "no pair results");
    ck_assert_ptr_null(agent_result_combine(p, 2, err, sizeof(err)));
    ck_assert_str_eq(err, "pair 1: result without metrics");
    json_decref(p[1]);
    p[1] = parse("{\"metrics\":[1,2]}");
    ck_assert_ptr_null(agent_result_combine(p, 2, err, sizeof(err)));
    ck_assert_str_eq(err, "pair 1: result without metrics");
    json_decref(p[0]);
    json_decref(p[1]);
}
END_TEST

static Suite *agent_result_suite(void)
{
    Suite *s = suite_create("agent_result");
    TCase *tc = tcase_create("combine");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_is_sum);
    tcase_add_test(tc, test_two_pairs);
    tcase_add_test(tc, test_three_pairs_mean);
    tcase_add_test(tc, test_one_pair_unchanged);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(agent_result_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
