/*
 * A relay link for forward mode (SPEC §8, docs/PROTOCOL.md §11): a forwarding relay carries its
 * clients' datagrams -- QUIC and media alike, all already protected end to end and per hop --
 * to the remote relay inside one authenticated media-plane session, with RaptorQ FEC over the
 * small ones so a lossy or censored stretch between the relays is repaired there. Neither relay
 * needs a client's keys: the clients' QUIC connections and media sessions end at the remote
 * relay, which sees each client as a virtual address naming the link and the tunnel.
 *
 * Link payload (inside a hop datagram of the link session):
 *   0x01 tunnel (u32) datagram                       -- sent as is (too large for link FEC)
 *   0x02 block (u8) esi (u8) flags (u8) fec-payload   -- FEC source (flags 0) or repair (bit 0);
 *        a source's frame is tunnel (u32) + send time (u16, ms) + datagram
 * FEC-carried datagrams are re-paced at the receiver: released WZP_LINK_PACE_MS after the
 * fastest recent transit (wzp_link_tick releases them; call it every few ms).
 * Sans-I/O: the caller moves the sealed datagrams and delivers what comes out.
 */
#ifndef WZP_LINK_H
#define WZP_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"
#include "wzp/hop.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_LINK_SNI          "wzp-link" /* a forwarding relay's connection to its remote */
#define WZP_LINK_FEC_MAX      400        /* datagrams up to this size get link FEC (media, ACKs) */
#define WZP_LINK_BLOCK_K      8          /* datagrams per FEC block */
#define WZP_LINK_RATIO        0.5f       /* repair symbols per source symbol */
#define WZP_LINK_BLOCK_MS     40         /* a block open this long is closed (its repairs sent) */
#define WZP_LINK_MAX_DATAGRAM 1500
#define WZP_LINK_PACE_MS      60 /* re-pacing delay over the fastest recent transit */

typedef void (*wzp_link_out_fn)(void *user, const uint8_t *dgram, size_t len);
typedef void (*wzp_link_deliver_fn)(void *user, uint32_t tunnel, const uint8_t *data, size_t len);

typedef struct wzp_link_stats {
    uint64_t sent, sent_fec, sent_raw, repairs_sent;
    uint64_t received, delivered, recovered, refused, too_large;
    uint64_t paced, late, pace_full; /* re-pacing: held, past their time, pool full */
} wzp_link_stats;

typedef struct wzp_link wzp_link;

/* Errors: WZP_ERR_NOMEM. */
WZP_MUST_CHECK int wzp_link_new(wzp_link_out_fn out, wzp_link_deliver_fn deliver, void *user,
                                wzp_link **link);
void wzp_link_free(wzp_link *l);
/* (Re)key for a new link session (copied: its counters too). Drops FEC state. */
void wzp_link_set_session(wzp_link *l, const wzp_hop_session *hop);
/* Carry one client datagram. Errors: WZP_ERR_STATE (no session), WZP_ERR_TOO_LARGE. */
WZP_MUST_CHECK int wzp_link_send(wzp_link *l, uint32_t tunnel, const uint8_t *data, size_t len,
                                 uint64_t now_ms);
/* One datagram of the link session: authenticated, then delivered (and FEC-recovered) client
 * datagrams. Errors: WZP_ERR_AUTH / WZP_ERR_REPLAY / WZP_ERR_UNKNOWN_KEY (not this session:
 * nothing happens), WZP_ERR_MALFORMED. */
WZP_MUST_CHECK int wzp_link_receive(wzp_link *l, const uint8_t *dgram, size_t len, uint64_t now_ms);
/* Close a block open longer than WZP_LINK_BLOCK_MS; expire stale decoder blocks. */
void wzp_link_tick(wzp_link *l, uint64_t now_ms);
wzp_link_stats wzp_link_get_stats(const wzp_link *l);

#ifdef __cplusplus
}
#endif
#endif
