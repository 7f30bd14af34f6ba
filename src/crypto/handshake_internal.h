/* Test hooks for the handshake: deterministic ephemeral keys for cross-implementation vectors.
 * Not for production use. */
#ifndef WZP_CRYPTO_HANDSHAKE_INTERNAL_H
#define WZP_CRYPTO_HANDSHAKE_INTERNAL_H

#include "wzp/crypto.h"

/* Replace the handshake's ephemeral X25519 secret (before the offer or answer is made). */
void wzp__hs_set_ephemeral(wzp_handshake *hs, const uint8_t sk[WZP_KEY_SIZE]);
/* The transcript hash (valid after the answer). */
void wzp__hs_transcript(const wzp_handshake *hs, uint8_t th[32]);
/* The peer's ephemeral public key (valid once its offer or answer was taken). */
void wzp__hs_peer_ephemeral(const wzp_handshake *hs, uint8_t pk[32]);

#endif
