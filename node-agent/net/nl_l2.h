/*
 * nl_l2.h — the netlink operations of the inter-host kinds that nl.h does
 * not have: VXLAN links, bridge FDB and neighbour entries, link MAC
 * addresses, route look-up and removal, the IPv4 forwarding switch.
 *
 * As in nl.h, every call names the namespace it acts in (NULL or "" = the
 * caller's), returns 0 (or a count) or -1 with a message of at most
 * NL_ERR_MAX bytes in err naming the object ("vxlan cntb7-vx: File exists").
 */
#ifndef CNTB_NL_L2_H
#define CNTB_NL_L2_H

#include <stdbool.h>
#include <stdint.h>

#include "nl.h"

/*
 * Adds VXLAN link `name` with VNI vni (1..16777215, RFC 7348 §5), local
 * (source) address `local`, underlay device `dev` (resolved in netns),
 * UDP port dstport (4789 is IANA's, RFC 7348 §5), learning off (entries come
 * from the KV store, not from flooding), and MTU mtu (bytes; 0 = kernel's).
 */
int nl_vxlan_add(const char *netns, const char *name, uint32_t vni, const char *local,
                 const char *dev, int dstport, int mtu, char *err);

/* Fills mac (18 bytes) with the link's MAC address, "aa:bb:cc:dd:ee:ff". */
int nl_link_mac(const char *netns, const char *name, char *mac, char *err);

/*
 * Adds (replace: idempotent) the FDB entry "mac reached through VTEP dst" on
 * VXLAN link dev, permanent (`bridge fdb replace MAC dev DEV dst DST self
 * permanent`).  nl_fdb_del removes it; a missing entry is not an error.
 */
int nl_fdb_add(const char *netns, const char *dev, const char *mac, const char *dst, char *err);
int nl_fdb_del(const char *netns, const char *dev, const char *mac, const char *dst, char *err);

/*
 * Adds (replace) the permanent IPv4 neighbour entry ip -> mac on dev
 * (`ip neigh replace IP lladdr MAC dev DEV nud permanent`).  nl_neigh_del
 * removes it; a missing entry is not an error.
 */
int nl_neigh_add(const char *netns, const char *dev, const char *ip, const char *mac, char *err);
int nl_neigh_del(const char *netns, const char *dev, const char *ip, char *err);

/*
 * Counts the IPv4 routes of the main table whose destination is exactly dst
 * ("a.b.c.d/len") and, when protocol > 0, whose protocol is `protocol`
 * (RTPROT_*, e.g. 12 for BIRD).  Returns the count (0..) or -1.
 */
int nl_route_count(const char *netns, const char *dst, int protocol, char *err);

/* Removes every IPv4 route of the main table to exactly dst; none is not an error. */
int nl_route_del(const char *netns, const char *dst, char *err);

/* Sets net.ipv4.ip_forward of the caller's namespace to 1 (the bridge-to-
 * underlay kinds route between containers and the underlay).  0 or -1. */
int nl_ipv4_forward_on(char *err);

#endif
