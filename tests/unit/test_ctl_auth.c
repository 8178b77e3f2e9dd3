/*
 * test_ctl_auth.c — unit tests of controller/ctl_auth.c and
 * node-agent/agent_auth.c: CURVE between a controller ROUTER and agent
 * DEALERs over TCP, in a private network namespace per test (loopback with
 * 198.18.254.1/32, nothing else).  Asserted: a host with its own key gets
 * its message through and passes ctl_auth_check; a host presenting another
 * host's key passes ZAP but fails the identity check; an unknown key and an
 * agent expecting another controller key get nothing through at all; the
 * CLI directory is made private; bad certificate files are refused with
 * their path named.
 */
#include "agent_auth.h"
#include "ctl_auth.h"
#include "ferr.h"
#include "keys.h"
#include "nl.h"
#include "testbed.h"

#include <check.h>
#include <czmq.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADDR "198.18.254.1"
#define PORT 7799

static char dir[64];
static testbed_t *tb;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
setup(void)
{
    char err[FERR_MAX], path[128];
    snprintf(dir, sizeof dir, "/tmp/test_ctl_auth.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/lab.testbed.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{ \"name\": \"lab\", \"keys\": \"lab.keys\",\n"
               "  \"controller\": { \"address\": \"%s\", \"port\": %d },\n"
               "  \"hosts\": [ { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" },\n"
               "               { \"name\": \"h2\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.2\" } ] }\n",
            ADDR, PORT);
    fclose(f);
    tb = testbed_load_file(path, err);
    ck_assert_msg(tb != NULL, "%s", err);
    ck_assert_int_eq(keys_generate(tb, false, err, sizeof err), 3);
}

