/*
 * test_nl.c — Check suite of node-agent/net/: namespaces and links (nl.c),
 * the host and bridge network kinds with the leak check (netkind.c, host.c,
 * bridge.c) and the emulated testbed's network (emulate.c).
 *
 * These tests build real namespaces, veths and bridges, so they need root;
 * without it every test passes after printing a note.  Every name carries
 * "cntb" and this process's id (or the fixed run 424242 of the bridge test),
 * every address is in 198.18.0.0/15, no route is added outside a test's own
 * namespaces.  Cleanup runs as an unchecked fixture, in the runner process
 * before and after each test case, so a failed or timed-out test (whose
 * forked child just dies) leaves nothing behind.  A lock file serialises
 * concurrent runs of this suite from different build trees.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emulate.h"
#include "netkind.h"
#include "nl.h"

#define BR_RUN 424242
#define BR_TESTBED "ut"

static char ns_a[64], ns_b[64];     /* netns and veth tests */
static char veth_a[16], veth_b[16]; /* veth pair across ns_a and ns_b */
static char emu_name[16];           /* emulated testbed "ut<pid%1000>" */

#define SKIP_UNLESS_ROOT()                                                    \
    do {                                                                      \
        if (geteuid() != 0) {                                                 \
            printf("test_nl: %s: skipped (needs root)\n", __func__);          \
            return;                                                           \
        }                                                                     \
    } while (0)

static void bridge_ctx(netkind_ctx_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->run = BR_RUN;
    snprintf(ctx->testbed, sizeof(ctx->testbed), "%s", BR_TESTBED);
    snprintf(ctx->placement, sizeof(ctx->placement), "same-host");
    ctx->has_client = ctx->has_server = true;
    ctx->pairs = 1;
}

/* Removes everything any test here may have made; runs in the runner. */
static void cleanup_all(void)
{
    char err[NL_ERR_MAX];
    netkind_ctx_t ctx;

    if (geteuid() != 0)
        return;
    netns_delete(ns_a, err);
    netns_delete(ns_b, err);
    bridge_ctx(&ctx);
    netkind_find("bridge")->teardown(&ctx, err);
    nl_link_del(NULL, "cntb4242421-br", err);
    emulate_destroy(emu_name, err);
}

/*
 * Listens on addr:port in namespace sns and connects to it from namespace
 * cns, each in a forked child.  0 when the connection and one byte got
 * through, -1 otherwise.
 */
static int tcp_check(const char *cns, const char *sns, const char *addr, int port)
{
    struct sockaddr_in sin;
    int pfd[2], st_s = -1, st_c = -1;
    pid_t srv, cli;
    char b;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1 || pipe(pfd) < 0)
        return -1;
    srv = fork();
    if (srv == 0) {
        char err[NL_ERR_MAX];
        int s, c, one = 1;

        alarm(10);
        close(pfd[0]);
        if (netns_enter(sns, err) < 0) {
            fprintf(stderr, "server: %s\n", err);
            _exit(2);
        }
        s = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (s < 0 || bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(s, 1) < 0) {
            perror("server: bind/listen");
            _exit(3);
        }
        if (write(pfd[1], "r", 1) != 1)
            _exit(4);
        c = accept(s, NULL, NULL);
        if (c < 0 || read(c, &b, 1) != 1 || b != 'x')
            _exit(5);
        _exit(0);
    }
    close(pfd[1]);
    if (srv < 0 || read(pfd[0], &b, 1) != 1) {
        close(pfd[0]);
        if (srv > 0)
            waitpid(srv, NULL, 0);
        return -1;
    }
    close(pfd[0]);
    cli = fork();
    if (cli == 0) {
        char err[NL_ERR_MAX];
        int s;

        alarm(10);
        if (netns_enter(cns, err) < 0) {
            fprintf(stderr, "client: %s\n", err);
            _exit(2);
        }
        s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
            perror("client: connect");
            _exit(3);
        }
        if (write(s, "x", 1) != 1)
            _exit(4);
        _exit(0);
    }
    if (cli > 0)
        waitpid(cli, &st_c, 0);
    if (cli < 0 || !WIFEXITED(st_c) || WEXITSTATUS(st_c) != 0)
        kill(srv, SIGKILL);
    waitpid(srv, &st_s, 0);
    return WIFEXITED(st_s) && WEXITSTATUS(st_s) == 0 && WIFEXITED(st_c) &&
                   WEXITSTATUS(st_c) == 0
               ? 0
               : -1;
}

