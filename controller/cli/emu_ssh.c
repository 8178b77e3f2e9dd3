/*
 * emu_ssh.c — sshd in the emulated hosts (see emu_ssh.h).
 *
 * Every emulated host is a network namespace sharing this machine's
 * filesystem, so each sshd gets its own files, all under /run/cntb/NAME/:
 *   sshd-HOST.key(.pub)  the host key (ed25519, made by ssh-keygen)
 *   sshd-HOST.conf       ListenAddress = the host's address, its own PidFile,
 *                        AuthorizedKeysFile = the testbed's authorized_keys
 *   sshd-HOST.pid/.log   the process and its log (sshd -D -e: no detaching of
 *                        its own, cli_spawn makes it a daemon inside the netns)
 * sshd refuses to start without its privilege-separation directory
 * /run/sshd, made here when missing.  Programs are run by argument vector
 * (fork+execv), never through a shell.
 */
#include "emu_ssh.h"

#include "cli.h"
#include "ferr.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SSHD "/usr/sbin/sshd"
#define SSH_KEYGEN "/usr/bin/ssh-keygen"

int
emu_run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* ssh-keygen -q -t ed25519 -N "" -C comment -f path, unless path exists. */
static int
keygen(const char *path, const char *comment)
{
    if (access(path, R_OK) == 0)
        return 0;
    char *const argv[] = { (char *) SSH_KEYGEN, (char *) "-q", (char *) "-t", (char *) "ed25519",
                           (char *) "-N", (char *) "",  (char *) "-C", (char *) comment,
                           (char *) "-f", (char *) path, NULL };
    if (emu_run(argv) != 0) {
        cli_error("%s failed to make %s", SSH_KEYGEN, path);
        return -1;
    }
    return 0;
}

static int
write_file(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    int rc = write(fd, text, n) == (ssize_t) n ? 0 : -1;
    if (close(fd) != 0 || rc != 0 || fchmodat(AT_FDCWD, tmp, mode, 0) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The pid of the sshd running with config `conf` per its pid file, or 0. */
static pid_t
sshd_alive(const char *pidfile, const char *conf)
{
    char buf[32], path[64], cmd[PATH_MAX];
    if (ferr_read_text(pidfile, buf, sizeof buf) != 0)
        return 0;
    int pid = atoi(buf);
    if (pid <= 1)
        return 0;
    waitpid(pid, NULL, WNOHANG);
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, cmd, sizeof cmd - 1);
    close(fd);
    if (n <= 0)
        return 0;
    for (ssize_t i = 0; i < n; i++) /* argv joined: sshd rewrites its title anyway */
        if (cmd[i] == '\0')
            cmd[i] = ' ';
    cmd[n] = '\0';
    return strstr(cmd, "sshd") && strstr(cmd, conf) ? pid : 0;
}

static bool
port_open(const char *addr, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
    bool ok = false;
    if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        goto out;
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa) != 0 && errno != EINPROGRESS)
        goto out;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int err = 0;
    socklen_t el = sizeof err;
    ok = poll(&p, 1, 200) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0;
out:
    if (fd >= 0)
        close(fd);
    return ok;
}

