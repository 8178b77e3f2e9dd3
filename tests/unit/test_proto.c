/*
 * test_proto.c — unit tests of proto/proto.c, the control protocol v1 codec.
 *
 * Type names, encode/decode round trips of every message (frames built as
 * zmsg_t, no sockets), the validator's exact error texts, the decoder's
 * refusals of malformed frames, one exchange over a real inproc ROUTER/DEALER
 * pair, and the check that schemas/msg/<TYPE>.schema.json still matches the
 * table in proto.c (regenerate with `cntb-controller --print-schemas`).
 */
#include "proto.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* One valid body per type, in msg_type_t order. */
static const char *const valid_bodies[MSG_COUNT] = {
    [MSG_HELLO] = "{\"proto\": 1, \"host\": \"h1\", \"kind\": \"bare-metal\","
                  " \"capabilities\": {\"networks\": {\"host\": [\"same-host\"]},"
                  " \"unavailable\": {\"ipvlan\": \"no module\"}, \"traffic\": [\"tcp_stream\"]},"
                  " \"meta\": {\"kernel\": \"6.1.0\", \"cpus\": 2}}",
    [MSG_WELCOME] = "{\"proto\": 1, \"testbed\": \"lab\", \"heartbeat_ms\": 1000}",
    [MSG_HEARTBEAT] = "{}",
    [MSG_SETUP] = "{\"run\": 7, \"network\": \"bridge\", \"placement\": \"cross-host\","
                  " \"client\": true, \"server\": false, \"peer_addr\": \"198.18.7.2\","
                  " \"params\": {\"size\": 1448, \"duration_s\": 2.5}}",
    [MSG_SETUP_OK] = "{\"run\": 7, \"server_addr\": \"10.77.0.2\", \"mtu\": 1450,"
                     " \"setup_ms\": 12.25}",
    [MSG_START] = "{\"run\": 7, \"role\": \"client\", \"port\": 5307,"
                  " \"server_addr\": \"10.77.0.2\", \"params\": {\"traffic\": \"tcp_stream\"}}",
    [MSG_START_OK] = "{\"run\": 7, \"role\": \"server\"}",
    [MSG_RESULT] = "{\"run\": 7, \"seq\": 1, \"role\": \"client\", \"result\":"
                   " {\"metrics\": {\"throughput_bps\": 9412345678.5, \"retransmits\": 3},"
                   " \"samples\": [{\"t_s\": 0.5, \"throughput_bps\": 9.1e9}]}}",
    [MSG_RESULT_ACK] = "{\"run\": 7, \"seq\": 1}",
    [MSG_TEARDOWN] = "{\"run\": 9007199254740991}",
    [MSG_TEARDOWN_OK] = "{\"run\": 7, \"leaks\": \"\"}",
    [MSG_VM_START] = "{\"vm\": \"h1v1\", \"address\": \"198.18.7.3\", \"prefix\": 24,"
                     " \"vcpus\": 1, \"memory_mb\": 384, \"image\": \"/srv/cntb/vm\"}",
    [MSG_VM_STARTED] = "{\"vm\": \"h1v1\", \"accel\": \"tcg\", \"vcpus\": 1,"
                       " \"memory_mb\": 384, \"pid\": 4242}",
    [MSG_VM_STOP] = "{\"vm\": \"h1v1\", \"reason\": \"batch 3 done\"}",
    [MSG_VM_STOPPED] = "{\"vm\": \"h1v1\", \"console\": \"Kernel panic\", \"status\": 9}",
    [MSG_ERROR] = "{\"message\": \"setup failed: no bridge\", \"run\": 7, \"stage\": \"setup\"}",
};

static const char *const type_names[MSG_COUNT] = {
    "HELLO", "WELCOME", "HEARTBEAT", "SETUP", "SETUP_OK", "START",
    "START_OK", "RESULT", "RESULT_ACK", "TEARDOWN", "TEARDOWN_OK",
    "VM_START", "VM_STARTED", "VM_STOP", "VM_STOPPED", "ERROR",
};

static json_t *
parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    ck_assert_msg(j != NULL, "test JSON does not parse: %s: %s", e.text, text);
    return j;
}

