/*
 * traffic.c — the command line of cntb-traffic: `server`, `client`,
 * `--version`, `--help`.  It only parses and range-checks options (exit 2 on
 * anything wrong, with a one-line message) and hands them to the server
 * (traffic_server.c) or the client (traffic_client.c).
 */
#include "traffic.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage_main[] =
    "usage: cntb-traffic server [--bind ADDR] [--port PORT] [--engine E] [--traffic KIND]\n"
    "       cntb-traffic client --server ADDR [--port PORT] [--traffic KIND] [--size BYTES]\n"
    "                    [--streams N] [--duration SECONDS] [--interval SECONDS] [...]\n"
    "       cntb-traffic --version | --help\n"
    "Run `cntb-traffic server --help` or `cntb-traffic client --help` for details.\n";

static const char usage_server[] =
    "usage: cntb-traffic server [--bind ADDR] [--port PORT] [--engine E] [--traffic KIND]\n"
    "Serves every traffic kind; prints {\"event\":\"listening\",...} on stdout once\n"
    "listening, then serves until SIGTERM or SIGINT.\n"
    "  --bind ADDR      numeric IPv4 or IPv6 address to listen on (default 0.0.0.0)\n"
    "  --port PORT      TCP port, 0..65535, 0 = any free port (builtin only; default 5300)\n"
    "  --engine E       builtin, iperf3 or sockperf: run that program's server (default builtin)\n"
    "  --traffic KIND   with sockperf: a tcp_* kind makes a TCP server (default tcp_stream)\n"
    "  --help           this text\n";

static const char usage_client[] =
    "usage: cntb-traffic client --server ADDR [--port PORT] [--traffic KIND] [--size BYTES]\n"
    "                    [--streams N] [--duration SECONDS] [--interval SECONDS] [--omit SECONDS]\n"
    "                    [--rate PPS] [--burst N] [--direction upload|download] [--timeout-ms MS]\n"
    "                    [--mtu BYTES] [--allow-fragments] [--gso] [--engine builtin|iperf3|sockperf]\n"
    "Measures towards a cntb-traffic server and prints one JSON result on stdout.\n"
    "  --server ADDR        server address or host name (required)\n"
    "  --port PORT          TCP port, 1..65535 (default 5300)\n"
    "  --traffic KIND       tcp_stream, udp_stream, tcp_rr, udp_rr or tcp_crr (default tcp_stream)\n"
    "  --size BYTES         bytes per send() or per datagram, 1.." PARAM_STR(PARAM_SIZE_MAX)
    "; UDP 8..65507 (default " PARAM_STR(PARAM_SIZE_DEFAULT) ")\n"
    "  --streams N          parallel connections or flows, one thread each, 1.."
    PARAM_STR(PARAM_STREAMS_MAX) " (default " PARAM_STR(PARAM_STREAMS_DEFAULT) ")\n"
    "  --duration SECONDS   measured time, > 0 and <= " PARAM_STR(PARAM_DURATION_MAX_S)
    ", may be fractional (default " PARAM_STR(PARAM_DURATION_DEFAULT_S) ")\n"
    "  --interval SECONDS   sample interval, " PARAM_STR(PARAM_INTERVAL_MIN_S) ".."
    PARAM_STR(PARAM_DURATION_MAX_S) " (default " PARAM_STR(PARAM_INTERVAL_DEFAULT_S) ")\n"
    "  --omit SECONDS       warm-up before the measured time, not counted, 0.."
    PARAM_STR(PARAM_OMIT_MAX_S) " (default 0)\n"
    "  --rate PPS           udp_stream: datagrams/s per flow, 0 = as fast as possible (default 0)\n"
    "  --burst N            tcp_rr, udp_rr: outstanding probes per flow, 1.." PARAM_STR(PARAM_BURST_MAX)
    " (default 1)\n"
    "  --direction D        upload (the client sends) or download (the server sends) (default upload)\n"
    "  --timeout-ms MS      udp_rr: a probe unanswered this long is lost, 1.."
    PARAM_STR(PARAM_TIMEOUT_MS_MAX) " (default " PARAM_STR(PARAM_TIMEOUT_MS_DEFAULT) ")\n"
    "  --mtu BYTES          path MTU: UDP sizes above MTU - 28 (IPv4) are refused (exit 2);\n"
    "                       0 = use the kernel's route MTU (default 0)\n"
    "  --allow-fragments    run such sizes anyway; the result is flagged fragmented\n"
    "  --gso                udp_stream: UDP GSO on the sender, GRO on the receiver (default off)\n"
    "  --engine E           builtin, or run iperf3 / sockperf and convert their output (default builtin)\n"
    "  --help               this text\n";

/* s is a value of the enum matrix parameter `param` (proto/param.c): the
 * engine knows the traffic kinds and engines the matrix format names. */
