/*
 * The relay's session table and rooms (SPEC §8, room mode), sans-I/O. Every hop session of a relay
 * has an entry here, with the one allocator of session ids: a client's when it joins a room (its
 * id's low 16 bits unique in the room: trunk frames name senders so), a probing or forwarding
 * relay's when its session starts (no room). Rooms are created by their first member and deleted
 * with their last; media from one member fans out to every other member of its room and never
 * back; idle members expire; limits on members and room size are enforced with clear errors.
 */
#ifndef WZP_ROOMS_H
#define WZP_ROOMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/crypto.h"
#include "wzp/error.h"
#include "wzp/signal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_RELAY_MAX_SESSIONS_DEFAULT 100 /* SPEC §2 max_sessions */
#define WZP_RELAY_MAX_PER_ROOM_DEFAULT 64
#define WZP_RELAY_IDLE_MS_DEFAULT      15000 /* no media, keep-alive or signal: the member is gone */
#define WZP_ROOMS_MAX_ROOMLESS         80    /* probing and forwarding relays' sessions, beside */

typedef struct wzp_relay_config {
    unsigned max_sessions; /* members of rooms */
    unsigned max_per_room;
    uint32_t idle_ms;
} wzp_relay_config;

typedef struct wzp_session {
    uint32_t sid;
    char room[WZP_ROOM_NAME_MAX + 1]; /* empty: a session without a room (a relay's) */
    uint8_t fingerprint[WZP_FINGERPRINT_SIZE];
    char alias[WZP_ALIAS_MAX + 1]; /* empty: none */
    uint64_t last_seen_ms;
    void *user; /* the caller's handle (its member) */
} wzp_session;

typedef struct wzp_rooms wzp_rooms;

WZP_MUST_CHECK int wzp_rooms_new(const wzp_relay_config *cfg, wzp_rooms **out);
void wzp_rooms_free(wzp_rooms *r);
/* Join `room` (auto-created) and get a fresh session id. Errors: WZP_ERR_FULL (the relay is at
 * max_sessions), WZP_ERR_TOO_MANY_ENTRIES (the room is full), WZP_ERR_INVALID_ARG (name). */
WZP_MUST_CHECK int wzp_rooms_join(wzp_rooms *r, const char *room,
                                  const uint8_t fingerprint[WZP_FINGERPRINT_SIZE],
                                  const char *alias, void *user, uint64_t now_ms, uint32_t *sid);
/* A session without a room (another relay's). Errors: WZP_ERR_FULL (WZP_ROOMS_MAX_ROOMLESS). */
WZP_MUST_CHECK int wzp_rooms_attach(wzp_rooms *r, void *user, uint64_t now_ms, uint32_t *sid);
/* Leave (the room goes when it is empty). Errors: WZP_ERR_UNKNOWN_KEY. */
WZP_MUST_CHECK int wzp_rooms_leave(wzp_rooms *r, uint32_t sid);
/* The session, or NULL. */
wzp_session *wzp_rooms_get(wzp_rooms *r, uint32_t sid);
/* Note activity (any authentic packet). */
void wzp_rooms_touch(wzp_rooms *r, uint32_t sid, uint64_t now_ms);
/* The other members of `sid`'s room: where its media goes (never back to it). */
size_t wzp_rooms_fanout(const wzp_rooms *r, uint32_t sid, uint32_t *out, size_t cap);
/* The same as sessions, from the sender's session (no lookup): the relay's per-packet path. */
size_t wzp_rooms_fanout_sessions(wzp_rooms *r, const wzp_session *from, wzp_session **out,
                                 size_t cap);
/* Members idle for longer than idle_ms (no authentic media, keep-alive or signal); their ids go
 * to `out` (up to `cap`). They stay until wzp_rooms_leave: the caller closes their connections. */
size_t wzp_rooms_idle(const wzp_rooms *r, uint64_t now_ms, uint32_t *out, size_t cap);
/* The session ids of a room's members (up to `cap`); returns how many were written. */
size_t wzp_rooms_members(const wzp_rooms *r, const char *room, uint32_t *out, size_t cap);
/* Members of a room (0 when it does not exist). */
size_t wzp_rooms_count(const wzp_rooms *r, const char *room);
/* Members of rooms (sessions without a room are not counted). */
size_t wzp_rooms_total(const wzp_rooms *r);
/* Rooms with at least one member. */
size_t wzp_rooms_active(const wzp_rooms *r);
/* The RoomUpdate message for a room (count + participants with fingerprint and alias). */
WZP_MUST_CHECK int wzp_rooms_update_message(const wzp_rooms *r, const char *room, wzp_signal **msg);

#ifdef __cplusplus
}
#endif
#endif
