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

/*
 * Two pairs of a udp_stream run as cntb-traffic prints them (traffic_client.c,
 * end of traffic_client_run): the run's own fields, metrics, samples,
 * applied and flags.  Pair 1's server CPU could not be read (no
 * cpu_server_pct) and its datagrams were fragmented.
 */
#define PAIR0                                                                                    \
    "{\"version\":1,\"traffic\":\"udp_stream\",\"size\":1472,\"streams\":1,\"duration_s\":2.0," \
    "\"metrics\":{\"throughput_bps\":1e9,\"throughput_pps\":86000,\"sent_pps\":90000,"         \
    "\"loss_ratio\":0.25,\"duplicates\":1,\"cpu_client_pct\":40,\"cpu_server_pct\":30},"         \
    "\"samples\":[{\"t_s\":1,\"throughput_pps\":80000,\"throughput_bps\":1e9},"                  \
    "{\"t_s\":2,\"throughput_pps\":92000,\"throughput_bps\":2e9}],"                               \
    "\"applied\":{\"path_mtu\":1500,\"udp_payload_max\":1472,\"sndbuf\":212992,"               \
    "\"engine\":\"builtin\",\"measured_s\":2.0},"                                                 \
    "\"flags\":[]}"
#define PAIR1                                                                                    \
    "{\"version\":1,\"traffic\":\"udp_stream\",\"size\":1472,\"streams\":1,\"duration_s\":2.0," \
    "\"metrics\":{\"throughput_bps\":3e9,\"throughput_pps\":14000,\"sent_pps\":10000,"         \
    "\"loss_ratio\":0.75,\"duplicates\":3,\"cpu_client_pct\":60},"                               \
    "\"samples\":[{\"t_s\":1.01,\"throughput_pps\":16000,\"throughput_bps\":5e8}],"               \
    "\"applied\":{\"path_mtu\":9000,\"udp_payload_max\":8972,\"engine\":\"builtin\"},"           \
    "\"flags\":[\"fragmented\"]}"

START_TEST(test_is_sum)
{
    static const char *const sums[] = {"throughput_bps", "throughput_pps", "transactions_per_s",
                                       "retransmits",    "sent_pps",       "sent_bps",
                                       "duplicates",     "timeouts",       "connections_per_s"};
    static const char *const means[] = {"rtt_us_p50",     "rtt_us_p90",     "rtt_us_p99",
                                        "rtt_us_p999",    "rtt_us_mean",    "loss_ratio",
                                        "cpu_client_pct", "cpu_server_pct", "cpu_softirq_pct",
                                        "setup_ms",       "convergence_ms", "reorder_ratio",
                                        "connect_us_p99", "cpu_ns_per_packet", "not_a_metric"};
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
    json_t *m, *s, *pairs, *flags;

    ck_assert_ptr_nonnull(out);
    m = json_object_get(out, "metrics");
    ck_assert_double_eq(num(m, "throughput_bps"), 4e9);        /* 1e9 + 3e9 */
    ck_assert_double_eq(num(m, "throughput_pps"), 100000);     /* 86000 + 14000 */
    ck_assert_double_eq(num(m, "sent_pps"), 100000);           /* 90000 + 10000: a rate */
    ck_assert_double_eq(num(m, "duplicates"), 4);              /* 1 + 3: a count */
    ck_assert_double_eq(num(m, "loss_ratio"), 0.5);            /* (0.25 + 0.75) / 2 */
    ck_assert_double_eq(num(m, "cpu_client_pct"), 50);         /* (40 + 60) / 2 */
    ck_assert_double_eq(num(m, "cpu_server_pct"), 30);         /* mean over the one reporter */
    ck_assert_int_eq(json_object_size(m), 7);
    /* samples summed per interval; t_s of the first pair that has the interval */
    s = json_object_get(out, "samples");
    ck_assert_int_eq(json_array_size(s), 2);
    ck_assert_double_eq(num(json_array_get(s, 0), "t_s"), 1);
    ck_assert_double_eq(num(json_array_get(s, 0), "throughput_bps"), 1.5e9);
    ck_assert_double_eq(num(json_array_get(s, 0), "throughput_pps"), 96000);
    ck_assert_double_eq(num(json_array_get(s, 1), "t_s"), 2);
    ck_assert_double_eq(num(json_array_get(s, 1), "throughput_bps"), 2e9);
    ck_assert_double_eq(num(json_array_get(s, 1), "throughput_pps"), 92000);
    /* applied: pair 0's, a copy */
    ck_assert_double_eq(num(json_object_get(out, "applied"), "path_mtu"), 1500);
    ck_assert_ptr_ne(json_object_get(out, "applied"), json_object_get(p[0], "applied"));
    /* every pair's own metrics, in order */
    pairs = json_object_get(out, "pairs");
    ck_assert_int_eq(json_array_size(pairs), 2);
    ck_assert_double_eq(num(json_array_get(pairs, 0), "throughput_bps"), 1e9);
    ck_assert_double_eq(num(json_array_get(pairs, 1), "throughput_bps"), 3e9);
    ck_assert_double_eq(num(json_array_get(pairs, 1), "loss_ratio"), 0.75);
    /* the flag of pair 1 is a flag of the run (CASES.md 11) */
    flags = json_object_get(out, "flags");
    ck_assert_msg(json_is_array(flags) && json_array_size(flags) == 1, "flags of the sum: %s",
                  flags ? "not [\"fragmented\"]" : "missing");
    ck_assert_str_eq(json_string_value(json_array_get(flags, 0)), "fragmented");
    /* the run's own fields, as a single pair's result has them */
    ck_assert_int_eq(json_integer_value(json_object_get(out, "version")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(out, "traffic")), "udp_stream");
    ck_assert_int_eq(json_integer_value(json_object_get(out, "size")), 1472);
    ck_assert_int_eq(json_integer_value(json_object_get(out, "streams")), 1);
    ck_assert_double_eq(num(out, "duration_s"), 2.0);
    {
        /* every top-level key of a pair's result is in the sum, plus "pairs" */
        const char *key;
        json_t *v;

        json_object_foreach(p[0], key, v)
            ck_assert_msg(json_object_get(out, key) != NULL, "the sum lacks \"%s\"", key);
        ck_assert_int_eq(json_object_size(out), json_object_size(p[0]) + 1);
    }
    /* the inputs are borrowed and unchanged */
    ck_assert_double_eq(num(json_object_get(p[0], "metrics"), "throughput_bps"), 1e9);
    ck_assert_int_eq(json_array_size(json_object_get(p[0], "samples")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(p[0], "flags")), 0);
    json_decref(out);
    json_decref(p[0]);
    json_decref(p[1]);
}
END_TEST

