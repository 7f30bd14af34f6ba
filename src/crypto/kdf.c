/* HKDF-SHA256 via GnuTLS (gnutls_hkdf_extract / gnutls_hkdf_expand), and libsodium's one-time
 * initialisation. */
#include "crypto/kdf.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>
#include <string.h>

#include "wzp/crypto.h"

int wzp_crypto_init(void) {
    return sodium_init() < 0 ? WZP_ERR_CRYPTO : WZP_OK;
}

int wzp__hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                      uint8_t prk[32]) {
    static const uint8_t zero_salt[32] = {0};
    gnutls_datum_t key = {(unsigned char *)(uintptr_t)ikm, (unsigned)ikm_len};
    gnutls_datum_t s = {(unsigned char *)(uintptr_t)(salt ? salt : zero_salt),
                        (unsigned)(salt ? salt_len : sizeof(zero_salt))};
    return gnutls_hkdf_extract(GNUTLS_MAC_SHA256, &key, &s, prk) == 0 ? WZP_OK : WZP_ERR_CRYPTO;
}

int wzp__hkdf_expand(const uint8_t prk[32], const char *info, uint8_t *out, size_t len) {
    gnutls_datum_t key = {(unsigned char *)(uintptr_t)prk, 32};
    gnutls_datum_t i = {(unsigned char *)(uintptr_t)info, (unsigned)strlen(info)};
    return gnutls_hkdf_expand(GNUTLS_MAC_SHA256, &key, &i, out, len) == 0 ? WZP_OK : WZP_ERR_CRYPTO;
}

int wzp__hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
              const char *info, uint8_t *out, size_t len) {
    uint8_t prk[32];
    int rc = wzp__hkdf_extract(salt, salt_len, ikm, ikm_len, prk);
    if (rc == WZP_OK) {
        rc = wzp__hkdf_expand(prk, info, out, len);
    }
    sodium_memzero(prk, sizeof(prk));
    return rc;
}
