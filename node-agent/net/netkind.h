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

#include "param.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETKIND_ERR_MAX 256

#define NETKIND_PAIRS_MAX PARAM_PAIRS_MAX /* client/server pairs per run (proto/param.h) */

/* One client/server pair of a run: where each end lives and talks. */
typedef struct {
    char client_netns[64];     /* namespace of the client, "" = the agent's own */
    char server_netns[64];     /* namespace of the server, "" = the agent's own */
    char client_addr[16];      /* client's address, "" when the kind gives none */
    char server_addr[16];      /* address the server listens on and the client connects to */
} netkind_pair_t;

typedef struct {
    /* inputs */
    int64_t run;               /* run id, >= 1 */
    char testbed[8];           /* testbed name, for namespace names */
    char placement[16];        /* "same-host" | "cross-host" */
    bool has_client;           /* this host holds the client containers */
    bool has_server;           /* this host holds the server containers */
    char underlay_if[16];      /* this host's underlay link, e.g. "eth0" */
    char underlay_addr[16];    /* this host's underlay IPv4 address */
    bool underlay_routed;      /* underlay_if reaches the other hosts through a router that
                                  answers ARP for them by proxy, not through a switch: a
                                  cntb VM's eth0 on its parent's tap (docs/vm.md) */
    char peer_addr[16];        /* cross-host: the other host's underlay address */
    int pairs;                 /* client/server pairs, 1..NETKIND_PAIRS_MAX */
    char macvlan_mode[12];     /* bridge|private|vepa|passthru|source */
    char ipvlan_mode[8];       /* l2|l3|l3s */
    int mtu_req;               /* container-side MTU asked for (bytes), 0 = the mode's default */
    int underlay_mtu;          /* MTU of underlay_if (bytes), 0 unknown; filled before refuse() */
    /* outputs of setup() */
    netkind_pair_t pair[NETKIND_PAIRS_MAX];
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
    /* 1 when the kind supports the placement ("same-host"/"cross-host"): every
     * kind answers from the one table the controller validates matrices with
     * (proto/netplace.c). */
    bool (*supports)(const char *placement);
    /*
     * Pure check of the run's inputs before anything is built: 1 when this
     * combination can never carry the traffic (a mode that cannot reach its
     * peer, an MTU the mode does not allow), with a one-line reason in reason
     * (len bytes); 0 when it may be built.  May be NULL (never refuses).
     * The agent answers SETUP with ERROR stage "skip" and the reason, and the
     * controller ends the run as skipped.
     */
    int (*refuse)(const netkind_ctx_t *ctx, char *reason, size_t len);
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
 * The run's container subnet "198.19.S.0/24" with S = run % 254 + 1 (a host
 * runs one run at a time; 198.18.0.0/15 is RFC 2544's benchmarking range and
 * the emulated underlay uses 198.18.X.0/24) into out (32 bytes), and the
 * address of host number `host` (1..254) in it.
 */
void netkind_subnet(char *out, int64_t run);
void netkind_addr(char *out, int64_t run, int host);

/*
 * The conventional role names and addresses of pair i (0-based) of a run:
 * namespace role "client<i>" / "server<i>" (pair 0: "client" / "server", the
 * names of the walking skeleton), client .(2+2i), server .(3+2i) of the run's
 * subnet.  out 64 / 16 bytes.
 */
void netkind_pair_role(char *out, const char *role, int i);

/*
 * A locally administered unicast MAC for (run, pair, server?) so that both
 * hosts of a cross-host run know each other's MACs: 02:cb:RR:RR:PP:0S.
 * out 18 bytes.
 */
void netkind_mac(char *out, int64_t run, int pair, bool server);

/*
 * The link group (IFLA_GROUP) of run `run`'s links in the agent's namespace:
 * 0x636e0000 | (run & 0xffff) ("cn" in the high bytes, away from the small
 * numbers people give groups by hand; a host runs one run at a time, so 16
 * bits of the run id keep concurrent runs apart).  Never 0, the default group.
 */
unsigned netkind_link_group(int64_t run);

/*
 * Lists what is left of run `run` of testbed: namespaces named
 * "cntb-<testbed>-<run>-*", links in the agent's namespace named
 * "cntb<run>-*", and addresses and routes in the agent's namespace inside
 * the run's subnet (netkind_subnet).  Writes a comma-separated list into out (len bytes; "" when
 * none) and returns the number of leftovers, or -1.
 */
int netkind_leaks(const char *testbed, int64_t run, char *out, size_t len);

/*
 * Removes everything of ctx's run: the run's link group
 * (netkind_link_group) of the agent's namespace in one batch, then links
 * "cntb<run>-*" that are not in it (bridges last), then the namespaces
 * "cntb-<testbed>-<run>-*" of the containers ctx holds (client and pod
 * namespaces with has_client, server ones with has_server).
 * Idempotent, the teardown of every kind.  0, or -1 with err
 * (NETKIND_ERR_MAX bytes) naming `what` (the kind) and the first failure.
 */
int netkind_remove_all(const netkind_ctx_t *ctx, const char *what, char *err);

/*
 * MTU rule shared by the refuse() hooks: mtu_req 0 (the default) passes;
 * else it must be >= 68 (RFC 791's minimum IPv4 MTU) and <= max (the mode's
 * limit in bytes, 0 = none).  1 = refused with the reason (len bytes), 0 = ok.
 */
int netkind_mtu_check(const char *what, int mtu_req, int max, char *reason, size_t len);

/*
 * Whether a host holding the client containers (client) and/or the server
 * containers (server) of a run holds the container namespace of role `role`
 * (what follows "cntb-<testbed>-<run>-"): "server*" (server, server1, ...)
 * with server, "client*" and "pod*" with client, anything else with either.
 * The one rule of teardown (netkind_remove_all) and of the leak check
 * (netkind_leaks_held), so that neither reports or removes what the other
 * leaves to the other host.
 */
bool netkind_role_held(const char *role, bool client, bool server);

/*
 * As netkind_leaks, but a namespace counts only when this host holds it
 * (netkind_role_held with client / server): hosts made of namespaces on one
 * machine (the emulated testbed) see each other's.
 */
int netkind_leaks_held(const char *testbed, int64_t run, bool client, bool server, char *out,
                       size_t len);

/*
 * refuse() rule of the inter-host kinds (nat, overlay, routing): one
 * client/server pair per run.  1 = refused with the reason (len bytes) naming
 * `what` (the kind), 0 = ok.
 */
int netkind_refuse_pairs(const netkind_ctx_t *ctx, const char *what, char *reason, size_t len);

#endif
