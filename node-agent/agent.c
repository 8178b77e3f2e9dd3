/*
 * agent.c — the node agent's event loop.
 *
 * One czmq zloop: the DEALER socket to the controller, a 1 s timer
 * (heartbeat, HELLO again when the controller has been silent, RESULT
 * re-sends), and a 20 ms timer draining the pipes of cntb-traffic processes.
 * Traffic processes are started with fork + setns into the container's
 * namespace (+ sched_setaffinity when the run pins CPUs) + execv of an
 * argument vector: no shell ever sees a string from a message.  Steps are
 * idempotent per run id (see agent.h).
 *
 * A run has `pairs` client/server pairs (1..64): pair i's server listens on
 * port + i in its own container; one START server starts all servers and is
 * answered once all listen; one START client starts all clients, and when
 * the last one ends the agent sends ONE RESULT whose metrics are the pairs'
 * sums (throughput, retransmits, transactions) or means (everything else)
 * and which lists every pair's own metrics under "pairs" (agent_result.h).
 *
 * setup_ms runs from SETUP received until every client container reaches
 * its server's address: a TCP connect from inside the client's namespace to
 * a port nobody listens on, which an RST (ECONNREFUSED) or an accept
 * answers only once links, addresses and neighbours work end to end.
 *
 * A host agent also starts and stops nested VMs on VM_START / VM_STOP
 * (vm.h); the 1 s timer notices a QEMU that exited by itself and reports it
 * with VM_STOPPED.
 */
#include "agent.h"
#include "agent_auth.h"
#include "agent_clean.h"
#include "agent_cgroup.h"

#include "agent_result.h"
#include "agent_meta.h"
#include "agent_traffic.h"
#include "traffic.h"
#include "log.h"
#include "netkind.h"
#include "nl.h"
#include "param.h"
#include "proto.h"
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AGENT_RUNS_MAX 32
#define AGENT_VMS_MAX 8
#define AGENT_SILENCE_MS 5000   /* controller silent this long: say HELLO again */
/* No WELCOME this long over a socket that never had one: close it and open a
 * new one.  A controller whose ZAP handler refuses the certificate drops the
 * handshake without a word.  A socket that was welcomed once is kept: after a
 * partition its TCP connection resumes, and a new connection under the same
 * identity would be refused by the controller's ROUTER while the old one is
 * open. */
#define AGENT_REDIAL_MS 10000
#define AGENT_RESEND_MS 2000    /* unacknowledged RESULT re-sent this often */
#define AGENT_PIPE_MS 20        /* traffic process pipes drained this often */
#define AGENT_OUT_MAX (4 * 1024 * 1024) /* bytes of cntb-traffic stdout kept */
#define AGENT_PROBE_MS 3000     /* setup probe: give up on reachability after this long */
#define AGENT_PROBE_PORT 9      /* discard (RFC 863): nobody listens in a fresh container */

typedef struct {
    pid_t pid;
    int out_fd;               /* stdout pipe, -1 when closed */
    int err_fd;               /* stderr pipe (non-blocking), -1 when closed */
    char *out;                /* what stdout gave so far */
    size_t out_len, out_cap;
    char err_text[512];       /* last stderr text, for error messages */
} agent_proc_t;

typedef struct {
    bool used;
    int64_t run;
    const netkind_t *kind;
    netkind_ctx_t ctx;
    bool built;               /* setup() succeeded */
    double setup_ms;          /* SETUP received -> every client reaches its server (ms) */
    int npairs;               /* 1..NETKIND_PAIRS_MAX */
    agent_proc_t server[NETKIND_PAIRS_MAX], client[NETKIND_PAIRS_MAX];
    bool ready[NETKIND_PAIRS_MAX];          /* server i listens */
    json_t *pres[NETKIND_PAIRS_MAX];        /* client i's result (owned) */
    int cpu_server[NETKIND_PAIRS_MAX];      /* core pinned, -1 = not pinned */
    int cpu_client[NETKIND_PAIRS_MAX];
    int clients_done;
    bool server_ready;        /* all servers listen, START_OK sent */
    bool client_failed;       /* an ERROR went out for a client */
    json_t *result;           /* RESULT body kept until acknowledged (owned) */
    int result_seq;
    int64_t result_sent_ms;
    char cgroup[AGENT_CGROUP_ERR_MAX + 8]; /* applied.cgroup: "v1", "v2" or "none: why" */
} agent_run_t;

typedef struct {
    char name[16];            /* "" = free slot */
    vm_t *vm;                 /* owned */
    int vcpus, memory_mb;
} agent_vm_t;

typedef struct {
    const agent_config_t *cfg;
    agent_vm_t vms[AGENT_VMS_MAX];
    zsock_t *sock;
    zloop_t *loop;
    char testbed[8];
    bool welcomed;
    bool cleaned;             /* leftovers of earlier runs removed (first WELCOME) */
    int64_t last_heard_ms;
    int64_t unwelcomed_ms;      /* since when no WELCOME (0: welcomed); see AGENT_REDIAL_MS */
    bool sock_welcomed;         /* a WELCOME came over this socket (then it is never redialled) */
    agent_run_t *runs;        /* AGENT_RUNS_MAX, owned */
    char kv_kind[16];         /* the testbed's KV store (WELCOME), "" = none */
    char kv_endpoint[128];    /* its first client URL */
    agent_cgroup_sys_t cg;    /* where containers' cgroups go (probed at start) */
} agent_t;

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
proc_init(agent_proc_t *p)
{
    memset(p, 0, sizeof *p);
    p->pid = -1;
    p->out_fd = p->err_fd = -1;
}

static agent_run_t *
run_find(agent_t *self, int64_t run, bool create)
{
    for (int i = 0; i < AGENT_RUNS_MAX; i++)
        if (self->runs[i].used && self->runs[i].run == run)
            return &self->runs[i];
    if (!create)
        return NULL;
    for (int i = 0; i < AGENT_RUNS_MAX; i++)
        if (!self->runs[i].used) {
            agent_run_t *r = &self->runs[i];
            memset(r, 0, sizeof *r);
            r->used = true;
            r->run = run;
            r->npairs = 1;
            for (int k = 0; k < NETKIND_PAIRS_MAX; k++) {
                proc_init(&r->server[k]);
                proc_init(&r->client[k]);
                r->cpu_server[k] = r->cpu_client[k] = -1;
            }
            return r;
        }
    return NULL;
}

static void
send_error(agent_t *self, int64_t run, const char *stage, const char *message)
{
    log_warn("run %" PRId64 " %s: %s", run, stage, message);
    json_t *b = json_pack("{s:s, s:s}", "message", message, "stage", stage);
    if (run > 0)
        json_object_set_new(b, "run", json_integer(run));
    proto_send(self->sock, NULL, MSG_ERROR, b);
}

