/*
 * agent_result.h — one RESULT out of the results of N client/server pairs.
 */
#ifndef CNTB_AGENT_RESULT_H
#define CNTB_AGENT_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * true when metric `name` adds up over concurrent pairs: a standard metric
 * whose unit (metric_unit) is a rate or a count (bit/s, packet/s, 1/s,
 * count: throughput_bps, sent_pps, transactions_per_s, connections_per_s,
 * retransmits, duplicates, timeouts, ...); false for a per-flow property
 * (RTT percentiles, loss ratio, CPU shares) or an unknown name, which is
 * averaged instead.
 */
bool agent_result_is_sum(const char *name);

/*
 * Combines the cntb-traffic results of n pairs (pres[0..n-1], each an object
 * with "metrics"; borrowed) into a fresh object (caller owns):
 *   metrics   per name: the sum over pairs (agent_result_is_sum) or the mean
 *             over the pairs that report it;
 *   samples   element i: t_s of the first pair that has an element i (pair 0
 *             unless it ended early), other numeric fields summed over the pairs
 *             that have an element i (the pairs start together);
 *   applied   pair 0's;
 *   flags     the union of the pairs' "flags" arrays (each flag once, in the
 *             order first seen, pair 0 first): a flag of any pair is a flag
 *             of the run;
 *   pairs     [ pair 0's metrics, pair 1's metrics, ... ];
 *   any other key (version, traffic, size, streams, duration_s: the
 *             run's, the same in every pair) from the first pair that has it.
 * With n = 1 the result is pair 0's unchanged, plus "pairs".  NULL with a
 * reason in err (len bytes) when n < 1 or a pair has no metrics object.
 */
json_t *agent_result_combine(json_t *const *pres, int n, char *err, size_t len);

#endif
