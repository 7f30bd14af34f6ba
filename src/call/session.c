/*
 * A call session (include/wzp/session.h): the room membership on the relay, the media chain and
 * the quality loop of one member, sans-I/O. The peers and their keys are peers.c's.
 *
 * On a relay path: when it comes up, an AuthToken (if any) and the join signed over the path's
 * join exporter; the relay answers with RegisterPresenceAck, a MediaSession (our media id: hop
 * keys from the path's hop exporter, then our sender key and the encoder) and RoomUpdates. Media
 * out: call encoder -> hop seal -> the path. Media in: hop open -> the sender's id (or a trunk
 * frame of several) -> that peer's decoder. Every 500 ms both halves of the quality loop run over
 * signalling, end to end (the relay forwards media it cannot read): we tell each member how its
 * media reaches us, and follow the worst fresh report any member sent us.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "call/session_internal.h"
#include "proto/bytes.h"
#include "wzp/alloc.h"

#define TRUNK_MARK                                                                                 \
    0x80 /* a forwarded payload that is a TrunkFrame (a sender id's top bit is 0)                  \
          */

static const char *const tier_names[] = {"GOOD", "DEGRADED", "CATASTROPHIC"};

wzp_call_session_config wzp_call_session_default_config(const wzp_identity *id) {
    wzp_call_session_config c;
    memset(&c, 0, sizeof(c));
    c.identity = id;
    c.media = wzp_call_default_config();
    c.pin_tier = -1;
    c.trunking = true;
    return c;
}

/* ---- events -----------------------------------------------------------------------------------
 */

wzp_session_event *wzp__session_event(wzp_call_session *s, wzp_session_event_type type,
                                      uint64_t now_ms, const char *fp, const char *text) {
    if (s->ev_count == WZP_SESSION_EVENTS) { /* nobody reads them: the oldest goes */
        s->ev_head = (s->ev_head + 1) % WZP_SESSION_EVENTS;
        s->ev_count--;
    }
    wzp_session_event *ev = &s->events[(s->ev_head + s->ev_count++) % WZP_SESSION_EVENTS];
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->at_ms = now_ms;
    snprintf(ev->fingerprint, sizeof(ev->fingerprint), "%s", fp != NULL ? fp : "");
    snprintf(ev->text, sizeof(ev->text), "%s", text != NULL ? text : "");
    return ev;
}

bool wzp_call_session_next_event(wzp_call_session *s, wzp_session_event *ev) {
    if (s->ev_count == 0) {
        return false;
    }
    *ev = s->events[s->ev_head];
    s->ev_head = (s->ev_head + 1) % WZP_SESSION_EVENTS;
    s->ev_count--;
    return true;
}

/* ---- life ---------------------------------------------------------------------------------------
 */

int wzp_call_session_new(const wzp_call_session_config *cfg, wzp_call_session **out) {
    if (cfg->identity == NULL || (cfg->alias != NULL && strlen(cfg->alias) > WZP_ALIAS_MAX) ||
        (cfg->token != NULL && strlen(cfg->token) > WZP_SIGNAL_MAX_STRING) ||
        (cfg->raw && cfg->on_media == NULL) ||
        (!cfg->raw && (cfg->media.interleave_depth == 0 ||
                       cfg->media.interleave_depth > WZP_INTERLEAVE_MAX_DEPTH))) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_call_session *s = wzp_calloc(1, sizeof(*s));
    if (s == NULL) {
        return WZP_ERR_NOMEM;
    }
    s->cfg = *cfg;
    s->id = *cfg->identity;
    s->cfg.identity = &s->id;
    s->cfg.alias = NULL;
    s->cfg.token = NULL;
    s->cfg.room_key = NULL;
    if (cfg->room_key != NULL) {
        memcpy(s->room_key, cfg->room_key, WZP_KEY_SIZE);
        s->has_room_key = true;
    }
    snprintf(s->alias, sizeof(s->alias), "%s", cfg->alias != NULL ? cfg->alias : "");
    s->json = wzp_malloc(WZP_SESSION_SIGNAL_MAX);
    if (cfg->token != NULL) {
        s->token = wzp_strndup(cfg->token, strlen(cfg->token));
    }
    if (!cfg->raw) {
        s->dg = wzp_calloc(WZP__SESSION_OUT * cfg->media.interleave_depth, sizeof(wzp_datagram));
        s->peers = wzp_calloc(WZP_SESSION_MAX_PEERS, sizeof(wzp__peer));
    }
    if (s->json == NULL || (cfg->token != NULL && s->token == NULL) ||
        (!cfg->raw && (s->dg == NULL || s->peers == NULL))) {
        wzp_call_session_free(s);
        return WZP_ERR_NOMEM;
    }
    wzp_quality_init(&s->qctl, WZP_NET_WIFI, cfg->media.tier);
    if (cfg->pin_tier >= 0) {
        wzp_quality_pin(&s->qctl, (wzp_tier)cfg->pin_tier);
    }
    *out = s;
    return WZP_OK;
}

