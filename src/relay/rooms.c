/*
 * Rooms and sessions (include/wzp/relay.h). Sessions live in one array of max_sessions slots;
 * a room is just the set of sessions naming it, so rooms appear with their first member and
 * vanish with their last without any bookkeeping of their own. Fan-out scans the slots: with a
 * relay's few hundred sessions that is cheaper than keeping member lists in step.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/relay.h"

struct wzp_rooms {
    wzp_relay_config cfg;
    wzp_session *slots; /* sid 0: free */
    size_t used;
    size_t rooms; /* distinct room names in use */
};

int wzp_rooms_new(const wzp_relay_config *cfg, wzp_rooms **out) {
    if (cfg->max_sessions == 0 || cfg->max_sessions > 100000 || cfg->max_per_room == 0 ||
        cfg->max_per_room > 10000) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_rooms *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return WZP_ERR_NOMEM;
    }
    r->cfg = *cfg;
    r->slots = calloc(cfg->max_sessions, sizeof(wzp_session));
    if (r->slots == NULL) {
        free(r);
        return WZP_ERR_NOMEM;
    }
    *out = r;
    return WZP_OK;
}

void wzp_rooms_free(wzp_rooms *r) {
    if (r != NULL) {
        free(r->slots);
        free(r);
    }
}

wzp_session *wzp_rooms_get(wzp_rooms *r, uint32_t sid) {
    for (size_t i = 0; sid != 0 && i < r->cfg.max_sessions; i++) {
        if (r->slots[i].sid == sid) {
            return &r->slots[i];
        }
    }
    return NULL;
}

size_t wzp_rooms_count(const wzp_rooms *r, const char *room) {
    size_t n = 0;
    for (size_t i = 0; i < r->cfg.max_sessions; i++) {
        n += r->slots[i].sid != 0 && strcmp(r->slots[i].room, room) == 0;
    }
    return n;
}

size_t wzp_rooms_members(const wzp_rooms *r, const char *room, uint32_t *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < r->cfg.max_sessions && n < cap; i++) {
        if (r->slots[i].sid != 0 && strcmp(r->slots[i].room, room) == 0) {
            out[n++] = r->slots[i].sid;
        }
    }
    return n;
}

size_t wzp_rooms_total(const wzp_rooms *r) {
    return r->used;
}

size_t wzp_rooms_active(const wzp_rooms *r) {
    return r->rooms;
}

/* A fresh session id whose low 16 bits are also unique in `room`: trunk frames name senders by
 * those 2 bytes (SPEC §3.5). A room holds at most 10,000 members, far below 65,536. */
static uint32_t fresh_sid(wzp_rooms *r, const char *room) {
    for (;;) {
        uint32_t sid = randombytes_random() & 0x7FFFFFFFu; /* first bit clear: the media plane */
        bool clash = sid == 0 || (sid & 0xFFFFu) == 0 || wzp_rooms_get(r, sid) != NULL;
        for (size_t i = 0; !clash && i < r->cfg.max_sessions; i++) {
            const wzp_session *s = &r->slots[i];
            clash =
                s->sid != 0 && (s->sid & 0xFFFFu) == (sid & 0xFFFFu) && strcmp(s->room, room) == 0;
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
    size_t already = wzp_rooms_count(r, room);
    if (already >= r->cfg.max_per_room) {
        return WZP_ERR_TOO_MANY_ENTRIES;
    }
    r->rooms += already == 0;
    wzp_session *s = NULL;
    for (size_t i = 0; s == NULL && i < r->cfg.max_sessions; i++) {
        s = r->slots[i].sid == 0 ? &r->slots[i] : NULL;
    }
    memset(s, 0, sizeof(*s));
    s->sid = fresh_sid(r, room);
    snprintf(s->room, sizeof(s->room), "%s", room);
    memcpy(s->fingerprint, fingerprint, WZP_FINGERPRINT_SIZE);
    snprintf(s->alias, sizeof(s->alias), "%s", alias != NULL ? alias : "");
    s->user = user;
    s->last_seen_ms = now_ms;
    r->used++;
    *sid = s->sid;
    return WZP_OK;
}

int wzp_rooms_leave(wzp_rooms *r, uint32_t sid) {
    wzp_session *s = wzp_rooms_get(r, sid);
    if (s == NULL) {
        return WZP_ERR_UNKNOWN_KEY;
    }
    char room[WZP_ROOM_NAME_MAX + 1];
    memcpy(room, s->room, sizeof(room));
    memset(s, 0, sizeof(*s));
    r->used--;
    r->rooms -= wzp_rooms_count(r, room) == 0;
    return WZP_OK;
}

void wzp_rooms_touch(wzp_rooms *r, uint32_t sid, uint64_t now_ms) {
    wzp_session *s = wzp_rooms_get(r, sid);
    if (s != NULL) {
        s->last_seen_ms = now_ms;
    }
}

size_t wzp_rooms_fanout(const wzp_rooms *r, uint32_t sid, uint32_t *out, size_t cap) {
    const wzp_session *from = wzp_rooms_get((wzp_rooms *)(uintptr_t)r, sid);
    size_t n = 0;
    for (size_t i = 0; from != NULL && i < r->cfg.max_sessions && n < cap; i++) {
        const wzp_session *s = &r->slots[i];
        if (s->sid != 0 && s->sid != sid && strcmp(s->room, from->room) == 0) {
            out[n++] = s->sid;
        }
    }
    return n;
}

size_t wzp_rooms_idle(const wzp_rooms *r, uint64_t now_ms, uint32_t *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < r->cfg.max_sessions && n < cap; i++) {
        const wzp_session *s = &r->slots[i];
        if (s->sid != 0 && now_ms > s->last_seen_ms && now_ms - s->last_seen_ms > r->cfg.idle_ms) {
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
    for (size_t i = 0; rc == WZP_OK && i < r->cfg.max_sessions; i++) {
        const wzp_session *s = &r->slots[i];
        if (s->sid == 0 || strcmp(s->room, room) != 0) {
            continue;
        }
        char fp[WZP_FINGERPRINT_TEXT];
        wzp_fingerprint_format(s->fingerprint, fp);
        rc = wzp_signal_participants_add(&m->u.room_update.participants, fp,
                                         s->alias[0] ? s->alias : NULL, NULL);
    }
    if (rc != WZP_OK) {
        wzp_signal_free(m);
        return rc;
    }
    m->u.room_update.count = (uint32_t)m->u.room_update.participants.count;
    *msg = m;
    return WZP_OK;
}
