/*
 * ctl_int.h — private to the controller's loop (ctl.c, ctl_sched.c,
 * ctl_run.c, ctl_cli.c): the state they share (ctl_t: agents, batches, runs
 * in flight, leases) and the functions one of them calls in another.  The
 * run state machine's own functions are in ctl_run.h.
 */
#ifndef CNTB_CTL_INT_H
#define CNTB_CTL_INT_H

#include "ctl.h"
#include "ctl_auth.h"
#include "ctl_vm.h"
#include "matrix.h"
#include "proto.h"
#include "store.h"
#include "testbed.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CTL_AGENTS_MAX 1024
#define CTL_RUNS_MAX 256     /* runs in flight at once (one per batch at most): 500
                              * hosts in cross-host pairs (issue 9, tests/bench/scale) */
#define CTL_BATCHES_MAX 256  /* unfinished batches held in memory */
#define CTL_STALE_MAX 256    /* runs cut short by a restart, to tear down */
#define CTL_HOSTS_MAX TB_MAX_HOSTS /* testbed hosts that can be leased: every host of a
                                    * testbed file (lease[] is indexed by host index) */

typedef struct {
    char host[32];
    bool connected;
    int64_t last_seen_ms;
    char kind[16];
    json_t *caps;        /* capabilities of the last HELLO (owned) */
    json_t *meta;        /* metadata snapshot (owned) */
    char peer[64];       /* source address of its last HELLO, as ZeroMQ saw it ("" unknown) */
} ctl_agent_t;

typedef enum { STAGE_NONE, STAGE_LEASING, STAGE_SETUP, STAGE_RUNNING, STAGE_COLLECT,
               STAGE_TEARDOWN } ctl_stage_t;

/* An unfinished batch. */
typedef struct {
    int64_t id;                 /* 0 = free slot */
    matrix_t *m;                /* owned: the matrix as stored with the batch */
    int nhosts;                 /* hosts it may lease, bare-metal, in order */
    int host[CTL_HOSTS_MAX];    /* indices into the testbed's hosts */
    int64_t not_before_ms;      /* pause_s after its last run */
    int64_t in_flight;          /* its run in flight, 0 = none */
} ctl_batch_t;

typedef struct {
    int64_t id;                 /* 0 = free slot */
    ctl_batch_t *batch;         /* borrowed */
    json_t *params;             /* owned */
    char network[32];
    char placement[16];
    ctl_stage_t stage;
    int64_t stage_since_ms;
    int64_t deadline_ms;
    int timeout_ms[MATRIX_STAGES]; /* from the matrix, else the CTL_*_MS defaults */
    int nhosts;                 /* 1 (same-host) or 2 */
    int host_idx[2];            /* leased testbed hosts: [0] client, [1] server */
    char hosts[2][32];          /* their names ([1] = [0] when same-host) */
    bool acked[2];              /* SETUP_OK / TEARDOWN_OK per host */
    bool server_ready;
    char server_addr[16];
    char peer_addr[2][16];
    int port;
    bool result_stored;
    bool failed;
    int64_t failed_ms;          /* when it failed (now_ms), 0 = not failed */
    ctl_stage_t failed_stage;   /* the stage it failed in */
    bool skipped;               /* an agent refused the run (ERROR stage "skip") */
    char reason[600];
    char finish_state[16];      /* its end could not be stored: retried once the store works */
    bool adopted;               /* rebuilt at start-up from the database (runs_adopt) */
} ctl_run_t;

typedef struct {
    int64_t run;
    char host[32];
} ctl_stale_t;

