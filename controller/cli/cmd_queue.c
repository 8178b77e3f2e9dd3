/*
 * cmd_queue.c — `cntb queue add|list|cancel`: the controller's queue of
 * matrices waiting for their start (docs/queue.md).
 *
 * The CLI validates what it can on its own (the matrix file, --at, --every:
 * exit 2 with a one-line message and nothing sent), converts --at to an
 * absolute time in the user's time zone, and sends one request over the
 * controller's CLI socket; the controller checks the matrix against its
 * testbed and alone writes the database.
 */
#include "cli.h"

#include "ferr.h"
#include "matrix.h"
#include "schedule.h"

#include <czmq.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
queue_submit(const char *matrix_file, const char *testbed_file, const char *at,
             const char *every, char *name, int64_t *queue_id, int64_t *batch, int *runs,
             char *next_start)
{
    char err[FERR_MAX], serr[SCHEDULE_ERR_MAX];
    size_t len = 0;
    time_t when = 0;
    int64_t every_s = 0;
    bool calendar = false;
    int rc;
    char named[8] = "";
    time_t now = time(NULL);
    matrix_t *m = matrix_load_file(matrix_file, err);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    /* A matrix that names its testbed goes to that testbed's controller. */
    if (matrix_testbed(m) && strlen(matrix_testbed(m)) < sizeof named)
        snprintf(named, sizeof named, "%s", matrix_testbed(m));
    matrix_destroy(&m);
    if (at && schedule_parse_at(at, now, &when, serr) < 0) {
        cli_error("%s", serr);
        return EXIT_USAGE;
    }
    if (every && schedule_parse_every(every, &every_s, &calendar, serr) < 0) {
        cli_error("%s", serr);
        return EXIT_USAGE;
    }
    char *text = ferr_read_file(matrix_file, &len, err);
    if (!text) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    if (!testbed_file && named[0]) {
        snprintf(name, 8, "%s", named);
        rc = 0;
    } else {
        rc = cli_pick_testbed(testbed_file, name);
    }
    if (rc) {
        free(text);
        return rc;
    }
    json_t *req = json_pack("{s:s, s:s, s:s%}", "cmd", "queue_add", "file", matrix_file,
                            "matrix", text, len);
    free(text);
    if (at)
        json_object_set_new(req, "at", json_integer((json_int_t) when));
    if (every) {
        json_object_set_new(req, "every_s", json_integer(every_s));
        json_object_set_new(req, "every", json_string(every));
        json_object_set_new(req, "calendar", json_boolean(calendar));
    }
    json_t *ans = cli_request(name, req, 30000, false);
    if (!ans)
        return EXIT_ENV;
    if (!json_is_true(json_object_get(ans, "ok"))) {
        fprintf(stderr, "%s\n", json_string_value(json_object_get(ans, "error")));
        rc = (int) json_integer_value(json_object_get(ans, "code"));
        json_decref(ans);
        return rc ? rc : EXIT_USAGE;
    }
    *queue_id = json_integer_value(json_object_get(ans, "queue"));
    *batch = json_integer_value(json_object_get(ans, "batch"));
    /* A one-off start already past is started now (the controller starts every entry that is
     * due): say so, as the user may have meant another day (docs/queue.md, --at). */
    if (at && !every && when < now && *batch)
        cli_error("warning: --at %s is in the past: starting now", at);
    *runs = (int) json_integer_value(json_object_get(ans, "runs"));
    if (next_start) {
        time_t t;
        const char *ns = json_string_value(json_object_get(ans, "next_start"));
        next_start[0] = '\0';
        if (ns && schedule_parse_utc(ns, &t) == 0)
            schedule_format_local(t, next_start, 32);
    }
    json_decref(ans);
    return 0;
}

/* UTC ISO text from the database as local time with offset, or "-" . */
static void
local_of(const json_t *v, char *out, size_t len)
{
    time_t t;
    if (!json_is_string(v) || schedule_parse_utc(json_string_value(v), &t) < 0) {
        snprintf(out, len, "-");
        return;
    }
    schedule_format_local(t, out, len);
}

