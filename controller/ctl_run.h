/*
 * ctl_run.h — the run state machine of the controller (ctl_run.c).
 *
 * A run's stages, as the controller drives them (ctl_stage_t in memory, the
 * run.state column on disk; every transition is stored before the next
 * message goes out):
 *
 *                 ctl_sched.c: hosts leased
 *   (queued) ------------------------------> LEASING
 *      ^                                        | agents connected, caps allow:
 *      |                                        | SETUP to each host
 *      |                                        v
 *      |                                      SETUP
 *      |                                        | SETUP_OK from every host:
 *      |                                        | START to the server, then the client
 *      |                                        v
 *      |                                     RUNNING
 *      |                                        | START sent to the client
 *      |                                        v
 *      |   retry (store_run_retry)           COLLECT
 *      |   when attempts are left               | RESULT stored (once)
 *      |                                        v
 *      +-------- failed <------------------- TEARDOWN ---> done
 *                  ^                             ^     \-> skipped (an agent refused it)
 *                  |  timeout, agent lost,       |
 *                  |  ERROR (run_fail)           |
 *                  +------- any stage above -----+
 *
 * A failure in any stage records the first reason and goes to TEARDOWN;
 * the run ends when every host answered TEARDOWN_OK (or its timeout): done
 * with a result, skipped, or failed, and a failed attempt with retries left
 * is queued again.  A restarted controller (ctl_runs_adopt, docs/faults.md
 * "The controller dies") adopts the runs it finds in COLLECT (and TEARDOWN
 * with a stored result); the others in flight become "interrupted" and are
 * queued again, their hosts told to tear them down on HELLO.
 */
#ifndef CNTB_CTL_RUN_H
#define CNTB_CTL_RUN_H

#include "ctl_int.h"

/* Frees what a run slot owns and frees the slot. */
void ctl_run_clear(ctl_run_t *r);

/* Enters stage (stored first; a failed write is the store outage), timeout_ms from now. */
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
