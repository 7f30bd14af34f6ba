/* Hop protection of media datagrams (include/wzp/mediaplane.h): keyed BLAKE2b MAC, explicit
 * counter, replay window moved only by authentic datagrams. */
#include <sodium.h>
#include <string.h>

#include "crypto/kdf.h"
#include "proto/bytes.h"
#include "wzp/mediaplane.h"

int wzp_hop_keys_derive(const uint8_t exporter[32], wzp_hop_keys *out) {
    int rc = wzp__hkdf(NULL, 0, exporter, 32, "wzp/v1 hop client->relay", out->client_to_relay,
                       WZP_KEY_SIZE);
    if (rc == WZP_OK) {
        rc = wzp__hkdf(NULL, 0, exporter, 32, "wzp/v1 hop relay->client", out->relay_to_client,
                       WZP_KEY_SIZE);
    }
    return rc;
}

uint32_t wzp_hop_new_session_id(void) {
    uint32_t sid = 0;
    while (sid == 0) {
        sid = randombytes_random() & 0x7FFFFFFFu; /* first bit clear: see docs/PROTOCOL.md */
    }
    return sid;
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

static void hop_mac(const uint8_t key[WZP_KEY_SIZE], const uint8_t *data, size_t len,
                    uint8_t out[WZP_HOP_MAC_SIZE]) {
    uint8_t full[16];
    crypto_generichash(full, sizeof(full), data, len, key, WZP_KEY_SIZE);
    memcpy(out, full, WZP_HOP_MAC_SIZE);
}

int wzp_hop_seal(wzp_hop_tx *tx, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                 size_t *written) {
    if (cap < WZP_HOP_OVERHEAD || cap - WZP_HOP_OVERHEAD < len) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    if (tx->counter == UINT32_MAX) {
        return WZP_ERR_FULL;
    }
    wzp__put_u32be(out, tx->sid);
    wzp__put_u32be(out + WZP_HOP_SID_SIZE, tx->counter++);
    memmove(out + WZP_HOP_SID_SIZE + WZP_HOP_CTR_SIZE, pkt, len);
    size_t body = WZP_HOP_SID_SIZE + WZP_HOP_CTR_SIZE + len;
    hop_mac(tx->key, out, body, out + body);
    *written = body + WZP_HOP_MAC_SIZE;
    return WZP_OK;
}

int wzp_hop_peek_session(const uint8_t *buf, size_t len, uint32_t *sid) {
    if (len < WZP_HOP_OVERHEAD) {
        return WZP_ERR_TRUNCATED;
    }
    uint32_t s = wzp__get_u32be(buf);
    if (s == 0 || (s & 0x80000000u) != 0) {
        return WZP_ERR_MALFORMED;
    }
    *sid = s;
    return WZP_OK;
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
    uint8_t want[WZP_HOP_MAC_SIZE];
    hop_mac(rx->key, buf, body, want);
    if (sodium_memcmp(want, buf + body, WZP_HOP_MAC_SIZE) != 0) {
        rx->bad_mac++;
        return WZP_ERR_AUTH;
    }
    uint32_t ctr = wzp__get_u32be(buf + WZP_HOP_SID_SIZE);
    if (!wzp_replay_check(&rx->replay, ctr)) {
        rx->replays++;
        return WZP_ERR_REPLAY;
    }
    wzp_replay_mark(&rx->replay, ctr);
    *pkt = buf + WZP_HOP_SID_SIZE + WZP_HOP_CTR_SIZE;
    *pkt_len = body - WZP_HOP_SID_SIZE - WZP_HOP_CTR_SIZE;
    return WZP_OK;
}
