/* HKDF-SHA256 (RFC 5869) through GnuTLS, and other small internal crypto helpers. */
#ifndef WZP_CRYPTO_KDF_H
#define WZP_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

/* PRK = HKDF-Extract(salt, ikm); a NULL salt means no salt (HashLen zero bytes). */
int wzp__hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                      uint8_t prk[32]);
/* OKM = HKDF-Expand(prk, info, len) */
int wzp__hkdf_expand(const uint8_t prk[32], const char *info, uint8_t *out, size_t len);
/* Extract then expand in one call. */
int wzp__hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
              const char *info, uint8_t *out, size_t len);

#endif
