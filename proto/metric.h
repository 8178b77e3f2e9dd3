/*
 * metric.h — the standard metric names of DESIGN.md and their units.
 */
#ifndef CNTB_METRIC_H
#define CNTB_METRIC_H

#include <stddef.h>

/*
 * Returns the unit of a standard metric ("bit/s", "packet/s", "us", "1/s",
 * "ratio", "count", "%", "ms", "ns"), a static string, or NULL for a name that is
 * not standard.
 */
const char *metric_unit(const char *name);

/* 1 when name is a standard metric, else 0. */
int metric_known(const char *name);

/* The i-th standard metric name (i from 0), a static string, or NULL past the
 * last: for listing them and for suggesting one for a mistyped name. */
const char *metric_name(size_t i);

#endif
