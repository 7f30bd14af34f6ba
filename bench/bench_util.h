/* Timing helpers shared by the benchmarks. */
#ifndef WZP_BENCH_UTIL_H
#define WZP_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

static inline double bench_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline uint32_t bench_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 16);
}

#endif
