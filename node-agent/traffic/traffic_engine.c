/*
 * traffic_engine.c — cntb-traffic as an adapter for other engines: with
 * --engine iperf3 or --engine sockperf, `cntb-traffic server|client` runs
 * that program (fork + execvp of an argument vector, never a shell) with the
 * equivalent options and turns its output into the same JSON result as the
 * builtin engine, so that the agent, the controller and the database see one
 * format whatever produced it.
 *
 * iperf3 (3.x, -J): tcp_stream and udp_stream, both directions (-R).  Its
 * -t and -O take whole seconds: fractions are rounded up; its -i is 0.1 s at
 * least; the values in force are stored in "applied" (CASES.md case 7).  sockperf (3.x):
 * tcp_rr/udp_rr as ping-pong, udp_stream as throughput (upload only, no
 * loss: sockperf's throughput mode reports only the sender's rate).
 * sockperf prints half the round trip; the converter doubles it.  The
 * server side waits until the program's socket shows in /proc/net (it is
 * per network namespace) before it prints the listening line, and passes
 * SIGTERM on.  Host CPU (/proc/stat) is measured around the client program.
 */
#include "traffic.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENGINE_OUT_MAX (8 * 1024 * 1024)   /* bytes of a program's output kept */
#define ENGINE_LISTEN_WAIT_MS 5000

/* Runs argv, collecting stdout (and stderr when merge) into a fresh string; exit status in *status. */
static char *
engine_capture(char *const argv[], int merge, int timeout_s, int *status)
{
    int out[2];
    char *buf = NULL;
    size_t len = 0, cap = 0;
    pid_t pid;
    uint64_t limit = traffic_now_ns() + (uint64_t)timeout_s * 1000000000ull;

    *status = -1;
    if (pipe2(out, O_CLOEXEC) < 0)
        return NULL;
    pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        return NULL;
    }
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        if (merge)
            dup2(out[1], STDERR_FILENO);
        execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "cntb-traffic: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    for (;;) {
        struct pollfd pfd = { .fd = out[0], .events = POLLIN };
        uint64_t now = traffic_now_ns();
        if (now >= limit) {
            kill(pid, SIGKILL);
            break;
        }
        int p = poll(&pfd, 1, (int)((limit - now) / 1000000 + 1));
        if (p < 0 && errno != EINTR)
            break;
        if (p <= 0)
            continue;
        if (cap - len < 4096) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *n;
            if (ncap > ENGINE_OUT_MAX)
                break;
            n = realloc(buf, ncap);
            if (!n)
                break;
            buf = n;
            cap = ncap;
        }
        ssize_t n = read(out[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(out[0]);
    waitpid(pid, status, 0);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* First line of `prog --version` (or -v), a fresh string; "unknown" when it cannot be run. */
static char *
engine_version(const char *prog, const char *flag)
{
    char *argv[] = { (char *)prog, (char *)flag, NULL };
    int st;
    char *out = engine_capture(argv, 1, 5, &st), *nl;

    if (!out)
        return strdup("unknown");
    nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
    return out;
}

/* 1 when a socket of the given protocol listens (TCP) or is bound (UDP) on port in this netns. */
static int
port_open(int udp, long port)
{
    static const char *const tcp_files[] = { "/proc/net/tcp", "/proc/net/tcp6", NULL };
    static const char *const udp_files[] = { "/proc/net/udp", "/proc/net/udp6", NULL };
    const char *const *files = udp ? udp_files : tcp_files;
    char line[512];

    for (int i = 0; files[i]; i++) {
        FILE *f = fopen(files[i], "re");
        if (!f)
            continue;
        while (fgets(line, sizeof line, f)) {
            char local[128];
            unsigned st;
            unsigned long p;
            char *colon;
            if (sscanf(line, " %*d: %127s %*s %x", local, &st) != 2)
                continue;
            colon = strrchr(local, ':');
            if (!colon)
                continue;
            p = strtoul(colon + 1, NULL, 16);
            if ((long)p == port && (udp || st == 0x0A)) {
                fclose(f);
                return 1;
            }
        }
        fclose(f);
    }
    return 0;
}

int
traffic_engine_server_run(const struct traffic_server_opts *o)
{
    char port[16];
    const char *argv_i[] = { "iperf3", "-s", "-B", o->bind, "-p", port, NULL };
    const char *argv_s[] = { "sockperf", "server", "-i", o->bind, "-p", port, NULL, NULL };
    const char *const *argv;
    int udp = 0, sfd, status, rc = TRAFFIC_EXIT_RUNTIME;
    sigset_t mask;
    pid_t pid;

    snprintf(port, sizeof port, "%ld", o->port);
    if (strcmp(o->engine, "iperf3") == 0) {
        argv = argv_i;
    } else {
        udp = strncmp(o->traffic, "udp", 3) == 0;
        if (!udp)
            argv_s[6] = "--tcp";
        argv = argv_s;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        traffic_err("server: signalfd: %s", strerror(errno));
        return TRAFFIC_EXIT_RUNTIME;
    }
    pid = fork();
    if (pid < 0) {
        traffic_err("server: fork: %s", strerror(errno));
        close(sfd);
        return TRAFFIC_EXIT_RUNTIME;
    }
    if (pid == 0) {
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);       /* our stdout carries only the listening line */
        execvp(argv[0], (char *const *)argv);
        dprintf(STDERR_FILENO, "cntb-traffic: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (int waited = 0; !port_open(udp, o->port); waited += 20) {
        if (waited >= ENGINE_LISTEN_WAIT_MS || waitpid(pid, &status, WNOHANG) == pid) {
            traffic_err("server: %s did not open port %ld within %d ms", argv[0], o->port,
                        ENGINE_LISTEN_WAIT_MS);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            close(sfd);
            return TRAFFIC_EXIT_RUNTIME;
        }
        usleep(20000);
    }
    printf("{\"event\":\"listening\",\"address\":\"%s\",\"port\":%ld,\"engine\":\"%s\"}\n",
           o->bind, o->port, o->engine);
    fflush(stdout);
    for (;;) {
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (si.ssi_signo == SIGCHLD) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                traffic_err("server: %s exited (status %d)", argv[0], status);
                pid = -1;
                break;
            }
            continue;
        }
        rc = TRAFFIC_EXIT_OK;           /* SIGTERM or SIGINT: pass it on */
        break;
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) != pid; i++)
            usleep(10000);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    close(sfd);
    return rc;
}

