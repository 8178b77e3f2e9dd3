/*
 * test_remote_cmd.c — unit tests of controller/remote_cmd.c: the tokens a
 * remote command may hold (every shell metacharacter, whitespace, quote,
 * non-ASCII byte refused) and the joined line (exact text, refusals leave
 * an empty string, a line that does not fit is refused, not cut).
 */
#include "remote_cmd.h"

#include <check.h>
#include <string.h>

START_TEST(test_tokens)
{
    ck_assert(remote_cmd_token_ok("/var/lib/cntb/lab/h1/cntb-agent"));
    ck_assert(remote_cmd_token_ok("tcp://198.18.7.254:7707"));
    ck_assert(remote_cmd_token_ok("--controller-cert"));
    ck_assert(remote_cmd_token_ok("bare-metal"));
    static const char *const bad[] = { "", "a b", "a;b", "a|b", "a&b", "$(x)", "`x`", "a'b",
                                       "a\"b", "a\\b", "a\nb", "a\tb", "*", "?", "~root",
                                       "a>b", "a<b", "{a,b}", "a#b", "a=b", "!x", "a%b",
                                       "caf\xc3\xa9", "a,b", "[x]" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!remote_cmd_token_ok(bad[i]), "accepted \"%s\"", bad[i]);
    ck_assert(!remote_cmd_token_ok(NULL));
}
END_TEST

START_TEST(test_join)
{
    char cmd[64];
    const char *const ok[] = { "/x/cntb-agent", "--stop", "--pidfile", "/x/agent.pid", NULL };
    ck_assert_int_eq(remote_cmd_join(ok, cmd, sizeof cmd), 0);
    ck_assert_str_eq(cmd, "/x/cntb-agent --stop --pidfile /x/agent.pid");
    const char *const evil[] = { "/x/cntb-agent", "--host", "h1;reboot", NULL };
    ck_assert_int_eq(remote_cmd_join(evil, cmd, sizeof cmd), -1);
    ck_assert_str_eq(cmd, "");
    const char *const empty[] = { NULL };
    ck_assert_int_eq(remote_cmd_join(empty, cmd, sizeof cmd), -1);
    /* 43 bytes exactly fit 44; one byte less is refused whole. */
    ck_assert_int_eq(remote_cmd_join(ok, cmd, 44), 0);
    ck_assert_int_eq(remote_cmd_join(ok, cmd, 43), -1);
    ck_assert_str_eq(cmd, "");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("remote_cmd");
    TCase *tc = tcase_create("tokens");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_tokens);
    tcase_add_test(tc, test_join);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
