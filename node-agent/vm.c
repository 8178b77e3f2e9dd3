/*
 * vm.c — QEMU guests started by the host's agent (vm.h, docs/vm.md).
 *
 * How a start goes: validate the configuration (every string that reaches
 * QEMU's argument vector or the kernel command line is checked: names,
 * dotted quads, paths without commas or spaces); choose the accelerator
 * (vm_kvm_usable: a probe boot with a timeout, cached); open /dev/net/tun
 * and TUNSETIFF a tap "cntbvm-NAME" (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
 * kernel Documentation/networking/tuntap.rst) in the agent's namespace; set
 * it up, route the guest's /32 to it, turn on proxy ARP on the tap and on
 * the underlay link and IPv4 forwarding (RFC 1027 proxy ARP: the host
 * answers for the guest on the underlay and for the underlay towards the
 * guest), then fork + execv QEMU with the tap as descriptor 3
 * (`-netdev tap,fd=3`).  The agent closes its own copy: the tap lives
 * exactly as long as QEMU.  QEMU gets PR_SET_PDEATHSIG = SIGKILL, so an
 * agent that dies takes its guests with it.  The forwarding and proxy ARP
 * settings are restored to what they were when the last VM of the process
 * stops.
 *
 * Certificates (CURVE, docs/vm.md): when the configuration names the
 * guest's certificate, the three files are read here and appended to a copy
 * of the image's initrd as a small uncompressed cpio archive (cpio.c); the
 * kernel unpacks it after the image's own archive, so /etc/cntb/agent.cert
 * and its secret appear in the guest's root file system, where /init finds
 * them.  The copy, RUNDIR/vm-NAME.initrd, is mode 0600 and removed when the
 * VM stops (or its start fails); the secret never reaches QEMU's argument
 * vector or the kernel command line.
 *
 * The guest's console goes to RUNDIR/vm-NAME.console, QEMU's own messages
 * to RUNDIR/vm-NAME.qemu.log; their last lines are the reason stored when a
 * guest never says HELLO.
 *
 * RUNDIR/vm-NAME.pid records QEMU's pid, its start time (field 22 of
 * /proc/PID/stat, clock ticks since boot) and the parent host, for the
 * rare QEMU that outlives its agent in spite of PR_SET_PDEATHSIG (the
 * agent's thread that forked it is the "parent" the kernel watches; a
 * QEMU re-parented by a debugger or a subreaper is another case):
 * vm_clean_stale, called when an agent starts, kills such a QEMU only when
 * the pid's start time and its command line ("-name cntbvm-NAME") both
 * still match, so a reused pid is never killed.
 */
#include "vm.h"

#include "cpio.h"
#include "ferr.h"
#include "log.h"
#include "nl.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VM_QEMU_DEFAULT "/usr/bin/qemu-system-x86_64"
#define VM_STOP_MS 3000 /* SIGTERM grace before SIGKILL */
/* KVM probe boot limit: a KVM guest reaches our /init in about 1 s; staying
 * under the controller's 5 s agent-silence limit (CTL_AGENT_SILENCE_MS) keeps
 * the agent, which probes inside its loop, from being dropped meanwhile. */
#define VM_KVM_PROBE_MS 4000

struct vm {
    char name[16];
    char tap[IFNAMSIZ];
    char address[16];
    char accel[4];          /* "kvm" or "tcg" */
    pid_t pid;              /* -1 once reaped */
    int status;             /* wait status once reaped */
    char console[PATH_MAX]; /* serial console file */
    char qemulog[PATH_MAX]; /* QEMU's stdout and stderr */
    char initrd[PATH_MAX];  /* our initrd copy with the certificates, "" = none */
    char pidfile[PATH_MAX]; /* RUNDIR/vm-NAME.pid (vm_pidfile_parse), "" = none */
};

/* Process-wide: how many VMs run, and the sysctl values found before the first. */
static int vm_live;
static char vm_saved_fwd[8], vm_saved_parp[8], vm_saved_if[IFNAMSIZ];

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
vm_name_valid(const char *name)
{
    if (!name || !*name || strlen(name) > 8)
        return 0;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
           strlen(name);
}

/* A path QEMU's option parser and the kernel command line take as is: absolute, no , = or space. */
static bool
path_plain(const char *p)
{
    return p && p[0] == '/' && strlen(p) < PATH_MAX - 64 && !strpbrk(p, ", =\t\n\"'");
}

