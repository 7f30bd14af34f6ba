/*
 * End-to-end media protection: ChaCha20-Poly1305-IETF per frame with an explicit key id and
 * counter (never an implicit one: a lost packet must not desynchronise the receiver), and an
 * RFC 6479-style sliding replay window per key that moves only after a frame authenticates.
 */
#include <sodium.h>
#include <string.h>

#include "proto/bytes.h"
#include "wzp/crypto.h"

#define WORDS   (WZP_REPLAY_WINDOW / 64)
#define AD_SIZE 14

static void build_nonce(uint32_t counter, uint8_t nonce[12]) {
    memset(nonce, 0, 8);
    wzp__put_u32be(nonce + 8, counter);
}

static void build_ad(const wzp_frame_meta *meta, uint8_t key_id, uint32_t counter,
                     uint8_t ad[AD_SIZE]) {
    memcpy(ad, "wzp1", 4);
    ad[4] = meta->codec_id;
    wzp__put_u32be(ad + 5, meta->timestamp_ms);
    ad[9] = key_id;
    wzp__put_u32be(ad + 10, counter);
}

void wzp_media_tx_init(wzp_media_tx *tx, const uint8_t key[WZP_KEY_SIZE], uint8_t key_id) {
    memcpy(tx->key, key, WZP_KEY_SIZE);
    tx->key_id = key_id;
    tx->counter = 0;
    tx->armed = true;
}

void wzp_media_tx_wipe(wzp_media_tx *tx) {
    sodium_memzero(tx, sizeof(*tx));
}

bool wzp_media_tx_needs_rekey(const wzp_media_tx *tx) {
    return tx->counter >= WZP_REKEY_INTERVAL;
}

int wzp_media_seal(wzp_media_tx *tx, const wzp_frame_meta *meta, const uint8_t *pt, size_t len,
                   uint8_t *out, size_t cap, size_t *written) {
    if (!tx->armed) {
        return WZP_ERR_INVALID_ARG;
    }
    if (tx->counter == UINT32_MAX) {
        return WZP_ERR_FULL;
    }
    if (cap < WZP_MEDIA_OVERHEAD || cap - WZP_MEDIA_OVERHEAD < len) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    uint8_t nonce[12], ad[AD_SIZE];
    uint32_t c = tx->counter++;
    build_nonce(c, nonce);
    build_ad(meta, tx->key_id, c, ad);
    out[0] = tx->key_id;
    wzp__put_u32be(out + 1, c);
    unsigned long long clen = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out + WZP_MEDIA_EXT_SIZE, &clen, pt, len, ad,
                                              sizeof(ad), NULL, nonce, tx->key);
    *written = WZP_MEDIA_EXT_SIZE + (size_t)clen;
    return WZP_OK;
}

void wzp_media_rx_init(wzp_media_rx *rx) {
    sodium_memzero(rx, sizeof(*rx));
}

void wzp_media_rx_wipe(wzp_media_rx *rx) {
    sodium_memzero(rx, sizeof(*rx));
}

void wzp_media_rx_add_key(wzp_media_rx *rx, const uint8_t key[WZP_KEY_SIZE], uint8_t key_id,
                          uint64_t now_ms) {
    sodium_memzero(&rx->keys[1], sizeof(rx->keys[1]));
    if (rx->keys[0].used) {
        rx->keys[1] = rx->keys[0];
        rx->keys[1].retire_at_ms = now_ms + WZP_KEY_GRACE_MS;
    }
    sodium_memzero(&rx->keys[0], sizeof(rx->keys[0]));
    rx->keys[0].used = true;
    memcpy(rx->keys[0].key, key, WZP_KEY_SIZE);
    rx->keys[0].key_id = key_id;
}

static wzp_media_rx_key *find_key(wzp_media_rx *rx, uint8_t key_id, uint64_t now_ms) {
    if (rx->keys[1].used && now_ms >= rx->keys[1].retire_at_ms) {
        sodium_memzero(&rx->keys[1], sizeof(rx->keys[1])); /* grace window over */
    }
    for (size_t i = 0; i < 2; i++) {
        if (rx->keys[i].used && rx->keys[i].key_id == key_id) {
            return &rx->keys[i];
        }
    }
    return NULL;
}

bool wzp_replay_check(const wzp_replay_window *w, uint64_t c) {
    if (w->top == 0 || c >= w->top) {
        return true;
    }
    if ((w->top - 1) / 64 - c / 64 >= WORDS) {
        return false; /* older than the window */
    }
    return ((w->bits[(c / 64) % WORDS] >> (c % 64)) & 1) == 0;
}

void wzp_replay_mark(wzp_replay_window *w, uint64_t c) {
    if (w->top == 0) {
        memset(w->bits, 0, sizeof(w->bits));
    } else if (c >= w->top) {
        uint64_t diff = c / 64 - (w->top - 1) / 64;
        if (diff >= WORDS) {
            memset(w->bits, 0, sizeof(w->bits));
        } else {
            for (uint64_t i = 1; i <= diff; i++) {
                w->bits[((w->top - 1) / 64 + i) % WORDS] = 0;
            }
        }
    }
    w->bits[(c / 64) % WORDS] |= 1ull << (c % 64);
    if (c >= w->top) {
        w->top = c + 1;
    }
}

int wzp_media_open(wzp_media_rx *rx, const wzp_frame_meta *meta, const uint8_t *in, size_t len,
                   uint64_t now_ms, uint8_t *out, size_t cap, size_t *written) {
    if (len < WZP_MEDIA_OVERHEAD) {
        return WZP_ERR_TRUNCATED;
    }
    if (cap < len - WZP_MEDIA_OVERHEAD) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    uint8_t key_id = in[0];
    uint32_t c = wzp__get_u32be(in + 1);
    wzp_media_rx_key *k = find_key(rx, key_id, now_ms);
    if (k == NULL) {
        rx->unknown_keys++;
        return WZP_ERR_UNKNOWN_KEY;
    }
    if (!wzp_replay_check(&k->replay, c)) {
        rx->replays++;
        return WZP_ERR_REPLAY;
    }
    uint8_t nonce[12], ad[AD_SIZE];
    build_nonce(c, nonce);
    build_ad(meta, key_id, c, ad);
    unsigned long long plen = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, in + WZP_MEDIA_EXT_SIZE,
                                                  len - WZP_MEDIA_EXT_SIZE, ad, sizeof(ad), nonce,
                                                  k->key) != 0) {
        rx->auth_failures++;
        return WZP_ERR_AUTH;
    }
    wzp_replay_mark(&k->replay, c);
    *written = (size_t)plen;
    return WZP_OK;
}
