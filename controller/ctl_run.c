/*
 * ctl_run.c — the run state machine (drawn in ctl_run.h) and the adoption
 * of runs after a restart.
 *
 * Nested VMs: a nesting=vm run leases the VMs of its hosts through ctl_vm.c
 * (started on demand by the parent's agent, reused for the batch, stopped at
 * its end), then runs in them as on bare hosts.
 *
 * A run's progress lives in a slot of `runs[]` (ctl_run_t); every
 * transition is written to the database before the next message goes out,
 * so a restarted controller knows where it was: runs found in collect are
 * adopted (runs_adopt: rebuilt in memory, waiting for the RESULT the agent
 * re-delivers on WELCOME), the other runs found in flight are requeued
 * (store_requeue_interrupted) and their hosts told to tear them down when
 * their agents say HELLO again.  A result is stored only for a run in
 * flight in its collect stage; anything else (a result re-delivered for an
 * attempt that was cut short) is acknowledged and dropped, so every run ends
 * with the one result set of its final attempt.
 */
#include "ctl_int.h"
#include "ctl_run.h"
#include "ctl_auth.h"
#include "ctl_lock.h"
#include "ctl_vm.h"

#include "ferr.h"
#include "log.h"
#include "matrix.h"
#include "proto.h"
#include "queue.h"
#include "schedule.h"
#include "store.h"
#include "testbed.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- run state machine ------------------------------------------------ */

void
ctl_run_clear(ctl_run_t *r)
{
    json_decref(r->params);
    memset(r, 0, sizeof *r);
}

static const char *const stage_names[] = { "none", "leasing", "setup", "running", "collect",
                                           "teardown" };

void
ctl_run_enter(ctl_t *self, ctl_run_t *r, ctl_stage_t stage, int64_t timeout_ms)
{
    r->stage = stage;
    r->stage_since_ms = ctl_now_ms();
    r->deadline_ms = r->stage_since_ms + timeout_ms;
    r->acked[0] = r->acked[1] = false;
    int rc;
    if (stage != STAGE_TEARDOWN || !r->failed)
        rc = store_run_set_state(self->store, r->id, stage_names[stage], NULL);
    else
        rc = store_run_set_state(self->store, r->id, "teardown", r->reason);
    if (rc < 0) /* the run goes on; a restart would queue it again */
        ctl_store_failed(self, "run state");
}

/*
 * The first server port of run `run`: pair i of the run uses port + i (up to
 * NETKIND_PAIRS_MAX = 64 pairs), so each run gets its own block of 64 ports,
 * 5300 + (run mod 429) * 64, all in 5300..32755: below 32768, where Linux's
 * default ephemeral range (ip_local_port_range 32768-60999) starts, so no
 * client's port takes it.  Runs 429 apart share a block, minutes apart at the
 * least, after the 60 s TIME_WAIT of the earlier one (a run of 2 pairs used
 * to take the next run's port, where a server that closed first left
 * TIME_WAIT, and sockperf could not bind it).
 */
int
ctl_run_port(int64_t run)
{
    return 5300 + (int) (run % 429) * 64;
}

static void run_teardown(ctl_t *self, ctl_run_t *r);

static void
run_fail(ctl_t *self, ctl_run_t *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records a failure reason (the first one wins) and moves to teardown. */
static void
run_fail(ctl_t *self, ctl_run_t *r, const char *fmt, ...)
{
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->reason, sizeof r->reason, fmt, ap);
        va_end(ap);
        r->failed = true;
        r->failed_ms = ctl_now_ms();
        r->failed_stage = r->stage;
        log_warn("run %" PRId64 " failed: %s", r->id, r->reason);
    }
    if (r->stage != STAGE_TEARDOWN && r->stage >= STAGE_SETUP)
        run_teardown(self, r);
}

/*
 * Ends a run: done, skipped, or failed — a failed run with retries left is
 * recorded in run_attempt and queued again.  Releases its hosts and starts
 * its batch's pause.
 */
