/*
 * test_agent_traffic.c — Check suite for node-agent/agent_traffic.c: the
 * argument vector of cntb-traffic built from a run's parameters (every
 * parameter of the matrix passed on, defaults for absent ones, engines),
 * refusals of bad values, and the UDP size refused against the path MTU
 * (CASES.md case 1) unless allow_fragments.
 */
#include "agent_traffic.h"
#include "ferr.h"
#include "matrix.h"
#include "traffic.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* The vector joined with spaces (fresh). */
static char *
joined(char **argv)
{
    size_t len = 1;
    for (char **a = argv; *a; a++)
        len += strlen(*a) + 1;
    char *s = calloc(1, len);
    for (char **a = argv; *a; a++) {
        if (a != argv)
            strcat(s, " ");
        strcat(s, *a);
    }
    return s;
}

static void
expect_argv(const char *role, const char *params, int mtu, const char *want)
{
    char err[256] = "";
    json_t *p = json_loads(params, 0, NULL);
    ck_assert_ptr_nonnull(p);
    char **argv = agent_traffic_argv("/x/cntb-traffic", role, p, "198.18.0.2", 5301, mtu, err,
                                     sizeof err);
    ck_assert_msg(argv != NULL, "refused: %s", err);
    char *s = joined(argv);
    ck_assert_str_eq(s, want);
    free(s);
    agent_traffic_argv_free(&argv);
    ck_assert_ptr_null(argv);
    json_decref(p);
}

static void
expect_refusal(const char *params, int mtu, const char *want)
{
    char err[256] = "";
    json_t *p = json_loads(params, 0, NULL);
    ck_assert_ptr_nonnull(p);
    char **argv = agent_traffic_argv("/x/cntb-traffic", "client", p, "198.18.0.2", 5301, mtu, err,
                                     sizeof err);
    ck_assert_ptr_null(argv);
    ck_assert_str_eq(err, want);
    json_decref(p);
}

START_TEST(test_client_all_parameters)
{
    expect_argv("client",
                "{\"traffic\":\"udp_stream\",\"size\":64,\"streams\":2,\"duration_s\":3,"
                "\"direction\":\"download\",\"omit_s\":0.5,\"interval_s\":0.25,\"rate\":100000,"
                "\"burst\":1,\"timeout_ms\":50,\"engine\":\"builtin\",\"gso\":true,"
                "\"allow_fragments\":false}",
                1500,
                "/x/cntb-traffic client --server 198.18.0.2 --port 5301 --traffic udp_stream "
                "--size 64 --streams 2 --duration 3.000 --interval 0.250 --omit 0.500 "
                "--rate 100000 --burst 1 --timeout-ms 50 --direction download --mtu 1500 --gso");
    /* An older controller's params: the defaults of the matrix. */
    expect_argv("client", "{\"traffic\":\"tcp_rr\",\"size\":1,\"streams\":1,\"duration_s\":1}", 0,
                "/x/cntb-traffic client --server 198.18.0.2 --port 5301 --traffic tcp_rr "
                "--size 1 --streams 1 --duration 1.000 --interval 1.000 --omit 0.000 --rate 0 "
                "--burst 1 --timeout-ms 200 --direction upload --mtu 0");
    expect_argv("client",
                "{\"traffic\":\"tcp_stream\",\"size\":1448,\"streams\":1,\"duration_s\":2,"
                "\"engine\":\"iperf3\"}", 1500,
                "/x/cntb-traffic client --server 198.18.0.2 --port 5301 --traffic tcp_stream "
                "--size 1448 --streams 1 --duration 2.000 --interval 1.000 --omit 0.000 --rate 0 "
                "--burst 1 --timeout-ms 200 --direction upload --mtu 1500 --engine iperf3");
}
END_TEST

START_TEST(test_server)
{
    expect_argv("server", "{\"traffic\":\"udp_rr\"}", 1500,
                "/x/cntb-traffic server --bind 198.18.0.2 --port 5301");
    expect_argv("server", "{\"traffic\":\"udp_rr\",\"engine\":\"sockperf\"}", 1500,
                "/x/cntb-traffic server --bind 198.18.0.2 --port 5301 --engine sockperf "
                "--traffic udp_rr");
}
END_TEST

START_TEST(test_mtu_limit)
{
    const char *p1473 = "{\"traffic\":\"udp_rr\",\"size\":1473,\"streams\":1,\"duration_s\":1}";
    expect_refusal(p1473, 1500,
                   "UDP size 1473 exceeds the path MTU 1500 minus 28 (1472 bytes): datagrams "
                   "would fragment; set allow_fragments to run it anyway");
    /* VXLAN overlay: 1450. */
    expect_refusal("{\"traffic\":\"udp_stream\",\"size\":1423,\"streams\":1,\"duration_s\":1}",
                   1450,
                   "UDP size 1423 exceeds the path MTU 1450 minus 28 (1422 bytes): datagrams "
                   "would fragment; set allow_fragments to run it anyway");
    expect_argv("client",
                "{\"traffic\":\"udp_stream\",\"size\":1472,\"streams\":1,\"duration_s\":1}", 1500,
                "/x/cntb-traffic client --server 198.18.0.2 --port 5301 --traffic udp_stream "
                "--size 1472 --streams 1 --duration 1.000 --interval 1.000 --omit 0.000 --rate 0 "
                "--burst 1 --timeout-ms 200 --direction upload --mtu 1500");
    expect_argv("client",
                "{\"traffic\":\"udp_stream\",\"size\":1473,\"streams\":1,\"duration_s\":1,"
                "\"allow_fragments\":true}", 1500,
                "/x/cntb-traffic client --server 198.18.0.2 --port 5301 --traffic udp_stream "
                "--size 1473 --streams 1 --duration 1.000 --interval 1.000 --omit 0.000 --rate 0 "
                "--burst 1 --timeout-ms 200 --direction upload --mtu 1500 --allow-fragments");
    /* TCP segments are the kernel's business: no limit. */
    expect_argv("client", "{\"traffic\":\"tcp_stream\",\"size\":9000,\"streams\":1,\"duration_s\":1}",
                1500,
                "/x/cntb-traffic client --server 198.18.0.2 --port 5301 --traffic tcp_stream "
                "--size 9000 --streams 1 --duration 1.000 --interval 1.000 --omit 0.000 --rate 0 "
                "--burst 1 --timeout-ms 200 --direction upload --mtu 1500");
}
END_TEST

