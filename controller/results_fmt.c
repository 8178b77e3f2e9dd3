/*
 * results_fmt.c — the output helpers of the results module: printf into a
 * fresh string, RFC 4180 CSV fields and numbers, units as identifiers, the
 * scale a table shows values in (bit/s as Gbit/s, three significant digits
 * for small values), SQLite cells as text or JSON, and one aligned text
 * table (cells collected, then printed with each column as wide as its
 * widest cell).
 */
#include "results_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

char *
results_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* Writes one CSV field, quoted when it holds a comma, quote or line break. */
void
results_csv_field(FILE *out, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* A number in CSV: 15 significant digits, empty when not finite. */
void
results_csv_num(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.15g", v);
}

/* "bit/s" -> "bit_per_s", "%" -> "pct": a unit as part of an identifier. */
void
results_unit_ident(const char *unit, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (const char *p = unit; p && *p && o + 6 < len; p++) {
        if (*p == '/') {
            memcpy(buf + o, "_per_", 5);
            o += 5;
        } else if (*p == '%') {
            memcpy(buf + o, "pct", 3);
            o += 3;
        } else if (isalnum((unsigned char)*p)) {
            buf[o++] = (char)tolower((unsigned char)*p);
        } else if (o > 0 && buf[o - 1] != '_') {
            buf[o++] = '_';
        }
    }
    buf[o] = '\0';
}

results_scale_t
results_scale(const char *unit, double maxabs)
{
    results_scale_t s = { 1.0, unit, 2 };

    if (unit && strcmp(unit, "bit/s") == 0) {
        if (maxabs >= 1e9) {
            s.div = 1e9;
            s.unit = "Gbit/s";
        } else if (maxabs >= 1e6) {
            s.div = 1e6;
            s.unit = "Mbit/s";
        } else if (maxabs >= 1e3) {
            s.div = 1e3;
            s.unit = "kbit/s";
        }
    }
    maxabs /= s.div;
    /* Small values (ratios, fractions of a ms) keep three significant digits. */
    if (maxabs > 0 && maxabs < 1) {
        int d = 3 - (int)floor(log10(maxabs));

        s.decimals = d > 9 ? 9 : d;
    }
    return s;
}

/* Appends a row of ncols cells taking ownership of them; 0 or -1. */
int
results_table_add(results_table_t *t, char **cells)
{
    int rc = 0;

    for (int i = 0; i < t->ncols; i++)
        if (!cells[i])
            rc = -1;
    if (rc == 0 && t->nrows == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cell, (size_t)cap * (size_t)t->ncols * sizeof *c);

        if (c) {
            t->cell = c;
            t->cap = cap;
        } else {
            rc = -1;
        }
    }
    if (rc < 0) {
        for (int i = 0; i < t->ncols; i++)
            free(cells[i]);
        return -1;
    }
    memcpy(t->cell + (size_t)t->nrows * (size_t)t->ncols, cells,
           (size_t)t->ncols * sizeof *cells);
    t->nrows++;
    return 0;
}

void
results_table_print(const results_table_t *t, FILE *out)
{
    int w[32] = { 0 };

    for (int r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols && c < 32; c++) {
            int len = (int)strlen(t->cell[r * t->ncols + c]);

            if (len > w[c])
                w[c] = len;
        }
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols && c < 32; c++) {
            const char *s = t->cell[r * t->ncols + c];
            bool last = c == t->ncols - 1;

            if (c > 0)
                fputs("  ", out);
            if (t->align[c] == 'r')
                fprintf(out, "%*s", w[c], s);
            else if (last)
                fputs(s, out);
            else
                fprintf(out, "%-*s", w[c], s);
        }
        fputc('\n', out);
    }
}

void
results_table_free(results_table_t *t)
{
    for (int i = 0; i < t->nrows * t->ncols; i++)
        free(t->cell[i]);
    free(t->cell);
    t->cell = NULL;
    t->nrows = t->cap = 0;
}

/* A column as a fresh string; NULL SQL values become dflt. */
char *
results_col(sqlite3_stmt *st, int col, const char *dflt)
{
    const char *v = (const char *)sqlite3_column_text(st, col);

    return strdup(v ? v : dflt);
}

/* A column as JSON: null, an integer, a real or a string. */
json_t *
results_col_json(sqlite3_stmt *st, int col)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL:
        return json_null();
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, col));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, col));
    default:
        return json_string((const char *)sqlite3_column_text(st, col));
    }
}