void
ctl_run_finish(ctl_t *self, ctl_run_t *r, const char *state)
{
    ctl_batch_t *b = r->batch;
    int retries = b && b->m ? matrix_retries(b->m) : 0;
    int failed_before = strcmp(state, "failed") == 0 ? store_run_failed_attempts(self->store, r->id)
                                                     : -1;
    int rc;
    if (failed_before >= 0 && failed_before < retries)
        rc = store_run_retry(self->store, r->id, r->reason);
    else
        rc = store_run_set_state(self->store, r->id, state, r->reason[0] ? r->reason : NULL);
    if (rc < 0) {
        /* Not on record: keep the run (and its lease) until the store works again. */
        ctl_store_failed(self, "end of a run");
        r->stage = STAGE_NONE;
        snprintf(r->finish_state, sizeof r->finish_state, "%s", state);
        return;
    }
    if (failed_before >= 0 && failed_before < retries) {
        log_warn("run %" PRId64 " attempt %d failed (%s): retrying (%d of %d retries left)", r->id,
                 failed_before + 1, r->reason, retries - failed_before - 1, retries);
    } else {
        log_info("run %" PRId64 " %s%s%s", r->id, state, r->reason[0] ? ": " : "", r->reason);
    }
    for (int i = 0; i < CTL_HOSTS_MAX; i++)
        if (self->lease[i] == r->id)
            self->lease[i] = 0;
    int64_t batch = b ? b->id : 0;
    if (b) {
        b->in_flight = 0;
        b->not_before_ms = ctl_now_ms() + (int64_t) (matrix_pause_s(b->m) * 1000);
    }
    ctl_run_clear(r);
    self->reschedule = true;
    if (batch)
        ctl_batch_maybe_finish(self, batch);
}

/*
 * TEARDOWN to every host of the run.  A host whose agent is not connected
 * (an adopted run's host that has not said HELLO since the restart, a lost
 * agent) gets it when it says HELLO: a message to an unconnected identity is
 * dropped by the ROUTER socket.  Its TEARDOWN_OK is waited for as any other,
 * up to teardown_s.
 */
static void
run_teardown(ctl_t *self, ctl_run_t *r)
{
    ctl_run_enter(self, r, STAGE_TEARDOWN, r->timeout_ms[MATRIX_TEARDOWN]);
    for (int i = 0; i < r->nhosts; i++) {
        if (ctl_agent_connected(self, r->hosts[i]))
            ctl_send_to(self, r->hosts[i], MSG_TEARDOWN,
                        json_pack("{s:I}", "run", (json_int_t) r->id));
        else
            ctl_stale_add(self, r->id, r->hosts[i]);
    }
}

/*
 * The BGP identity of host i (0 client, 1 server) of a cross-host run and of
 * its peer, for network routing: {asn, router_id, peers: [{addr, asn}]}.
 * ASNs come from the 16-bit private range 64512..65534 (RFC 6996): 64512 +
 * the host's index in the testbed file, so every host of a testbed of up to
 * 1023 hosts has its own; router ids are the hosts' underlay addresses,
 * unicast and unique because testbed addresses are (RFC 6286 only asks for
 * uniqueness within the AS, eBGP peers with equal ids refuse each other:
 * CASES.md case 6).  Fresh object.
 */
static json_t *
bgp_assign(const testbed_t *tb, const ctl_run_t *r, int i)
{
    int self_ix = 0, peer_ix = 0;
    for (int k = 0; k < tb->host_count; k++) {
        if (strcmp(tb->hosts[k].name, r->hosts[i]) == 0)
            self_ix = k;
        if (strcmp(tb->hosts[k].name, r->hosts[1 - i]) == 0)
            peer_ix = k;
    }
    return json_pack("{s:i, s:s, s:[{s:s, s:i}]}", "asn", 64512 + self_ix % 1023, "router_id",
                     tb->hosts[self_ix].address, "peers", "addr", tb->hosts[peer_ix].address,
                     "asn", 64512 + peer_ix % 1023);
}

