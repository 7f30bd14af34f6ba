/*
 * Room sender keys (SFrame-like, RFC 9605): a random 32-byte secret per member and epoch,
 * ratcheted forward with HKDF, handed to each other member sealed over the pairwise channel.
 * The relay routes SenderKey messages but never sees a key.
 */
#include <sodium.h>
#include <string.h>

#include "crypto/kdf.h"
#include "proto/bytes.h"
#include "wzp/crypto.h"
#include "wzp/random.h"

#define PLAIN_SIZE (4 + 1 + WZP_KEY_SIZE + 4)

int wzp_sender_key_new(uint32_t epoch, wzp_sender_key *out) {
    int rc = wzp_crypto_init();
    if (rc != WZP_OK) {
        return rc;
    }
    out->epoch = epoch;
    out->step = 0;
    wzp_random_buf(out->chain, sizeof(out->chain));
    return WZP_OK;
}

void wzp_sender_key_ratchet(wzp_sender_key *sk) {
    uint8_t next[WZP_KEY_SIZE];
    if (wzp__hkdf_expand(sk->chain, "wzp/v1 sender ratchet", next, sizeof(next)) == WZP_OK) {
        memcpy(sk->chain, next, sizeof(next));
        sk->step++;
    }
    sodium_memzero(next, sizeof(next));
}

void wzp_sender_key_media(const wzp_sender_key *sk, uint8_t key[WZP_KEY_SIZE], uint8_t *key_id) {
    if (wzp__hkdf_expand(sk->chain, "wzp/v1 sender media", key, WZP_KEY_SIZE) != WZP_OK) {
        sodium_memzero(key, WZP_KEY_SIZE);
    }
    *key_id = (uint8_t)(sk->epoch * 16u + sk->step);
}

void wzp_sender_key_wipe(wzp_sender_key *sk) {
    sodium_memzero(sk, sizeof(*sk));
}

int wzp_sender_key_wrap(wzp_handshake *peer, const wzp_sender_key *sk, uint32_t session_id,
                        wzp_signal **msg) {
    uint8_t plain[PLAIN_SIZE];
    wzp__put_u32be(plain, sk->epoch);
    plain[4] = sk->step;
    memcpy(plain + 5, sk->chain, WZP_KEY_SIZE);
    wzp__put_u32be(plain + 5 + WZP_KEY_SIZE, session_id);
    wzp_signal *m = wzp_signal_new(WZP_SIG_SENDER_KEY);
    int rc = m == NULL ? WZP_ERR_NOMEM : WZP_OK;
    if (rc == WZP_OK) {
        m->u.sender_key.epoch = sk->epoch;
        m->u.sender_key.sealed.present = true;
        rc = wzp_hs_seal(peer, plain, sizeof(plain), m->u.sender_key.sealed.data,
                         sizeof(m->u.sender_key.sealed.data), &m->u.sender_key.sealed.len);
    }
    sodium_memzero(plain, sizeof(plain));
    if (rc != WZP_OK) {
        wzp_signal_free(m);
        return rc;
    }
    *msg = m;
    return WZP_OK;
}

int wzp_sender_key_unwrap(wzp_handshake *peer, const wzp_signal *msg, wzp_sender_key *out,
                          uint32_t *session_id) {
    if (msg->type != WZP_SIG_SENDER_KEY) {
        return WZP_ERR_MALFORMED;
    }
    uint8_t plain[PLAIN_SIZE + 16];
    size_t n = 0;
    int rc = wzp_hs_open(peer, msg->u.sender_key.sealed.data, msg->u.sender_key.sealed.len, plain,
                         sizeof(plain), &n);
    if (rc == WZP_OK && (n != PLAIN_SIZE || wzp__get_u32be(plain) != msg->u.sender_key.epoch)) {
        rc = WZP_ERR_MALFORMED;
    }
    if (rc == WZP_OK) {
        out->epoch = wzp__get_u32be(plain);
        out->step = plain[4];
        memcpy(out->chain, plain + 5, WZP_KEY_SIZE);
        *session_id = wzp__get_u32be(plain + 5 + WZP_KEY_SIZE);
    }
    sodium_memzero(plain, sizeof(plain));
    return rc;
}
