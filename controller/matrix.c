/*
 * matrix.c — experiment matrices: parse, validate and expand into runs.
 *
 * The file is parsed by jansson (duplicate keys refused) and then validated
 * by hand, section by section in document order, so that the first problem
 * in the file is the one reported, with its JSON path; ferr_set() turns the
 * path into a line and column.  Checks that relate sections (a parameter
 * both fixed and varied, a matrix with no runs left) come after.
 *
 * Expansion makes one params object per parameter point (the cartesian
 * product of the vary lists, first key slowest, minus exclusions); the runs
 * are the points repeated `repetitions` times, repetition-major, so run i is
 * point i % npoints of repetition i / npoints + 1 and nothing per run needs
 * storing.
 */
#include "matrix.h"
#include "ferr.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATRIX_MAX_RUNS 1000000 /* runs after expansion: a larger matrix is refused */
#define MATRIX_PATH_MAX 512

typedef enum { PARAM_ENUM, PARAM_INT, PARAM_NUM } param_type_t;

typedef struct {
    const char *name;
    param_type_t type;
    const char *const *values; /* PARAM_ENUM: NULL-terminated allowed values */
    long long min, max;        /* PARAM_INT: inclusive range */
    const char *def_str;       /* PARAM_ENUM default */
    long long def_int;         /* PARAM_INT / PARAM_NUM default */
} param_t;

static const char *const networks[] = { "none", "host", "container", "bridge", "macvlan",
                                        "ipvlan", "nat", "overlay", "routing", NULL };
static const char *const placements[] = { "same-host", "cross-host", NULL };
static const char *const nestings[] = { "bare", "vm", NULL };
static const char *const traffics[] = { "tcp_stream", "udp_stream", "tcp_rr", "udp_rr",
                                        "tcp_crr", NULL };

#define DURATION_MAX_S 86400

/* The parameters in the order every run's params object lists them. */
static const param_t params[] = {
    { "network", PARAM_ENUM, networks, 0, 0, "host", 0 },
    { "placement", PARAM_ENUM, placements, 0, 0, "same-host", 0 },
    { "nesting", PARAM_ENUM, nestings, 0, 0, "bare", 0 },
    { "traffic", PARAM_ENUM, traffics, 0, 0, "tcp_stream", 0 },
    { "size", PARAM_INT, NULL, 1, 1048576, NULL, 1448 },
    { "streams", PARAM_INT, NULL, 1, 128, NULL, 1 },
    { "duration_s", PARAM_NUM, NULL, 0, DURATION_MAX_S, NULL, 10 },
    /* overlay: the VXLAN MTU in bytes; 0 = the underlay's MTU - 50 (CASES.md case 2) */
    { "mtu", PARAM_INT, NULL, 0, 65535, NULL, 0 },
};
#define NPARAMS ((int)(sizeof params / sizeof params[0]))

struct matrix {
    char *name;      /* owned */
    json_t *doc;     /* owned: the document as loaded */
    json_t *points;  /* owned: array of complete params objects */
    int npoints;     /* >= 1 */
    int repetitions; /* 1..1000 */
};

/* What every check needs to report an error. */
typedef struct {
    const char *file;
    const char *text;
    size_t len;
    char *err;
} vctx_t;

