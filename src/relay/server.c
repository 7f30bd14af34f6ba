/*
 * The relay's control plane (include/wzp/relay.h): QUIC connections in, room membership and
 * signalling out. Each connection's state is a small record hung on the connection; everything
 * a client says goes through the bounded signal parser first and is dropped if it does not fit.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/addr.h"
#include "wzp/auth.h"
#include "wzp/link.h"
#include "wzp/hop.h"
#include "wzp/metrics.h"
#include "wzp/quic.h"
#include "wzp/relay.h"
#include "wzp/alloc.h"

#define MAX_ROOM_FANOUT    1024
#define MAX_DIRTY_ROOMS    32
#define ANNOUNCE_MS        50 /* RoomUpdates coalesce: a burst of joins costs one snapshot */
#define MAX_PROBE_SESSIONS 64 /* other relays measuring us (SNI WZP_PROBE_SNI) */
#define PROBE_ECHOES_PER_S 10 /* a prober sends 1/s: more is not probing */
#define MAX_LINKS          16 /* forwarding relays whose clients come through us */
#define LINK_TICK_MS       5

typedef struct timers {
    uv_timer_t sweep;    /* closes members idle beyond idle_ms */
    uv_timer_t announce; /* sends the RoomUpdates of rooms that changed */
    uv_timer_t trunk;    /* flushes trunk frames WZP_TRUNK_FLUSH_MS after their first entry */
    uv_timer_t link;     /* closes links' FEC blocks (runs while a link exists) */
    int open;
} timers;

#define TRUNK_MARK 0x80 /* first byte of a trunked hop payload (a sender id has its top bit 0) */

typedef enum auth_state { AUTH_NONE, AUTH_PENDING, AUTH_DONE } auth_state;

typedef struct member {
    uint32_t sid; /* 0 until registered */
    wzp_quic_conn *conn;
    struct wzp_relay_server *server;
    auth_state auth;
    wzp_auth_req *auth_req;   /* while AUTH_PENDING */
    wzp_signal *pending_join; /* a RegisterPresence that arrived while the token was checked */
    char auth_fp[128];        /* the fingerprint featherChat vouched for (empty: none given) */
    char auth_alias[WZP_ALIAS_MAX + 1];
    bool trunk;         /* takes TrunkFrames (it said so, and the relay trunks) */
    bool trunk_pending; /* in the server's list of frames to flush */
    wzp_trunk_packer packer;
    uint8_t trunk_buf[1 + WZP_TRUNK_MAX_BYTES]; /* TRUNK_MARK, then the frame */
    bool probe;   /* another relay probing us: its datagrams are echoed */
    bool is_link; /* a forwarding relay: its datagrams carry its clients' */
    wzp_link *link;
    uint32_t link_id;     /* generation << 8 | slot: the virtual addresses of its tunnels */
    bool probe_started;   /* it said Ping: it has its MediaSession */
    uint64_t echo_second; /* rate limit of the echoes */
    unsigned echoes;
    char room[WZP_ROOM_NAME_MAX + 1];
    wzp_hop_rx hop_rx;            /* client -> relay */
    wzp_hop_tx hop_tx;            /* relay -> client */
    struct sockaddr_storage addr; /* where its media goes (moves with authentic packets) */
} member;

struct wzp_relay_server {
    uv_loop_t *loop;
    wzp_relay_tap_fn tap;
    void *tap_user;
    wzp_quic_endpoint *ep;
    wzp_tls_identity *tls;
    wzp_rooms *rooms;
    uint8_t json[WZP_SIGNAL_MAX_JSON + 64];
    uint8_t fwd[2048];
    uint64_t media_in, media_out, media_refused, keepalives, expired;
    uint64_t media_bytes_in, media_bytes_out, joins, leaves;
    uint64_t join_refused[4];                     /* relay full, room full, bad signature, other */
    wzp_auth *auth;                               /* NULL: no token needed */
    uint64_t auth_attempts[WZP_AUTH_RESULTS + 3]; /* + mismatch, busy, missing */
    wzp_histogram handshake;
    member *probes[MAX_PROBE_SESSIONS];
    member *links[MAX_LINKS];
    uint32_t link_generation;
    bool trunking;
    member **trunk_pending; /* members with an unflushed frame (capacity: max_sessions) */
    size_t ntrunk_pending, trunk_cap;
    uint64_t trunk_frames, trunk_entries, trunk_bytes_saved;
    uint64_t probe_echoes, probe_refused;
    timers *t; /* separately allocated: freed when libuv has closed both */
    bool closing;
    char dirty[MAX_DIRTY_ROOMS][WZP_ROOM_NAME_MAX + 1];
    size_t ndirty;
};

static void send_msg(wzp_relay_server *s, wzp_quic_conn *c, const wzp_signal *m) {
    size_t n = 0;
    if (wzp_signal_encode(m, s->json, sizeof(s->json), &n) == WZP_OK) {
        if (wzp_quic_send_signal(c, s->json, n) != WZP_OK) {
            fprintf(stderr, "wzp-relay: a signalling message was dropped (peer not reading)\n");
        }
    }
}

static void send_ack(wzp_relay_server *s, wzp_quic_conn *c, const char *error) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_REGISTER_PRESENCE_ACK);
    if (m == NULL) {
        return;
    }
    m->u.register_presence_ack.success = error == NULL;
    if (wzp_signal_set_str(&m->u.register_presence_ack.error, error) == WZP_OK) {
        send_msg(s, c, m);
    }
    wzp_signal_free(m);
}

