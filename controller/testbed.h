/*
 * testbed.h — testbed files: the hosts, how to reach them, the controller.
 *
 * Format (schemas/testbed.schema.json, docs/testbed.md):
 *   {
 *     "name": "lab",                                  [a-z0-9]{1,6}
 *     "emulated": true,                               optional, default false
 *     "controller": { "address": "198.18.7.254", "port": 7707 },
 *     "kv": { "kind": "etcd",                         optional; kind defaults to etcd
 *             "endpoints": ["http://198.18.7.254:2379"] },
 *     "keys": "lab.keys",                             optional: CURVE key directory
 *     "ssh": { "key": "lab.keys/ssh/id_ed25519",      optional: deploy's client key
 *              "known_hosts": "lab.keys/ssh/known_hosts" },   and host keys
 *     "hosts": [
 *       { "name": "h1", "kind": "bare-metal", "address": "198.18.7.1",
 *         "netns": "cntb-lab-h1",                     optional (emulated hosts)
 *         "parent": "h1",                             required for kind vm only
 *         "vcpus": 1, "memory_mb": 384,               vm only, defaults shown (1..64, 128..65536 MiB)
 *         "image": "/srv/cntb/vm",                    vm only: dir with vmlinuz, initrd.img on the parent
 *         "boot_timeout_s": 120,                      vm only: QEMU start to HELLO, 5..3600 s
 *         "ssh": { "user": "root", "port": 22 } }     optional, defaults shown
 *     ]
 *   }
 * Host names match [A-Za-z0-9_.-]{1,31} and are unique; addresses are IPv4
 * dotted quads; ports 1..65535; 1..1024 hosts.  Paths ("keys", "ssh") match
 * [A-Za-z0-9_./-]{1,255} and do not contain ".."; relative ones resolve
 * against the directory of the testbed file (testbed_t.*_path).
 * A vm's name is at most 8 bytes (its tap device on the parent is "cntbvm-NAME").
 */
#ifndef CNTB_TESTBED_H
#define CNTB_TESTBED_H

#define TB_MAX_HOSTS 1024     /* hosts in one testbed file (1..TB_MAX_HOSTS) */

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char name[32];
    char kind[16];        /* "bare-metal" or "vm" */
    char address[16];     /* IPv4 underlay address, dotted quad */
    char netns[64];       /* emulated host's namespace, "" for a real host */
    char parent[32];      /* vm only: the host it runs on */
    int vcpus;            /* vm only: virtual CPUs, 1..64 (default 1) */
    int memory_mb;        /* vm only: guest memory, MiB, 128..65536 (default 384) */
    char image[256];      /* vm only: image directory on the parent, "" = the agent's default */
    int boot_timeout_s;   /* vm only: seconds from QEMU's start to the VM agent's HELLO (default 120) */
    char ssh_user[32];    /* default "root" */
    int ssh_port;         /* default 22 */
} testbed_host_t;

typedef struct {
    char name[8];
    bool emulated;
    char ctl_address[16]; /* where agents connect */
    int ctl_port;         /* 1..65535 */
    int kv_count;
    char kv_endpoints[8][128];
    int host_count;
    testbed_host_t *hosts; /* host_count entries, owned */
    char kv_kind[16];      /* "etcd" (the default when kv is given), "" without kv */
    char keys[256];        /* "keys" as written, "" = control plane without CURVE */
    char ssh_key[256];     /* "ssh.key" as written, "" = none */
    char ssh_known_hosts[256]; /* "ssh.known_hosts" as written, "" = none */
    char keys_path[1024];  /* keys resolved against the file's directory ("" when unset) */
    char ssh_key_path[1024];
    char ssh_known_hosts_path[1024];
} testbed_t;

/*
 * Reads and validates a testbed file.  Returns a fresh testbed (free with
 * testbed_destroy) or NULL with "FILE:LINE:COL: PATH: msg" in err
 * (FERR_MAX bytes).  Refuses unknown keys, wrong types, bad names and
 * addresses, duplicate host names, a vm without an existing parent.
 */
testbed_t *testbed_load_file(const char *path, char *err);

/* As testbed_load_file from text of len bytes; `file` names it in errors. */
testbed_t *testbed_load_text(const char *file, const char *text, size_t len, char *err);

/*
 * Writes the testbed to path atomically (temporary file + rename), pretty
 * printed.  Returns 0, or -1 with a message in err (FERR_MAX bytes).
 */
int testbed_write_file(const testbed_t *self, const char *path, char *err);

/* Returns the host named `name` (borrowed) or NULL. */
const testbed_host_t *testbed_host(const testbed_t *self, const char *name);

/* Frees the testbed and sets *self_p to NULL; accepts NULL. */
void testbed_destroy(testbed_t **self_p);

#endif
