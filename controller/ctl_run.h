/*
 * ctl_run.h — the run state machine of the controller (ctl_run.c).
 *
 * A run's stages, as the controller drives them (ctl_stage_t in memory, the
 * run.state column on disk; every transition is stored before the next
 * message goes out):
 *
 *   queued --(ctl_sched.c: a slot and the hosts leased)--> LEASING
 *      ^                                                      |
 *      |     no agent within lease_s, caps refuse,            | agents connected
 *      |     unsupported nesting, no VM ---> skipped/failed   | (VMs leased):
 *      |                                                      | SETUP to each host
 *      |                                                      v
 *      |                                                    SETUP
 *      |                                                      | SETUP_OK from each:
 *      |                                                      | START to the server
 *      |                                                      v
 *      |                                                   RUNNING
 *      |                                                      | START_OK of the server:
 *      |                                                      | START to the client
 *      |                                                      v
 *      |                                                   COLLECT
 *      |                                                      | RESULT stored (once),
 *      |                                                      | TEARDOWN to each host
 *      |                                                      v
 *      +--- retry: failed with retries left <--- failed <-- TEARDOWN --> done, skipped
 *                                                   ^          ^
 *                       TEARDOWN timeout ----------/           |
 *          SETUP, RUNNING, COLLECT: timeout, agent lost,       |
 *          ERROR (run_fail: the first reason is kept) ---------+
 *
 * A run leaves TEARDOWN when every host answered TEARDOWN_OK: done with
 * its result, skipped when an agent refused it (ERROR stage "skip"),
 * failed with the first reason; a failed attempt with retries left is
 * recorded (run_attempt) and queued again (store_run_retry).  A run whose
 * end cannot be stored keeps its slot and hosts until the store works.
 *
 * After a restart (ctl_runs_adopt, docs/faults.md "The controller dies"):
 * runs found in COLLECT, and in TEARDOWN with a stored result, are adopted
 * as they are; the other runs in flight become "interrupted" and are
 * queued again (store_requeue_interrupted), their hosts told to tear them
 * down when their agents say HELLO.
 */
#ifndef CNTB_CTL_RUN_H
#define CNTB_CTL_RUN_H

#include "ctl_int.h"

/* Frees what a run slot owns and frees the slot. */
void ctl_run_clear(ctl_run_t *r);

/*
 * Enters stage with its deadline timeout_ms (ms) from now and stores it; a
 * failed write declares the store outage and the run goes on.
 */
void ctl_run_enter(ctl_t *self, ctl_run_t *r, ctl_stage_t stage, int64_t timeout_ms);

/* Ends run r with state (done, failed, skipped), releases its hosts and slot. */
void ctl_run_finish(ctl_t *self, ctl_run_t *r, const char *state);

/* The first server port of run `run` (a block of 64 per run, below 32768). */
int ctl_run_port(int64_t run);

/* LEASING: SETUP to the run's hosts once their agents are there (and VMs leased). */
void ctl_step_leasing(ctl_t *self, ctl_run_t *r);

/* Timeouts of the run's stage, checked every tick. */
void ctl_step_timeouts(ctl_t *self, ctl_run_t *r);

/* A message of an agent that said HELLO, about a run; takes no ownership of b. */
void ctl_on_agent_msg(ctl_t *self, const char *host, msg_type_t type, json_t *b);

/* Fails the runs that use host, silent since silent_since_ms (monotonic ms). */
void ctl_runs_lose_host(ctl_t *self, const char *host, int64_t silent_since_ms);

/*
 * At start-up: rebuilds in memory the runs the database has in collect
 * (and teardown with a result), ids into ids (up to max); their count.
 */
int ctl_runs_adopt(ctl_t *self, int64_t *ids, int max);

#endif