void wzp_call_session_free(wzp_call_session *s) {
    if (s == NULL) {
        return;
    }
    wzp__peers_free(s);
    wzp_call_encoder_free(s->enc);
    wzp_sender_key_wipe(&s->my_key);
    for (unsigned i = 0; i < WZP_SESSION_MAX_PATHS; i++) {
        wzp_hop_session_wipe(&s->paths[i].hop);
    }
    if (s->token != NULL) {
        sodium_memzero(s->token, strlen(s->token));
    }
    wzp_free(s->token);
    wzp_free(s->json);
    wzp_free(s->dg);
    wzp_free(s->peers);
    wzp_identity_wipe(&s->id);
    sodium_memzero(s, sizeof(*s));
    wzp_free(s);
}

/* ---- paths and signalling ----------------------------------------------------------------------
 */

wzp__spath *wzp__session_room(wzp_call_session *s) {
    return s->npaths > 0 && s->paths[0].up ? &s->paths[0] : NULL;
}

static void send_on(wzp_call_session *s, wzp__spath *sp, wzp_signal *m) {
    if (sp == NULL || !sp->up ||
        wzp_path_send_message(sp->p, m, s->json, WZP_SESSION_SIGNAL_MAX) != WZP_OK) {
        wzp__session_event(s, WZP_EV_SEND_FAILED, 0, NULL, wzp_signal_type_name(m->type));
    } else {
        s->st.signals_sent++;
    }
    wzp_signal_free(m);
}

void wzp__session_send(wzp_call_session *s, wzp_signal *m) {
    send_on(s, wzp__session_room(s), m);
}

int wzp_call_session_add_path(wzp_call_session *s, wzp_path *p, unsigned *id) {
    if (s->npaths == WZP_SESSION_MAX_PATHS) {
        return WZP_ERR_FULL;
    }
    wzp__spath *sp = &s->paths[s->npaths];
    memset(sp, 0, sizeof(*sp));
    sp->p = p;
    *id = s->npaths++;
    return WZP_OK;
}

static wzp__spath *path_of(wzp_call_session *s, unsigned id) {
    return id < s->npaths ? &s->paths[id] : NULL;
}

/* SPEC §8: the token comes first, then the join, signed over this channel's exporter. */
void wzp_call_session_path_up(wzp_call_session *s, unsigned id, uint64_t now_ms) {
    wzp__spath *sp = path_of(s, id);
    uint8_t exporter[32];
    wzp_signal *join = NULL;
    if (sp == NULL || sp->up) {
        return;
    }
    sp->up = true;
    sp->last_sent_ms = now_ms;
    if (sp->p->ops->export_secret(sp->p, WZP_JOIN_EXPORTER, exporter) != WZP_OK ||
        sp->p->ops->export_secret(sp->p, WZP_CALL_BINDING_EXPORTER, sp->binding) != WZP_OK ||
        wzp_join_sign(&s->id, exporter, s->alias[0] ? s->alias : NULL, &join) != WZP_OK) {
        wzp__session_event(s, WZP_EV_SEND_FAILED, now_ms, NULL, "RegisterPresence");
        return;
    }
    if (s->token != NULL) {
        wzp_signal *tok = wzp_signal_new(WZP_SIG_AUTH_TOKEN);
        if (tok != NULL && wzp_signal_set_str(&tok->u.auth_token.token, s->token) != WZP_OK) {
            wzp_signal_free(tok);
            tok = NULL;
        }
        if (tok != NULL) {
            send_on(s, sp, tok);
        }
    }
    send_on(s, sp, join);
}

