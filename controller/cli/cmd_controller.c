/*
 * cmd_controller.c — `cntb controller start|stop|status`.
 *
 * The controller runs in the background as cntb-controller, its pid in
 * /run/cntb/NAME/controller.pid, its log in /run/cntb/NAME/controller.log.
 * Agents are deployed over SSH by `cntb deploy` (cmd_deploy.c).
 */
#include "cli.h"

#include "ferr.h"

#include <czmq.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
controller_start(const char *testbed_file, const char *db)
{
    char err[FERR_MAX];
    testbed_t *tb = testbed_load_file(testbed_file, err);
    if (!tb) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    int rc = 0;
    char dir[PATH_MAX], pf[PATH_MAX], logf[PATH_MAX], tbabs[PATH_MAX], dbabs[PATH_MAX + 256];
    mkdir(CNTB_RUN_ROOT, 0755);
    cli_rundir(dir, sizeof dir, tb->name, NULL);
    mkdir(dir, 0700);
    cli_rundir(pf, sizeof pf, tb->name, "controller.pid");
    cli_rundir(logf, sizeof logf, tb->name, "controller.log");
    pid_t pid = cli_pidfile_alive(pf, "cntb-controller");
    if (pid > 0) {
        printf("controller of testbed %s already running (pid %d)\n", tb->name, (int) pid);
        goto out;
    }
    if (!realpath(testbed_file, tbabs)) {
        cli_error("%s: cannot resolve path", testbed_file);
        rc = EXIT_USAGE;
        goto out;
    }
    if (db[0] == '/')
        snprintf(dbabs, sizeof dbabs, "%s", db);
    else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            rc = EXIT_ENV;
            goto out;
        }
        snprintf(dbabs, sizeof dbabs, "%s/%s", cwd, db);
    }
    char prog[PATH_MAX];
    snprintf(prog, sizeof prog, "%s/cntb-controller", cli_bindir());
    char *const argv[] = { prog, (char *) "--testbed", tbabs, (char *) "--db", dbabs,
                           (char *) "--rundir", dir, NULL };
    pid = cli_spawn(argv, NULL, logf, pf);
    if (pid < 0) {
        rc = EXIT_ENV;
        goto out;
    }
    /* Wait until it answers (or dies). */
    for (int i = 0; i < 100; i++) {
        json_t *a = cli_request(tb->name, json_pack("{s:s}", "cmd", "ping"), 200, true);
        if (a) {
            json_decref(a);
            printf("controller of testbed %s started (pid %d), agents on tcp://%s:%d, "
                   "database %s, log %s\n",
                   tb->name, (int) pid, tb->ctl_address, tb->ctl_port, dbabs, logf);
            goto out;
        }
        if (!cli_pidfile_alive(pf, "cntb-controller"))
            break;
        usleep(100000);
    }
    cli_error("the controller did not come up; see %s", logf);
    cli_pidfile_stop(pf, "cntb-controller", 1000);
    rc = EXIT_ENV;
out:
    testbed_destroy(&tb);
    return rc;
}

int
controller_stop(const char *name)
{
    char pf[PATH_MAX];
    cli_rundir(pf, sizeof pf, name, "controller.pid");
    json_t *a = cli_request(name, json_pack("{s:s}", "cmd", "stop"), 2000, true);
    json_decref(a);
    int stopped = cli_pidfile_stop(pf, "cntb-controller", 10000);
    printf("controller of testbed %s %s\n", name, stopped ? "stopped" : "was not running");
    return 0;
}

static int
controller_status(const char *name)
{
    json_t *ping = cli_request(name, json_pack("{s:s}", "cmd", "ping"), 2000, false);
    if (!ping)
        return EXIT_ENV;
    json_t *ag = cli_request(name, json_pack("{s:s}", "cmd", "agents"), 2000, false);
    printf("controller of testbed %s: pid %lld, database %s\n", name,
           (long long) json_integer_value(json_object_get(ping, "pid")),
           json_string_value(json_object_get(ping, "db")));
    const char *why = json_string_value(json_object_get(ping, "store_error"));
    if (why) /* ctl.h: no new runs until the database can be written again */
        printf("  database NOT WRITABLE (%s): taking no new runs, results held on the agents\n",
               why);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(ag, "agents"), i, a) {
        json_t *nets = json_object_get(json_object_get(a, "capabilities"), "networks");
        printf("  agent %-10s %-13s networks:", json_string_value(json_object_get(a, "host")),
               json_is_true(json_object_get(a, "connected")) ? "connected" : "disconnected");
        const char *k;
        json_t *v;
        json_object_foreach(nets, k, v) printf(" %s", k);
        printf("\n");
    }
    json_decref(ping);
    json_decref(ag);
    return 0;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: cntb controller start --testbed FILE [--db PATH]\n"
               "       cntb controller stop|status [--testbed FILE]\n"
               "start   runs cntb-controller in the background for the testbed; it listens for\n"
               "        agents at the testbed's controller address and writes the database\n"
               "        (--db, default $CNTB_DB, else ./cntb.db).  Log: /run/cntb/NAME/controller.log\n"
               "stop    stops it (runs in flight are queued again at the next start)\n"
               "status  shows it and its agents\n"
               "Without --testbed, stop and status use the only running controller.\n");
}

int
cmd_controller(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "start") != 0 && strcmp(sub, "stop") != 0 && strcmp(sub, "status") != 0) {
        cli_error("unknown controller command \"%s\" (cntb controller --help)", sub);
        return EXIT_USAGE;
    }
    static const struct option opts[] = { { "testbed", required_argument, NULL, 't' },
                                          { "db", required_argument, NULL, 'd' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *tbfile = NULL, *db = NULL;
    int c;
    optind = 1;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': tbfile = optarg; break;
        case 'd': db = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("unexpected argument \"%s\" (cntb controller --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "start") == 0) {
        if (!tbfile) {
            cli_error("--testbed is required for controller start (FILE: the testbed file)");
            return EXIT_USAGE;
        }
        return controller_start(tbfile, cli_db_path(db));
    }
    char name[8];
    if (strcmp(sub, "stop") == 0 || strcmp(sub, "status") == 0) {
        int rc = cli_pick_testbed(tbfile, name);
        if (rc)
            return strcmp(sub, "stop") == 0 && !tbfile ? 0 : rc;
        return strcmp(sub, "stop") == 0 ? controller_stop(name) : controller_status(name);
    }
    return EXIT_USAGE; /* not reached: sub was checked above */
}
