/*
 * rps.c — Receive Packet Steering of a link: the CPU mask in the kernel's
 * format, and reading and writing /sys/class/net/IF/queues/rx-N/rps_cpus,
 * in our namespace or in another one (why cntb needs it: rps.h).
 *
 * rps_cpus has no netlink attribute; it exists only in sysfs, and a sysfs
 * shows the links of the namespace that mounted it.  For a link in another
 * namespace a child process does what `ip netns exec` does (ip/ipnetns.c):
 * setns(2) into the namespace, unshare(2) a mount namespace, make "/" a
 * slave so nothing propagates back, mount a fresh sysfs on /sys, and does
 * the read or write there.  Its answer comes back through a pipe: "O" and
 * the value, or "E" and the error.  The child runs no program.
 */
#include "rps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nl.h"
#include "nl_call.h"

int rps_mask_format(const cpu_set_t *set, char *out, size_t len)
{
    int top = -1, g, c, n;
    size_t used = 0;

    for (c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, set))
            top = c;
    if (top < 0) {
        if (len < 2)
            return -1;
        snprintf(out, len, "0");
        return 0;
    }
    for (g = top / 32; g >= 0; g--) {
        unsigned long word = 0;

        for (c = 0; c < 32; c++)
            if (CPU_ISSET(g * 32 + c, set))
                word |= 1UL << c;
        n = snprintf(out + used, len - used, g == top / 32 ? "%lx%s" : "%08lx%s", word,
                     g ? "," : "");
        if (n < 0 || (size_t)n >= len - used)
            return -1;
        used += (size_t)n;
    }
    return 0;
}

int rps_mask_ours(char *out, size_t len, char *err)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) < 0) {
        nl_seterr(err, "sched_getaffinity: %s", strerror(errno));
        return -1;
    }
    if (rps_mask_format(&set, out, len) < 0) {
        nl_seterr(err, "CPU mask longer than %zu bytes", len);
        return -1;
    }
    return 0;
}

static bool rps_mask_valid(const char *mask)
{
    return mask && *mask && strspn(mask, "0123456789abcdefABCDEF,") == strlen(mask) &&
           strlen(mask) < RPS_MASK_MAX;
}

/*
 * In the caller's namespace and sysfs: with mask, writes it to every rx
 * queue and puts their count in out; without, reads queue `queue` into out.
 */
static int rps_here(const char *ifname, const char *mask, int queue, char *out, size_t len,
                    char *err)
{
    char path[128], buf[RPS_MASK_MAX];
    int fd, q, ret = -1;
    ssize_t n;

    if (!mask) {
        snprintf(path, sizeof path, "/sys/class/net/%s/queues/rx-%d/rps_cpus", ifname, queue);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            nl_seterr(err, "link %s: %s: %s", ifname, path, strerror(errno));
            return -1;
        }
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0) {
            nl_seterr(err, "link %s: %s: %s", ifname, path, strerror(errno));
            goto out;
        }
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        snprintf(out, len, "%s", buf);
        ret = 0;
        goto out;
    }
    for (q = 0;; q++) {
        snprintf(path, sizeof path, "/sys/class/net/%s/queues/rx-%d/rps_cpus", ifname, q);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && q > 0)
            break;
        if (fd < 0) {
            nl_seterr(err, "link %s: %s: %s%s", ifname, path, strerror(errno),
                      errno == ENOENT ? " (no such link, or a kernel without CONFIG_RPS)" : "");
            return -1;
        }
        n = write(fd, mask, strlen(mask));
        close(fd);
        if (n < 0) {
            nl_seterr(err, "link %s: writing \"%s\" to %s: %s", ifname, mask, path,
                      strerror(errno));
            return -1;
        }
    }
    snprintf(out, len, "%d", q);
    return 0;
out:
    close(fd);
    return ret;
}

