/*
 * results.c — the queries behind `cntb results list|show|compare|diff-hosts|
 * export` (plots: plot.c; models: model.c, both on results_groups_collect).
 *
 * compare reads every finished run of the selection (a batch, all batches,
 * or the batches of a matrix) with its metric value, its params_json text
 * and its flags (view run_flag over result.raw_json) in one statement;
 * runs with identical params_json fall into one point through a hash
 * table, so the JSON is parsed once per point, not per run.  The group key
 * is the --by parameters plus every other parameter whose value differs
 * between points, so no group mixes sizes; each group's baseline is the
 * group equal in every key but the baseline parameter.  Groups are then
 * sorted (results_groups_sort): blocks equal but for the baseline parameter
 * in key order (each parameter's values in matrix.c's table order, numbers
 * by value), the baseline first in each, so the output does not depend on
 * the order the runs ran in.  Done runs without the metric are counted by
 * traffic kind for a note (results_missing_note).  stats.c gives the
 * mean, median, stddev, Student-t CI, Welch's test and Fieller's interval
 * of the change.  export streams runs and their metrics with two cursors
 * ordered by run id.  SQL text holds only fixed fragments; names and values
 * are bound.  Output goes through one small table printer (aligned
 * columns), RFC 4180 CSV, or jansson for JSON, so that parameter values of
 * any content come out quoted.  docs/results.md describes every column.
 */
#include "results.h"

#include "matrix.h"
#include "metric.h"
#include "param.h"
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
#define RESULTS_ALPHA 0.05         /* significance level of the Welch test */

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


/* ---- ordering and hints ------------------------------------------------ */

int
results_sort_parse(const char *s, results_sort_t *sort)
{
    if (!s || !sort)
        return -1;
    if (strcmp(s, "key") == 0)
        *sort = RESULTS_SORT_KEY;
    else if (strcmp(s, "value") == 0)
        *sort = RESULTS_SORT_VALUE;
    else if (strcmp(s, "change") == 0)
        *sort = RESULTS_SORT_CHANGE;
    else
        return -1;
    return 0;
}

/* A whole string that is a finite number: *v gets it. */
static bool
results_number(const char *s, double *v)
{
    char *end;

    if (!*s)
        return false;
    errno = 0;
    *v = strtod(s, &end);
    return !*end && errno == 0 && isfinite(*v);
}

/*
 * Orders two values of parameter key: "(none)" last; values of a string
 * parameter in the order of its table in docs/matrix.md (matrix_param_rank),
 * known before unknown; numbers by value; text by bytes.  <0, 0, >0.
 */
static int
results_value_cmp(const char *key, const char *a, const char *b)
{
    bool na = strcmp(a, RESULTS_NONE) == 0, nb = strcmp(b, RESULTS_NONE) == 0;
    int ra, rb;
    double x, y;

    if (na || nb)
        return na - nb;
    ra = matrix_param_rank(key, a);
    rb = matrix_param_rank(key, b);
    if (ra >= 0 || rb >= 0)
        return ra < 0 ? 1 : rb < 0 ? -1 : ra - rb;
    if (results_number(a, &x) && results_number(b, &y) && x != y)
        return x < y ? -1 : 1;
    return strcmp(a, b);
}

typedef struct {
    const results_groups_t *gs;
    results_sort_t sort;
} results_sort_ctx_t;

typedef struct {
    int i;                          /* the group's index before sorting */
    const results_sort_ctx_t *c;
} results_sort_item_t;

static int
results_group_cmp(const void *pa, const void *pb)
{
    const results_sort_item_t *ia = pa, *ib = pb;
    const results_groups_t *gs = ia->c->gs;
    const results_group_t *a = &gs->g[ia->i], *b = &gs->g[ib->i];
    results_sort_t sort = ia->c->sort;
    int bidx = gs->bval ? gs->bidx : -1, c;

    /* Blocks: equal in every key but the baseline parameter.  Without a
     * baseline, value and change order the whole table. */
    if (bidx >= 0 || sort == RESULTS_SORT_KEY)
        for (int j = 0; j < gs->nkeys; j++)
            if (j != bidx && (c = results_value_cmp(gs->keys[j], a->val[j], b->val[j])) != 0)
                return c;
    if (bidx >= 0) {
        bool ba = strcmp(a->val[bidx], gs->bval) == 0, bb = strcmp(b->val[bidx], gs->bval) == 0;

        if (ba != bb)
            return ba ? -1 : 1;
    }
    if (sort == RESULTS_SORT_VALUE && a->s.mean != b->s.mean)
        return a->s.mean > b->s.mean ? -1 : 1;
    if (sort == RESULTS_SORT_CHANGE) {
        bool ha = isfinite(a->change), hb = isfinite(b->change);

        if (ha != hb)
            return ha ? -1 : 1;
        if (ha && a->change != b->change)
            return a->change > b->change ? -1 : 1;
    }
    for (int j = 0; j < gs->nkeys; j++)
        if ((c = results_value_cmp(gs->keys[j], a->val[j], b->val[j])) != 0)
            return c;
    return ia->i - ib->i;
}

void
results_groups_sort(results_groups_t *gs, results_sort_t sort)
{
    results_sort_ctx_t c = { gs, sort };
    results_sort_item_t *it;
    results_group_t *ng;
    int *where;

    if (!gs || gs->ng < 2)
        return;
    it = calloc((size_t)gs->ng, sizeof *it);
    ng = calloc((size_t)gs->ng, sizeof *ng);
    where = calloc((size_t)gs->ng, sizeof *where);
    if (it && ng && where) {
        for (int i = 0; i < gs->ng; i++)
            it[i] = (results_sort_item_t){ i, &c };
        qsort(it, (size_t)gs->ng, sizeof *it, results_group_cmp);
        for (int k = 0; k < gs->ng; k++) {
            ng[k] = gs->g[it[k].i];
            where[it[k].i] = k;
        }
        for (int k = 0; k < gs->ng; k++)
            if (ng[k].base >= 0)
                ng[k].base = where[ng[k].base];
        memcpy(gs->g, ng, (size_t)gs->ng * sizeof *ng);
    }
    /* Out of memory: the groups stay as they were, which is still a valid order. */
    free(it);
    free(ng);
    free(where);
}

/*
 * Edit distance of a and b (optimal string alignment: a byte inserted,
 * deleted or replaced, or two neighbours swapped, counts 1); names longer
 * than 64 bytes count as far.
 */
static int
results_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int d[65][65];

    if (la > 64 || lb > 64)
        return 1000;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;

            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

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
static void
results_hint_add(results_hint_t *h, const char *cand)
{
    size_t len = strlen(h->word);
    int d = results_distance(h->word, cand), lim = (int)(len / 3 + 1);

    if (lim < 2)
        lim = 2;
    if (strcmp(h->word, cand) == 0 || (d > lim && !(len >= 3 && strstr(cand, h->word))))
        return;
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->best[i], cand) == 0)
            return;
    int at = h->n < 3 ? h->n : 3;

    while (at > 0 && d < h->dist[at - 1])
        at--;
    if (at >= 3)
        return;
    for (int i = (h->n < 3 ? h->n : 2); i > at; i--) {
        h->best[i] = h->best[i - 1];
        h->dist[i] = h->dist[i - 1];
    }
    h->best[at] = cand;
    h->dist[at] = d;
    if (h->n < 3)
        h->n++;
}

/* " (did you mean a, b or c?)" into out, or "" without a suggestion. */
static void
results_hint_text(const results_hint_t *h, char *out, size_t len)
{
    size_t o;

    out[0] = '\0';
    if (h->n == 0)
        return;
    o = (size_t)snprintf(out, len, " (did you mean ");
    for (int i = 0; i < h->n && o < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%s", i == 0 ? "" : i == h->n - 1 ? " or " : ", ",
                              h->best[i]);
    if (o < len)
        snprintf(out + o, len - o, "?)");
}

/*
 * The error of an unknown metric: the closest standard names and names
 * stored in the database, else the names the database holds.
 */
