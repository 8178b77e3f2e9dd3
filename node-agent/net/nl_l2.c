/*
 * nl_l2.c — VXLAN links, FDB and neighbour entries, MACs, route look-up and
 * removal through libnl-route-3, for the inter-host kinds (nl_l2.h).
 *
 * Works like nl.c: a call that names a namespace enters it with setns(2) on
 * the calling thread, opens its rtnetlink socket there, does the work and
 * returns home (the namespace it opened beforehand as
 * /proc/thread-self/ns/net); failing to return aborts, because the thread
 * would otherwise act in the wrong namespace.  FDB entries are neighbour
 * objects of family AF_BRIDGE with NTF_SELF (the VXLAN driver's own table,
 * linux/drivers/net/vxlan.c), exactly what `bridge fdb ... self` sends.
 */
#include "nl_l2.h"
#include "nl_call.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

/* The ifindex of name in the call's namespace, or -1 with err. */
static int l2_ifindex(struct nlcall *c, const char *name, char *err)
{
    struct rtnl_link *link = NULL;
    int rc, ix;

    rc = rtnl_link_get_kernel(c->sk, 0, name, &link);
    if (rc < 0) {
        nl_seterr(err, "link %s: %s", name, nl_errstr(rc));
        return -1;
    }
    ix = rtnl_link_get_ifindex(link);
    rtnl_link_put(link);
    return ix;
}

