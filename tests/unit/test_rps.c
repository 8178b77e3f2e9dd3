/*
 * test_rps.c — Check suite of node-agent/net/rps.c: the CPU mask text, and
 * setting and reading rps_cpus of a veth in our namespace and in another
 * one (through the child that mounts that namespace's sysfs).
 *
 * The link tests need root; without it they pass after printing a note.
 * Names carry "cntb" and this process's id; no address is assigned.  The
 * unchecked fixture deletes the namespace and the veth in the runner before
 * and after each test case, so a failed test leaves nothing behind.
 */
#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nl.h"
#include "rps.h"

static char ns[64];    /* "cntb-rpsut<pid>" */
static char veth[16];  /* "cntbrps<pid%100000>", its peer is eth0 in ns */

#define SKIP_UNLESS_ROOT()                                                    \
    do {                                                                      \
        if (geteuid() != 0) {                                                 \
            printf("test_rps: %s: skipped (needs root)\n", __func__);         \
            return;                                                           \
        }                                                                     \
    } while (0)

static void cleanup_all(void)
{
    char err[NL_ERR_MAX];

    if (geteuid() != 0)
        return;
    nl_link_del(NULL, veth, err);
    netns_delete(ns, err);
}

/* The mask without commas and leading zeros: the kernel pads to nr_cpu_ids. */
static const char *norm(const char *mask, char *out)
{
    size_t n = 0;

    for (; *mask; mask++)
        if (*mask != ',' && (n > 0 || *mask != '0'))
            out[n++] = *mask;
    if (n == 0)
        out[n++] = '0';
    out[n] = '\0';
    return out;
}

START_TEST(test_mask_format)
{
    cpu_set_t set;
    char out[RPS_MASK_MAX], tiny[3];
    int c;

    CPU_ZERO(&set);
    ck_assert_int_eq(rps_mask_format(&set, out, sizeof out), 0);
    ck_assert_str_eq(out, "0");
    CPU_SET(0, &set);
    CPU_SET(1, &set);
    ck_assert_int_eq(rps_mask_format(&set, out, sizeof out), 0);
    ck_assert_str_eq(out, "3");
    for (c = 0; c < 40; c++)
        CPU_SET(c, &set);
    ck_assert_int_eq(rps_mask_format(&set, out, sizeof out), 0);
    ck_assert_str_eq(out, "ff,ffffffff");
    CPU_ZERO(&set);
    CPU_SET(32, &set);
    ck_assert_int_eq(rps_mask_format(&set, out, sizeof out), 0);
    ck_assert_str_eq(out, "1,00000000");
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    CPU_SET(63, &set);
    CPU_SET(64, &set);
    ck_assert_int_eq(rps_mask_format(&set, out, sizeof out), 0);
    ck_assert_str_eq(out, "1,80000000,00000001");
    CPU_ZERO(&set);
    for (c = 0; c < CPU_SETSIZE; c++)
        CPU_SET(c, &set);
    ck_assert_int_eq(rps_mask_format(&set, out, sizeof out), 0);
    ck_assert_uint_eq(strlen(out), 32 * 9 - 1); /* 32 groups of 8 digits and 31 commas */
    ck_assert_int_eq(rps_mask_format(&set, tiny, sizeof tiny), -1);
}
END_TEST

START_TEST(test_mask_ours)
{
    char out[RPS_MASK_MAX], want[RPS_MASK_MAX], err[NL_ERR_MAX];
    cpu_set_t set;

    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    ck_assert_int_eq(rps_mask_format(&set, want, sizeof want), 0);
    ck_assert_msg(rps_mask_ours(out, sizeof out, err) == 0, "%s", err);
    ck_assert_str_eq(out, want);
    ck_assert_str_ne(out, "0");
}
END_TEST

