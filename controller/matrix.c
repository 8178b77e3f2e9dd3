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
 * product of the vary lists, first key slowest, minus exclusions, plus the
 * include points; include entries without vary lists are the only points);
 * the runs are the points repeated `repetitions` times,
 * repetition-major, so sequential run j is point j % npoints of repetition
 * j / npoints + 1.  The execution order is a permutation of j kept in
 * `order[]`: the identity for "sequential"; for "random", each repetition's
 * block of points is shuffled on its own (a randomised complete block
 * design: every point runs once per block, so slow drift over a night spreads
 * evenly over the points) by Fisher–Yates (Knuth, TAOCP vol. 2, 3.4.2,
 * Algorithm P) drawing from xoshiro256** (Blackman & Vigna, "Scrambled linear
 * pseudorandom number generators", ACM TOMS 2021) whose state is filled from
 * the seed by splitmix64 (Steele, Lea & Flood, OOPSLA 2014), as its authors
 * recommend.  Bounded draws reject the low remainder (as OpenBSD's
 * arc4random_uniform) so that every permutation is equally likely.  The same
 * seed gives the same order on every machine.
 */
#include "matrix.h"
#include "ferr.h"
#include "netplace.h"
#include "param.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATRIX_MAX_RUNS_LIMIT 1000000 /* the largest max_runs a matrix may state */
#define MATRIX_MAX_RUNS_DEFAULT 100000 /* max_runs when the matrix states none */
#define MATRIX_RETRIES_MAX 10
#define MATRIX_PAUSE_MAX_S 3600
#define MATRIX_HOSTS_MAX 64
#define MATRIX_PATH_MAX 512

/* Connections (pairs x streams) one run may open: the agent starts one
 * client and one server process per pair, one after the other, and each
 * opens its streams; on the 2-core hosts this testbed targets 1024
 * connections set up within a second or two, 8192 (64 x 128) took 11-13 s
 * and starved everything else (docs/matrix.md "Points that can never run"). */
#define MATRIX_CONNECTIONS_MAX 1024
/* Overlay: the VXLAN link's MTU is the underlay's - 50 (outer IPv4 20 + UDP 8
 * + VXLAN 8 + inner Ethernet 14: node-agent/net/overlay.c, CASES.md case 2);
 * the underlay's is not known before the run, so validation takes Ethernet's. */
#define MATRIX_UNDERLAY_MTU_DEFAULT 1500
#define MATRIX_VXLAN_OVERHEAD 50
/* A stage's timeout is at most as long as the longest run. */
#define MATRIX_TIMEOUT_MAX_S PARAM_DURATION_MAX_S

/* The parameters: proto/param.c's table, in the order every run's params
 * object lists them. */
#define params param_table
#define NPARAMS PARAM_COUNT

static const char *const timeout_keys[MATRIX_STAGES] = { "lease_s", "setup_s", "start_s",
                                                          "collect_s", "teardown_s" };

struct matrix {
    char *name;        /* owned */
    json_t *doc;       /* owned: the document as loaded */
    json_t *lists;     /* owned: parameter -> array of values (vary, ranges expanded) */
    json_t *points;    /* owned: array of complete params objects */
    int npoints;       /* >= 1 */
    int nproduct;      /* points[0..nproduct) from fixed x vary, the rest from include */
    int repetitions;   /* 1..1000 */
    int max_runs;      /* 1..1000000, default 100000 */
    int *order;        /* owned: execution index -> sequential run index */
    bool random;       /* order "random" */
    uint64_t seed;     /* the seed of the random order */
    int retries;       /* 0..10 */
    double pause_s;    /* 0..3600 seconds */
    int timeout_ms[MATRIX_STAGES]; /* 0 = the controller's default */
};

typedef ferr_ctx_t vctx_t; /* what every check needs to report an error */
#define printable ferr_printable
#define path_key(out, parent, key) ferr_path_key(out, MATRIX_PATH_MAX, parent, key)
#define path_index(out, parent, i) ferr_path_index(out, MATRIX_PATH_MAX, parent, i)
#define unknown_key ferr_unknown_key
#define wrong_type ferr_wrong_type

static int
param_index(const param_t *p)
{
    return (int)(p - params);
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
        /* An MTU is 0 (the network's default) or at least IPv4's 68 bytes (RFC 791). */
        if (strcmp(p->name, "mtu") == 0 && json_integer_value(v) > 0 &&
            json_integer_value(v) < PARAM_MTU_MIN) {
            ferr_set(c->err, c->file, c->text, c->len, path,
                     "must be 0 (the network's default) or between %d and %lld (got %lld)",
                     PARAM_MTU_MIN, p->max, (long long)json_integer_value(v));
            return -1;
        }
        return 0;
    case PARAM_BOOL:
        if (!json_is_boolean(v))
            return wrong_type(c, path, "true or false", v);
        return 0;
    case PARAM_NUM0:
    case PARAM_NUM: {
        double x;

        if (!json_is_number(v))
            return wrong_type(c, path, "a number", v);
        x = json_number_value(v);
        if ((p->type == PARAM_NUM0 && x == 0) || (x >= p->fmin && x <= (double)p->max))
            return 0;
        if (json_is_integer(v))
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        else
            snprintf(buf, sizeof buf, "%.15g", x);
        ferr_set(c->err, c->file, c->text, c->len, path, "must be %s>= %g and <= %lld (got %s)%s%s",
                 p->type == PARAM_NUM0 ? "0 or " : "", p->fmin, p->max, buf,
                 x > 0 && x < p->fmin ? ": below " : "", x > 0 && x < p->fmin ? p->fmin_why : "");
        return -1;
    }
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

/*
 * An integer range {"from": A, "to": B, "step": S} of parameter p at path:
 * A and B in p's range, A <= B, S >= 1 (default 1).  Appends the values
 * A, A+S, ... <= B to out.  Returns 0 or -1.
 */
static int
check_range(const vctx_t *c, const param_t *p, const json_t *range, const char *path,
            json_t *out)
{
    char kpath[MATRIX_PATH_MAX];
    const char *key;
    json_t *v, *from = NULL, *to = NULL, *step = NULL;

    json_object_foreach((json_t *)range, key, v) {
        path_key(kpath, path, key);
        if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
            if (check_param_value(c, p, v, kpath) < 0)
                return -1;
            if (key[0] == 'f')
                from = v;
            else
                to = v;
        } else if (strcmp(key, "step") == 0) {
            if (!json_is_integer(v))
                return wrong_type(c, kpath, "an integer", v);
            if (json_integer_value(v) < 1 || json_integer_value(v) > p->max) {
                ferr_set(c->err, c->file, c->text, c->len, kpath,
                         "must be between 1 and %lld (got %lld)", p->max,
                         (long long)json_integer_value(v));
                return -1;
            }
            step = v;
        } else {
            return unknown_key(c, kpath, key);
        }
    }
    if (!from || !to) {
        ferr_set(c->err, c->file, c->text, c->len, path, "a range needs \"%s\"",
                 from ? "to" : "from");
        return -1;
    }
    long long a = json_integer_value(from), b = json_integer_value(to);
    long long st = step ? json_integer_value(step) : 1;
    if (a > b) {
        path_key(kpath, path, "to");
        ferr_set(c->err, c->file, c->text, c->len, kpath, "must be >= from (%lld) (got %lld)", a,
                 b);
        return -1;
    }
    if ((b - a) / st + 1 > MATRIX_MAX_RUNS_LIMIT) {
        ferr_set(c->err, c->file, c->text, c->len, path,
                 "the range has more than %d values", MATRIX_MAX_RUNS_LIMIT);
        return -1;
    }
    for (long long x = a; x <= b; x += st)
        if (json_array_append_new(out, json_integer(x)) < 0) {
            ferr_set(c->err, c->file, NULL, 0, path, "out of memory");
            return -1;
        }
    return 0;
}

/*
 * Two valid values of one parameter are equal: strings and booleans by
 * content, numbers by value (3 and 3.0 are, and so are 0 and -0; only the
 * number parameters duration_s, omit_s and interval_s can hold 3.0: the
 * integer ones refuse it).
 */
static bool
value_equal(const json_t *a, const json_t *b)
{
    if (json_is_string(a) && json_is_string(b))
        return strcmp(json_string_value(a), json_string_value(b)) == 0;
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_is_boolean(a) && json_is_boolean(b))
        return json_is_true(a) == json_is_true(b);
    return false;
}

