/*
 * test_agent_daemon.c — unit tests of node-agent/agent_daemon.c: detaching
 * (the starter exits 0 once the pid file names the daemon; the daemon is in
 * a session of its own and is not its leader; its stdout goes to the log),
 * pid files that must not count (missing, garbage, pid 1, a live process
 * that is not cntb-agent), stop without an agent, refusals with their text.
 */
#include "agent_daemon.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64], pidf[128], logfile[128];

static void
setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_agent_daemon.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(pidf, sizeof pidf, "%s/agent.pid", dir);
    snprintf(logfile, sizeof logfile, "%s/agent.log", dir);
}

static void
teardown(void)
{
    unlink(pidf);
    unlink(logfile);
    rmdir(dir);
}

static void
write_pidfile(const char *text)
{
    FILE *f = fopen(pidf, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_pidfiles_that_do_not_count)
{
    ck_assert_int_eq(agent_daemon_running(pidf), 0); /* missing */
    write_pidfile("garbage\n");
    ck_assert_int_eq(agent_daemon_running(pidf), 0);
    write_pidfile("1\n");
    ck_assert_int_eq(agent_daemon_running(pidf), 0);
    char buf[32];
    snprintf(buf, sizeof buf, "%d\n", (int) getpid()); /* alive, but not cntb-agent */
    write_pidfile(buf);
    ck_assert_int_eq(agent_daemon_running(pidf), 0);
    ck_assert_int_eq(agent_daemon_stop(pidf, 100), 0);
    ck_assert_int_eq(access(pidf, F_OK), -1); /* removed */
}
END_TEST

START_TEST(test_detach)
{
    pid_t starter = fork();
    ck_assert_int_ge(starter, 0);
    if (starter == 0) {
        char err[256];
        if (agent_daemon_start(logfile, pidf, err, sizeof err) != 0)
            _exit(3);
        printf("daemon %d here\n", (int) getpid());
        fflush(stdout);
        sleep(5);
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(starter, &st, 0), starter);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    FILE *f = fopen(pidf, "r");
    ck_assert_ptr_nonnull(f);
    int pid = 0;
    ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
    fclose(f);
    ck_assert_int_gt(pid, 1);
    ck_assert_int_eq(kill(pid, 0), 0);
    pid_t sid = getsid(pid);
    ck_assert_int_ne(sid, getsid(0)); /* a session of its own */
    ck_assert_int_ne(sid, pid);       /* not its leader: no terminal can come back */
    char want[64], line[64] = "";
    snprintf(want, sizeof want, "daemon %d here\n", pid);
    for (int i = 0; i < 100 && strcmp(line, want) != 0; i++) {
        usleep(20000);
        f = fopen(logfile, "r");
        if (f) {
            if (!fgets(line, sizeof line, f))
                line[0] = '\0';
            fclose(f);
        }
    }
    ck_assert_str_eq(line, want);
    kill(pid, SIGKILL);
}
END_TEST

START_TEST(test_refusals)
{
    char err[256], bad[160], want[256];
    snprintf(bad, sizeof bad, "%s/missing/agent.log", dir);
    ck_assert_int_eq(agent_daemon_start(bad, pidf, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: No such file or directory", bad);
    ck_assert_str_eq(err, want);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("agent_daemon");
    TCase *tc = tcase_create("daemon");
    tcase_set_timeout(tc, 20);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_pidfiles_that_do_not_count);
    tcase_add_test(tc, test_detach);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