void wzp_call_session_path_down(wzp_call_session *s, unsigned id) {
    wzp__spath *sp = path_of(s, id);
    if (sp != NULL) {
        sp->up = sp->joined = false;
        sp->media_id = 0;
        wzp_hop_session_wipe(&sp->hop);
    }
    if (id == 0) { /* out of the room: its members, their bindings and keys are past */
        wzp__peers_left_room(s);
    }
}

/* The relay gave us a media session: hop keys, our sender key, the encoder. */
static void start_media(wzp_call_session *s, wzp__spath *sp, uint32_t media_id, uint64_t now_ms) {
    uint8_t exporter[32];
    if (sp->media_id != 0 || !wzp_hop_sid_valid(media_id) ||
        sp->p->ops->export_secret(sp->p, WZP_HOP_EXPORTER_LABEL, exporter) != WZP_OK ||
        wzp_hop_session_init(&sp->hop, WZP_HOP_CLIENT, media_id, exporter) != WZP_OK) {
        return;
    }
    sp->media_id = media_id;
    sp->joined = true;
    wzp__session_event(s, WZP_EV_JOINED, now_ms, NULL, NULL);
    if (s->cfg.trunking) { /* we can take TrunkFrames: the relay may batch what comes to us */
        wzp_signal *opt = wzp_signal_new(WZP_SIG_MEDIA_OPTIONS);
        if (opt != NULL) {
            opt->u.media_options.trunking = true;
            send_on(s, sp, opt);
        }
    }
    if (s->cfg.raw || s->enc != NULL || wzp_sender_key_new(1, &s->my_key) != WZP_OK) {
        return;
    }
    s->has_my_key = true;
    s->epoch_since_ms = now_ms;
    uint8_t key[WZP_KEY_SIZE], key_id;
    wzp_sender_key_media(&s->my_key, key, &key_id);
    wzp_call_config cfg = s->cfg.media;
    cfg.tier = s->qctl.tier;
    if (wzp_call_encoder_new(&cfg, key, key_id, &s->enc) != WZP_OK) {
        wzp__session_event(s, WZP_EV_MEDIA_FAILED, now_ms, NULL, "cannot start the encoder");
    }
    sodium_memzero(key, sizeof(key));
    wzp__peers_send_key(s);
}

void wzp_call_session_on_signal(wzp_call_session *s, unsigned id, const uint8_t *json, size_t len,
                                uint64_t now_ms) {
    wzp__spath *sp = path_of(s, id);
    wzp_signal *m = NULL;
    if (sp == NULL || !sp->up || wzp_signal_decode(json, len, &m) != WZP_OK) {
        s->st.signals_refused++;
        return;
    }
    s->st.signals_received++;
    bool room = sp == &s->paths[0];
    if (m->type == WZP_SIG_REGISTER_PRESENCE_ACK && !m->u.register_presence_ack.success) {
        sp->refused = true;
        const char *why = m->u.register_presence_ack.error;
        wzp__session_event(s, WZP_EV_REFUSED, now_ms, NULL, why != NULL ? why : "?");
    } else if (m->type == WZP_SIG_MEDIA_SESSION) {
        start_media(s, sp, m->u.media_session.session_id, now_ms);
    } else if (m->type == WZP_SIG_ROOM_UPDATE && room) {
        if (!s->cfg.raw) {
            wzp__peers_on_room_update(s, m, now_ms); /* who came and who left, then how many */
        }
        wzp__session_event(s, WZP_EV_ROOM, now_ms, NULL, NULL)->count = m->u.room_update.count;
    } else if (m->type == WZP_SIG_PEER_SIGNAL && room && !s->cfg.raw) {
        wzp__peers_on_peer_signal(s, m, now_ms);
    }
    wzp_signal_free(m);
}

/* ---- media --------------------------------------------------------------------------------------
 */

/* Hop-seal `pkt` straight into the path's next datagram. */
static void send_datagram(wzp__spath *sp, const uint8_t *pkt, size_t len) {
    size_t n = 0;
    uint8_t *slot = sp->p->ops->datagram_slot(sp->p);
    if (wzp_hop_seal(&sp->hop.tx, pkt, len, slot, sp->p->mtu, &n) != WZP_OK) {
        n = 0;
    }
    sp->p->ops->datagram_commit(sp->p, n);
}

