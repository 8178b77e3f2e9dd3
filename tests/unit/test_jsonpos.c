/*
 * test_jsonpos.c — unit tests of proto/jsonpos.c (locating a JSON path in the
 * raw text) and proto/ferr.c (the one-line "FILE:LINE:COL: PATH: msg" error).
 */
#include "ferr.h"
#include "jsonpos.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char doc[] =
    "{\n"                                             /* 1 */
    "  \"name\": \"demo\",\n"                         /* 2 */
    "  \"vary\": {\n"                                 /* 3 */
    "    \"network\": [\"host\", \"bridge\",\n"       /* 4 */
    "                \"nat\"],\n"                     /* 5 */
    "    \"x\\\"y\": {\"a\": [1, -2.5e3, true]},\n"   /* 6 */
    "    \"size\": [1, 2]\n"                          /* 7 */
    "  },\n"                                          /* 8 */
    "  \"empty\": {}, \"list\": [],\n"                /* 9 */
    "  \"n\": null\n"                                 /* 10 */
    "}\n";

static void
expect_pos(const char *path, int line, int column)
{
    int l = -7, c = -7;
    ck_assert_msg(jsonpos_locate(doc, strlen(doc), path, &l, &c) == 0, "locate %s", path);
    ck_assert_msg(l == line && c == column, "%s: got %d:%d, want %d:%d", path, l, c, line,
                  column);
}

static void
expect_fail(const char *text, const char *path)
{
    int l = -7, c = -7;
    ck_assert_msg(jsonpos_locate(text, strlen(text), path, &l, &c) == -1, "locate %s", path);
    ck_assert_int_eq(l, 0);
    ck_assert_int_eq(c, 0);
}

START_TEST(test_root_and_keys)
{
    expect_pos("$", 1, 1);
    expect_pos("$.name", 2, 11);
    expect_pos("$.vary", 3, 11);
    expect_pos("$.vary.network", 4, 16);
    expect_pos("$.vary.size", 7, 13);
    expect_pos("$.empty", 9, 12);
    expect_pos("$.list", 9, 24);
    expect_pos("$.n", 10, 8);
}
END_TEST

START_TEST(test_indexes)
{
    expect_pos("$.vary.network[0]", 4, 17);
    expect_pos("$.vary.network[1]", 4, 25);
    expect_pos("$.vary.network[2]", 5, 17);
    expect_pos("$.vary.size[1]", 7, 17);
}
END_TEST

START_TEST(test_skips_escapes_numbers_literals)
{
    /* The key "x\"y" is skipped correctly; "size" after it is still found. */
    expect_pos("$.vary.size[0]", 7, 14);
    expect_pos("$.n", 10, 8);
}
END_TEST

START_TEST(test_missing_last_key_gives_enclosing_object)
{
    expect_pos("$.vary.streams", 3, 11);
    expect_pos("$.nope", 1, 1);
    expect_pos("$.empty.x", 9, 12);
}
END_TEST

START_TEST(test_unfollowable)
{
    expect_fail(doc, "$.nope.deeper");
    expect_fail(doc, "$.vary.network[3]");
    expect_fail(doc, "$.list[0]");
    expect_fail(doc, "$.name.x");
    expect_fail(doc, "$.vary[0]");
    expect_fail(doc, "vary");
    expect_fail(doc, "$.vary.network[x]");
    expect_fail("{\"a\": [1, 2", "$.a");
    expect_fail("{\"a\": tru}", "$.a");
    expect_fail("{\"a\": \"\\q\"}", "$.a");
    expect_fail("{\"a\": 01}", "$.b.c");
    expect_fail("", "$");
}
END_TEST

START_TEST(test_deep_nesting_refused)
{
    size_t n = 100000;
    char *t = malloc(2 * n + 1);
    ck_assert_ptr_nonnull(t);
    memset(t, '[', n);
    memset(t + n, ']', n);
    t[2 * n] = '\0';
    int l, c;
    ck_assert_int_eq(jsonpos_locate(t, 2 * n, "$", &l, &c), -1);
    free(t);
}
END_TEST

START_TEST(test_ferr_located)
{
    char err[FERR_MAX];
    ferr_set(err, "m.json", doc, strlen(doc), "$.vary.network[2]", "unknown network \"%s\"",
             "nat");
    ck_assert_str_eq(err, "m.json:5:17: $.vary.network[2]: unknown network \"nat\"");
}
END_TEST