/* Validates text as a body of type; expects failure with exactly `want`. */
static void
expect_invalid(msg_type_t type, const char *text, const char *want)
{
    char err[PROTO_ERR_MAX] = "";
    json_t *b = parse(text);
    ck_assert_int_eq(proto_validate(type, b, err), -1);
    ck_assert_str_eq(err, want);
    json_decref(b);
}

/* A message of raw frames (lengths given, so frames may hold any byte). */
static zmsg_t *
frames(int n, const char **data, const size_t *len)
{
    zmsg_t *m = zmsg_new();
    for (int i = 0; i < n; i++)
        zmsg_addmem(m, data[i], len[i]);
    return m;
}

/* Decodes [type][body] (no identity); expects failure with exactly `want`. */
static void
expect_refused(const char *type, size_t tlen, const char *body, size_t blen, const char *want)
{
    const char *d[] = { type, body };
    size_t l[] = { tlen, blen };
    zmsg_t *m = frames(2, d, l);
    char err[PROTO_ERR_MAX] = "";
    msg_type_t t = MSG_COUNT;
    json_t *b = (json_t *) 1;
    ck_assert_int_eq(proto_decode(&m, false, NULL, &t, &b, err), -1);
    ck_assert_ptr_null(m);
    ck_assert_ptr_null(b);
    ck_assert_str_eq(err, want);
}

/* ---- type names ---------------------------------------------------------- */

START_TEST(test_type_names)
{
    for (int i = 0; i < MSG_COUNT; i++) {
        ck_assert_str_eq(proto_type_name((msg_type_t) i), type_names[i]);
        ck_assert_int_eq(proto_type_from_name(type_names[i]), i);
        ck_assert_int_eq(proto_type_from_name(proto_type_name((msg_type_t) i)), i);
    }
    ck_assert_int_eq(proto_type_from_name("BOGUS"), -1);
    ck_assert_int_eq(proto_type_from_name("hello"), -1);
    ck_assert_int_eq(proto_type_from_name(""), -1);
    ck_assert_int_eq(proto_type_from_name(NULL), -1);
    ck_assert_str_eq(proto_type_name(MSG_COUNT), "?");
    ck_assert_str_eq(proto_type_name((msg_type_t) -1), "?");
    ck_assert_str_eq(proto_type_name((msg_type_t) 1000), "?");
}
END_TEST

/* ---- encode / decode round trips ------------------------------------------ */

START_TEST(test_round_trip_every_type)
{
    for (int i = 0; i < MSG_COUNT; i++) {
        json_t *want = parse(valid_bodies[i]);
        char err[PROTO_ERR_MAX] = "";
        ck_assert_msg(proto_validate((msg_type_t) i, want, err) == 0, "%s: %s", type_names[i],
                      err);

        /* DEALER side: [type][body]. */
        zmsg_t *m = proto_encode(NULL, (msg_type_t) i, json_incref(want));
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(zmsg_size(m), 2);
        char *tf = zframe_strdup(zmsg_first(m));
        ck_assert_str_eq(tf, type_names[i]);
        free(tf);
        msg_type_t t = MSG_COUNT;
        json_t *got = NULL;
        ck_assert_msg(proto_decode(&m, false, NULL, &t, &got, err) == 0, "%s: %s",
                      type_names[i], err);
        ck_assert_ptr_null(m);
        ck_assert_int_eq(t, i);
        ck_assert_msg(json_equal(want, got), "%s: body changed in the round trip",
                      type_names[i]);
        json_decref(got);

        /* ROUTER side: [identity][type][body], identity returned fresh. */
        m = proto_encode("host-1.a", (msg_type_t) i, json_incref(want));
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(zmsg_size(m), 3);
        char *id = NULL;
        t = MSG_COUNT;
        ck_assert_msg(proto_decode(&m, true, &id, &t, &got, err) == 0, "%s: %s", type_names[i],
                      err);
        ck_assert_str_eq(id, "host-1.a");
        ck_assert_int_eq(t, i);
        ck_assert(json_equal(want, got));
        free(id);
        json_decref(got);

        /* identity not wanted: NULL pointer accepted. */
        m = proto_encode("h2", (msg_type_t) i, json_incref(want));
        ck_assert_int_eq(proto_decode(&m, true, NULL, &t, &got, err), 0);
        ck_assert(json_equal(want, got));
        json_decref(got);
        json_decref(want);
    }
}
END_TEST