START_TEST(test_names)
{
    ck_assert(nl_ifname_valid("cntb1-br"));
    ck_assert(nl_ifname_valid("123456789012345"));
    ck_assert(!nl_ifname_valid("1234567890123456"));
    ck_assert(!nl_ifname_valid(""));
    ck_assert(!nl_ifname_valid("a b"));
    ck_assert(!nl_ifname_valid("a/b"));
    ck_assert(!nl_ifname_valid(".."));
    ck_assert(netns_name_valid("cntb-lab-12-client"));
    ck_assert(!netns_name_valid("cntb/x"));

    char ns[64];
    netkind_netns_name(ns, "lab", 12, "client");
    ck_assert_str_eq(ns, "cntb-lab-12-client");
    ck_assert_ptr_nonnull(netkind_find("host"));
    ck_assert_ptr_nonnull(netkind_find("bridge"));
    ck_assert_ptr_null(netkind_find("nope"));
    const netkind_t *const *all = netkind_all();
    int n = 0;
    for (; all[n]; n++)
        ck_assert_ptr_eq(netkind_find(all[n]->name), all[n]);
    ck_assert_int_ge(n, 2);
    ck_assert(netkind_find("bridge")->supports("same-host"));
    ck_assert(!netkind_find("bridge")->supports("cross-host"));
    ck_assert(netkind_find("host")->supports("cross-host"));
}
END_TEST

START_TEST(test_netns)
{
    char err[NL_ERR_MAX];
    char **names = NULL;

    SKIP_UNLESS_ROOT();
    ck_assert_int_eq(netns_exists(ns_a), 0);
    ck_assert_msg(netns_create(ns_a, false, err) == 0, "%s", err);
    ck_assert_int_eq(netns_exists(ns_a), 1);
    ck_assert_int_eq(netns_create(ns_a, false, err), -1);
    ck_assert_msg(strstr(err, ns_a) && strstr(err, "File exists"), "%s", err);
    ck_assert_msg(netns_create(ns_a, true, err) == 0, "%s", err);
    ck_assert_int_eq(netns_create("bad/name", true, err), -1);

    /* loopback is up inside: a listener on 127.0.0.1 takes a connection */
    ck_assert_int_eq(tcp_check(ns_a, ns_a, "127.0.0.1", 7301), 0);

    ck_assert_int_eq(netns_list(ns_a, &names, err), 1);
    ck_assert_str_eq(names[0], ns_a);
    ck_assert_ptr_null(names[1]);
    netns_list_free(&names);
    ck_assert_ptr_null(names);

    ck_assert_msg(netns_delete(ns_a, err) == 0, "%s", err);
    ck_assert_int_eq(netns_exists(ns_a), 0);
    ck_assert_msg(netns_delete(ns_a, err) == 0, "%s", err);
    ck_assert_int_eq(netns_list(ns_a, &names, err), 0);
    ck_assert_ptr_null(names[0]);
    netns_list_free(&names);
}
END_TEST

