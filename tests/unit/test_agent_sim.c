/*
 * test_agent_sim.c — Check suite of node-agent/agent_sim.c: simulated agents
 * (`cntb-agent --simulate N`) seen from a controller's ROUTER socket.
 *
 * Each test forks a child running agent_sim_run (czmq is initialised only
 * after the fork, in each process) connected over ipc:// in the test's own
 * mkdtemp directory, plays the controller's part and checks every answer's
 * values; the child is stopped with SIGTERM and must exit 0.
 */
#include <check.h>
#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_sim.h"
#include "proto.h"

static char dir[64], endpoint[128];

static pid_t
start_sims(int n)
{
    snprintf(dir, sizeof dir, "/tmp/cntb-sim.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(endpoint, sizeof endpoint, "ipc://%s/ctl", dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        agent_sim_config_t cfg = { .endpoint = endpoint, .count = n };
        _exit(agent_sim_run(&cfg) == 0 ? 0 : 1);
    }
    return pid;
}

/* Receives the next message of `want` type from anyone; returns its body, sets who. */
static json_t *
recv_type(zsock_t *router, msg_type_t want, char **who)
{
    for (int i = 0; i < 50; i++) {
        zsock_set_rcvtimeo(router, 5000);
        zmsg_t *m = zmsg_recv(router);
        ck_assert_ptr_nonnull(m);
        msg_type_t t;
        json_t *b = NULL;
        char err[PROTO_ERR_MAX], *id = NULL;
        ck_assert_int_eq(proto_decode(&m, true, &id, &t, &b, err), 0);
        if (t == want) {
            *who = id;
            return b;
        }
        free(id);
        json_decref(b);
    }
    ck_abort_msg("no %s", proto_type_name(want));
    return NULL;
}

static void
stop_sims(pid_t pid)
{
    int st;
    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char p[160];
    snprintf(p, sizeof p, "%s/ctl", dir);
    unlink(p);
    rmdir(dir);
}

START_TEST(test_hello)
{
    pid_t pid = start_sims(3);
    zsock_t *router = zsock_new_router(endpoint);
    ck_assert_ptr_nonnull(router);
    bool seen[4] = { false };
    for (int i = 0; i < 3; i++) {
        char *who = NULL;
        json_t *b = recv_type(router, MSG_HELLO, &who);
        int k = 0;
        ck_assert_int_eq(sscanf(who, "sim%d", &k), 1);
        ck_assert(k >= 1 && k <= 3);
        seen[k] = true;
        ck_assert_str_eq(json_string_value(json_object_get(b, "host")), who);
        ck_assert_str_eq(json_string_value(json_object_get(b, "kind")), "bare-metal");
        json_t *nets = json_object_get(json_object_get(b, "capabilities"), "networks");
        ck_assert_int_eq(json_object_size(nets), 1);
        json_t *pl = json_object_get(nets, "noop");
        ck_assert_int_eq(json_array_size(pl), 2);
        ck_assert_str_eq(json_string_value(json_array_get(pl, 0)), "same-host");
        ck_assert_str_eq(json_string_value(json_array_get(pl, 1)), "cross-host");
        ck_assert(json_is_true(json_object_get(json_object_get(b, "meta"), "simulated")));
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(b, "meta"), "pid")), pid);
        free(who);
        json_decref(b);
    }
    ck_assert(seen[1] && seen[2] && seen[3]);
    zsock_destroy(&router);
    stop_sims(pid);
}
END_TEST

START_TEST(test_run_steps)
{
    pid_t pid = start_sims(2);
    zsock_t *router = zsock_new_router(endpoint);
    ck_assert_ptr_nonnull(router);
    char *who = NULL;
    json_t *b;
    for (int i = 0; i < 2; i++) {
        b = recv_type(router, MSG_HELLO, &who);
        json_decref(b);
        free(who);
    }
    proto_send(router, "sim2", MSG_WELCOME,
               json_pack("{s:i, s:s, s:i}", "proto", PROTO_VERSION, "testbed", "zz",
                         "heartbeat_ms", 1000));
    proto_send(router, "sim2", MSG_SETUP,
               json_pack("{s:i, s:s, s:s, s:b, s:b, s:{s:f}}", "run", 17, "network", "noop",
                         "placement", "same-host", "client", 1, "server", 1, "params",
                         "duration_s", 2.5));
    b = recv_type(router, MSG_SETUP_OK, &who);
    ck_assert_str_eq(who, "sim2");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "run")), 17);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "mtu")), 1500);
    json_decref(b);
    free(who);
    proto_send(router, "sim2", MSG_START,
               json_pack("{s:i, s:s, s:{s:f}}", "run", 17, "role", "client", "params",
                         "duration_s", 2.5));
    b = recv_type(router, MSG_START_OK, &who);
    ck_assert_str_eq(json_string_value(json_object_get(b, "role")), "client");
    json_decref(b);
    free(who);
    b = recv_type(router, MSG_RESULT, &who);
    ck_assert_str_eq(who, "sim2");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "run")), 17);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "seq")), 1);
    json_t *met = json_object_get(json_object_get(b, "result"), "metrics");
    ck_assert_double_eq(json_number_value(json_object_get(met, "throughput_bps")), 1e9);
    ck_assert_double_eq(json_number_value(json_object_get(met, "duration_s")), 2.5);
    json_decref(b);
    free(who);
    proto_send(router, "sim2", MSG_RESULT_ACK, json_pack("{s:i, s:i}", "run", 17, "seq", 1));
    proto_send(router, "sim2", MSG_TEARDOWN, json_pack("{s:i}", "run", 17));
    b = recv_type(router, MSG_TEARDOWN_OK, &who);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "run")), 17);
    ck_assert_str_eq(json_string_value(json_object_get(b, "leaks")), "");
    json_decref(b);
    free(who);
    zsock_destroy(&router);
    stop_sims(pid);
}
END_TEST

START_TEST(test_bad_count)
{
    agent_sim_config_t cfg = { .endpoint = "ipc:///nonexistent", .count = 0 };
    ck_assert_int_eq(agent_sim_run(&cfg), -1);
    cfg.count = AGENT_SIM_MAX + 1;
    ck_assert_int_eq(agent_sim_run(&cfg), -1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("agent_sim");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_hello);
    tcase_add_test(tc, test_run_steps);
    tcase_add_test(tc, test_bad_count);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
