/*
 * model.c — performance models of network paths (`cntb model`).
 *
 * A packet that crosses a path costs a fixed time (system call, softirq,
 * every device and hook on the path) plus a time per byte (copies,
 * checksums): time per packet = a + b · size.  The cost of a container
 * network is then its a and b against those of the baseline path (host
 * networking).  The points come from packet-rate sweeps over sizes: each
 * done run with throughput_pps gives (size, 1e9 / pps) in ns; the line is
 * an ordinary least-squares fit per path (stats_linfit), reported with R²
 * and the mean residual per size so that a path the line does not describe
 * (a knee at the MTU, segmentation offload) is visible rather than
 * averaged away.  The grouping is results_groups_collect()'s, so a path is
 * every parameter but size, and the baseline path is the one equal in all
 * but the baseline parameter.
 */
#include "model.h"
#include "param.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_CONFIDENCE 0.95
#define MODEL_SIZE_MAX ((double)PARAM_SIZE_MAX) /* the matrix parameter's limit (proto/param.h) */

static void model_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
model_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void
model_free(model_t *m)
{
    if (!m)
        return;
    results_groups_free(&m->gs);
    free(m->p);
    free(m->pathof);
    free(m->held);
    m->p = NULL;
    m->pathof = NULL;
    m->held = NULL;
    m->np = 0;
}

/* 1 when groups a and b are equal in every key but skip (and size). */
static bool
model_same_path(const model_t *m, const results_group_t *a, const results_group_t *b, int skip,
                const char *skipval)
{
    for (int j = 0; j < m->gs.nkeys; j++) {
        if (j == m->sidx)
            continue;
        if (strcmp(a->val[j], j == skip ? skipval : b->val[j]) != 0)
            return false;
    }
    return true;
}

int
model_fit_paths(store_t *store, const results_select_t *sel, const char *by,
                const char *baseline, const model_holdout_t *hold, model_t *m, char *err,
                size_t errlen)
{
    char bybuf[320], msg[256];
    bool has = false;
    int rc, *pathof;

    memset(m, 0, sizeof *m);
    m->sidx = -1;
    for (const char *p = by; p && *p; p += strcspn(p, ","), p += *p == ',')
        has = has || (strncmp(p, "size", 4) == 0 && (p[4] == ',' || !p[4]));
    snprintf(bybuf, sizeof bybuf, "%s%s", by ? by : "", has ? "" : ",size");
    rc = results_groups_collect(store, sel, bybuf, baseline, "throughput_pps", &m->gs, msg,
                                sizeof msg, err, errlen);
    if (rc == 1)
        model_err(err, errlen, "%s", msg);
    if (rc != 0)
        return rc;
    for (int j = 0; j < m->gs.nkeys; j++)
        if (strcmp(m->gs.keys[j], "size") == 0)
            m->sidx = j;
    if (!(m->p = calloc((size_t)m->gs.ng, sizeof *m->p)) ||
        !(m->pathof = calloc((size_t)m->gs.ng, sizeof *m->pathof)) ||
        !(m->held = calloc((size_t)m->gs.ng, sizeof *m->held))) {
        model_err(err, errlen, "out of memory");
        goto fail;
    }
    pathof = m->pathof;
    for (int i = 0; i < m->gs.ng; i++) {
        double size = strtod(m->gs.g[i].val[m->sidx], NULL);
        int k;

        for (int h = 0; hold && h < hold->n; h++)
            m->held[i] = m->held[i] || size == hold->size[h];

        for (k = 0; k < m->np; k++) {
            results_group_t first = { .val = m->p[k].val };

            if (model_same_path(m, &m->gs.g[i], &first, -1, NULL))
                break;
        }
        if (k == m->np) {
            m->p[k].val = m->gs.g[i].val;
            m->p[k].base = -1;
            m->np++;
        }
        pathof[i] = k;
    }
    for (int k = 0; k < m->np; k++) {
        model_path_t *p = &m->p[k];
        double *x = NULL, *y = NULL;
        int n = 0, cap = 0;

        for (int i = 0; i < m->gs.ng; i++) {
            char *end;
            double size = strtod(m->gs.g[i].val[m->sidx], &end);

            if (pathof[i] != k || m->held[i] || *end || !(size > 0))
                continue;
            for (int r = 0; r < m->gs.g[i].n; r++) {
                double pps = m->gs.g[i].x[r];

                if (!(pps > 0))
                    continue;
                if (n == cap) {
                    int c = cap ? 2 * cap : 16;
                    double *nx = realloc(x, (size_t)c * sizeof *nx), *ny;

                    if (nx)
                        x = nx;
                    ny = nx ? realloc(y, (size_t)c * sizeof *ny) : NULL;
                    if (!ny) {
                        free(x);
                        free(y);
                        model_err(err, errlen, "out of memory");
                        goto fail;
                    }
                    y = ny;
                    cap = c;
                }
                x[n] = size;
                y[n++] = 1e9 / pps;
            }
            if (p->nsizes < MODEL_MAX_SIZES) {
                int s = p->nsizes++;

                while (s > 0 && p->size[s - 1] > size) {
                    p->size[s] = p->size[s - 1];
                    s--;
                }
                p->size[s] = size;
            }
        }
        p->nruns = n;
        p->fitted = stats_linfit(x, y, n, &p->fit) == 0;
        for (int s = 0; p->fitted && s < p->nsizes; s++) {
            double sum = 0;
            int c = 0;

            for (int i = 0; i < n; i++)
                if (x[i] == p->size[s]) {
                    sum += y[i] - (p->fit.a + p->fit.b * x[i]);
                    c++;
                }
            p->resid[s] = c ? sum / c : NAN;
        }
        free(x);
        free(y);
    }
    /* The baseline path: equal in everything but the baseline parameter. */
    if (m->gs.bidx >= 0) {
        const char *bval = strchr(baseline, '=') + 1;

        for (int k = 0; k < m->np; k++)
            for (int q = 0; q < m->np && m->p[k].base < 0; q++) {
                results_group_t a = { .val = m->p[q].val }, b = { .val = m->p[k].val };

                if (strcmp(m->p[q].val[m->gs.bidx], bval) == 0 &&
                    model_same_path(m, &a, &b, m->gs.bidx, bval))
                    m->p[k].base = q;
            }
    }
    return 0;
fail:
    model_free(m);
    return -1;
}

