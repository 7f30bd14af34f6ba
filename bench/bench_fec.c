/*
 * `wzp-bench fec`: microseconds per block to encode (K repair symbols from K source symbols) and
 * to decode at 20/30/50% source loss, for K = 5, 8, 10 and T = 256. The lcrq baseline runs in
 * the same invocation as a separate process (wzp-bench-lcrq-baseline, built beside wzp-bench in
 * the build tree, never installed: lcrq is GPL) and each figure is reported with the ratio.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_util.h"
#include "wzp/fec.h"

#define T 256
static const unsigned k_ks[] = {5, 8, 10};
static const unsigned k_loss[] = {20, 30, 50};

static double our_encode_us(unsigned k, const uint8_t *src, unsigned iters) {
    const wzp_rq_code *code = NULL;
    if (wzp_rq_code_get(k, &code) != WZP_OK) {
        return -1;
    }
    static uint8_t rep[64 * T];
    double t0 = bench_now_us();
    for (unsigned it = 0; it < iters; it++) {
        for (uint32_t esi = k; esi < 2 * k; esi++) {
            if (wzp_rq_encode(code, k, src, T, esi, rep + (esi - k) * T) != WZP_OK) {
                return -1;
            }
        }
    }
    return (bench_now_us() - t0) / iters;
}

static double our_decode_us(unsigned k, const uint8_t *src, unsigned lost, unsigned iters) {
    const wzp_rq_code *code = NULL;
    if (wzp_rq_code_get(k, &code) != WZP_OK) {
        return -1;
    }
    static uint8_t syms[64 * T], out[64 * T], scratch[1 << 17];
    uint32_t esis[64];
    const uint8_t *ptrs[64];
    unsigned n = 0;
    for (uint32_t e = lost; e < k + lost; e++, n++) { /* the first `lost` sources are missing */
        if (wzp_rq_encode(code, k, src, T, e, syms + (size_t)n * T) != WZP_OK) {
            return -1;
        }
        esis[n] = e;
        ptrs[n] = syms + (size_t)n * T;
    }
    double t0 = bench_now_us();
    for (unsigned it = 0; it < iters; it++) {
        if (wzp_rq_decode(code, k, T, esis, ptrs, n, out, scratch, sizeof(scratch)) != WZP_OK) {
            return -1;
        }
    }
    double us = (bench_now_us() - t0) / iters;
    return memcmp(out, src, (size_t)k * T) == 0 ? us : -1;
}

/* Run the lcrq helper and parse its JSON; NULL when it is not there. */
static cJSON *lcrq_baseline(const char *self_dir) {
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "'%s/wzp-bench-lcrq-baseline' 2>/dev/null", self_dir);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, p);
    int status = pclose(p);
    buf[n] = 0;
    return status == 0 && n > 0 ? cJSON_Parse(buf) : NULL;
}

static double baseline_value(cJSON *base, unsigned k, unsigned loss) {
    char key[16];
    snprintf(key, sizeof(key), "%u", k);
    cJSON *row = cJSON_GetObjectItem(base, key);
    if (loss == 0) {
        return cJSON_GetNumberValue(cJSON_GetObjectItem(row, "encode_us"));
    }
    snprintf(key, sizeof(key), "%u", loss);
    return cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(row, "decode_us"), key));
}

static void add_row(cJSON *rows, FILE *human, unsigned k, unsigned loss, double ours, cJSON *base) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "k", k);
    cJSON_AddStringToObject(r, "op", loss ? "decode" : "encode");
    cJSON_AddNumberToObject(r, "loss_pct", loss);
    cJSON_AddNumberToObject(r, "ours_us", ours);
    double theirs = base ? baseline_value(base, k, loss) : 0.0;
    if (base != NULL && theirs > 0) {
        cJSON_AddNumberToObject(r, "lcrq_us", theirs);
        cJSON_AddNumberToObject(r, "speedup", theirs / ours);
        fprintf(human, "K=%-3u %-6s %3u%% loss   ours %8.3f us   lcrq %8.2f us   %6.0fx\n", k,
                loss ? "decode" : "encode", loss, ours, theirs, theirs / ours);
    } else {
        fprintf(human, "K=%-3u %-6s %3u%% loss   ours %8.3f us   (lcrq baseline not found)\n", k,
                loss ? "decode" : "encode", loss, ours);
    }
    cJSON_AddItemToArray(rows, r);
}

cJSON *wzp_bench_fec(const wzp_bench_opts *opts, FILE *human) {
    unsigned iters = opts->iterations ? opts->iterations : 20000;
    static uint8_t src[64 * T];
    uint64_t s = 42;
    for (size_t i = 0; i < sizeof(src); i++) {
        src[i] = (uint8_t)bench_rand(&s);
    }
    static const char *const simd_names[] = {"scalar", "ssse3", "avx2"};
    cJSON *base = lcrq_baseline(opts->self_dir);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "bench", "fec");
    cJSON_AddNumberToObject(res, "symbol_size", T);
    cJSON_AddStringToObject(res, "simd", simd_names[wzp_fec_simd_current()]);
    cJSON_AddBoolToObject(res, "lcrq_baseline", base != NULL);
    cJSON *rows = cJSON_AddArrayToObject(res, "results");
    fprintf(human, "FEC (RFC 6330), T = %d, SIMD %s: microseconds per block\n", T,
            simd_names[wzp_fec_simd_current()]);
    for (size_t i = 0; i < 3; i++) {
        unsigned k = k_ks[i];
        add_row(rows, human, k, 0, our_encode_us(k, src, iters), base);
        for (size_t j = 0; j < 3; j++) {
            unsigned lost = (k * k_loss[j] + 50) / 100;
            add_row(rows, human, k, k_loss[j], our_decode_us(k, src, lost, iters), base);
        }
    }
    cJSON_Delete(base);
    return res;
}
