/*
 * ctl.h — cntb-controller: the scheduler and the run state machine.
 *
 * One czmq zloop in one thread: the agents' ROUTER socket, the CLI's REP
 * socket, and a 200 ms tick (scheduling, stage timeouts, heartbeats).  The
 * controller alone writes the database.
 *
 * The run state machine (one run holds its hosts from leasing to the end):
 *
 *   queued ──► leasing ──► setup ──► running ──► collect ──► teardown ──► done
 *                 │          │          │           │           │
 *                 │          └──────────┴───────────┴──► teardown ──► failed
 *                 └──► skipped (capability missing; reason stored)
 *
 *   leasing   the hosts of the placement are free and their agents connected
 *             (timeout CTL_LEASE_MS: failed "agent of host X not connected")
 *   setup     SETUP to every host of the run, barrier on SETUP_OK (CTL_SETUP_MS)
 *   running   START server, wait START_OK; START client (CTL_START_MS)
 *   collect   wait for the client's RESULT (duration_s + CTL_COLLECT_GRACE_MS);
 *             stored exactly once (run id, seq), then RESULT_ACK
 *   teardown  TEARDOWN to every host, wait TEARDOWN_OK (CTL_TEARDOWN_MS);
 *             always runs, also after a failure; leftovers fail the run
 * A controller restarted mid-batch marks runs that were in flight as
 * interrupted and queues them again.
 */
#ifndef CNTB_CTL_H
#define CNTB_CTL_H

#define CTL_LEASE_MS 30000
#define CTL_SETUP_MS 30000
#define CTL_START_MS 15000
#define CTL_COLLECT_GRACE_MS 30000
#define CTL_TEARDOWN_MS 30000
#define CTL_HEARTBEAT_MS 1000
#define CTL_AGENT_SILENCE_MS 5000

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
