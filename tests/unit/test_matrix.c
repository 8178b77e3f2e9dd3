/*
 * test_matrix.c — unit tests of controller/matrix.c: every refusal with its
 * exact one-line error (file, line, column, path), defaults, expansion count
 * and order, exclusions, inclusions, integer ranges, the seeded random order,
 * the other keys, repetitions, loading from a file (demo and nightly).
 */
#include "ferr.h"
#include "matrix.h"

#include <check.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ORDER_SEED_42 "7,2,4,0,3,5,1,6,2,0,3,1,4,6,5,7,0,6,4,7,1,3,2,5"
#define BATCH_SEED_42_1 6529064058449557ULL /* splitmix64 from 42, first draw, low 53 bits */
#define BATCH_SEED_42_2 4471935826587907ULL
#define BATCH_SEED_MAX_1000000 1523806132275666ULL
#define NIGHTLY_RUNS 1780 /* 356 points (docs/matrix.md) x 5 repetitions */

static void
expect_refusal(const char *text, const char *want)
{
    char err[FERR_MAX] = "";
    matrix_t *m = matrix_load_text("m.json", text, strlen(text), err);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err, want);
}

static matrix_t *
load_ok(const char *file, const char *text)
{
    char err[FERR_MAX] = "";
    matrix_t *m = matrix_load_text(file, text, strlen(text), err);
    ck_assert_msg(m != NULL, "refused: %s", err);
    return m;
}

/*
 * The params of run i, compact, keys in the order the object holds them, begin
 * with `want` (an object): its keys come first, in that order, with those
 * values; parameters added later to the table follow them and are not checked.
 */
static void
expect_params(const matrix_t *m, int i, const char *want)
{
    char *s = json_dumps(matrix_run_params(m, i), JSON_COMPACT);
    ck_assert_ptr_nonnull(s);
    size_t n = strlen(want) - 1; /* without the closing brace */
    ck_assert_msg(strncmp(s, want, n) == 0 && (s[n] == ',' || s[n] == '}'),
                  "run %d: got %s, want it to begin with %s", i, s, want);
    free(s);
}

/* ---- refusals ---------------------------------------------------------- */

START_TEST(test_network_params)
{
    char err[FERR_MAX] = "";
    const char *good = "{\"fixed\": {\"network\": \"macvlan\", \"macvlan_mode\": \"vepa\", "
                       "\"pairs\": 64, \"cpu_pinning\": true, \"mtu\": 9000}}";
    matrix_t *m = load_ok("p.json", good);
    const json_t *p = matrix_run_params(m, 0);
    ck_assert_str_eq(json_string_value(json_object_get(p, "macvlan_mode")), "vepa");
    ck_assert_str_eq(json_string_value(json_object_get(p, "ipvlan_mode")), "l2");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "pairs")), 64);
    ck_assert(json_is_true(json_object_get(p, "cpu_pinning")));
    ck_assert_int_eq(json_integer_value(json_object_get(p, "mtu")), 9000);
    matrix_destroy(&m);
    const char *bad_pairs = "{\"fixed\": {\"pairs\": 65}}";
    ck_assert_ptr_null(matrix_load_text("p.json", bad_pairs, strlen(bad_pairs), err));
    ck_assert_msg(strstr(err, "p.json:1:21: $.fixed.pairs: must be between 1 and 64 (got 65)"), "%s", err);
    const char *bad_pin = "{\"fixed\": {\"cpu_pinning\": 1}}";
    ck_assert_ptr_null(matrix_load_text("p.json", bad_pin, strlen(bad_pin), err));
    ck_assert_msg(strstr(err, "$.fixed.cpu_pinning: must be true or false"), "%s", err);
    const char *bad_mode = "{\"vary\": {\"ipvlan_mode\": [\"l4\"]}}";
    ck_assert_ptr_null(matrix_load_text("p.json", bad_mode, strlen(bad_mode), err));
    ck_assert_msg(strstr(err, "$.vary.ipvlan_mode[0]: unknown ipvlan_mode \"l4\" (one of l2, l3, l3s)"), "%s", err);
}
END_TEST


START_TEST(test_unknown_key_fixed)
{
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"durration_s\": 3\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:20: $.fixed.durration_s: unknown key \"durration_s\"");
}
END_TEST

/* Engine/traffic combinations the engines cannot run (docs/matrix.md
 * "Engines") and too many connections are refused at validation, naming both
 * paths, and the point when vary or include makes the combination. */
START_TEST(test_engine_combinations_refused)
{
    expect_refusal("{\"fixed\":{\"engine\":\"sockperf\",\"traffic\":\"tcp_stream\"}}",
                   "m.json:1:20: $.fixed.engine: engine sockperf cannot generate traffic "
                   "tcp_stream (only udp_stream, udp_rr and tcp_rr) [$.fixed.engine with "
                   "$.fixed.traffic]");
    expect_refusal("{\"fixed\":{\"engine\":\"iperf3\",\"traffic\":\"tcp_rr\"}}",
                   "m.json:1:20: $.fixed.engine: engine iperf3 cannot generate traffic tcp_rr "
                   "(only tcp_stream and udp_stream) [$.fixed.engine with $.fixed.traffic]");
    expect_refusal("{\"fixed\":{\"engine\":\"sockperf\",\"traffic\":\"udp_rr\",\"streams\":2}}",
                   "m.json:1:20: $.fixed.engine: engine sockperf runs one flow: streams must be "
                   "1, not 2 [$.fixed.engine with $.fixed.streams]");
    expect_refusal("{\"fixed\":{\"engine\":\"sockperf\",\"traffic\":\"udp_rr\","
                   "\"direction\":\"download\"}}",
                   "m.json:1:20: $.fixed.engine: engine sockperf runs upload only, not direction "
                   "download [$.fixed.engine with $.fixed.direction]");
    /* sockperf with the default traffic (tcp_stream): the engine's path. */
    expect_refusal("{\"fixed\":{\"engine\":\"sockperf\"}}",
                   "m.json:1:20: $.fixed.engine: engine sockperf cannot generate traffic "
                   "tcp_stream (only udp_stream, udp_rr and tcp_rr) [$.fixed.engine with "
                   "(default)]");
    expect_refusal("{\"fixed\":{\"engine\":\"sockperf\"},\"vary\":{\"traffic\":[\"udp_rr\","
                   "\"tcp_crr\"]}}",
                   "m.json:1:20: $.fixed.engine: engine sockperf cannot generate traffic tcp_crr "
                   "(only udp_stream, udp_rr and tcp_rr) [$.fixed.engine with $.vary.traffic] "
                   "(point 1: engine \"sockperf\", traffic \"tcp_crr\"); exclude such points: "
                   "{\"engine\": \"sockperf\", \"traffic\": \"tcp_crr\"}");
    expect_refusal("{\"fixed\":{\"traffic\":\"udp_rr\"},\"include\":[{\"engine\":\"iperf3\"}]}",
                   "m.json:1:52: $.include[0].engine: engine iperf3 cannot generate traffic "
                   "udp_rr (only tcp_stream and udp_stream) [$.include[0].engine with "
                   "$.fixed.traffic] (point 0: engine \"iperf3\", traffic \"udp_rr\")");
    expect_refusal("{\"fixed\":{\"network\":\"bridge\",\"pairs\":64,\"streams\":128,"
                   "\"duration_s\":1}}",
                   "m.json:1:38: $.fixed.pairs: pairs x streams = 8192 connections; at most 1024 "
                   "per run [$.fixed.pairs with $.fixed.streams]");
    expect_refusal("{\"fixed\":{\"pairs\":16},\"vary\":{\"streams\":[64,65]}}",
                   "m.json:1:19: $.fixed.pairs: pairs x streams = 1040 connections; at most 1024 "
                   "per run [$.fixed.pairs with $.vary.streams] (point 1: pairs 16, streams 65); "
                   "exclude such points: {\"pairs\": 16, \"streams\": 65}");
    /* What the engines do run is accepted; an exclusion removes a bad point. */
    matrix_t *m = load_ok("m.json", "{\"fixed\":{\"pairs\":8,\"streams\":128},"
                                    "\"vary\":{\"engine\":[\"iperf3\",\"sockperf\"],"
                                    "\"traffic\":[\"udp_stream\",\"tcp_rr\"]},"
                                    "\"exclude\":[{\"engine\":\"sockperf\"},"
                                    "{\"traffic\":\"tcp_rr\"}]}");
    ck_assert_int_eq(matrix_run_count(m), 1);
    matrix_destroy(&m);
    m = load_ok("m.json", "{\"fixed\":{\"engine\":\"sockperf\",\"traffic\":\"udp_stream\"}}");
    ck_assert_int_eq(matrix_run_count(m), 1);
    matrix_destroy(&m);
}
END_TEST

