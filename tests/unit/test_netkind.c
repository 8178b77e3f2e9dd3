/*
 * test_netkind.c — Check suite of node-agent/net/netkind.c and the refuse()
 * and supports() hooks of every network kind (none.c, host.c, container.c,
 * bridge.c, macvlan.c, ipvlan.c).
 *
 * Everything here is pure: no namespace, link or file is made, so the suite
 * runs without root.  Each refusal is asserted with its exact reason, because
 * the reason is what the controller stores with a skipped run and what a user
 * reads.  Building the kinds is tested end to end by test_nl (bridge) and
 * tests/integration/test_netkinds.sh (every kind).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netkind.h"

static netkind_ctx_t ctx;
static char why[NETKIND_ERR_MAX];

/* A context for kind tests: run 7, two hosts on 198.18.5.0/24, MTU 1500. */
static void ctx_init(const char *placement)
{
    memset(&ctx, 0, sizeof(ctx));
    ctx.run = 7;
    snprintf(ctx.testbed, sizeof(ctx.testbed), "lab");
    snprintf(ctx.placement, sizeof(ctx.placement), "%s", placement);
    ctx.has_client = true;
    ctx.has_server = strcmp(placement, "same-host") == 0;
    snprintf(ctx.underlay_if, sizeof(ctx.underlay_if), "eth0");
    snprintf(ctx.underlay_addr, sizeof(ctx.underlay_addr), "198.18.5.1");
    if (strcmp(placement, "cross-host") == 0)
        snprintf(ctx.peer_addr, sizeof(ctx.peer_addr), "198.18.5.2");
    ctx.pairs = 1;
    ctx.underlay_mtu = 1500;
    why[0] = '\0';
}

/* refuse() of kind `name` on the current ctx; why gets the reason. */
static int refuse(const char *name)
{
    const netkind_t *k = netkind_find(name);

    ck_assert_ptr_nonnull(k);
    why[0] = '\0';
    if (!k->refuse)
        return 0;
    return k->refuse(&ctx, why, sizeof(why));
}

#define ASSERT_OK(kind)                                                                          \
    do {                                                                                         \
        ck_assert_int_eq(refuse(kind), 0);                                                       \
        ck_assert_str_eq(why, "");                                                               \
    } while (0)

#define ASSERT_REFUSED(kind, reason)                                                             \
    do {                                                                                         \
        ck_assert_int_eq(refuse(kind), 1);                                                       \
        ck_assert_str_eq(why, reason);                                                           \
    } while (0)

/* ---- the table ----------------------------------------------------------- */

START_TEST(test_table)
{
    static const char *const names[] = {"none", "host", "container", "bridge", "macvlan",
                                        "ipvlan", "nat", "overlay", "routing"};
    const netkind_t *const *all = netkind_all();
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ck_assert_ptr_nonnull(all[i]);
        ck_assert_str_eq(all[i]->name, names[i]);
        ck_assert_ptr_eq(netkind_find(names[i]), all[i]);
        ck_assert_ptr_nonnull(all[i]->capability);
        ck_assert_ptr_nonnull(all[i]->supports);
        ck_assert_ptr_nonnull(all[i]->refuse);
        ck_assert_ptr_nonnull(all[i]->setup);
        ck_assert_ptr_nonnull(all[i]->teardown);
    }
    ck_assert_ptr_null(all[i]);
    ck_assert_ptr_null(netkind_find("vxlan")); /* the kind is called overlay */
    ck_assert_ptr_null(netkind_find("Bridge"));
    ck_assert_ptr_null(netkind_find(""));
    ck_assert_ptr_null(netkind_find(NULL));
}
END_TEST

START_TEST(test_supports)
{
    static const struct {
        const char *kind;
        bool same, cross;
    } t[] = {
        {"none", true, false},     {"host", true, true},    {"container", true, false},
        {"bridge", true, false},   {"macvlan", true, true}, {"ipvlan", true, true},
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const netkind_t *k = netkind_find(t[i].kind);

        ck_assert_msg(k->supports("same-host") == t[i].same, "%s same-host", t[i].kind);
        ck_assert_msg(k->supports("cross-host") == t[i].cross, "%s cross-host", t[i].kind);
        ck_assert_msg(!k->supports("same-rack"), "%s same-rack", t[i].kind);
        ck_assert_msg(!k->supports(NULL), "%s NULL", t[i].kind);
    }
}
END_TEST

