/*
 * The library's one source of randomness. By default it is libsodium's CSPRNG; a test may install
 * a deterministic source so that keyed flows (session ids, sender keys, handshake ephemerals,
 * QUIC connection ids) repeat exactly from a seed. Secrets from a deterministic source are
 * worthless: wzp_random_set is for tests and simulations only.
 */
#ifndef WZP_RANDOM_H
#define WZP_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wzp_random_source {
    void (*fill)(void *user, void *buf, size_t len);
    void *user;
} wzp_random_source;

/* Replace the source (NULL restores libsodium's). Not thread-safe: call before any other libwzp
 * function, or from a single-threaded test. */
void wzp_random_set(const wzp_random_source *src);
/* `len` random bytes into `buf`. */
void wzp_random_buf(void *buf, size_t len);
uint32_t wzp_random_u32(void);
/* Uniform in [0, bound) (bound > 0), without modulo bias. */
uint32_t wzp_random_uniform(uint32_t bound);

/* A deterministic source: a ChaCha20 stream keyed by `seed`, consumed in order. The state lives in
 * `*d`, which must outlive its installation. */
typedef struct wzp_random_deterministic {
    uint8_t seed[32];
    uint64_t counter;
} wzp_random_deterministic;
void wzp_random_deterministic_init(wzp_random_deterministic *d, uint64_t seed);
/* A source reading from `d` (for wzp_random_set). */
wzp_random_source wzp_random_deterministic_source(wzp_random_deterministic *d);

#ifdef __cplusplus
}
#endif
#endif
