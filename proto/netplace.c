/*
 * netplace.c — the placements of every network kind (docs/networks.md, the
 * "placements" column).  Intra-host kinds that connect containers through
 * something only one host has (loopback, a shared namespace, a Linux
 * bridge) run same-host only; inter-host kinds, whose whole point is the
 * path between two hosts (NAT with published ports, a VXLAN overlay, BGP
 * routes), run cross-host only; the others run both.
 */
#include "netplace.h"

#include <stddef.h>
#include <string.h>

static const struct {
    const char *name;
    bool same_host, cross_host;
    const char *why; /* why only one placement; NULL when both */
} netplace_table[] = {
    { "none", true, false, "loopback only: both ends in one namespace of one host" },
    { "host", true, true, NULL },
    { "container", true, false, "the client joins the server's namespace, on one host" },
    { "bridge", true, false, "a Linux bridge joins the containers of one host" },
    { "macvlan", true, true, NULL },
    { "ipvlan", true, true, NULL },
    { "nat", false, true, "it connects containers of two hosts through published ports" },
    { "overlay", false, true, "it connects containers of two hosts through a VXLAN overlay" },
    { "routing", false, true, "it connects containers of two hosts through BGP routes" },
    { "noop", true, true, NULL }, /* simulated agents only (agent_sim.c) */
};
#define NETPLACE_N (sizeof netplace_table / sizeof netplace_table[0])

static int
netplace_find(const char *network)
{
    if (!network)
        return -1;
    for (size_t i = 0; i < NETPLACE_N; i++)
        if (strcmp(netplace_table[i].name, network) == 0)
            return (int)i;
    return -1;
}

bool
netplace_supports(const char *network, const char *placement)
{
    int i = netplace_find(network);

    if (i < 0 || !placement)
        return false;
    if (strcmp(placement, "same-host") == 0)
        return netplace_table[i].same_host;
    if (strcmp(placement, "cross-host") == 0)
        return netplace_table[i].cross_host;
    return false;
}

const char *
netplace_why(const char *network)
{
    int i = netplace_find(network);

    return i < 0 ? NULL : netplace_table[i].why;
}

const char *
netplace_name(int i)
{
    return i >= 0 && (size_t)i < NETPLACE_N ? netplace_table[i].name : NULL;
}