/* ---- MTU rule ------------------------------------------------------------ */

START_TEST(test_mtu_rule)
{
    char r[NETKIND_ERR_MAX];

    r[0] = '\0';
    ck_assert_int_eq(netkind_mtu_check("bridge", 0, 65535, r, sizeof(r)), 0);
    ck_assert_int_eq(netkind_mtu_check("bridge", 68, 65535, r, sizeof(r)), 0);
    ck_assert_int_eq(netkind_mtu_check("bridge", 65535, 65535, r, sizeof(r)), 0);
    ck_assert_int_eq(netkind_mtu_check("x", 9000, 0, r, sizeof(r)), 0); /* 0 = no limit */
    ck_assert_str_eq(r, "");
    ck_assert_int_eq(netkind_mtu_check("bridge", 67, 65535, r, sizeof(r)), 1);
    ck_assert_str_eq(r, "network bridge: mtu 67 is below IPv4's minimum of 68 bytes (RFC 791)");
    ck_assert_int_eq(netkind_mtu_check("bridge", -1, 65535, r, sizeof(r)), 1);
    ck_assert_str_eq(r, "network bridge: mtu -1 is below IPv4's minimum of 68 bytes (RFC 791)");
    ck_assert_int_eq(netkind_mtu_check("bridge", 65536, 65535, r, sizeof(r)), 1);
    ck_assert_str_eq(r, "network bridge: mtu 65536 exceeds the 65535 bytes this mode allows");
    ck_assert_int_eq(netkind_mtu_check("macvlan", 1501, 1500, r, sizeof(r)), 1);
    ck_assert_str_eq(r, "network macvlan: mtu 1501 exceeds the 1500 bytes this mode allows");
}
END_TEST

/* ---- refuse(): none, host, container, bridge ----------------------------- */

START_TEST(test_refuse_loopback_kinds)
{
    ctx_init("same-host");
    ASSERT_OK("none");
    ASSERT_OK("container");
    ASSERT_OK("host");
    ctx.mtu_req = 1500;
    ASSERT_REFUSED("none", "network none: traffic runs over loopback, whose MTU cntb does not "
                           "change (mtu must be 0)");
    ASSERT_REFUSED("container",
                   "network container: client and server talk over the shared namespace's "
                   "loopback; an eth0 MTU would never be used (mtu must be 0)");
    ASSERT_REFUSED("host", "network host: the containers are the host's namespace; cntb does not "
                           "change the MTU of the host's own devices (mtu must be 0)");
    ctx_init("cross-host");
    ASSERT_OK("host");
    ctx.mtu_req = 9000;
    ASSERT_REFUSED("host", "network host: the containers are the host's namespace; cntb does not "
                           "change the MTU of the host's own devices (mtu must be 0)");
}
END_TEST

START_TEST(test_refuse_bridge)
{
    ctx_init("same-host");
    ASSERT_OK("bridge");
    ctx.mtu_req = 68;
    ASSERT_OK("bridge");
    ctx.mtu_req = 9000; /* veth allows jumbo frames whatever the underlay's MTU */
    ASSERT_OK("bridge");
    ctx.mtu_req = 65535;
    ASSERT_OK("bridge");
    ctx.mtu_req = 65536;
    ASSERT_REFUSED("bridge", "network bridge: mtu 65536 exceeds the 65535 bytes this mode allows");
    ctx.mtu_req = 10;
    ASSERT_REFUSED("bridge", "network bridge: mtu 10 is below IPv4's minimum of 68 bytes (RFC 791)");
}
END_TEST

/* ---- refuse(): macvlan, every mode x placement ---------------------------- */

#define HAIRPIN(m)                                                                               \
    "network macvlan mode " m ": frames between two containers of one host go out to the "     \
    "switch and come back only through a reflective relay (802.1Qbg hairpin) port, which cntb " \
    "cannot verify; use cross-host"
#define PASSTHRU                                                                                 \
    "network macvlan mode passthru: hands the underlay device eth0 to a single container and "  \
    "takes it from this host's agent, whose control connection it carries; needs a dedicated "  \
    "underlay device"
