/*
 * agent_main.c — cntb-agent's command line.  See docs/cntb-agent.md.
 */
#include "agent.h"
#include "agent_daemon.h"
#include "agent_sim.h"
#include "log.h"
#include "nl.h"

#include <czmq.h>
#include <getopt.h>
#include <stdbool.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --vm-memory: MiB a nested VM may be given, at most 1 TiB. */
#define AGENT_VM_MEMORY_MAX_MB (1024L * 1024)

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: cntb-agent --controller tcp://ADDR:PORT --host NAME --address ADDR\n"
            "                  [--kind bare-metal|vm] [--underlay-if IF] [--traffic PATH]\n"
            "                  [--cert FILE --controller-cert FILE]\n"
            "                  [--daemon --log FILE --pidfile FILE]\n"
            "       cntb-agent --controller tcp://ADDR:PORT --simulate N\n"
            "                  [--cert-dir DIR --controller-cert FILE] [--daemon --log FILE --pidfile FILE]\n"
            "       cntb-agent --stop --pidfile FILE | --status --pidfile FILE\n"
            "                  [--vm-image DIR] [--accel auto|kvm|tcg]\n"
            "                  [--parent HOST --vm-accel kvm|tcg --vm-vcpus N --vm-memory MIB]\n"
            "Runs the node agent: connects to the controller and executes the steps of runs.\n"
            "  --controller  the controller's agent endpoint\n"
            "  --host        this host's name in the testbed ([A-Za-z0-9_.-], <= 31 bytes)\n"
            "  --address     this host's underlay IPv4 address\n"
            "  --kind        bare-metal (default) or vm\n"
            "  --underlay-if the underlay link (default eth0)\n"
            "  --traffic     path of cntb-traffic (default: beside this program)\n"
            "  --cert        this agent's CURVE certificate (FILE and FILE_secret, czmq zcert)\n"
            "  --controller-cert  the controller's public certificate: the only server accepted\n"
            "  --daemon      detach (own session), log to --log, pid to --pidfile\n"
            "  --state-dir DIR  the run journal (a file run-<id> per run set up and not yet\n"
            "                torn down; leftovers of its runs are removed at start);\n"
            "                default: the directory of --pidfile, else no journal\n"
            "  --stop        stop the agent of --pidfile (SIGTERM, then SIGKILL after 10 s)\n"
            "  --status      exit 0 when the agent of --pidfile runs, 1 when not\n"
            "  --vm-image    directory with the nested VMs' vmlinuz and initrd.img\n"
            "                (default: ../vm beside this program, where testbed/vm/build-image\n"
            "                puts them)\n"
            "  --accel       accelerator of the VMs this host starts: auto (default: KVM\n"
            "                when a probe boot succeeds, else TCG), kvm or tcg\n"
            "  --parent, --vm-accel, --vm-vcpus, --vm-memory\n"
            "                kind vm only: the host the VM runs on and its shape, reported\n"
            "                in HELLO and in every result (the VM's /init passes them)\n"
            "  --simulate N  present N simulated hosts sim1..simN (1..%d), each its own\n"
            "                connection, announcing only the no-op network noop and\n"
            "                answering every step at once with synthetic results\n"
            "  --cert-dir DIR  with --simulate: DIR/simI.cert (and _secret) per agent\n"
            "Stops on SIGTERM or SIGINT after tearing down every run it holds.\n", AGENT_SIM_MAX);
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "controller", required_argument, NULL, 'c' }, { "host", required_argument, NULL, 'H' },
        { "address", required_argument, NULL, 'a' },    { "kind", required_argument, NULL, 'k' },
        { "underlay-if", required_argument, NULL, 'u' }, { "traffic", required_argument, NULL, 't' },
        { "cert", required_argument, NULL, 'C' },       { "controller-cert", required_argument, NULL, 'S' },
        { "daemon", no_argument, NULL, 'D' },           { "log", required_argument, NULL, 'l' },
        { "pidfile", required_argument, NULL, 'p' },    { "stop", no_argument, NULL, 'x' },
        { "status", no_argument, NULL, 's' },         { "state-dir", required_argument, NULL, 'd' },
        { "vm-image", required_argument, NULL, 'I' },   { "accel", required_argument, NULL, 'A' },
        { "parent", required_argument, NULL, 'P' },     { "vm-accel", required_argument, NULL, 'X' },
        { "vm-vcpus", required_argument, NULL, 'n' },   { "vm-memory", required_argument, NULL, 'm' },
        { "simulate", required_argument, NULL, 'N' },   { "cert-dir", required_argument, NULL, 'K' },
        { "help", no_argument, NULL, 'h' },             { NULL, 0, NULL, 0 }
    };
    agent_config_t cfg = { .kind = "bare-metal", .underlay_if = "eth0", .accel = "auto" };
    static char traffic[PATH_MAX], vmimage[PATH_MAX];
    const char *logfile = NULL, *pidfile = NULL;
    bool daemon = false, stop = false, status = false;
    agent_sim_config_t sim = { 0 };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cfg.endpoint = optarg; break;
        case 'H': cfg.host = optarg; break;
        case 'a': cfg.underlay_addr = optarg; break;
        case 'k': cfg.kind = optarg; break;
        case 'u': cfg.underlay_if = optarg; break;
        case 't': cfg.traffic_path = optarg; break;
        case 'C': cfg.cert_path = optarg; break;
        case 'S': cfg.controller_cert_path = optarg; break;
        case 'D': daemon = true; break;
        case 'l': logfile = optarg; break;
        case 'p': pidfile = optarg; break;
        case 'd': cfg.state_dir = optarg; break;
        case 'x': stop = true; break;
        case 's': status = true; break;
        case 'I': cfg.vm_image = optarg; break;
        case 'A': cfg.accel = optarg; break;
        case 'P': cfg.parent = optarg[0] ? optarg : NULL; break;
        case 'X': cfg.vm_accel = optarg[0] ? optarg : NULL; break;
        case 'n':
        case 'm': {
            char *end;
            long v = strtol(optarg, &end, 10);
            long max = c == 'n' ? 256 : AGENT_VM_MEMORY_MAX_MB;
            if (end == optarg || *end || v < 0 || v > max) {
                fprintf(stderr, "cntb-agent: --%s: must be an integer 0..%ld (got \"%s\")\n",
                        c == 'n' ? "vm-vcpus" : "vm-memory", max, optarg);
                return 2;
            }
            if (c == 'n')
                cfg.vm_vcpus = (int) v;
            else
                cfg.vm_memory_mb = (int) v;
            break;
        }
        case 'N': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > AGENT_SIM_MAX) {
                fprintf(stderr, "cntb-agent: --simulate: must be an integer 1..%d (got \"%s\")\n",
                        AGENT_SIM_MAX, optarg);
                return 2;
            }
            sim.count = (int) v;
            break;
        }
        case 'K': sim.cert_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (stop || status) {
        if (!pidfile || optind != argc) {
            usage(stderr);
            return 2;
        }
        if (status)
            return agent_daemon_running(pidfile) > 0 ? 0 : 1;
        printf("%s\n", agent_daemon_stop(pidfile, 10000) ? "stopped" : "not running");
        return 0;
    }
    if (daemon && (!logfile || !pidfile || logfile[0] != '/' || pidfile[0] != '/')) {
        fprintf(stderr, "cntb-agent: --daemon needs --log FILE and --pidfile FILE, absolute paths\n");
        return 2;
    }
    if (sim.count) {
        if (optind != argc || !cfg.endpoint || cfg.host || cfg.cert_path ||
            !sim.cert_dir != !cfg.controller_cert_path) {
            fprintf(stderr, "cntb-agent: --simulate takes --controller, and --cert-dir with "
                            "--controller-cert together; not --host or --cert\n");
            return 2;
        }
        sim.endpoint = cfg.endpoint;
        sim.controller_cert_path = cfg.controller_cert_path;
        if (daemon) {
            char err[4200];
            if (agent_daemon_start(logfile, pidfile, err, sizeof err) != 0) {
                fprintf(stderr, "cntb-agent: %s\n", err);
                return 1;
            }
        }
        log_init("cntb-agent", "sim");
        zsys_init();
        zsys_set_logstream(stderr);
        return agent_sim_run(&sim) == 0 ? 0 : 1;
    }
    if (sim.cert_dir) {
        fprintf(stderr, "cntb-agent: --cert-dir goes with --simulate\n");
        return 2;
    }
    if (!cfg.cert_path != !cfg.controller_cert_path) {
        fprintf(stderr, "cntb-agent: --cert and --controller-cert go together\n");
        return 2;
    }
    if (optind != argc || !cfg.endpoint || !cfg.host || !cfg.underlay_addr) {
        usage(stderr);
        return 2;
    }
    if (!netns_name_valid(cfg.host) || strlen(cfg.host) > 31) {
        fprintf(stderr, "cntb-agent: --host: invalid name\n");
        return 2;
    }
    if (!nl_ifname_valid(cfg.underlay_if)) {
        fprintf(stderr, "cntb-agent: --underlay-if: invalid interface name\n");
        return 2;
    }
    if (strcmp(cfg.kind, "bare-metal") != 0 && strcmp(cfg.kind, "vm") != 0) {
        fprintf(stderr, "cntb-agent: --kind: must be bare-metal or vm\n");
        return 2;
    }
    if (strcmp(cfg.accel, "auto") != 0 && strcmp(cfg.accel, "kvm") != 0 &&
        strcmp(cfg.accel, "tcg") != 0) {
        fprintf(stderr, "cntb-agent: --accel: must be auto, kvm or tcg\n");
        return 2;
    }
    if ((cfg.parent && (!netns_name_valid(cfg.parent) || strlen(cfg.parent) > 31)) ||
        (cfg.vm_accel && strcmp(cfg.vm_accel, "kvm") != 0 && strcmp(cfg.vm_accel, "tcg") != 0) ||
        cfg.vm_vcpus < 0 || cfg.vm_vcpus > 64 || cfg.vm_memory_mb < 0 ||
        cfg.vm_memory_mb > 65536) {
        fprintf(stderr, "cntb-agent: --parent, --vm-accel, --vm-vcpus or --vm-memory invalid\n");
        return 2;
    }
    if (!cfg.vm_image) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
            self[n] = '\0';
            snprintf(vmimage, sizeof vmimage, "%s/../vm", dirname(self));
            char *real = realpath(vmimage, NULL);
            if (real) {
                snprintf(vmimage, sizeof vmimage, "%s", real);
                free(real);
            }
            cfg.vm_image = vmimage;
        }
    }
    if (!cfg.traffic_path) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) {
            fprintf(stderr, "cntb-agent: cannot find own path\n");
            return 3;
        }
        self[n] = '\0';
        snprintf(traffic, sizeof traffic, "%s/cntb-traffic", dirname(self));
        cfg.traffic_path = traffic;
    }
    if (access(cfg.traffic_path, X_OK) != 0) {
        fprintf(stderr, "cntb-agent: %s: not executable\n", cfg.traffic_path);
        return 3;
    }
    if (cfg.cert_path && (access(cfg.cert_path, R_OK) != 0 ||
                          access(cfg.controller_cert_path, R_OK) != 0)) {
        fprintf(stderr, "cntb-agent: cannot read %s or %s\n", cfg.cert_path,
                cfg.controller_cert_path);
        return 3;
    }
    static char statedir[PATH_MAX];
    if (!cfg.state_dir && pidfile && strlen(pidfile) < sizeof statedir) {
        snprintf(statedir, sizeof statedir, "%s", pidfile);
        char *slash = strrchr(statedir, '/');
        if (slash && slash != statedir) {
            *slash = '\0';
            cfg.state_dir = statedir;
        }
    }
    if (daemon) {
        char err[4200];
        if (agent_daemon_start(logfile, pidfile, err, sizeof err) != 0) {
            fprintf(stderr, "cntb-agent: %s\n", err);
            return 1;
        }
    }
    log_init("cntb-agent", cfg.host);
    zsys_init();
    zsys_set_logstream(stderr);
    return agent_run(&cfg) == 0 ? 0 : 1;
}
