/*
 * test_bird.c — BIRD's control-socket protocol as bird.c speaks it: reply
 * lines with codes, continuations and the final line, against a fake BIRD
 * (a forked child serving one connection on a unix socket in the test's
 * own directory); the reading of `show protocols`; a configuration error
 * reported from a real BIRD's exit when bird2 is installed.
 */
#include "bird.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char show[] =
    "Name       Proto      Table      State  Since         Info\n"
    "device1    Device     ---        up     10:00:00.000  \n"
    "cntb_direct Direct    ---        up     10:00:00.000  \n"
    "cntb_198_18_7_2 BGP        ---        start  10:00:00.000  Active        Socket: Connection refused\n"
    "cntb_198_18_7_3 BGP        ---        up     10:00:01.000  Established   \n"
    "cntb_198_18_7_33 BGP       ---        start  10:00:00.000  Connect       \n";

START_TEST(test_show_protocols)
{
    char info[128];
    ck_assert(!bird_bgp_established(show, "cntb_198_18_7_2", info, sizeof info));
    ck_assert_str_eq(info, "Active Socket: Connection refused");
    ck_assert(bird_bgp_established(show, "cntb_198_18_7_3", info, sizeof info));
    ck_assert_str_eq(info, "Established");
    /* a name that is a prefix of another is matched exactly */
    ck_assert(!bird_bgp_established(show, "cntb_198_18_7_33", info, sizeof info));
    ck_assert_str_eq(info, "Connect");
    ck_assert(!bird_bgp_established(show, "cntb_198_18_7_4", info, sizeof info));
    ck_assert_str_eq(info, "not found");
}
END_TEST

/* Serves one connection: greeting, reads a line, answers with reply. */
static pid_t fake_bird(const char *path, const char *reply)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(ls, 1), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(ls, NULL, NULL);
        char buf[256];
        if (c < 0)
            _exit(1);
        if (write(c, "0001 BIRD 2.0.12 ready.\n", 24) != 24)
            _exit(1);
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0 || buf[n - 1] != '\n')
            _exit(2);
        /* in two pieces, to exercise reassembly */
        size_t half = strlen(reply) / 2;
        if (write(c, reply, half) < 0)
            _exit(1);
        usleep(20000);
        if (write(c, reply + half, strlen(reply) - half) < 0)
            _exit(1);
        usleep(100000);
        _exit(0);
    }
    close(ls);
    return pid;
}

START_TEST(test_cmd_protocol)
{
    char dir[] = "/tmp/cntb-birdtest.XXXXXX", path[128], out[1024], err[BIRD_ERR_MAX];
    int code = -1;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ctl", dir);
    pid_t pid = fake_bird(path, "2002-Name       Proto  State\n"
                                "1002-device1    Device up\n"
                                " cntb_x     BGP    start  Active\n"
                                "0000 \n");
    ck_assert_int_eq(bird_cmd(path, "show protocols", out, sizeof out, &code, err), 0);
    ck_assert_int_eq(code, 0);
    ck_assert_str_eq(out, "Name       Proto  State\ndevice1    Device up\ncntb_x     BGP    start  Active\n\n");
    waitpid(pid, NULL, 0);
    unlink(path);
    pid = fake_bird(path, "9001 syntax error, unexpected CF_SYM_UNDEFINED\n");
    ck_assert_int_eq(bird_cmd(path, "show nonsense", out, sizeof out, &code, err), 0);
    ck_assert_int_eq(code, 9001);
    ck_assert_str_eq(out, "syntax error, unexpected CF_SYM_UNDEFINED\n");
    waitpid(pid, NULL, 0);
    unlink(path);
    /* nobody listening */
    ck_assert_int_eq(bird_cmd(path, "show status", out, sizeof out, &code, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "control socket"));
    rmdir(dir);
}
END_TEST

START_TEST(test_real_bird_config_error)
{
    char dir[] = "/tmp/cntb-birdtest.XXXXXX", conf[128], sock[128], pidf[128], logf[128];
    char err[BIRD_ERR_MAX];
    FILE *f;

    if (access(BIRD_BIN, X_OK) != 0)
        return; /* bird2 not installed */
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(conf, sizeof conf, "%s/b.conf", dir);
    snprintf(sock, sizeof sock, "%s/b.ctl", dir);
    snprintf(pidf, sizeof pidf, "%s/b.pid", dir);
    snprintf(logf, sizeof logf, "%s/b.log", dir);
    f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fputs("router id 198.18.0.1;\nprotocol bgp broken { neighbor; }\n", f);
    fclose(f);
    pid_t pid = bird_start(conf, sock, pidf, logf, err);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(bird_wait_socket(pid, sock, logf, 5000, err), -1);
    ck_assert_msg(strstr(err, "bird exited") && strstr(err, "b.conf"), "err: %s", err);
    ck_assert_int_eq(bird_stop(0, pidf, conf), 0); /* nothing left to stop */
    unlink(conf);
    unlink(logf);
    unlink(sock); /* BIRD made it before reading its configuration */
    rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bird");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_show_protocols);
    tcase_add_test(tc, test_cmd_protocol);
    tcase_add_test(tc, test_real_bird_config_error);
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
