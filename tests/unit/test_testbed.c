/*
 * test_testbed.c — unit tests of controller/testbed.c: loading with every
 * refusal as an exact located one-line error, defaults, host lookup, and the
 * write/read round trip (pretty JSON that loads back identically).
 */
#include "ferr.h"
#include "testbed.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTL "  \"controller\": { \"address\": \"198.18.7.254\", \"port\": 7707 },\n"

static const char good[] =
    "{\n"
    "  \"name\": \"lab\",\n"
    "  \"emulated\": true,\n"
    CTL
    "  \"kv\": { \"endpoints\": [\"http://198.18.7.254:2379\"] },\n"
    "  \"hosts\": [\n"
    "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\",\n"
    "      \"netns\": \"cntb-lab-h1\" },\n"
    "    { \"name\": \"v1\", \"kind\": \"vm\", \"address\": \"198.18.7.101\", \"parent\": \"h2\" },\n"
    "    { \"name\": \"h2\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.2\",\n"
    "      \"ssh\": { \"user\": \"cntb\", \"port\": 2222 } }\n"
    "  ]\n"
    "}\n";

/* What testbed_write_file makes of `good`. */
static const char good_written[] =
    "{\n"
    "  \"name\": \"lab\",\n"
    "  \"emulated\": true,\n"
    "  \"controller\": {\n"
    "    \"address\": \"198.18.7.254\",\n"
    "    \"port\": 7707\n"
    "  },\n"
    "  \"kv\": {\n"
    "    \"kind\": \"etcd\",\n"
    "    \"endpoints\": [\n"
    "      \"http://198.18.7.254:2379\"\n"
    "    ]\n"
    "  },\n"
    "  \"hosts\": [\n"
    "    {\n"
    "      \"name\": \"h1\",\n"
    "      \"kind\": \"bare-metal\",\n"
    "      \"address\": \"198.18.7.1\",\n"
    "      \"netns\": \"cntb-lab-h1\",\n"
    "      \"ssh\": {\n"
    "        \"user\": \"root\",\n"
    "        \"port\": 22\n"
    "      }\n"
    "    },\n"
    "    {\n"
    "      \"name\": \"v1\",\n"
    "      \"kind\": \"vm\",\n"
    "      \"address\": \"198.18.7.101\",\n"
    "      \"parent\": \"h2\",\n"
    "      \"vcpus\": 1,\n"
    "      \"memory_mb\": 384,\n"
    "      \"boot_timeout_s\": 120,\n"
    "      \"ssh\": {\n"
    "        \"user\": \"root\",\n"
    "        \"port\": 22\n"
    "      }\n"
    "    },\n"
    "    {\n"
    "      \"name\": \"h2\",\n"
    "      \"kind\": \"bare-metal\",\n"
    "      \"address\": \"198.18.7.2\",\n"
    "      \"ssh\": {\n"
    "        \"user\": \"cntb\",\n"
    "        \"port\": 2222\n"
    "      }\n"
    "    }\n"
    "  ]\n"
    "}\n";

static void
expect_refusal(const char *text, const char *want)
{
    char err[FERR_MAX] = "";
    testbed_t *tb = testbed_load_text("t.json", text, strlen(text), err);
    ck_assert_ptr_null(tb);
    ck_assert_str_eq(err, want);
}

