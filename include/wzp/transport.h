/*
 * The network side (SPEC §8, issue "QUIC transport"): the relay's TLS identity today; the QUIC
 * control plane over ngtcp2 + GnuTLS and the media plane beside it land with the transport
 * issue. Every ngtcp2 call will live in src/transport/quic.c only.
 */
#ifndef WZP_TRANSPORT_H
#define WZP_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_TLS_FINGERPRINT_SIZE 32
#define WZP_TLS_FINGERPRINT_TEXT 96 /* 32 hex pairs, 31 colons, NUL */
#define WZP_ALPN                 "wzp"

/* A relay's TLS identity: an Ed25519 key derived from the relay seed (HKDF, info
 * "wzp-tls-ed25519", SPEC §5) and a self-signed certificate built deterministically from it, so
 * the certificate fingerprint stays the same across restarts without storing the certificate. */
typedef struct wzp_tls_identity wzp_tls_identity;

WZP_MUST_CHECK int wzp_tls_identity_from_seed(const uint8_t seed[32], wzp_tls_identity **out);
void wzp_tls_identity_free(wzp_tls_identity *id);
/* SHA-256 of the certificate's DER encoding (what clients pin). */
void wzp_tls_identity_fingerprint(const wzp_tls_identity *id,
                                  uint8_t out[WZP_TLS_FINGERPRINT_SIZE]);
/* The certificate in DER (valid while the identity lives). */
void wzp_tls_identity_certificate(const wzp_tls_identity *id, const uint8_t **der, size_t *len);
/* "ab:cd:...": 32 lowercase hex pairs joined by ':' (SPEC §5). */
void wzp_tls_fingerprint_format(const uint8_t fp[WZP_TLS_FINGERPRINT_SIZE],
                                char out[WZP_TLS_FINGERPRINT_TEXT]);
/* Parse that form (case-insensitive). Errors: WZP_ERR_MALFORMED. */
WZP_MUST_CHECK int wzp_tls_fingerprint_parse(const char *text,
                                             uint8_t out[WZP_TLS_FINGERPRINT_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
