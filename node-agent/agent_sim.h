/*
 * agent_sim.h — N simulated agents in one process (`cntb-agent --simulate N`,
 * docs/cntb-agent.md SIMULATION), so that one machine presents hundreds of
 * hosts to a controller (issue 9, tests/bench/scale).
 */
#ifndef CNTB_AGENT_SIM_H
#define CNTB_AGENT_SIM_H

#define AGENT_SIM_MAX 4096      /* simulated agents per process */

typedef struct {
    const char *endpoint;       /* the controller's agent endpoint, "tcp://ADDR:PORT" */
    int count;                  /* simulated agents, 1..AGENT_SIM_MAX: hosts sim1..simN */
    const char *cert_dir;       /* DIR with simI.cert (+ _secret) per agent, NULL = no CURVE */
    const char *controller_cert_path; /* the controller's public certificate (with cert_dir) */
} agent_sim_config_t;

/*
 * Connects `count` DEALER sockets, identities sim1..simN, each announcing in
 * HELLO the no-op network `noop` (same-host and cross-host) and the traffic
 * kinds of cntb-traffic, and answers the controller like an agent whose
 * every step succeeds at once: SETUP -> SETUP_OK, START -> START_OK (the
 * client's START also -> a synthetic RESULT, re-sent every 2 s until
 * acknowledged), TEARDOWN -> TEARDOWN_OK with no leaks.  Nothing is built
 * and no process is started.  Runs until SIGTERM/SIGINT.  Returns 0, or -1
 * (logged) when a socket or a certificate cannot be set up.
 */
int agent_sim_run(const agent_sim_config_t *config);

#endif