/*
 * $.vary: an object of non-empty lists of distinct parameter values (equal
 * as value_equal() says), or of integer ranges; fills lists (parameter ->
 * array of values, ranges expanded).
 */
static int
check_vary(const vctx_t *c, const json_t *vary, json_t *lists)
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
        json_t *list = json_array();
        if (!list || json_object_set_new(lists, key, list) < 0) {
            ferr_set(c->err, c->file, NULL, 0, path, "out of memory");
            return -1;
        }
        if (p->type == PARAM_INT && json_is_object(v)) {
            if (check_range(c, p, v, path, list) < 0)
                return -1;
            continue;
        }
        if (!json_is_array(v))
            return wrong_type(c, path,
                              p->type == PARAM_INT ? "an array or a range {from, to, step}"
                                                   : "an array",
                              v);
        if (json_array_size(v) == 0) {
            ferr_set(c->err, c->file, c->text, c->len, path, "must not be empty");
            return -1;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *x = json_array_get(v, i);

            path_index(epath, path, i);
            if (check_param_value(c, p, x, epath) < 0)
                return -1;
            /* A repeated value would make the same point twice. */
            for (size_t j = 0; j < i; j++)
                if (value_equal(json_array_get(v, j), x)) {
                    char *text = json_dumps(x, JSON_ENCODE_ANY);

                    ferr_set(c->err, c->file, c->text, c->len, epath,
                             "duplicate value %.80s (already at [%zu])", text ? text : "", j);
                    free(text);
                    return -1;
                }
            if (json_array_append(list, json_array_get(v, i)) < 0) {
                ferr_set(c->err, c->file, NULL, 0, path, "out of memory");
                return -1;
            }
        }
    }
    return 0;
}

