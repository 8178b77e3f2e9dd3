/*
 * ctl_vm.h — the controller's bookkeeping of nested VMs (docs/vm.md).
 *
 * A run with nesting=vm puts its containers into VMs: on each host the run
 * leases, the first VM of the testbed whose parent is that host.  This
 * module decides when to ask a parent's agent to start a VM (VM_START), when
 * the VM counts as up (its own agent said HELLO after the start), when it
 * failed (no HELLO within the testbed's boot_timeout_s, default
 * CTL_VM_BOOT_MS; or QEMU exited: VM_STOPPED), and
 * stops the VMs a batch started when the batch ends (VM_STOP).  VMs are
 * reused by every run of the batch that needs the same VM.  It keeps no
 * run state: the controller calls it from a run's leasing step (ctl_run.c)
 * and at the end of a batch (ctl_sched.c), and passes it the VM messages
 * and every HELLO (ctl.c, ctl_run.c).
 *
 * Per VM:
 *
 *     idle ──lease──► starting ──HELLO of the VM──► up ──batch end──► stopping
 *      ▲                 │  timeout: VM_STOP            │ VM_STOPPED      │
 *      │                 ▼  VM_STOPPED                  ▼ (crash)         │
 *      │               failed (reason kept until the batch ends)          │
 *      └──────────────── batch end / VM_STOPPED ◄────────────────────────┘
 */
#ifndef CNTB_CTL_VM_H
#define CNTB_CTL_VM_H

#include "proto.h"
#include "testbed.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_VM_BOOT_MS 120000 /* default QEMU start to HELLO; TCG boots in ~10 s, a loaded host is slower */
#define CTL_VM_PREFIX 24      /* underlay prefix length handed to the guest (the emulated testbed's /24) */

typedef struct ctl_vm ctl_vm_t;

/* Sends a message to a host's agent; takes ownership of body (ctl.c's ctl_send_to). */
typedef void ctl_vm_send_fn(void *arg, const char *host, msg_type_t type, json_t *body);

/* What ctl_vm_lease answers. */
typedef enum {
    CTL_VM_READY,  /* the VM's agent is up: use it */
    CTL_VM_WAIT,   /* starting: ask again on the next tick */
    CTL_VM_FAILED, /* it did not come up: fail the run with the reason */
    CTL_VM_NONE    /* the testbed has no VM on that host: skip the run */
} ctl_vm_answer_t;

/* A fresh table for testbed tb (borrowed: must outlive the table), or NULL. */
ctl_vm_t *ctl_vm_new(const testbed_t *tb, ctl_vm_send_fn *send, void *send_arg);

/* Frees the table and sets *self_p to NULL (sends nothing); accepts NULL. */
void ctl_vm_destroy(ctl_vm_t **self_p);

/*
 * The VM for a run of batch `batch` on host `parent`, at now_ms (monotonic
 * milliseconds).  connected: whether the VM's agent is connected right now.
 * On READY the VM's name goes to vm (32 bytes) and its address to addr
 * (16 bytes); on FAILED or NONE a one-line reason goes to reason (len
 * bytes).  Starts the VM (VM_START to the parent) when it is idle, and
 * stops it (VM_STOP) when its boot timed out.
 */
ctl_vm_answer_t ctl_vm_lease(ctl_vm_t *self, int64_t batch, const char *parent, int64_t now_ms,
                             bool (*connected)(void *arg, const char *host), void *arg, char *vm,
                             char *addr, char *reason, size_t len);

/* Every HELLO (host name, the body's kind and parent): a starting VM is up. */
void ctl_vm_on_hello(ctl_vm_t *self, const char *host, const char *kind, const char *parent);

/*
 * A VM message from agent `host` (VM_STARTED or VM_STOPPED; others are
 * ignored).  Returns 1 when the message was about a VM this table knows.
 */
int ctl_vm_on_message(ctl_vm_t *self, const char *host, msg_type_t type, const json_t *body);

/* Stops (VM_STOP) every VM started for `batch` and forgets its failures. */
void ctl_vm_batch_end(ctl_vm_t *self, int64_t batch);

/* Stops every VM that is starting or up (controller shutdown). */
void ctl_vm_stop_all(ctl_vm_t *self, const char *reason);

/* The accelerator the parent reported for VM `vm` ("kvm", "tcg"), or NULL. */
const char *ctl_vm_accel(const ctl_vm_t *self, const char *vm);

#endif
