/*
 * agent_meta.c — the host metadata snapshot (HELLO "meta"), so that a result
 * can be reproduced and two batches' hosts diffed (`cntb results
 * diff-hosts`).
 *
 * Everything is read from the kernel's files and ioctls, nothing is
 * executed: /proc and /sys for kernel, CPU, memory and sysctls; the
 * SIOCETHTOOL ioctl for the underlay's driver (ETHTOOL_GDRVINFO) and the
 * legacy offload getters (ETHTOOL_GRXCSUM, GTXCSUM, GSG, GTSO, GGSO, GGRO,
 * GFLAGS for LRO; include/uapi/linux/ethtool.h), SIOCGIFMTU for the MTU,
 * libnl-route's qdisc cache for the root qdisc; tool versions come from
 * dpkg's status file (deb-status(5)) rather than from running each tool.
 * cntb's version and git commit are compile definitions from CMake.
 */
#include "agent_meta.h"
#include "cpulist.h"

#include <ctype.h>
#include <dirent.h>
#include <linux/ethtool.h>
#include <linux/pkt_sched.h>
#include <linux/sockios.h>
#include <stdbool.h>
#include <net/if.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef CNTB_VERSION
#define CNTB_VERSION "0.1"
#endif
#ifndef CNTB_GIT_COMMIT
#define CNTB_GIT_COMMIT "unknown"
#endif

/* The first line of a file without its newline, as JSON; null when unreadable. */
static json_t *
meta_file_line(const char *path)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return json_null();
    if (!fgets(buf, sizeof buf, f)) {
        fclose(f);
        return json_null();
    }
    fclose(f);
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || isspace((unsigned char)buf[n - 1])))
        buf[--n] = '\0';
    return json_string(buf) ?: json_null();
}

/* The value after "key<spaces>:" in a /proc file of such lines; null when absent. */
static json_t *
meta_proc_field(const char *path, const char *key)
{
    char line[1024];
    size_t klen = strlen(key);
    json_t *v = NULL;
    FILE *f = fopen(path, "r");

    if (!f)
        return json_null();
    while (!v && fgets(line, sizeof line, f)) {
        char *p = line + klen, *e;

        if (strncmp(line, key, klen) != 0)
            continue;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != ':')
            continue;
        while (*p == ' ' || *p == '\t')
            p++;
        e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1]))
            *--e = '\0';
        v = json_string(p);
    }
    fclose(f);
    return v ?: json_null();
}

/* Number of NUMA nodes (/sys/devices/system/node/nodeN); null when not exposed. */
static json_t *
meta_numa_nodes(void)
{
    DIR *d = opendir("/sys/devices/system/node");
    struct dirent *e;
    int n = 0;

    if (!d)
        return json_null();
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "node", 4) == 0 && isdigit((unsigned char)e->d_name[4]))
            n++;
    closedir(d);
    return n > 0 ? json_integer(n) : json_null();
}

/* MemTotal of /proc/meminfo in bytes (the file gives kB = 1024 bytes); null when absent. */
static json_t *
meta_memory(void)
{
    json_t *s = meta_proc_field("/proc/meminfo", "MemTotal");
    long long kb;
    json_t *v;

    if (!json_is_string(s) || sscanf(json_string_value(s), "%lld", &kb) != 1) {
        json_decref(s);
        return json_null();
    }
    json_decref(s);
    v = json_integer(kb * 1024);
    return v ?: json_null();
}

/* One ETHTOOL_G* value (struct ethtool_value) of ifname: true/false, null when refused. */
static json_t *
meta_ethtool_bool(int fd, const char *ifname, __u32 cmd, __u32 mask)
{
    struct ethtool_value ev = { .cmd = cmd };
    struct ifreq ifr;

    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    ifr.ifr_data = (char *)&ev;
    if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
        return json_null();
    return json_boolean(mask ? (ev.data & mask) != 0 : ev.data != 0);
}

