/*
 * test_cpulist.c — Check suite of proto/cpulist.c: CPU lists in the
 * kernel's list format, parsed (with and without the allowed set) and
 * formatted with ranges merged.  Pure functions: no files, no database.
 */
#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "cpulist.h"

static void set_of(cpu_set_t *s, const int *cpus, int n)
{
    CPU_ZERO(s);
    for (int i = 0; i < n; i++)
        CPU_SET(cpus[i], s);
}

START_TEST(test_parse_good)
{
    cpu_set_t s, want;
    char err[256];

    ck_assert_int_eq(cpulist_parse("1", NULL, &s, err, sizeof err), 0);
    set_of(&want, (const int[]){ 1 }, 1);
    ck_assert(CPU_EQUAL(&s, &want));
    ck_assert_int_eq(cpulist_parse("0-3,8,10-11", NULL, &s, err, sizeof err), 0);
    set_of(&want, (const int[]){ 0, 1, 2, 3, 8, 10, 11 }, 7);
    ck_assert(CPU_EQUAL(&s, &want));
    ck_assert_int_eq(CPU_COUNT(&s), 7);
    ck_assert_int_eq(cpulist_parse("5-5,5", NULL, &s, err, sizeof err), 0);
    ck_assert_int_eq(CPU_COUNT(&s), 1);
    ck_assert_int_eq(cpulist_parse("1023", NULL, &s, err, sizeof err), 0);
    ck_assert(CPU_ISSET(1023, &s));
}
END_TEST

START_TEST(test_parse_bad)
{
    static const char *const bad[] = { "", "x", "1-", "-1", "3-1", "1,,2", "1,", "0x1",
                                       "1 ", " 1", "1024", "1-1024", "1.5", "99999999999999999999" };
    cpu_set_t s;
    char err[256];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(cpulist_parse(bad[i], NULL, &s, err, sizeof err) == -1, "\"%s\"", bad[i]);
        ck_assert_msg(err[0] != '\0', "\"%s\": no reason", bad[i]);
    }
    ck_assert_int_eq(cpulist_parse(NULL, NULL, &s, err, sizeof err), -1);
    ck_assert_int_eq(cpulist_parse("3-1", NULL, &s, err, sizeof err), -1);
    ck_assert_str_eq(err, "bad CPU list element \"3-1\" in \"3-1\" (expected N or N-M, N <= M "
                          "< 1024, separated by commas)");
    ck_assert_int_eq(cpulist_parse("0,x-2,3", NULL, &s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "element \"x-2\""), "%s", err);
}
END_TEST

START_TEST(test_parse_allowed)
{
    cpu_set_t allowed, s;
    char err[256];

    set_of(&allowed, (const int[]){ 0, 1 }, 2);
    ck_assert_int_eq(cpulist_parse("1", &allowed, &s, err, sizeof err), 0);
    ck_assert_int_eq(cpulist_parse("0-1", &allowed, &s, err, sizeof err), 0);
    ck_assert_int_eq(cpulist_parse("1-2", &allowed, &s, err, sizeof err), -1);
    ck_assert_str_eq(err, "CPU 2 is not one this process may use (0-1)");
    set_of(&allowed, (const int[]){ 0, 2, 3, 5 }, 4);
    ck_assert_int_eq(cpulist_parse("1", &allowed, &s, err, sizeof err), -1);
    ck_assert_str_eq(err, "CPU 1 is not one this process may use (0,2-3,5)");
}
END_TEST

START_TEST(test_format)
{
    cpu_set_t s;
    char out[CPULIST_MAX], small[4];

    CPU_ZERO(&s);
    ck_assert_int_eq(cpulist_format(&s, out, sizeof out), 0);
    ck_assert_str_eq(out, "");
    set_of(&s, (const int[]){ 1 }, 1);
    ck_assert_int_eq(cpulist_format(&s, out, sizeof out), 0);
    ck_assert_str_eq(out, "1");
    set_of(&s, (const int[]){ 0, 1, 2, 4, 6, 7, 1023 }, 7);
    ck_assert_int_eq(cpulist_format(&s, out, sizeof out), 0);
    ck_assert_str_eq(out, "0-2,4,6-7,1023");
    ck_assert_int_eq(cpulist_format(&s, small, sizeof small), -1);
    /* every other CPU: the longest list, and it fits CPULIST_MAX */
    CPU_ZERO(&s);
    for (int c = 0; c < CPU_SETSIZE; c += 2)
        CPU_SET(c, &s);
    ck_assert_int_eq(cpulist_format(&s, out, sizeof out), 0);
    ck_assert(strncmp(out, "0,2,4,", 6) == 0);
    ck_assert(strcmp(out + strlen(out) - 5, ",1022") == 0);
}
END_TEST

START_TEST(test_round_trip)
{
    static const char *const lists[] = { "0", "0-1", "1,3-5,7", "2-1023" };
    cpu_set_t s;
    char err[256], out[CPULIST_MAX];

    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        ck_assert_int_eq(cpulist_parse(lists[i], NULL, &s, err, sizeof err), 0);
        ck_assert_int_eq(cpulist_format(&s, out, sizeof out), 0);
        ck_assert_str_eq(out, lists[i]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cpulist");
    TCase *tc = tcase_create("cpulist");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_parse_good);
    tcase_add_test(tc, test_parse_bad);
    tcase_add_test(tc, test_parse_allowed);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_round_trip);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
