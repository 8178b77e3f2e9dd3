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
 *
 * On top of that: the median, Welch's unequal-variance t-test, a Fieller
 * interval for the ratio of two means (reported as a % change), and the
 * ordinary least-squares line with its prediction interval for
 * controller/model.c.  Each function names its source below.
 */
#include "stats.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
    return stats_t_quantile_df(p, (double)df);
}

double
stats_t_quantile_df(double p, double df)
{
    double a, target, lo = 0.0, hi = 1.0, x, t;

    if (!(df > 0.0) || !isfinite(df) || !(p > 0.0 && p < 1.0))
        return NAN;
    if (p == 0.5)
        return 0.0;
    if (p < 0.5)
        return -stats_t_quantile_df(1.0 - p, df);
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

double
stats_t_cdf(double t, double df)
{
    double tail;

    if (isnan(t) || !(df > 0.0) || !isfinite(df))
        return NAN;
    if (isinf(t))
        return t > 0 ? 1.0 : 0.0;
    tail = 0.5 * stats_betai(df / 2.0, 0.5, df / (df + t * t)); /* P(T > |t|) */
    return t >= 0 ? 1.0 - tail : tail;
}

static int
stats_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double
stats_median(const double *x, int n)
{
    double *c, m;

    if (!x || n < 1 || !(c = malloc((size_t)n * sizeof *c)))
        return NAN;
    memcpy(c, x, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, stats_cmp_double);
    m = n % 2 ? c[n / 2] : c[n / 2 - 1] + (c[n / 2] - c[n / 2 - 1]) / 2.0;
    free(c);
    return m;
}

int
stats_welch(const stats_summary_t *a, const stats_summary_t *b, stats_welch_t *out)
{
    double va, vb, se2;

    if (!a || !b || !out || a->n < 2 || b->n < 2)
        return -1;
    va = a->stddev * a->stddev / a->n;
    vb = b->stddev * b->stddev / b->n;
    se2 = va + vb;
    if (se2 == 0.0) {
        /* Both groups constant: no spread to test against; equal or not, exactly. */
        out->df = a->n + b->n - 2;
        out->t = a->mean == b->mean ? 0.0 : copysign(INFINITY, a->mean - b->mean);
        out->p = a->mean == b->mean ? 1.0 : 0.0;
        return 0;
    }
    out->t = (a->mean - b->mean) / sqrt(se2);
    /* Welch-Satterthwaite: df = (va + vb)^2 / (va^2/(na-1) + vb^2/(nb-1)). */
    out->df = se2 * se2 / (va * va / (a->n - 1) + vb * vb / (b->n - 1));
    out->p = 2.0 * (1.0 - stats_t_cdf(fabs(out->t), out->df));
    if (out->p > 1.0)
        out->p = 1.0;
    return 0;
}

int
stats_change_ci(const stats_summary_t *x, const stats_summary_t *base, double confidence,
                double *lo, double *hi)
{
    double v1, v0, m1, m0, t, df, den, disc, r_lo, r_hi;

    if (!x || !base || !lo || !hi || x->n < 2 || base->n < 2 ||
        !(confidence > 0.0 && confidence < 1.0))
        return -1;
    m1 = x->mean;
    m0 = base->mean;
    v1 = x->stddev * x->stddev / x->n;
    v0 = base->stddev * base->stddev / base->n;
    if (v1 + v0 == 0.0) {
        if (m0 == 0.0)
            return -1;
        *lo = *hi = 100.0 * (m1 / m0 - 1.0);
        return 0;
    }
    df = (v1 + v0) * (v1 + v0) / (v1 * v1 / (x->n - 1) + v0 * v0 / (base->n - 1));
    t = stats_t_quantile_df((1.0 + confidence) / 2.0, df);
    /*
     * Fieller: the rho with (m1 - rho m0)^2 <= t^2 (v1 + rho^2 v0), i.e.
     * rho^2 (m0^2 - t^2 v0) - 2 rho m1 m0 + (m1^2 - t^2 v1) <= 0.  Bounded
     * only when the baseline mean differs from 0 significantly
     * (m0^2 > t^2 v0, "g < 1").
     */
    den = m0 * m0 - t * t * v0;
    if (!(den > 0.0))
        return -1;
    disc = m1 * m1 * v0 + m0 * m0 * v1 - t * t * v0 * v1;
    if (disc < 0.0)
        return -1;
    r_lo = (m1 * m0 - t * sqrt(disc)) / den;
    r_hi = (m1 * m0 + t * sqrt(disc)) / den;
    *lo = 100.0 * (r_lo - 1.0);
    *hi = 100.0 * (r_hi - 1.0);
    return 0;
}

int
stats_linfit(const double *x, const double *y, int n, stats_linfit_t *out)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0, sse = 0;

    if (!x || !y || !out || n < 3)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return -1;
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx == 0.0)
        return -1;
    out->n = n;
    out->b = sxy / sxx;
    out->a = my - out->b * mx;
    for (int i = 0; i < n; i++) {
        double r = y[i] - (out->a + out->b * x[i]);

        sse += r * r;
    }
    out->r2 = syy > 0.0 ? 1.0 - sse / syy : 1.0;
    out->s = sqrt(sse / (n - 2));
    out->se_b = out->s / sqrt(sxx);
    out->se_a = out->s * sqrt(1.0 / n + mx * mx / sxx);
    out->xbar = mx;
    out->sxx = sxx;
    return 0;
}

int
stats_linfit_predict(const stats_linfit_t *fit, double x0, double confidence, double *y,
                     double *lo, double *hi)
{
    double half;

    if (!fit || !y || !lo || !hi || fit->n < 3 || !(confidence > 0.0 && confidence < 1.0) ||
        !isfinite(x0))
        return -1;
    *y = fit->a + fit->b * x0;
    half = stats_t_quantile((1.0 + confidence) / 2.0, fit->n - 2) * fit->s *
           sqrt(1.0 + 1.0 / fit->n + (x0 - fit->xbar) * (x0 - fit->xbar) / fit->sxx);
    *lo = *y - half;
    *hi = *y + half;
    return 0;
}