/* The root qdisc kind of ifindex through libnl-route ("noqueue", "fq_codel"); null when none. */
static json_t *
meta_qdisc(int ifindex)
{
    struct nl_sock *sk = nl_socket_alloc();
    struct nl_cache *cache = NULL;
    struct rtnl_qdisc *q = NULL;
    json_t *v = NULL;

    if (!sk || nl_connect(sk, NETLINK_ROUTE) < 0)
        goto out;
    if (rtnl_qdisc_alloc_cache(sk, &cache) < 0)
        goto out;
    q = rtnl_qdisc_get_by_parent(cache, ifindex, TC_H_ROOT);
    if (q && rtnl_tc_get_kind(TC_CAST(q)))
        v = json_string(rtnl_tc_get_kind(TC_CAST(q)));
out:
    if (q)
        rtnl_qdisc_put(q);
    if (cache)
        nl_cache_free(cache);
    nl_socket_free(sk);
    return v ?: json_null();
}

/* The underlay device's driver, MTU, offloads and qdisc. */
static json_t *
meta_underlay(const char *ifname)
{
    struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
    struct ifreq ifr;
    json_t *u = json_object(), *off = json_object();
    int fd = -1;
    unsigned idx;

    if (!u || !off)
        goto fail;
    json_object_set_new(u, "name", ifname ? json_string(ifname) : json_null());
    json_object_set_new(u, "driver", json_null());
    json_object_set_new(u, "driver_version", json_null());
    json_object_set_new(u, "firmware", json_null());
    json_object_set_new(u, "bus", json_null());
    json_object_set_new(u, "mtu", json_null());
    json_object_set_new(u, "qdisc", json_null());
    if (ifname && strlen(ifname) < IFNAMSIZ)
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
        ifr.ifr_data = (char *)&di;
        if (ioctl(fd, SIOCETHTOOL, &ifr) == 0) {
            di.driver[sizeof di.driver - 1] = '\0';
            di.version[sizeof di.version - 1] = '\0';
            di.fw_version[sizeof di.fw_version - 1] = '\0';
            di.bus_info[sizeof di.bus_info - 1] = '\0';
            json_object_set_new(u, "driver", json_string(di.driver));
            json_object_set_new(u, "driver_version", json_string(di.version));
            if (di.fw_version[0])
                json_object_set_new(u, "firmware", json_string(di.fw_version));
            if (di.bus_info[0])
                json_object_set_new(u, "bus", json_string(di.bus_info));
        }
        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
        if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
            json_object_set_new(u, "mtu", json_integer(ifr.ifr_mtu));
    }
    json_object_set_new(off, "rx_checksum", fd < 0 ? json_null() :
                        meta_ethtool_bool(fd, ifname, ETHTOOL_GRXCSUM, 0));
    json_object_set_new(off, "tx_checksum", fd < 0 ? json_null() :
                        meta_ethtool_bool(fd, ifname, ETHTOOL_GTXCSUM, 0));
    json_object_set_new(off, "scatter_gather", fd < 0 ? json_null() :
                        meta_ethtool_bool(fd, ifname, ETHTOOL_GSG, 0));
    json_object_set_new(off, "tso", fd < 0 ? json_null() :
                        meta_ethtool_bool(fd, ifname, ETHTOOL_GTSO, 0));
    json_object_set_new(off, "gso", fd < 0 ? json_null() :
                        meta_ethtool_bool(fd, ifname, ETHTOOL_GGSO, 0));
    json_object_set_new(off, "gro", fd < 0 ? json_null() :
                        meta_ethtool_bool(fd, ifname, ETHTOOL_GGRO, 0));
    json_object_set_new(off, "lro", fd < 0 ? json_null() :
                        meta_ethtool_bool(fd, ifname, ETHTOOL_GFLAGS, ETH_FLAG_LRO));
    json_object_set_new(u, "offloads", off);
    off = NULL;
    if (fd >= 0)
        close(fd);
    if (ifname && (idx = if_nametoindex(ifname)) > 0)
        json_object_set_new(u, "qdisc", meta_qdisc((int)idx));
    return u;
fail:
    json_decref(u);
    json_decref(off);
    return NULL;
}