static void
results_unknown_metric(sqlite3 *db, const char *metric, char *err, size_t errlen)
{
    results_hint_t h = { .word = metric };
    char *stored[64] = { NULL }, hint[256], known[512] = "";
    int ns = 0;
    size_t o = 0;
    sqlite3_stmt *st = NULL;

    for (size_t i = 0; metric_name(i); i++)
        results_hint_add(&h, metric_name(i));
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT name FROM metric ORDER BY name", -1, &st,
                           NULL) == SQLITE_OK) {
        while (ns < 64 && sqlite3_step(st) == SQLITE_ROW)
            if ((stored[ns] = strdup((const char *)sqlite3_column_text(st, 0))))
                results_hint_add(&h, stored[ns++]);
        sqlite3_finalize(st);
    }
    results_hint_text(&h, hint, sizeof hint);
    if (!hint[0] && ns > 0) {
        o = (size_t)snprintf(known, sizeof known, " (this database has ");
        for (int i = 0; i < ns && i < 16 && o < sizeof known; i++)
            o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "", stored[i]);
        if (o < sizeof known)
            snprintf(known + o, sizeof known - o, "%s)", ns > 16 ? ", ..." : "");
    }
    results_err(err, errlen, "unknown metric '%s': not a standard metric (docs/schema.md) and no"
                " run has it%s%s", metric, hint, known);
    for (int i = 0; i < ns; i++)
        free(stored[i]);
}

/* The metrics a run without the asked one may have instead, in the order suggested. */
static const char *const results_alt_metrics[] = { "throughput_bps", "rtt_us_p50",
                                                   "transactions_per_s", "throughput_pps" };
#define RESULTS_NALT 4


/* A parameter point: the runs whose params_json text is identical. */
typedef struct {
    char *params;      /* the params_json text, fresh */
    unsigned hash;     /* FNV-1a of params */
    int next;          /* next point in the same hash bucket, -1 */
    double *x;         /* metric values of done runs, in the metric's unit */
    int n, cap;
    results_flag_t flags[RESULTS_MAX_FLAGS];
    int nflags;
    int group;         /* the group it belongs to */
    int nmiss;         /* done runs without the metric */
    unsigned alt;      /* bit i: some of them have results_alt_metrics[i] */
} results_point_t;

#define RESULTS_BUCKETS 4096

static unsigned
results_hash(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int
results_push(double **x, int *n, int *cap, double v)
{
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 8;
        double *nx = realloc(*x, (size_t)c * sizeof *nx);

        if (!nx)
            return -1;
        *x = nx;
        *cap = c;
    }
    (*x)[(*n)++] = v;
    return 0;
}

/* Adds count to flag name in a flag list (at most RESULTS_MAX_FLAGS names kept). */
static void
results_flag_add(results_flag_t *f, int *nf, const char *name, int count)
{
    size_t len = strcspn(name, ",");

    if (len == 0 || len >= sizeof f[0].name)
        return;
    for (int i = 0; i < *nf; i++)
        if (strlen(f[i].name) == len && strncmp(f[i].name, name, len) == 0) {
            f[i].count += count;
            return;
        }
    if (*nf == RESULTS_MAX_FLAGS)
        return;
    memcpy(f[*nf].name, name, len);
    f[*nf].name[len] = '\0';
    f[(*nf)++].count = count;
}

