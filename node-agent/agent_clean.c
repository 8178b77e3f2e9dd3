/*
 * agent_clean.c — removing leftovers of earlier runs when an agent starts
 * (agent_clean.h).
 *
 * How: collect run ids from what names carry them (own-namespace links,
 * nftables tables, BIRD pid files, the journal), then for each id run every
 * network kind's teardown — they are idempotent and each removes only what
 * is named after the run — and netkind_remove_all for what no kind claims.
 * The journal records which containers this host held (client, server);
 * only those namespaces are removed, since hosts made of namespaces on one
 * machine (the emulated testbed) share /run/netns and a neighbour may be
 * building the same run's other side — or its retry — right now.  A run
 * found only through this namespace's links, tables or BIRD files has its
 * host-side objects removed and its namespaces left to the host that holds
 * them.  The cgroups of a container (agent_cgroup.h) follow the same rule
 * as its namespace.  etcd is asked once for every key under
 * /cntb/<testbed>/overlay/ and the runs with keys below this host's
 * underlay address join the list; those keys (and only those) are deleted
 * before the kinds' teardowns, so the report can count them.
 */
#include "agent_clean.h"

#include "ferr.h"
#include "kv_etcd.h"
#include "log.h"
#include "netkind.h"
#include "nl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>

/* "cntb<digits><end>" → the run id, or 0 when name is not of that form. */
static int64_t
run_of(const char *name, const char *prefix, char end)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0)
        return 0;
    char *e = NULL;
    errno = 0;
    long long v = strtoll(name + n, &e, 10);
    if (errno || e == name + n || *e != end || v < 1)
        return 0;
    return (int64_t) v;
}

static int
add_run(int64_t *runs, int n, int max, int64_t run)
{
    if (run < 1)
        return n;
    for (int i = 0; i < n; i++)
        if (runs[i] == run)
            return n;
    if (n < max)
        runs[n++] = run;
    return n;
}

/* Tables of the agent's namespace named "cntb<run>" (nat.c), listed through libnftables. */
static int
nft_runs(int64_t *runs, int n, int max)
{
    /* libnftables exits the process when nf_tables netlink is missing (nat.c). */
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0)
        return n;
    close(fd);
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft)
        return n;
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    if (nft_run_cmd_from_buffer(nft, "list tables") == 0) {
        const char *out = nft_ctx_get_output_buffer(nft);
        char line[128];
        while (out && *out) {
            size_t k = strcspn(out, "\n");
            snprintf(line, sizeof line, "%.*s", (int) (k < sizeof line - 1 ? k : sizeof line - 1),
                     out);
            out += k + (out[k] == '\n');
            const char *t = strncmp(line, "table ip ", 9) == 0 ? line + 9 : NULL;
            if (t)
                n = add_run(runs, n, max, run_of(t, "cntb", '\0'));
        }
    }
    nft_ctx_free(nft);
    return n;
}

int
agent_clean_find(const char *testbed, const char *host, const char *state_dir, int64_t *runs,
                 int max)
{
    int n = 0;
    char **names = NULL, err[NL_ERR_MAX], path[300], prefix[64];
    if (nl_link_list(NULL, "cntb", &names, err) >= 0) {
        for (int i = 0; names && names[i]; i++)
            n = add_run(runs, n, max, run_of(names[i], "cntb", '-'));
        netns_list_free(&names);
    }
    n = nft_runs(runs, n, max);
    snprintf(path, sizeof path, "/run/cntb/%s", testbed);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *dash;
        int64_t run = run_of(e->d_name, "bird-", '-');
        dash = run ? strchr(e->d_name + 5, '-') : NULL;
        snprintf(prefix, sizeof prefix, "-%s.pid", host);
        if (dash && strcmp(dash, prefix) == 0)
            n = add_run(runs, n, max, run);
    }
    if (d)
        closedir(d);
    d = state_dir ? opendir(state_dir) : NULL;
    while (d && (e = readdir(d)))
        n = add_run(runs, n, max, run_of(e->d_name, "run-", '\0'));
    if (d)
        closedir(d);
    return n;
}

