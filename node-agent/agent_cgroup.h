/*
 * agent_cgroup.h — one cgroup per container process: the traffic engine a
 * container runs goes into cgroup "cntb-<testbed>-<run>-<role>" (role as
 * netkind_pair_role: client, server, client1, ...), so that its CPU is
 * accounted and, with cpu_pinning, confined by the kernel (cpuset) as well
 * as by sched_setaffinity(2).
 *
 * Which hierarchy: cgroup v2 when /sys/fs/cgroup itself is a cgroup2 mount
 * whose root offers the cpuset controller (kernel
 * Documentation/admin-guide/cgroup-v2.rst); otherwise the cgroup v1 cpuset
 * hierarchy plus, when mounted, the cpuacct one
 * (Documentation/admin-guide/cgroup-v1/cpusets.rst, cpuacct.rst), wherever
 * /proc/self/mounts says they are; otherwise none — the agent goes on
 * without and says so in the run's result (applied.cgroup) and its log.
 * The cgroups are made directly below each hierarchy's root, through plain
 * mkdir/open/write/rmdir on cgroupfs.
 */
#ifndef CNTB_AGENT_CGROUP_H
#define CNTB_AGENT_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_CGROUP_PATH_MAX 256
#define AGENT_CGROUP_ERR_MAX 256

/* Where the agent's cgroups go: the outcome of agent_cgroup_probe. */
typedef struct {
    int version;                          /* 2, 1, or 0 = no cgroup support */
    char cpuset[AGENT_CGROUP_PATH_MAX];   /* v2: the unified root; v1: the cpuset root */
    char cpuacct[AGENT_CGROUP_PATH_MAX];  /* v1: the cpuacct root, "" = not mounted (or same
                                             mount as cpuset); v2: "" */
    char why[AGENT_CGROUP_ERR_MAX];       /* version 0: why not (one line) */
} agent_cgroup_sys_t;

/*
 * Pure part of the probe: chooses the hierarchies from the text of
 * /proc/self/mounts (mounts) and, when /sys/fs/cgroup is a cgroup2 mount,
 * the text of its cgroup.controllers (v2_controllers, NULL = unreadable).
 * v2 when /sys/fs/cgroup is cgroup2 and v2_controllers lists "cpuset";
 * else v1 when a cgroup (v1) mount has the option "cpuset" (its cpuacct
 * companion: a v1 mount with option "cpuacct", unless it is the same
 * mount); else version 0 with the reason.  Mount points containing a
 * backslash (escaped spaces) are not used.  Never fails.
 */
void agent_cgroup_choose(const char *mounts, const char *v2_controllers,
                         agent_cgroup_sys_t *sys);

/*
 * Probes this machine (reads /proc/self/mounts and, for v2,
 * /sys/fs/cgroup/cgroup.controllers; with v2 it turns cpuset on in the
 * root's cgroup.subtree_control, which children need; if that fails, v1 or
 * none).  Fills *sys; never fails (version 0 + why when nothing fits).
 */
void agent_cgroup_probe(agent_cgroup_sys_t *sys);

/* "v2", "v1" or "none: WHY" into out (len bytes): applied.cgroup of a result. */
void agent_cgroup_describe(const agent_cgroup_sys_t *sys, char *out, size_t len);

/*
 * The cgroup name "cntb-<testbed>-<run>-<role>" into out (len bytes).
 * 0, or -1 when it does not fit or a part is empty/unsafe (testbed and role
 * must be [A-Za-z0-9_.-]+, run >= 1).
 */
int agent_cgroup_name(char *out, size_t len, const char *testbed, int64_t run, const char *role);

/*
 * Creates cgroup `name` in each hierarchy of sys (an existing one is
 * reused).  cpu >= 0 writes that core into cpuset.cpus (cpu_pinning); -1
 * gives the cgroup the root's cores.  v1's cpuset needs cpuset.cpus and
 * cpuset.mems before a task may join: both are copied from the root (mems
 * always, cpus when not pinned).  0, or -1 with err (len bytes); on failure
 * what was made is removed again.  version 0: -1 with sys->why.
 */
int agent_cgroup_create(const agent_cgroup_sys_t *sys, const char *name, int cpu, char *err,
                        size_t len);

/* Moves process pid into cgroup `name` of each hierarchy (cgroup.procs).  0 or -1 with err. */
int agent_cgroup_join(const agent_cgroup_sys_t *sys, const char *name, pid_t pid, char *err,
                      size_t len);

/*
 * Removes cgroup `name` from each hierarchy.  rmdir(2) fails with EBUSY
 * while a task is in it: then every process listed in its cgroup.procs gets
 * SIGKILL and rmdir is retried every 10 ms for up to wait_ms (0..10000).
 * A cgroup that does not exist is not an error.  0, or -1 with err.
 */
int agent_cgroup_remove(const agent_cgroup_sys_t *sys, const char *name, int wait_ms, char *err,
                        size_t len);

/*
 * Removes (as agent_cgroup_remove) every cgroup whose name starts with
 * prefix, in every hierarchy of sys.  Appends the names removed to report
 * ("cgroup NAME", comma-separated; report may be NULL) and returns how many
 * distinct names were removed, or -1 when one could not be (err).
 */
int agent_cgroup_remove_prefix(const agent_cgroup_sys_t *sys, const char *prefix, int wait_ms,
                               char *report, size_t rlen, char *err, size_t len);

/* 1 when cgroup `name` exists in some hierarchy of sys, else 0. */
int agent_cgroup_exists(const agent_cgroup_sys_t *sys, const char *name);

#endif
