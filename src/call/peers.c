/*
 * The other members of a room and the end-to-end keys we exchange with them (docs/SECURITY.md).
 * A member is one device: an identity may be in the room on several, told apart by the session
 * ids the relay lists in RoomUpdates and stamps on PeerSignals (docs/PROTOCOL.md §7b). A "hello"
 * PeerSignal lets each side learn the other's call-binding exporter (stamped by the relay); the
 * lower fingerprint (between two devices of one identity: the lower session) then calls the other
 * (offer, answer, key confirmation both ways), and each side sends its sender key over the
 * confirmed pairwise channel. A peer's sender key makes a call decoder for its media -- the
 * media of the session it signals from, no other; when its key ids move on (it ratcheted), we
 * ratchet our copy to follow. Members the relay no longer lists lose their keys; their decoders
 * stay (the end of what they said, their statistics) until their slots are needed.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "call/session_internal.h"
#include "proto/bytes.h"
#include "wzp/alloc.h"

#define KEY_STEPS_AHEAD 2 /* a peer's key id may run this many ratchet steps ahead of ours */

/* Our own session id in the room (0 before the relay named it). */
static uint32_t my_session(wzp_call_session *s) {
    wzp__spath *room = wzp__session_room(s);
    return room != NULL ? room->media_id : 0;
}

/* Whether (fp, session) is this device: our identity may also be in the room on another (told
 * apart only by session ids, when both are known). */
static bool is_me(wzp_call_session *s, const uint8_t fp[WZP_FINGERPRINT_SIZE], uint32_t session) {
    uint32_t mine = my_session(s);
    return sodium_memcmp(fp, s->id.fingerprint, WZP_FINGERPRINT_SIZE) == 0 &&
           (session == 0 || mine == 0 || session == mine);
}

static void peer_forget(wzp__peer *p) {
    wzp_hs_free(p->hs);
    wzp_call_decoder_free(p->dec);
    wzp_sender_key_wipe(&p->key);
    sodium_memzero(p, sizeof(*p));
}

/* A member that left: its keys go, its decoder stays for what it still has to play and for the
 * statistics of the call. */
static void peer_left(wzp__peer *p) {
    wzp_hs_free(p->hs);
    p->hs = NULL;
    wzp_sender_key_wipe(&p->key);
    p->has_key = p->heard_valid = false;
    p->left = true;
    if (p->dec == NULL) {
        peer_forget(p);
    }
}

wzp__peer *wzp__peer_find(wzp_call_session *s, const uint8_t fp[WZP_FINGERPRINT_SIZE],
                          uint32_t session, bool create) {
    wzp__peer *free_slot = NULL;
    wzp__peer *departed = NULL;
    for (size_t i = 0; i < WZP_SESSION_MAX_PEERS; i++) {
        wzp__peer *p = &s->peers[i];
        if (p->used && !p->left && (session == 0 || p->sid == session) &&
            sodium_memcmp(p->fp, fp, WZP_FINGERPRINT_SIZE) == 0) {
            return p;
        }
        if (!p->used && free_slot == NULL) {
            free_slot = p;
        }
        if (p->used && p->left && departed == NULL) {
            departed = p;
        }
    }
    if (!create) {
        return NULL;
    }
    if (free_slot == NULL && departed != NULL) { /* the table is full: a departed one makes way */
        peer_forget(departed);
        free_slot = departed;
    }
    if (free_slot == NULL) {
        return NULL;
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = true;
    free_slot->session = s;
    free_slot->index = s->next_peer_index++;
    free_slot->sid = session;
    memcpy(free_slot->fp, fp, WZP_FINGERPRINT_SIZE);
    wzp_fingerprint_format(fp, free_slot->fptext);
    return free_slot;
}

void wzp__peer_send(wzp_call_session *s, wzp__peer *p, wzp_signal *inner) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_PEER_SIGNAL);
    if (m == NULL || inner == NULL ||
        wzp_signal_set_str(&m->u.peer_signal.to_fingerprint, p->fptext) != WZP_OK) {
        wzp_signal_free(m);
        wzp_signal_free(inner);
        return;
    }
    m->u.peer_signal.to_session = p->sid;
    m->u.peer_signal.inner = inner;
    wzp__session_send(s, m);
}

/* The lower relay session id calls. Not the lower fingerprint: the fingerprints are what a lying
 * relay changes, and two sides that disagree on who calls would wait for each other for ever,
 * with nothing signed that could show the lie; the session ids both see are the same. A relay
 * that lists no sessions: the lower fingerprint. */
