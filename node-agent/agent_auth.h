/*
 * agent_auth.h — CURVE on the agent's DEALER socket (client side).
 *
 * The agent presents its own certificate (czmq zcert file with its secret
 * half, uploaded by `cntb deploy`) and accepts only the controller whose
 * public key is in the controller's public certificate: a man in the middle
 * without the controller's secret key cannot complete the handshake
 * (CurveZMQ, RFC 26).
 */
#ifndef CNTB_AGENT_AUTH_H
#define CNTB_AGENT_AUTH_H

#include <czmq.h>
#include <stddef.h>

/*
 * Configures `dealer` (before it connects) as a CURVE client: its key pair
 * from cert_path (+ cert_path_secret), the server key from
 * controller_cert_path.  Returns 0, or -1 with a message in err (len bytes)
 * when a file is unreadable or lacks a key.
 */
int agent_auth_apply(zsock_t *dealer, const char *cert_path, const char *controller_cert_path,
                     char *err, size_t len);

#endif
