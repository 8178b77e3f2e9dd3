/*
 * test_cntbtraffic.c — Check suite for the traffic engine's pure logic
 * (node-agent/traffic/, library cntbtraffic): histogram percentiles against
 * known distributions, loss / reordering / duplicate counting, the
 * consistency check of CASES.md case 8, the MTU limit of case 1, tool_bound
 * (case 3), the validity gate (case 9), /proc/stat parsing, and the iperf3 /
 * sockperf converters.
 */
#include "traffic.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Exact nearest-rank percentile of sorted v[n]. */
static double
exact_pct(const uint64_t *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return (double)v[rank - 1];
}

/* Records v[n] and checks p50..p99.9 within 1 % and the exact mean. */
static void
check_distribution(uint64_t *v, size_t n, const char *what)
{
    static const double ps[] = { 1, 10, 50, 90, 99, 99.9, 100 };
    traffic_hist_t *h = traffic_hist_new();
    double sum = 0;

    ck_assert_ptr_nonnull(h);
    for (size_t i = 0; i < n; i++) {
        traffic_hist_record(h, v[i]);
        sum += (double)v[i];
    }
    qsort(v, n, sizeof *v, cmp_u64);
    ck_assert_uint_eq(traffic_hist_count(h), n);
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double want = exact_pct(v, n, ps[i]), got = traffic_hist_percentile(h, ps[i]);
        ck_assert_msg(fabs(got - want) <= 0.01 * want, "%s p%g: got %.1f want %.1f", what, ps[i],
                      got, want);
    }
    ck_assert_msg(fabs(traffic_hist_mean(h) - sum / (double)n) < 1e-6 * sum / (double)n,
                  "%s mean", what);
    traffic_hist_destroy(&h);
    ck_assert_ptr_null(h);
}

/* A fixed-seed 64-bit generator (splitmix64), so the distributions are reproducible. */
static uint64_t
rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double
unit(uint64_t *s)
{
    return ((double)(rng(s) >> 11) + 0.5) / 9007199254740992.0;
}

START_TEST(test_hist_uniform)
{
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof *v), s = 1;

    for (size_t i = 0; i < n; i++)
        v[i] = 1000 + (uint64_t)(unit(&s) * 99000.0);   /* 1 us .. 100 us */
    check_distribution(v, n, "uniform");
    free(v);
}
END_TEST

START_TEST(test_hist_exponential_and_lognormal)
{
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof *v), s = 7;

    for (size_t i = 0; i < n; i++)
        v[i] = (uint64_t)(20000.0 * -log(unit(&s)));    /* mean 20 us, long tail */
    check_distribution(v, n, "exponential");
    for (size_t i = 0; i < n; i++) {
        double z = sqrt(-2 * log(unit(&s))) * cos(2 * M_PI * unit(&s));
        v[i] = (uint64_t)exp(log(15000.0) + 0.8 * z);   /* log-normal around 15 us */
    }
    check_distribution(v, n, "lognormal");
    /* Values spanning 1 ns .. 10 s. */
    for (size_t i = 0; i < n; i++)
        v[i] = (uint64_t)exp(unit(&s) * log(1e10));
    check_distribution(v, n, "log-uniform");
    free(v);
}
END_TEST