static int
value_known(const char *param, const char *s)
{
    for (const char *const *v = param_find(param)->values; *v; v++)
        if (strcmp(s, *v) == 0)
            return 1;
    return 0;
}

static int
engine_known(const char *e)
{
    return value_known("engine", e);
}

static int
kind_known(const char *t)
{
    return value_known("traffic", t);
}

/* Reports an option getopt_long rejected; returns the usage exit code. */
static int
bad_option(const char *cmd, char **argv, int opt)
{
    if (opt == ':')
        traffic_err("%s: option %s needs a value", cmd, argv[optind - 1]);
    else
        traffic_err("%s: unknown option %s (see --help)", cmd, argv[optind - 1]);
    return TRAFFIC_EXIT_USAGE;
}

static int
main_server(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bind", required_argument, NULL, 'b' },
        { "port", required_argument, NULL, 'p' },
        { "engine", required_argument, NULL, 'e' },
        { "traffic", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct traffic_server_opts o = { .bind = "0.0.0.0", .port = TRAFFIC_DEFAULT_PORT,
                                     .engine = "builtin", .traffic = "tcp_stream" };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': {
            unsigned char a[sizeof(struct in6_addr)];

            if (inet_pton(AF_INET, optarg, a) != 1 && inet_pton(AF_INET6, optarg, a) != 1) {
                traffic_err("server: --bind %s is not a numeric IPv4 or IPv6 address", optarg);
                return TRAFFIC_EXIT_USAGE;
            }
            o.bind = optarg;
            break;
        }
        case 'p':
            if (traffic_parse_long(optarg, 0, 65535, &o.port) < 0) {
                traffic_err("server: --port %s is not a port number 0..65535", optarg);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 'e':
            if (!engine_known(optarg)) {
                traffic_err("server: --engine %s is not builtin, iperf3 or sockperf", optarg);
                return TRAFFIC_EXIT_USAGE;
            }
            o.engine = optarg;
            break;
        case 't':
            if (!kind_known(optarg)) {
                traffic_err("server: --traffic %s is not a traffic kind", optarg);
                return TRAFFIC_EXIT_USAGE;
            }
            o.traffic = optarg;
            break;
        case 'h':
            fputs(usage_server, stdout);
            return TRAFFIC_EXIT_OK;
        default:
            return bad_option("server", argv, c);
        }
    }
    if (optind < argc) {
        traffic_err("server: unexpected argument %s", argv[optind]);
        return TRAFFIC_EXIT_USAGE;
    }
    if (strcmp(o.engine, "builtin") != 0) {
        if (o.port == 0) {
            traffic_err("server: --engine %s needs a fixed --port", o.engine);
            return TRAFFIC_EXIT_USAGE;
        }
        return traffic_engine_server_run(&o);
    }
    return traffic_server_run(&o);
}

