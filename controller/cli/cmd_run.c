/*
 * cmd_run.c — `cntb matrix expand` and `cntb run`.
 *
 * `run` validates the matrix here first (so a bad file is refused with exit 2
 * before anything is queued), hands the text to the controller as a queue
 * entry for now (`queue_add`), which validates it again and stores the
 * batch, then follows the batch by polling it every 300 ms: on a terminal one
 * progress line redrawn in place (done/total, failed, skipped, elapsed, ETA,
 * the run in flight), otherwise one line per run as it finishes; then a
 * summary.  The ETA is the mean time per finished run times the runs left.
 *
 * Before anything is queued, a matrix with a nesting=vm run is checked
 * against the testbed (--testbed, else the file the controller runs with):
 * every VM whose parent is a host of this machine (an emulated host, one
 * with a netns) must have vmlinuz and initrd.img where its parent's agent
 * will look, or the run is refused with exit 3 and one line naming
 * testbed/vm/build-image.  A real host's files cannot be seen from here.
 */
#include "cli.h"

#include "ferr.h"
#include "matrix.h"
#include "testbed.h"

#include <czmq.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A parameter value as the table and the progress lines show it: strings as
 * they are, true/false, integers exactly, other numbers with up to 15
 * significant digits (0.5, 3.0); into out (len bytes). */
static void
value_text(const json_t *v, char *out, size_t len)
{
    if (json_is_string(v)) {
        snprintf(out, len, "%s", json_string_value(v));
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    snprintf(out, len, "%s", s ? s : "?");
    free(s);
}

/* Whether the JSON array of strings names holds name. */
static bool
names_have(const json_t *names, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
            return true;
    }
    return false;
}

/*
 * "network=bridge placement=same-host size=16384" for the parameters of
 * params named in `names` (matrix_varied(): those that differ between the
 * matrix's points, include entries' too), or, with `others`, for the ones
 * not named.  names NULL: none (with others: all).
 */
static void
describe(const json_t *params, const json_t *names, bool others, char *out, size_t len)
{
    out[0] = '\0';
    size_t used = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *) params, k, v) {
        if (names_have(names, k) == others)
            continue;
        char val[128];
        value_text(v, val, sizeof val);
        int w = snprintf(out + used, len - used, "%s%s=%s", used ? " " : "", k, val);
        if (w < 0 || (size_t) w >= len - used) {
            out[used] = '\0';
            break;
        }
        used += (size_t) w;
    }
}

