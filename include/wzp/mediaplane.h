/*
 * The media plane's hop protection (transport issue): media travels beside QUIC on the same UDP
 * socket as small authenticated datagrams, not QUIC DATAGRAM frames (docs/PROTOCOL.md §10):
 *
 *   session id (4, first bit 0) | hop counter (u32 BE) | media packet | hop MAC (8)
 *
 * The relay assigns the session id at join; the MAC is keyed BLAKE2b over everything before it,
 * with one key per direction from the QUIC connection's TLS exporter. Only the holder of the QUIC
 * session can put packets into a media session, a replayed hop packet is refused, and an
 * authentic packet from a new address may move the session there (roaming). The media packet
 * inside stays end-to-end protected; this layer is per hop. Sans-I/O.
 */
#ifndef WZP_MEDIAPLANE_H
#define WZP_MEDIAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/crypto.h"
#include "wzp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_HOP_SID_SIZE       4
#define WZP_HOP_CTR_SIZE       4
#define WZP_HOP_MAC_SIZE       8
#define WZP_HOP_OVERHEAD       (WZP_HOP_SID_SIZE + WZP_HOP_CTR_SIZE + WZP_HOP_MAC_SIZE)
#define WZP_HOP_EXPORTER_LABEL "EXPORTER-wzp-media-hop"

typedef struct wzp_hop_keys {
    uint8_t client_to_relay[WZP_KEY_SIZE];
    uint8_t relay_to_client[WZP_KEY_SIZE];
} wzp_hop_keys;

/* Both hop keys from the 32-byte TLS exporter value of the QUIC connection. */
WZP_MUST_CHECK int wzp_hop_keys_derive(const uint8_t exporter[32], wzp_hop_keys *out);
/* A fresh random session id (first bit clear, never 0). */
uint32_t wzp_hop_new_session_id(void);

typedef struct wzp_hop_tx {
    uint32_t sid;
    uint32_t counter;
    uint8_t key[WZP_KEY_SIZE];
} wzp_hop_tx;

typedef struct wzp_hop_rx {
    uint32_t sid;
    uint8_t key[WZP_KEY_SIZE];
    wzp_replay_window replay;
    uint64_t bad_mac, replays;
} wzp_hop_rx;

void wzp_hop_tx_init(wzp_hop_tx *tx, uint32_t sid, const uint8_t key[WZP_KEY_SIZE]);
void wzp_hop_rx_init(wzp_hop_rx *rx, uint32_t sid, const uint8_t key[WZP_KEY_SIZE]);
/* Wrap one media packet. Errors: WZP_ERR_BUFFER_TOO_SMALL, WZP_ERR_FULL (counter exhausted). */
WZP_MUST_CHECK int wzp_hop_seal(wzp_hop_tx *tx, const uint8_t *pkt, size_t len, uint8_t *out,
                                size_t cap, size_t *written);
/* The session id a datagram claims (for demultiplexing); WZP_ERR_TRUNCATED / WZP_ERR_MALFORMED
 * when it cannot be a media datagram. */
WZP_MUST_CHECK int wzp_hop_peek_session(const uint8_t *buf, size_t len, uint32_t *sid);
/* Check MAC (constant time) then replay window; only an authentic, fresh datagram moves the
 * window. `*pkt` points into `buf`. Errors: WZP_ERR_TRUNCATED, WZP_ERR_UNKNOWN_KEY (another
 * session), WZP_ERR_AUTH, WZP_ERR_REPLAY. */
WZP_MUST_CHECK int wzp_hop_open(wzp_hop_rx *rx, const uint8_t *buf, size_t len, const uint8_t **pkt,
                                size_t *pkt_len);

#ifdef __cplusplus
}
#endif
#endif
