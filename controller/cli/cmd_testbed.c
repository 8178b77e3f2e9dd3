/*
 * cmd_testbed.c — `cntb testbed emulate|destroy|check`.
 *
 * An emulated testbed is hosts made of network namespaces on this machine
 * (node-agent/net/emulate.c builds them through netlink); its processes
 * (controller, agents) are recorded as pid files under /run/cntb/NAME so that
 * destroy finds every one of them.
 */
#include "cli.h"

#include "cpulist.h"
#include "emu_ssh.h"
#include "emulate.h"
#include "keys.h"
#include "ferr.h"
#include "nl.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Removes a directory tree (no symlinks followed); missing is fine. */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void
rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool
name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > 6)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
            return false;
    return true;
}

/* etcd's client port for the testbed on 198.18.<octet>.0/24: its own per
 * testbed (23000 + octet, peer port 24000 + octet), below the kernel's
 * ephemeral range (32768..), so two testbeds and a system etcd on 2379
 * never collide. */
#define EMU_ETCD_CLIENT_PORT(octet) (23000 + (octet))
#define EMU_ETCD_PEER_PORT(octet) (24000 + (octet))
#define EMU_ETCD_BIN "/usr/bin/etcd"

/* 1 when something accepts TCP connections on addr:port within timeout_ms. */
static int
tcp_wait(const char *addr, int port, int timeout_ms)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return 0;
    for (int t = 0; t < timeout_ms; t += 50) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return 0;
        int rc = connect(fd, (struct sockaddr *) &sa, sizeof sa);
        close(fd);
        if (rc == 0)
            return 1;
        usleep(50000);
    }
    return 0;
}

/*
 * Starts the testbed's etcd (Debian's etcd-server, 3.4) on the switch
 * address, data under CNTB_RUN_ROOT/NAME/etcd, pid in etcd.pid, log in
 * etcd.log, unless it already runs; waits up to 10 s until it accepts
 * connections.  Fills url (len bytes) with its client URL.  0 or an exit code.
 */
static int
etcd_start(const char *name, int octet, char *url, size_t len)
{
    char pf[PATH_MAX], logf[PATH_MAX], data[PATH_MAX], addr[16];
    char client[64], peer[64], cluster[96], ename[32];
    snprintf(addr, sizeof addr, "198.18.%d.254", octet);
    snprintf(client, sizeof client, "http://%s:%d", addr, EMU_ETCD_CLIENT_PORT(octet));
    snprintf(peer, sizeof peer, "http://%s:%d", addr, EMU_ETCD_PEER_PORT(octet));
    snprintf(ename, sizeof ename, "cntb-%s", name);
    snprintf(cluster, sizeof cluster, "%s=%s", ename, peer);
    snprintf(url, len, "%s", client);
    cli_rundir(pf, sizeof pf, name, "etcd.pid");
    cli_rundir(logf, sizeof logf, name, "etcd.log");
    cli_rundir(data, sizeof data, name, "etcd");
    if (access(EMU_ETCD_BIN, X_OK) != 0) {
        cli_error("emulate %s: %s not found (Debian package etcd-server)", name, EMU_ETCD_BIN);
        return EXIT_ENV;
    }
    if (!cli_pidfile_alive(pf, "etcd")) {
        char *const argv[] = { (char *) EMU_ETCD_BIN, (char *) "--name", ename,
                               (char *) "--data-dir", data,
                               (char *) "--listen-client-urls", client,
                               (char *) "--advertise-client-urls", client,
                               (char *) "--listen-peer-urls", peer,
                               (char *) "--initial-advertise-peer-urls", peer,
                               (char *) "--initial-cluster", cluster,
                               (char *) "--logger", (char *) "zap",
                               (char *) "--log-outputs", (char *) "stderr", NULL };
        if (cli_spawn(argv, NULL, logf, pf) < 0)
            return EXIT_ENV;
    }
    if (!tcp_wait(addr, EMU_ETCD_CLIENT_PORT(octet), 10000)) {
        cli_error("emulate %s: etcd does not accept connections on %s after 10 s (see %s)", name,
                  client, logf);
        return EXIT_ENV;
    }
    return 0;
}

