/*
 * test_netkind.c — Check suite of node-agent/net/netkind.c and the refuse()
 * and supports() hooks of every network kind (none.c, host.c, container.c,
 * bridge.c, macvlan.c, ipvlan.c).
 *
 * Everything here but the tcase "held" is pure: no namespace, link or file
 * is made, so the suite runs without root; "held" makes the namespaces of a
 * 2-pair cross-host run (as root; skipped otherwise) and removes them in its
 * teardown, even after a failure.  Each refusal is asserted with its exact
 * reason, because
 * the reason is what the controller stores with a skipped run and what a user
 * reads.  Building the kinds is tested end to end by test_nl (bridge) and
 * tests/integration/test_netkinds.sh (every kind).
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netkind.h"
#include "netplace.h"
#include "nl.h"

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
        {"nat", false, true},      {"overlay", false, true}, {"routing", false, true},
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

/*
 * The agent's supports() hooks and the table the controller validates
 * matrices with (proto/netplace.c) agree for every kind and placement, and
 * every kind is a row of it: a matrix point the controller accepts is one
 * the agent builds, and the other way round.
 */
START_TEST(test_supports_agrees_with_matrix_table)
{
    static const char *const placements[] = {"same-host", "cross-host", "same-rack"};
    const netkind_t *const *all = netkind_all();
    int rows = 0;

    for (size_t i = 0; all[i]; i++)
        for (size_t p = 0; p < 3; p++)
            ck_assert_msg(all[i]->supports(placements[p]) ==
                              netplace_supports(all[i]->name, placements[p]),
                          "%s %s: the agent says %d, the matrix table %d", all[i]->name,
                          placements[p], all[i]->supports(placements[p]),
                          netplace_supports(all[i]->name, placements[p]));
    /* every row but noop (simulated agents only) is a kind, every kind a row */
    for (int i = 0; netplace_name(i); i++, rows++)
        ck_assert_msg(strcmp(netplace_name(i), "noop") == 0 || netkind_find(netplace_name(i)),
                      "%s is in the table but no kind", netplace_name(i));
    for (size_t i = 0; all[i]; i++) {
        bool found = false;

        for (int r = 0; netplace_name(r) && !found; r++)
            found = strcmp(netplace_name(r), all[i]->name) == 0;
        ck_assert_msg(found, "kind %s is not in proto/netplace.c", all[i]->name);
    }
    ck_assert_int_eq(rows, 10);
    ck_assert(!netplace_supports("vxlan", "cross-host"));
    ck_assert(!netplace_supports(NULL, "same-host"));
    ck_assert_str_eq(netplace_why("bridge"), "a Linux bridge joins the containers of one host");
    ck_assert_ptr_null(netplace_why("host"));
}
END_TEST

/* ---- which host holds which container ------------------------------------ */

/* Teardown and the leak check share one rule: every pair's containers, by prefix. */
START_TEST(test_role_held)
{
    static const struct {
        const char *role;
        bool by_client, by_server;
    } t[] = {
        {"client", true, false},  {"client1", true, false}, {"client63", true, false},
        {"server", false, true},  {"server1", false, true}, {"server63", false, true},
        {"pod", true, false},     {"pod1", true, false},    {"other", true, true},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        ck_assert_msg(netkind_role_held(t[i].role, true, false) == t[i].by_client,
                      "%s held by the client's host", t[i].role);
        ck_assert_msg(netkind_role_held(t[i].role, false, true) == t[i].by_server,
                      "%s held by the server's host", t[i].role);
        ck_assert_msg(netkind_role_held(t[i].role, true, true), "%s same-host", t[i].role);
    }
}
END_TEST

/*
 * A cross-host run of 2 pairs on hosts that share /run/netns (the emulated
 * testbed): the client's host holds client, client1 and the server's host
 * server, server1.  Each host's leak check reports only its own, and after
 * each host's teardown it reports nothing, while the other host's
 * containers are still there (they are not its leaks).
 */
#define HELD_RUN 424243
static char held_tb[8];
static const char *const held_roles[] = {"client", "client1", "server", "server1"};

