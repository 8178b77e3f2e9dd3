/*
 * ctl.h — cntb-controller: the queue, the scheduler and the run state machine.
 *
 * One czmq zloop in one thread: the agents' ROUTER socket, the CLI's REP
 * socket (requests ping, agents, queue_add, submit, queue_list,
 * queue_cancel, batch, stop), and a 200 ms tick (due queue entries, scheduling,
 * stage timeouts, heartbeats).  The controller alone writes the database.
 *
 * Queue entry → batch: `cntb queue add` stores an entry (state waiting);
 * when next_start is due the tick expands its matrix into a batch (runs
 * queued in execution order) and sets the next start (every) or "started".
 * Cancel: no further start; the batch's queued runs become skipped, its run
 * in flight finishes, then the batch is "cancelled".
 *
 * Scheduling: each unfinished batch has at most one run in flight; a run is
 * taken (oldest batch first) when the hosts its placement needs — 1 or 2
 * bare-metal hosts of the batch's host set ($.hosts, else every bare-metal
 * host) — are not leased by another run.  A run holds its lease from leasing
 * to the end, so batches on disjoint hosts run at the same time.
 *
 * The run state machine:
 *
 *   queued ──► leasing ──► setup ──► running ──► collect ──► teardown ──► done
 *     ▲           │          │          │           │           │
 *     │           │          └──────────┴───────────┴──► teardown ──► failed
 *     │           └──► skipped (capability missing, agent not connected
 *     │                         within lease_s, placement impossible; reason stored)
 *     ├──── failed with retries left (attempt kept in run_attempt)
 *     └──── interrupted (controller stopped or killed in leasing, setup,
 *                        running or teardown: requeued at start-up, attempt
 *                        kept in run_attempt, partial result dropped)
 *
 *   leasing   hosts leased; wait for their agents to be connected (lease_s,
 *             default CTL_LEASE_MS; then skipped "agent of host X not connected
 *             within N s"), check capabilities
 *   setup     SETUP to every host of the run, barrier on SETUP_OK (setup_s)
 *   running   START server, wait START_OK; START client (start_s)
 *   collect   wait for the client's RESULT (duration_s + collect_s); stored
 *             exactly once (run id, seq), then RESULT_ACK.  A RESULT for a run
 *             not in collect (an attempt that is over) is acknowledged, not stored
 *   teardown  TEARDOWN to every host, wait TEARDOWN_OK (teardown_s); always
 *             runs, also after a failure; leftovers fail the run.  An agent
 *             silent for 3 heartbeat intervals is lost: its runs past
 *             leasing fail at once with reason "agent lost: ..." (retried
 *             per the matrix's retries once an agent is back), and their
 *             teardown goes to the other hosts only
 * Database: when a write fails (read-only file, disk full) the controller
 * takes no new run and no queue entry, does not acknowledge a RESULT it could
 * not store (the agent keeps re-sending it; its run waits in collect), says
 * why in its log and in `cntb controller status`, and tries a write every
 * CTL_STORE_PROBE_MS until one succeeds, then goes on.
 *   after     the run's hosts are released; its batch waits pause_s
 * Timeouts come from the matrix's $.timeouts, else the defaults below.
 * A controller restarted mid-batch adopts the runs that were in collect
 * (same attempt, hosts leased again): it waits duration_s + omit_s +
 * collect_s from the restart for the RESULT their agent re-sends on WELCOME,
 * stores it once and goes on to teardown; without it the attempt fails "no
 * result after controller restart" (retried per retries).  A run in teardown
 * (or collect) whose result is stored is adopted in teardown.  The other runs
 * that were in flight are queued again and their hosts get a TEARDOWN when
 * their agents say HELLO.  Messages
 * from an agent that has not said HELLO (since this controller started) are
 * not answered: the silence makes the agent say HELLO again.
 */
#ifndef CNTB_CTL_H
#define CNTB_CTL_H

#define CTL_LEASE_MS 30000
#define CTL_SETUP_MS 30000
#define CTL_START_MS 15000
#define CTL_COLLECT_GRACE_MS 30000
#define CTL_TEARDOWN_MS 30000
#define CTL_HEARTBEAT_MS 1000
/* An agent silent for 3 heartbeat intervals is lost (checked every 200 ms tick,
 * so noticed at most 3 intervals after its last message). */
#define CTL_TICK_MS 200
#define CTL_AGENT_SILENCE_MS (3 * CTL_HEARTBEAT_MS - CTL_TICK_MS)
/* While the database cannot be written, it is tried again this often. */
#define CTL_STORE_PROBE_MS 1000

typedef struct {
    const char *testbed_path;  /* testbed file */
    const char *db_path;       /* SQLite database */
    const char *rundir;        /* directory of cli.sock and controller.pid */
} ctl_config_t;

/*
 * Runs the controller until SIGTERM/SIGINT or a CLI "stop".  Returns 0 on a
 * clean stop, 2 on a bad testbed file (message on stderr), 3 when a socket or
 * the database cannot be opened, 1 on other failures.
 */
int ctl_run(const ctl_config_t *config);

#endif