static testbed_t *
load_ok(const char *text)
{
    char err[FERR_MAX] = "";
    testbed_t *tb = testbed_load_text("t.json", text, strlen(text), err);
    ck_assert_msg(tb != NULL, "refused: %s", err);
    return tb;
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *buf = calloc(1, 65536);
    ck_assert_ptr_nonnull(buf);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- loading ----------------------------------------------------------- */

START_TEST(test_load_good)
{
    testbed_t *tb = load_ok(good);
    ck_assert_str_eq(tb->name, "lab");
    ck_assert(tb->emulated);
    ck_assert_str_eq(tb->ctl_address, "198.18.7.254");
    ck_assert_int_eq(tb->ctl_port, 7707);
    ck_assert_int_eq(tb->kv_count, 1);
    ck_assert_str_eq(tb->kv_endpoints[0], "http://198.18.7.254:2379");
    ck_assert_str_eq(tb->kv_kind, "etcd"); /* the default kind */
    ck_assert_int_eq(tb->host_count, 3);
    ck_assert_str_eq(tb->hosts[0].name, "h1");
    ck_assert_str_eq(tb->hosts[0].kind, "bare-metal");
    ck_assert_str_eq(tb->hosts[0].address, "198.18.7.1");
    ck_assert_str_eq(tb->hosts[0].netns, "cntb-lab-h1");
    ck_assert_str_eq(tb->hosts[0].parent, "");
    ck_assert_str_eq(tb->hosts[0].ssh_user, "root");
    ck_assert_int_eq(tb->hosts[0].ssh_port, 22);
    ck_assert_str_eq(tb->hosts[1].parent, "h2"); /* a vm may precede its parent */
    ck_assert_str_eq(tb->hosts[2].ssh_user, "cntb");
    ck_assert_int_eq(tb->hosts[2].ssh_port, 2222);
    ck_assert_ptr_eq(testbed_host(tb, "h2"), &tb->hosts[2]);
    ck_assert_ptr_null(testbed_host(tb, "h3"));
    testbed_destroy(&tb);
    ck_assert_ptr_null(tb);
    testbed_destroy(&tb); /* accepts NULL */
}
END_TEST

START_TEST(test_defaults)
{
    testbed_t *tb = load_ok("{\"name\": \"a1\", \"controller\": {\"address\": \"10.0.0.1\","
                            " \"port\": 1}, \"hosts\": [{\"name\": \"x\", \"kind\": \"bare-metal\","
                            " \"address\": \"10.0.0.2\"}]}");
    ck_assert(!tb->emulated);
    ck_assert_int_eq(tb->kv_count, 0);
    ck_assert_str_eq(tb->hosts[0].ssh_user, "root");
    ck_assert_int_eq(tb->hosts[0].ssh_port, 22);
    ck_assert_str_eq(tb->hosts[0].netns, "");
    testbed_destroy(&tb);
}
END_TEST

START_TEST(test_duplicate_host)
{
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   CTL
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" },\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.2\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:6:15: $.hosts[1].name: duplicate host \"h1\"");
}
END_TEST

START_TEST(test_duplicate_address)
{
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   CTL
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" },\n"
                   "    { \"name\": \"h2\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:6:54: $.hosts[1].address: duplicate address 198.18.7.1 (already host \"h1\")");
}
END_TEST

START_TEST(test_bad_address)
{
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   CTL
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"1.2.3\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:5:54: $.hosts[0].address: not an IPv4 address \"1.2.3\"");
    expect_refusal("{\n"
                   "  \"controller\": { \"address\": \"::1\", \"port\": 7707 }\n"
                   "}\n",
                   "t.json:2:30: $.controller.address: not an IPv4 address \"::1\"");
}
END_TEST

START_TEST(test_bad_names)
{
    expect_refusal("{\n"
                   "  \"name\": \"Lab\",\n"
                   "  \"emulated\": false\n"
                   "}\n",
                   "t.json:2:11: $.name: must match [a-z0-9]{1,6}");
    expect_refusal("{\n"
                   "  \"name\": \"lab1234\"\n"
                   "}\n",
                   "t.json:2:11: $.name: must match [a-z0-9]{1,6}");
    expect_refusal("{\n"
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h 1\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:3:15: $.hosts[0].name: must match [A-Za-z0-9_.-]{1,31}");
}
END_TEST

START_TEST(test_vm_parent)
{
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   CTL
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" },\n"
                   "    { \"name\": \"h2\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.2\" },\n"
                   "    { \"name\": \"v1\", \"kind\": \"vm\", \"address\": \"198.18.7.101\",\n"
                   "      \"parent\": \"h9\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:8:17: $.hosts[2].parent: vm needs an existing parent host");
    /* Without a parent key: located at the host object. */
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   CTL
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" },\n"
                   "    { \"name\": \"h2\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.2\" },\n"
                   "    { \"name\": \"v1\", \"kind\": \"vm\", \"address\": \"198.18.7.101\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:7:5: $.hosts[2].parent: vm needs an existing parent host");
    /* Its own parent, or another vm: a vm runs on a bare-metal host. */
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   CTL
                   "  \"hosts\": [\n"
                   "    { \"name\": \"v1\", \"kind\": \"vm\", \"address\": \"198.18.7.101\",\n"
                   "      \"parent\": \"v1\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:6:17: $.hosts[0].parent: a vm's parent must be a bare-metal host");
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   CTL
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\",\n"
                   "      \"parent\": \"h1\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:6:17: $.hosts[0].parent: only a vm has a parent, vcpus, memory_mb, image or boot_timeout_s");
}
END_TEST

