/*
 * The relay core (include/wzp/relay_core.h): members by role, their datagrams -- a client's
 * authenticated and fanned out to its room, a probing relay's echoed, a link's unpacked into its
 * clients' -- trunking, and the timers. Signalling is core_signal.c's. Sans-I/O: datagrams and
 * signals go out through each member's path, the time comes in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>

#include "proto/bytes.h"
#include "relay/core_internal.h"
#include "wzp/addr.h"
#include "wzp/alloc.h"
#include "wzp/random.h"

void wzp__core_log(wzp_relay_core *c, const char *fmt, ...) {
    if (c->cfg.log == NULL) {
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->cfg.log(c->cfg.user, line);
}

int wzp_relay_core_new(const wzp_relay_core_config *cfg, wzp_relay_core **out) {
    wzp_relay_core *c = wzp_calloc(1, sizeof(*c));
    if (c == NULL) {
        return WZP_ERR_NOMEM;
    }
    c->cfg = *cfg;
    c->cfg.peer_hosts = NULL;
    for (size_t i = 0; i < cfg->npeer_hosts && i < WZP_RELAY_MAX_PEER_HOSTS; i++) {
        c->peer_hosts[c->npeer_hosts++] = cfg->peer_hosts[i];
    }
    c->trunk_cap = cfg->rooms.max_sessions;
    c->trunk_due = UINT64_MAX;
    int rc = wzp_rooms_new(&cfg->rooms, &c->rooms);
    if (rc == WZP_OK &&
        (c->trunk_pending = wzp_calloc(c->trunk_cap, sizeof(wzp__client *))) == NULL) {
        rc = WZP_ERR_NOMEM;
    }
    if (rc != WZP_OK) {
        wzp_relay_core_free(c);
        return rc;
    }
    *out = c;
    return WZP_OK;
}

void wzp_relay_core_free(wzp_relay_core *c) {
    if (c == NULL) {
        return;
    }
    c->closing = true; /* members leaving now need no RoomUpdate */
    while (c->members != NULL) {
        wzp_relay_core_disconnect(c, c->members, "relay shutting down", 0);
    }
    wzp_rooms_free(c->rooms);
    wzp_free(c->trunk_pending);
    wzp_free(c);
}

/* ---- members ----------------------------------------------------------------------------------
 */

static size_t role_size(wzp_member_role role) {
    return role == WZP_MEMBER_PROBE  ? sizeof(wzp__probe)
           : role == WZP_MEMBER_LINK ? sizeof(wzp__link)
                                     : sizeof(wzp__client);
}

/* A free link slot (its index), or -1. */
static int link_slot(const wzp_relay_core *c) {
    for (int i = 0; i < WZP_RELAY_MAX_LINKS; i++) {
        if (c->links[i] == NULL) {
            return i;
        }
    }
    return -1;
}

/* Is `from` one of the hosts other relays may probe or link from? */
static bool peer_host(const wzp_relay_core *c, const struct sockaddr *from) {
    for (size_t i = 0; i < c->npeer_hosts; i++) {
        if (wzp_addr_same_host((const struct sockaddr *)&c->peer_hosts[i], from)) {
            return true;
        }
    }
    return false;
}

int wzp_relay_core_connect(wzp_relay_core *c, const char *sni, wzp_path *path, uint64_t now_ms,
                           wzp_member **out) {
    wzp_member_role role = strcmp(sni, WZP_PROBE_SNI) == 0  ? WZP_MEMBER_PROBE
                           : strcmp(sni, WZP_LINK_SNI) == 0 ? WZP_MEMBER_LINK
                                                            : WZP_MEMBER_CLIENT;
    if (role != WZP_MEMBER_CLIENT && !peer_host(c, (const struct sockaddr *)&path->remote)) {
        c->st.peer_refused++;
        wzp__core_log(c, "wzp-relay: refused a %s from a host that is not a configured peer relay",
                      role == WZP_MEMBER_PROBE ? "probe" : "link");
        return WZP_ERR_PERMISSION;
    }
    int slot = role == WZP_MEMBER_LINK ? link_slot(c) : 0;
    if ((role == WZP_MEMBER_PROBE && c->st.probes >= WZP_RELAY_MAX_PROBE_PEERS) || slot < 0) {
        return WZP_ERR_FULL;
    }
    wzp_member *m = wzp_calloc(1, role_size(role));
    if (m == NULL) {
        return WZP_ERR_NOMEM;
    }
    m->role = role;
    m->core = c;
    m->path = path;
    m->connected_ms = now_ms;
    m->next = c->members;
    if (c->members != NULL) {
        c->members->prev = m;
    }
    c->members = m;
    snprintf(m->room, sizeof(m->room), "%s", sni[0] ? sni : "default");
    if (role == WZP_MEMBER_PROBE) {
        c->st.probes++;
    } else if (role == WZP_MEMBER_LINK) {
        wzp__link *l = (wzp__link *)m;
        l->link_id = (++c->link_generation << 8) | (uint32_t)slot;
        c->links[slot] = l;
        c->st.links++;
    }
    *out = m;
    return WZP_OK;
}

