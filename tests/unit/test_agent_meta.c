/*
 * test_agent_meta.c — Check suite for node-agent/agent_meta.c: the snapshot
 * carries every documented field with the values the kernel reports
 * (uname, sysconf, /proc/sys), the loopback device's MTU through
 * SIOCGIFMTU, and the dpkg status parser reads only installed packages.
 */
#include "agent_meta.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <sched.h>

#include "cpulist.h"

START_TEST(test_snapshot_fields)
{
    struct utsname u;
    json_t *m = agent_meta_snapshot("lo"), *ul;
    char buf[64] = "";
    FILE *f;

    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(uname(&u), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "kernel"), "release")),
                     u.release);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "cpu"), "cores")),
                     sysconf(_SC_NPROCESSORS_ONLN));
    {
        cpu_set_t set;
        char list[CPULIST_MAX];

        ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
        ck_assert_int_eq(cpulist_format(&set, list, sizeof list), 0);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "cpu"), "allowed")),
                         list);
        /* narrowed to one CPU, the snapshot says so */
        CPU_ZERO(&set);
        CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &set);
        if (sched_setaffinity(0, sizeof set, &set) == 0) {
            json_t *m1 = agent_meta_snapshot("lo");

            ck_assert_int_eq(cpulist_format(&set, list, sizeof list), 0);
            ck_assert_str_eq(
                json_string_value(json_object_get(json_object_get(m1, "cpu"), "allowed")), list);
            json_decref(m1);
        }
    }
    ck_assert(json_integer_value(json_object_get(m, "memory_bytes")) > 0);
    ul = json_object_get(m, "underlay");
    ck_assert_str_eq(json_string_value(json_object_get(ul, "name")), "lo");
    ck_assert_int_eq(json_integer_value(json_object_get(ul, "mtu")), 65536);
    ck_assert(json_is_object(json_object_get(ul, "offloads")));
    ck_assert_ptr_nonnull(json_object_get(json_object_get(ul, "offloads"), "tso"));
    ck_assert_ptr_nonnull(json_object_get(ul, "qdisc"));
    f = fopen("/proc/sys/net/ipv4/tcp_congestion_control", "r");
    if (f) {
        ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
        fclose(f);
        buf[strcspn(buf, "\n")] = '\0';
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "sysctl"),
                                                           "net.ipv4.tcp_congestion_control")),
                         buf);
    }
    ck_assert_ptr_nonnull(json_object_get(json_object_get(m, "versions"), "qemu"));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "cntb"), "version")),
                     "0.1");
    json_decref(m);

    /* A device that does not exist: fields present, values null. */
    m = agent_meta_snapshot("cntbnosuch0");
    ul = json_object_get(m, "underlay");
    ck_assert(json_is_null(json_object_get(ul, "mtu")));
    ck_assert(json_is_null(json_object_get(ul, "driver")));
    ck_assert(json_is_null(json_object_get(json_object_get(ul, "offloads"), "gro")));
    json_decref(m);
}
END_TEST

START_TEST(test_dpkg_versions)
{
    static const char *const pkgs[] = { "iperf3", "bird2", "qemu-system-x86" };
    static const char *const keys[] = { "iperf3", "bird", "qemu" };
    char dir[] = "/tmp/cntb-test-meta-XXXXXX", path[64];
    FILE *f;
    json_t *v;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/status", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("Package: iperf3\nStatus: install ok installed\nPriority: optional\n"
          "Version: 3.12-1+deb12u2\nDescription: x\n more\n\n"
          "Package: bird2\nStatus: deinstall ok config-files\nVersion: 2.0.12-7\n\n"
          "Package: qemu-system-x86\nVersion: 1:7.2+dfsg-7\nStatus: install ok installed\n", f);
    fclose(f);
    v = agent_meta_dpkg_versions(path, pkgs, keys, 3);
    ck_assert_str_eq(json_string_value(json_object_get(v, "iperf3")), "3.12-1+deb12u2");
    ck_assert(json_is_null(json_object_get(v, "bird")));          /* removed, config kept */
    ck_assert_str_eq(json_string_value(json_object_get(v, "qemu")), "1:7.2+dfsg-7"); /* at EOF */
    json_decref(v);
    v = agent_meta_dpkg_versions("/nonexistent/status", pkgs, keys, 3);
    ck_assert(json_is_null(json_object_get(v, "iperf3")));
    json_decref(v);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *
agent_meta_suite(void)
{
    Suite *s = suite_create("agent_meta");
    TCase *tc = tcase_create("meta");

    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_snapshot_fields);
    tcase_add_test(tc, test_dpkg_versions);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(agent_meta_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
