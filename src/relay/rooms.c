/*
 * Sessions and rooms (include/wzp/rooms.h). Sessions live in one array of slots (max_sessions
 * room members and WZP_ROOMS_MAX_ROOMLESS relays' sessions), found by session id through an
 * open-addressing index; each room is a record (found by a keyed SipHash of its name, so no client
 * can make two names collide) holding its members as a list through the slots, in join order. A
 * media packet costs one index probe for its sender and a walk of its own room: nothing scales
 * with the relay's other sessions. Rooms appear with their first member and vanish with their
 * last.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/hop.h"
#include "wzp/rooms.h"
#include "wzp/random.h"
#include "wzp/alloc.h"

#define NONE UINT32_MAX

/* Linear probing, deletion by backward shift (no tombstones): key -> 32-bit value. */
typedef struct lp_index {
    uint64_t *keys;
    uint32_t *vals; /* NONE: empty */
    size_t mask;
} index_t;

typedef struct room_rec {
    uint64_t key;
    uint32_t head, tail, count; /* slots; NONE when free */
} room_rec;

struct wzp_rooms {
    wzp_relay_config cfg;
    wzp_session *slots;              /* sid 0: free */
    uint32_t *next, *prev, *room_of; /* per slot: the room's list, and its room record */
    room_rec *recs;                  /* max_sessions records; count 0: free */
    index_t by_sid, by_room;
    uint8_t room_key[crypto_shorthash_KEYBYTES];
    size_t nslots;
    size_t used;     /* members of rooms */
    size_t roomless; /* sessions without a room */
    size_t rooms;    /* distinct room names in use */
};

static size_t index_pos(const index_t *ix, uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & ix->mask;
}

static int index_init(index_t *ix, size_t entries) {
    size_t cap = 16;
    while (cap < 2 * entries) {
        cap *= 2;
    }
    ix->keys = wzp_calloc(cap, sizeof(uint64_t));
    ix->vals = wzp_malloc(cap * sizeof(uint32_t));
    if (ix->keys == NULL || ix->vals == NULL) {
        return WZP_ERR_NOMEM;
    }
    memset(ix->vals, 0xFF, cap * sizeof(uint32_t));
    ix->mask = cap - 1;
    return WZP_OK;
}

static uint32_t index_get(const index_t *ix, uint64_t key) {
    for (size_t i = index_pos(ix, key);; i = (i + 1) & ix->mask) {
        if (ix->vals[i] == NONE || ix->keys[i] == key) {
            return ix->vals[i];
        }
    }
}

/* The caller keeps at most half the table used: a free place always exists. */
static void index_put(index_t *ix, uint64_t key, uint32_t val) {
    size_t i = index_pos(ix, key);
    while (ix->vals[i] != NONE && ix->keys[i] != key) {
        i = (i + 1) & ix->mask;
    }
    ix->keys[i] = key;
    ix->vals[i] = val;
}

static void index_del(index_t *ix, uint64_t key) {
    size_t i = index_pos(ix, key);
    while (ix->vals[i] != NONE && ix->keys[i] != key) {
        i = (i + 1) & ix->mask;
    }
    if (ix->vals[i] == NONE) {
        return;
    }
    /* shift back the entries after it that would no longer be found past the hole */
    for (size_t j = (i + 1) & ix->mask; ix->vals[j] != NONE; j = (j + 1) & ix->mask) {
        size_t home = index_pos(ix, ix->keys[j]);
        if (((j - home) & ix->mask) >= ((j - i) & ix->mask)) {
            ix->keys[i] = ix->keys[j];
            ix->vals[i] = ix->vals[j];
            i = j;
        }
    }
    ix->vals[i] = NONE;
}

static uint64_t room_key(const wzp_rooms *r, const char *room) {
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)room, strlen(room), r->room_key);
    uint64_t k;
    memcpy(&k, h, sizeof(k));
    return k;
}

/* The room's record, or NULL (a different name with the same 64-bit key counts as absent). */
static room_rec *find_room(const wzp_rooms *r, const char *room, uint64_t *key) {
    *key = room_key(r, room);
    uint32_t ri = index_get(&r->by_room, *key);
    if (ri == NONE || strcmp(r->slots[r->recs[ri].head].room, room) != 0) {
        return NULL;
    }
    return &r->recs[ri];
}

void wzp_rooms_free(wzp_rooms *r) {
    if (r != NULL) {
        wzp_free(r->slots);
        wzp_free(r->next);
        wzp_free(r->prev);
        wzp_free(r->room_of);
        wzp_free(r->recs);
        wzp_free(r->by_sid.keys);
        wzp_free(r->by_sid.vals);
        wzp_free(r->by_room.keys);
        wzp_free(r->by_room.vals);
        wzp_free(r);
    }
}

