/*
 * results_export.c — `cntb results export`: every run of a selection as a
 * JSON array or CSV rows, with parameters, metrics (units in the CSV
 * header), flags and host metadata.  Runs and their metrics are streamed
 * with two cursors ordered by run id, so memory does not grow with the
 * number of runs.
 */
#include "param.h"
#include "results_int.h"

#include "matrix.h"

#include <stdlib.h>
#include <string.h>

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