#define VM_DOC(extra)                                                                       \
    "{\n"                                                                                   \
    "  \"name\": \"lab\",\n" CTL "  \"hosts\": [\n"                                        \
    "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" },\n"     \
    "    { \"name\": \"h1v1\", \"kind\": \"vm\", \"address\": \"198.18.7.101\",\n"          \
    "      \"parent\": \"h1\"" extra " }\n"                                                   \
    "  ]\n"                                                                                 \
    "}\n"

/* A vm's shape: vcpus, memory_mb, image, boot_timeout_s, with defaults and ranges. */
START_TEST(test_vm_fields)
{
    char err[FERR_MAX];
    const char *doc = VM_DOC(", \"vcpus\": 2, \"memory_mb\": 512, \"image\": \"/srv/cntb/vm\","
                             " \"boot_timeout_s\": 30");
    testbed_t *tb = testbed_load_text("t.json", doc, strlen(doc), err);
    ck_assert_msg(tb != NULL, "%s", err);
    const testbed_host_t *v = testbed_host(tb, "h1v1");
    ck_assert_int_eq(v->vcpus, 2);
    ck_assert_int_eq(v->memory_mb, 512);
    ck_assert_int_eq(v->boot_timeout_s, 30);
    ck_assert_str_eq(v->image, "/srv/cntb/vm");
    ck_assert_int_eq(testbed_host(tb, "h1")->vcpus, 0);
    testbed_destroy(&tb);
    doc = VM_DOC("");
    tb = testbed_load_text("t.json", doc, strlen(doc), err);
    ck_assert_msg(tb != NULL, "%s", err);
    v = testbed_host(tb, "h1v1");
    ck_assert_int_eq(v->vcpus, 1);
    ck_assert_int_eq(v->memory_mb, 384);
    ck_assert_int_eq(v->boot_timeout_s, 120);
    ck_assert_str_eq(v->image, "");
    testbed_destroy(&tb);
    expect_refusal(VM_DOC(", \"vcpus\": 0"),
                   "t.json:7:32: $.hosts[1].vcpus: must be between 1 and 64 (got 0)");
    expect_refusal(VM_DOC(", \"memory_mb\": 64"),
                   "t.json:7:36: $.hosts[1].memory_mb: must be between 128 and 65536 (got 64)");
    expect_refusal(VM_DOC(", \"boot_timeout_s\": 4000"),
                   "t.json:7:41: $.hosts[1].boot_timeout_s: must be between 5 and 3600 (got 4000)");
    expect_refusal(VM_DOC(", \"image\": \"rel/dir\""),
                   "t.json:7:32: $.hosts[1].image: must be an absolute path without , = quotes or spaces");
    expect_refusal(VM_DOC(", \"image\": \"/a,b\""),
                   "t.json:7:32: $.hosts[1].image: must be an absolute path without , = quotes or spaces");
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n" CTL "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\",\n"
                   "      \"vcpus\": 2 }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:6:16: $.hosts[0].vcpus: only a vm has a parent, vcpus, memory_mb, image or boot_timeout_s");
    /* The tap on the parent is cntbvm-NAME: at most 15 bytes. */
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n" CTL "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" },\n"
                   "    { \"name\": \"vm-too-long\", \"kind\": \"vm\", \"address\": \"198.18.7.101\",\n"
                   "      \"parent\": \"h1\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:6:15: $.hosts[1].name: a vm's name is at most 8 bytes");
}
END_TEST

