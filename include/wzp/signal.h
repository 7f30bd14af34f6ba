/*
 * Signalling messages (SPEC §4) and their stream framing (SPEC §3.7).
 *
 * JSON follows serde's externally tagged enum shape: {"CallOffer":{...}} for struct variants,
 * "Hold" for unit variants; 32-byte keys and byte strings are arrays of numbers; absent optional
 * fields are omitted (null is accepted on input). Unknown fields are ignored; an unknown variant
 * decodes to WZP_ERR_UNKNOWN_VARIANT (a newer peer): log it and drop the message.
 * On the stream each message is a 4-byte big-endian length and that many bytes of JSON.
 */
#ifndef WZP_SIGNAL_H
#define WZP_SIGNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"
#include "wzp/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_SIGNAL_MAX_JSON     65536               /* hard cap on one message's JSON (bytes) */
#define WZP_SIGNAL_FRAME_PREFIX 4                   /* big-endian length before each JSON body */
#define WZP_SIGNAL_KEY_SIZE     32                  /* identity and ephemeral public keys */
#define WZP_SIGNAL_BYTES_MAX    128                 /* longest byte string (signatures are 64) */
#define WZP_SIGNAL_MAX_PROFILES 16                  /* supported_profiles entries */
#define WZP_SIGNAL_MAX_LIST     1024                /* string lists and participant lists */
#define WZP_SIGNAL_MAX_STRING   8192                /* any one string field, in bytes */
#define WZP_SIGNAL_MAX_DEPTH    4                   /* FederatedSignalForward nesting */
#define WZP_SIGNAL_MAX_U64      9007199254740992ULL /* 2^53: exact in every JSON implementation */
#define WZP_ROOM_NAME_MAX       64 /* a room as the relay knows it: its SNI (32 hex digits) */
#define WZP_ALIAS_MAX           64 /* the name a member shows (RegisterPresence.alias) */

typedef enum wzp_signal_type {
    WZP_SIG_CALL_OFFER,
    WZP_SIG_CALL_ANSWER,
    WZP_SIG_ICE_CANDIDATE,
    WZP_SIG_REKEY,
    WZP_SIG_QUALITY_UPDATE,
    WZP_SIG_LOSS_RECOVERY_UPDATE,
    WZP_SIG_PING,
    WZP_SIG_PONG,
    WZP_SIG_HANGUP,
    WZP_SIG_AUTH_TOKEN,
    WZP_SIG_HOLD,
    WZP_SIG_UNHOLD,
    WZP_SIG_MUTE,
    WZP_SIG_UNMUTE,
    WZP_SIG_TRANSFER,
    WZP_SIG_TRANSFER_ACK,
    WZP_SIG_PRESENCE_UPDATE,
    WZP_SIG_ROUTE_QUERY,
    WZP_SIG_ROUTE_RESPONSE,
    WZP_SIG_SESSION_FORWARD,
    WZP_SIG_SESSION_FORWARD_ACK,
    WZP_SIG_ROOM_UPDATE,
    WZP_SIG_FEDERATION_HELLO,
    WZP_SIG_GLOBAL_ROOM_ACTIVE,
    WZP_SIG_GLOBAL_ROOM_INACTIVE,
    WZP_SIG_REGISTER_PRESENCE,
    WZP_SIG_REGISTER_PRESENCE_ACK,
    WZP_SIG_DIRECT_CALL_OFFER,
    WZP_SIG_DIRECT_CALL_ANSWER,
    WZP_SIG_CALL_SETUP,
    WZP_SIG_CALL_RINGING,
    WZP_SIG_REFLECT,
    WZP_SIG_REFLECT_RESPONSE,
    WZP_SIG_FEDERATED_SIGNAL_FORWARD,
    /* ours, appended (older peers log an unknown variant and drop them): */
    WZP_SIG_KEY_CONFIRM,   /* handshake key confirmation */
    WZP_SIG_SENDER_KEY,    /* a room sender key sealed for one peer */
    WZP_SIG_PEER_SIGNAL,   /* relay-routed envelope between two room members */
    WZP_SIG_MEDIA_SESSION, /* relay -> client: the media-plane session id after joining */
    WZP_SIG_MEDIA_OPTIONS, /* client -> relay: what the client's media plane understands */
    WZP_SIG_TYPE_COUNT
} wzp_signal_type;

