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
 * torn down.  Namespaces "cntb-<testbed>-<run>-*" are removed for those run
 * ids only: on an emulated testbed every host sees every namespace, and
 * another host's namespaces are not this agent's to remove.
 */
#ifndef CNTB_AGENT_CLEAN_H
#define CNTB_AGENT_CLEAN_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#define AGENT_CLEAN_RUNS_MAX 256

/*
 * Fills runs (up to max) with the distinct run ids this host holds
 * leftovers of (see above); state_dir may be NULL (no journal).  Returns the
 * count (0..max), never fails: a source that cannot be read is skipped.
 */
int agent_clean_find(const char *testbed, const char *host, const char *state_dir, int64_t *runs,
                     int max);

/*
 * Tears down every run agent_clean_find reports: each network kind's
 * teardown (idempotent) for the sides the journal says this host held, the
 * run's links in this namespace, the namespaces of those sides only (hosts
 * of an emulated testbed share /run/netns), then its journal entry.  Writes "run 12, run
 * 15" into report (len bytes, "" when there was nothing) and returns the
 * number of runs cleaned.
 */
int agent_clean_all(const char *testbed, const char *host, const char *state_dir,
                    const char *underlay_if, const char *underlay_addr, char *report, size_t len);

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
