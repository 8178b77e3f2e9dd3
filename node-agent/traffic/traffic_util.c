/*
 * traffic_util.c — small helpers of cntb-traffic: the monotonic clock,
 * strict number parsing for the command line (strtol/strtod with full-string
 * and range checks, never atoi), and the one-line error reporter.
 */
#include "traffic.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

uint64_t
traffic_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
traffic_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
traffic_parse_double(const char *s, double min, int min_open, double max, double *out)
{
    char *end;
    double v;

    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    if (v < min || (min_open && v == min) || v > max)
        return -1;
    *out = v;
    return 0;
}

void
traffic_err(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One write so that lines of concurrent threads do not interleave. */
    fprintf(stderr, "cntb-traffic: %s\n", line);
}
