/*
 * ctl_lock.h — one controller per testbed and per database: exclusive
 * flock(2) locks on files kept beside what they guard.
 */
#ifndef CNTB_CTL_LOCK_H
#define CNTB_CTL_LOCK_H

#include <stddef.h>

/* ctl_lock_take() when another process holds the lock. */
#define CTL_LOCK_HELD (-2)

/*
 * Takes an exclusive, non-blocking flock(2) lock (LOCK_EX | LOCK_NB) on the
 * file `path` (made mode 0644 when missing) and, once held, replaces the
 * file's contents with `content` (for example "PID TESTBED\n").  flock locks
 * belong to the open file description, so they are independent of SQLite's
 * fcntl(2) record locks on the database itself (flock(2), "NOTES") and two
 * opens in one process exclude each other too.  The lock lasts until the
 * returned descriptor is closed (process exit included: a SIGKILLed holder
 * leaves a file nobody holds).  A file unlinked by a releasing holder
 * between our open and our flock is detected (st_ino differs) and the path
 * opened again.
 *
 * Returns the descriptor (>= 0, close-on-exec; the caller owns it and gives
 * it to ctl_lock_release), CTL_LOCK_HELD with the holder's first line (its
 * content, newline stripped) in holder, or -1 with a one-line reason
 * (strerror of the failing call, naming path) in holder.  holder: holder_len
 * bytes, always NUL-terminated.
 */
int ctl_lock_take(const char *path, const char *content, char *holder, size_t holder_len)
    __attribute__((warn_unused_result));

/*
 * Removes `path` and then closes *fd (the lock goes with it); sets *fd to
 * -1.  Unlinking while still holding the lock means the next holder never
 * finds a file that a stale content could be read from.  *fd < 0: nothing.
 */
void ctl_lock_release(int *fd, const char *path);

#endif
