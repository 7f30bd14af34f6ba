/*
 * User identity (SPEC §5): seed -> Ed25519 and X25519 keys by HKDF-SHA256, the fingerprint, the
 * room SNI hash, and the identity file (the seed in hex, mode 0600, refused when others can read
 * it).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "crypto/kdf.h"
#include "wzp/crypto.h"
#include "wzp/random.h"

int wzp_identity_from_seed(const uint8_t seed[WZP_SEED_SIZE], wzp_identity *out) {
    int rc = wzp_crypto_init();
    uint8_t sign_seed[32];
    if (rc == WZP_OK) {
        rc = wzp__hkdf(NULL, 0, seed, WZP_SEED_SIZE, "warzone-ed25519", sign_seed, 32);
    }
    if (rc == WZP_OK) {
        rc = wzp__hkdf(NULL, 0, seed, WZP_SEED_SIZE, "warzone-x25519", out->dh_sk, 32);
    }
    if (rc == WZP_OK && (crypto_sign_seed_keypair(out->sign_pk, out->sign_sk, sign_seed) != 0 ||
                         crypto_scalarmult_base(out->dh_pk, out->dh_sk) != 0)) {
        rc = WZP_ERR_CRYPTO;
    }
    if (rc == WZP_OK) {
        memmove(out->seed, seed, WZP_SEED_SIZE);
        wzp_fingerprint_of(out->sign_pk, out->fingerprint);
    } else {
        wzp_identity_wipe(out);
    }
    sodium_memzero(sign_seed, sizeof(sign_seed));
    return rc;
}

int wzp_identity_generate(wzp_identity *out) {
    int rc = wzp_crypto_init();
    if (rc != WZP_OK) {
        return rc;
    }
    uint8_t seed[WZP_SEED_SIZE];
    wzp_random_buf(seed, sizeof(seed));
    rc = wzp_identity_from_seed(seed, out);
    sodium_memzero(seed, sizeof(seed));
    return rc;
}

void wzp_identity_wipe(wzp_identity *id) {
    sodium_memzero(id, sizeof(*id));
}

void wzp_fingerprint_of(const uint8_t sign_pk[WZP_KEY_SIZE], uint8_t out[WZP_FINGERPRINT_SIZE]) {
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, sign_pk, WZP_KEY_SIZE);
    memcpy(out, h, WZP_FINGERPRINT_SIZE);
}

void wzp_fingerprint_format(const uint8_t fp[WZP_FINGERPRINT_SIZE],
                            char out[WZP_FINGERPRINT_TEXT]) {
    static const char hex[] = "0123456789abcdef";
    size_t pos = 0;
    for (size_t i = 0; i < WZP_FINGERPRINT_SIZE; i++) {
        if (i > 0 && i % 2 == 0) {
            out[pos++] = ':';
        }
        out[pos++] = hex[fp[i] >> 4];
        out[pos++] = hex[fp[i] & 15];
    }
    out[pos] = '\0';
}

int wzp_fingerprint_parse(const char *text, uint8_t out[WZP_FINGERPRINT_SIZE]) {
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    size_t len = strlen(text);
    if (len != WZP_FINGERPRINT_TEXT - 1) {
        return WZP_ERR_MALFORMED;
    }
    for (size_t g = 0; g < 8; g++) {
        const char *p = text + g * 5;
        if (g < 7 && p[4] != ':') {
            return WZP_ERR_MALFORMED;
        }
        for (size_t i = 0; i < 4; i++) {
            if (!isxdigit((unsigned char)p[i])) {
                return WZP_ERR_MALFORMED;
            }
        }
        unsigned v = 0;
        if (sscanf(p, "%4x", &v) != 1) {
            return WZP_ERR_MALFORMED;
        }
        fp[2 * g] = (uint8_t)(v >> 8);
        fp[2 * g + 1] = (uint8_t)v;
    }
    memcpy(out, fp, sizeof(fp));
    return WZP_OK;
}

void wzp_room_sni(const char *name, size_t len, char out[WZP_ROOM_SNI_TEXT]) {
    static const char prefix[] = "featherchat-group:";
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)prefix, sizeof(prefix) - 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)name, len);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, WZP_ROOM_SNI_TEXT, h, 16);
}

void wzp_room_hash8(const char *name, size_t len, uint8_t out[8]) {
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const uint8_t *)name, len);
    memcpy(out, h, 8);
}

int wzp__config_path(const char *name, char *out, size_t cap) {
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg != NULL && xdg[0] == '/') {
        n = snprintf(out, cap, "%s/wzp/%s", xdg, name);
    } else if (home != NULL && home[0] != '\0') {
        n = snprintf(out, cap, "%s/.config/wzp/%s", home, name);
    } else {
        return WZP_ERR_INVALID_ARG;
    }
    return (n < 0 || (size_t)n >= cap) ? WZP_ERR_BUFFER_TOO_SMALL : WZP_OK;
}

int wzp_identity_default_path(char *out, size_t cap) {
    return wzp__config_path("identity", out, cap);
}

/* mkdir -p of the directories above `path`, each 0700 when created. */
int wzp__make_parents(const char *path) {
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof(dir)) {
        return WZP_ERR_INVALID_ARG;
    }
    memcpy(dir, path, n + 1);
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            return WZP_ERR_IO;
        }
        *p = '/';
    }
    return WZP_OK;
}

