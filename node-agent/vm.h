/*
 * vm.h — nested VMs: the host's agent starts and stops QEMU guests whose own
 * cntb-agent joins the testbed as a host of kind vm (docs/vm.md).
 *
 * A VM is QEMU (`qemu-system-x86_64 -machine q35`) booting the kernel and
 * initramfs made by testbed/vm/build-image, with one virtio-net NIC on a tap
 * device "cntbvm-NAME" created by this module (TUNSETIFF on /dev/net/tun) in
 * the agent's own namespace and handed to QEMU as an open descriptor, so
 * the tap disappears with QEMU whatever happens to the agent.  The guest
 * takes an address of the host's underlay subnet; the host routes that /32
 * to the tap and answers ARP on both sides (proxy ARP on the underlay link
 * and the tap, IPv4 forwarding on), so the guest is reachable from every
 * host and the controller without moving the host's own address onto a
 * bridge.  Accelerator: KVM only after a probe boot of the same image
 * finished within a timeout (some machines have /dev/kvm whose guests
 * hang), TCG otherwise.
 */
#ifndef CNTB_VM_H
#define CNTB_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define VM_ERR_MAX 1024
#define VM_CONSOLE_MAX 2048 /* bytes of console tail handed back on failure */

typedef struct vm vm_t;

typedef struct {
    const char *name;        /* the VM's host name, [A-Za-z0-9_.-]{1,8} (tap "cntbvm-NAME") */
    const char *parent;      /* the host it runs on (this agent's host) */
    const char *address;     /* the guest's IPv4 address, dotted quad */
    int prefix;              /* underlay prefix length, 8..30 */
    const char *controller;  /* endpoint the guest's agent connects to, "tcp://A:P" */
    int vcpus;               /* 1..64 */
    int memory_mb;           /* MiB, 128..65536 */
    const char *image_dir;   /* holds vmlinuz and initrd.img (build-image's --out) */
    const char *underlay_if; /* the host's underlay link, proxy ARP is turned on there */
    const char *rundir;      /* console and QEMU logs go here (created when missing) */
    const char *accel;       /* "auto" (probe KVM, else TCG), "kvm" or "tcg" */
    const char *qemu;        /* QEMU binary; NULL = /usr/bin/qemu-system-x86_64 */
    const char *cert;        /* the guest agent's CURVE certificate (public file; its pair is
                                CERT_secret), NULL = the guest runs without CURVE */
    const char *controller_cert; /* the controller's public certificate; needed with cert */
} vm_config_t;

/*
 * Starts a VM: checks the configuration, chooses the accelerator (see
 * vm_kvm_usable), creates and configures the tap, starts QEMU with
 * fork + execv.  With cfg->cert, QEMU's initrd is RUNDIR/vm-NAME.initrd
 * (mode 0600, removed by vm_stop): the image's initrd.img, zeros to a
 * multiple of 4 bytes, then a newc cpio archive (cpio.h) holding
 * etc/cntb/agent.cert (0644), etc/cntb/agent.cert_secret (0600) and
 * etc/cntb/controller.cert (0644); the kernel unpacks concatenated archives
 * in order (Documentation/driver-api/early-userspace/buffer-format.rst).
 * A missing or unreadable certificate file (each at most 64 KiB) refuses
 * the start.  No key ever goes on the kernel command line.  Returns a fresh handle (vm_stop frees it) or NULL with a
 * one-line reason in err (VM_ERR_MAX bytes); nothing is left on failure.
 * Returning means QEMU started, not that the guest booted: its agent's
 * HELLO tells that to the controller.
 */
vm_t *vm_start(const vm_config_t *cfg, char *err);

/*
 * Stops the VM (SIGTERM, up to 3 s, then SIGKILL), reaps QEMU, removes what
 * the start created (the tap goes with QEMU's descriptor) and frees the
 * handle; *self_p is set to NULL; NULL is accepted.  When console is not
 * NULL, the last lines of the serial console (and of QEMU's own messages)
 * are copied into it (len bytes, NUL-terminated).  Returns QEMU's wait
 * status, or -1 when there was none.
 */
int vm_stop(vm_t **self_p, char *console, size_t len);

/*
 * True while QEMU runs.  When it has exited, reaps it and stores its wait
 * status in *status (when not NULL); later calls keep returning false.
 */
bool vm_running(vm_t *self, int *status);

/* The accelerator in use, "kvm" or "tcg" (static string). */
const char *vm_accel(const vm_t *self);

/* QEMU's process id, or -1 after it exited. */
pid_t vm_pid(const vm_t *self);

/* Name of the tap device ("cntbvm-NAME"), borrowed. */
const char *vm_tap(const vm_t *self);

/*
 * The last `lines` lines (1..100) of the VM's console followed by QEMU's own
 * stderr, into buf (len bytes, NUL-terminated, lines joined by " | " so that
 * it fits one database reason).  Returns the number of bytes written.
 */
size_t vm_console_tail(const vm_t *self, int lines, char *buf, size_t len);

/*
 * 1 when a KVM guest boots here: /dev/kvm opens and a probe boot of the
 * image (kernel command line cntb.probe=1: the initramfs prints a marker and
 * powers off) finishes within timeout_ms (1..60000); 0 when not, with the
 * reason in why (VM_ERR_MAX bytes).  The answer is cached per process and
 * image directory, because a failing probe costs its whole timeout.
 */
int vm_kvm_usable(const char *qemu, const char *image_dir, const char *rundir, int timeout_ms,
                  char *why);

/* 1 when `name` is a valid VM name (see vm_config_t.name), else 0. */
int vm_name_valid(const char *name);

/*
 * The pid file vm_start writes, RUNDIR/vm-NAME.pid, one line
 * "PID STARTTIME PARENT": QEMU's pid (2..4194304, the kernel's pid_max
 * limit), its start time (field 22 of /proc/PID/stat, clock ticks after
 * boot, proc(5); >= 1) and the host that started it (a valid host name).
 * Parses text into *pid, *start and parent (plen bytes).  0, or -1 when the
 * text is not exactly that (outputs untouched).
 */
int vm_pidfile_parse(const char *text, pid_t *pid, unsigned long long *start, char *parent,
                     size_t plen);

/*
 * The start time (field 22, clock ticks after boot) from the text of a
 * /proc/PID/stat file, counting fields after the last ')' since the
 * command name may hold spaces and parentheses (proc(5)).  0, or -1 when
 * the text is too short or the field is not a positive number.
 */
int vm_stat_starttime(const char *stat, unsigned long long *start);

/*
 * 1 when the NUL-separated argument list cmdline (len bytes, as read from
 * /proc/PID/cmdline) holds "-name" directly followed by "cntbvm-NAME" —
 * how vm_start names every QEMU — else 0.
 */
int vm_cmdline_matches(const char *cmdline, size_t len, const char *name);

/*
 * Start-up cleanup of VMs this host's agent started and that outlived it:
 * for every rundir/vm-NAME.pid naming `parent` (other hosts' files are left
 * alone), the QEMU is killed (SIGKILL, waited for up to 2 s) only when its
 * pid's start time and command line still match (vm_stat_starttime,
 * vm_cmdline_matches): a pid reused by another program is never signalled.
 * Then its tap (if QEMU's end did not take it), initrd copy and pid file
 * are removed.  Appends "vm NAME (QEMU pid P)" per QEMU killed to report
 * (comma-separated, len bytes; may be NULL) and returns how many were
 * killed.  The forwarding and proxy ARP settings the dead agent turned on
 * are not restored (their earlier values died with it).
 */
int vm_clean_stale(const char *rundir, const char *parent, char *report, size_t len);

#endif
