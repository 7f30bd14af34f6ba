/* The injectable random source (include/wzp/random.h). */
#include <sodium.h>
#include <string.h>

#include "wzp/random.h"

static void sodium_fill(void *user, void *buf, size_t len) {
    (void)user;
    randombytes_buf(buf, len);
}

static wzp_random_source g_src = {sodium_fill, NULL};

void wzp_random_set(const wzp_random_source *src) {
    if (sodium_init() < 0) {
        return; /* libsodium cannot start: nothing in the library works either */
    }
    g_src = src != NULL ? *src : (wzp_random_source){sodium_fill, NULL};
}

void wzp_random_buf(void *buf, size_t len) {
    if (len > 0) {
        g_src.fill(g_src.user, buf, len);
    }
}

uint32_t wzp_random_u32(void) {
    uint32_t v;
    wzp_random_buf(&v, sizeof(v));
    return v;
}

uint32_t wzp_random_uniform(uint32_t bound) {
    if (bound < 2) {
        return 0;
    }
    uint32_t min = (uint32_t)(-bound) % bound; /* 2^32 mod bound: values below are biased */
    for (;;) {
        uint32_t r = wzp_random_u32();
        if (r >= min) {
            return r % bound;
        }
    }
}

static void deterministic_fill(void *user, void *buf, size_t len) {
    wzp_random_deterministic *d = user;
    /* each request is the next block of ChaCha20(seed, nonce = counter): in order, reproducible */
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
    for (int i = 0; i < 8; i++) {
        nonce[i] = (uint8_t)(d->counter >> (8 * i));
    }
    crypto_stream_chacha20(buf, len, nonce, d->seed);
    d->counter++;
}

void wzp_random_deterministic_init(wzp_random_deterministic *d, uint64_t seed) {
    uint8_t le[8];
    for (int i = 0; i < 8; i++) {
        le[i] = (uint8_t)(seed >> (8 * i));
    }
    memset(d, 0, sizeof(*d));
    crypto_generichash(d->seed, sizeof(d->seed), le, sizeof(le), NULL, 0);
}

wzp_random_source wzp_random_deterministic_source(wzp_random_deterministic *d) {
    return (wzp_random_source){deterministic_fill, d};
}