static json_t *
model_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* One path as a JSON object (keys, fit, residuals, overhead). */
static json_t *
model_path_json(const model_t *m, const model_path_t *p)
{
    json_t *o = json_object(), *res = json_object();
    const model_path_t *b = p->base >= 0 ? &m->p[p->base] : NULL;

    if (!o || !res) {
        json_decref(o);
        json_decref(res);
        return NULL;
    }
    for (int j = 0; j < m->gs.nkeys; j++)
        if (j != m->sidx)
            json_object_set_new(o, m->gs.keys[j], json_string(p->val[j]));
    json_object_set_new(o, "runs", json_integer(p->nruns));
    json_object_set_new(o, "sizes", json_integer(p->nsizes));
    json_object_set_new(o, "a_ns_per_packet", model_num(p->fitted ? p->fit.a : NAN));
    json_object_set_new(o, "a_se_ns", model_num(p->fitted ? p->fit.se_a : NAN));
    json_object_set_new(o, "b_ns_per_byte", model_num(p->fitted ? p->fit.b : NAN));
    json_object_set_new(o, "b_se_ns", model_num(p->fitted ? p->fit.se_b : NAN));
    json_object_set_new(o, "r2", model_num(p->fitted ? p->fit.r2 : NAN));
    for (int s = 0; p->fitted && s < p->nsizes; s++) {
        char k[32];

        snprintf(k, sizeof k, "%g", p->size[s]);
        json_object_set_new(res, k, model_num(p->resid[s]));
    }
    json_object_set_new(o, "residual_ns_by_size", res);
    json_object_set_new(o, "overhead_a_ns_per_packet",
                        model_num(b && b->fitted && p->fitted ? p->fit.a - b->fit.a : NAN));
    json_object_set_new(o, "overhead_b_ns_per_byte",
                        model_num(b && b->fitted && p->fitted ? p->fit.b - b->fit.b : NAN));
    return o;
}