json_t *
agent_meta_dpkg_versions(const char *status_path, const char *const *pkgs,
                         const char *const *keys, int n)
{
    char line[1024], pkg[256] = "", ver[256] = "";
    bool installed = false;
    json_t *out = json_object();
    FILE *f;

    if (!out)
        return NULL;
    for (int i = 0; i < n; i++)
        json_object_set_new(out, keys[i], json_null());
    if (!status_path || !(f = fopen(status_path, "r")))
        return out;
    /* Stanzas separated by blank lines; a line of EOF ends the last one. */
    for (bool eof = false; !eof;) {
        eof = !fgets(line, sizeof line, f);
        if (eof || line[0] == '\n') {
            for (int i = 0; installed && ver[0] && i < n; i++)
                if (strcmp(pkg, pkgs[i]) == 0)
                    json_object_set_new(out, keys[i], json_string(ver));
            pkg[0] = ver[0] = '\0';
            installed = false;
            continue;
        }
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "Package: ", 9) == 0)
            snprintf(pkg, sizeof pkg, "%s", line + 9);
        else if (strncmp(line, "Version: ", 9) == 0)
            snprintf(ver, sizeof ver, "%s", line + 9);
        else if (strncmp(line, "Status: ", 8) == 0)
            installed = strcmp(line + 8, "install ok installed") == 0;
    }
    fclose(f);
    return out;
}

/* The CPUs this process may run on (cpulist.h format, e.g. "1"): on an
 * emulated testbed with --cpus fewer than cpu.cores.  JSON null if unknown. */
static json_t *
meta_cpus_allowed(void)
{
    cpu_set_t set;
    char list[CPULIST_MAX];

    if (sched_getaffinity(0, sizeof set, &set) < 0 || cpulist_format(&set, list, sizeof list) < 0)
        return json_null();
    return json_string(list);
}

json_t *
agent_meta_snapshot(const char *underlay_if)
{
    /* Socket-buffer sizes and congestion control: what changes a TCP stream's result. */
    static const char *const sysctls[] = {
        "net.core.rmem_default", "net.core.rmem_max", "net.core.wmem_default",
        "net.core.wmem_max", "net.core.optmem_max", "net.core.netdev_max_backlog",
        "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_mem",
        "net.ipv4.udp_mem", "net.ipv4.tcp_congestion_control",
    };
    static const char *const pkgs[] = { "iperf3", "sockperf", "bird2", "etcd-server",
                                        "qemu-system-x86" };
    static const char *const keys[] = { "iperf3", "sockperf", "bird", "etcd", "qemu" };
    struct utsname un;
    json_t *m = json_object(), *k = json_object(), *cpu = json_object(),
           *sc = json_object(), *u = NULL, *ver = NULL;

    if (!m || !k || !cpu || !sc)
        goto fail;
    json_object_set_new(k, "release", uname(&un) == 0 ? json_string(un.release) : json_null());
    json_object_set_new(k, "cmdline", meta_file_line("/proc/cmdline"));
    json_object_set_new(m, "kernel", k);
    k = NULL;
    json_object_set_new(cpu, "model", meta_proc_field("/proc/cpuinfo", "model name"));
    json_object_set_new(cpu, "cores", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(cpu, "allowed", meta_cpus_allowed());
    json_object_set_new(cpu, "governor",
                        meta_file_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"));
    json_object_set_new(cpu, "numa_nodes", meta_numa_nodes());
    json_object_set_new(m, "cpu", cpu);
    cpu = NULL;
    json_object_set_new(m, "memory_bytes", meta_memory());
    if (!(u = meta_underlay(underlay_if)))
        goto fail;
    json_object_set_new(m, "underlay", u);
    for (size_t i = 0; i < sizeof sysctls / sizeof sysctls[0]; i++) {
        char path[128];

        snprintf(path, sizeof path, "/proc/sys/%s", sysctls[i]);
        for (char *p = path + 10; *p; p++)
            if (*p == '.')
                *p = '/';
        json_object_set_new(sc, sysctls[i], meta_file_line(path));
    }
    json_object_set_new(m, "sysctl", sc);
    sc = NULL;
    if (!(ver = agent_meta_dpkg_versions("/var/lib/dpkg/status", pkgs, keys, 5)))
        goto fail;
    json_object_set_new(m, "versions", ver);
    json_object_set_new(m, "cntb", json_pack("{s:s, s:s}", "version", CNTB_VERSION, "commit",
                                             CNTB_GIT_COMMIT));
    return m;
fail:
    json_decref(m);
    json_decref(k);
    json_decref(cpu);
    json_decref(sc);
    return NULL;
}
