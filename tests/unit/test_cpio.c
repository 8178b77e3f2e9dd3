/*
 * test_cpio.c — unit tests of node-agent/cpio.c: an archive written to a
 * file in the test's own directory is parsed back field by field (magic,
 * inode, mode, owners, nlink, mtime, size, device numbers, name size, check),
 * names with their NUL, zero padding of header+name and of data to 4 bytes,
 * the data itself and the trailer; names of every length modulo 4 are
 * covered; invalid entries are refused before a byte is written.
 */
#include "cpio.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], path[128];

static void
setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_cpio.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.cpio", dir);
}

static void
teardown(void)
{
    unlink(path);
    rmdir(dir);
}

/* Reads the whole file; *n = its size; caller frees. */
static unsigned char *
slurp(size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t) sz + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t) sz, f), (size_t) sz);
    fclose(f);
    *n = (size_t) sz;
    return b;
}

/* Field i (0 = ino .. 12 = check) of the header at h. */
static unsigned long
field(const unsigned char *h, int i)
{
    char s[9];
    memcpy(s, h + 6 + 8 * i, 8);
    s[8] = '\0';
    for (int k = 0; k < 8; k++)
        ck_assert_msg(strchr("0123456789ABCDEF", s[k]) != NULL, "field %d: %s not hex", i, s);
    return strtoul(s, NULL, 16);
}

typedef struct {
    unsigned long ino, mode, nlink, size, namesize;
    const char *name;
    const unsigned char *data;
} parsed_t;

/* Parses the entry at *off and checks what every entry must hold; advances *off. */
static parsed_t
parse(const unsigned char *b, size_t n, size_t *off)
{
    parsed_t p;
    ck_assert_uint_le(*off + CPIO_HEADER_LEN, n);
    ck_assert_uint_eq(*off % 4, 0);
    const unsigned char *h = b + *off;
    ck_assert_int_eq(memcmp(h, "070701", 6), 0);
    p.ino = field(h, 0);
    p.mode = field(h, 1);
    ck_assert_uint_eq(field(h, 2), 0); /* uid */
    ck_assert_uint_eq(field(h, 3), 0); /* gid */
    p.nlink = field(h, 4);
    ck_assert_uint_eq(field(h, 5), 0); /* mtime */
    p.size = field(h, 6);
    for (int i = 7; i <= 10; i++)
        ck_assert_uint_eq(field(h, i), 0); /* dev and rdev numbers */
    p.namesize = field(h, 11);
    ck_assert_uint_eq(field(h, 12), 0); /* check */
    p.name = (const char *) h + CPIO_HEADER_LEN;
    ck_assert_uint_le(*off + CPIO_HEADER_LEN + p.namesize, n);
    ck_assert_uint_eq(strnlen(p.name, p.namesize), p.namesize - 1); /* NUL right at the end */
    size_t at = *off + CPIO_HEADER_LEN + p.namesize;
    while (at % 4) {
        ck_assert_uint_lt(at, n);
        ck_assert_uint_eq(b[at], 0);
        at++;
    }
    ck_assert_uint_eq(at - *off, (CPIO_HEADER_LEN + p.namesize + 3) / 4 * 4);
    p.data = b + at;
    ck_assert_uint_le(at + p.size, n);
    at += p.size;
    while (at % 4) {
        ck_assert_uint_lt(at, n);
        ck_assert_uint_eq(b[at], 0);
        at++;
    }
    *off = at;
    return p;
}

