/*
 * test_ctl_vm.c — unit tests of controller/ctl_vm.c, the controller's VM
 * bookkeeping: which messages go to which parent, with which values, and
 * what a run's leasing step is told, through start, HELLO, reuse, batch
 * end, boot timeout (reason with the console), a QEMU that could not start,
 * a testbed without a VM on the host, and adoption after a restart.
 */
#include "ctl_vm.h"
#include "ferr.h"
#include "testbed.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const char tbtext[] =
    "{ \"name\": \"lab\", \"controller\": { \"address\": \"198.18.7.254\", \"port\": 7707 },\n"
    "  \"hosts\": [\n"
    "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" },\n"
    "    { \"name\": \"h2\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.2\" },\n"
    "    { \"name\": \"h3\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.3\" },\n"
    "    { \"name\": \"h1v1\", \"kind\": \"vm\", \"address\": \"198.18.7.101\", \"parent\": \"h1\",\n"
    "      \"vcpus\": 2, \"memory_mb\": 512, \"boot_timeout_s\": 10 },\n"
    "    { \"name\": \"h2v1\", \"kind\": \"vm\", \"address\": \"198.18.7.102\", \"parent\": \"h2\",\n"
    "      \"image\": \"/srv/vm\" } ] }\n";

/* What was sent, in order. */
static struct {
    int n;
    char host[16][32];
    msg_type_t type[16];
    json_t *body[16];
} sent;

static bool up[8]; /* connected: h1v1, h2v1 */

static void
fake_send(void *arg, const char *host, msg_type_t type, json_t *body)
{
    (void) arg;
    ck_assert_int_lt(sent.n, 16);
    char err[PROTO_ERR_MAX];
    ck_assert_msg(proto_validate(type, body, err) == 0, "%s", err); /* every message is valid */
    snprintf(sent.host[sent.n], 32, "%s", host);
    sent.type[sent.n] = type;
    sent.body[sent.n++] = body;
}

static bool
fake_connected(void *arg, const char *host)
{
    (void) arg;
    return (strcmp(host, "h1v1") == 0 && up[0]) || (strcmp(host, "h2v1") == 0 && up[1]);
}

static testbed_t *tb;
static ctl_vm_t *vms;

static void
setup(void)
{
    char err[FERR_MAX];
    memset(&sent, 0, sizeof sent);
    memset(up, 0, sizeof up);
    tb = testbed_load_text("t.json", tbtext, strlen(tbtext), err);
    ck_assert_msg(tb != NULL, "%s", err);
    vms = ctl_vm_new(tb, fake_send, NULL);
    ck_assert_ptr_nonnull(vms);
}

static void
teardown(void)
{
    for (int i = 0; i < sent.n; i++)
        json_decref(sent.body[i]);
    ctl_vm_destroy(&vms);
    testbed_destroy(&tb);
}

static ctl_vm_answer_t
lease(int64_t batch, const char *parent, int64_t now, char *vm, char *addr, char *reason)
{
    return ctl_vm_lease(vms, batch, parent, now, fake_connected, NULL, vm, addr, reason, 900);
}

static const char *
str(json_t *b, const char *k)
{
    return json_string_value(json_object_get(b, k));
}

static int
num(json_t *b, const char *k)
{
    return (int) json_integer_value(json_object_get(b, k));
}

