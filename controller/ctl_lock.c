/*
 * ctl_lock.c — the locks that make a controller the only one of its testbed
 * and of its database (docs/cntb-controller.md, "OWNERSHIP").
 *
 * Each lock is an flock(2) LOCK_EX on a small file whose contents name the
 * holder: DIR/controller.pid holds "PID\n" (the pid file `cntb` reads),
 * DB-controller holds "PID TESTBED\n".  The kernel drops an flock lock when
 * its last descriptor closes, so a crashed controller never leaves a lock
 * behind, only a file that the next one takes over.  The holder removes the
 * file before closing; a contender that opened the old file checks, once it
 * holds the lock, that the path still names the inode it locked.
 */
#include "ctl_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int
ctl_lock_take(const char *path, const char *content, char *holder, size_t holder_len)
{
    int fd = -1;
    holder[0] = '\0';
    for (int attempt = 0; attempt < 5; attempt++) {
        struct stat a, b;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(holder, holder_len, "%s: %s", path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            if (e == EWOULDBLOCK) {
                ssize_t n = pread(fd, holder, holder_len - 1, 0);
                holder[n > 0 ? n : 0] = '\0';
                holder[strcspn(holder, "\n")] = '\0';
                close(fd);
                return CTL_LOCK_HELD;
            }
            snprintf(holder, holder_len, "%s: flock: %s", path, strerror(e));
            close(fd);
            return -1;
        }
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            break;
        close(fd); /* unlinked by the previous holder meanwhile: open again */
        fd = -1;
    }
    if (fd < 0) {
        snprintf(holder, holder_len, "%s: removed and made again while locking", path);
        return -1;
    }
    size_t len = strlen(content);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, content, len, 0) != (ssize_t) len) {
        snprintf(holder, holder_len, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void
ctl_lock_release(int *fd, const char *path)
{
    if (*fd < 0)
        return;
    unlink(path);
    close(*fd);
    *fd = -1;
}
