/*
 * agent_traffic.c — from a run's parameters to cntb-traffic's command line.
 *
 * Every parameter comes from a message, so each is checked again here
 * against its row of proto/param.c (type and range, the table the
 * controller validated the matrix with) before it becomes an argument; a
 * missing one takes the row's default, so that a controller that predates a
 * parameter still gets the old behaviour.  A UDP
 * size the path cannot carry unfragmented is refused here, with the reason
 * that the run then fails with (CASES.md case 1), unless allow_fragments.
 */
#include "agent_traffic.h"
#include "param.h"
#include "traffic.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGV_MAX 64

/* The values of an enum parameter (proto/param.c), NULL-terminated. */
static const char *const *
values_of(const char *name)
{
    return param_find(name)->values;
}

json_t *
agent_traffic_kinds(void)
{
    json_t *a = json_array();
    /* cntb-traffic generates every traffic kind of the matrix format */
    for (const char *const *k = values_of("traffic"); *k; k++)
        json_array_append_new(a, json_string(*k));
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

/* A string parameter (its default from proto/param.c when absent); NULL when
 * present but not a string. */
static const char *
param_str(const json_t *params, const char *name)
{
    const json_t *v = json_object_get(params, name);
    if (!v)
        return param_default_str(name);
    return json_string_value(v);
}

/* A number parameter: its value, or its default from proto/param.c when
 * absent; NAN when present but not a number or outside its row's range. */
static double
param_num(const json_t *params, const char *name)
{
    const json_t *v = json_object_get(params, name);
    if (!v)
        return param_default_num(name);
    if (!json_is_number(v) || !param_num_ok(param_find(name), json_number_value(v)))
        return NAN;
    return json_number_value(v);
}

/* A boolean parameter (its default when absent); -1 when present but not a boolean. */
static int
param_bool(const json_t *params, const char *name)
{
    const json_t *v = json_object_get(params, name);
    if (!v)
        return param_default_num(name) != 0;
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

int
agent_traffic_check_udp(const json_t *params, int mtu, char *err, size_t errlen)
{
    const char *traffic = param_str(params, "traffic");
    double size = param_num(params, "size");
    int frag = param_bool(params, "allow_fragments"), fragmented;

    if (!traffic || isnan(size) || frag < 0) {
        snprintf(err, errlen, "traffic must be a string, size an integer %d..%d, allow_fragments"
                 " true or false", PARAM_SIZE_MIN, PARAM_SIZE_MAX);
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
    const char *traffic = param_str(params, "traffic");
    const char *engine = param_str(params, "engine");
    if (!one_of(traffic, values_of("traffic"))) {
        snprintf(err, errlen, "traffic %s is not supported by this agent", traffic ? traffic : "?");
        goto fail;
    }
    if (!one_of(engine, values_of("engine"))) {
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
    /* NAN: of the wrong type or outside the parameter's range (proto/param.c) */
    double size = param_num(params, "size"), streams = param_num(params, "streams");
    double duration = param_num(params, "duration_s");
    double omit = param_num(params, "omit_s"), interval = param_num(params, "interval_s");
    double rate = param_num(params, "rate"), burst = param_num(params, "burst");
    double timeout = param_num(params, "timeout_ms");
    const char *direction = param_str(params, "direction");
    int gso = param_bool(params, "gso"), frag = param_bool(params, "allow_fragments");
    if (isnan(size) || isnan(streams) || isnan(duration)) {
        snprintf(err, errlen, "size, streams or duration_s out of range");
        goto fail;
    }
    if (isnan(omit) || isnan(interval) || isnan(rate) || isnan(burst) || isnan(timeout)) {
        snprintf(err, errlen, "omit_s, interval_s, rate, burst or timeout_ms out of range");
        goto fail;
    }
    if (!one_of(direction, values_of("direction")) || gso < 0 || frag < 0) {
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
