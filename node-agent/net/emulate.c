/*
 * emulate.c — the network of an emulated testbed: hosts made of namespaces
 * on one machine, joined by one bridge (see emulate.h for the layout).
 *
 * Building is idempotent: each piece is created only when missing, so a
 * second call changes nothing and a call with more hosts adds the missing
 * ones.  A failed build leaves what it made for emulate_destroy(), which
 * works from what exists (listing namespaces and links), never from counts.
 *
 * Names: a testbed NAME owns the namespaces "cntb-NAME-h<digits>" and the
 * links "cntb-NAME-<x>" where <x> has no dash ("br", "h1", ...).  The
 * no-dash rule keeps destroying "lab" from touching testbed "lab-2"
 * ("cntb-lab-2-br") or a run's namespaces "cntb-lab-<run>-client".
 */
#include "emulate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "nl.h"

#define EMU_HOSTS_MAX 200

static bool emu_name_valid(const char *name, char *err)
{
    char br[64];

    if (!name || !*name || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789_.-") != strlen(name)) {
        snprintf(err, NL_ERR_MAX, "testbed %.64s: name must be [A-Za-z0-9_.-]",
                 name ? name : "(null)");
        return false;
    }
    snprintf(br, sizeof(br), "cntb-%s-br", name);
    if (!nl_ifname_valid(br)) {
        snprintf(err, NL_ERR_MAX, "testbed %.64s: bridge name %.64s is longer than 15 bytes",
                 name, br);
        return false;
    }
    return true;
}

/* True when `s` is "cntb-NAME-" followed by a dash-free rest that starts with `first` (or
 * anything when first is NULL) and, when digits, has only digits after it. */
static bool emu_owns(const char *s, const char *name, const char *first, bool digits)
{
    size_t nl = strlen(name);
    const char *rest;

    if (strncmp(s, "cntb-", 5) != 0 || strncmp(s + 5, name, nl) != 0 || s[5 + nl] != '-')
        return false;
    rest = s + 5 + nl + 1;
    if (!*rest || strchr(rest, '-'))
        return false;
    if (first) {
        if (strncmp(rest, first, strlen(first)) != 0)
            return false;
        rest += strlen(first);
    }
    if (digits) {
        if (!*rest)
            return false;
        for (; *rest; rest++)
            if (!isdigit((unsigned char)*rest))
                return false;
    }
    return true;
}

/*
 * The third octet of the first 198.18.X.Y address of link `ifindex`, looked
 * up in the address cache `cache`; 0 when it has none.
 */
static int link_underlay_octet(struct nl_cache *cache, int ifindex)
{
    struct nl_object *obj;

    for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
        struct rtnl_addr *a = (struct rtnl_addr *)obj;
        struct nl_addr *local;
        const uint8_t *b;

        if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET)
            continue;
        local = rtnl_addr_get_local(a);
        if (!local || nl_addr_get_len(local) != 4)
            continue;
        b = nl_addr_get_binary_addr(local);
        if (b[0] == 198 && b[1] == 18 && b[2] >= 1 && b[2] <= 254)
            return b[2];
    }
    return 0;
}

/*
 * Reads which octets the cntb-*-br bridges of the caller's namespace use:
 * used[o] = 1, and *mine = the octet of "cntb-NAME-br" (0 when absent or
 * addressless).  0 or -1 with err.
 */
static int emu_scan_octets(const char *name, unsigned char used[256], int *mine, char *err)
{
    struct nl_sock *sk = NULL;
    struct nl_cache *links = NULL, *addrs = NULL;
    struct nl_object *obj;
    char mybr[32];
    int ret = -1, rc;

    memset(used, 0, 256);
    *mine = 0;
    snprintf(mybr, sizeof(mybr), "cntb-%s-br", name);
    sk = nl_socket_alloc();
    if (!sk) {
        snprintf(err, NL_ERR_MAX, "testbed %s: out of memory", name);
        goto out;
    }
    rc = nl_connect(sk, NETLINK_ROUTE);
    if (rc == 0)
        rc = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
    if (rc == 0)
        rc = rtnl_addr_alloc_cache(sk, &addrs);
    if (rc < 0) {
        snprintf(err, NL_ERR_MAX, "testbed %s: reading bridges: %s", name, nl_geterror(rc));
        goto out;
    }
    for (obj = nl_cache_get_first(links); obj; obj = nl_cache_get_next(obj)) {
        struct rtnl_link *l = (struct rtnl_link *)obj;
        const char *n = rtnl_link_get_name(l);
        size_t len = n ? strlen(n) : 0;
        int o;

        if (len < 8 || strncmp(n, "cntb-", 5) != 0 || strcmp(n + len - 3, "-br") != 0)
            continue;
        o = link_underlay_octet(addrs, rtnl_link_get_ifindex(l));
        if (!o)
            continue;
        used[o] = 1;
        if (strcmp(n, mybr) == 0)
            *mine = o;
    }
    ret = 0;
out:
    if (addrs)
        nl_cache_free(addrs);
    if (links)
        nl_cache_free(links);
    if (sk)
        nl_socket_free(sk);
    return ret;
}

