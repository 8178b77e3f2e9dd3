/*
 * matrix.h — experiment matrices: parse, validate, expand into runs.
 *
 * A matrix file (schemas/matrix.schema.json, docs/matrix.md) is
 *   {
 *     "name": "demo",                                   optional, default: file stem
 *     "testbed": "lab",                                 optional: the testbed it is meant for
 *     "hosts": ["h1", "h2"],                            optional: the hosts its runs may lease
 *     "fixed": { "traffic": "tcp_stream", "size": 16384, "duration_s": 3 },
 *     "vary":  { "network": ["host", "bridge"], "size": {"from": 64, "to": 1472, "step": 64} },
 *     "exclude": [ { "network": "bridge", "size": 64 } ],   each must match some point
 *     "include": [ { "network": "nat", "placement": "cross-host" } ],  extra points
 *     "repetitions": 3, "order": "random", "seed": 42,
 *     "baseline": { "network": "host" },                must match some point
 *     "timeouts": { "lease_s": 30, "setup_s": 30, "start_s": 15, "collect_s": 30,
 *                   "teardown_s": 30 },
 *     "retries": 1, "pause_s": 2, "max_runs": 100000
 *   }
 * Parameters (each may be in fixed or vary, not both; absent ones take
 * defaults): network, placement, nesting, traffic, size, streams,
 * duration_s, macvlan_mode, ipvlan_mode, pairs, cpu_pinning, mtu, direction,
 * omit_s, interval_s, rate, burst, timeout_ms, engine, gso, allow_fragments;
 * their types, units, ranges and defaults are the rows of proto/param.c
 * (docs/matrix.md's table, checked against it by tests/unit/test_param.c).
 * Expansion: the cartesian product of the vary lists (in file
 * order, first key varying slowest; without vary lists one point, or none
 * when include lists points), minus every point that matches all keys
 * of an exclude entry, plus the include points (completed from fixed and
 * defaults, not excluded, not duplicated), repeated `repetitions` times
 * (1..1000): sequentially all points for repetition 1, then all for
 * repetition 2, ...; with "order": "random" each repetition's points are
 * shuffled with the seed (default 1).  Runs are numbered 0.. in execution
 * order.  Every run's params object holds every parameter with its value.
 */
#ifndef CNTB_MATRIX_H
#define CNTB_MATRIX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The stages with a timeout of their own ($.timeouts keys in this order). */
typedef enum {
    MATRIX_LEASE,    /* lease_s: waiting for the hosts' agents to be connected */
    MATRIX_SETUP,    /* setup_s: every host builds its part */
    MATRIX_START,    /* start_s: the server answers START */
    MATRIX_COLLECT,  /* collect_s: grace after duration_s for the client's result */
    MATRIX_TEARDOWN, /* teardown_s */
    MATRIX_STAGES
} matrix_stage_t;

typedef struct matrix matrix_t;

/*
 * Reads and validates a matrix file.  Returns a fresh matrix (caller frees
 * with matrix_destroy) or NULL with a one-line "FILE:LINE:COL: PATH: msg"
 * error in err (FERR_MAX bytes; see ferr.h).  Refuses: unreadable file,
 * invalid JSON, unknown keys at any level, wrong types, unknown enum values,
 * out-of-range numbers, a parameter both fixed and varied, an empty vary list,
 * a bad range, repetitions outside 1..1000, an exclude entry or a baseline
 * that matches no point, a seed without random order, a matrix that expands
 * to no runs or to more than max_runs (default 100000, at most 1000000), and
 * a point that can never run (docs/matrix.md "Points that can never run": a
 * network with a placement it cannot run, a combination the engines cannot
 * run, too many connections, a UDP size no datagram or no known path MTU
 * carries).
 */
matrix_t *matrix_load_file(const char *path, char *err);

/* As matrix_load_file, from text of len bytes; `file` names it in errors. */
matrix_t *matrix_load_text(const char *file, const char *text, size_t len, char *err);

/* Destroys the matrix and sets *self_p to NULL; accepts NULL. */
void matrix_destroy(matrix_t **self_p);

/* The matrix name (borrowed, valid while the matrix lives). */
const char *matrix_name(const matrix_t *self);