START_TEST(test_start_up_reuse_stop)
{
    char vm[32] = "", addr[16] = "", reason[900] = "";
    ck_assert_int_eq(lease(1, "h1", 1000, vm, addr, reason), CTL_VM_WAIT);
    ck_assert_int_eq(sent.n, 1);
    ck_assert_str_eq(sent.host[0], "h1");
    ck_assert_int_eq(sent.type[0], MSG_VM_START);
    ck_assert_str_eq(str(sent.body[0], "vm"), "h1v1");
    ck_assert_str_eq(str(sent.body[0], "address"), "198.18.7.101");
    ck_assert_int_eq(num(sent.body[0], "prefix"), 24);
    ck_assert_int_eq(num(sent.body[0], "vcpus"), 2);
    ck_assert_int_eq(num(sent.body[0], "memory_mb"), 512);
    ck_assert_ptr_null(json_object_get(sent.body[0], "image"));
    /* Asking again while it boots sends nothing more. */
    ck_assert_int_eq(lease(1, "h1", 2000, vm, addr, reason), CTL_VM_WAIT);
    ck_assert_int_eq(sent.n, 1);
    json_t *st = json_pack("{s:s, s:s, s:i, s:i}", "vm", "h1v1", "accel", "tcg", "vcpus", 2,
                           "memory_mb", 512);
    ck_assert_int_eq(ctl_vm_on_message(vms, "h1", MSG_VM_STARTED, st), 1);
    json_decref(st);
    ck_assert_str_eq(ctl_vm_accel(vms, "h1v1"), "tcg");
    /* Its agent says HELLO: up. */
    up[0] = true;
    ctl_vm_on_hello(vms, "h1v1", "vm", "h1");
    ck_assert_int_eq(lease(1, "h1", 3000, vm, addr, reason), CTL_VM_READY);
    ck_assert_str_eq(vm, "h1v1");
    ck_assert_str_eq(addr, "198.18.7.101");
    /* Reused by the next run of the batch: no second VM_START. */
    ck_assert_int_eq(lease(1, "h1", 4000, vm, addr, reason), CTL_VM_READY);
    ck_assert_int_eq(sent.n, 1);
    /* Another batch ending does not touch it; its own does. */
    ctl_vm_batch_end(vms, 2);
    ck_assert_int_eq(sent.n, 1);
    ctl_vm_batch_end(vms, 1);
    ck_assert_int_eq(sent.n, 2);
    ck_assert_str_eq(sent.host[1], "h1");
    ck_assert_int_eq(sent.type[1], MSG_VM_STOP);
    ck_assert_str_eq(str(sent.body[1], "vm"), "h1v1");
    ck_assert_str_eq(str(sent.body[1], "reason"), "batch 1 done");
    /* While it stops, a new batch waits (its agent may still look connected). */
    ck_assert_int_eq(lease(3, "h1", 5000, vm, addr, reason), CTL_VM_WAIT);
    ck_assert_int_eq(sent.n, 2);
    json_t *sd = json_pack("{s:s, s:s, s:i}", "vm", "h1v1", "console", "", "status", 0);
    ck_assert_int_eq(ctl_vm_on_message(vms, "h1", MSG_VM_STOPPED, sd), 1);
    json_decref(sd);
    up[0] = false;
    ck_assert_int_eq(lease(3, "h1", 6000, vm, addr, reason), CTL_VM_WAIT);
    ck_assert_int_eq(sent.n, 3);
    ck_assert_int_eq(sent.type[2], MSG_VM_START);
}
END_TEST