#define PRIVATE                                                                                  \
    "network macvlan mode private: macvlan devices on one parent never exchange frames, so two " \
    "containers on one host cannot talk; use cross-host"
#define OWN_PARENT                                                                               \
    "network macvlan: the peer is this host's own namespace, and a macvlan cannot reach its "   \
    "own parent (the kernel never delivers a macvlan's frames to the parent's stack)"

static void macvlan_mode(const char *m)
{
    snprintf(ctx.macvlan_mode, sizeof(ctx.macvlan_mode), "%s", m);
}

START_TEST(test_refuse_macvlan_same_host)
{
    ctx_init("same-host");
    ASSERT_OK("macvlan"); /* "" = bridge, the default */
    macvlan_mode("bridge");
    ASSERT_OK("macvlan");
    macvlan_mode("private");
    ASSERT_REFUSED("macvlan", PRIVATE);
    macvlan_mode("vepa");
    ASSERT_REFUSED("macvlan", HAIRPIN("vepa"));
    macvlan_mode("source");
    ASSERT_REFUSED("macvlan", HAIRPIN("source"));
    macvlan_mode("passthru");
    ASSERT_REFUSED("macvlan", PASSTHRU);
    macvlan_mode("l2");
    ASSERT_REFUSED("macvlan", "network macvlan: unknown macvlan_mode l2");
}
END_TEST

START_TEST(test_refuse_macvlan_cross_host)
{
    static const char *const runs[] = {"bridge", "private", "vepa", "source"};
    size_t i;

    for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        ctx_init("cross-host");
        macvlan_mode(runs[i]);
        ck_assert_msg(refuse("macvlan") == 0, "%s cross-host: %s", runs[i], why);
    }
    ctx_init("cross-host");
    macvlan_mode("passthru");
    ASSERT_REFUSED("macvlan", PASSTHRU);
    /* the server's half of a cross-host run refuses alike */
    ctx.has_client = false;
    ctx.has_server = true;
    ASSERT_REFUSED("macvlan", PASSTHRU);
}
END_TEST

START_TEST(test_refuse_macvlan_own_parent)
{
    /* CASES.md case 5: the peer is this host itself; checked before the mode. */
    ctx_init("cross-host");
    snprintf(ctx.peer_addr, sizeof(ctx.peer_addr), "%s", ctx.underlay_addr);
    ASSERT_REFUSED("macvlan", OWN_PARENT);
    macvlan_mode("vepa");
    ASSERT_REFUSED("macvlan", OWN_PARENT);
    macvlan_mode("passthru");
    ASSERT_REFUSED("macvlan", OWN_PARENT);
    macvlan_mode("nope");
    ASSERT_REFUSED("macvlan", "network macvlan: unknown macvlan_mode nope");
}
END_TEST

START_TEST(test_refuse_macvlan_mtu)
{
    ctx_init("same-host");
    ctx.mtu_req = 1500; /* = the parent's */
    ASSERT_OK("macvlan");
    ctx.mtu_req = 1501;
    ASSERT_REFUSED("macvlan", "network macvlan: mtu 1501 exceeds the 1500 bytes this mode allows");
    ctx.underlay_mtu = 9000;
    ctx.mtu_req = 9000;
    ASSERT_OK("macvlan");
    ctx.mtu_req = 67;
    ASSERT_REFUSED("macvlan", "network macvlan: mtu 67 is below IPv4's minimum of 68 bytes (RFC 791)");
    /* a mode refusal wins over an MTU refusal */
    macvlan_mode("private");
    ASSERT_REFUSED("macvlan", PRIVATE);
}
END_TEST

/* ---- refuse(): ipvlan ----------------------------------------------------- */

#define IPVLAN_CROSS(m)                                                                          \
    "network ipvlan mode " m ": slaves answer no ARP, so the other host has no route to this "  \
    "host's containers; cross-host needs routes (network routing)"

static void ipvlan_mode(const char *m)
{
    snprintf(ctx.ipvlan_mode, sizeof(ctx.ipvlan_mode), "%s", m);
}