const cpu_set_t *
cli_cpus_default(cpu_set_t *set)
{
    cpu_set_t allowed;

    if (sched_getaffinity(0, sizeof allowed, &allowed) < 0)
        return NULL;
    CPU_ZERO(set);
    for (int i = CPU_SETSIZE - 1; i >= 0; i--) /* the highest: CPU 0 takes most interrupts */
        if (CPU_ISSET(i, &allowed)) {
            CPU_SET(i, set);
            return set;
        }
    return NULL;
}

int
cli_cpus_option(const char *value, cpu_set_t *set, const cpu_set_t **out_p)
{
    char err[256];
    cpu_set_t allowed;

    *out_p = NULL;
    if (strcmp(value, "all") == 0)
        return 0;
    if (sched_getaffinity(0, sizeof allowed, &allowed) < 0) {
        cli_error("--cpus: sched_getaffinity: %s", strerror(errno));
        return EXIT_ENV;
    }
    if (cpulist_parse(value, &allowed, set, err, sizeof err) < 0) {
        cli_error("--cpus: %s", err);
        return EXIT_USAGE;
    }
    *out_p = set;
    return 0;
}

int
testbed_emulate(const char *name, int hosts, int vms, const cpu_set_t *cpus,
                const char *out_path, char *out_file, size_t len)
{
    char err[FERR_MAX];
    if (!name_valid(name)) {
        cli_error("--name: must match [a-z0-9]{1,6} (got \"%s\")", name);
        return EXIT_USAGE;
    }
    if (hosts < 1 || hosts > 99) {
        cli_error("--hosts: must be between 1 and 99 (got %d)", hosts);
        return EXIT_USAGE;
    }
    if (vms < 0 || vms > 9 || hosts * vms > 150) {
        cli_error("--vms-per-host: must be between 0 and 9, at most 150 VMs in all (got %d x %d)",
                  hosts, vms);
        return EXIT_USAGE;
    }
    int rc = cli_need_root("testbed emulate");
    if (rc)
        return rc;
    char path[PATH_MAX];
    if (out_path)
        snprintf(path, sizeof path, "%s", out_path);
    else
        snprintf(path, sizeof path, "%s.testbed.json", name);
    /* What can be checked before anything is built: the testbed file and
     * the keys directory go into the --out file's directory. */
    char outdir[PATH_MAX];
    snprintf(outdir, sizeof outdir, "%s", path);
    char *slash = strrchr(outdir, '/');
    if (!slash)
        snprintf(outdir, sizeof outdir, ".");
    else if (slash == outdir)
        outdir[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode) || access(outdir, W_OK | X_OK) != 0) {
        cli_error("--out: directory %s of %s %s: nothing built", outdir, path,
                  stat(outdir, &st) != 0 ? "does not exist"
                  : !S_ISDIR(st.st_mode) ? "is not a directory"
                                         : "is not writable");
        return EXIT_USAGE;
    }
    int octet = emulate_pick_octet(name, err);
    if (octet < 0) {
        cli_error("%s", err);
        return EXIT_ENV;
    }
    /* A testbed of that name that is already there (emulate again over it:
     * emulate_build reuses what exists) is not ours to remove on failure. */
    char br[32], rdir[PATH_MAX];
    struct stat rst;
    snprintf(br, sizeof br, "cntb-%s-br", name);
    cli_rundir(rdir, sizeof rdir, name, NULL);
    bool existed = nl_link_exists(NULL, br, err) != 0 || stat(rdir, &rst) == 0;
    if (emulate_build(name, hosts, octet, err) != 0) {
        cli_error("emulate %s: %s", name, err);
        if (!existed)
            testbed_destroy_all(name); /* what emulate_build made before it failed */
        return EXIT_ENV;
    }
    /* From here on every failure destroys what was built (out: below). */
    bool wrote = false;
    char dir[PATH_MAX];
    mkdir(CNTB_RUN_ROOT, 0755);
    cli_rundir(dir, sizeof dir, name, NULL);
    mkdir(dir, 0700);
    char kv_url[128];
    testbed_t *loaded = NULL;
    if ((rc = etcd_start(name, octet, kv_url, sizeof kv_url)))
        goto out;

    testbed_t tb;
    memset(&tb, 0, sizeof tb);
    tb.kv_count = 1;
    snprintf(tb.kv_kind, sizeof tb.kv_kind, "etcd");
    snprintf(tb.kv_endpoints[0], sizeof tb.kv_endpoints[0], "%s", kv_url);
    snprintf(tb.name, sizeof tb.name, "%s", name);
    tb.emulated = true;
    snprintf(tb.ctl_address, sizeof tb.ctl_address, "198.18.%d.254", octet);
    tb.ctl_port = 7700 + octet;
    tb.host_count = hosts + hosts * vms;
    tb.hosts = calloc((size_t) tb.host_count, sizeof *tb.hosts);
    if (!tb.hosts) {
        rc = EXIT_ENV;
        goto out;
    }
    for (int i = 0; i < hosts; i++) {
        testbed_host_t *h = &tb.hosts[i];
        snprintf(h->name, sizeof h->name, "h%d", i + 1);
        snprintf(h->kind, sizeof h->kind, "bare-metal");
        snprintf(h->address, sizeof h->address, "198.18.%d.%d", octet, i + 1);
        snprintf(h->netns, sizeof h->netns, "cntb-%s-h%d", name, i + 1);
        snprintf(h->ssh_user, sizeof h->ssh_user, "root");
        h->ssh_port = 22;
        /* VM j of host i: h<i>v<j> at 198.18.X.(100 + (i-1)*K + j), reached through the host. */
        for (int j = 0; j < vms; j++) {
            testbed_host_t *v = &tb.hosts[hosts + i * vms + j];
            snprintf(v->name, sizeof v->name, "h%dv%d", i + 1, j + 1);
            snprintf(v->kind, sizeof v->kind, "vm");
            snprintf(v->parent, sizeof v->parent, "h%d", i + 1);
            snprintf(v->address, sizeof v->address, "198.18.%d.%d", octet, 100 + i * vms + j + 1);
            snprintf(v->ssh_user, sizeof v->ssh_user, "root");
            v->ssh_port = 22;
            v->vcpus = 1;
            v->memory_mb = 384;
            v->boot_timeout_s = 120;
            /* The emulated hosts share this machine's files: the image that
             * testbed/vm/build-image writes beside the build's bin/. */
            char img[PATH_MAX];
            snprintf(img, sizeof img, "%s/../vm", cli_bindir());
            char *real = realpath(img, NULL);
            snprintf(v->image, sizeof v->image, "%s", real ? real : img);
            free(real);
        }
    }
    snprintf(tb.keys, sizeof tb.keys, "%s.keys", name);
    snprintf(tb.ssh_key, sizeof tb.ssh_key, "%s.keys/ssh/id_ed25519", name);
    snprintf(tb.ssh_known_hosts, sizeof tb.ssh_known_hosts, "%s.keys/ssh/known_hosts", name);
    rc = testbed_write_file(&tb, path, err);
    free(tb.hosts);
    if (rc != 0) {
        cli_error("%s", err);
        rc = EXIT_ENV;
        goto out;
    }
    wrote = true;
    /* Reload: the paths resolve against the file's directory. */
    loaded = testbed_load_file(path, err);
    if (!loaded) {
        cli_error("%s", err);
        rc = EXIT_ENV;
        goto out;
    }
    if (keys_generate(loaded, false, err, sizeof err) < 0) {
        cli_error("%s", err);
        rc = EXIT_ENV;
        goto out;
    }
    /* The sshds inherit our affinity, and everything started through them
     * theirs; we take ours back at once (the controller must not share it). */
    cpu_set_t saved;
    bool narrowed = false;
    if (cpus) {
        if (sched_getaffinity(0, sizeof saved, &saved) < 0 ||
            sched_setaffinity(0, sizeof *cpus, cpus) < 0) {
            cli_error("--cpus: sched_setaffinity: %s", strerror(errno));
            rc = EXIT_ENV;
            goto out;
        }
        narrowed = true;
    }
    rc = emu_ssh_start(loaded);
    if (narrowed && sched_setaffinity(0, sizeof saved, &saved) < 0) {
        cli_error("sched_setaffinity: %s", strerror(errno));
        if (!rc)
            rc = EXIT_ENV;
    }
