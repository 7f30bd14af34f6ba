/*
 * Secret rooms and their invites (docs/SECURITY.md "Secret rooms").
 *
 * A secret room is 32 random bytes. From them come the room's id -- the name the relay sees
 * (hashed once more into the TLS SNI, like any room name) -- and its proof key, which each
 * member's signed handshake proves (wzp_hs_set_room_key); neither gives the secret back. An
 * invite is one line a person can paste (or put in a QR code):
 *
 *     wzp://RELAY/ROOM_ID?fp=RELAY_TLS_FINGERPRINT#SECRET
 *
 * RELAY is host:port as typed, ROOM_ID 32 lowercase hex digits, the fingerprint 64 hex digits
 * (SHA-256 of the relay's certificate, no colons), SECRET 43 characters of unpadded URL-safe
 * base64. The secret is after '#', the part of a URI that software passing it on leaves out.
 */
#ifndef WZP_INVITE_H
#define WZP_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "wzp/crypto.h"
#include "wzp/quic.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_ROOM_SECRET_SIZE 32
#define WZP_ROOM_ID_TEXT     33  /* 32 hex digits and a NUL */
#define WZP_INVITE_RELAY_MAX 100 /* longest relay address in an invite */
#define WZP_INVITE_TEXT      300 /* room for any invite and its NUL */

typedef struct wzp_invite {
    char relay[WZP_INVITE_RELAY_MAX + 1];
    uint8_t relay_fp[WZP_TLS_FINGERPRINT_SIZE];
    char room_id[WZP_ROOM_ID_TEXT];
    uint8_t secret[WZP_ROOM_SECRET_SIZE];
} wzp_invite;

/* The room id (what the relay sees) and proof key of a room secret. Errors: WZP_ERR_CRYPTO. */
WZP_MUST_CHECK int wzp_room_secret_derive(const uint8_t secret[WZP_ROOM_SECRET_SIZE],
                                          char room_id[WZP_ROOM_ID_TEXT],
                                          uint8_t proof_key[WZP_KEY_SIZE]);
/* A new room: a random secret, its id filled in, for the relay at `relay` with `relay_fp`.
 * Errors: WZP_ERR_INVALID_ARG (an address an invite cannot carry), WZP_ERR_CRYPTO. */
WZP_MUST_CHECK int wzp_invite_new(const char *relay,
                                  const uint8_t relay_fp[WZP_TLS_FINGERPRINT_SIZE],
                                  wzp_invite *out);
/* The invite's one line. Errors: WZP_ERR_BUFFER_TOO_SMALL. */
WZP_MUST_CHECK int wzp_invite_format(const wzp_invite *inv, char *out, size_t cap);
/* Read an invite from `len` bytes (surrounding blanks allowed). Errors: WZP_ERR_MALFORMED (not
 * an invite; nothing filled in), WZP_ERR_AUTH (its room id is not its secret's: damaged). */
WZP_MUST_CHECK int wzp_invite_parse(const char *text, size_t len, wzp_invite *out);
void wzp_invite_wipe(wzp_invite *inv);

#ifdef __cplusplus
}
#endif
#endif
