/*
 * cli_main.c — `cntb`, the user's command line: dispatch and shared helpers.
 */
#include "cli.h"

#include "log.h"
#include "nl.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

void
cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cntb: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int
cli_need_root(const char *what)
{
    if (geteuid() == 0)
        return 0;
    cli_error("%s needs root (network namespaces and links)", what);
    return EXIT_ENV;
}

const char *
cli_bindir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return ".";
        self[n] = '\0';
        snprintf(dir, sizeof dir, "%s", dirname(self));
    }
    return dir;
}

void
cli_rundir(char *path, size_t len, const char *testbed, const char *file)
{
    if (file)
        snprintf(path, len, "%s/%s/%s", CNTB_RUN_ROOT, testbed, file);
    else
        snprintf(path, len, "%s/%s", CNTB_RUN_ROOT, testbed);
}

const char *
cli_db_path(const char *opt)
{
    if (opt)
        return opt;
    const char *env = getenv("CNTB_DB");
    return env && env[0] ? env : "cntb.db";
}

bool
cli_socket_live(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path)
        return true; /* cannot probe: let the request find out */
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return true;
    int rc = connect(fd, (struct sockaddr *) &sa, sizeof sa);
    int e = errno;
    close(fd);
    /* unix(7): ECONNREFUSED = a socket file nobody listens on; ENOENT = none. */
    return rc == 0 || (e != ECONNREFUSED && e != ENOENT);
}

json_t *
cli_request(const char *name, json_t *req, int timeout_ms, bool quiet)
{
    char sockpath[PATH_MAX];
    cli_rundir(sockpath, sizeof sockpath, name, "cli.sock");
    json_t *answer = NULL;
    zsock_t *s = NULL;
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!cli_socket_live(sockpath)) {
        if (!quiet)
            cli_error("no controller running for testbed %s (start it with cntb controller "
                      "start)", name);
        goto out;
    }
    s = zsock_new(ZMQ_REQ);
    zsock_set_linger(s, 0);
    zsock_set_rcvtimeo(s, timeout_ms);
    zsock_set_sndtimeo(s, timeout_ms);
    if (zsock_connect(s, "ipc://%s", sockpath) != 0 || zstr_send(s, text) != 0) {
        if (!quiet)
            cli_error("cannot reach the controller of testbed %s", name);
        goto out;
    }
    char *reply = zstr_recv(s);
    if (!reply) {
        if (!quiet)
            cli_error("the controller of testbed %s did not answer within %d ms", name, timeout_ms);
        goto out;
    }
    answer = json_loads(reply, 0, NULL);
    zstr_free(&reply);
out:
    free(text);
    zsock_destroy(&s);
    return answer;
}

int
cli_running_controllers(char *name)
{
    DIR *d = opendir(CNTB_RUN_ROOT);
    int found = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || strlen(e->d_name) > 7)
                continue;
            char pf[PATH_MAX];
            cli_rundir(pf, sizeof pf, e->d_name, "controller.pid");
            if (cli_pidfile_alive(pf, "cntb-controller")) {
                if (found++ == 0)
                    snprintf(name, 8, "%s", e->d_name);
            }
        }
        closedir(d);
    }
    return found;
}

int
cli_pick_testbed(const char *file, char *name)
{
    if (file) {
        char err[1024];
        testbed_t *tb = testbed_load_file(file, err);
        if (!tb) {
            fprintf(stderr, "%s\n", err);
            return EXIT_USAGE;
        }
        snprintf(name, 8, "%s", tb->name);
        testbed_destroy(&tb);
        return 0;
    }
    int found = cli_running_controllers(name);
    if (found == 1)
        return 0;
    /* None: the environment lacks a daemon (exit 3); several: the user must say which (2). */
    if (found == 0) {
        cli_error("no controller is running (cntb controller start --testbed FILE)");
        return EXIT_ENV;
    }
    cli_error("%d controllers are running: say which with --testbed FILE", found);
    return EXIT_USAGE;
}

