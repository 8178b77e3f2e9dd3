/*
 * controller_main.c — cntb-controller's command line (docs/cntb-controller.md).
 * Usually started by `cntb controller start`; can run under systemd as is.
 */
#include "ctl.h"
#include "log.h"
#include "proto.h"

#include <czmq.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void
usage(FILE *f)
{
    fprintf(f, "usage: cntb-controller --testbed FILE [--db PATH] [--rundir DIR]\n"
               "       cntb-controller --print-schemas DIR\n"
               "Runs the controller in the foreground: schedules queued runs on the agents.\n"
               "  --testbed  the testbed file (its controller address and port are bound)\n"
               "  --db       the results database (default $CNTB_DB, else ./cntb.db)\n"
               "  --rundir   where cli.sock lives (default /run/cntb/<testbed name>)\n"
               "  --print-schemas DIR  write schemas/msg/<TYPE>.schema.json files and exit\n");
}

static int
print_schemas(const char *dir)
{
    for (int t = 0; t < MSG_COUNT; t++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.schema.json", dir, proto_type_name((msg_type_t) t));
        json_t *s = proto_schema((msg_type_t) t);
        if (json_dump_file(s, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
            fprintf(stderr, "cntb-controller: cannot write %s\n", path);
            json_decref(s);
            return 1;
        }
        json_decref(s);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = { { "testbed", required_argument, NULL, 't' },
                                          { "db", required_argument, NULL, 'd' },
                                          { "rundir", required_argument, NULL, 'r' },
                                          { "print-schemas", required_argument, NULL, 'p' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    ctl_config_t cfg = { 0 };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': cfg.testbed_path = optarg; break;
        case 'd': cfg.db_path = optarg; break;
        case 'r': cfg.rundir = optarg; break;
        case 'p': return print_schemas(optarg);
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !cfg.testbed_path) {
        usage(stderr);
        return 2;
    }
    if (!cfg.db_path)
        cfg.db_path = getenv("CNTB_DB") ? getenv("CNTB_DB") : "cntb.db";
    log_init("cntb-controller", NULL);
    zsys_init();
    zsys_set_logstream(stderr);
    /* Every run allocates and frees a few hundred KiB (messages, JSON,
     * SQLite statements): with glibc's default 128 KiB trim threshold the heap
     * shrinks and grows again each time, and brk(2) and the page faults that
     * follow took about a tenth of the controller's CPU per run
     * (tests/bench/scale, perf).  Keep up to 32 MiB of free heap (mallopt(3)). */
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
    return ctl_run(&cfg);
}
