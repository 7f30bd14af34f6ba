/* GF(256) arithmetic for RFC 6330 (§5.7: polynomial x^8 + x^4 + x^3 + x^2 + 1, alpha = 2) and
 * the region operations FEC spends its time in, with SSSE3/AVX2 versions chosen at run time. */
#ifndef WZP_FEC_GF256_H
#define WZP_FEC_GF256_H

#include <stddef.h>
#include <stdint.h>

void wzp__gf_init(void);
uint8_t wzp__gf_mul(uint8_t a, uint8_t b);
uint8_t wzp__gf_inv(uint8_t a);  /* a != 0 */
uint8_t wzp__gf_exp(unsigned e); /* alpha^e */
/* dst[i] ^= c * src[i] */
void wzp__gf_muladd(uint8_t *dst, const uint8_t *src, uint8_t c, size_t n);
/* dst[i] = c * dst[i] */
void wzp__gf_scale(uint8_t *dst, uint8_t c, size_t n);

#endif
