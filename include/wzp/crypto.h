/*
 * Identity and end-to-end encryption (SPEC §5 with the fixes of §10; design in docs/SECURITY.md).
 *
 * - Identity: a 32-byte seed (shown as a 24-word BIP39 mnemonic) from which HKDF derives an
 *   Ed25519 signing key and an X25519 key; the fingerprint names a user.
 * - Handshake: CallOffer / CallAnswer signed over a transcript bound to a channel-binding value,
 *   then key confirmation both ways; only then are media keys handed out.
 * - Media: ChaCha20-Poly1305 per frame with an explicit key id and counter, a replay window per
 *   key, rekeying, and sender keys with epochs for rooms.
 * Primitives come from libsodium; HKDF from GnuTLS. Every secret is wiped when done.
 */
#ifndef WZP_CRYPTO_H
#define WZP_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"
#include "wzp/proto.h"
#include "wzp/signal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_SEED_SIZE        32
#define WZP_KEY_SIZE         32
#define WZP_FINGERPRINT_SIZE 16
#define WZP_FINGERPRINT_TEXT 40 /* 8 groups of 4 hex digits, 7 colons, NUL */
#define WZP_ROOM_SNI_TEXT    33 /* 32 hex digits, NUL */
#define WZP_MNEMONIC_WORDS   24
#define WZP_MNEMONIC_MAX     240 /* 24 words of at most 8 letters, spaces, NUL */
#define WZP_BINDING_SIZE     32
#define WZP_SIGNATURE_SIZE   64
#define WZP_CONFIRM_SIZE     32

/* Initialise libsodium (idempotent, thread-safe). Every entry point below calls it. */
WZP_MUST_CHECK int wzp_crypto_init(void);

/* ---- identity ---------------------------------------------------------------------------- */

typedef struct wzp_identity {
    uint8_t seed[WZP_SEED_SIZE];
    uint8_t sign_sk[64]; /* libsodium Ed25519 secret key (seed || public) */
    uint8_t sign_pk[WZP_KEY_SIZE];
    uint8_t dh_sk[WZP_KEY_SIZE]; /* X25519 static secret */
    uint8_t dh_pk[WZP_KEY_SIZE];
    uint8_t fingerprint[WZP_FINGERPRINT_SIZE];
} wzp_identity;

/* Derive the identity of a seed (SPEC §5: HKDF-SHA256, no salt, "warzone-ed25519" /
 * "warzone-x25519"). */
WZP_MUST_CHECK int wzp_identity_from_seed(const uint8_t seed[WZP_SEED_SIZE], wzp_identity *out);
/* A new identity from a random seed. */
WZP_MUST_CHECK int wzp_identity_generate(wzp_identity *out);
/* Zero every secret of an identity. */
void wzp_identity_wipe(wzp_identity *id);

/* First 16 bytes of SHA-256 of an Ed25519 public key. */
void wzp_fingerprint_of(const uint8_t sign_pk[WZP_KEY_SIZE], uint8_t out[WZP_FINGERPRINT_SIZE]);
/* "1a2b:3c4d:...": 8 groups of 4 lowercase hex digits. */
void wzp_fingerprint_format(const uint8_t fp[WZP_FINGERPRINT_SIZE], char out[WZP_FINGERPRINT_TEXT]);
/* Parse the text form (case-insensitive). Errors: WZP_ERR_MALFORMED. */
WZP_MUST_CHECK int wzp_fingerprint_parse(const char *text, uint8_t out[WZP_FINGERPRINT_SIZE]);
/* The TLS SNI of a room: lowercase hex of the first 16 bytes of SHA-256("featherchat-group:" ||
 * name). */
void wzp_room_sni(const char *name, size_t len, char out[WZP_ROOM_SNI_TEXT]);
/* First 8 bytes of SHA-256(room name): the federation media prefix (SPEC §3.6). */
void wzp_room_hash8(const char *name, size_t len, uint8_t out[8]);