START_TEST(test_encode_null_body_is_empty_object)
{
    zmsg_t *m = proto_encode(NULL, MSG_HEARTBEAT, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(zmsg_size(m), 2);
    char *t = zframe_strdup(zmsg_first(m));
    char *b = zframe_strdup(zmsg_next(m));
    ck_assert_str_eq(t, "HEARTBEAT");
    ck_assert_str_eq(b, "{}");
    free(t);
    free(b);
    zmsg_destroy(&m);
}
END_TEST

START_TEST(test_encode_refuses_invalid_body)
{
    /* Ownership is taken even on failure: valgrind (CK_FORK=no) shows no leak. */
    ck_assert_ptr_null(proto_encode(NULL, MSG_SETUP, json_pack("{s:i}", "run", 0)));
    ck_assert_ptr_null(proto_encode("h1", MSG_TEARDOWN, json_pack("{s:s}", "run", "7")));
    ck_assert_ptr_null(proto_encode(NULL, MSG_HELLO, NULL)); /* required fields missing */
    ck_assert_ptr_null(proto_encode(NULL, MSG_HEARTBEAT, json_pack("[i]", 1)));
    ck_assert_ptr_null(proto_encode(NULL, MSG_COUNT, json_object()));
    ck_assert_ptr_null(proto_encode(NULL, (msg_type_t) -1, NULL));
}
END_TEST

/* ---- validation errors ------------------------------------------------------ */

START_TEST(test_validate_unknown_field)
{
    expect_invalid(MSG_SETUP,
                   "{\"run\": 7, \"network\": \"host\", \"placement\": \"same-host\","
                   " \"client\": true, \"server\": true, \"colour\": \"red\"}",
                   "SETUP: $.colour: unknown field");
    expect_invalid(MSG_HEARTBEAT, "{\"run\": 1}", "HEARTBEAT: $.run: unknown field");
    /* Long keys are cut at 64 bytes. */
    expect_invalid(MSG_TEARDOWN,
                   "{\"run\": 1, \"k123456789012345678901234567890123456789012345678901234567890"
                   "1234567890\": 0}",
                   "TEARDOWN: $.k12345678901234567890123456789012345678901234567890123456789"
                   "0123: unknown field");
}
END_TEST

START_TEST(test_validate_wrong_type)
{
    expect_invalid(MSG_SETUP,
                   "{\"run\": \"7\", \"network\": \"host\", \"placement\": \"same-host\","
                   " \"client\": true, \"server\": true}",
                   "SETUP: $.run: must be an integer (got string)");
    expect_invalid(MSG_TEARDOWN, "{\"run\": 7.0}", "TEARDOWN: $.run: must be an integer (got number)");
    expect_invalid(MSG_SETUP,
                   "{\"run\": 7, \"network\": \"host\", \"placement\": \"same-host\","
                   " \"client\": 1, \"server\": true}",
                   "SETUP: $.client: must be a boolean (got number)");
    expect_invalid(MSG_SETUP_OK, "{\"run\": 7, \"setup_ms\": \"12\"}",
                   "SETUP_OK: $.setup_ms: must be a number (got string)");
    expect_invalid(MSG_RESULT, "{\"run\": 7, \"seq\": 1, \"role\": \"client\", \"result\": []}",
                   "RESULT: $.result: must be an object (got array)");
    expect_invalid(MSG_ERROR, "{\"message\": null}", "ERROR: $.message: must be a string (got null)");
    expect_invalid(MSG_START_OK, "{\"run\": 7, \"role\": false}",
                   "START_OK: $.role: must be a string (got boolean)");
    expect_invalid(MSG_HELLO,
                   "{\"proto\": 1, \"host\": \"h1\", \"kind\": \"vm\", \"capabilities\": {},"
                   " \"meta\": \"x\"}",
                   "HELLO: $.meta: must be an object (got string)");
    expect_invalid(MSG_TEARDOWN, "[]", "TEARDOWN: $: must be an object");
    expect_invalid(MSG_TEARDOWN, "{\"run\": {}}", "TEARDOWN: $.run: must be an integer (got object)");
}
END_TEST

START_TEST(test_validate_out_of_range)
{
    /* %g of 9007199254740991 (2^53 - 1) prints 9.0072e+15. */
    expect_invalid(MSG_SETUP,
                   "{\"run\": 0, \"network\": \"host\", \"placement\": \"same-host\","
                   " \"client\": true, \"server\": true}",
                   "SETUP: $.run: must be between 1 and 9.0072e+15 (got 0)");
    expect_invalid(MSG_TEARDOWN, "{\"run\": 9007199254740992}",
                   "TEARDOWN: $.run: must be between 1 and 9.0072e+15 (got 9.0072e+15)");
    expect_invalid(MSG_TEARDOWN, "{\"run\": -5}",
                   "TEARDOWN: $.run: must be between 1 and 9.0072e+15 (got -5)");
    expect_invalid(MSG_WELCOME, "{\"proto\": 1, \"testbed\": \"lab\", \"heartbeat_ms\": 99}",
                   "WELCOME: $.heartbeat_ms: must be between 100 and 600000 (got 99)");
    expect_invalid(MSG_START, "{\"run\": 1, \"role\": \"server\", \"port\": 65536}",
                   "START: $.port: must be between 1 and 65535 (got 65536)");
    expect_invalid(MSG_SETUP_OK, "{\"run\": 1, \"setup_ms\": -0.5}",
                   "SETUP_OK: $.setup_ms: must be between 0 and 1e+09 (got -0.5)");
    expect_invalid(MSG_RESULT_ACK, "{\"run\": 1, \"seq\": 1000001}",
                   "RESULT_ACK: $.seq: must be between 0 and 1e+06 (got 1e+06)");
    /* The bounds themselves are accepted. */
    char err[PROTO_ERR_MAX];
    json_t *b = parse("{\"run\": 9007199254740991, \"seq\": 1000000}");
    ck_assert_int_eq(proto_validate(MSG_RESULT_ACK, b, err), 0);
    json_decref(b);
    b = parse("{\"message\": \"\", \"run\": 0, \"stage\": \"\"}");
    ck_assert_int_eq(proto_validate(MSG_ERROR, b, err), 0);
    json_decref(b);
}
END_TEST

START_TEST(test_validate_required_missing)
{
    expect_invalid(MSG_HELLO, "{\"proto\": 1, \"kind\": \"vm\", \"capabilities\": {}}",
                   "HELLO: $.host: required field missing");
    expect_invalid(MSG_HELLO, "{}", "HELLO: $.proto: required field missing");
    expect_invalid(MSG_RESULT, "{\"run\": 7, \"seq\": 1, \"role\": \"client\"}",
                   "RESULT: $.result: required field missing");
    expect_invalid(MSG_TEARDOWN_OK, "{\"run\": 7}", "TEARDOWN_OK: $.leaks: required field missing");
    expect_invalid(MSG_ERROR, "{\"run\": 7}", "ERROR: $.message: required field missing");
}
END_TEST

START_TEST(test_validate_string_length)
{
    expect_invalid(MSG_WELCOME, "{\"proto\": 1, \"testbed\": \"toolongname\", \"heartbeat_ms\": 1000}",
                   "WELCOME: $.testbed: length must be 1..7 bytes (got 11)");
    expect_invalid(MSG_WELCOME, "{\"proto\": 1, \"testbed\": \"\", \"heartbeat_ms\": 1000}",
                   "WELCOME: $.testbed: length must be 1..7 bytes (got 0)");
    expect_invalid(MSG_START_OK, "{\"run\": 7, \"role\": \"serve\"}",
                   "START_OK: $.role: length must be 6..6 bytes (got 5)");
    expect_invalid(MSG_HELLO,
                   "{\"proto\": 1, \"host\": \"h1234567890123456789012345678901\", \"kind\": \"vm\","
                   " \"capabilities\": {}}",
                   "HELLO: $.host: length must be 1..31 bytes (got 32)");
    /* Length is in bytes, not characters: "é" is 2 bytes. */
    expect_invalid(MSG_WELCOME, "{\"proto\": 1, \"testbed\": \"\u00e9\u00e9\u00e9\u00e9\", \"heartbeat_ms\": 1000}",
                   "WELCOME: $.testbed: length must be 1..7 bytes (got 8)");
    /* A 4097-byte message of ERROR. */
    char *big = malloc(4097 + 32);
    strcpy(big, "{\"message\": \"");
    memset(big + strlen(big), 'x', 4097);
    strcpy(big + 13 + 4097, "\"}");
    expect_invalid(MSG_ERROR, big, "ERROR: $.message: length must be 0..4096 bytes (got 4097)");
    free(big);
}
END_TEST

START_TEST(test_validate_bad_type)
{
    char err[PROTO_ERR_MAX];
    json_t *b = json_object();
    ck_assert_int_eq(proto_validate(MSG_COUNT, b, err), -1);
    ck_assert_str_eq(err, "?: unknown message type");
    ck_assert_int_eq(proto_validate((msg_type_t) -3, b, err), -1);
    ck_assert_str_eq(err, "?: unknown message type");
    ck_assert_int_eq(proto_validate(MSG_HEARTBEAT, NULL, err), -1);
    ck_assert_str_eq(err, "HEARTBEAT: $: must be an object");
    json_decref(b);
}
END_TEST

/* ---- decode refusals ------------------------------------------------------------ */

START_TEST(test_decode_frame_count)
{
    char err[PROTO_ERR_MAX];
    msg_type_t t;
    json_t *b;
    char *id = (char *) 1;

    const char *d1[] = { "HEARTBEAT" };
    size_t l1[] = { 9 };
    zmsg_t *m = frames(1, d1, l1);
    ck_assert_int_eq(proto_decode(&m, false, NULL, &t, &b, err), -1);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err, "expected 2 frames, got 1");

    const char *d3[] = { "HEARTBEAT", "{}", "{}" };
    size_t l3[] = { 9, 2, 2 };
    m = frames(3, d3, l3);
    ck_assert_int_eq(proto_decode(&m, false, NULL, &t, &b, err), -1);
    ck_assert_str_eq(err, "expected 2 frames, got 3");

    /* ROUTER side with the identity only: identity is still returned to answer with ERROR. */
    const char *d2[] = { "h1", "HEARTBEAT" };
    size_t l2[] = { 2, 9 };
    m = frames(2, d2, l2);
    ck_assert_int_eq(proto_decode(&m, true, &id, &t, &b, err), -1);
    ck_assert_str_eq(err, "expected 3 frames, got 2");
    ck_assert_str_eq(id, "h1");
    free(id);

    m = zmsg_new();
    id = (char *) 1;
    ck_assert_int_eq(proto_decode(&m, true, &id, &t, &b, err), -1);
    ck_assert_str_eq(err, "expected 3 frames, got 0");
    ck_assert_ptr_null(id);

    m = NULL;
    ck_assert_int_eq(proto_decode(&m, false, NULL, &t, &b, err), -1);
    ck_assert_str_eq(err, "empty message");
}
END_TEST