START_TEST(test_boot_timeout)
{
    char vm[32], addr[16], reason[900] = "";
    ck_assert_int_eq(lease(1, "h1", 0, vm, addr, reason), CTL_VM_WAIT);
    ck_assert_int_eq(lease(1, "h1", 10000, vm, addr, reason), CTL_VM_WAIT); /* 10 s: not yet */
    ck_assert_int_eq(sent.n, 1);
    ck_assert_int_eq(lease(1, "h1", 10001, vm, addr, reason), CTL_VM_WAIT);
    ck_assert_int_eq(sent.n, 2);
    ck_assert_int_eq(sent.type[1], MSG_VM_STOP);
    ck_assert_str_eq(str(sent.body[1], "reason"), "boot timeout");
    ck_assert_int_eq(lease(1, "h1", 10500, vm, addr, reason), CTL_VM_WAIT); /* until VM_STOPPED */
    /* From a host that is not its parent: ignored. */
    json_t *sd = json_pack("{s:s, s:s}", "vm", "h1v1", "console", "forged");
    ck_assert_int_eq(ctl_vm_on_message(vms, "h2", MSG_VM_STOPPED, sd), 1);
    json_decref(sd);
    ck_assert_int_eq(lease(1, "h1", 10600, vm, addr, reason), CTL_VM_WAIT);
    sd = json_pack("{s:s, s:s, s:i}", "vm", "h1v1", "console", "Booting | Kernel panic", "status", 9);
    ck_assert_int_eq(ctl_vm_on_message(vms, "h1", MSG_VM_STOPPED, sd), 1);
    json_decref(sd);
    ck_assert_int_eq(lease(1, "h1", 11000, vm, addr, reason), CTL_VM_FAILED);
    ck_assert_str_eq(reason, "vm h1v1 did not say HELLO within 10 s; console: Booting | Kernel panic");
    /* The batch's other runs fail at once, without another boot. */
    reason[0] = '\0';
    ck_assert_int_eq(lease(1, "h1", 12000, vm, addr, reason), CTL_VM_FAILED);
    ck_assert_str_eq(reason, "vm h1v1 did not say HELLO within 10 s; console: Booting | Kernel panic");
    ck_assert_int_eq(sent.n, 2);
    /* The next batch tries again. */
    ctl_vm_batch_end(vms, 1);
    ck_assert_int_eq(lease(2, "h1", 13000, vm, addr, reason), CTL_VM_WAIT);
    ck_assert_int_eq(sent.n, 3);
    ck_assert_int_eq(sent.type[2], MSG_VM_START);
}
END_TEST

START_TEST(test_not_started_and_none)
{
    char vm[32], addr[16], reason[900] = "";
    ck_assert_int_eq(lease(1, "h2", 0, vm, addr, reason), CTL_VM_WAIT);
    ck_assert_str_eq(str(sent.body[0], "image"), "/srv/vm");
    ck_assert_int_eq(num(sent.body[0], "vcpus"), 1);          /* defaults */
    ck_assert_int_eq(num(sent.body[0], "memory_mb"), 384);
    json_t *sd = json_pack("{s:s, s:s, s:i}", "vm", "h2v1", "console",
                           "QEMU not started: /srv/vm/vmlinuz missing", "status", -1);
    ctl_vm_on_message(vms, "h2", MSG_VM_STOPPED, sd);
    json_decref(sd);
    ck_assert_int_eq(lease(1, "h2", 100, vm, addr, reason), CTL_VM_FAILED);
    ck_assert_str_eq(reason, "vm h2v1 stopped while booting: QEMU not started: /srv/vm/vmlinuz missing");
    ck_assert_int_eq(lease(1, "h3", 100, vm, addr, reason), CTL_VM_NONE);
    ck_assert_msg(strstr(reason, "the testbed has no vm on host h3") != NULL, "%s", reason);
    /* Unknown VM names are not this table's business. */
    sd = json_pack("{s:s, s:s}", "vm", "zz", "console", "");
    ck_assert_int_eq(ctl_vm_on_message(vms, "h2", MSG_VM_STOPPED, sd), 0);
    json_decref(sd);
}
END_TEST

START_TEST(test_adopt_and_stop_all)
{
    char vm[32], addr[16], reason[900];
    up[1] = true; /* h2v1 is up from before a controller restart */
    ck_assert_int_eq(lease(4, "h2", 0, vm, addr, reason), CTL_VM_READY);
    ck_assert_str_eq(vm, "h2v1");
    ck_assert_int_eq(sent.n, 0);
    ctl_vm_stop_all(vms, "controller stopped");
    ck_assert_int_eq(sent.n, 1);
    ck_assert_int_eq(sent.type[0], MSG_VM_STOP);
    ck_assert_str_eq(sent.host[0], "h2");
    ck_assert_str_eq(str(sent.body[0], "reason"), "controller stopped");
}
END_TEST

static Suite *
ctl_vm_suite(void)
{
    Suite *s = suite_create("ctl_vm");
    TCase *tc = tcase_create("ctl_vm");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_start_up_reuse_stop);
    tcase_add_test(tc, test_boot_timeout);
    tcase_add_test(tc, test_not_started_and_none);
    tcase_add_test(tc, test_adopt_and_stop_all);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(ctl_vm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
