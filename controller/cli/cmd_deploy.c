/*
 * cmd_deploy.c — `cntb deploy FILE [--stop] [--accept-new]`: agents onto
 * every host of a testbed over SSH (libssh), in parallel, one thread a host.
 *
 * Per host, each step named in the report when it fails:
 *   connect         TCP + SSH handshake to ADDRESS:PORT (5 s timeout)
 *   host key        the server's key against the testbed's known_hosts: a
 *                   known key goes on; an unknown one is recorded only with
 *                   --accept-new; a changed key (or one of another type than
 *                   recorded) always refuses (OpenSSH's StrictHostKeyChecking
 *                   accept-new semantics)
 *   authentication  public key (the testbed's ssh.key), as the host's ssh.user
 *   upload          SFTP into DEPLOY_ROOT/TESTBED/HOST/: cntb-agent,
 *                   cntb-traffic, the host's CURVE certificate, the
 *                   controller's public one and the certificate pair of
 *                   each of the host's VMs (vm-NAME.cert, its _secret; the
 *                   agent hands them to the VM, node-agent/vm.c), each as
 *                   NAME.new then renamed,
 *                   and last a file `version`: the SHA-1 (czmq zdigest) of
 *                   everything uploaded plus the agent's command line
 *   start           `cntb-agent --daemon ...` (the agent detaches itself)
 *   HELLO timeout   the controller (asked over its CLI socket) has not seen
 *                   HELLO from the agent of the pid just started within 20 s
 * A host whose `version` matches and whose agent runs is left alone (no-op);
 * a different version stops the old agent, replaces the files, starts anew
 * ("replaced"); the same version with no agent running is started again
 * ("restarted").
 * The remote command runs through the user's login shell (that is how SSH
 * exec works), so it is built only from tokens matching [A-Za-z0-9_./:-]+
 * (remote_cmd.h), which no shell interprets; anything else is refused
 * before connecting.
 * One failing host does not stop the others; the exit code is 3 when any
 * host failed.
 */
#include "cli.h"

#include "ferr.h"
#include "keys.h"
#include "remote_cmd.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEPLOY_CONNECT_S 5
#define DEPLOY_HELLO_MS 20000 /* default of --timeout */
#define DEPLOY_EXEC_MS 20000
#define DEPLOY_PARALLEL 16
#define DEPLOY_VMS_MAX 8 /* VMs per parent: the agent's own limit (AGENT_VMS_MAX) */
#define DEPLOY_FILES_MAX (5 + 2 * DEPLOY_VMS_MAX)

typedef struct {
    const char *local;  /* file on this machine */
    const char *remote; /* base name in the host's directory */
    int mode;
} deploy_file_t;

typedef struct {
    const testbed_t *tb;
    const testbed_host_t *h;
    bool stop, accept_new;
    int hello_ms;            /* HELLO wait, milliseconds */
    ssh_key key;             /* shared, read-only */
    const char *agent_bin, *traffic_bin; /* local programs to upload */
    char dir[PATH_MAX];      /* remote directory */
    char cert[PATH_MAX], cert_secret[PATH_MAX + 8], ctl_cert[PATH_MAX];
    /* each VM of this host: its certificate pair, uploaded as vm-NAME.cert{,_secret} */
    char vm_local[2 * DEPLOY_VMS_MAX][PATH_MAX + 8], vm_remote[2 * DEPLOY_VMS_MAX][40];
    deploy_file_t files[DEPLOY_FILES_MAX]; /* what goes up, in order */
    int nfiles;
    char version[48];        /* hex SHA-1 of what is deployed */
    /* results */
    const char *step;        /* failed step, NULL = ok */
    char msg[512];
    char outcome[160];
    bool skip;               /* kind vm: its agent boots with the VM (docs/vm.md) */
    long pid;                /* agent pid on the host, 0 = unknown */
} deploy_job_t;

static pthread_mutex_t known_hosts_lock = PTHREAD_MUTEX_INITIALIZER;

