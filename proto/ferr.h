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

#include <jansson.h>
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

/*
 * Formats a JSON syntax error reported by jansson (json_loadb and friends):
 * "file:line:col: $: invalid JSON: <jansson's text>", or "file: $: invalid
 * JSON: ..." when jansson gives no line.  Line and column are jansson's
 * (1-based, column in characters; the column 0 jansson gives at the end of
 * the input is written as 1).  Never fails.
 */
void ferr_json_syntax(char *err, const char *file, const json_error_t *jerr);

/*
 * Refuses, before parsing, what jansson would report in words that hide
 * the cause: a UTF-8 byte order mark at the start (EF BB BF; RFC 8259 §8.1:
 * "MUST NOT add a byte order mark") and a NUL byte in the text (a file cut
 * or padded by a tool).  0 when the text has neither; -1 with
 * "file:line:col: $: ..." in err (FERR_MAX bytes).  text is len bytes.
 */
int ferr_json_text_check(char *err, const char *file, const char *text, size_t len);

/*
 * The name of a JSON value's type as error messages spell it: "object",
 * "array", "string", "number" (integer or real), "boolean", "null".
 * Returns a static string.
 */
const char *ferr_type_name(const json_t *v);

/*
 * Reads the whole file at `path` (at most 16 MiB) into a fresh NUL-terminated
 * buffer (caller frees) and sets *len to its size in bytes.  Returns NULL
 * with "path: cannot read: <strerror>" in err (FERR_MAX bytes) on failure.
 */
char *ferr_read_file(const char *path, size_t *len, char *err);

/*
 * Reads a small text file (a pid file, a /proc or /sys or cgroupfs value, a
 * journal entry) into buf: at most len - 1 bytes, NUL-terminated, trailing
 * newlines ("\n", "\r") cut.  0, or -1 with errno set (open or read failed;
 * buf is then "").  Callers wanting only the first line cut at the first
 * newline themselves.
 */
int ferr_read_text(const char *path, char *buf, size_t len);

/*
 * What every check of a file needs to report an error: the file name, its
 * text (for positions) and the caller's FERR_MAX buffer.  Shared by the
 * matrix and testbed loaders.
 */
typedef struct {
    const char *file;
    const char *text;
    size_t len;
    char *err;
} ferr_ctx_t;

/*
 * A printable, bounded copy of a string from the input, for messages: bytes
 * outside 0x20..0x7e and '"' become '?'.  Writes at most size bytes into buf
 * and returns buf.
 */
const char *ferr_printable(const char *s, char *buf, size_t size);

/* Writes "parent.key" / "parent[i]" into out (size bytes, truncated). */
void ferr_path_key(char *out, size_t size, const char *parent, const char *key);
void ferr_path_index(char *out, size_t size, const char *parent, size_t i);

/* Sets `PATH: unknown key "KEY"` (KEY made printable); returns -1. */
int ferr_unknown_key(const ferr_ctx_t *c, const char *path, const char *key);

/* Sets `PATH: must be WANT (got TYPE)`; returns -1. */
int ferr_wrong_type(const ferr_ctx_t *c, const char *path, const char *want, const json_t *v);

#endif
