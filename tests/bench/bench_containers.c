/*
 * bench_containers.c — how fast cntb builds and removes bridge-mode
 * containers, against the same topology made by `ip` commands.
 *
 * Issue 3 ("Speed"): building containers is cntb's own expertise, so the
 * bridge kind must beat the shell-driven way (Mininet, testbed scripts: one
 * `ip` process per step) by at least 10x.  Both ways build, in one run and
 * alternating round by round so that a busy machine slows both alike:
 *
 *   a bridge cntb<run>-br with 198.19.S.1/24, up; then per container i
 *   a namespace cntb-<tb>-<run>-client<i> with lo up, a veth whose host end
 *   cntb<run>-c<i> is a port of the bridge and up, whose other end is the
 *   container's eth0, up, with 198.19.S.(2+2i)/24;
 *
 * and remove all of it.  cntb's way is the bridge kind itself (netkind
 * "bridge", setup() with pairs = N client containers, teardown()); the other
 * way is the sequence of iproute2 commands below, each started with
 * fork+execv of an argument vector (no shell).  This program is the only
 * place in cntb where `ip` runs: it is the yardstick, never a dependency.
 *
 * Everything happens in a private network namespace of this process
 * (unshare(CLONE_NEWNET) at start): the bridge, its address and the host
 * ends never touch the machine's namespace and vanish with the process;
 * only the named container namespaces (/run/netns) are global, and they are
 * removed after each round and on exit.
 *
 * Usage: bench_containers [--containers N] [--rounds R] [--ip PATH] [--cntb-only]
 * (--cntb-only skips the ip side, to profile cntb's alone; no ratio then)
 * Prints one line per round and way, the medians, and
 *   ratio ip/cntb: X.Xx (goal >= 10x)
 * Exit 0 after measuring (whatever the ratio: the machine is shared and the
 * number is reported, not asserted), 2 on bad arguments, 3 when not root or
 * `ip` is missing, 1 when a build or removal failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netkind.h"
#include "nl.h"

#define BENCH_MAX 64 /* NETKIND_PAIRS_MAX: the bridge kind's limit of pairs per run */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[64];
    int i;

    for (i = 0; i < n; i++)
        s[i] = v[i];
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static const char *ip_path = NULL;
static long ip_execs;

/* Runs ip_path with argv (NULL-terminated, argv[0] "ip"); 0 when it exits 0. */
static int run_ip(char *const argv[])
{
    pid_t pid;
    int status;

    ip_execs++;
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench_containers: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        execv(ip_path, argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_containers: failed:");
        for (int i = 0; argv[i]; i++)
            fprintf(stderr, " %s", argv[i]);
        fprintf(stderr, "\n");
        return -1;
    }
    return 0;
}