/* Its frame goes nowhere now. */
static void drop_trunk(wzp_relay_core *c, wzp__client *cl) {
    for (size_t i = 0; cl->trunk_pending && i < c->ntrunk_pending; i++) {
        if (c->trunk_pending[i] == cl) {
            c->trunk_pending[i] = c->trunk_pending[--c->ntrunk_pending];
            break;
        }
    }
}

void wzp_relay_core_disconnect(wzp_relay_core *c, wzp_member *m, const char *reason,
                               uint64_t now_ms) {
    if (m->role == WZP_MEMBER_PROBE) {
        c->st.probes--;
    } else if (m->role == WZP_MEMBER_LINK) {
        wzp__link *l = (wzp__link *)m;
        c->links[l->link_id & 0xFFu] = NULL;
        c->st.links--;
        wzp__core_log(c, "wzp-relay: forwarding relay gone (link %u)", l->link_id & 0xFFu);
        wzp_link_free(l->link);
    } else {
        drop_trunk(c, (wzp__client *)m);
    }
    if (m->ses != NULL && wzp_rooms_leave(c->rooms, m->ses->sid) == WZP_OK &&
        m->role == WZP_MEMBER_CLIENT) {
        c->st.leaves++;
        wzp__core_log(c, "wzp-relay: left room=%.12s (%s) sessions=%zu", m->room,
                      reason ? reason : "closed", wzp_rooms_total(c->rooms));
        wzp__core_room_changed(c, m->room, now_ms);
    }
    if (m->prev != NULL) {
        m->prev->next = m->next;
    } else {
        c->members = m->next;
    }
    if (m->next != NULL) {
        m->next->prev = m->prev;
    }
    wzp_hop_session_wipe(&m->hop);
    wzp_free(m);
}

void wzp_relay_core_vouch(wzp_member *m, const char *fingerprint, const char *alias) {
    if (m->role != WZP_MEMBER_CLIENT) {
        return;
    }
    wzp__client *cl = (wzp__client *)m;
    cl->vouched = true;
    snprintf(cl->vouch_fp, sizeof(cl->vouch_fp), "%s", fingerprint != NULL ? fingerprint : "");
    snprintf(cl->vouch_alias, sizeof(cl->vouch_alias), "%s", alias != NULL ? alias : "");
}

wzp_member_role wzp_member_role_of(const wzp_member *m) {
    return m->role;
}

const char *wzp_member_room(const wzp_member *m) {
    return m->room;
}

void *wzp_member_user(const wzp_member *m) {
    return m->user;
}

void wzp_member_set_user(wzp_member *m, void *user) {
    m->user = user;
}

/* ---- datagrams --------------------------------------------------------------------------------
 */

/* An authentic datagram from a new address moves the member there (roaming). */
static void follow(wzp_member *m, const struct sockaddr *from) {
    if (!wzp_addr_equal((const struct sockaddr *)&m->path->remote, from)) {
        wzp_addr_copy(&m->path->remote, from);
    }
}

/* A client's authentic datagram came from `from`, not from where its media goes: perhaps it
 * moved (a new network, a NAT's new port), perhaps someone on the path re-sent a copy from
 * elsewhere -- or both, the copy ahead of the original, which is then a replay (still
 * authentic: it is challenged too). Its media stays where it was; `from` gets a challenge only
 * the member can answer (sealed with its hop key), at most one per WZP_RELAY_CHALLENGE_MS per
 * address, WZP_RELAY_CHALLENGE_SLOTS addresses at once: all a copier ever gets, and a copier
 * cannot keep the member's real new address from being challenged. */
