/*
 * ferr.c — the one-line error for bad input files: "FILE:LINE:COL: PATH: msg".
 *
 * Validators work on the parsed jansson tree, which has no positions, and
 * know only the JSON path of what they refuse; ferr_set() finds the position
 * by walking the original text with jsonpos_locate().  Also here: jansson's
 * syntax errors in the same shape, the type names used in messages, and the
 * reading of an input file with the error an unreadable file gets.
 */
#include "ferr.h"
#include "jsonpos.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FERR_FILE_MAX (16u * 1024u * 1024u) /* bytes: larger input files are refused */

/* Marks a truncated message so that the reader knows it was cut. */
static void
ferr_mark_truncated(char *err)
{
    memcpy(err + FERR_MAX - 4, "...", 4);
}

void
ferr_set(char *err, const char *file, const char *text, size_t len, const char *path,
         const char *fmt, ...)
{
    char msg[FERR_MAX];
    va_list ap;
    int line, column, n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(msg, sizeof msg, "(unprintable message)");
    if (!file)
        file = "(input)";
    if (!path)
        path = "$";
    if (text && jsonpos_locate(text, len, path, &line, &column) == 0)
        n = snprintf(err, FERR_MAX, "%s:%d:%d: %s: %s", file, line, column, path, msg);
    else
        n = snprintf(err, FERR_MAX, "%s: %s: %s", file, path, msg);
    if (n >= FERR_MAX)
        ferr_mark_truncated(err);
}

void
ferr_json_syntax(char *err, const char *file, const json_error_t *jerr)
{
    int n;

    if (!file)
        file = "(input)";
    if (jerr->line > 0)
        n = snprintf(err, FERR_MAX, "%s:%d:%d: $: invalid JSON: %s", file, jerr->line,
                     jerr->column > 0 ? jerr->column : 1, jerr->text);
    else
        n = snprintf(err, FERR_MAX, "%s: $: invalid JSON: %s", file, jerr->text);
    if (n >= FERR_MAX)
        ferr_mark_truncated(err);
}

int
ferr_json_text_check(char *err, const char *file, const char *text, size_t len)
{
    const char *nul;
    int line = 1, col = 1;

    if (!file)
        file = "(input)";
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        snprintf(err, FERR_MAX, "%s:1:1: $: the file starts with a UTF-8 byte order mark "
                                "(EF BB BF), which JSON does not allow: save it without one",
                 file);
        return -1;
    }
    nul = memchr(text, '\0', len);
    if (!nul)
        return 0;
    for (const char *p = text; p < nul; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*p & 0xC0) != 0x80) {
            col++;
        }
    }
    snprintf(err, FERR_MAX, "%s:%d:%d: $: a NUL byte in the text (offset %zu): not a JSON text "
                            "file", file, line, col, (size_t)(nul - text));
    return -1;
}

const char *
ferr_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "object";
    case JSON_ARRAY:   return "array";
    case JSON_STRING:  return "string";
    case JSON_INTEGER: return "number";
    case JSON_REAL:    return "number";
    case JSON_TRUE:    return "boolean";
    case JSON_FALSE:   return "boolean";
    case JSON_NULL:    return "null";
    }
    return "unknown";
}

int
ferr_read_text(const char *path, char *buf, size_t len)
{
    int fd, e;
    ssize_t k;

    if (!buf || len == 0)
        return -1;
    buf[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    k = read(fd, buf, len - 1);
    e = errno;
    close(fd);
    if (k < 0) {
        errno = e;
        return -1;
    }
    buf[k] = '\0';
    while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == '\r'))
        buf[--k] = '\0';
    return 0;
}

char *
ferr_read_file(const char *path, size_t *len, char *err)
{
    FILE *f = NULL;
    char *buf = NULL, *ret = NULL;
    size_t size = 0, cap = 0;
    int n;

    *len = 0;
    f = fopen(path, "rb");
    if (!f)
        goto fail;
    for (;;) {
        if (size == cap) {
            if (cap >= FERR_FILE_MAX) {
                errno = EFBIG;
                goto fail;
            }
            size_t ncap = cap ? cap * 2 : 4096;
            char *nbuf = realloc(buf, ncap + 1);
            if (!nbuf)
                goto fail;
            buf = nbuf;
            cap = ncap;
        }
        errno = 0;
        size_t got = fread(buf + size, 1, cap - size, f);
        size += got;
        if (got == 0) {
            if (ferror(f)) {
                errno = errno ? errno : EIO;
                goto fail;
            }
            break;
        }
    }
    if (size > FERR_FILE_MAX) {
        errno = EFBIG;
        goto fail;
    }
    buf[size] = '\0';
    *len = size;
    ret = buf;
    buf = NULL;
    goto out;
fail:
    n = snprintf(err, FERR_MAX, "%s: cannot read: %s", path, strerror(errno));
    if (n >= FERR_MAX)
        ferr_mark_truncated(err);
out:
    if (f)
        fclose(f);
    free(buf);
    return ret;
}

const char *
ferr_printable(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; s[i] && i + 1 < size; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

void
ferr_path_key(char *out, size_t size, const char *parent, const char *key)
{
    if ((size_t) snprintf(out, size, "%s.%s", parent, key) >= size)
        out[size - 1] = '\0';
}

void
ferr_path_index(char *out, size_t size, const char *parent, size_t i)
{
    if ((size_t) snprintf(out, size, "%s[%zu]", parent, i) >= size)
        out[size - 1] = '\0';
}

int
ferr_unknown_key(const ferr_ctx_t *c, const char *path, const char *key)
{
    char buf[128];
    ferr_set(c->err, c->file, c->text, c->len, path, "unknown key \"%s\"",
             ferr_printable(key, buf, sizeof buf));
    return -1;
}

int
ferr_wrong_type(const ferr_ctx_t *c, const char *path, const char *want, const json_t *v)
{
    ferr_set(c->err, c->file, c->text, c->len, path, "must be %s (got %s)", want,
             ferr_type_name(v));
    return -1;
}
