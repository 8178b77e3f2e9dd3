/*
 * results_groups.c — the groups of a comparison, shared by compare, plot
 * and model.
 *
 * results_groups_collect reads every finished run of the selection with
 * its metric value, its params_json text and its flags (view run_flag over
 * result.raw_json) in one statement; runs with identical params_json fall
 * into one point through a hash table, so the JSON is parsed once per
 * point, not per run.  The group key is the --by parameters plus every
 * other parameter whose value differs between points, so no group mixes
 * sizes; each group's baseline is the group equal in every key but the
 * baseline parameter.  Groups are then sorted (results_groups_sort): blocks
 * equal but for the baseline parameter in key order (each parameter's
 * values in matrix.c's table order, numbers by value), the baseline first
 * in each, so the output does not depend on the order the runs ran in.
 * Done runs without the metric are counted by traffic kind for a note
 * (results_missing_note).  stats.c gives the mean, median, stddev,
 * Student-t CI, Welch's test and Fieller's interval of the change.
 */
#include "results_int.h"

#include "matrix.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