int wzp_identity_save(const char *path, const wzp_identity *id) {
    int rc = wzp__make_parents(path);
    if (rc != WZP_OK) {
        return rc;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return errno == EEXIST ? WZP_ERR_INVALID_ARG : WZP_ERR_IO;
    }
    char text[2 * WZP_SEED_SIZE + 2];
    sodium_bin2hex(text, sizeof(text), id->seed, WZP_SEED_SIZE);
    text[2 * WZP_SEED_SIZE] = '\n';
    ssize_t w = write(fd, text, 2 * WZP_SEED_SIZE + 1);
    rc = (w == 2 * WZP_SEED_SIZE + 1 && fsync(fd) == 0) ? WZP_OK : WZP_ERR_IO;
    sodium_memzero(text, sizeof(text));
    if (close(fd) != 0) {
        rc = WZP_ERR_IO;
    }
    if (rc != WZP_OK) {
        unlink(path);
    }
    return rc;
}

/* The file holds the seed as 64 hex digits or as a 24-word mnemonic. */
static int parse_seed_text(char *text, uint8_t seed[WZP_SEED_SIZE]) {
    size_t n = strlen(text);
    while (n > 0 && isspace((unsigned char)text[n - 1])) {
        text[--n] = '\0';
    }
    size_t bin_len = 0;
    if (n == 2 * WZP_SEED_SIZE &&
        sodium_hex2bin(seed, WZP_SEED_SIZE, text, n, NULL, &bin_len, NULL) == 0 &&
        bin_len == WZP_SEED_SIZE) {
        return WZP_OK;
    }
    return wzp_mnemonic_to_seed(text, seed);
}

int wzp_identity_load(const char *path, wzp_identity *out) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return WZP_ERR_IO;
    }
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? WZP_OK : WZP_ERR_IO;
    if (rc == WZP_OK && (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)) {
        rc = WZP_ERR_PERMISSION;
    }
    char text[512];
    ssize_t r = rc == WZP_OK ? read(fd, text, sizeof(text) - 1) : -1;
    close(fd);
    if (rc == WZP_OK && r <= 0) {
        rc = WZP_ERR_IO;
    }
    uint8_t seed[WZP_SEED_SIZE];
    if (rc == WZP_OK) {
        text[r] = '\0';
        rc = parse_seed_text(text, seed);
    }
    if (rc == WZP_OK) {
        rc = wzp_identity_from_seed(seed, out);
    }
    sodium_memzero(text, sizeof(text));
    sodium_memzero(seed, sizeof(seed));
    return rc;
}
