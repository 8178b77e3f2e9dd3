/*
 * agent_cgroup.c — cgroups of containers (agent_cgroup.h).
 *
 * How: the probe reads /proc/self/mounts once and picks cgroup v2 (a
 * cgroup2 mount at /sys/fs/cgroup offering cpuset) or the v1 cpuset (+
 * cpuacct) hierarchies.  A container's cgroup is a directory "cntb-..." right
 * below each root: mkdir, then (v1 cpuset) cpuset.mems and cpuset.cpus
 * copied from the root or set to the pinned core, then the process's pid
 * written into cgroup.procs.  Removal is rmdir; a cgroup still holding
 * tasks answers EBUSY, so its tasks (which can only be processes the agent
 * put there: the name carries the testbed, the run and the role) are
 * killed and the rmdir retried until they are gone.  Everything is plain
 * open/write/rmdir on cgroupfs: no libcgroup.
 */
#include "agent_cgroup.h"

#include "ferr.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CG_V2_ROOT "/sys/fs/cgroup"

/* True when the comma-separated option list opts (length n) holds word. */
static bool
opt_has(const char *opts, size_t n, const char *word)
{
    size_t w = strlen(word);
    const char *p = opts, *end = opts + n;
    while (p < end) {
        const char *c = memchr(p, ',', (size_t) (end - p));
        size_t k = c ? (size_t) (c - p) : (size_t) (end - p);
        if (k == w && strncmp(p, word, w) == 0)
            return true;
        p += k + 1;
    }
    return false;
}

/* True when the whitespace-separated list text holds word. */
static bool
word_in(const char *text, const char *word)
{
    size_t w = strlen(word);
    for (const char *p = text; p && *p;) {
        while (*p && isspace((unsigned char) *p))
            p++;
        size_t k = 0;
        while (p[k] && !isspace((unsigned char) p[k]))
            k++;
        if (k == w && strncmp(p, word, w) == 0)
            return true;
        p += k;
    }
    return false;
}

void
agent_cgroup_choose(const char *mounts, const char *v2_controllers, agent_cgroup_sys_t *sys)
{
    memset(sys, 0, sizeof *sys);
    bool v2_root = false;
    for (const char *line = mounts; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t) (nl - line) : strlen(line);
        char dev[128], dir[AGENT_CGROUP_PATH_MAX], type[32], opts[512];
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int) (n < sizeof buf - 1 ? n : sizeof buf - 1), line);
        line += n + (nl ? 1 : 0);
        if (sscanf(buf, "%127s %255s %31s %511s", dev, dir, type, opts) != 4 || strchr(dir, '\\'))
            continue;
        if (strcmp(type, "cgroup2") == 0 && strcmp(dir, CG_V2_ROOT) == 0)
            v2_root = true;
        if (strcmp(type, "cgroup") != 0)
            continue;
        bool cs = opt_has(opts, strlen(opts), "cpuset");
        bool ca = opt_has(opts, strlen(opts), "cpuacct");
        if (cs && !sys->cpuset[0])
            snprintf(sys->cpuset, sizeof sys->cpuset, "%s", dir);
        if (ca && !cs && !sys->cpuacct[0]) /* on the cpuset mount itself: nothing more to join */
            snprintf(sys->cpuacct, sizeof sys->cpuacct, "%s", dir);
    }
    if (v2_root && v2_controllers && word_in(v2_controllers, "cpuset")) {
        sys->version = 2;
        snprintf(sys->cpuset, sizeof sys->cpuset, "%s", CG_V2_ROOT);
        sys->cpuacct[0] = '\0';
        return;
    }
    if (sys->cpuset[0]) {
        sys->version = 1;
        return;
    }
    sys->cpuacct[0] = '\0';
    snprintf(sys->why, sizeof sys->why, "%s",
             v2_root ? "cgroup v2 at " CG_V2_ROOT " offers no cpuset controller and no cgroup v1 "
                       "cpuset hierarchy is mounted"
                     : "no cgroup v2 at " CG_V2_ROOT " and no cgroup v1 cpuset hierarchy mounted");
}

/* Writes text into an existing cgroupfs file.  0 or -1 (errno set). */
static int
write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int e = errno;
    close(fd);
    errno = e;
    return w == (ssize_t) n ? 0 : -1;
}