START_TEST(test_hist_exact_cases)
{
    traffic_hist_t *h = traffic_hist_new(), *g = traffic_hist_new();

    ck_assert(isnan(traffic_hist_percentile(h, 50)));
    ck_assert(isnan(traffic_hist_mean(h)));
    /* Small values are exact. */
    for (uint64_t i = 1; i <= 100; i++)
        traffic_hist_record(h, i);
    ck_assert(traffic_hist_percentile(h, 50) == 50.0);
    ck_assert(traffic_hist_percentile(h, 99) == 99.0);
    ck_assert(traffic_hist_percentile(h, 100) == 100.0);
    ck_assert(traffic_hist_percentile(h, 0) == 1.0);
    ck_assert(isnan(traffic_hist_percentile(h, 101)));
    ck_assert(isnan(traffic_hist_percentile(h, -1)));
    /* One value: every percentile is it (clamped to min/max, not the bucket middle). */
    traffic_hist_record(g, 123456789);
    ck_assert(traffic_hist_percentile(g, 50) == 123456789.0);
    ck_assert(traffic_hist_percentile(g, 99.9) == 123456789.0);
    /* Merge: 100 small values and one large; p99 small, p100 large. */
    traffic_hist_merge(h, g);
    ck_assert_uint_eq(traffic_hist_count(h), 101);
    ck_assert(traffic_hist_percentile(h, 99) == 100.0);
    ck_assert(traffic_hist_percentile(h, 100) == 123456789.0);
    ck_assert(fabs(traffic_hist_mean(h) - (5050.0 + 123456789.0) / 101.0) < 1e-6);
    /* The largest value does not overflow the buckets. */
    traffic_hist_record(g, UINT64_MAX);
    ck_assert(traffic_hist_percentile(g, 100) == (double)UINT64_MAX);
    traffic_hist_destroy(&h);
    traffic_hist_destroy(&g);
    traffic_hist_destroy(&g);
}
END_TEST

START_TEST(test_seq_in_order_and_gaps)
{
    struct traffic_seq s;

    traffic_seq_init(&s);
    for (uint64_t i = 0; i < 1000; i++)
        if (i % 10 != 3)                 /* 100 lost */
            traffic_seq_add(&s, i);
    ck_assert_uint_eq(s.received, 900);
    ck_assert_uint_eq(s.reordered, 0);
    ck_assert_uint_eq(s.duplicates, 0);
    ck_assert_uint_eq(traffic_seq_lost(&s, 1000), 100);
    /* Tail loss is only visible with the sender's count. */
    ck_assert_uint_eq(traffic_seq_lost(&s, 1010), 110);
    ck_assert_uint_eq(traffic_seq_lost(&s, 0), 100);    /* unknown: up to the highest, 999 */
}
END_TEST

START_TEST(test_seq_reordering_is_not_loss)
{
    static const uint64_t order[] = { 0, 1, 3, 2, 4, 7, 5, 6, 8, 9 };
    struct traffic_seq s;

    traffic_seq_init(&s);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        traffic_seq_add(&s, order[i]);
    ck_assert_uint_eq(s.received, 10);
    ck_assert_uint_eq(s.reordered, 3);          /* 2, 5, 6 came late */
    ck_assert_uint_eq(traffic_seq_lost(&s, 10), 0);
    /* A late number far behind (beyond the window) still counts once. */
    traffic_seq_add(&s, 20000);
    traffic_seq_add(&s, 10);
    ck_assert_uint_eq(s.received, 12);
    ck_assert_uint_eq(s.reordered, 4);
}
END_TEST

START_TEST(test_seq_duplicates_never_negative)
{
    struct traffic_seq s;

    traffic_seq_init(&s);
    traffic_seq_add(&s, 0);
    traffic_seq_add(&s, 1);
    traffic_seq_add(&s, 1);
    traffic_seq_add(&s, 2);
    traffic_seq_add(&s, 0);
    ck_assert_uint_eq(s.received, 3);
    ck_assert_uint_eq(s.duplicates, 2);
    ck_assert_uint_eq(traffic_seq_lost(&s, 3), 0);
    /* A sender count below what arrived (a miscount) gives 0, never a wrap-around. */
    ck_assert_uint_eq(traffic_seq_lost(&s, 2), 0);
    /* Window slides: a number seen long ago is no duplicate candidate any more. */
    traffic_seq_add(&s, 3 + TRAFFIC_SEQ_WINDOW);
    traffic_seq_add(&s, 4);
    ck_assert_uint_eq(s.duplicates, 2);
    ck_assert_uint_eq(s.received, 5);
}
END_TEST