START_TEST(test_decode_unknown_type)
{
    expect_refused("BOGUS", 5, "{}", 2, "unknown message type \"BOGUS\"");
    expect_refused("hello", 5, "{}", 2, "unknown message type \"hello\"");
    expect_refused("", 0, "{}", 2, "bad type frame (0 bytes)");
    expect_refused("TEARDOWN_OK_LONG", 16, "{}", 2, "bad type frame (16 bytes)");

    /* The identity is returned with an unknown type too. */
    const char *d[] = { "h9", "NOPE", "{}" };
    size_t l[] = { 2, 4, 2 };
    zmsg_t *m = frames(3, d, l);
    char err[PROTO_ERR_MAX], *id = NULL;
    msg_type_t t;
    json_t *b;
    ck_assert_int_eq(proto_decode(&m, true, &id, &t, &b, err), -1);
    ck_assert_str_eq(err, "unknown message type \"NOPE\"");
    ck_assert_str_eq(id, "h9");
    free(id);
}
END_TEST

START_TEST(test_decode_type_control_bytes_not_echoed)
{
    /* ESC, newline, DEL and a byte above 0x7e each become '?'. */
    expect_refused("HEL\x1b[2JLO\n", 10, "{}", 2, "unknown message type \"HEL?[2JLO?\"");
    expect_refused("A\x7f\xff\rB", 5, "{}", 2, "unknown message type \"A???B\"");
}
END_TEST