/* out, a comma-separated list, holds exactly the n namespaces of roles role[] (any order). */
static void assert_held_list(const char *out, int n, const char *const *role)
{
    char list[600], item[80];
    int items = out[0] ? 1 : 0;

    for (const char *p = out; *p; p++)
        items += *p == ',';
    ck_assert_msg(items == n, "%d namespaces listed, want %d: %s", items, n, out);
    snprintf(list, sizeof(list), ",%s,", out);
    for (int i = 0; i < n; i++) {
        snprintf(item, sizeof(item), ",cntb-%s-%d-%s,", held_tb, HELD_RUN, role[i]);
        ck_assert_msg(strstr(list, item) != NULL, "%s not in %s", item, out);
    }
}

static void held_setup(void)
{
    snprintf(held_tb, sizeof(held_tb), "u%d", (int)(getpid() % 100000));
}

static void held_teardown(void)
{
    char ns[64], err[NL_ERR_MAX];

    if (geteuid() != 0)
        return;
    for (size_t i = 0; i < sizeof(held_roles) / sizeof(held_roles[0]); i++) {
        netkind_netns_name(ns, held_tb, HELD_RUN, held_roles[i]);
        netns_delete(ns, err);
    }
}

START_TEST(test_leaks_held_two_pairs)
{
    char ns[64], err[NETKIND_ERR_MAX], out[512];
    netkind_ctx_t c;

    if (geteuid() != 0) {
        printf("test_netkind: %s: skipped (needs root)\n", __func__);
        return;
    }
    for (size_t i = 0; i < sizeof(held_roles) / sizeof(held_roles[0]); i++) {
        netkind_netns_name(ns, held_tb, HELD_RUN, held_roles[i]);
        ck_assert_msg(netns_create(ns, false, err) == 0, "%s: %s", ns, err);
    }
    /* the client's host: its two containers, not the server's host's */
    ck_assert_int_eq(netkind_leaks_held(held_tb, HELD_RUN, true, false, out, sizeof(out)), 2);
    assert_held_list(out, 2, held_roles);
    ck_assert_int_eq(netkind_leaks_held(held_tb, HELD_RUN, false, true, out, sizeof(out)), 2);
    assert_held_list(out, 2, held_roles + 2);
    ck_assert_int_eq(netkind_leaks(held_tb, HELD_RUN, out, sizeof(out)), 4);
    assert_held_list(out, 4, held_roles);
    /* the client's host tears down: nothing of its own is left, the server's
     * containers are not its leaks */
    memset(&c, 0, sizeof(c));
    c.run = HELD_RUN;
    snprintf(c.testbed, sizeof(c.testbed), "%s", held_tb);
    snprintf(c.placement, sizeof(c.placement), "cross-host");
    c.pairs = 2;
    c.has_client = true;
    ck_assert_msg(netkind_remove_all(&c, "macvlan", err) == 0, "%s", err);
    ck_assert_int_eq(netkind_leaks_held(held_tb, HELD_RUN, true, false, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(netkind_leaks_held(held_tb, HELD_RUN, false, true, out, sizeof(out)), 2);
    /* then the server's host */
    c.has_client = false;
    c.has_server = true;
    ck_assert_msg(netkind_remove_all(&c, "macvlan", err) == 0, "%s", err);
    ck_assert_int_eq(netkind_leaks(held_tb, HELD_RUN, out, sizeof(out)), 0);
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
    TCase *th = tcase_create("held");

    tcase_set_timeout(tt, 10);
    tcase_add_test(tt, test_table);
    tcase_add_test(tt, test_supports);
    tcase_add_test(tt, test_supports_agrees_with_matrix_table);
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
    tcase_set_timeout(th, 20);
    /* unchecked: run in this process around the tcase, so the teardown runs
     * even when a test's forked process ends at a failed assertion */
    tcase_add_unchecked_fixture(th, held_setup, held_teardown);
    tcase_add_test(th, test_role_held);
    tcase_add_test(th, test_leaks_held_two_pairs);
    suite_add_tcase(s, th);
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
