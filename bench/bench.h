/* wzp-bench's benchmarks: each returns a cJSON object with its figures (NULL on failure) and
 * prints a human-readable table to `human`. */
#ifndef WZP_BENCH_H
#define WZP_BENCH_H

#include <cjson/cJSON.h>
#include <stdio.h>

typedef struct wzp_bench_opts {
    const char *self_dir;              /* directory of the wzp-bench executable (finds helpers) */
    unsigned iterations;               /* 0: the benchmark's default */
    unsigned sessions, rooms, seconds; /* relay: streams, rooms, measured seconds (0: default) */
} wzp_bench_opts;

cJSON *wzp_bench_fec(const wzp_bench_opts *opts, FILE *human);
cJSON *wzp_bench_crypto(const wzp_bench_opts *opts, FILE *human);
cJSON *wzp_bench_codec(const wzp_bench_opts *opts, FILE *human);
cJSON *wzp_bench_pipeline(const wzp_bench_opts *opts, FILE *human);
cJSON *wzp_bench_trunk(const wzp_bench_opts *opts, FILE *human);
cJSON *wzp_bench_quality(const wzp_bench_opts *opts, FILE *human);
cJSON *wzp_bench_relay(const wzp_bench_opts *opts, FILE *human);

#endif