START_TEST(test_bad_args)
{
    char err[NL_ERR_MAX], out[RPS_MASK_MAX];

    ck_assert_int_eq(rps_set(NULL, "../../etc", "1", err), -1);
    ck_assert_msg(strstr(err, "invalid name"), "%s", err);
    ck_assert_int_eq(rps_set(NULL, "lo", "1; x", err), -1);
    ck_assert_msg(strstr(err, "hex digits"), "%s", err);
    ck_assert_int_eq(rps_set(NULL, "lo", "", err), -1);
    ck_assert_int_eq(rps_set("bad/ns", "eth0", "1", err), -1);
    ck_assert_msg(strstr(err, "namespace"), "%s", err);
    ck_assert_int_eq(rps_get(NULL, "lo", -1, out, sizeof out, err), -1);
}
END_TEST

START_TEST(test_set_get)
{
    char err[NL_ERR_MAX], out[RPS_MASK_MAX], mask[RPS_MASK_MAX], a[RPS_MASK_MAX],
        b[RPS_MASK_MAX];
    int n;

    SKIP_UNLESS_ROOT();
    ck_assert_msg(netns_create(ns, false, err) == 0, "%s", err);
    ck_assert_msg(nl_veth_add(NULL, veth, "eth0", ns, 0, err) == 0, "%s", err);
    ck_assert_msg(rps_mask_ours(mask, sizeof mask, err) == 0, "%s", err);

    /* a new veth steers nothing */
    ck_assert_msg(rps_get(ns, "eth0", 0, out, sizeof out, err) == 0, "%s", err);
    ck_assert_str_eq(norm(out, a), "0");

    /* our end, through our own /sys */
    n = rps_set(NULL, veth, "1", err);
    ck_assert_msg(n >= 1, "%s", err);
    ck_assert_msg(rps_get(NULL, veth, 0, out, sizeof out, err) == 0, "%s", err);
    ck_assert_str_eq(norm(out, a), "1");
    ck_assert_msg(rps_get(NULL, veth, n - 1, out, sizeof out, err) == 0, "%s", err);
    ck_assert_str_eq(norm(out, a), "1");
    ck_assert_int_eq(rps_get(NULL, veth, n, out, sizeof out, err), -1);

    /* the far end, through the namespace's own sysfs: every queue */
    n = rps_set(ns, "eth0", mask, err);
    ck_assert_msg(n >= 1, "%s", err);
    ck_assert_msg(rps_get(ns, "eth0", 0, out, sizeof out, err) == 0, "%s", err);
    ck_assert_str_eq(norm(out, a), norm(mask, b));
    ck_assert_msg(rps_get(ns, "eth0", n - 1, out, sizeof out, err) == 0, "%s", err);
    ck_assert_str_eq(norm(out, a), norm(mask, b));
    /* ... and our end kept its own value: the two sysfs are not mixed up */
    ck_assert_msg(rps_get(NULL, veth, 0, out, sizeof out, err) == 0, "%s", err);
    ck_assert_str_eq(norm(out, a), "1");
    /* our /sys is still ours (it shows our end): the child's sysfs mount did not leak */
    snprintf(out, sizeof out, "/sys/class/net/%s", veth);
    ck_assert_int_eq(access(out, F_OK), 0);

    /* a link the namespace does not have */
    ck_assert_int_eq(rps_set(ns, "cntbnosuch", "1", err), -1);
    ck_assert_msg(strstr(err, "cntbnosuch") && strstr(err, "No such file"), "%s", err);
    /* a namespace that does not exist */
    ck_assert_int_eq(rps_set("cntb-rpsut-none", "eth0", "1", err), -1);
    ck_assert_msg(strstr(err, "cntb-rpsut-none"), "%s", err);
}
END_TEST

static TCase *tcase(const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, 30);
    tcase_add_unchecked_fixture(tc, cleanup_all, cleanup_all);
    tcase_add_test(tc, test);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("rps");
    SRunner *sr;
    int failed;

    snprintf(ns, sizeof ns, "cntb-rpsut%d", (int)getpid());
    snprintf(veth, sizeof veth, "cntbrps%d", (int)getpid() % 100000);
    if (geteuid() != 0)
        printf("test_rps: not root: the link tests pass without running\n");
    suite_add_tcase(s, tcase("mask_format", test_mask_format));
    suite_add_tcase(s, tcase("mask_ours", test_mask_ours));
    suite_add_tcase(s, tcase("bad_args", test_bad_args));
    suite_add_tcase(s, tcase("set_get", test_set_get));
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