/* Seed <-> 24-word BIP39 English mnemonic (the seed is the entropy; checksum verified).
 * Decoding accepts any whitespace between words and any letter case.
 * Errors: WZP_ERR_BUFFER_TOO_SMALL; WZP_ERR_MALFORMED (word count, unknown word, checksum). */
WZP_MUST_CHECK int wzp_mnemonic_from_seed(const uint8_t seed[WZP_SEED_SIZE], char *out, size_t cap);
WZP_MUST_CHECK int wzp_mnemonic_to_seed(const char *mnemonic, uint8_t seed[WZP_SEED_SIZE]);

/* The default identity file: $XDG_CONFIG_HOME/wzp/identity, or ~/.config/wzp/identity. */
WZP_MUST_CHECK int wzp_identity_default_path(char *out, size_t cap);
/* Write the seed (hex) to `path`, created 0600 (directories 0700); refuses to overwrite.
 * Errors: WZP_ERR_INVALID_ARG (exists), WZP_ERR_IO. */
WZP_MUST_CHECK int wzp_identity_save(const char *path, const wzp_identity *id);
/* Load an identity file; refused (WZP_ERR_PERMISSION) if group or world can read or write it. */
WZP_MUST_CHECK int wzp_identity_load(const char *path, wzp_identity *out);

/* ---- end-to-end media protection ---------------------------------------------------------
 * A protected frame is  [key_id u8][counter u32 BE][ciphertext][16-byte tag].
 * Nonce: 8 zero bytes || counter (every key is used by one sender only).
 * Associated data: "wzp1" || codec || timestamp (u32 BE) || key_id || counter, the metadata that
 * survives FEC recovery; per-hop fields (packet sequence, FEC position) are covered by the hop
 * MAC instead (docs/SECURITY.md). */

#define WZP_MEDIA_EXT_SIZE 5
#define WZP_MEDIA_TAG_SIZE 16
#define WZP_MEDIA_OVERHEAD (WZP_MEDIA_EXT_SIZE + WZP_MEDIA_TAG_SIZE)
#define WZP_REPLAY_WINDOW  2048   /* packets per key (RFC 6479 bitmap) */
#define WZP_REKEY_INTERVAL 65536u /* packets per key before the sender rekeys (SPEC §5) */
#define WZP_KEY_GRACE_MS   2000   /* a replaced receive key stays usable this long */

typedef struct wzp_frame_meta {
    uint8_t codec_id;
    uint32_t timestamp_ms;
} wzp_frame_meta;

/* Sending side of one key chain (one direction of a call, or one room sender). */
typedef struct wzp_media_tx {
    uint8_t key[WZP_KEY_SIZE];
    uint8_t key_id;
    uint32_t counter; /* next counter to use */
    bool armed;
} wzp_media_tx;

/* Receiving side: the current key and the previous one (for in-flight packets during a grace
 * window), each with its replay window. */
typedef struct wzp_replay_window {
    uint64_t top; /* highest counter accepted + 1 (0: none yet) */
    uint64_t bits[WZP_REPLAY_WINDOW / 64];
} wzp_replay_window;

typedef struct wzp_media_rx_key {
    bool used;
    uint8_t key[WZP_KEY_SIZE];
    uint8_t key_id;
    uint64_t retire_at_ms; /* 0: current key */
    wzp_replay_window replay;
} wzp_media_rx_key;

typedef struct wzp_media_rx {
    wzp_media_rx_key keys[2];
    uint64_t replays, auth_failures, unknown_keys;
} wzp_media_rx;

/* RFC 6479-style sliding window: is `counter` new (not seen, not older than the window)? Mark it
 * only after the packet authenticated. */
bool wzp_replay_check(const wzp_replay_window *w, uint64_t counter);
void wzp_replay_mark(wzp_replay_window *w, uint64_t counter);