out:
    testbed_destroy(&loaded);
    if (rc) {
        /* Nothing half-built stays: namespaces, bridge, etcd, sshd, run dir. */
        if (!existed) {
            fprintf(stderr, "emulate %s: removing what was built\n", name);
            testbed_destroy_all(name);
        }
        if (wrote)
            unlink(path);
        return rc;
    }
    if (out_file)
        snprintf(out_file, len, "%s", path);
    char cpu_text[CPULIST_MAX + 32] = "";
    if (cpus) {
        char list[CPULIST_MAX];
        cpulist_format(cpus, list, sizeof list);
        snprintf(cpu_text, sizeof cpu_text, ", hosts on CPU %s", list);
    }
    printf("testbed %s: %d hosts (%d VMs) on 198.18.%d.0/24 (sshd on each%s), controller at "
           "198.18.%d.254:%d, etcd at %s; keys in %s.keys; wrote %s\n",
           name, hosts, hosts * vms, octet, cpu_text, octet, 7700 + octet, kv_url, name, path);
    return 0;
}

int
testbed_destroy_all(const char *name)
{
    char err[NL_ERR_MAX];
    char dir[PATH_MAX];
    int rc = 0, removed;
    bool found = false; /* anything of the testbed existed: else say so */
    if (!name_valid(name)) {
        cli_error("testbed name must match [a-z0-9]{1,6} (got \"%s\")", name);
        return EXIT_USAGE;
    }
    if ((rc = cli_need_root("testbed destroy")))
        return rc;
    cli_rundir(dir, sizeof dir, name, NULL);
    /* Agents first (they tear down their runs on SIGTERM), then the controller. */
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        found = true;
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, "agent-", 6) != 0 || !strstr(e->d_name, ".pid"))
                continue;
            char pf[PATH_MAX];
            snprintf(pf, sizeof pf, "%s/%s", dir, e->d_name);
            cli_pidfile_stop(pf, "cntb-agent", 5000);
        }
        closedir(d);
    }
    /* Agents deployed over SSH: the hosts share our filesystem. */
    char vdir[PATH_MAX];
    snprintf(vdir, sizeof vdir, "%s/%s", DEPLOY_ROOT, name);
    d = opendir(vdir);
    if (d) {
        struct dirent *e;
        found = true;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char apf[PATH_MAX];
            snprintf(apf, sizeof apf, "%s/%s/agent.pid", vdir, e->d_name);
            cli_pidfile_stop(apf, "cntb-agent", 5000);
        }
        closedir(d);
        rm_tree(vdir);
        rmdir(DEPLOY_ROOT); /* only when empty */
    }
    emu_ssh_stop(name);
    char pf[PATH_MAX];
    cli_rundir(pf, sizeof pf, name, "controller.pid");
    cli_pidfile_stop(pf, "cntb-controller", 5000);
    cli_rundir(pf, sizeof pf, name, "etcd.pid");
    cli_pidfile_stop(pf, "etcd", 5000);
    cli_rundir(pf, sizeof pf, name, "etcd");
    nftw(pf, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    removed = emulate_destroy(name, err);
    if (removed < 0) {
        cli_error("destroy %s: %s", name, err);
        rc = EXIT_ENV;
    } else if (removed > 0) {
        found = true;
    }
    /* The run directory: pid files, logs, the CLI socket. */
    d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char f[PATH_MAX];
            snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
            unlink(f);
        }
        closedir(d);
        rmdir(dir);
    }
    char file[64];
    snprintf(file, sizeof file, "%s.testbed.json", name);
    testbed_t *tb = testbed_load_file(file, err);
    if (tb && tb->emulated && strcmp(tb->name, name) == 0) {
        char keys[64];
        snprintf(keys, sizeof keys, "%s.keys", name);
        if (strcmp(tb->keys, keys) == 0) /* made by emulate: ours to remove */
            rm_tree(tb->keys_path);
        unlink(file);
        found = true;
    }
    testbed_destroy(&tb);
    /* Nothing there is no error (cleanup paths call destroy unconditionally), but not
     * "destroyed" either: a typo in NAME must not look like success (docs/testbed.md). */
    if (rc == 0 && found)
        printf("testbed %s destroyed\n", name);
    else if (rc == 0)
        printf("no testbed %s here (nothing to destroy)\n", name);
    return rc;
}

