/*
 * agent.h — cntb-agent: executes the steps the controller sends, keyed by run.
 *
 * The agent connects out to the controller (DEALER, identity = host name),
 * says HELLO with its capabilities and a metadata snapshot, then answers
 * SETUP, START and TEARDOWN.  It never decides what to run.  Each step is
 * idempotent for a run id: a repeated SETUP answers SETUP_OK again, a
 * TEARDOWN of an unknown run answers TEARDOWN_OK.  A RESULT is kept and
 * re-sent every resend interval until RESULT_ACK arrives, so a reconnect
 * loses nothing.
 */
#ifndef CNTB_AGENT_H
#define CNTB_AGENT_H

typedef struct {
    const char *endpoint;     /* "tcp://198.18.7.254:7707" */
    const char *host;         /* host name, [A-Za-z0-9_.-]{1,31} */
    const char *kind;         /* "bare-metal" or "vm" */
    const char *underlay_if;  /* e.g. "eth0" */
    const char *underlay_addr;/* this host's underlay IPv4 address */
    const char *traffic_path; /* path of cntb-traffic */
    const char *cert_path;    /* own CURVE certificate (agent_auth.h), NULL = no CURVE */
    const char *controller_cert_path; /* the controller's public certificate */
    const char *state_dir;    /* run journal directory (agent_clean.h), NULL = none */
    /* kind vm: what the guest reports about itself (from its kernel command line) */
    const char *parent;       /* the host the VM runs on, NULL for bare metal */
    const char *vm_accel;     /* "kvm" or "tcg", NULL when unknown */
    int vm_vcpus;             /* 0 when unknown */
    int vm_memory_mb;         /* MiB, 0 when unknown */
    /* hosts that start VMs (VM_START, vm.h) */
    const char *vm_image;     /* directory with vmlinuz and initrd.img */
    const char *accel;        /* "auto", "kvm" or "tcg" */
} agent_config_t;

/*
 * Runs the agent until SIGTERM/SIGINT; tears down every run it still holds
 * before returning.  Returns 0 on a clean stop, -1 when it could not start
 * (logged).
 */
int agent_run(const agent_config_t *config);

#endif
