/*
 * results.c — the queries behind `cntb results list|show|compare|diff-hosts|
 * export` (plots: plot.c; models: model.c, both on results_groups_collect),
 * split by concern:
 *
 *   results.c           what every query shares: the selection (a batch, all
 *                       batches, or the batches of a matrix), --by and
 *                       --baseline parsing, metric units, the order of
 *                       parameter values, "did you mean" hints
 *   results_fmt.c       output helpers: RFC 4180 CSV, display scales, the
 *                       aligned table printer, SQLite cells as text or JSON
 *   results_groups.c    the groups of a comparison (collect, sort, free)
 *   results_compare.c   compare as table, CSV or JSON
 *   results_list.c      list of batches or runs
 *   results_show.c      show of one run
 *   results_hostdiff.c  host metadata: flattening, diff-hosts
 *   results_export.c    export of every run for notebooks and spreadsheets
 *
 * results_int.h declares what the files share.  SQL text holds only fixed
 * fragments; names and values are bound.  Output goes through one small
 * table printer (aligned columns), RFC 4180 CSV, or jansson for JSON, so
 * that parameter values of any content come out quoted.  docs/results.md
 * describes every column.
 */
#include "results_int.h"

#include "matrix.h"
#include "metric.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
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
bool
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

/*
 * Resolves batch (0 = latest, -1 = all) to an id or -1; *empty when the
 * database has no batch at all.  0 or -1 with err.
 */
int
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
char *
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
int
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
int
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

/*
 * Considers cand for word: close when the edit distance is at most
 * max(2, len/3 + 1) (rtt_p50 -> rtt_us_p50 is 3) or cand holds word (3 bytes
 * or more); keeps the 3 closest, the first seen on a tie.  cand must outlive h.
 */
void
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
void
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
void
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

/* A JSON parameter value as text: strings as is, true/false, numbers as JSON; fresh. */
char *
results_value_text(const json_t *v)
{
    if (!v || json_is_null(v))
        return strdup(RESULTS_NONE);
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Resolves the selection to an SQL condition on r.batch_id; 0, 1 (nothing to select) or -1. */
int
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
int
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
int
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