/*
 * Network and placement that can never run together (proto/netplace.c, the
 * table of the agent's supports() hooks) are refused at validation, as
 * engine conflicts are; vary that makes them names the exclusion to add,
 * and the exclusion makes the matrix valid.
 */
START_TEST(test_network_placement_refused)
{
    static const struct {
        const char *network, *placement, *why;
    } never[] = {
        { "none", "cross-host", "loopback only: both ends in one namespace of one host" },
        { "container", "cross-host", "the client joins the server's namespace, on one host" },
        { "bridge", "cross-host", "a Linux bridge joins the containers of one host" },
        { "nat", "same-host", "it connects containers of two hosts through published ports" },
        { "overlay", "same-host", "it connects containers of two hosts through a VXLAN overlay" },
        { "routing", "same-host", "it connects containers of two hosts through BGP routes" },
    };
    char text[256], want[512];

    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        snprintf(text, sizeof text, "{\"fixed\": {\"network\": \"%s\", \"placement\": \"%s\"}}",
                 never[i].network, never[i].placement);
        snprintf(want, sizeof want, "m.json:1:23: $.fixed.network: network %s cannot run"
                 " placement %s (%s) [$.fixed.network with $.fixed.placement]", never[i].network,
                 never[i].placement, never[i].why);
        expect_refusal(text, want);
    }
    /* the default placement is same-host */
    expect_refusal("{\"fixed\": {\"network\": \"overlay\"}}",
                   "m.json:1:23: $.fixed.network: network overlay cannot run placement same-host "
                   "(it connects containers of two hosts through a VXLAN overlay) "
                   "[$.fixed.network with (default)]");
    /* a product that crosses them freely: the first such point, and the exclusion to add */
    expect_refusal("{\"vary\": {\"network\": [\"host\", \"nat\"],\n"
                   "          \"placement\": [\"same-host\", \"cross-host\"]}}",
                   "m.json:1:22: $.vary.network: network nat cannot run placement same-host "
                   "(it connects containers of two hosts through published ports) "
                   "[$.vary.network with $.vary.placement] (point 2: network \"nat\", placement "
                   "\"same-host\"); exclude such points: {\"network\": \"nat\", \"placement\": "
                   "\"same-host\"}");
    matrix_t *m = load_ok("m.json", "{\"vary\": {\"network\": [\"host\", \"nat\"],"
                                    " \"placement\": [\"same-host\", \"cross-host\"]},"
                                    " \"exclude\": [{\"network\": \"nat\", \"placement\":"
                                    " \"same-host\"}]}");
    ck_assert_int_eq(matrix_run_count(m), 3);
    matrix_destroy(&m);
    /* an include entry is not excluded: it is named, without the exclusion hint (with no
     * vary list the include entries are the only points: it is point 0) */
    expect_refusal("{\"fixed\": {\"placement\": \"cross-host\"},"
                   " \"include\": [{\"network\": \"bridge\"}]}",
                   "m.json:1:64: $.include[0].network: network bridge cannot run placement "
                   "cross-host (a Linux bridge joins the containers of one host) "
                   "[$.include[0].network with $.fixed.placement] (point 0: network \"bridge\", "
                   "placement \"cross-host\")");
    /* every kind with every placement it supports is accepted */
    m = load_ok("m.json", "{\"vary\": {\"network\": [\"host\", \"macvlan\", \"ipvlan\", \"noop\"],"
                          " \"placement\": [\"same-host\", \"cross-host\"]}}");
    ck_assert_int_eq(matrix_run_count(m), 8);
    matrix_destroy(&m);
}
END_TEST

/*
 * UDP sizes that can never run: above 65507 bytes (65535 - 20 - 8: no IPv4
 * datagram carries more, allow_fragments or not), below the builtin engine's
 * 8-byte sequence number, and above a known path MTU - 28 without
 * allow_fragments (overlay: underlay 1500, assumed, - 50 = 1450 unless mtu
 * says otherwise; an mtu the matrix states for bridge, macvlan, ipvlan).
 */
START_TEST(test_udp_size_refused)
{
    /* issue 14's example */
    expect_refusal("{\"fixed\": {\"network\": \"bridge\", \"traffic\": \"udp_stream\", "
                   "\"size\": 70000}}",
                   "m.json:1:66: $.fixed.size: UDP size 70000 is above 65507, the largest IPv4 "
                   "UDP payload (65535 - 20 IPv4 header - 8 UDP header): no datagram can carry "
                   "it [$.fixed.size with $.fixed.traffic]");
    expect_refusal("{\"fixed\": {\"network\": \"bridge\", \"traffic\": \"udp_rr\", "
                   "\"size\": 65508, \"allow_fragments\": true}}",
                   "m.json:1:62: $.fixed.size: UDP size 65508 is above 65507, the largest IPv4 "
                   "UDP payload (65535 - 20 IPv4 header - 8 UDP header): no datagram can carry "
                   "it [$.fixed.size with $.fixed.traffic]");
    expect_refusal("{\"fixed\": {\"traffic\": \"udp_stream\", \"size\": 7}}",
                   "m.json:1:45: $.fixed.size: UDP size 7 is below 8: every datagram of the "
                   "builtin engine carries an 8-byte sequence number [$.fixed.size with "
                   "$.fixed.traffic]");
    /* the size from vary, the traffic from vary: the point and the exclusion */
    expect_refusal("{\"vary\": {\"traffic\": [\"tcp_stream\", \"udp_stream\"], "
                   "\"size\": [1448, 70000]}}",
                   "m.json:1:60: $.vary.size: UDP size 70000 is above 65507, the largest IPv4 "
                   "UDP payload (65535 - 20 IPv4 header - 8 UDP header): no datagram can carry "
                   "it [$.vary.size with $.vary.traffic] (point 3: size 70000, traffic "
                   "\"udp_stream\"); exclude such points: {\"size\": 70000, \"traffic\": "
                   "\"udp_stream\"}");
    /* overlay: 1450 - 28 = 1422 bytes */
    expect_refusal("{\"fixed\": {\"network\": \"overlay\", \"placement\": \"cross-host\", "
                   "\"traffic\": \"udp_stream\", \"size\": 1423}}",
                   "m.json:1:94: $.fixed.size: UDP size 1423 exceeds the path MTU 1450 minus 28 "
                   "(1422 bytes): datagrams would fragment (network overlay: underlay MTU 1500, "
                   "assumed until the run, - 50 for VXLAN; state the overlay's MTU with mtu); "
                   "set allow_fragments to run it anyway [$.fixed.size with $.fixed.network]");
    expect_refusal("{\"fixed\": {\"placement\": \"cross-host\", \"traffic\": \"udp_rr\", "
                   "\"mtu\": 9000},\n \"vary\": {\"network\": [\"routing\", \"overlay\"], "
                   "\"size\": [8972, 8973]}}",
                   "m.json:2:54: $.vary.size: UDP size 8973 exceeds the path MTU 9000 minus 28 "
                   "(8972 bytes): datagrams would fragment (network overlay with mtu 9000); set "
                   "allow_fragments to run it anyway [$.vary.size with $.vary.network] (point 3: "
                   "size 8973, network \"overlay\"); exclude such points: {\"size\": 8973, "
                   "\"network\": \"overlay\", \"traffic\": \"udp_rr\"}");
    expect_refusal("{\"fixed\": {\"network\": \"macvlan\", \"mtu\": 1000, \"traffic\": "
                   "\"udp_stream\", \"size\": 973}}",
                   "m.json:1:80: $.fixed.size: UDP size 973 exceeds the path MTU 1000 minus 28 "
                   "(972 bytes): datagrams would fragment (network macvlan with mtu 1000); set "
                   "allow_fragments to run it anyway [$.fixed.size with $.fixed.network]");
    /* what can run is accepted */
    static const char *const ok[] = {
        /* the largest payloads */
        "{\"fixed\": {\"network\": \"overlay\", \"placement\": \"cross-host\", \"traffic\": "
        "\"udp_stream\", \"size\": 1422}}",
        "{\"fixed\": {\"network\": \"overlay\", \"placement\": \"cross-host\", \"traffic\": "
        "\"udp_rr\", \"size\": 8922, \"mtu\": 8950}}",
        "{\"fixed\": {\"traffic\": \"udp_stream\", \"size\": 65507}}",
        "{\"fixed\": {\"traffic\": \"udp_stream\", \"size\": 8}}",
        /* fragments allowed: the result is flagged fragmented */
        "{\"fixed\": {\"network\": \"overlay\", \"placement\": \"cross-host\", \"traffic\": "
        "\"udp_stream\", \"size\": 16384, \"allow_fragments\": true}}",
        /* TCP segments itself */
        "{\"fixed\": {\"network\": \"overlay\", \"placement\": \"cross-host\", \"size\": 1048576}}",
        /* the underlay's MTU is known only on the host: the agent checks it */
        "{\"fixed\": {\"network\": \"macvlan\", \"traffic\": \"udp_stream\", \"size\": 8972}}",
        "{\"fixed\": {\"network\": \"bridge\", \"traffic\": \"udp_rr\", \"size\": 4000}}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        matrix_t *m = load_ok("m.json", ok[i]);
        ck_assert_int_eq(matrix_run_count(m), 1);
        matrix_destroy(&m);
    }
}
END_TEST

