/* Secret rooms: the room id and proof key from the secret, and the invite line
 * (include/wzp/invite.h). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/kdf.h"
#include "wzp/invite.h"
#include "wzp/random.h"

#define PREFIX     "wzp://"
#define FP_FIELD   "?fp="
#define FP_KEY     "fp=" /* FP_FIELD after its '?' */
#define SECRET_B64 43    /* 32 bytes in unpadded base64 */

int wzp_room_secret_derive(const uint8_t secret[WZP_ROOM_SECRET_SIZE],
                           char room_id[WZP_ROOM_ID_TEXT], uint8_t proof_key[WZP_KEY_SIZE]) {
    uint8_t id[16];
    int rc = wzp__hkdf(NULL, 0, secret, WZP_ROOM_SECRET_SIZE, "wzp/v1 room-id", id, sizeof(id));
    if (rc == WZP_OK) {
        rc = wzp__hkdf(NULL, 0, secret, WZP_ROOM_SECRET_SIZE, "wzp/v1 room-proof", proof_key,
                       WZP_KEY_SIZE);
    }
    if (rc != WZP_OK) {
        return WZP_ERR_CRYPTO;
    }
    sodium_bin2hex(room_id, WZP_ROOM_ID_TEXT, id, sizeof(id));
    return WZP_OK;
}

/* host:port as an invite carries it: letters, digits and . - : [ ] only. */
static bool relay_ok(const char *s, size_t n) {
    if (n == 0 || n > WZP_INVITE_RELAY_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']')) {
            return false;
        }
    }
    return true;
}

int wzp_invite_new(const char *relay, const uint8_t relay_fp[WZP_TLS_FINGERPRINT_SIZE],
                   wzp_invite *out) {
    memset(out, 0, sizeof(*out));
    if (relay == NULL || !relay_ok(relay, strlen(relay))) {
        return WZP_ERR_INVALID_ARG;
    }
    memcpy(out->relay, relay, strlen(relay) + 1);
    memcpy(out->relay_fp, relay_fp, WZP_TLS_FINGERPRINT_SIZE);
    wzp_random_buf(out->secret, sizeof(out->secret));
    uint8_t key[WZP_KEY_SIZE];
    int rc = wzp_room_secret_derive(out->secret, out->room_id, key);
    sodium_memzero(key, sizeof(key));
    if (rc != WZP_OK) {
        wzp_invite_wipe(out);
    }
    return rc;
}

int wzp_invite_format(const wzp_invite *inv, char *out, size_t cap) {
    char fp[2 * WZP_TLS_FINGERPRINT_SIZE + 1], secret[SECRET_B64 + 1];
    sodium_bin2hex(fp, sizeof(fp), inv->relay_fp, WZP_TLS_FINGERPRINT_SIZE);
    sodium_bin2base64(secret, sizeof(secret), inv->secret, sizeof(inv->secret),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t need = strlen(PREFIX) + strlen(inv->relay) + 1 + strlen(inv->room_id) +
                  strlen(FP_FIELD) + strlen(fp) + 1 + SECRET_B64 + 1;
    int rc = WZP_ERR_BUFFER_TOO_SMALL;
    if (need <= cap) {
        snprintf(out, cap, PREFIX "%s/%s" FP_FIELD "%s#%s", inv->relay, inv->room_id, fp, secret);
        rc = WZP_OK;
    }
    sodium_memzero(secret, sizeof(secret));
    return rc;
}

static bool lower_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* The part of [*p, end) up to `stop` (not included); *p moves past `stop`. */
static bool take_until(const char **p, const char *end, char stop, const char **part, size_t *n) {
    const char *at = memchr(*p, stop, (size_t)(end - *p));
    if (at == NULL) {
        return false;
    }
    *part = *p;
    *n = (size_t)(at - *p);
    *p = at + 1;
    return true;
}

int wzp_invite_parse(const char *text, size_t len, wzp_invite *out) {
    while (len > 0 && (text[0] == ' ' || text[0] == '\t' || text[0] == '\n' || text[0] == '\r')) {
        text++;
        len--;
    }
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
                       text[len - 1] == '\r')) {
        len--;
    }
    const char *p = text, *end = text + len, *relay, *room, *fp;
    size_t nrelay, nroom, nfp;
    size_t np = strlen(PREFIX), nkey = strlen(FP_KEY);
    if (len < np || memcmp(p, PREFIX, np) != 0) {
        return WZP_ERR_MALFORMED;
    }
    p += np;
    if (!take_until(&p, end, '/', &relay, &nrelay) || !relay_ok(relay, nrelay) ||
        !take_until(&p, end, '?', &room, &nroom) || nroom != WZP_ROOM_ID_TEXT - 1 ||
        !lower_hex(room, nroom) || (size_t)(end - p) < nkey || memcmp(p, FP_KEY, nkey) != 0) {
        return WZP_ERR_MALFORMED;
    }
    p += nkey;
    if (!take_until(&p, end, '#', &fp, &nfp) || nfp != 2 * WZP_TLS_FINGERPRINT_SIZE ||
        !lower_hex(fp, nfp) || (size_t)(end - p) != SECRET_B64) {
        return WZP_ERR_MALFORMED;
    }
    wzp_invite inv;
    memset(&inv, 0, sizeof(inv));
    size_t got = 0;
    const char *stop = NULL;
    if (sodium_hex2bin(inv.relay_fp, sizeof(inv.relay_fp), fp, nfp, NULL, &got, &stop) != 0 ||
        got != WZP_TLS_FINGERPRINT_SIZE ||
        sodium_base642bin(inv.secret, sizeof(inv.secret), p, SECRET_B64, NULL, &got, &stop,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        got != WZP_ROOM_SECRET_SIZE || stop != end) {
        wzp_invite_wipe(&inv);
        return WZP_ERR_MALFORMED;
    }
    memcpy(inv.relay, relay, nrelay);
    uint8_t key[WZP_KEY_SIZE];
    int rc = wzp_room_secret_derive(inv.secret, inv.room_id, key);
    sodium_memzero(key, sizeof(key));
    if (rc == WZP_OK && sodium_memcmp(inv.room_id, room, nroom) != 0) {
        rc = WZP_ERR_AUTH; /* a character changed on the way */
    }
    if (rc == WZP_OK) {
        *out = inv;
    }
    wzp_invite_wipe(&inv);
    return rc;
}

void wzp_invite_wipe(wzp_invite *inv) {
    sodium_memzero(inv, sizeof(*inv));
}
