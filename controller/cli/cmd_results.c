/*
 * cmd_results.c — `cntb results list|show|compare|diff-hosts|export|plot`:
 * read-only queries of the results database (controller/results*.c and
 * controller/plot.c do the work).  Arguments are checked here or by the
 * library; every bad one is a one-line message and exit 2.
 */
#include "cli.h"

#include "plot.h"
#include "results.h"
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: cntb results list [--batch ID] [--db PATH] [--format table|csv|json]\n"
            "       cntb results show RUN [--db PATH] [--format ...]\n"
            "       cntb results compare [--batch ID|all | --matrix NAME] [--by P1,P2]\n"
            "                            [--baseline PARAM=VALUE] [--metric NAME]\n"
            "                            [--sort key|value|change] [--format ...]\n"
            "       cntb results diff-hosts BATCH1 BATCH2 [--format ...]\n"
            "       cntb results export [--batch ID|all | --matrix NAME] --format csv|json\n"
            "       cntb results plot --kind bars|lines|cdf --output FILE.svg|FILE.png\n"
            "                         [--batch ID|all | --matrix NAME] [--by P1,P2]\n"
            "                         [--metric NAME] [--baseline PARAM=VALUE] [--sort ...]\n"
            "list        batches, or the runs of one batch with state, reason and throughput\n"
            "show        one run: parameters, hosts, metrics, samples, host metadata\n"
            "compare     per group of done runs: n, mean, median, stddev, 95 %% CI, and against\n"
            "            the baseline group (equal in every other parameter) the change in %%\n"
            "            with its 95 %% interval (Fieller), Welch's p and significance; flags.\n"
            "            Defaults: --by network,placement --baseline network=host\n"
            "            --metric throughput_bps, the latest batch.  Rows: blocks equal in\n"
            "            every key but the baseline's, in key order, the baseline first in\n"
            "            each; --sort value (mean) or change orders a block's other rows,\n"
            "            largest first.  Done runs without the metric: a note on stderr.\n"
            "diff-hosts  what differs between the hosts' metadata of two batches\n"
            "export      every run (all batches unless one is named) with parameters,\n"
            "            metrics, flags and host metadata\n"
            "plot        bars: mean with 95 %% CI whiskers per group; lines: the metric\n"
            "            against size, one line per network; cdf: RTT percentiles per group\n"
            "            (tcp_rr, udp_rr, tcp_crr runs).  Nothing to plot: a message, exit 1.\n"
            "The database is --db, else $CNTB_DB, else ./cntb.db; it is opened read-only.\n"
            "docs/results.md explains every column, docs/plot.md the plots.\n");
}

static int
parse_id(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < 1)
        return -1;
    *out = v;
    return 0;
}

