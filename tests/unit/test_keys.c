/*
 * test_keys.c — unit tests of controller/keys.c: the key directory's layout
 * and modes, certificates that load with both halves, idempotence (nothing
 * remade), --force (every key new), and the refusal without "keys".
 */
#include "ferr.h"
#include "keys.h"
#include "testbed.h"

#include <check.h>
#include <czmq.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static testbed_t *tb;

static void
setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_keys.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128], err[FERR_MAX];
    snprintf(path, sizeof path, "%s/lab.testbed.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{ \"name\": \"lab\", \"keys\": \"lab.keys\",\n"
          "  \"controller\": { \"address\": \"198.18.7.254\", \"port\": 7707 },\n"
          "  \"hosts\": [ { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" },\n"
          "               { \"name\": \"h2\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.2\" } ] }\n",
          f);
    fclose(f);
    tb = testbed_load_file(path, err);
    ck_assert_msg(tb != NULL, "%s", err);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
teardown(void)
{
    testbed_destroy(&tb);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
mode_of(const char *rel)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/lab.keys/%s", dir, rel);
    if (stat(path, &st) != 0)
        return -1;
    return (int) (st.st_mode & 0777);
}

static char *
public_key(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/lab.keys/%s", dir, rel);
    zcert_t *c = zcert_load(path);
    ck_assert_msg(c != NULL, "cannot load %s", path);
    char *k = strdup(zcert_public_txt(c));
    zcert_destroy(&c);
    return k;
}

START_TEST(test_layout_and_modes)
{
    char err[256] = "";
    ck_assert_int_eq(keys_generate(tb, false, err, sizeof err), 3); /* controller + 2 hosts */
    ck_assert_int_eq(mode_of(""), 0700);
    ck_assert_int_eq(mode_of("secret"), 0700);
    ck_assert_int_eq(mode_of("hosts"), 0755);
    ck_assert_int_eq(mode_of("controller.cert"), 0644);
    ck_assert_int_eq(mode_of("controller.cert_secret"), 0600);
    ck_assert_int_eq(mode_of("secret/h1.cert_secret"), 0600);
    ck_assert_int_eq(mode_of("hosts/h2.cert"), 0644);
    ck_assert_int_eq(mode_of("hosts/h2.cert_secret"), -1); /* no secret where zauth looks */
    /* The public copy is the same key as the secret pair; hosts differ. */
    char *a = public_key("hosts/h1.cert"), *b = public_key("secret/h1.cert"),
         *c = public_key("hosts/h2.cert");
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_int_eq(strlen(a), 40); /* Z85 of 32 bytes */
    free(a);
    free(b);
    free(c);
    char path[256];
    keys_cert_path(path, sizeof path, tb->keys_path, "h1", true);
    zcert_t *pair = zcert_load(path);
    ck_assert_ptr_nonnull(pair);
    ck_assert_str_ne(zcert_secret_txt(pair), "0000000000000000000000000000000000000000");
    zcert_destroy(&pair);
}
END_TEST

START_TEST(test_idempotent_and_force)
{
    char err[256] = "";
    ck_assert_int_eq(keys_generate(tb, false, err, sizeof err), 3);
    char *before = public_key("controller.cert");
    ck_assert_int_eq(keys_generate(tb, false, err, sizeof err), 0);
    char *same = public_key("controller.cert");
    ck_assert_str_eq(before, same);
    /* A host whose public file went missing gets a new pair. */
    char path[256];
    snprintf(path, sizeof path, "%s/lab.keys/hosts/h2.cert", dir);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(keys_generate(tb, false, err, sizeof err), 1);
    ck_assert_int_eq(keys_generate(tb, true, err, sizeof err), 3);
    char *after = public_key("controller.cert");
    ck_assert_str_ne(before, after);
    free(before);
    free(same);
    free(after);
}
END_TEST

START_TEST(test_refusals)
{
    char err[256] = "";
    tb->keys_path[0] = '\0';
    ck_assert_int_eq(keys_generate(tb, false, err, sizeof err), -1);
    ck_assert_str_eq(err, "testbed lab has no \"keys\" directory in its file");
    snprintf(tb->keys_path, sizeof tb->keys_path, "%s/missing/parent/keys", dir);
    ck_assert_int_eq(keys_generate(tb, false, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s/missing/parent/keys: cannot create: No such file or directory", dir);
    ck_assert_str_eq(err, want);
    char path[256];
    keys_cert_path(path, sizeof path, "/k", NULL, true);
    ck_assert_str_eq(path, "/k/controller.cert");
    keys_cert_path(path, sizeof path, "/k", "h1", false);
    ck_assert_str_eq(path, "/k/hosts/h1.cert");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = tcase_create("generate");
    tcase_set_timeout(tc, 20);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_layout_and_modes);
    tcase_add_test(tc, test_idempotent_and_force);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
