/*
 * test_param.c — unit tests of proto/param.c, the table of matrix parameters.
 *
 * The table is the one definition of every parameter; docs/matrix.md's
 * parameter table and schemas/matrix.schema.json repeat it for people and
 * editors.  These tests read both from the source tree (CNTB_SOURCE_DIR, or
 * the directory in $CNTB_PARAM_SOURCE_DIR) and fail when either disagrees
 * with the table on the names (and their order), the defaults or the ranges
 * (integer min..max, number minimum and maximum, enum values).  The checks
 * are also run on altered copies, to show that a drift is caught.
 */
#include "param.h"

#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
source_dir(void)
{
    const char *d = getenv("CNTB_PARAM_SOURCE_DIR");
    return d && *d ? d : CNTB_SOURCE_DIR;
}

/* The file's text (caller frees), or NULL. */
static char *
slurp(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", source_dir(), rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* Problems found, each one line appended to a buffer. */
typedef struct {
    char text[8192];
    int n;
} report_t;

static void problem(report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(report_t *r, const char *fmt, ...)
{
    size_t used = strlen(r->text);
    va_list ap;

    va_start(ap, fmt);
    if (used < sizeof r->text - 2) {
        vsnprintf(r->text + used, sizeof r->text - used - 1, fmt, ap);
        strcat(r->text, "\n");
    }
    va_end(ap);
    r->n++;
}

/* ---- schemas/matrix.schema.json ------------------------------------------ */

static void
check_schema_number(report_t *r, const char *name, const char *key, const json_t *v, double want)
{
    if (!json_is_number(v) || json_number_value(v) != want)
        problem(r, "schema: %s.%s is not %g", name, key, want);
}

/* Checks the schema document against the table; the problems go to r. */
static void
check_schema(const json_t *doc, report_t *r)
{
    const json_t *defs = json_object_get(doc, "$defs");
    const json_t *props = json_object_get(json_object_get(defs, "assignment"), "properties");
    const char *key;
    const json_t *v;
    int i = 0;

    if (!json_is_object(props)) {
        problem(r, "schema: no $defs.assignment.properties");
        return;
    }
    json_object_foreach((json_t *)props, key, v) {
        if (i >= PARAM_COUNT || strcmp(key, param_table[i].name) != 0)
            problem(r, "schema: assignment property %d is %s, the table's is %s", i, key,
                    i < PARAM_COUNT ? param_table[i].name : "(none)");
        i++;
    }
    if (i != PARAM_COUNT)
        problem(r, "schema: %d assignment properties, the table has %d", i, PARAM_COUNT);

    for (i = 0; i < PARAM_COUNT; i++) {
        const param_t *p = &param_table[i];
        const json_t *d = json_object_get(defs, p->name);
        const json_t *def = json_object_get(d, "default");
        const char *type = json_string_value(json_object_get(d, "type"));

        if (!json_is_object(d)) {
            problem(r, "schema: no $defs.%s", p->name);
            continue;
        }
        switch (p->type) {
        case PARAM_ENUM: {
            const json_t *e = json_object_get(d, "enum");
            size_t n = 0;
            while (p->values[n])
                n++;
            if (!json_is_array(e) || json_array_size(e) != n)
                problem(r, "schema: %s.enum has not the table's %zu values", p->name, n);
            else
                for (size_t j = 0; j < n; j++)
                    if (!json_is_string(json_array_get(e, j)) ||
                        strcmp(json_string_value(json_array_get(e, j)), p->values[j]) != 0)
                        problem(r, "schema: %s.enum[%zu] is not %s", p->name, j, p->values[j]);
            if (!json_is_string(def) || strcmp(json_string_value(def), p->def_str) != 0)
                problem(r, "schema: %s.default is not \"%s\"", p->name, p->def_str);
            break;
        }
        case PARAM_BOOL:
            if (!type || strcmp(type, "boolean") != 0)
                problem(r, "schema: %s.type is not boolean", p->name);
            if (!json_is_boolean(def) || json_is_true(def) != (p->def_int != 0))
                problem(r, "schema: %s.default is not %s", p->name, p->def_int ? "true" : "false");
            break;
        case PARAM_INT: {
            const json_t *range = NULL;
            char rname[64];

            if (!type || strcmp(type, "integer") != 0)
                problem(r, "schema: %s.type is not integer", p->name);
            check_schema_number(r, p->name, "minimum", json_object_get(d, "minimum"),
                                (double)p->min);
            check_schema_number(r, p->name, "maximum", json_object_get(d, "maximum"),
                                (double)p->max);
            check_schema_number(r, p->name, "default", def, (double)p->def_int);
            snprintf(rname, sizeof rname, "range_%s", p->name);
            range = json_object_get(json_object_get(json_object_get(defs, rname), "properties"),
                                    "step");
            if (range) /* a range's step is at most the parameter's maximum (matrix.c) */
                check_schema_number(r, rname, "step.maximum", json_object_get(range, "maximum"),
                                    (double)p->max);
            break;
        }
        case PARAM_NUM:
        case PARAM_NUM0: {
            const json_t *min = json_object_get(d, "minimum");

            if (!type || strcmp(type, "number") != 0)
                problem(r, "schema: %s.type is not number", p->name);
            if (p->type == PARAM_NUM0) { /* 0, or fmin and above */
                check_schema_number(r, p->name, "minimum", min, 0);
                min = json_object_get(json_array_get(json_object_get(d, "anyOf"), 1), "minimum");
            }
            check_schema_number(r, p->name, "minimum", min, p->fmin);
            check_schema_number(r, p->name, "maximum", json_object_get(d, "maximum"),
                                (double)p->max);
            check_schema_number(r, p->name, "default", def, (double)p->def_int);
            break;
        }
        }
    }
}

/* ---- docs/matrix.md ------------------------------------------------------- */

/* Cell k (0-based) of a Markdown table row "| a | b |" into out. */
static void
cell(const char *row, int k, char *out, size_t len)
{
    const char *p = strchr(row, '|');
    for (int i = 0; p && i < k; i++)
        p = strchr(p + 1, '|');
    out[0] = '\0';
    if (!p)
        return;
    p++;
    const char *e = strchr(p, '|'), *nl = strchr(p, '\n');
    if (!e || (nl && nl < e))
        return;
    while (p < e && *p == ' ')
        p++;
    while (e > p && e[-1] == ' ')
        e--;
    snprintf(out, len, "%.*s", (int)(e - p), p);
}

/* Checks the "### Parameters" table of docs/matrix.md's text; problems to r. */
static void
check_doc(const char *md, report_t *r)
{
    const char *sec = strstr(md, "\n### Parameters");
    const char *row, *end;
    int i = 0;

    if (!sec || !(row = strstr(sec, "\n| parameter |"))) {
        problem(r, "docs: no \"### Parameters\" table");
        return;
    }
    end = strstr(sec + 1, "\n#");
    row = strchr(row + 1, '\n'); /* the header's separator row */
    row = row ? strchr(row + 1, '\n') : NULL;
    for (; row && row[1] == '|' && (!end || row < end); row = strchr(row + 1, '\n')) {
        char name[128], range[2048], def[128], want[160];

        cell(row + 1, 0, name, sizeof name);
        cell(row + 1, 3, range, sizeof range);
        cell(row + 1, 4, def, sizeof def);
        /* "`mtu` (overlay)": a second row for one parameter, what it means there */
        if (strchr(name + 1, '`') && strchr(name + 1, '`')[1] != '\0')
            continue;
        if (i >= PARAM_COUNT) {
            problem(r, "docs: row %s beyond the table's %d parameters", name, PARAM_COUNT);
            i++;
            continue;
        }
        const param_t *p = &param_table[i++];
        snprintf(want, sizeof want, "`%s`", p->name);
        if (strcmp(name, want) != 0) {
            problem(r, "docs: row %d is %s, the table's is %s", i - 1, name, want);
            continue;
        }
        switch (p->type) {
        case PARAM_ENUM:
            snprintf(want, sizeof want, "`%s`", p->def_str);
            if (strcmp(def, want) != 0)
                problem(r, "docs: %s default %s, the table's %s", p->name, def, want);
            for (int j = 0; p->values[j]; j++) {
                snprintf(want, sizeof want, "`%s`", p->values[j]);
                if (!strstr(range, want))
                    problem(r, "docs: %s values lack %s", p->name, want);
            }
            break;
        case PARAM_BOOL:
            snprintf(want, sizeof want, "`%s`", p->def_int ? "true" : "false");
            if (strcmp(def, want) != 0)
                problem(r, "docs: %s default %s, the table's %s", p->name, def, want);
            break;
        case PARAM_INT:
            snprintf(want, sizeof want, "%lld", p->def_int);
            if (strcmp(def, want) != 0)
                problem(r, "docs: %s default %s, the table's %s", p->name, def, want);
            snprintf(want, sizeof want, "%lld ", p->min);
            if (strncmp(range, want, strlen(want)) != 0)
                problem(r, "docs: %s range \"%.40s\" does not start at %lld", p->name, range,
                        p->min);
            snprintf(want, sizeof want, ".. %lld", p->max);
            if (!strstr(range, want) || (strstr(range, want)[strlen(want)] >= '0' &&
                                         strstr(range, want)[strlen(want)] <= '9'))
                problem(r, "docs: %s range \"%.40s\" does not end at %lld", p->name, range,
                        p->max);
            break;
        case PARAM_NUM:
        case PARAM_NUM0:
            snprintf(want, sizeof want, "%lld", p->def_int);
            if (strcmp(def, want) != 0)
                problem(r, "docs: %s default %s, the table's %s", p->name, def, want);
            snprintf(want, sizeof want, "%s≥ %g ", p->type == PARAM_NUM0 ? "0, or " : "",
                     p->fmin);
            if (strncmp(range, want, strlen(want)) != 0)
                problem(r, "docs: %s range \"%.40s\" does not start with \"%s\"", p->name, range,
                        want);
            snprintf(want, sizeof want, "≤ %lld", p->max);
            if (!strstr(range, want))
                problem(r, "docs: %s range \"%.60s\" has no \"%s\"", p->name, range, want);
            break;
        }
    }
    if (i != PARAM_COUNT)
        problem(r, "docs: %d parameter rows, the table has %d", i, PARAM_COUNT);
}

/* text with the first `from` replaced by `to` (caller frees). */
static char *
replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    ck_assert_msg(at != NULL, "no \"%s\" to replace", from);
    char *s = malloc(strlen(text) + strlen(to) + 1);
    ck_assert_ptr_nonnull(s);
    sprintf(s, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return s;
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_table_rows)
{
    for (int i = 0; i < PARAM_COUNT; i++) {
        const param_t *p = &param_table[i];

        ck_assert_ptr_nonnull(p->name);
        ck_assert_ptr_eq(param_find(p->name), p);
        ck_assert_msg(p->used_by && p->source, "%s: used_by and source", p->name);
        if (p->type == PARAM_ENUM)
            ck_assert_msg(p->values && p->def_str, "%s", p->name);
        if (p->type == PARAM_INT || p->type == PARAM_NUM || p->type == PARAM_NUM0)
            ck_assert_msg(p->unit && param_num_ok(p, (double)p->def_int),
                          "%s: unit, and a default in range", p->name);
        if (p->type == PARAM_INT)
            ck_assert_msg(p->min <= p->def_int && p->def_int <= p->max, "%s", p->name);
    }
    ck_assert_ptr_null(param_find("colour"));
    ck_assert_int_eq((int)param_default_num("size"), PARAM_SIZE_DEFAULT);
    ck_assert_str_eq(param_default_str("network"), "host");
    ck_assert_ptr_null(param_default_str("size"));
    /* the integer ranges, and the number parameters' fmin */
    ck_assert(param_num_ok(param_find("size"), PARAM_SIZE_MAX));
    ck_assert(!param_num_ok(param_find("size"), PARAM_SIZE_MAX + 1.0));
    ck_assert(!param_num_ok(param_find("size"), 1.5));
    ck_assert(param_num_ok(param_find("omit_s"), 0));
    ck_assert(!param_num_ok(param_find("omit_s"), 0.0005));
    ck_assert(!param_num_ok(param_find("duration_s"), 0));
    ck_assert(param_num_ok(param_find("duration_s"), 0.1));
}
END_TEST

START_TEST(test_schema_agrees)
{
    char *text = slurp("schemas/matrix.schema.json");
    report_t r = { "", 0 };
    json_error_t je;

    ck_assert_msg(text != NULL, "cannot read %s/schemas/matrix.schema.json", source_dir());
    json_t *doc = json_loads(text, 0, &je);
    ck_assert_msg(doc != NULL, "matrix.schema.json: %s", je.text);
    check_schema(doc, &r);
    ck_assert_msg(r.n == 0, "schemas/matrix.schema.json disagrees with proto/param.c:\n%s",
                  r.text);
    json_decref(doc);

    /* a drift is caught: a maximum, a default, an enum value */
    static const char *const drifts[][2] = {
        { "\"maximum\": 1048576,", "\"maximum\": 65536," },
        { "\"default\": 200", "\"default\": 100" },
        { "\"l3s\"", "\"l3x\"" },
    };
    for (size_t k = 0; k < sizeof drifts / sizeof drifts[0]; k++) {
        char *bad = replaced(text, drifts[k][0], drifts[k][1]);
        report_t rb = { "", 0 };

        doc = json_loads(bad, 0, &je);
        ck_assert_ptr_nonnull(doc);
        check_schema(doc, &rb);
        ck_assert_msg(rb.n > 0, "drift %s -> %s not caught", drifts[k][0], drifts[k][1]);
        json_decref(doc);
        free(bad);
    }
    free(text);
}
END_TEST

START_TEST(test_doc_agrees)
{
    char *text = slurp("docs/matrix.md");
    report_t r = { "", 0 };

    ck_assert_msg(text != NULL, "cannot read %s/docs/matrix.md", source_dir());
    check_doc(text, &r);
    ck_assert_msg(r.n == 0, "docs/matrix.md's parameter table disagrees with proto/param.c:\n%s",
                  r.text);

    static const char *const drifts[][2] = {
        { "| 1 .. 1048576 | 1448 |", "| 1 .. 1048576 | 1500 |" },
        { "| 1 .. 1048576 |", "| 1 .. 1048575 |" },
        { "| `streams` |", "| `stream` |" },
        { "≥ 0.01 (", "≥ 0.001 (" },
        { "| `l2` |", "| `l3` |" },
    };
    for (size_t k = 0; k < sizeof drifts / sizeof drifts[0]; k++) {
        char *bad = replaced(text, drifts[k][0], drifts[k][1]);
        report_t rb = { "", 0 };

        check_doc(bad, &rb);
        ck_assert_msg(rb.n > 0, "drift %s -> %s not caught", drifts[k][0], drifts[k][1]);
        free(bad);
    }
    free(text);
}
END_TEST

static Suite *
param_suite(void)
{
    Suite *s = suite_create("param");
    TCase *tc = tcase_create("table");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_table_rows);
    tcase_add_test(tc, test_schema_agrees);
    tcase_add_test(tc, test_doc_agrees);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(param_suite());
    if (!getenv("CK_FORK")) /* fork mode, unless CK_FORK=no asks otherwise (valgrind) */
        srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
