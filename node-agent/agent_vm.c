/*
 * agent_vm.c — nested VMs on a host agent (vm.h): VM_START starts QEMU in
 * a free slot (repeated starts answer again, a QEMU that exited is collected
 * first), VM_STOP stops it, and the 1 s tick notices a QEMU that exited by
 * itself; each end is reported with VM_STOPPED and the console's tail.  A
 * guest's own agent (kind vm) reports what it knows of itself
 * (agent_vm_self_info) in HELLO and in each RESULT.
 */
#include "agent_int.h"

#include "log.h"
#include "proto.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Kind vm: {accel, vcpus, memory_mb, parent} as the guest knows them (fresh), else NULL. */
json_t *
agent_vm_self_info(agent_t *self)
{
    const agent_config_t *c = self->cfg;
    if (strcmp(c->kind, "vm") != 0)
        return NULL;
    json_t *o = json_object();
    if (c->vm_accel && c->vm_accel[0])
        json_object_set_new(o, "accel", json_string(c->vm_accel));
    if (c->vm_vcpus > 0)
        json_object_set_new(o, "vcpus", json_integer(c->vm_vcpus));
    if (c->vm_memory_mb > 0)
        json_object_set_new(o, "memory_mb", json_integer(c->vm_memory_mb));
    if (c->parent && c->parent[0])
        json_object_set_new(o, "parent", json_string(c->parent));
    return o;
}

static agent_vm_t *
vm_slot(agent_t *self, const char *name, bool create)
{
    for (int i = 0; i < AGENT_VMS_MAX; i++)
        if (self->vms[i].name[0] && strcmp(self->vms[i].name, name) == 0)
            return &self->vms[i];
    if (!create)
        return NULL;
    for (int i = 0; i < AGENT_VMS_MAX; i++)
        if (!self->vms[i].name[0]) {
            memset(&self->vms[i], 0, sizeof self->vms[i]);
            snprintf(self->vms[i].name, sizeof self->vms[i].name, "%s", name);
            return &self->vms[i];
        }
    return NULL;
}

static void
send_vm_stopped(agent_t *self, const char *name, const char *console, int status)
{
    proto_send(self->sock, NULL, MSG_VM_STOPPED,
               json_pack("{s:s, s:s%, s:i}", "vm", name, "console", console,
                         strlen(console) > 4096 ? (size_t) 4096 : strlen(console), "status",
                         status < -1 ? -1 : status > 65535 ? 65535 : status));
}

/* Stops a VM slot and frees it; console tail into console (len bytes). */
int
agent_vm_slot_stop(agent_vm_t *v, char *console, size_t len)
{
    int status = vm_stop(&v->vm, console, len);
    v->name[0] = '\0';
    return status;
}

void
agent_vm_handle_start(agent_t *self, json_t *b)
{
    const char *name = json_string_value(json_object_get(b, "vm"));
    if (!vm_name_valid(name)) {
        agent_send_error(self, 0, "vm", "VM_START: $.vm: invalid VM name");
        return;
    }
    agent_vm_t *v = vm_slot(self, name, false);
    if (v && vm_running(v->vm, NULL)) { /* repeated: answer again */
        proto_send(self->sock, NULL, MSG_VM_STARTED,
                   json_pack("{s:s, s:s, s:i, s:i, s:i}", "vm", name, "accel", vm_accel(v->vm),
                             "vcpus", v->vcpus, "memory_mb", v->memory_mb, "pid",
                             (int) vm_pid(v->vm)));
        return;
    }
    if (v) { /* it exited: collect it first */
        char console[VM_CONSOLE_MAX];
        int st = agent_vm_slot_stop(v, console, sizeof console);
        send_vm_stopped(self, name, console, st);
    }
    v = vm_slot(self, name, true);
    if (!v) {
        send_vm_stopped(self, name, "QEMU not started: too many VMs on this host", -1);
        return;
    }
    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "/run/cntb/%s", self->testbed[0] ? self->testbed : "agent");
    const char *image = json_string_value(json_object_get(b, "image"));
    /* Under CURVE the guest's certificate lies beside ours: DIR/vm-NAME.cert (cntb deploy). */
    char vcert[PATH_MAX] = "";
    if (self->cfg->cert_path) {
        const char *slash = strrchr(self->cfg->cert_path, '/');
        int dl = slash ? (int) (slash - self->cfg->cert_path) : 1;
        snprintf(vcert, sizeof vcert, "%.*s/vm-%s.cert", dl, slash ? self->cfg->cert_path : ".",
                 name);
    }
    vm_config_t c = {
        .name = name,
        .parent = self->cfg->host,
        .address = json_string_value(json_object_get(b, "address")),
        .prefix = (int) json_integer_value(json_object_get(b, "prefix")),
        .controller = self->cfg->endpoint,
        .vcpus = (int) json_integer_value(json_object_get(b, "vcpus")),
        .memory_mb = (int) json_integer_value(json_object_get(b, "memory_mb")),
        .image_dir = image ? image : self->cfg->vm_image,
        .underlay_if = self->cfg->underlay_if,
        .rundir = rundir,
        .accel = self->cfg->accel,
        .cert = vcert[0] ? vcert : NULL,
        .controller_cert = self->cfg->controller_cert_path,
    };
    char err[VM_ERR_MAX], msg[VM_ERR_MAX + 32];
    v->vm = vm_start(&c, err);
    if (!v->vm) {
        v->name[0] = '\0';
        snprintf(msg, sizeof msg, "QEMU not started: %s", err);
        log_warn("vm %s: %s", name, msg);
        send_vm_stopped(self, name, msg, -1);
        return;
    }
    v->vcpus = c.vcpus;
    v->memory_mb = c.memory_mb;
    proto_send(self->sock, NULL, MSG_VM_STARTED,
               json_pack("{s:s, s:s, s:i, s:i, s:i}", "vm", name, "accel", vm_accel(v->vm),
                         "vcpus", v->vcpus, "memory_mb", v->memory_mb, "pid",
                         (int) vm_pid(v->vm)));
}

void
agent_vm_handle_stop(agent_t *self, json_t *b)
{
    const char *name = json_string_value(json_object_get(b, "vm"));
    const char *reason = json_string_value(json_object_get(b, "reason"));
    agent_vm_t *v = vm_slot(self, name, false);
    char console[VM_CONSOLE_MAX] = "";
    int status = -1;
    if (v) {
        log_info("vm %s: stopping%s%s", name, reason ? ": " : "", reason ? reason : "");
        status = agent_vm_slot_stop(v, console, sizeof console);
    }
    send_vm_stopped(self, name, console, status);
}

/* Every tick: a QEMU that exited by itself is collected and reported. */
void
agent_vm_check(agent_t *self)
{
    for (int i = 0; i < AGENT_VMS_MAX; i++) {
        agent_vm_t *v = &self->vms[i];
        int status;
        if (!v->name[0] || vm_running(v->vm, &status))
            continue;
        char name[16], console[VM_CONSOLE_MAX];
        snprintf(name, sizeof name, "%s", v->name);
        agent_vm_slot_stop(v, console, sizeof console);
        log_warn("vm %s: QEMU exited (status %d): %s", name, status, console);
        send_vm_stopped(self, name, console, status);
    }
}