static bool
ipv4_valid(const char *s)
{
    struct in_addr a;
    return s && strlen(s) < 16 && inet_pton(AF_INET, s, &a) == 1;
}

/* An endpoint "tcp://A.B.C.D:PORT". */
static bool
endpoint_valid(const char *s)
{
    char host[16];
    int port;
    char tail;
    if (!s || strncmp(s, "tcp://", 6) != 0 || strlen(s) > 40)
        return false;
    const char *colon = strrchr(s + 6, ':');
    if (!colon || (size_t) (colon - (s + 6)) >= sizeof host)
        return false;
    memcpy(host, s + 6, (size_t) (colon - (s + 6)));
    host[colon - (s + 6)] = '\0';
    return ipv4_valid(host) && sscanf(colon + 1, "%d%c", &port, &tail) == 1 && port > 0 &&
           port < 65536;
}

/* Writes value to a /proc/sys file of the caller's network namespace; 0 or -1 with err. */
static int
sysctl_write(const char *path, const char *value, char *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t) strlen(value)) {
        snprintf(err, VM_ERR_MAX, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static void
sysctl_path(char *buf, size_t len, const char *ifname, const char *leaf)
{
    snprintf(buf, len, "/proc/sys/net/ipv4/conf/%s/%s", ifname, leaf);
}

/* Turns on forwarding and proxy ARP on the underlay link (saving the old values on the first VM). */
static int
host_routing_on(const char *underlay_if, char *err)
{
    char p[128];
    sysctl_path(p, sizeof p, underlay_if, "proxy_arp");
    if (vm_live == 0) {
        if (ferr_read_text("/proc/sys/net/ipv4/ip_forward", vm_saved_fwd, sizeof vm_saved_fwd) != 0 ||
            ferr_read_text(p, vm_saved_parp, sizeof vm_saved_parp) != 0) {
            snprintf(err, VM_ERR_MAX, "underlay link %s: cannot read its proxy_arp or ip_forward",
                     underlay_if);
            return -1;
        }
        snprintf(vm_saved_if, sizeof vm_saved_if, "%s", underlay_if);
    }
    if (sysctl_write("/proc/sys/net/ipv4/ip_forward", "1", err) != 0 ||
        sysctl_write(p, "1", err) != 0)
        return -1;
    return 0;
}

/* Restores forwarding and proxy ARP when no VM is left. */
static void
host_routing_release(void)
{
    char p[128], err[VM_ERR_MAX];
    if (vm_live > 0 || !vm_saved_if[0])
        return;
    sysctl_path(p, sizeof p, vm_saved_if, "proxy_arp");
    if (sysctl_write(p, vm_saved_parp, err) != 0 ||
        sysctl_write("/proc/sys/net/ipv4/ip_forward", vm_saved_fwd, err) != 0)
        log_warn("restoring proxy ARP and forwarding: %s", err);
    vm_saved_if[0] = '\0';
}

/* Creates the tap; returns its descriptor (close-on-exec) or -1 with err. */
static int
tap_create(const char *name, char *err)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, VM_ERR_MAX, "/dev/net/tun: %s", strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        snprintf(err, VM_ERR_MAX, "tap %s: TUNSETIFF: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * fork + execv of argv with stdin /dev/null, stdout and stderr appended to
 * logpath, and keep_fd (when >= 0) as descriptor 3.  Returns the pid or -1.
 */
static pid_t
spawn(char *const argv[], const char *logpath, int keep_fd, char *err)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, VM_ERR_MAX, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        int devnull = open("/dev/null", O_RDONLY);
        int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (devnull < 0 || log < 0)
            _exit(126);
        dup2(devnull, STDIN_FILENO);
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        if (keep_fd >= 0 && dup2(keep_fd, 3) != 3)
            _exit(126);
        close_range(keep_fd >= 0 ? 4 : 3, ~0U, 0);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execv(argv[0], argv);
        dprintf(STDERR_FILENO, "cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Waits up to ms for pid; then SIGKILL and reap.  Returns the wait status; *exited = in time. */
static int
wait_or_kill(pid_t pid, int ms, bool *exited)
{
    int status = -1;
    int64_t end = now_ms() + ms;
    *exited = false;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            *exited = true;
            return status;
        }
        if (w < 0)
            return -1;
        if (now_ms() >= end)
            break;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
}

static int
mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static void tail_file(const char *path, int lines, char *buf, size_t len, size_t *off);

#define VM_CERT_MAX 65536 /* a czmq certificate file is well under 1 KiB */

/* Reads a whole small file into buf (cap bytes); *n = its size; 0 or -1 with err. */
static int
read_small(const char *path, char *buf, size_t cap, size_t *n, char *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *n = 0;
    if (fd < 0) {
        snprintf(err, VM_ERR_MAX, "%s: %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, buf + *n, cap - *n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, VM_ERR_MAX, "%s: %s", path, strerror(errno));
            break;
        }
        if (r == 0) {
            close(fd);
            return 0;
        }
        *n += (size_t) r;
        if (*n == cap) {
            snprintf(err, VM_ERR_MAX, "%s: larger than %zu bytes", path, cap - 1);
            break;
        }
    }
    close(fd);
    return -1;
}

/*
 * Writes out = base (the image's initrd) + zeros up to a multiple of 4 bytes
 * (the kernel looks for an appended archive only at such offsets) + a cpio
 * archive with the guest's certificates.  0, or -1 with err (out removed).
 */
static int
initrd_with_keys(const vm_config_t *cfg, const char *base, const char *out, char *err)
{
    static char cert[VM_CERT_MAX], secret[VM_CERT_MAX], ctl[VM_CERT_MAX];
    char spath[PATH_MAX], buf[65536];
    size_t ncert, nsecret = 0, nctl, total = 0;
    int rc = -1, in = -1, fd = -1;
    FILE *f = NULL;
    snprintf(spath, sizeof spath, "%s_secret", cfg->cert);
    if (read_small(cfg->cert, cert, sizeof cert, &ncert, err) != 0 ||
        read_small(spath, secret, sizeof secret, &nsecret, err) != 0 ||
        read_small(cfg->controller_cert, ctl, sizeof ctl, &nctl, err) != 0)
        goto out;
    unlink(out);
    fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    in = open(base, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || in < 0) {
        snprintf(err, VM_ERR_MAX, "%s: %s", fd < 0 ? out : base, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r == 0)
            break;
        if (r < 0 || write(fd, buf, (size_t) r) != r) {
            snprintf(err, VM_ERR_MAX, "copying %s to %s: %s", base, out, strerror(errno));
            goto out;
        }
        total += (size_t) r;
    }
    static const char zeros[4];
    size_t pad = (4 - (total & 3)) & 3;
    if (pad && write(fd, zeros, pad) != (ssize_t) pad) {
        snprintf(err, VM_ERR_MAX, "%s: %s", out, strerror(errno));
        goto out;
    }
    f = fdopen(fd, "w");
    if (!f) {
        snprintf(err, VM_ERR_MAX, "%s: %s", out, strerror(errno));
        goto out;
    }
    fd = -1;
    /* The image has etc/cntb already; naming the directories keeps the archive self-contained. */
    cpio_entry_t e[] = {
        { "etc", S_IFDIR | 0755, NULL, 0 },
        { "etc/cntb", S_IFDIR | 0755, NULL, 0 },
        { "etc/cntb/agent.cert", S_IFREG | 0644, cert, ncert },
        { "etc/cntb/agent.cert_secret", S_IFREG | 0600, secret, nsecret },
        { "etc/cntb/controller.cert", S_IFREG | 0644, ctl, nctl },
    };
    char cerr[256];
    if (cpio_newc_write(f, e, (int) (sizeof e / sizeof e[0]), cerr, sizeof cerr) < 0) {
        snprintf(err, VM_ERR_MAX, "%s: %s", out, cerr);
        goto out;
    }
    rc = 0;
out:
    explicit_bzero(secret, sizeof secret);
    if (f && fclose(f) != 0 && rc == 0) {
        snprintf(err, VM_ERR_MAX, "%s: %s", out, strerror(errno));
        rc = -1;
    }
    if (fd >= 0)
        close(fd);
    if (in >= 0)
        close(in);
    if (rc != 0)
        unlink(out);
    return rc;
}

static struct {
    char image_dir[PATH_MAX];
    int usable; /* -1 unknown, 0, 1 */
    char why[VM_ERR_MAX];
} kvm_cache = { .usable = -1 };

int
vm_kvm_usable(const char *qemu, const char *image_dir, const char *rundir, int timeout_ms,
              char *why)
{
    char kernel[PATH_MAX], initrd[PATH_MAX], console[PATH_MAX], log[PATH_MAX];
    char ts[8];
    int usable = 0;
    if (kvm_cache.usable >= 0 && strcmp(kvm_cache.image_dir, image_dir) == 0) {
        snprintf(why, VM_ERR_MAX, "%s", kvm_cache.why);
        return kvm_cache.usable;
    }
    if (timeout_ms < 1 || timeout_ms > 60000 || !path_plain(image_dir) || !path_plain(rundir)) {
        snprintf(why, VM_ERR_MAX, "bad probe arguments");
        return 0;
    }
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, VM_ERR_MAX, "/dev/kvm: %s", strerror(errno));
        goto out;
    }
    close(fd);
    if (mkdir_p(rundir) != 0) {
        snprintf(why, VM_ERR_MAX, "%s: %s", rundir, strerror(errno));
        goto out;
    }
    snprintf(kernel, sizeof kernel, "%s/vmlinuz", image_dir);
    snprintf(initrd, sizeof initrd, "%s/initrd.img", image_dir);
    snprintf(console, sizeof console, "file:%s/kvm-probe.console", rundir);
    snprintf(log, sizeof log, "%s/kvm-probe.qemu.log", rundir);
    unlink(console + 5);
    unlink(log);
    char *argv[] = { (char *) (qemu ? qemu : VM_QEMU_DEFAULT), (char *) "-machine", (char *) "q35",
                     (char *) "-accel", (char *) "kvm", (char *) "-cpu", (char *) "host",
                     (char *) "-m", (char *) "128", (char *) "-smp", (char *) "1",
                     (char *) "-kernel", kernel, (char *) "-initrd", initrd, (char *) "-append",
                     (char *) "console=ttyS0 panic=-1 quiet cntb.probe=1", (char *) "-display",
                     (char *) "none", (char *) "-nodefaults", (char *) "-no-reboot",
                     (char *) "-serial", console, (char *) "-net", (char *) "none", NULL };
    int64_t t0 = now_ms();
    pid_t pid = spawn(argv, log, -1, why);
    if (pid < 0)
        goto out;
    bool exited;
    wait_or_kill(pid, timeout_ms, &exited);
    FILE *f = fopen(console + 5, "re");
    bool marker = false;
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "cntb-vm: probe ok"))
            marker = true;
    if (f)
        fclose(f);
    snprintf(ts, sizeof ts, "%d", (int) ((now_ms() - t0 + 500) / 1000));
    if (marker) {
        usable = 1;
        snprintf(why, VM_ERR_MAX, "KVM probe boot finished in %s s", ts);
    } else if (!exited)
        snprintf(why, VM_ERR_MAX, "KVM probe boot did not finish within %d ms: using TCG",
                 timeout_ms);
    else {
        char qe[400] = "";
        size_t off = 0;
        tail_file(log, 1, qe, sizeof qe, &off);
        snprintf(why, VM_ERR_MAX, "KVM probe boot exited without its marker (%s): using TCG",
                 qe[0] ? qe : "no message");
    }
    unlink(console + 5);
    unlink(log);