/* RoomUpdate to every member of `room`. */
static void announce(wzp_relay_server *s, const char *room) {
    wzp_signal *m = NULL;
    if (wzp_rooms_update_message(s->rooms, room, &m) != WZP_OK) {
        return;
    }
    uint32_t sids[MAX_ROOM_FANOUT];
    size_t n = wzp_rooms_members(s->rooms, room, sids, MAX_ROOM_FANOUT);
    for (size_t i = 0; i < n; i++) {
        wzp_session *ses = wzp_rooms_get(s->rooms, sids[i]);
        if (ses != NULL) {
            send_msg(s, ses->user, m);
        }
    }
    wzp_signal_free(m);
}

static void on_announce(uv_timer_t *t) {
    wzp_relay_server *s = t->data;
    for (size_t i = 0; i < s->ndirty; i++) {
        announce(s, s->dirty[i]);
    }
    s->ndirty = 0;
}

/* `room` changed: everyone in it gets one RoomUpdate within ANNOUNCE_MS, however many joins
 * and leaves happen meanwhile (a full snapshot per event would cost O(members²) per burst). */
static void room_changed(wzp_relay_server *s, const char *room) {
    if (s->closing) {
        return;
    }
    for (size_t i = 0; i < s->ndirty; i++) {
        if (strcmp(s->dirty[i], room) == 0) {
            return;
        }
    }
    if (s->ndirty == MAX_DIRTY_ROOMS) {
        announce(s, room); /* many rooms changing at once: no coalescing for this one */
        return;
    }
    snprintf(s->dirty[s->ndirty++], sizeof(s->dirty[0]), "%s", room);
    if (s->ndirty == 1) {
        uv_timer_start(&s->t->announce, on_announce, ANNOUNCE_MS, 0);
    }
}

int wzp_relay_send_ping(wzp_quic_conn *c, uint64_t now_ms) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_PING);
    uint8_t json[128];
    size_t n = 0;
    if (m == NULL) {
        return WZP_ERR_NOMEM;
    }
    m->u.ping.timestamp_ms = now_ms;
    int rc = wzp_signal_encode(m, json, sizeof(json), &n);
    wzp_signal_free(m);
    return rc == WZP_OK ? wzp_quic_send_signal(c, json, n) : rc;
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

/* Hop keys from this connection's exporter, the return address, and the session id to the
 * client (MediaSession). */
static void start_media(wzp_relay_server *s, wzp_quic_conn *c, member *mb) {
    uint8_t exporter[32];
    wzp_hop_keys keys;
    if (wzp_quic_export(c, WZP_HOP_EXPORTER_LABEL, exporter) != WZP_OK ||
        wzp_hop_keys_derive(exporter, &keys) != WZP_OK) {
        return;
    }
    wzp_hop_rx_init(&mb->hop_rx, mb->sid, keys.client_to_relay);
    wzp_hop_tx_init(&mb->hop_tx, mb->sid, keys.relay_to_client);
    memcpy(&mb->addr, wzp_quic_conn_remote(c), sizeof(mb->addr));
    sodium_memzero(&keys, sizeof(keys));
    wzp_signal *m = wzp_signal_new(WZP_SIG_MEDIA_SESSION);
    if (m != NULL) {
        m->u.media_session.session_id = mb->sid;
        send_msg(s, c, m);
        wzp_signal_free(m);
    }
}

/* ---- links: forwarding relays (forward mode) --------------------------------------------- */

/* A link datagram for the forwarding relay. */
static void link_out(void *user, const uint8_t *dgram, size_t len) {
    member *lm = user;
    wzp_quic_send_datagram(lm->server->ep, dgram, len, (const struct sockaddr *)&lm->addr);
}

/* A client datagram that came through a link: the endpoint takes it as from the tunnel's
 * virtual address, so QUIC, joins and media work as for any client. */
static void link_deliver(void *user, uint32_t tunnel, const uint8_t *data, size_t len) {
    member *lm = user;
    struct sockaddr_storage va;
    wzp_virtual_addr_make(lm->link_id, tunnel, &va);
    wzp_quic_endpoint_inject(lm->server->ep, data, len, (const struct sockaddr *)&va);
}

/* The endpoint sends to a virtual address: into the link that serves that tunnel. */
static void virtual_send(const struct sockaddr *to, const uint8_t *data, size_t len, void *user) {
    wzp_relay_server *s = user;
    uint32_t id = 0, tunnel = 0;
    wzp_virtual_addr_parts(to, &id, &tunnel);
    member *lm = (id & 0xFFu) < MAX_LINKS ? s->links[id & 0xFFu] : NULL;
    if (lm != NULL && lm->link_id == id && lm->link != NULL) {
        if (wzp_link_send(lm->link, tunnel, data, len, uv_now(s->loop)) != WZP_OK) {
            s->media_refused++; /* too large for a link datagram */
        }
    }
}

static void on_link_timer(uv_timer_t *t) {
    wzp_relay_server *s = t->data;
    for (size_t i = 0; i < MAX_LINKS; i++) {
        if (s->links[i] != NULL && s->links[i]->link != NULL) {
            wzp_link_tick(s->links[i]->link, uv_now(s->loop));
        }
    }
}

/* A forwarding relay said Ping on its link connection: its session, keys and FEC state. */
static void link_start(wzp_relay_server *s, wzp_quic_conn *c, member *mb) {
    uint8_t exporter[32];
    wzp_hop_session hop;
    if (wzp_link_new(link_out, link_deliver, mb, &mb->link) != WZP_OK) {
        wzp_quic_close(c, "out of memory");
        return;
    }
    start_media(s, c, mb); /* assigns nothing new: mb->sid was chosen at establishment */
    if (wzp_quic_export(c, WZP_HOP_EXPORTER_LABEL, exporter) == WZP_OK &&
        wzp_hop_session_init(&hop, WZP_HOP_RELAY, mb->sid, exporter) == WZP_OK) {
        wzp_link_set_session(mb->link, &hop);
        wzp_hop_session_wipe(&hop);
    }
    if (!uv_is_active((uv_handle_t *)&s->t->link)) {
        uv_timer_start(&s->t->link, on_link_timer, LINK_TICK_MS, LINK_TICK_MS);
    }
    fprintf(stderr, "wzp-relay: forwarding relay linked (link %u)\n", mb->link_id & 0xFFu);
}