/* s as a CSV field (RFC 4180: quoted when it holds a comma, quote or line break). */
static void
csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
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
    json_t *varied = matrix_varied(m);
    if (strcmp(format, "json") == 0) {
        json_t *arr = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:i, s:i, s:i, s:b, s:O}", "index", i, "point",
                                                 matrix_run_point(m, i), "repetition",
                                                 matrix_run_repetition(m, i), "baseline",
                                                 matrix_run_is_baseline(m, i), "params",
                                                 matrix_run_params(m, i)));
        char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(arr);
    } else if (strcmp(format, "csv") == 0) {
        const char *k;
        json_t *v;
        printf("index,point,repetition,baseline");
        json_object_foreach((json_t *) matrix_run_params(m, 0), k, v) printf(",%s", k);
        printf("\n");
        for (int i = 0; i < n; i++) {
            printf("%d,%d,%d,%s", i, matrix_run_point(m, i), matrix_run_repetition(m, i),
                   matrix_run_is_baseline(m, i) ? "true" : "false");
            json_object_foreach((json_t *) matrix_run_params(m, i), k, v) {
                char val[128];
                value_text(v, val, sizeof val);
                putchar(',');
                csv_field(val);
            }
            printf("\n");
        }
    } else {
        uint64_t seed = 0;
        bool random = matrix_order_random(m, &seed);
        char order[48], same[2048];
        if (random)
            snprintf(order, sizeof order, "random order, seed %llu", (unsigned long long) seed);
        else
            snprintf(order, sizeof order, "sequential order");
        printf("# matrix %s: %d runs (%d points x %d repetitions, %s)\n", matrix_name(m), n,
               n / (matrix_run_repetition(m, n - 1) > 0 ? matrix_run_repetition(m, n - 1) : 1),
               matrix_run_repetition(m, n - 1), order);
        describe(matrix_run_params(m, 0), varied, true, same, sizeof same);
        printf("# every run: %s\n", same);
        printf("# index rep point baseline parameters\n");
        for (int i = 0; i < n; i++) {
            char d[1024];
            describe(matrix_run_params(m, i), varied, false, d, sizeof d);
            printf("%d rep=%d point=%d%s%s%s\n", i, matrix_run_repetition(m, i),
                   matrix_run_point(m, i), matrix_run_is_baseline(m, i) ? " baseline" : "",
                   d[0] ? " " : "", d);
        }
        printf("# %d runs\n", n);
    }
    json_decref(varied);
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
            printf("usage: cntb matrix expand FILE [--format table|csv|json]\n"
                   "Validates a matrix file and prints the runs it makes, in execution order\n"
                   "(random order included): index, repetition, point, whether it matches the\n"
                   "baseline, and the parameters.  The table names, per run, the parameters\n"
                   "that differ between runs (from vary and include) and once, in its head,\n"
                   "those every run shares; it starts and ends with the count.  csv and json\n"
                   "give every parameter of every run.\n"
                   "A bad matrix: one line FILE:LINE:COL: PATH: message, exit 2.\n"
                   "docs/matrix.md has the format.\n");
            return 0;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc && strcmp(argv[optind], "expand") != 0) {
        cli_error("unknown matrix command \"%s\" (cntb matrix --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (optind != argc - 2) {
        cli_error("usage: cntb matrix expand FILE [--format table|csv|json]");
        return EXIT_USAGE;
    }
    if (strcmp(format, "table") != 0 && strcmp(format, "csv") != 0 &&
        strcmp(format, "json") != 0) {
        cli_error("--format: must be table, csv or json (got \"%s\")", format);
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

/* "1:02:03" or "2:03" for a number of seconds. */
static void
format_hms(long long s, char *out, size_t len)
{
    if (s < 0)
        s = 0;
    if (s >= 3600)
        snprintf(out, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, len, "%lld:%02lld", s / 60, s % 60);
}

/* True when some run of matrix m has nesting "vm". */
static bool
matrix_has_vm(matrix_t *m)
{
    int n = matrix_run_count(m);
    for (int i = 0; i < n; i++) {
        const char *v = json_string_value(json_object_get(matrix_run_params(m, i), "nesting"));
        if (v && strcmp(v, "vm") == 0)
            return true;
    }
    return false;
}

int
run_vm_image_check(const char *matrix_file, const char *testbed_file)
{
    char err[FERR_MAX], name[8] = "", tbpath[PATH_MAX] = "";
    matrix_t *m = matrix_load_file(matrix_file, err);
    if (!m)
        return 0; /* queue_submit says why */
    bool vm = matrix_has_vm(m);
    if (vm && matrix_testbed(m) && strlen(matrix_testbed(m)) < sizeof name)
        snprintf(name, sizeof name, "%s", matrix_testbed(m));
    matrix_destroy(&m);
    if (!vm)
        return 0;
    if (testbed_file) {
        snprintf(tbpath, sizeof tbpath, "%s", testbed_file);
    } else {
        /* The file the controller runs with (as queue_submit picks the controller). */
        if (!name[0]) {
            int rc = cli_pick_testbed(NULL, name);
            if (rc)
                return rc;
        }
        json_t *a = cli_request(name, json_pack("{s:s}", "cmd", "ping"), 5000, true);
        const char *f = json_string_value(json_object_get(a, "testbed_file"));
        if (f && f[0] == '/')
            snprintf(tbpath, sizeof tbpath, "%s", f);
        json_decref(a);
        if (!tbpath[0])
            return 0; /* no controller to ask: queue_submit says so */
    }
    testbed_t *tb = testbed_load_file(tbpath, err);
    if (!tb)
        return 0; /* queue_submit says why */
    int rc = 0;
    for (int i = 0; i < tb->host_count && !rc; i++) {
        const testbed_host_t *v = &tb->hosts[i];
        if (strcmp(v->kind, "vm") != 0)
            continue;
        const testbed_host_t *p = testbed_host(tb, v->parent);
        if (!p || !p->netns[0])
            continue; /* a real host: its files are not ours to see */
        /* The agent's --vm-image: the testbed's image, else ../vm beside the deployed
         * agent, DEPLOY_ROOT/TESTBED/PARENT/cntb-agent (node-agent/agent_main.c). */
        char dir[PATH_MAX], kernel[PATH_MAX + 16], initrd[PATH_MAX + 16];
        if (v->image[0])
            snprintf(dir, sizeof dir, "%s", v->image);
        else
            snprintf(dir, sizeof dir, "%s/%s/vm", DEPLOY_ROOT, tb->name);
        snprintf(kernel, sizeof kernel, "%s/vmlinuz", dir);
        snprintf(initrd, sizeof initrd, "%s/initrd.img", dir);
        if (access(kernel, R_OK) != 0 || access(initrd, R_OK) != 0) {
            cli_error("%s: nesting vm: no guest image for vm %s in %s (vmlinuz, initrd.img); "
                      "build it with testbed/vm/build-image --out %s",
                      matrix_file, v->name, dir, dir);
            rc = EXIT_ENV;
        }
    }
    testbed_destroy(&tb);
    return rc;
}

int
run_matrix(const char *matrix_file, const char *testbed_file, int64_t *batch_out)
{
    char name[8];
    int64_t queue_id = 0, batch = 0;
    int total = 0;
    int rc = run_vm_image_check(matrix_file, testbed_file);
    if (rc)
        return rc;
    rc = queue_submit(matrix_file, testbed_file, NULL, NULL, name, &queue_id, &batch, &total,
                      NULL);
    if (rc)
        return rc;
    if (batch_out)
        *batch_out = batch;
    printf("batch %" PRId64 ": %d runs queued on testbed %s (queue entry %" PRId64 ")\n", batch,
           total, name, queue_id);
    fflush(stdout);
    return follow_batch(name, batch, total, matrix_file);
}

/* How long `cntb run` keeps following a batch while its controller does not answer, s. */
#define FOLLOW_OUTAGE_S 120

int
follow_batch(const char *name, int64_t batch, int total, const char *matrix_file)
{
    char err[FERR_MAX];
    int rc = 0;
    bool tty = isatty(STDOUT_FILENO);
    json_t *vary = NULL; /* the parameters that tell its runs apart (matrix_varied) */
    matrix_t *m = matrix_load_file(matrix_file, err);
    if (m)
        vary = matrix_varied(m);
    matrix_destroy(&m);

    /* Follow: print each run once when it reaches a final state. */
    char *shown = calloc((size_t) total + 1, 1);
    int done = 0, failed = 0, skipped = 0, finished = 0, tool_bound = 0;
    json_t *agents_seen = json_object(); /* host -> connected, to say when one goes away */
    time_t agents_at = 0;
    const char *last_state = "";
    bool drawn = false;
    time_t t0 = time(NULL), down_since = 0;
    while (!zsys_interrupted && shown) {
        json_t *st = cli_request(name, json_pack("{s:s, s:I}", "cmd", "batch", "batch",
                                                 (json_int_t) batch),
                                 5000, down_since != 0);
        if (!st) {
            /* The controller may be restarting (docs/faults.md: runs in collect are
             * adopted): keep following for FOLLOW_OUTAGE_S before giving up. */
            if (!down_since) {
                down_since = time(NULL);
                printf("%scontroller of testbed %s not answering; the batch is kept in the "
                       "database: following again when it is back (up to %d s, Ctrl-C to "
                       "stop)\n", drawn ? "\r\033[K" : "", name, FOLLOW_OUTAGE_S);
                drawn = false;
                fflush(stdout);
            }
            if (time(NULL) - down_since >= FOLLOW_OUTAGE_S) {
                printf("controller still not answering after %d s: stopped following batch "
                       "%" PRId64 " (cntb results list --batch %" PRId64 " shows it)\n",
                       FOLLOW_OUTAGE_S, batch, batch);
                rc = EXIT_ENV;
                break;
            }
            sleep(1);
            continue;
        }
        if (down_since) {
            printf("controller of testbed %s answering again after %lld s\n", name,
                   (long long) (time(NULL) - down_since));
            down_since = 0;
        }
        size_t i;
        json_t *r, *flight = NULL;
        json_array_foreach(json_object_get(st, "runs"), i, r) {
            const char *state = json_string_value(json_object_get(r, "state")) ?: "";
            if (i >= (size_t) total || shown[i]) {
                continue;
            }
            if (strcmp(state, "done") != 0 && strcmp(state, "failed") != 0 &&
                strcmp(state, "skipped") != 0) {
                if (strcmp(state, "queued") != 0 && !flight)
                    flight = r;
                continue;
            }
            shown[i] = 1;
            finished++;
            const char *fl = json_string_value(json_object_get(r, "flags"));
            if (strcmp(state, "done") == 0 && fl && strstr(fl, "tool_bound"))
                tool_bound++;
            if (strcmp(state, "done") == 0)
                done++;
            else if (strcmp(state, "failed") == 0)
                failed++;
            else
                skipped++;
            if (tty && strcmp(state, "failed") != 0)
                continue; /* the bar counts it; failures get their own line */
            char d[512], rate[48] = "";
            describe(json_object_get(r, "params"), vary, false, d, sizeof d);
            if (json_object_get(r, "throughput_bps"))
                format_rate(json_number_value(json_object_get(r, "throughput_bps")), rate,
                            sizeof rate);
            else if (json_object_get(r, "rtt_us_p50"))
                snprintf(rate, sizeof rate, "RTT p50 %.1f us",
                         json_number_value(json_object_get(r, "rtt_us_p50")));
            const char *reason = json_string_value(json_object_get(r, "reason"));
            printf("%s[%d/%d] run %lld%s%s rep %lld: %s%s%s%s%s\n", drawn ? "\r\033[K" : "",
                   finished, total, (long long) json_integer_value(json_object_get(r, "id")),
                   d[0] ? " " : "", d,
                   (long long) json_integer_value(json_object_get(r, "repetition")), state,
                   rate[0] ? " " : "", rate, reason ? ": " : "", reason ? reason : "");
            drawn = false;
        }
        if (agents_seen && time(NULL) - agents_at >= 1) {
            /* An agent that goes away is said at once, not only in a failed run's reason. */
            agents_at = time(NULL);
            json_t *ag = cli_request(name, json_pack("{s:s}", "cmd", "agents"), 2000, true);
            json_t *a;
            json_array_foreach(json_object_get(ag, "agents"), i, a) {
                const char *h = json_string_value(json_object_get(a, "host"));
                bool c = json_is_true(json_object_get(a, "connected"));
                json_t *was = h ? json_object_get(agents_seen, h) : NULL;
                if (was && json_is_true(was) != c) {
                    printf("%sagent %s %s\n", drawn ? "\r\033[K" : "", h,
                           c ? "connected again" : "lost: its host went silent (runs on it fail)");
                    drawn = false;
                }
                if (h)
                    json_object_set_new(agents_seen, h, json_boolean(c));
            }
            json_decref(ag);
        }
        if (tty) {
            /* [#####.....] 12/40 done 10 failed 1 skipped 1 | 3:12 elapsed, ETA 8:00 | run 57 ... */
            char bar[21], el[16], eta[16] = "?", fl[256] = "";
            long long elapsed = (long long) (time(NULL) - t0);
            int fill = total ? finished * 20 / total : 20;
            for (int k = 0; k < 20; k++)
                bar[k] = k < fill ? '#' : '.';
            bar[20] = '\0';
            format_hms(elapsed, el, sizeof el);
            if (finished > 0)
                format_hms(elapsed * (total - finished) / finished, eta, sizeof eta);
            if (flight) {
                char d[200];
                describe(json_object_get(flight, "params"), vary, false, d, sizeof d);
                snprintf(fl, sizeof fl, " | run %lld%s%s (%s)",
                         (long long) json_integer_value(json_object_get(flight, "id")),
                         d[0] ? " " : "", d,
                         json_string_value(json_object_get(flight, "state")));
            }
            printf("\r\033[K[%s] %d/%d done %d failed %d skipped %d | %s elapsed, ETA %s%s", bar,
                   finished, total, done, failed, skipped, el, eta, fl);
            drawn = true;
        }
        fflush(stdout);
        const char *bs = json_string_value(json_object_get(st, "state")) ?: "";
        last_state = strcmp(bs, "done") == 0 || strcmp(bs, "cancelled") == 0 ||
                             strcmp(bs, "failed") == 0
                         ? "over"
                         : "";
        json_decref(st);
        if (finished >= total || last_state[0])
            break;
        usleep(300000);
    }
    if (drawn)
        printf("\n");
    free(shown);
    json_decref(vary);
    json_decref(agents_seen);
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
    if (done == 0) {
        /* A batch that measured nothing is no success, however its runs ended. */
        if (skipped == total)
            printf("nothing was measured: every run of batch %" PRId64 " was skipped (%d of %d;"
                   " cntb results list --batch %" PRId64 " gives the reasons)\n", batch, skipped,
                   total, batch);
        else
            printf("nothing was measured: no run of batch %" PRId64 " is done (%d failed, %d "
                   "skipped, %d not finished)\n", batch, failed, skipped, total - finished);
        return EXIT_RUNS_FAILED;
    }
    if (tool_bound * 2 > done) /* CASES.md case 3, said plainly (docs/results.md) */
        printf("warning: %d of %d done runs are tool_bound: the traffic engine, not the network, "
               "limited them (a core at >= 95 %%): their figures say what one core pushes through "
               "each path, not what the path carries; a matrix `rate` below that measures the "
               "path at a load (docs/results.md)\n",
               tool_bound, done);
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
                   "one running) to start now (cntb queue add FILE) and follows the batch: on a\n"
                   "terminal a progress line (done/total, failed, skipped, elapsed, ETA, the run\n"
                   "in flight) and a line per failed run; otherwise a line per finished run.\n"
                   "Then a summary.  A bad matrix is refused before anything is queued (exit 2).\n"
                   "Exit 0 when no run failed, 1 when some did or none was done (every run\n"
                   "skipped: nothing was measured).  Ctrl-C stops following; the\n"
                   "batch goes on (cntb queue cancel ID stops it after its current run).\n");
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
