/*
 * results.h — queries of the results database for `cntb results ...`.
 */
#ifndef CNTB_RESULTS_H
#define CNTB_RESULTS_H

#include "stats.h"
#include "store.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { RESULTS_TABLE, RESULTS_CSV, RESULTS_JSON } results_format_t;

/*
 * Prints, per group of done runs, n, mean, stddev, 95 % CI (Student t) of
 * `metric` and the change of the mean against the baseline group in %.
 *   batch     batch id, 0 = the latest batch, -1 = every batch
 *   by        comma-separated parameter names ("network,placement"), each
 *             [a-z_]{1,32}; groups in RESULTS_SORT_KEY order
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

/* Which runs a comparison, plot, model or export reads. */
typedef struct {
    int64_t batch;       /* a batch id; 0 = the latest batch; -1 = every batch */
    const char *matrix;  /* when not NULL: every batch of this matrix name (batch ignored) */
} results_select_t;

/*
 * The order of the groups of compare and plot (--sort).  Rows that differ
 * only in the baseline parameter form a block; blocks are ordered by their
 * key values, key by key from the left (the baseline parameter skipped),
 * each in the order of the parameter's values in docs/matrix.md (network:
 * none, host, container, bridge, ...; placement: same-host, cross-host),
 * numbers ascending, other text alphabetically, "(none)" last.  Within a
 * block the baseline group comes first, then:
 */
typedef enum {
    RESULTS_SORT_KEY,    /* the baseline parameter's values in that order (the default) */
    RESULTS_SORT_VALUE,  /* mean, largest first (without a baseline: over all groups) */
    RESULTS_SORT_CHANGE, /* change against the baseline, largest first; none last */
} results_sort_t;

/* "key", "value", "change" -> *sort; 0 or -1. */
int results_sort_parse(const char *s, results_sort_t *sort);

#define RESULTS_MAX_KEYS 16   /* --by parameters plus the other parameters that vary */
#define RESULTS_NOTE_MAX 400  /* bytes of results_groups_t.note */
#define RESULTS_MAX_FLAGS 8   /* distinct flags counted per group */

typedef struct {
    char name[32];       /* "tool_bound", "fragmented", "invalid", "skipped", "failed" */
    int count;           /* runs of the group that carry it */
} results_flag_t;

/* One group of a comparison: the done runs with equal values of every key. */
typedef struct {
    char **val;          /* nkeys parameter values as text (fresh) */
    double *x;           /* the metric's values, in its unit (fresh) */
    int n, cap;          /* values; allocated */
    stats_summary_t s;   /* n, mean, stddev, Student-t 95 % CI */
    double median;       /* in the metric's unit */
    int base;            /* index of the baseline group, -1 none (itself when it is one) */
    double change;       /* 100 (mean - mean_base) / mean_base in %, NAN none */
    double change_lo;    /* Fieller 95 % interval of change in %, NAN none */
    double change_hi;
    double p;            /* Welch two-sided p-value against the baseline, NAN none */
    results_flag_t flags[RESULTS_MAX_FLAGS];
    int nflags;
} results_group_t;

typedef struct {
    char *keys[RESULTS_MAX_KEYS]; /* --by names, then the other varying parameters (fresh) */
    int nkeys;
    int bidx;            /* index of the baseline parameter in keys, -1 without --baseline */
    char *bval;          /* the baseline value (fresh), NULL without --baseline */
    char *unit;          /* the metric's unit (fresh) or NULL */
    results_group_t *g;  /* groups in RESULTS_SORT_KEY order (results_groups_sort) */
    int ng;
    /* "" or a sentence about done runs of the selection that lack the metric
     * and so are in no group: how many, their traffic kinds, which metric
     * they have ("12 done runs in batch 3 have no throughput_bps and are left
     * out (traffic tcp_rr 12): try --metric rtt_us_p50").  Also set when
     * results_groups_collect returns 1. */
    char note[RESULTS_NOTE_MAX];
} results_groups_t;