START_TEST(test_decode_invalid_json)
{
    expect_refused("TEARDOWN", 8, "{\"run\": }", 9,
                   "TEARDOWN: $: invalid JSON at 1:9: unexpected token near '}'");
    expect_refused("TEARDOWN", 8, "", 0,
                   "TEARDOWN: $: invalid JSON at 1:0: '[' or '{' expected near end of file");
    expect_refused("TEARDOWN", 8, "{\"run\": 1} x", 12,
                   "TEARDOWN: $: invalid JSON at 1:12: end of file expected near 'x'");
    expect_refused("HEARTBEAT", 9, "\"text\"", 6,
                   "HEARTBEAT: $: invalid JSON at 1:6: '[' or '{' expected near '\"text\"'");
}
END_TEST

START_TEST(test_decode_array_body)
{
    expect_refused("TEARDOWN", 8, "[{\"run\": 1}]", 12, "TEARDOWN: $: must be an object");
    expect_refused("HEARTBEAT", 9, "[]", 2, "HEARTBEAT: $: must be an object");
}
END_TEST

START_TEST(test_decode_oversize_body)
{
    size_t n = PROTO_BODY_MAX + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    expect_refused("HEARTBEAT", 9, big, n, "HEARTBEAT: body of 1048577 bytes exceeds 1048576");
    /* Exactly PROTO_BODY_MAX bytes is accepted. */
    const char *d[] = { "HEARTBEAT", big };
    size_t l[] = { 9, PROTO_BODY_MAX };
    big[PROTO_BODY_MAX - 1] = '}';
    zmsg_t *m = frames(2, d, l);
    char err[PROTO_ERR_MAX] = "";
    msg_type_t t;
    json_t *b = NULL;
    ck_assert_msg(proto_decode(&m, false, NULL, &t, &b, err) == 0, "%s", err);
    ck_assert_int_eq(t, MSG_HEARTBEAT);
    ck_assert_int_eq(json_object_size(b), 0);
    json_decref(b);
    free(big);
}
END_TEST

