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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
