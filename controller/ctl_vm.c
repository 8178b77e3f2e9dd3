/*
 * ctl_vm.c — nested VMs as the controller sees them (ctl_vm.h).
 *
 * One entry per host of kind vm in the testbed, found by parent.  The table
 * only sends VM_START / VM_STOP through the send function it was given and
 * reads the answers; whether a run may go on is its caller's decision
 * (ctl_vm_lease's answer).  A VM started for a batch belongs to that batch
 * until the batch ends; a failure is remembered until then too, so that the
 * batch's other runs needing that VM fail at once with the same reason
 * instead of waiting for another boot timeout each.
 */
#include "ctl_vm.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { VM_IDLE, VM_STARTING, VM_UP, VM_STOPPING, VM_FAILED } vm_state_t;

typedef struct {
    const testbed_host_t *host; /* borrowed from the testbed */
    vm_state_t state;
    int64_t batch;              /* the batch it was started for */
    int64_t since_ms;           /* when VM_START went out */
    bool timed_out;             /* VM_STOP sent because the boot timed out */
    char accel[8];              /* from VM_STARTED */
    char reason[900];           /* VM_FAILED: why */
} vm_entry_t;

struct ctl_vm {
    const testbed_t *tb;
    ctl_vm_send_fn *send;
    void *send_arg;
    int count;
    vm_entry_t *vms;            /* count entries */
};

ctl_vm_t *
ctl_vm_new(const testbed_t *tb, ctl_vm_send_fn *send, void *send_arg)
{
    ctl_vm_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->tb = tb;
    self->send = send;
    self->send_arg = send_arg;
    self->vms = calloc((size_t) (tb->host_count ? tb->host_count : 1), sizeof *self->vms);
    if (!self->vms) {
        free(self);
        return NULL;
    }
    for (int i = 0; i < tb->host_count; i++)
        if (strcmp(tb->hosts[i].kind, "vm") == 0)
            self->vms[self->count++].host = &tb->hosts[i];
    return self;
}

void
ctl_vm_destroy(ctl_vm_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->vms);
    free(*self_p);
    *self_p = NULL;
}

static vm_entry_t *
entry(const ctl_vm_t *self, const char *name)
{
    for (int i = 0; i < self->count; i++)
        if (strcmp(self->vms[i].host->name, name) == 0)
            return &self->vms[i];
    return NULL;
}

/* The VM's boot timeout: the testbed's boot_timeout_s, else CTL_VM_BOOT_MS. */
static int64_t
boot_ms(const testbed_host_t *h)
{
    return h->boot_timeout_s > 0 ? (int64_t) h->boot_timeout_s * 1000 : CTL_VM_BOOT_MS;
}

static void
send_stop(ctl_vm_t *self, vm_entry_t *v, const char *reason)
{
    self->send(self->send_arg, v->host->parent, MSG_VM_STOP,
               json_pack("{s:s, s:s}", "vm", v->host->name, "reason", reason));
    v->state = VM_STOPPING;
}

ctl_vm_answer_t
ctl_vm_lease(ctl_vm_t *self, int64_t batch, const char *parent, int64_t now_ms,
             bool (*connected)(void *arg, const char *host), void *arg, char *vm, char *addr,
             char *reason, size_t len)
{
    vm_entry_t *v = NULL;
    for (int i = 0; i < self->count && !v; i++)
        if (strcmp(self->vms[i].host->parent, parent) == 0)
            v = &self->vms[i];
    if (!v) {
        snprintf(reason, len, "nesting vm: the testbed has no vm on host %s (add one with "
                 "\"kind\": \"vm\", \"parent\": \"%s\", or cntb testbed emulate --vms-per-host)",
                 parent, parent);
        return CTL_VM_NONE;
    }
    const testbed_host_t *h = v->host;
    if (v->state == VM_IDLE && connected(arg, h->name)) {
        /* Started before a controller restart (or by hand): adopt it for this batch. */
        log_info("vm %s: already up, adopted for batch %" PRId64, h->name, batch);
        v->state = VM_UP;
    }
    switch (v->state) {
    case VM_UP:
        if (connected(arg, h->name)) {
            snprintf(vm, 32, "%s", h->name);
            snprintf(addr, 16, "%s", h->address);
            v->batch = batch; /* a later batch reuses it and stops it at its end */
            return CTL_VM_READY;
        }
        /* Its agent went silent (the VM died or lost its network): start it again. */
        log_warn("vm %s: agent disconnected: starting the VM again", h->name);
        /* fall through */
    case VM_IDLE: {
        json_t *b = json_pack("{s:s, s:s, s:i, s:i, s:i}", "vm", h->name, "address", h->address,
                              "prefix", CTL_VM_PREFIX, "vcpus", h->vcpus ? h->vcpus : 1,
                              "memory_mb", h->memory_mb ? h->memory_mb : 384);
        if (h->image[0])
            json_object_set_new(b, "image", json_string(h->image));
        self->send(self->send_arg, h->parent, MSG_VM_START, b);
        v->state = VM_STARTING;
        v->batch = batch;
        v->since_ms = now_ms;
        v->timed_out = false;
        v->accel[0] = '\0';
        log_info("vm %s: starting on %s for batch %" PRId64, h->name, h->parent, batch);
        return CTL_VM_WAIT;
    }
    case VM_STARTING:
        if (now_ms - v->since_ms > boot_ms(h) && !v->timed_out) {
            v->timed_out = true;
            log_warn("vm %s: no HELLO within %d s: stopping it", h->name, (int) (boot_ms(h) / 1000));
            send_stop(self, v, "boot timeout");
        }
        return CTL_VM_WAIT;
    case VM_STOPPING:
        return CTL_VM_WAIT; /* VM_STOPPED brings the console, or the reason */
    case VM_FAILED:
    default:
        snprintf(reason, len, "%s", v->reason);
        return CTL_VM_FAILED;
    }
}

