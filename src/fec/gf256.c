/*
 * GF(256) for RFC 6330 (§5.7). Multiplication goes through log/exp tables; the region
 * multiply-add that dominates FEC uses split-nibble lookup tables: with SSSE3/AVX2, pshufb looks
 * up 16/32 products at once (the technique of Plank et al., "Screaming fast Galois field
 * arithmetic"); the portable version indexes a 256-entry product row per constant.
 */
#include "fec/gf256.h"

#include <pthread.h>
#include <string.h>

#include "wzp/fec.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WZP_GF_X86 1
#endif

static uint8_t g_exp[512];
static uint8_t g_log[256];
static uint8_t g_mul[256][256];   /* g_mul[c][x] = c * x */
static uint8_t g_nib[256][2][16]; /* products of c with low / high nibbles */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static wzp_simd_level g_level = WZP_SIMD_SCALAR;
static wzp_simd_level g_best = WZP_SIMD_SCALAR;

static void build_tables(void) {
    unsigned x = 1;
    for (unsigned i = 0; i < 255; i++) {
        g_exp[i] = (uint8_t)x;
        g_exp[i + 255] = (uint8_t)x;
        g_log[x] = (uint8_t)i;
        x <<= 1;
        if (x & 0x100) {
            x ^= 0x11D; /* RFC 6330 §5.7.3 */
        }
    }
    g_exp[510] = g_exp[0];
    g_exp[511] = g_exp[1];
    for (unsigned c = 0; c < 256; c++) {
        for (unsigned v = 0; v < 256; v++) {
            g_mul[c][v] = (c == 0 || v == 0) ? 0 : g_exp[g_log[c] + g_log[v]];
        }
        for (unsigned n = 0; n < 16; n++) {
            g_nib[c][0][n] = g_mul[c][n];
            g_nib[c][1][n] = g_mul[c][n << 4];
        }
    }
#ifdef WZP_GF_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("ssse3")) {
        g_best = WZP_SIMD_SSSE3;
    }
    if (__builtin_cpu_supports("avx2")) {
        g_best = WZP_SIMD_AVX2;
    }
#endif
    g_level = g_best;
}

void wzp__gf_init(void) {
    pthread_once(&g_once, build_tables);
}

uint8_t wzp__gf_mul(uint8_t a, uint8_t b) {
    return g_mul[a][b];
}

uint8_t wzp__gf_inv(uint8_t a) {
    return g_exp[255 - g_log[a]];
}

uint8_t wzp__gf_exp(unsigned e) {
    return g_exp[e % 255];
}

wzp_simd_level wzp_fec_simd_best(void) {
    wzp__gf_init();
    return g_best;
}

wzp_simd_level wzp_fec_simd_current(void) {
    wzp__gf_init();
    return g_level;
}

int wzp_fec_simd_set(wzp_simd_level level) {
    wzp__gf_init();
    if (level < WZP_SIMD_SCALAR || level > g_best) {
        return WZP_ERR_INVALID_ARG;
    }
    g_level = level;
    return WZP_OK;
}

static void muladd_scalar(uint8_t *dst, const uint8_t *src, uint8_t c, size_t n) {
    const uint8_t *row = g_mul[c];
    for (size_t i = 0; i < n; i++) {
        dst[i] ^= row[src[i]];
    }
}

static void xor_scalar(uint8_t *dst, const uint8_t *src, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        memcpy(&a, dst + i, 8);
        memcpy(&b, src + i, 8);
        a ^= b;
        memcpy(dst + i, &a, 8);
    }
    for (; i < n; i++) {
        dst[i] ^= src[i];
    }
}

#ifdef WZP_GF_X86
__attribute__((target("ssse3"))) static size_t muladd_ssse3(uint8_t *dst, const uint8_t *src,
                                                            uint8_t c, size_t n) {
    const __m128i lo = _mm_loadu_si128((const __m128i *)g_nib[c][0]);
    const __m128i hi = _mm_loadu_si128((const __m128i *)g_nib[c][1]);
    const __m128i mask = _mm_set1_epi8(0x0F);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i s = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i l = _mm_and_si128(s, mask);
        __m128i h = _mm_and_si128(_mm_srli_epi64(s, 4), mask);
        __m128i p = _mm_xor_si128(_mm_shuffle_epi8(lo, l), _mm_shuffle_epi8(hi, h));
        __m128i d = _mm_loadu_si128((const __m128i *)(dst + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(d, p));
    }
    return i;
}

__attribute__((target("avx2"))) static size_t muladd_avx2(uint8_t *dst, const uint8_t *src,
                                                          uint8_t c, size_t n) {
    const __m256i lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)g_nib[c][0]));
    const __m256i hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)g_nib[c][1]));
    const __m256i mask = _mm256_set1_epi8(0x0F);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i s = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i l = _mm256_and_si256(s, mask);
        __m256i h = _mm256_and_si256(_mm256_srli_epi64(s, 4), mask);
        __m256i p = _mm256_xor_si256(_mm256_shuffle_epi8(lo, l), _mm256_shuffle_epi8(hi, h));
        __m256i d = _mm256_loadu_si256((const __m256i *)(dst + i));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(d, p));
    }
    return i;
}
#endif

void wzp__gf_muladd(uint8_t *dst, const uint8_t *src, uint8_t c, size_t n) {
    if (c == 0) {
        return;
    }
    if (c == 1) {
        xor_scalar(dst, src, n); /* the compiler vectorises this */
        return;
    }
    size_t done = 0;
#ifdef WZP_GF_X86
    if (g_level == WZP_SIMD_AVX2) {
        done = muladd_avx2(dst, src, c, n);
    }
    if (g_level >= WZP_SIMD_SSSE3) {
        done += muladd_ssse3(dst + done, src + done, c, n - done);
    }
#endif
    muladd_scalar(dst + done, src + done, c, n - done);
}

void wzp__gf_scale(uint8_t *dst, uint8_t c, size_t n) {
    const uint8_t *row = g_mul[c];
    for (size_t i = 0; i < n; i++) {
        dst[i] = row[dst[i]];
    }
}