/* Leasing: the hosts are ours; wait for their agents, check capabilities, send SETUP. */
void
ctl_step_leasing(ctl_t *self, ctl_run_t *r)
{
    const char *traffic = json_string_value(json_object_get(r->params, "traffic")) ?: "?";
    const char *nesting = json_string_value(json_object_get(r->params, "nesting")) ?: "bare";
    bool vm = strcmp(nesting, "vm") == 0;
    if (strcmp(nesting, "bare") != 0 && !vm) {
        snprintf(r->reason, sizeof r->reason, "nesting %s is not supported", nesting);
        ctl_run_finish(self, r, "skipped");
        return;
    }
    bool cross = r->nhosts == 2;
    /* nesting vm: the containers go into a VM on each leased host (ctl_vm.c starts it
     * on demand and reuses it for the batch); both hosts' VMs boot at once. */
    bool vm_wait = false;
    for (int i = 0; vm && i < r->nhosts; i++) {
        const testbed_host_t *parent = &self->testbed->hosts[r->host_idx[i]];
        char name[32], addr[16];
        switch (ctl_vm_lease(self->vms, r->batch->id, parent->name, ctl_now_ms(), ctl_agent_connected_cb,
                             self, name, addr, r->reason, sizeof r->reason)) {
        case CTL_VM_READY: break;
        case CTL_VM_WAIT: vm_wait = true; continue;
        case CTL_VM_NONE: ctl_run_finish(self, r, "skipped"); return;
        default: ctl_run_finish(self, r, "failed"); return;
        }
        snprintf(r->hosts[i], sizeof r->hosts[i], "%s", name);
        snprintf(r->peer_addr[1 - i], 16, "%s", addr);
    }
    if (vm_wait)
        return;
    if (vm && !cross)
        snprintf(r->hosts[1], sizeof r->hosts[1], "%s", r->hosts[0]);
    for (int i = 0; i < r->nhosts; i++) {
        ctl_agent_t *a = ctl_agent_find(self, r->hosts[i]);
        if (!a || !a->connected) {
            if (ctl_now_ms() > r->deadline_ms) {
                snprintf(r->reason, sizeof r->reason,
                         "agent of host %s not connected within %d s", r->hosts[i],
                         r->timeout_ms[MATRIX_LEASE] / 1000);
                ctl_run_finish(self, r, "skipped");
            }
            return; /* wait for it */
        }
        char why[400];
        if (!ctl_caps_allow(a, r->network, r->placement, traffic, why, sizeof why)) {
            snprintf(r->reason, sizeof r->reason, "%s", why);
            ctl_run_finish(self, r, "skipped");
            return;
        }
    }
    /* Like a run's state (ctl_run_enter): the run goes on, the store outage stops
     * new ones; a restart queues it again. */
    if (store_run_set_hosts(self->store, r->id, r->hosts[0], r->hosts[1]) < 0)
        ctl_store_failed(self, "hosts of a run");
    for (int i = 0; i < r->nhosts; i++) {
        ctl_agent_t *a = ctl_agent_find(self, r->hosts[i]);
        if (a && json_is_object(a->meta) &&
            store_host_meta_insert(self->store, r->batch->id, r->hosts[i], a->meta) < 0) {
            log_error("run %" PRId64 ": host metadata: %s", r->id, store_errmsg(self->store));
            ctl_store_failed(self, "host metadata");
        }
    }
    ctl_run_enter(self, r, STAGE_SETUP, r->timeout_ms[MATRIX_SETUP]);
    for (int i = 0; i < r->nhosts; i++) {
        json_t *b = json_pack("{s:I, s:s, s:s, s:b, s:b, s:O}", "run", (json_int_t) r->id,
                              "network", r->network, "placement", r->placement, "client",
                              i == 0, "server", i == 1 || r->nhosts == 1, "params", r->params);
        if (cross)
            json_object_set_new(b, "peer_addr", json_string(r->peer_addr[i]));
        json_object_set_new(b, "port", json_integer(r->port));
        if (cross)
            json_object_set_new(b, "bgp", bgp_assign(self->testbed, r, i));
        ctl_send_to(self, r->hosts[i], MSG_SETUP, b);
    }
}

static int
host_index(ctl_run_t *r, const char *host)
{
    for (int i = 0; i < r->nhosts; i++)
        if (strcmp(r->hosts[i], host) == 0)
            return i;
    return -1;
}