START_TEST(test_ports)
{
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   "  \"controller\": { \"address\": \"198.18.7.254\", \"port\": 0 },\n"
                   "}\n",
                   "t.json:4:1: $: invalid JSON: string or '}' expected near '}'");
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   "  \"controller\": { \"address\": \"198.18.7.254\", \"port\": 0 }\n"
                   "}\n",
                   "t.json:3:54: $.controller.port: must be between 1 and 65535 (got 0)");
    expect_refusal("{\n"
                   "  \"hosts\": [\n"
                   "    { \"ssh\": { \"port\": 65536 } }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:3:24: $.hosts[0].ssh.port: must be between 1 and 65535 (got 65536)");
    expect_refusal("{\n"
                   "  \"controller\": { \"port\": \"7707\" }\n"
                   "}\n",
                   "t.json:2:27: $.controller.port: must be an integer (got string)");
}
END_TEST

START_TEST(test_keys_and_types)
{
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   "  \"hostz\": []\n"
                   "}\n",
                   "t.json:3:12: $.hostz: unknown key \"hostz\"");
    expect_refusal("{\n"
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"colour\": \"red\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:3:31: $.hosts[0].colour: unknown key \"colour\"");
    expect_refusal("{\n"
                   "  \"hosts\": [\n"
                   "    { \"ssh\": { \"key\": \"id_rsa\" } }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:3:23: $.hosts[0].ssh.key: unknown key \"key\"");
    expect_refusal("{\n"
                   "  \"emulated\": \"yes\"\n"
                   "}\n",
                   "t.json:2:15: $.emulated: must be a boolean (got string)");
    expect_refusal("{\n"
                   "  \"hosts\": {}\n"
                   "}\n",
                   "t.json:2:12: $.hosts: must be an array (got object)");
    expect_refusal("{\n"
                   "  \"hosts\": []\n"
                   "}\n",
                   "t.json:2:12: $.hosts: must have between 1 and 1024 hosts (got 0)");
    expect_refusal("{\n"
                   "  \"controller\": [1]\n"
                   "}\n",
                   "t.json:2:17: $.controller: must be an object (got array)");
    expect_refusal("{\n"
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"container\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:3:29: $.hosts[0].kind: unknown kind \"container\" (one of bare-metal, "
                   "vm)");
    expect_refusal("{\n"
                   "  \"kv\": { \"endpoints\": [\"198.18.7.254:2379\"] }\n"
                   "}\n",
                   "t.json:2:25: $.kv.endpoints[0]: must be an http:// or https:// URL of at "
                   "most 127 bytes");
    expect_refusal("{\n"
                   "  \"kv\": { \"kind\": \"consul\", \"endpoints\": [\"http://a:1\"] }\n"
                   "}\n",
                   "t.json:2:19: $.kv.kind: must be \"etcd\" (the only KV store cntb speaks)");
}
END_TEST

START_TEST(test_missing_keys)
{
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:1:1: $.controller: required key \"controller\" is missing");
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   CTL
                   "  \"hosts\": [\n"
                   "    { \"name\": \"h1\", \"kind\": \"bare-metal\" }\n"
                   "  ]\n"
                   "}\n",
                   "t.json:5:5: $.hosts[0].address: required key \"address\" is missing");
}
END_TEST

START_TEST(test_duplicate_keys)
{
    expect_refusal("{\n"
                   "  \"name\": \"lab\",\n"
                   "  \"name\": \"lab2\"\n"
                   "}\n",
                   "t.json:3:8: $: invalid JSON: duplicate object key near '\"name\"'");
}
END_TEST

/* ---- files ------------------------------------------------------------- */