/*
 * The groups of a comparison (see results_compare_sel): validates by,
 * baseline ("param=value" or NULL) and metric, reads the finished runs of
 * sel and fills *gs (caller frees with results_groups_free), the groups in
 * RESULTS_SORT_KEY order.  Returns 0; 1 when no run matched (gs empty, a
 * sentence in msg, gs->note may say why); -1 with err on a bad argument
 * (unknown metric, unknown key, a baseline that matches no group, no such
 * batch or matrix: the message names the closest metric or parameter names,
 * or the values the baseline parameter has) or a database error.
 */
int results_groups_collect(store_t *store, const results_select_t *sel, const char *by,
                           const char *baseline, const char *metric, results_groups_t *gs,
                           char *msg, size_t msglen, char *err, size_t errlen);

/* Frees what results_groups_collect filled; accepts an emptied or zeroed gs.
 * The note is kept. */
void results_groups_free(results_groups_t *gs);

/* Orders the groups as sort says (results_sort_t); each group's base index
 * follows its baseline group. */
void results_groups_sort(results_groups_t *gs, results_sort_t sort);

/*
 * compare over a selection: groups are the done runs with equal values of
 * the `by` parameters AND of every other parameter whose value differs
 * among the selected runs (so a group never mixes sizes); each group's
 * baseline is the group equal to it in every key but the baseline
 * parameter, which has the baseline value.  Per group: n, mean, median,
 * stddev, Student-t 95 % CI; against the baseline the change in %, its
 * Fieller 95 % interval, the Welch p-value and significance at 5 %; and
 * the flags of its runs (result "flags", skipped/failed runs of the same
 * point).  Runs flagged invalid are not counted.  Rows in the order of
 * sort.  note (notelen bytes, may be NULL) gets results_groups_t.note ("" when
 * none): the caller prints it apart from out (the CLI on stderr, so that
 * CSV and JSON stay clean).  Same returns as results_compare.
 */
int results_compare_sel(store_t *store, const results_select_t *sel, const char *by,
                        const char *baseline, const char *metric, results_sort_t sort,
                        results_format_t format, FILE *out, char *note, size_t notelen,
                        char *err, size_t errlen);

/*
 * Lists batches (no batch given: batch = -1) or the runs of a batch, with
 * state, reason and the main metric.  Returns 0 or -1 with err.
 */
int results_list(store_t *store, int64_t batch, results_format_t format, FILE *out, char *err,
                 size_t errlen);

/* Shows one run: parameters, state, hosts, every metric with unit. 0 / -1. */
int results_show(store_t *store, int64_t run, results_format_t format, FILE *out, char *err,
                 size_t errlen);

/*
 * Names what differs between the hosts of two batches: the host_meta
 * snapshots flattened to dotted keys ("underlay.offloads.tso",
 * "versions.iperf3", "kernel.release"), hosts paired by name; a host only
 * one batch used shows as key "(host)"; keys that differ by nature (the
 * agent's pid, start times, uptime, boot id: results_hostdiff.c
 * results_meta_volatile) are left out.  Rows host, key, value in batch1,
 * value in batch2 ("-" / empty / null when absent).  0, or -1 with err (no
 * such batch, a batch without metadata).
 */
int results_diff_hosts(store_t *store, int64_t batch1, int64_t batch2, results_format_t format,
                       FILE *out, char *err, size_t errlen);

/*
 * Exports every run of the selection (batch -1 = all) for notebooks and
 * spreadsheets.  JSON: an array, one object per run: id, batch, state,
 * reason, params{}, metrics{name: value}, flags[], hosts{host: metadata
 * snapshot of the run's batch}, client_host, server_host.  CSV: one row per
 * run; columns id, batch, state, reason, client_host, server_host, flags
 * (";"-separated... as stored, ","-joined inside one quoted field), one per
 * parameter ("size (bytes)") and one per metric with its unit
 * ("throughput_bps (bit/s)").  Streams: memory does not grow with the
 * number of runs.  0 or -1 with err (table format, bad selection).
 */
int results_export(store_t *store, const results_select_t *sel, results_format_t format,
                   FILE *out, char *err, size_t errlen);

#endif
