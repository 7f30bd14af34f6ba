/*
 * Fuzz every parser of untrusted crypto input: the E2E media extension (wzp_media_open), the
 * handshake messages (CallOffer, CallAnswer, KeyConfirm, Rekey, SenderKey arriving as JSON at
 * each state), BIP39 mnemonics and fingerprints. The first input byte picks the target.
 */
#include <stdlib.h>
#include <string.h>

#include "wzp/crypto.h"

static wzp_identity g_a, g_b;
static const uint8_t g_binding[32] = {1, 2, 3};
static uint8_t g_key[32] = {9, 8, 7};

static void setup(void) {
    static int done;
    if (!done) {
        uint8_t s1[32] = {1}, s2[32] = {2};
        if (wzp_identity_from_seed(s1, &g_a) != 0 || wzp_identity_from_seed(s2, &g_b) != 0) {
            abort();
        }
        done = 1;
    }
}

static void fuzz_media(const uint8_t *d, size_t n) {
    wzp_media_rx rx;
    wzp_media_rx_init(&rx);
    wzp_media_rx_add_key(&rx, g_key, 0, 0);
    wzp_frame_meta meta = {.codec_id = 0, .timestamp_ms = 1};
    uint8_t out[4096];
    size_t w = 0;
    if (wzp_media_open(&rx, &meta, d, n, 0, out, sizeof(out), &w) == 0) {
        abort(); /* forging a tag is not something a fuzzer should manage */
    }
    /* round trip of the same bytes as plaintext */
    wzp_media_tx tx;
    wzp_media_tx_init(&tx, g_key, 0);
    static uint8_t sealed[4096 + WZP_MEDIA_OVERHEAD];
    size_t sn = 0;
    if (n <= 4096 && wzp_media_seal(&tx, &meta, d, n, sealed, sizeof(sealed), &sn) == 0) {
        if (wzp_media_open(&rx, &meta, sealed, sn, 0, out, sizeof(out), &w) != 0 || w != n ||
            memcmp(out, d, n) != 0) {
            abort();
        }
    }
}

/* Feed a decoded message to a handshake in each state it could arrive in. */
static void fuzz_handshake(const uint8_t *d, size_t n) {
    wzp_signal *m = NULL;
    if (wzp_signal_decode(d, n, &m) != 0) {
        return;
    }
    const wzp_profile *good = wzp_profile_get(WZP_PROFILE_GOOD);
    wzp_handshake *callee = NULL, *caller = NULL;
    wzp_signal *out = NULL, *offer = NULL;
    uint8_t k[32], id;
    wzp_sender_key sk;
    uint32_t sid = 0;
    if (wzp_hs_new(WZP_HS_CALLEE, &g_b, g_binding, &callee) != 0 ||
        wzp_hs_new(WZP_HS_CALLER, &g_a, g_binding, &caller) != 0 ||
        wzp_hs_make_offer(caller, good, 1, NULL, &offer) != 0) {
        abort();
    }
    if (wzp_hs_on_offer(callee, m, good, 1, &out) == 0) {
        abort(); /* only a signature by a key we hold could be valid */
    }
    if (wzp_hs_on_answer(caller, m, &out) == 0 || wzp_hs_on_confirm(callee, m, &out) == 0 ||
        wzp_hs_on_rekey(caller, m, k, &id) == 0 ||
        wzp_sender_key_unwrap(caller, m, &sk, &sid) == 0) {
        abort();
    }
    wzp_signal_free(offer);
    wzp_hs_free(callee);
    wzp_hs_free(caller);
    wzp_signal_free(m);
}

static void fuzz_text(const uint8_t *d, size_t n) {
    char text[512];
    if (n >= sizeof(text)) {
        n = sizeof(text) - 1;
    }
    memcpy(text, d, n);
    text[n] = 0;
    uint8_t seed[32], fp[16];
    if (wzp_mnemonic_to_seed(text, seed) == 0) {
        char back[WZP_MNEMONIC_MAX];
        uint8_t again[32];
        if (wzp_mnemonic_from_seed(seed, back, sizeof(back)) != 0 ||
            wzp_mnemonic_to_seed(back, again) != 0 || memcmp(seed, again, 32) != 0) {
            abort();
        }
    }
    if (wzp_fingerprint_parse(text, fp) == 0) {
        char back[WZP_FINGERPRINT_TEXT];
        uint8_t again[16];
        wzp_fingerprint_format(fp, back);
        if (wzp_fingerprint_parse(back, again) != 0 || memcmp(fp, again, 16) != 0) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    if (size < 1) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        fuzz_media(data + 1, size - 1);
        break;
    case 1:
        fuzz_handshake(data + 1, size - 1);
        break;
    default:
        fuzz_text(data + 1, size - 1);
        break;
    }
    return 0;
}
