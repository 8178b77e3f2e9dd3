/*
 * proto.c — the protocol table and its codec.
 *
 * msg_defs[] below is the single definition of every message of protocol v1:
 * name, sender, and fields with their JSON types and ranges.  The validator
 * walks it; proto_schema() prints it as JSON Schema (schemas/msg/ is made
 * from it by `cntb-controller --print-schemas`, and a unit test checks that
 * the committed files match).
 */
#include "proto.h"

#include "log.h"
#include "param.h"

#include <errno.h>
#include <string.h>

typedef enum { F_STR, F_INT, F_NUM, F_BOOL, F_OBJ, F_ARR } field_type_t;

typedef struct {
    const char *name;
    field_type_t type;
    bool required;
    double min, max;          /* numbers: inclusive range; strings: length range */
    const char *description;  /* with units */
} field_def_t;

#define FIELDS_MAX 12

typedef struct {
    const char *name;
    const char *sender;       /* "agent", "controller", "both" */
    const char *description;
    field_def_t fields[FIELDS_MAX];
} msg_def_t;

#define RUN_FIELD(req) { "run", F_INT, req, 1, 9007199254740991.0, "run id (database key)" }

static const msg_def_t msg_defs[MSG_COUNT] = {
    [MSG_HELLO] = { "HELLO", "agent", "first message of an agent after (re)connecting",
        { { "proto", F_INT, true, 1, 1000, "protocol version the agent speaks" },
          { "host", F_STR, true, 1, 31, "host name, as in the testbed file" },
          { "kind", F_STR, true, 2, 15, "bare-metal or vm" },
          { "capabilities", F_OBJ, true, 0, 0,
            "networks: {name: [placements]}, unavailable: {name: reason}, traffic: [names]" },
          { "meta", F_OBJ, false, 0, 0, "metadata snapshot: kernel, cpus, versions" },
          { "parent", F_STR, false, 1, 31, "kind vm: the host the VM runs on" } } },
    [MSG_WELCOME] = { "WELCOME", "controller", "answer to HELLO",
        { { "proto", F_INT, true, 1, 1000, "protocol version the controller speaks" },
          { "testbed", F_STR, true, 1, 7, "testbed name (part of namespace names)" },
          { "heartbeat_ms", F_INT, true, 100, 600000, "heartbeat interval, milliseconds" },
          { "kv", F_OBJ, false, 0, 0,
            "the testbed's KV store: kind (\"etcd\"), endpoints [client URLs]" } } },
    [MSG_HEARTBEAT] = { "HEARTBEAT", "both", "liveness, every heartbeat_ms", { { 0 } } },
    [MSG_SETUP] = { "SETUP", "controller", "build this host's part of a run's network",
        { RUN_FIELD(true),
          { "network", F_STR, true, 1, 32, "network kind" },
          { "placement", F_STR, true, 1, 32, "same-host or cross-host" },
          { "client", F_BOOL, true, 0, 0, "this host holds the client container" },
          { "server", F_BOOL, true, 0, 0, "this host holds the server container" },
          { "peer_addr", F_STR, false, 7, 15, "the other host's underlay IPv4 address" },
          { "params", F_OBJ, false, 0, 0, "the run's parameters" },
          { "port", F_INT, false, 1, 65535, "TCP/UDP port of the server (nat publishes it)" },
          { "bgp", F_OBJ, false, 0, 0,
            "routing: asn, router_id of this host; peers [{addr, asn}] (private ASNs, RFC 6996)" } } },
    [MSG_SETUP_OK] = { "SETUP_OK", "agent", "this host's part is built",
        { RUN_FIELD(true),
          { "server_addr", F_STR, false, 7, 15, "IPv4 address the server will listen on" },
          { "mtu", F_INT, false, 0, PARAM_PATH_MTU_MAX, "MTU of the path, bytes (loopback: 65536)" },
          { "setup_ms", F_NUM, false, 0, 1e9, "time the setup took, milliseconds" } } },
    [MSG_START] = { "START", "controller", "start the server or the client of a run",
        { RUN_FIELD(true),
          { "role", F_STR, true, 6, 6, "server or client" },
          { "port", F_INT, false, 1, 65535, "TCP/UDP port of the server" },
          { "server_addr", F_STR, false, 7, 15, "client: where to connect" },
          { "params", F_OBJ, false, 0, 0, "traffic parameters" } } },
    [MSG_START_OK] = { "START_OK", "agent", "the server listens (or the client started)",
        { RUN_FIELD(true), { "role", F_STR, true, 6, 6, "server or client" } } },
    [MSG_RESULT] = { "RESULT", "agent", "a measurement; re-sent until acknowledged",
        { RUN_FIELD(true),
          { "seq", F_INT, true, 0, 1000000, "sequence number within the run" },
          { "role", F_STR, true, 6, 6, "server or client" },
          { "result", F_OBJ, true, 0, 0, "metrics {name: number}, samples [{t_s, name: number}], applied {}" } } },
    [MSG_RESULT_ACK] = { "RESULT_ACK", "controller", "the result is stored",
        { RUN_FIELD(true), { "seq", F_INT, true, 0, 1000000, "sequence number acknowledged" } } },
    [MSG_TEARDOWN] = { "TEARDOWN", "controller", "remove everything of the run", { RUN_FIELD(true) } },
    [MSG_TEARDOWN_OK] = { "TEARDOWN_OK", "agent", "teardown done; what the leak check found",
        { RUN_FIELD(true), { "leaks", F_STR, true, 0, 4096, "comma-separated leftovers, empty when none" } } },
    [MSG_VM_START] = { "VM_START", "controller", "start a nested VM on this host (docs/vm.md)",
        { { "vm", F_STR, true, 1, 8, "the VM's host name, as in the testbed file" },
          { "address", F_STR, true, 7, 15, "the VM's underlay IPv4 address" },
          { "prefix", F_INT, true, 8, 30, "underlay prefix length, bits" },
          { "vcpus", F_INT, true, 1, 64, "virtual CPUs" },
          { "memory_mb", F_INT, true, 128, 65536, "guest memory, MiB" },
          { "image", F_STR, false, 1, 255, "directory with vmlinuz and initrd.img on this host" } } },
    [MSG_VM_STARTED] = { "VM_STARTED", "agent", "QEMU runs; the VM's agent will say HELLO",
        { { "vm", F_STR, true, 1, 8, "the VM's host name" },
          { "accel", F_STR, true, 3, 3, "accelerator: kvm or tcg" },
          { "vcpus", F_INT, true, 1, 64, "virtual CPUs" },
          { "memory_mb", F_INT, true, 128, 65536, "guest memory, MiB" },
          { "pid", F_INT, false, 1, 4194304, "QEMU's process id on the host" } } },
    [MSG_VM_STOP] = { "VM_STOP", "controller", "stop a nested VM (batch end, boot timeout)",
        { { "vm", F_STR, true, 1, 8, "the VM's host name" },
          { "reason", F_STR, false, 0, 256, "why, for the host's log" } } },
    [MSG_VM_STOPPED] = { "VM_STOPPED", "agent", "a VM stopped (asked to, or QEMU exited by itself)",
        { { "vm", F_STR, true, 1, 8, "the VM's host name" },
          { "console", F_STR, true, 0, 4096, "last lines of its serial console and QEMU's messages" },
          { "status", F_INT, false, -1, 65535, "QEMU's wait status, -1 when unknown" } } },
    [MSG_ERROR] = { "ERROR", "both", "a refused message or a failed step",
        { { "message", F_STR, true, 0, 4096, "what went wrong" },
          { "run", F_INT, false, 0, 9007199254740991.0, "run concerned, if any" },
          { "stage", F_STR, false, 0, 32, "setup, skip (SETUP refused: the run is skipped), start, client, teardown, protocol" } } },
};

