/*
 * nl.c — named network namespaces and rtnetlink link, address and route
 * operations through libnl-route-3.
 *
 * Namespaces follow iproute2 (ip/ipnetns.c): /run/netns is a shared mount
 * point, and namespace NAME is a bind mount of a thread's net namespace on
 * the empty file /run/netns/NAME, so `ip netns` sees ours and we see its.
 *
 * Every link operation names the namespace it acts in.  The calling thread
 * enters it with setns(2), opens its netlink socket there (a netlink socket
 * belongs to the namespace it was created in, for ever), does the work and
 * returns to the namespace it came from, which it opened beforehand as
 * /proc/thread-self/ns/net.  Other threads of the process are not affected.
 *
 * libnl turns kernel errnos into its own codes; nl_errstr() maps the common
 * ones back so that messages read like the kernel's ("File exists"), always
 * prefixed with the object they concern: "bridge cntb7-br: File exists".
 */
#include "nl.h"
#include "nl_call.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/ipvlan.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

void nl_seterr(char *err, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(err, NL_ERR_MAX, fmt, ap);
    va_end(ap);
}

/* The kernel's wording for a libnl error code (a negative or positive NLE_*). */
const char *nl_errstr(int code)
{
    static const struct {
        int nle;
        int eno;
    } map[] = {
        {NLE_EXIST, EEXIST},         {NLE_OBJ_NOTFOUND, ENOENT}, {NLE_NODEV, ENODEV},
        {NLE_PERM, EPERM},           {NLE_NOACCESS, EACCES},     {NLE_BUSY, EBUSY},
        {NLE_INVAL, EINVAL},         {NLE_RANGE, ERANGE},        {NLE_NOMEM, ENOMEM},
        {NLE_OPNOTSUPP, EOPNOTSUPP}, {NLE_NOADDR, EADDRNOTAVAIL}, {NLE_AF_NOSUPPORT, EAFNOSUPPORT},
        {NLE_AGAIN, EAGAIN},         {NLE_MSGSIZE, EMSGSIZE},    {NLE_MSG_TOOSHORT, EMSGSIZE},
    };
    size_t i;

    if (code < 0)
        code = -code;
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].nle == code)
            return strerror(map[i].eno);
    return nl_geterror(code);
}

static bool name_ok(const char *name, size_t max)
{
    size_t n;

    if (!name)
        return false;
    n = strlen(name);
    if (n == 0 || n > max)
        return false;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

bool nl_ifname_valid(const char *name)
{
    return name_ok(name, IFNAMSIZ - 1);
}

bool netns_name_valid(const char *name)
{
    return name_ok(name, 63);
}

static int netns_path(char *path, size_t len, const char *name, char *err)
{
    if (!netns_name_valid(name)) {
        nl_seterr(err, "namespace %s: invalid name (1..63 bytes of [A-Za-z0-9_.-])",
               name ? name : "(null)");
        return -1;
    }
    snprintf(path, len, "%s/%s", NETNS_RUN_DIR, name);
    return 0;
}

/* ---- namespaces ---------------------------------------------------------- */

/* Makes /run/netns exist and be a shared mount point (as `ip netns add` does). */
static int netns_rundir_prepare(char *err)
{
    if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST) {
        nl_seterr(err, "%s: mkdir: %s", NETNS_RUN_DIR, strerror(errno));
        return -1;
    }
    /* Already shared (or made so here): done.  EINVAL means it is no mount
     * point yet: bind it on itself and try again. */
    if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
        return 0;
    if (errno != EINVAL) {
        nl_seterr(err, "%s: make shared: %s", NETNS_RUN_DIR, strerror(errno));
        return -1;
    }
    if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0) {
        nl_seterr(err, "%s: bind mount: %s", NETNS_RUN_DIR, strerror(errno));
        return -1;
    }
    if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
        nl_seterr(err, "%s: make shared: %s", NETNS_RUN_DIR, strerror(errno));
        return -1;
    }
    return 0;
}

static struct nl_sock *sock_open(char *err)
{
    struct nl_sock *sk = nl_socket_alloc();
    int rc;

    if (!sk) {
        nl_seterr(err, "netlink: out of memory");
        return NULL;
    }
    rc = nl_connect(sk, NETLINK_ROUTE);
    if (rc < 0) {
        nl_seterr(err, "netlink: connect: %s", nl_errstr(rc));
        nl_socket_free(sk);
        return NULL;
    }
    return sk;
}

/* Sets `name` up in the current namespace through sk, renaming it to
 * `rename` (NULL = keep) in the same RTM_NEWLINK: the kernel applies
 * IFLA_IFNAME before the flags, and a link may only be renamed while down. */