/* A JSON parameter value as text: strings as is, true/false, numbers as JSON; fresh. */
static char *
results_value_text(const json_t *v)
{
    if (!v || json_is_null(v))
        return strdup(RESULTS_NONE);
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

void
results_groups_free(results_groups_t *gs)
{
    if (!gs)
        return;
    for (int i = 0; i < gs->ng; i++) {
        for (int j = 0; j < gs->nkeys; j++)
            free(gs->g[i].val[j]);
        free(gs->g[i].val);
        free(gs->g[i].x);
    }
    free(gs->g);
    for (int j = 0; j < gs->nkeys; j++)
        free(gs->keys[j]);
    free(gs->unit);
    free(gs->bval);
    {
        char note[RESULTS_NOTE_MAX];

        memcpy(note, gs->note, sizeof note);
        memset(gs, 0, sizeof *gs);
        memcpy(gs->note, note, sizeof note);
    }
    gs->bidx = -1;
}

/* Resolves the selection to an SQL condition on r.batch_id; 0, 1 (nothing to select) or -1. */
static int
results_select_resolve(store_t *store, results_select_t *sel, char *what, size_t wlen,
                       char *err, size_t errlen)
{
    bool empty = false;

    if (sel->matrix) {
        sqlite3_stmt *st = NULL;
        int step;

        if (!results_name_ok(sel->matrix, strlen(sel->matrix), 64, true) &&
            strspn(sel->matrix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                "_.-") != strlen(sel->matrix)) {
            results_err(err, errlen, "bad --matrix '%.80s': a matrix name", sel->matrix);
            return -1;
        }
        if (sqlite3_prepare_v2(store_db(store), "SELECT 1 FROM batch WHERE matrix_name = ?1"
                               " LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
            results_err(err, errlen, "database: %s", sqlite3_errmsg(store_db(store)));
            return -1;
        }
        sqlite3_bind_text(st, 1, sel->matrix, -1, SQLITE_STATIC);
        step = sqlite3_step(st);
        sqlite3_finalize(st);
        if (step != SQLITE_ROW) {
            results_err(err, errlen, "no batch of matrix '%.80s'", sel->matrix);
            return -1;
        }
        snprintf(what, wlen, " in the batches of matrix %s", sel->matrix);
        return 0;
    }
    if (results_batch_resolve(store, &sel->batch, &empty, err, errlen) < 0)
        return -1;
    if (empty)
        return 1;
    if (sel->batch > 0)
        snprintf(what, wlen, " in batch %lld", (long long)sel->batch);
    else
        what[0] = '\0';
    return 0;
}

/* The baseline parameter and value of "param=value"; 0 or -1 with err. */
static int
results_parse_baseline(const char *baseline, char *param, size_t plen, const char **value,
                       char *err, size_t errlen)
{
    const char *eq = baseline ? strchr(baseline, '=') : NULL;

    if (!eq) {
        results_err(err, errlen, "bad --baseline '%.80s': expected param=value",
                    baseline ? baseline : "");
        return -1;
    }
    if (!results_name_ok(baseline, (size_t)(eq - baseline), 32, false) ||
        (size_t)(eq - baseline) >= plen) {
        results_err(err, errlen, "bad --baseline '%.80s': the parameter name must be 1 to 32"
                    " of [a-z_]", baseline);
        return -1;
    }
    memcpy(param, baseline, (size_t)(eq - baseline));
    param[eq - baseline] = '\0';
    *value = eq + 1;
    if (!**value || strlen(*value) > RESULTS_MAX_VALUE) {
        results_err(err, errlen, "bad --baseline '%.80s': the value must be 1 to %d bytes",
                    baseline, RESULTS_MAX_VALUE);
        return -1;
    }
    return 0;
}

/* 1 when the metric is standard or stored at least once; 0; -1 on a database error. */
static int
results_metric_exists(sqlite3 *db, const char *metric)
{
    sqlite3_stmt *st = NULL;
    int step;

    if (metric_known(metric))
        return 1;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM metric WHERE name = ?1 LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, metric, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    sqlite3_finalize(st);
    return step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
}

/*
 * The note about done runs without the metric: how many, their traffic
 * kinds (with counts), and the first of results_alt_metrics (not the metric
 * itself) that some of them have.  "" when every done run has the metric.
 */
static void
results_missing_note(const results_point_t *pt, json_t *const *pj, int npt, const char *metric,
                     const char *what, char *note, size_t len)
{
    char kinds[8][40], alt[80] = "";
    int nk = 0, count[8] = { 0 }, total = 0;
    unsigned mask = 0;
    size_t o;

    note[0] = '\0';
    for (int p = 0; p < npt; p++) {
        const json_t *t = json_object_get(pj[p], "traffic");
        const char *kind = json_is_string(t) ? json_string_value(t) : RESULTS_NONE;
        int k = 0;

        if (pt[p].nmiss == 0)
            continue;
        total += pt[p].nmiss;
        mask |= pt[p].alt;
        while (k < nk && strcmp(kinds[k], kind) != 0)
            k++;
        if (k == nk && nk < 8)
            snprintf(kinds[nk++], sizeof kinds[0], "%s", kind);
        if (k < nk)
            count[k] += pt[p].nmiss;
    }
    if (total == 0)
        return;
    for (int a = 0; a < RESULTS_NALT && !alt[0]; a++)
        if ((mask & (1u << a)) && strcmp(results_alt_metrics[a], metric) != 0)
            snprintf(alt, sizeof alt, ": try --metric %s", results_alt_metrics[a]);
    o = (size_t)snprintf(note, len, "%d done run%s%s ha%s no %s and %s left out (traffic", total,
                         total == 1 ? "" : "s", what, total == 1 ? "s" : "ve", metric,
                         total == 1 ? "is" : "are");
    for (int k = 0; k < nk && o < len; k++)
        o += (size_t)snprintf(note + o, len - o, "%s %s %d", k ? "," : "", kinds[k], count[k]);
    if (o < len)
        snprintf(note + o, len - o, ")%s", alt);
}

/* " (did you mean ...?)" for a parameter name no run has: the closest the runs have. */
static void
results_key_hint(json_t *const *pj, int npt, const char *name, char *out, size_t len)
{
    results_hint_t h = { .word = name };

    for (int p = 0; p < npt; p++) {
        const char *k;
        json_t *v;

        json_object_foreach(pj[p], k, v)
            results_hint_add(&h, k);
    }
    results_hint_text(&h, out, len);
}

/* The values the baseline parameter has in the groups, distinct and in sort order. */
static void
results_values_text(const results_groups_t *gs, char *out, size_t len)
{
    const char *v[16];
    int n = 0, more = 0;
    size_t o = 0;

    out[0] = '\0';
    for (int i = 0; i < gs->ng; i++) {
        const char *x = gs->g[i].val[gs->bidx];
        int at = 0;
        bool dup = false;

        for (int k = 0; k < n && !dup; k++)
            dup = strcmp(v[k], x) == 0;
        if (dup)
            continue;
        if (n == 16) {
            more = 1;
            continue;
        }
        while (at < n && results_value_cmp(gs->keys[gs->bidx], v[at], x) < 0)
            at++;
        memmove(&v[at + 1], &v[at], (size_t)(n - at) * sizeof v[0]);
        v[at] = x;
        n++;
    }
    for (int k = 0; k < n && o < len; k++)
        o += (size_t)snprintf(out + o, len - o, "%s%s", k ? ", " : "", v[k]);
    if (more && o < len)
        snprintf(out + o, len - o, ", ...");
}

int
results_groups_collect(store_t *store, const results_select_t *select, const char *by,
                       const char *baseline, const char *metric, results_groups_t *gs,
                       char *msg, size_t msglen, char *err, size_t errlen)
{
    char bybuf[RESULTS_MAX_BY * 34], bparam[40] = "", what[128] = "";
    const char *names[RESULTS_MAX_BY], *bval = NULL;
    results_select_t sel = *select;
    results_point_t *pt = NULL;
    int *bucket = NULL, npt = 0, ptcap = 0, nby, rc = -1, step, e;
    json_t **pj = NULL;
    sqlite3_stmt *st = NULL;
    sqlite3 *db;

    memset(gs, 0, sizeof *gs);
    gs->bidx = -1;
    if (msg && msglen)
        msg[0] = '\0';
    if (!store) {
        results_err(err, errlen, "no database");
        return -1;
    }
    db = store_db(store);
    nby = results_parse_by(by, bybuf, sizeof bybuf, names, err, errlen);
    if (nby < 0)
        return -1;
    if (baseline && results_parse_baseline(baseline, bparam, sizeof bparam, &bval, err,
                                           errlen) < 0)
        return -1;
    if (!metric || !results_name_ok(metric, strlen(metric), 64, true)) {
        results_err(err, errlen, "bad metric '%.80s': metric names are 1 to 64 of [a-z0-9_]",
                    metric ? metric : "");
        return -1;
    }
    e = results_select_resolve(store, &sel, what, sizeof what, err, errlen);
    if (e < 0)
        return -1;
    if (e == 1) {
        snprintf(msg, msglen, "no batches in the database");
        return 1;
    }
    e = results_metric_exists(db, metric);
    if (e < 0)
        goto dberr;
    if (e == 0) {
        results_unknown_metric(db, metric, err, errlen);
        return -1;
    }
    /*
     * Every finished run of the selection: done runs give values, all give
     * flags (from their results' "flags" and, for skipped and failed runs,
     * their state).  Three statement texts so that each uses its index.
     */
    {
        const char *cond = sel.matrix ? "r.batch_id IN (SELECT id FROM batch WHERE"
                                        " matrix_name = ?2)"
                                      : sel.batch > 0 ? "r.batch_id = ?2" : "?2 IS NOT NULL";
        /* Column 4, only for done runs without the metric (CASE evaluates the
         * subquery for those alone): the metrics they have instead. */
        char *sql = results_fmt(
            "SELECT r.state, m.value, r.params_json,"
            " (SELECT group_concat(flag) FROM run_flag f WHERE f.run_id = r.id),"
            " CASE WHEN r.state = 'done' AND m.value IS NULL THEN (SELECT group_concat(x.name)"
            " FROM metric x WHERE x.run_id = r.id AND x.name IN ('throughput_bps',"
            " 'rtt_us_p50', 'transactions_per_s', 'throughput_pps')) END"
            " FROM run r LEFT JOIN metric m ON m.run_id = r.id AND m.name = ?1"
            " WHERE %s AND r.state IN ('done', 'failed', 'skipped') ORDER BY r.id", cond);

        if (!sql)
            goto oom;
        e = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        free(sql);
        if (e != SQLITE_OK)
            goto dberr;
    }
    sqlite3_bind_text(st, 1, metric, -1, SQLITE_STATIC);
    if (sel.matrix)
        sqlite3_bind_text(st, 2, sel.matrix, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 2, sel.batch);
    if (!(bucket = malloc(RESULTS_BUCKETS * sizeof *bucket)))
        goto oom;
    for (int i = 0; i < RESULTS_BUCKETS; i++)
        bucket[i] = -1;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(st, 0);
        const char *params = (const char *)sqlite3_column_text(st, 2);
        const char *flags = (const char *)sqlite3_column_text(st, 3);
        bool done = state && strcmp(state, "done") == 0;
        bool has = sqlite3_column_type(st, 1) != SQLITE_NULL;
        unsigned h;
        int p;

        if (!params)
            continue;
        h = results_hash(params);
        for (p = bucket[h % RESULTS_BUCKETS]; p >= 0; p = pt[p].next)
            if (pt[p].hash == h && strcmp(pt[p].params, params) == 0)
                break;
        if (p < 0) {
            if (npt == ptcap) {
                int c = ptcap ? 2 * ptcap : 64;
                results_point_t *n = realloc(pt, (size_t)c * sizeof *n);

                if (!n)
                    goto oom;
                pt = n;
                ptcap = c;
            }
            p = npt++;
            memset(&pt[p], 0, sizeof pt[p]);
            pt[p].hash = h;
            pt[p].next = bucket[h % RESULTS_BUCKETS];
            bucket[h % RESULTS_BUCKETS] = p;
            if (!(pt[p].params = strdup(params)))
                goto oom;
        }
        if (!done)
            results_flag_add(pt[p].flags, &pt[p].nflags, state, 1);
        if (done && !has) {
            const char *alt = (const char *)sqlite3_column_text(st, 4);

            pt[p].nmiss++;
            for (int a = 0; alt && a < RESULTS_NALT; a++)
                if (strstr(alt, results_alt_metrics[a]))
                    pt[p].alt |= 1u << a;
        }
        for (const char *f = flags; f && *f;) {
            results_flag_add(pt[p].flags, &pt[p].nflags, f, 1);
            f += strcspn(f, ",");
            if (*f == ',')
                f++;
        }
        /* An invalid run's number is one no interval saw (CASES.md 8): not counted. */
        if (done && has && !(flags && strstr(flags, "invalid")) &&
            results_push(&pt[p].x, &pt[p].n, &pt[p].cap, sqlite3_column_double(st, 1)) < 0)
            goto oom;
    }
    if (step != SQLITE_DONE)
        goto dberr;

    /* The key: --by, then every other parameter whose value differs between points. */
    if (!(pj = calloc((size_t)npt + 1, sizeof *pj)))
        goto oom;
    for (int p = 0; p < npt; p++)
        if (!(pj[p] = json_loads(pt[p].params, 0, NULL)))
            pj[p] = json_object();
    results_missing_note(pt, pj, npt, metric, what, gs->note, sizeof gs->note);
    for (int i = 0; i < nby; i++)
        if (!(gs->keys[gs->nkeys++] = strdup(names[i])))
            goto oom;
    for (int p = 0; p < npt; p++) {
        const char *k;
        json_t *v;

        json_object_foreach(pj[p], k, v) {
            bool in = false, varies = false;

            for (int j = 0; j < gs->nkeys && !in; j++)
                in = strcmp(gs->keys[j], k) == 0;
            if (in || !results_name_ok(k, strlen(k), 32, false))
                continue;
            for (int q = 0; q < npt && !varies; q++)
                varies = !json_equal(v, json_object_get(pj[q], k));
            if ((varies || strcmp(k, bparam) == 0) && gs->nkeys < RESULTS_MAX_KEYS &&
                !(gs->keys[gs->nkeys++] = strdup(k)))
                goto oom;
        }
    }
    for (int i = 0; i < nby; i++) {
        bool seen = false;

        for (int p = 0; p < npt && !seen; p++)
            seen = json_object_get(pj[p], names[i]) != NULL;
        if (!seen && npt > 0) {
            char hint[256];

            results_key_hint(pj, npt, names[i], hint, sizeof hint);
            results_err(err, errlen, "unknown key '%s' in --by: no run%s has that parameter%s",
                        names[i], what, hint);
            goto out;
        }
    }
    if (bval) {
        for (int j = 0; j < gs->nkeys; j++)
            if (strcmp(gs->keys[j], bparam) == 0)
                gs->bidx = j;
        if (gs->bidx < 0 && npt > 0) {
            char hint[256];

            results_key_hint(pj, npt, bparam, hint, sizeof hint);
            results_err(err, errlen, "unknown key '%s' in --baseline: no run%s has that"
                        " parameter%s", bparam, what, hint);
            goto out;
        }
        if (!(gs->bval = strdup(bval)))
            goto oom;
    }

    /* Groups: points with equal key values (the same point written twice merges). */
    for (int p = 0; p < npt; p++) {
        char *val[RESULTS_MAX_KEYS] = { NULL };
        int gi = -1;

        if (pt[p].n == 0)
            continue;
        for (int j = 0; j < gs->nkeys; j++)
            if (!(val[j] = results_value_text(json_object_get(pj[p], gs->keys[j])))) {
                for (int k = 0; k < j; k++)
                    free(val[k]);
                goto oom;
            }
        for (int k = 0; k < gs->ng && gi < 0; k++) {
            int j = 0;

            while (j < gs->nkeys && strcmp(gs->g[k].val[j], val[j]) == 0)
                j++;
            if (j == gs->nkeys)
                gi = k;
        }
        if (gi < 0) {
            results_group_t *ng = realloc(gs->g, (size_t)(gs->ng + 1) * sizeof *ng);

            if (!ng || !(ng[gs->ng].val = calloc((size_t)gs->nkeys + 1, sizeof(char *)))) {
                if (ng)
                    gs->g = ng;
                for (int j = 0; j < gs->nkeys; j++)
                    free(val[j]);
                goto oom;
            }
            gs->g = ng;
            gi = gs->ng++;
            {
                char **v = gs->g[gi].val;

                memset(&gs->g[gi], 0, sizeof gs->g[gi]);
                gs->g[gi].val = v;
            }
            memcpy(gs->g[gi].val, val, (size_t)gs->nkeys * sizeof *val);
        } else {
            for (int j = 0; j < gs->nkeys; j++)
                free(val[j]);
        }
        pt[p].group = gi;
        for (int i = 0; i < pt[p].n; i++)
            if (results_push(&gs->g[gi].x, &gs->g[gi].n, &gs->g[gi].cap, pt[p].x[i]) < 0)
                goto oom;
    }
    /* Flags of points without a value (all skipped) are dropped: they have no row. */
    for (int p = 0; p < npt; p++)
        for (int f = 0; pt[p].n > 0 && f < pt[p].nflags; f++)
            results_flag_add(gs->g[pt[p].group].flags, &gs->g[pt[p].group].nflags,
                             pt[p].flags[f].name, pt[p].flags[f].count);
    if (gs->ng == 0) {
        snprintf(msg, msglen, "no done runs with metric %s%s", metric, what);
        rc = 1;
        goto out;
    }
    for (int i = 0; i < gs->ng; i++) {
        results_group_t *g = &gs->g[i];

        if (stats_summarize(g->x, g->n, RESULTS_CONFIDENCE, &g->s) < 0) {
            results_err(err, errlen, "metric %s: a stored value is not a finite number", metric);
            goto out;
        }
        g->median = stats_median(g->x, g->n);
        g->base = -1;
        g->change = g->change_lo = g->change_hi = g->p = NAN;
    }
    if (bval) {
        bool any = false;

        for (int i = 0; i < gs->ng; i++)
            any = any || strcmp(gs->g[i].val[gs->bidx], bval) == 0;
        if (!any) {
            char vals[512];

            results_values_text(gs, vals, sizeof vals);
            results_err(err, errlen,
                        "bad --baseline %s=%.80s: no done run%s with that value has metric %s"
                        " (%s there: %s)", bparam, bval, what, metric, bparam, vals);
            goto out;
        }
    }
    for (int i = 0; bval && i < gs->ng; i++) {
        results_group_t *g = &gs->g[i], *b;
        stats_welch_t w;
        double lo, hi;

        for (int k = 0; k < gs->ng && g->base < 0; k++) {
            int j = 0;

            while (j < gs->nkeys &&
                   strcmp(gs->g[k].val[j], j == gs->bidx ? bval : g->val[j]) == 0)
                j++;
            if (j == gs->nkeys)
                g->base = k;
        }
        if (g->base < 0)
            continue;
        b = &gs->g[g->base];
        if (b->s.mean != 0)
            g->change = 100.0 * (g->s.mean - b->s.mean) / b->s.mean;
        if (g->base != i && stats_change_ci(&g->s, &b->s, RESULTS_CONFIDENCE, &lo, &hi) == 0) {
            g->change_lo = lo;
            g->change_hi = hi;
        }
        if (g->base != i && stats_welch(&g->s, &b->s, &w) == 0)
            g->p = w.p;
    }
    gs->unit = results_metric_unit(db, metric);
    results_groups_sort(gs, RESULTS_SORT_KEY);
    rc = 0;
    goto out;
oom:
    results_err(err, errlen, "out of memory");
    goto out;
dberr:
    results_err(err, errlen, "database: %s", sqlite3_errmsg(db));
out:
    sqlite3_finalize(st);
    for (int p = 0; p < npt; p++) {
        free(pt[p].params);
        free(pt[p].x);
        if (pj)
            json_decref(pj[p]);
    }
    free(pj);
    free(pt);
    free(bucket);
    if (rc != 0)
        results_groups_free(gs);
    return rc;
}

/* "tool_bound:2 skipped:1", fresh ("" when none). */
static char *
results_flags_text(const results_group_t *g, const char *sep)
{
    char buf[RESULTS_MAX_FLAGS * 48] = "";
    size_t o = 0;

    for (int i = 0; i < g->nflags && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s:%d", i ? sep : "", g->flags[i].name,
                              g->flags[i].count);
    return strdup(buf);
}

/*
 * CASES.md case 3, said plainly: when more than half of the runs compared are
 * tool_bound, one note on err (stderr, so that table, CSV and JSON on stdout
 * stay clean) that the differences are the engine's, not the networks'.
 */
static void
results_note_tool_bound(const results_groups_t *gs, FILE *err)
{
    int runs = 0, bound = 0;

    for (int i = 0; i < gs->ng; i++) {
        runs += gs->g[i].n;
        for (int k = 0; k < gs->g[i].nflags; k++)
            if (strcmp(gs->g[i].flags[k].name, "tool_bound") == 0)
                bound += gs->g[i].flags[k].count;
    }
    if (bound * 2 > runs)
        fprintf(err, "note: %d of the %d runs compared are tool_bound: the traffic engine's core, "
                     "not the network, limited them, so their differences are mostly the "
                     "engine's (docs/results.md, \"Tool-bound runs\")\n", bound, runs);
}

/* Whether the change is significant at 5 %: "yes", "no", or NULL when untested. */
static const char *
results_sig(const results_group_t *g)
{
    if (isnan(g->p))
        return NULL;
    return g->p < RESULTS_ALPHA ? "yes" : "no";
}

/* Prints the groups as a table; 0 or -1 (out of memory). */
static int
results_compare_table(const results_groups_t *gs, const char *baseline, FILE *out)
{
    results_table_t t = { 0 };
    char align[RESULTS_MAX_KEYS + 12];
    char *cells[RESULTS_MAX_KEYS + 12];
    char us[40] = "";
    double maxabs = 0;
    results_scale_t sc;
    bool anyflag = false;
    int nc = 0, rc = -1;

    for (int i = 0; i < gs->ng; i++) {
        if (fabs(gs->g[i].s.mean) > maxabs)
            maxabs = fabs(gs->g[i].s.mean);
        anyflag = anyflag || gs->g[i].nflags > 0;
    }
    sc = results_scale(gs->unit, maxabs);
    if (sc.unit)
        snprintf(us, sizeof us, " (%s)", sc.unit);
    for (int i = 0; i < gs->nkeys; i++) {
        align[nc] = 'l';
        cells[nc++] = strdup(gs->keys[i]);
    }
    align[nc] = 'r';
    cells[nc++] = strdup("n");
    align[nc] = 'r';
    cells[nc++] = results_fmt("mean%s", us);
    align[nc] = 'r';
    cells[nc++] = results_fmt("median%s", us);
    align[nc] = 'r';
    cells[nc++] = results_fmt("stddev%s", us);
    align[nc] = 'l';
    cells[nc++] = results_fmt("95%% CI%s", us);
    if (baseline) {
        align[nc] = 'r';
        cells[nc++] = results_fmt("change vs %s", baseline);
        align[nc] = 'l';
        cells[nc++] = strdup("95% CI of change");
        align[nc] = 'r';
        cells[nc++] = strdup("p (Welch)");
        align[nc] = 'l';
        cells[nc++] = strdup("signif.");
    }
    if (anyflag) {
        align[nc] = 'l';
        cells[nc++] = strdup("flags (runs)");
    }
    t.ncols = nc;
    t.align = align;
    if (results_table_add(&t, cells) < 0)
        goto out;
    for (int i = 0; i < gs->ng; i++) {
        const results_group_t *g = &gs->g[i];
        const stats_summary_t *s = &g->s;
        int d = sc.decimals;

        nc = 0;
        for (int j = 0; j < gs->nkeys; j++)
            cells[nc++] = strdup(g->val[j]);
        cells[nc++] = results_fmt("%d", s->n);
        cells[nc++] = results_fmt("%.*f", d, s->mean / sc.div);
        cells[nc++] = results_fmt("%.*f", d, g->median / sc.div);
        if (s->n < 2) {
            cells[nc++] = strdup("-");
            cells[nc++] = strdup("-");
        } else {
            cells[nc++] = results_fmt("%.*f", d, s->stddev / sc.div);
            cells[nc++] = results_fmt("[%.*f, %.*f]", d, s->ci_low / sc.div, d,
                                      s->ci_high / sc.div);
        }
        if (baseline) {
            const char *sig = results_sig(g);

            if (g->base == i)
                cells[nc++] = strdup("baseline");
            else if (isnan(g->change))
                cells[nc++] = strdup("-");
            else
                cells[nc++] = results_fmt("%+.1f %%", g->change);
            if (g->base == i || isnan(g->change_lo))
                cells[nc++] = strdup("-");
            else
                cells[nc++] = results_fmt("[%+.1f, %+.1f] %%", g->change_lo, g->change_hi);
            cells[nc++] = g->base == i || isnan(g->p) ? strdup("-") : results_fmt("%.3g", g->p);
            cells[nc++] = strdup(g->base == i || !sig ? "-" : sig);
        }
        if (anyflag)
            cells[nc++] = g->nflags ? results_flags_text(g, " ") : strdup("-");
        if (results_table_add(&t, cells) < 0)
            goto out;
    }
    results_table_print(&t, out);
    rc = 0;
out:
    results_table_free(&t);
    return rc;
}

/* The change rounded to one decimal, as CSV and JSON show it; NAN when none. */
static double
results_round1(double v)
{
    return isfinite(v) ? round(10.0 * v) / 10.0 : NAN;
}

static void
results_compare_csv(const results_groups_t *gs, FILE *out)
{
    char u[48], us[52] = "";

    results_unit_ident(gs->unit, u, sizeof u);
    if (u[0])
        snprintf(us, sizeof us, "_%s", u);
    for (int j = 0; j < gs->nkeys; j++)
        fprintf(out, "%s,", gs->keys[j]);
    fprintf(out, "n,mean%s,median%s,stddev%s,ci95_low%s,ci95_high%s,change_pct,"
                 "change_ci95_low_pct,change_ci95_high_pct,p_welch,significant,flags\n",
            us, us, us, us, us);
    for (int i = 0; i < gs->ng; i++) {
        const results_group_t *g = &gs->g[i];
        const stats_summary_t *s = &g->s;
        double ch = results_round1(g->change);
        char *fl = results_flags_text(g, ";");

        for (int j = 0; j < gs->nkeys; j++) {
            results_csv_field(out, g->val[j]);
            fputc(',', out);
        }
        fprintf(out, "%d,", s->n);
        results_csv_num(out, s->mean);
        fputc(',', out);
        results_csv_num(out, g->median);
        fputc(',', out);
        results_csv_num(out, s->n < 2 ? NAN : s->stddev);
        fputc(',', out);
        results_csv_num(out, s->ci_low);
        fputc(',', out);
        results_csv_num(out, s->ci_high);
        fputc(',', out);
        if (isfinite(ch))
            fprintf(out, "%+.1f", ch);
        fputc(',', out);
        results_csv_num(out, g->change_lo);
        fputc(',', out);
        results_csv_num(out, g->change_hi);
        fputc(',', out);
        results_csv_num(out, g->p);
        fputc(',', out);
        if (results_sig(g))
            fputs(results_sig(g), out);
        fputc(',', out);
        results_csv_field(out, fl);
        fputc('\n', out);
        free(fl);
    }
}

/* json_real, or null for a value that is not finite. */
static json_t *
results_json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int
results_compare_json(const results_groups_t *gs, FILE *out)
{
    char u[48], k[6][64];
    json_t *arr = json_array();
    int rc = -1;

    results_unit_ident(gs->unit, u, sizeof u);
    snprintf(k[0], sizeof k[0], "mean%s%s", u[0] ? "_" : "", u);
    snprintf(k[1], sizeof k[1], "stddev%s%s", u[0] ? "_" : "", u);
    snprintf(k[2], sizeof k[2], "ci95_low%s%s", u[0] ? "_" : "", u);
    snprintf(k[3], sizeof k[3], "ci95_high%s%s", u[0] ? "_" : "", u);
    snprintf(k[4], sizeof k[4], "median%s%s", u[0] ? "_" : "", u);
    if (!arr)
        goto out;
    for (int i = 0; i < gs->ng; i++) {
        const results_group_t *g = &gs->g[i];
        const stats_summary_t *s = &g->s;
        json_t *o = json_object(), *fl = json_object();
        const char *sig = results_sig(g);

        if (!o || !fl || json_array_append_new(arr, o) < 0) {
            json_decref(fl);
            goto out;
        }
        for (int j = 0; j < gs->nkeys; j++)
            json_object_set_new(o, gs->keys[j], json_string(g->val[j]));
        json_object_set_new(o, "n", json_integer(s->n));
        json_object_set_new(o, k[0], results_json_num(s->mean));
        json_object_set_new(o, k[4], results_json_num(g->median));
        json_object_set_new(o, k[1], results_json_num(s->n < 2 ? NAN : s->stddev));
        json_object_set_new(o, k[2], results_json_num(s->ci_low));
        json_object_set_new(o, k[3], results_json_num(s->ci_high));
        json_object_set_new(o, "change_pct", results_json_num(results_round1(g->change)));
        json_object_set_new(o, "change_ci95_low_pct", results_json_num(g->change_lo));
        json_object_set_new(o, "change_ci95_high_pct", results_json_num(g->change_hi));
        json_object_set_new(o, "p_welch", results_json_num(g->p));
        json_object_set_new(o, "significant", sig ? json_boolean(sig[0] == 'y') : json_null());
        for (int f = 0; f < g->nflags; f++)
            json_object_set_new(fl, g->flags[f].name, json_integer(g->flags[f].count));
        json_object_set_new(o, "flags", fl);
        json_object_set_new(o, "unit", gs->unit ? json_string(gs->unit) : json_null());
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
results_compare_sel(store_t *store, const results_select_t *sel, const char *by,
                    const char *baseline, const char *metric, results_sort_t sort,
                    results_format_t format, FILE *out, char *note, size_t notelen,
                    char *err, size_t errlen)
{
    results_groups_t gs;
    char msg[256];
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (note && notelen)
        note[0] = '\0';
    if (!out || !sel) {
        results_err(err, errlen, "no output");
        return -1;
    }
    rc = results_groups_collect(store, sel, by, baseline, metric, &gs, msg, sizeof msg, err,
                                errlen);
    if (rc >= 0 && note && notelen)
        snprintf(note, notelen, "%s", gs.note);
    if (rc != 0) {
        if (rc == 1)
            fprintf(out, "%s\n", msg);
        return rc;
    }
    results_groups_sort(&gs, sort);
    switch (format) {
    case RESULTS_CSV:
        results_compare_csv(&gs, out);
        break;
    case RESULTS_JSON:
        rc = results_compare_json(&gs, out);
        break;
    default:
        rc = results_compare_table(&gs, baseline, out);
        break;
    }
    if (rc < 0)
        results_err(err, errlen, "out of memory");
    else
        results_note_tool_bound(&gs, stderr);
    results_groups_free(&gs);
    return rc;
}

int
results_compare(store_t *store, int64_t batch, const char *by, const char *baseline,
                const char *metric, results_format_t format, FILE *out, char *err,
                size_t errlen)
{
    results_select_t sel = { .batch = batch, .matrix = NULL };

    return results_compare_sel(store, &sel, by, baseline, metric, RESULTS_SORT_KEY, format, out,
                               NULL, 0, err, errlen);
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
                                         "failed", "skipped", "total", "created_at", "seed" };
    static const char *const bheads[] = { "id", "name", "testbed", "state", "done",
                                          "failed", "skipped", "total", "created (UTC)",
                                          "seed" };
    static const bool bjson[10] = { false };
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
                               " count(r.id), b.created_at, b.seed"
                               " FROM batch b LEFT JOIN run r ON r.batch_id = b.id"
                               " GROUP BY b.id ORDER BY b.id",
                               -1, &st, NULL) != SQLITE_OK)
            goto dberr;
        rc = results_print_rows(st, 10, bkeys, bheads, "rlllrrrrlr", bjson, -1, format,
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

static int results_flatten(json_t *acc, const char *prefix, const json_t *v);
static json_t *results_batch_meta(sqlite3 *db, int64_t batch);

/* ---- show -------------------------------------------------------------- */

/*
 * The samples and the hosts' metadata of the run in row st (columns 1 =
 * batch, 7 = client host, 8 = server host): added to obj (JSON "samples":
 * [{t_s, name, value, unit}], "hosts": {host: meta}), or printed as CSV
 * rows (sample:T:NAME,value,unit and meta:HOST:KEY,value,) or as tables.
 * 0 or -1 (out of memory).
 */
static int
results_show_extra(sqlite3 *db, sqlite3_stmt *st, results_format_t format, json_t *obj,
                   FILE *out)
{
    sqlite3_stmt *ss = NULL;
    json_t *samples = json_array(), *hosts = json_object(), *all = NULL;
    results_table_t t = { .ncols = 4, .align = "rlrl" };
    int rc = -1;

    if (!samples || !hosts)
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT t_s, name, value FROM sample WHERE run_id = ?1"
                               " ORDER BY t_s, name, seq", -1, &ss, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(ss, 1, sqlite3_column_int64(st, 0));
    while (sqlite3_step(ss) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(ss, 1);
        const char *unit = metric_unit(name);

        json_array_append_new(samples, json_pack("{s:f, s:s, s:f, s:s?}", "t_s",
                                                 sqlite3_column_double(ss, 0), "name", name,
                                                 "value", sqlite3_column_double(ss, 2), "unit",
                                                 unit));
    }
    if ((all = results_batch_meta(db, sqlite3_column_int64(st, 1))) != NULL) {
        for (int c = 7; c <= 8; c++) {
            const char *h = (const char *)sqlite3_column_text(st, c);

            if (h && json_object_get(all, h))
                json_object_set(hosts, h, json_object_get(all, h));
        }
    }
    if (format == RESULTS_JSON) {
        json_object_set(obj, "samples", samples);
        json_object_set(obj, "hosts", hosts);
    } else if (format == RESULTS_CSV) {
        size_t i;
        json_t *v;
        const char *h;

        json_array_foreach(samples, i, v) {
            char key[160];

            snprintf(key, sizeof key, "sample:%g:%s",
                     json_real_value(json_object_get(v, "t_s")),
                     json_string_value(json_object_get(v, "name")));
            results_csv_field(out, key);
            fputc(',', out);
            results_csv_num(out, json_real_value(json_object_get(v, "value")));
            fputc(',', out);
            results_csv_field(out, json_string_value(json_object_get(v, "unit")));
            fputc('\n', out);
        }
        json_object_foreach(hosts, h, v) {
            json_t *flat = json_object();
            const char *k;
            json_t *x;

            if (!flat || results_flatten(flat, "", v) < 0) {
                json_decref(flat);
                goto out;
            }
            json_object_foreach(flat, k, x) {
                char *key = results_fmt("meta:%s:%s", h, k);

                results_csv_field(out, key);
                fputc(',', out);
                results_csv_field(out, json_string_value(x));
                fputs(",\n", out);
                free(key);
            }
            json_decref(flat);
        }
    } else {
        size_t i;
        json_t *v;
        const char *h;
        char *cells[4] = { strdup("t (s)"), strdup("sample"), strdup("value"), strdup("unit") };

        if (results_table_add(&t, cells) < 0)
            goto out;
        json_array_foreach(samples, i, v) {
            const char *u = json_string_value(json_object_get(v, "unit"));

            cells[0] = results_fmt("%.3f", json_real_value(json_object_get(v, "t_s")));
            cells[1] = strdup(json_string_value(json_object_get(v, "name")));
            cells[2] = results_fmt("%.15g", json_real_value(json_object_get(v, "value")));
            cells[3] = strdup(u ? u : "-");
            if (results_table_add(&t, cells) < 0)
                goto out;
        }
        fputc('\n', out);
        if (t.nrows > 1)
            results_table_print(&t, out);
        else
            fprintf(out, "no samples\n");
        json_object_foreach(hosts, h, v) {
            json_t *flat = json_object();
            const char *k;
            json_t *x;
            int w = 0;

            if (!flat || results_flatten(flat, "", v) < 0) {
                json_decref(flat);
                goto out;
            }
            fprintf(out, "\nhost %s (metadata of batch %lld)\n", h,
                    (long long)sqlite3_column_int64(st, 1));
            json_object_foreach(flat, k, x)
                if ((int)strlen(k) > w)
                    w = (int)strlen(k);
            json_object_foreach(flat, k, x)
                fprintf(out, "  %-*s  %s\n", w, k, json_string_value(x));
            json_decref(flat);
        }
        if (json_object_size(hosts) == 0)
            fprintf(out, "\nno host metadata\n");
    }
    rc = 0;
out:
    results_table_free(&t);
    sqlite3_finalize(ss);
    json_decref(samples);
    json_decref(hosts);
    json_decref(all);
    return rc;
}

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
        if (results_show_extra(db, st, RESULTS_JSON, obj, out) < 0)
            goto oom;
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
        if (results_show_extra(db, st, RESULTS_CSV, NULL, out) < 0)
            goto oom;
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
        if (results_show_extra(db, st, RESULTS_TABLE, NULL, out) < 0)
            goto oom;
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

/* ---- host metadata: show, diff-hosts, export ----------------------------- */

/*
 * A metadata key whose value differs between any two snapshots by nature,
 * not because the host changed: the agent's process id ("pid", agent.c's
 * HELLO; any "*_pid"), start times and uptimes, the boot id.  Judged by the
 * last component of the dotted key, so that a nested "vm.pid" is volatile
 * too.  docs/results.md (diff-hosts) lists the same names.
 */
static bool
results_meta_volatile(const char *key)
{
    static const char *const names[] = { "pid", "started_at", "start_time", "uptime_s",
                                         "boot_id" };
    const char *last = strrchr(key, '.');
    size_t n;

    last = last ? last + 1 : key;
    n = strlen(last);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(last, names[i]) == 0)
            return true;
    return n > 4 && strcmp(last + n - 4, "_pid") == 0;
}

/* Appends (path, text value) pairs of a JSON tree to a table of 3 columns (host, key, value). */
static int
results_flatten(json_t *acc, const char *prefix, const json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *c;

        json_object_foreach((json_t *)v, k, c) {
            char *p = prefix[0] ? results_fmt("%s.%s", prefix, k) : strdup(k);
            int rc;

            if (!p)
                return -1;
            rc = results_flatten(acc, p, c);
            free(p);
            if (rc < 0)
                return -1;
        }
        return 0;
    }
    {
        char *t = json_is_string(v) ? strdup(json_string_value(v))
                                    : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        int rc;

        if (!t)
            return -1;
        rc = json_object_set_new(acc, prefix, json_string(t));
        free(t);
        return rc;
    }
}

