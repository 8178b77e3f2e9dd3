/*
 * test_agent_clean.c — Check suite of node-agent/agent_clean.c: the run
 * journal and which runs an agent finds leftovers of at start.
 *
 * Each test has its own mkdtemp state dir; the find test runs in a fresh
 * network namespace (unshare, root only: skipped otherwise) so that links of
 * other testbeds on the machine are not seen.
 */
#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_clean.h"

static char dir[64];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof dir, "/tmp/cntb-clean.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

START_TEST(test_journal)
{
    char path[128];
    mkdir_tmp();
    ck_assert_int_eq(agent_clean_journal_add(dir, 42, true, true), 0);
    snprintf(path, sizeof path, "%s/run-42", dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_eq(agent_clean_journal_del(dir, 42), 0);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(agent_clean_journal_del(dir, 42), 0); /* idempotent */
    ck_assert_int_eq(agent_clean_journal_add(NULL, 42, true, true), 0);  /* no journal: no-op */
    rmdir(dir);
}
END_TEST

START_TEST(test_find_journal)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0)
        return; /* needs root for its own namespace */
    mkdir_tmp();
    int64_t runs[8];
    ck_assert_int_eq(agent_clean_find("zz", "h1", dir, runs, 8), 0);
    agent_clean_journal_add(dir, 7, true, true);
    agent_clean_journal_add(dir, 1234, true, true);
    agent_clean_journal_add(dir, 7, true, true);
    FILE *f = fopen("/tmp/cntb-clean-ignored", "w"); /* not in dir: ignored */
    if (f)
        fclose(f);
    int n = agent_clean_find("zz", "h1", dir, runs, 8);
    ck_assert_int_eq(n, 2);
    ck_assert(runs[0] + runs[1] == 1241 && (runs[0] == 7 || runs[1] == 7));
    ck_assert_int_eq(agent_clean_find("zz", "h1", dir, runs, 1), 1); /* max respected */
    char report[64];
    agent_clean_cfg_t cc = { .testbed = "zz", .host = "h1", .state_dir = dir,
                             .underlay_if = "eth0", .underlay_addr = "198.18.250.1" };
    ck_assert_int_eq(agent_clean_all(&cc, report, sizeof report), 2);
    ck_assert(strcmp(report, "run 7, run 1234") == 0 || strcmp(report, "run 1234, run 7") == 0);
    ck_assert_int_eq(agent_clean_find("zz", "h1", dir, runs, 8), 0); /* journal emptied */
    unlink("/tmp/cntb-clean-ignored");
    rmdir(dir);
}
END_TEST

/* Which runs hold keys of this host in etcd: only keys below its own address count. */
START_TEST(test_etcd_runs)
{
    json_t *kvs = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                            "/cntb/zz/overlay/12/198.18.9.1/map", "{}",
                            "/cntb/zz/overlay/12/198.18.9.1/ack/198.18.9.2", "1",
                            "/cntb/zz/overlay/13/198.18.9.2/map", "{}",   /* the other host's */
                            "/cntb/zz/overlay/14/198.18.9.11/map", "{}",  /* longer address */
                            "/cntb/zz/overlay/x5/198.18.9.1/map", "{}",   /* no run id */
                            "/cntb/zzz/overlay/15/198.18.9.1/map", "{}",  /* another testbed */
                            "/cntb/zz/overlay/16/198.18.9.1/ack/198.18.9.2", "1");
    int64_t runs[8] = { 7 };
    int n = agent_clean_etcd_runs("zz", "198.18.9.1", kvs, runs, 1, 8);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(runs[0], 7);
    ck_assert(runs[1] + runs[2] == 28 && (runs[1] == 12 || runs[1] == 16));
    ck_assert_int_eq(agent_clean_etcd_runs("zz", "198.18.9.1", kvs, runs, 3, 8), 3); /* distinct */
    ck_assert_int_eq(agent_clean_etcd_runs("zz", "198.18.9.1", kvs, runs, 0, 1), 1); /* max */
    ck_assert_int_eq(agent_clean_etcd_runs("zz", "", kvs, runs, 0, 8), 0);
    ck_assert_int_eq(agent_clean_etcd_runs("zz", "198.18.9.1", NULL, runs, 0, 8), 0);
    json_decref(kvs);
}
END_TEST

static Suite *agent_clean_suite(void)
{
    Suite *s = suite_create("agent_clean");
    TCase *tc = tcase_create("clean");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_journal);
    tcase_add_test(tc, test_find_journal);
    tcase_add_test(tc, test_etcd_runs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(agent_clean_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
