/*
 * results_compare.c — `cntb results compare`: the groups of
 * results_groups.c printed as an aligned table (values scaled for display,
 * the unit in each column header, significance marked), as CSV or as JSON
 * (raw units named in the header or the keys), and the notes that go
 * apart from the output (tool-bound runs, runs without the metric).
 */
#include "results_int.h"

#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
