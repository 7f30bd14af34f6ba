/* BIP39 English mnemonics for 32-byte seeds: 256 bits of entropy plus an 8-bit checksum (the
 * first byte of SHA-256 of the entropy) read as 24 indices of 11 bits into the wordlist. */
#include <ctype.h>
#include <sodium.h>
#include <string.h>

#include "wzp/crypto.h"

extern const char *const wzp__bip39_words[2048];

static unsigned bits_at(const uint8_t *buf, unsigned bit, unsigned count) {
    unsigned v = 0;
    for (unsigned i = 0; i < count; i++, bit++) {
        v = (v << 1) | (((unsigned)buf[bit / 8] >> (7 - bit % 8)) & 1u);
    }
    return v;
}

int wzp_mnemonic_from_seed(const uint8_t seed[WZP_SEED_SIZE], char *out, size_t cap) {
    uint8_t buf[WZP_SEED_SIZE + 1];
    uint8_t hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, seed, WZP_SEED_SIZE);
    memcpy(buf, seed, WZP_SEED_SIZE);
    buf[WZP_SEED_SIZE] = hash[0];
    size_t pos = 0;
    int rc = WZP_OK;
    for (unsigned w = 0; w < WZP_MNEMONIC_WORDS && rc == WZP_OK; w++) {
        const char *word = wzp__bip39_words[bits_at(buf, w * 11, 11)];
        size_t n = strlen(word);
        if (pos + n + 1 > cap) {
            rc = WZP_ERR_BUFFER_TOO_SMALL;
            break;
        }
        if (w > 0) {
            out[pos++] = ' ';
        }
        memcpy(out + pos, word, n);
        pos += n;
    }
    if (rc == WZP_OK) {
        out[pos] = '\0';
    }
    sodium_memzero(buf, sizeof(buf));
    return rc;
}

static int word_index(const char *w, size_t len) {
    int lo = 0, hi = 2047;
    while (lo <= hi) { /* the list is sorted */
        int mid = (lo + hi) / 2;
        int c = strncmp(wzp__bip39_words[mid], w, len);
        if (c == 0 && wzp__bip39_words[mid][len] != '\0') {
            c = 1;
        }
        if (c == 0) {
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return -1;
}

int wzp_mnemonic_to_seed(const char *mnemonic, uint8_t seed[WZP_SEED_SIZE]) {
    uint8_t buf[WZP_SEED_SIZE + 1] = {0};
    unsigned words = 0;
    const char *p = mnemonic;
    int rc = WZP_OK;
    while (rc == WZP_OK) {
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        char w[16];
        size_t len = 0;
        while (*p != '\0' && !isspace((unsigned char)*p) && len < sizeof(w) - 1) {
            w[len++] = (char)tolower((unsigned char)*p++);
        }
        int idx = (*p != '\0' && !isspace((unsigned char)*p)) ? -1 : word_index(w, len);
        if (idx < 0 || words == WZP_MNEMONIC_WORDS) {
            rc = WZP_ERR_MALFORMED;
            break;
        }
        for (unsigned b = 0; b < 11; b++) {
            unsigned bit = words * 11 + b;
            if ((unsigned)idx & (1u << (10 - b))) {
                buf[bit / 8] = (uint8_t)(buf[bit / 8] | (1u << (7 - bit % 8)));
            }
        }
        words++;
    }
    if (rc == WZP_OK && words != WZP_MNEMONIC_WORDS) {
        rc = WZP_ERR_MALFORMED;
    }
    uint8_t hash[crypto_hash_sha256_BYTES];
    if (rc == WZP_OK) {
        crypto_hash_sha256(hash, buf, WZP_SEED_SIZE);
        rc = hash[0] == buf[WZP_SEED_SIZE] ? WZP_OK : WZP_ERR_MALFORMED;
    }
    if (rc == WZP_OK) {
        memcpy(seed, buf, WZP_SEED_SIZE);
    }
    sodium_memzero(buf, sizeof(buf));
    return rc;
}