typedef struct {
    const ctl_config_t *cfg;
    testbed_t *testbed;
    store_t *store;
    zsock_t *agents_sock;
    zsock_t *cli_sock;
    ctl_auth_t *auth;           /* owns agents_sock (ctl_auth.h) */
    ctl_vm_t *vms;              /* nested VMs (ctl_vm.h) */
    zloop_t *loop;
    int nagents;
    ctl_agent_t agents[CTL_AGENTS_MAX];
    ctl_run_t runs[CTL_RUNS_MAX];       /* the runs in flight */
    ctl_batch_t batches[CTL_BATCHES_MAX];
    int64_t lease[CTL_HOSTS_MAX];       /* per testbed host: the run holding it, 0 = free */
    int nstale;
    ctl_stale_t stale[CTL_STALE_MAX];   /* TEARDOWN owed to hosts after a restart */
    int64_t last_heartbeat_ms;
    bool store_down;            /* the last write failed: no new runs (ctl.h) */
    char store_why[300];        /* why, for the log and `cntb controller status` */
    int64_t store_down_since_ms;
    int64_t store_probe_ms;     /* last write attempt while down */
    bool stop;
    bool reschedule;            /* a run ended: schedule now, not at the next tick */
} ctl_t;

/* ---- ctl.c: the loop, agents and the database's health ---------------------- */

/* The monotonic clock, ms. */
int64_t ctl_now_ms(void);

/* The agent of host (borrowed), NULL when it never said HELLO. */
ctl_agent_t *ctl_agent_find(ctl_t *self, const char *host);

/* Whether host's agent said HELLO and has not been lost since. */
bool ctl_agent_connected(ctl_t *self, const char *host);

/* ctl_agent_connected for ctl_vm_lease (arg is the ctl_t). */
bool ctl_agent_connected_cb(void *arg, const char *host);

/* Sends a message to host's agent; takes ownership of body. */
void ctl_send_to(ctl_t *self, const char *host, msg_type_t type, json_t *body);

/* The run in flight with this id (borrowed slot), NULL when none. */
ctl_run_t *ctl_run_by_id(ctl_t *self, int64_t id);

/* Owes host a TEARDOWN of run, sent when its agent says HELLO (once per pair). */
void ctl_stale_add(ctl_t *self, int64_t run, const char *host);

/*
 * A write to the store failed (what: which one, for the log): the store
 * outage begins, no new run starts until a probe write succeeds (ctl.h).
 */
void ctl_store_failed(ctl_t *self, const char *what);

/* A write succeeded: ends the store outage, if any. */
void ctl_store_ok(ctl_t *self);

/* ---- ctl_sched.c: batches, leases, the queue --------------------------------- */

/* Drops a cached batch (its matrix freed, the slot zeroed). */
void ctl_batch_forget(ctl_batch_t *b);

/*
 * The cached batch id (borrowed), loading it on first use; NULL when it
 * cannot be used (its runs skipped) or no slot is free.
 */
ctl_batch_t *ctl_batch_get(ctl_t *self, int64_t id);

/* Sets batch done (or cancelled) when none of its runs is left to run. */
void ctl_batch_maybe_finish(ctl_t *self, int64_t batch);

/*
 * Whether agent a's capabilities allow network/placement/traffic; else
 * false with why (len bytes).
 */
bool ctl_caps_allow(ctl_agent_t *a, const char *network, const char *placement,
                    const char *traffic, char *why, size_t len);

/* Checks a matrix against this testbed.  0, or -1 with a ferr-style message in err. */
int ctl_matrix_fits(ctl_t *self, const matrix_t *m, const char *file, const char *text,
                    char *err);

/*
 * Makes the batch of queue entry id (now: seconds since the epoch).  The
 * batch id, or -1 when none was made: no such entry, its matrix refused
 * (the entry marked failed), or the store could not be written (the outage
 * declared).
 */
int64_t ctl_queue_start(ctl_t *self, int64_t id, time_t now);

/* Starts the batches of the queue entries that are due. */
void ctl_queue_tick(ctl_t *self);

/* Every unfinished batch, oldest first, gets a chance at its next run. */
void ctl_schedule_batches(ctl_t *self);

/* ---- ctl_cli.c: requests of the CLI socket ------------------------------------ */

/* zloop reader of the CLI socket: one request, one answer (ctl.h lists them). */
int ctl_on_cli(zloop_t *loop, zsock_t *sock, void *arg);

#endif