void
ctl_vm_on_hello(ctl_vm_t *self, const char *host, const char *kind, const char *parent)
{
    vm_entry_t *v = entry(self, host);
    if (!v || strcmp(kind ? kind : "", "vm") != 0)
        return;
    if (parent && strcmp(parent, v->host->parent) != 0)
        log_warn("vm %s says its parent is %s, the testbed says %s", host, parent,
                 v->host->parent);
    if (v->state == VM_STARTING) {
        v->state = VM_UP;
        log_info("vm %s: up (%s)", host, v->accel[0] ? v->accel : "accelerator not reported");
    }
}

int
ctl_vm_on_message(ctl_vm_t *self, const char *host, msg_type_t type, const json_t *body)
{
    const char *name = json_string_value(json_object_get(body, "vm"));
    vm_entry_t *v = name ? entry(self, name) : NULL;
    if (!v || (type != MSG_VM_STARTED && type != MSG_VM_STOPPED))
        return 0;
    if (strcmp(host, v->host->parent) != 0) {
        log_warn("%s about vm %s from %s, which is not its parent: ignored",
                 proto_type_name(type), name, host);
        return 1;
    }
    if (type == MSG_VM_STARTED) {
        snprintf(v->accel, sizeof v->accel, "%s", json_string_value(json_object_get(body, "accel")));
        log_info("vm %s: QEMU started on %s (%s, %d vCPU, %d MiB)", name, host, v->accel,
                 (int) json_integer_value(json_object_get(body, "vcpus")),
                 (int) json_integer_value(json_object_get(body, "memory_mb")));
        return 1;
    }
    const char *console = json_string_value(json_object_get(body, "console"));
    if (v->state == VM_STARTING || (v->state == VM_STOPPING && v->timed_out)) {
        if (v->timed_out)
            snprintf(v->reason, sizeof v->reason,
                     "vm %s did not say HELLO within %d s; console: %.700s", name,
                     (int) (boot_ms(v->host) / 1000), console && console[0] ? console : "(empty)");
        else
            snprintf(v->reason, sizeof v->reason, "vm %s stopped while booting: %.700s", name,
                     console && console[0] ? console : "(no console output)");
        v->state = VM_FAILED;
        log_warn("%s", v->reason);
    } else {
        if (v->state == VM_UP)
            log_warn("vm %s: QEMU exited: %s", name, console ? console : "");
        v->state = VM_IDLE;
    }
    return 1;
}

void
ctl_vm_batch_end(ctl_vm_t *self, int64_t batch)
{
    char reason[64];
    snprintf(reason, sizeof reason, "batch %" PRId64 " done", batch);
    for (int i = 0; i < self->count; i++) {
        vm_entry_t *v = &self->vms[i];
        if (v->batch != batch)
            continue;
        if (v->state == VM_STARTING || v->state == VM_UP)
            send_stop(self, v, reason);
        else if (v->state == VM_FAILED)
            v->state = VM_IDLE;
        v->timed_out = false;
    }
}

void
ctl_vm_stop_all(ctl_vm_t *self, const char *reason)
{
    for (int i = 0; self && i < self->count; i++)
        if (self->vms[i].state == VM_STARTING || self->vms[i].state == VM_UP)
            send_stop(self, &self->vms[i], reason);
}

const char *
ctl_vm_accel(const ctl_vm_t *self, const char *vm)
{
    vm_entry_t *v = self ? entry(self, vm) : NULL;
    return v && v->accel[0] ? v->accel : NULL;
}
