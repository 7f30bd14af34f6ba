/*
 * The relay core: what a relay does, without its I/O (SPEC §8, room mode).
 *
 * Members come and go with their connections; each comes with a path (wzp/path.h, the relay's end
 * of its connection), through which the core sends its signalling and its datagrams, and a role
 * chosen by the connection's SNI: a client (the SNI names its room), another relay probing this
 * one (WZP_PROBE_SNI: its datagrams are echoed), or a forwarding relay's link (WZP_LINK_SNI: its
 * datagrams carry its clients'). The core verifies joins (a signature over the path's join
 * exporter, and the token's identity when featherChat vouched for one), keeps the session table
 * and rooms (wzp/rooms.h), sends RoomUpdates (coalesced), routes PeerSignals stamped with the
 * sender's identity and channel binding, authenticates media datagrams, follows a member that
 * moves, and fans media out to the rest of its room, re-sealed per receiver (trunked for those
 * that take TrunkFrames). It never holds a media key. Time comes in as an argument: server.c wires
 * QUIC, featherChat and one timer around it; tests/unit/test_session_room.c wires simulated paths.
 */
#ifndef WZP_RELAY_CORE_H
#define WZP_RELAY_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wzp/error.h"
#include "wzp/link.h"
#include "wzp/path.h"
#include "wzp/rooms.h"
#include "wzp/signal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_PROBE_SNI             "wzp-probe" /* a relay probing another: no room, echoed */
#define WZP_RELAY_MAX_PROBE_PEERS 64          /* other relays probing us at once */
#define WZP_RELAY_MAX_LINKS       16          /* forwarding relays whose clients come through us */
#define WZP_RELAY_ANNOUNCE_MS     50          /* RoomUpdates coalesce: a burst of joins costs one */
#define WZP_RELAY_PROBE_ECHOES_S  10          /* a prober sends 1/s: more is not probing */

#define WZP_RELAY_JOIN_DEADLINE_MS 10000 /* a connection with no session by then is closed */
#define WZP_RELAY_PER_ADDRESS      16    /* sessions one IP address may hold (half in one room) */
#define WZP_RELAY_PER_IDENTITY     8     /* sessions one identity may hold (half in one room) */
#define WZP_RELAY_MAX_PEER_HOSTS   32    /* hosts other relays may probe and link from */
#define WZP_RELAY_CHALLENGE_MS     250   /* at most one path challenge per address this often */
#define WZP_RELAY_CHALLENGE_SLOTS  2     /* addresses of one member challenged at once */

typedef enum wzp_member_role {
    WZP_MEMBER_CLIENT, /* a member of a room */
    WZP_MEMBER_PROBE,  /* another relay measuring us */
    WZP_MEMBER_LINK,   /* a forwarding relay carrying its clients' datagrams */
} wzp_member_role;

typedef struct wzp_relay_core wzp_relay_core;
typedef struct wzp_member wzp_member;

/* Observer of every authenticated media packet the relay forwards (the sealed payload after the
 * hop MAC is stripped): what an operator with full access to the relay process can see. Tests use
 * it to show that this is ciphertext the relay cannot open. NULL in production. */
typedef void (*wzp_relay_tap_fn)(uint32_t sid, const uint8_t *pkt, size_t len, void *user);

/* A lying relay, for tests only (tests/tools/lying_relay.c): `in` may rewrite every signal a
 * member sends before the relay acts on it, `out` every signal as it goes to member session
 * `to_sid` (a copy per receiver). What an operator who controls the relay can do; the clients'
 * tests show it gains nothing. NULL in production: no flag or configuration key sets it. */
typedef struct wzp_relay_lie {
    void (*in)(void *user, uint32_t from_sid, wzp_signal *m);
    void (*out)(void *user, uint32_t to_sid, wzp_signal *m);
    void *user;
} wzp_relay_lie;

typedef struct wzp_relay_core_config {
    wzp_relay_config rooms;
    bool trunking; /* batch what goes to each receiver that can take TrunkFrames */
    wzp_relay_tap_fn tap;
    void *tap_user;
    /* A client datagram that came through link `link_id`'s tunnel: deliver it as coming from
     * that tunnel (server.c: a virtual address, into the endpoint). */
    void (*link_deliver)(void *user, uint32_t link_id, uint32_t tunnel, const uint8_t *data,
                         size_t len);
    /* One line for the log (no newline); NULL: none. */
    void (*log)(void *user, const char *line);
    void *user;
    const wzp_relay_lie *lie; /* NULL (tests only) */
    /* Sessions members from one IP address may hold, and half of that in one room (0:
     * WZP_RELAY_PER_ADDRESS; UINT32_MAX: no limit): one address cannot fill the relay or a room. */
    uint32_t max_per_address;
    /* Sessions one identity (a person's devices) may hold, half of that in one room (0:
     * WZP_RELAY_PER_IDENTITY; UINT32_MAX: no limit): one token or key cannot fill the relay from
     * many addresses. */
    uint32_t max_per_identity;
    /* The hosts other relays may probe or link from (copied; port ignored; at most
     * WZP_RELAY_MAX_PEER_HOSTS): a probe or link from any other address is refused. */
    const struct sockaddr_storage *peer_hosts;
    size_t npeer_hosts;
} wzp_relay_core_config;