/* One partial assignment of parameters (an exclude or include entry, the baseline). */
static int
check_assignment(const vctx_t *c, const json_t *entry, const char *path)
{
    char kpath[MATRIX_PATH_MAX], buf[128];
    const char *key;
    json_t *v;

    if (!json_is_object(entry))
        return wrong_type(c, path, "an object", entry);
    json_object_foreach((json_t *)entry, key, v) {
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
    return 0;
}

/* $.exclude or $.include: an array of partial assignments. */
static int
check_assignments(const vctx_t *c, const json_t *list, const char *base)
{
    char path[MATRIX_PATH_MAX];

    if (!json_is_array(list))
        return wrong_type(c, base, "an array", list);
    for (size_t i = 0; i < json_array_size(list); i++) {
        path_index(path, base, i);
        if (check_assignment(c, json_array_get(list, i), path) < 0)
            return -1;
    }
    return 0;
}

/* An integer at path within lo..hi; stores it in *out.  0 or -1. */
static int
check_int(const vctx_t *c, const json_t *v, const char *path, long long lo, long long hi,
          long long *out)
{
    if (!json_is_integer(v))
        return wrong_type(c, path, "an integer", v);
    if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
        ferr_set(c->err, c->file, c->text, c->len, path, "must be between %lld and %lld (got %lld)",
                 lo, hi, (long long)json_integer_value(v));
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/*
 * Seconds at path: PARAM_SECONDS_RESOLUTION .. hi, or also 0 when zero_ok (-0 is
 * stored as 0); stores it in *out.  0 or -1.
 */
static int
check_seconds(const vctx_t *c, const json_t *v, const char *path, bool zero_ok, double hi,
              double *out)
{
    char buf[64];

    if (!json_is_number(v))
        return wrong_type(c, path, "a number", v);
    double x = json_number_value(v);
    if (!((zero_ok && x == 0) || (x >= PARAM_SECONDS_RESOLUTION && x <= hi))) {
        if (json_is_integer(v))
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        else
            snprintf(buf, sizeof buf, "%.15g", x);
        ferr_set(c->err, c->file, c->text, c->len, path, "must be %s>= %g and <= %g (got %s)%s",
                 zero_ok ? "0 or " : "", PARAM_SECONDS_RESOLUTION, hi, buf,
                 x > 0 && x < PARAM_SECONDS_RESOLUTION ? ": below the controller's millisecond timers"
                                                  : "");
        return -1;
    }
    *out = x == 0 ? 0.0 : x;
    return 0;
}

/* $.timeouts: seconds per stage. */
static int
check_timeouts(const vctx_t *c, const json_t *t, matrix_t *self)
{
    char path[MATRIX_PATH_MAX];
    const char *key;
    json_t *v;

    if (!json_is_object(t))
        return wrong_type(c, "$.timeouts", "an object", t);
    json_object_foreach((json_t *)t, key, v) {
        int stage = -1;
        double s;
        path_key(path, "$.timeouts", key);
        for (int i = 0; i < MATRIX_STAGES; i++)
            if (strcmp(key, timeout_keys[i]) == 0)
                stage = i;
        if (stage < 0)
            return unknown_key(c, path, key);
        if (check_seconds(c, v, path, false, MATRIX_TIMEOUT_MAX_S, &s) < 0)
            return -1;
        self->timeout_ms[stage] = (int)(s * 1000 + 0.5);
    }
    return 0;
}

/* $.hosts: a non-empty array of distinct host names. */
static int
check_hosts(const vctx_t *c, const json_t *hosts)
{
    char path[MATRIX_PATH_MAX];

    if (!json_is_array(hosts))
        return wrong_type(c, "$.hosts", "an array", hosts);
    if (json_array_size(hosts) == 0 || json_array_size(hosts) > MATRIX_HOSTS_MAX) {
        ferr_set(c->err, c->file, c->text, c->len, "$.hosts", "must list 1 to %d hosts",
                 MATRIX_HOSTS_MAX);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(hosts); i++) {
        json_t *h = json_array_get(hosts, i);
        path_index(path, "$.hosts", i);
        if (!json_is_string(h))
            return wrong_type(c, path, "a string", h);
        if (!name_ok(json_string_value(h)) || json_string_length(h) > 31) {
            ferr_set(c->err, c->file, c->text, c->len, path, "must match [A-Za-z0-9_.-]{1,31}");
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_array_get(hosts, j)), json_string_value(h)) == 0) {
                ferr_set(c->err, c->file, c->text, c->len, path, "host listed twice");
                return -1;
            }
    }
    return 0;
}

