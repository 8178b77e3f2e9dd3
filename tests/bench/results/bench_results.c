/*
 * bench_results.c — how fast `cntb results compare` and `export` are on a
 * large database (issue: compare under 1 s with 1,000,000 metric rows).
 *
 * Fills a fresh database in a mkdtemp directory with 10 batches of 10,000
 * runs (4 networks x 2 placements x 5 sizes x 250 repetitions), 10 metrics
 * per run = 1,000,000 metric rows, one result per run (every 20th carries
 * "flags": ["tool_bound"]), then times compare over one batch and over all
 * batches, and export as CSV and JSON of everything to /dev/null, each the
 * best of 3 (CLOCK_MONOTONIC).  Prints the figures; not a ctest (the
 * machine is shared, times vary).  Usage: bench_results [RUNS_PER_BATCH].
 * Removes its directory at the end.
 */
#include "results.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCHES 10

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *const metrics[10] = { "throughput_bps", "throughput_pps", "rtt_us_p50",
                                         "rtt_us_p90", "rtt_us_p99", "rtt_us_p999",
                                         "rtt_us_mean", "retransmits", "cpu_client_pct",
                                         "cpu_server_pct" };

static int
fill(store_t *s, int runs)
{
    static const char *const nets[4] = { "host", "bridge", "macvlan", "nat" };
    static const char *const pl[2] = { "same-host", "cross-host" };
    static const int sizes[5] = { 64, 256, 1024, 1448, 16384 };
    sqlite3 *db = store_db(s);
    char **params = calloc((size_t)runs, sizeof *params);
    int *point = calloc((size_t)runs, sizeof *point), *rep = calloc((size_t)runs, sizeof *rep);
    int64_t *ids = calloc((size_t)runs, sizeof *ids);
    sqlite3_stmt *rs = NULL, *ms = NULL, *us = NULL;
    unsigned seed = 12345;
    int rc = -1;

    if (!params || !point || !rep || !ids)
        goto out;
    for (int i = 0; i < runs; i++) {
        int p = i % 40;

        point[i] = p;
        rep[i] = i / 40;
        if (asprintf(&params[i], "{\"network\":\"%s\",\"placement\":\"%s\",\"nesting\":\"bare\","
                     "\"traffic\":\"tcp_stream\",\"size\":%d,\"streams\":1,\"duration_s\":10}",
                     nets[p % 4], pl[(p / 4) % 2], sizes[p / 8]) < 0)
            goto out;
    }
    if (sqlite3_prepare_v2(db, "INSERT INTO result (run_id, seq, host, received_at, raw_json)"
                               " VALUES (?1, 0, 'h1', '2026-11-30T00:00:00.000Z', ?2)",
                           -1, &rs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO metric (run_id, name, value, unit) VALUES (?1, ?2,"
                               " ?3, NULL)", -1, &ms, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE run SET state = 'done' WHERE batch_id = ?1", -1, &us,
                           NULL) != SQLITE_OK)
        goto out;
    for (int b = 0; b < BATCHES; b++) {
        int64_t batch = store_batch_insert(s, "bench", "{}", "lab", runs,
                                           (const char *const *)params, point, rep, ids);

        if (batch < 0)
            goto out;
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (int i = 0; i < runs; i++) {
            double base = 40e9 / (1 + point[i] % 4) * (point[i] / 8 + 1) / 5;

            sqlite3_reset(rs);
            sqlite3_bind_int64(rs, 1, ids[i]);
            sqlite3_bind_text(rs, 2, i % 20 ? "{\"metrics\":{}}"
                                            : "{\"metrics\":{},\"flags\":[\"tool_bound\"]}",
                              -1, SQLITE_STATIC);
            if (sqlite3_step(rs) != SQLITE_DONE)
                goto out;
            for (int m = 0; m < 10; m++) {
                seed = seed * 1103515245u + 12345u;
                sqlite3_reset(ms);
                sqlite3_bind_int64(ms, 1, ids[i]);
                sqlite3_bind_text(ms, 2, metrics[m], -1, SQLITE_STATIC);
                sqlite3_bind_double(ms, 3, base * (1 + ((seed >> 16) % 1000) / 20000.0) /
                                               (m ? 1e3 * m : 1));
                if (sqlite3_step(ms) != SQLITE_DONE)
                    goto out;
            }
        }
        sqlite3_reset(us);
        sqlite3_bind_int64(us, 1, batch);
        if (sqlite3_step(us) != SQLITE_DONE)
            goto out;
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    rc = 0;
out:
    if (rc < 0)
        fprintf(stderr, "fill: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(rs);
    sqlite3_finalize(ms);
    sqlite3_finalize(us);
    for (int i = 0; params && i < runs; i++)
        free(params[i]);
    free(params);
    free(point);
    free(rep);
    free(ids);
    return rc;
}

/* Best of 3 wall-clock seconds of one operation; -1 on failure. */
static double
best3(store_t *s, int what, FILE *devnull)
{
    double best = 1e30;

    for (int k = 0; k < 3; k++) {
        results_select_t one = { .batch = 5 }, all = { .batch = -1 };
        char err[512];
        double t0 = now_s();
        int rc;

        switch (what) {
        case 0:
            rc = results_compare_sel(s, &one, "network,placement", "network=host",
                                     "throughput_bps", RESULTS_SORT_KEY, RESULTS_TABLE, devnull,
                                     NULL, 0, err, sizeof err);
            break;
        case 1:
            rc = results_compare_sel(s, &all, "network,placement", "network=host",
                                     "throughput_bps", RESULTS_SORT_KEY, RESULTS_TABLE, devnull,
                                     NULL, 0, err, sizeof err);
            break;
        case 2:
            rc = results_export(s, &all, RESULTS_CSV, devnull, err, sizeof err);
            break;
        default:
            rc = results_export(s, &all, RESULTS_JSON, devnull, err, sizeof err);
            break;
        }
        if (rc != 0) {
            fprintf(stderr, "operation %d: %s\n", what, err);
            return -1;
        }
        if (now_s() - t0 < best)
            best = now_s() - t0;
    }
    return best;
}

int
main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 10000;
    char dir[] = "/tmp/cntb-bench-results-XXXXXX", path[PATH_MAX], err[512];
    static const char *const names[4] = { "compare, one batch (10 % of runs)",
                                          "compare, all batches",
                                          "export csv, all batches", "export json, all batches" };
    store_t *s;
    FILE *devnull = fopen("/dev/null", "w");
    double t0, t[4];
    int rc = 1;

    if (runs < 40 || runs > 1000000 || !devnull || !mkdtemp(dir)) {
        fprintf(stderr, "usage: bench_results [RUNS_PER_BATCH >= 40]\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/cntb.db", dir);
    if (!(s = store_open(path, false, err, sizeof err))) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    t0 = now_s();
    if (fill(s, runs) < 0)
        goto out;
    printf("filled %d batches x %d runs x 10 metrics = %d metric rows in %.1f s\n", BATCHES, runs,
           BATCHES * runs * 10, now_s() - t0);
    sqlite3_exec(store_db(s), "ANALYZE", NULL, NULL, NULL);
    for (int w = 0; w < 4; w++) {
        if ((t[w] = best3(s, w, devnull)) < 0)
            goto out;
        printf("%-36s %8.3f s   (%.0f runs/s)\n", names[w], t[w],
               (w == 0 ? runs : BATCHES * runs) / t[w]);
    }
    printf("compare all / compare one batch: %.1fx for %dx the runs; goal compare < 1 s: %s\n",
           t[1] / t[0], BATCHES, t[1] < 1.0 ? "met" : "NOT met");
    rc = 0;
out:
    store_close(&s);
    {
        static const char *const sfx[] = { "", "-wal", "-shm" };

        for (int i = 0; i < 3; i++) {
            char p[PATH_MAX + 8];

            snprintf(p, sizeof p, "%s%s", path, sfx[i]);
            unlink(p);
        }
        rmdir(dir);
    }
    fclose(devnull);
    return rc;
}
