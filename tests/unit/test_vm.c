/*
 * test_vm.c — unit tests of node-agent/vm.c: refusal of bad configurations
 * (nothing created), and a start/stop with a stand-in for QEMU (a script
 * that prints its arguments and what descriptor 3 is, then sleeps) inside a
 * private network namespace of the test process: the tap exists, is up, has
 * the guest's /32 routed to it and proxy ARP on; the argument vector holds
 * the accelerator, memory, the tap descriptor, the MAC made of the address
 * and the kernel command line; stopping kills the stand-in, collects the
 * console tail, removes the tap and restores forwarding and proxy ARP.
 */
#include "nl.h"
#include "vm.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void
setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_vm.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static void
teardown(void)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static char *
read_file(const char *path)
{
    static char buf[8192];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static vm_config_t
config(void)
{
    static char image[128], rundir[128];
    snprintf(image, sizeof image, "%s/image", dir);
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    vm_config_t c = { .name = "h1v1", .parent = "h1", .address = "198.18.7.101", .prefix = 24,
                      .controller = "tcp://198.18.7.254:7707", .vcpus = 2, .memory_mb = 256,
                      .image_dir = image, .underlay_if = "cntbu0", .rundir = rundir,
                      .accel = "tcg", .qemu = "/bin/true" };
    return c;
}

START_TEST(test_names)
{
    ck_assert_int_eq(vm_name_valid("h1v1"), 1);
    ck_assert_int_eq(vm_name_valid("a.b-c_d8"), 1);
    ck_assert_int_eq(vm_name_valid("123456789"), 0); /* tap cntbvm-NAME would exceed 15 bytes */
    ck_assert_int_eq(vm_name_valid(""), 0);
    ck_assert_int_eq(vm_name_valid("a b"), 0);
    ck_assert_int_eq(vm_name_valid("a,b"), 0);
    ck_assert_int_eq(vm_name_valid(NULL), 0);
}
END_TEST

static void
expect_refused(vm_config_t c, const char *want)
{
    char err[VM_ERR_MAX] = "";
    ck_assert_ptr_null(vm_start(&c, err));
    ck_assert_msg(strstr(err, want) != NULL, "err \"%s\" lacks \"%s\"", err, want);
}

START_TEST(test_bad_config)
{
    vm_config_t c = config();
    c.name = "far-too-long";
    expect_refused(c, "name must be");
    c = config();
    c.address = "198.18.7";
    expect_refused(c, "bad address 198.18.7/24");
    c = config();
    c.prefix = 31;
    expect_refused(c, "/31");
    c = config();
    c.controller = "tcp://host:7707";
    expect_refused(c, "controller tcp://host:7707");
    c = config();
    c.vcpus = 0;
    expect_refused(c, "vcpus 0 (1..64)");
    c = config();
    c.memory_mb = 64;
    expect_refused(c, "memory 64 MiB");
    c = config();
    c.image_dir = "/a,b";
    expect_refused(c, "absolute paths without");
    c = config();
    c.accel = "hax";
    expect_refused(c, "accelerator hax");
    c = config(); /* the image directory does not exist */
    expect_refused(c, "/image/vmlinuz or");
    /* Nothing was made: no run directory, no console. */
    char p[160];
    snprintf(p, sizeof p, "%s/run", dir);
    ck_assert_int_eq(access(p, F_OK), -1);
}
END_TEST

START_TEST(test_start_stop)
{
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 || unshare(CLONE_NEWNET) != 0)
        return; /* needs root: checked by the integration test too */
    char err[VM_ERR_MAX], nlerr[NL_ERR_MAX], p[256], qemu[160];
    ck_assert_int_eq(nl_bridge_add(NULL, "cntbu0", 0, nlerr), 0);
    ck_assert_int_eq(nl_link_up(NULL, "cntbu0", nlerr), 0);
    snprintf(p, sizeof p, "%s/image", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/image/vmlinuz", dir);
    write_file(p, "kernel", 0644);
    snprintf(p, sizeof p, "%s/image/initrd.img", dir);
    write_file(p, "initrd", 0644);
    snprintf(qemu, sizeof qemu, "%s/fake-qemu", dir);
    write_file(qemu, "#!/bin/sh\necho \"args: $*\"\necho \"fd3: $(readlink /proc/self/fd/3)\"\n"
                     "echo 'guest console line' >&2\nexec sleep 30\n",
               0755);
    vm_config_t c = config();
    c.qemu = qemu;
    vm_t *vm = vm_start(&c, err);
    ck_assert_msg(vm != NULL, "%s", err);
    ck_assert_str_eq(vm_accel(vm), "tcg");
    ck_assert_str_eq(vm_tap(vm), "cntbvm-h1v1");
    ck_assert_int_gt(vm_pid(vm), 0);
    ck_assert_int_eq(nl_link_exists(NULL, "cntbvm-h1v1", nlerr), 1);
    ck_assert_str_eq(read_file("/proc/sys/net/ipv4/ip_forward"), "1\n");
    ck_assert_str_eq(read_file("/proc/sys/net/ipv4/conf/cntbu0/proxy_arp"), "1\n");
    ck_assert_str_eq(read_file("/proc/sys/net/ipv4/conf/cntbvm-h1v1/proxy_arp"), "1\n");
    snprintf(p, sizeof p, "%s/run/vm-h1v1.qemu.log", dir);
    for (int i = 0; i < 100 && !strstr(read_file(p), "fd3"); i++)
        usleep(20000);
    const char *log = read_file(p);
    ck_assert_msg(strstr(log, "-machine q35 -accel tcg -cpu max -m 256 -smp 2") != NULL, "%s", log);
    ck_assert_msg(strstr(log, "-netdev tap,id=n0,fd=3 -device virtio-net-pci,netdev=n0,"
                              "mac=52:54:00:12:07:65") != NULL, "%s", log);
    ck_assert_msg(strstr(log, "cntb.addr=198.18.7.101/24 cntb.ctl=tcp://198.18.7.254:7707 "
                              "cntb.host=h1v1 cntb.parent=h1 cntb.accel=tcg cntb.vcpus=2 "
                              "cntb.mem=256") != NULL, "%s", log);
    ck_assert_msg(strstr(log, "fd3: /dev/net/tun") != NULL, "%s", log);
    ck_assert(vm_running(vm, NULL));
    /* The pid file names QEMU's pid, its start time and the parent host. */
    snprintf(p, sizeof p, "%s/run/vm-h1v1.pid", dir);
    pid_t fpid;
    unsigned long long fstart;
    char fparent[32];
    ck_assert_int_eq(vm_pidfile_parse(read_file(p), &fpid, &fstart, fparent, sizeof fparent), 0);
    ck_assert_int_eq(fpid, vm_pid(vm));
    ck_assert_str_eq(fparent, "h1");
    ck_assert_int_gt(fstart, 0);
    char console[VM_CONSOLE_MAX];
    int status = vm_stop(&vm, console, sizeof console);
    ck_assert_int_ne(access(p, F_OK), 0); /* the pid file goes with the VM */
    ck_assert_ptr_null(vm);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    ck_assert_msg(strstr(console, "guest console line") != NULL, "%s", console);
    ck_assert_int_eq(nl_link_exists(NULL, "cntbvm-h1v1", nlerr), 0);
    ck_assert_str_eq(read_file("/proc/sys/net/ipv4/ip_forward"), "0\n");
    ck_assert_str_eq(read_file("/proc/sys/net/ipv4/conf/cntbu0/proxy_arp"), "0\n");
    ck_assert_int_eq(vm_stop(&vm, console, sizeof console), -1); /* NULL accepted */
}
END_TEST

/*
 * With a certificate: QEMU's -initrd is RUNDIR/vm-h1v1.initrd (mode 0600):
 * the image's initrd, zeros to 4 bytes, then a newc archive with the three
 * files; no key on the argument vector; the copy is gone after the stop.  A
 * missing secret refuses the start and leaves no tap and no copy.
 */
START_TEST(test_start_with_cert)
{
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 || unshare(CLONE_NEWNET) != 0)
        return;
    char err[VM_ERR_MAX], nlerr[NL_ERR_MAX], p[256], qemu[160], cert[160], ctl[160], cp[160];
    ck_assert_int_eq(nl_bridge_add(NULL, "cntbu0", 0, nlerr), 0);
    snprintf(p, sizeof p, "%s/image", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/image/vmlinuz", dir);
    write_file(p, "kernel", 0644);
    snprintf(p, sizeof p, "%s/image/initrd.img", dir);
    write_file(p, "initrd", 0644); /* 6 bytes: 2 zeros follow */
    snprintf(cert, sizeof cert, "%s/vm-h1v1.cert", dir);
    write_file(cert, "public-key = \"PUBLICKEY\"\n", 0600);
    snprintf(p, sizeof p, "%s/vm-h1v1.cert_secret", dir);
    write_file(p, "secret-key = \"SECRETKEY\"\n", 0600);
    snprintf(ctl, sizeof ctl, "%s/controller.cert", dir);
    write_file(ctl, "public-key = \"CONTROLLER\"\n", 0644);
    snprintf(qemu, sizeof qemu, "%s/fake-qemu", dir);
    write_file(qemu, "#!/bin/sh\necho \"args: $*\"\nexec sleep 30\n", 0755);
    vm_config_t c = config();
    c.qemu = qemu;
    c.cert = cert;
    c.controller_cert = ctl;
    vm_t *vm = vm_start(&c, err);
    ck_assert_msg(vm != NULL, "%s", err);
    snprintf(cp, sizeof cp, "%s/run/vm-h1v1.initrd", dir);
    struct stat st;
    ck_assert_int_eq(stat(cp, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    FILE *f = fopen(cp, "rb");
    ck_assert_ptr_nonnull(f);
    char b[2048];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    ck_assert_uint_eq(n % 4, 0);
    ck_assert_int_eq(memcmp(b, "initrd\0\0" "070701", 14), 0);
    const char *want[] = { "etc/cntb/agent.cert", "public-key = \"PUBLICKEY\"",
                           "etc/cntb/agent.cert_secret", "secret-key = \"SECRETKEY\"",
                           "etc/cntb/controller.cert", "public-key = \"CONTROLLER\"",
                           "TRAILER!!!" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(memmem(b, n, want[i], strlen(want[i])) != NULL, "%s missing", want[i]);
    snprintf(p, sizeof p, "%s/run/vm-h1v1.qemu.log", dir);
    for (int i = 0; i < 100 && !strstr(read_file(p), "args"); i++)
        usleep(20000);
    const char *log = read_file(p);
    char arg[200];
    snprintf(arg, sizeof arg, "-initrd %s -append", cp);
    ck_assert_msg(strstr(log, arg) != NULL, "%s", log);
    ck_assert_msg(strstr(log, "SECRET") == NULL && strstr(log, "vm-h1v1.cert") == NULL, "%s",
                  log);
    ck_assert_int_ge(vm_stop(&vm, NULL, 0), 0);
    ck_assert_int_eq(access(cp, F_OK), -1);

    snprintf(p, sizeof p, "%s/vm-h1v1.cert_secret", dir);
    unlink(p);
    ck_assert_ptr_null(vm_start(&c, err));
    ck_assert_msg(strstr(err, "vm-h1v1.cert_secret: No such file") != NULL, "%s", err);
    ck_assert_int_eq(access(cp, F_OK), -1);
    ck_assert_int_eq(nl_link_exists(NULL, "cntbvm-h1v1", nlerr), 0);
}
END_TEST

/* A QEMU that exits by itself is noticed, and its messages are the console tail. */
START_TEST(test_exit_noticed)
{
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 || unshare(CLONE_NEWNET) != 0)
        return;
    char err[VM_ERR_MAX], nlerr[NL_ERR_MAX], p[256], qemu[160];
    ck_assert_int_eq(nl_bridge_add(NULL, "cntbu0", 0, nlerr), 0);
    snprintf(p, sizeof p, "%s/image", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/image/vmlinuz", dir);
    write_file(p, "kernel", 0644);
    snprintf(p, sizeof p, "%s/image/initrd.img", dir);
    write_file(p, "initrd", 0644);
    snprintf(qemu, sizeof qemu, "%s/fake-qemu", dir);
    write_file(qemu, "#!/bin/sh\nprintf 'line 1\\n\\033[2Jline 2\\n' >&2\nexit 3\n", 0755);
    vm_config_t c = config();
    c.qemu = qemu;
    vm_t *vm = vm_start(&c, err);
    ck_assert_msg(vm != NULL, "%s", err);
    int status = 0;
    for (int i = 0; i < 200 && vm_running(vm, &status); i++)
        usleep(10000);
    ck_assert(!vm_running(vm, &status));
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    ck_assert_int_eq(vm_pid(vm), -1);
    char tail[256];
    vm_console_tail(vm, 5, tail, sizeof tail);
    ck_assert_str_eq(tail, "line 1 | line 2"); /* escape sequences dropped */
    ck_assert_int_eq(vm_stop(&vm, NULL, 0), status);
}
END_TEST

START_TEST(test_pidfile)
{
    pid_t pid = 0;
    unsigned long long start = 0;
    char parent[32] = "";
    ck_assert_int_eq(vm_pidfile_parse("4242 123456 h1\n", &pid, &start, parent, sizeof parent), 0);
    ck_assert_int_eq(pid, 4242);
    ck_assert(start == 123456ULL);
    ck_assert_str_eq(parent, "h1");
    ck_assert_int_eq(vm_pidfile_parse("1 123456 h1\n", &pid, &start, parent, sizeof parent), -1);
    ck_assert_int_eq(vm_pidfile_parse("4242 0 h1\n", &pid, &start, parent, sizeof parent), -1);
    ck_assert_int_eq(vm_pidfile_parse("4242 12 h/1\n", &pid, &start, parent, sizeof parent), -1);
    ck_assert_int_eq(vm_pidfile_parse("4242 12 h1 extra\n", &pid, &start, parent, sizeof parent), -1);
    ck_assert_int_eq(vm_pidfile_parse("4242\n", &pid, &start, parent, sizeof parent), -1);
    ck_assert_int_eq(vm_pidfile_parse("99999999 12 h1", &pid, &start, parent, sizeof parent), -1);
    ck_assert_int_eq(pid, 4242); /* untouched on failure */

    /* proc(5): starttime is field 22; the command name may hold ") (" and spaces. */
    const char *stat = "1234 (qemu) x (y) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 "
                       "3 0 987654 123 45";
    ck_assert_int_eq(vm_stat_starttime(stat, &start), 0);
    ck_assert(start == 987654ULL);
    ck_assert_int_eq(vm_stat_starttime("1234 (qemu) S 1 2 3", &start), -1);
    ck_assert_int_eq(vm_stat_starttime("no parenthesis", &start), -1);

    const char cmd[] = "/usr/bin/qemu-system-x86_64\0-name\0cntbvm-h1v1\0-machine\0q35";
    ck_assert_int_eq(vm_cmdline_matches(cmd, sizeof cmd, "h1v1"), 1);
    ck_assert_int_eq(vm_cmdline_matches(cmd, sizeof cmd, "h1v"), 0);
    ck_assert_int_eq(vm_cmdline_matches(cmd, sizeof cmd, "h2v1"), 0);
    const char other[] = "/bin/editor\0cntbvm-h1v1\0-name";
    ck_assert_int_eq(vm_cmdline_matches(other, sizeof other, "h1v1"), 0);
    ck_assert_int_eq(vm_cmdline_matches(cmd, 30, "h1v1"), 0); /* cut before the name */
}
END_TEST

/* A stand-in for QEMU whose command line carries "-name cntbvm-NAME". */
static pid_t
fake_qemu(const char *name)
{
    char tap[32];
    snprintf(tap, sizeof tap, "cntbvm-%s", name);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", "while :; do sleep 0.1; done", "fake", "-name", tap,
              (char *) NULL);
        _exit(127);
    }
    ck_assert_int_gt(pid, 0);
    usleep(100000); /* until it has exec'd */
    return pid;
}

static unsigned long long
starttime_of(pid_t pid)
{
    char p[64];
    unsigned long long st = 0;
    snprintf(p, sizeof p, "/proc/%d/stat", (int) pid);
    ck_assert_int_eq(vm_stat_starttime(read_file(p), &st), 0);
    return st;
}

/*
 * vm_clean_stale kills a QEMU of ours whose pid file still matches, leaves a
 * process whose start time differs (a reused pid) and the file of another
 * host alone, and removes the files it judged.
 */
START_TEST(test_clean_stale)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0)
        return; /* its tap check must not see the machine's links */
    char rundir[128], p[256], text[128], report[256] = "";
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    mkdir(rundir, 0755);
    pid_t mine = fake_qemu("h1v1"), reused = fake_qemu("h1v2"), theirs = fake_qemu("h2v1");
    snprintf(p, sizeof p, "%s/vm-h1v1.pid", rundir);
    snprintf(text, sizeof text, "%d %llu h1\n", (int) mine, starttime_of(mine));
    write_file(p, text, 0644);
    snprintf(p, sizeof p, "%s/vm-h1v1.initrd", rundir);
    write_file(p, "copy", 0600);
    snprintf(p, sizeof p, "%s/vm-h1v2.pid", rundir);
    snprintf(text, sizeof text, "%d %llu h1\n", (int) reused, starttime_of(reused) + 1);
    write_file(p, text, 0644);
    snprintf(p, sizeof p, "%s/vm-h2v1.pid", rundir);
    snprintf(text, sizeof text, "%d %llu h2\n", (int) theirs, starttime_of(theirs));
    write_file(p, text, 0644);
    snprintf(p, sizeof p, "%s/vm-h1v3.pid", rundir);
    write_file(p, "garbage\n", 0644);

    ck_assert_int_eq(vm_clean_stale(rundir, "h1", report, sizeof report), 1);
    snprintf(text, sizeof text, "vm h1v1 (QEMU pid %d)", (int) mine);
    ck_assert_str_eq(report, text);
    int st;
    ck_assert_int_eq(waitpid(mine, &st, 0), mine);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_int_eq(waitpid(reused, &st, WNOHANG), 0); /* still running */
    ck_assert_int_eq(waitpid(theirs, &st, WNOHANG), 0);
    snprintf(p, sizeof p, "%s/vm-h1v1.pid", rundir);
    ck_assert_int_ne(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/vm-h1v1.initrd", rundir);
    ck_assert_int_ne(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/vm-h1v2.pid", rundir);
    ck_assert_int_ne(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/vm-h1v3.pid", rundir);
    ck_assert_int_ne(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/vm-h2v1.pid", rundir);
    ck_assert_int_eq(access(p, F_OK), 0); /* h2's */
    kill(reused, SIGKILL);
    kill(theirs, SIGKILL);
    waitpid(reused, &st, 0);
    waitpid(theirs, &st, 0);
    ck_assert_int_eq(vm_clean_stale(rundir, "h1", NULL, 0), 0);
}
END_TEST

static Suite *
vm_suite(void)
{
    Suite *s = suite_create("vm");
    TCase *tc = tcase_create("vm");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_bad_config);
    tcase_add_test(tc, test_start_stop);
    tcase_add_test(tc, test_exit_noticed);
    tcase_add_test(tc, test_start_with_cert);
    tcase_add_test(tc, test_pidfile);
    tcase_add_test(tc, test_clean_stale);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(vm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
