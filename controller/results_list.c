/*
 * results_list.c — `cntb results list`: the batches (no batch given) or the
 * runs of one batch, with state, reason and the main metric, as a table,
 * CSV or JSON.
 */
#include "results_int.h"

#include "matrix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
