/*
 * traffic_cpu.c — CPU accounting of a run.
 *
 * Host CPU comes from the first line of /proc/stat ("cpu  user nice system
 * idle iowait irq softirq steal ..." in USER_HZ ticks summed over all CPUs,
 * Documentation/filesystems/proc.rst): the deltas over the measured interval
 * give user (user + nice), system and softirq time.  /proc/stat is not
 * namespaced, so this is the whole host the engine runs on.  The engine's own
 * CPU comes from getrusage (process) and CLOCK_THREAD_CPUTIME_ID (one thread),
 * both in nanoseconds.  Every percentage here is of one core (100 = one core
 * busy for the whole interval), so that it compares with cpu_client_pct.
 */
#include "traffic.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int
traffic_cpu_parse(const char *text, struct traffic_cpu *out)
{
    unsigned long long v[8] = { 0 };
    int n;

    if (!text || strncmp(text, "cpu ", 4) != 0)
        return -1;
    n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]);
    if (n < 7)
        return -1;
    out->user = v[0] + v[1];
    out->system = v[2];
    out->idle = v[3] + v[4];
    out->irq = v[5];
    out->softirq = v[6];
    out->steal = n >= 8 ? v[7] : 0;
    return 0;
}

int
traffic_cpu_read(struct traffic_cpu *out)
{
    char line[512];
    FILE *f = fopen("/proc/stat", "re");
    int rc = -1;

    if (!f)
        return -1;
    if (fgets(line, sizeof line, f))
        rc = traffic_cpu_parse(line, out);
    fclose(f);
    return rc;
}

void
traffic_cpu_pct(const struct traffic_cpu *a, const struct traffic_cpu *b, double wall_s,
                long ticks_per_s, double *user_pct, double *system_pct, double *softirq_pct)
{
    double scale = (wall_s > 0 && ticks_per_s > 0) ? 100.0 / (wall_s * (double)ticks_per_s) : 0;

    *user_pct = (double)(b->user - a->user) * scale;
    *system_pct = (double)(b->system - a->system) * scale;
    *softirq_pct = (double)(b->softirq - a->softirq) * scale;
}

uint64_t
traffic_process_cpu_ns(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull
           + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

uint64_t
traffic_process_user_ns(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000ull;
}

uint64_t
traffic_thread_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