START_TEST(test_veth)
{
    char err[NL_ERR_MAX];
    char **names = NULL;

    SKIP_UNLESS_ROOT();
    ck_assert_msg(netns_create(ns_a, false, err) == 0, "%s", err);
    ck_assert_msg(netns_create(ns_b, false, err) == 0, "%s", err);
    ck_assert_msg(nl_veth_add(ns_a, veth_a, veth_b, ns_b, 1400, err) == 0, "%s", err);
    ck_assert_int_eq(nl_link_exists(ns_a, veth_a, err), 1);
    ck_assert_int_eq(nl_link_exists(ns_b, veth_b, err), 1);
    ck_assert_int_eq(nl_link_exists(ns_a, veth_b, err), 0);
    ck_assert_int_eq(nl_link_exists(NULL, veth_a, err), 0);
    ck_assert_int_eq(nl_link_mtu(ns_b, veth_b, err), 1400);
    ck_assert_int_eq(nl_link_mtu(ns_b, "cntbmissing", err), -1);

    ck_assert_int_eq(nl_veth_add(ns_a, veth_a, "cntbother", NULL, 0, err), -1);
    ck_assert_msg(strstr(err, veth_a) && strstr(err, "File exists"), "%s", err);

    ck_assert_msg(nl_addr_add(ns_a, veth_a, "198.18.251.1/24", err) == 0, "%s", err);
    ck_assert_msg(nl_addr_add(ns_a, veth_a, "198.18.251.1/24", err) == 0, "%s", err);
    ck_assert_msg(nl_addr_add(ns_b, veth_b, "198.18.251.2/24", err) == 0, "%s", err);
    ck_assert_int_eq(nl_addr_add(ns_b, veth_b, "198.18.251.300/24", err), -1);
    ck_assert_int_eq(nl_addr_add(ns_b, veth_b, "198.18.251.3", err), -1);
    ck_assert_msg(nl_link_up(ns_a, veth_a, err) == 0, "%s", err);
    ck_assert_msg(nl_link_up(ns_b, veth_b, err) == 0, "%s", err);

    /* routes, inside the test's own namespaces only */
    ck_assert_msg(nl_route_add(ns_a, "198.19.250.0/24", "198.18.251.2", NULL, err) == 0, "%s",
                  err);
    ck_assert_msg(nl_route_add(ns_a, "default", "198.18.251.2", veth_a, err) == 0, "%s", err);
    ck_assert_msg(nl_route_add(ns_b, "198.19.249.0/24", NULL, veth_b, err) == 0, "%s", err);
    ck_assert_int_eq(nl_route_add(ns_b, "198.19.248.0/24", NULL, NULL, err), -1);

    ck_assert_int_eq(tcp_check(ns_a, ns_b, "198.18.251.2", 7302), 0);

    /* a bridge, and the error naming it */
    ck_assert_msg(nl_bridge_add(ns_a, "cntbnlbr", 0, err) == 0, "%s", err);
    ck_assert_int_eq(nl_bridge_add(ns_a, "cntbnlbr", 0, err), -1);
    ck_assert_str_eq(err, "bridge cntbnlbr: File exists");
    ck_assert_msg(nl_link_set_master(ns_a, veth_a, "cntbnlbr", err) == 0, "%s", err);
    ck_assert_int_eq(nl_link_set_master(ns_a, veth_a, "cntbnobr", err), -1);
    ck_assert_int_eq(nl_link_list(ns_a, "cntb", &names, err), 2);
    ck_assert_str_eq(names[0], veth_a); /* sorted: digits before letters */
    ck_assert_str_eq(names[1], "cntbnlbr");
    netns_list_free(&names);

    ck_assert_msg(nl_link_del(ns_b, veth_b, err) == 0, "%s", err);
    ck_assert_int_eq(nl_link_exists(ns_a, veth_a, err), 0);
    ck_assert_msg(nl_link_del(ns_b, veth_b, err) == 0, "%s", err);

    ck_assert_msg(netns_delete(ns_a, err) == 0, "%s", err);
    ck_assert_msg(netns_delete(ns_b, err) == 0, "%s", err);
}
END_TEST