/* Another relay's probe: an authentic datagram of a probe session goes straight back, sealed for
 * that session (same size: nothing to amplify; authenticated: nobody else's address). */
static bool probe_echo(wzp_relay_server *s, wzp_quic_endpoint *ep, uint32_t sid,
                       const uint8_t *data, size_t len, const struct sockaddr *from) {
    member *mb = NULL;
    for (size_t i = 0; i < MAX_PROBE_SESSIONS && mb == NULL; i++) {
        mb = s->probes[i] != NULL && s->probes[i]->sid == sid ? s->probes[i] : NULL;
    }
    const uint8_t *pkt;
    size_t plen = 0, out = 0;
    if (mb == NULL || wzp_hop_open(&mb->hop_rx, data, len, &pkt, &plen) != WZP_OK) {
        s->media_refused++;
        return mb != NULL;
    }
    uint64_t second = uv_now(s->loop) / 1000;
    if (second != mb->echo_second) {
        mb->echo_second = second;
        mb->echoes = 0;
    }
    if (++mb->echoes > PROBE_ECHOES_PER_S || plen == 0) {
        s->probe_refused++;
        return true;
    }
    if (wzp_hop_seal(&mb->hop_tx, pkt, plen, wzp_quic_queue_slot(ep), WZP_QUIC_MAX_DATAGRAM,
                     &out) == WZP_OK) {
        wzp_quic_queue_commit(ep, out, from);
        s->probe_echoes++;
    }
    return true;
}

/* Send `m`'s trunk frame: one hop datagram instead of `count`. */
static void trunk_flush(wzp_relay_server *s, member *m) {
    uint16_t entries = m->packer.count;
    size_t n = wzp_trunk_packer_finish(&m->packer), out = 0;
    if (n == 0) {
        return;
    }
    m->trunk_buf[0] = TRUNK_MARK;
    if (wzp_hop_seal(&m->hop_tx, m->trunk_buf, n + 1, wzp_quic_queue_slot(s->ep),
                     WZP_QUIC_MAX_DATAGRAM, &out) == WZP_OK) {
        wzp_quic_queue_commit(s->ep, out, (const struct sockaddr *)&m->addr);
        s->media_out++;
        s->media_bytes_out += out;
        s->trunk_frames++;
        s->trunk_entries += entries;
        /* each entry alone: IPv4+UDP 28, hop 16, sender id 4; trunked: 4 per entry, and one
         * datagram of 28 + 16 + 1 + 2 */
        s->trunk_bytes_saved += (uint64_t)entries * (28 + WZP_HOP_OVERHEAD + 4 - 4) -
                                (28 + WZP_HOP_OVERHEAD + 1 + WZP_TRUNK_HEADER_SIZE);
    }
}

static void on_trunk_timer(uv_timer_t *t) {
    wzp_relay_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    size_t keep = 0;
    for (size_t i = 0; i < s->ntrunk_pending; i++) {
        member *m = s->trunk_pending[i];
        if (m->packer.count > 0 && wzp_trunk_packer_should_flush(&m->packer, now)) {
            trunk_flush(s, m);
        }
        if (m->packer.count > 0) {
            s->trunk_pending[keep++] = m;
        } else {
            m->trunk_pending = false;
        }
    }
    s->ntrunk_pending = keep;
    wzp_quic_flush_datagrams(s->ep);
    if (keep > 0) {
        uv_timer_start(&s->t->trunk, on_trunk_timer, 1, 0);
    }
}

/* Queue `pkt` from sender `sid16` into receiver `m`'s trunk frame. False: send it alone. */
static bool trunk_add(wzp_relay_server *s, member *m, uint16_t sid16, const uint8_t *pkt,
                      size_t len) {
    uint64_t now = uv_now(s->loop);
    if (wzp_trunk_packer_would_overflow(&m->packer, len)) {
        trunk_flush(s, m);
    }
    if (wzp_trunk_packer_add(&m->packer, sid16, pkt, len, now) != WZP_OK) {
        return false; /* too large for any frame */
    }
    if (wzp_trunk_packer_should_flush(&m->packer, now)) {
        trunk_flush(s, m); /* full: 10 entries */
        return true;
    }
    if (!m->trunk_pending && s->ntrunk_pending < s->trunk_cap) {
        m->trunk_pending = true;
        s->trunk_pending[s->ntrunk_pending++] = m;
        if (!uv_is_active((uv_handle_t *)&s->t->trunk)) {
            uv_timer_start(&s->t->trunk, on_trunk_timer, WZP_TRUNK_FLUSH_MS, 0);
        }
    } else if (!m->trunk_pending) {
        trunk_flush(s, m); /* no room to remember it: do not hold it */
    }
    return true;
}

/* A media datagram: authenticate it for its session, follow the sender if it moved, and fan
 * it out to the rest of the room, re-sealed for each receiver's hop. */
