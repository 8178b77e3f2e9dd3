/*
 * netkind.c — the table of network kinds and what all kinds share: the
 * naming of a run's namespaces and the leak check after teardown.
 *
 * Each kind lives in its own file (host.c, bridge.c, ...) and exports one
 * `const netkind_t netkind_<name>`; adding a kind means adding its file and
 * one line to the table below.  The leak check relies on the naming rule of
 * netkind.h: a run's namespaces are "cntb-<testbed>-<run>-<role>" and its
 * links "cntb<run>-<suffix>", so the prefixes, which end in a dash, match
 * run 1 without matching run 12.
 */
#include "netkind.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"

/* The kinds, one file each. */
extern const netkind_t netkind_host;
extern const netkind_t netkind_bridge;
extern const netkind_t netkind_none;
extern const netkind_t netkind_container;
extern const netkind_t netkind_macvlan;
extern const netkind_t netkind_ipvlan;
extern const netkind_t netkind_nat;
extern const netkind_t netkind_overlay;
extern const netkind_t netkind_routing;

static const netkind_t *const kinds[] = {
    &netkind_none,
    &netkind_host,
    &netkind_container,
    &netkind_bridge,
    &netkind_macvlan,
    &netkind_ipvlan,
    &netkind_nat,
    &netkind_overlay,
    &netkind_routing,
    NULL,
};

