/*
 * The relay's room and session bookkeeping (SPEC §8, room mode), sans-I/O: rooms are created by
 * their first member and deleted with their last; each media session has a relay-assigned id;
 * media from one member fans out to every other member of its room and never back; idle
 * sessions expire; limits on sessions and room size are enforced with clear errors. The socket
 * and QUIC wiring around it lands with the relay binary.
 */
#ifndef WZP_RELAY_H
#define WZP_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/crypto.h"
#include "wzp/error.h"
#include "wzp/hop.h"
#include "wzp/quic.h"
#include "wzp/signal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_RELAY_MAX_SESSIONS_DEFAULT 100 /* SPEC §2 max_sessions */
#define WZP_RELAY_MAX_PER_ROOM_DEFAULT 64
#define WZP_RELAY_IDLE_MS_DEFAULT      15000 /* no media, keep-alive or signal: the member is gone */

typedef struct wzp_relay_config {
    unsigned max_sessions;
    unsigned max_per_room;
    uint32_t idle_ms;
} wzp_relay_config;

typedef struct wzp_session {
    uint32_t sid;
    char room[WZP_ROOM_NAME_MAX + 1];
    uint8_t fingerprint[WZP_FINGERPRINT_SIZE];
    char alias[WZP_ALIAS_MAX + 1]; /* empty: none */
    uint64_t last_seen_ms;
    void *user; /* the caller's handle (its QUIC connection) */
} wzp_session;

typedef struct wzp_rooms wzp_rooms;

WZP_MUST_CHECK int wzp_rooms_new(const wzp_relay_config *cfg, wzp_rooms **out);
void wzp_rooms_free(wzp_rooms *r);
/* Join `room` (auto-created) and get a fresh session id. Errors: WZP_ERR_FULL (the relay is at
 * max_sessions), WZP_ERR_TOO_MANY_ENTRIES (the room is full), WZP_ERR_INVALID_ARG (name). */
WZP_MUST_CHECK int wzp_rooms_join(wzp_rooms *r, const char *room,
                                  const uint8_t fingerprint[WZP_FINGERPRINT_SIZE],
                                  const char *alias, void *user, uint64_t now_ms, uint32_t *sid);
/* Leave (the room goes when it is empty). Errors: WZP_ERR_UNKNOWN_KEY. */
WZP_MUST_CHECK int wzp_rooms_leave(wzp_rooms *r, uint32_t sid);
/* The session, or NULL. */
wzp_session *wzp_rooms_get(wzp_rooms *r, uint32_t sid);
/* Note activity (any authentic packet). */
void wzp_rooms_touch(wzp_rooms *r, uint32_t sid, uint64_t now_ms);
/* The other members of `sid`'s room: where its media goes (never back to it). */
size_t wzp_rooms_fanout(const wzp_rooms *r, uint32_t sid, uint32_t *out, size_t cap);
/* Sessions idle for longer than idle_ms (no authentic media, keep-alive or signal); their ids go
 * to `out` (up to `cap`). They stay until wzp_rooms_leave: the caller closes their connections. */
size_t wzp_rooms_idle(const wzp_rooms *r, uint64_t now_ms, uint32_t *out, size_t cap);
/* The session ids of a room's members (up to `cap`); returns how many were written. */
size_t wzp_rooms_members(const wzp_rooms *r, const char *room, uint32_t *out, size_t cap);
/* Members of a room (0 when it does not exist). */
size_t wzp_rooms_count(const wzp_rooms *r, const char *room);
size_t wzp_rooms_total(const wzp_rooms *r);
/* Rooms with at least one member. */
size_t wzp_rooms_active(const wzp_rooms *r);
/* The RoomUpdate message for a room (count + participants with fingerprint and alias). */
WZP_MUST_CHECK int wzp_rooms_update_message(const wzp_rooms *r, const char *room, wzp_signal **msg);

/* ---- the relay server (control plane) -------------------------------------------------------
 * QUIC endpoint + rooms. A client connects with the room's hash as SNI and registers with
 * RegisterPresence {identity_pub, signature, alias}: an Ed25519 signature over
 * "wzp/v1 join\0" || TLS exporter("EXPORTER-wzp-join") of its connection, so a registration
 * cannot be replayed on another connection. The relay answers RegisterPresenceAck and sends
 * RoomUpdate to the whole room on every join and leave; it routes PeerSignal envelopes (the
 * end-to-end key exchange) to the named member of the same room, stamping the sender's
 * fingerprint. After a join it sends MediaSession {session_id}; media datagrams (mediaplane.h,
 * hop keys from the connection's exporter) from a member fan out to the rest of its room,
 * re-sealed per receiver; an authentic datagram from a new address moves the member there. It
 * never sees a media key. */

#ifndef WZP_RELAY_SERVER_H
#define WZP_RELAY_SERVER_H
#include <uv.h>

#define WZP_PROBE_SNI     "wzp-probe" /* a relay probing another: no room, its datagrams echoed */

