/*
 * results.c — the queries behind `cntb results list|show|compare`.
 *
 * compare reads the metric of every done run with the grouping parameters
 * pulled out of run.params_json by json_extract() in SQL (the JSON paths are
 * built from validated names and bound, never pasted into the SQL), gathers
 * the values per group in order of first appearance, summarizes each group
 * with stats.c (mean, sample stddev, Student-t 95 % CI) and finds each
 * group's baseline among the groups.  Output goes through one small table
 * printer (aligned columns), RFC 4180 CSV, or jansson for JSON, so that
 * parameter values of any content come out quoted.  docs/results.md
 * describes every column.
 */
#include "results.h"

#include "metric.h"
#include "stats.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RESULTS_MAX_BY 8           /* grouping parameters */
#define RESULTS_MAX_VALUE 256      /* bytes of a baseline value */
#define RESULTS_CONFIDENCE 0.95
#define RESULTS_NONE "(none)"      /* a run without the parameter */
#define RESULTS_JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(15))

/* ---- small helpers ---------------------------------------------------- */

static void results_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
results_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* 1 when s is 1..max characters of [a-z_] (digits too when digits). */
static bool
results_name_ok(const char *s, size_t len, size_t max, bool digits)
{
    if (len < 1 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
              (digits && s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* A fresh printf-formatted string, or NULL when out of memory. */
static char *results_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
results_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* Writes one CSV field, quoted when it holds a comma, quote or line break. */
static void
results_csv_field(FILE *out, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* A number in CSV: 15 significant digits, empty when not finite. */
static void
results_csv_num(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.15g", v);
}

/* "bit/s" -> "bit_per_s", "%" -> "pct": a unit as part of an identifier. */
static void
results_unit_ident(const char *unit, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (const char *p = unit; p && *p && o + 6 < len; p++) {
        if (*p == '/') {
            memcpy(buf + o, "_per_", 5);
            o += 5;
        } else if (*p == '%') {
            memcpy(buf + o, "pct", 3);
            o += 3;
        } else if (isalnum((unsigned char)*p)) {
            buf[o++] = (char)tolower((unsigned char)*p);
        } else if (o > 0 && buf[o - 1] != '_') {
            buf[o++] = '_';
        }
    }
    buf[o] = '\0';
}

/* How values of `unit` around magnitude maxabs are shown in a table. */
typedef struct {
    double div;        /* displayed = value / div */
    const char *unit;  /* displayed unit, NULL when none */
    int decimals;
} results_scale_t;

static results_scale_t
results_scale(const char *unit, double maxabs)
{
    results_scale_t s = { 1.0, unit, 2 };

    if (unit && strcmp(unit, "bit/s") == 0) {
        if (maxabs >= 1e9) {
            s.div = 1e9;
            s.unit = "Gbit/s";
        } else if (maxabs >= 1e6) {
            s.div = 1e6;
            s.unit = "Mbit/s";
        } else if (maxabs >= 1e3) {
            s.div = 1e3;
            s.unit = "kbit/s";
        }
    }
    maxabs /= s.div;
    /* Small values (ratios, fractions of a ms) keep three significant digits. */
    if (maxabs > 0 && maxabs < 1) {
        int d = 3 - (int)floor(log10(maxabs));

        s.decimals = d > 9 ? 9 : d;
    }
    return s;
}

/* ---- an aligned text table -------------------------------------------- */

typedef struct {
    int ncols;
    int nrows;       /* including the header row */
    int cap;         /* rows allocated */
    const char *align; /* per column 'l' or 'r' */
    char **cell;     /* nrows * ncols fresh strings */
} results_table_t;

/* Appends a row of ncols cells taking ownership of them; 0 or -1. */
static int
results_table_add(results_table_t *t, char **cells)
{
    int rc = 0;

    for (int i = 0; i < t->ncols; i++)
        if (!cells[i])
            rc = -1;
    if (rc == 0 && t->nrows == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cell, (size_t)cap * (size_t)t->ncols * sizeof *c);

        if (c) {
            t->cell = c;
            t->cap = cap;
        } else {
            rc = -1;
        }
    }
    if (rc < 0) {
        for (int i = 0; i < t->ncols; i++)
            free(cells[i]);
        return -1;
    }
    memcpy(t->cell + (size_t)t->nrows * (size_t)t->ncols, cells,
           (size_t)t->ncols * sizeof *cells);
    t->nrows++;
    return 0;
}

static void
results_table_print(const results_table_t *t, FILE *out)
{
    int w[32] = { 0 };

    for (int r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols && c < 32; c++) {
            int len = (int)strlen(t->cell[r * t->ncols + c]);

            if (len > w[c])
                w[c] = len;
        }
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols && c < 32; c++) {
            const char *s = t->cell[r * t->ncols + c];
            bool last = c == t->ncols - 1;

            if (c > 0)
                fputs("  ", out);
            if (t->align[c] == 'r')
                fprintf(out, "%*s", w[c], s);
            else if (last)
                fputs(s, out);
            else
                fprintf(out, "%-*s", w[c], s);
        }
        fputc('\n', out);
    }
}

static void
results_table_free(results_table_t *t)
{
    for (int i = 0; i < t->nrows * t->ncols; i++)
        free(t->cell[i]);
    free(t->cell);
    t->cell = NULL;
    t->nrows = t->cap = 0;
}

/* ---- compare ----------------------------------------------------------- */

typedef struct {
    char *val[RESULTS_MAX_BY]; /* parameter values as text, fresh */
    double *x;                 /* metric values, in the metric's unit */
    int n, cap;
    stats_summary_t s;
    int base;                  /* index of the baseline group, -1 none */
} results_group_t;

/* A parameter value as text: a fresh string, or NULL when out of memory. */
static char *
results_param_text(sqlite3_stmt *st, int col)
{
    const char *type = (const char *)sqlite3_column_text(st, col + 1);
    const char *v;

    if (!type || strcmp(type, "null") == 0)
        return strdup(RESULTS_NONE);
    if (strcmp(type, "true") == 0 || strcmp(type, "false") == 0)
        return strdup(type);
    v = (const char *)sqlite3_column_text(st, col);
    return strdup(v ? v : "");
}

static int
results_group_push(results_group_t *g, double v)
{
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 8;
        double *x = realloc(g->x, (size_t)cap * sizeof *x);

        if (!x)
            return -1;
        g->x = x;
        g->cap = cap;
    }
    g->x[g->n++] = v;
    return 0;
}

