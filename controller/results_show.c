/*
 * results_show.c — `cntb results show`: one run with its parameters, state,
 * hosts, every metric with its unit, its samples and the metadata of its
 * hosts, as tables, CSV rows or one JSON object.
 */
#include "results_int.h"

#include "metric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
