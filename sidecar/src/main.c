/* main.c — byron-sidecar entry point. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byron/log.h"

static void usage(FILE *f) {
    fprintf(f, "usage: byron-sidecar [--log-level debug|info|warn|error] [--version] [--help]\n");
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"log-level", required_argument, NULL, 'l'},
                                         {"version", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int level = BYRON_LOG_INFO, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if ((level = byron_log_level_parse(optarg)) < 0) {
                fprintf(stderr, "byron-sidecar: --log-level: unknown level '%s'\n", optarg);
                return 2;
            }
            break;
        case 'v': printf("byron-sidecar %s\n", BYRON_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    byron_log_setup("sidecar", (byron_log_level_t)level, 2);
    byron_log(BYRON_LOG_INFO, "starting", "version", BYRON_VERSION, (char *)NULL);
    return 0;
}
