/*
 * agent_result.c — summing the results of concurrent pairs.
 *
 * The "containers competing for the CPU": N pairs run at once, so
 * the host's capacity is the sum of their rates, while latency and loss are
 * properties of each flow and are averaged.  Every pair's own metrics travel
 * along under "pairs" so that nothing is lost by the summary, and every flag
 * any pair raised (tool_bound, invalid, fragmented, ...) is a flag of the
 * sum: a summary cleaner than its parts would hide them (CASES.md 11).
 */
#include "agent_result.h"
#include "metric.h"

#include <stdio.h>
#include <string.h>

/* Appends to union every element of pair_flags (an array, or NULL) not yet in it. */
static void flags_merge(json_t *un, const json_t *pair_flags)
{
    size_t i, k;
    json_t *f, *have;

    json_array_foreach(pair_flags, i, f) {
        bool seen = false;

        json_array_foreach(un, k, have)
            if (json_equal(have, f)) {
                seen = true;
                break;
            }
        if (!seen)
            json_array_append_new(un, json_deep_copy(f));
    }
}

/* The keys combine computes itself rather than taking from pair 0. */
static bool combined_key(const char *key)
{
    return strcmp(key, "metrics") == 0 || strcmp(key, "samples") == 0 ||
           strcmp(key, "applied") == 0 || strcmp(key, "flags") == 0 || strcmp(key, "pairs") == 0;
}

bool agent_result_is_sum(const char *name)
{
    /* By unit (proto/metric.c), so that every rate and count adds up,
     * sent_bps and duplicates as much as throughput_bps and retransmits. */
    const char *u = metric_unit(name);

    return u && (strcmp(u, "bit/s") == 0 || strcmp(u, "packet/s") == 0 || strcmp(u, "1/s") == 0 ||
                 strcmp(u, "count") == 0);
}

json_t *agent_result_combine(json_t *const *pres, int n, char *err, size_t len)
{
    json_t *out = NULL, *metrics = NULL, *counts = NULL, *pairs = NULL, *samples = NULL;
    const char *key;
    json_t *v;

    if (n < 1) {
        snprintf(err, len, "no pair results");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!json_is_object(json_object_get(pres[i], "metrics"))) {
            snprintf(err, len, "pair %d: result without metrics", i);
            return NULL;
        }
    metrics = json_object();
    counts = json_object();
    pairs = json_array();
    samples = json_array();
    for (int i = 0; i < n; i++) {
        json_t *m = json_object_get(pres[i], "metrics");
        json_array_append(pairs, m);
        json_object_foreach(m, key, v) {
            if (!json_is_number(v))
                continue;
            json_t *acc = json_object_get(metrics, key);
            double sum = (acc ? json_number_value(acc) : 0) + json_number_value(v);
            json_object_set_new(metrics, key, json_real(sum));
            json_t *cnt = json_object_get(counts, key);
            json_object_set_new(counts, key, json_integer((cnt ? json_integer_value(cnt) : 0) + 1));
        }
        size_t k;
        json_t *smp;
        json_array_foreach(json_object_get(pres[i], "samples"), k, smp) {
            if (!json_is_object(smp))
                continue;
            json_t *dst = json_array_get(samples, k);
            if (!dst) {
                dst = json_object();
                json_array_append_new(samples, dst);
            }
            json_object_foreach(smp, key, v) {
                if (!json_is_number(v))
                    continue;
                if (strcmp(key, "t_s") == 0) {
                    if (!json_object_get(dst, key))
                        json_object_set(dst, key, v);
                    continue;
                }
                json_t *acc = json_object_get(dst, key);
                json_object_set_new(dst, key,
                                    json_real((acc ? json_number_value(acc) : 0) + json_number_value(v)));
            }
        }
    }
    if (n == 1) {
        out = json_deep_copy(pres[0]);
    } else {
        json_t *flags = json_array();

        /* The run's own fields (version, traffic, size, streams, duration_s,
         * whatever the engine adds): the same for every pair, so the first
         * pair that has one gives it. */
        out = json_object();
        for (int i = 0; i < n; i++) {
            json_object_foreach(pres[i], key, v) {
                if (!combined_key(key) && !json_object_get(out, key))
                    json_object_set_new(out, key, json_deep_copy(v));
            }
            flags_merge(flags, json_object_get(pres[i], "flags"));
        }
        json_object_set_new(out, "flags", flags);
        json_object_foreach(metrics, key, v) {
            if (!agent_result_is_sum(key))
                json_object_set_new(metrics, key,
                                    json_real(json_number_value(v) /
                                              (double)json_integer_value(json_object_get(counts, key))));
        }
        json_object_set(out, "metrics", metrics);
        json_object_set(out, "samples", samples);
        v = json_object_get(pres[0], "applied");
        if (v)
            json_object_set_new(out, "applied", json_deep_copy(v));
    }
    json_object_set(out, "pairs", pairs);
    json_decref(metrics);
    json_decref(counts);
    json_decref(pairs);
    json_decref(samples);
    return out;
}