typedef enum wzp_hangup_reason {
    WZP_HANGUP_NORMAL,
    WZP_HANGUP_BUSY,
    WZP_HANGUP_DECLINED,
    WZP_HANGUP_TIMEOUT,
    WZP_HANGUP_ERROR,
} wzp_hangup_reason;

typedef enum wzp_accept_mode {
    WZP_ACCEPT_REJECT,
    WZP_ACCEPT_TRUSTED,
    WZP_ACCEPT_GENERIC,
} wzp_accept_mode;

/* A byte string (Vec<u8> on the wire). `present` matters only for optional fields. */
typedef struct wzp_sig_bytes {
    bool present;
    size_t len;
    uint8_t data[WZP_SIGNAL_BYTES_MAX];
} wzp_sig_bytes;

/* An optional 32-byte key. */
typedef struct wzp_sig_key_opt {
    bool present;
    uint8_t key[WZP_SIGNAL_KEY_SIZE];
} wzp_sig_key_opt;

typedef struct wzp_sig_profile_opt {
    bool present;
    wzp_profile profile;
} wzp_sig_profile_opt;

typedef struct wzp_sig_profiles {
    size_t count;
    wzp_profile items[WZP_SIGNAL_MAX_PROFILES];
} wzp_sig_profiles;

typedef struct wzp_sig_strings {
    size_t count;
    char **items;
} wzp_sig_strings;

typedef struct wzp_room_participant {
    char *fingerprint;
    char *alias;       /* optional (NULL when absent) */
    char *relay_label; /* optional: set for participants on a federated relay */
    uint32_t session;  /* optional (0: absent): its session id on the relay that lists it, which
                        * tells one identity's devices apart (PeerSignal to_session) */
} wzp_room_participant;

typedef struct wzp_sig_participants {
    size_t count;
    wzp_room_participant *items;
} wzp_sig_participants;

typedef struct wzp_signal wzp_signal;

/* One signalling message. Strings (char *) and lists are owned by the message and released by
 * wzp_signal_free(); optional strings are NULL when absent. Set them with wzp_signal_set_str(). */
