/*
 * traffic_check.c — the rules a result must pass before it is stored:
 * the UDP datagram size against the path MTU (CASES.md case 1), the total
 * against its interval samples (case 8), and whether the engine itself was
 * the bottleneck (case 3).  Pure functions, unit-tested in test_traffic.c.
 */
#include "traffic.h"

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
