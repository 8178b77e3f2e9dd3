/*
 * agent_clean.h — what an agent removes when it starts: every leftover of
 * earlier runs of its testbed on its host (an agent killed mid-run, a host
 * that rebooted without teardown).
 *
 * A host's leftovers are found by their names (netkind.h's naming rule):
 * links "cntb<run>-*" in the agent's namespace, nftables tables
 * "ip cntb<run>" there (nat), BIRD pid files
 * /run/cntb/<testbed>/bird-<run>-<host>.pid (routing), and the run journal:
 * one empty file <state_dir>/run-<id> per run the agent set up and has not
 * torn down.  Namespaces "cntb-<testbed>-<run>-*" and cgroups of the same
 * names (agent_cgroup.h) are removed for those run ids and the roles the
 * journal names only: on an emulated testbed every host sees every
 * namespace and cgroup, and another host's are not this agent's to remove.
 * etcd keys: overlay (net/overlay.c) writes below
 * /cntb/<testbed>/overlay/<run>/<underlay address>/; the keys below this
 * host's own address are removed, those of other hosts (which share one etcd
 * on an emulated testbed and may be building a retry of the same run) never.
 */
#ifndef CNTB_AGENT_CLEAN_H
#define CNTB_AGENT_CLEAN_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "agent_cgroup.h"

#define AGENT_CLEAN_RUNS_MAX 256

/* What agent_clean_all needs to know about this agent. */
typedef struct {
    const char *testbed;        /* testbed name (namespace, cgroup and key names) */
    const char *host;           /* this host's name (BIRD pid files) */
    const char *state_dir;      /* the run journal's directory, NULL = none */
    const char *underlay_if;    /* this host's underlay link, e.g. "eth0" */
    const char *underlay_addr;  /* its IPv4 address: the owner part of this host's etcd keys */
    const char *kv_endpoint;    /* the testbed's etcd ("http://A:P"), NULL or "" = none */
    const agent_cgroup_sys_t *cgroups; /* the probed hierarchies, NULL = no cgroups */
} agent_clean_cfg_t;

/*
 * Fills runs (up to max) with the distinct run ids this host holds
 * leftovers of (see above); state_dir may be NULL (no journal).  Returns the
 * count (0..max), never fails: a source that cannot be read is skipped.
 */
int agent_clean_find(const char *testbed, const char *host, const char *state_dir, int64_t *runs,
                     int max);

/*
 * Adds to runs (n entries so far, up to max) the distinct run ids that have
 * keys of this host in kvs, a JSON object {key: value} as kv_etcd_range
 * returns for the prefix /cntb/<testbed>/overlay/: keys
 * "/cntb/<testbed>/overlay/<run>/<addr>/..." with <addr> equal to addr.
 * Returns the new count.  Pure; never fails.
 */
int agent_clean_etcd_runs(const char *testbed, const char *addr, const json_t *kvs,
                          int64_t *runs, int n, int max);

/*
 * Tears down every run agent_clean_find reports, plus the runs with keys of
 * this host in etcd (agent_clean_etcd_runs; etcd unreachable: logged,
 * skipped): this host's etcd keys of the run, each network kind's teardown
 * (idempotent) for the sides the journal says this host held, the run's
 * links in this namespace, the namespaces and cgroups of those sides only
 * (hosts of an emulated testbed share /run/netns and cgroupfs; a cgroup's
 * remaining tasks are killed first), then its journal entry.  Writes
 * "run 12 (etcd keys /cntb/T/overlay/12/198.18.1.1/: 2, cgroup
 * cntb-T-12-client), run 15" into report (len bytes, "" when there was
 * nothing; the parenthesis lists what was found beyond links and
 * namespaces) and returns the number of runs cleaned.
 */
int agent_clean_all(const agent_clean_cfg_t *cfg, char *report, size_t len);

/*
 * The run journal: agent_clean_journal_add creates <state_dir>/run-<run>
 * holding the containers this host holds ("client", "server") before the
 * agent builds anything of the run, agent_clean_journal_del
 * removes it after teardown.  No-ops when state_dir is NULL; 0 or -1
 * (errno set).
 */
int agent_clean_journal_add(const char *state_dir, int64_t run, bool client, bool server);
int agent_clean_journal_del(const char *state_dir, int64_t run);

#endif