/*
 * Resolves batch (0 = latest, -1 = all) to an id or -1; *empty when the
 * database has no batch at all.  0 or -1 with err.
 */
static int
results_batch_resolve(store_t *store, int64_t *batch, bool *empty, char *err, size_t errlen)
{
    sqlite3 *db = store_db(store);
    sqlite3_stmt *st = NULL;
    int rc = -1;

    *empty = false;
    if (*batch < -1) {
        results_err(err, errlen, "bad batch id %lld", (long long)*batch);
        return -1;
    }
    if (*batch == -1)
        return 0;
    if (*batch == 0) {
        int64_t b = store_latest_batch(store);

        if (b < 0) {
            results_err(err, errlen, "database: %s", sqlite3_errmsg(db));
            return -1;
        }
        *batch = b;
        *empty = b == 0;
        return 0;
    }
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM batch WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, *batch);
    switch (sqlite3_step(st)) {
    case SQLITE_ROW:
        rc = 0;
        break;
    case SQLITE_DONE:
        results_err(err, errlen, "no batch %lld", (long long)*batch);
        break;
    default:
        goto dberr;
    }
    goto out;
dberr:
    results_err(err, errlen, "database: %s", sqlite3_errmsg(db));
out:
    sqlite3_finalize(st);
    return rc;
}