static bool we_call(wzp_call_session *s, const wzp__peer *p) {
    uint32_t mine = my_session(s);
    if (mine != 0 && p->sid != 0) {
        return mine < p->sid;
    }
    return memcmp(s->id.fingerprint, p->fp, WZP_FINGERPRINT_SIZE) < 0;
}

/* A handshake for `p`, with the secret room's key when we are in one. */
static int new_handshake(wzp_call_session *s, wzp__peer *p, wzp_hs_role role) {
    int rc = wzp_hs_new(role, &s->id, p->binding, &p->hs);
    if (rc == WZP_OK && s->has_room_key) {
        wzp_hs_set_room_key(p->hs, s->room_key);
    }
    return rc;
}

static void start_call(wzp_call_session *s, wzp__peer *p) {
    wzp_signal *offer = NULL;
    if (new_handshake(s, p, WZP_HS_CALLER) == WZP_OK &&
        wzp_hs_make_offer(p->hs, wzp_profile_get(WZP_PROFILE_GOOD), 1,
                          s->alias[0] ? s->alias : NULL, &offer) == WZP_OK) {
        wzp__peer_send(s, p, offer);
    }
}

/* Our sender key to `p`, once the pairwise channel is confirmed and we have a media session
 * (receivers learn from it whose media the key opens). */
static void send_key(wzp_call_session *s, wzp__peer *p) {
    wzp__spath *room = wzp__session_room(s);
    wzp_signal *m = NULL;
    if (p->key_sent || !s->has_my_key || room == NULL || room->media_id == 0 || p->hs == NULL ||
        wzp_hs_get_state(p->hs) != WZP_HS_ESTABLISHED ||
        wzp_sender_key_wrap(p->hs, &s->my_key, room->media_id, &m) != WZP_OK) {
        return;
    }
    p->key_sent = true;
    wzp__peer_send(s, p, m);
}

void wzp__peers_send_key(wzp_call_session *s) {
    for (size_t i = 0; s->peers != NULL && i < WZP_SESSION_MAX_PEERS; i++) {
        if (s->peers[i].used && !s->peers[i].left) {
            send_key(s, &s->peers[i]);
        }
    }
}

/* The decoder met a key id it does not hold: if it is one of the next ratchet steps of this
 * peer's sender key, follow it there. */
static bool follow_ratchet(void *user, uint8_t key_id, uint64_t now_ms) {
    wzp__peer *p = user;
    wzp_sender_key next = p->key;
    for (int step = 1; step <= KEY_STEPS_AHEAD; step++) {
        uint8_t key[WZP_KEY_SIZE], id;
        wzp_sender_key_ratchet(&next);
        wzp_sender_key_media(&next, key, &id);
        if (id == key_id) {
            wzp_call_decoder_add_key(p->dec, key, id, now_ms);
            p->key = next;
            sodium_memzero(key, sizeof(key));
            return true;
        }
        sodium_memzero(key, sizeof(key));
    }
    wzp_sender_key_wipe(&next);
    return false;
}

/* Every authentic frame of the peer, as it arrives (--drift-test, --sweep). */
static void on_frame(void *user, uint32_t ts, uint8_t codec, bool recovered) {
    const wzp__peer *p = user;
    p->session->cfg.on_frame(p->session->cfg.user, p->index, ts, codec, recovered);
}

/* The peer's sender key arrived: a decoder for its media. */
static void take_key(wzp_call_session *s, wzp__peer *p, const wzp_signal *m, uint64_t now_ms) {
    wzp_sender_key sk;
    uint32_t media_id = 0;
    if (p->hs == NULL || wzp_sender_key_unwrap(p->hs, m, &sk, &media_id) != WZP_OK) {
        return;
    }
    if (p->has_key && sk.epoch < p->key.epoch) {
        wzp_sender_key_wipe(&sk); /* an older epoch's key, replayed: not taken back */
        return;
    }
    if (p->sid != 0 ? media_id != p->sid : !wzp_hop_sid_valid(media_id)) {
        wzp_sender_key_wipe(
            &sk); /* its media is the relay session it signals from, nobody else's */
        return;
    }
    wzp_call_config cfg = wzp_call_default_config();
    if (p->dec == NULL && wzp_call_decoder_new(&cfg, &p->dec) != WZP_OK) {
        wzp_sender_key_wipe(&sk);
        return;
    }
    uint8_t key[WZP_KEY_SIZE], key_id;
    wzp_sender_key_media(&sk, key, &key_id);
    wzp_call_decoder_add_key(p->dec, key, key_id, now_ms);
    wzp_call_decoder_on_unknown_key(p->dec, follow_ratchet, p);
    if (s->cfg.on_frame != NULL) {
        wzp_call_decoder_observe(p->dec, on_frame, p);
    }
    bool first = !p->has_key;
    p->key = sk;
    p->has_key = true;
    p->sid = media_id;
    sodium_memzero(key, sizeof(key));
    wzp_sender_key_wipe(&sk);
    unsigned code = 0;
    if (first) {
        if (wzp_hs_sas(p->hs, &code) != WZP_OK) { /* (established: it unwrapped the key) */
            code = 0;
        }
        wzp__session_event(s, WZP_EV_PEER_READY, now_ms, p->fptext, p->alias)->safety_code = code;
    }
}

