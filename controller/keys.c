/*
 * keys.c — `cntb keys generate`: the CURVE certificates of a testbed.
 *
 * czmq's zcert makes a Curve25519 key pair (libzmq's zmq_curve_keypair, from
 * libsodium's randombytes) and writes it as two ZPL files: NAME (public key)
 * and NAME_secret (both keys).  A host's public file goes to hosts/, where
 * the controller's zauth actor looks keys up (controller/ctl_auth.c), and its
 * pair to secret/, where `cntb deploy` takes it from.  Every file is written
 * under umask 077, then chmod'ed, so no secret is ever readable by others.
 */
#include "keys.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void
keys_cert_path(char *path, size_t len, const char *dir, const char *who, bool secret)
{
    if (!who)
        snprintf(path, len, "%s/controller.cert", dir);
    else
        snprintf(path, len, "%s/%s/%s.cert", dir, secret ? "secret" : "hosts", who);
}

static int
mkdir_mode(const char *path, mode_t mode, char *err, size_t len)
{
    if (mkdir(path, mode) != 0 && errno != EEXIST) {
        snprintf(err, len, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    if (chmod(path, mode) != 0) {
        snprintf(err, len, "%s: cannot chmod: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes a fresh certificate pair to path (+ path_secret), metadata name = who. */
static int
make_cert(const char *path, const char *who, const char *public_copy, char *err, size_t len)
{
    int rc = -1;
    zcert_t *cert = zcert_new();
    if (!cert) {
        snprintf(err, len, "cannot make a key pair (libzmq without CURVE?)");
        return -1;
    }
    zcert_set_meta(cert, "name", "%s", who);
    zcert_set_meta(cert, "made-by", "cntb keys generate");
    char secret[1100];
    snprintf(secret, sizeof secret, "%s_secret", path);
    if (zcert_save(cert, path) != 0 || chmod(secret, 0600) != 0 || chmod(path, 0644) != 0) {
        snprintf(err, len, "%s: cannot write the certificate", path);
        goto out;
    }
    if (public_copy && (zcert_save_public(cert, public_copy) != 0 || chmod(public_copy, 0644) != 0)) {
        snprintf(err, len, "%s: cannot write the public certificate", public_copy);
        goto out;
    }
    rc = 0;
out:
    zcert_destroy(&cert);
    return rc;
}

int
keys_generate(const testbed_t *tb, bool force, char *err, size_t len)
{
    int made = 0, rc = -1;
    char path[1100], pub[1100], dir[1100];
    mode_t old = umask(077);
    if (!tb->keys_path[0]) {
        snprintf(err, len, "testbed %s has no \"keys\" directory in its file", tb->name);
        goto out;
    }
    if (mkdir_mode(tb->keys_path, 0700, err, len) < 0)
        goto out;
    snprintf(dir, sizeof dir, "%s/hosts", tb->keys_path);
    if (mkdir_mode(dir, 0755, err, len) < 0)
        goto out;
    snprintf(dir, sizeof dir, "%s/secret", tb->keys_path);
    if (mkdir_mode(dir, 0700, err, len) < 0)
        goto out;
    keys_cert_path(path, sizeof path, tb->keys_path, NULL, true);
    if (force || access(path, R_OK) != 0) {
        if (make_cert(path, "controller", NULL, err, len) < 0)
            goto out;
        made++;
    }
    for (int i = 0; i < tb->host_count; i++) {
        const char *h = tb->hosts[i].name;
        keys_cert_path(path, sizeof path, tb->keys_path, h, true);
        keys_cert_path(pub, sizeof pub, tb->keys_path, h, false);
        if (!force && access(path, R_OK) == 0 && access(pub, R_OK) == 0)
            continue;
        if (make_cert(path, h, pub, err, len) < 0)
            goto out;
        made++;
    }
    rc = made;
out:
    umask(old);
    return rc;
}