/* A cross-host point with one host is refused at submit time, at the
 * placement's path; same-host points fit one host. */
START_TEST(test_host_count)
{
    char err[FERR_MAX] = "";
    const char *t1 = "{\"hosts\":[\"h1\"],\"fixed\":{\"placement\":\"cross-host\"}}";
    matrix_t *m = load_ok("m.json", t1);
    ck_assert_int_eq(matrix_check_host_count(m, 1, "lab", "m.json", t1, err), -1);
    ck_assert_str_eq(err, "m.json:1:38: $.fixed.placement: placement cross-host needs 2 "
                          "bare-metal hosts (a client and a server host); $.hosts names 1 "
                          "bare-metal host (point 0)");
    ck_assert_int_eq(matrix_check_host_count(m, 2, "lab", "m.json", t1, err), 0);
    matrix_destroy(&m);
    const char *t2 = "{\"vary\":{\"placement\":[\"same-host\",\"cross-host\"]}}";
    m = load_ok("m.json", t2);
    ck_assert_int_eq(matrix_check_host_count(m, 1, "lab", "m.json", t2, err), -1);
    ck_assert_str_eq(err, "m.json:1:22: $.vary.placement: placement cross-host needs 2 "
                          "bare-metal hosts (a client and a server host); testbed lab has 1 "
                          "bare-metal host (point 1)");
    matrix_destroy(&m);
    const char *t3 = "{\"hosts\":[\"h1\"]}";
    m = load_ok("m.json", t3);
    ck_assert_int_eq(matrix_check_host_count(m, 1, "lab", "m.json", t3, err), 0);
    ck_assert_int_eq(matrix_check_host_count(m, 0, "lab", "m.json", t3, err), -1);
    matrix_destroy(&m);
}
END_TEST

START_TEST(test_unknown_key_top_and_vary)
{
    expect_refusal("{\n"
                   "  \"name\": \"x\",\n"
                   "  \"colour\": \"red\"\n"
                   "}\n",
                   "m.json:3:13: $.colour: unknown key \"colour\"");
    expect_refusal("{\n"
                   "  \"vary\": {\n"
                   "    \"netwerk\": [\"host\"]\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:16: $.vary.netwerk: unknown key \"netwerk\"");
}
END_TEST

START_TEST(test_wrong_types)
{
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"traffic\": \"tcp_rr\",\n"
                   "    \"duration_s\": \"3\"\n"
                   "  }\n"
                   "}\n",
                   "m.json:4:19: $.fixed.duration_s: must be a number (got string)");
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"size\": 1.5\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:13: $.fixed.size: must be an integer (got number)");
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"network\": true\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:16: $.fixed.network: must be a string (got boolean)");
    expect_refusal("{\n"
                   "  \"name\": 7\n"
                   "}\n",
                   "m.json:2:11: $.name: must be a string (got number)");
    expect_refusal("{\n"
                   "  \"fixed\": null\n"
                   "}\n",
                   "m.json:2:12: $.fixed: must be an object (got null)");
    expect_refusal("{\n"
                   "  \"vary\": [\"host\"]\n"
                   "}\n",
                   "m.json:2:11: $.vary: must be an object (got array)");
    expect_refusal("{\n"
                   "  \"vary\": {\n"
                   "    \"network\": \"host\"\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:16: $.vary.network: must be an array (got string)");
    expect_refusal("{\n"
                   "  \"exclude\": {}\n"
                   "}\n",
                   "m.json:2:14: $.exclude: must be an array (got object)");
    expect_refusal("{\n"
                   "  \"exclude\": [\n"
                   "    \"host\"\n"
                   "  ]\n"
                   "}\n",
                   "m.json:3:5: $.exclude[0]: must be an object (got string)");
    expect_refusal("{\n"
                   "  \"repetitions\": 2.0\n"
                   "}\n",
                   "m.json:2:18: $.repetitions: must be an integer (got number)");
    expect_refusal("[\n"
                   "  1\n"
                   "]\n",
                   "m.json:1:1: $: must be an object (got array)");
}
END_TEST

START_TEST(test_vary_integer_params_take_integers_only)
{
    expect_refusal("{\n"
                   "  \"vary\": {\n"
                   "    \"size\": [64,\n"
                   "             1.5e3]\n"
                   "  }\n"
                   "}\n",
                   "m.json:4:14: $.vary.size[1]: must be an integer (got number)");
    expect_refusal("{\n"
                   "  \"vary\": {\n"
                   "    \"network\": [null]\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:17: $.vary.network[0]: must be a string (got null)");
}
END_TEST

START_TEST(test_out_of_range)
{
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"traffic\": \"tcp_rr\",\n"
                   "    \"duration_s\": -1\n"
                   "  }\n"
                   "}\n",
                   "m.json:4:19: $.fixed.duration_s: must be >= 0.1 and <= 86400 (got -1)");
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"duration_s\": 86400.5\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:19: $.fixed.duration_s: must be >= 0.1 and <= 86400 (got 86400.5)");
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"duration_s\": 0\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:19: $.fixed.duration_s: must be >= 0.1 and <= 86400 (got 0)");
    /* The traffic engine's parameters. */
    expect_refusal("{\"fixed\": {\"omit_s\": -0.5}}",
                   "m.json:1:22: $.fixed.omit_s: must be 0 or >= 0.001 and <= 3600 (got -0.5)");
    expect_refusal("{\"fixed\": {\"gso\": 1}}",
                   "m.json:1:19: $.fixed.gso: must be true or false (got number)");
    expect_refusal("{\"vary\": {\"burst\": [1, 65]}}",
                   "m.json:1:24: $.vary.burst[1]: must be between 1 and 64 (got 65)");
    expect_refusal("{\"fixed\": {\"engine\": \"netperf\"}}",
                   "m.json:1:22: $.fixed.engine: unknown engine \"netperf\" (one of builtin, "
                   "iperf3, sockperf)");
    expect_refusal("{\n"
                   "  \"repetitions\": 0\n"
                   "}\n",
                   "m.json:2:18: $.repetitions: must be between 1 and 1000 (got 0)");
    expect_refusal("{\n"
                   "  \"repetitions\": 1001\n"
                   "}\n",
                   "m.json:2:18: $.repetitions: must be between 1 and 1000 (got 1001)");
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"size\": 0\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:13: $.fixed.size: must be between 1 and 1048576 (got 0)");
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"size\": 1048577\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:13: $.fixed.size: must be between 1 and 1048576 (got 1048577)");
    expect_refusal("{\n"
                   "  \"vary\": {\n"
                   "    \"streams\": [1, 129]\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:20: $.vary.streams[1]: must be between 1 and 128 (got 129)");
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"streams\": 0\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:16: $.fixed.streams: must be between 1 and 128 (got 0)");
}
END_TEST

START_TEST(test_unknown_enum_values)
{
    expect_refusal("{\n"
                   "  \"vary\": {\n"
                   "    \"network\": [\"host\",\n"
                   "                \"brige\"]\n"
                   "  }\n"
                   "}\n",
                   "m.json:4:17: $.vary.network[1]: unknown network \"brige\" (one of none, host, "
                   "container, bridge, macvlan, ipvlan, nat, overlay, routing, noop)");
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"placement\": \"same\"\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:18: $.fixed.placement: unknown placement \"same\" (one of same-host, "
                   "cross-host)");
    expect_refusal("{\n"
                   "  \"fixed\": {\n"
                   "    \"nesting\": \"container\"\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:16: $.fixed.nesting: unknown nesting \"container\" (one of bare, vm)");
    expect_refusal("{\n"
                   "  \"vary\": {\n"
                   "    \"traffic\": [\"tcp_stream\", \"sctp\"]\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:31: $.vary.traffic[1]: unknown traffic \"sctp\" (one of tcp_stream, "
                   "udp_stream, tcp_rr, udp_rr, tcp_crr)");
}
END_TEST

