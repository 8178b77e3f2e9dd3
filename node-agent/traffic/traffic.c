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
    "usage: cntb-traffic server [--bind ADDR] [--port PORT]\n"
    "       cntb-traffic client --server ADDR [--port PORT] [--traffic tcp_stream]\n"
    "                    [--size BYTES] [--streams N] [--duration SECONDS] [--interval SECONDS]\n"
    "       cntb-traffic --version | --help\n"
    "Run `cntb-traffic server --help` or `cntb-traffic client --help` for details.\n";

static const char usage_server[] =
    "usage: cntb-traffic server [--bind ADDR] [--port PORT]\n"
    "Accepts tcp_stream connections; prints {\"event\":\"listening\",...} on stdout once\n"
    "listening, then serves until SIGTERM or SIGINT.\n"
    "  --bind ADDR    numeric IPv4 or IPv6 address to listen on (default 0.0.0.0)\n"
    "  --port PORT    TCP port, 0..65535, 0 = any free port (default 5300)\n"
    "  --help         this text\n";

static const char usage_client[] =
    "usage: cntb-traffic client --server ADDR [--port PORT] [--traffic tcp_stream]\n"
    "                    [--size BYTES] [--streams N] [--duration SECONDS] [--interval SECONDS]\n"
    "Sends to a cntb-traffic server and prints one JSON result on stdout.\n"
    "  --server ADDR        server address or host name (required)\n"
    "  --port PORT          TCP port, 1..65535 (default 5300)\n"
    "  --traffic KIND       traffic kind; only tcp_stream so far (default tcp_stream)\n"
    "  --size BYTES         bytes per send(), 1..1048576 (default 1448)\n"
    "  --streams N          parallel TCP connections, 1..128 (default 1)\n"
    "  --duration SECONDS   sending time, > 0 and <= 86400, may be fractional (default 10)\n"
    "  --interval SECONDS   sample interval, 0.01..86400 (default 1)\n"
    "  --help               this text\n";

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
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct traffic_server_opts o = { .bind = "0.0.0.0", .port = TRAFFIC_DEFAULT_PORT };
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
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct traffic_client_opts o = {
        .server = NULL, .port = TRAFFIC_DEFAULT_PORT, .traffic = "tcp_stream",
        .size = 1448, .streams = 1, .duration = 10.0, .interval = 1.0,
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
            if (traffic_parse_double(optarg, 0.01, 0, TRAFFIC_DURATION_MAX, &o.interval) < 0) {
                traffic_err("client: --interval %s is not a number of seconds 0.01..%g",
                            optarg, TRAFFIC_DURATION_MAX);
                return TRAFFIC_EXIT_USAGE;
            }
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
    if (strcmp(o.traffic, "tcp_stream") != 0) {
        traffic_err("traffic %s is not supported yet", o.traffic);
        return TRAFFIC_EXIT_USAGE;
    }
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