void wzp_media_tx_init(wzp_media_tx *tx, const uint8_t key[WZP_KEY_SIZE], uint8_t key_id);
void wzp_media_tx_wipe(wzp_media_tx *tx);
/* True when the key has protected WZP_REKEY_INTERVAL frames: time to rekey. */
bool wzp_media_tx_needs_rekey(const wzp_media_tx *tx);
/* Protect one frame into `out` (len + WZP_MEDIA_OVERHEAD bytes). Errors: WZP_ERR_BUFFER_TOO_SMALL,
 * WZP_ERR_INVALID_ARG (no key), WZP_ERR_FULL (counter exhausted: rekey first). */
WZP_MUST_CHECK int wzp_media_seal(wzp_media_tx *tx, const wzp_frame_meta *meta, const uint8_t *pt,
                                  size_t len, uint8_t *out, size_t cap, size_t *written);

void wzp_media_rx_init(wzp_media_rx *rx);
void wzp_media_rx_wipe(wzp_media_rx *rx);
/* Install a new receive key; the previous one stays for WZP_KEY_GRACE_MS, then is wiped. */
void wzp_media_rx_add_key(wzp_media_rx *rx, const uint8_t key[WZP_KEY_SIZE], uint8_t key_id,
                          uint64_t now_ms);
/* Authenticate and decrypt one protected frame. The replay window moves only after the frame
 * authenticates; any failure leaves the receiver unchanged. Errors: WZP_ERR_TRUNCATED,
 * WZP_ERR_UNKNOWN_KEY, WZP_ERR_AUTH, WZP_ERR_REPLAY, WZP_ERR_BUFFER_TOO_SMALL. */
WZP_MUST_CHECK int wzp_media_open(wzp_media_rx *rx, const wzp_frame_meta *meta, const uint8_t *in,
                                  size_t len, uint64_t now_ms, uint8_t *out, size_t cap,
                                  size_t *written);

/* ---- the call handshake ------------------------------------------------------------------ */

typedef enum wzp_hs_role { WZP_HS_CALLER, WZP_HS_CALLEE } wzp_hs_role;

typedef enum wzp_hs_state {
    WZP_HS_START,
    WZP_HS_OFFER_SENT,   /* caller: waiting for the answer */
    WZP_HS_ANSWER_SENT,  /* callee: waiting for the caller's confirmation */
    WZP_HS_CONFIRM_SENT, /* caller: waiting for the callee's confirmation */
    WZP_HS_ESTABLISHED,
    WZP_HS_FAILED,
} wzp_hs_state;

typedef struct wzp_handshake wzp_handshake;

typedef struct wzp_session_keys {
    uint8_t tx[WZP_KEY_SIZE];
    uint8_t rx[WZP_KEY_SIZE];
    uint8_t key_id;
} wzp_session_keys;

/* The binding of a handshake between two members of a relay room: SHA-256 of
 * "wzp/v1 pair-binding\0" and the two members' connection exporters (EXPORTER-wzp-call-binding),
 * smaller first. Each member knows its own exporter; the relay stamps the peer's on the
 * PeerSignal it forwards (docs/SECURITY.md). */
void wzp_pair_binding(const uint8_t own[32], const uint8_t peer[32], uint8_t out[32]);
#define WZP_CALL_BINDING_EXPORTER "EXPORTER-wzp-call-binding"

/* Start a handshake. `binding` ties every signature to one channel (docs/SECURITY.md: the TLS
 * exporter of the QUIC connection the call's signalling runs on). The identity is copied. */
WZP_MUST_CHECK int wzp_hs_new(wzp_hs_role role, const wzp_identity *me,
                              const uint8_t binding[WZP_BINDING_SIZE], wzp_handshake **out);
void wzp_hs_free(wzp_handshake *hs);
wzp_hs_state wzp_hs_get_state(const wzp_handshake *hs);

