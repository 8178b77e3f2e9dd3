/*
 * agent_meta.h — the metadata snapshot an agent sends in HELLO's "meta":
 * what a result depends on besides the network (kernel, CPU, underlay
 * device, sysctls, tool versions, cntb's own build).
 */
#ifndef CNTB_AGENT_META_H
#define CNTB_AGENT_META_H

#include <jansson.h>

/*
 * Takes a snapshot of this host (the network namespace the caller is in)
 * with `underlay_if` (e.g. "eth0", ≤ 15 bytes) as the underlay device.
 * Returns a fresh JSON object (caller decrefs), NULL only when out of
 * memory.  Every field is always present; a value that cannot be read is
 * null (no cpufreq on a VM, no ethtool driver on a veth, ...).  Keys:
 *   kernel{release, cmdline}, cpu{model, cores, governor, numa_nodes},
 *   memory_bytes, underlay{name, driver, driver_version, firmware, bus,
 *   mtu (bytes), offloads{rx_checksum, tx_checksum, scatter_gather, tso,
 *   gso, gro, lro: true|false|null}, qdisc}, sysctl{"net.core.rmem_max":
 *   text, ...}, versions{iperf3, sockperf, bird, etcd, qemu: Debian
 *   package version text or null}, cntb{version, commit}.
 * The sysctls are those that size socket buffers and pick congestion
 * control (Documentation/networking/ip-sysctl.rst, admin-guide/sysctl/net.rst).
 */
json_t *agent_meta_snapshot(const char *underlay_if);

/*
 * The versions of Debian packages from a dpkg status file (normally
 * /var/lib/dpkg/status, deb-status(5)): for each of the n names in pkgs an
 * entry keys[i] -> "Version" text of the package whose Status is
 * "install ok installed", or null.  Fresh object, NULL when out of memory;
 * an unreadable file gives all nulls.
 */
json_t *agent_meta_dpkg_versions(const char *status_path, const char *const *pkgs,
                                 const char *const *keys, int n);

#endif
