/*
 * schedule.c — start times of queued matrices (schedule.h).
 *
 * Wall-clock arithmetic goes through the C library's time zone database
 * (mktime(3)/localtime_r(3) with TZ, tzdata on Debian) rather than adding
 * 3600 s here and there: a day is "the same local time tomorrow", which is
 * 23 h or 25 h long on the days summer time starts or ends.  mktime() is
 * called with tm_isdst = -1 so that the library decides which offset a wall
 * time has; for a wall time that exists twice, both offsets are tried and the
 * earlier instant wins.  Exact periods (h, m, s) are plain second counts.
 * The ISO 8601 subset accepted is the extended calendar form with an
 * optional offset (ISO 8601-1:2019 5.4.2 and 4.3.13).
 */
#include "schedule.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The earliest instant whose local wall clock reads the fields of tm (date
 * and time; tm_isdst ignored).  A wall time that does not exist is moved
 * forward by the gap (mktime's normalisation).  (time_t)-1 when out of range.
 */
static time_t
local_instant(const struct tm *want)
{
    struct tm a = *want, b = *want;
    time_t ta, tb;

    a.tm_isdst = -1;
    ta = mktime(&a);
    /* Try both offsets: in the repeated hour the library may pick either. */
    b.tm_isdst = a.tm_isdst > 0 ? 0 : 1;
    tb = mktime(&b);
    if (tb != (time_t)-1 && b.tm_hour == want->tm_hour && b.tm_min == want->tm_min &&
        b.tm_mday == want->tm_mday && tb < ta)
        return tb;
    return ta;
}

/* Reads exactly n digits at *p into *v and advances *p. */
static bool
digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return true;
}

int
schedule_parse_at(const char *s, time_t now, time_t *out, char *err)
{
    const char *p = s;
    struct tm tm;
    int y, mo, d, h, mi, sec = 0, oh, om;

    if (!s || !*s) {
        snprintf(err, SCHEDULE_ERR_MAX, "--at: empty time");
        return -1;
    }
    if (strcmp(s, "now") == 0) {
        *out = now;
        return 0;
    }
    if (strlen(s) == 5 && digits(&p, 2, &h) && *p++ == ':' && digits(&p, 2, &mi) && !*p) {
        if (h > 23 || mi > 59)
            goto range;
        localtime_r(&now, &tm);
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = 0;
        for (int day = 0; day < 3; day++) {
            struct tm t = tm;
            t.tm_mday += day;
            time_t c = local_instant(&t);
            if (c != (time_t)-1 && c > now) {
                *out = c;
                return 0;
            }
        }
        goto range;
    }
    p = s;
    if (!(digits(&p, 4, &y) && *p++ == '-' && digits(&p, 2, &mo) && *p++ == '-' &&
          digits(&p, 2, &d) && (*p == 'T' || *p == 't' || *p == ' ') && (p++, true) &&
          digits(&p, 2, &h) && *p++ == ':' && digits(&p, 2, &mi)))
        goto syntax;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &sec))
            goto syntax;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        goto range;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    {
        /* The date must exist: timegm() would roll 31 April over to 1 May. */
        struct tm g = tm;
        if (timegm(&g) == (time_t)-1 || g.tm_mday != d || g.tm_mon != mo - 1)
            goto range;
    }
    if (!*p) {
        time_t t = local_instant(&tm);
        if (t == (time_t)-1)
            goto range;
        *out = t;
        return 0;
    }
    long off = 0;
    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        off = 0;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        if (!(digits(&p, 2, &oh) && *p++ == ':' && digits(&p, 2, &om) && !*p))
            goto syntax;
        if (oh > 23 || om > 59)
            goto range;
        off = sign * (oh * 3600L + om * 60L);
    } else {
        goto syntax;
    }
    {
        struct tm g = tm;
        time_t t = timegm(&g);
        if (t == (time_t)-1)
            goto range;
        *out = t - off;
        return 0;
    }
syntax:
    snprintf(err, SCHEDULE_ERR_MAX,
             "--at: \"%.40s\" is not HH:MM, YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] or now", s);
    return -1;