int wzp_rooms_new(const wzp_relay_config *cfg, wzp_rooms **out) {
    if (cfg->max_sessions == 0 || cfg->max_sessions > 100000 || cfg->max_per_room == 0 ||
        cfg->max_per_room > 10000) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_rooms *r = wzp_calloc(1, sizeof(*r));
    if (r == NULL) {
        return WZP_ERR_NOMEM;
    }
    r->cfg = *cfg;
    size_t n = cfg->max_sessions + WZP_ROOMS_MAX_ROOMLESS;
    r->nslots = n;
    r->slots = wzp_calloc(n, sizeof(wzp_session));
    r->next = wzp_malloc(n * sizeof(uint32_t));
    r->prev = wzp_malloc(n * sizeof(uint32_t));
    r->room_of = wzp_malloc(n * sizeof(uint32_t));
    r->recs = wzp_calloc(n, sizeof(room_rec));
    if (r->slots == NULL || r->next == NULL || r->prev == NULL || r->room_of == NULL ||
        r->recs == NULL || index_init(&r->by_sid, n) != WZP_OK ||
        index_init(&r->by_room, n) != WZP_OK) {
        wzp_rooms_free(r);
        return WZP_ERR_NOMEM;
    }
    wzp_random_buf(r->room_key, sizeof(r->room_key));
    *out = r;
    return WZP_OK;
}

wzp_session *wzp_rooms_get(wzp_rooms *r, uint32_t sid) {
    uint32_t i = sid != 0 ? index_get(&r->by_sid, sid) : NONE;
    return i == NONE ? NULL : &r->slots[i];
}

size_t wzp_rooms_count(const wzp_rooms *r, const char *room) {
    uint64_t key;
    const room_rec *rec = find_room(r, room, &key);
    return rec != NULL ? rec->count : 0;
}

size_t wzp_rooms_members(const wzp_rooms *r, const char *room, uint32_t *out, size_t cap) {
    uint64_t key;
    const room_rec *rec = find_room(r, room, &key);
    size_t n = 0;
    for (uint32_t i = rec != NULL ? rec->head : NONE; i != NONE && n < cap; i = r->next[i]) {
        out[n++] = r->slots[i].sid;
    }
    return n;
}

size_t wzp_rooms_total(const wzp_rooms *r) {
    return r->used;
}

size_t wzp_rooms_active(const wzp_rooms *r) {
    return r->rooms;
}

/* The one allocator of session ids: a fresh one in the media range (wzp/hop.h), whose low 16 bits
 * are also unique in its room: trunk frames name senders by those 2 bytes (SPEC §3.5). A room
 * holds at most 10,000 members, far below 65,536. */
static uint32_t fresh_sid(wzp_rooms *r, const room_rec *rec) {
    for (;;) {
        uint32_t sid = wzp_hop_new_session_id();
        bool clash = sid == 0 || (sid & 0xFFFFu) == 0 || wzp_rooms_get(r, sid) != NULL;
        for (uint32_t i = rec != NULL ? rec->head : NONE; !clash && i != NONE; i = r->next[i]) {
            clash = (r->slots[i].sid & 0xFFFFu) == (sid & 0xFFFFu);
        }
        if (!clash) {
            return sid;
        }
    }
}

int wzp_rooms_join(wzp_rooms *r, const char *room, const uint8_t fingerprint[WZP_FINGERPRINT_SIZE],
                   const char *alias, void *user, uint64_t now_ms, uint32_t *sid) {
    if (room == NULL || strlen(room) > WZP_ROOM_NAME_MAX) {
        return WZP_ERR_INVALID_ARG;
    }
    if (r->used >= r->cfg.max_sessions) {
        return WZP_ERR_FULL;
    }
    uint64_t key;
    room_rec *rec = find_room(r, room, &key);
    if (rec == NULL && index_get(&r->by_room, key) != NONE) {
        return WZP_ERR_FULL; /* another name with the same 64-bit keyed hash: not in practice */
    }
    if (rec != NULL && rec->count >= r->cfg.max_per_room) {
        return WZP_ERR_TOO_MANY_ENTRIES;
    }
    uint32_t slot = 0;
    while (r->slots[slot].sid != 0) { /* a free one exists: used < max_sessions */
        slot++;
    }
    r->room_of[slot] = NONE;
    wzp_session *s = &r->slots[slot];
    memset(s, 0, sizeof(*s));
    s->sid = fresh_sid(r, rec);
    if (rec == NULL) { /* a new room: a free record exists, rooms <= sessions */
        uint32_t ri = 0;
        while (r->recs[ri].count != 0) {
            ri++;
        }
        rec = &r->recs[ri];
        *rec = (room_rec){key, NONE, NONE, 0};
        index_put(&r->by_room, key, ri);
        r->rooms++;
    }
    snprintf(s->room, sizeof(s->room), "%s", room);
    memcpy(s->fingerprint, fingerprint, WZP_FINGERPRINT_SIZE);
    snprintf(s->alias, sizeof(s->alias), "%s", alias != NULL ? alias : "");
    s->user = user;
    s->last_seen_ms = now_ms;
    /* appended: the list keeps join order */
    r->room_of[slot] = (uint32_t)(rec - r->recs);
    r->next[slot] = NONE;
    r->prev[slot] = rec->tail;
    if (rec->tail != NONE) {
        r->next[rec->tail] = slot;
    } else {
        rec->head = slot;
    }
    rec->tail = slot;
    rec->count++;
    index_put(&r->by_sid, s->sid, slot);
    r->used++;
    *sid = s->sid;
    return WZP_OK;
}

