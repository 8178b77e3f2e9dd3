/*
 * kv_etcd.h — a small etcd v3 client over its JSON gateway (libcurl).
 *
 * etcd 3.4 serves the gRPC API as JSON under /v3/ (docs:
 * etcd.io/docs/v3.4/dev-guide/api_grpc_gateway/): keys and values travel
 * base64-encoded, int64 fields as strings.  What cntb needs: put with a
 * lease, range over a prefix, delete a prefix, grant and revoke a lease, and
 * watch a prefix from a revision.  Every call is bounded in time; errors
 * name etcd and the endpoint ("etcd http://198.18.7.254:23007: Couldn't
 * connect to server") so that a failed run says what was unreachable.
 */
#ifndef CNTB_KV_ETCD_H
#define CNTB_KV_ETCD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define KV_ERR_MAX 256

typedef struct kv_etcd kv_etcd_t;

/*
 * A client of the etcd at endpoint ("http://host:port", no trailing slash
 * needed).  timeout_ms (100..60000) bounds each request but watches.
 * Fresh (free with kv_etcd_destroy) or NULL with err (KV_ERR_MAX bytes).
 */
kv_etcd_t *kv_etcd_new(const char *endpoint, int timeout_ms, char *err);

/* Frees the client; accepts NULL and sets *self_p to NULL. */
void kv_etcd_destroy(kv_etcd_t **self_p);

/* Grants a lease of ttl_s seconds (1..86400); its id in *lease.  0 or -1. */
int kv_etcd_lease_grant(kv_etcd_t *self, int ttl_s, int64_t *lease, char *err);

/* Revokes a lease: its keys vanish.  An expired lease is not an error.  0 or -1. */
int kv_etcd_lease_revoke(kv_etcd_t *self, int64_t lease, char *err);

/* Puts key = value (both text) attached to lease (0 = none).  0 or -1. */
int kv_etcd_put(kv_etcd_t *self, const char *key, const char *value, int64_t lease, char *err);

/*
 * Reads every key starting with prefix.  *kvs gets a fresh JSON object
 * {key: value} (decoded text), *revision the store's revision of the read
 * (for kv_etcd_watch).  0 or -1.
 */
int kv_etcd_range(kv_etcd_t *self, const char *prefix, json_t **kvs, int64_t *revision, char *err);

/* Deletes every key starting with prefix; the number deleted in *deleted (may be NULL).  0 or -1. */
int kv_etcd_delete_prefix(kv_etcd_t *self, const char *prefix, int *deleted, char *err);

/*
 * Called per watch event: put (true) or delete, key and value (value "" on a
 * delete).  Return true to end the watch.
 */
typedef bool (*kv_etcd_event_fn)(void *arg, bool put, const char *key, const char *value);

/*
 * Watches the keys starting with prefix from revision start_rev (>= 1) for
 * at most timeout_ms, calling fn per event, and tick (may be NULL) about
 * every 100 ms.  Returns 1 when fn ended the watch, 0 at the timeout, -1 on
 * an error.
 */
int kv_etcd_watch(kv_etcd_t *self, const char *prefix, int64_t start_rev, int timeout_ms,
                  kv_etcd_event_fn fn, void *arg, void (*tick)(void *), void *tick_arg,
                  char *err);

/* Base64 (RFC 4648 §4, padded) of len bytes into a fresh string; NULL on no memory. */
char *kv_b64_encode(const void *data, size_t len);

/* Decodes padded base64 into a fresh NUL-terminated buffer (length in *len); NULL when invalid. */
char *kv_b64_decode(const char *text, size_t *len);

#endif
