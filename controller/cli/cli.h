/*
 * cli.h — shared pieces of the `cntb` command line: exit codes, the
 * controller's CLI socket, pid files, starting daemons inside namespaces.
 */
#ifndef CNTB_CLI_H
#define CNTB_CLI_H

#include <jansson.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testbed.h"

/* Exit codes (DESIGN.md). */
enum { EXIT_OK = 0, EXIT_RUNS_FAILED = 1, EXIT_USAGE = 2, EXIT_ENV = 3 };

#define CNTB_RUN_ROOT "/run/cntb"
/* Where `cntb deploy` installs agents on a host: DEPLOY_ROOT/TESTBED/HOST/. */
#define DEPLOY_ROOT "/var/lib/cntb"

/* Prints "cntb: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fails with EXIT_ENV and a message when not root; returns 0 when root. */
int cli_need_root(const char *what);

/* The directory of the running cntb binary (static buffer). */
const char *cli_bindir(void);

/* Fills path (len bytes) with CNTB_RUN_ROOT/<testbed>[/<file>]. */
void cli_rundir(char *path, size_t len, const char *testbed, const char *file);

/* Default database path: --db, else $CNTB_DB, else ./cntb.db. */
const char *cli_db_path(const char *opt);

/*
 * Whether a process listens on the unix socket `path` (a ZeroMQ ipc://
 * endpoint is one): false when connect(2) fails with ECONNREFUSED (the file
 * a killed controller left) or ENOENT, true otherwise (also when it cannot
 * tell).  The probe connection is closed at once.
 */
bool cli_socket_live(const char *path);

/*
 * Sends one request to the controller of testbed `name` over its CLI socket
 * and returns the fresh answer, or NULL (message printed unless quiet) when
 * no controller answers within timeout_ms.  Takes ownership of req.
 */
json_t *cli_request(const char *name, json_t *req, int timeout_ms, bool quiet);

/*
 * Finds the testbed to talk to: the name in the testbed file when `file` is
 * given, else the only controller running.  Fills name (8 bytes).  0, or an
 * exit code with a message printed: EXIT_USAGE for a bad testbed file or
 * several controllers running (say which), EXIT_ENV when none runs.
 */
int cli_pick_testbed(const char *file, char *name);

/*
 * How many controllers run on this machine (a live controller.pid under
 * CNTB_RUN_ROOT); name (8 bytes) gets the first one's testbed.  Prints
 * nothing.
 */
int cli_running_controllers(char *name);

/*
 * Starts argv[0] as a daemon (own session, stdin /dev/null, stdout and stderr
 * appended to logfile) inside namespace ns (NULL = ours); records its pid in
 * pidfile (NULL: the program writes its own, as cntb-controller does under
 * its lock).  Returns the pid or -1 (message printed).
 */
pid_t cli_spawn(char *const argv[], const char *ns, const char *logfile, const char *pidfile);

/*
 * Reads a pid file and returns the pid when that process is alive and its
 * command line names `program`, else 0.
 */
pid_t cli_pidfile_alive(const char *pidfile, const char *program);

/*
 * Stops the process of a pid file (SIGTERM, up to timeout_ms, then SIGKILL)
 * and removes the file.  Returns 1 when a process was stopped, 0 when none.
 */
int cli_pidfile_stop(const char *pidfile, const char *program, int timeout_ms);

/* Subcommands: argc/argv start at the subcommand's own name; return an exit code. */
int cmd_testbed(int argc, char **argv);
int cmd_controller(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
int cmd_matrix(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_results(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_keys(int argc, char **argv);

/* Helpers the demo reuses. */
/*
 * `cntb testbed emulate`: builds testbed `name`.  cpus (NULL = no limit) is
 * the set of CPUs the hosts' sshd, and so the agents, traffic engines, BIRD
 * and VMs started through them, may run on (sched_setaffinity(2)); it
 * applies to sshds this call starts, not to running ones.  Exit code.
 */
int testbed_emulate(const char *name, int hosts, int vms, const cpu_set_t *cpus,
                    const char *out_path, char *out_file, size_t len);
/*
 * Parses the value of a --cpus option ("all" = NULL in *out_p, else a CPU
 * list of cpulist.h whose CPUs this process may use) into *set.  0, or
 * EXIT_USAGE after printing the one-line error.
 */
int cli_cpus_option(const char *value, cpu_set_t *set, const cpu_set_t **out_p);
/*
 * The default CPUs of an emulated testbed: one, the highest this process may
 * use (CPU 0 takes most interrupts), stored in *set.  Returns set, or NULL
 * (no confinement) when the affinity cannot be read.
 */
const cpu_set_t *cli_cpus_default(cpu_set_t *set);
int testbed_destroy_all(const char *name);
int controller_start(const char *testbed_file, const char *db);
int controller_stop(const char *name);
/*
 * Deploys (or with stop, stops) the agents of every host over SSH
 * (cmd_deploy.c).  Returns 0 when every host succeeded, EXIT_USAGE on a bad
 * testbed file, EXIT_ENV when a host failed (each failure printed with the
 * host and the step).  timeout_s: HELLO wait per host, seconds (0 = 20).
 */
int deploy_agents(const char *testbed_file, bool stop, bool accept_new, int timeout_s);
/*
 * Queues matrix_file on the controller of testbed_file (NULL = the matrix's
 * testbed, else the only controller running) after run_vm_image_check, and
 * follows the batch (follow_batch).  Fills *batch_out (may be NULL) with the
 * batch id.  Returns 0, 1 when a run failed, or an exit code (2, 3) with its
 * one-line message printed.
 */
int run_matrix(const char *matrix_file, const char *testbed_file, int64_t *batch_out);

/*
 * The check `cntb run` makes before it queues: when some run of the matrix
 * has nesting "vm", every VM of the testbed (testbed_file; NULL = the file
 * that the controller queue_submit would pick runs with, asked with "ping")
 * whose parent is a host of this machine (one with a netns: emulated) must
 * have a readable vmlinuz and initrd.img in the directory its parent's agent
 * uses: the VM's "image", else DEPLOY_ROOT/TESTBED/vm (beside the deployed
 * agent).  Returns 0 (also when the matrix, testbed or controller cannot be
 * read: the caller's next step says why), or EXIT_ENV after one line on
 * stderr naming the VM, the directory and testbed/vm/build-image; or the
 * exit code of cli_pick_testbed with its message.
 */
int run_vm_image_check(const char *matrix_file, const char *testbed_file);

/*
 * Validates the matrix file here (exit 2 with its one-line error), parses
 * at (NULL = now) and every (NULL = once) in the user's time zone, and asks
 * the controller (of testbed_file, or the only one running) to queue it.
 * Fills name (8 bytes: the testbed), *queue_id, *batch (0 when it starts
 * later), *runs and, when not NULL, next_start (32 bytes: the next start as
 * local ISO 8601 with offset, "" when none).  A one-off `at` already past
 * starts now with a warning line on stderr.  Returns 0 or an exit code with
 * a message printed.
 */
int queue_submit(const char *matrix_file, const char *testbed_file, const char *at,
                 const char *every, char *name, int64_t *queue_id, int64_t *batch, int *runs,
                 char *next_start);

/*
 * Follows batch `batch` of testbed `name` (total runs) until it is over or
 * Ctrl-C; matrix_file names the varied parameters.  Returns 0, 1 when a run
 * failed (or following was interrupted), 3 when the controller went away.
 */
int follow_batch(const char *name, int64_t batch, int total, const char *matrix_file);

#endif