static bool on_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, void *user) {
    wzp_relay_server *s = user;
    uint32_t sid = 0;
    if (wzp_hop_peek_session(data, len, &sid) != WZP_OK) {
        return false;
    }
    wzp_session *ses = wzp_rooms_get(s->rooms, sid);
    member *mb = ses != NULL ? wzp_quic_conn_get_user(ses->user) : NULL;
    const uint8_t *pkt;
    size_t plen = 0;
    if (mb == NULL) {
        for (size_t i = 0; i < MAX_LINKS; i++) {
            member *lm = s->links[i];
            if (lm != NULL && lm->sid == sid && lm->link != NULL) {
                if (wzp_link_receive(lm->link, data, len, uv_now(s->loop)) == WZP_OK &&
                    memcmp(&lm->addr, from, wzp_addr_len(from)) != 0) {
                    memset(&lm->addr, 0, sizeof(lm->addr));
                    memcpy(&lm->addr, from, wzp_addr_len(from)); /* roaming, as for members */
                }
                return true;
            }
        }
        return probe_echo(s, ep, sid, data, len, from);
    }
    if (wzp_hop_open(&mb->hop_rx, data, len, &pkt, &plen) != WZP_OK) {
        s->media_refused++; /* unknown session, forged MAC or replay: nothing is sent anywhere */
        return mb != NULL;
    }
    s->media_in++;
    s->media_bytes_in += len;
    if (memcmp(&mb->addr, from, wzp_addr_len(from)) != 0) {
        memset(&mb->addr, 0, sizeof(mb->addr));
        memcpy(&mb->addr, from, wzp_addr_len(from)); /* roaming: an authentic packet moved it */
    }
    wzp_rooms_touch(s->rooms, sid, uv_now(s->loop));
    if (plen == 0) {
        s->keepalives++; /* a member with nothing to say is alive: nothing to forward */
        return true;
    }
    if (s->tap != NULL) {
        s->tap(sid, pkt, plen, s->tap_user);
    }
    uint32_t sids[MAX_ROOM_FANOUT];
    size_t n = wzp_rooms_fanout(s->rooms, sid, sids, MAX_ROOM_FANOUT);
    if (plen + 4 > sizeof(s->fwd)) {
        return true;
    }
    /* receivers learn whose media it is: the sender's session id goes first */
    s->fwd[0] = (uint8_t)(sid >> 24);
    s->fwd[1] = (uint8_t)(sid >> 16);
    s->fwd[2] = (uint8_t)(sid >> 8);
    s->fwd[3] = (uint8_t)sid;
    memcpy(s->fwd + 4, pkt, plen);
    for (size_t i = 0; i < n; i++) {
        wzp_session *dst = wzp_rooms_get(s->rooms, sids[i]);
        member *dm = dst != NULL ? wzp_quic_conn_get_user(dst->user) : NULL;
        size_t out = 0;
        if (dm != NULL && dm->trunk && trunk_add(s, dm, (uint16_t)sid, pkt, plen)) {
            continue;
        }
        /* sealed straight into the send batch: no copy per receiver */
        if (dm != NULL && wzp_hop_seal(&dm->hop_tx, s->fwd, plen + 4, wzp_quic_queue_slot(ep),
                                       WZP_QUIC_MAX_DATAGRAM, &out) == WZP_OK) {
            wzp_quic_queue_commit(ep, out, (const struct sockaddr *)&dm->addr);
            s->media_out++;
            s->media_bytes_out += out;
        }
    }
    return true;
}

/* Verify a RegisterPresence against this connection and join the room of its SNI. */
static void do_join(wzp_relay_server *s, wzp_quic_conn *c, member *mb, const wzp_signal *m) {
    uint8_t exporter[32], fp[WZP_FINGERPRINT_SIZE] = {0};
    int rc = wzp_quic_export(c, WZP_JOIN_EXPORTER, exporter);
    if (rc == WZP_OK) {
        rc = wzp_join_verify(m, exporter, fp);
    }
    if (rc != WZP_OK) { /* the log names the key it claimed */
        wzp_fingerprint_of(m->u.register_presence.identity_pub, fp);
    }
    const char *room = mb->room;
    char fptext[WZP_FINGERPRINT_TEXT];
    wzp_fingerprint_format(fp, fptext);
    if (rc == WZP_OK && mb->auth == AUTH_DONE && mb->auth_fp[0] != '\0') {
        /* the token must be this identity's: featherChat's fingerprint is checked against the
         * key that just signed this connection's join */
        uint8_t vouched[WZP_FINGERPRINT_SIZE];
        if (wzp_fingerprint_parse(mb->auth_fp, vouched) != WZP_OK ||
            sodium_memcmp(vouched, fp, WZP_FINGERPRINT_SIZE) != 0) {
            s->auth_attempts[WZP_AUTH_RESULTS]++; /* mismatch */
            fprintf(stderr,
                    "wzp-relay: auth refused: the token belongs to another identity "
                    "(token for %.40s, joining as %s)\n",
                    mb->auth_fp, fptext);
            send_ack(s, c, "auth refused: the token belongs to another identity");
            wzp_quic_close(c, "auth refused: identity mismatch");
            return;
        }
    }
    if (rc == WZP_OK && mb->auth == AUTH_DONE) {
        s->auth_attempts[WZP_AUTH_OK]++;
    }
    const char *alias = mb->auth_alias[0] ? mb->auth_alias : m->u.register_presence.alias;
    if (rc == WZP_OK) {
        rc = wzp_rooms_join(s->rooms, room, fp, alias, c, uv_now(s->loop), &mb->sid);
    }
    if (rc != WZP_OK) {
        s->join_refused[rc == WZP_ERR_FULL               ? 0
                        : rc == WZP_ERR_TOO_MANY_ENTRIES ? 1
                        : rc == WZP_ERR_AUTH             ? 2
                                                         : 3]++;
        fprintf(stderr, "wzp-relay: join refused: %s room=%.12s fp=%s\n", join_error(rc), room,
                fptext);
        send_ack(s, c, join_error(rc));
        wzp_quic_close(c, join_error(rc));
        return;
    }
    s->joins++;
    fprintf(stderr, "wzp-relay: joined room=%.12s fp=%s sessions=%zu\n", room, fptext,
            wzp_rooms_total(s->rooms));
    start_media(s, c, mb);
    send_ack(s, c, NULL);
    room_changed(s, room);
}

