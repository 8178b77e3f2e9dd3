/*
 * ctl_cli.c — the requests of the CLI socket (ctl.h lists them): queue add
 * and cancel, submit, queue list, batch status, ping, stop.  One JSON
 * request, one JSON answer {ok, ...} or {ok: false, error, code}.
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

/* An error answer to a CLI request: {"ok": false, "error": message, "code": code}
 * (fresh); code is the exit code the CLI gives (1, 2 or 3).  Named apart from the
 * CLI's own cli_error (controller/cli/cli.h), which prints. */
static json_t *
ctl_cli_error(const char *message, int code)
{
    return json_pack("{s:b, s:s, s:i}", "ok", 0, "error", message, "code", code);
}

/*
 * queue_add {file, matrix (text), at (epoch seconds, optional: now), every_s,
 * every (text), calendar}: validates the matrix (exit code 2 on refusal,
 * nothing stored), stores the entry and, when it is due, makes its batch at
 * once.  Answers {ok, queue, batch (0 when not started yet), runs, next_start}.
 */
static json_t *
cli_queue_add(ctl_t *self, json_t *req)
{
    const char *file = json_string_value(json_object_get(req, "file"));
    const char *text = json_string_value(json_object_get(req, "matrix"));
    json_t *jat = json_object_get(req, "at");
    int64_t every_s = json_integer_value(json_object_get(req, "every_s"));
    const char *every = json_string_value(json_object_get(req, "every"));
    bool calendar = json_is_true(json_object_get(req, "calendar"));
    time_t now = time(NULL), at = jat ? (time_t) json_integer_value(jat) : now;
    char err[FERR_MAX];
    if (self->store_down) {
        char m[400];
        snprintf(m, sizeof m, "the database cannot be written (%s): nothing queued", self->store_why);
        return ctl_cli_error(m, 1);
    }
    if (!file || !text || (jat && !json_is_integer(jat)) || every_s < 0 ||
        every_s > SCHEDULE_EVERY_MAX_S || (every_s > 0 && !every))
        return ctl_cli_error("queue_add needs file, matrix, and a valid at/every", 2);
    if (strlen(text) != json_string_length(json_object_get(req, "matrix")))
        return ctl_cli_error("the matrix text contains a NUL byte", 2);
    matrix_t *m = matrix_load_text(file, text, strlen(text), err);
    if (!m || ctl_matrix_fits(self, m, file, text, err) < 0) {
        matrix_destroy(&m);
        return ctl_cli_error(err, 2);
    }
    int runs = matrix_run_count(m);
    int64_t id = queue_add(self->store, matrix_name(m), file, text, self->testbed->name, at,
                           every_s, every, calendar);
    matrix_destroy(&m);
    if (id < 0)
        return ctl_cli_error("the queue entry could not be stored", 1);
    int64_t batch = 0;
    if (at <= now) {
        batch = ctl_queue_start(self, id, now);
        if (batch < 0)
            return ctl_cli_error("the batch could not be made (cntb queue list shows why)", 1);
    }
    char next[32] = "";
    json_t *answer = json_pack("{s:b, s:I, s:I, s:i}", "ok", 1, "queue", (json_int_t) id, "batch",
                               (json_int_t) batch, "runs", runs);
    if (store_queue_next_start(self->store, id, next, sizeof next) < 0)
        next[0] = '\0'; /* the answer only lacks next_start */
    if (next[0])
        json_object_set_new(answer, "next_start", json_string(next));
    log_info("queue entry %" PRId64 " added: %s%s%s", id, file, next[0] ? ", next start " : "",
             next);
    return answer;
}

/* submit {file, matrix}: the walking skeleton's request, now queue_add for now. */
static json_t *
cli_submit(ctl_t *self, json_t *req)
{
    json_object_del(req, "at");
    json_object_del(req, "every_s");
    return cli_queue_add(self, req);
}