static int
queue_list_cmd(const char *testbed_file, const char *format)
{
    char name[8];
    int rc = cli_pick_testbed(testbed_file, name);
    if (rc)
        return rc;
    json_t *ans = cli_request(name, json_pack("{s:s}", "cmd", "queue_list"), 10000, false);
    if (!ans)
        return EXIT_ENV;
    json_t *list = json_object_get(ans, "queue");
    if (!json_is_true(json_object_get(ans, "ok")) || !json_is_array(list)) {
        cli_error("%s", json_string_value(json_object_get(ans, "error")) ?: "bad answer");
        json_decref(ans);
        return EXIT_ENV;
    }
    if (strcmp(format, "json") == 0) {
        char *s = json_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
    } else {
        bool csv = strcmp(format, "csv") == 0;
        if (csv)
            printf("id,name,state,next_start(local),every,at(local),batch,batch_state,"
                   "runs_finished/runs,file\n");
        else
            printf("%-4s  %-16s  %-9s  %-25s  %-6s  %-25s  %-6s  %-11s  %-18s  %s\n", "id",
                   "name", "state", "next_start(local)", "every", "at(local)", "batch",
                   "batch_state", "runs_finished/runs", "file");
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) {
            char next[32], at[32], batch[24] = "-", prog[32] = "-";
            local_of(json_object_get(e, "next_start"), next, sizeof next);
            local_of(json_object_get(e, "at"), at, sizeof at);
            if (json_is_integer(json_object_get(e, "batch"))) {
                snprintf(batch, sizeof batch, "%lld",
                         (long long) json_integer_value(json_object_get(e, "batch")));
                snprintf(prog, sizeof prog, "%lld/%lld",
                         (long long) json_integer_value(json_object_get(e, "runs_finished")),
                         (long long) json_integer_value(json_object_get(e, "runs")));
            }
            const char *every = json_string_value(json_object_get(e, "every")) ?: "once";
            const char *bstate = json_string_value(json_object_get(e, "batch_state")) ?: "-";
            const char *state = json_string_value(json_object_get(e, "state")) ?: "?";
            if (csv)
                printf("%lld,%s,%s,%s,%s,%s,%s,%s,%s,%s\n",
                       (long long) json_integer_value(json_object_get(e, "id")),
                       json_string_value(json_object_get(e, "name")), state, next, every, at,
                       batch, bstate, prog, json_string_value(json_object_get(e, "file")));
            else
                printf("%-4lld  %-16s  %-9s  %-25s  %-6s  %-25s  %-6s  %-11s  %-18s  %s\n",
                       (long long) json_integer_value(json_object_get(e, "id")),
                       json_string_value(json_object_get(e, "name")), state, next, every, at,
                       batch, bstate, prog, json_string_value(json_object_get(e, "file")));
            const char *error = json_string_value(json_object_get(e, "error"));
            if (error && !csv)
                printf("      error: %s\n", error);
        }
    }
    json_decref(ans);
    return 0;
}

static int
queue_cancel_cmd(const char *testbed_file, const char *id_text)
{
    char name[8], *end;
    long long id = strtoll(id_text, &end, 10);
    if (!*id_text || *end || id <= 0) {
        cli_error("queue cancel: ID must be a positive integer (got \"%s\")", id_text);
        return EXIT_USAGE;
    }
    int rc = cli_pick_testbed(testbed_file, name);
    if (rc)
        return rc;
    json_t *ans = cli_request(name, json_pack("{s:s, s:I}", "cmd", "queue_cancel", "id",
                                              (json_int_t) id),
                              10000, false);
    if (!ans)
        return EXIT_ENV;
    if (!json_is_true(json_object_get(ans, "ok"))) {
        cli_error("queue cancel %lld: %s", id, json_string_value(json_object_get(ans, "error")));
        rc = (int) json_integer_value(json_object_get(ans, "code"));
        json_decref(ans);
        return rc ? rc : EXIT_USAGE;
    }
    int64_t batch = json_integer_value(json_object_get(ans, "batch"));
    printf("queue entry %lld cancelled%s", id,
           json_is_true(json_object_get(ans, "already")) ? " (it already was)" : "");
    if (batch)
        printf("; batch %" PRId64 " stops after its run in flight", batch);
    printf("\n");
    json_decref(ans);
    return 0;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: cntb queue add FILE [--at TIME] [--every DURATION] [--follow] [--testbed FILE]\n"
            "       cntb queue list [--format table|csv|json] [--testbed FILE]\n"
            "       cntb queue cancel ID [--testbed FILE]\n"
            "\n"
            "add     stores the matrix FILE in the controller's queue.  --at: HH:MM (the next\n"
            "        such local time), YYYY-MM-DDTHH:MM[:SS] (local), the same with Z or\n"
            "        +HH:MM, or now (the default); a past one-off time starts now, with a\n"
            "        warning.  --every: 1d, 12h, 30m, 1h30m, ...: start\n"
            "        again every period (d keeps the local wall-clock time across summer-time\n"
            "        changes; h, m, s are exact).  --follow: follow the batch as cntb run does\n"
            "        (only when it starts now).\n"
            "list    every entry: id, name, state (waiting, started, cancelled, failed), next\n"
            "        start, period, first start, its last batch and that batch's progress.\n"
            "cancel  no further start; the batch the entry started stops after its current\n"
            "        run (its queued runs are skipped).\n"
            "The controller of --testbed (else of the matrix's \"testbed\", else the only one\n"
            "running) keeps the queue.\n"
            "Exit codes: 0 ok, 2 bad input (a matrix error is FILE:LINE:COL: PATH: message),\n"
            "3 no controller.  docs/queue.md.\n");
}