/* Deliver a PeerSignal to the named member of the sender's room, with the sender's fingerprint
 * and connection exporter stamped (the receiver builds the pair binding from it). */
static void route_peer(wzp_relay_server *s, wzp_quic_conn *c, const member *mb, wzp_signal *m) {
    wzp_session *from = wzp_rooms_get(s->rooms, mb->sid);
    uint32_t sids[MAX_ROOM_FANOUT];
    size_t n = wzp_rooms_fanout(s->rooms, mb->sid, sids, MAX_ROOM_FANOUT);
    uint8_t to[WZP_FINGERPRINT_SIZE];
    if (from == NULL || wzp_fingerprint_parse(m->u.peer_signal.to_fingerprint, to) != WZP_OK) {
        return;
    }
    char fptext[WZP_FINGERPRINT_TEXT];
    wzp_fingerprint_format(from->fingerprint, fptext);
    wzp_sig_bytes *b = &m->u.peer_signal.from_binding;
    if (wzp_signal_set_str(&m->u.peer_signal.from_fingerprint, fptext) != WZP_OK ||
        wzp_quic_export(c, WZP_CALL_BINDING_EXPORTER, b->data) != WZP_OK) {
        return;
    }
    b->present = true;
    b->len = 32;
    for (size_t i = 0; i < n; i++) {
        wzp_session *dst = wzp_rooms_get(s->rooms, sids[i]);
        if (dst != NULL && sodium_memcmp(dst->fingerprint, to, WZP_FINGERPRINT_SIZE) == 0) {
            send_msg(s, dst->user, m);
        }
    }
}

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    wzp_relay_server *s = user;
    member *mb = wzp_calloc(1, sizeof(*mb));
    if (mb == NULL) {
        return -1;
    }
    mb->conn = c;
    mb->server = s;
    wzp_histogram_observe(&s->handshake, wzp_quic_conn_handshake_ms(c) / 1000.0);
    snprintf(mb->room, sizeof(mb->room), "%s", sni[0] ? sni : "default");
    wzp_quic_conn_set_user(c, mb);
    if (strcmp(sni, WZP_PROBE_SNI) == 0) {
        size_t i = 0;
        while (i < MAX_PROBE_SESSIONS && s->probes[i] != NULL) {
            i++;
        }
        if (i == MAX_PROBE_SESSIONS) {
            return -1; /* closes it (on_closed frees mb) */
        }
        do {
            mb->sid = wzp_hop_new_session_id();
        } while (wzp_rooms_get(s->rooms, mb->sid) != NULL);
        mb->probe = true; /* its session starts when it first speaks (the stream is its) */
        s->probes[i] = mb;
    }
    if (strcmp(sni, WZP_LINK_SNI) == 0) {
        size_t i = 0;
        while (i < MAX_LINKS && s->links[i] != NULL) {
            i++;
        }
        if (i == MAX_LINKS) {
            return -1;
        }
        do {
            mb->sid = wzp_hop_new_session_id();
        } while (wzp_rooms_get(s->rooms, mb->sid) != NULL);
        mb->is_link = true;
        mb->link_id = (++s->link_generation << 8) | (uint32_t)i;
        s->links[i] = mb;
    }
    return 0;
}

#define AUTH_MISMATCH WZP_AUTH_RESULTS
#define AUTH_BUSY     (WZP_AUTH_RESULTS + 1)
#define AUTH_MISSING  (WZP_AUTH_RESULTS + 2)
static const char *const auth_extra_names[] = {"mismatch", "busy", "missing"};

static void auth_refuse(wzp_relay_server *s, member *mb, unsigned result, const char *detail) {
    char why[200];
    s->auth_attempts[result]++;
    snprintf(why, sizeof(why), "auth refused: %s", detail);
    fprintf(stderr, "wzp-relay: %s (room=%.12s)\n", why, mb->room);
    send_ack(s, mb->conn, why);
    wzp_quic_close(mb->conn, why);
}

/* featherChat answered (on the loop, later): admit the member, and let its join through. */
static void on_auth_reply(void *user, const wzp_auth_reply *r) {
    member *mb = user;
    wzp_relay_server *s = mb->server;
    mb->auth_req = NULL;
    if (r->result != WZP_AUTH_OK) {
        auth_refuse(s, mb, r->result, r->detail);
        return;
    }
    mb->auth = AUTH_DONE; /* counted as ok once the join shows the token is this identity's */
    snprintf(mb->auth_fp, sizeof(mb->auth_fp), "%s", r->fingerprint);
    snprintf(mb->auth_alias, sizeof(mb->auth_alias), "%s", r->alias);
    fprintf(stderr, "wzp-relay: auth ok (room=%.12s)\n", mb->room);
    if (mb->pending_join != NULL) {
        wzp_signal *join = mb->pending_join;
        mb->pending_join = NULL;
        do_join(s, mb->conn, mb, join);
        wzp_signal_free(join);
    }
}

/* With --auth-url the first message must be AuthToken (SPEC §8); the join that follows it waits
 * for featherChat's answer. Returns true when `m` was consumed here. */
