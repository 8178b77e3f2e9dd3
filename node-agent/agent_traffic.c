/*
 * agent_traffic.c — from a run's parameters to cntb-traffic's command line.
 */
#include "agent_traffic.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const traffic_kinds[] = { "tcp_stream", NULL };

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

/* Appends a copy of s to the vector (capacity 32). */
static void
push(char **argv, int *n, const char *s)
{
    if (*n < 31)
        argv[(*n)++] = strdup(s);
}

char **
agent_traffic_argv(const char *traffic_path, const char *role, const json_t *params,
                   const char *server_addr, int port, char *err, size_t errlen)
{
    char **argv = calloc(32, sizeof *argv);
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
    snprintf(num, sizeof num, "%d", port);
    if (strcmp(role, "server") == 0) {
        push(argv, &n, "server");
        push(argv, &n, "--bind");
        push(argv, &n, server_addr);
        push(argv, &n, "--port");
        push(argv, &n, num);
        return argv;
    }
    if (strcmp(role, "client") != 0) {
        snprintf(err, errlen, "role must be server or client");
        goto fail;
    }
    const char *traffic = json_string_value(json_object_get(params, "traffic"));
    json_int_t size = json_integer_value(json_object_get(params, "size"));
    json_int_t streams = json_integer_value(json_object_get(params, "streams"));
    double duration = json_number_value(json_object_get(params, "duration_s"));
    bool known = false;
    for (int i = 0; traffic && traffic_kinds[i]; i++)
        known |= strcmp(traffic, traffic_kinds[i]) == 0;
    if (!known) {
        snprintf(err, errlen, "traffic %s is not supported by this agent", traffic ? traffic : "?");
        goto fail;
    }
    if (size < 1 || size > 1048576 || streams < 1 || streams > 128 || !(duration > 0) ||
        duration > 86400) {
        snprintf(err, errlen, "size, streams or duration_s out of range");
        goto fail;
    }
    push(argv, &n, "client");
    push(argv, &n, "--server");
    push(argv, &n, server_addr);
    push(argv, &n, "--port");
    push(argv, &n, num);
    push(argv, &n, "--traffic");
    push(argv, &n, traffic);
    snprintf(num, sizeof num, "%lld", (long long) size);
    push(argv, &n, "--size");
    push(argv, &n, num);
    snprintf(num, sizeof num, "%lld", (long long) streams);
    push(argv, &n, "--streams");
    push(argv, &n, num);
    snprintf(num, sizeof num, "%.3f", duration);
    push(argv, &n, "--duration");
    push(argv, &n, num);
    return argv;
fail:
    agent_traffic_argv_free(&argv);
    return NULL;
}