START_TEST(test_consistency)
{
    static const double samples[] = { 9.0e9, 10.0e9, 9.5e9 };

    ck_assert_int_eq(traffic_check_consistency(9.5e9, samples, 3, 0.02), 1);
    ck_assert_int_eq(traffic_check_consistency(10.0e9, samples, 3, 0.02), 1);
    ck_assert_int_eq(traffic_check_consistency(10.19e9, samples, 3, 0.02), 1);
    /* A total no interval saw. */
    ck_assert_int_eq(traffic_check_consistency(10.3e9, samples, 3, 0.02), 0);
    ck_assert_int_eq(traffic_check_consistency(20e9, samples, 3, 0.02), 0);
    ck_assert_int_eq(traffic_check_consistency(NAN, samples, 3, 0.02), 0);
    /* Nothing to compare with. */
    ck_assert_int_eq(traffic_check_consistency(5.0, NULL, 0, 0.02), 1);
}
END_TEST

START_TEST(test_mtu_limit)
{
    char why[256] = "";
    int frag = -1;

    ck_assert_int_eq(traffic_udp_payload_max(1500, 0), 1472);
    ck_assert_int_eq(traffic_udp_payload_max(1500, 1), 1452);
    ck_assert_int_eq(traffic_udp_payload_max(1450, 0), 1422);   /* VXLAN: 1500 - 50 */
    ck_assert_int_eq(traffic_udp_payload_max(20, 0), 0);
    ck_assert_int_eq(traffic_check_udp_size(1472, 1500, 0, 0, &frag, why, sizeof why), 0);
    ck_assert_int_eq(frag, 0);
    ck_assert_int_eq(traffic_check_udp_size(1473, 1500, 0, 0, &frag, why, sizeof why), -1);
    ck_assert_int_eq(frag, 0);
    ck_assert_str_eq(why, "UDP size 1473 exceeds the path MTU 1500 minus 28 (1472 bytes): "
                          "datagrams would fragment; set allow_fragments to run it anyway");
    ck_assert_int_eq(traffic_check_udp_size(1473, 1500, 0, 1, &frag, why, sizeof why), 0);
    ck_assert_int_eq(frag, 1);
    ck_assert_int_eq(traffic_check_udp_size(1423, 1450, 0, 0, &frag, why, sizeof why), -1);
    ck_assert_int_eq(traffic_check_udp_size(1453, 1500, 1, 0, &frag, why, sizeof why), -1);
    /* Unknown MTU: nothing to check. */
    ck_assert_int_eq(traffic_check_udp_size(9000, 0, 0, 0, &frag, why, sizeof why), 0);
    ck_assert_int_eq(frag, 0);
}
END_TEST

/* A result as the engine prints it, from a JSON text (fresh). */
static json_t *
gate_result(const char *text)
{
    json_error_t e;
    json_t *r = json_loads(text, 0, &e);
    ck_assert_msg(r != NULL, "fixture: %s", e.text);
    return r;
}

