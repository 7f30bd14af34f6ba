/*
 * The relay core's insides (include/wzp/relay_core.h), shared by core.c (members, datagrams,
 * fan-out, trunking, probe echoes, links, timers) and core_signal.c (joins, RoomUpdates, PeerSignal
 * routing, the start of relays' sessions). A member is one of three types, by role, each starting
 * with the common part.
 */
#ifndef WZP_RELAY_CORE_INTERNAL_H
#define WZP_RELAY_CORE_INTERNAL_H

#include "wzp/hop.h"
#include "wzp/relay_core.h"

#define WZP__MAX_FANOUT      1024
#define WZP__MAX_DIRTY_ROOMS 32
#define WZP__LINK_TICK_MS    5
#define WZP__SWEEP_MS        1000
#define WZP__TRUNK_MARK      0x80 /* first byte of a trunked payload (a sender id's top bit is 0) */

/* A receiver of fanned-out media needs only the first cache line: its role, whether it takes
 * TrunkFrames, its path and its sending hop state. */
struct wzp_member {
    wzp_member_role role;
    bool trunk; /* a client taking TrunkFrames (it said so, and the relay trunks) */
    wzp_path *path;
    wzp_hop_session hop; /* valid with `ses`: tx first */
    wzp_session *ses;    /* its entry in the session table (NULL: no media session yet) */
    wzp_relay_core *core;
    void *user;
    char room[WZP_ROOM_NAME_MAX + 1];
    uint64_t connected_ms;   /* a member with no session WZP_RELAY_JOIN_DEADLINE_MS after goes */
    wzp_member *prev, *next; /* every member of the core */
    /* path validation: addresses authentic datagrams came from, each challenged at a time
     * (0: a free slot) with a token; the one answered from becomes the path's remote */
    struct wzp__challenge {
        struct sockaddr_storage addr;
        uint64_t at_ms;
        uint8_t token[WZP_HOP_CHALLENGE_SIZE - 1];
    } pending[WZP_RELAY_CHALLENGE_SLOTS];
    uint64_t last_in_ms; /* its last fresh authentic datagram came then */
};

typedef struct wzp__client {
    wzp_member m;
    bool vouched; /* featherChat checked its token: */
    char vouch_fp[WZP_FINGERPRINT_TEXT + 8];
    char vouch_alias[WZP_ALIAS_MAX + 1];
    bool trunk_pending; /* in the core's list of frames to flush */
    wzp_trunk_packer packer;
    uint8_t trunk_buf[1 + WZP_TRUNK_MAX_BYTES]; /* WZP__TRUNK_MARK, then the frame */
} wzp__client;

typedef struct wzp__probe {
    wzp_member m;
    uint64_t echo_second; /* rate limit of the echoes */
    unsigned echoes;
} wzp__probe;

typedef struct wzp__link {
    wzp_member m;
    wzp_link *link;
    uint32_t link_id; /* generation << 8 | slot: the virtual addresses of its tunnels */
} wzp__link;

struct wzp_relay_core {
    wzp_relay_core_config cfg;
    wzp_rooms *rooms;
    wzp_relay_core_stats st;
    wzp_member *members;
    wzp__link *links[WZP_RELAY_MAX_LINKS];
    uint32_t link_generation;
    struct sockaddr_storage peer_hosts[WZP_RELAY_MAX_PEER_HOSTS];
    size_t npeer_hosts;
    wzp__client **trunk_pending; /* members with an unflushed frame (capacity: max_sessions) */
    size_t ntrunk_pending, trunk_cap;
    uint64_t trunk_due; /* the earliest pending frame's deadline (UINT64_MAX: none) */
    char dirty[WZP__MAX_DIRTY_ROOMS][WZP_ROOM_NAME_MAX + 1];
    size_t ndirty;
    uint64_t announce_at, next_sweep, next_link_tick;
    bool closing;
    uint8_t fwd[WZP_PATH_MAX_DATAGRAM];
    uint8_t json[WZP_SIGNAL_MAX_JSON + 64];
    wzp_session *fan[WZP__MAX_FANOUT];
};

void wzp__core_log(wzp_relay_core *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Send `m` (not taken) to a member. */
void wzp__core_send(wzp_relay_core *c, wzp_member *to, const wzp_signal *m);
/* A client's room changed: its members get one RoomUpdate within WZP_RELAY_ANNOUNCE_MS. */
void wzp__core_room_changed(wzp_relay_core *c, const char *room, uint64_t now_ms);
/* RoomUpdates that are due. */
void wzp__core_announce(wzp_relay_core *c, uint64_t now_ms);
/* core_signal.c: a probing relay's or a link's session starts (its Ping). */
void wzp__core_start_relay_session(wzp_relay_core *c, wzp_member *m, uint64_t now_ms);

#endif