static void
start_server(ctl_t *self, ctl_run_t *r)
{
    ctl_run_enter(self, r, STAGE_RUNNING, r->timeout_ms[MATRIX_START]);
    ctl_send_to(self, r->hosts[r->nhosts - 1], MSG_START,
                json_pack("{s:I, s:s, s:i, s:O}", "run", (json_int_t) r->id, "role", "server", "port",
                          r->port, "params", r->params));
}

static void
start_client(ctl_t *self, ctl_run_t *r)
{
    /* The warm-up (omit_s) runs before the measured duration_s. */
    double duration = json_number_value(json_object_get(r->params, "duration_s")) +
                      json_number_value(json_object_get(r->params, "omit_s"));
    ctl_run_enter(self, r, STAGE_COLLECT, (int64_t) (duration * 1000) + r->timeout_ms[MATRIX_COLLECT]);
    ctl_send_to(self, r->hosts[0], MSG_START,
                json_pack("{s:I, s:s, s:i, s:s, s:O}", "run", (json_int_t) r->id, "role", "client",
                          "port", r->port, "server_addr", r->server_addr, "params", r->params));
}

void
ctl_on_agent_msg(ctl_t *self, const char *host, msg_type_t type, json_t *b)
{
    int64_t run = json_integer_value(json_object_get(b, "run"));
    ctl_run_t *r = ctl_run_by_id(self, run);
    int hi = r ? host_index(r, host) : -1;
    switch (type) {
    case MSG_HEARTBEAT: return;
    case MSG_SETUP_OK:
        if (!r || r->stage != STAGE_SETUP || hi < 0)
            return;
        r->acked[hi] = true;
        if (hi == r->nhosts - 1) {
            const char *sa = json_string_value(json_object_get(b, "server_addr"));
            if (!sa) {
                run_fail(self, r, "host %s set up without a server address", host);
                return;
            }
            snprintf(r->server_addr, sizeof r->server_addr, "%s", sa);
        }
        for (int i = 0; i < r->nhosts; i++)
            if (!r->acked[i])
                return;
        start_server(self, r);
        return;
    case MSG_START_OK: {
        const char *role = json_string_value(json_object_get(b, "role"));
        if (r && r->stage == STAGE_RUNNING && strcmp(role, "server") == 0 && !r->server_ready) {
            r->server_ready = true;
            start_client(self, r);
        }
        return;
    }
    case MSG_RESULT: {
        int seq = (int) json_integer_value(json_object_get(b, "seq"));
        if (!r || r->stage != STAGE_COLLECT || hi < 0) {
            /* An attempt that is over (cut short by a restart, failed, timed out): its
             * result does not count.  Acknowledge so that the agent forgets it. */
            log_info("run %" PRId64 ": result seq %d from %s for no attempt in collect: dropped",
                     run, seq, host);
            ctl_send_to(self, host, MSG_RESULT_ACK,
                        json_pack("{s:I, s:i}", "run", (json_int_t) run, "seq", seq));
            return;
        }
        int rc = store_result_insert(self->store, run, seq, host, json_object_get(b, "result"));
        if (rc < 0) {
            /* Never acknowledge what is not stored: the agent keeps the result and
             * re-sends it; the run waits in collect until the store works again. */
            ctl_store_failed(self, "result");
            log_warn("run %" PRId64 ": result seq %d from %s not stored, not acknowledged", run,
                     seq, host);
            return;
        }
        ctl_store_ok(self);
        ctl_send_to(self, host, MSG_RESULT_ACK, json_pack("{s:I, s:i}", "run", (json_int_t) run, "seq", seq));
        if (rc == 0)
            log_info("run %" PRId64 ": duplicate result seq %d from %s acknowledged", run, seq, host);
        else if (r->adopted)
            log_info("run %" PRId64 ": result seq %d from %s re-delivered after the controller "
                     "restart: stored",
                     run, seq, host);
        r->result_stored = true;
        run_teardown(self, r);
        return;
    }
    case MSG_TEARDOWN_OK:
        if (!r || r->stage != STAGE_TEARDOWN || hi < 0)
            return;
        r->acked[hi] = true;
        const char *leaks = json_string_value(json_object_get(b, "leaks"));
        if (leaks && leaks[0] && !r->failed) {
            snprintf(r->reason, sizeof r->reason, "teardown on %s left: %.500s", host, leaks);
            r->failed = true;
        }
        for (int i = 0; i < r->nhosts; i++)
            if (!r->acked[i])
                return;
        ctl_run_finish(self, r, r->skipped && !r->failed ? "skipped"
                            : r->failed || !r->result_stored ? "failed" : "done");
        return;
    case MSG_VM_STARTED:
    case MSG_VM_STOPPED: ctl_vm_on_message(self->vms, host, type, b); return;
    case MSG_ERROR: {
        const char *m = json_string_value(json_object_get(b, "message"));
        const char *stage = json_string_value(json_object_get(b, "stage")) ?: "?";
        log_warn("agent %s: %s: %s", host, stage, m);
        /* An agent that refuses the run's parameters before building
         * anything (a mode that can never carry the traffic) ends it as
         * skipped with its reason; teardown still runs on every host. */
        if (r && hi >= 0 && r->stage == STAGE_SETUP && strcmp(stage, "skip") == 0 &&
            !r->failed) {
            snprintf(r->reason, sizeof r->reason, "%s: %s", host, m ? m : "refused");
            r->skipped = true;
            run_teardown(self, r);
            return;
        }
        if (r && hi >= 0 && r->stage != STAGE_TEARDOWN)
            run_fail(self, r, "%s on %s: %s", stage, host, m);
        return;
    }
    default: {
        char m[96];
        snprintf(m, sizeof m, "%s is not a message a controller accepts", proto_type_name(type));
        ctl_send_to(self, host, MSG_ERROR, json_pack("{s:s, s:s}", "message", m, "stage", "protocol"));
    }
    }
}

