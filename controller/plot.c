/*
 * plot.c — figures for `cntb results plot` through gnuplot.
 *
 * The numbers come from results_groups_collect() (the same groups and
 * statistics as `cntb results compare`).  plot.c writes two files into a
 * fresh mkdtemp directory: data.txt, numbers only (one block per line of the
 * plot, blocks separated by two blank lines, as gnuplot's `index` expects),
 * and plot.gp, the script, in which every string that came from the
 * database (parameter values, metric names, the output path) is a
 * single-quoted gnuplot string built by plot_quote() and the terminal is in
 * noenhanced mode, so that no value can become gnuplot syntax or markup.
 * gnuplot is started with fork + execvp of {"gnuplot", script} (no shell),
 * stdin from /dev/null and its output captured into the directory for the
 * error message; it gets PLOT_TIMEOUT_MS, then SIGKILL.
 */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PLOT_TIMEOUT_MS 60000
#define PLOT_MAX_LINES 64       /* lines (networks) in one figure */

static void plot_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
plot_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int
plot_kind_parse(const char *s, plot_kind_t *kind)
{
    if (!s || !kind)
        return -1;
    if (strcmp(s, "bars") == 0)
        *kind = PLOT_BARS;
    else if (strcmp(s, "lines") == 0)
        *kind = PLOT_LINES;
    else if (strcmp(s, "cdf") == 0)
        *kind = PLOT_CDF;
    else
        return -1;
    return 0;
}

void
plot_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '\'')
            fputs("''", f);
        else if (c < 0x20 || c == 0x7f)
            fputc(' ', f);
        else
            fputc(c, f);
    }
    fputc('\'', f);
}

/* The label of group g: its key values but skip (an index, -1 none), joined by spaces; fresh. */
static char *
plot_label(const results_groups_t *gs, const results_group_t *g, int skip)
{
    size_t len = 1;
    char *s;

    for (int j = 0; j < gs->nkeys; j++)
        len += strlen(g->val[j]) + 1;
    if (!(s = calloc(1, len)))
        return NULL;
    for (int j = 0; j < gs->nkeys; j++) {
        if (j == skip)
            continue;
        if (s[0])
            strcat(s, " ");
        strcat(s, g->val[j]);
    }
    return s;
}

/* Display scale of a unit: bit/s as Gbit/s, Mbit/s, kbit/s by the largest value. */
static double
plot_scale(const char *unit, double maxabs, const char **shown)
{
    *shown = unit;
    if (unit && strcmp(unit, "bit/s") == 0) {
        if (maxabs >= 1e9) {
            *shown = "Gbit/s";
            return 1e9;
        }
        if (maxabs >= 1e6) {
            *shown = "Mbit/s";
            return 1e6;
        }
        if (maxabs >= 1e3) {
            *shown = "kbit/s";
            return 1e3;
        }
    }
    return 1.0;
}

/* Writes the axis label "NAME (UNIT)" as a quoted gnuplot string. */
static void
plot_axis(FILE *f, const char *axis, const char *name, const char *unit)
{
    char buf[256];

    snprintf(buf, sizeof buf, "%s%s%s%s", name, unit ? " (" : "", unit ? unit : "",
             unit ? ")" : "");
    fprintf(f, "set %s ", axis);
    plot_quote(f, buf);
    fputc('\n', f);
}

/* The script's head: terminal from the output's suffix, output, common settings. */
static int
plot_head(FILE *f, const char *output, const char *title)
{
    size_t n = strlen(output);

    if (n > 4 && strcmp(output + n - 4, ".svg") == 0)
        fputs("set terminal svg size 900,540 dynamic noenhanced font 'sans,11'\n", f);
    else if (n > 4 && strcmp(output + n - 4, ".png") == 0)
        fputs("set terminal png size 900,540 noenhanced\n", f);
    else
        return -1;
    fputs("set output ", f);
    plot_quote(f, output);
    fputs("\nset title ", f);
    plot_quote(f, title);
    fputs("\nset grid ytics\nset key outside right top\nset border 3\n"
          "set tics nomirror\n", f);
    return 0;
}

