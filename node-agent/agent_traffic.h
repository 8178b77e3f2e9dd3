/*
 * agent_traffic.h — how the agent drives the traffic engine: the argument
 * vector of cntb-traffic built from a run's parameters, and the traffic
 * kinds the agent announces in HELLO.  Parameters come from a message, so
 * every value is checked again here before it reaches an argument vector
 * (never a shell).
 */
#ifndef CNTB_AGENT_TRAFFIC_H
#define CNTB_AGENT_TRAFFIC_H

#include <jansson.h>
#include <stddef.h>

/*
 * Builds the argument vector to run cntb-traffic (at traffic_path) as
 * `role` ("server" or "client") for a run with `params` (the run's complete
 * parameter object), the server at server_addr:port (server_addr is where a
 * server binds, or where a client connects), over a path of `mtu` bytes
 * (the MTU the network kind set up; 0 = unknown, then cntb-traffic asks the
 * kernel).  Parameters: traffic, engine, size, streams, duration_s, omit_s,
 * interval_s, rate, burst, timeout_ms, direction, gso, allow_fragments,
 * each checked against its row of proto/param.c; an absent one takes the
 * row's default.  Returns a fresh
 * NULL-terminated vector (free with agent_traffic_argv_free), or NULL with
 * a one-line reason in err (errlen bytes) when a parameter is of the wrong
 * type or out of range, the traffic kind or engine is not supported, or a
 * UDP size exceeds mtu - 28 without allow_fragments (CASES.md case 1).
 */
char **agent_traffic_argv(const char *traffic_path, const char *role, const json_t *params,
                          const char *server_addr, int port, int mtu, char *err, size_t errlen);

/*
 * The check of CASES.md case 1 for a run with `params` over a path of `mtu`
 * bytes (0 = unknown), the same at SETUP (node-agent/agent.c, once the
 * network kind knows the MTU) and at START (agent_traffic_argv): 1 with the
 * reason in err (errlen bytes) when the traffic is UDP and its size exceeds
 * mtu - 28 without allow_fragments; 0 when it does not (or the traffic is
 * TCP, or the MTU unknown); -1 with the reason when traffic, size or
 * allow_fragments has the wrong type or range.  Absent parameters take
 * their defaults from proto/param.c (size PARAM_SIZE_DEFAULT), as the
 * controller does.
 */
int agent_traffic_check_udp(const json_t *params, int mtu, char *err, size_t errlen);

/* Frees a vector of agent_traffic_argv and sets *argv_p to NULL; accepts NULL. */
void agent_traffic_argv_free(char ***argv_p);

/* The traffic kinds this agent can generate, a fresh JSON array of strings. */
json_t *agent_traffic_kinds(void);

#endif