START_TEST(test_structure_refusals)
{
    expect_refusal("{\n"
                   "  \"vary\": {\n"
                   "    \"network\": []\n"
                   "  }\n"
                   "}\n",
                   "m.json:3:16: $.vary.network: must not be empty");
    expect_refusal("{\n"
                   "  \"fixed\": { \"size\": 100 },\n"
                   "  \"vary\": {\n"
                   "    \"size\": [1, 2]\n"
                   "  }\n"
                   "}\n",
                   "m.json:4:13: $.vary.size: parameter is also fixed");
    expect_refusal("{\n"
                   "  \"vary\": { \"network\": [\"host\", \"bridge\"] },\n"
                   "  \"exclude\": [\n"
                   "    { \"colour\": \"red\" }\n"
                   "  ]\n"
                   "}\n",
                   "m.json:4:17: $.exclude[0].colour: unknown parameter \"colour\"");
    expect_refusal("{\n"
                   "  \"vary\": { \"network\": [\"host\", \"bridge\"] },\n"
                   "  \"exclude\": [\n"
                   "    { \"network\": \"brdge\" }\n"
                   "  ]\n"
                   "}\n",
                   "m.json:4:18: $.exclude[0].network: unknown network \"brdge\" (one of none, "
                   "host, container, bridge, macvlan, ipvlan, nat, overlay, routing, noop)");
    expect_refusal("{\n"
                   "  \"vary\": { \"network\": [\"host\"] },\n"
                   "  \"exclude\": [ { \"network\": \"host\" } ]\n"
                   "}\n",
                   "m.json:1:1: $: the matrix expands to no runs (every point is excluded)");
    expect_refusal("{\n"
                   "  \"exclude\": [ {} ]\n"
                   "}\n",
                   "m.json:1:1: $: the matrix expands to no runs (every point is excluded)");
    expect_refusal("{\n"
                   "  \"name\": \"bad name\"\n"
                   "}\n",
                   "m.json:2:11: $.name: must match [A-Za-z0-9_.-]{1,64}");
    expect_refusal("{\n"
                   "  \"name\": \"\"\n"
                   "}\n",
                   "m.json:2:11: $.name: must match [A-Za-z0-9_.-]{1,64}");
}
END_TEST

START_TEST(test_first_problem_in_document_order)
{
    /* Two problems: the one earlier in the file wins, whatever the section. */
    expect_refusal("{\n"
                   "  \"vary\": { \"streams\": [0] },\n"
                   "  \"fixed\": { \"size\": -5 }\n"
                   "}\n",
                   "m.json:2:25: $.vary.streams[0]: must be between 1 and 128 (got 0)");
    expect_refusal("{\n"
                   "  \"fixed\": { \"size\": -5 },\n"
                   "  \"vary\": { \"streams\": [0] }\n"
                   "}\n",
                   "m.json:2:22: $.fixed.size: must be between 1 and 1048576 (got -5)");
}
END_TEST

START_TEST(test_invalid_json_and_duplicates)
{
    expect_refusal("{\n"
                   "  \"repetitions\": 2,\n"
                   "  \"repetitions\": 3\n"
                   "}\n",
                   "m.json:3:15: $: invalid JSON: duplicate object key near '\"repetitions\"'");
    expect_refusal("{\n"
                   "  \"vary\": { \"network\": [\"host\", \"host\"], \"network\": [] }\n"
                   "}\n",
                   "m.json:2:50: $: invalid JSON: duplicate object key near '\"network\"'");
    expect_refusal("{\n"
                   "  \"repetitions\": 2,\n"
                   "}\n",
                   "m.json:3:1: $: invalid JSON: string or '}' expected near '}'");
    expect_refusal("", "m.json:1:1: $: invalid JSON: '[' or '{' expected near end of file");
    expect_refusal("\xEF\xBB\xBF{}", "m.json:1:1: $: the file starts with a UTF-8 byte order mark "
                                     "(EF BB BF), which JSON does not allow: save it without one");
    {
        static const char nul[] = "{\n  \"repetitions\": 2\n}\n\0";
        char err[FERR_MAX] = "";

        ck_assert_ptr_null(matrix_load_text("m.json", nul, sizeof nul - 1, err));
        ck_assert_str_eq(err, "m.json:4:1: $: a NUL byte in the text (offset 23): not a JSON text file");
    }
}
END_TEST