static void
teardown(void)
{
    testbed_destroy(&tb);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A private network namespace with 198.18.254.1 on loopback; false when not root. */
static bool
private_net(void)
{
    char err[NL_ERR_MAX];
    if (geteuid() != 0)
        return false;
    ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
    ck_assert_msg(nl_link_up(NULL, "lo", err) == 0, "%s", err);
    ck_assert_msg(nl_addr_add(NULL, "lo", ADDR "/32", err) == 0, "%s", err);
    return true;
}

/* A DEALER with identity `id` using the secret certificate of `as` (or a fresh
 * unknown one when as = NULL) and the controller key from `ctl_cert`. */
static zsock_t *
agent(const char *id, const char *as, const char *ctl_cert)
{
    char cert[256], err[512];
    if (as) {
        keys_cert_path(cert, sizeof cert, tb->keys_path, as, true);
    } else {
        snprintf(cert, sizeof cert, "%s/rogue.cert", dir);
        zcert_t *c = zcert_new();
        ck_assert_int_eq(zcert_save(c, cert), 0);
        zcert_destroy(&c);
    }
    zsock_t *s = zsock_new(ZMQ_DEALER);
    zsock_set_identity(s, id);
    zsock_set_linger(s, 0);
    ck_assert_msg(agent_auth_apply(s, cert, ctl_cert, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(zsock_connect(s, "tcp://%s:%d", ADDR, PORT), 0);
    zstr_sendx(s, "HEARTBEAT", "{}", NULL);
    return s;
}

/* The next message on the router within ms, or NULL. */
static zmsg_t *
recv_within(zsock_t *router, int ms)
{
    zpoller_t *p = zpoller_new(router, NULL);
    zmsg_t *m = zpoller_wait(p, ms) ? zmsg_recv(router) : NULL;
    zpoller_destroy(&p);
    return m;
}

static void
ctl_cert_path(char *path, size_t len)
{
    keys_cert_path(path, len, tb->keys_path, NULL, true);
}

START_TEST(test_known_host_passes)
{
    if (!private_net())
        return;
    char err[512], cc[256];
    zsock_t *router = NULL;
    ctl_auth_t *auth = ctl_auth_new(tb, &router, err, sizeof err);
    ck_assert_msg(auth != NULL, "%s", err);
    ctl_cert_path(cc, sizeof cc);
    zsock_t *a = agent("h1", "h1", cc);
    zmsg_t *m = recv_within(router, 3000);
    ck_assert_ptr_nonnull(m);
    char *id = zframe_strdup(zmsg_first(m));
    ck_assert_str_eq(id, "h1");
    free(id);
    ck_assert_int_eq(ctl_auth_check(auth, m), 0);
    zmsg_destroy(&m);
    zsock_destroy(&a);
    ctl_auth_destroy(&auth);
}
END_TEST

START_TEST(test_other_hosts_key_fails_identity)
{
    if (!private_net())
        return;
    char err[512], cc[256];
    zsock_t *router = NULL;
    ctl_auth_t *auth = ctl_auth_new(tb, &router, err, sizeof err);
    ck_assert_msg(auth != NULL, "%s", err);
    ctl_cert_path(cc, sizeof cc);
    zsock_t *a = agent("h2", "h1", cc); /* says h2, holds h1's key */
    zmsg_t *m = recv_within(router, 3000);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ctl_auth_check(auth, m), -1);
    zmsg_destroy(&m);
    zsock_destroy(&a);
    ctl_auth_destroy(&auth);
}
END_TEST

START_TEST(test_unknown_key_refused)
{
    if (!private_net())
        return;
    char err[512], cc[256];
    zsock_t *router = NULL;
    ctl_auth_t *auth = ctl_auth_new(tb, &router, err, sizeof err);
    ck_assert_msg(auth != NULL, "%s", err);
    ctl_cert_path(cc, sizeof cc);
    zsock_t *a = agent("h1", NULL, cc);
    ck_assert_ptr_null(recv_within(router, 1500));
    zsock_destroy(&a);
    /* A revoked host (public key removed) is refused from then on. */
    char pub[256];
    keys_cert_path(pub, sizeof pub, tb->keys_path, "h2", false);
    ck_assert_int_eq(unlink(pub), 0);
    a = agent("h2", "h2", cc);
    ck_assert_ptr_null(recv_within(router, 1500));
    zsock_destroy(&a);
    ctl_auth_destroy(&auth);
}
END_TEST

START_TEST(test_wrong_controller_key)
{
    if (!private_net())
        return;
    char err[512], other[256];
    zsock_t *router = NULL;
    ctl_auth_t *auth = ctl_auth_new(tb, &router, err, sizeof err);
    ck_assert_msg(auth != NULL, "%s", err);
    snprintf(other, sizeof other, "%s/other-controller.cert", dir);
    zcert_t *c = zcert_new();
    ck_assert_int_eq(zcert_save_public(c, other), 0);
    zcert_destroy(&c);
    zsock_t *a = agent("h1", "h1", other);
    ck_assert_ptr_null(recv_within(router, 1500));
    zsock_destroy(&a);
    ctl_auth_destroy(&auth);
}
END_TEST

START_TEST(test_refusals)
{
    char err[512], path[256], want[512];
    zsock_t *router = NULL;
    /* No secret half of the controller's certificate. */
    snprintf(path, sizeof path, "%s/lab.keys/controller.cert_secret", dir);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_ptr_null(ctl_auth_new(tb, &router, err, sizeof err));
    snprintf(want, sizeof want, "%s/lab.keys/controller.cert: cannot read the controller's "
             "certificate and its secret", dir);
    ck_assert_str_eq(err, want);
    /* The agent side: a public-only certificate cannot be presented. */
    zsock_t *s = zsock_new(ZMQ_DEALER);
    char pub[256];
    keys_cert_path(pub, sizeof pub, tb->keys_path, "h1", false);
    ck_assert_int_eq(agent_auth_apply(s, pub, pub, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot read this agent's certificate and its secret", pub);
    ck_assert_str_eq(err, want);
    zsock_destroy(&s);
    /* Without keys a check lets everything through (authentication off). */
    ck_assert_int_eq(ctl_auth_check(NULL, NULL), 0);
}
END_TEST

START_TEST(test_private_dir)
{
    char err[512], d[128];
    struct stat st;
    snprintf(d, sizeof d, "%s/run", dir);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    ck_assert_int_eq(ctl_auth_private_dir(d, err, sizeof err), 0);
    ck_assert_int_eq(stat(d, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    snprintf(d, sizeof d, "%s/lab.testbed.json", dir);
    ck_assert_int_eq(ctl_auth_private_dir(d, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s: not a directory of ours", d);
    ck_assert_str_eq(err, want);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ctl_auth");
    TCase *tc = tcase_create("curve");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_known_host_passes);
    tcase_add_test(tc, test_other_hosts_key_fails_identity);
    tcase_add_test(tc, test_unknown_key_refused);
    tcase_add_test(tc, test_wrong_controller_key);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_private_dir);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