/* The unit of metric: the standard one, else any stored; fresh or NULL. */
static char *
results_metric_unit(sqlite3 *db, const char *metric)
{
    sqlite3_stmt *st = NULL;
    const char *u = metric_unit(metric);
    char *unit = NULL;

    if (u)
        return strdup(u);
    if (sqlite3_prepare_v2(db, "SELECT unit FROM metric WHERE name = ?1 AND unit IS NOT NULL"
                               " LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, metric, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        unit = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return unit;
}

/* Parses and checks `by`; names point into buf.  Returns the count or -1 with err. */
static int
results_parse_by(const char *by, char *buf, size_t buflen, const char **names, char *err,
                 size_t errlen)
{
    int n = 0;
    char *p, *save = NULL;

    if (!by || !*by) {
        results_err(err, errlen, "bad --by: give one or more parameter names, e.g. network");
        return -1;
    }
    if (strlen(by) >= buflen) {
        results_err(err, errlen, "bad --by: too long");
        return -1;
    }
    strcpy(buf, by);
    if (buf[strlen(buf) - 1] == ',' || buf[0] == ',' || strstr(buf, ",,")) {
        results_err(err, errlen, "bad --by '%s': empty parameter name", by);
        return -1;
    }
    for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (!results_name_ok(p, strlen(p), 32, false)) {
            results_err(err, errlen,
                        "bad --by '%s': parameter name '%.40s' must be 1 to 32 of [a-z_]", by, p);
            return -1;
        }
        for (int i = 0; i < n; i++)
            if (strcmp(names[i], p) == 0) {
                results_err(err, errlen, "bad --by '%s': '%s' given twice", by, p);
                return -1;
            }
        if (n == RESULTS_MAX_BY) {
            results_err(err, errlen, "bad --by '%s': at most %d parameters", by,
                        RESULTS_MAX_BY);
            return -1;
        }
        names[n++] = p;
    }
    return n;
}

/* Prints the groups as a table; 0 or -1 (out of memory). */
static int
results_compare_table(results_group_t *g, int ng, const char *const *names, int nby,
                      const char *unit, const char *baseline, FILE *out)
{
    results_table_t t = { 0 };
    char align[RESULTS_MAX_BY + 6];
    char *cells[RESULTS_MAX_BY + 6];
    char us[40] = "";
    double maxabs = 0;
    results_scale_t sc;
    int nc = 0, rc = -1;

    for (int i = 0; i < ng; i++)
        if (fabs(g[i].s.mean) > maxabs)
            maxabs = fabs(g[i].s.mean);
    sc = results_scale(unit, maxabs);
    if (sc.unit)
        snprintf(us, sizeof us, " (%s)", sc.unit);
    t.ncols = nby + 4 + (baseline ? 1 : 0);
    for (int i = 0; i < nby; i++) {
        align[i] = 'l';
        cells[nc++] = strdup(names[i]);
    }
    memcpy(align + nby, "rrrll", 5);
    cells[nc++] = strdup("n");
    cells[nc++] = results_fmt("mean%s", us);
    cells[nc++] = results_fmt("stddev%s", us);
    cells[nc++] = results_fmt("95%% CI%s", us);
    if (baseline)
        cells[nc++] = results_fmt("change vs %s", baseline);
    t.align = align;
    if (results_table_add(&t, cells) < 0)
        goto out;
    for (int i = 0; i < ng; i++) {
        const stats_summary_t *s = &g[i].s;
        int d = sc.decimals;

        nc = 0;
        for (int j = 0; j < nby; j++)
            cells[nc++] = strdup(g[i].val[j]);
        cells[nc++] = results_fmt("%d", s->n);
        cells[nc++] = results_fmt("%.*f", d, s->mean / sc.div);
        if (s->n < 2) {
            cells[nc++] = strdup("-");
            cells[nc++] = strdup("-");
        } else {
            cells[nc++] = results_fmt("%.*f", d, s->stddev / sc.div);
            cells[nc++] = results_fmt("[%.*f, %.*f]", d, s->ci_low / sc.div, d,
                                      s->ci_high / sc.div);
        }
        if (baseline) {
            if (g[i].base == i)
                cells[nc++] = strdup("baseline");
            else if (g[i].base < 0 || g[g[i].base].s.mean == 0)
                cells[nc++] = strdup("-");
            else
                cells[nc++] = results_fmt("%+.1f %%", 100.0 * (s->mean - g[g[i].base].s.mean) /
                                                          g[g[i].base].s.mean);
        }
        if (results_table_add(&t, cells) < 0)
            goto out;
    }
    results_table_print(&t, out);
    rc = 0;
out:
    results_table_free(&t);
    return rc;
}

/* The change of group i against its baseline in %, one decimal; NAN when none. */
static double
results_change(const results_group_t *g, int i)
{
    double base;

    if (g[i].base < 0)
        return NAN;
    base = g[g[i].base].s.mean;
    if (base == 0)
        return NAN;
    return round(1000.0 * (g[i].s.mean - base) / base) / 10.0;
}

static void
results_compare_csv(results_group_t *g, int ng, const char *const *names, int nby,
                    const char *unit, FILE *out)
{
    char u[48], us[52] = "";

    results_unit_ident(unit, u, sizeof u);
    if (u[0])
        snprintf(us, sizeof us, "_%s", u);
    for (int j = 0; j < nby; j++)
        fprintf(out, "%s,", names[j]);
    fprintf(out, "n,mean%s,stddev%s,ci95_low%s,ci95_high%s,change_pct\n", us, us, us, us);
    for (int i = 0; i < ng; i++) {
        const stats_summary_t *s = &g[i].s;
        double ch = results_change(g, i);

        for (int j = 0; j < nby; j++) {
            results_csv_field(out, g[i].val[j]);
            fputc(',', out);
        }
        fprintf(out, "%d,", s->n);
        results_csv_num(out, s->mean);
        fputc(',', out);
        results_csv_num(out, s->n < 2 ? NAN : s->stddev);
        fputc(',', out);
        results_csv_num(out, s->ci_low);
        fputc(',', out);
        results_csv_num(out, s->ci_high);
        fputc(',', out);
        if (isfinite(ch))
            fprintf(out, "%+.1f", ch);
        fputc('\n', out);
    }
}

/* json_real, or null for a value that is not finite. */
static json_t *
results_json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int
results_compare_json(results_group_t *g, int ng, const char *const *names, int nby,
                     const char *unit, FILE *out)
{
    char u[48], k[5][64];
    json_t *arr = json_array();
    int rc = -1;

    results_unit_ident(unit, u, sizeof u);
    snprintf(k[0], sizeof k[0], "mean%s%s", u[0] ? "_" : "", u);
    snprintf(k[1], sizeof k[1], "stddev%s%s", u[0] ? "_" : "", u);
    snprintf(k[2], sizeof k[2], "ci95_low%s%s", u[0] ? "_" : "", u);
    snprintf(k[3], sizeof k[3], "ci95_high%s%s", u[0] ? "_" : "", u);
    if (!arr)
        goto out;
    for (int i = 0; i < ng; i++) {
        const stats_summary_t *s = &g[i].s;
        json_t *o = json_object();

        if (!o || json_array_append_new(arr, o) < 0)
            goto out;
        for (int j = 0; j < nby; j++)
            json_object_set_new(o, names[j], json_string(g[i].val[j]));
        json_object_set_new(o, "n", json_integer(s->n));
        json_object_set_new(o, k[0], results_json_num(s->mean));
        json_object_set_new(o, k[1], results_json_num(s->n < 2 ? NAN : s->stddev));
        json_object_set_new(o, k[2], results_json_num(s->ci_low));
        json_object_set_new(o, k[3], results_json_num(s->ci_high));
        json_object_set_new(o, "change_pct", results_json_num(results_change(g, i)));
        json_object_set_new(o, "unit", unit ? json_string(unit) : json_null());
    }
    if (json_dumpf(arr, out, RESULTS_JSON_FLAGS) < 0)
        goto out;
    fputc('\n', out);
    rc = 0;
out:
    json_decref(arr);
    return rc;
}

int
results_compare(store_t *store, int64_t batch, const char *by, const char *baseline,
                const char *metric, results_format_t format, FILE *out, char *err,
                size_t errlen)
{
    char bybuf[RESULTS_MAX_BY * 34], paths[RESULTS_MAX_BY][40], sql[2048];
    const char *names[RESULTS_MAX_BY];
    const char *bval = NULL;
    int nby, bidx = -1, ng = 0, gcap = 0, rc = -1, step;
    results_group_t *g = NULL;
    sqlite3_stmt *st = NULL;
    sqlite3 *db;
    char *unit = NULL;
    bool empty;
    size_t o;

    if (err && errlen)
        err[0] = '\0';
    if (!store || !out) {
        results_err(err, errlen, "no database");
        return -1;
    }
    db = store_db(store);
    nby = results_parse_by(by, bybuf, sizeof bybuf, names, err, errlen);
    if (nby < 0)
        return -1;
    if (baseline) {
        const char *eq = strchr(baseline, '=');

        if (!eq) {
            results_err(err, errlen, "bad --baseline '%.80s': expected param=value", baseline);
            return -1;
        }
        for (int i = 0; i < nby; i++)
            if (strlen(names[i]) == (size_t)(eq - baseline) &&
                strncmp(names[i], baseline, (size_t)(eq - baseline)) == 0)
                bidx = i;
        if (bidx < 0) {
            results_err(err, errlen, "bad --baseline '%.80s': '%.*s' is not one of --by %s",
                        baseline, (int)(eq - baseline > 40 ? 40 : eq - baseline), baseline, by);
            return -1;
        }
        bval = eq + 1;
        if (!*bval || strlen(bval) > RESULTS_MAX_VALUE) {
            results_err(err, errlen, "bad --baseline '%.80s': the value must be 1 to %d bytes",
                        baseline, RESULTS_MAX_VALUE);
            return -1;
        }
    }
    if (!metric || !results_name_ok(metric, strlen(metric), 64, true)) {
        results_err(err, errlen, "bad metric '%.80s': metric names are 1 to 64 of [a-z0-9_]",
                    metric ? metric : "");
        return -1;
    }
    if (results_batch_resolve(store, &batch, &empty, err, errlen) < 0)
        return -1;
    if (empty) {
        fprintf(out, "no batches in the database\n");
        return 1;
    }

    /* Only fixed fragments and parameter numbers go into the SQL text. */
    o = (size_t)snprintf(sql, sizeof sql, "SELECT m.value");
    for (int i = 0; i < nby; i++) {
        snprintf(paths[i], sizeof paths[i], "$.%s", names[i]);
        o += (size_t)snprintf(sql + o, sizeof sql - o,
                              ", json_extract(r.params_json, ?%d), json_type(r.params_json, ?%d)",
                              i + 3, i + 3);
    }
    snprintf(sql + o, sizeof sql - o,
             " FROM run r JOIN metric m ON m.run_id = r.id AND m.name = ?1"
             " WHERE r.state = 'done' AND (?2 = -1 OR r.batch_id = ?2) ORDER BY r.id");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_text(st, 1, metric, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, batch);
    for (int i = 0; i < nby; i++)
        sqlite3_bind_text(st, i + 3, paths[i], -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        char *val[RESULTS_MAX_BY] = { NULL };
        int gi = -1;
        bool oom = false;

        for (int i = 0; i < nby; i++)
            if (!(val[i] = results_param_text(st, 1 + 2 * i)))
                oom = true;
        for (int k = 0; !oom && k < ng && gi < 0; k++) {
            int j = 0;

            while (j < nby && strcmp(g[k].val[j], val[j]) == 0)
                j++;
            if (j == nby)
                gi = k;
        }
        if (!oom && gi < 0) {
            if (ng == gcap) {
                int cap = gcap ? 2 * gcap : 8;
                results_group_t *ng_ = realloc(g, (size_t)cap * sizeof *g);

                if (!ng_) {
                    oom = true;
                } else {
                    g = ng_;
                    gcap = cap;
                }
            }
            if (!oom) {
                gi = ng++;
                memset(&g[gi], 0, sizeof g[gi]);
                memcpy(g[gi].val, val, sizeof val);
                memset(val, 0, sizeof val);
            }
        }
        for (int i = 0; i < nby; i++)
            free(val[i]);
        if (oom || results_group_push(&g[gi], sqlite3_column_double(st, 0)) < 0) {
            results_err(err, errlen, "out of memory");
            goto out;
        }
    }
    if (step != SQLITE_DONE)
        goto dberr;
    if (ng == 0) {
        if (batch == -1)
            fprintf(out, "no done runs with metric %s\n", metric);
        else
            fprintf(out, "no done runs with metric %s in batch %lld\n", metric,
                    (long long)batch);
        rc = 1;
        goto out;
    }
    for (int i = 0; i < ng; i++) {
        if (stats_summarize(g[i].x, g[i].n, RESULTS_CONFIDENCE, &g[i].s) < 0) {
            results_err(err, errlen, "metric %s: a stored value is not a finite number", metric);
            goto out;
        }
        g[i].base = -1;
        for (int k = 0; bval && k < ng && g[i].base < 0; k++) {
            int j = 0;

            while (j < nby && strcmp(g[k].val[j], j == bidx ? bval : g[i].val[j]) == 0)
                j++;
            if (j == nby)
                g[i].base = k;
        }
    }
    unit = results_metric_unit(db, metric);
    switch (format) {
    case RESULTS_CSV:
        results_compare_csv(g, ng, names, nby, unit, out);
        rc = 0;
        break;
    case RESULTS_JSON:
        rc = results_compare_json(g, ng, names, nby, unit, out);
        break;
    default:
        rc = results_compare_table(g, ng, names, nby, unit, baseline, out);
        break;
    }
    if (rc < 0)
        results_err(err, errlen, "out of memory");
    goto out;
dberr:
    results_err(err, errlen, "database: %s", sqlite3_errmsg(db));
    rc = -1;
out:
    sqlite3_finalize(st);
    for (int i = 0; i < ng; i++) {
        for (int j = 0; j < nby; j++)
            free(g[i].val[j]);
        free(g[i].x);
    }
    free(g);
    free(unit);
    return rc;
}

/* ---- list -------------------------------------------------------------- */

/* A column as a fresh string; NULL SQL values become dflt. */
static char *
results_col(sqlite3_stmt *st, int col, const char *dflt)
{
    const char *v = (const char *)sqlite3_column_text(st, col);

    return strdup(v ? v : dflt);
}

/* A column as JSON: null, an integer, a real or a string. */
static json_t *
results_col_json(sqlite3_stmt *st, int col)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL:
        return json_null();
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, col));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, col));
    default:
        return json_string((const char *)sqlite3_column_text(st, col));
    }
}