/* Interval samples of iperf3: intervals[].sum.bits_per_second (omitted ones skipped). */
static json_t *
iperf3_samples(const json_t *doc, int download, double *max_bps)
{
    /* iperf3's client intervals count what the client did: sent on upload, received on download. */
    const char *name = download ? "throughput_bps" : "sent_bps";
    json_t *samples = json_array();
    size_t i;
    json_t *iv;
    double t = 0;

    *max_bps = 0;
    json_array_foreach(json_object_get(doc, "intervals"), i, iv) {
        const json_t *sum = json_object_get(iv, "sum");
        if (json_is_true(json_object_get(sum, "omitted")))
            continue;
        double bps = json_number_value(json_object_get(sum, "bits_per_second"));
        t += json_number_value(json_object_get(sum, "seconds"));
        if (bps > *max_bps)
            *max_bps = bps;
        json_array_append_new(samples, json_pack("{s:f, s:f}", "t_s", t, name, bps));
    }
    return samples;
}

json_t *
traffic_engine_iperf3_convert(const json_t *doc, const struct traffic_client_opts *o, char *why,
                              size_t whylen)
{
    const json_t *end = json_object_get(doc, "end");
    const char *e = json_string_value(json_object_get(doc, "error"));
    int udp = strcmp(o->traffic, "udp_stream") == 0;
    json_t *metrics, *res, *flags;
    double bps, max_bps, secs;

    if (e) {
        snprintf(why, whylen, "iperf3: %s", e);
        return NULL;
    }
    if (!json_is_object(end)) {
        snprintf(why, whylen, "iperf3 output has no end summary");
        return NULL;
    }
    metrics = json_object();
    flags = json_array();
    if (udp) {
        const json_t *sum = json_object_get(end, "sum");
        json_int_t packets = json_integer_value(json_object_get(sum, "packets"));
        json_int_t lost = json_integer_value(json_object_get(sum, "lost_packets"));
        secs = json_number_value(json_object_get(sum, "seconds"));
        if (!json_is_object(sum) || !(secs > 0)) {
            json_decref(metrics);
            json_decref(flags);
            snprintf(why, whylen, "iperf3 output lacks end.sum");
            return NULL;
        }
        /* end.sum carries the sender's bit rate; received = packets - lost. */
        double rx = (double)(packets - lost);
        bps = 8.0 * rx * (double)o->size / secs;
        json_object_set_new(metrics, "throughput_bps", json_real(bps));
        json_object_set_new(metrics, "throughput_pps", json_real(rx / secs));
        json_object_set_new(metrics, "sent_pps", json_real((double)packets / secs));
        json_object_set_new(metrics, "sent_bps",
                            json_real(json_number_value(json_object_get(sum, "bits_per_second"))));
        json_object_set_new(metrics, "loss_ratio",
                            json_real(json_number_value(json_object_get(sum, "lost_percent")) / 100.0));
    } else {
        const json_t *rcv = json_object_get(end, "sum_received");
        const json_t *snd = json_object_get(end, "sum_sent");
        bps = json_number_value(json_object_get(rcv, "bits_per_second"));
        if (!json_is_object(rcv)) {
            json_decref(metrics);
            json_decref(flags);
            snprintf(why, whylen, "iperf3 output lacks end.sum_received");
            return NULL;
        }
        json_object_set_new(metrics, "throughput_bps", json_real(bps));
        json_int_t mss = json_integer_value(
            json_object_get(json_object_get(doc, "start"), "tcp_mss_default"));
        json_object_set_new(metrics, "throughput_pps",
                            json_real(bps / 8.0 / (double)(mss > 0 ? mss : o->size)));
        if (json_is_integer(json_object_get(snd, "retransmits")))
            json_object_set_new(metrics, "retransmits",
                                json_integer(json_integer_value(json_object_get(snd, "retransmits"))));
    }
    const json_t *cpu = json_object_get(end, "cpu_utilization_percent");
    if (json_is_object(cpu)) {
        double h = json_number_value(json_object_get(cpu, "host_total"));
        double r = json_number_value(json_object_get(cpu, "remote_total"));
        json_object_set_new(metrics, "cpu_client_pct", json_real(h));
        json_object_set_new(metrics, "cpu_client_user_pct",
                            json_real(json_number_value(json_object_get(cpu, "host_user"))));
        json_object_set_new(metrics, "cpu_server_pct", json_real(r));
        if (traffic_tool_bound(h) || traffic_tool_bound(r / (double)o->streams))
            json_array_append_new(flags, json_string("tool_bound"));
    }
    res = json_pack("{s:o, s:o, s:{}, s:o}", "metrics", metrics, "samples",
                    iperf3_samples(doc, o->download, &max_bps), "applied", "flags", flags);
    if (max_bps > 0) {
        /* Case 8 on iperf3's own numbers: its intervals are in bit/s for both kinds. */
        double total = udp ? json_number_value(json_object_get(json_object_get(end, "sum"),
                                                                "bits_per_second"))
                           : json_number_value(json_object_get(
                                 json_object_get(end, "sum_sent"), "bits_per_second"));
        if (!traffic_check_consistency(total, &max_bps, 1, TRAFFIC_CONSISTENCY_TOL))
            json_array_append_new(flags, json_string("invalid"));
    }
    return res;
}