/*
 * Whether addr:port (IPv4 dotted quad, 1..65535) accepts a TCP connection
 * within wait_ms: 1, or 0 with the reason in why (len bytes).
 */
static int
tcp_reachable(const char *addr, int port, int wait_ms, char *why, size_t len)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
    int fd, err = 0, ok = 0;
    socklen_t elen = sizeof err;

    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(why, len, "not an IPv4 address");
        return 0;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, len, "socket: %s", strerror(errno));
        return 0;
    }
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
        ok = 1;
    } else if (errno == EINPROGRESS) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int n = poll(&pfd, 1, wait_ms);
        if (n == 0)
            snprintf(why, len, "no answer in %d ms", wait_ms);
        else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            snprintf(why, len, "%s", strerror(errno));
        else if (err)
            snprintf(why, len, "%s", strerror(err));
        else
            ok = 1;
    } else {
        snprintf(why, len, "%s", strerror(errno));
    }
    close(fd);
    return ok;
}

/*
 * `testbed check FILE`: the file is valid, and every host it names is there
 * at the file's address: SSH answers at address:ssh.port (bare-metal hosts;
 * a VM is started on demand), and the connected agent of that name sends
 * from that address.  An agent of the same name connected from elsewhere
 * (the file has a wrong address) counts as missing.  Exit 0, or 3 when a
 * host is missing, 2 for a bad file.
 */
