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
extern const netkind_t netkind_nat;
extern const netkind_t netkind_overlay;
extern const netkind_t netkind_routing;

static const netkind_t *const kinds[] = {
    &netkind_host,
    &netkind_bridge,
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
        const char *role = names[i] + strlen(prefix);
        /* On an emulated testbed every host sees every namespace: the other
         * host's container of a cross-host run is not ours to report. */
        if ((!client && strcmp(role, "client") == 0) || (!server && strcmp(role, "server") == 0))
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
    return count;
}
