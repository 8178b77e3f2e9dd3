/*
 * metric.c — the table of standard metrics (DESIGN.md, "Words").  Throughput
 * counts L4 payload; RTT is the full round trip, never RTT/2.
 */
#include "metric.h"

#include <string.h>

static const struct {
    const char *name;
    const char *unit;
} metric_table[] = {
    { "throughput_bps", "bit/s" },    { "throughput_pps", "packet/s" },
    { "rtt_us_p50", "us" },           { "rtt_us_p90", "us" },
    { "rtt_us_p99", "us" },           { "rtt_us_p999", "us" },
    { "rtt_us_mean", "us" },          { "transactions_per_s", "1/s" },
    { "loss_ratio", "ratio" },        { "retransmits", "count" },
    { "cpu_client_pct", "%" },        { "cpu_server_pct", "%" },
    { "cpu_softirq_pct", "%" },       { "setup_ms", "ms" },
    { "convergence_ms", "ms" },
    /* The traffic engine's (docs/cntb-traffic.md). */
    { "sent_pps", "packet/s" },       { "sent_bps", "bit/s" },
    { "reorder_ratio", "ratio" },     { "duplicates", "count" },
    { "timeouts", "count" },          { "connections_per_s", "1/s" },
    { "connect_us_p50", "us" },       { "connect_us_p90", "us" },
    { "connect_us_p99", "us" },       { "connect_us_p999", "us" },
    { "connect_us_mean", "us" },      { "cpu_client_user_pct", "%" },
    { "cpu_user_pct", "%" },          { "cpu_system_pct", "%" },
    { "cpu_ns_per_packet", "ns" },    { "cpu_ns_per_byte", "ns" },
    { "cpu_client_ns_per_packet", "ns" },
};

const char *
metric_unit(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof metric_table / sizeof metric_table[0]; i++)
        if (strcmp(metric_table[i].name, name) == 0)
            return metric_table[i].unit;
    return NULL;
}

int
metric_known(const char *name)
{
    return metric_unit(name) != NULL;
}

const char *
metric_name(size_t i)
{
    return i < sizeof metric_table / sizeof metric_table[0] ? metric_table[i].name : NULL;
}
