/*
 * stats.h — summary statistics with Student-t confidence intervals.
 */
#ifndef CNTB_STATS_H
#define CNTB_STATS_H

typedef struct {
    int n;            /* samples */
    double mean;      /* in the unit of the samples */
    double stddev;    /* sample standard deviation (n - 1), 0 when n < 2 */
    double ci_low;    /* mean - t * stddev / sqrt(n); NAN when n < 2 */
    double ci_high;   /* mean + t * stddev / sqrt(n); NAN when n < 2 */
} stats_summary_t;

/*
 * Summarizes x[0..n-1] with a two-sided confidence interval at level
 * `confidence` (0 < confidence < 1, e.g. 0.95).  Returns 0, or -1 when
 * n < 1 or confidence is out of range (out untouched).
 */
int stats_summarize(const double *x, int n, double confidence, stats_summary_t *out);

/*
 * Quantile of Student's t distribution: the t with P(T <= t) = p for df
 * degrees of freedom (df >= 1, 0 < p < 1).  Accurate to 1e-6 relative
 * (checked against tables in tests/unit/test_stats.c).  NAN on bad input.
 */
double stats_t_quantile(double p, int df);

#endif