START_TEST(test_refuse_ipvlan)
{
    static const char *const modes[] = {"", "l2", "l3", "l3s"};
    size_t i;

    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        ctx_init("same-host");
        ipvlan_mode(modes[i]);
        ck_assert_msg(refuse("ipvlan") == 0, "'%s' same-host: %s", modes[i], why);
    }
    ctx_init("cross-host");
    ASSERT_OK("ipvlan"); /* "" = l2 */
    ipvlan_mode("l2");
    ASSERT_OK("ipvlan");
    ipvlan_mode("l3");
    ASSERT_REFUSED("ipvlan", IPVLAN_CROSS("l3"));
    ipvlan_mode("l3s");
    ASSERT_REFUSED("ipvlan", IPVLAN_CROSS("l3s"));
    ipvlan_mode("vepa");
    ASSERT_REFUSED("ipvlan", "network ipvlan: unknown ipvlan_mode vepa");
    ctx_init("same-host");
    ctx.mtu_req = 1501;
    ASSERT_REFUSED("ipvlan", "network ipvlan: mtu 1501 exceeds the 1500 bytes this mode allows");
    ctx.mtu_req = 1280;
    ASSERT_OK("ipvlan");
}
END_TEST

/* ---- refuse(): macvlan and ipvlan on a VM's routed underlay -------------- */

#define ROUTED(k)                                                                                \
    "network " k " cross-host: this host is a VM whose eth0 its parent routes (a tap with "     \
    "proxy ARP for the VM's own address only, docs/vm.md), not a port on the underlay's "       \
    "switch, so the containers of two VMs cannot reach each other; use same-host"

START_TEST(test_refuse_routed_underlay)
{
    static const char *const mv[] = {"bridge", "private", "vepa", "source"};
    size_t i;

    /* same-host inside a VM: nothing leaves the VM, every usable mode runs */
    ctx_init("same-host");
    ctx.underlay_routed = true;
    ASSERT_OK("macvlan");
    ASSERT_OK("ipvlan");
    ipvlan_mode("l3");
    ASSERT_OK("ipvlan");
    ipvlan_mode("l3s");
    ASSERT_OK("ipvlan");
    /* cross-host between VMs: every mode that a bare host would run is refused */
    for (i = 0; i < sizeof(mv) / sizeof(mv[0]); i++) {
        ctx_init("cross-host");
        ctx.underlay_routed = true;
        macvlan_mode(mv[i]);
        ck_assert_int_eq(refuse("macvlan"), 1);
        ck_assert_str_eq(why, ROUTED("macvlan"));
    }
    ctx_init("cross-host");
    ctx.underlay_routed = true;
    ASSERT_REFUSED("ipvlan", ROUTED("ipvlan")); /* "" = l2 */
    /* the server's half alike; l3's own reason stays first */
    ctx.has_client = false;
    ctx.has_server = true;
    ipvlan_mode("l2");
    ASSERT_REFUSED("ipvlan", ROUTED("ipvlan"));
    ipvlan_mode("l3");
    ASSERT_REFUSED("ipvlan", IPVLAN_CROSS("l3"));
    /* other kinds do not care: bridge is same-host only anyway, host runs */
    ctx_init("cross-host");
    ctx.underlay_routed = true;
    ASSERT_OK("host");
}
END_TEST

/* ---- address plan, names, MACs, link groups ------------------------------ */

START_TEST(test_address_plan)
{
    char s[32], a[16];

    netkind_subnet(s, 1);
    ck_assert_str_eq(s, "198.19.2.0/24");
    netkind_subnet(s, 253);
    ck_assert_str_eq(s, "198.19.254.0/24");
    netkind_subnet(s, 254); /* wraps: S = run % 254 + 1, never .0 or .255 */
    ck_assert_str_eq(s, "198.19.1.0/24");
    netkind_subnet(s, 508);
    ck_assert_str_eq(s, "198.19.1.0/24");
    netkind_addr(a, 7, 1); /* the bridge */
    ck_assert_str_eq(a, "198.19.8.1");
    /* pair i: client .(2+2i), server .(3+2i); pair 63 ends at .129 */
    netkind_addr(a, 7, 2 + 2 * 0);
    ck_assert_str_eq(a, "198.19.8.2");
    netkind_addr(a, 7, 3 + 2 * 0);
    ck_assert_str_eq(a, "198.19.8.3");
    netkind_addr(a, 7, 2 + 2 * (NETKIND_PAIRS_MAX - 1));
    ck_assert_str_eq(a, "198.19.8.128");
    netkind_addr(a, 7, 3 + 2 * (NETKIND_PAIRS_MAX - 1));
    ck_assert_str_eq(a, "198.19.8.129");
}
END_TEST