/* The path media goes to: the room's, once the relay gave us a media session. */
static wzp__spath *media_path(wzp_call_session *s) {
    wzp__spath *room = wzp__session_room(s);
    return room != NULL && room->media_id != 0 ? room : NULL;
}

void wzp_call_session_on_datagram(wzp_call_session *s, unsigned id, const uint8_t *data, size_t len,
                                  uint64_t now_ms) {
    wzp__spath *sp = path_of(s, id);
    const uint8_t *pkt;
    size_t plen = 0;
    if (sp == NULL || sp->media_id == 0 ||
        wzp_hop_open(&sp->hop.rx, data, len, &pkt, &plen) != WZP_OK || plen < 4) {
        s->st.datagrams_refused++;
        return;
    }
    s->st.datagrams_received++;
    if (plen == WZP_HOP_CHALLENGE_SIZE && pkt[0] == WZP_HOP_CHALLENGE) {
        /* the relay checks we are where our datagrams now come from: the token goes back the
         * way we send (a new address after a NAT rebinding or a network change) */
        uint8_t reply[WZP_HOP_CHALLENGE_SIZE];
        memcpy(reply, pkt, sizeof(reply));
        reply[0] = WZP_HOP_CHALLENGE_REPLY;
        send_datagram(sp, reply, sizeof(reply));
        s->st.challenges_answered++;
        return;
    }
    if (pkt[0] & TRUNK_MARK) { /* a TrunkFrame: several senders' packets, each named by 16 bits */
        wzp_trunk_entry ent[WZP_TRUNK_MAX_ENTRIES];
        size_t n = 0;
        if (wzp_trunk_decode(pkt + 1, plen - 1, ent, &n) != WZP_OK) {
            s->st.datagrams_refused++;
            return;
        }
        for (size_t k = 0; k < n; k++) {
            if (s->cfg.raw) {
                s->cfg.on_media(s->cfg.user, ent[k].session_id, ent[k].payload, ent[k].len);
            } else {
                wzp__peers_deliver(s, ent[k].session_id, true, ent[k].payload, ent[k].len, now_ms);
            }
        }
        return;
    }
    uint32_t sender = wzp__get_u32be(pkt);
    if (s->cfg.raw) {
        s->cfg.on_media(s->cfg.user, sender, pkt + 4, plen - 4);
    } else {
        wzp__peers_deliver(s, sender, false, pkt + 4, plen - 4, now_ms);
    }
}

size_t wzp_call_session_frame_samples(const wzp_call_session *s) {
    return s->enc != NULL ? wzp_call_encoder_frame_samples(s->enc) : 0;
}

int wzp_call_session_push(wzp_call_session *s, const int16_t *pcm, size_t n, uint64_t media_ms) {
    wzp__spath *sp = media_path(s);
    if (sp == NULL || s->enc == NULL) {
        return WZP_ERR_STATE;
    }
    size_t count = 0;
    s->pushes++;
    int rc = wzp_call_encoder_push(s->enc, pcm, n, media_ms, s->dg,
                                   WZP__SESSION_OUT * s->cfg.media.interleave_depth, &count);
    for (size_t i = 0; i < count; i++) {
        send_datagram(sp, s->dg[i].data, s->dg[i].len);
    }
    return rc;
}

int wzp_call_session_send_media(wzp_call_session *s, const uint8_t *pkt, size_t len) {
    wzp__spath *sp = media_path(s);
    if (sp == NULL) {
        return WZP_ERR_STATE;
    }
    if (len + WZP_HOP_OVERHEAD > sp->p->mtu) {
        return WZP_ERR_TOO_LARGE;
    }
    send_datagram(sp, pkt, len);
    return WZP_OK;
}

/* Add `p`'s next 20 ms to `mix`: its frames are 20 or 40 ms, so decode as many as this 20 ms
 * needs and keep the rest. A member that left plays what it sent and then nothing: no concealment
 * invents more of a voice that has gone. */
