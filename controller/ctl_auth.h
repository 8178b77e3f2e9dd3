/*
 * ctl_auth.h — the controller's agent socket, secured with ZeroMQ CURVE.
 *
 * The controller is the CURVE server (its certificate from the testbed's key
 * directory, keys.h); a zauth actor answers libzmq's ZAP requests (RFC 27)
 * and accepts a client only when its public key is a certificate in
 * KEYS/hosts/.  A refused client never gets a message through, so no state
 * changes; zauth logs the refusal ("zauth: - denied (CURVE) ...").  Beyond
 * ZAP, every message's sender identity (the DEALER identity = host name) must
 * be the host whose key signed the connection, so one host cannot speak for
 * another.
 */
#ifndef CNTB_CTL_AUTH_H
#define CNTB_CTL_AUTH_H

#include "testbed.h"

#include <czmq.h>
#include <stddef.h>

typedef struct ctl_auth ctl_auth_t;

/*
 * Makes the agents' ROUTER socket bound to tcp://ADDRESS:PORT of the
 * testbed's controller; with the testbed's "keys" set, as a CURVE server
 * with a zauth actor, otherwise in the clear (logged as a warning).  Returns
 * a fresh ctl_auth_t (free with ctl_auth_destroy, which also destroys the
 * socket) and the socket (borrowed) in *router; NULL with a message in err
 * (len bytes) when the keys cannot be read or the address bound.
 */
ctl_auth_t *ctl_auth_new(const testbed_t *tb, zsock_t **router, char *err, size_t len);

/*
 * Checks one received ROUTER message (routing identity first): 0 when
 * authentication is off or the peer's CURVE public key (ZMQ "User-Id"
 * metadata set by zauth) is the one of KEYS/hosts/IDENTITY.cert; -1 (logged)
 * otherwise.  Does not take the message.
 */
int ctl_auth_check(ctl_auth_t *self, zmsg_t *msg);

/*
 * Makes directory `dir` (the CLI socket's, /run/cntb/NAME) private: creates
 * it mode 0700 when missing, refuses it when owned by another user, and sets
 * mode 0700 otherwise, so only its owner can reach the ipc socket inside
 * (connecting to a Unix socket needs search permission on its directory).
 * Returns 0, or -1 with a message in err (len bytes).
 */
int ctl_auth_private_dir(const char *dir, char *err, size_t len);

/* Stops the zauth actor, destroys the socket; sets *self_p NULL; accepts NULL. */
void ctl_auth_destroy(ctl_auth_t **self_p);

#endif
