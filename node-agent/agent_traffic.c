/*
 * agent_traffic.c — from a run's parameters to cntb-traffic's command line.
 *
 * Every parameter comes from a message, so each is checked again here
 * (type and range, the same as controller/matrix.c's params[] table) before
 * it becomes an argument; a missing one takes the matrix default, so that a
 * controller that predates a parameter still gets the old behaviour.  A UDP
 * size the path cannot carry unfragmented is refused here, with the reason
 * that the run then fails with (CASES.md case 1), unless allow_fragments.
 */
#include "agent_traffic.h"
#include "traffic.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGV_MAX 64

static const char *const traffic_kinds[] = { "tcp_stream", "udp_stream", "tcp_rr", "udp_rr",
                                             "tcp_crr", NULL };

json_t *
agent_traffic_kinds(void)
{
    json_t *a = json_array();
    for (int i = 0; traffic_kinds[i]; i++)
        json_array_append_new(a, json_string(traffic_kinds[i]));
    return a;
}

void
agent_traffic_argv_free(char ***argv_p)
{
    if (!argv_p || !*argv_p)
        return;
    for (char **a = *argv_p; *a; a++)
        free(*a);
    free(*argv_p);
    *argv_p = NULL;
}

/* Appends a copy of s to the vector (capacity ARGV_MAX). */
static void
push(char **argv, int *n, const char *s)
{
    if (*n < ARGV_MAX - 1)
        argv[(*n)++] = strdup(s);
}

/* Appends opt and v printed with `decimals` digits after the point. */
static void
push_opt(char **argv, int *n, const char *opt, int decimals, double v)
{
    char num[48];
    snprintf(num, sizeof num, "%.*f", decimals, v);
    push(argv, n, opt);
    push(argv, n, num);
}

/* A string parameter (default def when absent); NULL when present but not a string. */
static const char *
param_str(const json_t *params, const char *name, const char *def)
{
    const json_t *v = json_object_get(params, name);
    if (!v)
        return def;
    return json_string_value(v);
}