/* Flags of several pairs: each once, in the order first seen, whatever the flag. */
START_TEST(test_flags_union)
{
    json_t *p[3] = {
        parse("{\"metrics\":{\"rtt_us_p50\":10},\"flags\":[\"tool_bound\",\"invalid\"]}"),
        parse("{\"metrics\":{\"rtt_us_p50\":20},\"flags\":[\"lossy\",\"tool_bound\"]}"),
        parse("{\"metrics\":{\"rtt_us_p50\":30},\"flags\":[\"rr_inconsistent\",\"invalid\"]}"),
    };
    static const char *const want[] = {"tool_bound", "invalid", "lossy", "rr_inconsistent"};
    char err[128] = "";
    json_t *out = agent_result_combine(p, 3, err, sizeof(err)), *flags;

    ck_assert_ptr_nonnull(out);
    flags = json_object_get(out, "flags");
    ck_assert_int_eq(json_array_size(flags), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq(json_string_value(json_array_get(flags, i)), want[i]);
    json_decref(out);
    /* no pair flagged: an empty array, as a single pair's result has */
    for (int i = 0; i < 3; i++)
        json_object_set_new(p[i], "flags", json_array());
    out = agent_result_combine(p, 3, err, sizeof(err));
    ck_assert(json_is_array(json_object_get(out, "flags")));
    ck_assert_int_eq(json_array_size(json_object_get(out, "flags")), 0);
    json_decref(out);
    for (int i = 0; i < 3; i++)
        json_decref(p[i]);
}
END_TEST

START_TEST(test_three_pairs_mean)
{
    json_t *p[3] = {
        parse("{\"metrics\":{\"rtt_us_p99\":10,\"transactions_per_s\":1000,\"note\":\"x\"},"
              "\"samples\":[]}"),
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
    ck_assert_ptr_null(json_object_get(m, "note"));            /* not a number: dropped */
    ck_assert_int_eq(json_object_size(m), 2);
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
    json_t *p[1] = {parse(PAIR1)};
    char err[128] = "";
    json_t *out = agent_result_combine(p, 1, err, sizeof(err));
    json_t *pairs;

    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_ne(out, p[0]);
    /* n = 1: pair 0's result as it is (flags, fields, non-numbers), plus "pairs" */
    pairs = json_object_get(out, "pairs");
    ck_assert_int_eq(json_array_size(pairs), 1);
    ck_assert(json_equal(json_array_get(pairs, 0), json_object_get(p[0], "metrics")));
    json_incref(pairs);
    ck_assert_int_eq(json_object_del(out, "pairs"), 0);
    ck_assert(json_equal(out, p[0]));
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(out, "flags"), 0)),
                     "fragmented");
    ck_assert_ptr_null(json_object_get(p[0], "pairs")); /* the input was not touched */
    json_decref(pairs);
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
    tcase_add_test(tc, test_flags_union);
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