static void mix_peer(wzp__peer *p, int32_t *mix) {
    size_t have = 0;
    while (have < WZP_SESSION_FRAME && !p->drained) {
        if (p->pending_n == 0) {
            wzp_jb_kind kind;
            if (wzp_call_decoder_pull(p->dec, p->pending, &p->pending_n, &kind) != WZP_OK ||
                p->pending_n == 0) {
                break;
            }
            if (p->left && kind != WZP_JB_FRAME) {
                p->drained = true;
                p->pending_n = 0;
                break;
            }
        }
        size_t k =
            WZP_SESSION_FRAME - have < p->pending_n ? WZP_SESSION_FRAME - have : p->pending_n;
        for (size_t j = 0; j < k; j++) {
            mix[have + j] += p->pending[j];
        }
        memmove(p->pending, p->pending + k, (p->pending_n - k) * sizeof(int16_t));
        p->pending_n -= k;
        have += k;
    }
}

void wzp_call_session_pull(wzp_call_session *s, int16_t out[WZP_SESSION_FRAME]) {
    int32_t mix[WZP_SESSION_FRAME] = {0};
    for (size_t i = 0; s->peers != NULL && i < WZP_SESSION_MAX_PEERS; i++) {
        if (s->peers[i].used && s->peers[i].dec != NULL) {
            mix_peer(&s->peers[i], mix);
        }
    }
    for (size_t j = 0; j < WZP_SESSION_FRAME; j++) {
        out[j] = (int16_t)(mix[j] > 32767 ? 32767 : mix[j] < -32768 ? -32768 : mix[j]);
    }
}

/* ---- timers -------------------------------------------------------------------------------------
 */

/* Nothing sent for a while (listening only): an empty authenticated packet tells the relay we
 * are still here, so it can drop members that are not (docs/PROTOCOL.md §10). */
static void keep_alive(wzp_call_session *s, wzp__spath *sp, uint64_t now_ms) {
    if (sp->hop.tx.counter != sp->sent_at_tick) {
        sp->sent_at_tick = sp->hop.tx.counter;
        sp->last_sent_ms = now_ms;
    }
    if (now_ms - sp->last_sent_ms < WZP_MEDIA_KEEPALIVE_MS) {
        return;
    }
    static const uint8_t nothing[1] = {0};
    send_datagram(sp, nothing, 0);
    sp->sent_at_tick = sp->hop.tx.counter;
    sp->last_sent_ms = now_ms;
    s->st.keepalives++;
}

/* As a receiver: tell `p` how its media arrives (loss from sequence numbers, jitter, our RTT to
 * the relay). A sender heard a moment ago and silent now is reported at 100% loss. */
static void report_to(wzp_call_session *s, wzp__peer *p, uint32_t rtt, uint64_t now_ms) {
    wzp_call_decoder_stats st = wzp_call_decoder_get_stats(p->dec);
    bool fresh = st.datagrams > p->datagrams_seen;
    p->datagrams_seen = st.datagrams;
    if (fresh) {
        p->active_until = now_ms + WZP_SESSION_PEER_ACTIVE_MS;
    }
    wzp_quality_report r = wzp_call_decoder_make_report(p->dec, rtt);
    if (!fresh && now_ms >= p->active_until) {
        p->heard_valid = false; /* it is not sending: nothing to report */
        return;
    }
    if (!fresh) {
        r.loss_pct = 255; /* it was sending a moment ago and nothing arrived */
    }
    p->heard = r;
    p->heard_valid = true;
    wzp_signal *m = wzp_signal_new(WZP_SIG_QUALITY_UPDATE);
    if (m != NULL) {
        m->u.quality_update.report = r;
        m->u.quality_update.recommended_profile =
            *wzp_profile_get((wzp_profile_id)wzp_quality_classify(&r, WZP_NET_WIFI));
        wzp__peer_send(s, p, m);
    }
}

/* The sending half of the quality loop: follow the worst fresh report any member sent us (a room
 * sends one stream to everyone: the weakest listener sets it) through the controller's hysteresis,
 * adding our own RTT to the relay. It runs as a report arrives, so a loss spike costs the sender
 * three report intervals, not three intervals plus the phase of a timer of its own; a report that
 * arrives within WZP_SESSION_STEP_MIN_MS of the last step waits for the next one (many listeners
 * make one step per round, not one per listener). While we push no audio, and for reports from
 * before we started again, there is nothing to follow: a listener hearing nothing from us then
 * hears our silence, not a broken path.
 */
