/*
 * fuzz_proto.c — libFuzzer target of proto_decode(), the decoder of every
 * message an agent or the controller receives from the network.
 *
 * The input is split on the byte 0xff (never part of valid UTF-8, so JSON
 * bodies in the corpus stay readable) into at most 4 frames; 3 or more frames
 * are decoded as the ROUTER side (identity first), fewer as the DEALER side,
 * so that wrong frame counts are exercised too.  A message that decodes must
 * re-encode and decode to the same type and an equal body.
 */
#include "proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SEP 0xff
#define FRAMES_MAX 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new();
    size_t start = 0;
    int n = 0;
    for (size_t i = 0; i <= size; i++)
        if (i == size || (data[i] == SEP && n < FRAMES_MAX - 1)) {
            zmsg_addmem(msg, data + start, i - start);
            n++;
            start = i + 1;
        }
    bool with_identity = n >= 3;
    char *identity = NULL;
    msg_type_t type;
    json_t *body = NULL;
    char err[PROTO_ERR_MAX];
    if (proto_decode(&msg, with_identity, with_identity ? &identity : NULL, &type, &body, err) ==
        0) {
        /* A decoded message is valid: it must encode and decode back unchanged. */
        zmsg_t *again = proto_encode(identity, type, json_incref(body));
        if (!again)
            abort();
        char *id2 = NULL;
        msg_type_t type2;
        json_t *body2 = NULL;
        if (proto_decode(&again, with_identity, with_identity ? &id2 : NULL, &type2, &body2,
                         err) != 0 ||
            type2 != type || !json_equal(body, body2))
            abort();
        free(id2);
        json_decref(body2);
    } else if (memchr(err, '\0', PROTO_ERR_MAX) == NULL) {
        abort(); /* err must be a terminated string */
    }
    json_decref(body);
    free(identity);
    return 0;
}