START_TEST(test_roundtrip)
{
    static const char cert[] =
        "#   ZeroMQ CURVE Public Certificate\ncurve\n    public-key = \"abc\"\n";
    static const char secret[] = "curve\n    secret-key = \"0123456789\"\n"; /* 36 bytes */
    static const unsigned char one[] = { 0x42 };
    cpio_entry_t e[] = {
        { "etc", S_IFDIR | 0755, NULL, 0 },
        { "etc/cntb", S_IFDIR | 0755, NULL, 0 },
        { "etc/cntb/agent.cert", S_IFREG | 0600, cert, sizeof cert - 1 },
        { "etc/cntb/agent.cert_secret", S_IFREG | 0600, secret, sizeof secret - 1 },
        { "a", S_IFREG | 0644, one, 1 },   /* namesize 2: header+name 112 */
        { "ab", S_IFREG | 0644, NULL, 0 },  /* namesize 3: 113, padded to 116 */
        { "abc", S_IFREG | 0644, one, 1 }, /* namesize 4: 114, padded to 116 */
        { "abcd", S_IFREG | 04755, one, 1 }, /* namesize 5: 115, padded to 116 */
    };
    int ne = (int) (sizeof e / sizeof e[0]);
    char err[256] = "";
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    long w = cpio_newc_write(f, e, ne, err, sizeof err);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_msg(w > 0, "%s", err);
    size_t n, off = 0;
    unsigned char *b = slurp(&n);
    ck_assert_uint_eq((size_t) w, n);
    ck_assert_uint_eq(n % 4, 0);
    for (int i = 0; i < ne; i++) {
        parsed_t p = parse(b, n, &off);
        ck_assert_str_eq(p.name, e[i].name);
        ck_assert_uint_eq(p.namesize, strlen(e[i].name) + 1);
        ck_assert_uint_eq(p.ino, (unsigned long) i + 1);
        ck_assert_uint_eq(p.mode, e[i].mode);
        ck_assert_uint_eq(p.nlink, S_ISDIR(e[i].mode) ? 2 : 1);
        ck_assert_uint_eq(p.size, e[i].size);
        if (e[i].size)
            ck_assert_int_eq(memcmp(p.data, e[i].data, e[i].size), 0);
    }
    /* Concrete values of the certificate's entry: 0100600 = regular file, rw for root only. */
    ck_assert_uint_eq(S_IFREG | 0600, 0100600);
    parsed_t t = parse(b, n, &off);
    ck_assert_str_eq(t.name, "TRAILER!!!");
    ck_assert_uint_eq(t.namesize, 11);
    ck_assert_uint_eq(t.size, 0);
    ck_assert_uint_eq(t.ino, 0);
    ck_assert_uint_eq(t.mode, 0);
    ck_assert_uint_eq(t.nlink, 1);
    ck_assert_uint_eq(off, n); /* nothing after the trailer's padding */
    /* The first header by bytes: magic, ino 1, mode 040755. */
    ck_assert_int_eq(memcmp(b, "0707010000000100004" "1ED", 22), 0);
    free(b);
}
END_TEST

START_TEST(test_empty_archive)
{
    char err[256] = "";
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    long w = cpio_newc_write(f, NULL, 0, err, sizeof err);
    fclose(f);
    /* 110 + 11 = 121, padded to 124 */
    ck_assert_int_eq(w, 124);
    size_t n, off = 0;
    unsigned char *b = slurp(&n);
    ck_assert_uint_eq(n, 124);
    parsed_t t = parse(b, n, &off);
    ck_assert_str_eq(t.name, CPIO_TRAILER);
    ck_assert_uint_eq(off, 124);
    free(b);
}
END_TEST

START_TEST(test_refused)
{
    static const char d[] = "x";
    cpio_entry_t bad[][2] = {
        { { "ok", S_IFREG | 0600, d, 1 }, { "/abs", S_IFREG | 0600, d, 1 } },
        { { "ok", S_IFREG | 0600, d, 1 }, { "a/../b", S_IFREG | 0600, d, 1 } },
        { { "ok", S_IFREG | 0600, d, 1 }, { "", S_IFREG | 0600, d, 1 } },
        { { "ok", S_IFREG | 0600, d, 1 }, { NULL, S_IFREG | 0600, d, 1 } },
        { { "ok", S_IFREG | 0600, d, 1 }, { "TRAILER!!!", S_IFREG | 0600, d, 1 } },
        { { "ok", S_IFREG | 0600, d, 1 }, { "lnk", S_IFLNK | 0777, d, 1 } },
        { { "ok", S_IFREG | 0600, d, 1 }, { "dir", S_IFDIR | 0755, d, 1 } },
        { { "ok", S_IFREG | 0600, d, 1 }, { "nodata", S_IFREG | 0600, NULL, 5 } },
        { { "ok", S_IFREG | 0600, d, 1 }, { "mode", S_IFREG | 0200000, d, 1 } },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        long w = cpio_newc_write(f, bad[i], 2, err, sizeof err);
        long pos = ftell(f);
        fclose(f);
        ck_assert_msg(w == -1, "case %zu accepted", i);
        ck_assert_int_eq(pos, 0); /* nothing written, not even the valid first entry */
        ck_assert_msg(strncmp(err, "cpio: ", 6) == 0, "case %zu: %s", i, err);
    }
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    cpio_entry_t e = { longname, S_IFREG | 0600, d, 1 };
    char err[256];
    FILE *f = fopen(path, "wb");
    ck_assert_int_eq(cpio_newc_write(f, &e, 1, err, sizeof err), -1);
    fclose(f);
}
END_TEST

static Suite *
cpio_suite(void)
{
    Suite *s = suite_create("cpio");
    TCase *tc = tcase_create("cpio");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_empty_archive);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(cpio_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