/* Runs gnuplot on script in dir; 0, -1 with err (its first line of output), -2 missing. */
static int
plot_run(const char *dir, const char *script, char *err, size_t errlen)
{
    char logpath[512], line[256] = "";
    char *argv[] = { (char *)"gnuplot", (char *)script, NULL };
    const char *path = getenv("PATH");
    bool found = false;
    int status = 0, waited = 0;
    pid_t pid;

    /* Look gnuplot up first: a missing program is exit 3, not a failed plot. */
    for (const char *p = path ? path : "/usr/bin:/bin"; p && *p && !found;) {
        size_t l = strcspn(p, ":");
        char cand[512];

        snprintf(cand, sizeof cand, "%.*s/gnuplot", (int)l, p);
        found = l > 0 && access(cand, X_OK) == 0;
        p += l + (p[l] == ':');
    }
    if (!found) {
        plot_err(err, errlen, "gnuplot not found in PATH (Debian: apt-get install gnuplot-nox)");
        return -2;
    }
    snprintf(logpath, sizeof logpath, "%s/gnuplot.log", dir);
    pid = fork();
    if (pid < 0) {
        plot_err(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY), log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC,
                                                           0600);

        if (in < 0 || log < 0 || dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            plot_err(err, errlen, "waitpid: %s", strerror(errno));
            return -1;
        }
        if (waited >= PLOT_TIMEOUT_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            plot_err(err, errlen, "gnuplot did not finish within %d s", PLOT_TIMEOUT_MS / 1000);
            return -1;
        }
        nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
        waited += 20;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    {
        FILE *f = fopen(logpath, "r");

        if (f) {
            while (fgets(line, sizeof line, f) && strspn(line, " \t\n^") == strlen(line))
                ;
            fclose(f);
        }
        line[strcspn(line, "\n")] = '\0';
    }
    plot_err(err, errlen, "gnuplot failed (%s %d)%s%s",
             WIFEXITED(status) ? "exit" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), line[0] ? ": " : "",
             line);
    return -1;
}

/* Bars with 95 % CI whiskers, one per group. */
static int
plot_bars(FILE *sf, FILE *df, const results_groups_t *gs, const char *metric)
{
    double maxabs = 0, div;
    const char *unit;

    for (int i = 0; i < gs->ng; i++)
        if (fabs(gs->g[i].s.mean) > maxabs)
            maxabs = fabs(gs->g[i].s.mean);
    div = plot_scale(gs->unit, maxabs, &unit);
    for (int i = 0; i < gs->ng; i++) {
        const stats_summary_t *s = &gs->g[i].s;

        /* x, mean, CI low, CI high (the mean itself when n < 2: no whisker). */
        fprintf(df, "%d %.15g %.15g %.15g\n", i, s->mean / div,
                (s->n < 2 ? s->mean : s->ci_low) / div, (s->n < 2 ? s->mean : s->ci_high) / div);
    }
    plot_axis(sf, "ylabel", metric, unit);
    fputs("set xlabel ", sf);
    {
        char keys[512] = "";

        for (int j = 0; j < gs->nkeys; j++)
            snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", j ? ", " : "",
                     gs->keys[j]);
        plot_quote(sf, keys);
    }
    fputs("\nset xtics rotate by -30\nset xtics (", sf);
    for (int i = 0; i < gs->ng; i++) {
        char *l = plot_label(gs, &gs->g[i], -1);

        if (!l)
            return -1;
        fprintf(sf, "%s", i ? ", " : "");
        plot_quote(sf, l);
        fprintf(sf, " %d", i);
        free(l);
    }
    fprintf(sf, ")\nset xrange [-0.6:%d.6]\nset yrange [0:*]\nset style fill solid 0.5\n"
                "set boxwidth 0.6\nset key off\n"
                "plot DATA using 1:2 with boxes lc rgb '#4477aa' notitle, \\\n"
                "     DATA using 1:2:3:4 with yerrorbars lc rgb 'black' pt 0 notitle\n",
            gs->ng - 1);
    return 0;
}