int
emu_ssh_start(const testbed_t *tb)
{
    char dir[PATH_MAX], sshdir[PATH_MAX], path[PATH_MAX], line[1024];
    char *known = NULL;
    size_t known_len = 0;
    FILE *kf = NULL;
    int rc = EXIT_ENV;

    if (access(SSHD, X_OK) != 0 || access(SSH_KEYGEN, X_OK) != 0) {
        cli_error("%s or %s is missing (Debian: apt-get install openssh-server)", SSHD, SSH_KEYGEN);
        return EXIT_ENV;
    }
    mkdir("/run/sshd", 0755); /* sshd's privilege separation directory */
    cli_rundir(dir, sizeof dir, tb->name, NULL);
    snprintf(sshdir, sizeof sshdir, "%s", tb->ssh_key_path);
    char *slash = strrchr(sshdir, '/');
    if (slash) {
        *slash = '\0';
        if (mkdir(sshdir, 0700) != 0 && errno != EEXIST) {
            cli_error("%s: %s", sshdir, strerror(errno));
            return EXIT_ENV;
        }
    }
    char comment[32];
    snprintf(comment, sizeof comment, "cntb-%s", tb->name);
    if (keygen(tb->ssh_key_path, comment) != 0)
        goto out;
    snprintf(path, sizeof path, "%s.pub", tb->ssh_key_path);
    if (ferr_read_text(path, line, sizeof line) != 0) {
        cli_error("%s: cannot read the client's public key", path);
        goto out;
    }
    strcat(line, "\n");
    cli_rundir(path, sizeof path, tb->name, "authorized_keys");
    if (write_file(path, line, 0600) != 0) {
        cli_error("%s: cannot write", path);
        goto out;
    }
    kf = open_memstream(&known, &known_len);
    if (!kf)
        goto out;
    for (int i = 0; i < tb->host_count; i++) {
        const testbed_host_t *h = &tb->hosts[i];
        char key[PATH_MAX], conf[PATH_MAX], pid[PATH_MAX], log[PATH_MAX], base[64], text[2048];
        if (!h->netns[0]) /* a vm: no namespace, its agent boots with it (docs/vm.md) */
            continue;
        snprintf(base, sizeof base, "sshd-%s.key", h->name);
        cli_rundir(key, sizeof key, tb->name, base);
        snprintf(base, sizeof base, "sshd-%s.conf", h->name);
        cli_rundir(conf, sizeof conf, tb->name, base);
        snprintf(base, sizeof base, "sshd-%s.pid", h->name);
        cli_rundir(pid, sizeof pid, tb->name, base);
        snprintf(base, sizeof base, "sshd-%s.log", h->name);
        cli_rundir(log, sizeof log, tb->name, base);
        snprintf(comment, sizeof comment, "cntb-%s-%s", tb->name, h->name);
        if (keygen(key, comment) != 0)
            goto out;
        snprintf(path, sizeof path, "%s.pub", key);
        char pub[1024];
        if (ferr_read_text(path, pub, sizeof pub) != 0) {
            cli_error("%s: cannot read", path);
            goto out;
        }
        char *sp = strchr(pub, ' ');
        char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
        if (sp2)
            *sp2 = '\0'; /* "ssh-ed25519 BASE64" without the comment */
        if (h->ssh_port == 22)
            fprintf(kf, "%s %s\n", h->address, pub);
        else
            fprintf(kf, "[%s]:%d %s\n", h->address, h->ssh_port, pub);
        char akeys[PATH_MAX];
        cli_rundir(akeys, sizeof akeys, tb->name, "authorized_keys");
        snprintf(text, sizeof text,
                 "# sshd of emulated host %s of testbed %s (written by cntb testbed emulate)\n"
                 "ListenAddress %s:%d\n"
                 "HostKey %s\n"
                 "PidFile %s\n"
                 "AuthorizedKeysFile %s\n"
                 "PermitRootLogin prohibit-password\n"
                 "PasswordAuthentication no\n"
                 "KbdInteractiveAuthentication no\n"
                 "PubkeyAuthentication yes\n"
                 "UsePAM no\n"
                 "X11Forwarding no\n"
                 "AllowTcpForwarding no\n"
                 "PrintMotd no\n"
                 "Subsystem sftp internal-sftp\n",
                 h->name, tb->name, h->address, h->ssh_port, key, pid, akeys);
        if (write_file(conf, text, 0600) != 0) {
            cli_error("%s: cannot write", conf);
            goto out;
        }
        if (sshd_alive(pid, conf))
            continue;
        char *const argv[] = { (char *) SSHD, (char *) "-D", (char *) "-e", (char *) "-f", conf, NULL };
        if (cli_spawn(argv, h->netns, log, pid) < 0)
            goto out;
    }
    if (fclose(kf) != 0) {
        kf = NULL;
        goto out;
    }
    kf = NULL;
    if (write_file(tb->ssh_known_hosts_path, known, 0600) != 0) {
        cli_error("%s: cannot write", tb->ssh_known_hosts_path);
        goto out;
    }
    for (int i = 0; i < tb->host_count; i++) {
        const testbed_host_t *h = &tb->hosts[i];
        int t = 0;
        if (!h->netns[0])
            continue;
        while (!port_open(h->address, h->ssh_port) && t++ < 25)
            usleep(200000);
        if (t > 25) {
            cli_error("host %s: sshd does not listen on %s:%d; see %s/sshd-%s.log", h->name,
                      h->address, h->ssh_port, dir, h->name);
            goto out;
        }
    }
    rc = 0;
out:
    if (kf)
        fclose(kf);
    free(known);
    return rc;
}

void
emu_ssh_stop(const char *name)
{
    char dir[PATH_MAX];
    cli_rundir(dir, sizeof dir, name, NULL);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "sshd-", 5) != 0 || n < 10 || strcmp(e->d_name + n - 4, ".pid") != 0)
            continue;
        char pf[PATH_MAX], conf[PATH_MAX];
        snprintf(pf, sizeof pf, "%s/%s", dir, e->d_name);
        snprintf(conf, sizeof conf, "%s/%.*s.conf", dir, (int) (n - 4), e->d_name);
        pid_t pid = sshd_alive(pf, conf);
        if (pid > 0) {
            kill(pid, SIGTERM);
            for (int t = 0; t < 100 && sshd_alive(pf, conf); t++)
                usleep(20000);
            if (sshd_alive(pf, conf))
                kill(pid, SIGKILL);
        }
        unlink(pf);
    }
    closedir(d);
}
