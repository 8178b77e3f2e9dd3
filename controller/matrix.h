/*
 * matrix.h — experiment matrices: parse, validate, expand into runs.
 *
 * A matrix file (schemas/matrix.schema.json, docs/matrix.md) is
 *   {
 *     "name": "demo",                                   optional, default: file stem
 *     "fixed": { "traffic": "tcp_stream", "size": 16384, "duration_s": 3 },
 *     "vary":  { "network": ["host", "bridge"], "placement": ["same-host", "cross-host"] },
 *     "exclude": [ { "network": "bridge", "placement": "cross-host" } ],
 *     "repetitions": 3
 *   }
 * Parameters (each may be in fixed or vary, not both; absent ones take defaults):
 *   network     none|host|container|bridge|macvlan|ipvlan|nat|overlay|routing  default host
 *   placement   same-host|cross-host                                           default same-host
 *   nesting     bare|vm                                                        default bare
 *   traffic     tcp_stream|udp_stream|tcp_rr|udp_rr|tcp_crr                    default tcp_stream
 *   size        integer bytes, 1..1048576 (L4 payload per send)                default 1448
 *   streams     integer 1..128 (parallel connections)                          default 1
 *   duration_s  number of seconds, > 0 and <= 86400 (measured time)            default 10
 *   direction   upload|download (stream kinds: who sends)                      default upload
 *   omit_s      number of seconds, >= 0 and <= 3600 (warm-up before duration_s) default 0
 *   interval_s  number of seconds, > 0 and <= 3600 (samples; engine min 0.01)  default 1
 *   rate        integer datagrams/s per flow, 0..100000000 (udp_stream; 0 = unpaced) default 0
 *   burst       integer 1..64 (tcp_rr/udp_rr outstanding probes per flow)     default 1
 *   timeout_ms  integer 1..60000 (udp_rr: an unanswered probe is lost after it) default 200
 *   engine      builtin|iperf3|sockperf (who generates the traffic)            default builtin
 *   gso         true|false (udp_stream: UDP GSO/GRO below the socket)          default false
 *   allow_fragments true|false (UDP size above path MTU - 28 runs, flagged)    default false
 * Expansion: the cartesian product of the vary lists (in file order, first key
 * varying slowest), minus every point that matches all keys of an exclude
 * entry, repeated `repetitions` times (1..1000): all points for repetition 1,
 * then all for repetition 2, ...  Every run's params object holds every
 * parameter above with its value.
 */
#ifndef CNTB_MATRIX_H
#define CNTB_MATRIX_H

#include <jansson.h>
#include <stddef.h>

typedef struct matrix matrix_t;

/*
 * Reads and validates a matrix file.  Returns a fresh matrix (caller frees
 * with matrix_destroy) or NULL with a one-line "FILE:LINE:COL: PATH: msg"
 * error in err (FERR_MAX bytes; see ferr.h).  Refuses: unreadable file,
 * invalid JSON, unknown keys at any level, wrong types, unknown enum values,
 * out-of-range numbers, a parameter both fixed and varied, an empty vary list,
 * repetitions outside 1..1000, a matrix that expands to no runs.
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

/* Number of runs after expansion, >= 1. */
int matrix_run_count(const matrix_t *self);

/* Parameters of run i (0 <= i < count), a complete object (borrowed). */
const json_t *matrix_run_params(const matrix_t *self, int i);

/* Repetition number of run i, 1-based. */
int matrix_run_repetition(const matrix_t *self, int i);

/* Point index of run i: runs of the same parameter point share it, 0-based. */
int matrix_run_point(const matrix_t *self, int i);

#endif
