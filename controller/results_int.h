/*
 * results_int.h — what the files of the results module share and nothing
 * outside controller/results*.c includes: selection and argument parsing,
 * name hints (results.c), output helpers (results_fmt.c), host metadata
 * (results_hostdiff.c).  The public API is results.h.
 */
#ifndef CNTB_RESULTS_INT_H
#define CNTB_RESULTS_INT_H

#include "results.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RESULTS_MAX_BY 8           /* grouping parameters */
#define RESULTS_MAX_VALUE 256      /* bytes of a baseline value */
#define RESULTS_CONFIDENCE 0.95
#define RESULTS_NONE "(none)"      /* a run without the parameter */
#define RESULTS_JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(15))
#define RESULTS_ALPHA 0.05         /* significance level of the Welch test */

/* ---- results.c: arguments, selection, metric units, hints ------------- */

/* printf into err (errlen bytes); does nothing when err is NULL or errlen 0. */
void results_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 when s is 1..max characters of [a-z_] (digits too when digits). */
bool results_name_ok(const char *s, size_t len, size_t max, bool digits);

/*
 * Resolves batch (0 = latest, -1 = all) to an id or -1; *empty when the
 * database has no batch at all.  0 or -1 with err.
 */
int results_batch_resolve(store_t *store, int64_t *batch, bool *empty, char *err,
                          size_t errlen);

/*
 * Resolves the selection (sel->batch as results_batch_resolve); what gets
 * " in batch N" or " in the batches of matrix M" (wlen bytes) for messages.
 * 0, 1 (nothing to select) or -1 with err.
 */
int results_select_resolve(store_t *store, results_select_t *sel, char *what, size_t wlen,
                           char *err, size_t errlen);

/* The unit of metric: the standard one, else any stored; fresh or NULL. */
char *results_metric_unit(sqlite3 *db, const char *metric);

/* 1 when the metric is standard or stored at least once; 0; -1 on a database error. */
int results_metric_exists(sqlite3 *db, const char *metric);

/*
 * The error of an unknown metric: the closest standard names and names
 * stored in the database, else the names the database holds.
 */
void results_unknown_metric(sqlite3 *db, const char *metric, char *err, size_t errlen);

/* Parses and checks `by`; names point into buf.  Returns the count or -1 with err. */
int results_parse_by(const char *by, char *buf, size_t buflen, const char **names, char *err,
                     size_t errlen);

/* The baseline parameter (into param, plen bytes) and value (into baseline)
 * of "param=value"; 0 or -1 with err. */
int results_parse_baseline(const char *baseline, char *param, size_t plen, const char **value,
                           char *err, size_t errlen);

/*
 * Orders two values of parameter key: "(none)" last; values of a string
 * parameter in the order of its table in docs/matrix.md (matrix_param_rank),
 * known before unknown; numbers by value; text by bytes.  <0, 0, >0.
 */
int results_value_cmp(const char *key, const char *a, const char *b);

/* A JSON parameter value as text: strings as is, true/false, numbers as JSON; fresh. */
char *results_value_text(const json_t *v);

/* Suggestions for a mistyped name: the closest candidates so far. */
typedef struct {
    const char *word;
    const char *best[3];
    int dist[3];
    int n;
} results_hint_t;

/*
 * Considers cand for word: close when the edit distance is at most
 * max(2, len/3 + 1) (rtt_p50 -> rtt_us_p50 is 3) or cand holds word (3 bytes
 * or more); keeps the 3 closest, the first seen on a tie.  cand must outlive h.
 */
void results_hint_add(results_hint_t *h, const char *cand);

/* " (did you mean a, b or c?)" into out, or "" without a suggestion. */
void results_hint_text(const results_hint_t *h, char *out, size_t len);

/* ---- results_fmt.c: text, CSV, table cells, the aligned table --------- */

/* A fresh printf-formatted string, or NULL when out of memory. */
char *results_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes one CSV field, quoted when it holds a comma, quote or line break. */
void results_csv_field(FILE *out, const char *s);

/* A number in CSV: 15 significant digits, empty when not finite. */
void results_csv_num(FILE *out, double v);

/* "bit/s" -> "bit_per_s", "%" -> "pct": a unit as part of an identifier. */
void results_unit_ident(const char *unit, char *buf, size_t len);

/* How values of `unit` around magnitude maxabs are shown in a table. */
typedef struct {
    double div;        /* displayed = value / div */
    const char *unit;  /* displayed unit, NULL when none */
    int decimals;
} results_scale_t;

results_scale_t results_scale(const char *unit, double maxabs);

/* A column as a fresh string; NULL SQL values become dflt. */
char *results_col(sqlite3_stmt *st, int col, const char *dflt);

/* A column as JSON: null, an integer, a real or a string (fresh). */
json_t *results_col_json(sqlite3_stmt *st, int col);

/* An aligned text table. */
typedef struct {
    int ncols;
    int nrows;       /* including the header row */
    int cap;         /* rows allocated */
    const char *align; /* per column 'l' or 'r' */
    char **cell;     /* nrows * ncols fresh strings */
} results_table_t;

/* Appends a row of ncols cells taking ownership of them; 0 or -1. */
int results_table_add(results_table_t *t, char **cells);

/* Prints the rows, each column as wide as its widest cell. */
void results_table_print(const results_table_t *t, FILE *out);

/* Frees the cells; t can take rows again. */
void results_table_free(results_table_t *t);

/* ---- results_hostdiff.c: host metadata -------------------------------- */

/* The metadata of every host of a batch: a fresh object host -> meta (empty when none). */
json_t *results_batch_meta(sqlite3 *db, int64_t batch);

/* Appends (dotted path, text value) pairs of a JSON tree to acc; 0 or -1. */
int results_flatten(json_t *acc, const char *prefix, const json_t *v);

#endif