/* A printable, bounded copy of a string from the input, for messages. */
static const char *
printable(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; s[i] && i + 1 < size; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

static void
path_key(char *out, const char *parent, const char *key)
{
    if (snprintf(out, MATRIX_PATH_MAX, "%s.%s", parent, key) >= MATRIX_PATH_MAX)
        out[MATRIX_PATH_MAX - 1] = '\0';
}

static void
path_index(char *out, const char *parent, size_t i)
{
    if (snprintf(out, MATRIX_PATH_MAX, "%s[%zu]", parent, i) >= MATRIX_PATH_MAX)
        out[MATRIX_PATH_MAX - 1] = '\0';
}

static const param_t *
param_find(const char *name)
{
    for (int i = 0; i < NPARAMS; i++)
        if (strcmp(params[i].name, name) == 0)
            return &params[i];
    return NULL;
}

static int
param_index(const param_t *p)
{
    return (int)(p - params);
}

static int
unknown_key(const vctx_t *c, const char *path, const char *key)
{
    char buf[128];
    ferr_set(c->err, c->file, c->text, c->len, path, "unknown key \"%s\"",
             printable(key, buf, sizeof buf));
    return -1;
}

static int
wrong_type(const vctx_t *c, const char *path, const char *want, const json_t *v)
{
    ferr_set(c->err, c->file, c->text, c->len, path, "must be %s (got %s)", want,
             ferr_type_name(v));
    return -1;
}

/* Checks one parameter value (in fixed, vary or exclude).  Returns 0 or -1. */
static int
check_param_value(const vctx_t *c, const param_t *p, const json_t *v, const char *path)
{
    char buf[128], list[256];

    switch (p->type) {
    case PARAM_ENUM:
        if (!json_is_string(v))
            return wrong_type(c, path, "a string", v);
        for (int i = 0; p->values[i]; i++)
            if (strcmp(json_string_value(v), p->values[i]) == 0)
                return 0;
        list[0] = '\0';
        for (int i = 0; p->values[i]; i++) {
            if (i)
                strcat(list, ", ");
            strcat(list, p->values[i]);
        }
        ferr_set(c->err, c->file, c->text, c->len, path, "unknown %s \"%s\" (one of %s)",
                 p->name, printable(json_string_value(v), buf, sizeof buf), list);
        return -1;
    case PARAM_INT:
        if (!json_is_integer(v))
            return wrong_type(c, path, "an integer", v);
        if (json_integer_value(v) < p->min || json_integer_value(v) > p->max) {
            ferr_set(c->err, c->file, c->text, c->len, path,
                     "must be between %lld and %lld (got %lld)", p->min, p->max,
                     (long long)json_integer_value(v));
            return -1;
        }
        return 0;
    case PARAM_NUM:
        if (!json_is_number(v))
            return wrong_type(c, path, "a number", v);
        if (!(json_number_value(v) > 0 && json_number_value(v) <= (double)p->max)) {
            if (json_is_integer(v))
                snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
            else
                snprintf(buf, sizeof buf, "%g", json_real_value(v));
            ferr_set(c->err, c->file, c->text, c->len, path,
                     "must be > 0 and <= %lld (got %s)", p->max, buf);
            return -1;
        }
        return 0;
    }
    return -1;
}

static bool
name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

/* $.fixed: an object of parameter values. */
static int
check_fixed(const vctx_t *c, const json_t *fixed)
{
    char path[MATRIX_PATH_MAX];
    const char *key;
    json_t *v;

    if (!json_is_object(fixed))
        return wrong_type(c, "$.fixed", "an object", fixed);
    json_object_foreach((json_t *)fixed, key, v) {
        const param_t *p = param_find(key);
        path_key(path, "$.fixed", key);
        if (!p)
            return unknown_key(c, path, key);
        if (check_param_value(c, p, v, path) < 0)
            return -1;
    }
    return 0;
}

/* $.vary: an object of non-empty lists of parameter values. */
static int
check_vary(const vctx_t *c, const json_t *vary)
{
    char path[MATRIX_PATH_MAX], epath[MATRIX_PATH_MAX];
    const char *key;
    json_t *v;

    if (!json_is_object(vary))
        return wrong_type(c, "$.vary", "an object", vary);
    json_object_foreach((json_t *)vary, key, v) {
        const param_t *p = param_find(key);
        path_key(path, "$.vary", key);
        if (!p)
            return unknown_key(c, path, key);
        if (!json_is_array(v))
            return wrong_type(c, path, "an array", v);
        if (json_array_size(v) == 0) {
            ferr_set(c->err, c->file, c->text, c->len, path, "must not be empty");
            return -1;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            path_index(epath, path, i);
            if (check_param_value(c, p, json_array_get(v, i), epath) < 0)
                return -1;
        }
    }
    return 0;
}

/* $.exclude: an array of objects, each a partial assignment of parameters. */
static int
check_exclude(const vctx_t *c, const json_t *exclude)
{
    char path[MATRIX_PATH_MAX], kpath[MATRIX_PATH_MAX], buf[128];
    const char *key;
    json_t *v;

    if (!json_is_array(exclude))
        return wrong_type(c, "$.exclude", "an array", exclude);
    for (size_t i = 0; i < json_array_size(exclude); i++) {
        json_t *entry = json_array_get(exclude, i);
        path_index(path, "$.exclude", i);
        if (!json_is_object(entry))
            return wrong_type(c, path, "an object", entry);
        json_object_foreach(entry, key, v) {
            const param_t *p = param_find(key);
            path_key(kpath, path, key);
            if (!p) {
                ferr_set(c->err, c->file, c->text, c->len, kpath, "unknown parameter \"%s\"",
                         printable(key, buf, sizeof buf));
                return -1;
            }
            if (check_param_value(c, p, v, kpath) < 0)
                return -1;
        }
    }
    return 0;
}

/* Every key of the document, in document order. */
static int
check_document(const vctx_t *c, const json_t *doc)
{
    char path[MATRIX_PATH_MAX];
    const char *key;
    json_t *v;

    if (!json_is_object(doc))
        return wrong_type(c, "$", "an object", doc);
    json_object_foreach((json_t *)doc, key, v) {
        path_key(path, "$", key);
        if (strcmp(key, "name") == 0) {
            if (!json_is_string(v))
                return wrong_type(c, path, "a string", v);
            if (!name_ok(json_string_value(v))) {
                ferr_set(c->err, c->file, c->text, c->len, path,
                         "must match [A-Za-z0-9_.-]{1,64}");
                return -1;
            }
        } else if (strcmp(key, "fixed") == 0) {
            if (check_fixed(c, v) < 0)
                return -1;
        } else if (strcmp(key, "vary") == 0) {
            if (check_vary(c, v) < 0)
                return -1;
        } else if (strcmp(key, "exclude") == 0) {
            if (check_exclude(c, v) < 0)
                return -1;
        } else if (strcmp(key, "repetitions") == 0) {
            if (!json_is_integer(v))
                return wrong_type(c, path, "an integer", v);
            if (json_integer_value(v) < 1 || json_integer_value(v) > 1000) {
                ferr_set(c->err, c->file, c->text, c->len, path,
                         "must be between 1 and 1000 (got %lld)",
                         (long long)json_integer_value(v));
                return -1;
            }
        } else {
            return unknown_key(c, path, key);
        }
    }
    /* A parameter may be fixed or varied, not both. */
    json_t *fixed = json_object_get(doc, "fixed"), *vary = json_object_get(doc, "vary");
    if (fixed && vary) {
        json_object_foreach(vary, key, v) {
            if (json_object_get(fixed, key)) {
                path_key(path, "$.vary", key);
                ferr_set(c->err, c->file, c->text, c->len, path, "parameter is also fixed");
                return -1;
            }
        }
    }
    return 0;
}

/* Two valid values of one parameter are equal (3 and 3.0 are). */
static bool
value_equal(const json_t *a, const json_t *b)
{
    if (json_is_string(a) && json_is_string(b))
        return strcmp(json_string_value(a), json_string_value(b)) == 0;
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return false;
}

static bool
point_excluded(const json_t *point, const json_t *exclude)
{
    for (size_t i = 0; i < json_array_size(exclude); i++) {
        json_t *entry = json_array_get(exclude, i), *v;
        const char *key;
        bool all = true;
        json_object_foreach(entry, key, v) {
            if (!value_equal(json_object_get(point, key), v)) {
                all = false;
                break;
            }
        }
        if (all)
            return true;
    }
    return false;
}

/*
 * Expands the validated document into self->points.  Returns 0, or -1 with
 * an error (no runs left, too many runs, out of memory).
 */
static int
expand(const vctx_t *c, matrix_t *self)
{
    json_t *fixed = json_object_get(self->doc, "fixed");
    json_t *vary = json_object_get(self->doc, "vary");
    json_t *exclude = json_object_get(self->doc, "exclude");
    json_t *lists[NPARAMS];     /* vary lists in file order */
    int list_param[NPARAMS];    /* the parameter of each list */
    size_t cursor[NPARAMS] = { 0 };
    int nlists = 0, rc = -1;
    long long total = 1;
    const char *key;
    json_t *v, *point = NULL;

    if (vary) {
        json_object_foreach(vary, key, v) {
            lists[nlists] = v;
            list_param[nlists] = param_index(param_find(key));
            total *= (long long)json_array_size(v);
            if (total > MATRIX_MAX_RUNS) {
                ferr_set(c->err, c->file, c->text, c->len, "$",
                         "the matrix expands to more than %d runs", MATRIX_MAX_RUNS);
                goto out;
            }
            nlists++;
        }
    }
    self->points = json_array();
    if (!self->points)
        goto nomem;
    for (long long n = 0; n < total; n++) {
        const json_t *chosen[NPARAMS] = { NULL };
        for (int l = 0; l < nlists; l++)
            chosen[list_param[l]] = json_array_get(lists[l], cursor[l]);
        point = json_object();
        if (!point)
            goto nomem;
        for (int i = 0; i < NPARAMS; i++) {
            json_t *val;
            if (chosen[i])
                val = json_incref((json_t *)chosen[i]);
            else if (fixed && json_object_get(fixed, params[i].name))
                val = json_incref(json_object_get(fixed, params[i].name));
            else if (params[i].type == PARAM_ENUM)
                val = json_string(params[i].def_str);
            else
                val = json_integer(params[i].def_int);
            if (json_object_set_new(point, params[i].name, val) < 0)
                goto nomem;
        }
        if (exclude && point_excluded(point, exclude)) {
            json_decref(point);
        } else if (json_array_append_new(self->points, point) < 0) {
            point = NULL;
            goto nomem;
        }
        point = NULL;
        /* Advance the odometer: the last list varies fastest. */
        for (int l = nlists - 1; l >= 0; l--) {
            if (++cursor[l] < json_array_size(lists[l]))
                break;
            cursor[l] = 0;
        }
    }
    self->npoints = (int)json_array_size(self->points);
    if (self->npoints == 0) {
        ferr_set(c->err, c->file, c->text, c->len, "$",
                 "the matrix expands to no runs (every point is excluded)");
        goto out;
    }
    if ((long long)self->npoints * self->repetitions > MATRIX_MAX_RUNS) {
        ferr_set(c->err, c->file, c->text, c->len, "$",
                 "the matrix expands to more than %d runs", MATRIX_MAX_RUNS);
        goto out;
    }
    rc = 0;
    goto out;
nomem:
    ferr_set(c->err, c->file, NULL, 0, "$", "out of memory");
out:
    json_decref(point);
    return rc;
}

/* The file's base name without ".json": the default matrix name. */
static char *
default_name(const char *file)
{
    const char *base = file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : (file ? file : "matrix");
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0)
        n -= 5;
    return strndup(base, n);
}

