/*
 * cpio.c — newc cpio archives (see cpio.h).
 *
 * Every entry is checked before anything is written, so a refused archive
 * leaves the file as it was.  Fields are printed with "%08X" (uppercase, as
 * GNU cpio and the kernel's gen_init_cpio write them; the kernel parses
 * either case).  Padding is computed from the byte count of the archive so
 * far, which is why callers start the archive at a 4-byte boundary.
 */
#include "cpio.h"

#include <string.h>
#include <sys/stat.h>

static const char zeros[4];

static size_t
pad4(size_t n)
{
    return (4 - (n & 3)) & 3;
}

static int
entry_valid(const cpio_entry_t *e, char *err, size_t len)
{
    size_t nl = e->name ? strlen(e->name) : 0;
    if (nl == 0 || nl > CPIO_NAME_MAX || e->name[0] == '/' || strstr(e->name, "..") ||
        strcmp(e->name, CPIO_TRAILER) == 0) {
        snprintf(err, len, "cpio: entry name \"%.64s\" invalid (relative, 1..%d bytes, no \"..\")",
                 e->name ? e->name : "(null)", CPIO_NAME_MAX);
        return -1;
    }
    if (e->mode & ~(uint32_t) (S_IFMT | 07777)) {
        snprintf(err, len, "cpio: %s: mode %o has bits beyond the type and 07777", e->name,
                 (unsigned) e->mode);
        return -1;
    }
    if (S_ISREG(e->mode)) {
        if (e->size > CPIO_FILE_MAX || (e->size > 0 && !e->data)) {
            snprintf(err, len, "cpio: %s: %zu bytes without data or over %u", e->name, e->size,
                     CPIO_FILE_MAX);
            return -1;
        }
    } else if (S_ISDIR(e->mode)) {
        if (e->size != 0) {
            snprintf(err, len, "cpio: %s: a directory has no data", e->name);
            return -1;
        }
    } else {
        snprintf(err, len, "cpio: %s: only regular files and directories", e->name);
        return -1;
    }
    return 0;
}

/* Header, name, padding, data, padding; adds the bytes to *off; 0 or -1. */
static int
put_entry(FILE *f, uint32_t ino, uint32_t mode, uint32_t nlink, const char *name,
          const void *data, size_t size, size_t *off)
{
    char hdr[CPIO_HEADER_LEN + 1];
    size_t nl = strlen(name) + 1;
    snprintf(hdr, sizeof hdr,
             "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u, 0u,
             nlink, 0u, (uint32_t) size, 0u, 0u, 0u, 0u, (uint32_t) nl, 0u);
    if (fwrite(hdr, 1, CPIO_HEADER_LEN, f) != CPIO_HEADER_LEN || fwrite(name, 1, nl, f) != nl)
        return -1;
    *off += CPIO_HEADER_LEN + nl;
    size_t p = pad4(*off);
    if (p && fwrite(zeros, 1, p, f) != p)
        return -1;
    *off += p;
    if (size && fwrite(data, 1, size, f) != size)
        return -1;
    *off += size;
    p = pad4(*off);
    if (p && fwrite(zeros, 1, p, f) != p)
        return -1;
    *off += p;
    return 0;
}

long
cpio_newc_write(FILE *f, const cpio_entry_t *entries, int n, char *err, size_t len)
{
    size_t off = 0;
    if (!f || n < 0 || (n > 0 && !entries)) {
        snprintf(err, len, "cpio: bad arguments");
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (entry_valid(&entries[i], err, len) != 0)
            return -1;
    for (int i = 0; i < n; i++) {
        const cpio_entry_t *e = &entries[i];
        if (put_entry(f, (uint32_t) i + 1, e->mode, S_ISDIR(e->mode) ? 2 : 1, e->name, e->data,
                      e->size, &off) != 0)
            goto werr;
    }
    if (put_entry(f, 0, 0, 1, CPIO_TRAILER, NULL, 0, &off) != 0)
        goto werr;
    return (long) off;
werr:
    snprintf(err, len, "cpio: write failed after %zu bytes", off);
    return -1;
}
