/*
 * test_plot.c — Check suite for controller/plot.c: each kind of figure is
 * written as SVG (checked to be well-formed XML by a small parser here:
 * balanced, properly nested tags, quoted attributes) and as PNG (signature
 * and an IHDR chunk with a non-zero size, RFC 2083 / PNG spec 11.2.2);
 * parameter values holding quotes and gnuplot syntax stay text; bad
 * arguments are refused.  Each test has its own mkdtemp directory and DB.
 */
#include "plot.h"

#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tdir[PATH_MAX];
static char tdb[PATH_MAX + 16];
static store_t *tstore;

static void
setup(void)
{
    char err[256];

    snprintf(tdir, sizeof tdir, "/tmp/cntb-test-plot-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
    snprintf(tdb, sizeof tdb, "%s/cntb.db", tdir);
    tstore = store_open(tdb, false, err, sizeof err);
    ck_assert_msg(tstore != NULL, "%s", err);
}

static void
teardown(void)
{
    static const char *const files[] = { "cntb.db", "cntb.db-wal", "cntb.db-shm", "b.svg",
                                         "b.png", "l.svg", "l.png", "c.svg", "c.png",
                                         "pwned", "x.pdf" };
    char p[PATH_MAX + 32];

    store_close(&tstore);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tdir, files[i]);
        unlink(p);
    }
    rmdir(tdir);
}

static bool
have_gnuplot(void)
{
    return access("/usr/bin/gnuplot", X_OK) == 0 || access("/usr/local/bin/gnuplot", X_OK) == 0;
}

/* Networks x sizes x 3 repetitions with throughput and RTT percentiles. */
static void
fill(const char *net3)
{
    const char *nets[] = { "host", "bridge", net3 };
    const int sizes[] = { 64, 512, 1448 };
    const char *params[27];
    char buf[27][160];
    int point[27], rep[27], n = 0;
    int64_t ids[27], b;

    for (int r = 0; r < 3; r++)
        for (int ni = 0; ni < 3; ni++)
            for (int si = 0; si < 3; si++) {
                json_t *p = json_pack("{s:s, s:i}", "network", nets[ni], "size", sizes[si]);
                char *t = json_dumps(p, JSON_COMPACT);

                snprintf(buf[n], sizeof buf[n], "%s", t);
                free(t);
                json_decref(p);
                params[n] = buf[n];
                point[n] = ni * 3 + si;
                rep[n] = r;
                n++;
            }
    b = store_batch_insert(tstore, "plot", "{}", "lab", n, params, point, rep, ids);
    ck_assert_int_gt(b, 0);
    for (int i = 0; i < n; i++) {
        double base = (1 + point[i] % 3) * 1e9 * (1.0 - 0.2 * (point[i] / 3)) + rep[i] * 1e7;
        json_t *r = json_pack("{s:{s:f, s:f, s:f, s:f, s:f}}", "metrics", "throughput_bps", base,
                              "rtt_us_p50", 20.0 + point[i], "rtt_us_p90", 30.0 + point[i],
                              "rtt_us_p99", 50.0 + point[i], "rtt_us_p999", 90.0 + point[i]);

        ck_assert_int_eq(store_result_insert(tstore, ids[i], 0, "h1", r), 1);
        json_decref(r);
        ck_assert_int_eq(store_run_set_state(tstore, ids[i], "done", NULL), 0);
    }
}