/* The metadata of every host of a batch: a fresh object host -> meta (empty when none). */
static json_t *
results_batch_meta(sqlite3 *db, int64_t batch)
{
    sqlite3_stmt *st = NULL;
    json_t *o = json_object();

    if (!o || sqlite3_prepare_v2(db, "SELECT host, meta_json FROM host_meta WHERE batch_id = ?1"
                                     " ORDER BY host", -1, &st, NULL) != SQLITE_OK) {
        json_decref(o);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, batch);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *m = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);

        if (m)
            json_object_set_new(o, (const char *)sqlite3_column_text(st, 0), m);
    }
    sqlite3_finalize(st);
    return o;
}

int
results_diff_hosts(store_t *store, int64_t batch1, int64_t batch2, results_format_t format,
                   FILE *out, char *err, size_t errlen)
{
    json_t *m[2] = { NULL, NULL }, *flat[2] = { NULL, NULL }, *rows = NULL, *hosts = NULL;
    int64_t b[2] = { batch1, batch2 };
    sqlite3 *db;
    const char *h;
    json_t *v;
    bool empty;
    int rc = -1;

    if (err && errlen)
        err[0] = '\0';
    if (!store || !out) {
        results_err(err, errlen, "no database");
        return -1;
    }
    db = store_db(store);
    for (int i = 0; i < 2; i++) {
        if (b[i] < 1) {
            results_err(err, errlen, "bad batch id %lld", (long long)b[i]);
            return -1;
        }
        if (results_batch_resolve(store, &b[i], &empty, err, errlen) < 0)
            return -1;
    }
    if (!(rows = json_array()) || !(hosts = json_object()))
        goto oom;
    for (int i = 0; i < 2; i++) {
        if (!(m[i] = results_batch_meta(db, b[i])) || !(flat[i] = json_object()))
            goto oom;
        json_object_foreach(m[i], h, v) {
            json_t *f = json_object();

            if (!f || json_object_set_new(flat[i], h, f) < 0 || results_flatten(f, "", v) < 0)
                goto oom;
            json_object_set_new(hosts, h, json_true());
        }
        if (json_object_size(m[i]) == 0) {
            results_err(err, errlen, "batch %lld has no host metadata (it never ran a run)",
                        (long long)b[i]);
            goto out;
        }
    }
    /* Hosts by name; a host only one batch used is a difference of its own. */
    json_object_foreach(hosts, h, v) {
        json_t *f0 = json_object_get(flat[0], h), *f1 = json_object_get(flat[1], h), *all;
        const char *k;
        json_t *x;

        if (!f0 || !f1) {
            json_array_append_new(rows, json_pack("{s:s, s:s, s:s?, s:s?}", "host", h, "key",
                                                  "(host)", "a", f0 ? "used" : NULL, "b",
                                                  f1 ? "used" : NULL));
            continue;
        }
        if (!(all = json_deep_copy(f0)) || json_object_update(all, f1) < 0) {
            json_decref(all);
            goto oom;
        }
        json_object_foreach(all, k, x) {
            json_t *a = json_object_get(f0, k), *c = json_object_get(f1, k);

            if ((a && c && json_equal(a, c)) || results_meta_volatile(k))
                continue;
            json_array_append_new(rows, json_pack("{s:s, s:s, s:O?, s:O?}", "host", h, "key", k,
                                                  "a", a, "b", c));
        }
        json_decref(all);
    }
    if (format == RESULTS_JSON) {
        if (json_dumpf(rows, out, RESULTS_JSON_FLAGS) < 0)
            goto oom;
        fputc('\n', out);
    } else if (format == RESULTS_CSV) {
        size_t i;

        fprintf(out, "host,key,batch_%lld,batch_%lld\n", (long long)b[0], (long long)b[1]);
        json_array_foreach(rows, i, v) {
            results_csv_field(out, json_string_value(json_object_get(v, "host")));
            fputc(',', out);
            results_csv_field(out, json_string_value(json_object_get(v, "key")));
            fputc(',', out);
            results_csv_field(out, json_string_value(json_object_get(v, "a")));
            fputc(',', out);
            results_csv_field(out, json_string_value(json_object_get(v, "b")));
            fputc('\n', out);
        }
    } else if (json_array_size(rows) == 0) {
        fprintf(out, "no differences between the hosts of batch %lld and batch %lld\n",
                (long long)b[0], (long long)b[1]);
    } else {
        results_table_t t = { .ncols = 4, .align = "llll" };
        char *cells[4] = { strdup("host"), strdup("key"),
                           results_fmt("batch %lld", (long long)b[0]),
                           results_fmt("batch %lld", (long long)b[1]) };
        size_t i;

        if (results_table_add(&t, cells) < 0)
            goto oom;
        json_array_foreach(rows, i, v) {
            const char *a = json_string_value(json_object_get(v, "a"));
            const char *c = json_string_value(json_object_get(v, "b"));

            cells[0] = strdup(json_string_value(json_object_get(v, "host")));
            cells[1] = strdup(json_string_value(json_object_get(v, "key")));
            cells[2] = strdup(a ? a : "-");
            cells[3] = strdup(c ? c : "-");
            if (results_table_add(&t, cells) < 0) {
                results_table_free(&t);
                goto oom;
            }
        }
        results_table_print(&t, out);
        results_table_free(&t);
    }
    rc = 0;
    goto out;
oom:
    results_err(err, errlen, "out of memory");
out:
    for (int i = 0; i < 2; i++) {
        json_decref(m[i]);
        json_decref(flat[i]);
    }
    json_decref(rows);
    json_decref(hosts);
    return rc;
}