/* A number parameter (default def when absent); NAN when present but not a number. */
static double
param_num(const json_t *params, const char *name, double def)
{
    const json_t *v = json_object_get(params, name);
    if (!v)
        return def;
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A boolean parameter (default false when absent); -1 when present but not a boolean. */
static int
param_bool(const json_t *params, const char *name)
{
    const json_t *v = json_object_get(params, name);
    if (!v)
        return 0;
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

static bool
one_of(const char *s, const char *const *list)
{
    for (int i = 0; s && list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* value is a whole number in [min, max] */
static bool
whole_in(double v, double min, double max)
{
    return v >= min && v <= max && floor(v) == v;
}

int
agent_traffic_check_udp(const json_t *params, int mtu, char *err, size_t errlen)
{
    const char *traffic = param_str(params, "traffic", "tcp_stream");
    double size = param_num(params, "size", TRAFFIC_SIZE_DEFAULT);
    int frag = param_bool(params, "allow_fragments"), fragmented;

    if (!traffic || !whole_in(size, 1, TRAFFIC_SIZE_MAX) || frag < 0) {
        snprintf(err, errlen, "traffic must be a string, size an integer 1..%ld, allow_fragments"
                 " true or false", TRAFFIC_SIZE_MAX);
        return -1;
    }
    if (strncmp(traffic, "udp", 3) != 0 || mtu <= 0)
        return 0;
    return traffic_check_udp_size((long)size, mtu, 0, frag, &fragmented, err, errlen) < 0 ? 1 : 0;
}

char **
agent_traffic_argv(const char *traffic_path, const char *role, const json_t *params,
                   const char *server_addr, int port, int mtu, char *err, size_t errlen)
{
    static const char *const engines[] = { "builtin", "iperf3", "sockperf", NULL };
    static const char *const directions[] = { "upload", "download", NULL };
    char **argv = calloc(ARGV_MAX, sizeof *argv);
    int n = 0;
    char num[32];
    if (!argv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    push(argv, &n, traffic_path);
    if (port < 1 || port > 65535 || !server_addr) {
        snprintf(err, errlen, "port or server address missing");
        goto fail;
    }
    const char *traffic = param_str(params, "traffic", "tcp_stream");
    const char *engine = param_str(params, "engine", "builtin");
    if (!one_of(traffic, traffic_kinds)) {
        snprintf(err, errlen, "traffic %s is not supported by this agent", traffic ? traffic : "?");
        goto fail;
    }
    if (!one_of(engine, engines)) {
        snprintf(err, errlen, "engine must be builtin, iperf3 or sockperf");
        goto fail;
    }
    snprintf(num, sizeof num, "%d", port);
    if (strcmp(role, "server") == 0) {
        push(argv, &n, "server");
        push(argv, &n, "--bind");
        push(argv, &n, server_addr);
        push(argv, &n, "--port");
        push(argv, &n, num);
        if (strcmp(engine, "builtin") != 0) {
            push(argv, &n, "--engine");
            push(argv, &n, engine);
            push(argv, &n, "--traffic");
            push(argv, &n, traffic);
        }
        return argv;
    }
    if (strcmp(role, "client") != 0) {
        snprintf(err, errlen, "role must be server or client");
        goto fail;
    }
    double size = param_num(params, "size", TRAFFIC_SIZE_DEFAULT), streams = param_num(params, "streams", 1);
    double duration = param_num(params, "duration_s", 10);
    double omit = param_num(params, "omit_s", 0), interval = param_num(params, "interval_s", 1);
    double rate = param_num(params, "rate", 0), burst = param_num(params, "burst", 1);
    double timeout = param_num(params, "timeout_ms", 200);
    const char *direction = param_str(params, "direction", "upload");
    int gso = param_bool(params, "gso"), frag = param_bool(params, "allow_fragments");
    if (!whole_in(size, 1, TRAFFIC_SIZE_MAX) || !whole_in(streams, 1, TRAFFIC_STREAMS_MAX)
        || !(duration > 0) || duration > TRAFFIC_DURATION_MAX) {
        snprintf(err, errlen, "size, streams or duration_s out of range");
        goto fail;
    }
    if (!(omit >= 0 && omit <= TRAFFIC_OMIT_MAX) || !(interval >= 0.01 && interval <= 3600)
        || !whole_in(rate, 0, TRAFFIC_RATE_MAX) || !whole_in(burst, 1, TRAFFIC_BURST_MAX)
        || !whole_in(timeout, 1, 60000)) {
        snprintf(err, errlen, "omit_s, interval_s, rate, burst or timeout_ms out of range");
        goto fail;
    }
    if (!one_of(direction, directions) || gso < 0 || frag < 0) {
        snprintf(err, errlen, "direction must be upload or download; gso and allow_fragments "
                              "true or false");
        goto fail;
    }
    if (agent_traffic_check_udp(params, mtu, err, errlen) != 0)
        goto fail;
    push(argv, &n, "client");
    push(argv, &n, "--server");
    push(argv, &n, server_addr);
    push(argv, &n, "--port");
    push(argv, &n, num);
    push(argv, &n, "--traffic");
    push(argv, &n, traffic);
    push_opt(argv, &n, "--size", 0, size);
    push_opt(argv, &n, "--streams", 0, streams);
    push_opt(argv, &n, "--duration", 3, duration);
    push_opt(argv, &n, "--interval", 3, interval);
    push_opt(argv, &n, "--omit", 3, omit);
    push_opt(argv, &n, "--rate", 0, rate);
    push_opt(argv, &n, "--burst", 0, burst);
    push_opt(argv, &n, "--timeout-ms", 0, timeout);
    push(argv, &n, "--direction");
    push(argv, &n, direction);
    push_opt(argv, &n, "--mtu", 0, mtu > 0 ? mtu : 0);
    if (gso)
        push(argv, &n, "--gso");
    if (frag)
        push(argv, &n, "--allow-fragments");
    if (strcmp(engine, "builtin") != 0) {
        push(argv, &n, "--engine");
        push(argv, &n, engine);
    }
    return argv;
fail:
    agent_traffic_argv_free(&argv);
    return NULL;
}
