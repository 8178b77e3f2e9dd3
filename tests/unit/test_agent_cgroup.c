/*
 * test_agent_cgroup.c — Check suite of node-agent/agent_cgroup.c: choosing
 * the hierarchy from /proc/self/mounts texts (v2, hybrid v1, combined
 * cpu,cpuacct, none), cgroup names, and — as root on a machine with
 * cgroups — a real cgroup: created with the pinned core in cpuset.cpus, a
 * child process moved in, removal killing the task (EBUSY) and leaving
 * nothing.  Each test that touches cgroupfs uses a name with its own pid.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_cgroup.h"

/* This development machine: v1 hierarchies plus an unused cgroup2 at .../unified. */
static const char *hybrid =
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
    "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
    "cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0\n"
    "cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n"
    "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";

START_TEST(test_choose)
{
    agent_cgroup_sys_t s;
    agent_cgroup_choose(hybrid, NULL, &s);
    ck_assert_int_eq(s.version, 1);
    ck_assert_str_eq(s.cpuset, "/sys/fs/cgroup/cpuset");
    ck_assert_str_eq(s.cpuacct, "/sys/fs/cgroup/cpuacct");

    /* Debian 12 default: unified at /sys/fs/cgroup with cpuset offered. */
    const char *unified = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n";
    agent_cgroup_choose(unified, "cpuset cpu io memory hugetlb pids rdma misc\n", &s);
    ck_assert_int_eq(s.version, 2);
    ck_assert_str_eq(s.cpuset, "/sys/fs/cgroup");
    ck_assert_str_eq(s.cpuacct, "");
    /* ... without cpuset offered ("cpusetx" is not "cpuset"), and no v1: none, with why. */
    agent_cgroup_choose(unified, "cpu io memory cpusetx", &s);
    ck_assert_int_eq(s.version, 0);
    ck_assert_msg(strstr(s.why, "no cpuset controller") != NULL, "%s", s.why);
    char d[300];
    agent_cgroup_describe(&s, d, sizeof d);
    ck_assert_int_eq(strncmp(d, "none: cgroup v2 at /sys/fs/cgroup", 33), 0);

    /* cpu,cpuacct combined; cpuset and cpuacct on one mount: no second hierarchy. */
    agent_cgroup_choose("cgroup /c/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n"
                        "cgroup /c/cpuset cgroup rw,relatime,cpuset 0 0\n", NULL, &s);
    ck_assert_int_eq(s.version, 1);
    ck_assert_str_eq(s.cpuset, "/c/cpuset");
    ck_assert_str_eq(s.cpuacct, "/c/cpu,cpuacct");
    agent_cgroup_choose("cgroup /c/both cgroup rw,cpuset,cpuacct 0 0\n", NULL, &s);
    ck_assert_int_eq(s.version, 1);
    ck_assert_str_eq(s.cpuset, "/c/both");
    ck_assert_str_eq(s.cpuacct, "");
    agent_cgroup_describe(&s, d, sizeof d);
    ck_assert_str_eq(d, "v1");

    /* Nothing, an escaped mount point, garbage lines. */
    agent_cgroup_choose("", NULL, &s);
    ck_assert_int_eq(s.version, 0);
    ck_assert_str_eq(s.why, "no cgroup v2 at /sys/fs/cgroup and no cgroup v1 cpuset hierarchy mounted");
    agent_cgroup_choose("cgroup /a\\040b cgroup rw,cpuset 0 0\nshort line\n\n", NULL, &s);
    ck_assert_int_eq(s.version, 0);
    /* A cgroup2 elsewhere than /sys/fs/cgroup is not v2's root. */
    agent_cgroup_choose("cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n", "cpuset", &s);
    ck_assert_int_eq(s.version, 0);
}
END_TEST