/* Capabilities are probed once (links are created and deleted) and kept. */
static json_t *
capabilities(void)
{
    static json_t *cached;
    if (cached)
        return json_incref(cached);
    json_t *networks = json_object(), *unavailable = json_object();
    for (const netkind_t *const *k = netkind_all(); *k; k++) {
        char reason[256] = "";
        if ((*k)->capability(reason, sizeof reason) == 1) {
            json_t *pl = json_array();
            if ((*k)->supports("same-host"))
                json_array_append_new(pl, json_string("same-host"));
            if ((*k)->supports("cross-host"))
                json_array_append_new(pl, json_string("cross-host"));
            json_object_set_new(networks, (*k)->name, pl);
        } else {
            json_object_set_new(unavailable, (*k)->name, json_string(reason));
        }
    }
    cached = json_pack("{s:o, s:o, s:o}", "networks", networks, "unavailable", unavailable,
                       "traffic", agent_traffic_kinds());
    return json_incref(cached);
}

/* Kind vm: {accel, vcpus, memory_mb, parent} as the guest knows them (fresh), else NULL. */
static json_t *
vm_self_info(agent_t *self)
{
    const agent_config_t *c = self->cfg;
    if (strcmp(c->kind, "vm") != 0)
        return NULL;
    json_t *o = json_object();
    if (c->vm_accel && c->vm_accel[0])
        json_object_set_new(o, "accel", json_string(c->vm_accel));
    if (c->vm_vcpus > 0)
        json_object_set_new(o, "vcpus", json_integer(c->vm_vcpus));
    if (c->vm_memory_mb > 0)
        json_object_set_new(o, "memory_mb", json_integer(c->vm_memory_mb));
    if (c->parent && c->parent[0])
        json_object_set_new(o, "parent", json_string(c->parent));
    return o;
}

static void
send_hello(agent_t *self)
{
    json_t *meta = agent_meta_snapshot(self->cfg->underlay_if) ?: json_object();
    json_object_set_new(meta, "pid", json_integer((int) getpid())); /* cntb deploy waits for this agent */
    json_t *vm = vm_self_info(self);
    if (vm)
        json_object_set(meta, "vm", vm);
    json_t *b = json_pack("{s:i, s:s, s:s, s:o, s:o}", "proto", PROTO_VERSION, "host",
                          self->cfg->host, "kind", self->cfg->kind, "capabilities",
                          capabilities(), "meta", meta);
    if (self->cfg->parent && self->cfg->parent[0])
        json_object_set_new(b, "parent", json_string(self->cfg->parent));
    json_decref(vm);
    proto_send(self->sock, NULL, MSG_HELLO, b);
}

/*
 * Puts a container process into its cgroup (agent_cgroup.h): creates
 * cntb-<testbed>-<run>-<role> (cpuset.cpus = cpu when pinned, -1 = not) and
 * moves pid into it.  Without cgroup support, or when that fails, the run
 * goes on without and r->cgroup says why (applied.cgroup of the result).
 */
static void
proc_cgroup(agent_t *self, agent_run_t *r, const char *role, int cpu, pid_t pid)
{
    char name[96], err[AGENT_CGROUP_ERR_MAX];
    if (self->cg.version == 0) {
        agent_cgroup_describe(&self->cg, r->cgroup, sizeof r->cgroup);
        return;
    }
    if (agent_cgroup_name(name, sizeof name, self->testbed, r->run, role) != 0) {
        snprintf(r->cgroup, sizeof r->cgroup, "none: no valid cgroup name for role %.32s", role);
        return;
    }
    if (agent_cgroup_create(&self->cg, name, cpu, err, sizeof err) != 0 ||
        agent_cgroup_join(&self->cg, name, pid, err, sizeof err) != 0) {
        if (strncmp(r->cgroup, "none", 4) != 0)
            log_warn("run %" PRId64 ": going on without cgroup: %s", r->run, err);
        snprintf(r->cgroup, sizeof r->cgroup, "none: %s", err);
        return;
    }
    if (!r->cgroup[0])
        agent_cgroup_describe(&self->cg, r->cgroup, sizeof r->cgroup);
}

/*
 * Starts cntb-traffic with argv inside namespace ns ("" = ours), pinned to
 * core cpu (sched_setaffinity(2) in the child before exec; -1 = not pinned),
 * in the cgroup of container `role` of run r (proc_cgroup): the child waits
 * on a pipe until the agent has moved it there, so the traffic engine runs
 * inside its cgroup from its first instruction.  0 or -1 with err.
 */
static int
proc_start(agent_t *self, agent_run_t *r, const char *role, agent_proc_t *p, const char *ns,
           int cpu, char **argv, char *err, size_t errlen)
{
    int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, go[2] = { -1, -1 };
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0 || pipe2(go, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        char e[NL_ERR_MAX], c;
        /* Dies with the agent (SIGKILL included): no traffic left running. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(go[1]);
        while (read(go[0], &c, 1) < 0 && errno == EINTR)
            ; /* in its cgroup once the agent writes (or closes: then it goes on without) */
        dup2(out[1], STDOUT_FILENO);
        dup2(errp[1], STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        if (ns && ns[0] && netns_enter(ns, e) != 0) {
            dprintf(STDERR_FILENO, "cannot enter namespace %s: %s\n", ns, e);
            _exit(126);
        }
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            if (sched_setaffinity(0, sizeof set, &set) != 0) {
                dprintf(STDERR_FILENO, "cannot pin to core %d: %s\n", cpu, strerror(errno));
                _exit(126);
            }
        }
        signal(SIGPIPE, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execv(argv[0], argv);
        dprintf(STDERR_FILENO, "cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(errp[1]);
    close(go[0]);
    proc_cgroup(self, r, role, cpu, pid);
    while (write(go[1], "g", 1) < 0 && errno == EINTR)
        ;
    close(go[1]);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    p->pid = pid;
    p->out_fd = out[0];
    p->err_fd = errp[0];
    p->out_len = 0;
    p->err_text[0] = '\0';
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
        if (go[i] >= 0)
            close(go[i]);
    }
    return -1;
}

/* Drains the stderr pipe into err_text (keeps the last line). */
static void
proc_read_err(agent_proc_t *p)
{
    if (p->err_fd < 0)
        return;
    char buf[512];
    ssize_t n;
    while ((n = read(p->err_fd, buf, sizeof buf - 1)) > 0) {
        buf[n] = '\0';
        char *end = buf + n;
        while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
            *--end = '\0';
        char *last = strrchr(buf, '\n');
        snprintf(p->err_text, sizeof p->err_text, "%s", last ? last + 1 : buf);
    }
}

/* Stops a process: SIGTERM, up to 2 s, then SIGKILL; closes its pipes. Returns its wait status or -1. */
static int
proc_stop(agent_proc_t *p)
{
    int status = -1;
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        for (int i = 0; i < 200; i++) {
            pid_t w = waitpid(p->pid, &status, WNOHANG);
            if (w == p->pid || (w < 0 && errno == ECHILD))
                break;
            if (i == 199) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, &status, 0);
            }
            usleep(10000);
        }
    }
    proc_read_err(p);
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    free(p->out);
    char keep[512];
    memcpy(keep, p->err_text, sizeof keep);
    proc_init(p);
    memcpy(p->err_text, keep, sizeof keep);
    return status;
}

