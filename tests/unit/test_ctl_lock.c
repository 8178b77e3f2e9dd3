/*
 * test_ctl_lock.c — controller/ctl_lock.c: one controller per testbed and
 * per database.  Each test makes its own mkdtemp directory.
 */
#include "ctl_lock.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static char tdir[PATH_MAX];
static char tpath[PATH_MAX + 32];

static void
setup(void)
{
    snprintf(tdir, sizeof tdir, "/tmp/cntb-lock.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
    snprintf(tpath, sizeof tpath, "%s/t.db-controller", tdir);
}

static void
teardown(void)
{
    unlink(tpath);
    rmdir(tdir);
}

static void
read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* The holder writes its content; a second taker (another open file
 * description, as a second controller has) is refused with that content. */
START_TEST(test_take_held_release)
{
    char holder[128], buf[128];
    int fd = ctl_lock_take(tpath, "4242 nc1\n", holder, sizeof holder);
    ck_assert_int_ge(fd, 0);
    read_file(tpath, buf, sizeof buf);
    ck_assert_str_eq(buf, "4242 nc1\n");
    int fd2 = ctl_lock_take(tpath, "77 nc2\n", holder, sizeof holder);
    ck_assert_int_eq(fd2, CTL_LOCK_HELD);
    ck_assert_str_eq(holder, "4242 nc1");
    read_file(tpath, buf, sizeof buf); /* the refused one wrote nothing */
    ck_assert_str_eq(buf, "4242 nc1\n");
    ctl_lock_release(&fd, tpath);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_ne(access(tpath, F_OK), 0);
    ctl_lock_release(&fd, tpath); /* fd < 0: nothing */
    fd2 = ctl_lock_take(tpath, "77 nc2\n", holder, sizeof holder);
    ck_assert_int_ge(fd2, 0);
    ctl_lock_release(&fd2, tpath);
}
END_TEST

/* A SIGKILLed holder leaves its file but no lock: the next one takes it over
 * and replaces a longer stale content entirely. */
START_TEST(test_dead_holder)
{
    char holder[128], buf[128];
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = ctl_lock_take(tpath, "123456789 oldtb\n", holder, sizeof holder);
        if (fd < 0)
            _exit(1);
        pause();
        _exit(0);
    }
    for (int i = 0; i < 200 && access(tpath, F_OK) != 0; i++)
        usleep(10000);
    usleep(50000);
    ck_assert_int_eq(ctl_lock_take(tpath, "1 x\n", holder, sizeof holder), CTL_LOCK_HELD);
    ck_assert_str_eq(holder, "123456789 oldtb");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    int fd = ctl_lock_take(tpath, "1 x\n", holder, sizeof holder);
    ck_assert_int_ge(fd, 0);
    read_file(tpath, buf, sizeof buf);
    ck_assert_str_eq(buf, "1 x\n");
    ctl_lock_release(&fd, tpath);
}
END_TEST

/* The lock is flock(2), independent of fcntl(2) record locks (SQLite's). */
START_TEST(test_independent_of_fcntl)
{
    char holder[128];
    int other = open(tpath, O_RDWR | O_CREAT, 0644);
    ck_assert_int_ge(other, 0);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    ck_assert_int_eq(fcntl(other, F_SETLK, &fl), 0);
    int fd = ctl_lock_take(tpath, "9 t\n", holder, sizeof holder);
    ck_assert_int_ge(fd, 0);
    ctl_lock_release(&fd, tpath);
    close(other);
}
END_TEST

/* A directory that is not there: -1 with the path and the reason. */
START_TEST(test_error)
{
    char holder[256], path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/none/x", tdir);
    ck_assert_int_eq(ctl_lock_take(path, "1\n", holder, sizeof holder), -1);
    ck_assert_ptr_nonnull(strstr(holder, "/none/x: No such file or directory"));
}
END_TEST

static Suite *
lock_suite(void)
{
    Suite *s = suite_create("ctl_lock");
    TCase *tc = tcase_create("ctl_lock");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_take_held_release);
    tcase_add_test(tc, test_dead_holder);
    tcase_add_test(tc, test_independent_of_fcntl);
    tcase_add_test(tc, test_error);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(lock_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
