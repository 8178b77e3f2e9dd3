/*
 * test_schedule.c — unit tests of controller/schedule.c: --every and --at
 * parsing (with every refusal's message), the next start across midnight and
 * across the summer-time changes of Europe/Berlin (last Sunday of March and
 * of October 2026: 29 March 02:00 CET -> 03:00 CEST, 25 October 03:00 CEST
 * -> 02:00 CET), in UTC and local time, and the time formats.
 */
#include "schedule.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
zone(const char *tz)
{
    ck_assert_int_eq(setenv("TZ", tz, 1), 0);
    tzset();
}

/* A UTC ISO time as time_t. */
static time_t
utc(const char *s)
{
    time_t t;
    ck_assert_msg(schedule_parse_utc(s, &t) == 0, "bad test time %s", s);
    return t;
}

static void
expect_at(const char *at, const char *now, const char *want_utc)
{
    char err[SCHEDULE_ERR_MAX] = "", got[32];
    time_t t = 0;
    ck_assert_msg(schedule_parse_at(at, utc(now), &t, err) == 0, "%s: %s", at, err);
    schedule_format_utc(t, got, sizeof got);
    ck_assert_msg(strcmp(got, want_utc) == 0, "--at %s at %s: got %s, want %s", at, now, got,
                  want_utc);
}

static void
expect_at_refused(const char *at, const char *want)
{
    char err[SCHEDULE_ERR_MAX] = "";
    time_t t;
    ck_assert_int_eq(schedule_parse_at(at, utc("2026-11-30T10:00:00Z"), &t, err), -1);
    ck_assert_str_eq(err, want);
}

static void
expect_next(const char *anchor, const char *every, const char *after, const char *want)
{
    char err[SCHEDULE_ERR_MAX] = "", got[32];
    int64_t s;
    bool cal;
    ck_assert_msg(schedule_parse_every(every, &s, &cal, err) == 0, "%s", err);
    schedule_format_utc(schedule_next(utc(anchor), s, cal, utc(after)), got, sizeof got);
    ck_assert_msg(strcmp(got, want) == 0, "next of %s every %s after %s: got %s, want %s",
                  anchor, every, after, got, want);
}

START_TEST(test_every)
{
    char err[SCHEDULE_ERR_MAX];
    int64_t s = 0;
    bool cal = false;
    ck_assert_int_eq(schedule_parse_every("1d", &s, &cal, err), 0);
    ck_assert_int_eq(s, 86400);
    ck_assert(cal);
    ck_assert_int_eq(schedule_parse_every("12h", &s, &cal, err), 0);
    ck_assert_int_eq(s, 43200);
    ck_assert(!cal);
    ck_assert_int_eq(schedule_parse_every("30m", &s, &cal, err), 0);
    ck_assert_int_eq(s, 1800);
    ck_assert_int_eq(schedule_parse_every("1h30m", &s, &cal, err), 0);
    ck_assert_int_eq(s, 5400);
    ck_assert_int_eq(schedule_parse_every("1d12h", &s, &cal, err), 0);
    ck_assert_int_eq(s, 129600);
    ck_assert(!cal);
    ck_assert_int_eq(schedule_parse_every("7d", &s, &cal, err), 0);
    ck_assert_int_eq(s, 7 * 86400);
    ck_assert(cal);
    ck_assert_int_eq(schedule_parse_every("1w", &s, &cal, err), -1);
    ck_assert_str_eq(err, "--every: \"1w\" is not a duration such as 1d, 12h, 30m or 1h30m");
    ck_assert_int_eq(schedule_parse_every("", &s, &cal, err), -1);
    ck_assert_str_eq(err, "--every: \"\" is not a duration such as 1d, 12h, 30m or 1h30m");
    ck_assert_int_eq(schedule_parse_every("h", &s, &cal, err), -1);
    ck_assert_int_eq(schedule_parse_every("-1h", &s, &cal, err), -1);
    ck_assert_int_eq(schedule_parse_every("0m", &s, &cal, err), -1);
    ck_assert_str_eq(err, "--every: \"0m\" must be between 1s and 366d");
    ck_assert_int_eq(schedule_parse_every("367d", &s, &cal, err), -1);
    ck_assert_str_eq(err, "--every: \"367d\" must be between 1s and 366d");
    ck_assert_int_eq(schedule_parse_every("1m1m", &s, &cal, err), -1);
    ck_assert_str_eq(err, "--every: \"1m1m\": give each unit once, largest first (d, h, m, s)");
    ck_assert_int_eq(schedule_parse_every("30m1h", &s, &cal, err), -1);
}
END_TEST