static void
send_result(agent_t *self, agent_run_t *r)
{
    if (!r->result)
        return;
    proto_send(self->sock, NULL, MSG_RESULT, json_incref(r->result));
    r->result_sent_ms = now_ms();
}


/* Reads what the non-blocking pipe holds into p->out; returns 1 at EOF, 0 otherwise. */
static int
proc_read_out(agent_proc_t *p)
{
    if (p->out_fd < 0)
        return 0;
    for (;;) {
        if (p->out_cap - p->out_len < 4096) {
            size_t cap = p->out_cap ? p->out_cap * 2 : 16384;
            if (cap > AGENT_OUT_MAX + 4096)
                cap = AGENT_OUT_MAX + 4096;
            char *n = realloc(p->out, cap);
            if (!n)
                return 1;
            p->out = n;
            p->out_cap = cap;
        }
        if (p->out_cap - p->out_len <= 1)
            return 1; /* too much output: treat as the end */
        ssize_t n = read(p->out_fd, p->out + p->out_len, p->out_cap - p->out_len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0)
            return 1;
        p->out_len += (size_t) n;
        p->out[p->out_len] = '\0';
    }
}

static void
on_server_out(agent_t *self, agent_run_t *r, int i)
{
    agent_proc_t *p = &r->server[i];
    int eof = proc_read_out(p);
    if (!r->ready[i] && p->out && strchr(p->out, '\n')) {
        json_t *ev = json_loads(p->out, JSON_DISABLE_EOF_CHECK, NULL);
        const char *event = json_string_value(json_object_get(ev, "event"));
        if (event && strcmp(event, "listening") == 0)
            r->ready[i] = true;
        json_decref(ev);
    }
    if (!r->server_ready) {
        int n = 0;
        for (int k = 0; k < r->npairs; k++)
            n += r->ready[k];
        if (n == r->npairs) {
            r->server_ready = true;
            log_info("run %" PRId64 ": %d server(s) listening", r->run, n);
            proto_send(self->sock, NULL, MSG_START_OK,
                       json_pack("{s:I, s:s}", "run", (json_int_t) r->run, "role", "server"));
        }
    }
    if (eof) {
        int status = proc_stop(p);
        if (!r->ready[i]) {
            char msg[700];
            snprintf(msg, sizeof msg, "server %d exited before listening (status %d): %s", i,
                     status, p->err_text);
            send_error(self, r->run, "start", msg);
        }
    }
}

/* The cores used, for result.applied.cpus: {"client": [...], "server": [...]}. */
static json_t *
cpus_json(const agent_run_t *r)
{
    json_t *c = json_array(), *s = json_array();
    for (int i = 0; i < r->npairs; i++) {
        if (r->cpu_client[i] >= 0)
            json_array_append_new(c, json_integer(r->cpu_client[i]));
        if (r->cpu_server[i] >= 0 && r->ctx.has_server)
            json_array_append_new(s, json_integer(r->cpu_server[i]));
    }
    return json_pack("{s:o, s:o}", "client", c, "server", s);
}

static void
on_client_out(agent_t *self, agent_run_t *r, int i)
{
    agent_proc_t *p = &r->client[i];
    if (!proc_read_out(p))
        return;
    /* EOF: the client finished (or died). */
    char *out = p->out;
    size_t len = p->out_len;
    p->out = NULL;
    int status = proc_stop(p);
    json_error_t jerr;
    json_t *res = (out && len) ? json_loadb(out, len, 0, &jerr) : NULL;
    free(out);
    r->clients_done++;
    if (status != 0 || !json_is_object(res) || !json_is_object(json_object_get(res, "metrics"))) {
        char msg[800];
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
            snprintf(msg, sizeof msg, "cntb-traffic client %d exited with status %d: %s", i,
                     WEXITSTATUS(status), p->err_text);
        else if (WIFSIGNALED(status))
            snprintf(msg, sizeof msg, "cntb-traffic client %d killed by signal %d", i,
                     WTERMSIG(status));
        else
            snprintf(msg, sizeof msg, "cntb-traffic client %d gave no result: %s", i,
                     res ? "no metrics" : "invalid JSON");
        if (!r->client_failed)
            send_error(self, r->run, "client", msg);
        r->client_failed = true;
        json_decref(res);
        return;
    }
    /* A pair that measured nothing fails the run (CASES.md case 9), whatever its engine. */
    char why[300];
    if (traffic_result_gate(res, why, sizeof why) < 0) {
        char msg[400];
        if (r->npairs > 1)
            snprintf(msg, sizeof msg, "pair %d: %s", i, why);
        else
            snprintf(msg, sizeof msg, "%s", why);
        if (!r->client_failed)
            send_error(self, r->run, "client", msg);
        r->client_failed = true;
        json_decref(res);
        return;
    }
    json_decref(r->pres[i]);
    r->pres[i] = res;
    if (r->clients_done < r->npairs || r->client_failed)
        return;
    char err[256];
    json_t *sum = agent_result_combine(r->pres, r->npairs, err, sizeof err);
    if (!sum) {
        send_error(self, r->run, "client", err);
        return;
    }
    if (r->ctx.mtu > 0)
        json_object_set_new(sum, "mtu", json_integer(r->ctx.mtu));
    json_object_set_new(sum, "setup_ms", json_real(r->setup_ms));
    json_object_set_new(json_object_get(sum, "metrics"), "setup_ms", json_real(r->setup_ms));
    json_t *applied = json_object_get(sum, "applied");
    if (!json_is_object(applied)) {
        applied = json_object();
        json_object_set_new(sum, "applied", applied);
    }
    json_object_set_new(applied, "cpus", cpus_json(r));
    json_object_set_new(applied, "pairs", json_integer(r->npairs));
    if (r->cgroup[0])
        json_object_set_new(applied, "cgroup", json_string(r->cgroup));
    if (r->ctx.convergence_ms > 0)
        json_object_set_new(json_object_get(sum, "metrics"), "convergence_ms",
                            json_real(r->ctx.convergence_ms));
    json_t *vm = vm_self_info(self);
    if (vm)
        json_object_set_new(sum, "vm", vm);
    json_decref(r->result);
    r->result_seq = 1;
    r->result = json_pack("{s:I, s:i, s:s, s:o}", "run", (json_int_t) r->run, "seq",
                          r->result_seq, "role", "client", "result", sum);
    log_info("run %" PRId64 ": %d client(s) done, %.3g bit/s", r->run, r->npairs,
             json_number_value(json_object_get(json_object_get(sum, "metrics"),
                                               "throughput_bps")));
    send_result(self, r);
}

/*
 * Every AGENT_PIPE_MS: drains the pipes of running traffic processes.  A timer
 * rather than zloop pollers keeps fd reuse between runs out of the loop's poll
 * set; 20 ms is small against a run's seconds.
 */
