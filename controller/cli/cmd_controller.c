/*
 * cmd_controller.c — `cntb controller start|stop|status`.
 *
 * The controller runs in the background as cntb-controller, its pid in
 * /run/cntb/NAME/controller.pid (written by the controller under its flock,
 * controller/ctl_lock.h), its log in /run/cntb/NAME/controller.log.  start
 * waits until its own child answers a ping (the answer carries the pid) or
 * dies, and then says which; stop decides who ran before asking it to stop.
 * Agents are deployed over SSH by `cntb deploy` (cmd_deploy.c).
 */
#include "cli.h"

#include "ferr.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Whether two database paths name one file (realpath(3) when they exist). */
static bool
same_db(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    if (realpath(a, ra) && realpath(b, rb))
        return strcmp(ra, rb) == 0;
    return strcmp(a, b) == 0;
}

/* Copies the last non-empty line of file `path` (at most its last 4 KiB) into line. */
static void
last_line(const char *path, char *line, size_t len)
{
    char buf[4096];
    line[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > (long) sizeof buf - 1)
        fseek(f, -(long) (sizeof buf - 1), SEEK_END);
    else
        rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *nl = strrchr(buf, '\n');
    snprintf(line, len, "%s", nl ? nl + 1 : buf);
}

int
controller_start(const char *testbed_file, const char *db)
{
    char err[FERR_MAX];
    testbed_t *tb = testbed_load_file(testbed_file, err);
    if (!tb) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    {
        /* The controller would only log it: say now which directory is wrong. */
        char ddir[PATH_MAX];
        const char *slash = strrchr(db, '/');
        struct stat sb;

        if (!slash)
            snprintf(ddir, sizeof ddir, ".");
        else if (slash == db)
            snprintf(ddir, sizeof ddir, "/");
        else
            snprintf(ddir, sizeof ddir, "%.*s", (int) (slash - db), db);
        errno = 0;
        if (stat(ddir, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(ddir, W_OK) != 0) {
            cli_error("--db %s: directory %s: %s", db, ddir,
                      errno ? strerror(errno) : "not a directory");
            testbed_destroy(&tb);
            return EXIT_USAGE;
        }
        if (stat(db, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            cli_error("--db %s: is a directory (give a file name, e.g. %s/cntb.db)", db, db);
            testbed_destroy(&tb);
            return EXIT_USAGE;
        }
    }
    int rc = 0;
    char dir[PATH_MAX], pf[PATH_MAX], logf[PATH_MAX], tbabs[PATH_MAX], dbabs[PATH_MAX + 256];
    mkdir(CNTB_RUN_ROOT, 0755);
    cli_rundir(dir, sizeof dir, tb->name, NULL);
    mkdir(dir, 0700);
    cli_rundir(pf, sizeof pf, tb->name, "controller.pid");
    cli_rundir(logf, sizeof logf, tb->name, "controller.log");
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
    pid_t pid = cli_pidfile_alive(pf, "cntb-controller");
    if (pid > 0) {
        json_t *a = cli_request(tb->name, json_pack("{s:s}", "cmd", "ping"), 2000, true);
        const char *rdb = json_string_value(json_object_get(a, "db"));
        if (rdb && !same_db(rdb, dbabs)) {
            cli_error("the controller of testbed %s is already running (pid %d) on database "
                      "%s, not %s (stop it first: cntb controller stop --testbed %s)",
                      tb->name, (int) pid, rdb, dbabs, testbed_file);
            rc = EXIT_ENV;
        } else
            printf("controller of testbed %s already running (pid %d), database %s\n", tb->name,
                   (int) pid, rdb ? rdb : "?");
        json_decref(a);
        goto out;
    }
    char prog[PATH_MAX];
    snprintf(prog, sizeof prog, "%s/cntb-controller", cli_bindir());
    char *const argv[] = { prog, (char *) "--testbed", tbabs, (char *) "--db", dbabs,
                           (char *) "--rundir", dir, NULL };
    /* The controller writes the pid file itself, under its lock: a start
     * that loses a race never names itself there. */
    pid = cli_spawn(argv, NULL, logf, NULL);
    if (pid < 0) {
        rc = EXIT_ENV;
        goto out;
    }
    /* Wait until our child answers, or dies (another controller of the
     * testbed or of the database, a port in use, ...). */
    for (int i = 0; i < 100; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            char line[512];
            last_line(logf, line, sizeof line);
            cli_error("the controller of testbed %s did not start (exit %d): %s", tb->name,
                      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                      line[0] ? line : "see the log");
            rc = EXIT_ENV;
            goto out;
        }
        json_t *a = cli_request(tb->name, json_pack("{s:s}", "cmd", "ping"), 200, true);
        pid_t apid = (pid_t) json_integer_value(json_object_get(a, "pid"));
        json_decref(a);
        if (apid == pid) {
            printf("controller of testbed %s started (pid %d), agents on tcp://%s:%d, "
                   "database %s, log %s\n",
                   tb->name, (int) pid, tb->ctl_address, tb->ctl_port, dbabs, logf);
            goto out;
        }
        usleep(100000);
    }
    cli_error("the controller did not come up within 10 s; see %s", logf);
    kill(pid, SIGTERM);
    for (int t = 0; t < 5000 && waitpid(pid, NULL, WNOHANG) == 0; t += 20)
        usleep(20000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    rc = EXIT_ENV;
out:
    testbed_destroy(&tb);
    return rc;
}

/* Whether process pid is alive and runs cntb-controller (/proc/PID/cmdline). */
static bool
controller_alive(pid_t pid)
{
    char path[64], cmd[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
    waitpid(pid, NULL, WNOHANG); /* our own zombie counts as gone */
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    cmd[n] = '\0';
    const char *base = strrchr(cmd, '/');
    return n > 0 && strcmp(base ? base + 1 : cmd, "cntb-controller") == 0;
}

int
controller_stop(const char *name)
{
    char pf[PATH_MAX], sock[PATH_MAX];
    cli_rundir(pf, sizeof pf, name, "controller.pid");
    cli_rundir(sock, sizeof sock, name, "cli.sock");
    /* Who runs is decided before asking it to stop: it may be gone by the
     * time we look again, and that is a stop, not "was not running". */
    pid_t pid = cli_pidfile_alive(pf, "cntb-controller");
    json_t *a = cli_request(name, json_pack("{s:s}", "cmd", "stop"), 2000, true);
    if (a && pid <= 0)
        pid = (pid_t) json_integer_value(json_object_get(a, "pid"));
    bool was_running = pid > 0 || a;
    json_decref(a);
    if (pid > 0) {
        int t = 0;
        for (; t < 10000 && controller_alive(pid); t += 20)
            usleep(20000);
        if (controller_alive(pid)) {
            kill(pid, SIGTERM);
            for (t = 0; t < 5000 && controller_alive(pid); t += 20)
                usleep(20000);
        }
        if (controller_alive(pid)) {
            kill(pid, SIGKILL);
            for (t = 0; t < 2000 && controller_alive(pid); t += 20)
                usleep(20000);
        }
    }
    /* A SIGKILLed controller leaves its files; a clean one removed them. */
    if (!cli_pidfile_alive(pf, "cntb-controller")) {
        unlink(pf);
        if (!cli_socket_live(sock))
            unlink(sock);
    }
    if (was_running)
        printf("controller of testbed %s stopped%s\n", name,
               pid > 0 ? "" : " (its pid unknown)");
    else
        printf("controller of testbed %s was not running\n", name);
    return 0;
}

static int
controller_status(const char *name)
{
    char sock[PATH_MAX];
    cli_rundir(sock, sizeof sock, name, "cli.sock");
    /* Not running is the answer to the question, on stdout; exit 3 as for any
     * missing daemon (and as LSB's status actions do). */
    if (!cli_socket_live(sock)) {
        printf("controller of testbed %s: not running\n", name);
        return EXIT_ENV;
    }
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
               "status  shows it and its agents; not running: says so, exit 3\n"
               "Without --testbed, stop and status use the only running controller.\n"
               "Exit codes: 0 ok, 2 bad usage or testbed file, 3 no controller (status, and\n"
               "start when it cannot come up).\n");
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
        if (!tbfile && cli_running_controllers(name) == 0) {
            /* Nothing to stop is no failure; nothing to show is exit 3 (docs/cntb.md). */
            printf("no controller running%s\n", strcmp(sub, "stop") == 0 ? " (nothing to stop)"
                                                                          : "");
            return strcmp(sub, "stop") == 0 ? 0 : EXIT_ENV;
        }
        int rc = cli_pick_testbed(tbfile, name);
        if (rc)
            return rc;
        return strcmp(sub, "stop") == 0 ? controller_stop(name) : controller_status(name);
    }
    return EXIT_USAGE; /* not reached: sub was checked above */
}
