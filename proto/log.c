/*
 * log.c — the shared logger: one line per record, UTC timestamp, program and
 * tag, level.  Kept deliberately small: the agent and the controller log to
 * stderr, which `cntb controller start` and `cntb deploy` redirect to files.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char log_program[32] = "cntb";
static char log_tag[64];
static int log_threshold = -1;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *program, const char *tag)
{
    snprintf(log_program, sizeof log_program, "%s", program ? program : "cntb");
    snprintf(log_tag, sizeof log_tag, "%s", tag ? tag : "");
    log_threshold = -1;
}

static int
log_level_from_env(void)
{
    const char *env = getenv("CNTB_LOG");
    if (!env)
        return LOGL_INFO;
    for (int i = 0; i < 4; i++)
        if (strcmp(env, log_names[i]) == 0)
            return i;
    return LOGL_INFO;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    if (log_threshold < 0)
        log_threshold = log_level_from_env();
    if ((int) level > log_threshold)
        return;
    char stamp[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (log_tag[0])
        fprintf(stderr, "%s.%03ldZ %s[%s] %s: %s\n", stamp, ts.tv_nsec / 1000000, log_program,
                log_tag, log_names[level], text);
    else
        fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000, log_program,
                log_names[level], text);
}
