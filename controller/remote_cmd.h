/*
 * remote_cmd.h — command lines for a remote shell, built only from safe tokens.
 *
 * SSH runs an exec request through the remote user's login shell, so an
 * argument vector cannot be passed as such.  cntb therefore builds remote
 * commands only from tokens of [A-Za-z0-9_./:-]: no shell (POSIX sh, bash,
 * zsh, fish) gives any of these characters a meaning, so the joined line is
 * the argument vector, with nothing to quote and nothing to inject.
 */
#ifndef CNTB_REMOTE_CMD_H
#define CNTB_REMOTE_CMD_H

#include <stdbool.h>
#include <stddef.h>

/* True when s is a non-empty string of [A-Za-z0-9_./:-] only. */
bool remote_cmd_token_ok(const char *s);

/*
 * Joins the NULL-terminated argv with single spaces into cmd (len bytes).
 * Returns 0, or -1 (cmd set to "") when argv is empty, a token is not safe,
 * or the line does not fit.
 */
int remote_cmd_join(const char *const argv[], char *cmd, size_t len);

#endif