range:
    snprintf(err, SCHEDULE_ERR_MAX, "--at: \"%.40s\" is not a valid time", s);
    return -1;
}

int
schedule_parse_every(const char *s, int64_t *seconds, bool *calendar_days, char *err)
{
    const char *p = s;
    int64_t total = 0, last_unit = INT64_MAX;
    bool only_days = true;

    if (!s || !*s)
        goto syntax;
    while (*p) {
        char *end;
        if (!isdigit((unsigned char)*p))
            goto syntax;
        errno = 0;
        long long n = strtoll(p, &end, 10);
        if (errno || n > SCHEDULE_EVERY_MAX_S)
            goto range;
        int64_t unit;
        switch (*end) {
        case 'd': unit = 86400; break;
        case 'h': unit = 3600; only_days = false; break;
        case 'm': unit = 60; only_days = false; break;
        case 's': unit = 1; only_days = false; break;
        default: goto syntax;
        }
        if (unit >= last_unit) { /* d, h, m, s: each once, largest first ("1h30m", not "30m1h") */
            snprintf(err, SCHEDULE_ERR_MAX,
                     "--every: \"%.40s\": give each unit once, largest first (d, h, m, s)", s);
            return -1;
        }
        last_unit = unit;
        total += n * unit;
        if (total > SCHEDULE_EVERY_MAX_S)
            goto range;
        p = end + 1;
    }
    if (total < 1)
        goto range;
    *seconds = total;
    *calendar_days = only_days;
    return 0;
syntax:
    snprintf(err, SCHEDULE_ERR_MAX,
             "--every: \"%.40s\" is not a duration such as 1d, 12h, 30m or 1h30m", s ? s : "");
    return -1;
range:
    snprintf(err, SCHEDULE_ERR_MAX, "--every: \"%.40s\" must be between 1s and 366d", s);
    return -1;
}

time_t
schedule_next(time_t anchor, int64_t every_s, bool calendar_days, time_t after)
{
    if (every_s <= 0)
        return (time_t)-1;
    if (anchor > after)
        return anchor;
    if (!calendar_days) {
        int64_t k = (int64_t)(after - anchor) / every_s + 1;
        return anchor + (time_t)(k * every_s);
    }
    /* Calendar days: the anchor's local wall time on anchor day + k * days. */
    int64_t days = every_s / 86400;
    struct tm base;
    localtime_r(&anchor, &base);
    /* Start two periods early: a day may be an hour shorter or longer. */
    int64_t k = (int64_t)(after - anchor) / every_s - 1;
    if (k < 1)
        k = 1;
    for (int guard = 0; guard < 8; guard++, k++) {
        struct tm t = base;
        if (k * days > INT_MAX - base.tm_mday)
            return (time_t)-1;
        t.tm_mday += (int)(k * days);
        time_t c = local_instant(&t);
        if (c == (time_t)-1)
            return (time_t)-1;
        if (c > after)
            return c;
    }
    return (time_t)-1;
}

void
schedule_format_utc(time_t t, char *out, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
schedule_format_local(time_t t, char *out, size_t len)
{
    struct tm tm;
    char z[8];
    localtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(z, sizeof z, "%z", &tm); /* +0100 -> +01:00 */
    size_t n = strlen(out);
    if (strlen(z) == 5 && n + 7 <= len)
        snprintf(out + n, len - n, "%c%c%c:%c%c", z[0], z[1], z[2], z[3], z[4]);
}

int
schedule_parse_utc(const char *s, time_t *out)
{
    const char *p = s;
    struct tm tm;
    int y, mo, d, h, mi, sec;

    if (!s || !(digits(&p, 4, &y) && *p++ == '-' && digits(&p, 2, &mo) && *p++ == '-' &&
                digits(&p, 2, &d) && *p++ == 'T' && digits(&p, 2, &h) && *p++ == ':' &&
                digits(&p, 2, &mi) && *p++ == ':' && digits(&p, 2, &sec)))
        return -1;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (*p != 'Z' || p[1])
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = timegm(&tm);
    return *out == (time_t)-1 ? -1 : 0;
}
