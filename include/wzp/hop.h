/*
 * Hop protection of media datagrams (docs/PROTOCOL.md §10). Media travels beside QUIC on the
 * same UDP socket as small authenticated datagrams, not QUIC DATAGRAM frames:
 *
 *   session id (4) | hop counter (low 32 bits, BE) | media packet | hop MAC (8)
 *
 * The relay assigns the session id when a member joins; its first byte is 0x04..0x3F, which is
 * how a datagram on a shared socket is told from QUIC (first byte 0x40 and up) and STUN (0x00..
 * 0x03). The MAC is keyed BLAKE2b over everything before it, with the counter's high 32 bits as
 * BLAKE2b's salt: the counter is 64 bits, only its low half travels, and the receiver restores
 * the high half from the newest counter it accepted (as SRTP restores its roll-over counter), so
 * a session never runs out and a packet from before a wrap cannot be replayed after it. One key
 * per direction comes from the connection's TLS exporter. Only the holder of the connection can
 * put packets into its session, a replayed packet is refused, and an authentic packet from a new
 * address may move the session there (roaming). The media packet inside stays end-to-end
 * protected; this layer is per hop. Sans-I/O.
 */
#ifndef WZP_HOP_H
#define WZP_HOP_H

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
#define WZP_HOP_SID_FIRST      0x04000000u /* session ids: first byte 0x04 .. 0x3F */
#define WZP_HOP_SID_LAST       0x3FFFFFFFu
/* Path validation inside the hop (docs/PROTOCOL.md §10): an authentic datagram from a new address
 * makes the relay send that address a challenge, payload {0x81, 8 random bytes}; the member's
 * session answers {0x82, the same 8 bytes} from where it received it, and only then does the
 * relay send the member's media there. Nine bytes: no media packet is that short. */
#define WZP_HOP_CHALLENGE       0x81
#define WZP_HOP_CHALLENGE_REPLY 0x82
#define WZP_HOP_CHALLENGE_SIZE  9
#define WZP_MEDIA_KEEPALIVE_MS  1000 /* a member with nothing to send proves it is alive */

typedef struct wzp_hop_keys {
    uint8_t client_to_relay[WZP_KEY_SIZE];
    uint8_t relay_to_client[WZP_KEY_SIZE];
} wzp_hop_keys;

/* Both hop keys from the 32-byte TLS exporter value of the connection. */
WZP_MUST_CHECK int wzp_hop_keys_derive(const uint8_t exporter[32], wzp_hop_keys *out);
/* Whether `sid` is in the media range (first byte 0x04..0x3F). */
bool wzp_hop_sid_valid(uint32_t sid);
/* A random session id in the media range (the relay's allocator keeps them unique). */
uint32_t wzp_hop_new_session_id(void);

typedef struct wzp_hop_tx {
    uint32_t sid;
    uint64_t counter; /* next to use; its low 32 bits go on the wire */
    uint8_t key[WZP_KEY_SIZE];
} wzp_hop_tx;

typedef struct wzp_hop_rx {
    uint32_t sid;
    uint8_t key[WZP_KEY_SIZE];
    wzp_replay_window replay; /* over the full 64-bit counters */
    uint64_t bad_mac, replays;
} wzp_hop_rx;

void wzp_hop_tx_init(wzp_hop_tx *tx, uint32_t sid, const uint8_t key[WZP_KEY_SIZE]);
void wzp_hop_rx_init(wzp_hop_rx *rx, uint32_t sid, const uint8_t key[WZP_KEY_SIZE]);

/* One hop session: both directions of one connection's media, seen from one side. */
typedef enum wzp_hop_side {
    WZP_HOP_CLIENT, /* sends with client_to_relay (the connection's initiator) */
    WZP_HOP_RELAY,  /* sends with relay_to_client (the connection's acceptor) */
} wzp_hop_side;

typedef struct wzp_hop_session {
    wzp_hop_tx tx;
    wzp_hop_rx rx;
} wzp_hop_session;

/* The one way a hop session is made: keys derived from the connection's exporter
 * (WZP_HOP_EXPORTER_LABEL), each direction given to its side. Errors: WZP_ERR_CRYPTO. */
WZP_MUST_CHECK int wzp_hop_session_init(wzp_hop_session *h, wzp_hop_side side, uint32_t sid,
                                        const uint8_t exporter[32]);
void wzp_hop_session_wipe(wzp_hop_session *h);

/* Wrap one media packet. Errors: WZP_ERR_BUFFER_TOO_SMALL, WZP_ERR_FULL (2^64 packets sent). */
WZP_MUST_CHECK int wzp_hop_seal(wzp_hop_tx *tx, const uint8_t *pkt, size_t len, uint8_t *out,
                                size_t cap, size_t *written);
/* The session id a datagram claims (for demultiplexing); WZP_ERR_TRUNCATED / WZP_ERR_MALFORMED
 * when it cannot be a media datagram. */
WZP_MUST_CHECK int wzp_hop_peek_session(const uint8_t *buf, size_t len, uint32_t *sid);
/* Check MAC (constant time) then replay window; only an authentic, fresh datagram moves the
 * window. `*pkt` points into `buf`; with WZP_ERR_REPLAY it is set too (the datagram is authentic,
 * only seen before). Errors: WZP_ERR_TRUNCATED, WZP_ERR_MALFORMED, WZP_ERR_UNKNOWN_KEY (another
 * session), WZP_ERR_AUTH, WZP_ERR_REPLAY. */
WZP_MUST_CHECK int wzp_hop_open(wzp_hop_rx *rx, const uint8_t *buf, size_t len, const uint8_t **pkt,
                                size_t *pkt_len);

#ifdef __cplusplus
}
#endif
#endif
