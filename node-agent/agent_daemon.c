/*
 * agent_daemon.c — detaching, pid files and stopping for cntb-agent.
 *
 * The classic double fork (W. R. Stevens, APUE 13.3): the session leader
 * forks once more so that the daemon is not a session leader and can never
 * acquire a controlling terminal; SSH's session ending (SIGHUP to its
 * process group) therefore cannot reach it.  The first process waits on a
 * pipe until the daemon has written its pid file, so that `cntb deploy`
 * knows the agent runs when the remote command returns.  A pid file names a
 * live agent only if /proc/PID/cmdline's program is cntb-agent: a recycled
 * pid is not mistaken for one.
 */
#include "agent_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

pid_t
agent_daemon_running(const char *pidfile)
{
    char buf[64], path[64], cmd[4096];
    FILE *f = fopen(pidfile, "r");
    if (!f)
        return 0;
    long pid = 0;
    if (!fgets(buf, sizeof buf, f) || (pid = strtol(buf, NULL, 10)) <= 1 || pid > 4194304)
        pid = 0;
    fclose(f);
    if (pid <= 0 || kill((pid_t) pid, 0) != 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, cmd, sizeof cmd - 1);
    close(fd);
    if (n <= 0)
        return 0;
    cmd[n] = '\0'; /* argv[0] up to the first NUL */
    const char *base = strrchr(cmd, '/');
    base = base ? base + 1 : cmd;
    return strcmp(base, "cntb-agent") == 0 ? (pid_t) pid : 0;
}

int
agent_daemon_stop(const char *pidfile, int timeout_ms)
{
    pid_t pid = agent_daemon_running(pidfile);
    if (pid <= 0) {
        unlink(pidfile);
        return 0;
    }
    kill(pid, SIGTERM);
    for (int waited = 0; waited < timeout_ms && kill(pid, 0) == 0; waited += 50) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (kill(pid, 0) == 0)
        kill(pid, SIGKILL);
    unlink(pidfile);
    return 1;
}

int
agent_daemon_start(const char *logfile, const char *pidfile, char *err, size_t len)
{
    pid_t running = agent_daemon_running(pidfile);
    if (running > 0) {
        snprintf(err, len, "an agent is running already (pid %d, %s)", (int) running, pidfile);
        return -1;
    }
    int logfd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) {
        snprintf(err, len, "%s: %s", logfile, strerror(errno));
        return -1;
    }
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) != 0) {
        snprintf(err, len, "pipe: %s", strerror(errno));
        close(logfd);
        return -1;
    }
    fflush(NULL);
    pid_t first = fork();
    if (first < 0) {
        snprintf(err, len, "fork: %s", strerror(errno));
        close(logfd);
        close(sync[0]);
        close(sync[1]);
        return -1;
    }
    if (first > 0) { /* the original process: wait for the daemon's word */
        close(sync[1]);
        close(logfd);
        char ok = 0;
        ssize_t n = read(sync[0], &ok, 1);
        waitpid(first, NULL, 0);
        if (n == 1 && ok == 'y')
            _exit(0);
        fprintf(stderr, "cntb-agent: the daemon did not start; see %s\n", logfile);
        _exit(1);
    }
    close(sync[0]);
    setsid();
    pid_t second = fork();
    if (second < 0)
        _exit(1);
    if (second > 0)
        _exit(0);
    umask(022);
    if (chdir("/") != 0)
        _exit(1);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
        dup2(logfd, STDERR_FILENO) < 0)
        _exit(1);
    close(devnull);
    close(logfd);
    char tmp[4200], buf[32];
    snprintf(tmp, sizeof tmp, "%s.tmp", pidfile);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int n = snprintf(buf, sizeof buf, "%d\n", (int) getpid());
    if (fd < 0 || write(fd, buf, (size_t) n) != n || close(fd) != 0 || rename(tmp, pidfile) != 0) {
        fprintf(stderr, "cntb-agent: cannot write %s: %s\n", pidfile, strerror(errno));
        _exit(1);
    }
    char ok = 'y';
    if (write(sync[1], &ok, 1) != 1)
        _exit(1);
    close(sync[1]);
    return 0;
}