void
agent_cgroup_probe(agent_cgroup_sys_t *sys)
{
    /* /proc/self/mounts has no size; read it in pieces. */
    char *mounts = NULL;
    size_t len = 0, cap = 0;
    int fd = open("/proc/self/mounts", O_RDONLY | O_CLOEXEC);
    for (;;) {
        if (fd < 0)
            break;
        if (cap - len < 4096) {
            char *m = realloc(mounts, cap + 16384);
            if (!m)
                break;
            mounts = m;
            cap += 16384;
        }
        ssize_t k = read(fd, mounts + len, cap - len - 1);
        if (k <= 0)
            break;
        len += (size_t) k;
    }
    if (fd >= 0)
        close(fd);
    if (mounts)
        mounts[len] = '\0';
    char ctl[512];
    bool have_ctl = ferr_read_text(CG_V2_ROOT "/cgroup.controllers", ctl, sizeof ctl) == 0;
    agent_cgroup_choose(mounts ? mounts : "", have_ctl ? ctl : NULL, sys);
    if (sys->version == 2) {
        char sub[512] = "";
        ferr_read_text(CG_V2_ROOT "/cgroup.subtree_control", sub, sizeof sub);
        if (!word_in(sub, "cpuset") && write_text(CG_V2_ROOT "/cgroup.subtree_control", "+cpuset") != 0)
            agent_cgroup_choose(mounts ? mounts : "", NULL, sys); /* v1 or none */
    }
    free(mounts);
}

void
agent_cgroup_describe(const agent_cgroup_sys_t *sys, char *out, size_t len)
{
    if (sys->version == 2)
        snprintf(out, len, "v2");
    else if (sys->version == 1)
        snprintf(out, len, "v1");
    else
        snprintf(out, len, "none: %s", sys->why);
}

static bool
part_safe(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char) *s) && *s != '_' && *s != '.' && *s != '-')
            return false;
    return true;
}

int
agent_cgroup_name(char *out, size_t len, const char *testbed, int64_t run, const char *role)
{
    if (!out || len == 0)
        return -1;
    out[0] = '\0';
    if (!part_safe(testbed) || !part_safe(role) || run < 1)
        return -1;
    int n = snprintf(out, len, "cntb-%s-%" PRId64 "-%s", testbed, run, role);
    if (n < 0 || (size_t) n >= len) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* The hierarchy roots of sys: up to 2, "" entries skipped by callers. */
static int
roots(const agent_cgroup_sys_t *sys, const char *r[2])
{
    int n = 0;
    if (sys->version > 0 && sys->cpuset[0])
        r[n++] = sys->cpuset;
    if (sys->version == 1 && sys->cpuacct[0])
        r[n++] = sys->cpuacct;
    return n;
}

/* Removes one cgroup directory dir, killing its tasks on EBUSY.  0 or -1 with err. */
static int
remove_dir(const char *dir, int wait_ms, char *err, size_t len)
{
    char procs[AGENT_CGROUP_PATH_MAX + 32];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    for (int waited = 0;; waited += 10) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || waited >= wait_ms) {
            snprintf(err, len, "cgroup %s: rmdir: %s", dir, strerror(errno));
            return -1;
        }
        FILE *f = fopen(procs, "re");
        long pid;
        while (f && fscanf(f, "%ld", &pid) == 1)
            if (pid > 1)
                kill((pid_t) pid, SIGKILL);
        if (f)
            fclose(f);
        struct timespec ts = { 0, 10 * 1000000 };
        nanosleep(&ts, NULL);
    }
}

int
agent_cgroup_create(const agent_cgroup_sys_t *sys, const char *name, int cpu, char *err,
                    size_t len)
{
    const char *r[2];
    int n = roots(sys, r);
    char dir[AGENT_CGROUP_PATH_MAX + 80], file[AGENT_CGROUP_PATH_MAX + 120], val[256], e[64];
    if (n == 0) {
        snprintf(err, len, "no cgroups: %s", sys->why[0] ? sys->why : "not probed");
        return -1;
    }
    if (!part_safe(name) || strncmp(name, "cntb-", 5) != 0) {
        snprintf(err, len, "cgroup name %.64s: must be cntb-[A-Za-z0-9_.-]+", name ? name : "");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        snprintf(dir, sizeof dir, "%s/%s", r[i], name);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            snprintf(err, len, "cgroup %s: mkdir: %s", dir, strerror(errno));
            goto fail;
        }
        if (r[i] != sys->cpuset)
            continue;
        if (sys->version == 1) { /* v1 cpuset: no task may join an empty cpuset */
            snprintf(file, sizeof file, "%s/cpuset.mems", r[i]);
            if (ferr_read_text(file, val, sizeof val) != 0)
                val[0] = '\0';
            snprintf(file, sizeof file, "%s/cpuset.mems", dir);
            if (write_text(file, val) != 0) {
                snprintf(err, len, "cgroup %s: cpuset.mems %s: %s", dir, val, strerror(errno));
                goto fail;
            }
        }
        if (cpu >= 0)
            snprintf(val, sizeof val, "%d", cpu);
        else if (sys->version == 1) {
            snprintf(file, sizeof file, "%s/cpuset.cpus", r[i]);
            if (ferr_read_text(file, val, sizeof val) != 0)
                val[0] = '\0';
        } else
            continue; /* v2: an empty cpuset.cpus inherits the parent's */
        snprintf(file, sizeof file, "%s/cpuset.cpus", dir);
        if (write_text(file, val) != 0) {
            snprintf(err, len, "cgroup %s: cpuset.cpus %s: %s", dir, val, strerror(errno));
            goto fail;
        }
    }
    return 0;
