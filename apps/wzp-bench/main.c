/* wzp-bench: component and system benchmarks. JSON on stdout, a readable table on stderr. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "wzp/fec.h"

static void usage(FILE *f) {
    fprintf(f, "usage: wzp-bench [fec|crypto|all] [--fec] [--crypto] [--all] [--iterations N]\n"
               "                 [--simd scalar|ssse3|avx2] [--help]\n"
               "  fec, --fec     RFC 6330 encode/decode per block vs the lcrq baseline\n"
               "  crypto         seal+open of 100-byte media frames, ns per packet\n"
               "  all, --all     every benchmark (default)\n"
               "JSON results go to stdout, a human-readable table to stderr.\n");
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"fec", no_argument, NULL, 'f'},
                                         {"crypto", no_argument, NULL, 'c'},
                                         {"all", no_argument, NULL, 'a'},
                                         {"iterations", required_argument, NULL, 'n'},
                                         {"simd", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool fec = false, crypto = false;
    wzp_bench_opts bo = {0};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            fec = true;
            break;
        case 'a':
            fec = true;
            break;
        case 'n':
            bo.iterations = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's': {
            static const char *const names[] = {"scalar", "ssse3", "avx2"};
            int level = -1;
            for (int i = 0; i < 3; i++) {
                level = strcmp(optarg, names[i]) == 0 ? i : level;
            }
            if (level < 0 || wzp_fec_simd_set((wzp_simd_level)level) != WZP_OK) {
                fprintf(stderr, "wzp-bench: SIMD level '%s' unknown or not supported here\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "fec") == 0) {
            fec = true;
        } else if (strcmp(argv[i], "crypto") == 0) {
            crypto = true;
        } else if (strcmp(argv[i], "all") == 0) {
            fec = crypto = true;
        } else {
            fprintf(stderr, "wzp-bench: unknown benchmark '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!fec && !crypto) {
        fec = crypto = true; /* --all is the default */
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = 0;
    bo.self_dir = n > 0 ? dirname(self) : ".";
    cJSON *all = cJSON_CreateArray();
    if (fec) {
        cJSON *r = wzp_bench_fec(&bo, stderr);
        if (r == NULL) {
            fprintf(stderr, "wzp-bench: fec benchmark failed\n");
            return 1;
        }
        cJSON_AddItemToArray(all, r);
    }
    if (crypto) {
        cJSON *r = wzp_bench_crypto(&bo, stderr);
        if (r == NULL) {
            fprintf(stderr, "wzp-bench: crypto benchmark failed\n");
            return 1;
        }
        cJSON_AddItemToArray(all, r);
    }
    char *text = cJSON_Print(all);
    puts(text);
    free(text);
    cJSON_Delete(all);
    return 0;
}
