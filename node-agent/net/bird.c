/*
 * bird.c — BIRD 2 as a child process and its control socket (bird.h).
 *
 * BIRD is started with fork + execv of an argument vector (no shell), in
 * the foreground so that the agent is its parent and reaps it; a pid file
 * (-P) lets a restarted agent find it again.  The control socket speaks
 * BIRD's CLI protocol (BIRD's client/client.c does the same): on connect
 * a greeting "0001 BIRD x.y ready.", then per request line a reply of lines
 * "DDDD-text" (more follow), " text" (continuation of the previous code)
 * and one final "DDDD text".  Codes 0xxx are end-of-command, 1xxx/2xxx
 * data, 8xxx run-time errors, 9xxx parse errors.
 */
#include "bird.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIRD_IO_MS 2000 /* one control-socket exchange */

static int64_t bird_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t bird_start(const char *conf, const char *sock, const char *pidfile, const char *logfile,
                 char *err)
{
    char *const argv[] = {(char *)BIRD_BIN, (char *)"-f", (char *)"-c", (char *)conf,
                          (char *)"-s", (char *)sock, (char *)"-P", (char *)pidfile, NULL};
    int logfd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_t pid;

    if (logfd < 0) {
        snprintf(err, BIRD_ERR_MAX, "bird: log %s: %s", logfile, strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, BIRD_ERR_MAX, "bird: fork: %s", strerror(errno));
        close(logfd);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        setsid();
        signal(SIGPIPE, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execv(argv[0], argv);
        dprintf(STDERR_FILENO, "cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    return pid;
}

/* Connects to the control socket; the fd or -1 with err. */
static int bird_connect(const char *sock, char *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(sock) >= sizeof sa.sun_path) {
        snprintf(err, BIRD_ERR_MAX, "bird: socket path %s is too long", sock);
        return -1;
    }
    strcpy(sa.sun_path, sock);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, BIRD_ERR_MAX, "bird: control socket %s: %s", sock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/*
 * Reads one reply from fd, appending its text to out.  The last line's
 * code in *code.  0 or -1 with err.
 */
static int bird_read_reply(int fd, char *out, size_t len, int *code, char *err)
{
    char buf[8192];
    size_t have = 0, used = len && out ? strlen(out) : 0;
    int64_t deadline = bird_now_ms() + BIRD_IO_MS;

    for (;;) {
        char *nl;
        while ((nl = memchr(buf, '\n', have))) {
            size_t linelen = (size_t)(nl - buf);
            const char *text = buf;
            bool last = false;
            *nl = '\0';
            if (linelen >= 5 && buf[0] >= '0' && buf[0] <= '9' && (buf[4] == ' ' || buf[4] == '-')) {
                *code = atoi(buf);
                last = buf[4] == ' ';
                text = buf + 5;
            } else if (linelen >= 1 && buf[0] == ' ') {
                text = buf + 1;
            }
            if (out && used + strlen(text) + 2 < len) {
                used += (size_t)snprintf(out + used, len - used, "%s\n", text);
            }
            memmove(buf, nl + 1, have - linelen - 1);
            have -= linelen + 1;
            if (last)
                return 0;
        }
        int left = (int)(deadline - bird_now_ms());
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            snprintf(err, BIRD_ERR_MAX, "bird: no reply on the control socket within %d ms", BIRD_IO_MS);
            return -1;
        }
        if (have >= sizeof buf - 1)
            have = 0; /* a line longer than the buffer: drop it */
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0) {
            snprintf(err, BIRD_ERR_MAX, "bird: control socket closed");
            return -1;
        }
        have += (size_t)n;
    }
}

int bird_cmd(const char *sock, const char *cmd, char *out, size_t len, int *code, char *err)
{
    int fd = bird_connect(sock, err), c = 0, ret = -1;
    char line[512];

    if (fd < 0)
        return -1;
    if (out && len)
        out[0] = '\0';
    if (bird_read_reply(fd, NULL, 0, &c, err) < 0) /* the greeting */
        goto out;
    snprintf(line, sizeof line, "%s\n", cmd);
    if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
        snprintf(err, BIRD_ERR_MAX, "bird: control socket: %s", strerror(errno));
        goto out;
    }
    if (bird_read_reply(fd, out, len, &c, err) < 0)
        goto out;
    if (code)
        *code = c;
    ret = 0;
out:
    close(fd);
    return ret;
}