matrix_t *
matrix_load_text(const char *file, const char *text, size_t len, char *err)
{
    vctx_t c = { file ? file : "(input)", text, len, err };
    matrix_t *self = NULL;
    json_error_t jerr;
    json_t *reps;

    self = calloc(1, sizeof *self);
    if (!self) {
        ferr_set(err, c.file, NULL, 0, "$", "out of memory");
        goto fail;
    }
    self->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!self->doc) {
        ferr_json_syntax(err, c.file, &jerr);
        goto fail;
    }
    if (check_document(&c, self->doc) < 0)
        goto fail;
    reps = json_object_get(self->doc, "repetitions");
    self->repetitions = reps ? (int)json_integer_value(reps) : 1;
    if (expand(&c, self) < 0)
        goto fail;
    if (json_object_get(self->doc, "name"))
        self->name = strdup(json_string_value(json_object_get(self->doc, "name")));
    else
        self->name = default_name(c.file);
    if (!self->name) {
        ferr_set(err, c.file, NULL, 0, "$", "out of memory");
        goto fail;
    }
    return self;
fail:
    matrix_destroy(&self);
    return NULL;
}

matrix_t *
matrix_load_file(const char *path, char *err)
{
    size_t len;
    char *text = ferr_read_file(path, &len, err);
    matrix_t *self = NULL;

    if (!text)
        goto out;
    self = matrix_load_text(path, text, len, err);
out:
    free(text);
    return self;
}

void
matrix_destroy(matrix_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    matrix_t *self = *self_p;
    free(self->name);
    json_decref(self->doc);
    json_decref(self->points);
    free(self);
    *self_p = NULL;
}

const char *
matrix_name(const matrix_t *self)
{
    return self->name;
}

const json_t *
matrix_document(const matrix_t *self)
{
    return self->doc;
}

int
matrix_run_count(const matrix_t *self)
{
    return self->npoints * self->repetitions;
}

const json_t *
matrix_run_params(const matrix_t *self, int i)
{
    if (i < 0 || i >= matrix_run_count(self))
        return NULL;
    return json_array_get(self->points, (size_t)(i % self->npoints));
}

int
matrix_run_repetition(const matrix_t *self, int i)
{
    if (i < 0 || i >= matrix_run_count(self))
        return -1;
    return i / self->npoints + 1;
}

int
matrix_run_point(const matrix_t *self, int i)
{
    if (i < 0 || i >= matrix_run_count(self))
        return -1;
    return i % self->npoints;
}