START_TEST(test_at_utc)
{
    zone("UTC");
    expect_at("11:30", "2026-11-30T10:00:00Z", "2026-11-30T11:30:00Z");
    expect_at("09:00", "2026-11-30T10:00:00Z", "2026-12-01T09:00:00Z"); /* tomorrow */
    expect_at("10:00", "2026-11-30T10:00:00Z", "2026-12-01T10:00:00Z"); /* strictly after now */
    expect_at("00:05", "2026-12-31T23:59:00Z", "2027-01-01T00:05:00Z"); /* across the year */
    expect_at("now", "2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z");
    expect_at("2026-12-24T18:00:00Z", "2026-11-30T10:00:00Z", "2026-12-24T18:00:00Z");
    expect_at("2026-12-24T18:00+01:00", "2026-11-30T10:00:00Z", "2026-12-24T17:00:00Z");
    expect_at("2026-12-24T18:00-05:30", "2026-11-30T10:00:00Z", "2026-12-24T23:30:00Z");
    expect_at("2026-12-24 18:00", "2026-11-30T10:00:00Z", "2026-12-24T18:00:00Z");
    expect_at_refused("25:00", "--at: \"25:00\" is not a valid time");
    expect_at_refused("2026-04-31T10:00", "--at: \"2026-04-31T10:00\" is not a valid time");
    expect_at_refused("2026-02-29T10:00Z", "--at: \"2026-02-29T10:00Z\" is not a valid time");
    expect_at_refused("tomorrow",
                      "--at: \"tomorrow\" is not HH:MM, YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] or now");
    expect_at_refused("2026-12-24T18:00+1",
                      "--at: \"2026-12-24T18:00+1\" is not HH:MM, YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] or now");
    expect_at_refused("", "--at: empty time");
}
END_TEST