START_TEST(test_write_read_round_trip)
{
    char dir[] = "/tmp/test_testbed.XXXXXX", path[128], err[FERR_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/lab.testbed.json", dir);

    testbed_t *a = load_ok(good);
    ck_assert_int_eq(testbed_write_file(a, path, err), 0);
    char *text = slurp(path);
    ck_assert_str_eq(text, good_written);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);

    testbed_t *b = testbed_load_file(path, err);
    ck_assert_msg(b != NULL, "%s", err);
    ck_assert_int_eq(b->host_count, a->host_count);
    ck_assert_int_eq(memcmp(b->hosts, a->hosts, sizeof *a->hosts * (size_t)a->host_count), 0);
    testbed_host_t *ha = a->hosts, *hb = b->hosts;
    a->hosts = b->hosts = NULL;
    ck_assert_int_eq(memcmp(a, b, sizeof *a), 0);
    a->hosts = ha;
    b->hosts = hb;

    /* Writing what was read gives the same bytes. */
    ck_assert_int_eq(testbed_write_file(b, path, err), 0);
    char *again = slurp(path);
    ck_assert_str_eq(again, text);
    free(again);
    free(text);
    testbed_destroy(&a);
    testbed_destroy(&b);

    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0); /* no temporary file left behind */
}
END_TEST