struct wzp_signal {
    wzp_signal_type type;
    union {
        struct {
            uint8_t identity_pub[WZP_SIGNAL_KEY_SIZE];
            uint8_t ephemeral_pub[WZP_SIGNAL_KEY_SIZE];
            wzp_sig_bytes signature;
            wzp_sig_profiles supported_profiles;
            char *alias;
            wzp_sig_bytes room_proof; /* optional: a secret room's proof (docs/SECURITY.md) */
        } call_offer;
        struct {
            uint8_t identity_pub[WZP_SIGNAL_KEY_SIZE];
            uint8_t ephemeral_pub[WZP_SIGNAL_KEY_SIZE];
            wzp_sig_bytes signature;
            wzp_profile chosen_profile;
            wzp_sig_bytes room_proof; /* optional: a secret room's proof */
        } call_answer;
        struct {
            char *candidate;
        } ice_candidate;
        struct {
            uint8_t new_ephemeral_pub[WZP_SIGNAL_KEY_SIZE];
            wzp_sig_bytes signature;
        } rekey;
        struct {
            wzp_quality_report report;
            wzp_profile recommended_profile;
        } quality_update;
        struct {
            uint64_t dred_reconstructions;
            uint64_t classical_plc_invocations;
            uint64_t frames_decoded;
        } loss_recovery_update;
        struct {
            uint64_t timestamp_ms;
        } ping; /* also Pong */
        struct {
            wzp_hangup_reason reason;
        } hangup;
        struct {
            char *token;
        } auth_token;
        struct {
            char *target_fingerprint;
            char *relay_addr; /* optional */
        } transfer;
        struct {
            wzp_sig_strings fingerprints;
            char *relay_addr;
        } presence_update;
        struct {
            char *fingerprint;
            uint8_t ttl;
        } route_query;
        struct {
            char *fingerprint;
            bool found;
            wzp_sig_strings relay_chain;
        } route_response;
        struct {
            char *session_id;
            char *target_fingerprint;
            char *source_relay;
        } session_forward;
        struct {
            char *session_id;
            char *room_name;
        } session_forward_ack;
        struct {
            uint32_t count;
            wzp_sig_participants participants;
        } room_update;
        struct {
            char *tls_fingerprint;
        } federation_hello;
        struct {
            char *room;
            wzp_sig_participants participants; /* defaults to empty */
        } global_room_active;
        struct {
            char *room;
        } global_room_inactive;
        struct {
            uint8_t identity_pub[WZP_SIGNAL_KEY_SIZE];
            wzp_sig_bytes signature;
            char *alias; /* optional */
        } register_presence;
        struct {
            bool success;
            char *error; /* optional */
        } register_presence_ack;
        struct {
            char *caller_fingerprint;
            char *caller_alias; /* optional */
            char *target_fingerprint;
            char *call_id;
            uint8_t identity_pub[WZP_SIGNAL_KEY_SIZE];
            uint8_t ephemeral_pub[WZP_SIGNAL_KEY_SIZE];
            wzp_sig_bytes signature;
            wzp_sig_profiles supported_profiles;
            char *caller_reflexive_addr; /* optional */
        } direct_call_offer;
        struct {
            char *call_id;
            wzp_accept_mode accept_mode;
            wzp_sig_key_opt identity_pub;
            wzp_sig_key_opt ephemeral_pub;
            wzp_sig_bytes signature; /* optional: see .present */
            wzp_sig_profile_opt chosen_profile;
            char *callee_reflexive_addr; /* optional */
        } direct_call_answer;
        struct {
            char *call_id;
            char *room;
            char *relay_addr;
            char *peer_direct_addr; /* optional */
        } call_setup;
        struct {
            char *call_id;
        } call_ringing;
        struct {
            char *observed_addr;
        } reflect_response;
        struct {
            wzp_signal *inner; /* owned */
            char *origin_relay_fp;
        } federated_signal_forward;
        struct {
            wzp_sig_bytes mac; /* HMAC-SHA256 over the handshake transcript */
            /* the caller's: its ephemeral key, which its offer only committed to */
            wzp_sig_key_opt ephemeral_pub;
        } key_confirm;
        struct {
            uint32_t epoch;
            wzp_sig_bytes sealed; /* the sender key, sealed over the pairwise channel */
        } sender_key;
        struct {
            char *to_fingerprint;
            /* the one member meant (its relay session id), 0: every member with to_fingerprint
             * (one identity may be in a room on several devices) */
            uint32_t to_session;
            char *from_fingerprint; /* set by the relay from the sender's authenticated identity */
            uint32_t from_session;  /* set by the relay: the sender's session id */
            wzp_sig_bytes from_binding; /* set by the relay: the sender's connection exporter */
            wzp_signal *inner;          /* owned */
        } peer_signal;
        struct {
            uint32_t session_id;
        } media_session;
        struct {
            bool trunking; /* it can take TrunkFrames (docs/PROTOCOL.md §10) */
        } media_options;
    } u;
};

/* A zeroed message of `type` (all strings NULL, lists empty), or NULL when out of memory. */
wzp_signal *wzp_signal_new(wzp_signal_type type);
/* Free a message and everything it owns (NULL is a no-op). */
void wzp_signal_free(wzp_signal *msg);
/* Replace `*field` (a string of a message) by a copy of `value` (NULL clears it).
 * Errors: WZP_ERR_NOMEM, WZP_ERR_TOO_LARGE. */