START_TEST(test_decode_duplicate_keys)
{
    expect_refused("TEARDOWN", 8, "{\"run\": 1, \"run\": 2}", 20,
                   "TEARDOWN: $: invalid JSON at 1:16: duplicate object key near '\"run\"'");
}
END_TEST

START_TEST(test_decode_validation_failure)
{
    expect_refused("SETUP", 5,
                   "{\"run\":7,\"network\":\"host\",\"placement\":\"same-host\",\"client\":true,"
                   "\"server\":true,\"colour\":\"red\"}",
                   strlen("{\"run\":7,\"network\":\"host\",\"placement\":\"same-host\",\"client\":true,"
                          "\"server\":true,\"colour\":\"red\"}"),
                   "SETUP: $.colour: unknown field");
    expect_refused("HELLO", 5, "{\"proto\":1}", 11, "HELLO: $.host: required field missing");
}
END_TEST

/* ---- a real socket pair ----------------------------------------------------------- */

START_TEST(test_inproc_router_dealer)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    ck_assert_ptr_nonnull(router);
    ck_assert_int_eq(zsock_bind(router, "inproc://test-proto"), 0);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    ck_assert_ptr_nonnull(dealer);
    zsock_set_identity(dealer, "h1");
    ck_assert_int_eq(zsock_connect(dealer, "inproc://test-proto"), 0);
    zsock_set_rcvtimeo(router, 5000);
    zsock_set_rcvtimeo(dealer, 5000);

    json_t *hello = parse(valid_bodies[MSG_HELLO]);
    ck_assert_int_eq(proto_send(dealer, NULL, MSG_HELLO, json_incref(hello)), 0);
    zmsg_t *m = zmsg_recv(router);
    ck_assert_ptr_nonnull(m);
    char err[PROTO_ERR_MAX] = "", *id = NULL;
    msg_type_t t = MSG_COUNT;
    json_t *b = NULL;
    ck_assert_msg(proto_decode(&m, true, &id, &t, &b, err) == 0, "%s", err);
    ck_assert_str_eq(id, "h1");
    ck_assert_int_eq(t, MSG_HELLO);
    ck_assert(json_equal(b, hello));
    json_decref(b);
    json_decref(hello);

    /* The answer is routed by the identity frame. */
    ck_assert_int_eq(proto_send(router, id, MSG_WELCOME,
                                json_pack("{s:i, s:s, s:i}", "proto", PROTO_VERSION, "testbed",
                                          "lab", "heartbeat_ms", 1000)),
                     0);
    free(id);
    m = zmsg_recv(dealer);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(proto_decode(&m, false, NULL, &t, &b, err), 0);
    ck_assert_int_eq(t, MSG_WELCOME);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "heartbeat_ms")), 1000);
    ck_assert_str_eq(json_string_value(json_object_get(b, "testbed")), "lab");
    json_decref(b);

    /* An invalid body is never sent. */
    ck_assert_int_eq(proto_send(dealer, NULL, MSG_RESULT_ACK, json_pack("{s:i}", "run", 1)), -1);

    zsock_destroy(&dealer);
    zsock_destroy(&router);
}
END_TEST

