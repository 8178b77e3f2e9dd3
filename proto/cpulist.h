/*
 * cpulist.h — CPU lists in the kernel's list format (cpuset(7), "List
 * format"): "0", "1-3", "0,2-3".  Used by `cntb testbed emulate --cpus`
 * (the cores an emulated testbed's hosts may use) and by the agent's
 * metadata (cpu.allowed: the cores it may use, sched_getaffinity(2)).
 */
#ifndef CNTB_CPULIST_H
#define CNTB_CPULIST_H

#include <sched.h>
#include <stddef.h>

/* Room for any list of CPU_SETSIZE (1024) CPUs as cpulist_format writes it. */
#define CPULIST_MAX 4096

/*
 * Parses `list` (comma-separated CPU numbers and ascending ranges "a-b",
 * no spaces, at least one CPU, each < CPU_SETSIZE) into *set.  With
 * `allowed` non-NULL every CPU must also be in it.  Returns 0, or -1 with a
 * one-line reason in err (`len` bytes) naming the bad element, e.g.
 * "CPU 7 is not one this process may use (0-1)".
 */
int cpulist_parse(const char *list, const cpu_set_t *allowed, cpu_set_t *set, char *err,
                  size_t len);

/*
 * Formats `set` as a list with ranges merged, lowest first ("0-1,3");
 * "" for an empty set.  out holds `len` bytes (CPULIST_MAX is enough).
 * 0, or -1 when out is too small (out then holds a truncated list).
 */
int cpulist_format(const cpu_set_t *set, char *out, size_t len);

#endif