START_TEST(test_write_refuses_invalid)
{
    char dir[] = "/tmp/test_testbed.XXXXXX", path[128], err[FERR_MAX], want[FERR_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/bad.json", dir);

    testbed_t *tb = load_ok(good);
    snprintf(tb->name, sizeof tb->name, "BAD");
    ck_assert_int_eq(testbed_write_file(tb, path, err), -1);
    snprintf(want, sizeof want, "%s:2:11: $.name: must match [a-z0-9]{1,6}", path);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(access(path, F_OK), -1);

    snprintf(tb->name, sizeof tb->name, "lab");
    snprintf(path, sizeof path, "%s/no/such/dir.json", dir);
    ck_assert_int_eq(testbed_write_file(tb, path, err), -1);
    snprintf(want, sizeof want, "%s: cannot write: %s", path, strerror(ENOENT));
    ck_assert_str_eq(err, want);
    testbed_destroy(&tb);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_load_file_errors)
{
    char dir[] = "/tmp/test_testbed.XXXXXX", path[128], err[FERR_MAX], want[FERR_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/absent.json", dir);
    ck_assert_ptr_null(testbed_load_file(path, err));
    snprintf(want, sizeof want, "%s: cannot read: %s", path, strerror(ENOENT));
    ck_assert_str_eq(err, want);

    snprintf(path, sizeof path, "%s/t.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\n  \"name\": \"lab\",\n  \"emulated\": 1\n}\n", f);
    fclose(f);
    ck_assert_ptr_null(testbed_load_file(path, err));
    snprintf(want, sizeof want, "%s:3:15: $.emulated: must be a boolean (got number)", path);
    ck_assert_str_eq(err, want);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST


#define ONE_HOST "  \"hosts\": [ { \"name\": \"h1\", \"kind\": \"bare-metal\", \"address\": \"198.18.7.1\" } ]\n"

START_TEST(test_key_and_ssh_paths)
{
    static const char text[] = "{\n"
                               "  \"name\": \"lab\",\n"
                               CTL
                               "  \"keys\": \"lab.keys\",\n"
                               "  \"ssh\": { \"key\": \"/etc/cntb/id_ed25519\", \"known_hosts\": \"s/kh\" },\n"
                               ONE_HOST
                               "}\n";
    char err[FERR_MAX] = "";
    testbed_t *tb = testbed_load_text("/srv/tb/lab.testbed.json", text, strlen(text), err);
    ck_assert_msg(tb != NULL, "refused: %s", err);
    ck_assert_str_eq(tb->keys, "lab.keys");
    ck_assert_str_eq(tb->keys_path, "/srv/tb/lab.keys");
    ck_assert_str_eq(tb->ssh_key_path, "/etc/cntb/id_ed25519");      /* absolute stays */
    ck_assert_str_eq(tb->ssh_known_hosts_path, "/srv/tb/s/kh");
    testbed_destroy(&tb);
    /* A file in the working directory: paths stay relative to it. */
    tb = load_ok(text);
    ck_assert_str_eq(tb->keys_path, "lab.keys");
    testbed_destroy(&tb);
    /* Absent: empty, and the control plane runs without CURVE. */
    tb = load_ok("{ \"name\": \"lab\",\n" CTL ONE_HOST "}\n");
    ck_assert_str_eq(tb->keys, "");
    ck_assert_str_eq(tb->keys_path, "");
    ck_assert_str_eq(tb->ssh_key_path, "");
    testbed_destroy(&tb);
}
END_TEST

START_TEST(test_key_path_refusals)
{
    expect_refusal("{\n  \"name\": \"lab\",\n" CTL "  \"keys\": \"../etc\",\n" ONE_HOST "}\n",
                   "t.json:4:11: $.keys: must be a path of [A-Za-z0-9_./-]{1,255} without \"..\"");
    expect_refusal("{\n  \"name\": \"lab\",\n" CTL "  \"keys\": \"a b;rm\",\n" ONE_HOST "}\n",
                   "t.json:4:11: $.keys: must be a path of [A-Za-z0-9_./-]{1,255} without \"..\"");
    expect_refusal("{\n  \"name\": \"lab\",\n" CTL "  \"keys\": \"\",\n" ONE_HOST "}\n",
                   "t.json:4:11: $.keys: must be a path of [A-Za-z0-9_./-]{1,255} without \"..\"");
    expect_refusal("{\n  \"name\": \"lab\",\n" CTL "  \"ssh\": { \"user\": \"root\" },\n" ONE_HOST "}\n",
                   "t.json:4:20: $.ssh.user: unknown key \"user\"");
    expect_refusal("{\n  \"name\": \"lab\",\n" CTL "  \"ssh\": { \"key\": 5 },\n" ONE_HOST "}\n",
                   "t.json:4:19: $.ssh.key: must be a string (got number)");
}
END_TEST

START_TEST(test_key_paths_round_trip)
{
    char dir[] = "/tmp/test_testbed.XXXXXX", path[256], err[FERR_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/lab.testbed.json", dir);
    testbed_t *tb = load_ok("{ \"name\": \"lab\",\n" CTL "  \"keys\": \"k\",\n"
                            "  \"ssh\": { \"known_hosts\": \"k/ssh/known_hosts\" },\n" ONE_HOST "}\n");
    ck_assert_int_eq(testbed_write_file(tb, path, err), 0);
    testbed_destroy(&tb);
    tb = testbed_load_file(path, err);
    ck_assert_msg(tb != NULL, "%s", err);
    char want[300];
    snprintf(want, sizeof want, "%s/k", dir);
    ck_assert_str_eq(tb->keys_path, want);
    ck_assert_str_eq(tb->ssh_known_hosts, "k/ssh/known_hosts");
    ck_assert_str_eq(tb->ssh_key, "");
    testbed_destroy(&tb);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *
testbed_suite(void)
{
    Suite *s = suite_create("testbed");
    TCase *tc = tcase_create("load");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_load_good);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_duplicate_host);
    tcase_add_test(tc, test_duplicate_address);
    tcase_add_test(tc, test_bad_address);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_vm_parent);
    tcase_add_test(tc, test_vm_fields);
    tcase_add_test(tc, test_ports);
    tcase_add_test(tc, test_keys_and_types);
    tcase_add_test(tc, test_missing_keys);
    tcase_add_test(tc, test_duplicate_keys);
    tcase_add_test(tc, test_key_and_ssh_paths);
    tcase_add_test(tc, test_key_path_refusals);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_write_read_round_trip);
    tcase_add_test(tc, test_write_refuses_invalid);
    tcase_add_test(tc, test_load_file_errors);
    tcase_add_test(tc, test_key_paths_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(testbed_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
