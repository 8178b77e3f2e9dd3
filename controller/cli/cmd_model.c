/*
 * cmd_model.c — `cntb model fit|predict|check`: least-squares models of each
 * path's per-packet and per-byte cost (controller/model.c does the work).
 */
#include "cli.h"

#include "model.h"
#include "param.h"
#include "store.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: cntb model fit [--batch ID|all | --matrix NAME] [--by P1,P2]\n"
            "                      [--baseline PARAM=VALUE] [--hold-out SIZES] [--db PATH]\n"
            "                      [--format table|csv|json]\n"
            "       cntb model predict --size BYTES [--network N] [--placement P] [--nesting X]\n"
            "                      [--where PARAM=VALUE]... [--batch ID|all | --matrix NAME]\n"
            "                      [--by P1,P2] [--hold-out SIZES] [--db PATH] [--format ...]\n"
            "       cntb model check --hold-out SIZE[,SIZE...] [--batch ID|all | --matrix NAME]\n"
            "                      [--by P1,P2] [--db PATH] [--format ...]\n"
            "fit      per path (every parameter but size), time per packet = a + b * size\n"
            "         from the throughput_pps of its runs: a (ns/packet), b (ns/byte), R²,\n"
            "         mean residual per size, and a and b against the baseline path.\n"
            "         Defaults: --by network,placement,nesting --baseline network=host, the\n"
            "         latest batch.\n"
            "predict  packet/s and bit/s at --size for the matching paths, with the 95 %%\n"
            "         prediction interval of one new run.\n"
            "check    cross-validation: fits without the --hold-out sizes (bytes) and, per\n"
            "         path and held-out size, compares the predicted packet/s with the\n"
            "         measured mean: error in %% of the measured.\n"
            "--hold-out SIZES  comma-separated sizes (bytes) left out of the fit.\n"
            "docs/model.md explains the model and every column.\n");
}

int
cmd_model(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "fit") != 0 && strcmp(sub, "predict") != 0 && strcmp(sub, "check") != 0) {
        cli_error("unknown model command \"%s\" (cntb model --help)", sub);
        return EXIT_USAGE;
    }
    argc--;
    argv++;
    static const struct option opts[] = {
        { "db", required_argument, NULL, 'd' },        { "format", required_argument, NULL, 'f' },
        { "batch", required_argument, NULL, 'b' },     { "matrix", required_argument, NULL, 'M' },
        { "by", required_argument, NULL, 'y' },        { "baseline", required_argument, NULL, 'B' },
        { "size", required_argument, NULL, 's' },      { "network", required_argument, NULL, 'n' },
        { "placement", required_argument, NULL, 'p' }, { "nesting", required_argument, NULL, 'N' },
        { "where", required_argument, NULL, 'w' },     { "help", no_argument, NULL, 'h' },
        { "hold-out", required_argument, NULL, 'H' },
        { NULL, 0, NULL, 0 }
    };
    const char *db = NULL, *format = "table", *by = "network,placement,nesting",
               *baseline = "network=host", *where[16];
    char wbuf[3][300];
    results_select_t sel = { .batch = 0 };
    bool batch_given = false, baseline_given = false;
    double size = NAN, held[MODEL_MAX_SIZES];
    model_holdout_t hold = { .size = held, .n = 0 };
    int nwhere = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'f': format = optarg; break;
        case 'b': {
            char *end;
            long long v;

            batch_given = true;
            if (strcmp(optarg, "all") == 0) {
                sel.batch = -1;
                break;
            }
            v = strtoll(optarg, &end, 10);
            if (end == optarg || *end || v < 1) {
                cli_error("--batch: must be a batch id or all (got \"%s\")", optarg);
                return EXIT_USAGE;
            }
            sel.batch = v;
            break;
        }
        case 'M': sel.matrix = optarg; break;
        case 'H':
            hold.n = 0;
            for (const char *p = optarg;; p++) {
                char *end;
                double v = strtod(p, &end);

                if (end == p || (*end && *end != ',') || !(v >= PARAM_SIZE_MIN && v <= PARAM_SIZE_MAX) ||
                    v != floor(v) || hold.n == MODEL_MAX_SIZES) {
                    cli_error("--hold-out: must be up to %d sizes in bytes (%d..%d), "
                              "comma-separated (got \"%s\")", MODEL_MAX_SIZES, PARAM_SIZE_MIN,
                              PARAM_SIZE_MAX, optarg);
                    return EXIT_USAGE;
                }
                held[hold.n++] = v;
                p = end;
                if (!*p)
                    break;
            }
            break;
        case 'y': by = optarg; break;
        case 'B': baseline = optarg; baseline_given = true; break;
        case 's': {
            char *end;

            size = strtod(optarg, &end);
            if (end == optarg || *end) {
                cli_error("--size: must be a number of bytes (got \"%s\")", optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'n':
        case 'p':
        case 'N':
        case 'w':
            if (nwhere == 16) {
                cli_error("at most 16 filters");
                return EXIT_USAGE;
            }
            if (c == 'w') {
                where[nwhere++] = optarg;
            } else {
                int i = c == 'n' ? 0 : c == 'p' ? 1 : 2;

                snprintf(wbuf[i], sizeof wbuf[i], "%s=%s",
                         c == 'n' ? "network" : c == 'p' ? "placement" : "nesting", optarg);
                where[nwhere++] = wbuf[i];
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("unexpected argument \"%s\" (cntb model --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (sel.matrix && batch_given) {
        cli_error("--batch and --matrix: give one of them");
        return EXIT_USAGE;
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
    bool fit = strcmp(sub, "fit") == 0, check = strcmp(sub, "check") == 0;
    if (check && hold.n == 0) {
        cli_error("--hold-out is required for model check (SIZE[,SIZE...]: the sizes in bytes "
                  "to leave out of the fit)");
        return EXIT_USAGE;
    }
    if (!fit && !check && isnan(size)) {
        cli_error("--size is required for model predict (BYTES: the size to predict at)");
        return EXIT_USAGE;
    }
    char err[1024] = "";
    store_t *store = store_open(cli_db_path(db), true, err, sizeof err);
    if (!store) {
        cli_error("%s", err);
        return EXIT_USAGE;
    }
    int rc;
    if (fit) {
        rc = model_fit(store, &sel, by, baseline, &hold, fmt, stdout, err, sizeof err);
        if (rc < 0 && !baseline_given && strstr(err, "--baseline"))
            rc = model_fit(store, &sel, by, NULL, &hold, fmt, stdout, err, sizeof err);
    } else if (check) {
        rc = model_check(store, &sel, by, &hold, fmt, stdout, err, sizeof err);
    } else {
        rc = model_predict(store, &sel, by, &hold, where, nwhere, size, fmt, stdout, err,
                           sizeof err);
    }
    store_close(&store);
    if (rc < 0) {
        cli_error("%s", err);
        return EXIT_USAGE;
    }
    return rc == 1 ? 1 : 0;
}