/* The roles the journal of run recorded: bit 1 client, bit 2 server; 0 when none. */
static int
journal_roles(const char *state_dir, int64_t run)
{
    char path[300], buf[64] = "";
    if (!state_dir)
        return 0;
    snprintf(path, sizeof path, "%s/run-%" PRId64, state_dir, run);
    if (ferr_read_text(path, buf, sizeof buf) != 0)
        return 0;
    return (strstr(buf, "client") ? 1 : 0) | (strstr(buf, "server") ? 2 : 0);
}

/* Deletes the namespaces "cntb-<testbed>-<run>-<role>*"; 0 or -1 (err). */
static int
remove_role_netns(const char *testbed, int64_t run, const char *role, char *err)
{
    char prefix[96], **names = NULL;
    snprintf(prefix, sizeof prefix, "cntb-%s-%" PRId64 "-%s", testbed, run, role);
    if (netns_list(prefix, &names, err) < 0)
        return -1;
    int rc = 0;
    for (int i = 0; names && names[i]; i++)
        if (netns_delete(names[i], err) != 0)
            rc = -1;
    netns_list_free(&names);
    return rc;
}

int
agent_clean_etcd_runs(const char *testbed, const char *addr, const json_t *kvs, int64_t *runs,
                      int n, int max)
{
    char prefix[64];
    const char *key;
    json_t *v;
    if (!testbed || !addr || !*addr || !json_is_object(kvs))
        return n;
    snprintf(prefix, sizeof prefix, "/cntb/%s/overlay/", testbed);
    size_t pl = strlen(prefix), al = strlen(addr);
    json_object_foreach((json_t *) kvs, key, v) {
        if (strncmp(key, prefix, pl) != 0)
            continue;
        int64_t run = run_of(key + pl - 1, "/", '/');
        const char *owner = run ? strchr(key + pl, '/') : NULL;
        if (owner && strncmp(owner + 1, addr, al) == 0 && owner[1 + al] == '/')
            n = add_run(runs, n, max, run);
    }
    return n;
}

/* Appends "sep text" to the parenthesised detail of one run. */
static void
detail_add(char *detail, size_t len, const char *text)
{
    size_t used = strlen(detail);
    snprintf(detail + used, len - used, "%s%s", used ? ", " : "", text);
}

/* Deletes this host's keys of run; notes them in detail.  Needs kv. */
static void
clean_etcd(kv_etcd_t *kv, const agent_clean_cfg_t *cfg, int64_t run, char *detail, size_t len)
{
    char mine[160], e[KV_ERR_MAX], text[200];
    int deleted = 0;
    if (!kv || !cfg->underlay_addr || !cfg->underlay_addr[0])
        return;
    snprintf(mine, sizeof mine, "/cntb/%s/overlay/%" PRId64 "/%s/", cfg->testbed, run,
             cfg->underlay_addr);
    if (kv_etcd_delete_prefix(kv, mine, &deleted, e) != 0) {
        log_warn("cleanup of run %" PRId64 ": %s", run, e);
        return;
    }
    if (deleted > 0) {
        snprintf(text, sizeof text, "etcd keys %s: %d", mine, deleted);
        detail_add(detail, len, text);
    }
}

/* Removes the cgroups "cntb-<testbed>-<run>-<role>*"; notes them in detail. */
static void
clean_cgroups(const agent_clean_cfg_t *cfg, int64_t run, const char *role, char *detail,
              size_t len)
{
    char prefix[96], err[AGENT_CGROUP_ERR_MAX];
    if (!cfg->cgroups || cfg->cgroups->version == 0)
        return;
    snprintf(prefix, sizeof prefix, "cntb-%s-%" PRId64 "-%s", cfg->testbed, run, role);
    if (agent_cgroup_remove_prefix(cfg->cgroups, prefix, 2000, detail, len, err, sizeof err) < 0)
        log_warn("cleanup of run %" PRId64 ": %s", run, err);
}

