/*
 * test_kv_etcd.c — the etcd v3 JSON client: base64 (RFC 4648 §10 vectors),
 * argument checks, the error naming etcd when nothing listens, and, when
 * Debian's etcd is installed, put/range/watch/delete/lease against a real
 * etcd started per test on 127.0.0.1 in the test's own directory.
 */
#include "kv_etcd.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(test_b64_vectors)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        char *e = kv_b64_encode(plain[i], strlen(plain[i]));
        size_t n = 99;
        char *d = kv_b64_decode(enc[i], &n);
        ck_assert_str_eq(e, enc[i]);
        ck_assert_ptr_nonnull(d);
        ck_assert_str_eq(d, plain[i]);
        ck_assert_uint_eq(n, strlen(plain[i]));
        free(e);
        free(d);
    }
    ck_assert_ptr_null(kv_b64_decode("Zm9", NULL));   /* not a multiple of 4 */
    ck_assert_ptr_null(kv_b64_decode("Zm=v", NULL));  /* padding inside */
    ck_assert_ptr_null(kv_b64_decode("Zg==Zg==", NULL)); /* padding before the end */
    ck_assert_ptr_null(kv_b64_decode("Z!==", NULL));
}
END_TEST

START_TEST(test_new_refuses)
{
    char err[KV_ERR_MAX];
    ck_assert_ptr_null(kv_etcd_new("198.18.0.1:2379", 1000, err));
    ck_assert_ptr_nonnull(strstr(err, "must be an http(s):// URL"));
    ck_assert_ptr_null(kv_etcd_new("http://198.18.0.1:2379", 50, err));
    ck_assert_ptr_null(kv_etcd_new(NULL, 1000, err));
}
END_TEST

START_TEST(test_unreachable_names_etcd)
{
    char err[KV_ERR_MAX] = "";
    int64_t lease = 0;
    kv_etcd_t *kv = kv_etcd_new("http://127.0.0.1:1/", 1000, err);
    ck_assert_ptr_nonnull(kv);
    ck_assert_int_eq(kv_etcd_lease_grant(kv, 10, &lease, err), -1);
    ck_assert_msg(strncmp(err, "etcd http://127.0.0.1:1: ", 25) == 0, "err: %s", err);
    ck_assert_int_eq(kv_etcd_put(kv, "/a/b", "c", 0, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "etcd http://127.0.0.1:1"));
    kv_etcd_destroy(&kv);
    ck_assert_ptr_null(kv);
    kv_etcd_destroy(&kv); /* NULL accepted */
}
END_TEST

/* A real etcd for one test. */
static pid_t etcd_pid = -1;
static char etcd_dir[64], etcd_url[64];