/* Child of rps_there: enters netns with a sysfs of its own, answers on fd. */
static void rps_child(int fd, const char *netns, const char *ifname, const char *mask,
                      int queue)
{
    char err[NL_ERR_MAX], out[RPS_MASK_MAX], msg[NL_ERR_MAX + RPS_MASK_MAX + 2];
    int rc = -1;

    err[0] = '\0';
    if (netns_enter(netns, err) < 0)
        goto out;
    if (unshare(CLONE_NEWNS) < 0) {
        nl_seterr(err, "namespace %s: unshare(CLONE_NEWNS): %s", netns, strerror(errno));
        goto out;
    }
    if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0) {
        nl_seterr(err, "namespace %s: making / a slave mount: %s", netns, strerror(errno));
        goto out;
    }
    (void)umount2("/sys", MNT_DETACH); /* none mounted is fine */
    if (mount(netns, "/sys", "sysfs", 0, NULL) < 0) {
        nl_seterr(err, "namespace %s: mounting sysfs: %s", netns, strerror(errno));
        goto out;
    }
    rc = rps_here(ifname, mask, queue, out, sizeof out, err);
out:
    snprintf(msg, sizeof msg, "%c%s", rc == 0 ? 'O' : 'E', rc == 0 ? out : err);
    if (write(fd, msg, strlen(msg)) < 0)
        rc = -1;
    _exit(rc == 0 ? 0 : 1);
}

static int rps_there(const char *netns, const char *ifname, const char *mask, int queue,
                     char *out, size_t len, char *err)
{
    char msg[NL_ERR_MAX + RPS_MASK_MAX + 2];
    size_t got = 0;
    ssize_t n;
    int fds[2], status, ret = -1;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        nl_seterr(err, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        nl_seterr(err, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        rps_child(fds[1], netns, ifname, mask, queue);
    }
    close(fds[1]);
    while (got < sizeof msg - 1 && (n = read(fds[0], msg + got, sizeof msg - 1 - got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        got += (size_t)n;
    }
    msg[got] = '\0';
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got > 0 && msg[0] == 'O') {
        snprintf(out, len, "%s", msg + 1);
        ret = 0;
    } else if (got > 0 && msg[0] == 'E') {
        nl_seterr(err, "%s", msg + 1);
    } else {
        nl_seterr(err, "namespace %s: link %s: the sysfs helper process died", netns, ifname);
    }
    return ret;
}

static int rps_check_args(const char *netns, const char *ifname, char *err)
{
    if (!ifname || !nl_ifname_valid(ifname)) {
        nl_seterr(err, "link %.32s: invalid name", ifname ? ifname : "(null)");
        return -1;
    }
    if (netns && *netns && !netns_name_valid(netns)) {
        nl_seterr(err, "namespace %.64s: invalid name", netns);
        return -1;
    }
    return 0;
}

int rps_set(const char *netns, const char *ifname, const char *mask, char *err)
{
    char out[16];

    if (rps_check_args(netns, ifname, err) < 0)
        return -1;
    if (!rps_mask_valid(mask)) {
        nl_seterr(err, "link %s: RPS mask \"%.32s\": must be hex digits and commas",
                  ifname, mask ? mask : "(null)");
        return -1;
    }
    if ((netns && *netns ? rps_there(netns, ifname, mask, 0, out, sizeof out, err)
                         : rps_here(ifname, mask, 0, out, sizeof out, err)) < 0)
        return -1;
    return atoi(out);
}

int rps_get(const char *netns, const char *ifname, int queue, char *out, size_t len, char *err)
{
    if (rps_check_args(netns, ifname, err) < 0)
        return -1;
    if (queue < 0) {
        nl_seterr(err, "link %s: queue %d: must be >= 0", ifname, queue);
        return -1;
    }
    return netns && *netns ? rps_there(netns, ifname, NULL, queue, out, len, err)
                           : rps_here(ifname, NULL, queue, out, len, err);
}