int wzp_rooms_attach(wzp_rooms *r, void *user, uint64_t now_ms, uint32_t *sid) {
    if (r->roomless >= WZP_ROOMS_MAX_ROOMLESS) {
        return WZP_ERR_FULL;
    }
    uint32_t slot = 0;
    while (r->slots[slot].sid != 0) { /* a free one exists: roomless < its share */
        slot++;
    }
    wzp_session *s = &r->slots[slot];
    memset(s, 0, sizeof(*s));
    s->sid = fresh_sid(r, NULL);
    s->user = user;
    s->last_seen_ms = now_ms;
    r->room_of[slot] = NONE;
    index_put(&r->by_sid, s->sid, slot);
    r->roomless++;
    *sid = s->sid;
    return WZP_OK;
}

int wzp_rooms_leave(wzp_rooms *r, uint32_t sid) {
    uint32_t slot = sid != 0 ? index_get(&r->by_sid, sid) : NONE;
    if (slot == NONE) {
        return WZP_ERR_UNKNOWN_KEY;
    }
    if (r->room_of[slot] == NONE) { /* no room: just the session */
        index_del(&r->by_sid, sid);
        memset(&r->slots[slot], 0, sizeof(r->slots[slot]));
        r->roomless--;
        return WZP_OK;
    }
    room_rec *rec = &r->recs[r->room_of[slot]];
    if (r->prev[slot] != NONE) {
        r->next[r->prev[slot]] = r->next[slot];
    } else {
        rec->head = r->next[slot];
    }
    if (r->next[slot] != NONE) {
        r->prev[r->next[slot]] = r->prev[slot];
    } else {
        rec->tail = r->prev[slot];
    }
    if (--rec->count == 0) {
        index_del(&r->by_room, rec->key);
        r->rooms--;
    }
    index_del(&r->by_sid, sid);
    memset(&r->slots[slot], 0, sizeof(r->slots[slot]));
    r->used--;
    return WZP_OK;
}

void wzp_rooms_touch(wzp_rooms *r, uint32_t sid, uint64_t now_ms) {
    wzp_session *s = wzp_rooms_get(r, sid);
    if (s != NULL) {
        s->last_seen_ms = now_ms;
    }
}

size_t wzp_rooms_fanout_sessions(wzp_rooms *r, const wzp_session *from, wzp_session **out,
                                 size_t cap) {
    uint32_t slot = (uint32_t)(from - r->slots);
    size_t n = 0;
    if (r->room_of[slot] == NONE) {
        return 0;
    }
    for (uint32_t i = r->recs[r->room_of[slot]].head; i != NONE && n < cap; i = r->next[i]) {
        if (i != slot) {
            out[n++] = &r->slots[i];
        }
    }
    return n;
}

size_t wzp_rooms_fanout(const wzp_rooms *r, uint32_t sid, uint32_t *out, size_t cap) {
    uint32_t slot = sid != 0 ? index_get(&r->by_sid, sid) : NONE;
    size_t n = 0;
    if (slot == NONE || r->room_of[slot] == NONE) {
        return 0;
    }
    for (uint32_t i = r->recs[r->room_of[slot]].head; i != NONE && n < cap; i = r->next[i]) {
        if (i != slot) {
            out[n++] = r->slots[i].sid;
        }
    }
    return n;
}

size_t wzp_rooms_idle(const wzp_rooms *r, uint64_t now_ms, uint32_t *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < r->nslots && n < cap; i++) {
        const wzp_session *s = &r->slots[i];
        if (s->sid != 0 && r->room_of[i] != NONE && now_ms > s->last_seen_ms &&
            now_ms - s->last_seen_ms > r->cfg.idle_ms) {
            out[n++] = s->sid;
        }
    }
    return n;
}

int wzp_rooms_update_message(const wzp_rooms *r, const char *room, wzp_signal **msg) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_ROOM_UPDATE);
    if (m == NULL) {
        return WZP_ERR_NOMEM;
    }
    int rc = WZP_OK;
    uint64_t key;
    const room_rec *rec = find_room(r, room, &key);
    for (uint32_t i = rec != NULL ? rec->head : NONE; rc == WZP_OK && i != NONE; i = r->next[i]) {
        const wzp_session *s = &r->slots[i];
        char fp[WZP_FINGERPRINT_TEXT];
        wzp_fingerprint_format(s->fingerprint, fp);
        rc = wzp_signal_participants_add(&m->u.room_update.participants, fp,
                                         s->alias[0] ? s->alias : NULL, NULL);
        if (rc == WZP_OK) {
            m->u.room_update.participants.items[m->u.room_update.participants.count - 1].session =
                s->sid;
        }
    }
    if (rc != WZP_OK) {
        wzp_signal_free(m);
        return rc;
    }
    m->u.room_update.count = (uint32_t)m->u.room_update.participants.count;
    *msg = m;
    return WZP_OK;
}