WZP_MUST_CHECK int wzp_signal_set_str(char **field, const char *value);
/* Append a copy of `value` to a string list. Errors: WZP_ERR_NOMEM, WZP_ERR_FULL. */
WZP_MUST_CHECK int wzp_signal_strings_add(wzp_sig_strings *list, const char *value);
/* Append a participant (fields copied; alias/relay_label may be NULL). */
WZP_MUST_CHECK int wzp_signal_participants_add(wzp_sig_participants *list, const char *fingerprint,
                                               const char *alias, const char *relay_label);
/* Deep equality of two messages. */
bool wzp_signal_equal(const wzp_signal *a, const wzp_signal *b);
/* The variant's wire name ("CallOffer"), or "?" for an invalid type. */
const char *wzp_signal_type_name(wzp_signal_type type);

/* Encode `msg` as JSON into `buf` (no NUL is counted in `*written`).
 * Errors: WZP_ERR_BUFFER_TOO_SMALL, WZP_ERR_TOO_LARGE (JSON above WZP_SIGNAL_MAX_JSON),
 * WZP_ERR_INVALID_ARG / WZP_ERR_OUT_OF_RANGE / WZP_ERR_MISSING_FIELD for a message that could not
 * be decoded back (required string NULL, bad profile, u64 above 2^53 ...), WZP_ERR_NOMEM. */
WZP_MUST_CHECK int wzp_signal_encode(const wzp_signal *msg, uint8_t *buf, size_t cap,
                                     size_t *written);
/* Decode JSON from `(buf, len)`. On success `*out` is a new message the caller frees.
 * Errors: WZP_ERR_EMPTY, WZP_ERR_TOO_LARGE, WZP_ERR_MALFORMED (not JSON, not UTF-8, wrong shape or
 * type), WZP_ERR_MISSING_FIELD, WZP_ERR_OUT_OF_RANGE, WZP_ERR_UNKNOWN_CODEC,
 * WZP_ERR_UNKNOWN_VARIANT, WZP_ERR_NOMEM. `*out` is untouched on error. */
WZP_MUST_CHECK int wzp_signal_decode(const uint8_t *buf, size_t len, wzp_signal **out);

/* ---- stream framing ------------------------------------------------------------------- */

/* Write the length prefix and `body` into `buf`. Errors: WZP_ERR_BUFFER_TOO_SMALL, WZP_ERR_EMPTY,
 * WZP_ERR_TOO_LARGE. */
WZP_MUST_CHECK int wzp_frame_encode(const uint8_t *body, size_t body_len, uint8_t *buf, size_t cap,
                                    size_t *written);
/* Find one complete frame at the start of `(buf, len)`: `*body` points into `buf`, `*consumed`
 * is prefix + body. Errors: WZP_ERR_NEED_MORE (incomplete: nothing consumed), WZP_ERR_EMPTY
 * (length 0), WZP_ERR_TOO_LARGE (length above WZP_SIGNAL_MAX_JSON: the stream must be closed). */
WZP_MUST_CHECK int wzp_frame_decode(const uint8_t *buf, size_t len, const uint8_t **body,
                                    size_t *body_len, size_t *consumed);

/* Reassembles frames from arbitrary stream chunks in a fixed buffer (no allocation after init).
 * After WZP_ERR_TOO_LARGE / WZP_ERR_EMPTY the reader stays failed: close the stream. */
typedef struct wzp_frame_reader {
    uint8_t buf[WZP_SIGNAL_FRAME_PREFIX + WZP_SIGNAL_MAX_JSON];
    size_t have;
    bool done; /* buf holds a frame already returned */
    int error;
} wzp_frame_reader;

void wzp_frame_reader_init(wzp_frame_reader *r);
/* Copy up to `len` bytes of stream data in, stopping at the end of the first complete frame;
 * `*taken` says how many were used. When a frame is complete, `*body`/`*body_len` describe it
 * (valid until the next call) and 0 is returned; WZP_ERR_NEED_MORE when it is still incomplete.
 * Call again with the rest of the data after a frame is returned. */
WZP_MUST_CHECK int wzp_frame_reader_push(wzp_frame_reader *r, const uint8_t *data, size_t len,
                                         size_t *taken, const uint8_t **body, size_t *body_len);

#ifdef __cplusplus
}
#endif
#endif
