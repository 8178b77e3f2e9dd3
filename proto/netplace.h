/*
 * netplace.h — which placements each network kind can run: one table for
 * the controller's matrix validation (controller/matrix.c refuses the other
 * combinations before queueing) and the agent's supports() hooks
 * (node-agent/net/<kind>.c), so that the two cannot disagree.
 */
#ifndef CNTB_NETPLACE_H
#define CNTB_NETPLACE_H

#include <stdbool.h>

/*
 * true when network `network` (a matrix value: "bridge", "overlay", ...)
 * can run placement `placement` ("same-host" or "cross-host"); false for
 * the other combinations and for an unknown name or NULL.
 */
bool netplace_supports(const char *network, const char *placement);

/*
 * Why network `network` is limited to the placements it supports, a short
 * static phrase ("a Linux bridge joins the containers of one host"), or
 * NULL when it supports both or is unknown.
 */
const char *netplace_why(const char *network);

/*
 * The name of the network in row i of the table (0-based), or NULL past the
 * last row: for tests and listings.
 */
const char *netplace_name(int i);

#endif