/* The number after `key` in text (e.g. "avg-latency="), or NAN. */
static double
num_after(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    char *end;
    double v;

    if (!p)
        return NAN;
    p += strlen(key);
    while (*p == ' ')
        p++;
    v = strtod(p, &end);
    return end == p ? NAN : v;
}

/* sockperf's "---> percentile P = V" line, or NAN. */
static double
sockperf_percentile(const char *text, const char *p)
{
    char key[64];

    snprintf(key, sizeof key, "---> percentile %s =", p);
    return num_after(text, key);
}

json_t *
traffic_engine_sockperf_convert(const char *text, const struct traffic_client_opts *o, char *why,
                                size_t whylen)
{
    json_t *metrics = json_object();
    int rr = strcmp(o->traffic, "udp_stream") != 0;

    if (rr) {
        const char *valid = strstr(text, "[Valid Duration]");
        double factor = 2.0, avg = num_after(text, "avg-latency=");
        double runtime = valid ? num_after(valid, "RunTime=") : NAN;
        double received = valid ? num_after(valid, "ReceivedMessages=") : NAN;
        double sent = valid ? num_after(valid, "SentMessages=") : NAN;
        static const struct { const char *sp, *name; } ps[] = {
            { "50.000", "rtt_us_p50" }, { "90.000", "rtt_us_p90" },
            { "99.000", "rtt_us_p99" }, { "99.900", "rtt_us_p999" },
        };

        if (isnan(avg)) {
            avg = num_after(text, "avg-rtt=");    /* --full-rtt: already the round trip */
            factor = 1.0;
        }
        if (isnan(avg) || !(runtime > 0) || isnan(received)) {
            json_decref(metrics);
            snprintf(why, whylen, "sockperf output lacks the latency summary");
            return NULL;
        }
        json_object_set_new(metrics, "rtt_us_mean", json_real(avg * factor));
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
            double v = sockperf_percentile(text, ps[i].sp);
            if (!isnan(v))
                json_object_set_new(metrics, ps[i].name, json_real(v * factor));
        }
        json_object_set_new(metrics, "transactions_per_s", json_real(received / runtime));
        if (sent > 0)
            json_object_set_new(metrics, "loss_ratio",
                                json_real(sent > received ? (sent - received) / sent : 0.0));
    } else {
        double rate = num_after(text, "Message Rate is");
        if (isnan(rate)) {
            json_decref(metrics);
            snprintf(why, whylen, "sockperf output lacks the message rate");
            return NULL;
        }
        /* The sender's rate: sockperf's throughput mode counts nothing at the receiver. */
        json_object_set_new(metrics, "sent_pps", json_real(rate));
        json_object_set_new(metrics, "throughput_pps", json_real(rate));
        json_object_set_new(metrics, "throughput_bps", json_real(rate * 8.0 * (double)o->size));
    }
    return json_pack("{s:o, s:[], s:{s:b}, s:[]}", "metrics", metrics, "samples", "applied",
                     "half_rtt_doubled", rr, "flags");
}