static bool auth_gate(wzp_relay_server *s, member *mb, wzp_signal **m) {
    if (s->auth == NULL || mb->auth == AUTH_DONE) {
        return false;
    }
    if (mb->auth == AUTH_NONE) {
        if ((*m)->type != WZP_SIG_AUTH_TOKEN) {
            auth_refuse(s, mb, AUTH_MISSING, "this relay needs a featherChat token (--token)");
            return true;
        }
        int rc =
            wzp_auth_check(s->auth, (*m)->u.auth_token.token, on_auth_reply, mb, &mb->auth_req);
        if (rc != WZP_OK) {
            auth_refuse(s, mb, AUTH_BUSY,
                        rc == WZP_ERR_FULL ? "too many token checks in flight, try again"
                                           : "the token cannot be checked");
            return true;
        }
        mb->auth = AUTH_PENDING;
        return true;
    }
    if ((*m)->type == WZP_SIG_REGISTER_PRESENCE && mb->pending_join == NULL) {
        mb->pending_join = *m; /* kept (one) until the answer */
        *m = NULL;
    }
    return true; /* anything else before the answer is dropped */
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    wzp_relay_server *s = user;
    member *mb = wzp_quic_conn_get_user(c);
    wzp_signal *m = NULL;
    int rc = wzp_signal_decode(json, len, &m);
    if (rc == WZP_ERR_UNKNOWN_VARIANT) {
        fprintf(stderr, "wzp-relay: unknown signal variant dropped\n");
        return;
    }
    if (rc != WZP_OK || mb == NULL) {
        wzp_signal_free(m);
        return;
    }
    if (mb->probe || mb->is_link) {
        if (m->type == WZP_SIG_PING && !mb->probe_started) {
            mb->probe_started = true;
            if (mb->is_link) {
                link_start(s, c, mb);
            } else {
                start_media(s, c, mb);
            }
        }
        wzp_signal_free(m);
        return;
    }
    if (mb->sid != 0) {
        wzp_rooms_touch(s->rooms, mb->sid, uv_now(s->loop));
    }
    if (auth_gate(s, mb, &m)) {
        wzp_signal_free(m);
        return;
    }
    if (m->type == WZP_SIG_REGISTER_PRESENCE && mb->sid == 0) {
        do_join(s, c, mb, m);
    } else if (m->type == WZP_SIG_PEER_SIGNAL && mb->sid != 0) {
        route_peer(s, c, mb, m);
    } else if (m->type == WZP_SIG_MEDIA_OPTIONS && mb->sid != 0) {
        mb->trunk = s->trunking && m->u.media_options.trunking;
        if (mb->trunk &&
            wzp_trunk_packer_init(&mb->packer, mb->trunk_buf + 1, WZP_TRUNK_MAX_BYTES) != WZP_OK) {
            mb->trunk = false;
        }
    } else if (m->type == WZP_SIG_HANGUP) {
        wzp_quic_close(c, "hangup");
    }
    wzp_signal_free(m);
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    wzp_relay_server *s = user;
    member *mb = wzp_quic_conn_get_user(c);
    (void)error;
    if (mb == NULL) {
        return;
    }
    for (size_t i = 0; mb->probe && i < MAX_PROBE_SESSIONS; i++) {
        s->probes[i] = s->probes[i] == mb ? NULL : s->probes[i];
    }
    for (size_t i = 0; mb->is_link && i < MAX_LINKS; i++) {
        s->links[i] = s->links[i] == mb ? NULL : s->links[i];
    }
    if (mb->is_link) {
        fprintf(stderr, "wzp-relay: forwarding relay gone (link %u)\n", mb->link_id & 0xFFu);
    }
    wzp_link_free(mb->link);
    for (size_t i = 0; mb->trunk_pending && i < s->ntrunk_pending; i++) {
        if (s->trunk_pending[i] == mb) { /* its frame goes nowhere now */
            s->trunk_pending[i] = s->trunk_pending[--s->ntrunk_pending];
            break;
        }
    }
    wzp_auth_cancel(mb->auth_req); /* its answer would find nobody */
    wzp_signal_free(mb->pending_join);
    if (!mb->probe && !mb->is_link && mb->sid != 0 &&
        wzp_rooms_leave(s->rooms, mb->sid) == WZP_OK) {
        s->leaves++;
        fprintf(stderr, "wzp-relay: left room=%.12s (%s) sessions=%zu\n", mb->room,
                reason ? reason : "closed", wzp_rooms_total(s->rooms));
        room_changed(s, mb->room);
    }
    wzp_quic_conn_set_user(c, NULL);
    wzp_free(mb);
}

/* Once a second: members with no authentic media, keep-alive or signal for idle_ms are gone
 * (killed, unplugged, or their path died) even if QUIC has not noticed yet. */
static void on_sweep(uv_timer_t *t) {
    wzp_relay_server *s = t->data;
    uint32_t idle[64];
    size_t n = wzp_rooms_idle(s->rooms, uv_now(s->loop), idle, 64);
    for (size_t i = 0; i < n; i++) {
        wzp_session *ses = wzp_rooms_get(s->rooms, idle[i]);
        if (ses != NULL && ses->user != NULL) {
            s->expired++;
            wzp_quic_close(ses->user, "idle: no media or keep-alive"); /* on_closed: leave */
        }
    }
}

static void timer_closed(uv_handle_t *h) {
    timers *t = h->data;
    if (--t->open == 0) {
        wzp_free(t);
    }
}