const char *
proto_type_name(msg_type_t type)
{
    if ((int) type < 0 || type >= MSG_COUNT)
        return "?";
    return msg_defs[type].name;
}

int
proto_type_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < MSG_COUNT; i++)
        if (strcmp(msg_defs[i].name, name) == 0)
            return i;
    return -1;
}

static const char *
json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

static const field_def_t *
field_find(const msg_def_t *def, const char *key)
{
    for (int i = 0; i < FIELDS_MAX && def->fields[i].name; i++)
        if (strcmp(def->fields[i].name, key) == 0)
            return &def->fields[i];
    return NULL;
}

int
proto_validate(msg_type_t type, const json_t *body, char *err)
{
    if ((int) type < 0 || type >= MSG_COUNT) {
        snprintf(err, PROTO_ERR_MAX, "?: unknown message type");
        return -1;
    }
    const msg_def_t *def = &msg_defs[type];
    if (!json_is_object(body)) {
        snprintf(err, PROTO_ERR_MAX, "%s: $: must be an object", def->name);
        return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) body, key, value) {
        const field_def_t *f = field_find(def, key);
        if (!f) {
            snprintf(err, PROTO_ERR_MAX, "%s: $.%.64s: unknown field", def->name, key);
            for (char *c = err; *c; c++) /* never echo control bytes into a log */
                if ((unsigned char) *c < 0x20 || (unsigned char) *c == 0x7f)
                    *c = '?';
            return -1;
        }
        bool ok;
        switch (f->type) {
        case F_STR: ok = json_is_string(value); break;
        case F_INT: ok = json_is_integer(value); break;
        case F_NUM: ok = json_is_number(value); break;
        case F_BOOL: ok = json_is_boolean(value); break;
        case F_OBJ: ok = json_is_object(value); break;
        default: ok = json_is_array(value); break;
        }
        if (!ok) {
            static const char *const want[] = { "a string", "an integer", "a number",
                                                "a boolean", "an object", "an array" };
            snprintf(err, PROTO_ERR_MAX, "%s: $.%s: must be %s (got %s)", def->name, f->name,
                     want[f->type], json_kind(value));
            return -1;
        }
        if (f->type == F_INT || f->type == F_NUM) {
            double v = json_number_value(value);
            if (!(v >= f->min && v <= f->max)) {
                snprintf(err, PROTO_ERR_MAX, "%s: $.%s: must be between %g and %g (got %g)",
                         def->name, f->name, f->min, f->max, v);
                return -1;
            }
        } else if (f->type == F_STR) {
            size_t n = json_string_length(value);
            if (n < (size_t) f->min || n > (size_t) f->max) {
                snprintf(err, PROTO_ERR_MAX, "%s: $.%s: length must be %g..%g bytes (got %zu)",
                         def->name, f->name, f->min, f->max, n);
                return -1;
            }
        }
    }
    for (int i = 0; i < FIELDS_MAX && def->fields[i].name; i++)
        if (def->fields[i].required && !json_object_get(body, def->fields[i].name)) {
            snprintf(err, PROTO_ERR_MAX, "%s: $.%s: required field missing", def->name,
                     def->fields[i].name);
            return -1;
        }
    return 0;
}