int
traffic_engine_client_run(const struct traffic_client_opts *o)
{
    char port[16], dur[32], omit[32], interval[32], size[32], streams[32], bw[48], mps[48];
    const char *argv[32];
    int n = 0, st, iperf = strcmp(o->engine, "iperf3") == 0;
    long dur_s = (long)ceil(o->duration), omit_s = (long)ceil(o->omit);
    struct traffic_cpu h0 = { 0 }, h1 = { 0 };
    char *out = NULL, *version = NULL, why[256];
    json_t *res = NULL, *doc = NULL;
    int rc = TRAFFIC_EXIT_RUNTIME;
    uint64_t t0, t1;

    if (dur_s < 1)
        dur_s = 1;
    snprintf(port, sizeof port, "%ld", o->port);
    snprintf(size, sizeof size, "%ld", o->size);
    if (iperf) {
        if (strcmp(o->traffic, "tcp_stream") != 0 && strcmp(o->traffic, "udp_stream") != 0) {
            traffic_err("engine iperf3 cannot generate %s (only tcp_stream and udp_stream)",
                        o->traffic);
            return TRAFFIC_EXIT_USAGE;
        }
        snprintf(dur, sizeof dur, "%ld", dur_s);
        snprintf(omit, sizeof omit, "%ld", omit_s);
        snprintf(interval, sizeof interval, "%g", o->interval < 0.1 ? 0.1 : o->interval);
        snprintf(streams, sizeof streams, "%ld", o->streams);
        argv[n++] = "iperf3"; argv[n++] = "-c"; argv[n++] = o->server; argv[n++] = "-p";
        argv[n++] = port; argv[n++] = "-J"; argv[n++] = "-t"; argv[n++] = dur;
        argv[n++] = "-O"; argv[n++] = omit; argv[n++] = "-i"; argv[n++] = interval;
        argv[n++] = "-l"; argv[n++] = size; argv[n++] = "-P"; argv[n++] = streams;
        if (strcmp(o->traffic, "udp_stream") == 0) {
            /* -b is bit/s per stream; 0 = unlimited. */
            snprintf(bw, sizeof bw, "%.0f", (double)o->rate * (double)o->size * 8.0);
            argv[n++] = "-u"; argv[n++] = "-b"; argv[n++] = bw;
        }
        if (o->download)
            argv[n++] = "-R";
        argv[n] = NULL;
        version = engine_version("iperf3", "--version");
    } else {
        if (o->download || o->streams != 1) {
            traffic_err("engine sockperf runs one upload flow only (direction upload, streams 1)");
            return TRAFFIC_EXIT_USAGE;
        }
        if (strcmp(o->traffic, "udp_stream") == 0)
            argv[n++] = "sockperf", argv[n++] = "throughput";
        else if (strcmp(o->traffic, "udp_rr") == 0 || strcmp(o->traffic, "tcp_rr") == 0)
            argv[n++] = "sockperf", argv[n++] = "ping-pong";
        else {
            traffic_err("engine sockperf cannot generate %s (only udp_stream, udp_rr, tcp_rr)",
                        o->traffic);
            return TRAFFIC_EXIT_USAGE;
        }
        snprintf(dur, sizeof dur, "%ld", dur_s);
        argv[n++] = "-i"; argv[n++] = o->server; argv[n++] = "-p"; argv[n++] = port;
        argv[n++] = "-t"; argv[n++] = dur; argv[n++] = "-m"; argv[n++] = size;
        if (strcmp(o->traffic, "tcp_rr") == 0)
            argv[n++] = "--tcp";
        if (o->rate > 0 && strcmp(o->traffic, "udp_stream") == 0) {
            snprintf(mps, sizeof mps, "--mps=%ld", o->rate);
            argv[n++] = mps;
        }
        argv[n] = NULL;
        version = engine_version("sockperf", "--version");
    }
    traffic_cpu_read(&h0);
    t0 = traffic_now_ns();
    out = engine_capture((char *const *)argv, !iperf, (int)(dur_s + omit_s + 60), &st);
    t1 = traffic_now_ns();
    traffic_cpu_read(&h1);
    if (!out) {
        traffic_err("cannot run %s", argv[0]);
        goto out;
    }
    if (iperf) {
        json_error_t jerr;
        doc = json_loads(out, 0, &jerr);
        if (!doc) {
            traffic_err("iperf3 output is not JSON (exit status %d): %s", st, jerr.text);
            goto out;
        }
        res = traffic_engine_iperf3_convert(doc, o, why, sizeof why);
    } else {
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            char *last = strrchr(out, '\n');
            traffic_err("sockperf failed (status %d)%s%s", st, last ? ": " : "",
                        last ? last + 1 : "");
            goto out;
        }
        res = traffic_engine_sockperf_convert(out, o, why, sizeof why);
    }
    if (!res) {
        traffic_err("%s", why);
        goto out;
    }
    {
        json_t *m = json_object_get(res, "metrics"), *ap = json_object_get(res, "applied");
        double wall = (double)(t1 - t0) / 1e9, u, s, si;
        if (h0.user + h0.system) {
            traffic_cpu_pct(&h0, &h1, wall, sysconf(_SC_CLK_TCK), &u, &s, &si);
            json_object_set_new(m, "cpu_user_pct", json_real(u));
            json_object_set_new(m, "cpu_system_pct", json_real(s));
            json_object_set_new(m, "cpu_softirq_pct", json_real(si));
        }
        json_object_set_new(ap, "engine", json_string(o->engine));
        json_object_set_new(ap, "engine_version", json_string(version));
        json_object_set_new(ap, "duration_s", json_integer(dur_s));
        json_object_set_new(ap, "omit_s", json_integer(iperf ? omit_s : 0));
        if (iperf) /* iperf3's -i: 0.1 s at least (its own minimum) */
            json_object_set_new(ap, "interval_s", json_real(o->interval < 0.1 ? 0.1 : o->interval));
        json_object_set_new(ap, "direction", json_string(o->download ? "download" : "upload"));
        json_object_set_new(ap, "gso", json_false());
    }
    json_t *full = json_pack("{s:i, s:s, s:I, s:I, s:f, s:O, s:O, s:O, s:O}", "version", 1,
                             "traffic", o->traffic, "size", (json_int_t)o->size, "streams",
                             (json_int_t)o->streams, "duration_s", o->duration,
                             "metrics", json_object_get(res, "metrics"),
                             "samples", json_object_get(res, "samples"),
                             "applied", json_object_get(res, "applied"),
                             "flags", json_object_get(res, "flags"));
    if (!full || json_dumpf(full, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF
        || fflush(stdout) == EOF) {
        traffic_err("cannot write the result");
        json_decref(full);
        goto out;
    }
    json_decref(full);
    rc = TRAFFIC_EXIT_OK;
out:
    json_decref(res);
    json_decref(doc);
    free(out);
    free(version);
    return rc;
}