/* The document as loaded (borrowed). */
const json_t *matrix_document(const matrix_t *self);

/* Number of runs after expansion, 1..max_runs. */
int matrix_run_count(const matrix_t *self);

/* Parameters of run i in execution order (0 <= i < count), a complete object
 * (borrowed); NULL when i is out of range. */
const json_t *matrix_run_params(const matrix_t *self, int i);

/* Repetition number of run i, 1-based. */
int matrix_run_repetition(const matrix_t *self, int i);

/* Point index of run i: runs of the same parameter point share it, 0-based. */
int matrix_run_point(const matrix_t *self, int i);

/* $.testbed, or NULL (borrowed). */
const char *matrix_testbed(const matrix_t *self);

/* $.hosts (an array of distinct host names), or NULL: any host (borrowed). */
const json_t *matrix_hosts(const matrix_t *self);

/*
 * Checks that every point can be placed on nhosts bare-metal hosts (the
 * matrix's $.hosts found in the testbed, else the testbed's bare-metal
 * hosts): placement cross-host needs 2 (a client and a server host), the
 * other placements 1.  Called at submit time (cntb run, queue add) where the
 * testbed is known, so that such runs are refused instead of skipped one by
 * one at run time.  file and text are the matrix file's for the position.
 * 0, or -1 with a ferr-style message in err (FERR_MAX bytes) at the path of
 * the first such point's placement.
 */
int matrix_check_host_count(const matrix_t *self, int nhosts, const char *testbed,
                            const char *file, const char *text, char *err);

/* $.baseline (a partial assignment), or NULL (borrowed). */
const json_t *matrix_baseline(const matrix_t *self);

/* Run i matches the baseline. */
bool matrix_run_is_baseline(const matrix_t *self, int i);

/* $.retries: attempts after a failed one, 0..10 (default 0). */
int matrix_retries(const matrix_t *self);

/* $.pause_s: seconds between two runs of a batch, 0..3600 (default 0). */
double matrix_pause_s(const matrix_t *self);

/* The timeout of a stage in ms from $.timeouts, or def_ms when the matrix sets none. */
int matrix_timeout_ms(const matrix_t *self, matrix_stage_t stage, int def_ms);

/* True for "order": "random"; *seed (when not NULL) gets the seed. */
bool matrix_order_random(const matrix_t *self, uint64_t *seed);

/* $.max_runs (default 100000). */
int matrix_max_runs(const matrix_t *self);

/* The largest seed a matrix may state: 2^53 - 1, the largest integer every
 * JSON reader keeps exactly. */
#define MATRIX_SEED_MAX 9007199254740991ULL

/*
 * The seed of the random order of a queue entry's batch number `occurrence`
 * (0 = its first batch) from the matrix's seed: occurrence 0 keeps the seed
 * itself (the order `cntb matrix expand` prints), occurrence k >= 1 takes
 * the low 53 bits of the k-th number splitmix64 draws from the seed
 * (docs/matrix.md ORDER), so every night of a series runs its own order and
 * each such seed is itself a valid "seed" for a matrix file (replay).
 */
uint64_t matrix_batch_seed(uint64_t seed, int64_t occurrence);

/*
 * Re-orders a random matrix with another seed (0 .. MATRIX_SEED_MAX), as if
 * the file had said it; a sequential matrix is left as it is.  0, or -1
 * (a seed out of range, out of memory: the order is unchanged).
 */
int matrix_set_seed(matrix_t *self, uint64_t seed);

/*
 * The names of the parameters whose value differs between the matrix's
 * points (from vary, or from include entries), in the order of the
 * parameter table: what tells one run's parameters from another's.  A fresh
 * JSON array of strings (empty for a single point); NULL when out of memory.
 */
json_t *matrix_varied(const matrix_t *self);

/*
 * The position of value in the list of values of the string parameter
 * param ("network": none 0, host 1, container 2, ...; the order of
 * docs/matrix.md's parameter table), or -1 when param is no such parameter
 * or value is none of its values.  For sorting in that order.
 */
int matrix_param_rank(const char *param, const char *value);

#endif