/* The unit of a parameter of the matrix format (its row of proto/param.c),
 * NULL when it has none (strings, booleans). */
static const char *
results_param_unit(const char *name)
{
    const param_t *p = param_find(name);
    return p ? p->unit : NULL;
}

/* The run filter of a resolved selection, with ?1 as its one parameter. */
static const char *
results_sel_cond(const results_select_t *sel)
{
    if (sel->matrix)
        return "r.batch_id IN (SELECT id FROM batch WHERE matrix_name = ?1)";
    return sel->batch > 0 ? "r.batch_id = ?1" : "?1 IS NOT NULL";
}

static void
results_sel_bind(sqlite3_stmt *st, const results_select_t *sel)
{
    if (sel->matrix)
        sqlite3_bind_text(st, 1, sel->matrix, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, sel->batch);
}

/* Prepares head + the selection's condition + tail; NULL on error. */
static sqlite3_stmt *
results_sel_prepare(sqlite3 *db, const results_select_t *sel, const char *head,
                    const char *tail)
{
    sqlite3_stmt *st = NULL;
    char *sql = results_fmt("%s%s%s", head, results_sel_cond(sel), tail);

    if (!sql)
        return NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        st = NULL;
    free(sql);
    if (st)
        results_sel_bind(st, sel);
    return st;
}

