/*
 * The insides of a call session (include/wzp/session.h), shared by session.c (paths, the room
 * membership, the media chain and the quality loop) and peers.c (the other members and the
 * end-to-end keys exchanged with them).
 */
#ifndef WZP_CALL_SESSION_INTERNAL_H
#define WZP_CALL_SESSION_INTERNAL_H

#include "wzp/hop.h"
#include "wzp/session.h"

/* One other member of the room -- one device: an identity may be in a room more than once -- known
 * by its relay session id (which also names its media) and its fingerprint; the pairwise
 * handshake, its sender key and the decoder of its media. */
typedef struct wzp__peer {
    bool used;
    bool left;    /* no longer in the room: only its decoder (what it said, its statistics) stays,
                   * until the slot is needed */
    bool drained; /* left, and played the last frame it sent: nothing more to mix */
    struct wzp_call_session *session;
    unsigned index;
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    char fptext[WZP_FINGERPRINT_TEXT];
    char alias[WZP_ALIAS_MAX + 1]; /* as the relay listed it (unauthenticated) */
    bool has_binding;
    uint8_t binding[WZP_BINDING_SIZE];
    wzp_handshake *hs;
    bool refused;  /* its handshake proved another identity than the relay named: never keyed */
    bool key_sent; /* our sender key went to it (this epoch, this ratchet step or earlier) */
    uint32_t sid;  /* its session id on the relay (names its media); 0: the relay did not say */
    bool has_key;  /* `key` is its sender key: `dec` exists */
    wzp_sender_key key; /* ratcheted forward as its key ids move on */
    wzp_call_decoder *dec;
    /* the quality loop (docs/PROTOCOL.md §10): what we hear of it, what it hears of us */
    wzp_quality_report heard, about_me;
    bool heard_valid;
    uint64_t datagrams_seen, active_until, about_me_at;
    int16_t pending[WZP_MAX_FRAME_SAMPLES]; /* decoded, not yet played (40 ms frames) */
    size_t pending_n;
} wzp__peer;

/* One path and the session's state on it; what a datagram sent needs is on the first cache line
 * (a bridge or a benchmark runs hundreds of sessions: their state is cold between packets). */
typedef struct wzp__spath {
    wzp_path *p;
    uint32_t media_id; /* our media session on it (0: none yet) */
    bool up, joined, refused;
    wzp_hop_session hop;   /* valid once media_id != 0; its tx counter counts what we sent */
    uint64_t sent_at_tick; /* the tx counter at the last tick */
    uint64_t last_sent_ms;
    uint8_t binding[32]; /* our end of the pair binding (its call-binding exporter) */
} wzp__spath;

struct wzp_call_session {
    unsigned npaths;
    wzp__spath paths[WZP_SESSION_MAX_PATHS];
    wzp_call_session_config cfg;
    wzp_identity id;
    char alias[WZP_ALIAS_MAX + 1];
    char *token;
    wzp_sender_key my_key;
    bool has_my_key;
    uint64_t epoch_since_ms; /* our sender key's epoch began then */
    bool has_room_key;
    uint8_t room_key[WZP_KEY_SIZE]; /* a secret room's proof key */
    wzp_call_encoder *enc;
    wzp_quality_ctl qctl;
    uint64_t last_feedback_ms;
    uint64_t last_step_ms; /* the sender's tier controller last took a report then */
    /* are we sending: frames pushed, as seen at the last feedback round, and since when (reports
     * about us from before then describe our silence, not the path) */
    uint64_t pushes, pushes_seen, sending_since_ms;
    bool sending;
    wzp__peer *peers; /* WZP_SESSION_MAX_PEERS (call mode; NULL in raw mode) */
    unsigned next_peer_index;
    wzp_session_event events[WZP_SESSION_EVENTS];
    size_t ev_head, ev_count;
    wzp_session_stats st;
    uint8_t *json;    /* WZP_SESSION_SIGNAL_MAX: outgoing messages are encoded here */
    wzp_datagram *dg; /* the encoder's output, WZP__SESSION_OUT of them (call mode) */
};

#define WZP__SESSION_OUT 64 /* datagrams one push may produce per interleaving depth */

/* session.c, for peers.c */
/* A new event for the user (the oldest unread goes when the queue is full); the caller may fill
 * in the rest. */
wzp_session_event *wzp__session_event(wzp_call_session *s, wzp_session_event_type type,
                                      uint64_t now_ms, const char *fp, const char *text);
/* Send `m` on the room's path (taken: freed here). */
void wzp__session_send(wzp_call_session *s, wzp_signal *m);
/* The room's path (NULL: none yet). */
wzp__spath *wzp__session_room(wzp_call_session *s);

/* peers.c */
/* The peer with identity `fp` on session `session` (0: any of that identity's devices). */
wzp__peer *wzp__peer_find(wzp_call_session *s, const uint8_t fp[WZP_FINGERPRINT_SIZE],
                          uint32_t session, bool create);
void wzp__peers_on_room_update(wzp_call_session *s, const wzp_signal *m, uint64_t now_ms);
void wzp__peers_on_peer_signal(wzp_call_session *s, const wzp_signal *m, uint64_t now_ms);
/* Our sender key (new or ratcheted) to every peer whose handshake is done. */
void wzp__peers_send_key(wzp_call_session *s);
/* Send `inner` (taken) to `p` in a PeerSignal. */
void wzp__peer_send(wzp_call_session *s, wzp__peer *p, wzp_signal *inner);
/* A media packet of the member whose media session is `sender` (its low 16 bits when
 * `short_id`: trunk frames name senders so). */
void wzp__peers_deliver(wzp_call_session *s, uint32_t sender, bool short_id, const uint8_t *pkt,
                        size_t len, uint64_t now_ms);
/* We left the room: every peer has left for us (keys wiped, decoders kept for their statistics;
 * coming back starts afresh). */
void wzp__peers_left_room(wzp_call_session *s);
/* The room changed (peers.c): someone new, or someone who held our sender key left (session.c:
 * a ratchet step for a newcomer, a fresh key -- the next epoch -- for a leaver). */
void wzp__session_membership_changed(wzp_call_session *s, bool joined, bool left_with_key,
                                     uint64_t now_ms);
/* A member told us how it hears us: as a sender, follow the worst fresh report (session.c). */
void wzp__session_follow_reports(wzp_call_session *s, uint64_t now_ms);
/* Every peer forgotten, its keys wiped (the session ends). */
void wzp__peers_free(wzp_call_session *s);

#endif