static void challenge(wzp_relay_core *c, wzp_member *m, const struct sockaddr *from,
                      uint64_t now_ms) {
    struct wzp__challenge *slot = NULL, *free_slot = NULL;
    uint64_t at = now_ms != 0 ? now_ms : 1;
    for (int i = 0; i < WZP_RELAY_CHALLENGE_SLOTS; i++) {
        struct wzp__challenge *p = &m->pending[i];
        if (p->at_ms != 0 && wzp_addr_equal((const struct sockaddr *)&p->addr, from)) {
            slot = p; /* challenged before: again once its time is up */
            break;
        }
        if ((p->at_ms == 0 || at - p->at_ms >= WZP_RELAY_CHALLENGE_MS) &&
            (free_slot == NULL || p->at_ms < free_slot->at_ms)) {
            free_slot = p; /* unused, or its challenge unanswered for long enough */
        }
    }
    slot = slot != NULL ? slot : free_slot;
    if (slot == NULL || (slot->at_ms != 0 && at - slot->at_ms < WZP_RELAY_CHALLENGE_MS)) {
        return;
    }
    slot->at_ms = at;
    wzp_addr_copy(&slot->addr, from);
    wzp_random_buf(slot->token, sizeof(slot->token));
    uint8_t msg[WZP_HOP_CHALLENGE_SIZE] = {WZP_HOP_CHALLENGE};
    memcpy(msg + 1, slot->token, sizeof(slot->token));
    wzp_path *p = m->path;
    struct sockaddr_storage home = p->remote; /* this one datagram goes to `from` */
    wzp_addr_copy(&p->remote, from);
    size_t out = 0;
    uint8_t *dgram = p->ops->datagram_slot(p);
    if (wzp_hop_seal(&m->hop.tx, msg, sizeof(msg), dgram, p->mtu, &out) != WZP_OK) {
        out = 0;
    }
    p->ops->datagram_commit(p, out);
    p->remote = home;
    c->st.challenges += out > 0;
}

/* The answer to a challenge: from the challenged address, with its token, it moves the member. */
static void challenge_reply(wzp_relay_core *c, wzp_member *m, const uint8_t *pkt,
                            const struct sockaddr *from) {
    for (int i = 0; i < WZP_RELAY_CHALLENGE_SLOTS; i++) {
        struct wzp__challenge *p = &m->pending[i];
        if (p->at_ms != 0 && wzp_addr_equal((const struct sockaddr *)&p->addr, from) &&
            sodium_memcmp(pkt + 1, p->token, sizeof(p->token)) == 0) {
            wzp_addr_copy(&m->path->remote, from);
            sodium_memzero(m->pending, sizeof(m->pending)); /* every other candidate too */
            c->st.roams++;
            return;
        }
    }
}

/* Send `cl`'s trunk frame: one hop datagram instead of `count`. */
static void trunk_flush(wzp_relay_core *c, wzp__client *cl) {
    uint16_t entries = cl->packer.count;
    size_t n = wzp_trunk_packer_finish(&cl->packer), out = 0;
    if (n == 0) {
        return;
    }
    wzp_path *p = cl->m.path;
    cl->trunk_buf[0] = WZP__TRUNK_MARK;
    uint8_t *slot = p->ops->datagram_slot(p);
    if (wzp_hop_seal(&cl->m.hop.tx, cl->trunk_buf, n + 1, slot, p->mtu, &out) != WZP_OK) {
        out = 0;
    }
    p->ops->datagram_commit(p, out);
    if (out > 0) {
        c->st.media_out++;
        c->st.media_bytes_out += out;
        c->st.trunk_frames++;
        c->st.trunk_entries += entries;
        /* each entry alone: IPv4+UDP 28, hop 16, sender id 4; trunked: 4 per entry, and one
         * datagram of 28 + 16 + 1 + 2 */
        c->st.trunk_bytes_saved += (uint64_t)entries * (28 + WZP_HOP_OVERHEAD + 4 - 4) -
                                   (28 + WZP_HOP_OVERHEAD + 1 + WZP_TRUNK_HEADER_SIZE);
    }
}