zmsg_t *
proto_encode(const char *identity, msg_type_t type, json_t *body)
{
    zmsg_t *msg = NULL;
    char *text = NULL;
    char err[PROTO_ERR_MAX];
    if (!body)
        body = json_object();
    if (proto_validate(type, body, err) != 0) {
        log_error("refusing to send an invalid message: %s", err);
        goto out;
    }
    text = json_dumps(body, JSON_COMPACT);
    if (!text)
        goto out;
    msg = zmsg_new();
    if (identity)
        zmsg_addstr(msg, identity);
    zmsg_addstr(msg, proto_type_name(type));
    zmsg_addstr(msg, text);
out:
    free(text);
    json_decref(body);
    return msg;
}

int
proto_send(zsock_t *sock, const char *identity, msg_type_t type, json_t *body)
{
    zmsg_t *msg = proto_encode(identity, type, body);
    if (!msg)
        return -1;
    if (zmsg_send(&msg, sock) != 0) {
        /* EAGAIN: a socket with a send timeout of 0 and no connection (the agent's
         * before its handshake completes) — expected, and said elsewhere. */
        int e = zmq_errno();
        log_msg(e == EAGAIN ? LOGL_DEBUG : LOGL_WARN, "send %s to %s failed: %s",
                proto_type_name(type), identity ? identity : "peer", zmq_strerror(e));
        zmsg_destroy(&msg);
        return -1;
    }
    return 0;
}