/* Columns s takes on a terminal: UTF-8 characters, not bytes ("R²", "Δa"). */
static int
model_width(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Prints s left-aligned in w columns (none after the last column). */
static void
model_cell(FILE *out, bool first, bool last, int w, const char *s)
{
    fprintf(out, "%s%s", first ? "" : "  ", s);
    for (int k = model_width(s); !last && k < w; k++)
        fputc(' ', out);
}

/* Prints rows (JSON objects with the same keys) as a table, CSV or JSON. */
static int
model_print(json_t *rows, const char *const *cols, const char *const *heads, int ncols,
            results_format_t format, FILE *out)
{
    size_t i;
    json_t *r;

    if (format == RESULTS_JSON) {
        if (json_dumpf(rows, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0)
            return -1;
        fputc('\n', out);
        return 0;
    }
    {
        int w[32] = { 0 };
        char cell[32][256];

        for (int c = 0; c < ncols && c < 32; c++)
            w[c] = model_width(format == RESULTS_CSV ? cols[c] : heads[c]);
        /* Two passes: widths, then print. */
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                for (int c = 0; c < ncols; c++) {
                    const char *h = format == RESULTS_CSV ? cols[c] : heads[c];

                    if (format == RESULTS_CSV)
                        fprintf(out, "%s%s", c ? "," : "", h);
                    else
                        model_cell(out, c == 0, c == ncols - 1, w[c], h);
                }
                fputc('\n', out);
            }
            json_array_foreach(rows, i, r) {
                for (int c = 0; c < ncols && c < 32; c++) {
                    json_t *v = json_object_get(r, cols[c]);

                    if (json_is_string(v))
                        snprintf(cell[c], sizeof cell[c], "%s", json_string_value(v));
                    else if (json_is_integer(v))
                        snprintf(cell[c], sizeof cell[c], "%lld",
                                 (long long)json_integer_value(v));
                    else if (json_is_real(v))
                        snprintf(cell[c], sizeof cell[c],
                                 format == RESULTS_CSV ? "%.10g" : "%.4g", json_real_value(v));
                    else if (json_is_object(v)) {
                        const char *k;
                        json_t *x;

                        cell[c][0] = '\0';
                        json_object_foreach(v, k, x)
                            snprintf(cell[c] + strlen(cell[c]), sizeof cell[c] - strlen(cell[c]),
                                     "%s%s:%+.3g", cell[c][0] ? " " : "", k, json_real_value(x));
                    } else
                        snprintf(cell[c], sizeof cell[c], "%s", format == RESULTS_CSV ? "" : "-");
                    if (pass == 0 && model_width(cell[c]) > w[c])
                        w[c] = model_width(cell[c]);
                }
                if (pass == 0)
                    continue;
                for (int c = 0; c < ncols; c++) {
                    if (format == RESULTS_CSV) {
                        bool q = strpbrk(cell[c], ",\"\n") != NULL;

                        if (c)
                            fputc(',', out);
                        if (q) {
                            fputc('"', out);
                            for (const char *s = cell[c]; *s; s++) {
                                if (*s == '"')
                                    fputc('"', out);
                                fputc(*s, out);
                            }
                            fputc('"', out);
                        } else {
                            fputs(cell[c], out);
                        }
                    } else {
                        model_cell(out, c == 0, c == ncols - 1, w[c], cell[c]);
                    }
                }
                fputc('\n', out);
            }
        }
    }
    return 0;
}

/* Prints rows with a column per key of the paths (but size), then fixed[0..nfixed-1]. */
static int
model_print_rows(const model_t *m, json_t *rows, const char *const *fixed,
                 const char *const *fheads, int nfixed, results_format_t format, FILE *out)
{
    const char *cols[RESULTS_MAX_KEYS + 16], *heads[RESULTS_MAX_KEYS + 16];
    int nc = 0;

    for (int j = 0; j < m->gs.nkeys; j++)
        if (j != m->sidx) {
            cols[nc] = m->gs.keys[j];
            heads[nc++] = m->gs.keys[j];
        }
    for (int c = 0; c < nfixed && c < 16; c++) {
        cols[nc] = fixed[c];
        heads[nc++] = fheads[c];
    }
    return model_print(rows, cols, heads, nc, format, out);
}

/* Sets o's packet/s and its interval from a time per packet t in [lo, hi] ns:
 * pps = 1e9 / t, the interval flips; a time bound at or below 0 (or NaN)
 * leaves that side unbounded (null). */
static void
model_set_rates(json_t *o, double t, double lo, double hi)
{
    json_object_set_new(o, "packet_per_s", model_num(t > 0 ? 1e9 / t : NAN));
    json_object_set_new(o, "packet_per_s_low", model_num(hi > 0 ? 1e9 / hi : NAN));
    json_object_set_new(o, "packet_per_s_high", model_num(lo > 0 ? 1e9 / lo : NAN));
}

