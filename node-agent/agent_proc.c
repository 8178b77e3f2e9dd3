/*
 * agent_proc.c — the agent's traffic processes: cntb-traffic servers and
 * clients started with fork + setns into the container's namespace
 * (+ sched_setaffinity when the run pins CPUs) + execv of an argument
 * vector, so no shell ever sees a string from a message; each child waits on
 * a pipe until the agent has put it into its container's cgroup
 * (agent_cgroup.h).  A 20 ms timer drains their stdout and stderr pipes:
 * a server's "listening" event counts towards START_OK; when the last
 * client of a run ends, the pairs' results become ONE RESULT
 * (agent_result.h) that the agent keeps until the controller acknowledges
 * it.  Stopping is SIGTERM, then SIGKILL after 2 s.
 */
#include "agent_int.h"

#include "agent_result.h"
#include "log.h"
#include "nl.h"
#include "proto.h"
#include "traffic.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

void
agent_proc_init(agent_proc_t *p)
{
    memset(p, 0, sizeof *p);
    p->pid = -1;
    p->out_fd = p->err_fd = -1;
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
int
agent_proc_start(agent_t *self, agent_run_t *r, const char *role, agent_proc_t *p,
                 const char *ns, int cpu, char **argv, char *err, size_t errlen)
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
int
agent_proc_stop(agent_proc_t *p)
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
    agent_proc_init(p);
    memcpy(p->err_text, keep, sizeof keep);
    return status;
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
        int status = agent_proc_stop(p);
        if (!r->ready[i]) {
            char msg[700];
            snprintf(msg, sizeof msg, "server %d exited before listening (status %d): %s", i,
                     status, p->err_text);
            agent_send_error(self, r->run, "start", msg);
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
    int status = agent_proc_stop(p);
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
            agent_send_error(self, r->run, "client", msg);
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
            agent_send_error(self, r->run, "client", msg);
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
        agent_send_error(self, r->run, "client", err);
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
    json_t *vm = agent_vm_self_info(self);
    if (vm)
        json_object_set_new(sum, "vm", vm);
    json_decref(r->result);
    r->result_seq = 1;
    r->result = json_pack("{s:I, s:i, s:s, s:o}", "run", (json_int_t) r->run, "seq",
                          r->result_seq, "role", "client", "result", sum);
    log_info("run %" PRId64 ": %d client(s) done, %.3g bit/s", r->run, r->npairs,
             json_number_value(json_object_get(json_object_get(sum, "metrics"),
                                               "throughput_bps")));
    agent_send_result(self, r);
}

/*
 * Every AGENT_PIPE_MS: drains the pipes of running traffic processes.  A timer
 * rather than zloop pollers keeps fd reuse between runs out of the loop's poll
 * set; 20 ms is small against a run's seconds.
 */
int
agent_proc_on_pipes(zloop_t *loop, int timer_id, void *arg)
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
