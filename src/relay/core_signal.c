/*
 * The relay core's signalling (include/wzp/relay_core.h): a client joins its room with a
 * RegisterPresence signed over its connection's join exporter (and, when featherChat vouched,
 * by the identity the token belongs to); the relay answers with its media session and an ack,
 * keeps everyone's view of the room current with coalesced RoomUpdates, and routes PeerSignals
 * between members of one room, stamped with the sender's fingerprint and its channel binding
 * (never trusted from the sender). Another relay's Ping starts its probe or link session.
 */
#include <sodium.h>
#include <string.h>

#include "relay/core_internal.h"
#include "wzp/addr.h"
#include "wzp/alloc.h"

/* A lying relay's copy of `m` for `to` (tests only): NULL when there is no liar. */
static wzp_signal *lie_out(wzp_relay_core *c, const wzp_member *to, const wzp_signal *m) {
    wzp_signal *copy = NULL;
    size_t n = 0;
    if (c->cfg.lie == NULL || c->cfg.lie->out == NULL ||
        wzp_signal_encode(m, c->json, sizeof(c->json), &n) != WZP_OK ||
        wzp_signal_decode(c->json, n, &copy) != WZP_OK) {
        return NULL;
    }
    c->cfg.lie->out(c->cfg.lie->user, to->ses != NULL ? to->ses->sid : 0, copy);
    return copy;
}

void wzp__core_send(wzp_relay_core *c, wzp_member *to, const wzp_signal *m) {
    wzp_signal *lie = lie_out(c, to, m);
    if (lie != NULL) {
        m = lie;
    }
    int rc = wzp_path_send_message(to->path, m, c->json, sizeof(c->json));
    wzp_signal_free(lie);
    if (rc != WZP_OK) {
        c->st.signals_dropped++;
        wzp__core_log(c, "wzp-relay: a signalling message was dropped (peer not reading)");
    }
}

/* ---- RoomUpdates ------------------------------------------------------------------------------
 */

/* RoomUpdate to every member of `room`. */
static void announce_room(wzp_relay_core *c, const char *room) {
    wzp_signal *m = NULL;
    uint32_t sids[WZP__MAX_FANOUT];
    if (wzp_rooms_update_message(c->rooms, room, &m) != WZP_OK) {
        return;
    }
    size_t n = wzp_rooms_members(c->rooms, room, sids, WZP__MAX_FANOUT);
    for (size_t i = 0; i < n; i++) {
        wzp_session *ses = wzp_rooms_get(c->rooms, sids[i]);
        if (ses != NULL) {
            wzp__core_send(c, ses->user, m);
        }
    }
    wzp_signal_free(m);
}

void wzp__core_announce(wzp_relay_core *c, uint64_t now_ms) {
    (void)now_ms;
    for (size_t i = 0; i < c->ndirty; i++) {
        announce_room(c, c->dirty[i]);
    }
    c->ndirty = 0;
}

/* A full snapshot per event would cost O(members^2) per burst of joins: one per room per
 * WZP_RELAY_ANNOUNCE_MS instead. */
void wzp__core_room_changed(wzp_relay_core *c, const char *room, uint64_t now_ms) {
    if (c->closing) {
        return;
    }
    for (size_t i = 0; i < c->ndirty; i++) {
        if (strcmp(c->dirty[i], room) == 0) {
            return;
        }
    }
    if (c->ndirty == WZP__MAX_DIRTY_ROOMS) {
        announce_room(c, room); /* many rooms changing at once: no coalescing for this one */
        return;
    }
    snprintf(c->dirty[c->ndirty++], sizeof(c->dirty[0]), "%s", room);
    if (c->ndirty == 1) {
        c->announce_at = now_ms + WZP_RELAY_ANNOUNCE_MS;
    }
}

/* ---- joining ----------------------------------------------------------------------------------
 */

static void send_ack(wzp_relay_core *c, wzp_member *to, const char *error) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_REGISTER_PRESENCE_ACK);
    if (m == NULL) {
        return;
    }
    m->u.register_presence_ack.success = error == NULL;
    if (wzp_signal_set_str(&m->u.register_presence_ack.error, error) == WZP_OK) {
        wzp__core_send(c, to, m);
    }
    wzp_signal_free(m);
}

