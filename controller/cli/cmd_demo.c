/*
 * cmd_demo.c — `cntb demo`: cntb's main job end to end on an emulated
 * testbed: emulate 2 hosts (each with its sshd), start the controller,
 * deploy the agents over SSH (cmd_deploy.c) with CURVE certificates, run
 * testbed/matrices/demo.json, print the comparison, destroy the testbed
 * (also when something failed on the way).
 *
 * Both emulated hosts run on one CPU by default (--cpus): two hosts that
 * share a small machine's cores get each run's work split between the
 * cores differently per network, and a TCP flow sent from two CPUs is
 * reordered on a veth, which made nat, overlay and routing look faster than
 * host (docs/testbed.md, "Cross-host numbers").  On one CPU every network
 * gets the same budget and the comparison measures the path.
 */
#include "cli.h"

#include "matrix.h"
#include "ferr.h"
#include "results.h"
#include "store.h"

#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = { { "db", required_argument, NULL, 'd' },
                                          { "matrix", required_argument, NULL, 'm' },
                                          { "keep", no_argument, NULL, 'k' },
                                          { "name", required_argument, NULL, 'n' },
                                          { "cpus", required_argument, NULL, 'C' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *db = NULL, *matrix = NULL, *name = "demo", *cpus_arg = NULL;
    const cpu_set_t *cpus = NULL;
    cpu_set_t cpu_set;
    bool keep = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'm': matrix = optarg; break;
        case 'k': keep = true; break;
        case 'n': name = optarg; break;
        case 'C': cpus_arg = optarg; break;
        case 'h':
            printf("usage: cntb demo [--matrix FILE] [--db PATH] [--keep] [--name NAME] [--cpus LIST]\n"
                   "Emulates a 2-host testbed (--name, default \"demo\"), starts the controller,\n"
                   "deploys the agents over SSH (an sshd per emulated host), runs\n"
                   "the matrix (default testbed/matrices/demo.json: host same-host, host\n"
                   "cross-host, bridge same-host, nat, overlay and routing cross-host;\n"
                   "tcp_stream; 3 repetitions), prints the\n"
                   "comparison against network=host, and destroys the testbed (unless --keep).\n"
                   "Results stay in the database (--db, $CNTB_DB or ./cntb.db).\n"
                   "--cpus LIST: the CPUs both emulated hosts run on (cntb testbed emulate\n"
                   "--cpus); default: one, the highest this process may use, so that every\n"
                   "network gets the same CPU budget; \"all\" lets them use every CPU\n"
                   "(cross-host numbers then depend on scheduling: docs/testbed.md).\n");
            return 0;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("usage: cntb demo [--matrix FILE] [--db PATH] [--keep] [--name NAME] "
                  "[--cpus LIST]");
        return EXIT_USAGE;
    }
    if (cpus_arg) {
        int crc = cli_cpus_option(cpus_arg, &cpu_set, &cpus);
        if (crc)
            return crc;
    } else {
        cpus = cli_cpus_default(&cpu_set);
    }
    char mpath[PATH_MAX];
    if (!matrix) {
        snprintf(mpath, sizeof mpath, "%s/testbed/matrices/demo.json", CNTB_SOURCE_DIR);
#ifdef CNTB_DATA_DIR
        if (access(mpath, R_OK) != 0) /* installed: cmake --install puts it here */
            snprintf(mpath, sizeof mpath, "%s/examples/matrices/demo.json", CNTB_DATA_DIR);
#endif
        matrix = mpath;
    }
    if (access(matrix, R_OK) != 0) {
        cli_error("%s: cannot read the demo matrix", matrix);
        return EXIT_ENV;
    }
    size_t nl = strlen(name);
    bool name_ok = nl >= 1 && nl <= 6;
    for (size_t i = 0; i < nl; i++)
        name_ok &= (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9');
    if (!name_ok) {
        cli_error("--name: must match [a-z0-9]{1,6} (got \"%s\")", name);
        return EXIT_USAGE;
    }
    char pf[PATH_MAX];
    cli_rundir(pf, sizeof pf, name, "controller.pid");
    if (cli_pidfile_alive(pf, "cntb-controller")) {
        cli_error("a testbed named %s is running (another demo?): choose another with --name, "
                  "or destroy it with cntb testbed destroy %s",
                  name, name);
        return EXIT_ENV;
    }
    { /* bad input is refused before anything is built */
        char err[FERR_MAX];
        matrix_t *m = matrix_load_file(matrix, err);
        if (!m) {
            fprintf(stderr, "%s\n", err);
            return EXIT_USAGE;
        }
        matrix_destroy(&m);
    }
    int rc = cli_need_root("demo");
    if (rc)
        return rc;
    const char *dbp = cli_db_path(db);
    char tbfile[PATH_MAX];
    int64_t batch = 0;
    printf("== 1/5 emulating testbed %s: 2 hosts made of network namespaces\n", name);
    fflush(stdout);
    rc = testbed_emulate(name, 2, 0, cpus, NULL, tbfile, sizeof tbfile);
    if (rc)
        goto out;
    printf("== 2/5 starting the controller\n");
    fflush(stdout);
    if ((rc = controller_start(tbfile, dbp)))
        goto out;
    printf("== 3/5 deploying the agents over SSH (sshd in each host namespace)\n");
    fflush(stdout);
    if ((rc = deploy_agents(tbfile, false, false, 0)))
        goto out;
    printf("== 4/5 running %s\n", matrix);
    fflush(stdout);
    rc = run_matrix(matrix, tbfile, &batch);
    if (rc != 0 && rc != EXIT_RUNS_FAILED)
        goto out;
    printf("== 5/5 comparing against network=host (batch %lld, database %s)\n\n",
           (long long) batch, dbp);
    fflush(stdout);
    char err[1024];
    store_t *store = store_open(dbp, true, err, sizeof err);
    if (!store || results_compare(store, batch, "network,placement", "network=host",
                                  "throughput_bps", RESULTS_TABLE, stdout, err, sizeof err) < 0) {
        cli_error("%s", err);
        if (!rc)
            rc = EXIT_ENV;
    }
    store_close(&store);
    printf("\nmore: cntb results list --batch %lld; cntb results compare --help; "
           "sqlite3 %s\n", (long long) batch, dbp);
out:
    if (!keep) {
        printf("\n== cleaning up: destroying testbed %s\n", name);
        fflush(stdout);
        int r2 = testbed_destroy_all(name);
        if (!rc)
            rc = r2;
    }
    return rc;
}