/* A secret room (docs/SECURITY.md "Secret rooms"): both sides hold the room's proof key (from
 * wzp_room_secret_keys), set before the offer is made or taken. The offer and the answer then
 * each carry room_proof = HMAC-SHA256(proof key, label || channel binding || the sender's
 * identity and ephemeral keys [|| the offer's hash]), covered by the sender's signature; an offer
 * or answer without it, or with a wrong one, fails with WZP_ERR_NOT_MEMBER before anything is
 * sent back. The key is also mixed into the session keys (HKDF input after the X25519 secret),
 * so a key confirmation fails as well. The key is copied; wiped on free. */
void wzp_hs_set_room_key(wzp_handshake *hs, const uint8_t key[WZP_KEY_SIZE]);

/* Caller: build the CallOffer (signed over the offer transcript). Its `ephemeral_pub` is a
 * commitment to our fresh ephemeral key, SHA-256("wzp/v1 ephemeral-commit\0" || key); the key
 * itself goes with our KeyConfirm, after the callee's answer signed its own (docs/SECURITY.md
 * "Safety code"). */
WZP_MUST_CHECK int wzp_hs_make_offer(wzp_handshake *hs, const wzp_profile *profiles, size_t n,
                                     const char *alias, wzp_signal **offer);
/* Callee: verify an offer and answer it with the first of our `profiles` the caller supports.
 * Errors: WZP_ERR_AUTH (bad signature or binding), WZP_ERR_NOT_MEMBER (a secret room's proof
 * missing or wrong), WZP_ERR_MALFORMED, WZP_ERR_NO_COMMON_PROFILE, WZP_ERR_STATE. On any error
 * the handshake is FAILED. */
WZP_MUST_CHECK int wzp_hs_on_offer(wzp_handshake *hs, const wzp_signal *offer,
                                   const wzp_profile *profiles, size_t n, wzp_signal **answer);
/* Caller: verify the answer, derive keys, reply with our KeyConfirm. Errors as on_offer. */
WZP_MUST_CHECK int wzp_hs_on_answer(wzp_handshake *hs, const wzp_signal *answer,
                                    wzp_signal **confirm);
/* Both: verify the peer's KeyConfirm. The callee first checks the caller's ephemeral key in it
 * against the offer's commitment and only then derives the keys (WZP_ERR_AUTH: missing or not
 * the committed key), then replies with its own (`*reply` non-NULL); the caller gets NULL.
 * Afterwards the handshake is ESTABLISHED. */
WZP_MUST_CHECK int wzp_hs_on_confirm(wzp_handshake *hs, const wzp_signal *confirm,
                                     wzp_signal **reply);
/* Only once ESTABLISHED: the two directional media keys, the 4-digit SAS. */
WZP_MUST_CHECK int wzp_hs_session_keys(const wzp_handshake *hs, wzp_session_keys *out);
WZP_MUST_CHECK int wzp_hs_sas(const wzp_handshake *hs, unsigned *sas);
/* The identity key that signed the peer's offer (callee) or answer (caller), as soon as that
 * signature verified -- before anything is sent back, so a caller can refuse an identity it did
 * not expect; that the peer also holds the session keys is known once ESTABLISHED. */
WZP_MUST_CHECK int wzp_hs_peer(const wzp_handshake *hs, uint8_t sign_pk[WZP_KEY_SIZE]);
const wzp_profile *wzp_hs_profile(const wzp_handshake *hs);

/* Rekey (SPEC §5 "Rekey"): the sender of a direction makes a new ephemeral key; the new key is
 * HKDF(old key, X25519(new ephemeral, peer's latest ephemeral)). `wzp_hs_rekey` returns the
 * Rekey message and the new transmit key; `wzp_hs_on_rekey` verifies a peer's Rekey and returns
 * the new receive key. Both need an ESTABLISHED handshake. */
WZP_MUST_CHECK int wzp_hs_rekey(wzp_handshake *hs, wzp_signal **msg, uint8_t new_tx[WZP_KEY_SIZE],
                                uint8_t *key_id);
WZP_MUST_CHECK int wzp_hs_on_rekey(wzp_handshake *hs, const wzp_signal *msg,
                                   uint8_t new_rx[WZP_KEY_SIZE], uint8_t *key_id);