/* The relay names a member by fingerprint; the handshake proves an identity key. A member is who
 * its key proves, and only if that is who the relay named: otherwise the relay (or whoever wrote
 * the offer) is putting one person in another's place, and the handshake ends here, both
 * fingerprints said. True: the proof matches. */
static bool proven(wzp_call_session *s, wzp__peer *p, uint64_t now_ms) {
    uint8_t pk[WZP_KEY_SIZE], fp[WZP_FINGERPRINT_SIZE];
    if (wzp_hs_peer(p->hs, pk) != WZP_OK) {
        return false;
    }
    wzp_fingerprint_of(pk, fp);
    bool same = sodium_memcmp(fp, p->fp, WZP_FINGERPRINT_SIZE) == 0;
    if (same && (s->cfg.admit == NULL || s->cfg.admit(s->cfg.admit_user, fp))) {
        return true;
    }
    wzp_hs_free(p->hs);
    p->hs = NULL;
    p->refused = true;
    if (same) { /* who it says, but not one we admit */
        wzp__session_event(s, WZP_EV_PEER_UNVERIFIED, now_ms, p->fptext, NULL);
        return false;
    }
    char proved[WZP_FINGERPRINT_TEXT];
    wzp_fingerprint_format(fp, proved);
    wzp__session_event(s, WZP_EV_PEER_REFUSED, now_ms, p->fptext, proved);
    return false;
}

/* A secret room's member whose offer or answer did not prove the room's secret (it was signed
 * by the key in it, which we name): refused for good, nothing sent back. */
static void unproven(wzp_call_session *s, wzp__peer *p, const wzp_signal *in, uint64_t now_ms) {
    const uint8_t *pk = in->type == WZP_SIG_CALL_OFFER ? in->u.call_offer.identity_pub
                                                       : in->u.call_answer.identity_pub;
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    char text[WZP_FINGERPRINT_TEXT];
    wzp_fingerprint_of(pk, fp);
    wzp_fingerprint_format(fp, text);
    wzp_hs_free(p->hs);
    p->hs = NULL;
    p->refused = true;
    s->st.peers_unproven++;
    wzp__session_event(s, WZP_EV_PEER_UNPROVEN, now_ms, text, NULL);
}

static void on_handshake(wzp_call_session *s, wzp__peer *p, const wzp_signal *in, uint64_t now_ms) {
    wzp_signal *reply = NULL;
    int rc = WZP_ERR_STATE;
    if (p->refused) {
        return;
    }
    switch (in->type) {
    case WZP_SIG_CALL_OFFER:
        if (p->hs == NULL && !we_call(s, p) && new_handshake(s, p, WZP_HS_CALLEE) == WZP_OK) {
            rc = wzp_hs_on_offer(p->hs, in, wzp_profile_get(WZP_PROFILE_GOOD), 1, &reply);
        }
        break;
    case WZP_SIG_CALL_ANSWER:
        if (p->hs != NULL) {
            rc = wzp_hs_on_answer(p->hs, in, &reply);
        }
        break;
    case WZP_SIG_KEY_CONFIRM:
        if (p->hs != NULL && wzp_hs_on_confirm(p->hs, in, &reply) == WZP_OK) {
            if (reply != NULL) {
                wzp__peer_send(s, p, reply);
            }
            send_key(s, p);
        }
        return;
    default:
        return;
    }
    if (rc == WZP_ERR_NOT_MEMBER) {
        unproven(s, p, in, now_ms);
    } else if (rc == WZP_OK && proven(s, p, now_ms)) {
        wzp__peer_send(s, p, reply);
    } else {
        wzp_signal_free(reply);
    }
}