static int
on_pipes(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    agent_t *self = arg;
    for (int i = 0; i < AGENT_RUNS_MAX; i++) {
        agent_run_t *r = &self->runs[i];
        if (!r->used)
            continue;
        for (int k = 0; k < r->npairs; k++) {
            if (r->server[k].out_fd >= 0)
                on_server_out(self, r, k);
            if (r->client[k].out_fd >= 0)
                on_client_out(self, r, k);
        }
    }
    return 0;
}

/*
 * One reachability attempt from namespace ns to addr:AGENT_PROBE_PORT,
 * waiting up to wait_ms: 1 when the server's stack answered (connected, or
 * refused by an RST), 0 when not yet (timeout, no route, unreachable), -1
 * when no socket could be made (err).
 */
static int
probe_once(const char *ns, const char *addr, int wait_ms, char *err)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(AGENT_PROBE_PORT) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(err, NL_ERR_MAX, "probe: %s is not an IPv4 address", addr);
        return -1;
    }
    int fd = netns_socket(ns, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, err);
    if (fd < 0)
        return -1;
    int ret = 0;
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
        ret = 1;
    } else if (errno == ECONNREFUSED) {
        ret = 1;
    } else if (errno == EINPROGRESS) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        if (poll(&pfd, 1, wait_ms) == 1) {
            int e = 0;
            socklen_t l = sizeof e;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
            ret = (e == 0 || e == ECONNREFUSED) ? 1 : 0;
            if (!ret)
                usleep(20000); /* an ICMP error came back at once: do not spin */
        }
    } else {
        usleep(20000);
    }
    close(fd);
    return ret;
}

/* Waits until every pair's client container reaches its server (see the top). 0 or -1 with err. */
static int
probe_pairs(agent_run_t *r, int64_t deadline_ms, char *err, size_t errlen)
{
    char e[NL_ERR_MAX];
    for (int i = 0; i < r->npairs; i++) {
        const netkind_pair_t *p = &r->ctx.pair[i];
        /* The inter-host kinds (nat, overlay, routing) give the client's host no
         * server address before START: they wait for their own convergence
         * (convergence_ms), and setup_ms is this host's build time. */
        if (!p->server_addr[0])
            continue;
        for (;;) {
            int64_t left = deadline_ms - now_ms();
            /* A probe that never answers lasts AGENT_PROBE_MS, as long as the
             * controller's CTL_AGENT_SILENCE_MS: without a beat the run would
             * fail as "agent lost" instead of with the reason below. */
            if (r->ctx.keepalive)
                r->ctx.keepalive(r->ctx.keepalive_arg);
            int rc = probe_once(p->client_netns, p->server_addr, left > 200 ? 200 : (int) left, e);
            if (rc < 0) {
                snprintf(err, errlen, "pair %d: %s", i, e);
                return -1;
            }
            if (rc == 1)
                break;
            if (now_ms() >= deadline_ms) {
                snprintf(err, errlen,
                         "pair %d: client container %s cannot reach server address %s within "
                         "%d ms",
                         i, p->client_netns[0] ? p->client_netns : "(host)", p->server_addr,
                         AGENT_PROBE_MS);
                return -1;
            }
        }
    }
    return 0;
}

/* At most one keepalive HEARTBEAT per this many ms: a third of the controller's
 * CTL_AGENT_SILENCE_MS (3 s) at most, so that one late beat does not lose it. */
#define AGENT_KEEPALIVE_MS 500

/* netkind_ctx_t.keepalive: a HEARTBEAT while a setup waits for other hosts,
 * and while the agent starts or stops many traffic processes one after the
 * other (64 pairs x 128 streams: each fork, cgroup move and exec competes
 * with the connections already open, seconds in all),
 * so that the controller does not count this agent as gone (it does after
 * CTL_AGENT_SILENCE_MS); the controller's own heartbeats queue meanwhile and
 * are read after the setup, so its silence is not held against it either. */
static void
setup_keepalive(void *arg)
{
    agent_t *self = arg;
    int64_t now = now_ms();
    static int64_t last;
    if (now - last < AGENT_KEEPALIVE_MS)
        return;
    last = now;
    proto_send(self->sock, NULL, MSG_HEARTBEAT, NULL);
    self->last_heard_ms = now;
}

/* Fills the inter-host inputs of c from a SETUP body b. */
static void
setup_interhost(agent_t *self, netkind_ctx_t *c, json_t *b)
{
    snprintf(c->host, sizeof c->host, "%s", self->cfg->host);
    c->port = (int) json_integer_value(json_object_get(b, "port"));
    c->mtu_override = (int) json_integer_value(json_object_get(json_object_get(b, "params"), "mtu"));
    snprintf(c->kv_kind, sizeof c->kv_kind, "%s", self->kv_kind);
    snprintf(c->kv_endpoint, sizeof c->kv_endpoint, "%s", self->kv_endpoint);
    json_t *bgp = json_object_get(b, "bgp");
    c->bgp_asn = (int) json_integer_value(json_object_get(bgp, "asn"));
    snprintf(c->bgp_router_id, sizeof c->bgp_router_id, "%s",
             json_string_value(json_object_get(bgp, "router_id")) ?: "");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(bgp, "peers"), i, p) {
        if (c->npeers >= (int) (sizeof c->peers / sizeof c->peers[0]))
            break;
        const char *addr = json_string_value(json_object_get(p, "addr"));
        if (!addr)
            continue;
        snprintf(c->peers[c->npeers].addr, sizeof c->peers[0].addr, "%s", addr);
        c->peers[c->npeers].asn = (int) json_integer_value(json_object_get(p, "asn"));
        c->npeers++;
    }
    c->keepalive = setup_keepalive;
    c->keepalive_arg = self;
}

static void
send_setup_ok(agent_t *self, agent_run_t *r)
{
    json_t *ok = json_pack("{s:I, s:i, s:f}", "run", (json_int_t) r->run, "mtu", r->ctx.mtu,
                           "setup_ms", r->setup_ms);
    if (r->ctx.has_server && r->ctx.pair[0].server_addr[0])
        json_object_set_new(ok, "server_addr", json_string(r->ctx.pair[0].server_addr));
    if (proto_send(self->sock, NULL, MSG_SETUP_OK, ok) != 0) /* never leave the barrier waiting */
        send_error(self, r->run, "setup", "SETUP_OK could not be encoded (see the agent's log)");
}

/*
 * Reads the run's network parameters from SETUP's params into c, each
 * checked against its row of proto/param.c; absent ones take the row's
 * default.  0, or -1 with a reason (out of range).
 */
