/*
 * cmd_run.c — `cntb matrix expand` and `cntb run`.
 *
 * `run` validates the matrix here first (so a bad file is refused with exit 2
 * before anything is queued), hands the text to the controller, which
 * validates it again and stores the batch, then follows the batch: one line
 * per run as it finishes, and a summary.
 */
#include "cli.h"

#include "ferr.h"
#include "matrix.h"

#include <czmq.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    do {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap ? cap * 2 : 8192);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap = cap ? cap * 2 : 8192;
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
    } while (r > 0 && n < 16 * 1024 * 1024);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* "network=bridge placement=same-host size=16384 ..." for the parameters that vary. */
static void
describe(const json_t *params, const json_t *vary, char *out, size_t len)
{
    out[0] = '\0';
    size_t used = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *) params, k, v) {
        if (vary && !json_object_get(vary, k))
            continue;
        char val[64];
        if (json_is_string(v))
            snprintf(val, sizeof val, "%s", json_string_value(v));
        else if (json_is_boolean(v))
            snprintf(val, sizeof val, "%s", json_is_true(v) ? "true" : "false");
        else
            snprintf(val, sizeof val, "%g", json_number_value(v));
        int w = snprintf(out + used, len - used, "%s%s=%s", used ? " " : "", k, val);
        if (w < 0 || (size_t) w >= len - used)
            break;
        used += (size_t) w;
    }
}

static int
matrix_expand_cmd(const char *file, const char *format)
{
    char err[FERR_MAX];
    matrix_t *m = matrix_load_file(file, err);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    int n = matrix_run_count(m);
    if (strcmp(format, "json") == 0) {
        json_t *arr = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:i, s:i, s:i, s:O}", "index", i, "point",
                                                 matrix_run_point(m, i), "repetition",
                                                 matrix_run_repetition(m, i), "params",
                                                 matrix_run_params(m, i)));
        char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(arr);
    } else {
        printf("# matrix %s: %d runs\n", matrix_name(m), n);
        for (int i = 0; i < n; i++) {
            char d[512];
            describe(matrix_run_params(m, i), NULL, d, sizeof d);
            printf("%d rep=%d %s\n", i, matrix_run_repetition(m, i), d);
        }
    }
    matrix_destroy(&m);
    return 0;
}

int
cmd_matrix(int argc, char **argv)
{
    static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *format = "table";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'h':
            printf("usage: cntb matrix expand FILE [--format table|json]\n"
                   "Validates a matrix file and prints the runs it makes, in execution order:\n"
                   "index, repetition and every parameter.  docs/matrix.md has the format.\n");
            return 0;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc - 2 || strcmp(argv[optind], "expand") != 0) {
        cli_error("usage: cntb matrix expand FILE [--format table|json]");
        return EXIT_USAGE;
    }
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0) {
        cli_error("--format: must be table or json (got \"%s\")", format);
        return EXIT_USAGE;
    }
    return matrix_expand_cmd(argv[optind + 1], format);
}

static void
format_rate(double bps, char *out, size_t len)
{
    if (bps >= 1e9)
        snprintf(out, len, "%.2f Gbit/s", bps / 1e9);
    else if (bps >= 1e6)
        snprintf(out, len, "%.1f Mbit/s", bps / 1e6);
    else
        snprintf(out, len, "%.0f bit/s", bps);
}

