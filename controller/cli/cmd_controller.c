/*
 * cmd_controller.c — `cntb controller start|stop|status` and `cntb deploy`.
 *
 * The controller runs in the background as cntb-controller, its pid in
 * /run/cntb/NAME/controller.pid, its log in /run/cntb/NAME/controller.log.
 * In this version `deploy` starts the agents of an emulated testbed directly
 * inside its hosts' namespaces; deployment over SSH to real hosts comes with
 * the deploy issue and keeps this command line.
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
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "start") == 0) {
        if (!tbfile) {
            cli_error("controller start needs --testbed FILE");
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
    cli_error("unknown controller command \"%s\"", sub);
    return EXIT_USAGE;
}

int
deploy_agents(const char *testbed_file, bool stop)
{
    char err[FERR_MAX];
    testbed_t *tb = testbed_load_file(testbed_file, err);
    if (!tb) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    int rc = cli_need_root("deploy");
    if (rc)
        goto out;
    char agent[PATH_MAX], traffic[PATH_MAX], endpoint[64];
    snprintf(agent, sizeof agent, "%s/cntb-agent", cli_bindir());
    snprintf(traffic, sizeof traffic, "%s/cntb-traffic", cli_bindir());
    snprintf(endpoint, sizeof endpoint, "tcp://%s:%d", tb->ctl_address, tb->ctl_port);
    int bare = 0;
    for (int i = 0; i < tb->host_count; i++) {
        testbed_host_t *h = &tb->hosts[i];
        char pf[PATH_MAX], logf[PATH_MAX], base[64];
        if (strcmp(h->kind, "vm") == 0) /* its agent boots with it: the parent starts it on demand */
            continue;
        bare++;
        snprintf(base, sizeof base, "agent-%s.pid", h->name);
        cli_rundir(pf, sizeof pf, tb->name, base);
        snprintf(base, sizeof base, "agent-%s.log", h->name);
        cli_rundir(logf, sizeof logf, tb->name, base);
        if (stop) {
            if (cli_pidfile_stop(pf, "cntb-agent", 10000))
                printf("agent %s stopped\n", h->name);
            continue;
        }
        if (!h->netns[0]) {
            cli_error("host %s: deployment over SSH is not implemented yet; only emulated "
                      "hosts (with \"netns\") can be deployed",
                      h->name);
            rc = EXIT_ENV;
            goto out;
        }
        pid_t pid = cli_pidfile_alive(pf, "cntb-agent");
        if (pid > 0) {
            printf("agent %s already running (pid %d)\n", h->name, (int) pid);
            continue;
        }
        char dir[PATH_MAX];
        cli_rundir(dir, sizeof dir, tb->name, NULL);
        mkdir(CNTB_RUN_ROOT, 0755);
        mkdir(dir, 0700);
        char *const argv[] = { agent, (char *) "--controller", endpoint, (char *) "--host",
                               h->name, (char *) "--address", h->address, (char *) "--kind",
                               h->kind, (char *) "--traffic", traffic, NULL };
        pid = cli_spawn(argv, h->netns, logf, pf);
        if (pid < 0) {
            rc = EXIT_ENV;
            goto out;
        }
        printf("agent %s started in %s (pid %d), log %s\n", h->name, h->netns, (int) pid, logf);
    }
    if (stop)
        goto out;
    /* Wait for every agent to say HELLO, when the controller runs. */
    for (int t = 0; t < 150; t++) {
        json_t *a = cli_request(tb->name, json_pack("{s:s}", "cmd", "agents"), 1000, true);
        if (!a) {
            printf("no controller running yet: the agents will connect when it starts\n");
            goto out;
        }
        int connected = 0;
        size_t j;
        json_t *ag;
        json_array_foreach(json_object_get(a, "agents"), j, ag)
            connected += json_is_true(json_object_get(ag, "connected"));
        json_decref(a);
        if (connected >= bare) {
            printf("%d agents connected to the controller\n", connected);
            goto out;
        }
        usleep(100000);
    }
    cli_error("not every agent connected within 15 s; see the logs in %s/%s", CNTB_RUN_ROOT,
              tb->name);
    rc = EXIT_ENV;
out:
    testbed_destroy(&tb);
    return rc;
}

int
cmd_deploy(int argc, char **argv)
{
    static const struct option opts[] = { { "stop", no_argument, NULL, 's' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    bool stop = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': stop = true; break;
        case 'h':
            printf("usage: cntb deploy FILE [--stop]\n"
                   "Starts (or with --stop stops) the agent of every host of the testbed and\n"
                   "waits until each has connected to the controller.  Emulated hosts get their\n"
                   "agent inside their namespace; logs in /run/cntb/NAME/agent-HOST.log.\n");
            return 0;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_error("usage: cntb deploy FILE [--stop]");
        return EXIT_USAGE;
    }
    return deploy_agents(argv[optind], stop);
}