typedef struct wzp_relay_core_stats {
    uint64_t media_in, media_out, media_refused, keepalives, expired;
    uint64_t join_deadline;     /* connections closed for not joining in time */
    uint64_t join_per_address;  /* joins refused: their address held its share already */
    uint64_t join_per_identity; /* joins refused: their identity held its share already */
    uint64_t peer_refused;      /* probes and links refused: not from a configured peer relay */
    uint64_t challenges, roams; /* path validation: challenges sent; moves it confirmed */
    uint64_t media_bytes_in, media_bytes_out, joins, leaves;
    uint64_t join_refused[4];                 /* relay full, room full, bad signature, other */
    uint64_t vouched_joins, vouch_mismatches; /* joins featherChat vouched for; for another id */
    uint64_t trunk_frames, trunk_entries, trunk_bytes_saved;
    uint64_t probe_echoes, probe_refused;
    uint64_t signals_dropped; /* a member not reading its signalling */
    size_t probes, links;     /* now */
    wzp_link_stats link;      /* summed over the links now */
} wzp_relay_core_stats;

/* Errors: WZP_ERR_INVALID_ARG (limits), WZP_ERR_NOMEM. */
WZP_MUST_CHECK int wzp_relay_core_new(const wzp_relay_core_config *cfg, wzp_relay_core **out);
/* Every member leaves (no RoomUpdates are sent); their paths are not closed. */
void wzp_relay_core_free(wzp_relay_core *c);

/* ---- members ----------------------------------------------------------------------------------
 */
/* A connection is up, asking for `sni`. Errors: WZP_ERR_FULL (too many probing relays or links:
 * close the connection), WZP_ERR_NOMEM. */
WZP_MUST_CHECK int wzp_relay_core_connect(wzp_relay_core *c, const char *sni, wzp_path *path,
                                          uint64_t now_ms, wzp_member **out);
/* Its connection is gone (`reason` for the log): it leaves its room; `m` is freed. */
void wzp_relay_core_disconnect(wzp_relay_core *c, wzp_member *m, const char *reason,
                               uint64_t now_ms);
/* Refuse a client before it joins (featherChat said no): RegisterPresenceAck {why}, then its
 * connection is closed with `why`. */
void wzp_relay_core_refuse(wzp_relay_core *c, wzp_member *m, const char *why);
/* featherChat vouched for this client: its join must be signed by `fingerprint` (text; empty:
 * any), and `alias` (non-empty) replaces the one it gives. */
void wzp_relay_core_vouch(wzp_member *m, const char *fingerprint, const char *alias);
wzp_member_role wzp_member_role_of(const wzp_member *m);
/* The room a client asked for (its SNI, or "default"). */
const char *wzp_member_room(const wzp_member *m);
void *wzp_member_user(const wzp_member *m);
void wzp_member_set_user(wzp_member *m, void *user);

/* ---- input ------------------------------------------------------------------------------------
 */
/* One signalling message from a member (decoded; the core may stamp it before routing it on). */
void wzp_relay_core_on_signal(wzp_relay_core *c, wzp_member *m, wzp_signal *msg, uint64_t now_ms);
/* One datagram that may be media (wzp/quic.h's demultiplexer, step 5). True when it names a
 * session of ours (authentic or not: counted); false when it names none. */
bool wzp_relay_core_on_datagram(wzp_relay_core *c, const uint8_t *data, size_t len,
                                const struct sockaddr *from, uint64_t now_ms);
/* Forward mode: the endpoint sends `data` to link `link_id`'s tunnel (a virtual address). */
void wzp_relay_core_link_send(wzp_relay_core *c, uint32_t link_id, uint32_t tunnel,
                              const uint8_t *data, size_t len, uint64_t now_ms);
/* The timers: RoomUpdates due, trunk frames due, links' FEC blocks, idle members (closed). */
void wzp_relay_core_tick(wzp_relay_core *c, uint64_t now_ms);
/* When wzp_relay_core_tick next has work (ms, on the same clock). */
uint64_t wzp_relay_core_next_tick(const wzp_relay_core *c);

/* ---- state ------------------------------------------------------------------------------------
 */
const wzp_rooms *wzp_relay_core_rooms(const wzp_relay_core *c);
wzp_relay_core_stats wzp_relay_core_get_stats(const wzp_relay_core *c);

#ifdef __cplusplus
}
#endif
#endif