START_TEST(test_ferr_unlocated)
{
    char err[FERR_MAX];
    ferr_set(err, "m.json", NULL, 0, "$.x", "bad %d", 3);
    ck_assert_str_eq(err, "m.json: $.x: bad 3");
    ferr_set(err, "m.json", doc, strlen(doc), "$.a.b", "bad");
    ck_assert_str_eq(err, "m.json: $.a.b: bad");
}
END_TEST

START_TEST(test_ferr_truncates)
{
    char err[FERR_MAX], big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ferr_set(err, "m.json", NULL, 0, "$", "%s", big);
    ck_assert_uint_eq(strlen(err), FERR_MAX - 1);
    ck_assert_str_eq(err + FERR_MAX - 4, "...");
}
END_TEST

START_TEST(test_ferr_json_syntax)
{
    char err[FERR_MAX];
    json_error_t jerr;
    const char *t = "{\n  \"a\": 1,\n  \"a\": 2\n}\n";
    ck_assert_ptr_null(json_loadb(t, strlen(t), JSON_REJECT_DUPLICATES, &jerr));
    ferr_json_syntax(err, "d.json", &jerr);
    ck_assert_str_eq(err, "d.json:3:5: $: invalid JSON: duplicate object key near '\"a\"'");
}
END_TEST

START_TEST(test_ferr_type_names)
{
    json_t *v[] = { json_object(), json_array(), json_string("s"), json_integer(1),
                    json_real(1.5), json_true(), json_false(), json_null() };
    const char *want[] = { "object", "array", "string", "number",
                           "number", "boolean", "boolean", "null" };
    for (int i = 0; i < 8; i++) {
        ck_assert_str_eq(ferr_type_name(v[i]), want[i]);
        json_decref(v[i]);
    }
}
END_TEST

START_TEST(test_ferr_read_file)
{
    char err[FERR_MAX], dir[] = "/tmp/test_jsonpos.XXXXXX", path[64];
    size_t len = 99;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/missing.json", dir);
    ck_assert_ptr_null(ferr_read_file(path, &len, err));
    char want[FERR_MAX];
    snprintf(want, sizeof want, "%s: cannot read: %s", path, strerror(ENOENT));
    ck_assert_str_eq(err, want);
    snprintf(path, sizeof path, "%s/f.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{}\n", f);
    fclose(f);
    char *text = ferr_read_file(path, &len, err);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(len, 3);
    ck_assert_str_eq(text, "{}\n");
    free(text);
    ck_assert_ptr_null(ferr_read_file(dir, &len, err)); /* a directory */
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ferr_read_text: whole small file, trailing newlines cut, truncated to the buffer. */
START_TEST(test_ferr_read_text)
{
    char dir[] = "/tmp/test_jsonpos.XXXXXX", path[64], buf[8] = "x";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/missing", dir);
    ck_assert_int_eq(ferr_read_text(path, buf, sizeof buf), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_str_eq(buf, "");
    snprintf(path, sizeof path, "%s/t", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("client\nserver\r\n\n", f);
    fclose(f);
    char big[64];
    ck_assert_int_eq(ferr_read_text(path, big, sizeof big), 0);
    ck_assert_str_eq(big, "client\nserver");
    ck_assert_int_eq(ferr_read_text(path, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "client"); /* 7 bytes "client\n", the newline cut */
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *
jsonpos_suite(void)
{
    Suite *s = suite_create("jsonpos");
    TCase *tc = tcase_create("locate");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_root_and_keys);
    tcase_add_test(tc, test_ferr_read_text);
    tcase_add_test(tc, test_indexes);
    tcase_add_test(tc, test_skips_escapes_numbers_literals);
    tcase_add_test(tc, test_missing_last_key_gives_enclosing_object);
    tcase_add_test(tc, test_unfollowable);
    tcase_add_test(tc, test_deep_nesting_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("ferr");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_ferr_located);
    tcase_add_test(tc, test_ferr_unlocated);
    tcase_add_test(tc, test_ferr_truncates);
    tcase_add_test(tc, test_ferr_json_syntax);
    tcase_add_test(tc, test_ferr_type_names);
    tcase_add_test(tc, test_ferr_read_file);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(jsonpos_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