pid_t
cli_spawn(char *const argv[], const char *ns, const char *logfile, const char *pidfile)
{
    int logfd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) {
        cli_error("%s: %s", logfile, strerror(errno));
        return -1;
    }
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) != 0) {
        close(logfd);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        cli_error("fork: %s", strerror(errno));
        close(logfd);
        return -1;
    }
    if (pid == 0) {
        char err[NL_ERR_MAX];
        setsid();
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, STDIN_FILENO);
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        if (ns && ns[0] && netns_enter(ns, err) != 0) {
            int e = 126;
            dprintf(STDERR_FILENO, "cannot enter namespace %s: %s\n", ns, err);
            if (write(sync[1], &e, sizeof e) < 0)
                _exit(126);
            _exit(126);
        }
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], argv);
        int e = errno;
        if (write(sync[1], &e, sizeof e) < 0)
            _exit(127);
        _exit(127);
    }
    close(sync[1]);
    close(logfd);
    int e = 0;
    ssize_t n = read(sync[0], &e, sizeof e); /* EOF: exec succeeded */
    close(sync[0]);
    if (n > 0) {
        waitpid(pid, NULL, 0);
        cli_error("cannot start %s: %s", argv[0], e == 126 ? "namespace" : strerror(e));
        return -1;
    }
    FILE *f = pidfile ? fopen(pidfile, "w") : NULL;
    if (f) {
        fprintf(f, "%d\n", (int) pid);
        fclose(f);
    }
    return pid;
}

pid_t
cli_pidfile_alive(const char *pidfile, const char *program)
{
    FILE *f = fopen(pidfile, "r");
    if (!f)
        return 0;
    int pid = 0;
    if (fscanf(f, "%d", &pid) != 1)
        pid = 0;
    fclose(f);
    if (pid <= 1)
        return 0;
    /* A zombie child of ours counts as gone: reap it. */
    waitpid(pid, NULL, WNOHANG);
    char path[64], cmd[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, cmd, sizeof cmd - 1);
    close(fd);
    if (n <= 0)
        return 0;
    cmd[n] = '\0';
    const char *base = strrchr(cmd, '/');
    base = base ? base + 1 : cmd;
    return strcmp(base, program) == 0 ? pid : 0;
}

int
cli_pidfile_stop(const char *pidfile, const char *program, int timeout_ms)
{
    pid_t pid = cli_pidfile_alive(pidfile, program);
    int stopped = 0;
    if (pid > 0) {
        kill(pid, SIGTERM);
        for (int t = 0; t < timeout_ms && cli_pidfile_alive(pidfile, program); t += 20)
            usleep(20000);
        if (cli_pidfile_alive(pidfile, program)) {
            kill(pid, SIGKILL);
            for (int t = 0; t < 2000 && cli_pidfile_alive(pidfile, program); t += 20)
                usleep(20000);
        }
        stopped = 1;
    }
    unlink(pidfile);
    return stopped;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: cntb COMMAND [ARGS]   (cntb COMMAND --help for each)\n"
            "\n"
            "  testbed emulate --name NAME --hosts N   hosts made of network namespaces\n"
            "  testbed destroy NAME                    remove them, their processes and links\n"
            "  testbed check FILE                      validate a testbed file, show agents\n"
            "  controller start|stop|status [--testbed FILE] [--db PATH]\n"
            "  keys generate --testbed FILE            CURVE certificates of controller and hosts\n"
            "  deploy FILE [--stop] [--accept-new]     install and start (or stop) agents over SSH\n"
            "  matrix expand FILE [--format table|csv|json]  the runs a matrix makes\n"
            "  run FILE [--testbed FILE]               queue a matrix and follow it\n"
            "  queue add FILE [--at TIME] [--every DURATION] | list | cancel ID\n"
            "  results list|show|compare|diff-hosts|export|plot ...  the results database\n"
            "  model fit|predict|check ...             per-packet and per-byte cost of each path\n"
            "  demo                                    the whole job on an emulated testbed\n"
            "\n"
            "Common options: --db PATH (default $CNTB_DB, else ./cntb.db), --format table|csv|json.\n"
            "Exit codes: 0 ok, 1 some runs failed, 2 bad input or usage, 3 environment lacks "
            "something.\n"
            "Documentation: docs/ (start with docs/cntb.md).\n");
}

int
main(int argc, char **argv)
{
    log_init("cntb", NULL);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("cntb 0.1 (protocol 1)\n");
        return 0;
    }
    zsys_init();
    zsys_set_logstream(stderr);
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = { { "testbed", cmd_testbed }, { "controller", cmd_controller },
                 { "deploy", cmd_deploy },   { "matrix", cmd_matrix },
                 { "run", cmd_run },         { "results", cmd_results },
                 { "model", cmd_model },     { "demo", cmd_demo },
                 { "queue", cmd_queue },     { "keys", cmd_keys } };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmds[i].name, cmd) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    cli_error("unknown command \"%s\" (cntb --help lists them)", cmd);
    return EXIT_USAGE;
}
