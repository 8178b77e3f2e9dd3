/*
 * testbed.c — testbed files: read and validate them into a testbed_t, write
 * them back.
 *
 * Like matrix.c: jansson parses (duplicate keys refused), hand-written checks
 * walk the tree in document order and report the first problem with its JSON
 * path, which ferr_set() turns into a line and column.  Every string lands in
 * a fixed-size field of testbed_t, so every check also bounds its length.
 * Parents of vms are checked once all host names are known (a vm may be
 * listed before its parent).
 *
 * Writing builds the document in a fixed key order, checks it by loading it
 * back (so that a file we write is always one we accept), and replaces the
 * file atomically: temporary file in the same directory, fsync, rename.
 */
#include "testbed.h"
#include "ferr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TB_PATH_MAX 512
#define TB_MAX_KV ((int)(sizeof ((testbed_t *)0)->kv_endpoints / sizeof ((testbed_t *)0)->kv_endpoints[0]))

typedef ferr_ctx_t vctx_t; /* what every check needs to report an error */
#define printable ferr_printable
#define path_key(out, parent, key) ferr_path_key(out, TB_PATH_MAX, parent, key)
#define unknown_key ferr_unknown_key
#define wrong_type ferr_wrong_type

static int
fail_at(const vctx_t *c, const char *path, const char *msg)
{
    ferr_set(c->err, c->file, c->text, c->len, path, "%s", msg);
    return -1;
}

/* A required key: present, or an error located at the enclosing object. */
static json_t *
need(const vctx_t *c, json_t *obj, const char *parent, const char *key)
{
    char path[TB_PATH_MAX];
    json_t *v = json_object_get(obj, key);
    if (!v) {
        path_key(path, parent, key);
        ferr_set(c->err, c->file, c->text, c->len, path, "required key \"%s\" is missing", key);
    }
    return v;
}

static bool
chars_ok(const char *s, size_t max, bool lower_only)
{
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!lower_only)
            ok = ok || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '.' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

static int
get_string(const vctx_t *c, const json_t *v, const char *path, const char **out)
{
    *out = NULL;
    if (!json_is_string(v))
        return wrong_type(c, path, "a string", v);
    *out = json_string_value(v);
    return 0;
}

static int
get_ipv4(const vctx_t *c, const json_t *v, const char *path, char out[16])
{
    struct in_addr a;
    const char *s;
    char buf[64];

    if (get_string(c, v, path, &s) < 0)
        return -1;
    if (strlen(s) > 15 || inet_pton(AF_INET, s, &a) != 1) {
        ferr_set(c->err, c->file, c->text, c->len, path, "not an IPv4 address \"%s\"",
                 printable(s, buf, sizeof buf));
        return -1;
    }
    snprintf(out, 16, "%s", s);
    return 0;
}