static int
testbed_check(const char *file)
{
    char err[FERR_MAX];
    testbed_t *tb = testbed_load_file(file, err);
    if (!tb) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    printf("testbed %s: %d hosts, controller %s:%d%s\n", tb->name, tb->host_count,
           tb->ctl_address, tb->ctl_port, tb->emulated ? " (emulated)" : "");
    json_t *ans = cli_request(tb->name, json_pack("{s:s}", "cmd", "agents"), 3000, true);
    /* The controller the file names must be where agents will look for it: a TCP
     * connection to its address and port (the agents' ZeroMQ socket) must be taken. */
    int missing = 0;
    char cwhy[64];
    if (ans && !tcp_reachable(tb->ctl_address, tb->ctl_port, 1000, cwhy, sizeof cwhy)) {
        printf("controller: the running controller of testbed %s does not answer at the "
               "file's address %s:%d (%s): agents deployed with this file cannot reach it\n",
               tb->name, tb->ctl_address, tb->ctl_port, cwhy);
        missing++;
    }
    json_t *agents = json_object_get(ans, "agents");
    printf("%-12s %-11s %-16s %-26s %-30s %s\n", "host", "kind", "address", "namespace", "ssh",
           "agent");
    for (int i = 0; i < tb->host_count; i++) {
        testbed_host_t *h = &tb->hosts[i];
        const char *state = ans ? "not connected" : "no controller running";
        char elsewhere[160] = "", ssh[64] = "-", why[48];
        size_t j;
        json_t *a;
        json_array_foreach(agents, j, a) {
            if (strcmp(json_string_value(json_object_get(a, "host")), h->name) != 0)
                continue;
            const char *peer = json_string_value(json_object_get(a, "peer"));
            state = json_is_true(json_object_get(a, "connected")) ? "connected" : "disconnected";
            if (peer && *peer && strcmp(peer, h->address) != 0) {
                snprintf(elsewhere, sizeof elsewhere,
                         "an agent named %.31s is connected from %.40s, not from the file's "
                         "address", h->name, peer);
                state = elsewhere;
            }
        }
        bool nsok = !h->netns[0] || netns_exists(h->netns);
        bool vm = strcmp(h->kind, "vm") == 0;
        bool sshok = true;
        if (!vm) {
            sshok = tcp_reachable(h->address, h->ssh_port, 1000, why, sizeof why);
            if (sshok)
                snprintf(ssh, sizeof ssh, "port %d open", h->ssh_port);
            else
                snprintf(ssh, sizeof ssh, "port %d: %s", h->ssh_port, why);
        }
        if (vm && strcmp(state, "connected") != 0)
            state = "started on demand"; /* by its parent, for the runs that need it */
        else if (!nsok || !sshok || strcmp(state, "connected") != 0)
            missing++;
        printf("%-12s %-11s %-16s %-26s %-30s %s\n", h->name, h->kind, h->address,
               h->netns[0] ? (nsok ? h->netns : "(namespace missing)") : "-", ssh, state);
    }
    json_decref(ans);
    testbed_destroy(&tb);
    return missing ? EXIT_ENV : 0;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: cntb testbed emulate --name NAME --hosts N [--vms-per-host K] [--cpus LIST]\n"
               "                            [--out FILE]\n"
               "       cntb testbed destroy NAME\n"
               "       cntb testbed check FILE\n"
               "emulate  makes N hosts (namespaces cntb-NAME-h1..hN) on a bridge cntb-NAME-br,\n"
               "         underlay 198.18.X.0/24 (X chosen per name), writes NAME.testbed.json;\n"
               "         starts etcd on 198.18.X.254:(23000+X) (the KV store of network overlay,\n"
               "         data in /run/cntb/NAME/etcd); running it again is harmless.\n"
               "         NAME: [a-z0-9]{1,6}; N: 1..99.\n"
               "         --vms-per-host K (0..9) adds K hosts of kind vm per host, h<i>v<j> at\n"
               "         198.18.X.(100+(i-1)*K+j), 1 vCPU, 384 MiB: their parents start them\n"
               "         when a nesting=vm run needs them (docs/vm.md).\n"
               "         --cpus LIST (e.g. 1, 0-3, 0,2, or all) confines every host's sshd,\n"
               "         and so its agent, traffic engines, BIRD and VMs, to these CPUs of this\n"
               "         machine (sched_setaffinity); applies when the sshds start.  Default:\n"
               "         one CPU, the highest this process may use: every network then gets the\n"
               "         same budget, which makes comparisons fair on a small machine\n"
               "         (docs/testbed.md); `all` lets the hosts use every CPU.\n"
               "destroy  stops the testbed's agents, controller and etcd and removes its namespaces,\n"
               "         links, run directory and NAME.testbed.json.\n"
               "check    validates a testbed file and checks each host at the file's address:\n"
               "         SSH answers there and its agent is connected from there (exit 3 when\n"
               "         one is missing or elsewhere).\n");
}

