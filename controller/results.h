/*
 * results.h — queries of the results database for `cntb results ...`.
 */
#ifndef CNTB_RESULTS_H
#define CNTB_RESULTS_H

#include "store.h"
#include <stdint.h>
#include <stdio.h>

typedef enum { RESULTS_TABLE, RESULTS_CSV, RESULTS_JSON } results_format_t;

/*
 * Prints, per group of done runs, n, mean, stddev, 95 % CI (Student t) of
 * `metric` and the change of the mean against the baseline group in %.
 *   batch     batch id, 0 = the latest batch, -1 = every batch
 *   by        comma-separated parameter names ("network,placement"), each
 *             [a-z_]{1,32}; groups are ordered by first appearance (run id)
 *   baseline  "param=value" (param must be one of `by`): the baseline of a
 *             group is the group with the same values for the other `by`
 *             parameters and `value` for param; no such group -> change "-"
 *   metric    a metric name, e.g. throughput_bps
 * Values are scaled for display in table form (e.g. Gbit/s) and the unit is
 * named in each column header; csv and json carry raw units in the header.
 * Returns 0, 1 when no run matched (a message printed to out), -1 with a
 * message in err (errlen bytes) on a bad argument (exit code 2) or a
 * database error.
 */
int results_compare(store_t *store, int64_t batch, const char *by, const char *baseline,
                    const char *metric, results_format_t format, FILE *out, char *err,
                    size_t errlen);

/*
 * Lists batches (no batch given: batch = -1) or the runs of a batch, with
 * state, reason and the main metric.  Returns 0 or -1 with err.
 */
int results_list(store_t *store, int64_t batch, results_format_t format, FILE *out, char *err,
                 size_t errlen);

/* Shows one run: parameters, state, hosts, every metric with unit. 0 / -1. */
int results_show(store_t *store, int64_t run, results_format_t format, FILE *out, char *err,
                 size_t errlen);

#endif