void wzp__session_follow_reports(wzp_call_session *s, uint64_t now_ms) {
    if (s->enc == NULL || s->peers == NULL || !s->sending ||
        now_ms - s->last_step_ms < WZP_SESSION_STEP_MIN_MS) {
        return;
    }
    const wzp__peer *worst = NULL;
    wzp_tier worst_tier = WZP_TIER_GOOD;
    bool news = false;
    for (size_t i = 0; i < WZP_SESSION_MAX_PEERS; i++) {
        const wzp__peer *p = &s->peers[i];
        if (!p->used || p->left || p->dec == NULL || p->about_me_at == 0 ||
            p->about_me_at < s->sending_since_ms ||
            now_ms - p->about_me_at > WZP_SESSION_REPORT_FRESH) {
            continue;
        }
        news |= p->about_me_at > s->last_step_ms;
        wzp_tier t = wzp_quality_classify(&p->about_me, WZP_NET_WIFI);
        if (worst == NULL || t > worst_tier ||
            (t == worst_tier && p->about_me.loss_pct > worst->about_me.loss_pct)) {
            worst = p;
            worst_tier = t;
        }
    }
    if (!news) {
        return; /* every step takes a report it has not taken before */
    }
    s->last_step_ms = now_ms;
    wzp__spath *room = wzp__session_room(s);
    uint32_t rtt = room != NULL ? room->p->ops->rtt_ms(room->p) : 0;
    wzp_quality_report r = worst->about_me;
    uint32_t path_rtt = wzp_quality_report_rtt_ms(&r) + rtt; /* them->relay + relay->us */
    r.rtt_4ms = (uint8_t)(path_rtt / 4 > 255 ? 255 : path_rtt / 4);
    if (wzp_quality_on_report(&s->qctl, &r, now_ms)) {
        wzp_call_encoder_set_tier(s->enc, s->qctl.tier);
        wzp_session_event *ev =
            wzp__session_event(s, WZP_EV_TIER, now_ms, worst->fptext, tier_names[s->qctl.tier]);
        ev->tier = s->qctl.tier;
        ev->loss_pct = wzp_quality_report_loss_percent(&r);
        ev->rtt_ms = path_rtt;
    }
    wzp_call_encoder_set_fec_ratio(s->enc, wzp_quality_fec_ratio(&s->qctl, now_ms));
}

/* Every WZP_SESSION_FEEDBACK_MS, with no per-packet acknowledgement: are we sending; a report to
 * every member we hear; any report the sending half has not taken yet; and the FEC ratio (with the
 * boost after a loss spike, which decays with time) to the encoder. */
static void quality_feedback(wzp_call_session *s, uint64_t now_ms) {
    wzp__spath *room = wzp__session_room(s);
    uint32_t rtt = room != NULL ? room->p->ops->rtt_ms(room->p) : 0;
    bool sending = s->pushes != s->pushes_seen;
    if (sending && !s->sending) {
        s->sending_since_ms = now_ms;
    }
    s->sending = sending;
    s->pushes_seen = s->pushes;
    for (size_t i = 0; s->peers != NULL && i < WZP_SESSION_MAX_PEERS; i++) {
        wzp__peer *p = &s->peers[i];
        if (p->used && !p->left && p->dec != NULL) {
            report_to(s, p, rtt, now_ms);
        }
    }
    wzp__session_follow_reports(s, now_ms);
    if (s->enc != NULL) {
        wzp_call_encoder_set_fec_ratio(s->enc, wzp_quality_fec_ratio(&s->qctl, now_ms));
    }
}

/* The encoder seals with our sender key as it is now. */
static void use_my_key(wzp_call_session *s) {
    uint8_t key[WZP_KEY_SIZE], key_id;
    wzp_sender_key_media(&s->my_key, key, &key_id);
    wzp_call_encoder_set_key(s->enc, key, key_id);
    sodium_memzero(key, sizeof(key));
}

/* One ratchet step (SPEC §5 "Rekey"): the key id moves on; every receiver follows it there from
 * the key it holds (peers.c), so nothing is sent, and nobody given the new chain can step back
 * to the old. */
static void ratchet_step(wzp_call_session *s) {
    wzp_sender_key_ratchet(&s->my_key);
    use_my_key(s);
    s->st.rekeys++;
}