START_TEST(test_too_many_runs)
{
    /* 1000 sizes x 1001 repetitions would be over a million runs. */
    size_t cap = 16 * 1024;
    char *t = malloc(cap);
    ck_assert_ptr_nonnull(t);
    size_t n = (size_t)snprintf(t, cap, "{\"repetitions\": 1000, \"vary\": {\"size\": [1");
    for (int i = 2; i <= 1001; i++)
        n += (size_t)snprintf(t + n, cap - n, ",%d", i);
    snprintf(t + n, cap - n, "]}}");
    expect_refusal(t, "m.json:1:1: $: the matrix expands to more than 100000 runs (max_runs)");
    free(t);
    /* The default maximum is 100000; max_runs raises it up to 1000000. */
    expect_refusal("{\"vary\": {\"size\": {\"from\": 1, \"to\": 1001}}, \"repetitions\": 100}",
                   "m.json:1:1: $: the matrix expands to more than 100000 runs (max_runs)");
    char err[FERR_MAX];
    const char *ok = "{\"vary\": {\"size\": {\"from\": 1, \"to\": 1001}}, \"repetitions\": 100,"
                     " \"max_runs\": 200000}";
    matrix_t *m = matrix_load_text("m.json", ok, strlen(ok), err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_int_eq(matrix_run_count(m), 100100);
    ck_assert_int_eq(matrix_max_runs(m), 200000);
    matrix_destroy(&m);
    expect_refusal("{\n  \"max_runs\": 1000001\n}",
                   "m.json:2:15: $.max_runs: must be between 1 and 1000000 (got 1000001)");
    expect_refusal("{\"max_runs\": 2, \"vary\": {\"streams\": [1, 2, 3]}}",
                   "m.json:1:1: $: the matrix expands to more than 2 runs (max_runs)");
}
END_TEST

START_TEST(test_new_key_refusals)
{
    expect_refusal("{\n  \"vary\": {\"network\": [\"host\", \"bridge\"]},\n"
                   "  \"exclude\": [{\"network\": \"bridge\"}, {\"network\": \"nat\"}]\n}",
                   "m.json:3:38: $.exclude[1]: matches no point of the matrix");
    expect_refusal("{\n  \"vary\": {\"network\": [\"host\", \"bridge\"]},\n"
                   "  \"baseline\": {\"network\": \"nat\"}\n}",
                   "m.json:3:15: $.baseline: matches no point of the matrix");
    expect_refusal("{\n  \"baseline\": {\"colour\": 1}\n}",
                   "m.json:2:26: $.baseline.colour: unknown parameter \"colour\"");
    expect_refusal("{\n  \"include\": [{\"size\": 0}]\n}",
                   "m.json:2:24: $.include[0].size: must be between 1 and 1048576 (got 0)");
    expect_refusal("{\n  \"order\": \"shuffled\"\n}",
                   "m.json:2:12: $.order: unknown order \"shuffled\" (one of sequential, random)");
    expect_refusal("{\n  \"seed\": 7\n}", "m.json:2:11: $.seed: a seed needs \"order\": \"random\"");
    expect_refusal("{\n  \"order\": \"random\", \"seed\": -1\n}",
                   "m.json:2:30: $.seed: must be between 0 and 9007199254740991 (got -1)");
    expect_refusal("{\n  \"retries\": 11\n}", "m.json:2:14: $.retries: must be between 0 and 10 (got 11)");
    expect_refusal("{\n  \"pause_s\": -1\n}", "m.json:2:14: $.pause_s: must be 0 or >= 0.001 and <= 3600 (got -1)");
    expect_refusal("{\n  \"pause_s\": \"2\"\n}", "m.json:2:14: $.pause_s: must be a number (got string)");
    expect_refusal("{\n  \"timeouts\": {\"setup_s\": 0}\n}",
                   "m.json:2:27: $.timeouts.setup_s: must be >= 0.001 and <= 86400 (got 0)");
    expect_refusal("{\n  \"timeouts\": {\"boot_s\": 3}\n}",
                   "m.json:2:26: $.timeouts.boot_s: unknown key \"boot_s\"");
    expect_refusal("{\n  \"hosts\": []\n}", "m.json:2:12: $.hosts: must list 1 to 64 hosts");
    expect_refusal("{\n  \"hosts\": [\"h1\", \"h1\"]\n}", "m.json:2:19: $.hosts[1]: host listed twice");
    expect_refusal("{\n  \"hosts\": [\"h 1\"]\n}",
                   "m.json:2:13: $.hosts[0]: must match [A-Za-z0-9_.-]{1,31}");
    expect_refusal("{\n  \"testbed\": 3\n}", "m.json:2:14: $.testbed: must be a string (got number)");
}
END_TEST

START_TEST(test_range_refusals)
{
    expect_refusal("{\n  \"vary\": {\"size\": {\"from\": 100, \"to\": 50}}\n}",
                   "m.json:2:40: $.vary.size.to: must be >= from (100) (got 50)");
    expect_refusal("{\n  \"vary\": {\"size\": {\"from\": 100}}\n}",
                   "m.json:2:20: $.vary.size: a range needs \"to\"");
    expect_refusal("{\n  \"vary\": {\"size\": {\"from\": 1, \"to\": 9, \"step\": 0}}\n}",
                   "m.json:2:49: $.vary.size.step: must be between 1 and 1048576 (got 0)");
    expect_refusal("{\n  \"vary\": {\"size\": {\"from\": 0, \"to\": 9}}\n}",
                   "m.json:2:29: $.vary.size.from: must be between 1 and 1048576 (got 0)");
    expect_refusal("{\n  \"vary\": {\"size\": {\"from\": 1, \"to\": 9, \"by\": 2}}\n}",
                   "m.json:2:47: $.vary.size.by: unknown key \"by\"");
    expect_refusal("{\n  \"vary\": {\"network\": {\"from\": 1, \"to\": 9}}\n}",
                   "m.json:2:23: $.vary.network: must be an array (got object)");
    expect_refusal("{\n  \"vary\": {\"size\": \"64..128\"}\n}",
                   "m.json:2:20: $.vary.size: must be an array or a range {from, to, step} (got string)");
}
END_TEST

/* ---- expansion --------------------------------------------------------- */

static const char demo_text[] =
    "{\n"
    "  \"name\": \"demo\",\n"
    "  \"fixed\": { \"traffic\": \"tcp_stream\", \"size\": 16384, \"streams\": 1,\n"
    "             \"duration_s\": 3, \"nesting\": \"bare\" },\n"
    "  \"vary\": { \"network\": [\"host\", \"bridge\"],\n"
    "            \"placement\": [\"same-host\", \"cross-host\"] },\n"
    "  \"exclude\": [ { \"network\": \"bridge\", \"placement\": \"cross-host\" } ],\n"
    "  \"repetitions\": 3\n"
    "}\n";

START_TEST(test_expansion_count_and_order)
{
    matrix_t *m = load_ok("m.json", demo_text);
    ck_assert_str_eq(matrix_name(m), "demo");
    ck_assert_int_eq(matrix_run_count(m), 9);
    const char *pts[3] = {
        "{\"network\":\"host\",\"placement\":\"same-host\",\"nesting\":\"bare\","
        "\"traffic\":\"tcp_stream\",\"size\":16384,\"streams\":1,\"duration_s\":3"
        ",\"macvlan_mode\":\"bridge\",\"ipvlan_mode\":\"l2\",\"pairs\":1,\"cpu_pinning\":false,\"mtu\":0}",
        "{\"network\":\"host\",\"placement\":\"cross-host\",\"nesting\":\"bare\","
        "\"traffic\":\"tcp_stream\",\"size\":16384,\"streams\":1,\"duration_s\":3"
        ",\"macvlan_mode\":\"bridge\",\"ipvlan_mode\":\"l2\",\"pairs\":1,\"cpu_pinning\":false,\"mtu\":0}",
        "{\"network\":\"bridge\",\"placement\":\"same-host\",\"nesting\":\"bare\","
        "\"traffic\":\"tcp_stream\",\"size\":16384,\"streams\":1,\"duration_s\":3"
        ",\"macvlan_mode\":\"bridge\",\"ipvlan_mode\":\"l2\",\"pairs\":1,\"cpu_pinning\":false,\"mtu\":0}",
    };
    for (int i = 0; i < 9; i++) {
        expect_params(m, i, pts[i % 3]);
        ck_assert_int_eq(matrix_run_repetition(m, i), i / 3 + 1);
        ck_assert_int_eq(matrix_run_point(m, i), i % 3);
    }
    ck_assert_ptr_null(matrix_run_params(m, 9));
    ck_assert_ptr_null(matrix_run_params(m, -1));
    ck_assert_ptr_nonnull(json_object_get(matrix_document(m), "exclude"));
    matrix_destroy(&m);
    ck_assert_ptr_null(m);
    matrix_destroy(&m); /* accepts NULL */
}
END_TEST

START_TEST(test_defaults_and_default_name)
{
    matrix_t *m = load_ok("some/dir/nightly.json", "{}");
    ck_assert_str_eq(matrix_name(m), "nightly");
    ck_assert_int_eq(matrix_run_count(m), 1);
    ck_assert_int_eq(matrix_run_repetition(m, 0), 1);
    expect_params(m, 0,
                  "{\"network\":\"host\",\"placement\":\"same-host\",\"nesting\":\"bare\","
                  "\"traffic\":\"tcp_stream\",\"size\":1448,\"streams\":1,\"duration_s\":10"
                  ",\"macvlan_mode\":\"bridge\",\"ipvlan_mode\":\"l2\",\"pairs\":1,\"cpu_pinning\":false,\"mtu\":0}");
    matrix_destroy(&m);
    m = load_ok("plain", "{\"fixed\": {\"duration_s\": 0.5}}");
    ck_assert_str_eq(matrix_name(m), "plain");
    expect_params(m, 0,
                  "{\"network\":\"host\",\"placement\":\"same-host\",\"nesting\":\"bare\","
                  "\"traffic\":\"tcp_stream\",\"size\":1448,\"streams\":1,\"duration_s\":0.5,\"macvlan_mode\":\"bridge\",\"ipvlan_mode\":\"l2\",\"pairs\":1,\"cpu_pinning\":false,\"mtu\":0}");
    matrix_destroy(&m);
}
END_TEST

START_TEST(test_first_vary_key_slowest)
{
    matrix_t *m = load_ok("m.json", "{\"vary\": {\"size\": [64, 1448],\n"
                                    "          \"network\": [\"host\", \"bridge\", \"macvlan\"],\n"
                                    "          \"duration_s\": [1, 2.5]}}");
    ck_assert_int_eq(matrix_run_count(m), 12);
    int want_size[] = { 64, 64, 64, 64, 64, 64, 1448, 1448, 1448, 1448, 1448, 1448 };
    const char *want_net[] = { "host", "host", "bridge", "bridge", "macvlan", "macvlan" };
    double want_dur[] = { 1, 2.5 };
    for (int i = 0; i < 12; i++) {
        const json_t *p = matrix_run_params(m, i);
        ck_assert_int_eq(json_integer_value(json_object_get(p, "size")), want_size[i]);
        ck_assert_str_eq(json_string_value(json_object_get(p, "network")), want_net[i % 6]);
        ck_assert(json_number_value(json_object_get(p, "duration_s")) == want_dur[i % 2]);
        ck_assert_int_eq(matrix_run_point(m, i), i);
    }
    matrix_destroy(&m);
}
END_TEST

START_TEST(test_exclusions)
{
    /* Numbers match across integer and real; an entry naming a fixed value applies. */
    matrix_t *m = load_ok("m.json", "{\"fixed\": {\"traffic\": \"udp_stream\"},\n"
                                    " \"vary\": {\"size\": [64, 1448], \"duration_s\": [1, 2]},\n"
                                    " \"exclude\": [{\"duration_s\": 2.0, \"size\": 64},\n"
                                    "             {\"traffic\": \"udp_stream\", \"size\": 1448, "
                                    "\"duration_s\": 1}],\n"
                                    " \"repetitions\": 2}");
    ck_assert_int_eq(matrix_run_count(m), 4);
    for (int i = 0; i < 4; i++) {
        const json_t *p = matrix_run_params(m, i);
        long long size = json_integer_value(json_object_get(p, "size"));
        double dur = json_number_value(json_object_get(p, "duration_s"));
        ck_assert(i % 2 == 0 ? (size == 64 && dur == 1) : (size == 1448 && dur == 2));
        ck_assert_str_eq(json_string_value(json_object_get(p, "traffic")), "udp_stream");
        ck_assert_int_eq(matrix_run_repetition(m, i), i / 2 + 1);
    }
    matrix_destroy(&m);
    /* An exclusion of the fixed value excludes everything. */
    expect_refusal("{\n"
                   "  \"fixed\": {\"nesting\": \"vm\"},\n"
                   "  \"vary\": {\"network\": [\"host\", \"nat\"]},\n"
                   "  \"exclude\": [{\"nesting\": \"vm\"}]\n"
                   "}\n",
                   "m.json:1:1: $: the matrix expands to no runs (every point is excluded)");
}
END_TEST

START_TEST(test_ranges)
{
    matrix_t *m = load_ok("m.json", "{\"vary\": {\"size\": {\"from\": 64, \"to\": 300, \"step\": 64},"
                                    " \"streams\": {\"from\": 1, \"to\": 2}}}");
    ck_assert_int_eq(matrix_run_count(m), 8);
    int want_size[] = { 64, 64, 128, 128, 192, 192, 256, 256 };
    for (int i = 0; i < 8; i++) {
        const json_t *p = matrix_run_params(m, i);
        ck_assert_int_eq(json_integer_value(json_object_get(p, "size")), want_size[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(p, "streams")), i % 2 + 1);
    }
    matrix_destroy(&m);
    /* A range with from == to is one value; the step may overshoot. */
    m = load_ok("m.json", "{\"vary\": {\"size\": {\"from\": 1472, \"to\": 1472, \"step\": 1000}}}");
    ck_assert_int_eq(matrix_run_count(m), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(matrix_run_params(m, 0), "size")), 1472);
    matrix_destroy(&m);
}
END_TEST