/* Observer of every authenticated media packet the relay forwards (the sealed payload after the
 * hop MAC is stripped): what an operator with full access to the relay process can see. Tests use
 * it to show that this is ciphertext the relay cannot open. NULL in production. */
typedef void (*wzp_relay_tap_fn)(uint32_t sid, const uint8_t *pkt, size_t len, void *user);

typedef struct wzp_relay_server_config {
    const char *listen;  /* "IP:port" */
    const uint8_t *seed; /* 32-byte relay seed: its TLS identity */
    wzp_relay_config rooms;
    wzp_relay_tap_fn tap; /* optional */
    void *tap_user;
    struct wzp_auth *auth; /* optional (wzp/auth.h): clients must present a featherChat token */
    bool trunking;         /* batch what goes to each receiver that can take TrunkFrames */
} wzp_relay_server_config;

typedef struct wzp_relay_server wzp_relay_server;

WZP_MUST_CHECK int wzp_relay_server_new(uv_loop_t *loop, const wzp_relay_server_config *cfg,
                                        wzp_relay_server **out);
void wzp_relay_server_free(wzp_relay_server *s);
uint16_t wzp_relay_server_port(const wzp_relay_server *s);
void wzp_relay_server_fingerprint(const wzp_relay_server *s, uint8_t out[32]);
const wzp_rooms *wzp_relay_server_rooms(const wzp_relay_server *s);
/* Media datagrams authenticated in, sent out (fan-out), and refused (unknown, forged, replayed). */
void wzp_relay_server_media_stats(const wzp_relay_server *s, uint64_t *in, uint64_t *out,
                                  uint64_t *refused);
/* The relay endpoint's QUIC and socket counters (Retry, resets, batching). */
void wzp_relay_server_quic_stats(const wzp_relay_server *s, wzp_quic_stats *out);
/* Append the relay's Prometheus families (docs/OPERATIONS.md lists them). */
struct wzp_prom;
void wzp_relay_server_metrics(const wzp_relay_server *s, struct wzp_prom *p);

/* Send Ping {timestamp_ms: now_ms} on `c`: how a relay opens a probe or link session on another
 * (the stream is the client's to open). Errors: as wzp_signal_encode, wzp_quic_send_signal. */
WZP_MUST_CHECK int wzp_relay_send_ping(wzp_quic_conn *c, uint64_t now_ms);

#endif

#ifndef WZP_RELAY_RUN_H
#define WZP_RELAY_RUN_H
#include <stdio.h>

#define WZP_RELAY_MAX_PROBES      16
#define WZP_RELAY_METRICS_DEFAULT "127.0.0.1:9090"
#define WZP_RELAY_AUTH_TIMEOUT_MS 5000 /* SPEC §5: featherChat validation timeout */

typedef struct wzp_relay_probe_target {
    char addr[128];
    char label[64]; /* the Prometheus label value: the address unless configured */
    bool has_fp;    /* pin the target relay's certificate */
    uint8_t fp[WZP_TLS_FINGERPRINT_SIZE];
} wzp_relay_probe_target;

/* Everything an operator can set, from flags and/or the configuration file (flags win). */
typedef struct wzp_relay_options {
    char listen[128];         /* default "0.0.0.0:4433" */
    char identity_path[1024]; /* empty: $XDG_STATE_HOME/wzp/relay-identity */
    wzp_relay_config rooms;
    char auth_url[1024];      /* featherChat validation; empty: no authentication */
    unsigned auth_timeout_ms; /* default WZP_RELAY_AUTH_TIMEOUT_MS */
    char metrics_listen[128]; /* Prometheus /metrics "IP:port"; empty: off */
    bool metrics_explicit;    /* set by the operator: failing to serve it is fatal */
    wzp_relay_probe_target probes[WZP_RELAY_MAX_PROBES];
    unsigned n_probes;
    bool trunking;   /* batch forwarded packets per receiver into TrunkFrames */
    bool has_remote; /* forward mode: carry every client to this relay, host no rooms */
    wzp_relay_probe_target remote;
} wzp_relay_options;

void wzp_relay_options_default(wzp_relay_options *o);
/* Read a libconfig file into `o` (keys as SPEC §2; see docs/OPERATIONS.md). Every key is checked;
 * on any error nothing is applied to `o` and `err` names the file and line. */
WZP_MUST_CHECK int wzp_relay_options_load(const char *path, wzp_relay_options *o, char *err,
                                          size_t errcap);
/* Parse one probe target "IP:port" or "IP:port@FINGERPRINT". Errors: WZP_ERR_INVALID_ARG. */
WZP_MUST_CHECK int wzp_relay_probe_parse(const char *text, wzp_relay_probe_target *t);

/* Run the relay in the foreground until SIGINT or SIGTERM: load or create the relay identity
 * (0600), print the address and TLS fingerprint to `out`, serve. Returns a process exit code. */
int wzp_relay_run(const wzp_relay_options *opts, FILE *out, FILE *err);
#endif

#ifdef __cplusplus
}
#endif
#endif