int
run_matrix(const char *matrix_file, const char *testbed_file, int64_t *batch_out)
{
    char err[FERR_MAX];
    size_t len = 0;
    matrix_t *m = matrix_load_file(matrix_file, err);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    json_t *vary = json_object_get(matrix_document(m), "vary");
    json_incref(vary);
    matrix_destroy(&m);
    char *text = read_file(matrix_file, &len);
    char name[8];
    int rc = cli_pick_testbed(testbed_file, name);
    if (rc || !text) {
        free(text);
        json_decref(vary);
        return rc ? rc : EXIT_USAGE;
    }
    json_t *req = json_pack("{s:s, s:s, s:s%}", "cmd", "submit", "file", matrix_file, "matrix",
                            text, len);
    free(text);
    json_t *ans = cli_request(name, req, 10000, false);
    if (!ans) {
        json_decref(vary);
        return EXIT_ENV;
    }
    if (!json_is_true(json_object_get(ans, "ok"))) {
        fprintf(stderr, "%s\n", json_string_value(json_object_get(ans, "error")));
        rc = (int) json_integer_value(json_object_get(ans, "code"));
        json_decref(ans);
        json_decref(vary);
        return rc ? rc : EXIT_USAGE;
    }
    int64_t batch = json_integer_value(json_object_get(ans, "batch"));
    int total = (int) json_integer_value(json_object_get(ans, "runs"));
    json_decref(ans);
    if (batch_out)
        *batch_out = batch;
    printf("batch %" PRId64 ": %d runs queued on testbed %s\n", batch, total, name);
    fflush(stdout);

    /* Follow: print each run once when it reaches a final state. */
    char *shown = calloc((size_t) total + 1, 1);
    int done = 0, failed = 0, skipped = 0, finished = 0;
    const char *last_state = "";
    time_t t0 = time(NULL);
    while (!zsys_interrupted && shown) {
        json_t *st = cli_request(name, json_pack("{s:s, s:I}", "cmd", "batch", "batch",
                                                 (json_int_t) batch),
                                 5000, false);
        if (!st) {
            rc = EXIT_ENV;
            break;
        }
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(st, "runs"), i, r) {
            if (i >= (size_t) total || shown[i])
                continue;
            const char *state = json_string_value(json_object_get(r, "state"));
            if (strcmp(state, "done") != 0 && strcmp(state, "failed") != 0 &&
                strcmp(state, "skipped") != 0)
                continue;
            shown[i] = 1;
            finished++;
            char d[512], rate[48] = "";
            describe(json_object_get(r, "params"), vary, d, sizeof d);
            if (json_object_get(r, "throughput_bps"))
                format_rate(json_number_value(json_object_get(r, "throughput_bps")), rate,
                            sizeof rate);
            const char *reason = json_string_value(json_object_get(r, "reason"));
            printf("[%d/%d] run %lld %s rep %lld: %s%s%s%s%s\n", finished, total,
                   (long long) json_integer_value(json_object_get(r, "id")), d,
                   (long long) json_integer_value(json_object_get(r, "repetition")), state,
                   rate[0] ? " " : "", rate, reason ? ": " : "", reason ? reason : "");
            fflush(stdout);
            if (strcmp(state, "done") == 0)
                done++;
            else if (strcmp(state, "failed") == 0)
                failed++;
            else
                skipped++;
        }
        last_state = strcmp(json_string_value(json_object_get(st, "state")) ?: "", "done") == 0
                         ? "done"
                         : "";
        json_decref(st);
        if (finished >= total || last_state[0])
            break;
        usleep(300000);
    }
    free(shown);
    json_decref(vary);
    if (zsys_interrupted) {
        printf("\ninterrupted: batch %" PRId64 " goes on in the controller; see cntb results list "
               "--batch %" PRId64 "\n",
               batch, batch);
        return EXIT_RUNS_FAILED;
    }
    if (rc)
        return rc;
    printf("batch %" PRId64 " finished in %lld s: %d done, %d failed, %d skipped\n", batch,
           (long long) (time(NULL) - t0), done, failed, skipped);
    return failed ? EXIT_RUNS_FAILED : 0;
}

int
cmd_run(int argc, char **argv)
{
    static const struct option opts[] = { { "testbed", required_argument, NULL, 't' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *tb = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': tb = optarg; break;
        case 'h':
            printf("usage: cntb run FILE [--testbed FILE]\n"
                   "Queues the matrix FILE on the running controller (of --testbed, or the only\n"
                   "one running) and follows the batch: a line per finished run, then a summary.\n"
                   "A bad matrix is refused before anything is queued (exit 2).  Exit 0 when no\n"
                   "run failed, 1 when some did.  Ctrl-C stops following; the batch goes on.\n");
            return 0;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_error("usage: cntb run FILE [--testbed FILE]");
        return EXIT_USAGE;
    }
    return run_matrix(argv[optind], tb, NULL);
}