void
ctl_step_timeouts(ctl_t *self, ctl_run_t *r)
{
    if (r->id == 0 || ctl_now_ms() <= r->deadline_ms)
        return;
    if (r->stage == STAGE_COLLECT && self->store_down) {
        /* Its result may be waiting on the agent for the store: hold. */
        r->deadline_ms = ctl_now_ms() + CTL_STORE_PROBE_MS;
        return;
    }
    switch (r->stage) {
    case STAGE_SETUP:
        run_fail(self, r, "setup timed out after %d s", r->timeout_ms[MATRIX_SETUP] / 1000);
        break;
    case STAGE_RUNNING:
        run_fail(self, r, "server did not start within %d s", r->timeout_ms[MATRIX_START] / 1000);
        break;
    case STAGE_COLLECT:
        if (!r->adopted) {
            run_fail(self, r, "no result before the collect timeout");
            break;
        }
        /* An adopted run: the result is not coming (the agent restarted, or
         * died, or the client never finished).  A host whose agent has not
         * said HELLO in all that time is treated as lost: not waited for, its
         * TEARDOWN owed to it (ctl_runs_lose_host). */
        run_fail(self, r, "no result after controller restart");
        if (!r->id || r->stage != STAGE_TEARDOWN)
            break;
        bool all = true;
        for (int h = 0; h < r->nhosts; h++) {
            if (!ctl_agent_connected(self, r->hosts[h]))
                r->acked[h] = true;
            all = all && r->acked[h];
        }
        if (all)
            ctl_run_finish(self, r, "failed");
        break;
    case STAGE_TEARDOWN:
        for (int i = 0; i < r->nhosts; i++)
            if (!r->acked[i] && !r->failed) {
                snprintf(r->reason, sizeof r->reason, "teardown timed out on host %s", r->hosts[i]);
                r->failed = true;
            }
        ctl_run_finish(self, r, "failed");
        break;
    default: break;
    }
}

/*
 * An agent went silent (lost: killed, its host down, the network cut): its
 * runs past leasing fail now with reason "agent lost: ..." rather than at
 * their stage timeout, the other hosts of the run get their TEARDOWN, and the
 * teardown does not wait for the lost host (a run in leasing waits for the
 * agent to come back, up to lease_s).  The lost agent removes what is left
 * of the run when it starts again (agent_clean.h) or when the TEARDOWN owed
 * to it arrives after it reconnects.
 */
