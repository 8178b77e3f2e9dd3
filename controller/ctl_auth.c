/*
 * ctl_auth.c — CURVE on the controller's agent socket (see ctl_auth.h).
 *
 * Order matters (czmq's zauth docs): the zauth actor must run and know its
 * policy before the socket binds, else early handshakes pass without ZAP.
 * The controller's certificate must have its secret half; the directory of
 * allowed keys is handed to zauth, which reloads it when it changes, so a
 * host removed from KEYS/hosts/ is refused from its next connection on.
 */
#include "ctl_auth.h"

#include "keys.h"
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

struct ctl_auth {
    zactor_t *zauth;     /* NULL when authentication is off */
    zsock_t *router;
    char keys[1024];     /* the key directory, "" = off */
};

ctl_auth_t *
ctl_auth_new(const testbed_t *tb, zsock_t **router, char *err, size_t len)
{
    ctl_auth_t *self = calloc(1, sizeof *self);
    zcert_t *cert = NULL;
    char path[1100];
    if (!self) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    snprintf(self->keys, sizeof self->keys, "%s", tb->keys_path);
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router) {
        snprintf(err, len, "cannot make a ROUTER socket");
        goto fail;
    }
    zsock_set_router_mandatory(self->router, 0);
    if (self->keys[0]) {
        struct stat st;
        snprintf(path, sizeof path, "%s/hosts", self->keys);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, len, "%s: no such key directory (cntb keys generate --testbed FILE)",
                     path);
            goto fail;
        }
        keys_cert_path(path, sizeof path, self->keys, NULL, true);
        cert = zcert_load(path);
        if (!cert || strcmp(zcert_secret_txt(cert), "0000000000000000000000000000000000000000") == 0) {
            snprintf(err, len, "%s: cannot read the controller's certificate and its secret", path);
            goto fail;
        }
        self->zauth = zactor_new(zauth, NULL);
        if (!self->zauth) {
            snprintf(err, len, "cannot start the zauth actor");
            goto fail;
        }
        /* VERBOSE: zauth logs every ZAP decision, which is how refusals reach the log. */
        zstr_sendx(self->zauth, "VERBOSE", NULL);
        zsock_wait(self->zauth);
        snprintf(path, sizeof path, "%s/hosts", self->keys);
        zstr_sendx(self->zauth, "CURVE", path, NULL);
        zsock_wait(self->zauth);
        zcert_apply(cert, self->router);
        zsock_set_curve_server(self->router, 1);
        zsock_set_zap_domain(self->router, "cntb");
    } else {
        log_warn("testbed %s has no \"keys\": agents connect without authentication", tb->name);
    }
    if (zsock_bind(self->router, "tcp://%s:%d", tb->ctl_address, tb->ctl_port) < 0) {
        snprintf(err, len, "cannot listen on tcp://%s:%d: %s", tb->ctl_address, tb->ctl_port,
                 zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (self->zauth)
        log_info("agents authenticated with CURVE: accepted keys in %s/hosts", self->keys);
    zcert_destroy(&cert);
    *router = self->router;
    return self;
fail:
    zcert_destroy(&cert);
    ctl_auth_destroy(&self);
    return NULL;
}

/* Host names as in testbed.h: [A-Za-z0-9_.-]{1,31}, not starting with '.'. */
static bool
identity_ok(const char *s, size_t n)
{
    if (n < 1 || n > 31 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

int
ctl_auth_check(ctl_auth_t *self, zmsg_t *msg)
{
    if (!self || !self->zauth)
        return 0;
    int rc = -1;
    zcert_t *cert = NULL;
    zframe_t *id = zmsg_first(msg);
    zframe_t *body = zmsg_next(msg);
    if (!id || !body)
        return -1;
    char name[32];
    size_t n = zframe_size(id);
    if (!identity_ok((const char *) zframe_data(id), n)) {
        log_warn("refusing a message: sender identity is not a host name");
        return -1;
    }
    memcpy(name, zframe_data(id), n);
    name[n] = '\0';
    const char *peer = zframe_meta(body, "User-Id");
    char path[1100];
    keys_cert_path(path, sizeof path, self->keys, name, false);
    cert = zcert_load(path);
    if (!peer || !cert || strcmp(peer, zcert_public_txt(cert)) != 0) {
        log_warn("refusing a message from %s: its CURVE key %.40s is not %s", name,
                 peer ? peer : "(none)", path);
        goto out;
    }
    rc = 0;
out:
    zcert_destroy(&cert);
    return rc;
}

int
ctl_auth_private_dir(const char *dir, char *err, size_t len)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, len, "%s: cannot create: %s", dir, strerror(errno));
        return -1;
    }
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        snprintf(err, len, "%s: not a directory of ours", dir);
        return -1;
    }
    if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) != 0) {
        snprintf(err, len, "%s: cannot chmod 0700: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

void
ctl_auth_destroy(ctl_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ctl_auth_t *self = *self_p;
    zsock_destroy(&self->router);
    zactor_destroy(&self->zauth);
    free(self);
    *self_p = NULL;
}
