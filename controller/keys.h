/*
 * keys.h — the testbed's CURVE key directory (ZeroMQ CURVE, RFC 26/CurveZMQ).
 *
 * Layout of the directory named by the testbed's "keys" (docs/testbed.md):
 *   controller.cert, controller.cert_secret   the controller's certificate
 *   hosts/HOST.cert                           public keys the controller accepts
 *   secret/HOST.cert, secret/HOST.cert_secret each host's certificate, uploaded
 *                                             to the host by `cntb deploy`
 * Certificates are czmq zcert files (Z85 keys, ZPL text).  The directory and
 * secret/ are mode 0700, every *_secret file 0600.  Removing hosts/HOST.cert
 * revokes that host: the controller refuses its next connection.
 */
#ifndef CNTB_KEYS_H
#define CNTB_KEYS_H

#include "testbed.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Makes what is missing of the key directory of testbed `tb` (its keys_path
 * must be set): the controller's certificate and one per host.  Existing
 * certificates are kept unless `force` (then all are made anew, which
 * revokes every deployed agent until it is deployed again).  Returns the
 * number of certificates made (>= 0), or -1 with a message in err (len bytes).
 */
int keys_generate(const testbed_t *tb, bool force, char *err, size_t len);

/*
 * Fills path (len bytes) with the certificate file of `who` in key directory
 * `dir`: who = NULL is the controller (DIR/controller.cert); else the host's
 * secret certificate (DIR/secret/HOST.cert) when secret, its public one
 * (DIR/hosts/HOST.cert) otherwise.
 */
void keys_cert_path(char *path, size_t len, const char *dir, const char *who, bool secret);

#endif