static int
setup_params(netkind_ctx_t *c, const json_t *params, char *err, size_t len)
{
    static const char *const ints[] = { "pairs", "mtu" };
    json_t *v;
    int val[2];

    for (int i = 0; i < 2; i++) {
        const param_t *p = param_find(ints[i]);

        val[i] = (int) p->def_int;
        if ((v = json_object_get(params, ints[i])) == NULL)
            continue;
        if (!json_is_integer(v) || !param_num_ok(p, (double) json_integer_value(v))) {
            snprintf(err, len, "params.%s must be an integer %lld..%lld", p->name, p->min, p->max);
            return -1;
        }
        val[i] = (int) json_integer_value(v);
    }
    c->pairs = val[0];
    c->mtu_req = val[1];
    const char *m = json_string_value(json_object_get(params, "macvlan_mode"));
    snprintf(c->macvlan_mode, sizeof c->macvlan_mode, "%s", m ? m : param_default_str("macvlan_mode"));
    m = json_string_value(json_object_get(params, "ipvlan_mode"));
    snprintf(c->ipvlan_mode, sizeof c->ipvlan_mode, "%s", m ? m : param_default_str("ipvlan_mode"));
    return 0;
}

/* Core of each traffic process when pinning: client i on 2i, server i on 2i+1, modulo the cores we may use. */
static void
plan_cpus(agent_run_t *r, bool pin)
{
    cpu_set_t set;
    int allowed[CPU_SETSIZE], n = 0;
    if (pin && sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set))
                allowed[n++] = c;
    for (int i = 0; i < r->npairs; i++) {
        r->cpu_client[i] = n ? allowed[(2 * i) % n] : -1;
        r->cpu_server[i] = n ? allowed[(2 * i + 1) % n] : -1;
    }
}

static void
handle_setup(agent_t *self, json_t *b)
{
    int64_t t0 = now_ms();
    int64_t run = json_integer_value(json_object_get(b, "run"));
    const char *network = json_string_value(json_object_get(b, "network"));
    const char *placement = json_string_value(json_object_get(b, "placement"));
    const char *peer = json_string_value(json_object_get(b, "peer_addr"));
    json_t *params = json_object_get(b, "params");
    agent_run_t *r = run_find(self, run, false);
    if (r && r->built) { /* a repeated SETUP: answer again */
        send_setup_ok(self, r);
        return;
    }
    const netkind_t *kind = netkind_find(network);
    if (!kind) {
        send_error(self, run, "setup", "unknown network");
        return;
    }
    if (strcmp(placement, "same-host") != 0 && strcmp(placement, "cross-host") != 0) {
        send_error(self, run, "setup", "unknown placement");
        return;
    }
    if (!kind->supports(placement)) {
        send_error(self, run, "skip", "network does not support this placement");
        return;
    }
    netkind_ctx_t c;
    memset(&c, 0, sizeof c);
    c.run = run;
    snprintf(c.testbed, sizeof c.testbed, "%s", self->testbed);
    snprintf(c.placement, sizeof c.placement, "%s", placement);
    c.has_client = json_is_true(json_object_get(b, "client"));
    c.has_server = json_is_true(json_object_get(b, "server"));
    snprintf(c.underlay_if, sizeof c.underlay_if, "%s", self->cfg->underlay_if);
    snprintf(c.underlay_addr, sizeof c.underlay_addr, "%s", self->cfg->underlay_addr);
    c.underlay_routed = strcmp(self->cfg->kind, "vm") == 0;
    if (peer)
        snprintf(c.peer_addr, sizeof c.peer_addr, "%s", peer);
    setup_interhost(self, &c, b);
    char err[NETKIND_ERR_MAX] = "";
    if (setup_params(&c, params, err, sizeof err) != 0) {
        send_error(self, run, "setup", err);
        return;
    }
    if (c.underlay_if[0]) {
        char nlerr[NL_ERR_MAX];
        int mtu = nl_link_mtu(NULL, c.underlay_if, nlerr);
        c.underlay_mtu = mtu > 0 ? mtu : 0;
    }
    if (kind->refuse && kind->refuse(&c, err, sizeof err) == 1) {
        send_error(self, run, "skip", err);
        return;
    }
    if (!r)
        r = run_find(self, run, true);
    if (!r) {
        send_error(self, run, "setup", "too many runs in flight on this host");
        return;
    }
    if (agent_clean_journal_add(self->cfg->state_dir, run, c.has_client, c.has_server) != 0)
        log_warn("run %" PRId64 ": journal %s: %s", run, self->cfg->state_dir, strerror(errno));
    r->kind = kind;
    r->ctx = c;
    r->npairs = c.pairs;
    plan_cpus(r, json_is_true(json_object_get(params, "cpu_pinning")));
    if (kind->setup(&r->ctx, err) != 0) {
        char e2[NETKIND_ERR_MAX];
        kind->teardown(&r->ctx, e2);
        send_error(self, run, "setup", err[0] ? err : "setup failed");
        return;
    }
    /* CASES.md case 1: a datagram larger than the path's MTU - 28 would fragment.
     * The path MTU is known now; such a run is skipped with the reason unless
     * the matrix allows fragments (then the result is flagged fragmented). */
    if (r->ctx.has_client) {
        int udp = agent_traffic_check_udp(params, r->ctx.mtu, err, sizeof err);
        if (udp != 0) {
            send_error(self, run, udp > 0 ? "skip" : "setup", err);
            return;
        }
    }
    if (r->ctx.has_client && probe_pairs(r, t0 + AGENT_PROBE_MS, err, sizeof err) != 0) {
        send_error(self, run, "setup", err);
        return;
    }
    r->setup_ms = (double) (now_ms() - t0);
    r->built = true;
    log_info("run %" PRId64 ": %s %s, %d pair(s), set up in %.0f ms (client %d, server %d)", run,
             network, placement, r->npairs, r->setup_ms, r->ctx.has_client, r->ctx.has_server);
    send_setup_ok(self, r);
}

