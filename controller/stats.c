/*
 * stats.c — mean, sample standard deviation and Student-t confidence
 * intervals for `cntb results compare`.
 *
 * The t quantile is found from the t distribution's CDF, which is a
 * regularized incomplete beta function:
 *     P(|T| > t) = I_x(df/2, 1/2),  x = df / (df + t^2)
 * I_x(a, b) is evaluated with its continued fraction (modified Lentz, as in
 * Numerical Recipes 6.4 and Cephes' incbet), and the equation
 * I_x(df/2, 1/2) = 2 (1 - p) is solved for x by bisection, which cannot
 * diverge and needs no derivative; t = sqrt(df (1 - x) / x).
 */
#include "stats.h"

#include <float.h>
#include <math.h>
#include <stddef.h>

#define STATS_CF_MAXIT 10000
#define STATS_CF_EPS 1e-16
#define STATS_TINY 1e-300

/* The continued fraction of I_x(a, b) (NR's betacf), converging for x < (a+1)/(a+b+2). */
static double
stats_betacf(double a, double b, double x)
{
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap, h;

    if (fabs(d) < STATS_TINY)
        d = STATS_TINY;
    d = 1.0 / d;
    h = d;
    for (int m = 1; m <= STATS_CF_MAXIT; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2)), del;

        d = 1.0 + aa * d;
        if (fabs(d) < STATS_TINY)
            d = STATS_TINY;
        c = 1.0 + aa / c;
        if (fabs(c) < STATS_TINY)
            c = STATS_TINY;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < STATS_TINY)
            d = STATS_TINY;
        c = 1.0 + aa / c;
        if (fabs(c) < STATS_TINY)
            c = STATS_TINY;
        d = 1.0 / d;
        del = d * c;
        h *= del;
        if (fabs(del - 1.0) < STATS_CF_EPS)
            break;
    }
    return h;
}

/* The regularized incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1. */
static double
stats_betai(double a, double b, double x)
{
    double bt;

    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    bt = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1.0) / (a + b + 2.0))
        return bt * stats_betacf(a, b, x) / a;
    return 1.0 - bt * stats_betacf(b, a, 1.0 - x) / b;
}

double
stats_t_quantile(double p, int df)
{
    double a, target, lo = 0.0, hi = 1.0, x, t;

    if (df < 1 || !(p > 0.0 && p < 1.0))
        return NAN;
    if (p == 0.5)
        return 0.0;
    if (p < 0.5)
        return -stats_t_quantile(1.0 - p, df);
    /* P(T > t) = 1 - p = I_x(df/2, 1/2) / 2, and I_x grows with x. */
    a = df / 2.0;
    target = 2.0 * (1.0 - p);
    for (int i = 0; i < 2000; i++) {
        double mid = lo + (hi - lo) / 2.0;

        if (mid <= lo || mid >= hi)
            break;
        if (stats_betai(a, 0.5, mid) < target)
            lo = mid;
        else
            hi = mid;
        if (hi - lo <= lo * 4 * DBL_EPSILON)
            break;
    }
    x = lo + (hi - lo) / 2.0;
    if (x <= 0.0)
        return INFINITY;
    t = sqrt(df * ((1.0 - x) / x));
    return t;
}

int
stats_summarize(const double *x, int n, double confidence, stats_summary_t *out)
{
    double sum = 0.0, ss = 0.0, mean, sd = 0.0, half;

    if (!x || !out || n < 1 || !(confidence > 0.0 && confidence < 1.0))
        return -1;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return -1;
        sum += x[i];
    }
    mean = sum / n;
    /* Two passes: sums of squared deviations do not cancel like sum(x^2) - n mean^2. */
    for (int i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    out->n = n;
    out->mean = mean;
    if (n < 2) {
        out->stddev = 0.0;
        out->ci_low = NAN;
        out->ci_high = NAN;
        return 0;
    }
    sd = sqrt(ss / (n - 1));
    half = stats_t_quantile((1.0 + confidence) / 2.0, n - 1) * sd / sqrt((double)n);
    out->stddev = sd;
    out->ci_low = mean - half;
    out->ci_high = mean + half;
    return 0;
}