/* Every key of the document, in document order. */
static int
check_document(const vctx_t *c, const json_t *doc, matrix_t *self)
{
    char path[MATRIX_PATH_MAX];
    const char *key;
    json_t *v;
    long long n;

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
        } else if (strcmp(key, "testbed") == 0) {
            if (!json_is_string(v))
                return wrong_type(c, path, "a string", v);
            if (!name_ok(json_string_value(v))) {
                ferr_set(c->err, c->file, c->text, c->len, path,
                         "must match [A-Za-z0-9_.-]{1,64}");
                return -1;
            }
        } else if (strcmp(key, "hosts") == 0) {
            if (check_hosts(c, v) < 0)
                return -1;
        } else if (strcmp(key, "vary") == 0) {
            if (check_vary(c, v, self->lists) < 0)
                return -1;
        } else if (strcmp(key, "exclude") == 0 || strcmp(key, "include") == 0) {
            if (check_assignments(c, v, path) < 0)
                return -1;
        } else if (strcmp(key, "baseline") == 0) {
            if (check_assignment(c, v, path) < 0)
                return -1;
        } else if (strcmp(key, "repetitions") == 0) {
            if (check_int(c, v, path, 1, 1000, &n) < 0)
                return -1;
            self->repetitions = (int)n;
        } else if (strcmp(key, "max_runs") == 0) {
            if (check_int(c, v, path, 1, MATRIX_MAX_RUNS_LIMIT, &n) < 0)
                return -1;
            self->max_runs = (int)n;
        } else if (strcmp(key, "order") == 0) {
            if (!json_is_string(v))
                return wrong_type(c, path, "a string", v);
            if (strcmp(json_string_value(v), "random") == 0)
                self->random = true;
            else if (strcmp(json_string_value(v), "sequential") != 0) {
                char buf[128];
                ferr_set(c->err, c->file, c->text, c->len, path,
                         "unknown order \"%s\" (one of sequential, random)",
                         printable(json_string_value(v), buf, sizeof buf));
                return -1;
            }
        } else if (strcmp(key, "seed") == 0) {
            /* 2^53 - 1: the largest integer every JSON reader keeps exactly. */
            if (check_int(c, v, path, 0, 9007199254740991LL, &n) < 0)
                return -1;
            self->seed = (uint64_t)n;
        } else if (strcmp(key, "retries") == 0) {
            if (check_int(c, v, path, 0, MATRIX_RETRIES_MAX, &n) < 0)
                return -1;
            self->retries = (int)n;
        } else if (strcmp(key, "pause_s") == 0) {
            if (check_seconds(c, v, path, true, MATRIX_PAUSE_MAX_S, &self->pause_s) < 0)
                return -1;
        } else if (strcmp(key, "timeouts") == 0) {
            if (check_timeouts(c, v, self) < 0)
                return -1;
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
    /* A seed only orders a random matrix: elsewhere it is a mistake. */
    if (json_object_get(doc, "seed") && !self->random) {
        ferr_set(c->err, c->file, c->text, c->len, "$.seed",
                 "a seed needs \"order\": \"random\"");
        return -1;
    }
    return 0;
}

/* The point matches every key of the partial assignment entry. */
static bool
point_matches(const json_t *point, const json_t *entry)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)entry, key, v)
        if (!value_equal(json_object_get(point, key), v))
            return false;
    return true;
}

/* Marks in matched[] every exclude entry the point matches; true when any does. */
static bool
point_excluded(const json_t *point, const json_t *exclude, bool *matched)
{
    bool any = false;

    for (size_t i = 0; i < json_array_size(exclude); i++)
        if (point_matches(point, json_array_get(exclude, i))) {
            matched[i] = true;
            any = true;
        }
    return any;
}

/* A complete params object: chosen[i] when set, else fixed, else the default. */
static json_t *
point_make(const json_t *fixed, const json_t *const *chosen)
{
    json_t *point = json_object();

    if (!point)
        return NULL;
    for (int i = 0; i < NPARAMS; i++) {
        json_t *val;
        if (chosen[i])
            val = json_incref((json_t *)chosen[i]);
        else if (fixed && json_object_get(fixed, params[i].name))
            val = json_incref(json_object_get(fixed, params[i].name));
        else if (params[i].type == PARAM_ENUM)
            val = json_string(params[i].def_str);
        else if (params[i].type == PARAM_BOOL)
            val = json_boolean(params[i].def_int);
        else
            val = json_integer(params[i].def_int);
        /* -0 (omit_s may be written so) is stored as 0: a run's parameters never say -0. */
        if (val && json_is_real(val) && json_real_value(val) == 0) {
            json_decref(val);
            val = json_integer(0);
        }
        if (json_object_set_new(point, params[i].name, val) < 0) {
            json_decref(point);
            return NULL;
        }
    }
    return point;
}