START_TEST(test_name)
{
    char n[64];
    ck_assert_int_eq(agent_cgroup_name(n, sizeof n, "f123", 42, "client"), 0);
    ck_assert_str_eq(n, "cntb-f123-42-client");
    ck_assert_int_eq(agent_cgroup_name(n, sizeof n, "lab", 7, "server63"), 0);
    ck_assert_str_eq(n, "cntb-lab-7-server63");
    ck_assert_int_eq(agent_cgroup_name(n, sizeof n, "a/b", 1, "client"), -1);
    ck_assert_str_eq(n, "");
    ck_assert_int_eq(agent_cgroup_name(n, sizeof n, "lab", 0, "client"), -1);
    ck_assert_int_eq(agent_cgroup_name(n, sizeof n, "lab", 1, ""), -1);
    ck_assert_int_eq(agent_cgroup_name(n, sizeof n, "lab", 1, "../x"), -1);
    ck_assert_int_eq(agent_cgroup_name(n, 12, "lab", 123456, "client"), -1); /* does not fit */
    agent_cgroup_sys_t none = { 0 };
    char err[AGENT_CGROUP_ERR_MAX];
    snprintf(none.why, sizeof none.why, "nothing mounted");
    ck_assert_int_eq(agent_cgroup_create(&none, "cntb-x-1-client", -1, err, sizeof err), -1);
    ck_assert_str_eq(err, "no cgroups: nothing mounted");
    ck_assert_int_eq(agent_cgroup_remove(&none, "cntb-x-1-client", 0, err, sizeof err), 0);
}
END_TEST

static int
read_int_file(const char *path)
{
    char buf[64] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    return buf[0] ? atoi(buf) : -2;
}

START_TEST(test_real)
{
    agent_cgroup_sys_t s;
    agent_cgroup_probe(&s);
    if (geteuid() != 0 || s.version == 0)
        return; /* needs root and a cgroup hierarchy */
    char name[64], dir[400], err[AGENT_CGROUP_ERR_MAX], report[256] = "";
    snprintf(name, sizeof name, "cntb-ut%d-5-client", (int) (getpid() % 100000));
    ck_assert_int_eq(agent_cgroup_create(&s, name, 0, err, sizeof err), 0);
    ck_assert_int_eq(agent_cgroup_exists(&s, name), 1);
    snprintf(dir, sizeof dir, "%s/%s/cpuset.cpus", s.cpuset, name);
    ck_assert_int_eq(read_int_file(dir), 0); /* pinned to core 0 */
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    ck_assert_int_gt(child, 0);
    ck_assert_int_eq(agent_cgroup_join(&s, name, child, err, sizeof err), 0);
    snprintf(dir, sizeof dir, "%s/%s/cgroup.procs", s.cpuset, name);
    ck_assert_int_eq(read_int_file(dir), (int) child);
    if (s.cpuacct[0]) {
        snprintf(dir, sizeof dir, "%s/%s/cgroup.procs", s.cpuacct, name);
        ck_assert_int_eq(read_int_file(dir), (int) child);
    }
    /* A task inside: rmdir says EBUSY, so the task is killed and rmdir retried.
     * The killed child is our zombie until reaped: reap it meanwhile. */
    pid_t reaper = fork();
    if (reaper == 0) {
        agent_cgroup_sys_t s2 = s;
        char e2[AGENT_CGROUP_ERR_MAX], rep[256] = "", pre[64];
        snprintf(pre, sizeof pre, "%.*s", (int) (strlen(name) - 6), name); /* ...-5- + client */
        int n = agent_cgroup_remove_prefix(&s2, pre, 3000, rep, sizeof rep, e2, sizeof e2);
        _exit(n == 1 ? 0 : 1);
    }
    int st;
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_int_eq(waitpid(reaper, &st, 0), reaper);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "remove_prefix failed");
    ck_assert_int_eq(agent_cgroup_exists(&s, name), 0);
    /* Gone: removing again is fine; unpinned create copies the root's cores. */
    ck_assert_int_eq(agent_cgroup_remove(&s, name, 0, err, sizeof err), 0);
    ck_assert_int_eq(agent_cgroup_create(&s, name, -1, err, sizeof err), 0);
    ck_assert_int_eq(agent_cgroup_remove_prefix(&s, name, 0, report, sizeof report, err,
                                                sizeof err), 1);
    char want[128];
    snprintf(want, sizeof want, "cgroup %s", name);
    ck_assert_str_eq(report, want);
    ck_assert_int_eq(agent_cgroup_exists(&s, name), 0);
    ck_assert_int_eq(agent_cgroup_remove_prefix(&s, "cntb", 0, NULL, 0, err, sizeof err), -1);
}
END_TEST

static Suite *
agent_cgroup_suite(void)
{
    Suite *s = suite_create("agent_cgroup");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_choose);
    tcase_add_test(tc, test_name);
    tcase_add_test(tc, test_real);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(agent_cgroup_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