/* Runs `ip` with the NULL-terminated arguments after "ip"; 0 when it exits 0. */
static int ipv(const char *first, ...)
{
    char *av[24];
    va_list ap;
    int n = 0;

    av[n++] = (char *)"ip";
    av[n++] = (char *)first;
    va_start(ap, first);
    while (n < 23 && (av[n] = (char *)va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    av[n] = NULL;
    return run_ip(av);
}

#define IP(...)                                                                                  \
    do {                                                                                         \
        if (ipv(__VA_ARGS__, (const char *)NULL) < 0)                                            \
            return -1;                                                                           \
    } while (0)

/* Names and addresses of container i, as bridge.c makes them. */
static void names(const netkind_ctx_t *ctx, int i, char *ns, char *veth, char *cidr)
{
    char role[64], addr[16];

    netkind_pair_role(role, "client", i);
    netkind_netns_name(ns, ctx->testbed, ctx->run, role);
    if (i == 0)
        snprintf(veth, 32, "cntb%" PRId64 "-c", ctx->run);
    else
        snprintf(veth, 32, "cntb%" PRId64 "-c%d", ctx->run, i);
    netkind_addr(addr, ctx->run, 2 + 2 * i);
    snprintf(cidr, 32, "%s/24", addr);
}

static int ip_setup(const netkind_ctx_t *ctx, int n)
{
    char br[32], brcidr[32], addr[16], ns[64], veth[32], cidr[32];
    int i;

    snprintf(br, sizeof(br), "cntb%" PRId64 "-br", ctx->run);
    netkind_addr(addr, ctx->run, 1);
    snprintf(brcidr, sizeof(brcidr), "%s/24", addr);
    IP("link", "add", br, "type", "bridge");
    IP("addr", "add", brcidr, "dev", br);
    IP("link", "set", br, "up");
    for (i = 0; i < n; i++) {
        names(ctx, i, ns, veth, cidr);
        IP("netns", "add", ns);
        IP("-n", ns, "link", "set", "lo", "up");
        IP("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
        IP("link", "set", veth, "master", br, "up");
        IP("-n", ns, "addr", "add", cidr, "dev", "eth0");
        IP("-n", ns, "link", "set", "eth0", "up");
    }
    return 0;
}

static int ip_teardown(const netkind_ctx_t *ctx, int n)
{
    char br[32], ns[64], veth[32], cidr[32];
    int i;

    for (i = 0; i < n; i++) {
        names(ctx, i, ns, veth, cidr);
        IP("link", "del", veth);
    }
    snprintf(br, sizeof(br), "cntb%" PRId64 "-br", ctx->run);
    IP("link", "del", br);
    for (i = 0; i < n; i++) {
        names(ctx, i, ns, veth, cidr);
        IP("netns", "del", ns);
    }
    return 0;
}

/* Everything of the run gone: namespaces, links, addresses, routes. */
static int check_clean(const netkind_ctx_t *ctx, const char *way)
{
    char left[512];
    int n = netkind_leaks(ctx->testbed, ctx->run, left, sizeof(left));

    if (n != 0) {
        fprintf(stderr, "bench_containers: %s left %d objects behind: %s\n", way, n, left);
        return -1;
    }
    return 0;
}

static const char *find_ip(void)
{
    static const char *const cands[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
    size_t i;

    for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
        if (access(cands[i], X_OK) == 0)
            return cands[i];
    return NULL;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    const netkind_t *bridge = netkind_find("bridge");
    netkind_ctx_t *ctx = NULL;
    double t_cntb[32], t_ip[32], s_cntb[32], s_ip[32], t0, t1, t2;
    char err[NETKIND_ERR_MAX];
    int n = BENCH_MAX, rounds = 3, r, ret = 1;
    long execs_per_round = 0;
    bool cntb_only = false; /* for profiling cntb's side alone (perf, strace) */

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--containers") == 0 && i + 1 < argc) {
            if (parse_int(argv[++i], 1, BENCH_MAX, &n) < 0) {
                fprintf(stderr, "bench_containers: --containers: 1..%d\n", BENCH_MAX);
                return 2;
            }
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            if (parse_int(argv[++i], 1, 32, &rounds) < 0) {
                fprintf(stderr, "bench_containers: --rounds: 1..32\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--cntb-only") == 0) {
            cntb_only = true;
        } else if (strcmp(argv[i], "--ip") == 0 && i + 1 < argc) {
            ip_path = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: bench_containers [--containers N (1..%d, default %d)] "
                   "[--rounds R (1..32, default 3)] [--ip PATH] [--cntb-only]\n"
                   "Builds and removes N bridge-mode containers with cntb's bridge kind and "
                   "with ip(8) commands, alternating, R rounds each; prints the medians and "
                   "the ratio.\n",
                   BENCH_MAX, BENCH_MAX);
            return 0;
        } else {
            fprintf(stderr, "bench_containers: unknown argument %s (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (geteuid() != 0) {
        fprintf(stderr, "bench_containers: needs root (network namespaces)\n");
        return 3;
    }
    if (!ip_path)
        ip_path = find_ip();
    if (!ip_path || access(ip_path, X_OK) != 0) {
        fprintf(stderr, "bench_containers: no ip(8) program found (iproute2)\n");
        return 3;
    }
    if (!bridge) {
        fprintf(stderr, "bench_containers: the bridge kind is not registered\n");
        return 1;
    }
    /* A namespace of our own for the bridge and the host ends. */
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "bench_containers: unshare(CLONE_NEWNET): %s\n", strerror(errno));
        return 3;
    }
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return 1;
    ctx->run = 100000 + getpid() % 900000; /* cntb<run>-c63 stays within 15 bytes */
    snprintf(ctx->testbed, sizeof(ctx->testbed), "bc%d", (int)(getpid() % 100000));
    snprintf(ctx->placement, sizeof(ctx->placement), "same-host");
    ctx->has_client = true;
    ctx->pairs = n;
    printf("bench_containers: %d bridge-mode containers, %d rounds, alternating cntb / %s\n", n,
           rounds, ip_path);
    for (r = 0; r < rounds; r++) {
        /* cntb's bridge kind */
        t0 = now_ms();
        if (bridge->setup(ctx, err) < 0) {
            fprintf(stderr, "bench_containers: cntb setup: %s\n", err);
            goto out;
        }
        t1 = now_ms();
        if (bridge->teardown(ctx, err) < 0) {
            fprintf(stderr, "bench_containers: cntb teardown: %s\n", err);
            goto out;
        }
        t2 = now_ms();
        s_cntb[r] = t1 - t0;
        t_cntb[r] = t2 - t0;
        if (check_clean(ctx, "cntb") < 0)
            goto out;
        printf("round %d  cntb  setup %8.1f ms  teardown %8.1f ms  total %8.1f ms\n", r + 1,
               t1 - t0, t2 - t1, t2 - t0);
        fflush(stdout);
        if (cntb_only) {
            s_ip[r] = t_ip[r] = 0;
            continue;
        }
        /* the same with ip(8) */
        ip_execs = 0;
        t0 = now_ms();
        if (ip_setup(ctx, n) < 0)
            goto out;
        t1 = now_ms();
        if (ip_teardown(ctx, n) < 0)
            goto out;
        t2 = now_ms();
        execs_per_round = ip_execs;
        s_ip[r] = t1 - t0;
        t_ip[r] = t2 - t0;
        if (check_clean(ctx, "ip") < 0)
            goto out;
        printf("round %d  ip    setup %8.1f ms  teardown %8.1f ms  total %8.1f ms  (%ld ip runs)\n",
               r + 1, t1 - t0, t2 - t1, t2 - t0, execs_per_round);
        fflush(stdout);
    }
    if (cntb_only) {
        printf("median setup cntb %.1f ms, setup+teardown %.1f ms (no ratio: --cntb-only)\n",
               median(s_cntb, rounds), median(t_cntb, rounds));
        ret = 0;
        goto out;
    }
    printf("median setup        cntb %8.1f ms  ip %8.1f ms\n", median(s_cntb, rounds),
           median(s_ip, rounds));
    printf("median setup+teardown cntb %8.1f ms (%.2f ms/container)  ip %8.1f ms (%.2f ms/container)\n",
           median(t_cntb, rounds), median(t_cntb, rounds) / n, median(t_ip, rounds),
           median(t_ip, rounds) / n);
    printf("ratio ip/cntb: %.1fx setup+teardown, %.1fx setup (goal >= 10x)\n",
           median(t_ip, rounds) / median(t_cntb, rounds),
           median(s_ip, rounds) / median(s_cntb, rounds));
    ret = 0;
out:
    if (ret != 0) {
        /* Named namespaces are global: never leave ours behind. */
        bridge->teardown(ctx, err);
        for (int i = 0; i < n; i++) {
            char ns[64], veth[32], cidr[32];

            names(ctx, i, ns, veth, cidr);
            netns_delete(ns, err);
        }
    }
    free(ctx);
    return ret;
}
