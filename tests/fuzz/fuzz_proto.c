/*
 * fuzz_proto.c — libFuzzer target for the control-protocol decoder.
 *
 * The input is split into frames at the byte 0x00 0x00 (a separator unlikely
 * to matter to the decoder): the frames become a zmsg exactly as a ROUTER
 * socket would hand them to the controller, with or without the routing
 * identity (the first input byte's low bit chooses), and go through
 * proto_decode, which must refuse anything invalid without crashing, leaking
 * or reading out of bounds.
 */
#include "proto.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool with_identity = data[0] & 1;
    data++;
    size--;
    zmsg_t *msg = zmsg_new();
    size_t start = 0;
    for (size_t i = 0; i + 1 < size; i++) {
        if (data[i] == 0 && data[i + 1] == 0) {
            zmsg_addmem(msg, data + start, i - start);
            start = i + 2;
            i++;
        }
    }
    zmsg_addmem(msg, data + start, size - start);
    char *identity = NULL;
    msg_type_t type;
    json_t *body = NULL;
    char err[PROTO_ERR_MAX];
    if (proto_decode(&msg, with_identity, &identity, &type, &body, err) == 0) {
        /* A decoded message must encode again. */
        zmsg_t *again = proto_encode(identity, type, json_incref(body));
        zmsg_destroy(&again);
        json_decref(body);
    }
    zstr_free(&identity);
    return 0;
}