START_TEST(test_at_berlin)
{
    zone("Europe/Berlin");
    /* Winter: CET = UTC+1; across local midnight. */
    expect_at("00:15", "2026-03-28T22:30:00Z", "2026-03-28T23:15:00Z");
    expect_at("23:00", "2026-11-30T10:00:00Z", "2026-11-30T22:00:00Z");
    /* Spring forward on 29 March: 01:30 is still CET, 02:30 does not exist
     * (moved forward by the gap to 03:30 CEST), 03:30 is CEST. */
    expect_at("01:30", "2026-03-28T12:00:00Z", "2026-03-29T00:30:00Z");
    expect_at("02:30", "2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z");
    expect_at("03:30", "2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z");
    expect_at("2026-03-29T02:30", "2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z");
    /* Fall back on 25 October: 02:30 happens twice; the first (CEST) counts. */
    expect_at("02:30", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z");
    expect_at("2026-10-25T02:30", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z");
    /* Asked during the first 02:xx for 02:45: the first occurrence is still ahead. */
    expect_at("02:45", "2026-10-25T00:40:00Z", "2026-10-25T00:45:00Z");
    /* An explicit offset ignores the zone. */
    expect_at("2026-07-01T02:00Z", "2026-06-01T00:00:00Z", "2026-07-01T02:00:00Z");
    char buf[32];
    schedule_format_local(utc("2026-07-01T00:00:00Z"), buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-07-01T02:00:00+02:00");
    schedule_format_local(utc("2026-12-01T00:00:00Z"), buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-12-01T01:00:00+01:00");
}
END_TEST

START_TEST(test_next_utc)
{
    zone("UTC");
    expect_next("2026-11-30T02:00:00Z", "1d", "2026-11-30T02:00:00Z", "2026-12-01T02:00:00Z");
    expect_next("2026-11-30T02:00:00Z", "1d", "2026-11-29T00:00:00Z", "2026-11-30T02:00:00Z");
    /* Missed starts (controller down 10 days) are skipped, not made up. */
    expect_next("2026-01-01T00:00:00Z", "1d", "2026-01-10T05:00:00Z", "2026-01-11T00:00:00Z");
    expect_next("2026-11-30T23:50:00Z", "30m", "2026-11-30T23:50:00Z", "2026-12-01T00:20:00Z");
    expect_next("2026-11-30T10:00:00Z", "12h", "2026-12-03T09:59:59Z", "2026-12-03T10:00:00Z");
    expect_next("2026-12-31T02:00:00Z", "7d", "2026-12-31T02:00:00Z", "2027-01-07T02:00:00Z");
}
END_TEST

START_TEST(test_next_berlin)
{
    zone("Europe/Berlin");
    /* Daily at 02:00 local across spring forward: 28 March 02:00 CET (01:00Z);
     * 29 March 02:00 does not exist -> 03:00 CEST (01:00Z); 30 March 02:00 CEST
     * (00:00Z): the nightly keeps its wall-clock time afterwards. */
    expect_next("2026-03-28T01:00:00Z", "1d", "2026-03-28T01:00:00Z", "2026-03-29T01:00:00Z");
    expect_next("2026-03-28T01:00:00Z", "1d", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z");
    /* Daily at 22:00 local across spring forward: a 23 h day. */
    expect_next("2026-03-28T21:00:00Z", "1d", "2026-03-28T21:00:00Z", "2026-03-29T20:00:00Z");
    /* Across fall back: 24 Oct 02:00 CEST (00:00Z), 25 Oct 02:00 CEST (first
     * occurrence, 00:00Z), 26 Oct 02:00 CET (01:00Z, a 25 h step). */
    expect_next("2026-10-24T00:00:00Z", "1d", "2026-10-24T00:00:00Z", "2026-10-25T00:00:00Z");
    expect_next("2026-10-24T00:00:00Z", "1d", "2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z");
    /* Exact periods ignore the zone: 12 h is 12 h, also across the change. */
    expect_next("2026-03-28T20:00:00Z", "12h", "2026-03-29T07:00:00Z", "2026-03-29T08:00:00Z");
    expect_next("2026-10-24T22:00:00Z", "1h", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z");
    /* Weekly at 02:00 local from winter into summer. */
    expect_next("2026-03-21T01:00:00Z", "7d", "2026-03-21T01:00:00Z", "2026-03-28T01:00:00Z");
    expect_next("2026-03-21T01:00:00Z", "7d", "2026-03-28T01:00:00Z", "2026-04-04T00:00:00Z");
}
END_TEST

START_TEST(test_utc_text)
{
    time_t t;
    char buf[32];
    ck_assert_int_eq(schedule_parse_utc("2026-11-29T23:59:01.123Z", &t), 0);
    schedule_format_utc(t, buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-11-29T23:59:01Z");
    ck_assert_int_eq((long long)t, 1795996741LL);
    ck_assert_int_eq(schedule_parse_utc("2026-11-29 23:59:01Z", &t), -1);
    ck_assert_int_eq(schedule_parse_utc("2026-11-29T23:59:01", &t), -1);
    ck_assert_int_eq(schedule_parse_utc(NULL, &t), -1);
}
END_TEST

static Suite *
schedule_suite(void)
{
    Suite *s = suite_create("schedule");
    TCase *tc = tcase_create("parse");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_every);
    tcase_add_test(tc, test_at_utc);
    tcase_add_test(tc, test_at_berlin);
    tcase_add_test(tc, test_utc_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("next");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_next_utc);
    tcase_add_test(tc, test_next_berlin);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(schedule_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
