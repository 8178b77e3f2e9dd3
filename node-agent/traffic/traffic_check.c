/*
 * traffic_check.c — the rules a result must pass before it is stored:
 * the UDP datagram size against the path MTU (CASES.md case 1), the total
 * against its interval samples (case 8), whether the engine itself was
 * the bottleneck (case 3), and the validity gate every result passes before
 * it is stored (case 9: a run that moved no data is not a measurement).
 * Pure functions, unit-tested in test_cntbtraffic.c.
 */
#include "traffic.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

long
traffic_udp_payload_max(long mtu, int ipv6)
{
    /* IPv4 header 20 bytes (no options) + UDP 8 (RFC 768, RFC 791); IPv6 40 + 8 (RFC 8200). */
    long overhead = ipv6 ? 48 : 28;

    return mtu > overhead ? mtu - overhead : 0;
}

int
traffic_check_udp_size(long size, long mtu, int ipv6, int allow_fragments, int *fragmented,
                       char *why, size_t whylen)
{
    long max;

    *fragmented = 0;
    if (mtu <= 0)
        return 0;               /* path MTU unknown: nothing to check against */
    max = traffic_udp_payload_max(mtu, ipv6);
    if (size <= max)
        return 0;
    if (allow_fragments) {
        *fragmented = 1;
        return 0;
    }
    snprintf(why, whylen,
             "UDP size %ld exceeds the path MTU %ld minus %d (%ld bytes): datagrams would "
             "fragment; set allow_fragments to run it anyway", size, mtu, ipv6 ? 48 : 28, max);
    return -1;
}

int
traffic_check_consistency(double total, const double *samples, size_t n, double rel_tol)
{
    double max = 0.0;

    if (n == 0 || !isfinite(total))
        return n == 0 ? 1 : 0;
    for (size_t i = 0; i < n; i++)
        if (samples[i] > max)
            max = samples[i];
    /* "Beyond rounding": a relative tolerance plus one unit of the last printed digit. */
    return total <= max * (1.0 + rel_tol) + 1e-6;
}

int
traffic_tool_bound(double cpu_pct_of_one_core)
{
    return cpu_pct_of_one_core >= TRAFFIC_TOOL_BOUND_PCT;
}

/* A number of the result's metrics, or NAN when absent or not a number. */
static double
gate_metric(const json_t *metrics, const char *name)
{
    const json_t *v = json_object_get(metrics, name);

    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Appends flag to the result's "flags" array (made when missing) unless it is there. */
static void
gate_flag(json_t *result, const char *flag)
{
    json_t *flags = json_object_get(result, "flags"), *v;
    size_t i;

    if (!json_is_array(flags)) {
        flags = json_array();
        json_object_set_new(result, "flags", flags);
    }
    json_array_foreach(flags, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), flag) == 0)
            return;
    json_array_append_new(flags, json_string(flag));
}

int
traffic_result_gate(json_t *result, char *why, size_t whylen)
{
    const json_t *metrics = json_object_get(result, "metrics");
    const json_t *applied = json_object_get(result, "applied");
    const char *traffic = json_string_value(json_object_get(result, "traffic"));
    const char *dir = json_string_value(json_object_get(applied, "direction"));
    double secs = json_number_value(json_object_get(applied, "measured_s"));
    double loss;
    int download = dir && strcmp(dir, "download") == 0;

    if (!json_is_object(metrics) || !traffic) {
        snprintf(why, whylen, "the result has no %s", traffic ? "metrics" : "traffic kind");
        return -1;
    }
    if (!(secs > 0))
        secs = json_number_value(json_object_get(result, "duration_s"));
    if (strcmp(traffic, "tcp_stream") == 0) {
        double bps = gate_metric(metrics, "throughput_bps");
        if (!(bps > 0)) {
            snprintf(why, whylen, "no byte reached the %s in %.1f s (tcp_stream %s)",
                     download ? "client" : "server", secs, download ? "download" : "upload");
            return -1;
        }
    } else if (strcmp(traffic, "udp_stream") == 0) {
        double pps = gate_metric(metrics, "throughput_pps");
        double sent = gate_metric(metrics, "sent_pps");
        if (!(pps > 0)) {
            if (isfinite(sent))
                snprintf(why, whylen, "no datagram reached the %s in %.1f s (sent %.0f)",
                         download ? "client" : "server", secs, sent * secs);
            else
                snprintf(why, whylen, "no datagram reached the %s in %.1f s",
                         download ? "client" : "server", secs);
            return -1;
        }
    } else {
        double tps = gate_metric(metrics, "transactions_per_s");
        double timeouts = gate_metric(metrics, "timeouts");
        if (!(tps > 0)) {
            if (isfinite(timeouts) && timeouts > 0)
                snprintf(why, whylen,
                         "no %s transaction completed in %.1f s (%.0f probes sent to the "
                         "server timed out)", traffic, secs, timeouts);
            else
                snprintf(why, whylen, "no %s transaction completed in %.1f s", traffic, secs);
            return -1;
        }
    }
    loss = gate_metric(metrics, "loss_ratio");
    if (isfinite(loss) && loss >= TRAFFIC_LOSSY_RATIO)
        gate_flag(result, "lossy");
    /*
     * CASES.md case 10: with one flow and one probe outstanding, a transaction
     * takes one round trip, so 1e6 / transactions_per_s and rtt_us_mean agree;
     * a stamp on the wrong side of a system call breaks that.
     */
    if (strcmp(traffic, "tcp_rr") == 0 || strcmp(traffic, "udp_rr") == 0) {
        const json_t *burst = json_object_get(applied, "burst");
        const json_t *streams = json_object_get(result, "streams");
        double tps = gate_metric(metrics, "transactions_per_s");
        double mean = gate_metric(metrics, "rtt_us_mean");
        if ((!burst || json_integer_value(burst) == 1)
            && (!streams || json_integer_value(streams) == 1) && isfinite(mean) && mean > 0
            && (!isfinite(loss) || loss == 0)
            && fabs(1e6 / tps - mean) > TRAFFIC_RR_CONSISTENCY_TOL * mean)
            gate_flag(result, "rr_inconsistent");
    }
    return 0;
}