void wzp_relay_core_refuse(wzp_relay_core *c, wzp_member *m, const char *why) {
    send_ack(c, m, why);
    m->path->ops->close(m->path, why);
}

static void send_media_session(wzp_relay_core *c, wzp_member *to) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_MEDIA_SESSION);
    if (m != NULL) {
        m->u.media_session.session_id = to->ses->sid;
        wzp__core_send(c, to, m);
        wzp_signal_free(m);
    }
}

/* The member's hop session, keyed from its connection's exporter; the relay is the acceptor. */
static int start_hop(wzp_member *m) {
    uint8_t exporter[32];
    int rc = m->path->ops->export_secret(m->path, WZP_HOP_EXPORTER_LABEL, exporter);
    if (rc == WZP_OK) {
        rc = wzp_hop_session_init(&m->hop, WZP_HOP_RELAY, m->ses->sid, exporter);
    }
    sodium_memzero(exporter, sizeof(exporter));
    return rc;
}

static const char *join_error(int rc) {
    switch (rc) {
    case WZP_ERR_FULL:
        return "relay full";
    case WZP_ERR_TOO_MANY_ENTRIES:
        return "room full";
    case WZP_ERR_AUTH:
        return "bad signature";
    default:
        return "refused";
    }
}

/* Has `mb`'s address as many sessions as one address may (or half of that in its room)? */
static bool address_full(const wzp_relay_core *c, const wzp_member *mb) {
    uint32_t cap = c->cfg.max_per_address != 0 ? c->cfg.max_per_address : WZP_RELAY_PER_ADDRESS;
    uint32_t all = 0, room = 0, room_cap = cap / 2 > 0 ? cap / 2 : 1;
    if (cap == UINT32_MAX) {
        return false;
    }
    const struct sockaddr *from = (const struct sockaddr *)&mb->path->remote;
    for (const wzp_member *m = c->members; m != NULL; m = m->next) {
        if (m->ses != NULL && m->role == WZP_MEMBER_CLIENT &&
            wzp_addr_same_host((const struct sockaddr *)&m->path->remote, from)) {
            all++;
            room += strcmp(m->room, mb->room) == 0;
        }
    }
    return all >= cap || room >= room_cap;
}

/* Has identity `fp` as many sessions as one identity may (or half of that in `room`)? */
static bool identity_full(const wzp_relay_core *c, const uint8_t fp[WZP_FINGERPRINT_SIZE],
                          const char *room) {
    uint32_t cap = c->cfg.max_per_identity != 0 ? c->cfg.max_per_identity : WZP_RELAY_PER_IDENTITY;
    uint32_t all = 0, in_room = 0, room_cap = cap / 2 > 0 ? cap / 2 : 1;
    if (cap == UINT32_MAX) {
        return false;
    }
    for (const wzp_member *m = c->members; m != NULL; m = m->next) {
        if (m->ses != NULL && m->role == WZP_MEMBER_CLIENT &&
            memcmp(m->ses->fingerprint, fp, WZP_FINGERPRINT_SIZE) == 0) {
            all++;
            in_room += strcmp(m->room, room) == 0;
        }
    }
    return all >= cap || in_room >= room_cap;
}

/* The token featherChat vouched for must be this identity's: its fingerprint is checked against
 * the key that just signed this connection's join. */
static bool vouch_matches(wzp_relay_core *c, wzp__client *cl,
                          const uint8_t fp[WZP_FINGERPRINT_SIZE], const char *fptext) {
    uint8_t vouched[WZP_FINGERPRINT_SIZE];
    if (!cl->vouched) {
        return true; /* no auth on this relay */
    }
    if (wzp_fingerprint_parse(cl->vouch_fp, vouched) == WZP_OK &&
        sodium_memcmp(vouched, fp, WZP_FINGERPRINT_SIZE) == 0) {
        return true;
    }
    c->st.vouch_mismatches++;
    wzp__core_log(c,
                  "wzp-relay: auth refused: the token belongs to another identity (token for "
                  "%.40s, joining as %s)",
                  cl->vouch_fp, fptext);
    send_ack(c, &cl->m, "auth refused: the token belongs to another identity");
    cl->m.path->ops->close(cl->m.path, "auth refused: identity mismatch");
    return false;
}