/* Queue `pkt` from sender `sid16` into receiver `cl`'s trunk frame. False: send it alone. */
static bool trunk_add(wzp_relay_core *c, wzp__client *cl, uint16_t sid16, const uint8_t *pkt,
                      size_t len, uint64_t now_ms) {
    if (wzp_trunk_packer_would_overflow(&cl->packer, len)) {
        trunk_flush(c, cl);
    }
    if (wzp_trunk_packer_add(&cl->packer, sid16, pkt, len, now_ms) != WZP_OK) {
        return false; /* too large for any frame */
    }
    if (wzp_trunk_packer_should_flush(&cl->packer, now_ms)) {
        trunk_flush(c, cl); /* full: 10 entries */
        return true;
    }
    if (!cl->trunk_pending && c->ntrunk_pending < c->trunk_cap) {
        cl->trunk_pending = true;
        c->trunk_pending[c->ntrunk_pending++] = cl;
        uint64_t due = cl->packer.first_ms + WZP_TRUNK_FLUSH_MS;
        c->trunk_due = due < c->trunk_due ? due : c->trunk_due;
    } else if (!cl->trunk_pending) {
        trunk_flush(c, cl); /* no room to remember it: do not hold it */
    }
    return true;
}

/* Media from client `from`: to every other member of its room, the sender's session id first,
 * re-sealed for each receiver's hop straight into its path's next datagram. */
static void fan_out(wzp_relay_core *c, wzp_member *from, const uint8_t *pkt, size_t plen,
                    uint64_t now_ms) {
    uint32_t sid = from->ses->sid;
    size_t n = wzp_rooms_fanout_sessions(c->rooms, from->ses, c->fan, WZP__MAX_FANOUT);
    if (plen + 4 > sizeof(c->fwd)) {
        return;
    }
    wzp__put_u32be(c->fwd, sid); /* receivers learn whose media it is */
    memcpy(c->fwd + 4, pkt, plen);
    for (size_t i = 0; i < n; i++) {
        wzp__client *dst = c->fan[i]->user;
        if (dst->m.trunk && trunk_add(c, dst, (uint16_t)sid, pkt, plen, now_ms)) {
            continue;
        }
        wzp_path *p = dst->m.path;
        size_t out = 0;
        uint8_t *slot = p->ops->datagram_slot(p);
        if (wzp_hop_seal(&dst->m.hop.tx, c->fwd, plen + 4, slot, p->mtu, &out) != WZP_OK) {
            out = 0;
        }
        p->ops->datagram_commit(p, out);
        c->st.media_out += out > 0;
        c->st.media_bytes_out += out;
    }
}

/* A replayed datagram (authentic, seen before) from an address that is not the member's, with
 * one of the newest counters, within 50 ms of the member's last fresh one: the original of a copy
 * someone on the path re-sent ahead of it from elsewhere -- so the member may be here (it may have
 * moved, and the copy took its counter). An old datagram replayed later is not. */
static bool twin_of_a_copy(const wzp_member *m, const uint8_t *data, size_t len,
                           const struct sockaddr *from, uint64_t now_ms) {
    uint32_t ctr = wzp__get_u32be(data + WZP_HOP_SID_SIZE);
    uint32_t newest = (uint32_t)(m->hop.rx.replay.top - 1);
    return len >= WZP_HOP_OVERHEAD + WZP_HOP_CHALLENGE_SIZE && /* its challenge is no bigger */
           !wzp_addr_equal((const struct sockaddr *)&m->path->remote, from) &&
           (uint32_t)(newest - ctr) <= 2 && now_ms - m->last_in_ms <= 50;
}