int emulate_pick_octet(const char *name, char *err)
{
    unsigned char used[256];
    uint32_t h = 2166136261u;
    const char *p;
    int mine, start, i;

    if (!emu_name_valid(name, err))
        return -1;
    if (emu_scan_octets(name, used, &mine, err) < 0)
        return -1;
    if (mine)
        return mine;
    for (p = name; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    start = (int)(h % 254);
    for (i = 0; i < 254; i++) {
        int o = (start + i) % 254 + 1;

        if (!used[o])
            return o;
    }
    snprintf(err, NL_ERR_MAX, "testbed %s: every 198.18.X.0/24 is taken by another cntb bridge",
             name);
    return -1;
}

/* One host: namespace, veth eth0 <-> cntb-NAME-hI on the bridge, address, all up. */
static int emu_host(const char *name, const char *br, int octet, int i, char *err)
{
    char ns[64], port[32], cidr[32];
    int rc;

    snprintf(ns, sizeof(ns), "cntb-%s-h%d", name, i);
    snprintf(port, sizeof(port), "cntb-%s-h%d", name, i);
    snprintf(cidr, sizeof(cidr), "198.18.%d.%d/24", octet, i);
    if (netns_create(ns, true, err) < 0)
        return -1;
    rc = nl_link_exists(NULL, port, err);
    if (rc < 0)
        return -1;
    if (rc == 0 && nl_veth_add(NULL, port, "eth0", ns, 0, err) < 0)
        return -1;
    if (nl_link_set_master(NULL, port, br, err) < 0 || nl_link_up(NULL, port, err) < 0)
        return -1;
    if (nl_addr_add(ns, "eth0", cidr, err) < 0 || nl_link_up(ns, "eth0", err) < 0)
        return -1;
    return 0;
}

int emulate_build(const char *name, int hosts, int octet, char *err)
{
    unsigned char used[256];
    char br[32], last[32], cidr[32];
    int mine, rc, i;

    if (!emu_name_valid(name, err))
        return -1;
    if (hosts < 1 || hosts > EMU_HOSTS_MAX) {
        snprintf(err, NL_ERR_MAX, "testbed %s: hosts %d: must be 1..%d", name, hosts,
                 EMU_HOSTS_MAX);
        return -1;
    }
    if (octet < 1 || octet > 254) {
        snprintf(err, NL_ERR_MAX, "testbed %s: octet %d: must be 1..254", name, octet);
        return -1;
    }
    snprintf(last, sizeof(last), "cntb-%s-h%d", name, hosts);
    if (!nl_ifname_valid(last)) {
        snprintf(err, NL_ERR_MAX,
                 "testbed %s: link name %s is longer than 15 bytes: shorten the name", name,
                 last);
        return -1;
    }
    /* A bridge already on another /24 would get a second subnet: refuse. */
    if (emu_scan_octets(name, used, &mine, err) < 0)
        return -1;
    if (mine && mine != octet) {
        snprintf(err, NL_ERR_MAX, "testbed %s: exists on 198.18.%d.0/24, not 198.18.%d.0/24",
                 name, mine, octet);
        return -1;
    }
    snprintf(br, sizeof(br), "cntb-%s-br", name);
    snprintf(cidr, sizeof(cidr), "198.18.%d.254/24", octet);
    rc = nl_link_exists(NULL, br, err);
    if (rc < 0)
        return -1;
    if (rc == 0 && nl_bridge_add(NULL, br, 0, err) < 0)
        return -1;
    if (nl_addr_add(NULL, br, cidr, err) < 0 || nl_link_up(NULL, br, err) < 0)
        return -1;
    for (i = 1; i <= hosts; i++)
        if (emu_host(name, br, octet, i, err) < 0)
            return -1;
    return 0;
}

int emulate_destroy(const char *name, char *err)
{
    char **names = NULL;
    char prefix[64], nlerr[NL_ERR_MAX];
    int n, i, ret = -1, removed = 0;

    if (!emu_name_valid(name, err))
        return -1;
    snprintf(prefix, sizeof(prefix), "cntb-%s-", name);
    /* Links first: deleting a namespace frees its links asynchronously. */
    n = nl_link_list(NULL, prefix, &names, err);
    if (n < 0)
        goto out;
    for (i = 0; i < n; i++)
        if (emu_owns(names[i], name, NULL, false)) {
            if (nl_link_del(NULL, names[i], err) < 0)
                goto out;
            removed++;
        }
    netns_list_free(&names);
    n = netns_list(prefix, &names, err);
    if (n < 0)
        goto out;
    for (i = 0; i < n; i++)
        if (emu_owns(names[i], name, "h", true)) {
            if (netns_delete(names[i], nlerr) < 0) {
                snprintf(err, NL_ERR_MAX, "testbed %s: %.200s", name, nlerr);
                goto out;
            }
            removed++;
        }
    ret = removed;
out:
    netns_list_free(&names);
    return ret;
}