/* Verify a RegisterPresence against this connection and join the room of its SNI. */
static void join(wzp_relay_core *c, wzp__client *cl, const wzp_signal *m, uint64_t now_ms) {
    wzp_member *mb = &cl->m;
    uint8_t exporter[32], fp[WZP_FINGERPRINT_SIZE] = {0};
    char fptext[WZP_FINGERPRINT_TEXT];
    int rc = mb->path->ops->export_secret(mb->path, WZP_JOIN_EXPORTER, exporter);
    if (rc == WZP_OK) {
        rc = wzp_join_verify(m, exporter, fp);
    }
    if (rc != WZP_OK) { /* the log names the key it claimed */
        wzp_fingerprint_of(m->u.register_presence.identity_pub, fp);
    }
    wzp_fingerprint_format(fp, fptext);
    if (rc == WZP_OK && !vouch_matches(c, cl, fp, fptext)) {
        return;
    }
    c->st.vouched_joins += rc == WZP_OK && cl->vouched;
    const char *alias = cl->vouch_alias[0] ? cl->vouch_alias : m->u.register_presence.alias;
    uint32_t sid = 0;
    if (rc == WZP_OK && address_full(c, mb)) {
        c->st.join_per_address++;
        wzp__core_log(c, "wzp-relay: join refused: too many sessions from one address room=%.12s",
                      mb->room);
        send_ack(c, mb, "too many sessions from your address");
        mb->path->ops->close(mb->path, "too many sessions from one address");
        return;
    }
    if (rc == WZP_OK && identity_full(c, fp, mb->room)) {
        c->st.join_per_identity++;
        wzp__core_log(c,
                      "wzp-relay: join refused: too many sessions of one identity room=%.12s fp=%s",
                      mb->room, fptext);
        send_ack(c, mb, "too many sessions of your identity");
        mb->path->ops->close(mb->path, "too many sessions of one identity");
        return;
    }
    if (rc == WZP_OK) {
        rc = wzp_rooms_join(c->rooms, mb->room, fp, alias, mb, now_ms, &sid);
    }
    if (rc == WZP_OK) {
        mb->ses = wzp_rooms_get(c->rooms, sid);
        rc = start_hop(mb);
    }
    if (rc != WZP_OK) {
        if (mb->ses != NULL && wzp_rooms_leave(c->rooms, sid) == WZP_OK) {
            mb->ses = NULL; /* joined, but its hop keys could not be made */
        }
        c->st.join_refused[rc == WZP_ERR_FULL               ? 0
                           : rc == WZP_ERR_TOO_MANY_ENTRIES ? 1
                           : rc == WZP_ERR_AUTH             ? 2
                                                            : 3]++;
        wzp__core_log(c, "wzp-relay: join refused: %s room=%.12s fp=%s", join_error(rc), mb->room,
                      fptext);
        send_ack(c, mb, join_error(rc));
        mb->path->ops->close(mb->path, join_error(rc));
        return;
    }
    c->st.joins++;
    wzp__core_log(c, "wzp-relay: joined room=%.12s fp=%s sessions=%zu", mb->room, fptext,
                  wzp_rooms_total(c->rooms));
    send_media_session(c, mb);
    send_ack(c, mb, NULL);
    wzp__core_room_changed(c, mb->room, now_ms);
}

/* ---- routing ----------------------------------------------------------------------------------
 */

/* Deliver a PeerSignal to the named member of the sender's room (its fingerprint, and its
 * session when given: one identity may be there on several devices), with the sender's
 * fingerprint, session and connection exporter stamped (the receiver builds the pair binding
 * from it). */
