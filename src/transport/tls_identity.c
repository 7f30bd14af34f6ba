/*
 * The relay's TLS identity: Ed25519 from the relay seed by HKDF (SPEC §5, "wzp-tls-ed25519"),
 * and a self-signed X.509 certificate whose every field is fixed (serial from the key, validity
 * 2020-2100), so that with Ed25519's deterministic signatures the same seed always gives the same
 * certificate and fingerprint.
 */
#include <ctype.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/kdf.h"
#include "transport/tls_internal.h"
#include "wzp/crypto.h"
#include "wzp/transport.h"
#include "wzp/alloc.h"

struct wzp_tls_identity {
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    gnutls_datum_t der;
    uint8_t fingerprint[WZP_TLS_FINGERPRINT_SIZE];
    uint8_t reset_secret[32]; /* QUIC stateless resets: the same after a restart */
};

void wzp_tls_identity_free(wzp_tls_identity *id) {
    if (id == NULL) {
        return;
    }
    if (id->key != NULL) {
        gnutls_x509_privkey_deinit(id->key);
    }
    if (id->crt != NULL) {
        gnutls_x509_crt_deinit(id->crt);
    }
    gnutls_free(id->der.data);
    sodium_memzero(id, sizeof(*id));
    wzp_free(id);
}

static int make_key(wzp_tls_identity *id, const uint8_t seed[32]) {
    uint8_t sk_seed[32], pk[32], sk[64];
    int rc = wzp__hkdf(NULL, 0, seed, 32, "wzp-tls-ed25519", sk_seed, 32);
    if (rc == WZP_OK && crypto_sign_seed_keypair(pk, sk, sk_seed) != 0) {
        rc = WZP_ERR_CRYPTO;
    }
    gnutls_datum_t x = {pk, 32}, k = {sk_seed, 32};
    if (rc == WZP_OK &&
        (gnutls_x509_privkey_init(&id->key) < 0 ||
         gnutls_x509_privkey_import_ecc_raw(id->key, GNUTLS_ECC_CURVE_ED25519, &x, NULL, &k) < 0)) {
        rc = WZP_ERR_CRYPTO;
    }
    sodium_memzero(sk_seed, sizeof(sk_seed));
    sodium_memzero(sk, sizeof(sk));
    return rc;
}

static int make_cert(wzp_tls_identity *id) {
    uint8_t serial[8];
    size_t serial_len = sizeof(serial);
    unsigned char kid[32];
    size_t kid_len = sizeof(kid);
    if (gnutls_x509_privkey_get_key_id(id->key, 0, kid, &kid_len) < 0) {
        return WZP_ERR_CRYPTO;
    }
    memcpy(serial, kid, serial_len);
    serial[0] &= 0x7F; /* a positive serial number */
    int ok = gnutls_x509_crt_init(&id->crt) >= 0 && gnutls_x509_crt_set_version(id->crt, 3) >= 0 &&
             gnutls_x509_crt_set_serial(id->crt, serial, serial_len) >= 0 &&
             gnutls_x509_crt_set_activation_time(id->crt, 1577836800) >= 0 && /* 2020-01-01 */
             gnutls_x509_crt_set_expiration_time(id->crt, 4102444800) >= 0 && /* 2100-01-01 */
             gnutls_x509_crt_set_dn(id->crt, "CN=wzp-relay", NULL) >= 0 &&
             gnutls_x509_crt_set_issuer_dn(id->crt, "CN=wzp-relay", NULL) >= 0 &&
             gnutls_x509_crt_set_key(id->crt, id->key) >= 0 &&
             gnutls_x509_crt_set_basic_constraints(id->crt, 0, -1) >= 0 &&
             gnutls_x509_crt_set_key_usage(id->crt, GNUTLS_KEY_DIGITAL_SIGNATURE) >= 0 &&
             gnutls_x509_crt_sign2(id->crt, id->crt, id->key, 0, 0) >= 0 &&
             gnutls_x509_crt_export2(id->crt, GNUTLS_X509_FMT_DER, &id->der) >= 0;
    if (!ok) {
        return WZP_ERR_CRYPTO;
    }
    crypto_hash_sha256(id->fingerprint, id->der.data, id->der.size);
    return WZP_OK;
}

int wzp_tls_identity_from_seed(const uint8_t seed[32], wzp_tls_identity **out) {
    int rc = wzp_crypto_init();
    if (rc != WZP_OK) {
        return rc;
    }
    wzp_tls_identity *id = wzp_calloc(1, sizeof(*id));
    if (id == NULL) {
        return WZP_ERR_NOMEM;
    }
    rc = make_key(id, seed);
    if (rc == WZP_OK) {
        rc = wzp__hkdf(NULL, 0, seed, 32, "wzp-quic-stateless-reset", id->reset_secret, 32);
    }
    if (rc == WZP_OK) {
        rc = make_cert(id);
    }
    if (rc != WZP_OK) {
        wzp_tls_identity_free(id);
        return rc;
    }
    *out = id;
    return WZP_OK;
}

void wzp_tls_identity_fingerprint(const wzp_tls_identity *id,
                                  uint8_t out[WZP_TLS_FINGERPRINT_SIZE]) {
    memcpy(out, id->fingerprint, WZP_TLS_FINGERPRINT_SIZE);
}

void wzp_tls_identity_certificate(const wzp_tls_identity *id, const uint8_t **der, size_t *len) {
    *der = id->der.data;
    *len = id->der.size;
}

void wzp_tls_fingerprint_format(const uint8_t fp[WZP_TLS_FINGERPRINT_SIZE],
                                char out[WZP_TLS_FINGERPRINT_TEXT]) {
    static const char hex[] = "0123456789abcdef";
    size_t pos = 0;
    for (size_t i = 0; i < WZP_TLS_FINGERPRINT_SIZE; i++) {
        if (i > 0) {
            out[pos++] = ':';
        }
        out[pos++] = hex[fp[i] >> 4];
        out[pos++] = hex[fp[i] & 15];
    }
    out[pos] = '\0';
}

int wzp_tls_fingerprint_parse(const char *text, uint8_t out[WZP_TLS_FINGERPRINT_SIZE]) {
    uint8_t fp[WZP_TLS_FINGERPRINT_SIZE];
    if (strlen(text) != WZP_TLS_FINGERPRINT_TEXT - 1) {
        return WZP_ERR_MALFORMED;
    }
    for (size_t i = 0; i < WZP_TLS_FINGERPRINT_SIZE; i++) {
        const char *p = text + i * 3;
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
            (i + 1 < WZP_TLS_FINGERPRINT_SIZE && p[2] != ':')) {
            return WZP_ERR_MALFORMED;
        }
        unsigned v = 0;
        if (sscanf(p, "%2x", &v) != 1) {
            return WZP_ERR_MALFORMED;
        }
        fp[i] = (uint8_t)v;
    }
    memcpy(out, fp, sizeof(fp));
    return WZP_OK;
}

gnutls_x509_crt_t wzp__tls_identity_crt(wzp_tls_identity *id) {
    return id->crt;
}

gnutls_x509_privkey_t wzp__tls_identity_key(wzp_tls_identity *id) {
    return id->key;
}

const uint8_t *wzp__tls_identity_reset_secret(const wzp_tls_identity *id) {
    return id->reset_secret;
}
