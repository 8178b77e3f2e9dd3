/*
 * agent_int.h — what the files of the agent's event loop share and nothing
 * outside node-agent/agent*.c includes: the agent's state (runs, their
 * traffic processes, nested VMs) and the functions each file gives the
 * others.  agent.c is the loop and the SETUP/START/TEARDOWN steps,
 * agent_proc.c the traffic processes, agent_probe.c the setup's
 * reachability probe, agent_vm.c the nested VMs.  The public API is agent.h.
 */
#ifndef CNTB_AGENT_INT_H
#define CNTB_AGENT_INT_H

#include "agent.h"
#include "agent_cgroup.h"
#include "netkind.h"
#include "vm.h"

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_RUNS_MAX 32
#define AGENT_VMS_MAX 8
#define AGENT_SILENCE_MS 5000   /* controller silent this long: say HELLO again */
/* No WELCOME this long over a socket that never had one: close it and open a
 * new one.  A controller whose ZAP handler refuses the certificate drops the
 * handshake without a word.  A socket that was welcomed once is kept: after a
 * partition its TCP connection resumes, and a new connection under the same
 * identity would be refused by the controller's ROUTER while the old one is
 * open. */
#define AGENT_REDIAL_MS 10000
#define AGENT_RESEND_MS 2000    /* unacknowledged RESULT re-sent this often */
#define AGENT_PIPE_MS 20        /* traffic process pipes drained this often */
#define AGENT_OUT_MAX (4 * 1024 * 1024) /* bytes of cntb-traffic stdout kept */
#define AGENT_PROBE_MS 3000     /* setup probe: give up on reachability after this long */
#define AGENT_PROBE_PORT 9      /* discard (RFC 863): nobody listens in a fresh container */

typedef struct {
    pid_t pid;
    int out_fd;               /* stdout pipe, -1 when closed */
    int err_fd;               /* stderr pipe (non-blocking), -1 when closed */
    char *out;                /* what stdout gave so far */
    size_t out_len, out_cap;
    char err_text[512];       /* last stderr text, for error messages */
} agent_proc_t;

typedef struct {
    bool used;
    int64_t run;
    const netkind_t *kind;
    netkind_ctx_t ctx;
    bool built;               /* setup() succeeded */
    double setup_ms;          /* SETUP received -> every client reaches its server (ms) */
    int npairs;               /* 1..NETKIND_PAIRS_MAX */
    agent_proc_t server[NETKIND_PAIRS_MAX], client[NETKIND_PAIRS_MAX];
    bool ready[NETKIND_PAIRS_MAX];          /* server i listens */
    json_t *pres[NETKIND_PAIRS_MAX];        /* client i's result (owned) */
    int cpu_server[NETKIND_PAIRS_MAX];      /* core pinned, -1 = not pinned */
    int cpu_client[NETKIND_PAIRS_MAX];
    int clients_done;
    bool server_ready;        /* all servers listen, START_OK sent */
    bool client_failed;       /* an ERROR went out for a client */
    json_t *result;           /* RESULT body kept until acknowledged (owned) */
    int result_seq;
    int64_t result_sent_ms;
    char cgroup[AGENT_CGROUP_ERR_MAX + 8]; /* applied.cgroup: "v1", "v2" or "none: why" */
} agent_run_t;

typedef struct {
    char name[16];            /* "" = free slot */
    vm_t *vm;                 /* owned */
    int vcpus, memory_mb;
} agent_vm_t;

typedef struct {
    const agent_config_t *cfg;
    agent_vm_t vms[AGENT_VMS_MAX];
    zsock_t *sock;
    zloop_t *loop;
    char testbed[8];
    bool welcomed;
    bool cleaned;             /* leftovers of earlier runs removed (first WELCOME) */
    int64_t last_heard_ms;
    int64_t unwelcomed_ms;      /* since when no WELCOME (0: welcomed); see AGENT_REDIAL_MS */
    bool sock_welcomed;         /* a WELCOME came over this socket (then it is never redialled) */
    agent_run_t *runs;        /* AGENT_RUNS_MAX, owned */
    char kv_kind[16];         /* the testbed's KV store (WELCOME), "" = none */
    char kv_endpoint[128];    /* its first client URL */
    agent_cgroup_sys_t cg;    /* where containers' cgroups go (probed at start) */
} agent_t;

/* ---- agent.c ----------------------------------------------------------- */

/* CLOCK_MONOTONIC in ms. */
int64_t agent_now_ms(void);

/* Logs and sends ERROR {message, stage, run (when > 0)} to the controller. */
void agent_send_error(agent_t *self, int64_t run, const char *stage, const char *message);

/* (Re-)sends the run's kept RESULT, if any, and stamps result_sent_ms. */
void agent_send_result(agent_t *self, agent_run_t *r);

/* ---- agent_proc.c: traffic processes ----------------------------------- */

/* An empty process slot: no pid, pipes closed. */
void agent_proc_init(agent_proc_t *p);

/*
 * Starts cntb-traffic with argv inside namespace ns ("" = ours), pinned to
 * core cpu (sched_setaffinity(2) in the child before exec; -1 = not pinned),
 * in the cgroup of container `role` of run r: the child waits on a pipe
 * until the agent has moved it there, so the traffic engine runs inside its
 * cgroup from its first instruction.  0 or -1 with err (errlen bytes).
 */
int agent_proc_start(agent_t *self, agent_run_t *r, const char *role, agent_proc_t *p,
                     const char *ns, int cpu, char **argv, char *err, size_t errlen);

/* Stops a process: SIGTERM, up to 2 s, then SIGKILL; closes its pipes.  Returns its
 * wait status or -1.  p->err_text is kept. */
int agent_proc_stop(agent_proc_t *p);

/* zloop timer (arg = agent_t), every AGENT_PIPE_MS: drains the pipes of running
 * traffic processes, answers START server, sends ERROR or the RESULT. */
int agent_proc_on_pipes(zloop_t *loop, int timer_id, void *arg);

/* ---- agent_probe.c: reachability at setup ------------------------------ */

/* Waits until every pair's client container reaches its server address, up to
 * deadline_ms (agent_now_ms clock).  0 or -1 with err (errlen bytes). */
int agent_probe_pairs(agent_run_t *r, int64_t deadline_ms, char *err, size_t errlen);

/* ---- agent_vm.c: nested VMs (vm.h) ------------------------------------- */

/* Kind vm: {accel, vcpus, memory_mb, parent} as the guest knows them (fresh), else NULL. */
json_t *agent_vm_self_info(agent_t *self);

/* VM_START / VM_STOP bodies b (borrowed): answer VM_STARTED or VM_STOPPED. */
void agent_vm_handle_start(agent_t *self, json_t *b);
void agent_vm_handle_stop(agent_t *self, json_t *b);

/* Every tick: a QEMU that exited by itself is collected and reported. */
void agent_vm_check(agent_t *self);

/* Stops a VM slot and frees it; console tail into console (len bytes).  Returns
 * QEMU's wait status or -1. */
int agent_vm_slot_stop(agent_vm_t *v, char *console, size_t len);

#endif