int wzp_relay_server_new(uv_loop_t *loop, const wzp_relay_server_config *cfg,
                         wzp_relay_server **out) {
    wzp_relay_server *s = wzp_calloc(1, sizeof(*s));
    if (s == NULL) {
        return WZP_ERR_NOMEM;
    }
    s->loop = loop;
    s->auth = cfg->auth;
    s->trunking = cfg->trunking;
    static const double hs_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    wzp_histogram_init(&s->handshake, hs_bounds, sizeof(hs_bounds) / sizeof(hs_bounds[0]));
    s->tap = cfg->tap;
    s->tap_user = cfg->tap_user;
    int rc = wzp_tls_identity_from_seed(cfg->seed, &s->tls);
    if (rc == WZP_OK) {
        rc = wzp_rooms_new(&cfg->rooms, &s->rooms);
    }
    if (rc == WZP_OK) {
        wzp_quic_config qc = {
            .bind = cfg->listen,
            .identity = s->tls,
            .cb = {s, on_established, on_signal, on_closed, on_datagram},
            .virtual_send = virtual_send,
        };
        rc = wzp_quic_endpoint_new(loop, &qc, &s->ep);
    }
    if (rc == WZP_OK) {
        s->t = wzp_calloc(1, sizeof(*s->t));
        s->trunk_cap = cfg->rooms.max_sessions;
        s->trunk_pending = wzp_calloc(s->trunk_cap, sizeof(member *));
        rc = s->t != NULL && s->trunk_pending != NULL ? WZP_OK : WZP_ERR_NOMEM;
    }
    if (rc != WZP_OK) {
        wzp_free(s->t);
        wzp_free(s->trunk_pending);
        wzp_quic_endpoint_free(s->ep);
        wzp_rooms_free(s->rooms);
        wzp_tls_identity_free(s->tls);
        wzp_free(s);
        return rc;
    }
    uv_timer_init(loop, &s->t->sweep);
    uv_timer_init(loop, &s->t->announce);
    uv_timer_init(loop, &s->t->trunk);
    uv_timer_init(loop, &s->t->link);
    s->t->sweep.data = s->t->announce.data = s->t->trunk.data = s->t->link.data = s;
    s->t->open = 4;
    uv_timer_start(&s->t->sweep, on_sweep, 1000, 1000);
    *out = s;
    return WZP_OK;
}

void wzp_relay_server_free(wzp_relay_server *s) {
    if (s == NULL) {
        return;
    }
    s->closing = true; /* members leaving now need no RoomUpdate */
    s->t->sweep.data = s->t->announce.data = s->t->trunk.data = s->t->link.data = s->t;
    uv_close((uv_handle_t *)&s->t->link, timer_closed);
    uv_close((uv_handle_t *)&s->t->sweep, timer_closed); /* (closing stops them) */
    uv_close((uv_handle_t *)&s->t->announce, timer_closed);
    uv_close((uv_handle_t *)&s->t->trunk, timer_closed);
    wzp_quic_endpoint_free(s->ep); /* closes connections: on_closed frees each member */
    wzp_rooms_free(s->rooms);
    wzp_tls_identity_free(s->tls);
    wzp_free(s->trunk_pending);
    wzp_free(s);
}

uint16_t wzp_relay_server_port(const wzp_relay_server *s) {
    return wzp_quic_endpoint_port(s->ep);
}

void wzp_relay_server_fingerprint(const wzp_relay_server *s, uint8_t out[32]) {
    wzp_tls_identity_fingerprint(s->tls, out);
}

const wzp_rooms *wzp_relay_server_rooms(const wzp_relay_server *s) {
    return s->rooms;
}

void wzp_relay_server_quic_stats(const wzp_relay_server *s, wzp_quic_stats *out) {
    wzp_quic_endpoint_stats(s->ep, out);
}

void wzp_relay_server_media_stats(const wzp_relay_server *s, uint64_t *in, uint64_t *out,
                                  uint64_t *refused) {
    *in = s->media_in;
    *out = s->media_out;
    *refused = s->media_refused;
}

/* No per-session or per-room labels: a relay with thousands of sessions must not produce
 * thousands of series. Labels here take a fixed, small set of values. */