static void
handle_start(agent_t *self, json_t *b)
{
    int64_t run = json_integer_value(json_object_get(b, "run"));
    const char *role = json_string_value(json_object_get(b, "role"));
    int port = (int) json_integer_value(json_object_get(b, "port"));
    const char *server_addr = json_string_value(json_object_get(b, "server_addr"));
    json_t *params = json_object_get(b, "params");
    agent_run_t *r = run_find(self, run, false);
    if (!r || !r->built) {
        send_error(self, run, "start", "START for a run that is not set up");
        return;
    }
    if (port <= 0)
        port = 5300;
    if (port + r->npairs - 1 > 65535) {
        send_error(self, run, "start", "port + pairs exceeds 65535");
        return;
    }
    const char *tp = self->cfg->traffic_path;
    char err[256];
    if (strcmp(role, "server") == 0) {
        if (!r->ctx.has_server) {
            send_error(self, run, "start", "this host holds no server for the run");
            return;
        }
        if (r->server[0].pid > 0 || r->server_ready) {
            if (r->server_ready)
                proto_send(self->sock, NULL, MSG_START_OK,
                           json_pack("{s:I, s:s}", "run", (json_int_t) run, "role", "server"));
            return;
        }
        for (int i = 0; i < r->npairs; i++) {
            const netkind_pair_t *p = &r->ctx.pair[i];
            /* nat: the server binds its container address; clients connect to
             * the published port on the host's underlay address. */
            const char *bind = (i == 0 && r->ctx.server_bind[0]) ? r->ctx.server_bind
                               : p->server_addr[0]                ? p->server_addr
                                                                  : "0.0.0.0";
            char **argv = agent_traffic_argv(tp, "server", params, bind, port + i, r->ctx.mtu,
                                             err, sizeof err);
            if (!argv) {
                send_error(self, run, "start", err);
                return;
            }
            setup_keepalive(self);
            char role[64];
            netkind_pair_role(role, "server", i);
            int rc = proc_start(self, r, role, &r->server[i], p->server_netns, r->cpu_server[i],
                                argv, err, sizeof err);
            agent_traffic_argv_free(&argv);
            if (rc != 0) {
                send_error(self, run, "start", err);
                return;
            }
        }
        return;
    }
    if (strcmp(role, "client") != 0) {
        send_error(self, run, "start", "role must be server or client");
        return;
    }
    if (!r->ctx.has_client || !server_addr) {
        send_error(self, run, "start", "this host holds no client for the run, or no server_addr");
        return;
    }
    if (r->client[0].pid > 0 || r->clients_done > 0 || r->result) {
        send_result(self, r); /* repeated START: the result will come or came */
        return;
    }
    for (int i = 0; i < r->npairs; i++) {
        const netkind_pair_t *p = &r->ctx.pair[i];
        /* Pair 0 may follow the controller's word; the others' addresses
         * are the plan's, which both hosts share. */
        const char *to = p->server_addr[0] ? p->server_addr : server_addr;
        char **argv = agent_traffic_argv(tp, "client", params, to, port + i, r->ctx.mtu,
                                             err, sizeof err);
        if (!argv) {
            send_error(self, run, "start", err);
            return;
        }
        setup_keepalive(self);
        char role[64];
        netkind_pair_role(role, "client", i);
        int rc = proc_start(self, r, role, &r->client[i], p->client_netns, r->cpu_client[i], argv,
                            err, sizeof err);
        agent_traffic_argv_free(&argv);
        if (rc != 0) {
            send_error(self, run, "client", err);
            return;
        }
    }
    log_info("run %" PRId64 ": %d client(s) started towards %s:%d", run, r->npairs, server_addr,
             port);
    proto_send(self->sock, NULL, MSG_START_OK,
               json_pack("{s:I, s:s}", "run", (json_int_t) run, "role", "client"));
}

/* Stops processes, tears the network down, checks for leaks.  Fills leaks. */
static void
run_teardown(agent_t *self, agent_run_t *r, char *leaks, size_t len)
{
    for (int i = 0; i < NETKIND_PAIRS_MAX; i++) {
        setup_keepalive(self); /* up to 2 s per process that ignores SIGTERM */
        if (r->client[i].pid > 0 || r->client[i].out_fd >= 0)
            proc_stop(&r->client[i]);
        if (r->server[i].pid > 0 || r->server[i].out_fd >= 0)
            proc_stop(&r->server[i]);
        json_decref(r->pres[i]);
        r->pres[i] = NULL;
    }
    char err[NETKIND_ERR_MAX] = "";
    if (r->kind && r->kind->teardown(&r->ctx, err) != 0)
        log_warn("run %" PRId64 ": teardown: %s", r->run, err);
    leaks[0] = '\0';
    bool cross = strcmp(r->ctx.placement, "cross-host") == 0;
    netkind_leaks_held(self->testbed, r->run, !cross || r->ctx.has_client,
                       !cross || r->ctx.has_server, leaks, len);
    /* The containers' cgroups, once their processes are gone (proc_stop reaped them). */
    for (int s = 0; s < 2 && self->cg.version > 0; s++) {
        char prefix[96], cgerr[AGENT_CGROUP_ERR_MAX];
        if (!(s == 0 ? r->ctx.has_client : r->ctx.has_server))
            continue;
        snprintf(prefix, sizeof prefix, "cntb-%s-%" PRId64 "-%s", self->testbed, r->run,
                 s == 0 ? "client" : "server");
        if (agent_cgroup_remove_prefix(&self->cg, prefix, 2000, NULL, 0, cgerr, sizeof cgerr) < 0) {
            size_t used = strlen(leaks);
            snprintf(leaks + used, len - used, "%s%s", used ? ", " : "", cgerr);
        }
    }
    if (leaks[0])
        log_warn("run %" PRId64 ": left behind: %s", r->run, leaks);
}

static void
handle_teardown(agent_t *self, json_t *b)
{
    int64_t run = json_integer_value(json_object_get(b, "run"));
    agent_run_t *r = run_find(self, run, false);
    char leaks[1024] = "";
    if (r) {
        run_teardown(self, r, leaks, sizeof leaks);
        if (r->result) /* never acknowledged: the controller has moved on */
            log_warn("run %" PRId64 ": result dropped at teardown without ack", run);
        json_decref(r->result);
        r->used = false;
    } else {
        netkind_leaks(self->testbed, run, leaks, sizeof leaks);
    }
    if (!leaks[0])
        agent_clean_journal_del(self->cfg->state_dir, run);
    log_info("run %" PRId64 ": torn down%s%s", run, leaks[0] ? ", leaks: " : "", leaks);
    proto_send(self->sock, NULL, MSG_TEARDOWN_OK,
               json_pack("{s:I, s:s}", "run", (json_int_t) run, "leaks", leaks));
}

/* ---- nested VMs (vm.h) ---------------------------------------------------- */

static agent_vm_t *
vm_slot(agent_t *self, const char *name, bool create)
{
    for (int i = 0; i < AGENT_VMS_MAX; i++)
        if (self->vms[i].name[0] && strcmp(self->vms[i].name, name) == 0)
            return &self->vms[i];
    if (!create)
        return NULL;
    for (int i = 0; i < AGENT_VMS_MAX; i++)
        if (!self->vms[i].name[0]) {
            memset(&self->vms[i], 0, sizeof self->vms[i]);
            snprintf(self->vms[i].name, sizeof self->vms[i].name, "%s", name);
            return &self->vms[i];
        }
    return NULL;
}

static void
send_vm_stopped(agent_t *self, const char *name, const char *console, int status)
{
    proto_send(self->sock, NULL, MSG_VM_STOPPED,
               json_pack("{s:s, s:s%, s:i}", "vm", name, "console", console,
                         strlen(console) > 4096 ? (size_t) 4096 : strlen(console), "status",
                         status < -1 ? -1 : status > 65535 ? 65535 : status));
}

/* Stops a VM slot and frees it; console tail into console (len bytes). */
static int
vm_slot_stop(agent_vm_t *v, char *console, size_t len)
{
    int status = vm_stop(&v->vm, console, len);
    v->name[0] = '\0';
    return status;
}

