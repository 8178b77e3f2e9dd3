/*
 * proto.h — the control protocol between cntb-controller and cntb-agent, v1.
 *
 * Transport: ZeroMQ, controller ROUTER <-> agent DEALER (identity = host
 * name).  Every message is two frames after the routing identity:
 *     [type]  e.g. "SETUP"            (ASCII, one of the names below)
 *     [body]  a JSON object           (UTF-8, at most PROTO_BODY_MAX bytes)
 * This file and the table in proto.c are the one place that defines each
 * message: its name, who sends it and its fields; the validator and
 * schemas/msg/<NAME>.schema.json follow from them (docs/protocol.md); the
 * list below is checked against the table by tests/unit/test_proto.c.  The
 * parameters inside `params` are proto/param.c's.
 *
 *   message      sender      fields (* = required)
 *   HELLO        agent       *proto *host *kind *capabilities meta parent
 *   WELCOME      controller  *proto *testbed *heartbeat_ms kv
 *   HEARTBEAT    both        (none)
 *   SETUP        controller  *run *network *placement *client *server peer_addr params port
 *                            bgp
 *   SETUP_OK     agent       *run server_addr mtu setup_ms
 *   START        controller  *run *role port server_addr params
 *   START_OK     agent       *run *role
 *   RESULT       agent       *run *seq *role *result
 *   RESULT_ACK   controller  *run *seq
 *   TEARDOWN     controller  *run
 *   TEARDOWN_OK  agent       *run *leaks
 *   VM_START     controller  *vm *address *prefix *vcpus *memory_mb image
 *   VM_STARTED   agent       *vm *accel *vcpus *memory_mb pid
 *   VM_STOP      controller  *vm reason
 *   VM_STOPPED   agent       *vm *console status
 *   ERROR        both        *message run stage
 *
 * The version travels in HELLO and WELCOME; a controller refuses an agent
 * whose `proto` differs from PROTO_VERSION with an ERROR.  A message that
 * fails validation is answered with ERROR and logged, never acted on.
 */
#ifndef CNTB_PROTO_H
#define CNTB_PROTO_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PROTO_VERSION 1
#define PROTO_BODY_MAX (1024 * 1024) /* bytes: a RESULT with a day of samples fits */
#define PROTO_ERR_MAX 256

typedef enum {
    MSG_HELLO,
    MSG_WELCOME,
    MSG_HEARTBEAT,
    MSG_SETUP,
    MSG_SETUP_OK,
    MSG_START,
    MSG_START_OK,
    MSG_RESULT,
    MSG_RESULT_ACK,
    MSG_TEARDOWN,
    MSG_TEARDOWN_OK,
    MSG_VM_START,
    MSG_VM_STARTED,
    MSG_VM_STOP,
    MSG_VM_STOPPED,
    MSG_ERROR,
    MSG_COUNT
} msg_type_t;

/* The wire name of a type ("HELLO"), static; "?" for an invalid value. */
const char *proto_type_name(msg_type_t type);

/* The type of a wire name, or -1 when unknown. */
int proto_type_from_name(const char *name);

/*
 * Checks a body against the definition of its type: required fields present,
 * no unknown field, each of the right JSON type and range.  Returns 0, or -1
 * with "TYPE: $.field: what is wrong" in err (PROTO_ERR_MAX bytes).
 */
int proto_validate(msg_type_t type, const json_t *body, char *err);

/*
 * Encodes a message to frames: type and body text.  Takes ownership of body
 * (decrefs it, even on failure); NULL body = {}.  Returns a fresh zmsg_t
 * (caller sends or destroys) or NULL when the body does not validate (a bug
 * of the sender: logged).  identity, when not NULL, is prepended (ROUTER).
 */
zmsg_t *proto_encode(const char *identity, msg_type_t type, json_t *body);

/* proto_encode + zmsg_send.  0, or -1 (logged; at debug level for EAGAIN, a
 * socket with send timeout 0 and no connection, which the caller expects). */
int proto_send(zsock_t *sock, const char *identity, msg_type_t type, json_t *body);

/*
 * Decodes and validates a received message; takes ownership of *msg_p (set to
 * NULL).  with_identity: the first frame is a routing identity (ROUTER side),
 * returned as a fresh string in *identity (NULL when not wanted).  On success
 * returns 0 with *type and a fresh *body (caller decrefs).  Returns -1 with
 * err (PROTO_ERR_MAX bytes) on a bad frame count, unknown type, body too
 * large, invalid JSON or a failed validation; *identity is still set when it
 * could be read, so the sender can be answered with ERROR.
 */
int proto_decode(zmsg_t **msg_p, bool with_identity, char **identity, msg_type_t *type,
                 json_t **body, char *err);

/*
 * Writes the JSON Schema of a message type (draft 2020-12) as a fresh JSON
 * object, derived from the same table the validator uses.
 */
json_t *proto_schema(msg_type_t type);

#endif
