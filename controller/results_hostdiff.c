/*
 * results_hostdiff.c — the hosts' metadata snapshots of a batch
 * (results_batch_meta), flattened to dotted keys (results_flatten, also
 * used by show), and `cntb results diff-hosts`, which pairs the hosts of two
 * batches by name and names the keys that differ, leaving out those that
 * differ by nature (results_meta_volatile).
 */
#include "results_int.h"

#include <stdlib.h>
#include <string.h>

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
int
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
json_t *
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