static int link_rename_up_sk(struct nl_sock *sk, const char *name, const char *rename, char *err)
{
    struct rtnl_link *link = NULL, *change = NULL;
    int ret = -1, rc;

    rc = rtnl_link_get_kernel(sk, 0, name, &link);
    if (rc < 0) {
        nl_seterr(err, "link %s: %s", name, nl_errstr(rc));
        goto out;
    }
    change = rtnl_link_alloc();
    if (!change) {
        nl_seterr(err, "link %s: out of memory", name);
        goto out;
    }
    rtnl_link_set_flags(change, IFF_UP);
    if (rename)
        rtnl_link_set_name(change, rename);
    rc = rtnl_link_change(sk, link, change, 0);
    if (rc < 0) {
        if (rename)
            nl_seterr(err, "link %s: rename to %s and set up: %s", name, rename, nl_errstr(rc));
        else
            nl_seterr(err, "link %s: set up: %s", name, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (change)
        rtnl_link_put(change);
    if (link)
        rtnl_link_put(link);
    return ret;
}

/* Sets `name` up in the current namespace through sk. */
static int link_up_sk(struct nl_sock *sk, const char *name, char *err)
{
    return link_rename_up_sk(sk, name, NULL, err);
}

struct netns_birth {
    const char *path;   /* the file to bind the new namespace on */
    char err[NL_ERR_MAX];
    int ret;
};

/*
 * Runs on its own thread so that the caller never leaves its namespace: the
 * thread unshares, pins its new namespace on the file, brings loopback up and
 * ends; the bind mount keeps the namespace alive.
 */
static void *netns_birth_thread(void *arg)
{
    struct netns_birth *b = arg;
    struct nl_sock *sk = NULL;

    b->ret = -1;
    if (unshare(CLONE_NEWNET) < 0) {
        nl_seterr(b->err, "unshare(CLONE_NEWNET): %s", strerror(errno));
        goto out;
    }
    if (mount("/proc/thread-self/ns/net", b->path, "none", MS_BIND, NULL) < 0) {
        nl_seterr(b->err, "bind mount on %s: %s", b->path, strerror(errno));
        goto out;
    }
    sk = sock_open(b->err);
    if (!sk)
        goto out;
    if (link_up_sk(sk, "lo", b->err) < 0)
        goto out;
    b->ret = 0;
out:
    if (sk)
        nl_socket_free(sk);
    return NULL;
}

int netns_exists(const char *name)
{
    char path[PATH_MAX];
    struct statfs sfs;

    if (netns_path(path, sizeof(path), name, NULL) < 0)
        return 0;
    if (statfs(path, &sfs) < 0)
        return 0;
    return sfs.f_type == (typeof(sfs.f_type))NSFS_MAGIC ? 1 : 0;
}

int netns_create(const char *name, bool may_exist, char *err)
{
    char path[PATH_MAX];
    struct netns_birth birth;
    pthread_t th;
    int fd, rc;
    bool created = false;
    int ret = -1;

    if (netns_path(path, sizeof(path), name, err) < 0)
        return -1;
    if (netns_exists(name)) {
        if (may_exist)
            return 0;
        nl_seterr(err, "namespace %s: %s", name, strerror(EEXIST));
        return -1;
    }
    if (netns_rundir_prepare(err) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0) {
        /* A plain file without a namespace on it is a leftover of a crash:
         * reuse it only when the caller accepts an existing namespace. */
        if (errno != EEXIST || !may_exist) {
            nl_seterr(err, "namespace %s: %s", name, strerror(errno));
            return -1;
        }
    } else {
        close(fd);
        created = true;
    }
    memset(&birth, 0, sizeof(birth));
    birth.path = path;
    rc = pthread_create(&th, NULL, netns_birth_thread, &birth);
    if (rc != 0) {
        nl_seterr(err, "namespace %s: thread: %s", name, strerror(rc));
        goto out;
    }
    pthread_join(th, NULL);
    if (birth.ret < 0) {
        nl_seterr(err, "namespace %s: %s", name, birth.err);
        goto out;
    }
    ret = 0;
out:
    if (ret < 0) {
        umount2(path, MNT_DETACH);
        if (created)
            unlink(path);
    }
    return ret;
}

int netns_delete(const char *name, char *err)
{
    char path[PATH_MAX];

    if (netns_path(path, sizeof(path), name, err) < 0)
        return -1;
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
        nl_seterr(err, "namespace %s: umount: %s", name, strerror(errno));
        return -1;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        nl_seterr(err, "namespace %s: unlink: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

int netns_enter(const char *name, char *err)
{
    char path[PATH_MAX];
    int fd, ret = -1;

    if (!name || !*name)
        return 0;
    if (netns_path(path, sizeof(path), name, err) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        nl_seterr(err, "namespace %s: %s", name, strerror(errno));
        return -1;
    }
    if (setns(fd, CLONE_NEWNET) < 0) {
        nl_seterr(err, "namespace %s: setns: %s", name, strerror(errno));
        goto out;
    }
    ret = 0;
out:
    close(fd);
    return ret;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A growing NULL-terminated array of fresh strings. */
struct strv {
    char **v;
    size_t n, cap;
};

static int strv_push(struct strv *s, const char *str)
{
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->v, cap * sizeof(*v));

        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n] = strdup(str);
    if (!s->v[s->n])
        return -1;
    s->n++;
    s->v[s->n] = NULL;
    return 0;
}

/* Hands the array to *out (an empty one when nothing was pushed). */
static int strv_finish(struct strv *s, char ***out)
{
    if (!s->v) {
        s->v = calloc(1, sizeof(char *));
        if (!s->v)
            return -1;
    }
    qsort(s->v, s->n, sizeof(char *), cmp_str);
    *out = s->v;
    s->v = NULL;
    return (int)s->n;
}

int netns_list(const char *prefix, char ***names, char *err)
{
    struct strv s = {0};
    DIR *d;
    struct dirent *de;
    size_t plen = prefix ? strlen(prefix) : 0;
    int ret = -1;

    *names = NULL;
    d = opendir(NETNS_RUN_DIR);
    if (!d && errno != ENOENT) {
        nl_seterr(err, "%s: %s", NETNS_RUN_DIR, strerror(errno));
        return -1;
    }
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (plen && strncmp(de->d_name, prefix, plen) != 0)
            continue;
        if (strv_push(&s, de->d_name) < 0) {
            nl_seterr(err, "%s: out of memory", NETNS_RUN_DIR);
            goto out;
        }
    }
    ret = strv_finish(&s, names);
    if (ret < 0)
        nl_seterr(err, "%s: out of memory", NETNS_RUN_DIR);
out:
    if (d)
        closedir(d);
    netns_list_free(&s.v);
    return ret;
}

void netns_list_free(char ***names)
{
    char **v;

    if (!names || !*names)
        return;
    for (v = *names; *v; v++)
        free(*v);
    free(*names);
    *names = NULL;
}

/* ---- entering a namespace for one call ----------------------------------- */

/*
 * The state of one call: the namespace the thread came from (-1 when it did
 * not move) and the netlink socket opened inside the target.
 */
int nl_call_begin(struct nlcall *c, const char *netns, char *err)
{
    c->home = -1;
    c->sk = NULL;
    if (netns && *netns) {
        c->home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (c->home < 0) {
            nl_seterr(err, "own namespace: %s", strerror(errno));
            return -1;
        }
        if (netns_enter(netns, err) < 0) {
            close(c->home);
            c->home = -1;
            return -1;
        }
    }
    c->sk = sock_open(err);
    if (!c->sk) {
        if (c->home >= 0) {
            if (setns(c->home, CLONE_NEWNET) < 0)
                abort(); /* stranded in a foreign namespace: nothing sane is left */
            close(c->home);
            c->home = -1;
        }
        return -1;
    }
    return 0;
}

/* Closes the socket and returns home.  Failing to return is fatal: the thread
 * would otherwise go on acting in the wrong namespace. */
void nl_call_end(struct nlcall *c)
{
    if (c->sk)
        nl_socket_free(c->sk);
    c->sk = NULL;
    if (c->home >= 0) {
        if (setns(c->home, CLONE_NEWNET) < 0)
            abort();
        close(c->home);
        c->home = -1;
    }
}

static bool is_missing(int rc)
{
    return rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV;
}

/* ---- links --------------------------------------------------------------- */

int nl_bridge_add(const char *netns, const char *name, int mtu, char *err)
{
    struct nlcall c;
    struct rtnl_link *link = NULL;
    int ret = -1, rc;

    if (!nl_ifname_valid(name)) {
        nl_seterr(err, "bridge %s: invalid interface name (1..15 bytes of [A-Za-z0-9_.-])",
               name ? name : "(null)");
        return -1;
    }
    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    link = rtnl_link_bridge_alloc();
    if (!link) {
        nl_seterr(err, "bridge %s: out of memory", name);
        goto out;
    }
    rtnl_link_set_name(link, name);
    if (mtu > 0)
        rtnl_link_set_mtu(link, (unsigned)mtu);
    rc = rtnl_link_add(c.sk, link, NLM_F_CREATE | NLM_F_EXCL);
    if (rc < 0) {
        nl_seterr(err, "bridge %s: %s", name, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (link)
        rtnl_link_put(link);
    nl_call_end(&c);
    return ret;
}

int nl_veth_add(const char *netns, const char *name, const char *peer, const char *peer_netns,
                int mtu, char *err)
{
    struct nlcall c = {.home = -1, .sk = NULL};
    struct rtnl_link *link = NULL, *pl = NULL;
    char path[PATH_MAX];
    int peer_fd = -1;
    int ret = -1, rc;

    if (!nl_ifname_valid(name) || !nl_ifname_valid(peer)) {
        nl_seterr(err, "veth %s/%s: invalid interface name (1..15 bytes of [A-Za-z0-9_.-])",
               name ? name : "(null)", peer ? peer : "(null)");
        return -1;
    }
    /* The peer's namespace is opened by path before moving: the fd then
     * names it whatever namespace the request is sent from. */
    if (peer_netns && *peer_netns && !(netns && strcmp(netns, peer_netns) == 0)) {
        if (netns_path(path, sizeof(path), peer_netns, err) < 0)
            return -1;
        peer_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (peer_fd < 0) {
            nl_seterr(err, "veth %s: namespace %s: %s", name, peer_netns, strerror(errno));
            return -1;
        }
    }
    if (nl_call_begin(&c, netns, err) < 0)
        goto out;
    link = rtnl_link_veth_alloc();
    if (!link) {
        nl_seterr(err, "veth %s: out of memory", name);
        goto out;
    }
    pl = rtnl_link_veth_get_peer(link); /* a new reference */
    rtnl_link_set_name(link, name);
    rtnl_link_set_name(pl, peer);
    if (mtu > 0) {
        rtnl_link_set_mtu(link, (unsigned)mtu);
        rtnl_link_set_mtu(pl, (unsigned)mtu);
    }
    if (peer_fd >= 0)
        rtnl_link_set_ns_fd(pl, peer_fd);
    rc = rtnl_link_add(c.sk, link, NLM_F_CREATE | NLM_F_EXCL);
    if (rc < 0) {
        nl_seterr(err, "veth %s (peer %s%s%s): %s", name, peer, peer_fd >= 0 ? " in " : "",
               peer_fd >= 0 ? peer_netns : "", nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (pl)
        rtnl_link_put(pl);
    if (link)
        rtnl_link_put(link);
    nl_call_end(&c);
    if (peer_fd >= 0)
        close(peer_fd);
    return ret;
}

int nl_link_set_master(const char *netns, const char *name, const char *master, char *err)
{
    struct nlcall c;
    struct rtnl_link *link = NULL, *mlink = NULL, *change = NULL;
    int midx, ret = -1, rc;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    rc = rtnl_link_get_kernel(c.sk, 0, name, &link);
    if (rc < 0) {
        nl_seterr(err, "link %s: %s", name, nl_errstr(rc));
        goto out;
    }
    rc = rtnl_link_get_kernel(c.sk, 0, master, &mlink);
    if (rc < 0) {
        nl_seterr(err, "bridge %s: %s", master, nl_errstr(rc));
        goto out;
    }
    midx = rtnl_link_get_ifindex(mlink);
    change = rtnl_link_alloc();
    if (!change) {
        nl_seterr(err, "link %s: out of memory", name);
        goto out;
    }
    rtnl_link_set_master(change, midx);
    rc = rtnl_link_change(c.sk, link, change, 0);
    if (rc < 0) {
        nl_seterr(err, "link %s: master %s: %s", name, master, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (change)
        rtnl_link_put(change);
    if (mlink)
        rtnl_link_put(mlink);
    if (link)
        rtnl_link_put(link);
    nl_call_end(&c);
    return ret;
}

int nl_link_up(const char *netns, const char *name, char *err)
{
    struct nlcall c;
    int ret;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    ret = link_up_sk(c.sk, name, err);
    nl_call_end(&c);
    return ret;
}

int nl_link_del(const char *netns, const char *name, char *err)
{
    struct nlcall c;
    struct rtnl_link *link = NULL;
    int ret = -1, rc;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    rc = rtnl_link_get_kernel(c.sk, 0, name, &link);
    if (is_missing(rc)) {
        ret = 0;
        goto out;
    }
    if (rc < 0) {
        nl_seterr(err, "link %s: %s", name, nl_errstr(rc));
        goto out;
    }
    rc = rtnl_link_delete(c.sk, link);
    if (rc < 0 && !is_missing(rc)) {
        nl_seterr(err, "link %s: delete: %s", name, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (link)
        rtnl_link_put(link);
    nl_call_end(&c);
    return ret;
}

int nl_link_exists(const char *netns, const char *name, char *err)
{
    struct nlcall c;
    struct rtnl_link *link = NULL;
    int ret = -1, rc;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    rc = rtnl_link_get_kernel(c.sk, 0, name, &link);
    if (rc == 0)
        ret = 1;
    else if (is_missing(rc))
        ret = 0;
    else
        nl_seterr(err, "link %s: %s", name, nl_errstr(rc));
    if (link)
        rtnl_link_put(link);
    nl_call_end(&c);
    return ret;
}

int nl_link_mtu(const char *netns, const char *name, char *err)
{
    struct nlcall c;
    struct rtnl_link *link = NULL;
    int ret = -1, rc;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    rc = rtnl_link_get_kernel(c.sk, 0, name, &link);
    if (rc < 0)
        nl_seterr(err, "link %s: %s", name, nl_errstr(rc));
    else
        ret = (int)rtnl_link_get_mtu(link);
    if (link)
        rtnl_link_put(link);
    nl_call_end(&c);
    return ret;
}

int nl_link_list(const char *netns, const char *prefix, char ***names, char *err)
{
    struct nlcall c;
    struct nl_cache *cache = NULL;
    struct nl_object *obj;
    struct strv s = {0};
    size_t plen = prefix ? strlen(prefix) : 0;
    int ret = -1, rc;

    *names = NULL;
    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    rc = rtnl_link_alloc_cache(c.sk, AF_UNSPEC, &cache);
    if (rc < 0) {
        nl_seterr(err, "links: %s", nl_errstr(rc));
        goto out;
    }
    for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
        const char *n = rtnl_link_get_name((struct rtnl_link *)obj);

        if (!n || (plen && strncmp(n, prefix, plen) != 0))
            continue;
        if (strv_push(&s, n) < 0) {
            nl_seterr(err, "links: out of memory");
            goto out;
        }
    }
    ret = strv_finish(&s, names);
    if (ret < 0)
        nl_seterr(err, "links: out of memory");
out:
    netns_list_free(&s.v);
    if (cache)
        nl_cache_free(cache);
    nl_call_end(&c);
    return ret;
}

/* ---- addresses and routes ------------------------------------------------ */

/*
 * Parses "a.b.c.d/len" (or "a.b.c.d" = /32 when bare_ok) into a fresh
 * nl_addr.  0 or -1.
 */
static int parse_cidr(const char *cidr, bool bare_ok, struct nl_addr **out)
{
    char buf[32];
    struct in_addr in;
    char *slash, *end;
    long plen = 32;

    *out = NULL;
    if (!cidr || strlen(cidr) >= sizeof(buf))
        return -1;
    strcpy(buf, cidr);
    slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        errno = 0;
        plen = strtol(slash + 1, &end, 10);
        if (errno || end == slash + 1 || *end || plen < 0 || plen > 32)
            return -1;
    } else if (!bare_ok) {
        return -1;
    }
    if (inet_pton(AF_INET, buf, &in) != 1)
        return -1;
    *out = nl_addr_build(AF_INET, &in, sizeof(in));
    if (!*out)
        return -1;
    nl_addr_set_prefixlen(*out, (int)plen);
    return 0;
}

int nl_addr_add(const char *netns, const char *ifname, const char *cidr, char *err)
{
    struct nlcall c;
    struct rtnl_link *link = NULL;
    struct rtnl_addr *addr = NULL;
    struct nl_addr *local = NULL;
    int ret = -1, rc;

    if (parse_cidr(cidr, false, &local) < 0) {
        nl_seterr(err, "address %s on %s: not an IPv4 a.b.c.d/len", cidr ? cidr : "(null)",
               ifname ? ifname : "(null)");
        return -1;
    }
    if (nl_call_begin(&c, netns, err) < 0)
        goto out;
    rc = rtnl_link_get_kernel(c.sk, 0, ifname, &link);
    if (rc < 0) {
        nl_seterr(err, "address %s: link %s: %s", cidr, ifname, nl_errstr(rc));
        goto out;
    }
    addr = rtnl_addr_alloc();
    if (!addr) {
        nl_seterr(err, "address %s on %s: out of memory", cidr, ifname);
        goto out;
    }
    rtnl_addr_set_ifindex(addr, rtnl_link_get_ifindex(link));
    rtnl_addr_set_family(addr, AF_INET);
    rc = rtnl_addr_set_local(addr, local);
    if (rc < 0) {
        nl_seterr(err, "address %s on %s: %s", cidr, ifname, nl_errstr(rc));
        goto out;
    }
    rtnl_addr_set_prefixlen(addr, nl_addr_get_prefixlen(local));
    rc = rtnl_addr_add(c.sk, addr, 0);
    if (rc < 0 && rc != -NLE_EXIST) {
        nl_seterr(err, "address %s on %s: %s", cidr, ifname, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (addr)
        rtnl_addr_put(addr);
    if (link)
        rtnl_link_put(link);
    if (local)
        nl_addr_put(local);
    nl_call_end(&c);
    return ret;
}

int nl_route_add(const char *netns, const char *dst, const char *via, const char *dev,
                 char *err)
{
    struct nlcall c = {.home = -1, .sk = NULL};
    struct rtnl_route *route = NULL;
    struct rtnl_nexthop *nh = NULL;
    struct nl_addr *dstaddr = NULL, *gw = NULL;
    struct rtnl_link *link = NULL;
    int ret = -1, rc;

    if (!dst || (strcmp(dst, "default") == 0 ? parse_cidr("0.0.0.0/0", false, &dstaddr)
                                              : parse_cidr(dst, true, &dstaddr)) < 0) {
        nl_seterr(err, "route %s: not an IPv4 a.b.c.d/len or \"default\"", dst ? dst : "(null)");
        goto out;
    }
    if (via && parse_cidr(via, true, &gw) < 0) {
        nl_seterr(err, "route %s: gateway %s: not an IPv4 address", dst, via);
        goto out;
    }
    if (!via && !dev) {
        nl_seterr(err, "route %s: needs a gateway or a device", dst);
        goto out;
    }
    if (nl_call_begin(&c, netns, err) < 0)
        goto out;
    route = rtnl_route_alloc();
    nh = rtnl_route_nh_alloc();
    if (!route || !nh) {
        nl_seterr(err, "route %s: out of memory", dst);
        goto out;
    }
    rtnl_route_set_family(route, AF_INET);
    rtnl_route_set_table(route, RT_TABLE_MAIN);
    rtnl_route_set_protocol(route, RTPROT_STATIC);
    rtnl_route_set_scope(route, via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    rc = rtnl_route_set_dst(route, dstaddr);
    if (rc < 0) {
        nl_seterr(err, "route %s: %s", dst, nl_errstr(rc));
        goto out;
    }
    if (dev) {
        rc = rtnl_link_get_kernel(c.sk, 0, dev, &link);
        if (rc < 0) {
            nl_seterr(err, "route %s: link %s: %s", dst, dev, nl_errstr(rc));
            goto out;
        }
        rtnl_route_nh_set_ifindex(nh, rtnl_link_get_ifindex(link));
    }
    if (gw)
        rtnl_route_nh_set_gateway(nh, gw);
    rtnl_route_add_nexthop(route, nh);
    nh = NULL; /* the route owns it now */
    rc = rtnl_route_add(c.sk, route, 0);
    if (rc < 0) {
        nl_seterr(err, "route %s: %s", dst, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (nh)
        rtnl_route_nh_free(nh);
    if (route)
        rtnl_route_put(route);
    if (link)
        rtnl_link_put(link);
    if (gw)
        nl_addr_put(gw);
    if (dstaddr)
        nl_addr_put(dstaddr);
    nl_call_end(&c);
    return ret;
}

/* ---- container ports, probes, sockets, leftovers ------------------------- */

/*
 * The name a macvlan or ipvlan is born with inside the container, renamed to
 * eth0 by round trip 2.  The kernel of Debian 12 (6.1, the nested VMs' guest)
 * looks an RTM_NEWLINK's IFLA_IFNAME up in the sender's namespace before it
 * considers IFLA_NET_NS_FD: when that namespace has an eth0 of its own (a VM,
 * or any host whose underlay link is eth0), "create eth0 in netns" reads as
 * "change our eth0" and NLM_F_EXCL answers EEXIST (6.18 looks in the target
 * namespace).  No cntb link is ever called this in a host's namespace.  A
 * veth's container end is named in IFLA_LINKINFO's peer, which is not looked
 * up, so it is born as eth0 directly.
 */
#define PORT_BIRTH_NAME "cntb-port-new"

/* A fresh link of p->kind with its kind-specific attributes, or NULL (err). */
static struct rtnl_link *port_link_alloc(const nl_port_t *p, char *err)
{
    struct rtnl_link *link = NULL;
    struct nl_addr *mac = NULL;
    int i, rc;

    if (strcmp(p->kind, "veth") == 0) {
        link = rtnl_link_veth_alloc();
    } else if (strcmp(p->kind, "macvlan") == 0) {
        link = rtnl_link_macvlan_alloc();
        if (link && rtnl_link_macvlan_set_mode(link, (uint32_t)p->mode) < 0) {
            nl_seterr(err, "macvlan: mode %d refused by libnl", p->mode);
            goto fail;
        }
        if (link && p->src_macs[0]) {
            rtnl_link_macvlan_set_macmode(link, MACVLAN_MACADDR_SET);
            for (i = 0; i < 4 && p->src_macs[i]; i++) {
                rc = nl_addr_parse(p->src_macs[i], AF_LLC, &mac);
                if (rc < 0) {
                    nl_seterr(err, "macvlan: source MAC %s: %s", p->src_macs[i], nl_errstr(rc));
                    goto fail;
                }
                rtnl_link_macvlan_add_macaddr(link, mac);
                nl_addr_put(mac);
                mac = NULL;
            }
        }
    } else if (strcmp(p->kind, "ipvlan") == 0) {
        link = rtnl_link_ipvlan_alloc();
        if (link && rtnl_link_ipvlan_set_mode(link, (uint16_t)p->mode) < 0) {
            nl_seterr(err, "ipvlan: mode %d refused by libnl", p->mode);
            goto fail;
        }
    } else {
        nl_seterr(err, "port: unknown kind %s", p->kind);
        return NULL;
    }
    if (!link)
        nl_seterr(err, "%s: out of memory", p->kind);
    return link;
fail:
    rtnl_link_put(link);
    return NULL;
}

int nl_port_add(const char *netns, const nl_port_t *p, char *err)
{
    struct nlcall c = {.home = -1, .sk = NULL};
    struct rtnl_link *link = NULL, *ce = NULL, *other = NULL, *eth0 = NULL;
    struct nl_addr *mac = NULL;
    char path[PATH_MAX];
    int fd = -1, ret = -1, rc;
    bool veth;

    if (!p || !p->kind) {
        nl_seterr(err, "port: no kind");
        return -1;
    }
    veth = strcmp(p->kind, "veth") == 0;
    if (veth ? !nl_ifname_valid(p->host_name) : !nl_ifname_valid(p->parent)) {
        nl_seterr(err, "%s: invalid %s name", p->kind, veth ? "host end" : "parent");
        return -1;
    }
    if (netns_path(path, sizeof(path), netns, err) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        nl_seterr(err, "%s: namespace %s: %s", p->kind, netns, strerror(errno));
        return -1;
    }
    /* Round trip 1, in our namespace: create, with the container end born
     * inside netns as eth0. */
    if (nl_call_begin(&c, NULL, err) < 0)
        goto out;
    link = port_link_alloc(p, err);
    if (!link)
        goto out;
    if (veth) {
        ce = rtnl_link_veth_get_peer(link);
        rtnl_link_set_name(link, p->host_name);
        rtnl_link_set_flags(link, IFF_UP);
        if (p->master) {
            rc = rtnl_link_get_kernel(c.sk, 0, p->master, &other);
            if (rc < 0) {
                nl_seterr(err, "veth %s: bridge %s: %s", p->host_name, p->master, nl_errstr(rc));
                goto out;
            }
            rtnl_link_set_master(link, rtnl_link_get_ifindex(other));
        }
        if (p->mtu > 0)
            rtnl_link_set_mtu(link, (unsigned)p->mtu);
        if (p->group)
            rtnl_link_set_group(link, p->group);
    } else {
        ce = link;
        nl_object_get((struct nl_object *)ce); /* one reference each for link and ce */
        rc = rtnl_link_get_kernel(c.sk, 0, p->parent, &other);
        if (rc < 0) {
            nl_seterr(err, "%s: parent %s: %s", p->kind, p->parent, nl_errstr(rc));
            goto out;
        }
        rtnl_link_set_link(link, rtnl_link_get_ifindex(other));
    }
    rtnl_link_set_name(ce, veth ? "eth0" : PORT_BIRTH_NAME);
    rtnl_link_set_ns_fd(ce, fd);
    if (p->mtu > 0)
        rtnl_link_set_mtu(ce, (unsigned)p->mtu);
    if (p->mac) {
        rc = nl_addr_parse(p->mac, AF_LLC, &mac);
        if (rc < 0) {
            nl_seterr(err, "%s: MAC %s: %s", p->kind, p->mac, nl_errstr(rc));
            goto out;
        }
        rtnl_link_set_addr(ce, mac);
    }
    rc = rtnl_link_add(c.sk, link, NLM_F_CREATE | NLM_F_EXCL);
    if (rc < 0) {
        nl_seterr(err, "%s %s (%s in %s): %s", p->kind, veth ? p->host_name : p->parent,
               veth ? "eth0" : PORT_BIRTH_NAME, netns, nl_errstr(rc));
        goto out;
    }
    nl_call_end(&c);
    /* Round trip 2, inside the container: (rename to) eth0, up. */
    if (nl_call_begin(&c, netns, err) < 0)
        goto out;
    if (link_rename_up_sk(c.sk, veth ? "eth0" : PORT_BIRTH_NAME, veth ? NULL : "eth0", err) < 0) {
        /* Best effort: not left under its birth name, where a retry's
         * creation would collide (the error above is the one to report). */
        struct rtnl_link *half = NULL;

        if (!veth && rtnl_link_get_kernel(c.sk, 0, PORT_BIRTH_NAME, &half) == 0)
            (void)rtnl_link_delete(c.sk, half);
        if (half)
            rtnl_link_put(half);
        goto out;
    }
    ret = 0;
out:
    nl_call_end(&c);
    if (ret == 0 && p->cidr && nl_addr_add(netns, "eth0", p->cidr, err) < 0)
        ret = -1;
    if (ret == 0 && p->default_dev && nl_route_add(netns, "default", NULL, "eth0", err) < 0)
        ret = -1;
    if (mac)
        nl_addr_put(mac);
    if (eth0)
        rtnl_link_put(eth0);
    if (other)
        rtnl_link_put(other);
    if (ce)
        rtnl_link_put(ce);
    if (link)
        rtnl_link_put(link);
    close(fd);
    return ret;
}

int nl_link_set_group(const char *netns, const char *name, unsigned group, char *err)
{
    struct nlcall c;
    struct rtnl_link *link = NULL, *change = NULL;
    int ret = -1, rc;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    rc = rtnl_link_get_kernel(c.sk, 0, name, &link);
    if (rc < 0) {
        nl_seterr(err, "link %s: %s", name, nl_errstr(rc));
        goto out;
    }
    change = rtnl_link_alloc();
    if (!change) {
        nl_seterr(err, "link %s: out of memory", name);
        goto out;
    }
    rtnl_link_set_group(change, group);
    rc = rtnl_link_change(c.sk, link, change, 0);
    if (rc < 0) {
        nl_seterr(err, "link %s: group %u: %s", name, group, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (change)
        rtnl_link_put(change);
    if (link)
        rtnl_link_put(link);
    nl_call_end(&c);
    return ret;
}

int nl_link_group_del(const char *netns, unsigned group, char *err)
{
    struct nlcall c;
    struct nl_msg *msg = NULL;
    struct ifinfomsg ifi;
    int ret = -1, rc;

    if (group == 0) {
        nl_seterr(err, "link group 0: the default group is never deleted");
        return -1;
    }
    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    msg = nlmsg_alloc_simple(RTM_DELLINK, 0);
    if (!msg) {
        nl_seterr(err, "link group %u: out of memory", group);
        goto out;
    }
    memset(&ifi, 0, sizeof(ifi));
    ifi.ifi_family = AF_UNSPEC;
    if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
        nla_put_u32(msg, IFLA_GROUP, group) < 0) {
        nl_seterr(err, "link group %u: message too long", group);
        goto out;
    }
    rc = nl_send_sync(c.sk, msg); /* frees msg */
    msg = NULL;
    if (rc < 0 && !is_missing(rc)) {
        nl_seterr(err, "link group %u: delete: %s", group, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (msg)
        nlmsg_free(msg);
    nl_call_end(&c);
    return ret;
}

int nl_link_set_mtu(const char *netns, const char *name, int mtu, char *err)
{
    struct nlcall c;
    struct rtnl_link *link = NULL, *change = NULL;
    int ret = -1, rc;

    if (nl_call_begin(&c, netns, err) < 0)
        return -1;
    rc = rtnl_link_get_kernel(c.sk, 0, name, &link);
    if (rc < 0) {
        nl_seterr(err, "link %s: %s", name, nl_errstr(rc));
        goto out;
    }
    change = rtnl_link_alloc();
    if (!change) {
        nl_seterr(err, "link %s: out of memory", name);
        goto out;
    }
    rtnl_link_set_mtu(change, (unsigned)mtu);
    rc = rtnl_link_change(c.sk, link, change, 0);
    if (rc < 0) {
        nl_seterr(err, "link %s: mtu %d: %s", name, mtu, nl_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    if (change)
        rtnl_link_put(change);
    if (link)
        rtnl_link_put(link);
    nl_call_end(&c);
    return ret;
}

int nl_kind_probe(const char *kind, char *err)
{
    char ns[64], perr[NL_ERR_MAX];
    nl_port_t port;
    int ret = -1, rc;

    snprintf(ns, sizeof(ns), "cntb-probe-%ld", (long)getpid());
    if (netns_create(ns, true, err) < 0)
        return -1;
    /* The parent pair lives inside the probe namespace; so does the probe
     * link, so deleting the namespace removes everything at once. */
    if (nl_veth_add(ns, "cntbpa", "cntbpb", NULL, 0, err) < 0)
        goto out;
    if (strcmp(kind, "veth") == 0 || strcmp(kind, "bridge") == 0) {
        ret = strcmp(kind, "veth") == 0 ? 1 : (nl_bridge_add(ns, "cntbpbr", 0, perr) == 0 ? 1 : 0);
        if (ret == 0)
            nl_seterr(err, "%s", perr);
        goto out;
    }
    memset(&port, 0, sizeof(port));
    port.kind = kind;
    port.parent = "cntbpa";
    port.mode = strcmp(kind, "macvlan") == 0 ? MACVLAN_MODE_BRIDGE : IPVLAN_MODE_L2;
    /* The port goes into the same probe namespace, created from inside it. */
    {
        struct nlcall c;
        struct rtnl_link *link = NULL, *parent = NULL;

        if (nl_call_begin(&c, ns, err) < 0)
            goto out;
        link = port_link_alloc(&port, err);
        rc = link ? rtnl_link_get_kernel(c.sk, 0, "cntbpa", &parent) : -NLE_NOMEM;
        if (rc == 0) {
            rtnl_link_set_link(link, rtnl_link_get_ifindex(parent));
            rtnl_link_set_name(link, "cntbpx");
            rc = rtnl_link_add(c.sk, link, NLM_F_CREATE | NLM_F_EXCL);
        }
        if (rc < 0) {
            nl_seterr(err, "the kernel refuses to create a link of kind %s: %s", kind, nl_errstr(rc));
            ret = 0;
        } else {
            ret = 1;
        }
        if (parent)
            rtnl_link_put(parent);
        if (link)
            rtnl_link_put(link);
        nl_call_end(&c);
    }
out:
    if (netns_delete(ns, perr) < 0 && ret >= 0) {
        nl_seterr(err, "%s", perr);
        ret = -1;
    }
    return ret;
}

int netns_socket(const char *netns, int domain, int type, char *err)
{
    int home = -1, fd = -1;

    if (netns && *netns) {
        home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (home < 0) {
            nl_seterr(err, "own namespace: %s", strerror(errno));
            return -1;
        }
        if (netns_enter(netns, err) < 0) {
            close(home);
            return -1;
        }
    }
    fd = socket(domain, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        nl_seterr(err, "socket in %s: %s", netns && *netns ? netns : "own namespace", strerror(errno));
    if (home >= 0) {
        if (setns(home, CLONE_NEWNET) < 0)
            abort(); /* stranded in a foreign namespace */
        close(home);
    }
    return fd;
}

/* Appends item to the comma-separated list in out (len bytes), truncating. */
static void out_append(char *out, size_t len, const char *item)
{
    size_t used;

    if (!out || len == 0)
        return;
    used = strlen(out);
    if (used + 1 >= len)
        return;
    snprintf(out + used, len - used, "%s%s", used ? "," : "", item);
}

int nl_subnet_leftovers(const char *netns, const char *subnet, char *out, size_t len, char *err)
{
    struct nlcall c;
    struct nl_cache *cache = NULL;
    struct nl_object *obj;
    struct nl_addr *net = NULL;
    char buf[64], item[96];
    int ret = -1, rc, count = 0;

    if (parse_cidr(subnet, false, &net) < 0) {
        nl_seterr(err, "leftovers: subnet %s: not an IPv4 a.b.c.d/len", subnet ? subnet : "(null)");
        return -1;
    }
    if (nl_call_begin(&c, netns, err) < 0)
        goto out;
    rc = rtnl_addr_alloc_cache(c.sk, &cache);
    if (rc < 0) {
        nl_seterr(err, "addresses: %s", nl_errstr(rc));
        goto out;
    }
    for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
        struct nl_addr *a = rtnl_addr_get_local((struct rtnl_addr *)obj);

        if (!a || nl_addr_get_family(a) != AF_INET ||
            nl_addr_cmp_prefix(net, a) != 0)
            continue;
        snprintf(item, sizeof(item), "address %s", nl_addr2str(a, buf, sizeof(buf)));
        out_append(out, len, item);
        count++;
    }
    nl_cache_free(cache);
    cache = NULL;
    rc = rtnl_route_alloc_cache(c.sk, AF_INET, 0, &cache);
    if (rc < 0) {
        nl_seterr(err, "routes: %s", nl_errstr(rc));
        goto out;
    }
    for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
        struct rtnl_route *r = (struct rtnl_route *)obj;
        struct nl_addr *d = rtnl_route_get_dst(r);

        if (rtnl_route_get_table(r) != RT_TABLE_MAIN || !d ||
            nl_addr_get_prefixlen(d) < nl_addr_get_prefixlen(net) ||
            nl_addr_cmp_prefix(net, d) != 0)
            continue;
        snprintf(item, sizeof(item), "route %s", nl_addr2str(d, buf, sizeof(buf)));
        out_append(out, len, item);
        count++;
    }
    ret = count;
out:
    if (cache)
        nl_cache_free(cache);
    if (net)
        nl_addr_put(net);
    nl_call_end(&c);
    return ret;
}
