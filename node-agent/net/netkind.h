/*
 * netkind.h — the interface every network kind implements (one file each:
 * host.c, bridge.c, ...), after BIRD's `struct protocol`: a table of hooks.
 *
 * A run places a client container and a server container.  On a same-host
 * run one agent holds both; on a cross-host run the client's host and the
 * server's host each build their half.  The agent calls setup() once per run
 * with what this host holds, and teardown() always, even after a failed or
 * partial setup.  Everything setup() creates carries the run in its name:
 *   namespaces   cntb-<testbed>-<run>-<role>     (role: client, server, pod)
 *   links        cntb<run>-<suffix>              (<= 15 bytes)
 * so that netkind_leaks() finds what teardown missed.
 */
#ifndef CNTB_NETKIND_H
#define CNTB_NETKIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETKIND_ERR_MAX 256

typedef struct {
    /* inputs */
    int64_t run;               /* run id, >= 1 */
    char testbed[8];           /* testbed name, for namespace names */
    char placement[16];        /* "same-host" | "cross-host" */
    bool has_client;           /* this host holds the client container */
    bool has_server;           /* this host holds the server container */
    char underlay_if[16];      /* this host's underlay link, e.g. "eth0" */
    char underlay_addr[16];    /* this host's underlay IPv4 address */
    char peer_addr[16];        /* cross-host: the other host's underlay address */
    /* outputs of setup() */
    char client_netns[64];     /* namespace to run the client in, "" = the agent's own */
    char server_netns[64];     /* namespace to run the server in, "" = the agent's own */
    char server_addr[16];      /* address the server listens on and the client connects to */
    int mtu;                   /* MTU of the client's path (bytes), 0 unknown */
    /* inputs of the inter-host kinds (nat, overlay, routing) */
    char host[32];             /* this host's name in the testbed (keys, file names) */
    int port;                  /* the run's server port, 1..65535 (nat publishes it), 0 unknown */
    int mtu_override;          /* params.mtu: the overlay MTU asked for (bytes), 0 = derive */
    char kv_kind[16];          /* the testbed's KV store: "etcd", "" = none */
    char kv_endpoint[128];     /* its client URL, e.g. "http://198.18.7.254:2379" */
    int bgp_asn;               /* routing: this host's ASN (private, RFC 6996), 0 = none */
    char bgp_router_id[16];    /* routing: this host's router id (dotted quad) */
    int npeers;                /* routing: entries of peers */
    struct {
        char addr[16];         /* the peer host's underlay IPv4 address */
        int asn;               /* its ASN */
    } peers[4];
    /* Called now and then (about every 200 ms) while setup() waits for other
     * hosts, so that the agent keeps its controller informed; may be NULL. */
    void (*keepalive)(void *arg);
    void *keepalive_arg;
    /* outputs of setup() of the inter-host kinds */
    char server_bind[16];      /* address the server binds when it is not server_addr (nat) */
    double convergence_ms;     /* overlay/routing: time until the peers were programmed, ms; 0 = n/a */
} netkind_ctx_t;

typedef struct {
    const char *name;          /* matrix value of `network` */
    /* 1 when this host can build the kind; 0 with the reason in reason. */
    int (*capability)(char *reason, size_t len);
    /* 1 when the kind supports the placement ("same-host"/"cross-host"). */
    bool (*supports)(const char *placement);
    /* Builds this host's part.  0, or -1 with err (NETKIND_ERR_MAX bytes). */
    int (*setup)(netkind_ctx_t *ctx, char *err);
    /* Removes everything of the run; idempotent.  0, or -1 with err. */
    int (*teardown)(netkind_ctx_t *ctx, char *err);
} netkind_t;

/* The kind named `name` (static table) or NULL. */
const netkind_t *netkind_find(const char *name);

/* The NULL-terminated table of all kinds (static). */
const netkind_t *const *netkind_all(void);

/* Fills ns (64 bytes) with "cntb-<testbed>-<run>-<role>". */
void netkind_netns_name(char *ns, const char *testbed, int64_t run, const char *role);

/*
 * Lists what is left of run `run` of testbed: namespaces named
 * "cntb-<testbed>-<run>-*" and links in the agent's namespace named
 * "cntb<run>-*".  Writes a comma-separated list into out (len bytes; "" when
 * none) and returns the number of leftovers, or -1.
 */
int netkind_leaks(const char *testbed, int64_t run, char *out, size_t len);

/*
 * As netkind_leaks, but namespaces "...-client" / "...-server" count only
 * when this host holds that container (client / server true): hosts made of
 * namespaces on one machine (the emulated testbed) see each other's.
 */
int netkind_leaks_held(const char *testbed, int64_t run, bool client, bool server, char *out,
                       size_t len);

#endif