static int
get_int_range(const vctx_t *c, const json_t *v, const char *path, int lo, int hi, int *out)
{
    if (!json_is_integer(v))
        return wrong_type(c, path, "an integer", v);
    if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
        ferr_set(c->err, c->file, c->text, c->len, path, "must be between %d and %d (got %lld)",
                 lo, hi, (long long)json_integer_value(v));
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

static int
get_port(const vctx_t *c, const json_t *v, const char *path, int *out)
{
    return get_int_range(c, v, path, 1, 65535, out);
}

static int
check_controller(const vctx_t *c, json_t *ctl, testbed_t *tb)
{
    char path[TB_PATH_MAX];
    const char *key;
    json_t *v;

    if (!json_is_object(ctl))
        return wrong_type(c, "$.controller", "an object", ctl);
    json_object_foreach(ctl, key, v) {
        path_key(path, "$.controller", key);
        if (strcmp(key, "address") == 0) {
            if (get_ipv4(c, v, path, tb->ctl_address) < 0)
                return -1;
        } else if (strcmp(key, "port") == 0) {
            if (get_port(c, v, path, &tb->ctl_port) < 0)
                return -1;
        } else {
            return unknown_key(c, path, key);
        }
    }
    if (!need(c, ctl, "$.controller", "address") || !need(c, ctl, "$.controller", "port"))
        return -1;
    return 0;
}

static int
check_kv(const vctx_t *c, json_t *kv, testbed_t *tb)
{
    char path[TB_PATH_MAX];
    const char *key;
    json_t *v;

    if (!json_is_object(kv))
        return wrong_type(c, "$.kv", "an object", kv);
    json_object_foreach(kv, key, v) {
        path_key(path, "$.kv", key);
        if (strcmp(key, "kind") == 0) {
            const char *k;
            if (get_string(c, v, path, &k) < 0)
                return -1;
            if (strcmp(k, "etcd") != 0)
                return fail_at(c, path, "must be \"etcd\" (the only KV store cntb speaks)");
            snprintf(tb->kv_kind, sizeof tb->kv_kind, "%s", k);
            continue;
        }
        if (strcmp(key, "endpoints") != 0)
            return unknown_key(c, path, key);
        if (!json_is_array(v))
            return wrong_type(c, path, "an array", v);
        if (json_array_size(v) < 1 || json_array_size(v) > (size_t)TB_MAX_KV) {
            ferr_set(c->err, c->file, c->text, c->len, path,
                     "must have between 1 and %d entries (got %zu)", TB_MAX_KV,
                     json_array_size(v));
            return -1;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            char epath[TB_PATH_MAX];
            const char *s;
            snprintf(epath, sizeof epath, "$.kv.endpoints[%zu]", i);
            if (get_string(c, json_array_get(v, i), epath, &s) < 0)
                return -1;
            if ((strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) ||
                strlen(s) >= sizeof tb->kv_endpoints[0] || strpbrk(s, " \t\r\n")) {
                return fail_at(c, epath, "must be an http:// or https:// URL of at most 127 bytes");
            }
            snprintf(tb->kv_endpoints[i], sizeof tb->kv_endpoints[i], "%s", s);
        }
        tb->kv_count = (int)json_array_size(v);
    }
    if (!need(c, kv, "$.kv", "endpoints"))
        return -1;
    if (!tb->kv_kind[0])
        snprintf(tb->kv_kind, sizeof tb->kv_kind, "etcd");
    return 0;
}

static int
check_ssh(const vctx_t *c, json_t *ssh, const char *hpath, testbed_host_t *h)
{
    char spath[TB_PATH_MAX], path[TB_PATH_MAX];
    const char *key, *s;
    json_t *v;

    path_key(spath, hpath, "ssh");
    if (!json_is_object(ssh))
        return wrong_type(c, spath, "an object", ssh);
    json_object_foreach(ssh, key, v) {
        path_key(path, spath, key);
        if (strcmp(key, "user") == 0) {
            if (get_string(c, v, path, &s) < 0)
                return -1;
            if (!chars_ok(s, sizeof h->ssh_user - 1, false))
                return fail_at(c, path, "must match [A-Za-z0-9_.-]{1,31}");
            snprintf(h->ssh_user, sizeof h->ssh_user, "%s", s);
        } else if (strcmp(key, "port") == 0) {
            if (get_port(c, v, path, &h->ssh_port) < 0)
                return -1;
        } else {
            return unknown_key(c, path, key);
        }
    }
    return 0;
}

static int
check_host(const vctx_t *c, json_t *host, const char *hpath, testbed_t *tb, int index)
{
    testbed_host_t *h = &tb->hosts[index];
    char path[TB_PATH_MAX], buf[64];
    const char *key, *s;
    json_t *v;

    if (!json_is_object(host))
        return wrong_type(c, hpath, "an object", host);
    snprintf(h->ssh_user, sizeof h->ssh_user, "root");
    h->ssh_port = 22;
    json_object_foreach(host, key, v) {
        path_key(path, hpath, key);
        if (strcmp(key, "name") == 0) {
            if (get_string(c, v, path, &s) < 0)
                return -1;
            if (!chars_ok(s, sizeof h->name - 1, false))
                return fail_at(c, path, "must match [A-Za-z0-9_.-]{1,31}");
            for (int j = 0; j < index; j++) {
                if (strcmp(tb->hosts[j].name, s) == 0) {
                    ferr_set(c->err, c->file, c->text, c->len, path, "duplicate host \"%s\"",
                             printable(s, buf, sizeof buf));
                    return -1;
                }
            }
            snprintf(h->name, sizeof h->name, "%s", s);
        } else if (strcmp(key, "kind") == 0) {
            if (get_string(c, v, path, &s) < 0)
                return -1;
            if (strcmp(s, "bare-metal") != 0 && strcmp(s, "vm") != 0) {
                ferr_set(c->err, c->file, c->text, c->len, path,
                         "unknown kind \"%s\" (one of bare-metal, vm)",
                         printable(s, buf, sizeof buf));
                return -1;
            }
            snprintf(h->kind, sizeof h->kind, "%s", s);
        } else if (strcmp(key, "address") == 0) {
            if (get_ipv4(c, v, path, h->address) < 0)
                return -1;
            /* Agents are told apart by address too (overlay FDB entries, BIRD
             * neighbours, the controller's underlay checks): one per host. */
            for (int j = 0; j < index; j++)
                if (strcmp(tb->hosts[j].address, h->address) == 0) {
                    ferr_set(c->err, c->file, c->text, c->len, path,
                             "duplicate address %s (already host \"%s\")", h->address,
                             tb->hosts[j].name);
                    return -1;
                }
        } else if (strcmp(key, "netns") == 0) {
            if (get_string(c, v, path, &s) < 0)
                return -1;
            if (!chars_ok(s, sizeof h->netns - 1, false))
                return fail_at(c, path, "must match [A-Za-z0-9_.-]{1,63}");
            snprintf(h->netns, sizeof h->netns, "%s", s);
        } else if (strcmp(key, "parent") == 0) {
            if (get_string(c, v, path, &s) < 0)
                return -1;
            if (!chars_ok(s, sizeof h->parent - 1, false))
                return fail_at(c, path, "must match [A-Za-z0-9_.-]{1,31}");
            snprintf(h->parent, sizeof h->parent, "%s", s);
        } else if (strcmp(key, "vcpus") == 0) {
            if (get_int_range(c, v, path, 1, 64, &h->vcpus) < 0)
                return -1;
        } else if (strcmp(key, "memory_mb") == 0) {
            if (get_int_range(c, v, path, 128, 65536, &h->memory_mb) < 0)
                return -1;
        } else if (strcmp(key, "boot_timeout_s") == 0) {
            if (get_int_range(c, v, path, 5, 3600, &h->boot_timeout_s) < 0)
                return -1;
        } else if (strcmp(key, "image") == 0) {
            if (get_string(c, v, path, &s) < 0)
                return -1;
            if (s[0] != '/' || strlen(s) >= sizeof h->image || strpbrk(s, ", =\t\n\"'"))
                return fail_at(c, path, "must be an absolute path without , = quotes or spaces");
            snprintf(h->image, sizeof h->image, "%s", s);
        } else if (strcmp(key, "ssh") == 0) {
            if (check_ssh(c, v, hpath, h) < 0)
                return -1;
        } else {
            return unknown_key(c, path, key);
        }
    }
    if (!need(c, host, hpath, "name") || !need(c, host, hpath, "kind") ||
        !need(c, host, hpath, "address"))
        return -1;
    if (strcmp(h->kind, "vm") != 0) {
        const char *vmkey = h->parent[0] ? "parent" : json_object_get(host, "vcpus") ? "vcpus"
                            : json_object_get(host, "memory_mb") ? "memory_mb"
                            : h->image[0] ? "image" : h->boot_timeout_s ? "boot_timeout_s" : NULL;
        if (vmkey) {
            path_key(path, hpath, vmkey);
            return fail_at(c, path, "only a vm has a parent, vcpus, memory_mb, image or boot_timeout_s");
        }
        return 0;
    }
    if (strlen(h->name) > 8) { /* its tap on the parent is "cntbvm-NAME", <= 15 bytes */
        path_key(path, hpath, "name");
        return fail_at(c, path, "a vm's name is at most 8 bytes");
    }
    if (!h->vcpus)
        h->vcpus = 1;
    if (!h->memory_mb)
        h->memory_mb = 384;
    if (!h->boot_timeout_s)
        h->boot_timeout_s = 120;
    return 0;
}

static int
check_hosts(const vctx_t *c, json_t *hosts, testbed_t *tb)
{
    char path[TB_PATH_MAX];

    if (!json_is_array(hosts))
        return wrong_type(c, "$.hosts", "an array", hosts);
    if (json_array_size(hosts) < 1 || json_array_size(hosts) > TB_MAX_HOSTS) {
        ferr_set(c->err, c->file, c->text, c->len, "$.hosts",
                 "must have between 1 and %d hosts (got %zu)", TB_MAX_HOSTS,
                 json_array_size(hosts));
        return -1;
    }
    tb->hosts = calloc(json_array_size(hosts), sizeof *tb->hosts);
    if (!tb->hosts) {
        ferr_set(c->err, c->file, NULL, 0, "$.hosts", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < json_array_size(hosts); i++) {
        snprintf(path, sizeof path, "$.hosts[%zu]", i);
        if (check_host(c, json_array_get(hosts, i), path, tb, (int)i) < 0)
            return -1;
        tb->host_count = (int)i + 1;
    }
    /* Every vm runs on a bare-metal host of this testbed (no nesting of VMs in VMs). */
    for (int i = 0; i < tb->host_count; i++) {
        const testbed_host_t *h = &tb->hosts[i];
        if (strcmp(h->kind, "vm") != 0)
            continue;
        const testbed_host_t *p = h->parent[0] ? testbed_host(tb, h->parent) : NULL;
        if (!p) {
            snprintf(path, sizeof path, "$.hosts[%d].parent", i);
            return fail_at(c, path, "vm needs an existing parent host");
        }
        if (strcmp(p->kind, "bare-metal") != 0) {
            snprintf(path, sizeof path, "$.hosts[%d].parent", i);
            return fail_at(c, path, "a vm's parent must be a bare-metal host");
        }
    }
    return 0;
}

/* A path value: [A-Za-z0-9_./-]{1,255}, no "..": it names a file or
 * directory beside the testbed file, never reaches a shell. */
static int
get_path(const vctx_t *c, const json_t *v, const char *path, char out[256])
{
    const char *s;
    if (get_string(c, v, path, &s) < 0)
        return -1;
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 255 && !strstr(s, "..");
    for (size_t i = 0; ok && i < n; i++) {
        char ch = s[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '_' || ch == '.' || ch == '/' || ch == '-';
    }
    if (!ok)
        return fail_at(c, path, "must be a path of [A-Za-z0-9_./-]{1,255} without \"..\"");
    snprintf(out, 256, "%s", s);
    return 0;
}

static int
check_tb_ssh(const vctx_t *c, json_t *ssh, testbed_t *tb)
{
    char path[TB_PATH_MAX];
    const char *key;
    json_t *v;

    if (!json_is_object(ssh))
        return wrong_type(c, "$.ssh", "an object", ssh);
    json_object_foreach(ssh, key, v) {
        path_key(path, "$.ssh", key);
        if (strcmp(key, "key") == 0) {
            if (get_path(c, v, path, tb->ssh_key) < 0)
                return -1;
        } else if (strcmp(key, "known_hosts") == 0) {
            if (get_path(c, v, path, tb->ssh_known_hosts) < 0)
                return -1;
        } else {
            return unknown_key(c, path, key);
        }
    }
    return 0;
}

/* out = value resolved against the directory of `file` (absolute values stay). */
static void
resolve(char out[1024], const char *file, const char *value)
{
    if (!value[0] || value[0] == '/') {
        snprintf(out, 1024, "%s", value);
        return;
    }
    const char *slash = strrchr(file, '/');
    if (!slash)
        snprintf(out, 1024, "%s", value);
    else
        snprintf(out, 1024, "%.*s/%s", (int) (slash - file), file, value);
}

static int
check_document(const vctx_t *c, json_t *doc, testbed_t *tb)
{
    char path[TB_PATH_MAX];
    const char *key, *s;
    json_t *v;

    if (!json_is_object(doc))
        return wrong_type(c, "$", "an object", doc);
    json_object_foreach(doc, key, v) {
        path_key(path, "$", key);
        if (strcmp(key, "name") == 0) {
            if (get_string(c, v, path, &s) < 0)
                return -1;
            if (!chars_ok(s, sizeof tb->name - 2, true))
                return fail_at(c, path, "must match [a-z0-9]{1,6}");
            snprintf(tb->name, sizeof tb->name, "%s", s);
        } else if (strcmp(key, "emulated") == 0) {
            if (!json_is_boolean(v))
                return wrong_type(c, path, "a boolean", v);
            tb->emulated = json_is_true(v);
        } else if (strcmp(key, "controller") == 0) {
            if (check_controller(c, v, tb) < 0)
                return -1;
        } else if (strcmp(key, "kv") == 0) {
            if (check_kv(c, v, tb) < 0)
                return -1;
        } else if (strcmp(key, "hosts") == 0) {
            if (check_hosts(c, v, tb) < 0)
                return -1;
        } else if (strcmp(key, "keys") == 0) {
            if (get_path(c, v, path, tb->keys) < 0)
                return -1;
        } else if (strcmp(key, "ssh") == 0) {
            if (check_tb_ssh(c, v, tb) < 0)
                return -1;
        } else {
            return unknown_key(c, path, key);
        }
    }
    if (!need(c, doc, "$", "name") || !need(c, doc, "$", "controller") ||
        !need(c, doc, "$", "hosts"))
        return -1;
    return 0;
}

testbed_t *
testbed_load_text(const char *file, const char *text, size_t len, char *err)
{
    vctx_t c = { file ? file : "(input)", text, len, err };
    testbed_t *self = NULL;
    json_t *doc = NULL;
    json_error_t jerr;

    self = calloc(1, sizeof *self);
    if (!self) {
        ferr_set(err, c.file, NULL, 0, "$", "out of memory");
        goto out;
    }
    if (ferr_json_text_check(err, c.file, text, len) < 0) {
        testbed_destroy(&self);
        goto out;
    }
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        ferr_json_syntax(err, c.file, &jerr);
        testbed_destroy(&self);
        goto out;
    }
    if (check_document(&c, doc, self) < 0) {
        testbed_destroy(&self);
        goto out;
    }
    resolve(self->keys_path, c.file, self->keys);
    resolve(self->ssh_key_path, c.file, self->ssh_key);
    resolve(self->ssh_known_hosts_path, c.file, self->ssh_known_hosts);
out:
    json_decref(doc);
    return self;
}

testbed_t *
testbed_load_file(const char *path, char *err)
{
    size_t len;
    char *text = ferr_read_file(path, &len, err);
    testbed_t *self = NULL;

    if (!text)
        goto out;
    self = testbed_load_text(path, text, len, err);
out:
    free(text);
    return self;
}

/* The testbed as a JSON document, keys in the order of the format. */
static json_t *
testbed_to_json(const testbed_t *self)
{
    json_t *doc = NULL, *hosts = NULL, *ret = NULL;
    int bad = 0;

    doc = json_object();
    hosts = json_array();
    if (!doc || !hosts)
        goto out;
    bad |= json_object_set_new(doc, "name", json_string(self->name));
    bad |= json_object_set_new(doc, "emulated", json_boolean(self->emulated));
    bad |= json_object_set_new(doc, "controller",
                               json_pack("{s:s, s:i}", "address", self->ctl_address, "port",
                                         self->ctl_port));
    if (self->kv_count > 0) {
        json_t *eps = json_array();
        for (int i = 0; eps && i < self->kv_count && i < TB_MAX_KV; i++)
            bad |= json_array_append_new(eps, json_string(self->kv_endpoints[i]));
        bad |= json_object_set_new(doc, "kv", json_pack("{s:s, s:o*}", "kind",
                                                        self->kv_kind[0] ? self->kv_kind : "etcd",
                                                        "endpoints", eps));
    }
    if (self->keys[0])
        bad |= json_object_set_new(doc, "keys", json_string(self->keys));
    if (self->ssh_key[0] || self->ssh_known_hosts[0]) {
        json_t *ssh = json_object();
        if (self->ssh_key[0])
            bad |= json_object_set_new(ssh, "key", json_string(self->ssh_key));
        if (self->ssh_known_hosts[0])
            bad |= json_object_set_new(ssh, "known_hosts", json_string(self->ssh_known_hosts));
        bad |= json_object_set_new(doc, "ssh", ssh);
    }
    for (int i = 0; i < self->host_count; i++) {
        const testbed_host_t *h = &self->hosts[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", h->name, "kind", h->kind, "address",
                              h->address);
        if (!o) {
            bad = -1;
            break;
        }
        if (h->netns[0])
            bad |= json_object_set_new(o, "netns", json_string(h->netns));
        if (h->parent[0])
            bad |= json_object_set_new(o, "parent", json_string(h->parent));
        if (strcmp(h->kind, "vm") == 0) {
            bad |= json_object_set_new(o, "vcpus", json_integer(h->vcpus ? h->vcpus : 1));
            bad |= json_object_set_new(o, "memory_mb",
                                       json_integer(h->memory_mb ? h->memory_mb : 384));
            bad |= json_object_set_new(o, "boot_timeout_s",
                                       json_integer(h->boot_timeout_s ? h->boot_timeout_s : 120));
        }
        if (h->image[0])
            bad |= json_object_set_new(o, "image", json_string(h->image));
        bad |= json_object_set_new(o, "ssh", json_pack("{s:s, s:i}", "user", h->ssh_user,
                                                       "port", h->ssh_port));
        bad |= json_array_append_new(hosts, o);
    }
    bad |= json_object_set(doc, "hosts", hosts);
    if (bad)
        goto out;
    ret = doc;
    doc = NULL;
out:
    json_decref(doc);
    json_decref(hosts);
    return ret;
}

int
testbed_write_file(const testbed_t *self, const char *path, char *err)
{
    json_t *doc = NULL;
    char *text = NULL, *tmp = NULL, *dircopy = NULL;
    testbed_t *check = NULL;
    int fd = -1, rc = -1;
    size_t len, done = 0;

    doc = testbed_to_json(self);
    if (doc)
        text = json_dumps(doc, JSON_INDENT(2));
    if (!text) {
        ferr_set(err, path, NULL, 0, "$", "cannot encode the testbed (out of memory or bad string)");
        goto out;
    }
    len = strlen(text);
    /* Never write a file that we would refuse to read. */
    check = testbed_load_text(path, text, len, err);
    if (!check)
        goto out;
    if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
        tmp = NULL;
        ferr_set(err, path, NULL, 0, "$", "out of memory");
        goto out;
    }
    fd = mkstemp(tmp);
    if (fd < 0)
        goto syserr;
    if (fchmod(fd, 0644) < 0)
        goto syserr;
    while (done < len + 1) {
        /* The text plus a final newline. */
        const char *p = done < len ? text + done : "\n";
        size_t n = done < len ? len - done : 1;
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            goto syserr;
        done += (size_t)w;
    }
    if (fsync(fd) < 0)
        goto syserr;
    if (close(fd) < 0) {
        fd = -1;
        goto syserr;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto syserr;
    free(tmp);
    tmp = NULL;
    /* Make the rename itself durable; failure here loses nothing written. */
    dircopy = strdup(path);
    if (dircopy) {
        int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    rc = 0;
    goto out;
syserr:
    if (snprintf(err, FERR_MAX, "%s: cannot write: %s", path, strerror(errno)) >= FERR_MAX)
        err[FERR_MAX - 1] = '\0';
out:
    if (fd >= 0)
        close(fd);
    if (tmp)
        unlink(tmp);
    free(tmp);
    free(dircopy);
    free(text);
    testbed_destroy(&check);
    json_decref(doc);
    return rc;
}

const testbed_host_t *
testbed_host(const testbed_t *self, const char *name)
{
    if (!self || !name)
        return NULL;
    for (int i = 0; i < self->host_count; i++)
        if (strcmp(self->hosts[i].name, name) == 0)
            return &self->hosts[i];
    return NULL;
}

void
testbed_destroy(testbed_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->hosts);
    free(*self_p);
    *self_p = NULL;
}
