/*
 * cmd_keys.c — `cntb keys generate --testbed FILE [--force]`: the CURVE
 * certificates of the controller and of every host (controller/keys.h).
 */
#include "cli.h"

#include "ferr.h"
#include "keys.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void
usage(FILE *f)
{
    fprintf(f, "usage: cntb keys generate --testbed FILE [--force]\n"
               "Makes the CURVE certificates of the testbed's control plane in its \"keys\"\n"
               "directory (relative to the testbed file): controller.cert(+_secret), and per\n"
               "host hosts/HOST.cert (public: the controller accepts it) and\n"
               "secret/HOST.cert(+_secret) (uploaded to the host by cntb deploy).  Existing\n"
               "certificates are kept; --force makes all anew (deployed agents are then\n"
               "refused until deployed again).  Revoke a host: remove hosts/HOST.cert.\n");
}

int
cmd_keys(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "generate") != 0) {
        cli_error("unknown keys command \"%s\" (cntb keys --help)", argv[1]);
        return EXIT_USAGE;
    }
    static const struct option opts[] = { { "testbed", required_argument, NULL, 't' },
                                          { "force", no_argument, NULL, 'f' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *file = NULL;
    bool force = false;
    int c;
    optind = 1;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': file = optarg; break;
        case 'f': force = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (!file) {
        cli_error("--testbed is required for keys generate (FILE: the testbed file)");
        return EXIT_USAGE;
    }
    if (optind != argc) {
        cli_error("unexpected argument \"%s\" (cntb keys --help)", argv[optind]);
        return EXIT_USAGE;
    }
    char err[FERR_MAX];
    testbed_t *tb = testbed_load_file(file, err);
    if (!tb) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    int rc = 0;
    if (!tb->keys[0]) {
        cli_error("%s: the testbed has no \"keys\" directory (add \"keys\": \"%s.keys\")", file,
                  tb->name);
        rc = EXIT_USAGE;
        goto out;
    }
    int made = keys_generate(tb, force, err, sizeof err);
    if (made < 0) {
        cli_error("%s", err);
        rc = EXIT_ENV;
        goto out;
    }
    printf("testbed %s: %d certificates made in %s (%d hosts)\n", tb->name, made, tb->keys_path,
           tb->host_count);
out:
    testbed_destroy(&tb);
    return rc;
}
