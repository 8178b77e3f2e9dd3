/*
 * bird.h — running BIRD 2 for one run and talking to it over its control
 * socket (the protocol birdc speaks, doc/prog "CLI": request lines, reply
 * lines "DDDD-text" continued, "DDDD text" last, " text" continuing the
 * previous code).
 */
#ifndef CNTB_BIRD_H
#define CNTB_BIRD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define BIRD_BIN "/usr/sbin/bird"
#define BIRD_ERR_MAX 256

/*
 * Starts BIRD in the caller's namespace with configuration file conf,
 * control socket sock and pid file pidfile, in the foreground (-f) as a
 * child of the caller, stdout and stderr appended to logfile.  Returns its
 * pid, or -1 with err (BIRD_ERR_MAX bytes).  A configuration error shows
 * in the log and as the process exiting; bird_wait_socket reports it.
 */
pid_t bird_start(const char *conf, const char *sock, const char *pidfile, const char *logfile,
                 char *err);

/*
 * Waits up to timeout_ms for BIRD (pid, 0 = unknown) to answer on sock.
 * 0, or -1 with err: the process exited (with the last line of logfile) or
 * the socket stayed silent.
 */
int bird_wait_socket(pid_t pid, const char *sock, const char *logfile, int timeout_ms, char *err);

/*
 * Sends one command line (without newline) on a fresh connection to sock
 * and returns its reply in out (len bytes): the text of every line, codes
 * stripped, one per line.  The reply code of the last line in *code (0 =
 * ok; 8000..9999 errors).  0, or -1 with err when the socket fails.
 */
int bird_cmd(const char *sock, const char *cmd, char *out, size_t len, int *code, char *err);

/*
 * Stops the BIRD of pidfile (and pid when known, for reaping our child):
 * SIGTERM, up to 3 s, then SIGKILL.  Only a process whose command line is
 * BIRD_BIN with conf as its -c argument is signalled.  Removes pidfile.
 * Returns 1 when a process was stopped, 0 when none ran.
 */
int bird_stop(pid_t pid, const char *pidfile, const char *conf);

/*
 * From the text of `show protocols` (bird_cmd output), the state of
 * protocol name: true when Established ("up"); the BGP state and BIRD's
 * info (e.g. "Active Socket: Connection refused") in info (len bytes).
 * False with info "not found" when the protocol is not listed.
 */
bool bird_bgp_established(const char *show_protocols, const char *name, char *info, size_t len);

#endif