static int
main_client(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "server", required_argument, NULL, 's' },
        { "port", required_argument, NULL, 'p' },
        { "traffic", required_argument, NULL, 't' },
        { "size", required_argument, NULL, 'z' },
        { "streams", required_argument, NULL, 'n' },
        { "duration", required_argument, NULL, 'd' },
        { "interval", required_argument, NULL, 'i' },
        { "omit", required_argument, NULL, 'o' },
        { "rate", required_argument, NULL, 'r' },
        { "burst", required_argument, NULL, 'b' },
        { "direction", required_argument, NULL, 'D' },
        { "timeout-ms", required_argument, NULL, 'T' },
        { "mtu", required_argument, NULL, 'm' },
        { "allow-fragments", no_argument, NULL, 'F' },
        { "gso", no_argument, NULL, 'g' },
        { "engine", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct traffic_client_opts o = {
        .server = NULL, .port = TRAFFIC_DEFAULT_PORT, .traffic = "tcp_stream",
        /* the defaults of the matrix parameters (proto/param.c) */
        .size = PARAM_SIZE_DEFAULT, .streams = PARAM_STREAMS_DEFAULT,
        .duration = PARAM_DURATION_DEFAULT_S, .interval = PARAM_INTERVAL_DEFAULT_S, .omit = 0.0,
        .rate = 0, .burst = 1, .download = 0, .timeout_ms = PARAM_TIMEOUT_MS_DEFAULT, .mtu = 0,
        .allow_fragments = 0, .gso = 0, .engine = "builtin",
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.server = optarg;
            break;
        case 'p':
            if (traffic_parse_long(optarg, 1, 65535, &o.port) < 0) {
                traffic_err("client: --port %s is not a port number 1..65535", optarg);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 't':
            o.traffic = optarg;
            break;
        case 'z':
            if (traffic_parse_long(optarg, 1, TRAFFIC_SIZE_MAX, &o.size) < 0) {
                traffic_err("client: --size %s is not a whole number of bytes 1..%ld",
                            optarg, TRAFFIC_SIZE_MAX);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 'n':
            if (traffic_parse_long(optarg, 1, TRAFFIC_STREAMS_MAX, &o.streams) < 0) {
                traffic_err("client: --streams %s is not a number 1..%ld",
                            optarg, TRAFFIC_STREAMS_MAX);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 'd':
            if (traffic_parse_double(optarg, 0.0, 1, TRAFFIC_DURATION_MAX, &o.duration) < 0) {
                traffic_err("client: --duration %s is not a number of seconds > 0 and <= %g",
                            optarg, TRAFFIC_DURATION_MAX);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 'i':
            if (traffic_parse_double(optarg, TRAFFIC_INTERVAL_MIN, 0, TRAFFIC_DURATION_MAX,
                                     &o.interval) < 0) {
                traffic_err("client: --interval %s is not a number of seconds 0.01..%g",
                            optarg, TRAFFIC_DURATION_MAX);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 'o':
            if (traffic_parse_double(optarg, 0.0, 0, TRAFFIC_OMIT_MAX, &o.omit) < 0) {
                traffic_err("client: --omit %s is not a number of seconds 0..%g", optarg,
                            TRAFFIC_OMIT_MAX);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 'r':
            if (traffic_parse_long(optarg, 0, TRAFFIC_RATE_MAX, &o.rate) < 0) {
                traffic_err("client: --rate %s is not a number of datagrams/s 0..%ld", optarg,
                            TRAFFIC_RATE_MAX);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 'b':
            if (traffic_parse_long(optarg, 1, TRAFFIC_BURST_MAX, &o.burst) < 0) {
                traffic_err("client: --burst %s is not a number 1..%ld", optarg, TRAFFIC_BURST_MAX);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 'D':
            if (strcmp(optarg, "upload") != 0 && strcmp(optarg, "download") != 0) {
                traffic_err("client: --direction %s is not upload or download", optarg);
                return TRAFFIC_EXIT_USAGE;
            }
            o.download = optarg[0] == 'd';
            break;
        case 'T':
            if (traffic_parse_long(optarg, 1, TRAFFIC_TIMEOUT_MS_MAX, &o.timeout_ms) < 0) {
                traffic_err("client: --timeout-ms %s is not a number 1..%ld", optarg,
                            TRAFFIC_TIMEOUT_MS_MAX);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 'm':
            if (traffic_parse_long(optarg, 0, TRAFFIC_MTU_MAX, &o.mtu) < 0
                || (o.mtu > 0 && o.mtu < PARAM_MTU_MIN)) {
                traffic_err("client: --mtu %s is not 0 or a number of bytes %d..%ld (loopback has"
                            " 65536)", optarg, PARAM_MTU_MIN, TRAFFIC_MTU_MAX);
                return TRAFFIC_EXIT_USAGE;
            }
            break;
        case 'F':
            o.allow_fragments = 1;
            break;
        case 'g':
            o.gso = 1;
            break;
        case 'e':
            if (!engine_known(optarg)) {
                traffic_err("client: --engine %s is not builtin, iperf3 or sockperf", optarg);
                return TRAFFIC_EXIT_USAGE;
            }
            o.engine = optarg;
            break;
        case 'h':
            fputs(usage_client, stdout);
            return TRAFFIC_EXIT_OK;
        default:
            return bad_option("client", argv, c);
        }
    }
    if (optind < argc) {
        traffic_err("client: unexpected argument %s", argv[optind]);
        return TRAFFIC_EXIT_USAGE;
    }
    if (!o.server || !*o.server) {
        traffic_err("client: --server ADDR is required");
        return TRAFFIC_EXIT_USAGE;
    }
    if (!kind_known(o.traffic)) {
        traffic_err("client: --traffic %s is not tcp_stream, udp_stream, tcp_rr, udp_rr or tcp_crr",
                    o.traffic);
        return TRAFFIC_EXIT_USAGE;
    }
    if (o.gso && strcmp(o.traffic, "udp_stream") != 0) {
        traffic_err("client: --gso applies to udp_stream only");
        return TRAFFIC_EXIT_USAGE;
    }
    if (strcmp(o.engine, "builtin") != 0)
        return traffic_engine_client_run(&o);
    return traffic_client_run(&o);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return TRAFFIC_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("cntb-traffic " TRAFFIC_VERSION);
        return TRAFFIC_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_main, stdout);
        return TRAFFIC_EXIT_OK;
    }
    /* The subcommand plays argv[0] for getopt_long. */
    if (strcmp(argv[1], "server") == 0)
        return main_server(argc - 1, argv + 1);
    if (strcmp(argv[1], "client") == 0)
        return main_client(argc - 1, argv + 1);
    traffic_err("unknown command %s (expected server or client; see --help)", argv[1]);
    return TRAFFIC_EXIT_USAGE;
}