static void client_datagram(wzp_relay_core *c, wzp_member *m, const uint8_t *data, size_t len,
                            const struct sockaddr *from, uint64_t now_ms) {
    const uint8_t *pkt;
    size_t plen = 0;
    int rc = wzp_hop_open(&m->hop.rx, data, len, &pkt, &plen);
    if (rc == WZP_ERR_REPLAY && twin_of_a_copy(m, data, len, from, now_ms)) {
        c->st.media_refused++; /* not forwarded twice; but it says where the member is */
        if (plen == WZP_HOP_CHALLENGE_SIZE && pkt[0] == WZP_HOP_CHALLENGE_REPLY) {
            challenge_reply(c, m, pkt, from);
        } else {
            challenge(c, m, from, now_ms);
        }
        return;
    }
    if (rc != WZP_OK) {
        c->st.media_refused++; /* forged MAC or replay: nothing is sent anywhere */
        return;
    }
    m->last_in_ms = now_ms;
    c->st.media_in++;
    c->st.media_bytes_in += len;
    m->ses->last_seen_ms = now_ms;
    if (plen == WZP_HOP_CHALLENGE_SIZE && pkt[0] == WZP_HOP_CHALLENGE_REPLY) {
        challenge_reply(c, m, pkt, from); /* for the relay alone: never forwarded */
        return;
    }
    if (!wzp_addr_equal((const struct sockaddr *)&m->path->remote, from)) {
        challenge(c, m, from, now_ms); /* its media is forwarded; its return path stays */
    }
    if (plen == 0) {
        c->st.keepalives++; /* a member with nothing to say is alive: nothing to forward */
        return;
    }
    if (c->cfg.tap != NULL) {
        c->cfg.tap(m->ses->sid, pkt, plen, c->cfg.tap_user);
    }
    fan_out(c, m, pkt, plen, now_ms);
}

/* Another relay's probe: an authentic datagram goes straight back, sealed for that session (same
 * size: nothing to amplify; authenticated: nobody else's address), at most a few a second. */
static void probe_datagram(wzp_relay_core *c, wzp__probe *pr, const uint8_t *data, size_t len,
                           const struct sockaddr *from, uint64_t now_ms) {
    const uint8_t *pkt;
    size_t plen = 0, out = 0;
    if (wzp_hop_open(&pr->m.hop.rx, data, len, &pkt, &plen) != WZP_OK) {
        c->st.media_refused++;
        return;
    }
    follow(&pr->m, from);
    if (now_ms / 1000 != pr->echo_second) {
        pr->echo_second = now_ms / 1000;
        pr->echoes = 0;
    }
    if (++pr->echoes > WZP_RELAY_PROBE_ECHOES_S || plen == 0) {
        c->st.probe_refused++;
        return;
    }
    wzp_path *p = pr->m.path;
    uint8_t *slot = p->ops->datagram_slot(p);
    if (wzp_hop_seal(&pr->m.hop.tx, pkt, plen, slot, p->mtu, &out) != WZP_OK) {
        out = 0;
    }
    p->ops->datagram_commit(p, out);
    c->st.probe_echoes += out > 0;
}

static void link_datagram(wzp__link *l, const uint8_t *data, size_t len,
                          const struct sockaddr *from, uint64_t now_ms) {
    if (l->link != NULL && wzp_link_receive(l->link, data, len, now_ms) == WZP_OK) {
        follow(&l->m, from);
    }
}

bool wzp_relay_core_on_datagram(wzp_relay_core *c, const uint8_t *data, size_t len,
                                const struct sockaddr *from, uint64_t now_ms) {
    uint32_t sid = 0;
    if (wzp_hop_peek_session(data, len, &sid) != WZP_OK) {
        return false;
    }
    wzp_session *ses = wzp_rooms_get(c->rooms, sid);
    if (ses == NULL) {
        c->st.media_refused++; /* an unknown session: perhaps a QUIC packet after all */
        return false;
    }
    wzp_member *m = ses->user;
    if (m->role == WZP_MEMBER_CLIENT) {
        client_datagram(c, m, data, len, from, now_ms);
    } else if (m->role == WZP_MEMBER_PROBE) {
        probe_datagram(c, (wzp__probe *)m, data, len, from, now_ms);
    } else {
        link_datagram((wzp__link *)m, data, len, from, now_ms);
    }
    return true;
}

void wzp_relay_core_link_send(wzp_relay_core *c, uint32_t link_id, uint32_t tunnel,
                              const uint8_t *data, size_t len, uint64_t now_ms) {
    wzp__link *l = c->links[link_id & 0xFFu];
    if (l != NULL && l->link_id == link_id && l->link != NULL &&
        wzp_link_send(l->link, tunnel, data, len, now_ms) != WZP_OK) {
        c->st.media_refused++; /* too large for a link datagram */
    }
}

/* ---- timers -----------------------------------------------------------------------------------
 */