fail:
    for (int i = 0; i < n; i++) {
        snprintf(dir, sizeof dir, "%s/%s", r[i], name);
        remove_dir(dir, 0, e, sizeof e);
    }
    return -1;
}

int
agent_cgroup_join(const agent_cgroup_sys_t *sys, const char *name, pid_t pid, char *err,
                  size_t len)
{
    const char *r[2];
    int n = roots(sys, r);
    char file[AGENT_CGROUP_PATH_MAX + 120], val[24];
    if (n == 0) {
        snprintf(err, len, "no cgroups: %s", sys->why[0] ? sys->why : "not probed");
        return -1;
    }
    snprintf(val, sizeof val, "%ld", (long) pid);
    for (int i = 0; i < n; i++) {
        snprintf(file, sizeof file, "%s/%s/cgroup.procs", r[i], name);
        if (write_text(file, val) != 0) {
            snprintf(err, len, "cgroup %s/%s: cannot add pid %ld: %s", r[i], name, (long) pid,
                     strerror(errno));
            return -1;
        }
    }
    return 0;
}

int
agent_cgroup_remove(const agent_cgroup_sys_t *sys, const char *name, int wait_ms, char *err,
                    size_t len)
{
    const char *r[2];
    int n = roots(sys, r), rc = 0;
    char dir[AGENT_CGROUP_PATH_MAX + 80];
    if (!part_safe(name) || strncmp(name, "cntb-", 5) != 0) {
        snprintf(err, len, "cgroup name %.64s: must be cntb-[A-Za-z0-9_.-]+", name ? name : "");
        return -1;
    }
    if (wait_ms < 0)
        wait_ms = 0;
    if (wait_ms > 10000)
        wait_ms = 10000;
    for (int i = 0; i < n; i++) {
        snprintf(dir, sizeof dir, "%s/%s", r[i], name);
        if (remove_dir(dir, wait_ms, err, len) != 0)
            rc = -1;
    }
    return rc;
}

int
agent_cgroup_remove_prefix(const agent_cgroup_sys_t *sys, const char *prefix, int wait_ms,
                           char *report, size_t rlen, char *err, size_t len)
{
    const char *r[2];
    int n = roots(sys, r), count = 0, rc = 0;
    char done[160][64]; /* names seen: 64 pairs' client and server cgroups fit */
    int ndone = 0;
    if (!prefix || strncmp(prefix, "cntb-", 5) != 0 || strlen(prefix) < 6) {
        snprintf(err, len, "cgroup prefix %.64s: must start with cntb-", prefix ? prefix : "");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        DIR *d = opendir(r[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || strlen(e->d_name) >= 64)
                continue;
            char dir[AGENT_CGROUP_PATH_MAX + 80];
            snprintf(dir, sizeof dir, "%s/%s", r[i], e->d_name);
            if (remove_dir(dir, wait_ms, err, len) != 0) {
                rc = -1;
                continue;
            }
            bool seen = false;
            for (int k = 0; k < ndone; k++)
                seen = seen || strcmp(done[k], e->d_name) == 0;
            if (seen)
                continue;
            if (ndone < 160)
                snprintf(done[ndone++], sizeof done[0], "%s", e->d_name);
            count++;
            if (report && rlen) {
                size_t used = strlen(report);
                snprintf(report + used, rlen - used, "%scgroup %s", used ? ", " : "", e->d_name);
            }
        }
        if (d)
            closedir(d);
    }
    return rc == 0 ? count : -1;
}

int
agent_cgroup_exists(const agent_cgroup_sys_t *sys, const char *name)
{
    const char *r[2];
    int n = roots(sys, r);
    char dir[AGENT_CGROUP_PATH_MAX + 80];
    struct stat st;
    for (int i = 0; i < n; i++) {
        snprintf(dir, sizeof dir, "%s/%s", r[i], name);
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return 1;
    }
    return 0;
}
