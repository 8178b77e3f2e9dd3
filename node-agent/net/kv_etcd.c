/*
 * kv_etcd.c — etcd v3 over its JSON gateway with libcurl (kv_etcd.h).
 *
 * Each call is one POST of a JSON body to <endpoint>/v3/<service>/<method>
 * (kv/put, kv/range, kv/deleterange, lease/grant, lease/revoke, watch), on
 * one reused curl easy handle.  Keys and values are base64 in both
 * directions; a prefix range is [prefix, prefix with its last byte + 1)
 * (etcd's own `--prefix` rule, clientv3.GetPrefixRangeEnd).  The watch is a
 * streamed response: one JSON object per message, the first confirming the
 * creation; objects are cut from the stream with jansson's
 * JSON_DISABLE_EOF_CHECK, which reports how many bytes one object took.
 */
#include "kv_etcd.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KV_BODY_MAX (8 * 1024 * 1024) /* bytes of a response kept */

struct kv_etcd {
    char endpoint[160];
    int timeout_ms;
    CURL *curl;
};

/* A response being received. */
struct kv_buf {
    char *data;
    size_t len, cap;
    /* watch only */
    kv_etcd_event_fn fn;
    void *arg;
    bool stopped;      /* fn asked to end */
    bool bad;          /* a message could not be understood */
    char why[128];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *kv_b64_encode(const void *data, size_t len)
{
    const unsigned char *p = data;
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
    size_t i;

    if (!out)
        return NULL;
    for (i = 0; i + 2 < len; i += 3) {
        *o++ = b64chars[p[i] >> 2];
        *o++ = b64chars[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        *o++ = b64chars[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
        *o++ = b64chars[p[i + 2] & 63];
    }
    if (len - i == 1) {
        *o++ = b64chars[p[i] >> 2];
        *o++ = b64chars[(p[i] & 3) << 4];
        *o++ = '=';
        *o++ = '=';
    } else if (len - i == 2) {
        *o++ = b64chars[p[i] >> 2];
        *o++ = b64chars[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        *o++ = b64chars[(p[i + 1] & 15) << 2];
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;
    return p ? (int)(p - b64chars) : -1;
}

char *kv_b64_decode(const char *text, size_t *len)
{
    size_t n = text ? strlen(text) : 0, i, o = 0;
    char *out;

    if (!text || n % 4 != 0)
        return NULL;
    out = malloc(n / 4 * 3 + 1);
    if (!out)
        return NULL;
    for (i = 0; i < n; i += 4) {
        int a = b64val(text[i]), b = b64val(text[i + 1]);
        int c = text[i + 2] == '=' ? -2 : b64val(text[i + 2]);
        int d = text[i + 3] == '=' ? -2 : b64val(text[i + 3]);
        bool last = i + 4 == n;
        if (a < 0 || b < 0 || c == -1 || d == -1 || (!last && (c < 0 || d < 0)) ||
            (c == -2 && d != -2)) {
            free(out);
            return NULL;
        }
        out[o++] = (char)((a << 2) | (b >> 4));
        if (c >= 0)
            out[o++] = (char)(((b & 15) << 4) | (c >> 2));
        if (d >= 0)
            out[o++] = (char)(((c & 3) << 6) | d);
    }
    out[o] = '\0';
    if (len)
        *len = o;
    return out;
}

kv_etcd_t *kv_etcd_new(const char *endpoint, int timeout_ms, char *err)
{
    kv_etcd_t *self;
    size_t n;

    if (!endpoint || (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0) ||
        strlen(endpoint) >= sizeof self->endpoint - 1 || timeout_ms < 100 || timeout_ms > 60000) {
        snprintf(err, KV_ERR_MAX, "etcd %.160s: endpoint must be an http(s):// URL, timeout 100..60000 ms",
                 endpoint ? endpoint : "(none)");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, KV_ERR_MAX, "etcd %.160s: out of memory", endpoint);
        return NULL;
    }
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    n = strlen(self->endpoint);
    if (n && self->endpoint[n - 1] == '/')
        self->endpoint[n - 1] = '\0';
    self->timeout_ms = timeout_ms;
    self->curl = curl_easy_init();
    if (!self->curl) {
        snprintf(err, KV_ERR_MAX, "etcd %.160s: curl_easy_init failed", endpoint);
        free(self);
        return NULL;
    }
    return self;
}

void kv_etcd_destroy(kv_etcd_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curl_easy_cleanup((*self_p)->curl);
    free(*self_p);
    *self_p = NULL;
}

static size_t buf_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct kv_buf *b = userdata;
    size_t n = size * nmemb;

    if (b->len + n + 1 > KV_BODY_MAX)
        return 0;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        char *d;
        while (cap < b->len + n + 1)
            cap *= 2;
        d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/*
 * POSTs body (taken) to /v3/<path>; *out gets the decoded JSON answer
 * (fresh).  An answer with "error"/"message" (gateway errors) is an error.
 */
static int kv_call(kv_etcd_t *self, const char *path, json_t *body, json_t **out, char *err)
{
    struct kv_buf b = {0};
    char url[256], cerr[CURL_ERROR_SIZE] = "";
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *hdr = NULL;
    json_t *ans = NULL;
    json_error_t jerr;
    long code = 0;
    int ret = -1;
    CURLcode rc;

    json_decref(body);
    *out = NULL;
    if (!text) {
        snprintf(err, KV_ERR_MAX, "etcd %s: out of memory", self->endpoint);
        return -1;
    }
    snprintf(url, sizeof url, "%s/v3/%s", self->endpoint, path);
    hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_reset(self->curl);
    curl_easy_setopt(self->curl, CURLOPT_URL, url);
    curl_easy_setopt(self->curl, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(self->curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(self->curl, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(self->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(self->curl, CURLOPT_TIMEOUT_MS, (long)self->timeout_ms);
    curl_easy_setopt(self->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)self->timeout_ms);
    curl_easy_setopt(self->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(self->curl, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(self->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    rc = curl_easy_perform(self->curl);
    if (rc != CURLE_OK) {
        snprintf(err, KV_ERR_MAX, "etcd %s: %s", self->endpoint, cerr[0] ? cerr : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &code);
    ans = b.data ? json_loadb(b.data, b.len, 0, &jerr) : NULL;
    if (code != 200 || !json_is_object(ans)) {
        const char *m = json_string_value(json_object_get(ans, "message"));
        snprintf(err, KV_ERR_MAX, "etcd %s: /v3/%s: HTTP %ld%s%.120s", self->endpoint, path, code,
                 m ? ": " : "", m ? m : "");
        goto out;
    }
    *out = ans;
    ans = NULL;
    ret = 0;
out:
    json_decref(ans);
    curl_slist_free_all(hdr);
    free(b.data);
    free(text);
    return ret;
}

/* An int64 that the gateway sends as a string (or a number). */
static int64_t json_i64(json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

/* Sets "key" and "range_end" of body for the prefix (base64).  0 or -1. */
static int set_prefix(json_t *body, const char *prefix)
{
    size_t n = strlen(prefix);
    char *end = malloc(n + 1), *k, *e;
    int ret;

    if (!end || n == 0) {
        free(end);
        return -1;
    }
    memcpy(end, prefix, n + 1);
    end[n - 1] = (char)(end[n - 1] + 1); /* prefixes here end in '/', never 0xff */
    k = kv_b64_encode(prefix, n);
    e = kv_b64_encode(end, n);
    ret = k && e && json_object_set_new(body, "key", json_string(k)) == 0 &&
                  json_object_set_new(body, "range_end", json_string(e)) == 0
              ? 0
              : -1;
    free(k);
    free(e);
    free(end);
    return ret;
}

int kv_etcd_lease_grant(kv_etcd_t *self, int ttl_s, int64_t *lease, char *err)
{
    json_t *ans = NULL;

    if (kv_call(self, "lease/grant", json_pack("{s:i}", "TTL", ttl_s), &ans, err) < 0)
        return -1;
    *lease = json_i64(json_object_get(ans, "ID"));
    json_decref(ans);
    if (*lease == 0) {
        snprintf(err, KV_ERR_MAX, "etcd %s: lease/grant: no lease id in the answer", self->endpoint);
        return -1;
    }
    return 0;
}

int kv_etcd_lease_revoke(kv_etcd_t *self, int64_t lease, char *err)
{
    char id[32];
    json_t *ans = NULL;
    char e2[KV_ERR_MAX];

    snprintf(id, sizeof id, "%" PRId64, lease);
    if (kv_call(self, "lease/revoke", json_pack("{s:s}", "ID", id), &ans, e2) < 0) {
        if (strstr(e2, "lease not found"))
            return 0;
        snprintf(err, KV_ERR_MAX, "%s", e2);
        return -1;
    }
    json_decref(ans);
    return 0;
}

int kv_etcd_put(kv_etcd_t *self, const char *key, const char *value, int64_t lease, char *err)
{
    char *k = kv_b64_encode(key, strlen(key)), *v = kv_b64_encode(value, strlen(value));
    json_t *body = NULL, *ans = NULL;
    char id[32];
    int ret = -1;

    if (!k || !v)
        goto out;
    body = json_pack("{s:s, s:s}", "key", k, "value", v);
    if (lease) {
        snprintf(id, sizeof id, "%" PRId64, lease);
        json_object_set_new(body, "lease", json_string(id));
    }
    ret = kv_call(self, "kv/put", body, &ans, err);
out:
    json_decref(ans);
    free(k);
    free(v);
    return ret;
}

int kv_etcd_range(kv_etcd_t *self, const char *prefix, json_t **kvs, int64_t *revision, char *err)
{
    json_t *body = json_object(), *ans = NULL, *kv;
    size_t i;

    *kvs = NULL;
    if (!body || set_prefix(body, prefix) < 0) {
        json_decref(body);
        snprintf(err, KV_ERR_MAX, "etcd %s: bad prefix", self->endpoint);
        return -1;
    }
    if (kv_call(self, "kv/range", body, &ans, err) < 0)
        return -1;
    *kvs = json_object();
    if (revision)
        *revision = json_i64(json_object_get(json_object_get(ans, "header"), "revision"));
    json_array_foreach(json_object_get(ans, "kvs"), i, kv) {
        char *k = kv_b64_decode(json_string_value(json_object_get(kv, "key")), NULL);
        const char *v64 = json_string_value(json_object_get(kv, "value"));
        char *v = v64 ? kv_b64_decode(v64, NULL) : strdup("");
        if (k && v)
            json_object_set_new(*kvs, k, json_string(v));
        free(k);
        free(v);
    }
    json_decref(ans);
    return 0;
}

int kv_etcd_delete_prefix(kv_etcd_t *self, const char *prefix, int *deleted, char *err)
{
    json_t *body = json_object(), *ans = NULL;

    if (!body || set_prefix(body, prefix) < 0) {
        json_decref(body);
        snprintf(err, KV_ERR_MAX, "etcd %s: bad prefix", self->endpoint);
        return -1;
    }
    if (kv_call(self, "kv/deleterange", body, &ans, err) < 0)
        return -1;
    if (deleted)
        *deleted = (int)json_i64(json_object_get(ans, "deleted"));
    json_decref(ans);
    return 0;
}

/* Hands the events of one watch message to fn. */
static void watch_message(struct kv_buf *b, json_t *msg)
{
    json_t *res = json_object_get(msg, "result"), *ev;
    size_t i;

    if (!json_is_object(res)) {
        const char *m = json_string_value(json_object_get(json_object_get(msg, "error"), "message"));
        b->bad = true;
        snprintf(b->why, sizeof b->why, "watch: %s", m ? m : "answer without result");
        return;
    }
    if (json_is_true(json_object_get(res, "canceled"))) {
        const char *m = json_string_value(json_object_get(res, "cancel_reason"));
        b->bad = true;
        snprintf(b->why, sizeof b->why, "watch canceled: %s", m ? m : "no reason given");
        return;
    }
    json_array_foreach(json_object_get(res, "events"), i, ev) {
        json_t *kv = json_object_get(ev, "kv");
        const char *type = json_string_value(json_object_get(ev, "type")); /* absent = PUT */
        bool put = !type || strcmp(type, "PUT") == 0;
        char *k = kv_b64_decode(json_string_value(json_object_get(kv, "key")), NULL);
        const char *v64 = json_string_value(json_object_get(kv, "value"));
        char *v = put && v64 ? kv_b64_decode(v64, NULL) : strdup("");
        if (k && v && !b->stopped && b->fn(b->arg, put, k, v))
            b->stopped = true;
        free(k);
        free(v);
    }
}

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct kv_buf *b = userdata;
    size_t n = size * nmemb, used = 0;

    if (buf_write(ptr, size, nmemb, b) != n)
        return 0;
    for (;;) {
        json_error_t jerr;
        json_t *msg;
        while (used < b->len && (b->data[used] == '\n' || b->data[used] == '\r' || b->data[used] == ' '))
            used++;
        if (used >= b->len)
            break;
        msg = json_loadb(b->data + used, b->len - used, JSON_DISABLE_EOF_CHECK, &jerr);
        if (!msg)
            break; /* incomplete: wait for more */
        used += (size_t)jerr.position;
        watch_message(b, msg);
        json_decref(msg);
    }
    memmove(b->data, b->data + used, b->len - used);
    b->len -= used;
    if (b->data)
        b->data[b->len] = '\0';
    return b->stopped || b->bad ? 0 : n; /* 0 ends the transfer */
}

struct watch_tick {
    void (*tick)(void *);
    void *arg;
};

static int watch_progress(void *p, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct watch_tick *t = p;

    (void)a;
    (void)b;
    (void)c;
    (void)d;
    if (t->tick)
        t->tick(t->arg);
    return 0;
}

int kv_etcd_watch(kv_etcd_t *self, const char *prefix, int64_t start_rev, int timeout_ms,
                  kv_etcd_event_fn fn, void *arg, void (*tick)(void *), void *tick_arg,
                  char *err)
{
    struct kv_buf b = {.fn = fn, .arg = arg};
    struct watch_tick t = {tick, tick_arg};
    json_t *req = json_object(), *body;
    struct curl_slist *hdr = NULL;
    char url[256], cerr[CURL_ERROR_SIZE] = "", rev[32], *text = NULL;
    int ret = -1;
    CURLcode rc;

    if (!req || set_prefix(req, prefix) < 0) {
        json_decref(req);
        snprintf(err, KV_ERR_MAX, "etcd %s: bad prefix", self->endpoint);
        return -1;
    }
    snprintf(rev, sizeof rev, "%" PRId64, start_rev);
    json_object_set_new(req, "start_revision", json_string(rev));
    body = json_pack("{s:o}", "create_request", req);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        snprintf(err, KV_ERR_MAX, "etcd %s: out of memory", self->endpoint);
        return -1;
    }
    snprintf(url, sizeof url, "%s/v3/watch", self->endpoint);
    hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_reset(self->curl);
    curl_easy_setopt(self->curl, CURLOPT_URL, url);
    curl_easy_setopt(self->curl, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(self->curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(self->curl, CURLOPT_WRITEFUNCTION, watch_write);
    curl_easy_setopt(self->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(self->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(self->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)self->timeout_ms);
    curl_easy_setopt(self->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(self->curl, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(self->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(self->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(self->curl, CURLOPT_XFERINFOFUNCTION, watch_progress);
    curl_easy_setopt(self->curl, CURLOPT_XFERINFODATA, &t);
    rc = curl_easy_perform(self->curl);
    long code = 0;
    curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &code);
    if (b.stopped)
        ret = 1;
    else if (b.bad)
        snprintf(err, KV_ERR_MAX, "etcd %s: %s", self->endpoint, b.why);
    else if (rc == CURLE_OPERATION_TIMEDOUT && code == 200)
        ret = 0; /* the watch was created and nothing ended it */
    else
        snprintf(err, KV_ERR_MAX, "etcd %s: watch: %s", self->endpoint,
                 cerr[0] ? cerr : curl_easy_strerror(rc));
    curl_slist_free_all(hdr);
    free(b.data);
    free(text);
    return ret;
}