/* CASES.md case 9: a run that moved no data fails, with what did not arrive, where. */
START_TEST(test_result_gate)
{
    char why[300];
    json_t *r;

    /* UDP through a path that carries nothing: the nat case of issue 14. */
    r = gate_result("{\"traffic\":\"udp_stream\",\"duration_s\":3,"
                    "\"metrics\":{\"throughput_pps\":0,\"throughput_bps\":0,"
                    "\"sent_pps\":401444,\"loss_ratio\":1},"
                    "\"applied\":{\"direction\":\"upload\",\"measured_s\":3.0},"
                    "\"flags\":[\"tool_bound\"]}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), -1);
    ck_assert_str_eq(why, "no datagram reached the server in 3.0 s (sent 1204332)");
    json_decref(r);

    r = gate_result("{\"traffic\":\"udp_stream\",\"metrics\":{\"throughput_pps\":0},"
                    "\"applied\":{\"direction\":\"download\",\"measured_s\":1.5}}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), -1);
    ck_assert_str_eq(why, "no datagram reached the client in 1.5 s");
    json_decref(r);

    r = gate_result("{\"traffic\":\"udp_rr\",\"metrics\":{\"transactions_per_s\":0,"
                    "\"loss_ratio\":1,\"timeouts\":150},\"applied\":{\"measured_s\":2}}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), -1);
    ck_assert_str_eq(why, "no udp_rr transaction completed in 2.0 s (150 probes sent to the "
                          "server timed out)");
    json_decref(r);

    /* A missing main metric is nothing measured, too (iperf3 gave no summary). */
    r = gate_result("{\"traffic\":\"tcp_stream\",\"duration_s\":5,\"metrics\":{}}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), -1);
    ck_assert_str_eq(why, "no byte reached the server in 5.0 s (tcp_stream upload)");
    json_decref(r);

    r = gate_result("{\"metrics\":{\"throughput_bps\":1e9}}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), -1);
    ck_assert_str_eq(why, "the result has no traffic kind");
    json_decref(r);

    /* Partial loss: stored, flagged lossy once, other flags kept. */
    r = gate_result("{\"traffic\":\"udp_stream\",\"metrics\":{\"throughput_pps\":9e4,"
                    "\"sent_pps\":1e5,\"loss_ratio\":0.1},\"flags\":[\"tool_bound\"]}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), 0);
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), 0);
    ck_assert_int_eq(json_array_size(json_object_get(r, "flags")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "flags"), 1)), "lossy");
    json_decref(r);

    /* Just below the threshold: not lossy; no flags array is made then. */
    r = gate_result("{\"traffic\":\"udp_rr\",\"metrics\":{\"transactions_per_s\":2e4,"
                    "\"loss_ratio\":0.049}}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), 0);
    ck_assert_ptr_null(json_object_get(r, "flags"));
    json_decref(r);

    r = gate_result("{\"traffic\":\"tcp_crr\",\"metrics\":{\"transactions_per_s\":3000}}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), 0);
    json_decref(r);

    /* CASES.md 10: 27.8 k/s is 36.0 us per transaction; a mean of 24.8 us missed half. */
    r = gate_result("{\"traffic\":\"udp_rr\",\"streams\":1,\"metrics\":{"
                    "\"transactions_per_s\":27800,\"rtt_us_mean\":24.8,\"loss_ratio\":0},"
                    "\"applied\":{\"burst\":1}}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), 0);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "flags"), 0)),
                     "rr_inconsistent");
    json_decref(r);
    /* Within 10 % (35.0 against 36.0 us): consistent. */
    r = gate_result("{\"traffic\":\"tcp_rr\",\"streams\":1,\"metrics\":{"
                    "\"transactions_per_s\":27800,\"rtt_us_mean\":35.0},"
                    "\"applied\":{\"burst\":1}}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), 0);
    ck_assert_ptr_null(json_object_get(r, "flags"));
    json_decref(r);
    /* Burst 4: four probes in flight, no such relation. */
    r = gate_result("{\"traffic\":\"tcp_rr\",\"streams\":1,\"metrics\":{"
                    "\"transactions_per_s\":80000,\"rtt_us_mean\":48.0},"
                    "\"applied\":{\"burst\":4}}");
    ck_assert_int_eq(traffic_result_gate(r, why, sizeof why), 0);
    ck_assert_ptr_null(json_object_get(r, "flags"));
    json_decref(r);
}
END_TEST

START_TEST(test_tool_bound_and_cpu)
{
    struct traffic_cpu a, b;
    double u, s, si;

    ck_assert_int_eq(traffic_tool_bound(95.0), 1);
    ck_assert_int_eq(traffic_tool_bound(94.99), 0);
    ck_assert_int_eq(traffic_tool_bound(180.0), 1);
    ck_assert_int_eq(traffic_cpu_parse("cpu  100 20 300 4000 50 6 70 8 0 0\n", &a), 0);
    ck_assert_uint_eq(a.user, 120);
    ck_assert_uint_eq(a.system, 300);
    ck_assert_uint_eq(a.idle, 4050);
    ck_assert_uint_eq(a.softirq, 70);
    ck_assert_int_eq(traffic_cpu_parse("cpu  200 20 450 4000 50 6 120 8 0 0\n", &b), 0);
    ck_assert_int_eq(traffic_cpu_parse("cpu0 1 2 3 4 5 6 7\n", &b) == 0 ? 1 : 0, 0);
    ck_assert_int_eq(traffic_cpu_parse("intr 1 2\n", &a), -1);
    traffic_cpu_parse("cpu  200 20 450 4000 50 6 120 8 0 0\n", &b);
    /* 2 s at 100 ticks/s: 100 user ticks = 50 % of one core. */
    traffic_cpu_pct(&a, &b, 2.0, 100, &u, &s, &si);
    ck_assert(fabs(u - 50.0) < 1e-9);
    ck_assert(fabs(s - 75.0) < 1e-9);
    ck_assert(fabs(si - 25.0) < 1e-9);
}
END_TEST

static const struct traffic_client_opts opts_udp = {
    .server = "198.18.0.1", .port = 5201, .traffic = "udp_stream", .size = 64, .streams = 1,
    .duration = 2, .interval = 1, .burst = 1, .engine = "iperf3",
};

START_TEST(test_iperf3_convert)
{
    const char *udp =
        "{\"start\":{},\"intervals\":[{\"sum\":{\"seconds\":1.0,\"bits_per_second\":5.0e7,"
        "\"omitted\":false}},{\"sum\":{\"seconds\":1.0,\"bits_per_second\":5.2e7,\"omitted\":false}}],"
        "\"end\":{\"sum\":{\"seconds\":2.0,\"bits_per_second\":5.1e7,\"packets\":200000,"
        "\"lost_packets\":2000,\"lost_percent\":1.0},"
        "\"cpu_utilization_percent\":{\"host_total\":97.0,\"host_user\":10.0,\"remote_total\":30.0}}}";
    const char *tcp =
        "{\"start\":{\"tcp_mss_default\":1448},\"intervals\":[{\"sum\":{\"seconds\":1.0,"
        "\"bits_per_second\":1.0e9}}],\"end\":{\"sum_sent\":{\"bits_per_second\":2.0e9,"
        "\"retransmits\":3},\"sum_received\":{\"bits_per_second\":1.9e9}}}";
    struct traffic_client_opts o = opts_udp;
    char why[256];
    json_t *doc = json_loads(udp, 0, NULL), *r, *m;

    r = traffic_engine_iperf3_convert(doc, &o, why, sizeof why);
    ck_assert_ptr_nonnull(r);
    m = json_object_get(r, "metrics");
    ck_assert(fabs(json_real_value(json_object_get(m, "throughput_pps")) - 99000.0) < 1e-6);
    ck_assert(fabs(json_real_value(json_object_get(m, "throughput_bps")) - 99000.0 * 64 * 8) < 1e-3);
    ck_assert(fabs(json_real_value(json_object_get(m, "loss_ratio")) - 0.01) < 1e-12);
    ck_assert(fabs(json_real_value(json_object_get(m, "cpu_server_pct")) - 30.0) < 1e-12);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "flags"), 0)), "tool_bound");
    ck_assert_uint_eq(json_array_size(json_object_get(r, "samples")), 2);
    json_decref(r);
    json_decref(doc);

    o.traffic = "tcp_stream";
    doc = json_loads(tcp, 0, NULL);
    r = traffic_engine_iperf3_convert(doc, &o, why, sizeof why);
    ck_assert_ptr_nonnull(r);
    m = json_object_get(r, "metrics");
    ck_assert(json_real_value(json_object_get(m, "throughput_bps")) == 1.9e9);
    ck_assert(fabs(json_real_value(json_object_get(m, "throughput_pps")) - 1.9e9 / 8 / 1448) < 1e-6);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "retransmits")), 3);
    /* Sender total 2 Gbit/s but no interval above 1 Gbit/s: invalid (case 8). */
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "flags"), 0)), "invalid");
    json_decref(r);
    json_decref(doc);

    doc = json_loads("{\"error\":\"unable to connect to server\"}", 0, NULL);
    ck_assert_ptr_null(traffic_engine_iperf3_convert(doc, &o, why, sizeof why));
    ck_assert_str_eq(why, "iperf3: unable to connect to server");
    json_decref(doc);
}
END_TEST