int
model_fit(store_t *store, const results_select_t *sel, const char *by, const char *baseline,
          const model_holdout_t *hold, results_format_t format, FILE *out, char *err,
          size_t errlen)
{
    static const char *const fixed[] = { "runs", "sizes", "a_ns_per_packet", "b_ns_per_byte",
                                         "r2", "residual_ns_by_size",
                                         "overhead_a_ns_per_packet", "overhead_b_ns_per_byte" };
    static const char *const fheads[] = { "runs", "sizes", "a (ns/packet)", "b (ns/byte)",
                                          "R²", "residual by size (bytes:ns)",
                                          "Δa vs base (ns/packet)", "Δb vs base (ns/byte)" };
    json_t *rows = NULL;
    model_t m;
    int rc;

    rc = model_fit_paths(store, sel, by, baseline, hold, &m, err, errlen);
    if (rc == 1)
        fprintf(out, "%s\n", err);
    if (rc != 0)
        return rc;
    rc = -1;
    if (!(rows = json_array()))
        goto out;
    for (int k = 0; k < m.np; k++)
        if (json_array_append_new(rows, model_path_json(&m, &m.p[k])) < 0)
            goto out;
    /* The overhead columns only with a baseline. */
    rc = model_print_rows(&m, rows, fixed, fheads, m.gs.bidx < 0 ? 6 : 8, format, out);
out:
    if (rc < 0)
        model_err(err, errlen, "out of memory");
    json_decref(rows);
    model_free(&m);
    return rc;
}

int
model_predict(store_t *store, const results_select_t *sel, const char *by,
              const model_holdout_t *hold, const char *const *where, int nwhere, double size,
              results_format_t format, FILE *out, char *err, size_t errlen)
{
    static const char *const fixed[] = { "size_bytes", "time_ns", "time_low_ns", "time_high_ns",
                                         "packet_per_s", "packet_per_s_low",
                                         "packet_per_s_high", "bit_per_s", "bit_per_s_low",
                                         "bit_per_s_high" };
    static const char *const fheads[] = { "size (bytes)", "t (ns/packet)", "t low (ns)",
                                          "t high (ns)", "pps (packet/s)", "pps low (packet/s)",
                                          "pps high (packet/s)", "rate (bit/s)", "rate low (bit/s)",
                                          "rate high (bit/s)" };
    json_t *rows = NULL;
    model_t m;
    int rc;

    if (!(size >= 1 && size <= MODEL_SIZE_MAX) || size != floor(size)) {
        model_err(err, errlen, "bad --size %.15g: an integer from 1 to %.0f bytes", size,
                  MODEL_SIZE_MAX);
        return -1;
    }
    for (int w = 0; w < nwhere; w++)
        if (!strchr(where[w], '=') || where[w][0] == '=') {
            model_err(err, errlen, "bad filter '%.80s': expected param=value", where[w]);
            return -1;
        }
    rc = model_fit_paths(store, sel, by, NULL, hold, &m, err, errlen);
    if (rc == 1)
        fprintf(out, "%s\n", err);
    if (rc != 0)
        return rc;
    rc = -1;
    for (int w = 0; w < nwhere; w++) {
        size_t kl = (size_t)(strchr(where[w], '=') - where[w]);
        bool key = false;

        for (int j = 0; j < m.gs.nkeys; j++)
            key = key || (strlen(m.gs.keys[j]) == kl && strncmp(m.gs.keys[j], where[w], kl) == 0);
        if (!key) {
            model_err(err, errlen, "unknown key in '%.80s': the paths differ in %s%s%s", where[w],
                      m.gs.keys[0], m.gs.nkeys > 2 ? ", ..." : "",
                      m.gs.nkeys > 1 ? " (and size)" : "");
            goto out;
        }
    }
    if (!(rows = json_array()))
        goto oom;
    for (int k = 0; k < m.np; k++) {
        model_path_t *p = &m.p[k];
        bool match = true;
        double t, lo, hi;
        json_t *o;

        for (int w = 0; w < nwhere && match; w++) {
            size_t kl = (size_t)(strchr(where[w], '=') - where[w]);

            for (int j = 0; j < m.gs.nkeys; j++)
                if (strlen(m.gs.keys[j]) == kl && strncmp(m.gs.keys[j], where[w], kl) == 0)
                    match = strcmp(p->val[j], where[w] + kl + 1) == 0;
        }
        if (!match || !p->fitted ||
            stats_linfit_predict(&p->fit, size, MODEL_CONFIDENCE, &t, &lo, &hi) < 0)
            continue;
        if (!(o = json_object()) || json_array_append_new(rows, o) < 0)
            goto oom;
        for (int j = 0; j < m.gs.nkeys; j++)
            if (j != m.sidx)
                json_object_set_new(o, m.gs.keys[j], json_string(p->val[j]));
        json_object_set_new(o, "size_bytes", json_integer((json_int_t)size));
        json_object_set_new(o, "time_ns", model_num(t));
        json_object_set_new(o, "time_low_ns", model_num(lo));
        json_object_set_new(o, "time_high_ns", model_num(hi));
        model_set_rates(o, t, lo, hi);
        json_object_set_new(o, "bit_per_s", model_num(t > 0 ? 8e9 * size / t : NAN));
        json_object_set_new(o, "bit_per_s_low", model_num(hi > 0 ? 8e9 * size / hi : NAN));
        json_object_set_new(o, "bit_per_s_high", model_num(lo > 0 ? 8e9 * size / lo : NAN));
    }
    if (json_array_size(rows) == 0) {
        char f[256] = "";

        for (int w = 0; w < nwhere; w++)
            snprintf(f + strlen(f), sizeof f - strlen(f), "%s%s", w ? " " : "", where[w]);
        model_err(err, errlen, "no fitted path matches %s (model fit lists the paths)",
                  nwhere ? f : "the selection");
        goto out;
    }
    rc = model_print_rows(&m, rows, fixed, fheads, 10, format, out);
    if (rc < 0)
        goto oom;
    goto out;
oom:
    model_err(err, errlen, "out of memory");
    rc = -1;
out:
    json_decref(rows);
    model_free(&m);
    return rc;
}