/* The metric against size, one line (with CI bars) per combination of the other keys. */
static int
plot_lines(FILE *sf, FILE *df, const results_groups_t *gs, const char *metric, char *err,
           size_t errlen)
{
    int sidx = -1, nl = 0, line[PLOT_MAX_LINES];
    double maxabs = 0, div;
    const char *unit;

    for (int j = 0; j < gs->nkeys; j++)
        if (strcmp(gs->keys[j], "size") == 0)
            sidx = j;
    if (sidx < 0)
        return -1;
    for (int i = 0; i < gs->ng; i++)
        if (fabs(gs->g[i].s.mean) > maxabs)
            maxabs = fabs(gs->g[i].s.mean);
    div = plot_scale(gs->unit, maxabs, &unit);
    /* The distinct lines in order of first appearance: groups equal but for size. */
    for (int i = 0; i < gs->ng; i++) {
        bool seen = false;

        for (int k = 0; k < nl && !seen; k++) {
            int j = 0;

            while (j < gs->nkeys && (j == sidx || strcmp(gs->g[line[k]].val[j],
                                                         gs->g[i].val[j]) == 0))
                j++;
            seen = j == gs->nkeys;
        }
        if (!seen) {
            if (nl == PLOT_MAX_LINES) {
                plot_err(err, errlen, "more than %d lines: narrow the selection",
                         PLOT_MAX_LINES);
                return -2;
            }
            line[nl++] = i;
        }
    }
    for (int k = 0; k < nl; k++) {
        /* Points of line k sorted by size (insertion: a few sizes per line). */
        int idx[4096], n = 0;

        for (int i = 0; i < gs->ng && n < 4096; i++) {
            int j = 0;

            while (j < gs->nkeys && (j == sidx || strcmp(gs->g[line[k]].val[j],
                                                         gs->g[i].val[j]) == 0))
                j++;
            if (j == gs->nkeys) {
                int p = n++;

                while (p > 0 && strtod(gs->g[idx[p - 1]].val[sidx], NULL) >
                                    strtod(gs->g[i].val[sidx], NULL)) {
                    idx[p] = idx[p - 1];
                    p--;
                }
                idx[p] = i;
            }
        }
        if (k)
            fputs("\n\n", df);
        for (int p = 0; p < n; p++) {
            const stats_summary_t *s = &gs->g[idx[p]].s;
            char *end;
            double x = strtod(gs->g[idx[p]].val[sidx], &end);

            if (*end || !isfinite(x))
                continue;          /* "(none)": a run without size has no place on the axis */
            fprintf(df, "%.15g %.15g %.15g %.15g\n", x, s->mean / div,
                    (s->n < 2 ? s->mean : s->ci_low) / div,
                    (s->n < 2 ? s->mean : s->ci_high) / div);
        }
    }
    plot_axis(sf, "ylabel", metric, unit);
    plot_axis(sf, "xlabel", "size", "bytes");
    fputs("set yrange [0:*]\nset logscale x 2\nplot ", sf);
    for (int k = 0; k < nl; k++) {
        char *l = plot_label(gs, &gs->g[line[k]], sidx);

        if (!l)
            return -1;
        fprintf(sf, "%sDATA index %d using 1:2:3:4 with yerrorlines lw 2 title ",
                k ? ", \\\n     " : "", k);
        plot_quote(sf, l[0] ? l : metric);
        free(l);
    }
    fputc('\n', sf);
    return 0;
}