out:
    snprintf(kvm_cache.image_dir, sizeof kvm_cache.image_dir, "%s", image_dir);
    kvm_cache.usable = usable;
    snprintf(kvm_cache.why, sizeof kvm_cache.why, "%s", why);
    return usable;
}

int
vm_pidfile_parse(const char *text, pid_t *pid, unsigned long long *start, char *parent,
                 size_t plen)
{
    long p = 0;
    unsigned long long st = 0;
    char host[64] = "";
    int used = 0;
    if (!text || sscanf(text, "%ld %llu %63s%n", &p, &st, host, &used) != 3 || p < 2 ||
        p > 4194304 || st == 0 || !netns_name_valid(host))
        return -1;
    for (const char *t = text + used; *t; t++)
        if (*t != '\n' && *t != ' ')
            return -1;
    *pid = (pid_t) p;
    *start = st;
    if (parent && plen)
        snprintf(parent, plen, "%s", host);
    return 0;
}

int
vm_stat_starttime(const char *stat, unsigned long long *start)
{
    /* "PID (COMM) STATE ...": COMM may hold spaces and parentheses, so
     * fields are counted from the last ')'; starttime is field 22
     * (proc(5)), the 20th after it. */
    const char *p = stat ? strrchr(stat, ')') : NULL;
    if (!p)
        return -1;
    p++;
    for (int field = 3; field <= 22; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -1;
        if (field == 22) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(p, &end, 10);
            if (errno || end == p || v == 0)
                return -1;
            *start = v;
            return 0;
        }
        while (*p && *p != ' ')
            p++;
    }
    return -1;
}

