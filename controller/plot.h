/*
 * plot.h — `cntb results plot`: figures of the results database through
 * gnuplot (Debian gnuplot-nox), as SVG or PNG.
 */
#ifndef CNTB_PLOT_H
#define CNTB_PLOT_H

#include "results.h"

typedef enum {
    PLOT_BARS,   /* one bar per group: mean with its 95 % CI as whiskers */
    PLOT_LINES,  /* the metric against size, one line per other key (network, ...) */
    PLOT_CDF,    /* RTT percentiles p50/p90/p99/p999 per group as a CDF */
} plot_kind_t;

/* "bars", "lines", "cdf" -> kind; 0 or -1. */
int plot_kind_parse(const char *s, plot_kind_t *kind);

/*
 * Draws one figure of the runs of sel into output, whose name ends in .svg
 * or .png (the terminal follows from it).  by and baseline are as for
 * results_compare_sel (bars: groups; lines: by plus size; cdf: groups of
 * the rtt_us_* metrics, `metric` unused).  Axis labels carry the units.
 * gnuplot runs as a child (fork + execvp of an argument vector, no shell)
 * on a script and a data file written into a fresh mkdtemp directory that
 * is removed afterwards; every string from the database reaches the script
 * only as a single-quoted gnuplot string with quotes doubled and control
 * characters replaced, in noenhanced mode, and the data file holds only
 * numbers.  gnuplot gets 60 s.  Returns 0 when the file was written, 1
 * with a sentence in err when there is nothing to plot (no done run of the
 * selection has the metric; for cdf: none has rtt_us_p50, and the sentence
 * names the traffic kinds that measure it), -1 with err on a bad argument or a gnuplot failure,
 * -2 when gnuplot is not installed (exit 3).  Bars (and the lines' legend)
 * follow sort (results_sort_t); note (notelen bytes, may be NULL) gets the
 * sentence about done runs without the metric (results_groups_t.note), ""
 * when none, for the caller to print apart (stderr).
 */
int plot_make(store_t *store, const results_select_t *sel, plot_kind_t kind, const char *by,
              const char *baseline, const char *metric, results_sort_t sort, const char *output,
              char *note, size_t notelen, char *err, size_t errlen);

/*
 * Writes s into f as a gnuplot single-quoted string: quotes doubled (the
 * only escape gnuplot knows inside '...'), bytes below 0x20 and 0x7f
 * replaced by a space.  Public for its test.
 */
void plot_quote(FILE *f, const char *s);

#endif
