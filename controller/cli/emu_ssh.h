/*
 * emu_ssh.h — an sshd per emulated host, so that `cntb deploy` reaches
 * emulated hosts over SSH exactly as it reaches real ones.
 */
#ifndef CNTB_EMU_SSH_H
#define CNTB_EMU_SSH_H

#include "testbed.h"

#include <stddef.h>

/*
 * For emulated testbed `tb` (hosts with netns set; its ssh_key_path and
 * ssh_known_hosts_path set): makes the client key pair when missing
 * (ssh-keygen, ed25519), authorized_keys, a host key and an sshd_config per
 * host in /run/cntb/NAME/, starts /usr/sbin/sshd in every host's namespace
 * listening on the host's address port 22 (an sshd already running is
 * kept), writes known_hosts with every host key, and waits (up to 5 s) until
 * each accepts TCP connections.  Idempotent.  Returns 0, or an exit code
 * (EXIT_ENV) with a message printed.
 */
int emu_ssh_start(const testbed_t *tb);

/* Stops the sshds of testbed `name` (SIGTERM) and removes their pid files. */
void emu_ssh_stop(const char *name);

/*
 * Runs argv (argv[0] an absolute path) with fork+execv, stdout and stderr
 * to /dev/null, and waits.  Returns its exit status, or -1 when it could not
 * run or was killed by a signal.
 */
int emu_run(char *const argv[]);

#endif