/*
 * A macvlan port into a namespace, from a namespace whose own underlay is
 * called eth0 like the container's will be (a VM's, a real host's): the
 * link is born as "cntb-port-new" and renamed eth0 inside (nl.h says why:
 * Debian 12's 6.1 refused "eth0" with EEXIST; this kernel may not, so this
 * checks the result, and the VM test checks the 6.1 guest).
 */
START_TEST(test_vlan_port)
{
    char err[NL_ERR_MAX];
    nl_port_t port;

    SKIP_UNLESS_ROOT();
    ck_assert_msg(netns_create(ns_a, false, err) == 0, "%s", err);
    ck_assert_msg(netns_create(ns_b, false, err) == 0, "%s", err);
    ck_assert_msg(nl_veth_add(ns_a, "eth0", veth_b, NULL, 0, err) == 0, "%s", err);
    ck_assert_msg(nl_link_up(ns_a, "eth0", err) == 0, "%s", err);
    ck_assert_msg(nl_link_up(ns_a, veth_b, err) == 0, "%s", err);
    /* this forked test process now acts from ns_a, as the agent in its host */
    ck_assert_msg(netns_enter(ns_a, err) == 0, "%s", err);
    memset(&port, 0, sizeof(port));
    port.kind = "macvlan";
    port.parent = "eth0";
    port.mode = 4; /* MACVLAN_MODE_BRIDGE */
    port.mac = "02:00:c6:12:fc:02";
    port.cidr = "198.18.252.2/24";
    ck_assert_msg(nl_port_add(ns_b, &port, err) == 0, "%s", err);
    ck_assert_int_eq(nl_link_exists(ns_b, "eth0", err), 1);
    ck_assert_int_eq(nl_link_exists(ns_b, "cntb-port-new", err), 0);
    ck_assert_int_eq(nl_link_exists(NULL, "eth0", err), 1); /* ns_a's own, untouched */
    ck_assert_int_eq(nl_link_exists(NULL, "cntb-port-new", err), 0);
    ck_assert_int_eq(nl_link_mtu(ns_b, "eth0", err), nl_link_mtu(NULL, "eth0", err));
    /* eth0 is up with its address: a listener on it takes a connection */
    ck_assert_int_eq(tcp_check(ns_b, ns_b, "198.18.252.2", 7303), 0);
    /* a second one into the same namespace cannot be renamed eth0; the half-made
     * link does not stay under its birth name, where a retry would collide */
    ck_assert_int_eq(nl_port_add(ns_b, &port, err), -1);
    ck_assert_str_eq(err, "link cntb-port-new: rename to eth0 and set up: File exists");
    ck_assert_int_eq(nl_link_exists(ns_b, "cntb-port-new", err), 0);
    ck_assert_msg(nl_link_del(ns_b, "eth0", err) == 0, "%s", err);
}
END_TEST

START_TEST(test_host_kind)
{
    const netkind_t *k = netkind_find("host");
    netkind_ctx_t ctx;
    char err[NETKIND_ERR_MAX], reason[128];

    ck_assert_int_eq(k->capability(reason, sizeof(reason)), 1);
    memset(&ctx, 0, sizeof(ctx));
    ctx.run = 7;
    ctx.pairs = 1;
    snprintf(ctx.placement, sizeof(ctx.placement), "cross-host");
    ctx.has_client = true;
    snprintf(ctx.underlay_if, sizeof(ctx.underlay_if), "lo");
    snprintf(ctx.underlay_addr, sizeof(ctx.underlay_addr), "198.18.1.1");
    snprintf(ctx.peer_addr, sizeof(ctx.peer_addr), "198.18.1.2");
    ck_assert_msg(k->setup(&ctx, err) == 0, "%s", err);
    ck_assert_str_eq(ctx.pair[0].client_netns, "");
    ck_assert_str_eq(ctx.pair[0].server_netns, "");
    ck_assert_str_eq(ctx.pair[0].server_addr, "198.18.1.2");
    ck_assert_int_eq(ctx.mtu, nl_link_mtu(NULL, "lo", err));
    ctx.has_server = true;
    ctx.has_client = false;
    ck_assert_msg(k->setup(&ctx, err) == 0, "%s", err);
    ck_assert_str_eq(ctx.pair[0].server_addr, "198.18.1.1");
    ck_assert_int_eq(k->teardown(&ctx, err), 0);
}
END_TEST

