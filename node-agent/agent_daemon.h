/*
 * agent_daemon.h — cntb-agent's own daemon mode: detach, pid file, stop.
 *
 * `cntb deploy` starts the agent over SSH as one plain argument vector
 * (`cntb-agent --daemon --log FILE --pidfile FILE ...`), so detaching is the
 * agent's job, not a shell's (no nohup, no redirections, no quoting).
 */
#ifndef CNTB_AGENT_DAEMON_H
#define CNTB_AGENT_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Detaches: fork, setsid, fork again (no controlling terminal can come
 * back), stdin from /dev/null, stdout and stderr appended to logfile (0600),
 * cwd "/", pid written to pidfile (0644).  Returns 0 in the daemon; the
 * original process exits 0 once the pid file is written, or 1 with a message
 * on stderr when the daemon could not be made.  Returns -1 with err (len
 * bytes), without forking, when an agent of that pid file is alive already
 * or the files cannot be opened.
 */
int agent_daemon_start(const char *logfile, const char *pidfile, char *err, size_t len);

/* The pid of the live cntb-agent named by pidfile, or 0. */
pid_t agent_daemon_running(const char *pidfile);

/*
 * Stops the agent of pidfile: SIGTERM (it tears its runs down), waits up to
 * timeout_ms, then SIGKILL; removes the pid file.  Returns 1 when an agent
 * was stopped, 0 when none ran.
 */
int agent_daemon_stop(const char *pidfile, int timeout_ms);

#endif
