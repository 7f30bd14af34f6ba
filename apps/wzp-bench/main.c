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

typedef struct bench {
    const char *name;
    const char *help;
    cJSON *(*run)(const wzp_bench_opts *opts, FILE *human);
    bool selected;
} bench;

static bench g_benches[] = {
    {"codec", "encode/decode per frame for each codec (1000 frames)", wzp_bench_codec, false},
    {"fec", "RFC 6330 encode/decode per block vs the lcrq baseline", wzp_bench_fec, false},
    {"crypto", "seal+open of 100-byte media frames, ns per packet", wzp_bench_crypto, false},
    {"pipeline", "CPU per frame for each stage of the call chain", wzp_bench_pipeline, false},
    {"trunk", "datagrams and bytes trunking saves a receiver, by room size", wzp_bench_trunk,
     false},
    {"quality", "frames heard per tier under random and bursty loss (simulated time)",
     wzp_bench_quality, false},
    {"relay", "the relay under N streams in M rooms vs a recvmmsg/sendmmsg forwarder",
     wzp_bench_relay, false},
};
#define NBENCH (sizeof(g_benches) / sizeof(g_benches[0]))

static void usage(FILE *f) {
    fprintf(f,
            "usage: wzp-bench [BENCH...] [--BENCH...] [--all] [--iterations N]\n"
            "                 [--simd scalar|ssse3|avx2] [--help]\n"
            "                 relay: [--sessions N (1000)] [--rooms M (N/2)] [--seconds S (30)]\n");
    for (size_t i = 0; i < NBENCH; i++) {
        fprintf(f, "  %-10s %s\n", g_benches[i].name, g_benches[i].help);
    }
    fprintf(f, "  all        every benchmark (the default)\n"
               "JSON results go to stdout, a human-readable table to stderr.\n");
}

static bool select_bench(const char *name) {
    if (strcmp(name, "all") == 0) {
        for (size_t i = 0; i < NBENCH; i++) {
            g_benches[i].selected = true;
        }
        return true;
    }
    for (size_t i = 0; i < NBENCH; i++) {
        if (strcmp(name, g_benches[i].name) == 0) {
            g_benches[i].selected = true;
            return true;
        }
    }
    return false;
}

static int set_simd(const char *arg) {
    static const char *const names[] = {"scalar", "ssse3", "avx2"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(arg, names[i]) == 0 && wzp_fec_simd_set((wzp_simd_level)i) == WZP_OK) {
            return 0;
        }
    }
    fprintf(stderr, "wzp-bench: SIMD level '%s' unknown or not supported here\n", arg);
    return 2;
}

int main(int argc, char **argv) {
    wzp_bench_opts bo = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--iterations") == 0 && i + 1 < argc) {
            bo.iterations = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--sessions") == 0 && i + 1 < argc) {
            bo.sessions = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--rooms") == 0 && i + 1 < argc) {
            bo.rooms = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--seconds") == 0 && i + 1 < argc) {
            bo.seconds = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--simd") == 0 && i + 1 < argc) {
            if (set_simd(argv[++i]) != 0) {
                return 2;
            }
        } else if (!select_bench(strncmp(a, "--", 2) == 0 ? a + 2 : a)) {
            fprintf(stderr, "wzp-bench: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    bool any = false;
    for (size_t i = 0; i < NBENCH; i++) {
        any = any || g_benches[i].selected;
    }
    if (!any) {
        select_bench("all");
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = 0;
    bo.self_dir = n > 0 ? dirname(self) : ".";
    cJSON *all = cJSON_CreateArray();
    for (size_t i = 0; i < NBENCH; i++) {
        if (!g_benches[i].selected) {
            continue;
        }
        cJSON *r = g_benches[i].run(&bo, stderr);
        if (r == NULL) {
            fprintf(stderr, "wzp-bench: the %s benchmark failed\n", g_benches[i].name);
            cJSON_Delete(all);
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