const netkind_t *netkind_find(const char *name)
{
    size_t i;

    if (!name)
        return NULL;
    for (i = 0; kinds[i]; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

const netkind_t *const *netkind_all(void)
{
    return kinds;
}

void netkind_netns_name(char *ns, const char *testbed, int64_t run, const char *role)
{
    snprintf(ns, 64, "cntb-%s-%" PRId64 "-%s", testbed, run, role);
}

void netkind_subnet(char *out, int64_t run)
{
    snprintf(out, 32, "198.19.%d.0/24", (int)(run % 254) + 1);
}

void netkind_addr(char *out, int64_t run, int host)
{
    snprintf(out, 16, "198.19.%d.%d", (int)(run % 254) + 1, host);
}

void netkind_pair_role(char *out, const char *role, int i)
{
    if (i == 0)
        snprintf(out, 64, "%s", role);
    else
        snprintf(out, 64, "%s%d", role, i);
}

void netkind_mac(char *out, int64_t run, int pair, bool server)
{
    snprintf(out, 18, "02:cb:%02x:%02x:%02x:%02x", (unsigned)((run >> 8) & 0xff),
             (unsigned)(run & 0xff), (unsigned)(pair & 0xff), server ? 2u : 1u);
}

unsigned netkind_link_group(int64_t run)
{
    return 0x636e0000u | (unsigned)(run & 0xffff);
}

/* Appends item to the comma-separated list in out (len bytes), truncating. */
static void list_append(char *out, size_t len, const char *item)
{
    size_t used;

    if (!out || len == 0)
        return;
    used = strlen(out);
    if (used + 1 >= len)
        return;
    snprintf(out + used, len - used, "%s%s", used ? "," : "", item);
}

bool netkind_role_held(const char *role, bool client, bool server)
{
    /* Prefixes, not names: pair i's containers are client<i>/server<i>
     * (netkind_pair_role), and the container kind's pod goes with the
     * client. */
    if (strncmp(role, "server", 6) == 0)
        return server;
    if (strncmp(role, "client", 6) == 0 || strncmp(role, "pod", 3) == 0)
        return client;
    return client || server;
}

int netkind_leaks(const char *testbed, int64_t run, char *out, size_t len)
{
    return netkind_leaks_held(testbed, run, true, true, out, len);
}

int netkind_leaks_held(const char *testbed, int64_t run, bool client, bool server, char *out,
                       size_t len)
{
    char prefix[64], err[NL_ERR_MAX];
    char **names = NULL;
    int n, i, count = 0;

    if (out && len)
        out[0] = '\0';
    snprintf(prefix, sizeof(prefix), "cntb-%s-%" PRId64 "-", testbed, run);
    n = netns_list(prefix, &names, err);
    if (n < 0)
        return -1;
    for (i = 0; i < n; i++) {
        /* On an emulated testbed every host sees every namespace: the other
         * host's containers of a cross-host run (every pair's) are not ours
         * to report, by the rule teardown removes ours by. */
        if (!netkind_role_held(names[i] + strlen(prefix), client, server))
            continue;
        list_append(out, len, names[i]);
        count++;
    }
    netns_list_free(&names);

    snprintf(prefix, sizeof(prefix), "cntb%" PRId64 "-", run);
    n = nl_link_list(NULL, prefix, &names, err);
    if (n < 0)
        return -1;
    for (i = 0; i < n; i++)
        list_append(out, len, names[i]);
    count += n;
    netns_list_free(&names);

    netkind_subnet(prefix, run);
    n = nl_subnet_leftovers(NULL, prefix, out, len, err);
    if (n < 0)
        return -1;
    return count + n;
}

int netkind_remove_all(const netkind_ctx_t *ctx, const char *what, char *err)
{
    char prefix[64], nlerr[NL_ERR_MAX];
    char **names = NULL;
    int n, i, ret = 0;

    /* Links of the agent's namespace first: a deleted namespace frees its
     * links asynchronously, and the leak check right after would see the
     * host ends of veths that are still on their way out.  The group goes in
     * one request (one batch of RCU grace periods in the kernel); what
     * is left outside it is deleted link by link. */
    if (nl_link_group_del(NULL, netkind_link_group(ctx->run), nlerr) < 0)
        goto fail;
    snprintf(prefix, sizeof(prefix), "cntb%" PRId64 "-", ctx->run);
    n = nl_link_list(NULL, prefix, &names, nlerr);
    if (n < 0)
        goto fail;
    /* Bridges (suffix "-br") last: their ports go first. */
    for (i = 0; i < n; i++)
        if (!strstr(names[i], "-br") && nl_link_del(NULL, names[i], nlerr) < 0 && ret == 0)
            ret = -1;
    for (i = 0; i < n; i++)
        if (strstr(names[i], "-br") && nl_link_del(NULL, names[i], nlerr) < 0 && ret == 0)
            ret = -1;
    netns_list_free(&names);
    if (ret < 0)
        goto fail;
    snprintf(prefix, sizeof(prefix), "cntb-%s-%" PRId64 "-", ctx->testbed, ctx->run);
    n = netns_list(prefix, &names, nlerr);
    if (n < 0)
        goto fail;
    for (i = 0; i < n; i++) {
        /* Only the containers this host holds: hosts made of namespaces on one
         * machine share /run/netns, and the other side of the run (or its
         * retry) may belong to a neighbour.  "client*" and "pod*" go with the
         * client, "server*" with the server. */
        bool mine = netkind_role_held(names[i] + strlen(prefix), ctx->has_client,
                                      ctx->has_server);
        if (mine && netns_delete(names[i], nlerr) < 0 && ret == 0)
            ret = -1;
    }
    netns_list_free(&names);
    if (ret < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, NETKIND_ERR_MAX, "network %s: run %" PRId64 ": %.200s", what, ctx->run, nlerr);
    return -1;
}

int netkind_mtu_check(const char *what, int mtu_req, int max, char *reason, size_t len)
{
    if (mtu_req == 0)
        return 0;
    if (mtu_req < 68) {
        snprintf(reason, len, "network %s: mtu %d is below IPv4's minimum of 68 bytes (RFC 791)",
                 what, mtu_req);
        return 1;
    }
    if (max > 0 && mtu_req > max) {
        snprintf(reason, len, "network %s: mtu %d exceeds the %d bytes this mode allows", what,
                 mtu_req, max);
        return 1;
    }
    return 0;
}

int
netkind_refuse_pairs(const netkind_ctx_t *ctx, const char *what, char *reason, size_t len)
{
    if (ctx->pairs <= 1)
        return 0;
    snprintf(reason, len, "network %s builds one client/server pair per run (pairs %d asked)",
             what, ctx->pairs);
    return 1;
}