void wzp__peers_on_peer_signal(wzp_call_session *s, const wzp_signal *m, uint64_t now_ms) {
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    const wzp_sig_bytes *b = &m->u.peer_signal.from_binding;
    wzp__spath *room = wzp__session_room(s);
    uint32_t from = m->u.peer_signal.from_session;
    if (room == NULL || m->u.peer_signal.from_fingerprint == NULL ||
        m->u.peer_signal.inner == NULL ||
        wzp_fingerprint_parse(m->u.peer_signal.from_fingerprint, fp) != WZP_OK || b->len != 32 ||
        is_me(s, fp, from)) {
        return;
    }
    wzp__peer *p = wzp__peer_find(s, fp, from, true);
    if (p == NULL) {
        return;
    }
    if (!p->has_binding) {
        wzp_pair_binding(room->binding, b->data, p->binding);
        p->has_binding = true;
        if (we_call(s, p) && p->hs == NULL) {
            start_call(s, p);
        }
    }
    const wzp_signal *in = m->u.peer_signal.inner;
    if (in->type == WZP_SIG_SENDER_KEY) {
        take_key(s, p, in, now_ms);
    } else if (in->type == WZP_SIG_QUALITY_UPDATE) { /* how this member hears us */
        p->about_me = in->u.quality_update.report;
        p->about_me_at = now_ms;
        wzp__session_follow_reports(s, now_ms);
    } else {
        on_handshake(s, p, in, now_ms);
    }
}

static void hello(wzp_call_session *s, wzp__peer *p, uint64_t now_ms) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_PING);
    if (m != NULL) {
        m->u.ping.timestamp_ms = now_ms;
        wzp__peer_send(s, p, m);
    }
}

/* New members (devices: the relay lists each session) get a hello, so they learn our exporter
 * and the pair binding can be formed; members no longer listed are forgotten with their keys.
 * A relay that lists no sessions: one peer per identity, never forgotten. */
void wzp__peers_on_room_update(wzp_call_session *s, const wzp_signal *m, uint64_t now_ms) {
    const wzp_sig_participants *list = &m->u.room_update.participants;
    bool listed[WZP_SESSION_MAX_PEERS] = {false};
    bool sessions = false, joined = false, left_with_key = false;
    for (size_t i = 0; i < list->count; i++) {
        uint8_t fp[WZP_FINGERPRINT_SIZE];
        uint32_t session = list->items[i].session;
        sessions |= session != 0;
        if (wzp_fingerprint_parse(list->items[i].fingerprint, fp) != WZP_OK ||
            is_me(s, fp, session)) {
            continue;
        }
        wzp__peer *p = wzp__peer_find(s, fp, session, false);
        if (p == NULL && (p = wzp__peer_find(s, fp, session, true)) != NULL) {
            hello(s, p, now_ms);
            joined = true;
            const char *alias = list->items[i].alias;
            snprintf(p->alias, sizeof(p->alias), "%s", alias != NULL ? alias : "");
        }
        if (p != NULL) {
            listed[p - s->peers] = true;
        }
    }
    for (size_t i = 0; sessions && i < WZP_SESSION_MAX_PEERS; i++) {
        wzp__peer *p = &s->peers[i];
        if (p->used && !p->left && !listed[i]) {
            wzp__session_event(s, WZP_EV_PEER_LEFT, now_ms, p->fptext, NULL);
            left_with_key |= p->key_sent;
            peer_left(p);
        }
    }
    wzp__session_membership_changed(s, joined, left_with_key, now_ms);
}

void wzp__peers_deliver(wzp_call_session *s, uint32_t sender, bool short_id, const uint8_t *pkt,
                        size_t len, uint64_t now_ms) {
    for (size_t i = 0; i < WZP_SESSION_MAX_PEERS; i++) {
        wzp__peer *p = &s->peers[i];
        if (p->used && !p->left && p->dec != NULL &&
            (short_id ? (p->sid & 0xFFFFu) : p->sid) == sender) {
            if (wzp_call_decoder_receive(p->dec, pkt, len, now_ms) != WZP_OK) {
                s->st.datagrams_refused++; /* (only a misused decoder says so) */
            }
            return;
        }
    }
}

void wzp__peers_left_room(wzp_call_session *s) {
    for (size_t i = 0; s->peers != NULL && i < WZP_SESSION_MAX_PEERS; i++) {
        if (s->peers[i].used && !s->peers[i].left) {
            peer_left(&s->peers[i]);
        }
    }
}

void wzp__peers_free(wzp_call_session *s) {
    for (size_t i = 0; s->peers != NULL && i < WZP_SESSION_MAX_PEERS; i++) {
        peer_forget(&s->peers[i]);
    }
}