int
cmd_testbed(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "emulate") != 0 && strcmp(sub, "destroy") != 0 &&
        strcmp(sub, "check") != 0) {
        cli_error("unknown testbed command \"%s\" (cntb testbed --help)", sub);
        return EXIT_USAGE;
    }
    argc--;
    argv++;
    if (strcmp(sub, "emulate") == 0) {
        static const struct option opts[] = { { "name", required_argument, NULL, 'n' },
                                              { "hosts", required_argument, NULL, 'H' },
                                              { "out", required_argument, NULL, 'o' },
                                              { "vms-per-host", required_argument, NULL, 'V' },
                                              { "cpus", required_argument, NULL, 'C' },
                                              { "help", no_argument, NULL, 'h' },
                                              { NULL, 0, NULL, 0 } };
        const char *name = NULL, *out = NULL;
        cpu_set_t cpu_set;
        const cpu_set_t *cpus = cli_cpus_default(&cpu_set); /* one CPU unless --cpus says */
        int hosts = 2, vms = 0, c, rc;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
            switch (c) {
            case 'n': name = optarg; break;
            case 'H': {
                char *end;
                long v = strtol(optarg, &end, 10);
                if (*end || end == optarg || v < 1 || v > 99) {
                    cli_error("--hosts: must be an integer between 1 and 99 (got \"%s\")", optarg);
                    return EXIT_USAGE;
                }
                hosts = (int) v;
                break;
            }
            case 'o': out = optarg; break;
            case 'V': {
                char *end;
                long v = strtol(optarg, &end, 10);
                if (*end || end == optarg || v < 0 || v > 9) {
                    cli_error("--vms-per-host: must be an integer between 0 and 9 (got \"%s\")",
                              optarg);
                    return EXIT_USAGE;
                }
                vms = (int) v;
                break;
            }
            case 'C':
                if ((rc = cli_cpus_option(optarg, &cpu_set, &cpus)))
                    return rc;
                break;
            case 'h': usage(stdout); return 0;
            default: usage(stderr); return EXIT_USAGE;
            }
        }
        if (!name) {
            cli_error("--name is required for testbed emulate (NAME: [a-z0-9]{1,6})");
            return EXIT_USAGE;
        }
        if (optind != argc) {
            cli_error("unexpected argument \"%s\" (cntb testbed --help)", argv[optind]);
            return EXIT_USAGE;
        }
        return testbed_emulate(name, hosts, vms, cpus, out, NULL, 0);
    }
    if ((strcmp(sub, "destroy") == 0 || strcmp(sub, "check") == 0) && argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (strcmp(sub, "destroy") == 0) {
        if (argc != 2) {
            cli_error("testbed destroy takes one testbed NAME (got %d arguments)", argc - 1);
            return EXIT_USAGE;
        }
        return testbed_destroy_all(argv[1]);
    }
    if (argc != 2) {
        cli_error("testbed check takes one testbed FILE (got %d arguments)", argc - 1);
        return EXIT_USAGE;
    }
    return testbed_check(argv[1]);
}