static void flush_trunks(wzp_relay_core *c, uint64_t now_ms) {
    size_t keep = 0;
    c->trunk_due = UINT64_MAX;
    for (size_t i = 0; i < c->ntrunk_pending; i++) {
        wzp__client *cl = c->trunk_pending[i];
        if (cl->packer.count > 0 && wzp_trunk_packer_should_flush(&cl->packer, now_ms)) {
            trunk_flush(c, cl);
        }
        if (cl->packer.count > 0) {
            c->trunk_pending[keep++] = cl;
            uint64_t due = cl->packer.first_ms + WZP_TRUNK_FLUSH_MS;
            c->trunk_due = due < c->trunk_due ? due : c->trunk_due;
        } else {
            cl->trunk_pending = false;
        }
    }
    c->ntrunk_pending = keep;
}

/* Members with no authentic media, keep-alive or signal for idle_ms are gone (killed, unplugged,
 * or their path died) even if their transport has not noticed yet: their connections close. So
 * do connections that never joined (a client) or started their session (a relay) in
 * WZP_RELAY_JOIN_DEADLINE_MS: an idle connection holds a slot someone else could use. */
static void sweep(wzp_relay_core *c, uint64_t now_ms) {
    for (wzp_member *m = c->members, *next; m != NULL; m = next) {
        next = m->next; /* a path may close at once, and take its member with it */
        if (m->ses == NULL && m->connected_ms != UINT64_MAX &&
            now_ms - m->connected_ms >= WZP_RELAY_JOIN_DEADLINE_MS) {
            m->connected_ms = UINT64_MAX; /* asked once: its close is on its way */
            c->st.join_deadline++;
            m->path->ops->close(m->path, "no join in time");
        }
    }
    uint32_t idle[64];
    size_t n = wzp_rooms_idle(c->rooms, now_ms, idle, 64);
    for (size_t i = 0; i < n; i++) {
        wzp_session *ses = wzp_rooms_get(c->rooms, idle[i]);
        if (ses != NULL) {
            wzp_member *m = ses->user;
            c->st.expired++;
            ses->last_seen_ms = now_ms; /* asked once: its close is on its way */
            m->path->ops->close(m->path, "idle: no media or keep-alive");
        }
    }
}

void wzp_relay_core_tick(wzp_relay_core *c, uint64_t now_ms) {
    if (c->ndirty > 0 && now_ms >= c->announce_at) {
        wzp__core_announce(c, now_ms);
    }
    if (now_ms >= c->trunk_due) {
        flush_trunks(c, now_ms);
    }
    if (c->st.links > 0 && now_ms >= c->next_link_tick) {
        c->next_link_tick = now_ms + WZP__LINK_TICK_MS;
        for (size_t i = 0; i < WZP_RELAY_MAX_LINKS; i++) {
            if (c->links[i] != NULL && c->links[i]->link != NULL) {
                wzp_link_tick(c->links[i]->link, now_ms);
            }
        }
    }
    if (now_ms >= c->next_sweep) {
        c->next_sweep = now_ms + WZP__SWEEP_MS;
        sweep(c, now_ms);
    }
}

uint64_t wzp_relay_core_next_tick(const wzp_relay_core *c) {
    uint64_t t = c->next_sweep;
    if (c->ndirty > 0 && c->announce_at < t) {
        t = c->announce_at;
    }
    if (c->trunk_due < t) {
        t = c->trunk_due;
    }
    if (c->st.links > 0 && c->next_link_tick < t) {
        t = c->next_link_tick;
    }
    return t;
}

/* ---- state ------------------------------------------------------------------------------------
 */

const wzp_rooms *wzp_relay_core_rooms(const wzp_relay_core *c) {
    return c->rooms;
}

wzp_relay_core_stats wzp_relay_core_get_stats(const wzp_relay_core *c) {
    wzp_relay_core_stats st = c->st;
    memset(&st.link, 0, sizeof(st.link));
    for (size_t i = 0; i < WZP_RELAY_MAX_LINKS; i++) {
        if (c->links[i] != NULL && c->links[i]->link != NULL) {
            wzp_link_stats one = wzp_link_get_stats(c->links[i]->link);
            st.link.received += one.received;
            st.link.delivered += one.delivered;
            st.link.recovered += one.recovered;
            st.link.sent += one.sent;
        }
    }
    return st;
}