int
plot_make(store_t *store, const results_select_t *sel, plot_kind_t kind, const char *by,
          const char *baseline, const char *metric, results_sort_t sort, const char *output,
          char *note, size_t notelen, char *err, size_t errlen)
{
    static const char *const rtt[] = { "rtt_us_p50", "rtt_us_p90", "rtt_us_p99", "rtt_us_p999" };
    static const double rtt_p[] = { 0.50, 0.90, 0.99, 0.999 };
    results_groups_t gs[4];
    char dir[] = "/tmp/cntb-plot-XXXXXX", script[64], data[64], msg[256], bybuf[300];
    FILE *sf = NULL, *df = NULL;
    int rc = -1, ngs = 0;
    size_t olen;
    struct stat sb;

    memset(gs, 0, sizeof gs);
    if (err && errlen)
        err[0] = '\0';
    if (note && notelen)
        note[0] = '\0';
    olen = output ? strlen(output) : 0;
    if (olen < 5 || (strcmp(output + olen - 4, ".svg") != 0 &&
                     strcmp(output + olen - 4, ".png") != 0)) {
        plot_err(err, errlen, "bad --output '%.200s': the file name must end in .svg or .png",
                 output ? output : "");
        return -1;
    }
    if (olen > 400 || strpbrk(output, "\n\r")) {
        plot_err(err, errlen, "bad --output: at most 400 bytes, no line breaks");
        return -1;
    }
    {
        /* gnuplot would only print its script line: say which directory is wrong. */
        char dir[512];
        const char *slash = strrchr(output, '/');

        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else if (slash == output)
            snprintf(dir, sizeof dir, "/");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - output), output);
        if (access(dir, W_OK) != 0) {
            plot_err(err, errlen, "cannot write --output %.200s: directory %.200s: %s", output,
                     dir, strerror(errno));
            return -1;
        }
    }
    if (kind == PLOT_LINES) {
        bool has = false;

        for (const char *p = by; p && *p; p += strcspn(p, ","), p += *p == ',')
            has = has || (strncmp(p, "size", 4) == 0 && (p[4] == ',' || !p[4]));
        snprintf(bybuf, sizeof bybuf, "%s%s", by ? by : "", has ? "" : ",size");
        by = bybuf;
    }
    for (int m = 0; m < (kind == PLOT_CDF ? 4 : 1); m++) {
        int r = results_groups_collect(store, sel, by, kind == PLOT_CDF ? NULL : baseline,
                                       kind == PLOT_CDF ? rtt[m] : metric, &gs[m], msg,
                                       sizeof msg, err, errlen);

        if (r < 0)
            goto out;
        /* cdf takes no --metric: a hint to try another would mislead. */
        if (m == 0 && note && notelen && kind != PLOT_CDF)
            snprintf(note, notelen, "%s", gs[0].note);
        if (r == 0)
            results_groups_sort(&gs[m], sort);
        if (r == 1 && kind == PLOT_CDF && m == 0) {
            /* msg is "no done runs with metric rtt_us_p50<selection>" (or "no batches ..."):
             * say what a CDF is made of and which runs have it. */
            const char *sel_text = strstr(msg, rtt[0]);

            if (sel_text)
                plot_err(err, errlen, "nothing to plot: no done run%s has an RTT percentile "
                         "metric (rtt_us_p50, rtt_us_p90, rtt_us_p99, rtt_us_p999); --kind cdf "
                         "needs request/response runs (traffic tcp_rr, udp_rr or tcp_crr)",
                         sel_text + strlen(rtt[0]));
            else
                plot_err(err, errlen, "nothing to plot: %s", msg);
            rc = 1;
            goto out;
        }
        if (r == 1 && kind != PLOT_CDF) {
            plot_err(err, errlen, "nothing to plot: %s", msg);
            rc = 1;
            goto out;
        }
        ngs = m + 1;
    }
    if (!mkdtemp(dir)) {
        plot_err(err, errlen, "mkdtemp: %s", strerror(errno));
        goto out;
    }
    snprintf(script, sizeof script, "%s/plot.gp", dir);
    snprintf(data, sizeof data, "%s/data.txt", dir);
    if (!(sf = fopen(script, "w")) || !(df = fopen(data, "w"))) {
        plot_err(err, errlen, "%s: %s", dir, strerror(errno));
        goto clean;
    }
    {
        char title[256];

        if (sel->matrix)
            snprintf(title, sizeof title, "%s, matrix %s", kind == PLOT_CDF ? "RTT" : metric,
                     sel->matrix);
        else if (sel->batch > 0)
            snprintf(title, sizeof title, "%s, batch %lld", kind == PLOT_CDF ? "RTT" : metric,
                     (long long)sel->batch);
        else
            snprintf(title, sizeof title, "%s", kind == PLOT_CDF ? "RTT" : metric);
        plot_head(sf, output, title);
    }
    fputs("DATA = ", sf);
    plot_quote(sf, data);
    fputc('\n', sf);
    if (kind == PLOT_BARS) {
        if (plot_bars(sf, df, &gs[0], metric) < 0)
            goto oom;
    } else if (kind == PLOT_LINES) {
        int r = plot_lines(sf, df, &gs[0], metric, err, errlen);

        if (r == -2)
            goto clean;
        if (r < 0)
            goto oom;
    } else {
        /* One line per group of rtt_us_p50: its mean percentiles (x) against p (y). */
        fputs("set yrange [0.4:1.01]\nset ytics ('p50' 0.5, 'p90' 0.9, 'p99' 0.99, "
              "'p99.9' 0.999)\n", sf);
        plot_axis(sf, "xlabel", "round-trip time", "us");
        plot_axis(sf, "ylabel", "cumulative fraction of probes", NULL);
        fputs("plot ", sf);
        for (int i = 0; i < gs[0].ng; i++) {
            char *l = plot_label(&gs[0], &gs[0].g[i], -1);

            if (!l)
                goto oom;
            if (i)
                fputs("\n\n", df);
            for (int m = 0; m < ngs; m++)
                for (int k = 0; k < gs[m].ng; k++) {
                    int j = 0;

                    while (j < gs[m].nkeys && j < gs[0].nkeys &&
                           strcmp(gs[m].g[k].val[j], gs[0].g[i].val[j]) == 0)
                        j++;
                    if (j == gs[0].nkeys && gs[m].nkeys == gs[0].nkeys)
                        fprintf(df, "%.15g %.15g\n", gs[m].g[k].s.mean, rtt_p[m]);
                }
            fprintf(sf, "%sDATA index %d using 1:2 with linespoints lw 2 title ",
                    i ? ", \\\n     " : "", i);
            plot_quote(sf, l[0] ? l : "all");
            free(l);
        }
        fputc('\n', sf);
    }
    if (fclose(sf) != 0 || fclose(df) != 0) {
        sf = df = NULL;
        plot_err(err, errlen, "%s: %s", dir, strerror(errno));
        goto clean;
    }
    sf = df = NULL;
    rc = plot_run(dir, script, err, errlen);
    if (rc == 0 && (stat(output, &sb) != 0 || sb.st_size == 0)) {
        plot_err(err, errlen, "gnuplot wrote no %s", output);
        rc = -1;
    }
    goto clean;
oom:
    plot_err(err, errlen, "out of memory");
    rc = -1;
clean:
    if (sf)
        fclose(sf);
    if (df)
        fclose(df);
    {
        char p[96];

        snprintf(p, sizeof p, "%s/gnuplot.log", dir);
        unlink(p);
        unlink(script);
        unlink(data);
        rmdir(dir);
    }
out:
    for (int m = 0; m < 4; m++)
        results_groups_free(&gs[m]);
    return rc;
}
