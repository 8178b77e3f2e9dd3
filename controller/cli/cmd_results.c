/*
 * cmd_results.c — `cntb results list|show|compare`: read-only queries of the
 * results database (controller/results.c does the work).
 */
#include "cli.h"

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
            "       cntb results compare [--baseline PARAM=VALUE] [--by P1,P2] [--metric NAME]\n"
            "                            [--batch ID|all] [--db PATH] [--format ...]\n"
            "list     batches, or the runs of one batch with state, reason and throughput\n"
            "show     one run: parameters, hosts, every metric with its unit\n"
            "compare  per group of done runs: n, mean, stddev, 95 %% CI (Student t) and the\n"
            "         change of the mean against the baseline group, in %%.\n"
            "         Defaults: --by network,placement --baseline network=host\n"
            "         --metric throughput_bps --batch (the latest batch).\n"
            "The database is --db, else $CNTB_DB, else ./cntb.db; it is opened read-only.\n"
            "docs/results.md explains every column.\n");
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
    argc--;
    argv++;
    static const struct option opts[] = {
        { "db", required_argument, NULL, 'd' },       { "format", required_argument, NULL, 'f' },
        { "batch", required_argument, NULL, 'b' },    { "by", required_argument, NULL, 'y' },
        { "baseline", required_argument, NULL, 'B' }, { "metric", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 }
    };
    const char *db = NULL, *format = "table", *by = "network,placement",
               *baseline = "network=host", *metric = "throughput_bps";
    int64_t batch = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'f': format = optarg; break;
        case 'b':
            if (strcmp(optarg, "all") == 0)
                batch = -1;
            else if (parse_id(optarg, &batch) != 0) {
                cli_error("--batch: must be a batch id or all (got \"%s\")", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'y': by = optarg; break;
        case 'B': baseline = optarg; break;
        case 'm': metric = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    results_format_t fmt;
    if (strcmp(format, "table") == 0)
        fmt = RESULTS_TABLE;
    else if (strcmp(format, "csv") == 0)
        fmt = RESULTS_CSV;
    else if (strcmp(format, "json") == 0)
        fmt = RESULTS_JSON;
    else {
        cli_error("--format: must be table, csv or json (got \"%s\")", format);
        return EXIT_USAGE;
    }
    char err[1024] = "";
    int64_t run = 0;
    if (strcmp(sub, "show") == 0) {
        if (optind != argc - 1 || parse_id(argv[optind], &run) != 0) {
            cli_error("usage: cntb results show RUN (a run id)");
            return EXIT_USAGE;
        }
    } else if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    store_t *store = store_open(cli_db_path(db), true, err, sizeof err);
    if (!store) {
        cli_error("%s", err);
        return EXIT_USAGE;
    }
    int rc;
    if (strcmp(sub, "list") == 0)
        rc = results_list(store, batch == 0 ? -1 : batch, fmt, stdout, err, sizeof err);
    else if (strcmp(sub, "show") == 0)
        rc = results_show(store, run, fmt, stdout, err, sizeof err);
    else if (strcmp(sub, "compare") == 0)
        rc = results_compare(store, batch, by, baseline, metric, fmt, stdout, err, sizeof err);
    else {
        cli_error("unknown results command \"%s\"", sub);
        store_close(&store);
        return EXIT_USAGE;
    }
    store_close(&store);
    if (rc < 0) {
        cli_error("%s", err);
        return EXIT_USAGE;
    }
    return 0;
}