void
ctl_runs_lose_host(ctl_t *self, const char *host, int64_t silent_since_ms)
{
    for (int i = 0; i < CTL_RUNS_MAX; i++) {
        ctl_run_t *r = &self->runs[i];
        int hi = r->id ? host_index(r, host) : -1;
        if (hi < 0 || r->stage <= STAGE_LEASING)
            continue;
        if (r->stage == STAGE_TEARDOWN) {
            if (!r->failed) {
                snprintf(r->reason, sizeof r->reason, "agent lost: host %s silent during teardown",
                         host);
                r->failed = true;
                r->failed_ms = ctl_now_ms();
                r->failed_stage = STAGE_TEARDOWN;
            } else if (r->failed_ms >= silent_since_ms && strncmp(r->reason, "agent lost", 10)) {
                /* It failed on another host after this one had gone silent (a client
                 * whose server vanished): the silence is the cause, the rest its effect. */
                char was[sizeof r->reason];
                snprintf(was, sizeof was, "%s", r->reason);
                snprintf(r->reason, sizeof r->reason,
                         "agent lost: host %s silent during %s (then %.500s)", host,
                         stage_names[r->failed_stage], was);
                log_warn("run %" PRId64 ": %s", r->id, r->reason);
            }
        } else {
            run_fail(self, r, "agent lost: host %s silent during %s", host, stage_names[r->stage]);
        }
        /* Owed to it: when it says HELLO again it tears the run down (it may
         * have come back without restarting, after a partition). */
        ctl_stale_add(self, r->id, host);
        for (int h = 0; h < r->nhosts; h++)
            if (strcmp(r->hosts[h], host) == 0)
                r->acked[h] = true;
        bool all = true;
        for (int h = 0; h < r->nhosts; h++)
            all = all && r->acked[h];
        if (all)
            ctl_run_finish(self, r, "failed");
    }
}

/*
 * Adoption at start-up (docs/faults.md "The controller dies").  A run the
 * database shows in collect has had its client started: the controller
 * writes "collect" before the client's START goes out (ctl_run_enter), so the
 * measurement is done or under way on the agent, which keeps its RESULT
 * until RESULT_ACK and re-sends it on every WELCOME.  Rather than throwing it
 * away, the run is rebuilt in memory as it was (hosts leased, stage collect,
 * the attempt and the result key (run, seq) unchanged) and waits for the
 * RESULT up to duration_s + omit_s + collect_s from the restart: the client
 * may have been started just before the controller died, and this bound is
 * the one the collect stage had.  The result is then stored once,
 * acknowledged, and the run goes to teardown and done; if it does not come,
 * the attempt fails "no result after controller restart" and is retried per
 * `retries`.  A run in teardown whose result is stored (the controller died
 * between storing and the end of teardown; collect with its result stored
 * likewise) is adopted in teardown: its hosts get TEARDOWN on HELLO and it
 * ends done.
 *
 * Not adopted, requeued as before: runs in leasing, setup and running (the
 * stored "running" means the client's START has not gone out — the server
 * alone never sends a RESULT — so waiting would only turn a prompt requeue
 * into a failed attempt); teardown without a stored result (a failure or a
 * skip on its way out); nesting vm (the VM leases of ctl_vm.c are not on
 * record); runs whose batch, hosts or slot cannot be had.
 *
 * Fills ids (up to max) with the adopted run ids; returns their count.
 */
