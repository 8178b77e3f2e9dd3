/*
 * emulate.h — the emulated testbed's network: hosts made of namespaces.
 *
 * For testbed NAME with N hosts: a bridge "cntb-NAME-br" in the caller's
 * namespace holding 198.18.X.254/24 (the switch, and where the controller
 * and etcd listen), namespaces "cntb-NAME-h1".."cntb-NAME-hN", each with a
 * veth "eth0" (198.18.X.i/24) whose peer "cntb-NAME-hi" is on the bridge,
 * loopback up, and no default route: nothing routes to the machine's real
 * interfaces.  X is the testbed's own /24 of 198.18.0.0/15 (RFC 2544).
 */
#ifndef CNTB_EMULATE_H
#define CNTB_EMULATE_H

/*
 * Builds (or completes: idempotent) the network of testbed `name` with
 * `hosts` hosts (1..200) on subnet 198.18.<octet>.0/24 (octet 1..254).
 * Returns 0 or -1 with err (NL_ERR_MAX bytes).
 */
int emulate_build(const char *name, int hosts, int octet, char *err);

/*
 * Removes the namespaces "cntb-NAME-h*" and links "cntb-NAME-*".  Processes
 * are the caller's business.  Idempotent.  Returns how many links and
 * namespaces it removed (0: there were none, so that the caller can say a
 * testbed did not exist), or -1 with err.
 */
int emulate_destroy(const char *name, char *err);

/*
 * Chooses the /24 for a new testbed: the octet in 1..254 derived from the
 * name (FNV-1a hash) and not used by another cntb bridge's address; the
 * octet already used by this name's bridge when it exists.  -1 when none free.
 */
int emulate_pick_octet(const char *name, char *err);

#endif