/* ---- committed schemas ------------------------------------------------------------ */

START_TEST(test_schemas_match_committed_files)
{
    for (int i = 0; i < MSG_COUNT; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/schemas/msg/%s.schema.json", CNTB_SOURCE_DIR,
                 type_names[i]);
        json_error_t e;
        json_t *file = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
        ck_assert_msg(file != NULL,
                      "%s: %s: regenerate with `build/bin/cntb-controller --print-schemas "
                      "schemas/msg`",
                      path, e.text);
        json_t *schema = proto_schema((msg_type_t) i);
        ck_assert_ptr_nonnull(schema);
        ck_assert_msg(json_equal(schema, file),
                      "%s differs from proto_schema(%s) (the table in proto/proto.c): "
                      "regenerate with `build/bin/cntb-controller --print-schemas schemas/msg` "
                      "and commit",
                      path, type_names[i]);
        json_decref(schema);
        json_decref(file);
    }
    ck_assert_ptr_null(proto_schema(MSG_COUNT));
    ck_assert_ptr_null(proto_schema((msg_type_t) -1));
}
END_TEST

START_TEST(test_schema_shape)
{
    json_t *s = proto_schema(MSG_SETUP);
    ck_assert_str_eq(json_string_value(json_object_get(s, "title")), "SETUP");
    ck_assert_str_eq(json_string_value(json_object_get(s, "x-sender")), "controller");
    ck_assert(json_is_false(json_object_get(s, "additionalProperties")));
    json_t *run = json_object_get(json_object_get(s, "properties"), "run");
    ck_assert_str_eq(json_string_value(json_object_get(run, "type")), "integer");
    ck_assert_int_eq(json_integer_value(json_object_get(run, "minimum")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(run, "maximum")), 9007199254740991LL);
    ck_assert_int_eq(json_array_size(json_object_get(s, "required")), 5);
    json_decref(s);
}
END_TEST

/*
 * proto.h's comment lists every message with its sender and fields (* =
 * required), a copy of the table in proto.c for readers; it must not drift
 * (it once lacked SETUP's port and bgp and WELCOME's kv).  A continuation
 * line (no name, no sender) carries more fields of the message above.
 */
