/*
 * A call session: one member's side of a call in a relay room, sans-I/O.
 *
 * In: the events of the paths it runs on (up, down), their signalling messages and datagrams,
 * PCM from a microphone or a source, and the time. Out: signalling messages and datagrams, sent
 * through the paths (wzp/path.h, which queue them), PCM to play, and events to tell the user.
 * It holds everything of the call that is not I/O: the room membership on the relay (the signed
 * join, the media session and its hop keys), the peers and their end-to-end keys (pairwise
 * handshakes, then sender keys), and the media chain (one call encoder, a call decoder per peer,
 * the mix, the quality loop). It never reads a clock or touches a socket: the same session runs
 * in the CLI (src/client), two on one loop in the echo test, a thousand in wzp-bench relay, and
 * three against the relay core in simulated time in tests/unit/test_session_room.c.
 */
#ifndef WZP_SESSION_H
#define WZP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/call.h"
#include "wzp/crypto.h"
#include "wzp/error.h"
#include "wzp/path.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_SESSION_MAX_PEERS      32
#define WZP_SESSION_MAX_PATHS      4
#define WZP_SESSION_FRAME          960    /* what one pull returns: 20 ms at 48 kHz */
#define WZP_SESSION_FEEDBACK_MS    500    /* quality reports both ways: three worse ones in 1.5 s */
#define WZP_SESSION_STEP_MIN_MS    400    /* a sender takes one tier step per report round */
#define WZP_SESSION_REPORT_FRESH   3000   /* reports older than this no longer steer our tier */
#define WZP_SESSION_PEER_ACTIVE_MS 10000  /* a sender heard this recently, now silent: 100% loss */
#define WZP_SESSION_SIGNAL_MAX     16384  /* the largest message a session sends */
#define WZP_SESSION_EVENTS         64     /* events kept until read (older ones are dropped) */
#define WZP_SESSION_EPOCH_MS       300000 /* a fresh sender key at least every 5 minutes */

typedef struct wzp_call_session wzp_call_session;

/* Called for every authentic frame of a peer as it reaches the jitter buffer, during
 * wzp_call_session_on_datagram (so "now" is its arrival): --drift-test and --sweep. */
typedef void (*wzp_session_frame_fn)(void *user, unsigned peer, uint32_t timestamp_ms,
                                     uint8_t codec_id, bool recovered);
/* Raw mode: one media packet of another member, as the relay forwarded it. */
typedef void (*wzp_session_media_fn)(void *user, uint32_t sender, const uint8_t *pkt, size_t len);

typedef struct wzp_call_session_config {
    const wzp_identity *identity; /* copied */
    const char *alias;            /* copied; NULL: none */
    const char *token;            /* featherChat token, sent before the join (copied); NULL */
    wzp_call_config media;        /* the sending side's starting tier, DSP, interleaving */
    int pin_tier;                 /* -1: follow the reports; else send this wzp_tier always */
    bool trunking;                /* tell the relay we take TrunkFrames */
    uint32_t rekey_frames;        /* ratchet our sender key after this many frames (0: default) */
    uint32_t epoch_ms; /* a fresh sender key (new epoch) at least this often (0: default) */
    /* A secret room: its proof key (32 bytes, from wzp_room_secret_derive; copied, wiped on
     * free). A member is given our sender key only after its handshake proved the same key;
     * one that does not is refused (WZP_EV_PEER_UNPROVEN). NULL: an open room. */
    const uint8_t *room_key;
    /* Whom to admit once its key proved who it is (--require-verified: only contacts). NULL:
     * everyone proven. A member it refuses gets no key (WZP_EV_PEER_UNVERIFIED). */
    bool (*admit)(void *admit_user, const uint8_t fp[WZP_FINGERPRINT_SIZE]);
    void *admit_user;
    /* Raw mode (wzp-bench relay): no peers, no codecs; wzp_call_session_send_media sends packets
     * as they are and on_media hears the others'. */
    bool raw;
    wzp_session_media_fn on_media;
    wzp_session_frame_fn on_frame; /* NULL: none */
    void *user;
} wzp_call_session_config;

wzp_call_session_config wzp_call_session_default_config(const wzp_identity *id);

/* Errors: WZP_ERR_INVALID_ARG (no identity, alias or token too long), WZP_ERR_NOMEM. */
WZP_MUST_CHECK int wzp_call_session_new(const wzp_call_session_config *cfg, wzp_call_session **out);
void wzp_call_session_free(wzp_call_session *s);

/* ---- paths ------------------------------------------------------------------------------------
 * A path to the relay of the room (the first path added carries the room). The path must outlive
 * the session or wzp_call_session_path_down. */
WZP_MUST_CHECK int wzp_call_session_add_path(wzp_call_session *s, wzp_path *p, unsigned *id);
/* The path's channel is up: join the room (a token first if configured, then the signed join). */
void wzp_call_session_path_up(wzp_call_session *s, unsigned id, uint64_t now_ms);
/* The path is gone: nothing more is sent through it. */
void wzp_call_session_path_down(wzp_call_session *s, unsigned id);

/* ---- input ------------------------------------------------------------------------------------
 */
/* One signalling message from a path (JSON; anything malformed is dropped). */
void wzp_call_session_on_signal(wzp_call_session *s, unsigned id, const uint8_t *json, size_t len,
                                uint64_t now_ms);
