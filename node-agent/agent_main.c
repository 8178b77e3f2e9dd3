/*
 * agent_main.c — cntb-agent's command line.  See docs/cntb-agent.md.
 */
#include "agent.h"
#include "log.h"
#include "nl.h"

#include <czmq.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: cntb-agent --controller tcp://ADDR:PORT --host NAME --address ADDR\n"
            "                  [--kind bare-metal|vm] [--underlay-if IF] [--traffic PATH]\n"
            "                  [--vm-image DIR] [--accel auto|kvm|tcg]\n"
            "                  [--parent HOST --vm-accel kvm|tcg --vm-vcpus N --vm-memory MIB]\n"
            "Runs the node agent: connects to the controller and executes the steps of runs.\n"
            "  --controller  the controller's agent endpoint\n"
            "  --host        this host's name in the testbed ([A-Za-z0-9_.-], <= 31 bytes)\n"
            "  --address     this host's underlay IPv4 address\n"
            "  --kind        bare-metal (default) or vm\n"
            "  --underlay-if the underlay link (default eth0)\n"
            "  --traffic     path of cntb-traffic (default: beside this program)\n"
            "  --vm-image    directory with the nested VMs' vmlinuz and initrd.img\n"
            "                (default: ../vm beside this program, where testbed/vm/build-image\n"
            "                puts them)\n"
            "  --accel       accelerator of the VMs this host starts: auto (default: KVM\n"
            "                when a probe boot succeeds, else TCG), kvm or tcg\n"
            "  --parent, --vm-accel, --vm-vcpus, --vm-memory\n"
            "                kind vm only: the host the VM runs on and its shape, reported\n"
            "                in HELLO and in every result (the VM's /init passes them)\n"
            "Stops on SIGTERM or SIGINT after tearing down every run it holds.\n");
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "controller", required_argument, NULL, 'c' }, { "host", required_argument, NULL, 'H' },
        { "address", required_argument, NULL, 'a' },    { "kind", required_argument, NULL, 'k' },
        { "underlay-if", required_argument, NULL, 'u' }, { "traffic", required_argument, NULL, 't' },
        { "vm-image", required_argument, NULL, 'I' },   { "accel", required_argument, NULL, 'A' },
        { "parent", required_argument, NULL, 'P' },     { "vm-accel", required_argument, NULL, 'x' },
        { "vm-vcpus", required_argument, NULL, 'n' },   { "vm-memory", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },             { NULL, 0, NULL, 0 }
    };
    agent_config_t cfg = { .kind = "bare-metal", .underlay_if = "eth0", .accel = "auto" };
    static char traffic[PATH_MAX], vmimage[PATH_MAX];
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cfg.endpoint = optarg; break;
        case 'H': cfg.host = optarg; break;
        case 'a': cfg.underlay_addr = optarg; break;
        case 'k': cfg.kind = optarg; break;
        case 'u': cfg.underlay_if = optarg; break;
        case 't': cfg.traffic_path = optarg; break;
        case 'I': cfg.vm_image = optarg; break;
        case 'A': cfg.accel = optarg; break;
        case 'P': cfg.parent = optarg[0] ? optarg : NULL; break;
        case 'x': cfg.vm_accel = optarg[0] ? optarg : NULL; break;
        case 'n': cfg.vm_vcpus = atoi(optarg); break;
        case 'm': cfg.vm_memory_mb = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
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
    log_init("cntb-agent", cfg.host);
    zsys_init();
    zsys_set_logstream(stderr);
    return agent_run(&cfg) == 0 ? 0 : 1;
}