int
agent_clean_all(const agent_clean_cfg_t *cfg, char *report, size_t len)
{
    int64_t runs[AGENT_CLEAN_RUNS_MAX];
    int n = agent_clean_find(cfg->testbed, cfg->host, cfg->state_dir, runs, AGENT_CLEAN_RUNS_MAX);
    kv_etcd_t *kv = NULL;
    char e[KV_ERR_MAX];
    if (report && len)
        report[0] = '\0';
    if (cfg->kv_endpoint && cfg->kv_endpoint[0]) {
        char prefix[64];
        json_t *kvs = NULL;
        int64_t rev;
        snprintf(prefix, sizeof prefix, "/cntb/%s/overlay/", cfg->testbed);
        kv = kv_etcd_new(cfg->kv_endpoint, 2000, e);
        if (kv && kv_etcd_range(kv, prefix, &kvs, &rev, e) == 0)
            n = agent_clean_etcd_runs(cfg->testbed, cfg->underlay_addr, kvs, runs, n,
                                      AGENT_CLEAN_RUNS_MAX);
        else
            log_warn("cleanup: cannot read this host's etcd keys: %s", e);
        json_decref(kvs);
    }
    for (int i = 0; i < n; i++) {
        int roles = journal_roles(cfg->state_dir, runs[i]);
        bool client = roles & 1, server = roles & 2;
        netkind_ctx_t *ctx = calloc(1, sizeof *ctx); /* large (pairs): not on the stack */
        char err[NETKIND_ERR_MAX], detail[512] = "";
        if (!ctx)
            break;
        clean_etcd(kv, cfg, runs[i], detail, sizeof detail);
        for (const netkind_t *const *k = netkind_all(); *k; k++) {
            memset(ctx, 0, sizeof *ctx);
            ctx->run = runs[i];
            snprintf(ctx->testbed, sizeof ctx->testbed, "%s", cfg->testbed);
            snprintf(ctx->host, sizeof ctx->host, "%s", cfg->host);
            snprintf(ctx->placement, sizeof ctx->placement, "%s",
                     client && server ? "same-host" : "cross-host");
            snprintf(ctx->underlay_if, sizeof ctx->underlay_if, "%s", cfg->underlay_if ?: "");
            snprintf(ctx->underlay_addr, sizeof ctx->underlay_addr, "%s", cfg->underlay_addr ?: "");
            ctx->has_client = client;
            ctx->has_server = server;
            ctx->pairs = 1;
            (void) (*k)->teardown(ctx, err); /* kinds that never built it may complain */
        }
        /* Host-side links of the run in this namespace, then the cgroups and
         * namespaces it held (cgroups first: their tasks lived in those). */
        char **links = NULL, prefix[32];
        snprintf(prefix, sizeof prefix, "cntb%" PRId64 "-", runs[i]);
        if (nl_link_list(NULL, prefix, &links, err) >= 0) {
            for (int l = 0; links && links[l]; l++)
                if (nl_link_del(NULL, links[l], err) != 0)
                    log_warn("cleanup of run %" PRId64 ": %s", runs[i], err);
            netns_list_free(&links);
        }
        if (client)
            clean_cgroups(cfg, runs[i], "client", detail, sizeof detail);
        if (server)
            clean_cgroups(cfg, runs[i], "server", detail, sizeof detail);
        if ((client && (remove_role_netns(cfg->testbed, runs[i], "client", err) != 0 ||
                        remove_role_netns(cfg->testbed, runs[i], "pod", err) != 0)) ||
            (server && remove_role_netns(cfg->testbed, runs[i], "server", err) != 0))
            log_warn("cleanup of run %" PRId64 ": %s", runs[i], err);
        free(ctx);
        agent_clean_journal_del(cfg->state_dir, runs[i]);
        if (report && len) {
            size_t used = strlen(report);
            snprintf(report + used, len - used, "%srun %" PRId64 "%s%s%s", used ? ", " : "",
                     runs[i], detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
        }
    }
    kv_etcd_destroy(&kv);
    return n;
}

int
agent_clean_journal_add(const char *state_dir, int64_t run, bool client, bool server)
{
    char path[300], text[32];
    if (!state_dir)
        return 0;
    snprintf(path, sizeof path, "%s/run-%" PRId64, state_dir, run);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int k = snprintf(text, sizeof text, "%s%s\n", client ? "client " : "", server ? "server" : "");
    ssize_t w = write(fd, text, (size_t) k);
    fsync(fd);
    close(fd);
    return w == k ? 0 : -1;
}

int
agent_clean_journal_del(const char *state_dir, int64_t run)
{
    char path[300];
    if (!state_dir)
        return 0;
    snprintf(path, sizeof path, "%s/run-%" PRId64, state_dir, run);
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}
