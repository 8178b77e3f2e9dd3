/*
 * ferr.h — the one-line error for bad input files.
 *
 * Every refusal of a testbed, matrix or message reads
 *     FILE:LINE:COLUMN: PATH: what is wrong
 * for example
 *     demo.json:4:19: $.fixed.duration_s: must be a number > 0 (got -3)
 * so that an editor can jump to it; the CLI prints it and exits 2.
 */
#ifndef CNTB_FERR_H
#define CNTB_FERR_H

#include <stddef.h>

#define FERR_MAX 1024

/*
 * Formats the message into err (FERR_MAX bytes): locates `path` in `text`
 * (len bytes) with jsonpos_locate() and writes "file:line:col: path: msg".
 * When the path cannot be located, writes "file: path: msg".
 * `text` may be NULL (then no position is given).  Never fails.
 */
void ferr_set(char *err, const char *file, const char *text, size_t len, const char *path,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