static void
handle_vm_start(agent_t *self, json_t *b)
{
    const char *name = json_string_value(json_object_get(b, "vm"));
    if (!vm_name_valid(name)) {
        send_error(self, 0, "vm", "VM_START: $.vm: invalid VM name");
        return;
    }
    agent_vm_t *v = vm_slot(self, name, false);
    if (v && vm_running(v->vm, NULL)) { /* repeated: answer again */
        proto_send(self->sock, NULL, MSG_VM_STARTED,
                   json_pack("{s:s, s:s, s:i, s:i, s:i}", "vm", name, "accel", vm_accel(v->vm),
                             "vcpus", v->vcpus, "memory_mb", v->memory_mb, "pid",
                             (int) vm_pid(v->vm)));
        return;
    }
    if (v) { /* it exited: collect it first */
        char console[VM_CONSOLE_MAX];
        int st = vm_slot_stop(v, console, sizeof console);
        send_vm_stopped(self, name, console, st);
    }
    v = vm_slot(self, name, true);
    if (!v) {
        send_vm_stopped(self, name, "QEMU not started: too many VMs on this host", -1);
        return;
    }
    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "/run/cntb/%s", self->testbed[0] ? self->testbed : "agent");
    const char *image = json_string_value(json_object_get(b, "image"));
    /* Under CURVE the guest's certificate lies beside ours: DIR/vm-NAME.cert (cntb deploy). */
    char vcert[PATH_MAX] = "";
    if (self->cfg->cert_path) {
        const char *slash = strrchr(self->cfg->cert_path, '/');
        int dl = slash ? (int) (slash - self->cfg->cert_path) : 1;
        snprintf(vcert, sizeof vcert, "%.*s/vm-%s.cert", dl, slash ? self->cfg->cert_path : ".",
                 name);
    }
    vm_config_t c = {
        .name = name,
        .parent = self->cfg->host,
        .address = json_string_value(json_object_get(b, "address")),
        .prefix = (int) json_integer_value(json_object_get(b, "prefix")),
        .controller = self->cfg->endpoint,
        .vcpus = (int) json_integer_value(json_object_get(b, "vcpus")),
        .memory_mb = (int) json_integer_value(json_object_get(b, "memory_mb")),
        .image_dir = image ? image : self->cfg->vm_image,
        .underlay_if = self->cfg->underlay_if,
        .rundir = rundir,
        .accel = self->cfg->accel,
        .cert = vcert[0] ? vcert : NULL,
        .controller_cert = self->cfg->controller_cert_path,
    };
    char err[VM_ERR_MAX], msg[VM_ERR_MAX + 32];
    v->vm = vm_start(&c, err);
    if (!v->vm) {
        v->name[0] = '\0';
        snprintf(msg, sizeof msg, "QEMU not started: %s", err);
        log_warn("vm %s: %s", name, msg);
        send_vm_stopped(self, name, msg, -1);
        return;
    }
    v->vcpus = c.vcpus;
    v->memory_mb = c.memory_mb;
    proto_send(self->sock, NULL, MSG_VM_STARTED,
               json_pack("{s:s, s:s, s:i, s:i, s:i}", "vm", name, "accel", vm_accel(v->vm),
                         "vcpus", v->vcpus, "memory_mb", v->memory_mb, "pid",
                         (int) vm_pid(v->vm)));
}

static void
handle_vm_stop(agent_t *self, json_t *b)
{
    const char *name = json_string_value(json_object_get(b, "vm"));
    const char *reason = json_string_value(json_object_get(b, "reason"));
    agent_vm_t *v = vm_slot(self, name, false);
    char console[VM_CONSOLE_MAX] = "";
    int status = -1;
    if (v) {
        log_info("vm %s: stopping%s%s", name, reason ? ": " : "", reason ? reason : "");
        status = vm_slot_stop(v, console, sizeof console);
    }
    send_vm_stopped(self, name, console, status);
}

/* Every tick: a QEMU that exited by itself is collected and reported. */
static void
vms_check(agent_t *self)
{
    for (int i = 0; i < AGENT_VMS_MAX; i++) {
        agent_vm_t *v = &self->vms[i];
        int status;
        if (!v->name[0] || vm_running(v->vm, &status))
            continue;
        char name[16], console[VM_CONSOLE_MAX];
        snprintf(name, sizeof name, "%s", v->name);
        vm_slot_stop(v, console, sizeof console);
        log_warn("vm %s: QEMU exited (status %d): %s", name, status, console);
        send_vm_stopped(self, name, console, status);
    }
}

static int
on_controller(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    agent_t *self = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg)
        return 0;
    msg_type_t type;
    json_t *b = NULL;
    char err[PROTO_ERR_MAX];
    if (proto_decode(&msg, false, NULL, &type, &b, err) != 0) {
        log_warn("bad message from controller: %s", err);
        send_error(self, 0, "protocol", err);
        return 0;
    }
    if (type != MSG_ERROR) /* an ERROR is not a sign that we are welcome */
        self->last_heard_ms = now_ms();
    switch (type) {
    case MSG_WELCOME: {
        if (json_integer_value(json_object_get(b, "proto")) != PROTO_VERSION) {
            log_error("controller speaks protocol %lld, this agent %d",
                      (long long) json_integer_value(json_object_get(b, "proto")), PROTO_VERSION);
            break;
        }
        const char *tb = json_string_value(json_object_get(b, "testbed"));
        if (!netns_name_valid(tb)) {
            send_error(self, 0, "protocol", "WELCOME: $.testbed: invalid name");
            break;
        }
        snprintf(self->testbed, sizeof self->testbed, "%s", tb);
        json_t *kv = json_object_get(b, "kv");
        const char *kvk = json_string_value(json_object_get(kv, "kind"));
        const char *kve = json_string_value(json_array_get(json_object_get(kv, "endpoints"), 0));
        snprintf(self->kv_kind, sizeof self->kv_kind, "%s", kvk && kve ? kvk : "");
        snprintf(self->kv_endpoint, sizeof self->kv_endpoint, "%s", kvk && kve ? kve : "");
        if (!self->welcomed)
            log_info("welcomed by the controller of testbed %s", self->testbed);
        if (!self->cleaned) { /* before any SETUP: this process holds no run yet */
            char report[2048], rundir[PATH_MAX];
            agent_clean_cfg_t cc = {
                .testbed = self->testbed, .host = self->cfg->host,
                .state_dir = self->cfg->state_dir, .underlay_if = self->cfg->underlay_if,
                .underlay_addr = self->cfg->underlay_addr,
                .kv_endpoint = strcmp(self->kv_kind, "etcd") == 0 ? self->kv_endpoint : NULL,
                .cgroups = &self->cg,
            };
            int n = agent_clean_all(&cc, report, sizeof report);
            if (n > 0)
                log_warn("removed leftovers of %d earlier runs: %s", n, report);
            /* VMs are per batch, not per run: their pid files (vm.h), same rundir as handle_vm_start. */
            snprintf(rundir, sizeof rundir, "/run/cntb/%s", self->testbed);
            report[0] = '\0';
            n = vm_clean_stale(rundir, self->cfg->host, report, sizeof report);
            if (n > 0)
                log_warn("removed %d QEMU of earlier VMs: %s", n, report);
            self->cleaned = true;
        }
        self->welcomed = true;
        self->sock_welcomed = true;
        for (int i = 0; i < AGENT_RUNS_MAX; i++) /* re-deliver what is unacknowledged */
            if (self->runs[i].used && self->runs[i].result)
                send_result(self, &self->runs[i]);
        break;
    }
    case MSG_HEARTBEAT: break;
    case MSG_SETUP: handle_setup(self, b); break;
    case MSG_START: handle_start(self, b); break;
    case MSG_TEARDOWN: handle_teardown(self, b); break;
    case MSG_VM_START: handle_vm_start(self, b); break;
    case MSG_VM_STOP: handle_vm_stop(self, b); break;
    case MSG_RESULT_ACK: {
        agent_run_t *r = run_find(self, json_integer_value(json_object_get(b, "run")), false);
        if (r && r->result && json_integer_value(json_object_get(b, "seq")) == r->result_seq) {
            json_decref(r->result);
            r->result = NULL;
        }
        break;
    }
    case MSG_ERROR: {
        const char *stage = json_string_value(json_object_get(b, "stage"));
        log_warn("controller says: %s", json_string_value(json_object_get(b, "message")));
        if (stage && strcmp(stage, "hello") == 0 && self->welcomed) {
            /* The controller does not know us (it restarted, or dropped us): HELLO again. */
            self->welcomed = false;
            self->last_heard_ms = now_ms();
            send_hello(self);
        }
        break;
    }
    default: {
        char m[96];
        snprintf(m, sizeof m, "%s is not a message an agent accepts", proto_type_name(type));
        send_error(self, 0, "protocol", m);
    }
    }
    json_decref(b);
    return 0;
}