/* A bit/s value scaled for reading ("41.20 Gbit/s"), fresh; "-" for NULL. */
static char *
results_rate_text(sqlite3_stmt *st, int col)
{
    results_scale_t sc;
    double v;

    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return strdup("-");
    v = sqlite3_column_double(st, col);
    sc = results_scale("bit/s", fabs(v));
    return results_fmt("%.*f %s", sc.decimals, v / sc.div, sc.unit);
}

/*
 * Prints the rows of st in format: columns named by keys (CSV header, JSON
 * keys) and heads (table header); json_cols[i] says the column holds JSON
 * text (decoded into JSON output); rate_col is a bit/s column scaled in
 * tables (-1 none).  0 or -1 with err.
 */
static int
results_print_rows(sqlite3_stmt *st, int ncols, const char *const *keys,
                   const char *const *heads, const char *align, const bool *json_cols,
                   int rate_col, results_format_t format, const char *none, FILE *out,
                   char *err, size_t errlen)
{
    results_table_t t = { .ncols = ncols, .align = align };
    json_t *arr = NULL;
    char *cells[16];
    int step, rc = -1, rows = 0;

    if (format == RESULTS_JSON && !(arr = json_array()))
        goto oom;
    if (format == RESULTS_CSV) {
        for (int c = 0; c < ncols; c++)
            fprintf(out, "%s%s", c ? "," : "", keys[c]);
        fputc('\n', out);
    } else if (format == RESULTS_TABLE) {
        for (int c = 0; c < ncols; c++)
            cells[c] = strdup(heads[c]);
        if (results_table_add(&t, cells) < 0)
            goto oom;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        if (format == RESULTS_CSV) {
            for (int c = 0; c < ncols; c++) {
                if (c)
                    fputc(',', out);
                if (sqlite3_column_type(st, c) == SQLITE_FLOAT)
                    results_csv_num(out, sqlite3_column_double(st, c));
                else
                    results_csv_field(out, (const char *)sqlite3_column_text(st, c));
            }
            fputc('\n', out);
        } else if (format == RESULTS_JSON) {
            json_t *o = json_object();

            if (!o || json_array_append_new(arr, o) < 0)
                goto oom;
            for (int c = 0; c < ncols; c++) {
                json_t *v = NULL;

                if (json_cols[c] && sqlite3_column_type(st, c) != SQLITE_NULL)
                    v = json_loads((const char *)sqlite3_column_text(st, c), JSON_DECODE_ANY,
                                   NULL);
                json_object_set_new(o, keys[c], v ? v : results_col_json(st, c));
            }
        } else {
            for (int c = 0; c < ncols; c++)
                cells[c] = c == rate_col ? results_rate_text(st, c) : results_col(st, c, "-");
            if (results_table_add(&t, cells) < 0)
                goto oom;
        }
    }
    if (step != SQLITE_DONE) {
        results_err(err, errlen, "database: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
        goto out;
    }
    if (format == RESULTS_JSON) {
        if (json_dumpf(arr, out, RESULTS_JSON_FLAGS) < 0)
            goto oom;
        fputc('\n', out);
    } else if (format == RESULTS_TABLE) {
        if (rows)
            results_table_print(&t, out);
        else
            fprintf(out, "%s\n", none);
    }
    rc = 0;
    goto out;
oom:
    results_err(err, errlen, "out of memory");
out:
    results_table_free(&t);
    json_decref(arr);
    return rc;
}

int
results_list(store_t *store, int64_t batch, results_format_t format, FILE *out, char *err,
             size_t errlen)
{
    static const char *const bkeys[] = { "id", "name", "testbed", "state", "done",
                                         "failed", "skipped", "total", "created_at" };
    static const char *const bheads[] = { "id", "name", "testbed", "state", "done",
                                          "failed", "skipped", "total", "created (UTC)" };
    static const bool bjson[9] = { false };
    static const char *const rkeys[] = { "id", "repetition", "params", "state", "reason",
                                         "throughput_bps" };
    static const char *const rheads[] = { "id", "rep", "params", "state", "reason",
                                          "throughput" };
    static const bool rjson[6] = { false, false, true, false, false, false };
    sqlite3_stmt *st = NULL;
    sqlite3 *db;
    bool empty;
    int rc = -1;

    if (err && errlen)
        err[0] = '\0';
    if (!store || !out) {
        results_err(err, errlen, "no database");
        return -1;
    }
    db = store_db(store);
    if (batch == -1) {
        if (sqlite3_prepare_v2(db,
                               "SELECT b.id, b.matrix_name, b.testbed, b.state,"
                               " count(CASE WHEN r.state = 'done' THEN 1 END),"
                               " count(CASE WHEN r.state = 'failed' THEN 1 END),"
                               " count(CASE WHEN r.state = 'skipped' THEN 1 END),"
                               " count(r.id), b.created_at"
                               " FROM batch b LEFT JOIN run r ON r.batch_id = b.id"
                               " GROUP BY b.id ORDER BY b.id",
                               -1, &st, NULL) != SQLITE_OK)
            goto dberr;
        rc = results_print_rows(st, 9, bkeys, bheads, "rlllrrrrl", bjson, -1, format,
                                "no batches", out, err, errlen);
        goto out;
    }
    if (results_batch_resolve(store, &batch, &empty, err, errlen) < 0)
        return -1;
    if (empty) {
        batch = -1;     /* matches no run: prints the empty list */
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT r.id, r.repetition, json(r.params_json), r.state, r.reason,"
                           " m.value FROM run r LEFT JOIN metric m ON m.run_id = r.id"
                           " AND m.name = 'throughput_bps' WHERE r.batch_id = ?1"
                           " ORDER BY r.idx",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, batch);
    rc = results_print_rows(st, 6, rkeys, rheads, "rrlllr", rjson, 5, format,
                            empty ? "no batches" : "no runs", out, err, errlen);
    goto out;
dberr:
    results_err(err, errlen, "database: %s", sqlite3_errmsg(db));
out:
    sqlite3_finalize(st);
    return rc;
}

/* ---- show -------------------------------------------------------------- */

int
results_show(store_t *store, int64_t run, results_format_t format, FILE *out, char *err,
             size_t errlen)
{
    static const char *const fields[] = { "id", "batch", "point", "repetition", "params",
                                          "state", "reason", "client_host", "server_host",
                                          "created_at", "started_at", "finished_at" };
    static const char *const heads[] = { "run", "batch", "point", "repetition", "params",
                                         "state", "reason", "client host", "server host",
                                         "created (UTC)", "started (UTC)", "finished (UTC)" };
    enum { NF = sizeof fields / sizeof fields[0] };
    sqlite3_stmt *st = NULL, *mt = NULL;
    sqlite3 *db;
    json_t *obj = NULL, *metrics = NULL;
    results_table_t t = { .ncols = 3, .align = "lrl" };
    int rc = -1, step;

    if (err && errlen)
        err[0] = '\0';
    if (!store || !out) {
        results_err(err, errlen, "no database");
        return -1;
    }
    db = store_db(store);
    if (run < 1) {
        results_err(err, errlen, "bad run id %lld", (long long)run);
        return -1;
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT id, batch_id, point, repetition, json(params_json), state,"
                           " reason, client_host, server_host, created_at, started_at,"
                           " finished_at FROM run WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT name, value, unit FROM metric WHERE run_id = ?1"
                               " ORDER BY name", -1, &mt, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(mt, 1, run);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        results_err(err, errlen, "no run %lld", (long long)run);
        goto out;
    }
    if (step != SQLITE_ROW)
        goto dberr;

    if (format == RESULTS_JSON) {
        if (!(obj = json_object()) || !(metrics = json_object()))
            goto oom;
        for (int c = 0; c < NF; c++) {
            json_t *v = NULL;

            if (c == 4)
                v = json_loads((const char *)sqlite3_column_text(st, c), 0, NULL);
            json_object_set_new(obj, fields[c], v ? v : results_col_json(st, c));
        }
        while ((step = sqlite3_step(mt)) == SQLITE_ROW) {
            json_t *m = json_pack("{s:f, s:o}", "value", sqlite3_column_double(mt, 1), "unit",
                                  results_col_json(mt, 2));

            if (!m || json_object_set_new(metrics, (const char *)sqlite3_column_text(mt, 0),
                                          m) < 0)
                goto oom;
        }
        if (step != SQLITE_DONE)
            goto dberr;
        json_object_set(obj, "metrics", metrics);
        if (json_dumpf(obj, out, RESULTS_JSON_FLAGS) < 0)
            goto oom;
        fputc('\n', out);
    } else if (format == RESULTS_CSV) {
        fprintf(out, "field,value,unit\n");
        for (int c = 0; c < NF; c++) {
            fprintf(out, "%s,", fields[c]);
            results_csv_field(out, (const char *)sqlite3_column_text(st, c));
            fprintf(out, ",\n");
        }
        while ((step = sqlite3_step(mt)) == SQLITE_ROW) {
            results_csv_field(out, (const char *)sqlite3_column_text(mt, 0));
            fputc(',', out);
            results_csv_num(out, sqlite3_column_double(mt, 1));
            fputc(',', out);
            results_csv_field(out, (const char *)sqlite3_column_text(mt, 2));
            fputc('\n', out);
        }
        if (step != SQLITE_DONE)
            goto dberr;
    } else {
        int w = 0;

        for (int c = 0; c < NF; c++)
            if ((int)strlen(heads[c]) > w)
                w = (int)strlen(heads[c]);
        for (int c = 0; c < NF; c++) {
            const char *v = (const char *)sqlite3_column_text(st, c);

            fprintf(out, "%-*s  %s\n", w, heads[c], v ? v : "-");
        }
        {
            char *cells[3] = { strdup("metric"), strdup("value"), strdup("unit") };

            if (results_table_add(&t, cells) < 0)
                goto oom;
        }
        while ((step = sqlite3_step(mt)) == SQLITE_ROW) {
            const char *unit = (const char *)sqlite3_column_text(mt, 2);
            double v = sqlite3_column_double(mt, 1);
            char *cells[3];

            cells[0] = results_col(mt, 0, "");
            cells[1] = results_fmt("%.15g", v);
            if (unit && strcmp(unit, "bit/s") == 0 && fabs(v) >= 1e3) {
                results_scale_t sc = results_scale(unit, fabs(v));

                cells[2] = results_fmt("%s (%.*f %s)", unit, sc.decimals, v / sc.div,
                                       sc.unit);
            } else {
                cells[2] = strdup(unit ? unit : "-");
            }
            if (results_table_add(&t, cells) < 0)
                goto oom;
        }
        if (step != SQLITE_DONE)
            goto dberr;
        fputc('\n', out);
        if (t.nrows > 1)
            results_table_print(&t, out);
        else
            fprintf(out, "no metrics\n");
    }
    rc = 0;
    goto out;
oom:
    results_err(err, errlen, "out of memory");
    goto out;
dberr:
    results_err(err, errlen, "database: %s", sqlite3_errmsg(db));
out:
    results_table_free(&t);
    json_decref(obj);
    json_decref(metrics);
    sqlite3_finalize(st);
    sqlite3_finalize(mt);
    return rc;
}
