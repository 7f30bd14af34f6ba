/*
 * Prints what our C crypto computes, as JSON, for tests/crypto/crosscheck.py to recompute
 * independently with python3-nacl, python3-mnemonic and python3-cryptography: identities, room
 * SNIs, a full handshake with fixed ephemeral keys, protected media packets and sender keys.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/handshake_internal.h"
#include "wzp/crypto.h"

static void hex(const char *name, const uint8_t *p, size_t n, const char *sep) {
    printf("\"%s\":\"", name);
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
    printf("\"%s", sep);
}

static void fill(uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed * 131u + i * 17u + 3u);
    }
}

static int print_signal(const char *name, const wzp_signal *m) {
    static uint8_t buf[8192];
    size_t n = 0;
    if (wzp_signal_encode(m, buf, sizeof(buf), &n) != WZP_OK) {
        return 1;
    }
    printf("\"%s\":%.*s,", name, (int)n, (const char *)buf);
    return 0;
}

static int identities(void) {
    printf("\"identities\":[");
    /* the BIP39 reference entropies (00.., 7f.., 80.., ff..) and a few arbitrary seeds */
    static const int official[4] = {0x00, 0x7f, 0x80, 0xff};
    for (int i = 0; i < 8; i++) {
        uint8_t seed[32];
        fill(seed, 32, (uint8_t)(i * 37));
        if (i < 4) {
            memset(seed, official[i], 32);
        }
        wzp_identity id;
        char words[WZP_MNEMONIC_MAX], fp[WZP_FINGERPRINT_TEXT];
        if (wzp_identity_from_seed(seed, &id) != WZP_OK ||
            wzp_mnemonic_from_seed(seed, words, sizeof(words)) != WZP_OK) {
            return 1;
        }
        wzp_fingerprint_format(id.fingerprint, fp);
        printf("%s{", i ? "," : "");
        hex("seed", seed, 32, ",");
        hex("sign_pk", id.sign_pk, 32, ",");
        hex("dh_sk", id.dh_sk, 32, ",");
        hex("dh_pk", id.dh_pk, 32, ",");
        printf("\"mnemonic\":\"%s\",\"fingerprint\":\"%s\"}", words, fp);
        wzp_identity_wipe(&id);
    }
    printf("],\"sni\":{");
    const char *rooms[] = {"default", "my-group", "", "h\xc3\xa9llo w\xc3\xb6rld", "podcast"};
    for (int i = 0; i < 5; i++) {
        char sni[WZP_ROOM_SNI_TEXT];
        wzp_room_sni(rooms[i], strlen(rooms[i]), sni);
        printf("%s\"%s\":\"%s\"", i ? "," : "", rooms[i], sni);
    }
    printf("},");
    return 0;
}

static int media(const wzp_session_keys *k) {
    wzp_media_tx tx;
    wzp_media_tx_init(&tx, k->tx, k->key_id);
    printf("\"media\":[");
    for (int i = 0; i < 3; i++) {
        uint8_t pt[100], out[200];
        fill(pt, sizeof(pt), (uint8_t)(90 + i));
        wzp_frame_meta meta = {.codec_id = (uint8_t)i, .timestamp_ms = 20u * (unsigned)i + 7};
        size_t n = 0;
        if (wzp_media_seal(&tx, &meta, pt, sizeof(pt), out, sizeof(out), &n) != WZP_OK) {
            return 1;
        }
        printf("%s{\"codec\":%u,\"timestamp\":%u,", i ? "," : "", meta.codec_id, meta.timestamp_ms);
        hex("plaintext", pt, sizeof(pt), ",");
        hex("packet", out, n, "}");
    }
    printf("],");
    wzp_media_tx_wipe(&tx);
    return 0;
}

static int handshake(void) {
    uint8_t seed_a[32], seed_b[32], binding[32], eph_a[32], eph_b[32];
    fill(seed_a, 32, 1);
    fill(seed_b, 32, 2);
    fill(binding, 32, 3);
    fill(eph_a, 32, 4);
    fill(eph_b, 32, 5);
    wzp_identity a, b;
    wzp_handshake *ha = NULL, *hb = NULL;
    wzp_signal *offer = NULL, *answer = NULL, *ca = NULL, *cb = NULL;
    const wzp_profile profiles[2] = {*wzp_profile_get(WZP_PROFILE_GOOD),
                                     *wzp_profile_get(WZP_PROFILE_DEGRADED)};
    if (wzp_identity_from_seed(seed_a, &a) || wzp_identity_from_seed(seed_b, &b) ||
        wzp_hs_new(WZP_HS_CALLER, &a, binding, &ha) ||
        wzp_hs_new(WZP_HS_CALLEE, &b, binding, &hb)) {
        return 1;
    }
    wzp__hs_set_ephemeral(ha, eph_a);
    wzp__hs_set_ephemeral(hb, eph_b);
    if (wzp_hs_make_offer(ha, profiles, 2, "alice", &offer) ||
        wzp_hs_on_offer(hb, offer, profiles + 1, 1, &answer) || wzp_hs_on_answer(ha, answer, &ca) ||
        wzp_hs_on_confirm(hb, ca, &cb) || wzp_hs_on_confirm(ha, cb, &(wzp_signal *){NULL})) {
        return 1;
    }
    wzp_session_keys ka;
    unsigned sas = 0;
    uint8_t th[32];
    if (wzp_hs_session_keys(ha, &ka) || wzp_hs_sas(ha, &sas)) {
        return 1;
    }
    wzp__hs_transcript(ha, th);
    printf("\"handshake\":{");
    hex("caller_seed", seed_a, 32, ",");
    hex("callee_seed", seed_b, 32, ",");
    hex("binding", binding, 32, ",");
    hex("caller_eph_sk", eph_a, 32, ",");
    hex("callee_eph_sk", eph_b, 32, ",");
    if (print_signal("offer", offer) || print_signal("answer", answer) ||
        print_signal("caller_confirm", ca) || print_signal("callee_confirm", cb)) {
        return 1;
    }
    hex("transcript", th, 32, ",");
    hex("caller_tx", ka.tx, 32, ",");
    hex("caller_rx", ka.rx, 32, ",");
    printf("\"sas\":%u},", sas);
    int rc = media(&ka);
    wzp_signal_free(offer);
    wzp_signal_free(answer);
    wzp_signal_free(ca);
    wzp_signal_free(cb);
    wzp_hs_free(ha);
    wzp_hs_free(hb);
    return rc;
}

static int sender_key(void) {
    wzp_sender_key sk = {.epoch = 3, .step = 0};
    fill(sk.chain, 32, 9);
    uint8_t key[32], key_id;
    printf("\"sender_key\":{\"epoch\":3,");
    hex("chain", sk.chain, 32, ",");
    wzp_sender_key_media(&sk, key, &key_id);
    hex("media_key", key, 32, ",");
    printf("\"key_id\":%u,", key_id);
    wzp_sender_key_ratchet(&sk);
    hex("ratcheted_chain", sk.chain, 32, ",");
    wzp_sender_key_media(&sk, key, &key_id);
    hex("ratcheted_media_key", key, 32, ",");
    printf("\"ratcheted_key_id\":%u}", key_id);
    return 0;
}

int main(void) {
    printf("{");
    int rc = identities() || handshake() || sender_key();
    printf("}\n");
    return rc;
}