static void route_peer(wzp_relay_core *c, wzp_member *from, wzp_signal *m) {
    uint8_t to[WZP_FINGERPRINT_SIZE];
    char fptext[WZP_FINGERPRINT_TEXT];
    wzp_sig_bytes *b = &m->u.peer_signal.from_binding;
    if (m->u.peer_signal.to_fingerprint == NULL ||
        wzp_fingerprint_parse(m->u.peer_signal.to_fingerprint, to) != WZP_OK) {
        return;
    }
    wzp_fingerprint_format(from->ses->fingerprint, fptext);
    if (wzp_signal_set_str(&m->u.peer_signal.from_fingerprint, fptext) != WZP_OK ||
        from->path->ops->export_secret(from->path, WZP_CALL_BINDING_EXPORTER, b->data) != WZP_OK) {
        return;
    }
    b->present = true;
    b->len = 32;
    m->u.peer_signal.from_session = from->ses->sid;
    uint32_t to_session = m->u.peer_signal.to_session;
    size_t n = wzp_rooms_fanout_sessions(c->rooms, from->ses, c->fan, WZP__MAX_FANOUT);
    for (size_t i = 0; i < n; i++) {
        if (sodium_memcmp(c->fan[i]->fingerprint, to, WZP_FINGERPRINT_SIZE) == 0 &&
            (to_session == 0 || c->fan[i]->sid == to_session)) {
            wzp__core_send(c, c->fan[i]->user, m);
        }
    }
}

static void media_options(wzp_relay_core *c, wzp__client *cl, const wzp_signal *m) {
    cl->m.trunk = c->cfg.trunking && m->u.media_options.trunking;
    if (cl->m.trunk &&
        wzp_trunk_packer_init(&cl->packer, cl->trunk_buf + 1, WZP_TRUNK_MAX_BYTES) != WZP_OK) {
        cl->m.trunk = false;
    }
}

/* ---- other relays -----------------------------------------------------------------------------
 */

static void link_out(void *user, const uint8_t *dgram, size_t len) {
    wzp_member *m = user;
    (void)wzp_path_send_datagram(m->path, dgram, len);
}

static void link_deliver(void *user, uint32_t tunnel, const uint8_t *data, size_t len) {
    wzp__link *l = user;
    wzp_relay_core *c = l->m.core;
    if (c->cfg.link_deliver != NULL) {
        c->cfg.link_deliver(c->cfg.user, l->link_id, tunnel, data, len);
    }
}

/* A probing relay or a link said Ping (the stream is theirs to open): its session, keys, and for
 * a link its FEC state. */
void wzp__core_start_relay_session(wzp_relay_core *c, wzp_member *m, uint64_t now_ms) {
    uint32_t sid = 0;
    if (m->ses != NULL) {
        return;
    }
    if (wzp_rooms_attach(c->rooms, m, now_ms, &sid) != WZP_OK) {
        m->path->ops->close(m->path, "too many relays");
        return;
    }
    m->ses = wzp_rooms_get(c->rooms, sid);
    wzp__link *l = m->role == WZP_MEMBER_LINK ? (wzp__link *)m : NULL;
    if (start_hop(m) != WZP_OK ||
        (l != NULL && wzp_link_new(link_out, link_deliver, l, &l->link) != WZP_OK)) {
        m->path->ops->close(m->path, "out of memory");
        return;
    }
    if (l != NULL) {
        wzp_link_set_session(l->link, &m->hop);
        c->next_link_tick = now_ms;
        wzp__core_log(c, "wzp-relay: forwarding relay linked (link %u)", l->link_id & 0xFFu);
    }
    send_media_session(c, m);
}

void wzp_relay_core_on_signal(wzp_relay_core *c, wzp_member *m, wzp_signal *msg, uint64_t now_ms) {
    if (m->role != WZP_MEMBER_CLIENT) {
        if (msg->type == WZP_SIG_PING) {
            wzp__core_start_relay_session(c, m, now_ms);
        }
        return;
    }
    wzp__client *cl = (wzp__client *)m;
    if (m->ses != NULL) {
        m->ses->last_seen_ms = now_ms;
    }
    if (c->cfg.lie != NULL && c->cfg.lie->in != NULL) {
        c->cfg.lie->in(c->cfg.lie->user, m->ses != NULL ? m->ses->sid : 0, msg);
    }
    if (msg->type == WZP_SIG_REGISTER_PRESENCE && m->ses == NULL) {
        join(c, cl, msg, now_ms);
    } else if (msg->type == WZP_SIG_PEER_SIGNAL && m->ses != NULL) {
        route_peer(c, m, msg);
    } else if (msg->type == WZP_SIG_MEDIA_OPTIONS && m->ses != NULL) {
        media_options(c, cl, msg);
    } else if (msg->type == WZP_SIG_HANGUP) {
        m->path->ops->close(m->path, "hangup");
    }
}