START_TEST(test_names)
{
    char r[64], ns[64];

    netkind_pair_role(r, "client", 0);
    ck_assert_str_eq(r, "client");
    netkind_pair_role(r, "server", 0);
    ck_assert_str_eq(r, "server");
    netkind_pair_role(r, "server", 5);
    ck_assert_str_eq(r, "server5");
    netkind_pair_role(r, "pod", 63);
    ck_assert_str_eq(r, "pod63");
    netkind_netns_name(ns, "lab", 12, "client");
    ck_assert_str_eq(ns, "cntb-lab-12-client");
    netkind_netns_name(ns, "ab1234", 1234567, "server63");
    ck_assert_str_eq(ns, "cntb-ab1234-1234567-server63");
}
END_TEST

START_TEST(test_macs)
{
    char m1[18], m2[18], c[18], s[18];

    netkind_mac(m1, 0x1234, 5, true);
    ck_assert_str_eq(m1, "02:cb:12:34:05:02");
    netkind_mac(m2, 0x1234, 5, true);
    ck_assert_str_eq(m1, m2); /* deterministic: both hosts compute the same */
    netkind_mac(c, 7, 0, false);
    netkind_mac(s, 7, 0, true);
    ck_assert_str_eq(c, "02:cb:00:07:00:01");
    ck_assert_str_eq(s, "02:cb:00:07:00:02");
    netkind_mac(c, 7, 63, false);
    ck_assert_str_eq(c, "02:cb:00:07:3f:01");
    /* only the low 16 bits of the run: 0x10007 and 7 share MACs (one run per host at a time) */
    netkind_mac(c, 0x10007, 0, false);
    ck_assert_str_eq(c, "02:cb:00:07:00:01");
    /* first octet 0x02: locally administered (bit 1), unicast (bit 0 clear), IEEE 802 */
    ck_assert_int_eq(strtol(c, NULL, 16) & 0x03, 0x02);
}
END_TEST

START_TEST(test_link_group)
{
    ck_assert_uint_eq(netkind_link_group(7), 0x636e0007u);
    ck_assert_uint_eq(netkind_link_group(0x1ffff), 0x636effffu);
    ck_assert_uint_eq(netkind_link_group(0x10000), 0x636e0000u);
    ck_assert_uint_ne(netkind_link_group(0), 0u); /* never the default group */
    ck_assert_uint_ne(netkind_link_group(1), netkind_link_group(2));
}
END_TEST

static Suite *netkind_suite(void)
{
    Suite *s = suite_create("netkind");
    TCase *tt = tcase_create("table");
    TCase *tr = tcase_create("refuse");
    TCase *tp = tcase_create("plan");

    tcase_set_timeout(tt, 10);
    tcase_add_test(tt, test_table);
    tcase_add_test(tt, test_supports);
    suite_add_tcase(s, tt);
    tcase_set_timeout(tr, 10);
    tcase_add_test(tr, test_mtu_rule);
    tcase_add_test(tr, test_refuse_loopback_kinds);
    tcase_add_test(tr, test_refuse_bridge);
    tcase_add_test(tr, test_refuse_macvlan_same_host);
    tcase_add_test(tr, test_refuse_macvlan_cross_host);
    tcase_add_test(tr, test_refuse_macvlan_own_parent);
    tcase_add_test(tr, test_refuse_macvlan_mtu);
    tcase_add_test(tr, test_refuse_ipvlan);
    tcase_add_test(tr, test_refuse_routed_underlay);
    suite_add_tcase(s, tr);
    tcase_set_timeout(tp, 10);
    tcase_add_test(tp, test_address_plan);
    tcase_add_test(tp, test_names);
    tcase_add_test(tp, test_macs);
    tcase_add_test(tp, test_link_group);
    suite_add_tcase(s, tp);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(netkind_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