static json_t *
cli_queue_cancel(ctl_t *self, json_t *req)
{
    json_int_t id = json_integer_value(json_object_get(req, "id"));
    int64_t batch = 0;
    int rc = queue_cancel(self->store, id, &batch);
    if (rc < 0)
        return ctl_cli_error("no such queue entry", 2);
    if (batch) {
        /* A run in flight finishes; its batch then ends as cancelled. */
        for (int i = 0; i < CTL_BATCHES_MAX; i++)
            if (self->batches[i].id == batch && !self->batches[i].in_flight)
                ctl_batch_forget(&self->batches[i]);
        ctl_batch_maybe_finish(self, batch);
    }
    log_info("queue entry %lld cancelled%s", (long long) id, rc == 1 ? " (already)" : "");
    return json_pack("{s:b, s:I, s:I, s:b}", "ok", 1, "queue", id, "batch", (json_int_t) batch,
                     "already", rc == 1);
}

static json_t *
cli_batch(ctl_t *self, json_t *req)
{
    json_int_t batch = json_integer_value(json_object_get(req, "batch"));
    char *bstate = NULL;
    json_t *runs = store_batch_runs(self->store, batch, &bstate);
    if (!runs)
        return ctl_cli_error("no such batch", 2);
    json_t *answer = json_pack("{s:b, s:s, s:o}", "ok", 1, "state", bstate, "runs", runs);
    free(bstate);
    return answer;
}

int
ctl_on_cli(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    ctl_t *self = arg;
    char *text = zstr_recv(sock);
    if (!text)
        return 0;
    json_t *req = json_loads(text, 0, NULL);
    free(text);
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    json_t *answer;
    if (!cmd)
        answer = ctl_cli_error("bad request", 2);
    else if (strcmp(cmd, "ping") == 0) {
        answer = json_pack("{s:b, s:s, s:s, s:s, s:i, s:s}", "ok", 1, "testbed",
                           self->testbed->name, "testbed_file", self->cfg->testbed_path, "db",
                           self->cfg->db_path, "pid", (int) getpid(), "store",
                           self->store_down ? "not writable" : "ok");
        if (self->store_down)
            json_object_set_new(answer, "store_error", json_string(self->store_why));
    }
    else if (strcmp(cmd, "agents") == 0) {
        json_t *list = json_array();
        for (int i = 0; i < self->nagents; i++) {
            ctl_agent_t *a = &self->agents[i];
            json_array_append_new(list, json_pack("{s:s, s:b, s:s, s:s, s:O*, s:O*}", "host",
                                                  a->host, "connected", a->connected, "kind",
                                                  a->kind, "peer", a->peer, "capabilities",
                                                  a->caps, "meta", a->meta));
        }
        answer = json_pack("{s:b, s:o, s:i}", "ok", 1, "agents", list, "hosts",
                           self->testbed->host_count);
    } else if (strcmp(cmd, "submit") == 0)
        answer = cli_submit(self, req);
    else if (strcmp(cmd, "queue_add") == 0)
        answer = cli_queue_add(self, req);
    else if (strcmp(cmd, "queue_cancel") == 0)
        answer = cli_queue_cancel(self, req);
    else if (strcmp(cmd, "queue_list") == 0) {
        json_t *list = queue_list(self->store);
        answer = list ? json_pack("{s:b, s:o}", "ok", 1, "queue", list)
                      : ctl_cli_error("the queue could not be read", 1);
    } else if (strcmp(cmd, "batch") == 0)
        answer = cli_batch(self, req);
    else if (strcmp(cmd, "stop") == 0) {
        answer = json_pack("{s:b}", "ok", 1);
        self->stop = true;
    } else
        answer = ctl_cli_error("unknown command", 2);
    char *out = json_dumps(answer, JSON_COMPACT);
    zstr_send(sock, out);
    free(out);
    json_decref(answer);
    json_decref(req);
    return self->stop ? -1 : 0;
}