int
cmd_results(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    static const char *const subs[] = { "list", "show", "compare", "diff-hosts", "export",
                                        "plot" };
    bool known = false;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        known = known || strcmp(sub, subs[i]) == 0;
    if (!known) {
        cli_error("unknown results command \"%s\" (cntb results --help)", sub);
        return EXIT_USAGE;
    }
    argc--;
    argv++;
    static const struct option opts[] = {
        { "db", required_argument, NULL, 'd' },       { "format", required_argument, NULL, 'f' },
        { "batch", required_argument, NULL, 'b' },    { "by", required_argument, NULL, 'y' },
        { "baseline", required_argument, NULL, 'B' }, { "metric", required_argument, NULL, 'm' },
        { "matrix", required_argument, NULL, 'M' },   { "kind", required_argument, NULL, 'k' },
        { "output", required_argument, NULL, 'o' },   { "sort", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 }
    };
    bool is_export = strcmp(sub, "export") == 0, is_plot = strcmp(sub, "plot") == 0;
    const char *db = NULL, *format = NULL, *by = NULL, *baseline = "network=host",
               *metric = "throughput_bps", *kind = NULL, *output = NULL;
    bool baseline_given = false, batch_given = false, sort_given = false;
    results_sort_t sort = RESULTS_SORT_KEY;
    char note[RESULTS_NOTE_MAX] = "";
    results_select_t sel = { .batch = is_export ? -1 : 0, .matrix = NULL };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'f': format = optarg; break;
        case 'b':
            batch_given = true;
            if (strcmp(optarg, "all") == 0)
                sel.batch = -1;
            else if (strcmp(optarg, "latest") == 0)
                sel.batch = 0;
            else if (parse_id(optarg, &sel.batch) != 0) {
                cli_error("--batch: must be a batch id, latest or all (got \"%s\")", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'M': sel.matrix = optarg; break;
        case 'y': by = optarg; break;
        case 'B': baseline = optarg; baseline_given = true; break;
        case 'm': metric = optarg; break;
        case 'k': kind = optarg; break;
        case 'o': output = optarg; break;
        case 's':
            if (results_sort_parse(optarg, &sort) < 0) {
                cli_error("--sort: must be key, value or change (got \"%s\")", optarg);
                return EXIT_USAGE;
            }
            sort_given = true;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (sort_given && strcmp(sub, "compare") != 0 && !is_plot) {
        cli_error("--sort belongs to compare and plot");
        return EXIT_USAGE;
    }
    if (sel.matrix && batch_given) {
        cli_error("--batch and --matrix: give one of them");
        return EXIT_USAGE;
    }
    if (!format)
        format = is_export ? "" : "table";
    results_format_t fmt;
    if (strcmp(format, "table") == 0 && !is_export)
        fmt = RESULTS_TABLE;
    else if (strcmp(format, "csv") == 0)
        fmt = RESULTS_CSV;
    else if (strcmp(format, "json") == 0)
        fmt = RESULTS_JSON;
    else if (is_export && !format[0]) {
        cli_error("--format is required for export (csv or json)");
        return EXIT_USAGE;
    } else {
        cli_error(is_export ? "--format: export needs csv or json (got \"%s\")"
                            : "--format: must be table, csv or json (got \"%s\")", format);
        return EXIT_USAGE;
    }
    char err[1024] = "";
    int64_t run = 0, b1 = 0, b2 = 0;
    if (strcmp(sub, "show") == 0) {
        if (optind != argc - 1 || parse_id(argv[optind], &run) != 0) {
            cli_error("usage: cntb results show RUN (a run id)");
            return EXIT_USAGE;
        }
    } else if (strcmp(sub, "diff-hosts") == 0) {
        if (optind != argc - 2 || parse_id(argv[optind], &b1) != 0 ||
            parse_id(argv[optind + 1], &b2) != 0) {
            cli_error("usage: cntb results diff-hosts BATCH1 BATCH2 (two batch ids)");
            return EXIT_USAGE;
        }
    } else if (optind != argc) {
        cli_error("unexpected argument \"%s\" (cntb results --help)", argv[optind]);
        return EXIT_USAGE;
    }
    plot_kind_t pk = PLOT_BARS;
    if (is_plot) {
        if (!kind) {
            cli_error("--kind is required (bars, lines or cdf)");
            return EXIT_USAGE;
        }
        if (plot_kind_parse(kind, &pk) < 0) {
            cli_error("--kind: must be bars, lines or cdf (got \"%s\")", kind);
            return EXIT_USAGE;
        }
        if (!output) {
            cli_error("--output is required (FILE.svg or FILE.png)");
            return EXIT_USAGE;
        }
    }
    store_t *store = store_open(cli_db_path(db), true, err, sizeof err);
    if (!store) {
        cli_error("%s", err);
        return EXIT_USAGE;
    }
    int rc;
    if (strcmp(sub, "list") == 0) {
        /* No --batch: every batch; --batch latest: the runs of the most recent one. */
        int64_t b = !batch_given ? -1 : sel.batch == 0 ? store_latest_batch(store) : sel.batch;
        rc = results_list(store, b > 0 ? b : -1, fmt, stdout, err, sizeof err);
    } else if (strcmp(sub, "show") == 0)
        rc = results_show(store, run, fmt, stdout, err, sizeof err);
    else if (strcmp(sub, "compare") == 0) {
        rc = results_compare_sel(store, &sel, by ? by : "network,placement", baseline, metric,
                                 sort, fmt, stdout, note, sizeof note, err, sizeof err);
        /* The default baseline only applies where it exists (e.g. a batch without host). */
        if (rc < 0 && !baseline_given && strstr(err, "--baseline"))
            rc = results_compare_sel(store, &sel, by ? by : "network,placement", NULL, metric,
                                     sort, fmt, stdout, note, sizeof note, err, sizeof err);
    }
    else if (strcmp(sub, "diff-hosts") == 0)
        rc = results_diff_hosts(store, b1, b2, fmt, stdout, err, sizeof err);
    else if (is_export)
        rc = results_export(store, &sel, fmt, stdout, err, sizeof err);
    else if (is_plot) {
        /* compare's baseline and order (docs/plot.md): network=host first in each
         * block unless --baseline says otherwise, or none where no group has it. */
        rc = plot_make(store, &sel, pk, by ? by : "network", baseline, metric, sort, output,
                       note, sizeof note, err, sizeof err);
        if (rc < 0 && rc != -2 && !baseline_given && strstr(err, "--baseline"))
            rc = plot_make(store, &sel, pk, by ? by : "network", NULL, metric, sort, output,
                           note, sizeof note, err, sizeof err);
        if (rc == -2) {
            store_close(&store);
            cli_error("%s", err);
            return EXIT_ENV;
        }
        if (rc == 0)
            printf("wrote %s\n", output);
        else if (rc == 1) /* nothing to plot: say why (docs/plot.md, EXIT STATUS) */
            cli_error("%s", err);
    } else {
        rc = -1; /* not reached: sub was checked above */
    }
    store_close(&store);
    /* Runs the selection leaves out for want of the metric: said on stderr, so that
     * CSV and JSON on stdout stay clean (docs/results.md). */
    if (rc >= 0 && note[0])
        cli_error("note: %s", note);
    if (rc < 0) {
        cli_error("%s", err);
        return EXIT_USAGE;
    }
    return rc == 1 ? 1 : 0;
}
