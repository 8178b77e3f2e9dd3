/*
 * cpio.h — a writer of "newc" cpio archives (the format of Linux initramfs
 * images), used to hand a VM its certificates in an extra initramfs archive
 * (vm.c, docs/vm.md).
 *
 * Format (kernel Documentation/driver-api/early-userspace/buffer-format.rst,
 * cpio(5) "New ASCII Format"): per entry a 110-byte header, the magic
 * "070701" then 13 fields of 8 ASCII hex digits (ino, mode, uid, gid,
 * nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
 * namesize including the NUL, check = 0), then the name and its NUL, zeros
 * up to a multiple of 4 bytes, then the data, zeros up to a multiple of 4;
 * the archive ends with an entry named "TRAILER!!!".
 */
#ifndef CNTB_CPIO_H
#define CNTB_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CPIO_HEADER_LEN 110
#define CPIO_TRAILER "TRAILER!!!"
#define CPIO_NAME_MAX 255   /* longest name accepted, bytes without the NUL */
#define CPIO_FILE_MAX (1u << 30) /* largest file accepted, bytes */

typedef struct {
    const char *name;   /* path in the archive, relative ("etc/cntb/agent.cert"), no "..", 1..255 bytes */
    uint32_t mode;      /* st_mode: S_IFREG or S_IFDIR | permission bits (07777 at most) */
    const void *data;   /* regular files: size bytes, borrowed; directories: NULL */
    size_t size;        /* bytes; 0 for directories, at most CPIO_FILE_MAX */
} cpio_entry_t;

/*
 * Writes the n entries, in order, then the trailer, to f at its current
 * position, which must be a multiple of 4 bytes from the start of the
 * archive (the kernel also wants an appended archive to start at a
 * multiple of 4 of the whole initramfs).  Owners are 0:0, mtime 0, inode
 * numbers 1..n (unique within the archive), nlink 1 for files and 2 for
 * directories.  Returns the bytes written (a multiple of 4), or -1 with a
 * one-line reason in err (len bytes): an invalid entry (nothing written
 * then) or a write error.  f stays open and is not flushed.
 */
long cpio_newc_write(FILE *f, const cpio_entry_t *entries, int n, char *err, size_t len)
    __attribute__((warn_unused_result));

#endif