/* The last non-empty line of file into out (len bytes). */
static void last_line(const char *file, char *out, size_t len)
{
    char buf[4096];
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    off_t size;

    out[0] = '\0';
    if (fd < 0)
        return;
    size = lseek(fd, 0, SEEK_END);
    lseek(fd, size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0, SEEK_SET);
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *l = strrchr(buf, '\n');
    snprintf(out, len, "%s", l ? l + 1 : buf);
}

int bird_wait_socket(pid_t pid, const char *sock, const char *logfile, int timeout_ms, char *err)
{
    int64_t deadline = bird_now_ms() + timeout_ms;
    char e[BIRD_ERR_MAX], out[64];
    int code;

    for (;;) {
        if (pid > 0) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                char l[200];
                last_line(logfile, l, sizeof l);
                snprintf(err, BIRD_ERR_MAX, "bird exited (status %d): %.180s",
                         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), l);
                return -1;
            }
        }
        if (bird_cmd(sock, "show status", out, sizeof out, &code, e) == 0)
            return 0;
        if (bird_now_ms() >= deadline) {
            snprintf(err, BIRD_ERR_MAX, "%s", e);
            return -1;
        }
        usleep(50000);
    }
}

/* The pid in pidfile when that process is BIRD_BIN running conf, else 0. */
static pid_t bird_pidfile_pid(const char *pidfile, const char *conf)
{
    char buf[4096], path[64];
    FILE *f = fopen(pidfile, "r");
    int pid = 0, fd;
    ssize_t n;

    if (!f)
        return 0;
    if (fscanf(f, "%d", &pid) != 1)
        pid = 0;
    fclose(f);
    if (pid <= 1)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    if (strcmp(buf, BIRD_BIN) != 0)
        return 0;
    /* argv: walk the NUL-separated arguments for "-c" conf */
    for (char *a = buf; a < buf + n; a += strlen(a) + 1)
        if (strcmp(a, "-c") == 0 && a + 3 < buf + n && strcmp(a + 3, conf) == 0)
            return pid;
    return 0;
}

static bool alive(pid_t pid, bool child)
{
    if (child) {
        pid_t w = waitpid(pid, NULL, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD && kill(pid, 0) != 0))
            return false;
        if (w < 0 && errno == ECHILD)
            return kill(pid, 0) == 0;
        return true;
    }
    return kill(pid, 0) == 0;
}

int bird_stop(pid_t pid, const char *pidfile, const char *conf)
{
    pid_t p = pid > 0 ? pid : bird_pidfile_pid(pidfile, conf);
    bool child = pid > 0;
    int stopped = 0;

    if (p > 0 && alive(p, child)) {
        kill(p, SIGTERM);
        for (int t = 0; t < 3000 && alive(p, child); t += 20)
            usleep(20000);
        if (alive(p, child)) {
            kill(p, SIGKILL);
            for (int t = 0; t < 2000 && alive(p, child); t += 20)
                usleep(20000);
        }
        stopped = 1;
    }
    unlink(pidfile);
    return stopped;
}

bool bird_bgp_established(const char *show, const char *name, char *info, size_t len)
{
    static const char *const states[] = {"Established", "OpenConfirm", "OpenSent", "Active",
                                         "Connect", "Idle", NULL};
    size_t nlen = strlen(name);
    const char *line = show;

    snprintf(info, len, "not found");
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        if (ll > nlen && strncmp(line, name, nlen) == 0 && (line[nlen] == ' ' || line[nlen] == '\t')) {
            char l[512];
            snprintf(l, sizeof l, "%.*s", (int)ll, line);
            for (int i = 0; states[i]; i++) {
                char *s = strstr(l, states[i]);
                if (s) {
                    /* squeeze runs of blanks for a readable message */
                    char *w = s, *r = s;
                    for (; *r; r++)
                        if (!(*r == ' ' && (w > s && w[-1] == ' ')))
                            *w++ = *r;
                    *w = '\0';
                    while (w > s && w[-1] == ' ')
                        *--w = '\0';
                    snprintf(info, len, "%s", s);
                    return i == 0;
                }
            }
            snprintf(info, len, "%s", l);
            return false;
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}