/* Our sender key has sealed enough frames: one step. */
static void ratchet(wzp_call_session *s) {
    uint32_t limit = s->cfg.rekey_frames != 0 ? s->cfg.rekey_frames : WZP_REKEY_INTERVAL;
    if (s->enc == NULL || wzp_call_encoder_key_use(s->enc) < limit) {
        return;
    }
    ratchet_step(s);
}

/* A fresh random sender key (the next epoch), at once, to every member still here over its
 * pairwise channel. */
static void new_epoch(wzp_call_session *s, uint64_t now_ms) {
    wzp_sender_key next;
    if (wzp_sender_key_new(s->my_key.epoch + 1, &next) != WZP_OK) {
        return;
    }
    wzp_sender_key_wipe(&s->my_key);
    s->my_key = next;
    wzp_sender_key_wipe(&next);
    use_my_key(s);
    s->st.epochs++;
    s->epoch_since_ms = now_ms;
    for (size_t i = 0; s->peers != NULL && i < WZP_SESSION_MAX_PEERS; i++) {
        s->peers[i].key_sent = false;
    }
    wzp__peers_send_key(s);
}

void wzp__session_membership_changed(wzp_call_session *s, bool joined, bool left_with_key,
                                     uint64_t now_ms) {
    if (s->enc == NULL || !s->has_my_key) {
        return; /* no key yet: the first one is made when media starts */
    }
    if (left_with_key) {
        new_epoch(s, now_ms); /* a member who held our key left: it could ratchet the old one */
    } else if (joined) {
        ratchet_step(s); /* the newcomer gets a chain that cannot open what was said before */
    }
}

void wzp_call_session_tick(wzp_call_session *s, uint64_t now_ms) {
    wzp__spath *sp = media_path(s);
    if (sp != NULL) {
        keep_alive(s, sp, now_ms);
    }
    ratchet(s);
    uint64_t every = s->cfg.epoch_ms != 0 ? s->cfg.epoch_ms : WZP_SESSION_EPOCH_MS;
    if (s->enc != NULL && s->has_my_key && now_ms - s->epoch_since_ms >= every) {
        /* a time bound besides the frame count: a key someone stole from this device (memory,
         * a core dump) stops opening what we say within this long, ratchet or not */
        new_epoch(s, now_ms);
    }
    if (now_ms - s->last_feedback_ms >= WZP_SESSION_FEEDBACK_MS && !s->cfg.raw) {
        s->last_feedback_ms = now_ms;
        quality_feedback(s, now_ms);
    }
}

/* ---- state --------------------------------------------------------------------------------------
 */

size_t wzp_call_session_peers(const wzp_call_session *s, wzp_peer_view *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; s->peers != NULL && i < WZP_SESSION_MAX_PEERS && n < cap; i++) {
        const wzp__peer *p = &s->peers[i];
        if (!p->used || p->dec == NULL) {
            continue;
        }
        wzp_peer_view *v = &out[n++];
        v->index = p->index;
        memcpy(v->fingerprint, p->fptext, sizeof(v->fingerprint));
        v->ready = p->has_key;
        v->present = !p->left;
        v->media_id = p->sid;
        v->stats = wzp_call_decoder_get_stats(p->dec);
        v->heard_valid = p->heard_valid;
        v->heard = p->heard;
    }
    return n;
}

bool wzp_call_session_joined(const wzp_call_session *s) {
    return s->npaths > 0 && s->paths[0].joined;
}

wzp_tier wzp_call_session_tier(const wzp_call_session *s) {
    return s->enc != NULL ? wzp_call_encoder_tier(s->enc) : WZP_TIER_GOOD;
}

uint32_t wzp_call_session_media_ts(const wzp_call_session *s) {
    return s->enc != NULL ? wzp_call_encoder_media_ts(s->enc) : 0;
}

uint32_t wzp_call_session_media_id(const wzp_call_session *s) {
    return s->npaths > 0 ? s->paths[0].media_id : 0;
}

wzp_session_stats wzp_call_session_stats(const wzp_call_session *s) {
    wzp_session_stats st = s->st;
    for (unsigned i = 0; i < s->npaths; i++) {
        st.datagrams_sent += s->paths[i].hop.tx.counter; /* every datagram is hop-sealed */
    }
    return st;
}