/* splitmix64 (Steele, Lea & Flood 2014): seeds xoshiro256**'s state. */
static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** 1.0 (Blackman & Vigna), the reference algorithm. */
static uint64_t
xoshiro256ss(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in 0..n-1 (n >= 1) without modulo bias: rejects the low 2^64 mod n draws. */
static uint64_t
uniform_below(uint64_t s[4], uint64_t n)
{
    uint64_t threshold = (0 - n) % n, x;
    do
        x = xoshiro256ss(s);
    while (x < threshold);
    return x % n;
}

/* Fills self->order: identity, or each repetition block shuffled (Fisher–Yates). */
static int
make_order(matrix_t *self)
{
    int n = self->npoints * self->repetitions;
    uint64_t s[4], x = self->seed;

    self->order = malloc((size_t)n * sizeof *self->order);
    if (!self->order)
        return -1;
    for (int i = 0; i < n; i++)
        self->order[i] = i;
    if (!self->random)
        return 0;
    for (int i = 0; i < 4; i++)
        s[i] = splitmix64(&x);
    for (int r = 0; r < self->repetitions; r++) {
        int *block = self->order + (size_t)r * self->npoints;
        for (int i = self->npoints - 1; i > 0; i--) {
            int j = (int)uniform_below(s, (uint64_t)i + 1), t = block[i];
            block[i] = block[j];
            block[j] = t;
        }
    }
    return 0;
}

/*
 * Where the value of parameter name of point j comes from, for an error
 * message: "$.include[k]" for an include point that sets it, "$.fixed.name",
 * "$.vary.name", or "(default)".  out holds MATRIX_PATH_MAX bytes.
 */
static void
value_origin(const matrix_t *self, int j, int nproduct, const char *name, char *out)
{
    json_t *include = json_object_get(self->doc, "include");
    char base[MATRIX_PATH_MAX];
    if (j >= nproduct) {
        /* Include points are appended in file order, duplicates skipped:
         * the last include entry setting it that matches this point. */
        for (size_t k = json_array_size(include); k-- > 0;) {
            json_t *e = json_array_get(include, k);
            if (json_object_get(e, name) &&
                point_matches(json_array_get(self->points, (size_t)j), e)) {
                path_index(base, "$.include", k);
                path_key(out, base, name);
                return;
            }
        }
    }
    if (json_object_get(json_object_get(self->doc, "fixed"), name))
        path_key(out, "$.fixed", name);
    else if (json_object_get(self->lists, name))
        path_key(out, "$.vary", name);
    else
        snprintf(out, MATRIX_PATH_MAX, "(default)");
}

/*
 * The path MTU (bytes) that a run of point pt is known to get before any
 * host is asked, with where it comes from in src (len bytes), or 0 when
 * only the agent can know it (it reads the real path and skips a datagram
 * too large for it: node-agent/agent.c, CASES.md case 1).  Known are the
 * MTUs cntb sets itself: `mtu` when the matrix states it for a network that
 * applies it to the containers' path (bridge, macvlan, ipvlan, overlay), and
 * overlay's default, the underlay's MTU - 50 (VXLAN's outer headers,
 * node-agent/net/overlay.c), with the underlay taken to be Ethernet's 1500
 * bytes: it is not known until the run, and a larger one is stated with `mtu`.
 */
static long
point_known_mtu(const json_t *pt, char *src, size_t len)
{
    const char *network = json_string_value(json_object_get(pt, "network"));
    json_int_t mtu = json_integer_value(json_object_get(pt, "mtu"));

    if (!network)
        return 0;
    if (mtu > 0 && (strcmp(network, "bridge") == 0 || strcmp(network, "macvlan") == 0 ||
                    strcmp(network, "ipvlan") == 0 || strcmp(network, "overlay") == 0)) {
        snprintf(src, len, "network %s with mtu %" JSON_INTEGER_FORMAT, network, mtu);
        return (long)mtu;
    }
    if (strcmp(network, "overlay") == 0) {
        snprintf(src, len, "network overlay: underlay MTU %d, assumed until the run, - %d for"
                 " VXLAN; state the overlay's MTU with mtu", MATRIX_UNDERLAY_MTU_DEFAULT,
                 MATRIX_VXLAN_OVERHEAD);
        return MATRIX_UNDERLAY_MTU_DEFAULT - MATRIX_VXLAN_OVERHEAD;
    }
    return 0;
}

/*
 * The first combination of point pt that can never run, or none (returns
 * false): *a and *b get the names of the two parameters that make it (the
 * error is reported at a's path), *c a third one that an exclusion of such
 * points must name too, or NULL, and why the reason (len bytes).  In order
 * (docs/matrix.md "Points that can never run"):
 *   - a network with a placement it cannot run (proto/netplace.c, the table
 *     the agent's supports() hooks answer from);
 *   - what the engines cannot run (the rules of
 *     node-agent/traffic/traffic_engine.c): iperf3 generates tcp_stream and
 *     udp_stream only; sockperf udp_stream, udp_rr and tcp_rr, one flow
 *     (streams 1) uploaded (direction upload);
 *   - pairs x streams above MATRIX_CONNECTIONS_MAX connections per run;
 *   - a UDP size no datagram can carry: above 65507 bytes (65535 - 20 IPv4
 *     - 8 UDP), or below the builtin engine's 8-byte sequence number;
 *   - a UDP size above a known path MTU - 28 (point_known_mtu) without
 *     allow_fragments: every datagram would fragment (CASES.md case 1).
 */
static bool
point_conflict(const json_t *pt, const char **a, const char **b, const char **c, char *why,
               size_t len)
{
    const char *network = json_string_value(json_object_get(pt, "network"));
    const char *placement = json_string_value(json_object_get(pt, "placement"));
    const char *engine = json_string_value(json_object_get(pt, "engine"));
    const char *traffic = json_string_value(json_object_get(pt, "traffic"));
    const char *direction = json_string_value(json_object_get(pt, "direction"));
    json_int_t streams = json_integer_value(json_object_get(pt, "streams"));
    json_int_t pairs = json_integer_value(json_object_get(pt, "pairs"));
    json_int_t size = json_integer_value(json_object_get(pt, "size"));
    bool udp = traffic && (strcmp(traffic, "udp_stream") == 0 || strcmp(traffic, "udp_rr") == 0);
    char src[200];
    long mtu;

    *c = NULL;
    if (!network || !placement || !engine || !traffic || !direction)
        return false;
    if (!netplace_supports(network, placement)) {
        *a = "network", *b = "placement";
        snprintf(why, len, "network %s cannot run placement %s (%s)", network, placement,
                 netplace_why(network) ? netplace_why(network) : "not supported");
    } else if (strcmp(engine, "iperf3") == 0 && strcmp(traffic, "tcp_stream") != 0 &&
               strcmp(traffic, "udp_stream") != 0) {
        *a = "engine", *b = "traffic";
        snprintf(why, len, "engine iperf3 cannot generate traffic %s (only tcp_stream"
                 " and udp_stream)", traffic);
    } else if (strcmp(engine, "sockperf") == 0 && strcmp(traffic, "udp_stream") != 0 &&
               strcmp(traffic, "udp_rr") != 0 && strcmp(traffic, "tcp_rr") != 0) {
        *a = "engine", *b = "traffic";
        snprintf(why, len, "engine sockperf cannot generate traffic %s (only"
                 " udp_stream, udp_rr and tcp_rr)", traffic);
    } else if (strcmp(engine, "sockperf") == 0 && streams != 1) {
        *a = "engine", *b = "streams";
        snprintf(why, len, "engine sockperf runs one flow: streams must be 1, not %"
                 JSON_INTEGER_FORMAT, streams);
    } else if (strcmp(engine, "sockperf") == 0 && strcmp(direction, "upload") != 0) {
        *a = "engine", *b = "direction";
        snprintf(why, len, "engine sockperf runs upload only, not direction %s", direction);
    } else if (pairs * streams > MATRIX_CONNECTIONS_MAX) {
        *a = "pairs", *b = "streams";
        snprintf(why, len, "pairs x streams = %" JSON_INTEGER_FORMAT " connections;"
                 " at most %d per run", pairs * streams, MATRIX_CONNECTIONS_MAX);
    } else if (udp && size > PARAM_UDP_SIZE_MAX) {
        *a = "size", *b = "traffic";
        *c = NULL;
        snprintf(why, len, "UDP size %" JSON_INTEGER_FORMAT " is above %d, the largest IPv4 UDP"
                 " payload (65535 - 20 IPv4 header - 8 UDP header): no datagram can carry it",
                 size, PARAM_UDP_SIZE_MAX);
    } else if (udp && strcmp(engine, "builtin") == 0 && size < PARAM_UDP_SIZE_MIN) {
        *a = "size", *b = "traffic";
        snprintf(why, len, "UDP size %" JSON_INTEGER_FORMAT " is below %d: every datagram of"
                 " the builtin engine carries an 8-byte sequence number", size,
                 PARAM_UDP_SIZE_MIN);
    } else if (udp && !json_is_true(json_object_get(pt, "allow_fragments")) &&
               (mtu = point_known_mtu(pt, src, sizeof src)) > 0 &&
               size > mtu - PARAM_UDP_IPV4_OVERHEAD) {
        *a = "size", *b = "network", *c = "traffic";
        snprintf(why, len, "UDP size %" JSON_INTEGER_FORMAT " exceeds the path MTU %ld minus %d"
                 " (%ld bytes): datagrams would fragment (%s); set allow_fragments to run it"
                 " anyway", size, mtu, PARAM_UDP_IPV4_OVERHEAD, mtu - PARAM_UDP_IPV4_OVERHEAD,
                 src);
    } else {
        return false;
    }
    return true;
}

/*
 * Points that can never run (point_conflict) are refused here, before
 * anything is queued, instead of failing or skipping every such run on the
 * hosts.  The error is reported at the path of the first parameter, naming
 * the other's path and, when vary or include makes the combination, the
 * point; when vary makes it, the exclude entry that removes such points.
 * 0 or -1.
 */
static int
check_points(const vctx_t *c, matrix_t *self, int nproduct)
{
    for (int j = 0; j < self->npoints; j++) {
        json_t *pt = json_array_get(self->points, (size_t)j);
        const char *a = NULL, *b = NULL, *third = NULL;
        char why[600] = "";
        if (!point_conflict(pt, &a, &b, &third, why, sizeof why))
            continue;
        char pa[MATRIX_PATH_MAX], pb[MATRIX_PATH_MAX];
        value_origin(self, j, nproduct, a, pa);
        value_origin(self, j, nproduct, b, pb);
        const char *at = strcmp(pa, "(default)") != 0 ? pa : pb;
        bool varied = strncmp(pa, "$.vary", 6) == 0 || strncmp(pb, "$.vary", 6) == 0 ||
                      strncmp(pa, "$.include", 9) == 0 || strncmp(pb, "$.include", 9) == 0;
        char pshort[160] = "", hint[240] = "";
        if (varied) {
            /* The point's values of the two parameters: enough to find it. */
            json_t *v1 = json_object_get(pt, a), *v2 = json_object_get(pt, b);
            char *s1 = json_dumps(v1, JSON_ENCODE_ANY), *s2 = json_dumps(v2, JSON_ENCODE_ANY);
            snprintf(pshort, sizeof pshort, " (point %d: %s %s, %s %s)", j, a, s1 ? s1 : "?", b,
                     s2 ? s2 : "?");
            /* A point of the product goes with an exclusion (an include
             * entry is removed instead: exclusions do not apply to it). */
            if (j < nproduct) {
                char *s3 = third ? json_dumps(json_object_get(pt, third), JSON_ENCODE_ANY) : NULL;
                snprintf(hint, sizeof hint, "; exclude such points: {\"%s\": %s, \"%s\": %s%s%s%s%s}",
                         a, s1 ? s1 : "?", b, s2 ? s2 : "?", s3 ? ", \"" : "", s3 ? third : "",
                         s3 ? "\": " : "", s3 ? s3 : "");
                free(s3);
            }
            free(s1);
            free(s2);
        }
        ferr_set(c->err, c->file, c->text, c->len, at, "%s [%s with %s]%s%s", why, pa, pb, pshort,
                 hint);
        return -1;
    }
    return 0;
}

/*
 * Expands the validated document into self->points and self->order.
 * Returns 0, or -1 with an error (an exclude entry or the baseline matching
 * no point, no runs left, too many runs, out of memory).
 */
static int
expand(const vctx_t *c, matrix_t *self)
{
    json_t *fixed = json_object_get(self->doc, "fixed");
    json_t *exclude = json_object_get(self->doc, "exclude");
    json_t *include = json_object_get(self->doc, "include");
    json_t *baseline = json_object_get(self->doc, "baseline");
    json_t *lists[NPARAMS];     /* vary lists in file order */
    int list_param[NPARAMS];    /* the parameter of each list */
    size_t cursor[NPARAMS] = { 0 };
    int nlists = 0, rc = -1;
    long long total = 1;
    const char *key;
    json_t *v, *point = NULL;
    bool *matched = NULL;
    char path[MATRIX_PATH_MAX];

    json_object_foreach(self->lists, key, v) {
        lists[nlists] = v;
        list_param[nlists] = param_index(param_find(key));
        total *= (long long)json_array_size(v);
        if (total > self->max_runs) {
            ferr_set(c->err, c->file, c->text, c->len, "$",
                     "the matrix expands to more than %d runs (max_runs)", self->max_runs);
            goto out;
        }
        nlists++;
    }
    /*
     * Without vary lists the product is one point (fixed and the defaults),
     * unless include lists the points: then they are the only ones, rather
     * than an unasked-for run of the defaults beside them.  An empty "vary"
     * with nothing fixed or included names no point at all: refused, since
     * running the defaults is surely not what was meant.
     */
    if (nlists == 0 && json_array_size(include) > 0)
        total = 0;
    else if (nlists == 0 && json_is_object(json_object_get(self->doc, "vary")) &&
             json_object_size(fixed) == 0) {
        ferr_set(c->err, c->file, c->text, c->len, "$.vary",
                 "varies nothing, and nothing is fixed or included: the matrix names no point"
                 " (leave \"vary\" out for one run of the defaults)");
        goto out;
    }
    matched = calloc(json_array_size(exclude) + 1, sizeof *matched);
    self->points = json_array();
    if (!self->points || !matched)
        goto nomem;
    for (long long n = 0; n < total; n++) {
        const json_t *chosen[NPARAMS] = { NULL };
        for (int l = 0; l < nlists; l++)
            chosen[list_param[l]] = json_array_get(lists[l], cursor[l]);
        point = point_make(fixed, chosen);
        if (!point)
            goto nomem;
        if (exclude && point_excluded(point, exclude, matched)) {
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
    /* An exclusion that removes nothing is a typo or a stale line: say so. */
    for (size_t i = 0; i < json_array_size(exclude); i++)
        if (!matched[i]) {
            path_index(path, "$.exclude", i);
            ferr_set(c->err, c->file, c->text, c->len, path, "matches no point of the matrix");
            goto out;
        }
    int nproduct = self->nproduct = (int)json_array_size(self->points);
    /* Include points come after the product, in file order; one already there is not added. */
    for (size_t i = 0; i < json_array_size(include); i++) {
        const json_t *chosen[NPARAMS] = { NULL };
        json_object_foreach(json_array_get(include, i), key, v)
            chosen[param_index(param_find(key))] = v;
        point = point_make(fixed, chosen);
        if (!point)
            goto nomem;
        bool dup = false;
        for (size_t j = 0; j < json_array_size(self->points) && !dup; j++)
            dup = point_matches(json_array_get(self->points, j), point);
        if (dup)
            json_decref(point);
        else if (json_array_append_new(self->points, point) < 0) {
            point = NULL;
            goto nomem;
        }
        point = NULL;
    }
    self->npoints = (int)json_array_size(self->points);
    if (self->npoints == 0) {
        ferr_set(c->err, c->file, c->text, c->len, "$",
                 "the matrix expands to no runs (every point is excluded)");
        goto out;
    }
    if (check_points(c, self, nproduct) < 0)
        goto out;
    if ((long long)self->npoints * self->repetitions > self->max_runs) {
        ferr_set(c->err, c->file, c->text, c->len, "$",
                 "the matrix expands to more than %d runs (max_runs)", self->max_runs);
        goto out;
    }
    if (baseline) {
        bool any = false;
        for (int j = 0; j < self->npoints && !any; j++)
            any = point_matches(json_array_get(self->points, (size_t)j), baseline);
        if (!any) {
            ferr_set(c->err, c->file, c->text, c->len, "$.baseline",
                     "matches no point of the matrix");
            goto out;
        }
    }
    if (make_order(self) < 0)
        goto nomem;
    rc = 0;
    goto out;
nomem:
    ferr_set(c->err, c->file, NULL, 0, "$", "out of memory");
out:
    json_decref(point);
    free(matched);
    return rc;
}

/*
 * The file's base name without ".json": the default matrix name, made to
 * match [A-Za-z0-9_.-]{1,64} like an explicit one (every other byte becomes
 * '_'), since it is stored and printed: no escape sequence or newline from a
 * file name reaches a terminal.
 */
static char *
default_name(const char *file)
{
    const char *base = file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : (file ? file : "matrix");
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0)
        n -= 5;
    if (n > 64)
        n = 64;
    if (n == 0)
        return strdup("matrix");
    char *name = strndup(base, n);
    for (char *p = name; p && *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            *p = '_';
    return name;
}

matrix_t *
matrix_load_text(const char *file, const char *text, size_t len, char *err)
{
    vctx_t c = { file ? file : "(input)", text, len, err };
    matrix_t *self = NULL;
    json_error_t jerr;

    self = calloc(1, sizeof *self);
    if (self) {
        self->repetitions = 1;
        self->max_runs = MATRIX_MAX_RUNS_DEFAULT;
        self->seed = 1;
        self->lists = json_object();
    }
    if (!self || !self->lists) {
        ferr_set(err, c.file, NULL, 0, "$", "out of memory");
        goto fail;
    }
    if (ferr_json_text_check(err, c.file, text, len) < 0)
        goto fail;
    self->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!self->doc) {
        ferr_json_syntax(err, c.file, &jerr);
        goto fail;
    }
    if (check_document(&c, self->doc, self) < 0)
        goto fail;
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
    json_decref(self->lists);
    json_decref(self->points);
    free(self->order);
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
    return json_array_get(self->points, (size_t)(self->order[i] % self->npoints));
}

int
matrix_run_repetition(const matrix_t *self, int i)
{
    if (i < 0 || i >= matrix_run_count(self))
        return -1;
    return self->order[i] / self->npoints + 1;
}

int
matrix_run_point(const matrix_t *self, int i)
{
    if (i < 0 || i >= matrix_run_count(self))
        return -1;
    return self->order[i] % self->npoints;
}

const char *
matrix_testbed(const matrix_t *self)
{
    return json_string_value(json_object_get(self->doc, "testbed"));
}

const json_t *
matrix_hosts(const matrix_t *self)
{
    return json_object_get(self->doc, "hosts");
}

const json_t *
matrix_baseline(const matrix_t *self)
{
    return json_object_get(self->doc, "baseline");
}

bool
matrix_run_is_baseline(const matrix_t *self, int i)
{
    const json_t *b = matrix_baseline(self), *p = matrix_run_params(self, i);
    return b && p && point_matches(p, b);
}

int
matrix_retries(const matrix_t *self)
{
    return self->retries;
}

double
matrix_pause_s(const matrix_t *self)
{
    return self->pause_s;
}

int
matrix_timeout_ms(const matrix_t *self, matrix_stage_t stage, int def_ms)
{
    if ((int)stage < 0 || stage >= MATRIX_STAGES || self->timeout_ms[stage] <= 0)
        return def_ms;
    return self->timeout_ms[stage];
}

bool
matrix_order_random(const matrix_t *self, uint64_t *seed)
{
    if (seed)
        *seed = self->seed;
    return self->random;
}

int
matrix_max_runs(const matrix_t *self)
{
    return self->max_runs;
}

int
matrix_check_host_count(const matrix_t *self, int nhosts, const char *testbed, const char *file,
                        const char *text, char *err)
{
    if (!self || !file || !text || !err)
        return -1;
    for (int j = 0; j < self->npoints; j++) {
        json_t *pt = json_array_get(self->points, (size_t)j);
        const char *placement = json_string_value(json_object_get(pt, "placement"));
        int need = placement && strcmp(placement, "cross-host") == 0 ? 2 : 1;
        if (nhosts >= need)
            continue;
        char path[MATRIX_PATH_MAX], where[MATRIX_PATH_MAX + 64];
        value_origin(self, j, self->nproduct, "placement", path);
        if (json_object_get(self->doc, "hosts"))
            snprintf(where, sizeof where, "$.hosts names %d bare-metal host%s", nhosts,
                     nhosts == 1 ? "" : "s");
        else
            snprintf(where, sizeof where, "testbed %s has %d bare-metal host%s",
                     testbed ? testbed : "?", nhosts, nhosts == 1 ? "" : "s");
        ferr_set(err, file, text, strlen(text), path,
                 "placement %s needs %d bare-metal hosts (a client and a server host); %s "
                 "(point %d)", placement ? placement : "?", need, where, j);
        return -1;
    }
    return 0;
}

uint64_t
matrix_batch_seed(uint64_t seed, int64_t occurrence)
{
    if (occurrence <= 0)
        return seed;
    /* The occurrence-th output of splitmix64 started at seed (its state after
     * k steps is seed + k * golden gamma, so any occurrence is one step). */
    uint64_t x = seed + (uint64_t)(occurrence - 1) * 0x9e3779b97f4a7c15ULL;
    return splitmix64(&x) & MATRIX_SEED_MAX;
}

int
matrix_set_seed(matrix_t *self, uint64_t seed)
{
    if (!self || seed > MATRIX_SEED_MAX)
        return -1;
    if (!self->random)
        return 0;
    int *old = self->order;
    uint64_t was = self->seed;
    self->seed = seed;
    self->order = NULL;
    if (make_order(self) < 0) {
        self->order = old;
        self->seed = was;
        return -1;
    }
    free(old);
    return 0;
}

json_t *
matrix_varied(const matrix_t *self)
{
    json_t *names = json_array();
    if (!self || !names)
        return names;
    json_t *first = json_array_get(self->points, 0);
    for (int i = 0; i < NPARAMS; i++) {
        json_t *v0 = json_object_get(first, params[i].name);
        for (int j = 1; j < self->npoints; j++)
            if (!value_equal(v0, json_object_get(json_array_get(self->points, (size_t)j),
                                                 params[i].name))) {
                json_array_append_new(names, json_string(params[i].name));
                break;
            }
    }
    return names;
}

int
matrix_param_rank(const char *param, const char *value)
{
    const param_t *p = param && value ? param_find(param) : NULL;
    if (!p || p->type != PARAM_ENUM)
        return -1;
    for (int i = 0; p->values[i]; i++)
        if (strcmp(p->values[i], value) == 0)
            return i;
    return -1;
}