/*
 * SETUP and START check the UDP size with one function and one default: a
 * run whose params carry no size is a 1448-byte run (the matrix's default)
 * at both, so a path too small for it is refused at SETUP already (skipped
 * with the reason) instead of passing SETUP as a 0-byte run and failing at
 * START.
 */
START_TEST(test_udp_check_one_default)
{
    char err[256] = "";
    json_t *p = json_loads("{\"traffic\":\"udp_stream\"}", 0, NULL);
    static const char *const why1000 =
        "UDP size 1448 exceeds the path MTU 1000 minus 28 (972 bytes): datagrams would "
        "fragment; set allow_fragments to run it anyway";

    ck_assert_int_eq(PARAM_SIZE_DEFAULT, 1448);
    ck_assert_int_eq(agent_traffic_check_udp(p, 1000, err, sizeof err), 1);
    ck_assert_str_eq(err, why1000);
    expect_refusal("{\"traffic\":\"udp_stream\"}", 1000, why1000);
    /* 1448 fits 1500 - 28; an unknown MTU (0) is the engine's to find */
    ck_assert_int_eq(agent_traffic_check_udp(p, 1500, err, sizeof err), 0);
    ck_assert_int_eq(agent_traffic_check_udp(p, 0, err, sizeof err), 0);
    json_decref(p);
    p = json_loads("{\"traffic\":\"udp_rr\",\"allow_fragments\":true}", 0, NULL);
    ck_assert_int_eq(agent_traffic_check_udp(p, 1000, err, sizeof err), 0);
    json_decref(p);
    p = json_loads("{}", 0, NULL); /* tcp_stream */
    ck_assert_int_eq(agent_traffic_check_udp(p, 100, err, sizeof err), 0);
    json_decref(p);
    p = json_loads("{\"traffic\":\"udp_rr\",\"size\":\"big\"}", 0, NULL);
    ck_assert_int_eq(agent_traffic_check_udp(p, 1500, err, sizeof err), -1);
    ck_assert_str_eq(err, "traffic must be a string, size an integer 1..1048576, allow_fragments "
                          "true or false");
    json_decref(p);
    /* the controller's default is the same */
    {
        const char *text = "{}";
        char merr[FERR_MAX];
        matrix_t *m = matrix_load_text("m.json", text, strlen(text), merr);

        ck_assert_msg(m != NULL, "%s", merr);
        ck_assert_int_eq(json_integer_value(json_object_get(matrix_run_params(m, 0), "size")),
                         PARAM_SIZE_DEFAULT);
        matrix_destroy(&m);
    }
}
END_TEST

START_TEST(test_refusals)
{
    expect_refusal("{\"traffic\":\"sctp\",\"size\":1,\"streams\":1,\"duration_s\":1}", 0,
                   "traffic sctp is not supported by this agent");
    expect_refusal("{\"traffic\":\"tcp_rr\",\"engine\":\"netperf\"}", 0,
                   "engine must be builtin, iperf3 or sockperf");
    expect_refusal("{\"traffic\":\"tcp_rr\",\"size\":1.5,\"streams\":1,\"duration_s\":1}", 0,
                   "size, streams or duration_s out of range");
    expect_refusal("{\"traffic\":\"tcp_rr\",\"size\":1,\"streams\":1,\"duration_s\":1,"
                   "\"burst\":65}", 0,
                   "omit_s, interval_s, rate, burst or timeout_ms out of range");
    expect_refusal("{\"traffic\":\"tcp_rr\",\"size\":1,\"streams\":1,\"duration_s\":1,"
                   "\"omit_s\":\"1\"}", 0,
                   "omit_s, interval_s, rate, burst or timeout_ms out of range");
    expect_refusal("{\"traffic\":\"tcp_rr\",\"size\":1,\"streams\":1,\"duration_s\":1,"
                   "\"gso\":1}", 0,
                   "direction must be upload or download; gso and allow_fragments true or false");
    expect_refusal("{\"traffic\":\"tcp_rr\",\"size\":1,\"streams\":1,\"duration_s\":1,"
                   "\"direction\":\"up\"}", 0,
                   "direction must be upload or download; gso and allow_fragments true or false");
}
END_TEST

START_TEST(test_kinds)
{
    json_t *k = agent_traffic_kinds();
    char *s = json_dumps(k, JSON_COMPACT);
    ck_assert_str_eq(s, "[\"tcp_stream\",\"udp_stream\",\"tcp_rr\",\"udp_rr\",\"tcp_crr\"]");
    free(s);
    json_decref(k);
}
END_TEST

static Suite *
agent_traffic_suite(void)
{
    Suite *s = suite_create("agent_traffic");
    TCase *tc = tcase_create("argv");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_client_all_parameters);
    tcase_add_test(tc, test_server);
    tcase_add_test(tc, test_mtu_limit);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_udp_check_one_default);
    tcase_add_test(tc, test_kinds);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(agent_traffic_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
