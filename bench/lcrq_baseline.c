/*
 * The lcrq baseline for `wzp-bench fec`: the same encode and decode work as ours, done by lcrq
 * (GPL), in its own process so no shipped binary links it. Prints one JSON object:
 * {"k":{"encode_us":..,"decode_us":{"20":..,"30":..,"50":..}}, ...}. Built in the build tree
 * only, never installed.
 */
#include <lcrq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define T 256

static double encode_us(unsigned k, const uint8_t *src, unsigned iters) {
    uint8_t sym[T];
    double t0 = bench_now_us();
    for (unsigned it = 0; it < iters; it++) {
        rq_t *rq = rq_init((uint64_t)k * T, T);
        rq_encode(rq, (void *)src, (size_t)k * T);
        for (uint32_t esi = k; esi < 2 * k; esi++) {
            rq_pid_t pid = 0;
            pid = rq_pidsetesi(pid, esi);
            rq_symbol(rq, &pid, sym, 0);
        }
        rq_free(rq);
    }
    return (bench_now_us() - t0) / iters;
}

static double decode_us(unsigned k, const uint8_t *src, unsigned lost, unsigned iters) {
    static uint8_t enc[64 * T], dec[64 * T];
    uint32_t esi[64];
    rq_t *rq = rq_init((uint64_t)k * T, T);
    rq_encode(rq, (void *)src, (size_t)k * T);
    unsigned n = 0;
    for (uint32_t e = lost; e < k + lost; e++) { /* first `lost` sources missing */
        rq_pid_t pid = 0;
        pid = rq_pidsetesi(pid, e);
        rq_symbol(rq, &pid, enc + (size_t)n * T, 0);
        esi[n++] = e;
    }
    rq_free(rq);
    double t0 = bench_now_us();
    int failures = 0;
    for (unsigned it = 0; it < iters; it++) {
        rq_t *d = rq_init((uint64_t)k * T, T);
        failures += rq_decode(d, dec, enc, esi, n) != 0;
        rq_free(d);
    }
    double us = (bench_now_us() - t0) / iters;
    if (failures || memcmp(dec, src, (size_t)k * T) != 0) {
        fprintf(stderr, "lcrq: decode failed for K=%u\n", k);
        exit(1);
    }
    return us;
}

int main(void) {
    static const unsigned ks[] = {5, 8, 10};
    static const unsigned loss[] = {20, 30, 50};
    static uint8_t src[64 * T];
    uint64_t s = 42;
    for (size_t i = 0; i < sizeof(src); i++) {
        src[i] = (uint8_t)bench_rand(&s);
    }
    printf("{");
    for (size_t i = 0; i < 3; i++) {
        unsigned k = ks[i];
        printf("%s\"%u\":{\"encode_us\":%.2f,\"decode_us\":{", i ? "," : "", k,
               encode_us(k, src, 300));
        for (size_t j = 0; j < 3; j++) {
            unsigned lost = (k * loss[j] + 50) / 100;
            printf("%s\"%u\":%.2f", j ? "," : "", loss[j], decode_us(k, src, lost, 300));
        }
        printf("}}");
    }
    printf("}\n");
    return 0;
}