int
proto_decode(zmsg_t **msg_p, bool with_identity, char **identity, msg_type_t *type, json_t **body,
             char *err)
{
    int rc = -1;
    zmsg_t *msg = *msg_p;
    *msg_p = NULL;
    *body = NULL;
    if (identity)
        *identity = NULL;
    size_t want = with_identity ? 3 : 2;
    if (!msg) {
        snprintf(err, PROTO_ERR_MAX, "empty message");
        goto out;
    }
    if (with_identity) {
        zframe_t *id = zmsg_first(msg);
        if (id && identity)
            *identity = zframe_strdup(id);
    }
    if (zmsg_size(msg) != want) {
        snprintf(err, PROTO_ERR_MAX, "expected %zu frames, got %zu", want, zmsg_size(msg));
        goto out;
    }
    zframe_t *tf = with_identity ? zmsg_next(msg) : zmsg_first(msg);
    zframe_t *bf = zmsg_next(msg);
    char name[16];
    size_t tn = zframe_size(tf);
    if (tn == 0 || tn >= sizeof name || memchr(zframe_data(tf), '\0', tn)) {
        snprintf(err, PROTO_ERR_MAX, "bad type frame (%zu bytes)", tn);
        goto out;
    }
    memcpy(name, zframe_data(tf), tn);
    name[tn] = '\0';
    int t = proto_type_from_name(name);
    if (t < 0) {
        snprintf(err, PROTO_ERR_MAX, "unknown message type \"%.15s\"", name);
        for (char *c = err; *c; c++) /* never echo control bytes into a log */
            if ((unsigned char) *c < 0x20 || (unsigned char) *c > 0x7e)
                *c = '?';
        goto out;
    }
    if (zframe_size(bf) > PROTO_BODY_MAX) {
        snprintf(err, PROTO_ERR_MAX, "%s: body of %zu bytes exceeds %d", name, zframe_size(bf),
                 PROTO_BODY_MAX);
        goto out;
    }
    json_error_t jerr;
    json_t *b = json_loadb((const char *) zframe_data(bf), zframe_size(bf),
                           JSON_REJECT_DUPLICATES, &jerr);
    if (!b) {
        snprintf(err, PROTO_ERR_MAX, "%s: $: invalid JSON at %d:%d: %s", name, jerr.line,
                 jerr.column, jerr.text);
        goto out;
    }
    if (proto_validate((msg_type_t) t, b, err) != 0) {
        json_decref(b);
        goto out;
    }
    *type = (msg_type_t) t;
    *body = b;
    rc = 0;
out:
    zmsg_destroy(&msg);
    return rc;
}

json_t *
proto_schema(msg_type_t type)
{
    if ((int) type < 0 || type >= MSG_COUNT)
        return NULL;
    const msg_def_t *def = &msg_defs[type];
    static const char *const jtype[] = { "string", "integer", "number", "boolean", "object",
                                         "array" };
    json_t *props = json_object();
    json_t *required = json_array();
    for (int i = 0; i < FIELDS_MAX && def->fields[i].name; i++) {
        const field_def_t *f = &def->fields[i];
        json_t *p = json_pack("{s:s, s:s}", "type", jtype[f->type], "description", f->description);
        if (f->type == F_INT || f->type == F_NUM) {
            json_object_set_new(p, "minimum", json_integer((json_int_t) f->min));
            json_object_set_new(p, "maximum", json_real(f->max));
            if (f->max == (double) (json_int_t) f->max)
                json_object_set_new(p, "maximum", json_integer((json_int_t) f->max));
        } else if (f->type == F_STR) {
            json_object_set_new(p, "minLength", json_integer((json_int_t) f->min));
            json_object_set_new(p, "maxLength", json_integer((json_int_t) f->max));
        }
        json_object_set_new(props, f->name, p);
        if (f->required)
            json_array_append_new(required, json_string(f->name));
    }
    char id[96];
    snprintf(id, sizeof id, "https://cntb.invalid/schemas/msg/%s.schema.json", def->name);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:b}", "$schema",
                     "https://json-schema.org/draft/2020-12/schema", "$id", id, "title", def->name,
                     "description", def->description, "x-sender", def->sender, "properties", props,
                     "required", required, "additionalProperties", 0);
}
