/*
 * log.h — one-line log records on stderr: "2026-11-29T23:59:01Z cntb-agent[h1] info: text".
 *
 * Every program calls log_init() once with its name and, for agents, its host
 * name.  Records below the level set by CNTB_LOG (error|warn|info|debug,
 * default info) are dropped.
 */
#ifndef CNTB_LOG_H
#define CNTB_LOG_H

enum log_level { LOGL_ERROR = 0, LOGL_WARN = 1, LOGL_INFO = 2, LOGL_DEBUG = 3 };

/* Sets the program name and an optional tag (host name); both are copied. */
void log_init(const char *program, const char *tag);

/* Writes one record at the given level; the text is printf-formatted. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

#endif