int
vm_cmdline_matches(const char *cmdline, size_t len, const char *name)
{
    char tap[IFNAMSIZ + 8];
    snprintf(tap, sizeof tap, "cntbvm-%s", name ? name : "");
    const char *prev = NULL;
    for (size_t off = 0; off < len;) {
        const char *arg = cmdline + off;
        size_t k = strnlen(arg, len - off);
        if (prev && strcmp(prev, "-name") == 0 && k == strlen(tap) && memcmp(arg, tap, k) == 0)
            return 1;
        prev = k < len - off ? arg : NULL; /* an argument cut off by len ends the list */
        off += k + 1;
    }
    return 0;
}

/* Start time of a live process from /proc/PID/stat; 0 when it is gone. */
static unsigned long long
proc_starttime(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long long st = 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long) pid);
    if (ferr_read_text(path, buf, sizeof buf) != 0)
        return 0;
    return vm_stat_starttime(buf, &st) == 0 ? st : 0;
}

/* Writes RUNDIR/vm-NAME.pid for QEMU pid (tmp file + rename).  0 or -1. */
static int
pidfile_write(const char *path, pid_t pid, const char *parent)
{
    char tmp[PATH_MAX + 8], text[128];
    unsigned long long st = proc_starttime(pid);
    if (st == 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(text, sizeof text, "%ld %llu %s\n", (long) pid, st, parent);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, text, (size_t) n);
    close(fd);
    if (w != n || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int
vm_clean_stale(const char *rundir, const char *parent, char *report, size_t len)
{
    int killed = 0;
    DIR *d = rundir && parent ? opendir(rundir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        char name[16], path[PATH_MAX], text[256] = "", host[64], cmd[4096];
        if (n < 8 || strncmp(e->d_name, "vm-", 3) != 0 || strcmp(e->d_name + n - 4, ".pid") != 0 ||
            n - 7 >= sizeof name)
            continue;
        snprintf(name, sizeof name, "%.*s", (int) (n - 7), e->d_name + 3);
        if (!vm_name_valid(name))
            continue;
        snprintf(path, sizeof path, "%s/%s", rundir, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t k = read(fd, text, sizeof text - 1);
        close(fd);
        text[k > 0 ? k : 0] = '\0';
        pid_t pid;
        unsigned long long start;
        if (vm_pidfile_parse(text, &pid, &start, host, sizeof host) != 0) {
            log_warn("vm pid file %s: unreadable, removed", path);
            unlink(path);
            continue;
        }
        if (strcmp(host, parent) != 0)
            continue; /* another host's VM (hosts of an emulated testbed share /run) */
        bool alive = proc_starttime(pid) == start;
        if (alive) {
            char cpath[64];
            snprintf(cpath, sizeof cpath, "/proc/%ld/cmdline", (long) pid);
            fd = open(cpath, O_RDONLY | O_CLOEXEC);
            k = fd >= 0 ? read(fd, cmd, sizeof cmd) : -1;
            if (fd >= 0)
                close(fd);
            alive = k > 0 && vm_cmdline_matches(cmd, (size_t) k, name);
        }
        if (alive) {
            kill(pid, SIGKILL);
            /* Not our child: wait for it to vanish (or become a zombie of
             * someone else, whose start time still reads; 2 s is plenty). */
            for (int i = 0; i < 100 && proc_starttime(pid) == start; i++) {
                char st[64], buf[512];
                snprintf(st, sizeof st, "/proc/%ld/stat", (long) pid);
                int sfd = open(st, O_RDONLY | O_CLOEXEC);
                ssize_t r = sfd >= 0 ? read(sfd, buf, sizeof buf - 1) : -1;
                if (sfd >= 0)
                    close(sfd);
                buf[r > 0 ? r : 0] = '\0';
                const char *paren = strrchr(buf, ')');
                if (paren && paren[1] == ' ' && paren[2] == 'Z')
                    break;
                usleep(20000);
            }
            killed++;
            if (report && len) {
                size_t used = strlen(report);
                snprintf(report + used, len - used, "%svm %s (QEMU pid %ld)", used ? ", " : "",
                         name, (long) pid);
            }
        }
        /* What the start made: the tap (goes with QEMU), our initrd copy, the pid file. */
        char tap[IFNAMSIZ], nlerr[NL_ERR_MAX];
        snprintf(tap, sizeof tap, "cntbvm-%s", name);
        for (int i = 0; i < 50 && nl_link_exists(NULL, tap, nlerr) == 1; i++)
            usleep(20000);
        if (nl_link_exists(NULL, tap, nlerr) == 1)
            nl_link_del(NULL, tap, nlerr);
        snprintf(path, sizeof path, "%s/vm-%s.initrd", rundir, name);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s", rundir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    return killed;
}

vm_t *
vm_start(const vm_config_t *cfg, char *err)
{
    vm_t *self = NULL;
    int tapfd = -1;
    bool routing = false;
    char kernel[PATH_MAX], initrd[PATH_MAX], append[768], serial[PATH_MAX + 8];
    char mem[16], smp[16], mac[64], netdev[32], cidr[24], why[VM_ERR_MAX];
    struct in_addr a;

    if (!vm_name_valid(cfg->name) || !cfg->parent || !netns_name_valid(cfg->parent) ||
        strlen(cfg->parent) > 31) {
        snprintf(err, VM_ERR_MAX, "vm %.40s: name must be [A-Za-z0-9_.-]{1,8}, parent a host name",
                 cfg->name ? cfg->name : "(null)");
        return NULL;
    }
    if (!ipv4_valid(cfg->address) || cfg->prefix < 8 || cfg->prefix > 30 ||
        !endpoint_valid(cfg->controller)) {
        snprintf(err, VM_ERR_MAX, "vm %s: bad address %.20s/%d or controller %.64s", cfg->name,
                 cfg->address ? cfg->address : "(null)", cfg->prefix,
                 cfg->controller ? cfg->controller : "(null)");
        return NULL;
    }
    if (cfg->vcpus < 1 || cfg->vcpus > 64 || cfg->memory_mb < 128 || cfg->memory_mb > 65536) {
        snprintf(err, VM_ERR_MAX, "vm %s: vcpus %d (1..64) or memory %d MiB (128..65536) out of range",
                 cfg->name, cfg->vcpus, cfg->memory_mb);
        return NULL;
    }
    if (!path_plain(cfg->image_dir) || !path_plain(cfg->rundir) ||
        !nl_ifname_valid(cfg->underlay_if) || (cfg->qemu && !path_plain(cfg->qemu))) {
        snprintf(err, VM_ERR_MAX, "vm %s: image directory, run directory, QEMU path or underlay "
                 "link invalid (absolute paths without , = or spaces)", cfg->name);
        return NULL;
    }
    const char *accel = cfg->accel ? cfg->accel : "auto";
    if (strcmp(accel, "auto") != 0 && strcmp(accel, "kvm") != 0 && strcmp(accel, "tcg") != 0) {
        snprintf(err, VM_ERR_MAX, "vm %s: accelerator %.16s: must be auto, kvm or tcg", cfg->name,
                 accel);
        return NULL;
    }
    const char *qemu = cfg->qemu ? cfg->qemu : VM_QEMU_DEFAULT;
    snprintf(kernel, sizeof kernel, "%s/vmlinuz", cfg->image_dir);
    snprintf(initrd, sizeof initrd, "%s/initrd.img", cfg->image_dir);
    if (access(qemu, X_OK) != 0 || access(kernel, R_OK) != 0 || access(initrd, R_OK) != 0) {
        snprintf(err, VM_ERR_MAX, "vm %s: %s, %s or %s missing (install qemu-system-x86; run "
                 "testbed/vm/build-image)", cfg->name, qemu, kernel, initrd);
        return NULL;
    }
    if (cfg->cert && !cfg->controller_cert) {
        snprintf(err, VM_ERR_MAX, "vm %s: a certificate without the controller's", cfg->name);
        return NULL;
    }
    if (mkdir_p(cfg->rundir) != 0) {
        snprintf(err, VM_ERR_MAX, "vm %s: %s: %s", cfg->name, cfg->rundir, strerror(errno));
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, VM_ERR_MAX, "vm %s: out of memory", cfg->name);
        return NULL;
    }
    self->pid = -1;
    snprintf(self->name, sizeof self->name, "%s", cfg->name);
    snprintf(self->tap, sizeof self->tap, "cntbvm-%s", cfg->name);
    snprintf(self->address, sizeof self->address, "%s", cfg->address);
    snprintf(self->console, sizeof self->console, "%s/vm-%s.console", cfg->rundir, cfg->name);
    snprintf(self->qemulog, sizeof self->qemulog, "%s/vm-%s.qemu.log", cfg->rundir, cfg->name);
    unlink(self->console);
    unlink(self->qemulog);

    if (strcmp(accel, "tcg") == 0)
        snprintf(self->accel, sizeof self->accel, "tcg");
    else if (vm_kvm_usable(qemu, cfg->image_dir, cfg->rundir, VM_KVM_PROBE_MS, why) == 1)
        snprintf(self->accel, sizeof self->accel, "kvm");
    else if (strcmp(accel, "kvm") == 0) {
        snprintf(err, VM_ERR_MAX, "vm %s: KVM asked for but not usable: %s", cfg->name, why);
        goto fail;
    } else {
        log_info("vm %s: %s", cfg->name, why);
        snprintf(self->accel, sizeof self->accel, "tcg");
    }

    if (cfg->cert) {
        char kerr[VM_ERR_MAX];
        snprintf(self->initrd, sizeof self->initrd, "%s/vm-%s.initrd", cfg->rundir, cfg->name);
        if (initrd_with_keys(cfg, initrd, self->initrd, kerr) != 0) {
            snprintf(err, VM_ERR_MAX, "vm %s: its certificate (cntb deploy uploads it with the "
                     "parent's files): %.900s", cfg->name, kerr);
            self->initrd[0] = '\0';
            goto fail;
        }
    }

    tapfd = tap_create(self->tap, err);
    if (tapfd < 0)
        goto fail;
    char nlerr[NL_ERR_MAX], p[128];
    snprintf(cidr, sizeof cidr, "%s/32", cfg->address);
    if (nl_link_up(NULL, self->tap, nlerr) != 0 || nl_route_add(NULL, cidr, NULL, self->tap, nlerr) != 0) {
        snprintf(err, VM_ERR_MAX, "vm %s: tap %s: %s", cfg->name, self->tap, nlerr);
        goto fail;
    }
    if (host_routing_on(cfg->underlay_if, err) != 0)
        goto fail;
    routing = true;
    vm_live++;
    sysctl_path(p, sizeof p, self->tap, "proxy_arp");
    if (sysctl_write(p, "1", err) != 0)
        goto fail;

    inet_pton(AF_INET, cfg->address, &a);
    const uint8_t *b = (const uint8_t *) &a;
    /* 52:54:00 is QEMU's OUI; the rest is the address, so each guest's MAC is unique on its subnet. */
    snprintf(mac, sizeof mac, "virtio-net-pci,netdev=n0,mac=52:54:00:%02x:%02x:%02x", b[1], b[2],
             b[3]);
    snprintf(mem, sizeof mem, "%d", cfg->memory_mb);
    snprintf(smp, sizeof smp, "%d", cfg->vcpus);
    snprintf(netdev, sizeof netdev, "tap,id=n0,fd=3");
    snprintf(serial, sizeof serial, "file:%s", self->console);
    snprintf(append, sizeof append,
             "console=ttyS0 panic=-1 quiet cntb.addr=%s/%d cntb.ctl=%s cntb.host=%s "
             "cntb.parent=%s cntb.accel=%s cntb.vcpus=%d cntb.mem=%d",
             cfg->address, cfg->prefix, cfg->controller, cfg->name, cfg->parent, self->accel,
             cfg->vcpus, cfg->memory_mb);
    char *argv[] = { (char *) qemu, (char *) "-name", self->tap, (char *) "-machine",
                     (char *) "q35", (char *) "-accel", self->accel, (char *) "-cpu",
                     (char *) (strcmp(self->accel, "kvm") == 0 ? "host" : "max"), (char *) "-m",
                     mem, (char *) "-smp", smp, (char *) "-kernel", kernel, (char *) "-initrd",
                     self->initrd[0] ? self->initrd : initrd, (char *) "-append", append,
                     (char *) "-display", (char *) "none",
                     (char *) "-nodefaults", (char *) "-no-reboot", (char *) "-serial", serial,
                     (char *) "-netdev", netdev, (char *) "-device", mac, NULL };
    self->pid = spawn(argv, self->qemulog, tapfd, err);
    if (self->pid < 0)
        goto fail;
    close(tapfd); /* QEMU holds it now: the tap goes when QEMU goes */
    snprintf(self->pidfile, sizeof self->pidfile, "%s/vm-%s.pid", cfg->rundir, cfg->name);
    if (pidfile_write(self->pidfile, self->pid, cfg->parent) != 0) {
        log_warn("vm %s: cannot write %s: %s", self->name, self->pidfile, strerror(errno));
        self->pidfile[0] = '\0';
    }
    log_info("vm %s: QEMU pid %d, %s, %d vCPU, %d MiB, tap %s, address %s", self->name,
             (int) self->pid, self->accel, cfg->vcpus, cfg->memory_mb, self->tap, cfg->address);
    return self;
fail:
    if (tapfd >= 0)
        close(tapfd);
    if (routing) {
        vm_live--;
        host_routing_release();
    }
    if (self->initrd[0])
        unlink(self->initrd);
    free(self);
    return NULL;
}

bool
vm_running(vm_t *self, int *status)
{
    if (!self || self->pid <= 0) {
        if (self && status)
            *status = self->status;
        return false;
    }
    int st;
    pid_t w = waitpid(self->pid, &st, WNOHANG);
    if (w == 0)
        return true;
    self->status = w == self->pid ? st : -1;
    self->pid = -1;
    if (status)
        *status = self->status;
    return false;
}

const char *
vm_accel(const vm_t *self)
{
    return self ? self->accel : "?";
}

pid_t
vm_pid(const vm_t *self)
{
    return self ? self->pid : -1;
}

const char *
vm_tap(const vm_t *self)
{
    return self ? self->tap : "";
}

/* Appends the last `lines` printable lines of file path to buf (at *off), joined by " | ". */
static void
tail_file(const char *path, int lines, char *buf, size_t len, size_t *off)
{
    char data[16384];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t) sizeof data - 1 ? size - (off_t) sizeof data + 1 : 0;
    ssize_t n = pread(fd, data, sizeof data - 1, from);
    close(fd);
    if (n <= 0)
        return;
    data[n] = '\0';
    /* Clean: drop escape sequences (SeaBIOS clears the screen) and control bytes. */
    char *w = data;
    for (char *r = data; *r; r++) {
        if (*r == 0x1b) {
            r++;
            if (*r == '[')
                while (r[1] && !((r[1] >= '@' && r[1] <= '~')))
                    r++;
            if (*r && r[1])
                r++;
            continue;
        }
        if (*r == '\n' || ((unsigned char) *r >= 0x20 && *r != 0x7f))
            *w++ = *r;
    }
    *w = '\0';
    char *starts[100];
    int count = 0;
    for (char *s = strtok(data, "\n"); s; s = strtok(NULL, "\n")) {
        while (*s == ' ')
            s++;
        if (!*s)
            continue;
        if (count == lines) {
            memmove(starts, starts + 1, sizeof starts[0] * (size_t) (lines - 1));
            count--;
        }
        starts[count++] = s;
    }
    for (int i = 0; i < count && *off + 1 < len; i++) {
        int k = snprintf(buf + *off, len - *off, "%s%s", *off ? " | " : "", starts[i]);
        if (k < 0)
            break;
        *off += (size_t) k;
        if (*off >= len)
            *off = len - 1;
    }
}

size_t
vm_console_tail(const vm_t *self, int lines, char *buf, size_t len)
{
    size_t off = 0;
    if (!buf || len == 0)
        return 0;
    buf[0] = '\0';
    if (!self)
        return 0;
    if (lines < 1)
        lines = 1;
    if (lines > 100)
        lines = 100;
    tail_file(self->console, lines, buf, len, &off);
    tail_file(self->qemulog, 3, buf, len, &off);
    return off;
}

int
vm_stop(vm_t **self_p, char *console, size_t len)
{
    if (!self_p || !*self_p) {
        if (console && len)
            console[0] = '\0';
        return -1;
    }
    vm_t *self = *self_p;
    int status = -1;
    if (self->pid > 0) {
        bool exited;
        kill(self->pid, SIGTERM);
        status = wait_or_kill(self->pid, VM_STOP_MS, &exited);
        self->pid = -1;
    } else
        status = self->status;
    if (console && len)
        vm_console_tail(self, 12, console, len);
    /* The tap went with QEMU's descriptor; a leftover (QEMU not yet gone) is removed. */
    char nlerr[NL_ERR_MAX];
    for (int i = 0; i < 50 && nl_link_exists(NULL, self->tap, nlerr) == 1; i++)
        usleep(20000);
    if (nl_link_exists(NULL, self->tap, nlerr) == 1)
        nl_link_del(NULL, self->tap, nlerr);
    vm_live--;
    host_routing_release();
    if (self->initrd[0])
        unlink(self->initrd);
    if (self->pidfile[0])
        unlink(self->pidfile);
    log_info("vm %s stopped (status %d)", self->name, status);
    free(self);
    *self_p = NULL;
    return status;
}