START_TEST(test_header_comment_matches_table)
{
    char path[1024], line[512];
    json_t *seen[MSG_COUNT] = { NULL };
    const char *sender[MSG_COUNT] = { NULL };
    int cur = -1;
    bool in_table = false;

    snprintf(path, sizeof path, "%s/proto/proto.h", CNTB_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *tok, *text = line;
        if (strncmp(text, " *   message", 12) == 0) {
            in_table = true;
            continue;
        }
        if (!in_table)
            continue;
        if (strncmp(text, " *   ", 5) != 0)
            break; /* the blank " *" line after the table */
        bool cont = text[5] == ' ';
        tok = strtok_r(text + 2, " \n", &save);
        if (!cont) {
            cur = proto_type_from_name(tok);
            ck_assert_msg(cur >= 0, "proto.h lists an unknown message %s", tok);
            ck_assert_msg(seen[cur] == NULL, "proto.h lists %s twice", tok);
            seen[cur] = json_object();
            sender[cur] = strdup(strtok_r(NULL, " \n", &save));
            tok = strtok_r(NULL, " \n", &save);
        }
        ck_assert_int_ge(cur, 0);
        for (; tok; tok = strtok_r(NULL, " \n", &save))
            if (strcmp(tok, "(none)") != 0)
                json_object_set_new(seen[cur], tok[0] == '*' ? tok + 1 : tok,
                                    json_boolean(tok[0] == '*'));
    }
    fclose(f);
    for (int t = 0; t < MSG_COUNT; t++) {
        json_t *s = proto_schema((msg_type_t)t), *req = json_object_get(s, "required");
        const char *name = proto_type_name((msg_type_t)t), *key;
        json_t *v;

        ck_assert_msg(seen[t] != NULL, "proto.h does not list %s", name);
        ck_assert_msg(strcmp(sender[t], json_string_value(json_object_get(s, "x-sender"))) == 0,
                      "proto.h: %s is sent by %s, proto.c says %s", name, sender[t],
                      json_string_value(json_object_get(s, "x-sender")));
        json_object_foreach(json_object_get(s, "properties"), key, v) {
            bool required = false;
            for (size_t i = 0; i < json_array_size(req); i++)
                required |= strcmp(json_string_value(json_array_get(req, i)), key) == 0;
            ck_assert_msg(json_object_get(seen[t], key) != NULL, "proto.h: %s lacks %s%s", name,
                          required ? "*" : "", key);
            ck_assert_msg(json_is_true(json_object_get(seen[t], key)) == required,
                          "proto.h: %s's %s is %srequired in proto.c", name, key,
                          required ? "" : "not ");
        }
        json_object_foreach(seen[t], key, v)
            ck_assert_msg(json_object_get(json_object_get(s, "properties"), key) != NULL,
                          "proto.h: %s lists %s, proto.c has no such field", name, key);
        json_decref(s);
        json_decref(seen[t]);
        free((char *)sender[t]);
    }
}
END_TEST

static Suite *
proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("names");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_type_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("codec");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_round_trip_every_type);
    tcase_add_test(tc, test_encode_null_body_is_empty_object);
    tcase_add_test(tc, test_encode_refuses_invalid_body);
    suite_add_tcase(s, tc);

    tc = tcase_create("validate");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_validate_unknown_field);
    tcase_add_test(tc, test_validate_wrong_type);
    tcase_add_test(tc, test_validate_out_of_range);
    tcase_add_test(tc, test_validate_required_missing);
    tcase_add_test(tc, test_validate_string_length);
    tcase_add_test(tc, test_validate_bad_type);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_decode_frame_count);
    tcase_add_test(tc, test_decode_unknown_type);
    tcase_add_test(tc, test_decode_type_control_bytes_not_echoed);
    tcase_add_test(tc, test_decode_invalid_json);
    tcase_add_test(tc, test_decode_array_body);
    tcase_add_test(tc, test_decode_oversize_body);
    tcase_add_test(tc, test_decode_duplicate_keys);
    tcase_add_test(tc, test_decode_validation_failure);
    suite_add_tcase(s, tc);

    tc = tcase_create("socket");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_inproc_router_dealer);
    suite_add_tcase(s, tc);

    tc = tcase_create("schema");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_schemas_match_committed_files);
    tcase_add_test(tc, test_schema_shape);
    tcase_add_test(tc, test_header_comment_matches_table);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(proto_suite());
    if (!getenv("CK_FORK")) /* fork mode, unless CK_FORK=no asks otherwise (valgrind) */
        srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