int
model_check(store_t *store, const results_select_t *sel, const char *by,
            const model_holdout_t *hold, results_format_t format, FILE *out, char *err,
            size_t errlen)
{
    static const char *const fixed[] = { "size_bytes", "runs", "measured_packet_per_s",
                                         "packet_per_s", "packet_per_s_low",
                                         "packet_per_s_high", "error_pct" };
    static const char *const fheads[] = { "size (bytes)", "runs", "measured (packet/s)",
                                          "predicted (packet/s)", "pps low (packet/s)",
                                          "pps high (packet/s)",
                                          "error (%)" };
    json_t *rows = NULL;
    model_t m;
    int rc;

    if (!hold || hold->n < 1) {
        model_err(err, errlen, "check needs --hold-out SIZE[,SIZE...]");
        return -1;
    }
    rc = model_fit_paths(store, sel, by, NULL, hold, &m, err, errlen);
    if (rc == 1)
        fprintf(out, "%s\n", err);
    if (rc != 0)
        return rc;
    rc = -1;
    for (int h = 0; h < hold->n; h++) {
        bool seen = false;

        for (int i = 0; i < m.gs.ng && !seen; i++)
            seen = m.held[i] && strtod(m.gs.g[i].val[m.sidx], NULL) == hold->size[h];
        if (!seen) {
            model_err(err, errlen, "--hold-out %.15g: no run of the selection has size %.15g",
                      hold->size[h], hold->size[h]);
            goto out;
        }
    }
    if (!(rows = json_array()))
        goto oom;
    for (int k = 0; k < m.np; k++)
        for (int i = 0; i < m.gs.ng; i++) {
            const results_group_t *g = &m.gs.g[i];
            double size = strtod(g->val[m.sidx], NULL), t, lo, hi, sum = 0;
            int n = 0;
            json_t *o;

            if (m.pathof[i] != k || !m.held[i])
                continue;
            for (int r = 0; r < g->n; r++)
                if (g->x[r] > 0) {
                    sum += g->x[r];
                    n++;
                }
            if (!(o = json_object()) || json_array_append_new(rows, o) < 0)
                goto oom;
            for (int j = 0; j < m.gs.nkeys; j++)
                if (j != m.sidx)
                    json_object_set_new(o, m.gs.keys[j], json_string(g->val[j]));
            json_object_set_new(o, "size_bytes", json_integer((json_int_t)size));
            json_object_set_new(o, "runs", json_integer(n));
            json_object_set_new(o, "measured_packet_per_s", model_num(n ? sum / n : NAN));
            if (!m.p[k].fitted ||
                stats_linfit_predict(&m.p[k].fit, size, MODEL_CONFIDENCE, &t, &lo, &hi) < 0)
                t = lo = hi = NAN;
            model_set_rates(o, t, lo, hi);
            json_object_set_new(o, "error_pct",
                                model_num(t > 0 && n ? (1e9 / t - sum / n) / (sum / n) * 100
                                                     : NAN));
        }
    rc = model_print_rows(&m, rows, fixed, fheads, 7, format, out);
    if (rc < 0)
        goto oom;
    goto out;
oom:
    model_err(err, errlen, "out of memory");
    rc = -1;
out:
    json_decref(rows);
    model_free(&m);
    return rc;
}
