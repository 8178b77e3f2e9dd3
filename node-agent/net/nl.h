/*
 * nl.h — network namespaces and rtnetlink operations (libnl-route-3).
 *
 * Named namespaces follow iproute2's convention so that `ip netns` sees them:
 * a namespace NAME is a bind mount of a process's /proc/self/ns/net on
 * /run/netns/NAME.  Every link operation takes the namespace it acts in
 * (NULL = the caller's own): the calling thread enters it with setns(2) for
 * the duration of the call and returns to its original namespace.
 * All functions return 0 on success and -1 on error with a message in err
 * (NL_ERR_MAX bytes); none of them runs a program.
 */
#ifndef CNTB_NL_H
#define CNTB_NL_H

#include <stdbool.h>
#include <stddef.h>

#define NL_ERR_MAX 256
#define NETNS_RUN_DIR "/run/netns"

/* Names: interfaces <= 15 bytes of [A-Za-z0-9_.-]; namespaces <= 63 bytes of the same. */
bool nl_ifname_valid(const char *name);
bool netns_name_valid(const char *name);

/* Creates the named namespace (with loopback up); an existing one is an error unless may_exist. */
int netns_create(const char *name, bool may_exist, char *err);

/* Deletes the named namespace (umount + unlink); a missing one is not an error. */
int netns_delete(const char *name, char *err);

/* 1 when the named namespace exists, else 0. */
int netns_exists(const char *name);

/* Moves the calling thread into the named namespace (NULL or "" = no-op).  For child processes. */
int netns_enter(const char *name, char *err);

/*
 * Lists named namespaces whose name starts with prefix into a fresh
 * NULL-terminated array of fresh strings (free with netns_list_free).
 * Returns the count or -1.
 */
int netns_list(const char *prefix, char ***names, char *err);
void netns_list_free(char ***names);

/* Creates a bridge in netns; mtu 0 = default.  Existing link of that name is an error. */
int nl_bridge_add(const char *netns, const char *name, int mtu, char *err);

/*
 * Creates a veth pair: `name` in netns, `peer` in peer_netns (NULL = same as
 * netns).  mtu 0 = default.
 */
int nl_veth_add(const char *netns, const char *name, const char *peer, const char *peer_netns,
                int mtu, char *err);

/* Enslaves `name` to the bridge `master` (both in netns). */
int nl_link_set_master(const char *netns, const char *name, const char *master, char *err);

/* Sets the link up. */
int nl_link_up(const char *netns, const char *name, char *err);

/* Deletes a link; a missing link is not an error. */
int nl_link_del(const char *netns, const char *name, char *err);

/* 1 when the link exists in netns, 0 when not, -1 on error. */
int nl_link_exists(const char *netns, const char *name, char *err);

/* MTU of the link (bytes), or -1. */
int nl_link_mtu(const char *netns, const char *name, char *err);

/*
 * Lists links in netns whose name starts with prefix into a fresh
 * NULL-terminated array (free with netns_list_free).  Returns count or -1.
 */
int nl_link_list(const char *netns, const char *prefix, char ***names, char *err);

/* Adds an IPv4 address "a.b.c.d/len" to the link. An identical existing address is not an error. */
int nl_addr_add(const char *netns, const char *ifname, const char *cidr, char *err);

/* Adds an IPv4 route: dst "a.b.c.d/len" or "default", via gateway (may be NULL), dev (may be NULL). */
int nl_route_add(const char *netns, const char *dst, const char *via, const char *dev,
                 char *err);

/*
 * One container's interface, built in two netlink round trips: the link is
 * created in the caller's namespace with IFLA_NET_NS_FD so that its container
 * end is born inside `netns` (iproute2's `ip link add ... netns`), with the
 * host end's master and IFF_UP in the same RTM_NEWLINK; then, from inside
 * the container, it goes up as eth0 and gets its address and optional route.
 * A veth's container end is born as eth0; a macvlan or ipvlan is born as
 * "cntb-port-new" and renamed eth0 in round trip 2, because older kernels
 * (6.1) look the new name up in the caller's namespace, where the underlay
 * may well be called eth0 (EEXIST).
 */
typedef struct {
    const char *kind;          /* "veth", "macvlan" or "ipvlan" */
    const char *host_name;     /* veth: name of the end left in the caller's namespace */
    const char *master;        /* veth: bridge the host end joins, NULL = none */
    const char *parent;        /* macvlan/ipvlan: lower link in the caller's namespace */
    int mode;                  /* macvlan: MACVLAN_MODE_* ; ipvlan: IPVLAN_MODE_* (linux/if_link.h) */
    const char *mac;           /* container end MAC "xx:xx:xx:xx:xx:xx", NULL = random */
    const char *src_macs[4];   /* macvlan source mode: allowed source MACs, NULL-ended */
    int mtu;                   /* container end MTU in bytes, 0 = the kernel's default */
    const char *cidr;          /* "a.b.c.d/len" for eth0, NULL = none */
    bool default_dev;          /* add "default dev eth0" (ipvlan l3/l3s) */
    unsigned group;            /* veth: link group of the host end (IFLA_GROUP), 0 = default */
} nl_port_t;

/* Builds the port described by p into netns (which must exist).  0 or -1 with err. */
int nl_port_add(const char *netns, const nl_port_t *p, char *err);

/*
 * Puts the link into link group `group` (IFLA_GROUP, 1..UINT32_MAX; 0 is
 * the kernel's default group), so that nl_link_group_del removes it with
 * the rest of its group.
 */
int nl_link_set_group(const char *netns, const char *name, unsigned group, char *err);

/*
 * Deletes every link of group `group` (>= 1) in netns with one RTM_DELLINK
 * (ifindex 0 + IFLA_GROUP, what `ip link delete group N` sends): the kernel
 * unregisters them as one batch (unregister_netdevice_many), paying its RCU
 * grace periods once instead of once per link, which makes removing 64
 * veths about 50x faster than deleting them one by one.  An empty group is
 * not an error.  0 or -1 with err.
 */
int nl_link_group_del(const char *netns, unsigned group, char *err);

/* Sets the MTU (bytes) of a link. */
int nl_link_set_mtu(const char *netns, const char *name, int mtu, char *err);

/*
 * Probes whether the kernel can create links of `kind` ("macvlan",
 * "ipvlan", "bridge", "veth"): inside a throw-away namespace
 * "cntb-probe-<pid>" it creates a veth pair as parent and one link of the
 * kind on it, then deletes the namespace.  1 = yes, 0 = no with the
 * kernel's reason in err, -1 = the probe itself failed (err).
 */
int nl_kind_probe(const char *kind, char *err);

/*
 * A socket of (domain, type) created inside netns ("" or NULL = ours); the
 * socket stays in that namespace whatever the caller does next.  Returns the
 * fd (caller closes) or -1 with err.
 */
int netns_socket(const char *netns, int domain, int type, char *err);

/*
 * Counts IPv4 addresses and routes (main table) in netns that fall inside
 * subnet "a.b.c.d/len"; their text is appended comma-separated to out (len
 * bytes).  Returns the count or -1 with err.  For the leak check.
 */
int nl_subnet_leftovers(const char *netns, const char *subnet, char *out, size_t len, char *err);

#endif
