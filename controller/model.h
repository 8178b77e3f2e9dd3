/*
 * model.h — `cntb model fit|predict`: the per-packet and per-byte cost of
 * each network path, from packet-rate sweeps over sizes.
 */
#ifndef CNTB_MODEL_H
#define CNTB_MODEL_H

#include "results.h"

#define MODEL_MAX_SIZES 64

/* One path (all keys but size equal) and its line time/packet = a + b size. */
typedef struct {
    char **val;              /* values of the model's keys (size's entry unused), borrowed */
    stats_linfit_t fit;      /* x = size (bytes), y = time per packet (ns) */
    bool fitted;             /* false: fewer than 3 runs or one size only */
    int nruns;               /* runs (points) of the path in the fit, fitted or not */
    int nsizes;
    double size[MODEL_MAX_SIZES];   /* bytes, ascending */
    double resid[MODEL_MAX_SIZES];  /* mean residual at that size, ns (measured - fitted) */
    int base;                /* the baseline path, -1 none */
} model_path_t;

/* Sizes left out of the fit, to check its predictions against (cross-validation). */
typedef struct {
    const double *size;      /* bytes, borrowed; NULL when n is 0 */
    int n;                   /* 0 .. MODEL_MAX_SIZES */
} model_holdout_t;

typedef struct {
    results_groups_t gs;     /* the (path, size) groups of throughput_pps, owned */
    int sidx;                /* index of "size" in gs.keys */
    model_path_t *p;         /* paths in order of first appearance */
    int np;
    int *pathof;             /* path of each group, -1 for none; owned */
    bool *held;              /* per group: its size is held out of the fit; owned */
} model_t;

/*
 * Fits every path of the selection: groups of throughput_pps by `by` plus
 * size (and every other parameter that varies, as in compare); each run
 * gives one point (size, 1e9 / pps ns); least squares per path (stats.c).
 * baseline "param=value" (or NULL) names the baseline path of each path.
 * Runs whose size is in hold (NULL or n 0: none) are left out of the fit
 * (their groups are kept, marked in m->held, for model_check).
 * Returns 0 (caller frees with model_free), 1 when no run has
 * throughput_pps (message in err), -1 with err on a bad argument.
 */
int model_fit_paths(store_t *store, const results_select_t *sel, const char *by,
                    const char *baseline, const model_holdout_t *hold, model_t *m, char *err,
                    size_t errlen);

/* Frees what model_fit_paths filled; accepts a zeroed m. */
void model_free(model_t *m);

/*
 * Prints the fits: per path its keys, runs, sizes, a (ns per packet), b (ns
 * per byte) with standard errors, R², the mean residual per size (ns), and
 * against its baseline path the differences of a and b (the path's own
 * per-packet and per-byte overhead).  0, 1 (no data), -1 with err.
 */
int model_fit(store_t *store, const results_select_t *sel, const char *by,
              const char *baseline, const model_holdout_t *hold, results_format_t format,
              FILE *out, char *err, size_t errlen);

/*
 * Predicts, for each path matching every "param=value" of where[0..nwhere-1],
 * the time per packet at size bytes (1..PARAM_SIZE_MAX, proto/param.h), with the 95 % prediction
 * interval of one new run (Draper & Smith 1.4), and from it packet/s =
 * 1e9 / t and bit/s = packet/s * size * 8 (L4 payload).  0, 1 (no data),
 * -1 with err (bad size, a filter that matches no path).
 */
int model_predict(store_t *store, const results_select_t *sel, const char *by,
                  const model_holdout_t *hold, const char *const *where, int nwhere, double size,
                  results_format_t format, FILE *out, char *err, size_t errlen);

/*
 * Cross-validation: fits every path without the sizes of hold (1 ..
 * MODEL_MAX_SIZES sizes, each measured in the selection) and prints, per
 * path and held-out size, the runs measured there, their mean packet/s, the
 * predicted packet/s with its 95 % prediction interval of one run, and the
 * error of the prediction in % of the measured mean ((predicted − measured)
 * / measured · 100).  A held-out size that no run has is an error: the
 * check would be empty.  0, 1 (no data), -1 with err.
 */
int model_check(store_t *store, const results_select_t *sel, const char *by,
                const model_holdout_t *hold, results_format_t format, FILE *out, char *err,
                size_t errlen);

#endif