void wzp_relay_server_metrics(const wzp_relay_server *s, wzp_prom *p) {
    wzp_quic_stats q;
    wzp_quic_endpoint_stats(s->ep, &q);
    wzp_prom_family(p, "wzp_relay_active_sessions", "gauge", "Members joined to a room now.");
    wzp_prom_sample_u64(p, "wzp_relay_active_sessions", NULL, wzp_rooms_total(s->rooms));
    wzp_prom_family(p, "wzp_relay_active_rooms", "gauge", "Rooms with at least one member.");
    wzp_prom_sample_u64(p, "wzp_relay_active_rooms", NULL, wzp_rooms_active(s->rooms));
    wzp_prom_family(p, "wzp_relay_connections", "gauge",
                    "QUIC connections now (joined or not), and those still handshaking.");
    wzp_prom_sample_u64(p, "wzp_relay_connections", "state=\"all\"", q.connections);
    wzp_prom_sample_u64(p, "wzp_relay_connections", "state=\"handshaking\"", q.handshaking);
    wzp_prom_family(p, "wzp_relay_joins_total", "counter", "Members admitted to a room.");
    wzp_prom_sample_u64(p, "wzp_relay_joins_total", NULL, s->joins);
    wzp_prom_family(p, "wzp_relay_leaves_total", "counter",
                    "Members gone (hung up, closed, idle).");
    wzp_prom_sample_u64(p, "wzp_relay_leaves_total", NULL, s->leaves);
    wzp_prom_family(p, "wzp_relay_idle_expired_total", "counter",
                    "Members dropped for silence (no media, keep-alive or signal).");
    wzp_prom_sample_u64(p, "wzp_relay_idle_expired_total", NULL, s->expired);
    static const char *const refused[] = {"relay_full", "room_full", "bad_signature", "other"};
    wzp_prom_family(p, "wzp_relay_join_refused_total", "counter", "Joins refused, by reason.");
    for (size_t i = 0; i < 4; i++) {
        char l[64];
        wzp_prom_label(l, sizeof(l), "reason", refused[i]);
        wzp_prom_sample_u64(p, "wzp_relay_join_refused_total", l, s->join_refused[i]);
    }
    wzp_prom_family(p, "wzp_relay_auth_attempts_total", "counter",
                    "featherChat token checks, by result.");
    for (unsigned i = 0; i < WZP_AUTH_RESULTS + 3; i++) {
        char l[64];
        wzp_prom_label(l, sizeof(l), "result",
                       i < WZP_AUTH_RESULTS ? wzp_auth_result_name((wzp_auth_result)i)
                                            : auth_extra_names[i - WZP_AUTH_RESULTS]);
        wzp_prom_sample_u64(p, "wzp_relay_auth_attempts_total", l, s->auth_attempts[i]);
    }
    wzp_prom_family(p, "wzp_relay_handshake_duration_seconds", "histogram",
                    "From a connection's first packet to QUIC handshake completion.");
    wzp_prom_histogram(p, "wzp_relay_handshake_duration_seconds", NULL, &s->handshake);
    wzp_prom_family(p, "wzp_relay_media_packets_total", "counter",
                    "Media datagrams: authenticated in, forwarded out, refused (unknown session, "
                    "forged, replayed), keep-alives.");
    wzp_prom_sample_u64(p, "wzp_relay_media_packets_total", "direction=\"in\"", s->media_in);
    wzp_prom_sample_u64(p, "wzp_relay_media_packets_total", "direction=\"out\"", s->media_out);
    wzp_prom_sample_u64(p, "wzp_relay_media_packets_total", "direction=\"refused\"",
                        s->media_refused);
    wzp_prom_sample_u64(p, "wzp_relay_media_packets_total", "direction=\"keepalive\"",
                        s->keepalives);
    wzp_prom_family(p, "wzp_relay_media_bytes_total", "counter",
                    "Media bytes in and out (UDP payload).");
    wzp_prom_sample_u64(p, "wzp_relay_media_bytes_total", "direction=\"in\"", s->media_bytes_in);
    wzp_prom_sample_u64(p, "wzp_relay_media_bytes_total", "direction=\"out\"", s->media_bytes_out);
    wzp_prom_family(p, "wzp_relay_udp_send_syscalls_total", "counter",
                    "sendmmsg/sendmsg calls for media (datagrams out per call shows batching).");
    wzp_prom_sample_u64(p, "wzp_relay_udp_send_syscalls_total", NULL, q.send_syscalls);
    wzp_prom_family(p, "wzp_relay_udp_dropped_total", "counter",
                    "Media datagrams the socket refused (send buffer full).");
    wzp_prom_sample_u64(p, "wzp_relay_udp_dropped_total", NULL, q.datagrams_dropped);
    wzp_prom_family(p, "wzp_relay_quic_retries_total", "counter",
                    "Retry packets sent under handshake load.");
    wzp_prom_sample_u64(p, "wzp_relay_quic_retries_total", NULL, q.retries_sent);
    wzp_prom_family(p, "wzp_relay_quic_stateless_resets_total", "counter",
                    "Stateless resets sent for unknown connections.");
    wzp_prom_sample_u64(p, "wzp_relay_quic_stateless_resets_total", NULL, q.resets_sent);
    wzp_prom_family(p, "wzp_relay_trunk_frames_total", "counter",
                    "TrunkFrames sent (each carries several forwarded packets).");
    wzp_prom_sample_u64(p, "wzp_relay_trunk_frames_total", NULL, s->trunk_frames);
    wzp_prom_family(p, "wzp_relay_trunk_entries_total", "counter",
                    "Forwarded packets that travelled inside TrunkFrames.");
    wzp_prom_sample_u64(p, "wzp_relay_trunk_entries_total", NULL, s->trunk_entries);
    wzp_prom_family(p, "wzp_relay_trunk_bytes_saved_total", "counter",
                    "Bytes on the wire (IPv4/UDP headers included) trunking saved.");
    wzp_prom_sample_u64(p, "wzp_relay_trunk_bytes_saved_total", NULL, s->trunk_bytes_saved);
    size_t nlinks = 0;
    wzp_link_stats ls = {0};
    for (size_t i = 0; i < MAX_LINKS; i++) {
        if (s->links[i] != NULL && s->links[i]->link != NULL) {
            wzp_link_stats one = wzp_link_get_stats(s->links[i]->link);
            nlinks++;
            ls.received += one.received;
            ls.delivered += one.delivered;
            ls.recovered += one.recovered;
            ls.sent += one.sent;
        }
    }
    wzp_prom_family(p, "wzp_relay_links", "gauge",
                    "Forwarding relays whose clients come through this one now.");
    wzp_prom_sample_u64(p, "wzp_relay_links", NULL, nlinks);
    wzp_prom_family(p, "wzp_relay_link_datagrams_total", "counter",
                    "Link datagrams from forwarding relays (in), to them (out); client datagrams "
                    "delivered from them, of which recovered by link FEC.");
    wzp_prom_sample_u64(p, "wzp_relay_link_datagrams_total", "direction=\"in\"", ls.received);
    wzp_prom_sample_u64(p, "wzp_relay_link_datagrams_total", "direction=\"out\"", ls.sent);
    wzp_prom_sample_u64(p, "wzp_relay_link_datagrams_total", "direction=\"delivered\"",
                        ls.delivered);
    wzp_prom_sample_u64(p, "wzp_relay_link_datagrams_total", "direction=\"recovered\"",
                        ls.recovered);
    size_t nprobes = 0;
    for (size_t i = 0; i < MAX_PROBE_SESSIONS; i++) {
        nprobes += s->probes[i] != NULL;
    }
    wzp_prom_family(p, "wzp_relay_probe_sessions", "gauge", "Other relays probing this one now.");
    wzp_prom_sample_u64(p, "wzp_relay_probe_sessions", NULL, nprobes);
    wzp_prom_family(p, "wzp_relay_probe_echoes_total", "counter",
                    "Probe datagrams echoed to probing relays.");
    wzp_prom_sample_u64(p, "wzp_relay_probe_echoes_total", NULL, s->probe_echoes);
    if (s->auth != NULL) {
        wzp_prom_family(p, "wzp_relay_auth_inflight", "gauge",
                        "featherChat token checks waiting for an answer.");
        wzp_prom_sample_u64(p, "wzp_relay_auth_inflight", NULL, wzp_auth_inflight(s->auth));
    }
}