static zsock_t *agent_sock_open(const agent_config_t *cfg);

static int
on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) timer_id;
    agent_t *self = arg;
    int64_t now = now_ms();
    vms_check(self);
    if (self->welcomed)
        self->unwelcomed_ms = 0;
    else if (!self->unwelcomed_ms)
        self->unwelcomed_ms = now;
    else if (!self->sock_welcomed && now - self->unwelcomed_ms >= AGENT_REDIAL_MS) {
        zsock_t *fresh = agent_sock_open(self->cfg);

        log_warn("no WELCOME from %s for %lld s (a controller that does not accept this host's "
                 "certificate drops the connection without a word): connecting again",
                 self->cfg->endpoint, (long long) ((now - self->unwelcomed_ms) / 1000));
        self->unwelcomed_ms = now;
        if (fresh) {
            zloop_reader_end(loop, self->sock);
            zsock_destroy(&self->sock);
            self->sock = fresh;
            zloop_reader(loop, self->sock, on_controller, self);
        }
    }
    if (!self->welcomed || now - self->last_heard_ms > AGENT_SILENCE_MS) {
        if (self->welcomed)
            log_warn("controller silent for %lld ms: saying HELLO again",
                     (long long) (now - self->last_heard_ms));
        self->welcomed = false;
        self->last_heard_ms = now;
        send_hello(self);
        return 0;
    }
    proto_send(self->sock, NULL, MSG_HEARTBEAT, NULL);
    for (int i = 0; i < AGENT_RUNS_MAX; i++)
        if (self->runs[i].used && self->runs[i].result &&
            now - self->runs[i].result_sent_ms >= AGENT_RESEND_MS)
            send_result(self, &self->runs[i]);
    return 0;
}

/*
 * The DEALER socket to the controller: identity = the host's name, CURVE
 * client when the agent has certificates (agent_auth_apply), connected to
 * cfg->endpoint.  NULL with the reason logged.
 */
static zsock_t *
agent_sock_open(const agent_config_t *cfg)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (!sock) {
        log_error("cannot create the controller socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    zsock_set_identity(sock, cfg->host);
    zsock_set_linger(sock, 1000);
    zsock_set_reconnect_ivl(sock, 200);
    zsock_set_reconnect_ivl_max(sock, 2000);
    /* Never block the loop on a send: with CURVE, no message can be queued until
     * the handshake completes, and a refused one never does.  A message that
     * cannot go is dropped (HELLO and heartbeats are sent again each second,
     * RESULTs until acknowledged). */
    zsock_set_sndtimeo(sock, 0);
    if (cfg->cert_path) {
        char err[1200];
        if (agent_auth_apply(sock, cfg->cert_path, cfg->controller_cert_path, err,
                             sizeof err) != 0) {
            log_error("%s", err);
            zsock_destroy(&sock);
            return NULL;
        }
    }
    if (zsock_connect(sock, "%s", cfg->endpoint) != 0) {
        log_error("cannot connect to %s", cfg->endpoint);
        zsock_destroy(&sock);
        return NULL;
    }
    return sock;
}

int
agent_run(const agent_config_t *cfg)
{
    agent_t self;
    int ret = -1;

    memset(&self, 0, sizeof self);
    self.cfg = cfg;
    self.runs = calloc(AGENT_RUNS_MAX, sizeof *self.runs);
    if (!self.runs) {
        log_error("out of memory");
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    agent_cgroup_probe(&self.cg);
    {
        char cgd[AGENT_CGROUP_ERR_MAX + 8];
        agent_cgroup_describe(&self.cg, cgd, sizeof cgd);
        if (self.cg.version == 0)
            log_warn("containers run without cgroups (%s)", cgd);
        else
            log_info("containers get cgroups %s (%s%s%s)", cgd, self.cg.cpuset,
                     self.cg.cpuacct[0] ? ", " : "", self.cg.cpuacct);
    }
    self.sock = agent_sock_open(cfg);
    if (!self.sock)
        goto out;
    self.loop = zloop_new();
    if (!self.loop) {
        log_error("cannot create the event loop");
        goto out;
    }
    zloop_reader(self.loop, self.sock, on_controller, &self);
    zloop_timer(self.loop, 1000, 0, on_tick, &self);
    zloop_timer(self.loop, AGENT_PIPE_MS, 0, on_pipes, &self);
    log_info("agent %s connecting to %s", cfg->host, cfg->endpoint);
    self.last_heard_ms = now_ms();
    send_hello(&self);
    zloop_start(self.loop);
    log_info("stopping: tearing down what is left");
    for (int i = 0; i < AGENT_RUNS_MAX; i++)
        if (self.runs[i].used) {
            char leaks[1024];
            run_teardown(&self, &self.runs[i], leaks, sizeof leaks);
            json_decref(self.runs[i].result);
            self.runs[i].used = false;
        }
    for (int i = 0; i < AGENT_VMS_MAX; i++)
        if (self.vms[i].name[0]) {
            char console[VM_CONSOLE_MAX];
            vm_slot_stop(&self.vms[i], console, sizeof console);
        }
    ret = 0;
out:
    zloop_destroy(&self.loop);
    zsock_destroy(&self.sock);
    free(self.runs);
    return ret;
}