START_TEST(test_bridge_kind)
{
    const netkind_t *k = netkind_find("bridge");
    netkind_ctx_t ctx;
    char err[NETKIND_ERR_MAX], leaks[512], cidr[32], ns_c[64], ns_s[64];
    int s = BR_RUN % 254 + 1;
    char **names = NULL;

    SKIP_UNLESS_ROOT();
    ck_assert_int_eq(k->capability(err, sizeof(err)), 1);
    bridge_ctx(&ctx);
    ck_assert_msg(k->setup(&ctx, err) == 0, "%s", err);
    netkind_netns_name(ns_c, BR_TESTBED, BR_RUN, "client");
    netkind_netns_name(ns_s, BR_TESTBED, BR_RUN, "server");
    ck_assert_str_eq(ctx.pair[0].client_netns, ns_c);
    ck_assert_str_eq(ctx.pair[0].server_netns, ns_s);
    ck_assert_int_eq(netns_exists(ns_c), 1);
    ck_assert_int_eq(netns_exists(ns_s), 1);
    snprintf(cidr, sizeof(cidr), "198.19.%d.3", s);
    ck_assert_str_eq(ctx.pair[0].server_addr, cidr);
    ck_assert_int_gt(ctx.mtu, 0);
    ck_assert_int_eq(nl_link_exists(ns_c, "eth0", err), 1);
    ck_assert_int_eq(nl_link_exists(NULL, "cntb424242-br", err), 1);
    ck_assert_int_eq(nl_link_list(ns_c, "eth0", &names, err), 1);
    netns_list_free(&names);

    /* eth0 of the client already holds 198.19.S.2/24: adding it again is
     * the "identical address" case, and a second setup changes nothing. */
    snprintf(cidr, sizeof(cidr), "198.19.%d.2/24", s);
    ck_assert_msg(nl_addr_add(ns_c, "eth0", cidr, err) == 0, "%s", err);
    ck_assert_msg(k->setup(&ctx, err) == 0, "%s", err);

    ck_assert_int_eq(tcp_check(ctx.pair[0].client_netns, ctx.pair[0].server_netns, ctx.pair[0].server_addr, 7303), 0);

    /* 2 namespaces, 3 links, the bridge's address and its subnet route */
    ck_assert_int_eq(netkind_leaks(BR_TESTBED, BR_RUN, leaks, sizeof(leaks)), 7);
    ck_assert_msg(strstr(leaks, "cntb424242-br") && strstr(leaks, ns_c), "%s", leaks);

    /* run 4242421 is not run 424242 */
    ck_assert_msg(nl_bridge_add(NULL, "cntb4242421-br", 0, err) == 0, "%s", err);
    ck_assert_msg(k->teardown(&ctx, err) == 0, "%s", err);
    ck_assert_int_eq(netkind_leaks(BR_TESTBED, BR_RUN, leaks, sizeof(leaks)), 0);
    ck_assert_str_eq(leaks, "");
    ck_assert_int_eq(netkind_leaks(BR_TESTBED, 4242421, leaks, sizeof(leaks)), 1);
    ck_assert_msg(nl_link_del(NULL, "cntb4242421-br", err) == 0, "%s", err);
    ck_assert_msg(k->teardown(&ctx, err) == 0, "%s", err); /* idempotent */
}
END_TEST