START_TEST(test_includes_and_baseline)
{
    /* 2 x 2 product minus 1 excluded, plus 2 includes of which one duplicates a point. */
    matrix_t *m = load_ok("m.json",
                          "{\"fixed\": {\"size\": 1000},\n"
                          " \"vary\": {\"network\": [\"host\", \"macvlan\"],"
                          " \"placement\": [\"same-host\", \"cross-host\"]},\n"
                          " \"exclude\": [{\"network\": \"macvlan\", \"placement\": \"cross-host\"}],\n"
                          " \"include\": [{\"network\": \"nat\", \"placement\": \"cross-host\", \"size\": 64},\n"
                          "             {\"network\": \"host\"},\n"
                          "             {\"network\": \"macvlan\", \"placement\": \"cross-host\"}],\n"
                          " \"baseline\": {\"network\": \"host\"}, \"repetitions\": 2}");
    /* host/same, host/cross, macvlan/same, nat/cross/64, macvlan/cross (include beats exclude). */
    ck_assert_int_eq(matrix_run_count(m), 10);
    expect_params(m, 3,
                  "{\"network\":\"nat\",\"placement\":\"cross-host\",\"nesting\":\"bare\","
                  "\"traffic\":\"tcp_stream\",\"size\":64,\"streams\":1,\"duration_s\":10}");
    expect_params(m, 4,
                  "{\"network\":\"macvlan\",\"placement\":\"cross-host\",\"nesting\":\"bare\","
                  "\"traffic\":\"tcp_stream\",\"size\":1000,\"streams\":1,\"duration_s\":10}");
    ck_assert_int_eq(matrix_run_point(m, 8), 3);
    ck_assert_int_eq(matrix_run_repetition(m, 8), 2);
    ck_assert(matrix_run_is_baseline(m, 0));
    ck_assert(matrix_run_is_baseline(m, 1));
    ck_assert(!matrix_run_is_baseline(m, 2));
    ck_assert_str_eq(json_string_value(json_object_get(matrix_baseline(m), "network")), "host");
    matrix_destroy(&m);
}
END_TEST

/* Issue 22: include entries without vary lists added a run of the defaults
 * (network host, same-host) nobody asked for; an empty vary with nothing
 * fixed ran the defaults.  Now include alone names the points, and an empty
 * vary with nothing fixed or included is refused. */
START_TEST(test_include_only_and_empty_vary)
{
    static const char *const texts[] = {
        "{\"include\": [{\"network\": \"bridge\"}, {\"network\": \"nat\", \"placement\": "
        "\"cross-host\"}]}",
        "{\"vary\": {}, \"fixed\": {\"size\": 64}, \"include\": [{\"network\": \"bridge\"},"
        " {\"network\": \"nat\", \"placement\": \"cross-host\"}]}",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        matrix_t *m = load_ok("m.json", texts[t]);
        ck_assert_int_eq(matrix_run_count(m), 2);
        expect_params(m, 0, "{\"network\":\"bridge\",\"placement\":\"same-host\"}");
        expect_params(m, 1, "{\"network\":\"nat\",\"placement\":\"cross-host\"}");
        ck_assert_int_eq(matrix_run_point(m, 1), 1);
        if (t == 1)
            ck_assert_int_eq(json_integer_value(json_object_get(matrix_run_params(m, 1), "size")),
                             64);
        matrix_destroy(&m);
    }
    /* An exclude entry has no product point left to match. */
    expect_refusal("{\"include\": [{\"network\": \"bridge\"}], \"exclude\": [{}]}",
                   "m.json:1:50: $.exclude[0]: matches no point of the matrix");
    expect_refusal("{\"name\": \"x\", \"vary\": {}}",
                   "m.json:1:23: $.vary: varies nothing, and nothing is fixed or included: the "
                   "matrix names no point (leave \"vary\" out for one run of the defaults)");
    /* A fixed point, or no vary at all, is one run as before. */
    matrix_t *m = load_ok("m.json", "{\"vary\": {}, \"fixed\": {\"network\": \"bridge\"}}");
    ck_assert_int_eq(matrix_run_count(m), 1);
    expect_params(m, 0, "{\"network\":\"bridge\"}");
    matrix_destroy(&m);
    m = load_ok("m.json", "{\"repetitions\": 2}");
    ck_assert_int_eq(matrix_run_count(m), 2);
    matrix_destroy(&m);
}
END_TEST

/* The parameters that tell runs apart: from vary and from include entries. */
START_TEST(test_varied)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "{\"vary\": {\"size\": [64, 128], \"network\": [\"host\", \"bridge\"]}}",
          "[\"network\",\"size\"]" },
        { "{\"vary\": {\"size\": [64, 128]}, \"include\": [{\"network\": \"nat\", \"placement\":"
          " \"cross-host\"}]}", "[\"network\",\"placement\",\"size\"]" },
        { "{\"include\": [{\"network\": \"bridge\"}, {\"network\": \"host\", \"placement\":"
          " \"cross-host\"}]}", "[\"network\",\"placement\"]" },
        /* A listed value equal to the fixed one varies nothing; numbers by value. */
        { "{\"fixed\": {\"duration_s\": 3}, \"include\": [{\"duration_s\": 3.0}]}", "[]" },
        { "{\"fixed\": {\"size\": 64}, \"repetitions\": 3}", "[]" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        matrix_t *m = load_ok("m.json", cases[i].text);
        json_t *v = matrix_varied(m);
        char *got = json_dumps(v, JSON_COMPACT);
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "%s: got %s, want %s", cases[i].text, got,
                      cases[i].want);
        free(got);
        json_decref(v);
        matrix_destroy(&m);
    }
    ck_assert_int_eq(matrix_param_rank("network", "none"), 0);
    ck_assert_int_eq(matrix_param_rank("network", "host"), 1);
    ck_assert_int_eq(matrix_param_rank("network", "routing"), 8);
    ck_assert_int_eq(matrix_param_rank("placement", "cross-host"), 1);
    ck_assert_int_eq(matrix_param_rank("traffic", "tcp_crr"), 4);
    ck_assert_int_eq(matrix_param_rank("network", "Host"), -1);
    ck_assert_int_eq(matrix_param_rank("size", "64"), -1);
    ck_assert_int_eq(matrix_param_rank("colour", "red"), -1);
}
END_TEST

START_TEST(test_other_keys)
{
    matrix_t *m = load_ok("m.json", "{\"testbed\": \"lab\", \"hosts\": [\"h3\", \"h4\"], \"retries\": 2,"
                                    " \"pause_s\": 1.5, \"timeouts\": {\"setup_s\": 5, \"collect_s\": 0.25}}");
    ck_assert_str_eq(matrix_testbed(m), "lab");
    ck_assert_int_eq((int)json_array_size(matrix_hosts(m)), 2);
    ck_assert_int_eq(matrix_retries(m), 2);
    ck_assert(matrix_pause_s(m) == 1.5);
    ck_assert_int_eq(matrix_timeout_ms(m, MATRIX_SETUP, 30000), 5000);
    ck_assert_int_eq(matrix_timeout_ms(m, MATRIX_COLLECT, 30000), 250);
    ck_assert_int_eq(matrix_timeout_ms(m, MATRIX_LEASE, 30000), 30000);
    ck_assert_int_eq(matrix_timeout_ms(m, MATRIX_TEARDOWN, 7), 7);
    ck_assert(!matrix_order_random(m, NULL));
    matrix_destroy(&m);
    m = load_ok("m.json", "{}");
    ck_assert_ptr_null(matrix_testbed(m));
    ck_assert_ptr_null(matrix_hosts(m));
    ck_assert_ptr_null(matrix_baseline(m));
    ck_assert_int_eq(matrix_retries(m), 0);
    ck_assert(matrix_pause_s(m) == 0);
    ck_assert_int_eq(matrix_max_runs(m), 100000);
    matrix_destroy(&m);
}
END_TEST

/* The execution order of a random matrix as "rep:point" list. */
static void
order_of(const char *text, char *out, size_t len)
{
    matrix_t *m = load_ok("m.json", text);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < matrix_run_count(m); i++)
        used += (size_t)snprintf(out + used, len - used, "%s%d", i ? "," : "",
                                 matrix_run_point(m, i));
    matrix_destroy(&m);
}