int
results_export(store_t *store, const results_select_t *select, results_format_t format,
               FILE *out, char *err, size_t errlen)
{
    results_select_t sel = *select;
    sqlite3_stmt *rs = NULL, *ms = NULL, *ps = NULL, *ns = NULL, *hs = NULL;
    json_t *pnames = NULL, *mnames = NULL, *meta = NULL;
    char what[128];
    sqlite3 *db;
    int rc = -1, mstep, step, e;
    int64_t mrun = 0;
    size_t nruns = 0;

    if (err && errlen)
        err[0] = '\0';
    if (!store || !out) {
        results_err(err, errlen, "no database");
        return -1;
    }
    if (format == RESULTS_TABLE) {
        results_err(err, errlen, "export: --format must be csv or json");
        return -1;
    }
    db = store_db(store);
    e = results_select_resolve(store, &sel, what, sizeof what, err, errlen);
    if (e < 0)
        return -1;
    if (e == 1)
        sel.batch = 0;                /* an empty database: selects nothing */
    /* Parameter and metric names over the selection (CSV columns), host metadata. */
    if (!(pnames = json_array()) || !(mnames = json_object()) || !(meta = json_object()))
        goto oom;
    if (format == RESULTS_CSV) {
        if (!(ps = results_sel_prepare(db, &sel,
                       "SELECT DISTINCT j.key FROM run r, json_each(r.params_json) j WHERE ",
                       "")) ||
            !(ns = results_sel_prepare(db, &sel,
                       "SELECT m.name, max(m.unit) FROM metric m JOIN run r ON r.id = m.run_id "
                       "WHERE ",
                       " GROUP BY m.name ORDER BY m.name")))
            goto dberr;
        while ((step = sqlite3_step(ps)) == SQLITE_ROW)
            json_array_append_new(pnames, json_string((const char *)sqlite3_column_text(ps, 0)));
        if (step != SQLITE_DONE)
            goto dberr;
        while ((step = sqlite3_step(ns)) == SQLITE_ROW)
            json_object_set_new(mnames, (const char *)sqlite3_column_text(ns, 0),
                                sqlite3_column_text(ns, 1)
                                    ? json_string((const char *)sqlite3_column_text(ns, 1))
                                    : json_null());
        if (step != SQLITE_DONE)
            goto dberr;
    } else {
        if (!(hs = results_sel_prepare(db, &sel,
                       "SELECT h.batch_id, h.host, h.meta_json FROM host_meta h WHERE h.batch_id "
                       "IN (SELECT DISTINCT r.batch_id FROM run r WHERE ",
                       ")")))
            goto dberr;
        while ((step = sqlite3_step(hs)) == SQLITE_ROW) {
            char key[64];

            snprintf(key, sizeof key, "%lld/%s", (long long)sqlite3_column_int64(hs, 0),
                     (const char *)sqlite3_column_text(hs, 1));
            json_object_set_new(meta, key,
                                json_loads((const char *)sqlite3_column_text(hs, 2), 0, NULL)
                                    ?: json_null());
        }
        if (step != SQLITE_DONE)
            goto dberr;
    }
    if (!(rs = results_sel_prepare(db, &sel,
                   "SELECT r.id, r.batch_id, r.state, r.reason, r.params_json, r.client_host, "
                   "r.server_host, (SELECT group_concat(flag) FROM run_flag f WHERE f.run_id = "
                   "r.id) FROM run r WHERE ",
                   " ORDER BY r.id")) ||
        !(ms = results_sel_prepare(db, &sel,
                   "SELECT m.run_id, m.name, m.value FROM metric m JOIN run r ON r.id = m.run_id "
                   "WHERE ",
                   " ORDER BY m.run_id")))
        goto dberr;
    if (format == RESULTS_CSV) {
        const char *k;
        json_t *u;
        size_t i;
        json_t *pn;

        fputs("id,batch,state,reason,client_host,server_host,flags", out);
        json_array_foreach(pnames, i, pn) {
            const char *pu = results_param_unit(json_string_value(pn));
            char *h = pu ? results_fmt("%s (%s)", json_string_value(pn), pu)
                         : strdup(json_string_value(pn));

            fputc(',', out);
            results_csv_field(out, h);
            free(h);
        }
        json_object_foreach(mnames, k, u) {
            char *h = json_is_string(u) ? results_fmt("%s (%s)", k, json_string_value(u))
                                        : strdup(k);

            fputc(',', out);
            results_csv_field(out, h);
            free(h);
        }
        fputc('\n', out);
    } else {
        fputs("[", out);
    }
    mstep = sqlite3_step(ms);
    while ((step = sqlite3_step(rs)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(rs, 0), batch = sqlite3_column_int64(rs, 1);
        json_t *params = json_loads((const char *)sqlite3_column_text(rs, 4), 0, NULL);
        json_t *metrics = json_object();
        const char *flags = (const char *)sqlite3_column_text(rs, 7);

        if (!metrics) {
            json_decref(params);
            goto oom;
        }
        /* Both statements are ordered by run id: advance the metric cursor alongside. */
        while (mstep == SQLITE_ROW && (mrun = sqlite3_column_int64(ms, 0)) <= id) {
            if (mrun == id)
                json_object_set_new(metrics, (const char *)sqlite3_column_text(ms, 1),
                                    json_real(sqlite3_column_double(ms, 2)));
            mstep = sqlite3_step(ms);
        }
        if (format == RESULTS_CSV) {
            const char *k;
            json_t *u, *pn;
            size_t i;

            fprintf(out, "%lld,%lld,", (long long)id, (long long)batch);
            results_csv_field(out, (const char *)sqlite3_column_text(rs, 2));
            for (int c = 3; c <= 7; c++) {       /* reason, client, server, flags */
                if (c == 4)
                    continue;
                fputc(',', out);
                results_csv_field(out, (const char *)sqlite3_column_text(rs, c));
            }
            json_array_foreach(pnames, i, pn) {
                char *t = json_object_get(params, json_string_value(pn))
                              ? results_value_text(json_object_get(params, json_string_value(pn)))
                              : NULL;

                fputc(',', out);
                results_csv_field(out, t);
                free(t);
            }
            json_object_foreach(mnames, k, u) {
                json_t *v = json_object_get(metrics, k);

                fputc(',', out);
                if (v)
                    results_csv_num(out, json_real_value(v));
            }
            fputc('\n', out);
        } else {
            json_t *fl = json_array(), *hm = json_object(), *o;
            char *text;

            for (const char *f = flags; fl && f && *f;) {
                size_t l = strcspn(f, ",");

                json_array_append_new(fl, json_stringn(f, l));
                f += l + (f[l] == ',');
            }
            for (int c = 5; hm && c <= 6; c++) {
                const char *host = (const char *)sqlite3_column_text(rs, c);
                char key[64];

                if (!host)
                    continue;
                snprintf(key, sizeof key, "%lld/%s", (long long)batch, host);
                json_object_set(hm, host, json_object_get(meta, key) ?: json_null());
            }
            o = json_pack("{s:I, s:I, s:s, s:s?, s:o, s:o, s:o?, s:o?, s:s?, s:s?}", "id",
                          (json_int_t)id, "batch", (json_int_t)batch, "state",
                          (const char *)sqlite3_column_text(rs, 2), "reason",
                          (const char *)sqlite3_column_text(rs, 3), "params",
                          params ? params : json_object(), "metrics", metrics, "flags", fl,
                          "hosts", hm, "client_host", (const char *)sqlite3_column_text(rs, 5),
                          "server_host", (const char *)sqlite3_column_text(rs, 6));
            params = metrics = NULL;
            text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
            json_decref(o);
            if (!text)
                goto oom;
            fprintf(out, "%s\n  %s", nruns ? "," : "", text);
            free(text);
        }
        json_decref(params);
        json_decref(metrics);
        nruns++;
    }
    if (step != SQLITE_DONE || (mstep != SQLITE_ROW && mstep != SQLITE_DONE))
        goto dberr;
    if (format == RESULTS_JSON)
        fputs(nruns ? "\n]\n" : "]\n", out);
    rc = 0;
    goto out;
oom:
    results_err(err, errlen, "out of memory");
    goto out;
dberr:
    results_err(err, errlen, "database: %s", sqlite3_errmsg(db));
out:
    sqlite3_finalize(rs);
    sqlite3_finalize(ms);
    sqlite3_finalize(ps);
    sqlite3_finalize(ns);
    sqlite3_finalize(hs);
    json_decref(pnames);
    json_decref(mnames);
    json_decref(meta);
    return rc;
}