static void etcd_up(void)
{
    int port = 30000 + (int)(getpid() % 2000) * 2;
    char data[128], peer[64], cluster[96];
    snprintf(etcd_dir, sizeof etcd_dir, "/tmp/cntb-kvtest.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(etcd_dir));
    snprintf(data, sizeof data, "%s/data", etcd_dir);
    snprintf(etcd_url, sizeof etcd_url, "http://127.0.0.1:%d", port);
    snprintf(peer, sizeof peer, "http://127.0.0.1:%d", port + 1);
    snprintf(cluster, sizeof cluster, "t=%s", peer);
    etcd_pid = fork();
    ck_assert_int_ge(etcd_pid, 0);
    if (etcd_pid == 0) {
        char *const argv[] = {(char *)"/usr/bin/etcd", (char *)"--name", (char *)"t",
                              (char *)"--data-dir", data, (char *)"--listen-client-urls", etcd_url,
                              (char *)"--advertise-client-urls", etcd_url,
                              (char *)"--listen-peer-urls", peer,
                              (char *)"--initial-advertise-peer-urls", peer,
                              (char *)"--initial-cluster", cluster, (char *)"--log-level",
                              (char *)"error", NULL};
        if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    /* ready when a range answers */
    char err[KV_ERR_MAX];
    kv_etcd_t *kv = kv_etcd_new(etcd_url, 500, err);
    json_t *kvs = NULL;
    for (int i = 0; i < 100; i++) {
        if (kv_etcd_range(kv, "/x/", &kvs, NULL, err) == 0)
            break;
        usleep(100000);
    }
    ck_assert_msg(kvs != NULL, "etcd did not start: %s", err);
    json_decref(kvs);
    kv_etcd_destroy(&kv);
}

static void etcd_down(void)
{
    char data[160];
    if (etcd_pid > 0) {
        kill(etcd_pid, SIGTERM);
        waitpid(etcd_pid, NULL, 0);
    }
    /* the data directory: etcd's member/ tree */
    char *const argv[] = {(char *)"/bin/rm", (char *)"-rf", etcd_dir, NULL};
    snprintf(data, sizeof data, "%s", etcd_dir);
    pid_t p = fork();
    if (p == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    waitpid(p, NULL, 0);
}

struct seen {
    int puts, dels;
    char last[64];
};

static bool on_event(void *arg, bool put, const char *key, const char *value)
{
    struct seen *s = arg;
    (void)value;
    if (put)
        s->puts++;
    else
        s->dels++;
    snprintf(s->last, sizeof s->last, "%s", key);
    return s->puts + s->dels >= 2;
}

START_TEST(test_real_etcd)
{
    char err[KV_ERR_MAX];
    int64_t lease = 0, rev = 0;
    int deleted = -1;
    json_t *kvs = NULL;
    struct seen s = {0};

    if (access("/usr/bin/etcd", X_OK) != 0)
        return; /* etcd-server not installed: the other tests cover the client alone */
    etcd_up();
    kv_etcd_t *kv = kv_etcd_new(etcd_url, 2000, err);
    ck_assert_ptr_nonnull(kv);
    ck_assert_int_eq(kv_etcd_lease_grant(kv, 60, &lease, err), 0);
    ck_assert_int_gt(lease, 0);
    ck_assert_int_eq(kv_etcd_put(kv, "/cntb/t/1/a/map", "{\"ip\":\"198.19.250.1\"}", lease, err), 0);
    ck_assert_int_eq(kv_etcd_put(kv, "/cntb/t/1/b/map", "x", 0, err), 0);
    ck_assert_int_eq(kv_etcd_put(kv, "/cntb/t/10/a/map", "other run", 0, err), 0);
    ck_assert_int_eq(kv_etcd_range(kv, "/cntb/t/1/", &kvs, &rev, err), 0);
    ck_assert_int_eq(json_object_size(kvs), 2); /* not run 10's key */
    ck_assert_str_eq(json_string_value(json_object_get(kvs, "/cntb/t/1/a/map")),
                     "{\"ip\":\"198.19.250.1\"}");
    ck_assert_int_ge(rev, 4);
    json_decref(kvs);
    /* a watch from the next revision sees a later put and a delete */
    ck_assert_int_eq(kv_etcd_put(kv, "/cntb/t/1/c/map", "y", 0, err), 0);
    ck_assert_int_eq(kv_etcd_delete_prefix(kv, "/cntb/t/1/b/", &deleted, err), 0);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(kv_etcd_watch(kv, "/cntb/t/1/", rev + 1, 3000, on_event, &s, NULL, NULL, err), 1);
    ck_assert_int_eq(s.puts, 1);
    ck_assert_int_eq(s.dels, 1);
    ck_assert_str_eq(s.last, "/cntb/t/1/b/map");
    /* nothing new: the watch ends at its timeout with 0 */
    ck_assert_int_eq(kv_etcd_watch(kv, "/cntb/t/1/", rev + 10, 300, on_event, &s, NULL, NULL, err), 0);
    /* revoking the lease removes its key */
    ck_assert_int_eq(kv_etcd_lease_revoke(kv, lease, err), 0);
    ck_assert_int_eq(kv_etcd_range(kv, "/cntb/t/1/", &kvs, NULL, err), 0);
    ck_assert_int_eq(json_object_size(kvs), 1);
    ck_assert_ptr_nonnull(json_object_get(kvs, "/cntb/t/1/c/map"));
    json_decref(kvs);
    kv_etcd_destroy(&kv);
    etcd_down();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kv_etcd");
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_b64_vectors);
    tcase_add_test(tc, test_new_refuses);
    tcase_add_test(tc, test_unreachable_names_etcd);
    tcase_add_test(tc, test_real_etcd);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