/* Seal / open a small secret for the peer over an ESTABLISHED pairwise channel (room sender
 * keys travel this way). `label` separates uses. Errors: WZP_ERR_AUTH, WZP_ERR_REPLAY. */
WZP_MUST_CHECK int wzp_hs_seal(wzp_handshake *hs, const uint8_t *pt, size_t len, uint8_t *out,
                               size_t cap, size_t *written);
WZP_MUST_CHECK int wzp_hs_open(wzp_handshake *hs, const uint8_t *in, size_t len, uint8_t *out,
                               size_t cap, size_t *written);

/* ---- joining a relay (SPEC §8) ------------------------------------------------------------
 * A member proves its identity to a relay with RegisterPresence {identity_pub, signature,
 * alias}: an Ed25519 signature over "wzp/v1 join\0" || the TLS exporter (WZP_JOIN_EXPORTER) of
 * the connection it joins on, so a registration captured on one connection is worthless on any
 * other. */

#define WZP_JOIN_LABEL    "wzp/v1 join"
#define WZP_JOIN_EXPORTER "EXPORTER-wzp-join"

/* The signed RegisterPresence for the connection whose join exporter is `exporter`.
 * Errors: WZP_ERR_NOMEM, WZP_ERR_TOO_LARGE (alias). */
WZP_MUST_CHECK int wzp_join_sign(const wzp_identity *id, const uint8_t exporter[32],
                                 const char *alias, wzp_signal **msg);
/* Check a RegisterPresence against the join exporter of the connection it arrived on; the
 * signer's fingerprint goes to `fp`. Errors: WZP_ERR_INVALID_ARG (not a RegisterPresence),
 * WZP_ERR_AUTH (bad or missing signature, or signed for another connection). */
WZP_MUST_CHECK int wzp_join_verify(const wzp_signal *msg, const uint8_t exporter[32],
                                   uint8_t fp[WZP_FINGERPRINT_SIZE]);

/* ---- room sender keys (SFrame-style, RFC 9605) --------------------------------------------
 * Each member encrypts its media with its own sender key and gives that key to every other
 * member inside their pairwise channel. A join or leave starts a new epoch with a fresh random
 * key (so a member who left cannot read later media); within an epoch the key ratchets forward
 * with HKDF every WZP_REKEY_INTERVAL frames. The key id on the wire is (epoch * 16 + ratchet
 * step) mod 256. */

typedef struct wzp_sender_key {
    uint32_t epoch;
    uint8_t step;
    uint8_t chain[WZP_KEY_SIZE]; /* the epoch's secret, ratcheted `step` times */
} wzp_sender_key;

/* A fresh random sender key for `epoch`. */
WZP_MUST_CHECK int wzp_sender_key_new(uint32_t epoch, wzp_sender_key *out);
/* Ratchet one step forward (the old chain value is overwritten). */
void wzp_sender_key_ratchet(wzp_sender_key *sk);
/* The media key and key id of the current step. */
void wzp_sender_key_media(const wzp_sender_key *sk, uint8_t key[WZP_KEY_SIZE], uint8_t *key_id);
void wzp_sender_key_wipe(wzp_sender_key *sk);
/* The SenderKey message carrying `sk` sealed for one peer over their pairwise channel, with
 * the sender's media session id (so receivers know whose media the key opens). */
WZP_MUST_CHECK int wzp_sender_key_wrap(wzp_handshake *peer, const wzp_sender_key *sk,
                                       uint32_t session_id, wzp_signal **msg);
/* Unwrap a peer's SenderKey message. Errors: WZP_ERR_AUTH, WZP_ERR_MALFORMED, WZP_ERR_REPLAY. */
WZP_MUST_CHECK int wzp_sender_key_unwrap(wzp_handshake *peer, const wzp_signal *msg,
                                         wzp_sender_key *out, uint32_t *session_id);

#ifdef __cplusplus
}
#endif
#endif
