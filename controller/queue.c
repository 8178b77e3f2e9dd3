/*
 * queue.c — the queue of matrices behind queue.h.
 *
 * The SQL is the store's (store_queue.c, store.h "the queue"): this module
 * is the queue's vocabulary for the controller and the order of a batch of
 * a series (queue_order).  The wrappers keep their store_queue_* contract.
 */
#include "queue.h"

int64_t
queue_add(store_t *store, const char *name, const char *file, const char *matrix,
          const char *testbed, time_t at, int64_t every_s, const char *every_text, bool calendar)
{
    return store_queue_add(store, name, file, matrix, testbed, at, every_s, every_text,
                           calendar);
}

int
queue_due(store_t *store, const char *testbed, time_t now, int64_t *ids, int max)
{
    return store_queue_due(store, testbed, now, ids, max);
}

int
queue_get(store_t *store, int64_t id, queue_entry_t *e)
{
    return store_queue_get(store, id, e);
}

void
queue_entry_free(queue_entry_t *e)
{
    store_queue_entry_free(e);
}

int
queue_started(store_t *store, int64_t id, int64_t batch, time_t next)
{
    return store_queue_started(store, id, batch, next);
}

int
queue_order(matrix_t *m, const queue_entry_t *e, int64_t *seed)
{
    uint64_t s;

    *seed = -1;
    if (!matrix_order_random(m, &s))
        return 0;
    s = matrix_batch_seed(s, e->batches);
    if (matrix_set_seed(m, s) < 0)
        return -1;
    *seed = (int64_t)s;
    return 0;
}

int64_t
queue_start_batch(store_t *store, int64_t id, const char *matrix_name, const char *matrix_json,
                  const char *testbed, int nruns, const char *const *params_json,
                  const int *point, const int *repetition, int64_t seed, time_t next)
{
    return store_queue_start_batch(store, id, matrix_name, matrix_json, testbed, nruns,
                                   params_json, point, repetition, seed, next);
}

int
queue_failed(store_t *store, int64_t id, const char *error)
{
    return store_queue_failed(store, id, error);
}

int
queue_cancel(store_t *store, int64_t id, int64_t *batch)
{
    return store_queue_cancel(store, id, batch);
}

json_t *
queue_list(store_t *store)
{
    return store_queue_list(store);
}
