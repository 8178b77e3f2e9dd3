/*
 * rps.h — Receive Packet Steering of a link (Linux
 * Documentation/networking/scaling.rst, "RPS: Receive Packet Steering").
 *
 * Why cntb sets it: a veth hands each packet to the backlog of the CPU
 * that sent it (netif_rx).  A TCP flow's segments leave from two CPUs (the
 * sender's write() on one, transmissions clocked by ACKs in the softirq of
 * another), so on a veth they can overtake each other; the receiver sees
 * them out of order and the sender retransmits segments that were never
 * lost.  A real NIC keeps a flow in order (one transmit queue, RSS on
 * receive).  With RPS the kernel queues every packet of a flow to the one
 * CPU its flow hash picks, whichever CPU sent it, so the flow stays in order.
 * The emulated testbed (emulate.c) sets it on both ends of every host's
 * underlay veth, which plays that host's NIC.
 */
#ifndef CNTB_RPS_H
#define CNTB_RPS_H

#include <sched.h>
#include <stddef.h>

/* Room for the mask of CPU_SETSIZE (1024) CPUs in the kernel's format. */
#define RPS_MASK_MAX 320

/*
 * Formats `set` as the kernel's CPU bitmap (what rps_cpus reads and
 * writes, lib/bitmap.c bitmap_parse): hex, in groups of 32 CPUs separated
 * by commas, the highest group first, inner groups padded to 8 digits,
 * no leading zero groups: {0,1} -> "3", {0..39} -> "ff,ffffffff", {} -> "0".
 * out holds `len` bytes (RPS_MASK_MAX is enough).  0, or -1 when out is too
 * small.
 */
int rps_mask_format(const cpu_set_t *set, char *out, size_t len);

/*
 * The CPUs the calling thread may run on (sched_getaffinity(2)) in the
 * format of rps_mask_format.  0 or -1 with err (NL_ERR_MAX bytes).
 */
int rps_mask_ours(char *out, size_t len, char *err);

/*
 * Writes `mask` (rps_mask_format's format) to
 * /sys/class/net/IFNAME/queues/rx-N/rps_cpus for every receive queue N of
 * link `ifname` in namespace `netns` (NULL or "" = the caller's, whose /sys
 * must be its own).  Another namespace's links appear only in a sysfs
 * mounted from inside it, so for `netns` a child process enters it, mounts
 * a sysfs of its own in a private mount namespace (as `ip netns exec`
 * does), writes and exits; the caller's mounts are untouched.  Needs root.
 * Returns the number of queues written (>= 1) or -1 with err (NL_ERR_MAX).
 */
int rps_set(const char *netns, const char *ifname, const char *mask, char *err);

/*
 * Reads rps_cpus of receive queue `queue` (0..) of link `ifname` in
 * `netns` (as rps_set) into out (`len` bytes, the kernel's text without
 * its newline; "0" = RPS off).  0 or -1 with err (NL_ERR_MAX).
 */
int rps_get(const char *netns, const char *ifname, int queue, char *out, size_t len, char *err);

#endif