static int
fail(deploy_job_t *j, const char *step, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(deploy_job_t *j, const char *step, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    j->step = step;
    vsnprintf(j->msg, sizeof j->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Runs argv on the host; its stdout and stderr (truncated) in out.  Returns
 * the exit status, or -1 when the channel failed (message in out).
 */
static int
remote_exec(ssh_session s, const char *const argv[], char *out, size_t outlen)
{
    char cmd[4096];
    int status = -1;
    size_t off = 0;
    out[0] = '\0';
    if (remote_cmd_join(argv, cmd, sizeof cmd) != 0) {
        snprintf(out, outlen, "refusing an unsafe command token");
        return -1;
    }
    ssh_channel ch = ssh_channel_new(s);
    if (!ch || ssh_channel_open_session(ch) != SSH_OK || ssh_channel_request_exec(ch, cmd) != SSH_OK) {
        snprintf(out, outlen, "%s", ssh_get_error(s));
        goto out;
    }
    int64_t deadline = mono_ms() + DEPLOY_EXEC_MS;
    while (!ssh_channel_is_eof(ch) && mono_ms() < deadline) {
        char buf[512];
        for (int err = 0; err <= 1; err++) {
            int n = ssh_channel_read_timeout(ch, buf, sizeof buf, err, 100);
            if (n == SSH_ERROR)
                goto out;
            for (int i = 0; i < n && off + 1 < outlen; i++)
                out[off++] = buf[i] == '\n' ? ' ' : buf[i];
            out[off] = '\0';
        }
    }
    while (off > 0 && out[off - 1] == ' ')
        out[--off] = '\0';
    ssh_channel_send_eof(ch);
    for (int i = 0; i < 50 && (status = ssh_channel_get_exit_status(ch)) == -1; i++)
        usleep(20000);
out:
    if (ch) {
        ssh_channel_close(ch);
        ssh_channel_free(ch);
    }
    return status;
}

static int
sftp_mkdir_p(sftp_session sftp, const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            sftp_attributes a = sftp_stat(sftp, path);
            if (!a && sftp_mkdir(sftp, path, 0755) != 0) {
                /* Another deploy thread may have made it meanwhile (emulated
                 * hosts share one file system): only a missing one fails. */
                a = sftp_stat(sftp, path);
                if (!a || a->type != SSH_FILEXFER_TYPE_DIRECTORY) {
                    sftp_attributes_free(a);
                    return -1;
                }
            }
            sftp_attributes_free(a);
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

/* Uploads local to DIR/remote.new, then renames it to DIR/remote. */
static int
upload(deploy_job_t *j, sftp_session sftp, const deploy_file_t *f)
{
    char tmp[PATH_MAX + 16], dst[PATH_MAX + 16], buf[32768];
    snprintf(tmp, sizeof tmp, "%s/%s.new", j->dir, f->remote);
    snprintf(dst, sizeof dst, "%s/%s", j->dir, f->remote);
    int fd = open(f->local, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(j, "upload", "%s: %s", f->local, strerror(errno));
    sftp_file rf = sftp_open(sftp, tmp, O_WRONLY | O_CREAT | O_TRUNC, (mode_t) f->mode);
    if (!rf) {
        close(fd);
        return fail(j, "upload", "%s: cannot create (sftp error %d)", tmp, sftp_get_error(sftp));
    }
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (sftp_write(rf, buf, (size_t) n) != n) {
            rc = fail(j, "upload", "%s: write failed (sftp error %d)", tmp, sftp_get_error(sftp));
            break;
        }
    if (n < 0)
        rc = fail(j, "upload", "%s: %s", f->local, strerror(errno));
    close(fd);
    if (sftp_close(rf) != SSH_NO_ERROR && rc == 0)
        rc = fail(j, "upload", "%s: close failed", tmp);
    if (rc == 0) {
        sftp_chmod(sftp, tmp, (mode_t) f->mode); /* the remote umask may have narrowed it */
        sftp_unlink(sftp, dst);                  /* SFTP v3 rename does not replace */
        if (sftp_rename(sftp, tmp, dst) != 0)
            rc = fail(j, "upload", "%s: cannot rename into place (sftp error %d)", dst,
                      sftp_get_error(sftp));
    }
    return rc;
}

/* Reads a small remote file (at most len-1 bytes) into buf; 0 or -1. */
static int
sftp_read_small(sftp_session sftp, const char *path, char *buf, size_t len)
{
    sftp_file f = sftp_open(sftp, path, O_RDONLY, 0);
    if (!f)
        return -1;
    ssize_t n = sftp_read(f, buf, len - 1);
    sftp_close(f);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

/* connect, host key, authentication: a ready session or NULL (j->step set). */
static ssh_session
ssh_open(deploy_job_t *j)
{
    const testbed_host_t *h = j->h;
    ssh_session s = ssh_new();
    long timeout = DEPLOY_CONNECT_S;
    int process_config = 0;
    unsigned int port = (unsigned int) h->ssh_port;
    ssh_key srv = NULL;
    char *fp = NULL;
    if (!s) {
        fail(j, "connect", "cannot make an SSH session");
        return NULL;
    }
    /* Nothing from ~/.ssh/config or /etc/ssh: only what the testbed says. */
    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &process_config);
    ssh_options_set(s, SSH_OPTIONS_HOST, h->address);
    ssh_options_set(s, SSH_OPTIONS_PORT, &port);
    ssh_options_set(s, SSH_OPTIONS_USER, h->ssh_user);
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, j->tb->ssh_known_hosts_path);
    ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    if (ssh_connect(s) != SSH_OK) {
        fail(j, "connect", "%s:%d: %s", h->address, h->ssh_port, ssh_get_error(s));
        goto bad;
    }
    if (ssh_get_server_publickey(s, &srv) == SSH_OK) {
        unsigned char *hash = NULL;
        size_t hlen = 0;
        if (ssh_get_publickey_hash(srv, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
            fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
            ssh_clean_pubkey_hash(&hash);
        }
    }
    pthread_mutex_lock(&known_hosts_lock);
    enum ssh_known_hosts_e known = ssh_session_is_known_server(s);
    int rc = 0;
    switch (known) {
    case SSH_KNOWN_HOSTS_OK: break;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
        rc = fail(j, "host key",
                  "%s offers %s, which differs from the key recorded in %s: refusing (possible "
                  "man in the middle; if the host was reinstalled, remove its line and deploy "
                  "with --accept-new)",
                  h->address, fp ? fp : "a key", j->tb->ssh_known_hosts_path);
        break;
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
        if (!j->accept_new)
            rc = fail(j, "host key",
                      "%s is not in %s (its key: %s); check it, then deploy with --accept-new",
                      h->address, j->tb->ssh_known_hosts_path, fp ? fp : "?");
        else if (ssh_session_update_known_hosts(s) != SSH_OK)
            rc = fail(j, "host key", "cannot record the key in %s: %s",
                      j->tb->ssh_known_hosts_path, ssh_get_error(s));
        break;
    default:
        rc = fail(j, "host key", "cannot check against %s: %s", j->tb->ssh_known_hosts_path,
                  ssh_get_error(s));
    }
    pthread_mutex_unlock(&known_hosts_lock);
    if (rc)
        goto bad;
    if (ssh_userauth_publickey(s, NULL, j->key) != SSH_AUTH_SUCCESS) {
        fail(j, "authentication", "user %s refused with key %s: %s", h->ssh_user,
             j->tb->ssh_key_path, ssh_get_error(s));
        goto bad;
    }
    ssh_string_free_char(fp);
    ssh_key_free(srv);
    return s;
bad:
    ssh_string_free_char(fp);
    ssh_key_free(srv);
    ssh_disconnect(s);
    ssh_free(s);
    return NULL;
}

/* Waits for HELLO from the agent of pid (0 = any) on host; 1 yes, 0 timeout, -1 no controller. */
static int
wait_hello(const testbed_t *tb, const char *host, long pid, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    do {
        json_t *a = cli_request(tb->name, json_pack("{s:s}", "cmd", "agents"), 1000, true);
        if (!a)
            return -1;
        size_t i;
        json_t *ag;
        int seen = 0;
        json_array_foreach(json_object_get(a, "agents"), i, ag) {
            const char *name = json_string_value(json_object_get(ag, "host"));
            json_t *p = json_object_get(json_object_get(ag, "meta"), "pid");
            if (name && strcmp(name, host) == 0 && json_is_true(json_object_get(ag, "connected")) &&
                (pid == 0 || (json_is_integer(p) && json_integer_value(p) == pid)))
                seen = 1;
        }
        json_decref(a);
        if (seen)
            return 1;
        usleep(200000);
    } while (mono_ms() < deadline);
    return 0;
}

/*
 * The files of j's host, in upload order: the two programs; with keys, the
 * host's certificate pair and the controller's public certificate, then for
 * every VM whose parent is this host its pair as vm-NAME.cert (0600) and
 * vm-NAME.cert_secret (0600), which the agent puts into the VM's initrd
 * (node-agent/vm.c).  0, or -1 with the job failed (a VM's certificate
 * missing, more than DEPLOY_VMS_MAX VMs).
 */
static int
deploy_files(deploy_job_t *j, const testbed_t *tb)
{
    int n = 0, v = 0;
    j->files[n++] = (deploy_file_t) { j->agent_bin, "cntb-agent", 0755 };
    j->files[n++] = (deploy_file_t) { j->traffic_bin, "cntb-traffic", 0755 };
    if (tb->keys_path[0]) {
        j->files[n++] = (deploy_file_t) { j->cert, "agent.cert", 0644 };
        j->files[n++] = (deploy_file_t) { j->cert_secret, "agent.cert_secret", 0600 };
        j->files[n++] = (deploy_file_t) { j->ctl_cert, "controller.cert", 0644 };
        for (int i = 0; i < tb->host_count; i++) {
            const testbed_host_t *g = &tb->hosts[i];
            if (strcmp(g->kind, "vm") != 0 || strcmp(g->parent, j->h->name) != 0)
                continue;
            if (v == 2 * DEPLOY_VMS_MAX)
                return fail(j, "upload", "more than %d VMs on this host", DEPLOY_VMS_MAX);
            char local[PATH_MAX];
            keys_cert_path(local, sizeof local, tb->keys_path, g->name, true);
            snprintf(j->vm_local[v], sizeof j->vm_local[v], "%s", local);
            snprintf(j->vm_local[v + 1], sizeof j->vm_local[v + 1], "%s_secret", local);
            if (access(j->vm_local[v + 1], R_OK) != 0)
                return fail(j, "upload", "no certificate %s for its vm %s (cntb keys generate)",
                            j->vm_local[v + 1], g->name);
            snprintf(j->vm_remote[v], sizeof j->vm_remote[v], "vm-%s.cert", g->name);
            snprintf(j->vm_remote[v + 1], sizeof j->vm_remote[v + 1], "vm-%s.cert_secret",
                     g->name);
            j->files[n++] = (deploy_file_t) { j->vm_local[v], j->vm_remote[v], 0600 };
            j->files[n++] = (deploy_file_t) { j->vm_local[v + 1], j->vm_remote[v + 1], 0600 };
            v += 2;
        }
    }
    j->nfiles = n;
    return 0;
}

static void *
deploy_host(void *arg)
{
    deploy_job_t *j = arg;
    const testbed_host_t *h = j->h;
    const testbed_t *tb = j->tb;
    sftp_session sftp = NULL;
    char out[512], pidfile[PATH_MAX + 16], logfile[PATH_MAX + 16], agent[PATH_MAX + 16],
        traffic[PATH_MAX + 16], endpoint[64], rcert[PATH_MAX + 16], rctl[PATH_MAX + 16],
        vfile[PATH_MAX + 16], remote_version[64] = "", buf[32];
    snprintf(pidfile, sizeof pidfile, "%s/agent.pid", j->dir);
    snprintf(logfile, sizeof logfile, "%s/agent.log", j->dir);
    snprintf(agent, sizeof agent, "%s/cntb-agent", j->dir);
    snprintf(traffic, sizeof traffic, "%s/cntb-traffic", j->dir);
    snprintf(rcert, sizeof rcert, "%s/agent.cert", j->dir);
    snprintf(rctl, sizeof rctl, "%s/controller.cert", j->dir);
    snprintf(vfile, sizeof vfile, "%s/version", j->dir);
    snprintf(endpoint, sizeof endpoint, "tcp://%s:%d", tb->ctl_address, tb->ctl_port);

    ssh_session s = ssh_open(j);
    if (!s)
        return NULL;
    const char *status_argv[] = { agent, "--status", "--pidfile", pidfile, NULL };
    const char *stop_argv[] = { agent, "--stop", "--pidfile", pidfile, NULL };
    if (j->stop) {
        int st = remote_exec(s, stop_argv, out, sizeof out);
        if (st == 127)
            snprintf(j->outcome, sizeof j->outcome, "no agent deployed");
        else if (st != 0)
            fail(j, "start", "stopping failed (exit %d): %s", st, out);
        else
            snprintf(j->outcome, sizeof j->outcome, "agent %s", out[0] ? out : "stopped");
        goto out;
    }
    sftp = sftp_new(s);
    if (!sftp || sftp_init(sftp) != SSH_OK) {
        fail(j, "upload", "no SFTP on the host: %s", ssh_get_error(s));
        goto out;
    }
    if (sftp_mkdir_p(sftp, j->dir) != 0) {
        fail(j, "upload", "cannot create %s (sftp error %d)", j->dir, sftp_get_error(sftp));
        goto out;
    }
    bool running = remote_exec(s, status_argv, out, sizeof out) == 0;
    bool same = sftp_read_small(sftp, vfile, remote_version, sizeof remote_version) == 0 &&
                strcmp(remote_version, j->version) == 0;
    if (running && same) {
        snprintf(j->outcome, sizeof j->outcome, "unchanged (version %.12s)", j->version);
    } else {
        if (running && remote_exec(s, stop_argv, out, sizeof out) != 0) {
            fail(j, "start", "cannot stop the running agent: %s", out);
            goto out;
        }
        sftp_unlink(sftp, vfile); /* a half-replaced directory never looks current */
        for (int i = 0; i < j->nfiles; i++)
            if (upload(j, sftp, &j->files[i]) != 0)
                goto out;
        char vtmp[PATH_MAX];
        snprintf(vtmp, sizeof vtmp, "/tmp/cntb-version-XXXXXX");
        int fd = mkstemp(vtmp);
        if (fd < 0 || dprintf(fd, "%s\n", j->version) < 0) {
            if (fd >= 0)
                close(fd);
            fail(j, "upload", "cannot write a temporary file");
            goto out;
        }
        close(fd);
        deploy_file_t vf = { vtmp, "version", 0644 };
        int urc = upload(j, sftp, &vf);
        unlink(vtmp);
        if (urc != 0)
            goto out;
        const char *start_argv[] = { agent, "--daemon", "--log", logfile, "--pidfile", pidfile,
                                     "--controller", endpoint, "--host", h->name, "--address",
                                     h->address, "--kind", h->kind, "--traffic", traffic,
                                     tb->keys_path[0] ? "--cert" : NULL, rcert,
                                     "--controller-cert", rctl, NULL };
        int st = remote_exec(s, start_argv, out, sizeof out);
        if (st != 0) {
            fail(j, "start", "%s exited %d: %s (log: %s)", agent, st, out, logfile);
            goto out;
        }
        /* Same version, agent not running: the files are uploaded again (a damaged
         * directory is repaired) but nothing changed that the user would call a
         * replacement: it was restarted. */
        snprintf(j->outcome, sizeof j->outcome, "%s (version %.12s)",
                 same ? "restarted" : running || remote_version[0] ? "replaced" : "installed",
                 j->version);
    }
    if (sftp_read_small(sftp, pidfile, buf, sizeof buf) == 0)
        j->pid = strtol(buf, NULL, 10);
out:
    sftp_free(sftp);
    ssh_disconnect(s);
    ssh_free(s);
    if (!j->step && !j->stop) {
        int w = wait_hello(tb, h->name, j->pid, j->hello_ms);
        if (w == 0)
            fail(j, "HELLO timeout",
                 "the agent (pid %ld) did not connect to the controller at %s:%d (the "
                 "testbed file's controller address) within %d s; see %s on the host (a wrong "
                 "controller address or a certificate the controller does not accept looks "
                 "like this)",
                 j->pid, tb->ctl_address, tb->ctl_port, j->hello_ms / 1000, logfile);
        else if (w < 0)
            strncat(j->outcome, ", no controller running to connect to",
                    sizeof j->outcome - strlen(j->outcome) - 1);
        else
            strncat(j->outcome, ", connected", sizeof j->outcome - strlen(j->outcome) - 1);
    }
    return NULL;
}

/* SHA-1 over the named files' bytes and then `extra`; hex into out (41 bytes). */
static int
fingerprint(const char *const files[], int n, const char *extra, char *out, size_t len)
{
    zdigest_t *d = zdigest_new();
    char buf[32768];
    int rc = -1;
    if (!d)
        return -1;
    for (int i = 0; i < n; i++) {
        int fd = open(files[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            goto out;
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0)
            zdigest_update(d, (const byte *) buf, (size_t) r);
        close(fd);
        if (r < 0)
            goto out;
    }
    zdigest_update(d, (const byte *) extra, strlen(extra));
    snprintf(out, len, "%s", zdigest_string(d));
    for (char *p = out; *p; p++)
        *p = (char) (*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
    rc = 0;
out:
    zdigest_destroy(&d);
    return rc;
}

int
deploy_agents(const char *testbed_file, bool stop, bool accept_new, int timeout_s)
{
    char err[FERR_MAX];
    deploy_job_t *jobs = NULL;
    pthread_t *threads = NULL;
    bool *started = NULL;
    ssh_key key = NULL;
    int rc = 0, failed = 0;
    testbed_t *tb = testbed_load_file(testbed_file, err);
    if (!tb) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    char home_key[PATH_MAX], home_known[PATH_MAX];
    const char *home = getenv("HOME");
    if (!tb->ssh_key_path[0] || !tb->ssh_known_hosts_path[0]) {
        if (!home || home[0] != '/') {
            cli_error("%s: no \"ssh\" key and known_hosts, and no $HOME to find defaults in",
                      testbed_file);
            rc = EXIT_USAGE;
            goto out;
        }
        snprintf(home_key, sizeof home_key, "%s/.ssh/id_ed25519", home);
        snprintf(home_known, sizeof home_known, "%s/.ssh/known_hosts", home);
        if (!tb->ssh_key_path[0])
            snprintf(tb->ssh_key_path, sizeof tb->ssh_key_path, "%s", home_key);
        if (!tb->ssh_known_hosts_path[0])
            snprintf(tb->ssh_known_hosts_path, sizeof tb->ssh_known_hosts_path, "%s", home_known);
    }
    if (ssh_pki_import_privkey_file(tb->ssh_key_path, NULL, NULL, NULL, &key) != SSH_OK) {
        cli_error("%s: cannot read the SSH private key (unencrypted OpenSSH format expected)",
                  tb->ssh_key_path);
        rc = EXIT_ENV;
        goto out;
    }
    char agent[PATH_MAX + 16], traffic[PATH_MAX + 16];
    snprintf(agent, sizeof agent, "%s/cntb-agent", cli_bindir());
    snprintf(traffic, sizeof traffic, "%s/cntb-traffic", cli_bindir());
    if (!stop && (access(agent, R_OK) != 0 || access(traffic, R_OK) != 0)) {
        cli_error("%s or %s is missing", agent, traffic);
        rc = EXIT_ENV;
        goto out;
    }
    ssh_init();
    jobs = calloc((size_t) tb->host_count, sizeof *jobs);
    threads = calloc((size_t) tb->host_count, sizeof *threads);
    started = calloc((size_t) tb->host_count, sizeof *started);
    if (!jobs || !threads || !started) {
        rc = EXIT_ENV;
        goto out;
    }
    for (int i = 0; i < tb->host_count; i++) {
        deploy_job_t *j = &jobs[i];
        j->tb = tb;
        j->h = &tb->hosts[i];
        j->stop = stop;
        j->accept_new = accept_new;
        j->hello_ms = (timeout_s > 0 ? timeout_s * 1000 : DEPLOY_HELLO_MS);
        j->key = key;
        j->agent_bin = agent;
        j->traffic_bin = traffic;
        snprintf(j->dir, sizeof j->dir, "%s/%s/%s", DEPLOY_ROOT, tb->name, j->h->name);
        if (strcmp(j->h->kind, "vm") == 0) { /* the parent's agent starts it on demand */
            j->skip = true;
            snprintf(j->outcome, sizeof j->outcome, "vm: its agent boots with it (started on demand)");
            continue;
        }
        if (!remote_cmd_token_ok(j->dir) || !remote_cmd_token_ok(j->h->address) || !remote_cmd_token_ok(j->h->kind) ||
            !remote_cmd_token_ok(j->h->name)) {
            fail(j, "start", "refusing a value that is not a safe command token");
            continue;
        }
        if (tb->keys_path[0]) {
            keys_cert_path(j->cert, sizeof j->cert, tb->keys_path, j->h->name, true);
            snprintf(j->cert_secret, sizeof j->cert_secret, "%s_secret", j->cert);
            keys_cert_path(j->ctl_cert, sizeof j->ctl_cert, tb->keys_path, NULL, false);
            if (!stop && (access(j->cert_secret, R_OK) != 0 || access(j->ctl_cert, R_OK) != 0)) {
                fail(j, "upload", "no certificate %s (cntb keys generate --testbed %s)", j->cert,
                     testbed_file);
                continue;
            }
        }
        if (!stop && deploy_files(j, tb) != 0)
            continue;
        char extra[512];
        snprintf(extra, sizeof extra, "tcp://%s:%d %s %s %s", tb->ctl_address, tb->ctl_port,
                 j->h->name, j->h->address, j->h->kind);
        const char *files[DEPLOY_FILES_MAX];
        for (int k = 0; k < j->nfiles; k++)
            files[k] = j->files[k].local;
        if (!stop && fingerprint(files, j->nfiles, extra, j->version, sizeof j->version) != 0) {
            fail(j, "upload", "cannot read the files to deploy");
            continue;
        }
    }
    /* At most DEPLOY_PARALLEL connections at once. */
    for (int base = 0; base < tb->host_count; base += DEPLOY_PARALLEL) {
        int end = base + DEPLOY_PARALLEL < tb->host_count ? base + DEPLOY_PARALLEL : tb->host_count;
        for (int i = base; i < end; i++) {
            started[i] = false;
            if (jobs[i].step || jobs[i].skip)
                continue;
            if (pthread_create(&threads[i], NULL, deploy_host, &jobs[i]) == 0)
                started[i] = true;
            else
                fail(&jobs[i], "connect", "cannot start a thread");
        }
        for (int i = base; i < end; i++)
            if (started[i])
                pthread_join(threads[i], NULL);
    }
    for (int i = 0; i < tb->host_count; i++) {
        deploy_job_t *j = &jobs[i];
        if (j->step) {
            failed++;
            fprintf(stderr, "cntb: host %s (%s): %s failed: %s\n", j->h->name, j->h->address,
                    j->step, j->msg);
        } else {
            printf("host %-10s %-15s %s\n", j->h->name, j->h->address, j->outcome);
        }
    }
    if (failed) {
        cli_error("%d of %d hosts failed", failed, tb->host_count);
        rc = EXIT_ENV;
    } else if (!stop) {
        printf("%d agents deployed to %s/%s/HOST on their hosts\n", tb->host_count, DEPLOY_ROOT,
               tb->name);
    }
out:
    free(jobs);
    free(threads);
    free(started);
    ssh_key_free(key);
    testbed_destroy(&tb);
    return rc;
}

int
cmd_deploy(int argc, char **argv)
{
    static const struct option opts[] = { { "stop", no_argument, NULL, 's' },
                                          { "accept-new", no_argument, NULL, 'a' },
                                          { "timeout", required_argument, NULL, 't' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    bool stop = false, accept_new = false;
    int c, timeout_s = 0;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': stop = true; break;
        case 'a': accept_new = true; break;
        case 't':
            timeout_s = (int) strtol(optarg, &end, 10);
            if (*end || end == optarg || timeout_s < 1 || timeout_s > 600) {
                cli_error("--timeout: seconds, 1..600 (got \"%.32s\")", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            printf("usage: cntb deploy FILE [--accept-new] [--timeout SECONDS] | cntb deploy FILE --stop\n"
                   "Installs and starts the agent of every host of the testbed over SSH (all\n"
                   "hosts in parallel), then waits until each has said HELLO to the controller.\n"
                   "Per host: connect, verify the host key against the testbed's known_hosts\n"
                   "(--accept-new records unknown keys; a changed key always refuses), log in\n"
                   "with the testbed's ssh key as the host's ssh user, upload cntb-agent,\n"
                   "cntb-traffic and the host's certificate (and each of its VMs' as\n"
                   "vm-VM.cert, vm-VM.cert_secret) into %s/TESTBED/HOST/ over\n"
                   "SFTP, start the agent (log: agent.log there).  An agent of the same version\n"
                   "is left running; a different version is replaced; a stopped agent of the\n"
                   "same version is restarted.  --stop stops them.\n"
                   "A failing host is reported with the failed step and does not stop the\n"
                   "others.  --timeout: how long to wait for each HELLO (1..600 s, default 20).\n"
                   "Exit: 0 all hosts done, 2 bad input, 3 some host failed.\n",
                   DEPLOY_ROOT);
            return 0;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_error("usage: cntb deploy FILE [--stop] [--accept-new]");
        return EXIT_USAGE;
    }
    return deploy_agents(argv[optind], stop, accept_new, timeout_s);
}