START_TEST(test_random_order)
{
    const char *a = "{\"vary\": {\"size\": {\"from\": 1, \"to\": 8}}, \"repetitions\": 3,"
                    " \"order\": \"random\", \"seed\": 42}";
    const char *b = "{\"vary\": {\"size\": {\"from\": 1, \"to\": 8}}, \"repetitions\": 3,"
                    " \"order\": \"random\", \"seed\": 43}";
    char o1[256], o2[256], o3[256];
    order_of(a, o1, sizeof o1);
    order_of(a, o2, sizeof o2);
    order_of(b, o3, sizeof o3);
    ck_assert_str_eq(o1, o2);                 /* same seed, same order */
    ck_assert_str_ne(o1, o3);                 /* another seed, another order */
    /* The order for seed 42 is fixed for ever (splitmix64 + xoshiro256** + Fisher-Yates):
     * a change here changes every stored nightly order. */
    ck_assert_str_eq(o1, ORDER_SEED_42);
    /* Each repetition is a permutation of the 8 points, and the parameters follow the point. */
    matrix_t *m = load_ok("m.json", a);
    for (int r = 0; r < 3; r++) {
        int seen = 0;
        for (int i = r * 8; i < r * 8 + 8; i++) {
            ck_assert_int_eq(matrix_run_repetition(m, i), r + 1);
            seen |= 1 << matrix_run_point(m, i);
            ck_assert_int_eq(json_integer_value(json_object_get(matrix_run_params(m, i), "size")),
                             matrix_run_point(m, i) + 1);
        }
        ck_assert_int_eq(seen, 0xff);
    }
    uint64_t seed = 0;
    ck_assert(matrix_order_random(m, &seed));
    ck_assert_uint_eq(seed, 42);
    matrix_destroy(&m);
    /* Without a seed, random uses seed 1. */
    order_of("{\"vary\": {\"size\": {\"from\": 1, \"to\": 8}}, \"repetitions\": 3, \"order\": \"random\"}",
             o2, sizeof o2);
    order_of("{\"vary\": {\"size\": {\"from\": 1, \"to\": 8}}, \"repetitions\": 3, \"order\": \"random\","
             " \"seed\": 1}", o3, sizeof o3);
    ck_assert_str_eq(o2, o3);
}
END_TEST

/* The seed of a queue entry's batch k (issue 22): k = 0 keeps the matrix's seed; later
 * ones are fixed for ever like ORDER_SEED_42 (a change here changes which order every
 * stored night ran: batch.seed keeps them, but replays must agree). */
START_TEST(test_batch_seeds)
{
    const char *a = "{\"vary\": {\"size\": {\"from\": 1, \"to\": 8}}, \"repetitions\": 3,"
                    " \"order\": \"random\", \"seed\": 42}";
    char o1[256], o2[256], text[256];
    ck_assert_uint_eq(matrix_batch_seed(42, 0), 42);
    ck_assert_uint_eq(matrix_batch_seed(42, 1), BATCH_SEED_42_1);
    ck_assert_uint_eq(matrix_batch_seed(42, 2), BATCH_SEED_42_2);
    ck_assert_uint_eq(matrix_batch_seed(MATRIX_SEED_MAX, 1000000), BATCH_SEED_MAX_1000000);
    for (int k = 1; k < 1000; k++) {
        uint64_t s = matrix_batch_seed(42, k);
        ck_assert(s <= MATRIX_SEED_MAX);
        ck_assert_uint_ne(s, matrix_batch_seed(42, k - 1));
    }
    /* matrix_set_seed orders as the file with that seed would. */
    matrix_t *m = load_ok("m.json", a);
    ck_assert_int_eq(matrix_set_seed(m, BATCH_SEED_42_1), 0);
    o1[0] = '\0';
    for (int i = 0; i < matrix_run_count(m); i++)
        snprintf(o1 + strlen(o1), sizeof o1 - strlen(o1), "%s%d", i ? "," : "",
                 matrix_run_point(m, i));
    uint64_t seed = 0;
    ck_assert(matrix_order_random(m, &seed));
    ck_assert_uint_eq(seed, BATCH_SEED_42_1);
    ck_assert_int_eq(matrix_set_seed(m, MATRIX_SEED_MAX + 1), -1);
    matrix_destroy(&m);
    snprintf(text, sizeof text, "{\"vary\": {\"size\": {\"from\": 1, \"to\": 8}}, \"repetitions\":"
             " 3, \"order\": \"random\", \"seed\": %llu}", (unsigned long long)BATCH_SEED_42_1);
    order_of(text, o2, sizeof o2);
    ck_assert_str_eq(o1, o2);
    ck_assert_str_ne(o1, ORDER_SEED_42);
    /* A sequential matrix keeps its order. */
    m = load_ok("m.json", "{\"vary\": {\"size\": [1, 2, 3]}}");
    ck_assert_int_eq(matrix_set_seed(m, 5), 0);
    ck_assert_int_eq(matrix_run_point(m, 0), 0);
    ck_assert_int_eq(matrix_run_point(m, 2), 2);
    ck_assert(!matrix_order_random(m, NULL));
    matrix_destroy(&m);
}
END_TEST

START_TEST(test_nightly_matrix_file)
{
    char err[FERR_MAX];
    matrix_t *m = matrix_load_file(CNTB_SOURCE_DIR "/testbed/matrices/nightly.json", err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_str_eq(matrix_name(m), "nightly");
    ck_assert_int_eq(matrix_run_count(m), NIGHTLY_RUNS);
    ck_assert(matrix_order_random(m, NULL));
    ck_assert_str_eq(json_string_value(json_object_get(matrix_baseline(m), "network")), "host");
    matrix_destroy(&m);
}
END_TEST

/* ---- files ------------------------------------------------------------- */

START_TEST(test_load_file)
{
    char dir[] = "/tmp/test_matrix.XXXXXX", path[128], err[FERR_MAX], want[FERR_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));

    snprintf(path, sizeof path, "%s/absent.json", dir);
    ck_assert_ptr_null(matrix_load_file(path, err));
    snprintf(want, sizeof want, "%s: cannot read: %s", path, strerror(ENOENT));
    ck_assert_str_eq(err, want);

    snprintf(path, sizeof path, "%s/night-1.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\n  \"fixed\": {\n    \"size\": \"big\"\n  }\n}\n", f);
    fclose(f);
    ck_assert_ptr_null(matrix_load_file(path, err));
    snprintf(want, sizeof want, "%s:3:13: $.fixed.size: must be an integer (got string)", path);
    ck_assert_str_eq(err, want);

    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"vary\": {\"streams\": [1, 2, 4]}}\n", f);
    fclose(f);
    matrix_t *m = matrix_load_file(path, err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_str_eq(matrix_name(m), "night-1");
    ck_assert_int_eq(matrix_run_count(m), 3);
    matrix_destroy(&m);

    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_demo_matrix_file)
{
    char err[FERR_MAX];
    matrix_t *m = matrix_load_file(CNTB_SOURCE_DIR "/testbed/matrices/demo.json", err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_str_eq(matrix_name(m), "demo");
    /* host, macvlan x {same-host, cross-host}; bridge, container same-host;
     * nat, overlay, routing cross-host: 9 points x 3 repetitions */
    ck_assert_int_eq(matrix_run_count(m), 27);
    const json_t *p = matrix_run_params(m, 2);
    ck_assert_str_eq(json_string_value(json_object_get(p, "network")), "bridge");
    ck_assert_str_eq(json_string_value(json_object_get(p, "placement")), "same-host");
    p = matrix_run_params(m, 8);
    ck_assert_str_eq(json_string_value(json_object_get(p, "network")), "routing");
    ck_assert_str_eq(json_string_value(json_object_get(p, "placement")), "cross-host");
    matrix_destroy(&m);
}
END_TEST

START_TEST(test_inter_host_matrix_file)
{
    char err[FERR_MAX];
    matrix_t *m = matrix_load_file(CNTB_SOURCE_DIR "/testbed/matrices/inter-host.json", err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_int_eq(matrix_run_count(m), 30); /* 5 networks x 2 traffics x 3 repetitions */
    const json_t *p = matrix_run_params(m, 8);
    ck_assert_str_eq(json_string_value(json_object_get(p, "network")), "macvlan");
    ck_assert_str_eq(json_string_value(json_object_get(p, "traffic")), "udp_stream");
    ck_assert_str_eq(json_string_value(json_object_get(p, "placement")), "cross-host");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "size")), 1448);
    /* overlay's UDP at the largest size its 1450-byte MTU carries whole (the
     * product's 1448 would fragment: refused at validation) */
    p = matrix_run_params(m, 9);
    ck_assert_str_eq(json_string_value(json_object_get(p, "network")), "overlay");
    ck_assert_str_eq(json_string_value(json_object_get(p, "traffic")), "udp_stream");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "size")), 1422);
    matrix_destroy(&m);
}
END_TEST

/* An MTU is 0 or at least IPv4's 68 bytes (RFC 791): 1..67 is refused at load. */
START_TEST(test_mtu_below_ipv4_minimum)
{
    expect_refusal("{\"fixed\": {\"network\": \"bridge\", \"mtu\": 67}}",
                   "m.json:1:40: $.fixed.mtu: must be 0 (the network's default) or between 68 "
                   "and 65535 (got 67)");
    char err[FERR_MAX] = "";
    const char *ok = "{\"fixed\": {\"mtu\": 68}}";
    matrix_t *m = matrix_load_text("m.json", ok, strlen(ok), err);
    ck_assert_msg(m != NULL, "%s", err);
    matrix_destroy(&m);
}
END_TEST