START_TEST(test_sockperf_convert)
{
    const char *half =
        "sockperf: [Valid Duration] RunTime=2.000 sec; SentMessages=100000; ReceivedMessages=99990\n"
        "sockperf: ====> avg-latency=10.500 (std-dev=1.0)\n"
        "sockperf: ---> percentile 99.900 =   40.000\n"
        "sockperf: ---> percentile 99.000 =   20.000\n"
        "sockperf: ---> percentile 90.000 =   12.000\n"
        "sockperf: ---> percentile 50.000 =   10.000\n";
    const char *full =
        "sockperf: [Valid Duration] RunTime=1.000 sec; SentMessages=10; ReceivedMessages=10\n"
        "sockperf: ====> avg-rtt=21.000 (std-dev=1.0)\n"
        "sockperf: ---> percentile 50.000 =   20.000\n";
    struct traffic_client_opts o = opts_udp;
    char why[256];
    json_t *r, *m;

    o.traffic = "udp_rr";
    o.engine = "sockperf";
    r = traffic_engine_sockperf_convert(half, &o, why, sizeof why);
    ck_assert_ptr_nonnull(r);
    m = json_object_get(r, "metrics");
    /* Half round trips doubled: cntb stores the full RTT. */
    ck_assert(json_real_value(json_object_get(m, "rtt_us_p50")) == 20.0);
    ck_assert(json_real_value(json_object_get(m, "rtt_us_p90")) == 24.0);
    ck_assert(json_real_value(json_object_get(m, "rtt_us_p99")) == 40.0);
    ck_assert(json_real_value(json_object_get(m, "rtt_us_p999")) == 80.0);
    ck_assert(json_real_value(json_object_get(m, "rtt_us_mean")) == 21.0);
    ck_assert(fabs(json_real_value(json_object_get(m, "transactions_per_s")) - 49995.0) < 1e-9);
    ck_assert(fabs(json_real_value(json_object_get(m, "loss_ratio")) - 1e-4) < 1e-12);
    json_decref(r);
    r = traffic_engine_sockperf_convert(full, &o, why, sizeof why);
    m = json_object_get(r, "metrics");
    ck_assert(json_real_value(json_object_get(m, "rtt_us_p50")) == 20.0);
    ck_assert(json_real_value(json_object_get(m, "rtt_us_mean")) == 21.0);
    json_decref(r);
    ck_assert_ptr_null(traffic_engine_sockperf_convert("garbage", &o, why, sizeof why));
    o.traffic = "udp_stream";
    r = traffic_engine_sockperf_convert("sockperf: Summary: Message Rate is 110307 [msg/sec]\n",
                                        &o, why, sizeof why);
    m = json_object_get(r, "metrics");
    ck_assert(json_real_value(json_object_get(m, "throughput_pps")) == 110307.0);
    ck_assert(json_real_value(json_object_get(m, "throughput_bps")) == 110307.0 * 64 * 8);
    json_decref(r);
}
END_TEST

static Suite *
traffic_suite(void)
{
    Suite *s = suite_create("traffic");
    TCase *th = tcase_create("hist");
    TCase *tq = tcase_create("seq");
    TCase *tc = tcase_create("checks");
    TCase *te = tcase_create("engines");

    tcase_set_timeout(th, 30);
    tcase_add_test(th, test_hist_uniform);
    tcase_add_test(th, test_hist_exponential_and_lognormal);
    tcase_add_test(th, test_hist_exact_cases);
    suite_add_tcase(s, th);
    tcase_set_timeout(tq, 10);
    tcase_add_test(tq, test_seq_in_order_and_gaps);
    tcase_add_test(tq, test_seq_reordering_is_not_loss);
    tcase_add_test(tq, test_seq_duplicates_never_negative);
    suite_add_tcase(s, tq);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_consistency);
    tcase_add_test(tc, test_mtu_limit);
    tcase_add_test(tc, test_tool_bound_and_cpu);
    tcase_add_test(tc, test_result_gate);
    suite_add_tcase(s, tc);
    tcase_set_timeout(te, 10);
    tcase_add_test(te, test_iperf3_convert);
    tcase_add_test(te, test_sockperf_convert);
    suite_add_tcase(s, te);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(traffic_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
