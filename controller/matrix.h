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
 *   duration_s  number of seconds, > 0 and <= 86400                            default 10
 *   macvlan_mode bridge|private|vepa|passthru|source (network macvlan)         default bridge
 *   ipvlan_mode l2|l3|l3s (network ipvlan)                                     default l2
 *   pairs       integer 1..64: client/server pairs at once, results summed     default 1
 *   cpu_pinning true|false: each traffic process on its own core               default false
 *   mtu         integer bytes 0..65535, container side, 0 = the mode's default default 0
 *               (the agent refuses 1..67 and more than the mode allows: skipped)
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