/* A name taken from the file name is made to match [A-Za-z0-9_.-]{1,64}. */
START_TEST(test_default_name_made_safe)
{
    char err[FERR_MAX] = "";
    matrix_t *m = matrix_load_text("/tmp/we ird;$(id)\x1b[31m.json", "{}", 2, err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_str_eq(matrix_name(m), "we_ird___id___31m");
    matrix_destroy(&m);
    m = matrix_load_text("/tmp/x/", "{}", 2, err); /* no base name at all */
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_str_eq(matrix_name(m), "matrix");
    matrix_destroy(&m);
}
END_TEST

/* Seconds below what the engine, the agent or the controller can honour are refused with the
 * minimum and where it comes from; -0 is stored as 0 (docs/matrix.md, Parameters). */
START_TEST(test_seconds_minimums)
{
    expect_refusal("{\"fixed\": {\"interval_s\": 0.001}}",
                   "m.json:1:26: $.fixed.interval_s: must be >= 0.01 and <= 3600 (got 0.001): "
                   "below the traffic engine's shortest sample interval (cntb-traffic --interval)");
    expect_refusal("{\"fixed\": {\"duration_s\": 1e-300}}",
                   "m.json:1:26: $.fixed.duration_s: must be >= 0.1 and <= 86400 (got 1e-300): "
                   "below the shortest run, 10 samples at the engine's shortest interval");
    expect_refusal("{\"vary\": {\"duration_s\": [1, 0.09]}}",
                   "m.json:1:29: $.vary.duration_s[1]: must be >= 0.1 and <= 86400 (got 0.09): "
                   "below the shortest run, 10 samples at the engine's shortest interval");
    expect_refusal("{\"fixed\": {\"omit_s\": 0.0004}}",
                   "m.json:1:22: $.fixed.omit_s: must be 0 or >= 0.001 and <= 3600 (got 0.0004): "
                   "below the millisecond resolution the agent passes to the engine");
    expect_refusal("{\"timeouts\": {\"setup_s\": 1e-9}}",
                   "m.json:1:26: $.timeouts.setup_s: must be >= 0.001 and <= 86400 (got 1e-09): "
                   "below the controller's millisecond timers");
    expect_refusal("{\"pause_s\": 0.0001}",
                   "m.json:1:13: $.pause_s: must be 0 or >= 0.001 and <= 3600 (got 0.0001): "
                   "below the controller's millisecond timers");
    expect_refusal("{\"include\": [{\"interval_s\": 0}]}",
                   "m.json:1:29: $.include[0].interval_s: must be >= 0.01 and <= 3600 (got 0)");

    /* The minimums themselves are accepted; -0 becomes 0 in fixed and vary. */
    matrix_t *m = load_ok("m.json", "{\"fixed\": {\"duration_s\": 0.1, \"interval_s\": 0.01},"
                                    " \"pause_s\": -0.0, \"timeouts\": {\"setup_s\": 0.001}}");
    ck_assert_double_eq(json_real_value(json_object_get(matrix_run_params(m, 0), "duration_s")),
                        0.1);
    ck_assert_double_eq(json_real_value(json_object_get(matrix_run_params(m, 0), "interval_s")),
                        0.01);
    matrix_destroy(&m);
    m = load_ok("m.json", "{\"fixed\": {\"omit_s\": -0.0}}");
    char *s = json_dumps(json_object_get(matrix_run_params(m, 0), "omit_s"), JSON_ENCODE_ANY);
    ck_assert_str_eq(s, "0");
    free(s);
    matrix_destroy(&m);
    m = load_ok("m.json", "{\"vary\": {\"omit_s\": [-0.0, 1]}}");
    s = json_dumps(json_object_get(matrix_run_params(m, 0), "omit_s"), JSON_ENCODE_ANY);
    ck_assert_str_eq(s, "0");
    free(s);
    ck_assert_int_eq(matrix_run_count(m), 2);
    matrix_destroy(&m);
}
END_TEST

/* A value twice in one vary list would make the same point twice: refused at the second. */
START_TEST(test_vary_duplicates)
{
    expect_refusal("{\n  \"vary\": {\"size\": [64, 64]}\n}",
                   "m.json:2:25: $.vary.size[1]: duplicate value 64 (already at [0])");
    expect_refusal("{\"vary\": {\"network\": [\"host\", \"bridge\", \"host\"]}}",
                   "m.json:1:41: $.vary.network[2]: duplicate value \"host\" (already at [0])");
    /* Numbers compare by value: 3 and 3.0 are one duration, 0 and -0 one warm-up. */
    expect_refusal("{\"vary\": {\"duration_s\": [2, 3, 3.0]}}",
                   "m.json:1:32: $.vary.duration_s[2]: duplicate value 3.0 (already at [1])");
    expect_refusal("{\"vary\": {\"omit_s\": [0, -0.0]}}",
                   "m.json:1:25: $.vary.omit_s[1]: duplicate value -0.0 (already at [0])");
    expect_refusal("{\"vary\": {\"gso\": [false, true, false]}}",
                   "m.json:1:32: $.vary.gso[2]: duplicate value false (already at [0])");
    /* A range never repeats; distinct values pass. */
    matrix_t *m = load_ok("m.json", "{\"vary\": {\"size\": {\"from\": 64, \"to\": 128, \"step\": 64},"
                                    " \"duration_s\": [1, 1.5]}}");
    ck_assert_int_eq(matrix_run_count(m), 4);
    matrix_destroy(&m);
}
END_TEST

/* docs/matrix.md, Expansion 2: number parameters match by value in exclude; integer
 * parameters take integers only, there as anywhere, so 64.0 is refused, not matched. */
START_TEST(test_exclude_number_matching)
{
    matrix_t *m = load_ok("m.json", "{\"vary\": {\"duration_s\": [3, 4]},"
                                    " \"exclude\": [{\"duration_s\": 3.0}]}");
    ck_assert_int_eq(matrix_run_count(m), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(matrix_run_params(m, 0), "duration_s")),
                     4);
    matrix_destroy(&m);
    m = load_ok("m.json", "{\"vary\": {\"duration_s\": [2.0, 5]}, \"exclude\": [{\"duration_s\": 2}]}");
    ck_assert_int_eq(matrix_run_count(m), 1);
    matrix_destroy(&m);
    expect_refusal("{\"vary\": {\"size\": [64, 128]}, \"exclude\": [{\"size\": 64.0}]}",
                   "m.json:1:52: $.exclude[0].size: must be an integer (got number)");
}
END_TEST

static Suite *
matrix_suite(void)
{
    Suite *s = suite_create("matrix");
    TCase *tc = tcase_create("refusals");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_network_params);
    tcase_add_test(tc, test_unknown_key_fixed);
    tcase_add_test(tc, test_engine_combinations_refused);
    tcase_add_test(tc, test_network_placement_refused);
    tcase_add_test(tc, test_udp_size_refused);
    tcase_add_test(tc, test_host_count);
    tcase_add_test(tc, test_unknown_key_top_and_vary);
    tcase_add_test(tc, test_wrong_types);
    tcase_add_test(tc, test_vary_integer_params_take_integers_only);
    tcase_add_test(tc, test_out_of_range);
    tcase_add_test(tc, test_unknown_enum_values);
    tcase_add_test(tc, test_structure_refusals);
    tcase_add_test(tc, test_first_problem_in_document_order);
    tcase_add_test(tc, test_invalid_json_and_duplicates);
    tcase_add_test(tc, test_too_many_runs);
    tcase_add_test(tc, test_new_key_refusals);
    tcase_add_test(tc, test_range_refusals);
    tcase_add_test(tc, test_mtu_below_ipv4_minimum);
    tcase_add_test(tc, test_seconds_minimums);
    tcase_add_test(tc, test_vary_duplicates);
    suite_add_tcase(s, tc);
    tc = tcase_create("expansion");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_expansion_count_and_order);
    tcase_add_test(tc, test_defaults_and_default_name);
    tcase_add_test(tc, test_default_name_made_safe);
    tcase_add_test(tc, test_first_vary_key_slowest);
    tcase_add_test(tc, test_exclusions);
    tcase_add_test(tc, test_exclude_number_matching);
    tcase_add_test(tc, test_ranges);
    tcase_add_test(tc, test_includes_and_baseline);
    tcase_add_test(tc, test_other_keys);
    tcase_add_test(tc, test_random_order);
    tcase_add_test(tc, test_batch_seeds);
    tcase_add_test(tc, test_include_only_and_empty_vary);
    tcase_add_test(tc, test_varied);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_demo_matrix_file);
    tcase_add_test(tc, test_nightly_matrix_file);
    tcase_add_test(tc, test_inter_host_matrix_file);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(matrix_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