int
ctl_runs_adopt(ctl_t *self, int64_t *ids, int max)
{
    static const int defaults[MATRIX_STAGES] = { CTL_LEASE_MS, CTL_SETUP_MS, CTL_START_MS,
                                                 CTL_COLLECT_GRACE_MS, CTL_TEARDOWN_MS };
    store_run_row_t *rows = NULL;
    int n = 0;
    int nrows = store_runs_adoptable(self->store, self->testbed->name, &rows);
    if (nrows < 0) {
        log_error("adoption query: %s", store_errmsg(self->store));
        return 0;
    }
    for (int row = 0; row < nrows && n < max; row++) {
        int64_t id = rows[row].id;
        const char *ch = rows[row].client_host;
        const char *sh = rows[row].server_host;
        bool has_result = rows[row].has_result;
        json_t *params = rows[row].params_json ? json_loads(rows[row].params_json, 0, NULL) : NULL;
        const char *placement = json_string_value(json_object_get(params, "placement")) ?: "?";
        const char *nesting = json_string_value(json_object_get(params, "nesting")) ?: "bare";
        int need = strcmp(placement, "cross-host") == 0 ? 2 : 1;
        int hidx[2] = { -1, -1 };
        for (int k = 0; k < self->testbed->host_count && ch && sh; k++) {
            if (strcmp(self->testbed->hosts[k].name, ch) == 0)
                hidx[0] = k;
            if (strcmp(self->testbed->hosts[k].name, sh) == 0)
                hidx[1] = k;
        }
        ctl_run_t *r = NULL;
        for (int i = 0; i < CTL_RUNS_MAX && !r; i++)
            if (!self->runs[i].id)
                r = &self->runs[i];
        ctl_batch_t *b = NULL;
        const char *why = NULL;
        if (!json_is_object(params) || strcmp(nesting, "bare") != 0)
            why = "not a bare run";
        else if (hidx[0] < 0 || hidx[1] < 0 || (need == 1) != (hidx[0] == hidx[1]))
            why = "its hosts are not those of this testbed";
        else if (self->lease[hidx[0]] || self->lease[hidx[1]])
            why = "a host is held by another adopted run";
        else if (!r)
            why = "no free run slot";
        else if (!(b = ctl_batch_get(self, rows[row].batch)) || b->in_flight)
            why = "its batch cannot be loaded or has another run in flight";
        if (why) {
            log_warn("run %" PRId64 " not adopted (%s): queued again", id, why);
            json_decref(params);
            continue;
        }
        memset(r, 0, sizeof *r);
        r->id = id;
        r->batch = b;
        r->params = params;
        r->adopted = true;
        snprintf(r->network, sizeof r->network, "%s",
                 json_string_value(json_object_get(params, "network")) ?: "?");
        snprintf(r->placement, sizeof r->placement, "%s", placement);
        for (int s = 0; s < MATRIX_STAGES; s++)
            r->timeout_ms[s] = matrix_timeout_ms(b->m, (matrix_stage_t) s, defaults[s]);
        r->nhosts = need;
        for (int i = 0; i < 2; i++) {
            testbed_host_t *h = &self->testbed->hosts[hidx[i]];
            r->host_idx[i] = hidx[i];
            snprintf(r->hosts[i], sizeof r->hosts[i], "%s", h->name);
            snprintf(r->peer_addr[1 - i], 16, "%s", h->address);
            self->lease[hidx[i]] = id;
        }
        r->port = ctl_run_port(r->id);
        r->server_ready = true;
        b->in_flight = id;
        ids[n++] = id;
        if (has_result) {
            r->result_stored = true;
            run_teardown(self, r); /* every host: owed on HELLO */
            log_warn("run %" PRId64 " (batch %" PRId64 ") adopted after the restart: its result "
                     "is stored, teardown on %s%s%s when their agents say HELLO",
                     id, b->id, r->hosts[0], need == 2 ? "," : "", need == 2 ? r->hosts[1] : "");
            continue;
        }
        double wait_s = json_number_value(json_object_get(params, "duration_s")) +
                        json_number_value(json_object_get(params, "omit_s")) +
                        r->timeout_ms[MATRIX_COLLECT] / 1000.0;
        r->stage = STAGE_COLLECT; /* as stored: no write */
        r->stage_since_ms = ctl_now_ms();
        r->deadline_ms = r->stage_since_ms + (int64_t) (wait_s * 1000);
        log_warn("run %" PRId64 " (batch %" PRId64 ") adopted in collect after the restart: "
                 "waiting up to %.1f s for the result of %s",
                 id, b->id, wait_s, r->hosts[0]);
    }
    store_run_rows_free(&rows, nrows);
    return n;
}
