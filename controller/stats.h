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

/* stats_t_quantile for real df > 0 (Welch-Satterthwaite df are not integers). NAN on bad input. */
double stats_t_quantile_df(double p, double df);

/*
 * P(T <= t) for Student's t with df > 0 degrees of freedom, from
 * P(|T| > t) = I_x(df/2, 1/2), x = df / (df + t^2) (Abramowitz & Stegun
 * 26.7.1 with 26.5.27).  NAN on bad input.
 */
double stats_t_cdf(double t, double df);

/*
 * The median of x[0..n-1] (the mean of the two middle values when n is
 * even; R's median(), Python's statistics.median).  x is not changed.  NAN
 * when n < 1 or out of memory.
 */
double stats_median(const double *x, int n);

typedef struct {
    double t;   /* (mean_a - mean_b) / sqrt(s_a^2/n_a + s_b^2/n_b) */
    double df;  /* Welch-Satterthwaite degrees of freedom, real */
    double p;   /* two-sided p-value, 0..1 */
} stats_welch_t;

/*
 * Welch's unequal-variance t-test of a against b (Welch, "The
 * generalization of Student's problem when several different population
 * variances are involved", Biometrika 34, 1947; R's t.test(var.equal =
 * FALSE)).  Needs n >= 2 in both.  When both standard deviations are 0 the
 * result is exact: p = 1 for equal means, else 0.  0, or -1 (out untouched).
 */
int stats_welch(const stats_summary_t *a, const stats_summary_t *b, stats_welch_t *out);

/*
 * The two-sided interval at `confidence` of the change 100 (mean_x /
 * mean_base - 1) in %, by Fieller's theorem for the ratio of two
 * independent means (E. C. Fieller, "Some problems in interval estimation",
 * JRSS B 16, 1954; V. H. Franz, "Ratios: a short guide to confidence limits
 * and proper use", arXiv:0710.2024, 2007) with the Welch-Satterthwaite df
 * of the two means.  Unlike the delta method it is not symmetric around
 * the point estimate and stays right for large changes.  0 with *lo, *hi in
 * %, or -1 when n < 2 in either group or the interval is unbounded (the
 * baseline mean is not significantly different from 0).
 */
int stats_change_ci(const stats_summary_t *x, const stats_summary_t *base, double confidence,
                    double *lo, double *hi);

typedef struct {
    int n;         /* points */
    double a, b;   /* y = a + b x (ordinary least squares) */
    double se_a;   /* standard error of a */
    double se_b;   /* standard error of b */
    double r2;     /* coefficient of determination 1 - SSE/SST (1 when SST = 0) */
    double s;      /* residual standard error sqrt(SSE / (n - 2)) */
    double xbar;   /* mean of x */
    double sxx;    /* sum of (x - xbar)^2 */
} stats_linfit_t;

/*
 * Least-squares line through (x[i], y[i]), n >= 3 with at least two distinct
 * x (Draper & Smith, "Applied Regression Analysis", ch. 1).  0, or -1 (out
 * untouched) on too few points, equal x, or a value that is not finite.
 */
int stats_linfit(const double *x, const double *y, int n, stats_linfit_t *out);

/*
 * Predicted y at x0 and its two-sided prediction interval for one new
 * observation at `confidence`: y ± t(n-2) s sqrt(1 + 1/n + (x0-xbar)^2/sxx)
 * (Draper & Smith 1.4).  0 or -1 on bad input.
 */
int stats_linfit_predict(const stats_linfit_t *fit, double x0, double confidence, double *y,
                         double *lo, double *hi);

#endif
