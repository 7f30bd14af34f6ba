/* Hop protection of media datagrams (include/wzp/hop.h): keyed BLAKE2b MAC, a 64-bit counter of
 * which the low half travels, replay window moved only by authentic datagrams. */
#include <sodium.h>
#include <string.h>

#include "crypto/kdf.h"
#include "proto/bytes.h"
#include "wzp/hop.h"
#include "wzp/random.h"

int wzp_hop_keys_derive(const uint8_t exporter[32], wzp_hop_keys *out) {
    int rc = wzp__hkdf(NULL, 0, exporter, 32, "wzp/v1 hop client->relay", out->client_to_relay,
                       WZP_KEY_SIZE);
    if (rc == WZP_OK) {
        rc = wzp__hkdf(NULL, 0, exporter, 32, "wzp/v1 hop relay->client", out->relay_to_client,
                       WZP_KEY_SIZE);
    }
    return rc;
}

bool wzp_hop_sid_valid(uint32_t sid) {
    return sid >= WZP_HOP_SID_FIRST && sid <= WZP_HOP_SID_LAST;
}

uint32_t wzp_hop_new_session_id(void) {
    return WZP_HOP_SID_FIRST + wzp_random_uniform(WZP_HOP_SID_LAST - WZP_HOP_SID_FIRST + 1);
}

void wzp_hop_tx_init(wzp_hop_tx *tx, uint32_t sid, const uint8_t key[WZP_KEY_SIZE]) {
    tx->sid = sid;
    tx->counter = 0;
    memcpy(tx->key, key, WZP_KEY_SIZE);
}

void wzp_hop_rx_init(wzp_hop_rx *rx, uint32_t sid, const uint8_t key[WZP_KEY_SIZE]) {
    memset(rx, 0, sizeof(*rx));
    rx->sid = sid;
    memcpy(rx->key, key, WZP_KEY_SIZE);
}

int wzp_hop_session_init(wzp_hop_session *h, wzp_hop_side side, uint32_t sid,
                         const uint8_t exporter[32]) {
    wzp_hop_keys keys;
    int rc = wzp_hop_keys_derive(exporter, &keys);
    if (rc == WZP_OK) {
        bool client = side == WZP_HOP_CLIENT;
        wzp_hop_tx_init(&h->tx, sid, client ? keys.client_to_relay : keys.relay_to_client);
        wzp_hop_rx_init(&h->rx, sid, client ? keys.relay_to_client : keys.client_to_relay);
    }
    sodium_memzero(&keys, sizeof(keys));
    return rc;
}

void wzp_hop_session_wipe(wzp_hop_session *h) {
    sodium_memzero(h, sizeof(*h));
}

/* BLAKE2b-128 keyed, truncated; the counter's high half is the salt (all zero below 2^32: the
 * same MAC as plain keyed BLAKE2b). */
static inline __attribute__((always_inline)) void hop_mac(const uint8_t key[WZP_KEY_SIZE],
                                                          uint32_t hi, const uint8_t *data,
                                                          size_t len,
                                                          uint8_t out[WZP_HOP_MAC_SIZE]) {
    uint8_t full[16];
    if (hi == 0) { /* a zero salt is no salt: the same MAC, without setting up a parameter block */
        crypto_generichash(full, sizeof(full), data, len, key, WZP_KEY_SIZE);
    } else {
        uint8_t salt[crypto_generichash_blake2b_SALTBYTES] = {0};
        wzp__put_u32be(salt, hi);
        crypto_generichash_blake2b_salt_personal(full, sizeof(full), data, len, key, WZP_KEY_SIZE,
                                                 salt, NULL);
    }
    memcpy(out, full, WZP_HOP_MAC_SIZE);
}

int wzp_hop_seal(wzp_hop_tx *tx, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                 size_t *written) {
    if (cap < WZP_HOP_OVERHEAD || cap - WZP_HOP_OVERHEAD < len) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    if (tx->counter == UINT64_MAX) {
        return WZP_ERR_FULL;
    }
    uint64_t ctr = tx->counter++;
    wzp__put_u32be(out, tx->sid);
    wzp__put_u32be(out + WZP_HOP_SID_SIZE, (uint32_t)ctr);
    memmove(out + WZP_HOP_SID_SIZE + WZP_HOP_CTR_SIZE, pkt, len);
    size_t body = WZP_HOP_SID_SIZE + WZP_HOP_CTR_SIZE + len;
    hop_mac(tx->key, (uint32_t)(ctr >> 32), out, body, out + body);
    *written = body + WZP_HOP_MAC_SIZE;
    return WZP_OK;
}

int wzp_hop_peek_session(const uint8_t *buf, size_t len, uint32_t *sid) {
    if (len < WZP_HOP_OVERHEAD) {
        return WZP_ERR_TRUNCATED;
    }
    uint32_t s = wzp__get_u32be(buf);
    if (!wzp_hop_sid_valid(s)) {
        return WZP_ERR_MALFORMED;
    }
    *sid = s;
    return WZP_OK;
}

/* The full counter a low half stands for: of the three candidates around the newest accepted
 * counter (same high half, one more, one less), the nearest (RFC 3711 §3.3.1's index guess). */
static inline __attribute__((always_inline)) uint64_t full_counter(const wzp_replay_window *w,
                                                                   uint32_t low) {
    if (w->top == 0) {
        return low;
    }
    uint64_t last = w->top - 1;
    uint32_t ahead = low - (uint32_t)last;
    if (ahead < 0x80000000u && last + ahead >= last) {
        return last + ahead; /* the usual case: at most 2^31 ahead, nearer than any other */
    }
    uint64_t hi = last >> 32, best = hi << 32 | low;
    uint64_t dist = best > last ? best - last : last - best;
    if (hi < UINT32_MAX) {
        uint64_t up = (hi + 1) << 32 | low;
        if (up - last < dist) {
            best = up;
            dist = up - last;
        }
    }
    if (hi > 0) {
        uint64_t down = (hi - 1) << 32 | low;
        if (last - down < dist) {
            best = down;
        }
    }
    return best;
}

int wzp_hop_open(wzp_hop_rx *rx, const uint8_t *buf, size_t len, const uint8_t **pkt,
                 size_t *pkt_len) {
    uint32_t sid = 0;
    int rc = wzp_hop_peek_session(buf, len, &sid);
    if (rc != WZP_OK) {
        return rc;
    }
    if (sid != rx->sid) {
        return WZP_ERR_UNKNOWN_KEY;
    }
    size_t body = len - WZP_HOP_MAC_SIZE;
    uint64_t ctr = full_counter(&rx->replay, wzp__get_u32be(buf + WZP_HOP_SID_SIZE));
    uint8_t want[WZP_HOP_MAC_SIZE];
    hop_mac(rx->key, (uint32_t)(ctr >> 32), buf, body, want);
    if (sodium_memcmp(want, buf + body, WZP_HOP_MAC_SIZE) != 0) {
        rx->bad_mac++;
        return WZP_ERR_AUTH;
    }
    *pkt = buf + WZP_HOP_SID_SIZE + WZP_HOP_CTR_SIZE;
    *pkt_len = body - WZP_HOP_SID_SIZE - WZP_HOP_CTR_SIZE;
    if (!wzp_replay_check(&rx->replay, ctr)) {
        rx->replays++;
        return WZP_ERR_REPLAY;
    }
    wzp_replay_mark(&rx->replay, ctr);
    return WZP_OK;
}