START_TEST(test_emulate)
{
    char err[NL_ERR_MAX], prefix[32], ns1[32], ns2[32], ns3[32];
    char **names = NULL;

    SKIP_UNLESS_ROOT();
    ck_assert_int_eq(emulate_build("toolongname", 2, 250, err), -1);
    ck_assert_msg(strstr(err, "15 bytes"), "%s", err);
    ck_assert_int_eq(emulate_build(emu_name, 0, 250, err), -1);
    ck_assert_int_eq(emulate_build(emu_name, 2, 255, err), -1);

    ck_assert_msg(emulate_build(emu_name, 2, 250, err) == 0, "%s", err);
    ck_assert_msg(emulate_build(emu_name, 2, 250, err) == 0, "%s", err);
    ck_assert_int_eq(emulate_pick_octet(emu_name, err), 250);
    ck_assert_int_eq(emulate_build(emu_name, 2, 249, err), -1);

    snprintf(ns1, sizeof(ns1), "cntb-%s-h1", emu_name);
    snprintf(ns2, sizeof(ns2), "cntb-%s-h2", emu_name);
    snprintf(ns3, sizeof(ns3), "cntb-%s-h3", emu_name);
    ck_assert_int_eq(netns_exists(ns1), 1);
    ck_assert_int_eq(netns_exists(ns2), 1);
    ck_assert_int_eq(netns_exists(ns3), 0);
    ck_assert_int_eq(nl_link_exists(ns1, "eth0", err), 1);
    ck_assert_int_eq(tcp_check(ns1, ns2, "198.18.250.2", 7304), 0);
    /* the switch's own address answers too */
    ck_assert_int_eq(tcp_check(ns1, NULL, "198.18.250.254", 7305), 0);

    ck_assert_msg(emulate_build(emu_name, 3, 250, err) == 0, "%s", err);
    ck_assert_int_eq(netns_exists(ns3), 1);
    ck_assert_int_eq(tcp_check(ns3, ns1, "198.18.250.1", 7306), 0);

    /* The bridge, the 3 hosts' bridge-side veths and the 3 namespaces. */
    ck_assert_msg(emulate_destroy(emu_name, err) == 7, "%s", err);
    snprintf(prefix, sizeof(prefix), "cntb-%s", emu_name);
    ck_assert_int_eq(netns_list(prefix, &names, err), 0);
    netns_list_free(&names);
    ck_assert_int_eq(nl_link_list(NULL, prefix, &names, err), 0);
    netns_list_free(&names);
    ck_assert_msg(emulate_destroy(emu_name, err) == 0, "%s", err); /* nothing left: 0 removed */
}
END_TEST

static TCase *tcase(const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, cleanup_all, cleanup_all);
    tcase_add_test(tc, test);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("nl");
    SRunner *sr;
    int failed, lock = -1;
    int pid = (int)getpid();

    snprintf(ns_a, sizeof(ns_a), "cntb-nlut%d-a", pid);
    snprintf(ns_b, sizeof(ns_b), "cntb-nlut%d-b", pid);
    snprintf(veth_a, sizeof(veth_a), "cntbnl%da", pid % 100000);
    snprintf(veth_b, sizeof(veth_b), "cntbnl%db", pid % 100000);
    snprintf(emu_name, sizeof(emu_name), "ut%d", pid % 1000);
    if (geteuid() == 0) {
        /* the bridge test's names are fixed: one run of this suite at a time */
        lock = open("/run/lock/cntb-test_nl.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock >= 0 && flock(lock, LOCK_EX) < 0)
            perror("flock");
    } else {
        printf("test_nl: not root: the namespace tests pass without running\n");
    }

    suite_add_tcase(s, tcase("names", test_names));
    suite_add_tcase(s, tcase("netns", test_netns));
    suite_add_tcase(s, tcase("veth", test_veth));
    suite_add_tcase(s, tcase("vlanport", test_vlan_port));
    suite_add_tcase(s, tcase("host", test_host_kind));
    suite_add_tcase(s, tcase("bridge", test_bridge_kind));
    suite_add_tcase(s, tcase("emulate", test_emulate));
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (lock >= 0)
        close(lock);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