/* A small XML well-formedness check: 1 when tags nest and close, attributes are quoted. */
static int
xml_ok(const char *s, char *why, size_t len)
{
    char stack[64][64];
    int depth = 0, roots = 0;

    while (*s) {
        if (*s != '<') {
            s++;
            continue;
        }
        if (strncmp(s, "<?", 2) == 0) {
            if (!(s = strstr(s, "?>")))
                return snprintf(why, len, "unterminated <?"), 0;
            s += 2;
        } else if (strncmp(s, "<!--", 4) == 0) {
            if (!(s = strstr(s, "-->")))
                return snprintf(why, len, "unterminated comment"), 0;
            s += 3;
        } else if (strncmp(s, "<![CDATA[", 9) == 0) {
            if (!(s = strstr(s, "]]>")))
                return snprintf(why, len, "unterminated CDATA"), 0;
            s += 3;
        } else if (strncmp(s, "<!", 2) == 0) {
            const char *e = s + 2;
            int nest = 0;

            for (; *e && !(*e == '>' && nest == 0); e++)
                nest += *e == '[' ? 1 : *e == ']' ? -1 : 0;
            if (!*e)
                return snprintf(why, len, "unterminated <!"), 0;
            s = e + 1;
        } else if (s[1] == '/') {
            size_t n = strcspn(s + 2, "> \t\n");

            if (depth == 0 || strlen(stack[depth - 1]) != n ||
                strncmp(stack[depth - 1], s + 2, n) != 0)
                return snprintf(why, len, "mismatched </%.*s>", (int)n, s + 2), 0;
            depth--;
            s = strchr(s, '>');
            if (!s)
                return 0;
            s++;
        } else {
            size_t n = strcspn(s + 1, "/> \t\r\n");
            const char *p = s + 1 + n;

            if (n == 0 || n >= 64)
                return snprintf(why, len, "bad tag name"), 0;
            /* Attributes: name="..." or name='...'. */
            for (;;) {
                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                    p++;
                if (*p == '>' || (p[0] == '/' && p[1] == '>'))
                    break;
                /* Attribute ::= Name Eq AttValue, Eq ::= S? '=' S? (XML 1.0, 2.3, 3.1). */
                p += strcspn(p, "= \t\n>");
                p += strspn(p, " \t\r\n");
                if (*p != '=')
                    return snprintf(why, len, "attribute without value in <%.*s", (int)n,
                                    s + 1), 0;
                p++;
                p += strspn(p, " \t\r\n");
                if (*p != '"' && *p != '\'')
                    return snprintf(why, len, "unquoted attribute in <%.*s", (int)n, s + 1), 0;
                {
                    const char *e = strchr(p + 1, *p);

                    if (!e || memchr(p + 1, '<', (size_t)(e - p - 1)))
                        return snprintf(why, len, "bad attribute value"), 0;
                    p = e + 1;
                }
            }
            if (depth == 0 && ++roots > 1)
                return snprintf(why, len, "two root elements"), 0;
            if (*p == '>') {
                if (depth == 64)
                    return 0;
                snprintf(stack[depth++], 64, "%.*s", (int)n, s + 1);
                s = p + 1;
            } else {
                s = p + 2;
            }
        }
    }
    if (depth != 0)
        return snprintf(why, len, "<%s> not closed", stack[depth - 1]), 0;
    return roots == 1 ? 1 : (snprintf(why, len, "no root element"), 0);
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    ck_assert_msg(f != NULL, "%s missing", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void
check_svg(const char *path, const char *must)
{
    size_t len;
    char *s = slurp(path, &len), why[128] = "";

    ck_assert_msg(xml_ok(s, why, sizeof why), "%s: not well-formed: %s", path, why);
    ck_assert_msg(strstr(s, "<svg"), "%s: no <svg>", path);
    if (must)
        ck_assert_msg(strstr(s, must), "%s: no '%s'", path, must);
    free(s);
}

static void
check_png(const char *path)
{
    static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    size_t len;
    unsigned char *s = (unsigned char *)slurp(path, &len);
    unsigned w, h;

    ck_assert_msg(len > 33 && memcmp(s, sig, 8) == 0, "%s: no PNG signature", path);
    /* The first chunk: length 13, type IHDR, width and height big-endian. */
    ck_assert(s[8] == 0 && s[9] == 0 && s[10] == 0 && s[11] == 13);
    ck_assert(memcmp(s + 12, "IHDR", 4) == 0);
    w = (unsigned)s[16] << 24 | (unsigned)s[17] << 16 | (unsigned)s[18] << 8 | s[19];
    h = (unsigned)s[20] << 24 | (unsigned)s[21] << 16 | (unsigned)s[22] << 8 | s[23];
    ck_assert_uint_eq(w, 900);
    ck_assert_uint_eq(h, 540);
    free(s);
}

START_TEST(test_xml_checker)
{
    char why[128];

    ck_assert(xml_ok("<?xml version=\"1.0\"?><a x='1'><b/><c>t</c></a>", why, sizeof why));
    ck_assert(!xml_ok("<a><b></a></b>", why, sizeof why));
    ck_assert(!xml_ok("<a x=1></a>", why, sizeof why));
    ck_assert(!xml_ok("<a>", why, sizeof why));
}
END_TEST

START_TEST(test_plot_kinds)
{
    results_select_t sel = { .batch = 0 };
    char err[512] = "", out[PATH_MAX + 16];
    static const struct {
        plot_kind_t kind;
        const char *file, *must;
    } cases[] = {
        { PLOT_BARS, "b.svg", "Gbit/s" }, { PLOT_BARS, "b.png", NULL },
        { PLOT_LINES, "l.svg", "size (bytes)" }, { PLOT_LINES, "l.png", NULL },
        { PLOT_CDF, "c.svg", "round-trip time (us)" }, { PLOT_CDF, "c.png", NULL },
    };

    if (!have_gnuplot()) {
        fprintf(stderr, "test_plot_kinds: gnuplot not installed, not run\n");
        return;
    }
    fill("macvlan");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(out, sizeof out, "%s/%s", tdir, cases[i].file);
        ck_assert_msg(plot_make(tstore, &sel, cases[i].kind, "network", "network=host",
                                "throughput_bps", RESULTS_SORT_KEY, out, NULL, 0, err,
                                sizeof err) == 0,
                      "%s: %s", cases[i].file, err);
        if (strstr(out, ".svg"))
            check_svg(out, cases[i].must);
        else
            check_png(out);
    }
}
END_TEST

START_TEST(test_plot_hostile_labels)
{
    /* A value closing the quote and calling system(): it must stay a label. */
    results_select_t sel = { .batch = 0 };
    char err[512] = "", out[PATH_MAX + 16], pwned[PATH_MAX + 16], net[256];
    struct stat sb;

    if (!have_gnuplot())
        return;
    snprintf(pwned, sizeof pwned, "%s/pwned", tdir);
    snprintf(net, sizeof net, "x'\nsystem('touch %s')\n'&<b>\"", pwned);
    fill(net);
    snprintf(out, sizeof out, "%s/b.svg", tdir);
    ck_assert_msg(plot_make(tstore, &sel, PLOT_BARS, "network", NULL, "throughput_bps",
                            RESULTS_SORT_KEY, out, NULL, 0, err, sizeof err) == 0, "%s", err);
    check_svg(out, "system(");
    ck_assert_int_ne(stat(pwned, &sb), 0);
    snprintf(out, sizeof out, "%s/l.svg", tdir);
    ck_assert_msg(plot_make(tstore, &sel, PLOT_LINES, "network", NULL, "throughput_bps",
                            RESULTS_SORT_KEY, out, NULL, 0, err, sizeof err) == 0, "%s", err);
    check_svg(out, NULL);
    ck_assert_int_ne(stat(pwned, &sb), 0);
}
END_TEST

START_TEST(test_plot_bad_arguments)
{
    results_select_t sel = { .batch = 0 };
    char err[512] = "", out[PATH_MAX + 16];
    plot_kind_t k;

    fill("macvlan");
    snprintf(out, sizeof out, "%s/x.pdf", tdir);
    ck_assert_int_eq(plot_make(tstore, &sel, PLOT_BARS, "network", NULL, "throughput_bps",
                               RESULTS_SORT_KEY, out, NULL, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "must end in .svg or .png"), "%s", err);
    snprintf(out, sizeof out, "%s/b.svg", tdir);
    ck_assert_int_eq(plot_make(tstore, &sel, PLOT_BARS, "network", NULL, "no_such_metric",
                               RESULTS_SORT_KEY, out, NULL, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown metric"), "%s", err);
    ck_assert_int_eq(plot_make(tstore, &sel, PLOT_BARS, "nesting", NULL, "throughput_bps",
                               RESULTS_SORT_KEY, out, NULL, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown key"), "%s", err);
    snprintf(out, sizeof out, "%s/no/such/dir/b.svg", tdir);
    ck_assert_int_eq(plot_make(tstore, &sel, PLOT_BARS, "network", NULL, "throughput_bps",
                               RESULTS_SORT_KEY, out, NULL, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/no/such/dir: No such file or directory"), "%s", err);
    ck_assert_int_eq(plot_kind_parse("pie", &k), -1);
    ck_assert_int_eq(plot_kind_parse("cdf", &k), 0);
    ck_assert_int_eq(k, PLOT_CDF);
}
END_TEST

/* A batch of stream runs has no RTT percentile: cdf says so and what it needs (exit 1). */
START_TEST(test_plot_cdf_without_rtt)
{
    results_select_t sel = { .batch = 0 };
    char err[512] = "", out[PATH_MAX + 16];
    const char *params[2] = { "{\"network\":\"host\",\"traffic\":\"tcp_stream\"}",
                              "{\"network\":\"bridge\",\"traffic\":\"tcp_stream\"}" };
    int point[2] = { 0, 1 }, rep[2] = { 0, 0 };
    int64_t ids[2], b;
    struct stat sb;

    b = store_batch_insert(tstore, "streams", "{}", "lab", 2, params, point, rep, ids);
    ck_assert_int_gt(b, 0);
    for (int i = 0; i < 2; i++) {
        json_t *r = json_pack("{s:{s:f}}", "metrics", "throughput_bps", 1e9 * (i + 1));

        ck_assert_int_eq(store_result_insert(tstore, ids[i], 0, "h1", r), 1);
        json_decref(r);
        ck_assert_int_eq(store_run_set_state(tstore, ids[i], "done", NULL), 0);
    }
    snprintf(out, sizeof out, "%s/c.svg", tdir);
    sel.batch = b;
    ck_assert_int_eq(plot_make(tstore, &sel, PLOT_CDF, "network", NULL, "throughput_bps",
                               RESULTS_SORT_KEY, out, NULL, 0, err, sizeof err), 1);
    ck_assert_str_eq(err, "nothing to plot: no done run in batch 1 has an RTT percentile metric "
                          "(rtt_us_p50, rtt_us_p90, rtt_us_p99, rtt_us_p999); --kind cdf needs "
                          "request/response runs (traffic tcp_rr, udp_rr or tcp_crr)");
    ck_assert_int_ne(stat(out, &sb), 0);
    /* bars of a metric no run has: the same exit, its own sentence. */
    ck_assert_int_eq(plot_make(tstore, &sel, PLOT_BARS, "network", NULL, "rtt_us_p99",
                               RESULTS_SORT_KEY, out, NULL, 0, err, sizeof err), 1);
    ck_assert_str_eq(err, "nothing to plot: no done runs with metric rtt_us_p99 in batch 1");
}
END_TEST

START_TEST(test_plot_quote)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    plot_quote(f, "it's\n\"x\"\\");
    fclose(f);
    ck_assert_str_eq(buf, "'it''s \"x\"\\'");
    free(buf);
}
END_TEST

static Suite *
plot_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("plot");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_xml_checker);
    tcase_add_test(tc, test_plot_quote);
    tcase_add_test(tc, test_plot_kinds);
    tcase_add_test(tc, test_plot_hostile_labels);
    tcase_add_test(tc, test_plot_bad_arguments);
    tcase_add_test(tc, test_plot_cdf_without_rtt);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(plot_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