/* One datagram from a path (anything unauthentic is dropped and counted). */
void wzp_call_session_on_datagram(wzp_call_session *s, unsigned id, const uint8_t *data, size_t len,
                                  uint64_t now_ms);
/* Timers: quality reports both ways, the keep-alive, the sender key's ratchet. Call at least every
 * 20 ms. */
void wzp_call_session_tick(wzp_call_session *s, uint64_t now_ms);

/* ---- media ------------------------------------------------------------------------------------
 */
/* Samples the next push must carry (20 or 40 ms at 48 kHz); 0 before the session may send. */
size_t wzp_call_session_frame_samples(const wzp_call_session *s);
/* One frame of our audio, stamped `media_ms` on the sender's media clock. Errors:
 * WZP_ERR_STATE (not joined), WZP_ERR_INVALID_ARG (wrong size), the encoder's. */
WZP_MUST_CHECK int wzp_call_session_push(wzp_call_session *s, const int16_t *pcm, size_t n,
                                         uint64_t media_ms);
/* 20 ms of the mix of everyone we hear (silence while nobody speaks). */
void wzp_call_session_pull(wzp_call_session *s, int16_t out[WZP_SESSION_FRAME]);
/* Raw mode: one packet to the room as it is. Errors: WZP_ERR_STATE, WZP_ERR_TOO_LARGE. */
WZP_MUST_CHECK int wzp_call_session_send_media(wzp_call_session *s, const uint8_t *pkt, size_t len);

/* ---- what the user hears about -------------------------------------------------------------- */
typedef enum wzp_session_event_type {
    WZP_EV_REFUSED,      /* the relay refused us: `text` says why */
    WZP_EV_JOINED,       /* in the room: media may flow */
    WZP_EV_ROOM,         /* the room's membership: `count` */
    WZP_EV_PEER_READY,   /* end-to-end keys with `fingerprint`; `text`: the alias the relay
                          * lists for it (unauthenticated; empty: none); `safety_code` */
    WZP_EV_PEER_LEFT,    /* `fingerprint` (one of its devices) left the room */
    WZP_EV_TIER,         /* we send `tier` now: `fingerprint` hears `loss_pct`, path RTT `rtt_ms` */
    WZP_EV_SEND_FAILED,  /* a signalling message could not be sent: `text` names it */
    WZP_EV_MEDIA_FAILED, /* the media chain could not start */
    WZP_EV_PEER_REFUSED, /* a member's handshake proved another identity than the relay named
                          * (`fingerprint`: the relay's; `text`: the key's): no keys either way */
    WZP_EV_PEER_UNPROVEN,   /* a member of a secret room did not prove its secret (`fingerprint`:
                             * the key it proved): no keys either way */
    WZP_EV_PEER_UNVERIFIED, /* `admit` refused a member (`fingerprint`): no keys either way */
} wzp_session_event_type;

typedef struct wzp_session_event {
    wzp_session_event_type type;
    uint64_t at_ms;
    char fingerprint[WZP_FINGERPRINT_TEXT];
    char text[160];
    unsigned count;
    unsigned
        safety_code; /* WZP_EV_PEER_READY: the pair's 4-digit code (0000..9999) to read aloud */
    wzp_tier tier;
    double loss_pct;
    uint32_t rtt_ms;
} wzp_session_event;

/* The oldest event not yet read; false when there is none. */
bool wzp_call_session_next_event(wzp_call_session *s, wzp_session_event *ev);

/* ---- state --------------------------------------------------------------------------------------
 */
typedef struct wzp_peer_view {
    unsigned index; /* stable for the life of the peer (the frame observer's `peer`) */
    char fingerprint[WZP_FINGERPRINT_TEXT];
    bool ready;        /* its sender key arrived: we can hear it */
    bool present;      /* still in the room (false: it left; kept for its statistics) */
    uint32_t media_id; /* its media session on the relay */
    wzp_call_decoder_stats stats;
    bool heard_valid; /* `heard`: what we told it in our last report about its media */
    wzp_quality_report heard;
} wzp_peer_view;

/* Up to `cap` peers we heard or can hear (their sender key arrived), in table order: those in the
 * room, and those that left while there is room to keep them. */
size_t wzp_call_session_peers(const wzp_call_session *s, wzp_peer_view *out, size_t cap);
bool wzp_call_session_joined(const wzp_call_session *s);
/* The tier we send now (GOOD before the encoder exists). */
wzp_tier wzp_call_session_tier(const wzp_call_session *s);
/* The media timestamp (ms) of the next frame we send; 0 before the encoder exists. */
uint32_t wzp_call_session_media_ts(const wzp_call_session *s);
/* Our media session on the relay (0 until the relay assigned one). */
uint32_t wzp_call_session_media_id(const wzp_call_session *s);

typedef struct wzp_session_stats {
    uint64_t datagrams_sent, datagrams_received, datagrams_refused, keepalives;
    uint64_t signals_sent, signals_received, signals_refused;
    uint64_t rekeys;              /* our sender key's ratchet steps */
    uint64_t epochs;              /* fresh sender keys after a member who held ours left */
    uint64_t challenges_answered; /* the relay's path checks (we moved, or someone copied us) */
    uint64_t peers_unproven;      /* secret room: members refused for no proof of its secret */
} wzp_session_stats;
wzp_session_stats wzp_call_session_stats(const wzp_call_session *s);

#ifdef __cplusplus
}
#endif
#endif
