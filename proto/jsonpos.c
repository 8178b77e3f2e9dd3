/*
 * jsonpos.c — walk raw JSON text along a path ("$.vary.network[2]") and say
 * on which line and column the value starts.
 *
 * A small recursive-descent scanner over the bytes: it recognises strings
 * (with escapes), numbers, the literals true/false/null, objects and arrays,
 * and nothing more.  It never allocates and never builds values: skipping a
 * value only checks that it is well-formed.  Object keys are compared as raw
 * bytes between the quotes, so a key written with escapes is not matched
 * (documented in jsonpos.h).  Nesting is limited to JSONPOS_MAX_DEPTH levels,
 * jansson's own limit, so that hostile input cannot exhaust the stack.
 */
#include "jsonpos.h"

#include <stdbool.h>
#include <string.h>

#define JSONPOS_MAX_DEPTH 2048

typedef struct {
    const char *p;   /* next byte to read */
    const char *end; /* one past the last byte */
    int depth;       /* current nesting of objects and arrays */
} scan_t;

static int skip_value(scan_t *s);

static void
skip_ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool
is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* At an opening quote: moves past the closing quote.  Returns 0 or -1. */
static int
skip_string(scan_t *s)
{
    if (s->p >= s->end || *s->p != '"')
        return -1;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            s->p++;
            if (s->p >= s->end)
                return -1;
            switch (*s->p) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                s->p++;
                break;
            case 'u':
                if (s->end - s->p < 5)
                    return -1;
                for (int i = 1; i <= 4; i++)
                    if (!is_hex(s->p[i]))
                        return -1;
                s->p += 5;
                break;
            default:
                return -1;
            }
            continue;
        }
        s->p++;
    }
    return -1;
}

static int
skip_digits(scan_t *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start ? 0 : -1;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
skip_number(scan_t *s)
{
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p >= s->end)
        return -1;
    if (*s->p == '0')
        s->p++;
    else if (skip_digits(s) < 0)
        return -1;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (skip_digits(s) < 0)
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (skip_digits(s) < 0)
            return -1;
    }
    return 0;
}

static int
skip_literal(scan_t *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

/* At '{' or '[': moves past the matching bracket. */
static int
skip_container(scan_t *s)
{
    char close = *s->p == '{' ? '}' : ']';
    bool object = close == '}';
    int rc = -1;

    if (++s->depth > JSONPOS_MAX_DEPTH)
        goto out;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        rc = 0;
        goto out;
    }
    for (;;) {
        if (object) {
            if (skip_string(s) < 0)
                goto out;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                goto out;
            s->p++;
            skip_ws(s);
        }
        if (skip_value(s) < 0)
            goto out;
        skip_ws(s);
        if (s->p >= s->end)
            goto out;
        if (*s->p == close) {
            s->p++;
            break;
        }
        if (*s->p != ',')
            goto out;
        s->p++;
        skip_ws(s);
    }
    rc = 0;
out:
    s->depth--;
    return rc;
}

/* At the first byte of a value (whitespace already skipped). */
static int
skip_value(scan_t *s)
{
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '{': case '[':
        return skip_container(s);
    case '"':
        return skip_string(s);
    case 't':
        return skip_literal(s, "true");
    case 'f':
        return skip_literal(s, "false");
    case 'n':
        return skip_literal(s, "null");
    default:
        return skip_number(s);
    }
}

/*
 * Inside the object at s->p ('{'): finds member `key` (klen bytes) and leaves
 * s->p at its value.  Returns 1 found, 0 absent (object fully scanned), -1
 * malformed.
 */
static int
find_member(scan_t *s, const char *key, size_t klen)
{
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}')
        return 0;
    for (;;) {
        const char *kstart = s->p + 1;
        if (skip_string(s) < 0)
            return -1;
        bool match = (size_t)(s->p - 1 - kstart) == klen && memcmp(kstart, key, klen) == 0;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return -1;
        s->p++;
        skip_ws(s);
        if (match)
            return 1;
        if (skip_value(s) < 0)
            return -1;
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == '}')
            return 0;
        if (*s->p != ',')
            return -1;
        s->p++;
        skip_ws(s);
    }
}

/* Inside the array at s->p ('['): leaves s->p at element `index`.  1/0/-1 as above. */
static int
find_element(scan_t *s, unsigned long index)
{
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']')
        return 0;
    for (unsigned long i = 0;; i++) {
        if (i == index)
            return 1;
        if (skip_value(s) < 0)
            return -1;
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ']')
            return 0;
        if (*s->p != ',')
            return -1;
        s->p++;
        skip_ws(s);
    }
}

int
jsonpos_locate(const char *text, size_t len, const char *path, int *line, int *column)
{
    scan_t s = { text, text + len, 0 };
    const char *found = NULL;
    const char *q = path;
    int rc = -1;

    *line = *column = 0;
    if (!text || !path || *q != '$')
        goto out;
    q++;
    skip_ws(&s);
    while (*q) {
        if (s.p >= s.end)
            goto out;
        if (*q == '.') {
            const char *key = ++q;
            while (*q && *q != '.' && *q != '[')
                q++;
            if (*s.p != '{')
                goto out;
            const char *obj = s.p;
            int r = find_member(&s, key, (size_t)(q - key));
            if (r < 0)
                goto out;
            if (r == 0) {
                if (*q)
                    goto out;      /* an absent key in the middle: cannot follow */
                found = obj;       /* an absent last key: the enclosing object */
                break;
            }
        } else if (*q == '[') {
            unsigned long index = 0;
            q++;
            if (*q < '0' || *q > '9')
                goto out;
            while (*q >= '0' && *q <= '9') {
                if (index > 100000000UL)
                    goto out;
                index = index * 10 + (unsigned long)(*q++ - '0');
            }
            if (*q++ != ']')
                goto out;
            if (*s.p != '[')
                goto out;
            if (find_element(&s, index) != 1)
                goto out;
        } else {
            goto out;
        }
    }
    if (!found) {
        found = s.p;
        if (skip_value(&s) < 0)
            goto out;
    }
    {
        int l = 1, c = 1;
        for (const char *p = text; p < found; p++) {
            if (*p == '\n') {
                l++;
                c = 1;
            } else {
                c++;
            }
        }
        *line = l;
        *column = c;
    }
    rc = 0;
out:
    return rc;
}