int nl_vxlan_add(const char *netns, const char *name, uint32_t vni, const char *local,
                 const char *dev, int dstport, int mtu, char *err)
{
    struct nlcall c;
    struct rtnl_link *link = NULL;
    struct nl_addr *addr = NULL;
    int ret = -1, rc, ix;

    if (!nl_ifname_valid(name) || vni < 1 || vni > 16777215 || dstport < 1 || dstport > 65535) {
        nl_seterr(err, "vxlan %s: invalid name, VNI %u or port %d", name ? name : "(null)", vni,
               dstport);
        return -1;
    }
    if (nl_addr_parse(local, AF_INET, &addr) < 0) {
        nl_seterr(err, "vxlan %s: local %s: not an IPv4 address", name, local);
        return -1;
    }
    if (nl_call_begin(&c, netns, err) < 0)
        goto out;
    ix = l2_ifindex(&c, dev, err);
    if (ix < 0)
        goto out;
    link = rtnl_link_vxlan_alloc();
    if (!link) {
        nl_seterr(err, "vxlan %s: out of memory", name);
        goto out;
    }
    rtnl_link_set_name(link, name);
    rtnl_link_vxlan_set_id(link, vni);
    rtnl_link_vxlan_set_local(link, addr);
    rtnl_link_vxlan_set_link(link, (uint32_t)ix);
    rtnl_link_vxlan_set_port(link, (uint32_t)dstport);
    rtnl_link_vxlan_disable_learning(link);
    if (mtu > 0)
        rtnl_link_set_mtu(link, (unsigned)mtu);
    rc = rtnl_link_add(c.sk, link, NLM_F_CREATE | NLM_F_EXCL);
    if (rc < 0) {
        nl_seterr(err, "vxlan %s: %s", name, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (link)
        rtnl_link_put(link);
    nl_addr_put(addr);
    nl_call_end(&c);
    return ret;
}

int nl_link_mac(const char *netns, const char *name, char *mac, char *err)
{
    struct nlcall c;
    struct rtnl_link *link = NULL;
    struct nl_addr *a;
    int ret = -1, rc;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    rc = rtnl_link_get_kernel(c.sk, 0, name, &link);
    if (rc < 0) {
        nl_seterr(err, "link %s: %s", name, nl_errstr(rc));
        goto out;
    }
    a = rtnl_link_get_addr(link);
    if (!a || nl_addr_get_len(a) != ETH_ALEN) {
        nl_seterr(err, "link %s: no Ethernet address", name);
        goto out;
    }
    nl_addr2str(a, mac, 18);
    ret = 0;
out:
    if (link)
        rtnl_link_put(link);
    nl_call_end(&c);
    return ret;
}

/* Builds a neighbour object: family, ifindex, dst (may be NULL), lladdr (may be NULL). */
static struct rtnl_neigh *neigh_build(int family, int ix, const char *dst, const char *mac,
                                      char *err)
{
    struct rtnl_neigh *n = rtnl_neigh_alloc();
    struct nl_addr *a = NULL;

    if (!n) {
        nl_seterr(err, "neighbour: out of memory");
        return NULL;
    }
    rtnl_neigh_set_ifindex(n, ix);
    if (dst) {
        if (nl_addr_parse(dst, AF_INET, &a) < 0) {
            nl_seterr(err, "neighbour %s: not an IPv4 address", dst);
            goto fail;
        }
        rtnl_neigh_set_dst(n, a);
        nl_addr_put(a);
    }
    if (mac) {
        if (nl_addr_parse(mac, AF_LLC, &a) < 0) {
            nl_seterr(err, "neighbour %s: not a MAC address", mac);
            goto fail;
        }
        rtnl_neigh_set_lladdr(n, a);
        nl_addr_put(a);
    }
    /* After dst: libnl takes the family from the first address it is given
     * and refuses a dst of another family (AF_INET in an AF_BRIDGE entry). */
    rtnl_neigh_set_family(n, family);
    return n;
fail:
    rtnl_neigh_put(n);
    return NULL;
}

int nl_fdb_add(const char *netns, const char *dev, const char *mac, const char *dst, char *err)
{
    struct nlcall c;
    struct rtnl_neigh *n = NULL;
    int ret = -1, rc, ix;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    ix = l2_ifindex(&c, dev, err);
    if (ix < 0)
        goto out;
    n = neigh_build(AF_BRIDGE, ix, dst, mac, err);
    if (!n)
        goto out;
    rtnl_neigh_set_flags(n, NTF_SELF);
    rtnl_neigh_set_state(n, NUD_PERMANENT | NUD_NOARP);
    rc = rtnl_neigh_add(c.sk, n, NLM_F_CREATE | NLM_F_REPLACE);
    if (rc < 0) {
        nl_seterr(err, "fdb %s dst %s on %s: %s", mac, dst, dev, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (n)
        rtnl_neigh_put(n);
    nl_call_end(&c);
    return ret;
}

int nl_fdb_del(const char *netns, const char *dev, const char *mac, const char *dst, char *err)
{
    struct nlcall c;
    struct rtnl_neigh *n = NULL;
    int ret = -1, rc, ix;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    ix = l2_ifindex(&c, dev, err);
    if (ix < 0) {
        ret = 0; /* the link is gone, and its entries with it */
        goto out;
    }
    n = neigh_build(AF_BRIDGE, ix, dst, mac, err);
    if (!n)
        goto out;
    rtnl_neigh_set_flags(n, NTF_SELF);
    rc = rtnl_neigh_delete(c.sk, n, 0);
    if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NOADDR) {
        nl_seterr(err, "fdb %s dst %s on %s: %s", mac, dst, dev, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (n)
        rtnl_neigh_put(n);
    nl_call_end(&c);
    return ret;
}

int nl_neigh_add(const char *netns, const char *dev, const char *ip, const char *mac, char *err)
{
    struct nlcall c;
    struct rtnl_neigh *n = NULL;
    int ret = -1, rc, ix;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    ix = l2_ifindex(&c, dev, err);
    if (ix < 0)
        goto out;
    n = neigh_build(AF_INET, ix, ip, mac, err);
    if (!n)
        goto out;
    rtnl_neigh_set_state(n, NUD_PERMANENT);
    rc = rtnl_neigh_add(c.sk, n, NLM_F_CREATE | NLM_F_REPLACE);
    if (rc < 0) {
        nl_seterr(err, "neighbour %s lladdr %s on %s: %s", ip, mac, dev, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (n)
        rtnl_neigh_put(n);
    nl_call_end(&c);
    return ret;
}

int nl_neigh_del(const char *netns, const char *dev, const char *ip, char *err)
{
    struct nlcall c;
    struct rtnl_neigh *n = NULL;
    int ret = -1, rc, ix;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    ix = l2_ifindex(&c, dev, err);
    if (ix < 0) {
        ret = 0;
        goto out;
    }
    n = neigh_build(AF_INET, ix, ip, NULL, err);
    if (!n)
        goto out;
    rc = rtnl_neigh_delete(c.sk, n, 0);
    if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NOADDR) {
        nl_seterr(err, "neighbour %s on %s: %s", ip, dev, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (n)
        rtnl_neigh_put(n);
    nl_call_end(&c);
    return ret;
}

/* State of a route walk: the wanted destination and protocol, what was found. */
struct route_walk {
    struct nl_addr *dst;
    int protocol;
    int count;
    struct nl_sock *sk;   /* non-NULL: delete what matches */
    int delrc;
};

static void route_visit(struct nl_object *obj, void *arg)
{
    struct route_walk *w = arg;
    struct rtnl_route *r = (struct rtnl_route *)obj;

    if (rtnl_route_get_family(r) != AF_INET || rtnl_route_get_table(r) != RT_TABLE_MAIN)
        return;
    if (nl_addr_cmp(rtnl_route_get_dst(r), w->dst) != 0)
        return;
    if (w->protocol > 0 && rtnl_route_get_protocol(r) != (uint8_t)w->protocol)
        return;
    w->count++;
    if (w->sk) {
        int rc = rtnl_route_delete(w->sk, r, 0);
        if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && w->delrc == 0)
            w->delrc = rc;
    }
}

/* Walks the IPv4 routes to dst; deletes them when del. Count or -1. */
static int route_walk(const char *netns, const char *dst, int protocol, bool del, char *err)
{
    struct nlcall c;
    struct nl_cache *cache = NULL;
    struct route_walk w = {0};
    int ret = -1, rc;

    if (nl_addr_parse(dst, AF_INET, &w.dst) < 0) {
        nl_seterr(err, "route %s: not an IPv4 a.b.c.d/len", dst);
        return -1;
    }
    w.protocol = protocol;
    if (nl_call_begin(&c, netns, err) < 0)
        goto out;
    rc = rtnl_route_alloc_cache(c.sk, AF_INET, 0, &cache);
    if (rc < 0) {
        nl_seterr(err, "routes: %s", nl_errstr(rc));
        goto out;
    }
    w.sk = del ? c.sk : NULL;
    nl_cache_foreach(cache, route_visit, &w);
    if (w.delrc < 0) {
        nl_seterr(err, "route %s: %s", dst, nl_errstr(w.delrc));
        goto out;
    }
    ret = w.count;
out:
    if (cache)
        nl_cache_free(cache);
    nl_addr_put(w.dst);
    nl_call_end(&c);
    return ret;
}

int nl_route_count(const char *netns, const char *dst, int protocol, char *err)
{
    return route_walk(netns, dst, protocol, false, err);
}

int nl_route_del(const char *netns, const char *dst, char *err)
{
    return route_walk(netns, dst, 0, true, err) < 0 ? -1 : 0;
}

int nl_ipv4_forward_on(char *err)
{
    int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);

    if (fd < 0 || write(fd, "1\n", 2) != 2) {
        nl_seterr(err, "net.ipv4.ip_forward: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}
