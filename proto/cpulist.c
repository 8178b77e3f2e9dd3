/*
 * cpulist.c — CPU lists in the kernel's list format (see cpulist.h).
 *
 * Parsing walks the list element by element with strtol and refuses
 * anything but digits, one '-' per element and commas, so "1-", "-1",
 * "3-1", "1,,2" and "0x1" are errors rather than guesses.  Formatting
 * merges runs of consecutive CPUs into ranges, as /proc/PID/status
 * (Cpus_allowed_list) prints them.
 */
#include "cpulist.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One CPU number at *p: digits only, < CPU_SETSIZE; advances *p. */
static int cpu_number(const char **p, long *out)
{
    char *end;

    if (!isdigit((unsigned char)**p))
        return -1;
    errno = 0;
    *out = strtol(*p, &end, 10);
    if (errno || *out >= CPU_SETSIZE)
        return -1;
    *p = end;
    return 0;
}

int cpulist_parse(const char *list, const cpu_set_t *allowed, cpu_set_t *set, char *err,
                  size_t len)
{
    const char *p = list, *elem;
    char have[CPULIST_MAX];
    long a, b, c;

    CPU_ZERO(set);
    if (!list || !*list) {
        snprintf(err, len, "empty CPU list (expected e.g. \"1\", \"0-3\" or \"0,2\")");
        return -1;
    }
    for (;;) {
        elem = p;
        if (cpu_number(&p, &a) < 0)
            goto bad;
        b = a;
        if (*p == '-') {
            p++;
            if (cpu_number(&p, &b) < 0 || b < a)
                goto bad;
        }
        if (*p != ',' && *p != '\0')
            goto bad;
        for (c = a; c <= b; c++) {
            if (allowed && !CPU_ISSET(c, allowed)) {
                cpulist_format(allowed, have, sizeof have);
                snprintf(err, len, "CPU %ld is not one this process may use (%s)", c, have);
                return -1;
            }
            CPU_SET(c, set);
        }
        if (*p == '\0')
            return 0;
        p++;
    }
bad:
    snprintf(err, len,
             "bad CPU list element \"%.*s\" in \"%.64s\" (expected N or N-M, N <= M < %d, "
             "separated by commas)",
             (int)strcspn(elem, ","), elem, list, CPU_SETSIZE);
    return -1;
}

int cpulist_format(const cpu_set_t *set, char *out, size_t len)
{
    size_t used = 0;
    int c = 0, start, n;
    bool first = true;

    if (len == 0)
        return -1;
    out[0] = '\0';
    while (c < CPU_SETSIZE) {
        if (!CPU_ISSET(c, set)) {
            c++;
            continue;
        }
        start = c;
        while (c + 1 < CPU_SETSIZE && CPU_ISSET(c + 1, set))
            c++;
        if (start == c)
            n = snprintf(out + used, len - used, "%s%d", first ? "" : ",", start);
        else
            n = snprintf(out + used, len - used, "%s%d-%d", first ? "" : ",", start, c);
        if (n < 0 || (size_t)n >= len - used)
            return -1;
        used += (size_t)n;
        first = false;
        c++;
    }
    return 0;
}
