/*
 * schedule.h — start times of queued matrices: parsing `--at` and `--every`
 * and the arithmetic of the next start, in the local time zone (TZ) and UTC.
 *
 * Times are time_t (seconds since the epoch, UTC); "local" is whatever the
 * process's TZ says (tzset(3)); nothing here keeps state.
 */
#ifndef CNTB_SCHEDULE_H
#define CNTB_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SCHEDULE_ERR_MAX 256
#define SCHEDULE_EVERY_MAX_S (366LL * 86400) /* the longest period: a year */

/*
 * Parses a start time for `cntb queue add --at`:
 *   HH:MM                    the next such local wall-clock time strictly after now
 *                            (today if still ahead, else tomorrow);
 *   YYYY-MM-DDTHH:MM[:SS]    ISO 8601 local time (a space may replace the T);
 *   ...followed by Z or ±HH:MM  ISO 8601 with an explicit offset from UTC;
 *   now                      now.
 * Local times that do not exist (the hour skipped when summer time starts)
 * move forward by the gap, as mktime(3) normalises them (02:30 on the last
 * Sunday of March in Europe/Berlin is 03:30 CEST); a local time that occurs
 * twice (the hour repeated when summer time ends) is its first occurrence.
 * Returns 0 with *out set, or -1 with a one-line reason in err
 * (SCHEDULE_ERR_MAX bytes).
 */
int schedule_parse_at(const char *s, time_t now, time_t *out, char *err)
    __attribute__((warn_unused_result));

/*
 * Parses a period for `--every`: one or more <integer><unit> with units d
 * (calendar day), h, m, s, e.g. "1d", "12h", "30m", "1h30m".  The total
 * must be 1 s .. 366 d.  *calendar_days is set when the period is whole days
 * written in d only ("1d", "7d"): such periods keep the local wall-clock
 * time across summer-time changes (a nightly 02:00 stays 02:00), while h, m
 * and s are exact seconds.  Returns 0 with *seconds set, or -1 with err.
 */
int schedule_parse_every(const char *s, int64_t *seconds, bool *calendar_days, char *err)
    __attribute__((warn_unused_result));

/*
 * The first start of the series anchor, anchor + every, anchor + 2 every, ...
 * that is strictly after `after`.  With calendar_days the steps are local
 * calendar days at the anchor's local wall-clock time (a time skipped by a
 * summer-time change moves forward by the gap, for that day only); else
 * exact seconds.  every_s > 0.  Starts missed while the controller was down
 * are skipped, not made up.  Returns the time, or (time_t)-1 on overflow.
 */
time_t schedule_next(time_t anchor, int64_t every_s, bool calendar_days, time_t after);

/* Writes t as UTC ISO 8601 "2026-11-30T01:00:00Z" into out (len >= 21). */
void schedule_format_utc(time_t t, char *out, size_t len);

/* Writes t as local ISO 8601 with offset "2026-11-30T02:00:00+01:00" into out (len >= 26). */
void schedule_format_local(time_t t, char *out, size_t len);

/* Parses UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z" (as the database stores times).  0 or -1. */
int schedule_parse_utc(const char *s, time_t *out);

#endif