int
cmd_queue(int argc, char **argv)
{
    static const struct option opts[] = { { "at", required_argument, NULL, 'a' },
                                          { "every", required_argument, NULL, 'e' },
                                          { "testbed", required_argument, NULL, 't' },
                                          { "format", required_argument, NULL, 'f' },
                                          { "follow", no_argument, NULL, 'F' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *at = NULL, *every = NULL, *tb = NULL, *format = "table";
    bool follow = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': at = optarg; break;
        case 'e': every = optarg; break;
        case 't': tb = optarg; break;
        case 'f': format = optarg; break;
        case 'F': follow = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    const char *sub = optind < argc ? argv[optind] : "";
    int nargs = argc - optind - 1;
    if (!sub[0]) {
        cli_error("missing queue command: add, list or cancel (cntb queue --help)");
        return EXIT_USAGE;
    }
    if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "cancel") != 0) {
        cli_error("unknown queue command \"%s\" (cntb queue --help)", sub);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "add") == 0 && nargs != 1) {
        if (nargs > 0)
            cli_error("queue add takes one matrix FILE (got %d arguments)", nargs);
        else
            cli_error("queue add needs a matrix FILE");
        return EXIT_USAGE;
    }
    if (strcmp(sub, "cancel") == 0 && nargs != 1) {
        if (nargs > 0)
            cli_error("queue cancel takes one entry ID (got %d arguments)", nargs);
        else
            cli_error("queue cancel needs an entry ID (cntb queue list shows them)");
        return EXIT_USAGE;
    }
    if (strcmp(sub, "list") == 0 && nargs != 0) {
        cli_error("unexpected argument \"%s\" (queue list takes none)", argv[optind + 1]);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "add") == 0 && nargs == 1) {
        char name[8];
        int64_t id = 0, batch = 0;
        int runs = 0;
        char next[32] = "";
        int rc = queue_submit(argv[optind + 1], tb, at, every, name, &id, &batch, &runs, next);
        if (rc)
            return rc;
        printf("queue entry %" PRId64 ": %s, %d runs per batch", id, argv[optind + 1], runs);
        if (batch)
            printf(", started now as batch %" PRId64, batch);
        if (next[0])
            printf(", %s start %s%s%s", batch ? "next" : "first", next, every ? ", every " : "",
                   every ? every : "");
        printf("\n");
        fflush(stdout);
        if (follow && batch)
            return follow_batch(name, batch, runs, argv[optind + 1]);
        return 0;
    }
    if ((at || every || follow) && strcmp(sub, "add") != 0) {
        cli_error("--at, --every and --follow belong to queue add");
        return EXIT_USAGE;
    }
    if (strcmp(sub, "list") == 0 && nargs == 0) {
        if (strcmp(format, "table") != 0 && strcmp(format, "csv") != 0 &&
            strcmp(format, "json") != 0) {
            cli_error("--format: must be table, csv or json (got \"%s\")", format);
            return EXIT_USAGE;
        }
        return queue_list_cmd(tb, format);
    }
    if (strcmp(sub, "cancel") == 0 && nargs == 1)
        return queue_cancel_cmd(tb, argv[optind + 1]);
    return EXIT_USAGE; /* not reached: every case is checked above */
}
