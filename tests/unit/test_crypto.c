/* Identity, handshake and media protection: reference vectors, and every attack refused with no
 * change of state. */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/handshake_internal.h"
#include "crypto/kdf.h"
#include "testutil.h"
#include "wzp/crypto.h"
#include "wzp/invite.h"

static void from_hex(const char *h, uint8_t *out, size_t n) {
    size_t got = 0;
    assert_int_equal(sodium_hex2bin(out, n, h, strlen(h), NULL, &got, NULL), 0);
    assert_int_equal(got, n);
}

static void test_identity_matches_reference_vectors(void **state) {
    (void)state;
    FILE *f = fopen(WZP_TEST_DATA_DIR "/identity.json", "rb");
    assert_non_null(f);
    static char text[16384];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = 0;
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    cJSON *ids = cJSON_GetObjectItem(root, "identities"), *it;
    int count = 0;
    cJSON_ArrayForEach(it, ids) {
        uint8_t seed[32], want[64];
        from_hex(cJSON_GetObjectItem(it, "seed_hex")->valuestring, seed, 32);
        wzp_identity id;
        assert_int_equal(wzp_identity_from_seed(seed, &id), 0);
        from_hex(cJSON_GetObjectItem(it, "ed25519_pub_hex")->valuestring, want, 32);
        assert_memory_equal(id.sign_pk, want, 32);
        from_hex(cJSON_GetObjectItem(it, "x25519_secret_hex")->valuestring, want, 32);
        assert_memory_equal(id.dh_sk, want, 32);
        from_hex(cJSON_GetObjectItem(it, "x25519_pub_hex")->valuestring, want, 32);
        assert_memory_equal(id.dh_pk, want, 32);
        char fp[WZP_FINGERPRINT_TEXT], words[WZP_MNEMONIC_MAX];
        wzp_fingerprint_format(id.fingerprint, fp);
        assert_string_equal(fp, cJSON_GetObjectItem(it, "fingerprint")->valuestring);
        assert_int_equal(wzp_mnemonic_from_seed(seed, words, sizeof(words)), 0);
        assert_string_equal(words, cJSON_GetObjectItem(it, "mnemonic")->valuestring);
        /* the original signed (ephemeral || "call-offer"): proves the Ed25519 key derivation */
        uint8_t msg[42] = {0}, sig[64];
        memcpy(msg + 32, "call-offer", 10);
        crypto_sign_detached(sig, NULL, msg, sizeof(msg), id.sign_sk);
        from_hex(
            cJSON_GetObjectItem(it, "signature_of_call_offer_over_zero_ephemeral_hex")->valuestring,
            want, 64);
        assert_memory_equal(sig, want, 64);
        wzp_identity_wipe(&id);
        count++;
    }
    assert_true(count >= 3);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "room_sni")) {
        char sni[WZP_ROOM_SNI_TEXT];
        wzp_room_sni(it->string, strlen(it->string), sni);
        assert_string_equal(sni, it->valuestring);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "federation_room_hash8")) {
        uint8_t h[8], want[8];
        wzp_room_hash8(it->string, strlen(it->string), h);
        from_hex(it->valuestring, want, 8);
        assert_memory_equal(h, want, 8);
    }
    cJSON_Delete(root);
}

static void test_mnemonic_official_vectors_and_refusals(void **state) {
    (void)state;
    /* BIP39 reference vectors for 256-bit entropy */
    static const struct {
        uint8_t byte;
        const char *words;
    } v[] = {
        {0x7f, "legal winner thank year wave sausage worth useful legal winner thank year wave "
               "sausage worth useful legal winner thank year wave sausage worth title"},
        {0x80, "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd "
               "amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic "
               "bless"},
        {0xff, "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
               "zoo zoo zoo vote"},
    };
    for (size_t i = 0; i < 3; i++) {
        uint8_t seed[32], back[32];
        memset(seed, v[i].byte, 32);
        char words[WZP_MNEMONIC_MAX];
        assert_int_equal(wzp_mnemonic_from_seed(seed, words, sizeof(words)), 0);
        assert_string_equal(words, v[i].words);
        assert_int_equal(wzp_mnemonic_to_seed(v[i].words, back), 0);
        assert_memory_equal(back, seed, 32);
    }
    uint8_t seed[32];
    assert_int_equal(wzp_mnemonic_to_seed("  ZOO zoo\tzoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
                                          "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo Vote\n",
                                          seed),
                     0);
    const char *bad[] = {
        "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
        "zoo zoo", /* checksum */
        "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
        "vote", /* 23 words */
        "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
        "zoo vote zoo", /* 25 words */
        "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
        "zoo votee", /* unknown word */
        "",
        "abandonabandonabandonabandon",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(seed, 0x55, 32);
        assert_int_equal(wzp_mnemonic_to_seed(bad[i], seed), WZP_ERR_MALFORMED);
        assert_int_equal(seed[0], 0x55);
    }
    char small[20];
    memset(seed, 0, 32);
    assert_int_equal(wzp_mnemonic_from_seed(seed, small, sizeof(small)), WZP_ERR_BUFFER_TOO_SMALL);
}

static void test_fingerprint_text_round_trip(void **state) {
    (void)state;
    uint8_t fp[16], back[16];
    for (int i = 0; i < 16; i++) {
        fp[i] = (uint8_t)(i * 29 + 5);
    }
    char text[WZP_FINGERPRINT_TEXT];
    wzp_fingerprint_format(fp, text);
    assert_int_equal(strlen(text), 39);
    assert_int_equal(wzp_fingerprint_parse(text, back), 0);
    assert_memory_equal(fp, back, 16);
    assert_int_equal(wzp_fingerprint_parse("27BA:36EB:371E:EA99:E7D0:EE57:3165:E50E", back), 0);
    assert_int_equal(wzp_fingerprint_parse("27ba:36eb:371e:ea99:e7d0:ee57:3165:e50", back),
                     WZP_ERR_MALFORMED);
    assert_int_equal(wzp_fingerprint_parse("27ba-36eb:371e:ea99:e7d0:ee57:3165:e50e", back),
                     WZP_ERR_MALFORMED);
    assert_int_equal(wzp_fingerprint_parse("27ba:36eb:371e:ea99:e7d0:ee57:3165:e5xe", back),
                     WZP_ERR_MALFORMED);
}

static void test_identity_file_is_private_and_checked(void **state) {
    (void)state;
    char dir[] = "/tmp/wzp-id-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/sub/identity", dir);
    wzp_identity id, back;
    assert_int_equal(wzp_identity_generate(&id), 0);
    assert_int_equal(wzp_identity_save(path, &id), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(wzp_identity_load(path, &back), 0);
    assert_memory_equal(back.sign_pk, id.sign_pk, 32);
    assert_int_equal(wzp_identity_save(path, &id), WZP_ERR_INVALID_ARG); /* never overwrite */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(wzp_identity_load(path, &back), WZP_ERR_PERMISSION);
    assert_int_equal(chmod(path, 0600), 0);
    /* a mnemonic in the file works too */
    char words[WZP_MNEMONIC_MAX];
    assert_int_equal(wzp_mnemonic_from_seed(id.seed, words, sizeof(words)), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", words);
    fclose(f);
    assert_int_equal(wzp_identity_load(path, &back), 0);
    assert_memory_equal(back.seed, id.seed, 32);
    unlink(path);
    snprintf(path, sizeof(path), "%s/sub", dir);
    rmdir(path);
    rmdir(dir);
}

/* ---- handshake ---------------------------------------------------------------------------- */

typedef struct call {
    wzp_identity a, b;
    wzp_handshake *ha, *hb;
    uint8_t binding[32];
} call;

static const wzp_profile *profiles(void) {
    static wzp_profile p[3];
    p[0] = *wzp_profile_get(WZP_PROFILE_GOOD);
    p[1] = *wzp_profile_get(WZP_PROFILE_DEGRADED);
    p[2] = *wzp_profile_get(WZP_PROFILE_CATASTROPHIC);
    return p;
}

static void call_start(call *c) {
    assert_int_equal(wzp_identity_generate(&c->a), 0);
    assert_int_equal(wzp_identity_generate(&c->b), 0);
    randombytes_buf(c->binding, 32);
    assert_int_equal(wzp_hs_new(WZP_HS_CALLER, &c->a, c->binding, &c->ha), 0);
    assert_int_equal(wzp_hs_new(WZP_HS_CALLEE, &c->b, c->binding, &c->hb), 0);
}

static void call_end(call *c) {
    wzp_hs_free(c->ha);
    wzp_hs_free(c->hb);
}

/* Run the whole handshake; both ends ESTABLISHED. */
static void call_establish(call *c) {
    wzp_signal *offer = NULL, *answer = NULL, *ca = NULL, *cb = NULL, *none = NULL;
    assert_int_equal(wzp_hs_make_offer(c->ha, profiles(), 3, "alice", &offer), 0);
    assert_int_equal(wzp_hs_on_offer(c->hb, offer, profiles() + 1, 2, &answer), 0);
    wzp_session_keys k;
    assert_int_equal(wzp_hs_session_keys(c->hb, &k), WZP_ERR_STATE); /* not confirmed yet */
    assert_int_equal(wzp_hs_on_answer(c->ha, answer, &ca), 0);
    assert_int_equal(wzp_hs_session_keys(c->ha, &k), WZP_ERR_STATE);
    assert_int_equal(wzp_hs_on_confirm(c->hb, ca, &cb), 0);
    assert_non_null(cb);
    assert_int_equal(wzp_hs_on_confirm(c->ha, cb, &none), 0);
    assert_null(none);
    wzp_signal_free(offer);
    wzp_signal_free(answer);
    wzp_signal_free(ca);
    wzp_signal_free(cb);
}

static void test_handshake_agrees_on_keys_sas_and_profile(void **state) {
    (void)state;
    call c;
    call_start(&c);
    call_establish(&c);
    wzp_session_keys ka, kb;
    unsigned sa = 0, sb = 0;
    assert_int_equal(wzp_hs_session_keys(c.ha, &ka), 0);
    assert_int_equal(wzp_hs_session_keys(c.hb, &kb), 0);
    assert_memory_equal(ka.tx, kb.rx, 32);
    assert_memory_equal(ka.rx, kb.tx, 32);
    assert_memory_not_equal(ka.tx, ka.rx, 32); /* one key per direction */
    assert_int_equal(wzp_hs_sas(c.ha, &sa), 0);
    assert_int_equal(wzp_hs_sas(c.hb, &sb), 0);
    assert_int_equal(sa, sb);
    assert_true(sa < 10000);
    assert_true(wzp_profile_equal(wzp_hs_profile(c.ha), wzp_profile_get(WZP_PROFILE_DEGRADED)));
    uint8_t peer[32];
    assert_int_equal(wzp_hs_peer(c.ha, peer), 0);
    assert_memory_equal(peer, c.b.sign_pk, 32);
    call_end(&c);
}

static void expect_offer_refused(wzp_signal *offer, const uint8_t binding[32], int err) {
    wzp_identity b;
    assert_int_equal(wzp_identity_generate(&b), 0);
    wzp_handshake *hb = NULL;
    wzp_signal *answer = NULL;
    assert_int_equal(wzp_hs_new(WZP_HS_CALLEE, &b, binding, &hb), 0);
    assert_int_equal(wzp_hs_on_offer(hb, offer, profiles(), 3, &answer), err);
    assert_null(answer);
    assert_int_equal(wzp_hs_get_state(hb), WZP_HS_FAILED);
    wzp_session_keys k;
    assert_int_equal(wzp_hs_session_keys(hb, &k), WZP_ERR_STATE);
    wzp_hs_free(hb);
}

/* Secret rooms: two members holding the room's proof key agree (and differ from an open-room
 * call's keys); a caller without it, or with another room's, is refused at the offer, and a
 * callee without it at the answer -- before either side sends anything back. A proof stripped
 * by whoever carries the message breaks the signature. */
static void test_secret_room_needs_its_proof(void **state) {
    (void)state;
    uint8_t secret[WZP_ROOM_SECRET_SIZE], other[WZP_ROOM_SECRET_SIZE], key[32], key2[32];
    char id[WZP_ROOM_ID_TEXT], id2[WZP_ROOM_ID_TEXT];
    randombytes_buf(secret, sizeof(secret));
    randombytes_buf(other, sizeof(other));
    assert_int_equal(wzp_room_secret_derive(secret, id, key), 0);
    assert_int_equal(wzp_room_secret_derive(other, id2, key2), 0);
    assert_int_equal(strlen(id), 32);
    assert_string_not_equal(id, id2);
    assert_memory_not_equal(key, key2, 32);
    assert_memory_not_equal(key, secret, 32);

    call c; /* both members; the caller's ephemeral known, to recompute its first media key */
    call_start(&c);
    uint8_t esk[32], dh_psk[64], th[32], prk[32], c2s[32];
    randombytes_buf(esk, sizeof(esk));
    wzp__hs_set_ephemeral(c.ha, esk);
    wzp_hs_set_room_key(c.ha, key);
    wzp_hs_set_room_key(c.hb, key);
    call_establish(&c);
    wzp_session_keys ka, kb;
    assert_int_equal(wzp_hs_session_keys(c.ha, &ka), 0);
    assert_int_equal(wzp_hs_session_keys(c.hb, &kb), 0);
    assert_memory_equal(ka.tx, kb.rx, 32);
    /* PRK = HKDF-Extract(th, X25519 secret || proof key) */
    wzp__hs_transcript(c.ha, th);
    uint8_t peer_eph[32];
    wzp__hs_peer_ephemeral(c.ha, peer_eph);
    assert_int_equal(crypto_scalarmult(dh_psk, esk, peer_eph), 0);
    memcpy(dh_psk + 32, key, 32);
    assert_int_equal(wzp__hkdf_extract(th, 32, dh_psk, 64, prk), 0);
    assert_int_equal(wzp__hkdf_expand(prk, "wzp/v1 caller->callee media", c2s, 32), 0);
    assert_memory_equal(c2s, ka.tx, 32);
    assert_int_equal(wzp__hkdf_extract(th, 32, dh_psk, 32, prk), 0); /* without it: another */
    assert_int_equal(wzp__hkdf_expand(prk, "wzp/v1 caller->callee media", c2s, 32), 0);
    assert_memory_not_equal(c2s, ka.tx, 32);
    call_end(&c);

    int cases[][2] = {{0, 1}, {2, 1}, {1, 0}, {1, 2}}; /* caller's key, callee's: 0 none, 2 other */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        call_start(&c);
        if (cases[i][0] != 0) {
            wzp_hs_set_room_key(c.ha, cases[i][0] == 1 ? key : key2);
        }
        if (cases[i][1] != 0) {
            wzp_hs_set_room_key(c.hb, cases[i][1] == 1 ? key : key2);
        }
        wzp_signal *offer = NULL, *answer = NULL, *confirm = NULL;
        assert_int_equal(wzp_hs_make_offer(c.ha, profiles(), 3, NULL, &offer), 0);
        int rc = wzp_hs_on_offer(c.hb, offer, profiles(), 3, &answer);
        if (cases[i][1] != 0) { /* called by an outsider (to it): refused at the offer */
            assert_int_equal(rc, WZP_ERR_NOT_MEMBER);
            assert_null(answer);
        } else { /* an outsider answers a member: refused at the answer */
            assert_int_equal(rc, 0);
            assert_int_equal(wzp_hs_on_answer(c.ha, answer, &confirm), WZP_ERR_NOT_MEMBER);
            assert_null(confirm);
        }
        wzp_signal_free(offer);
        wzp_signal_free(answer);
        call_end(&c);
    }

    call_start(&c); /* the proof cut out of a member's offer: its signature no longer holds */
    wzp_hs_set_room_key(c.ha, key);
    wzp_signal *offer = NULL, *answer = NULL;
    assert_int_equal(wzp_hs_make_offer(c.ha, profiles(), 3, NULL, &offer), 0);
    assert_true(offer->u.call_offer.room_proof.present);
    offer->u.call_offer.room_proof.present = false;
    offer->u.call_offer.room_proof.len = 0;
    assert_int_equal(wzp_hs_on_offer(c.hb, offer, profiles(), 3, &answer), WZP_ERR_AUTH);
    wzp_signal_free(offer);
    call_end(&c);
}

/* An invite goes out and comes back whole; a changed character, a bad field or trailing bytes
 * are refused and fill in nothing. */
static void test_invite_round_trip_and_refusals(void **state) {
    (void)state;
    uint8_t fp[WZP_TLS_FINGERPRINT_SIZE];
    randombytes_buf(fp, sizeof(fp));
    wzp_invite inv, back;
    assert_int_equal(wzp_invite_new("relay.example.org:4433", fp, &inv), 0);
    char text[WZP_INVITE_TEXT];
    assert_int_equal(wzp_invite_format(&inv, text, sizeof(text)), 0);
    print_message("invite: %s (%zu characters)\n", text, strlen(text));
    assert_int_equal(wzp_invite_parse(text, strlen(text), &back), 0);
    assert_string_equal(back.relay, "relay.example.org:4433");
    assert_string_equal(back.room_id, inv.room_id);
    assert_memory_equal(back.relay_fp, fp, sizeof(fp));
    assert_memory_equal(back.secret, inv.secret, sizeof(inv.secret));
    char padded[WZP_INVITE_TEXT + 4];
    snprintf(padded, sizeof(padded), "  %s\n", text);
    assert_int_equal(wzp_invite_parse(padded, strlen(padded), &back), 0);
    char small[40];
    assert_int_equal(wzp_invite_format(&inv, small, sizeof(small)), WZP_ERR_BUFFER_TOO_SMALL);

    size_t n = strlen(text);
    char bad[WZP_INVITE_TEXT + 8];
    memcpy(bad, text, n + 1); /* the room id's first digit changed: damaged */
    char *room = strchr(bad + 6, '/') + 1;
    *room = *room == '0' ? '1' : '0';
    memset(&back, 0x55, sizeof(back));
    assert_int_equal(wzp_invite_parse(bad, n, &back), WZP_ERR_AUTH);
    assert_int_equal(back.relay[0], 0x55); /* nothing filled in */
    memcpy(bad, text, n + 1);              /* the secret's last character changed: damaged */
    bad[n - 1] = bad[n - 1] == 'A' ? 'B' : 'A';
    int rc = wzp_invite_parse(bad, n, &back);
    assert_true(rc == WZP_ERR_AUTH || rc == WZP_ERR_MALFORMED);
    const char *malformed[] = {"", "wzp://", "http://x:1/00?fp=00#00", "wzp://a b:1/x?fp=y#z"};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        assert_int_equal(wzp_invite_parse(malformed[i], strlen(malformed[i]), &back),
                         WZP_ERR_MALFORMED);
    }
    memcpy(bad, text, n);
    memcpy(bad + n, "AA", 3); /* trailing characters */
    assert_int_equal(wzp_invite_parse(bad, n + 2, &back), WZP_ERR_MALFORMED);
    assert_int_equal(wzp_invite_parse(text, n - 1, &back), WZP_ERR_MALFORMED); /* cut short */
    assert_int_equal(wzp_invite_new("a/b:1", fp, &back), WZP_ERR_INVALID_ARG);
    wzp_invite_wipe(&inv);
}

static void test_attack_offer_replayed_on_another_connection(void **state) {
    (void)state;
    call c;
    call_start(&c);
    wzp_signal *offer = NULL;
    assert_int_equal(wzp_hs_make_offer(c.ha, profiles(), 3, NULL, &offer), 0);
    uint8_t other[32];
    memcpy(other, c.binding, 32);
    other[31] ^= 1; /* the exporter of a different QUIC connection */
    expect_offer_refused(offer, other, WZP_ERR_AUTH);
    /* on its own connection the same offer is accepted */
    wzp_signal *answer = NULL;
    assert_int_equal(wzp_hs_on_offer(c.hb, offer, profiles(), 3, &answer), 0);
    wzp_signal_free(answer);
    wzp_signal_free(offer);
    call_end(&c);
}

static void test_attack_forged_truncated_or_swapped_offer(void **state) {
    (void)state;
    call c;
    call_start(&c);
    wzp_signal *offer = NULL;
    assert_int_equal(wzp_hs_make_offer(c.ha, profiles(), 3, NULL, &offer), 0);
    wzp_signal *o = offer;
    o->u.call_offer.signature.data[10] ^= 0x40; /* forged */
    expect_offer_refused(o, c.binding, WZP_ERR_AUTH);
    o->u.call_offer.signature.data[10] ^= 0x40;
    o->u.call_offer.signature.len = 63; /* truncated */
    expect_offer_refused(o, c.binding, WZP_ERR_AUTH);
    o->u.call_offer.signature.len = 64;
    o->u.call_offer.ephemeral_pub[0] ^= 1; /* a MITM swaps the ephemeral key */
    expect_offer_refused(o, c.binding, WZP_ERR_AUTH);
    o->u.call_offer.ephemeral_pub[0] ^= 1;
    o->u.call_offer.supported_profiles.count = 1; /* downgrade the profile list */
    expect_offer_refused(o, c.binding, WZP_ERR_AUTH);
    o->u.call_offer.supported_profiles.count = 3;
    wzp_identity mallory;
    assert_int_equal(wzp_identity_generate(&mallory), 0);
    memcpy(o->u.call_offer.identity_pub, mallory.sign_pk, 32); /* claim another identity */
    expect_offer_refused(o, c.binding, WZP_ERR_AUTH);
    wzp_signal_free(offer);
    call_end(&c);
}

static void test_attack_swapped_answer_and_bad_confirmation(void **state) {
    (void)state;
    call c;
    call_start(&c);
    wzp_signal *offer = NULL, *answer = NULL, *confirm = NULL;
    assert_int_equal(wzp_hs_make_offer(c.ha, profiles(), 3, NULL, &offer), 0);
    assert_int_equal(wzp_hs_on_offer(c.hb, offer, profiles(), 3, &answer), 0);
    /* Mallory replaces the callee's ephemeral key in the answer */
    answer->u.call_answer.ephemeral_pub[5] ^= 0x10;
    assert_int_equal(wzp_hs_on_answer(c.ha, answer, &confirm), WZP_ERR_AUTH);
    assert_int_equal(wzp_hs_get_state(c.ha), WZP_HS_FAILED);
    /* the callee never gets a valid confirmation: a made-up one is refused */
    wzp_signal *fake = wzp_signal_new(WZP_SIG_KEY_CONFIRM), *reply = NULL;
    fake->u.key_confirm.mac.len = 32;
    assert_int_equal(wzp_hs_on_confirm(c.hb, fake, &reply), WZP_ERR_AUTH);
    assert_int_equal(wzp_hs_get_state(c.hb), WZP_HS_FAILED);
    assert_null(reply);
    wzp_signal_free(fake);
    wzp_signal_free(offer);
    wzp_signal_free(answer);
    call_end(&c);
}

/* The safety code's hash commitment (ZRTP style). The offer carries only a commitment to the
 * caller's ephemeral key; the callee must sign its own before it learns the caller's, so it has
 * no code to aim at: no keys and no SAS exist on its side until the caller's confirmation
 * reveals the committed key. A confirmation revealing any other key (a man in the middle who
 * picked its key after seeing the answer), or none, is refused. */
static void test_the_offer_commits_to_the_callers_ephemeral(void **state) {
    (void)state;
    call c;
    call_start(&c);
    uint8_t esk[32], epk[32], want[32];
    randombytes_buf(esk, sizeof(esk));
    wzp__hs_set_ephemeral(c.ha, esk);
    crypto_scalarmult_base(epk, esk);
    static const char label[] = "wzp/v1 ephemeral-commit";
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)label, sizeof(label));
    crypto_hash_sha256_update(&st, epk, 32);
    crypto_hash_sha256_final(&st, want);
    wzp_signal *offer = NULL, *answer = NULL, *confirm = NULL, *reply = NULL;
    assert_int_equal(wzp_hs_make_offer(c.ha, profiles(), 3, NULL, &offer), 0);
    assert_memory_not_equal(offer->u.call_offer.ephemeral_pub, epk, 32);
    assert_memory_equal(offer->u.call_offer.ephemeral_pub, want, 32);
    assert_int_equal(wzp_hs_on_offer(c.hb, offer, profiles(), 3, &answer), 0);
    unsigned sas = 0;
    wzp_session_keys k;
    assert_int_equal(wzp_hs_sas(c.hb, &sas), WZP_ERR_STATE); /* nothing to aim at yet */
    assert_int_equal(wzp_hs_session_keys(c.hb, &k), WZP_ERR_STATE);
    assert_int_equal(wzp_hs_on_answer(c.ha, answer, &confirm), 0);
    assert_true(confirm->u.key_confirm.ephemeral_pub.present);
    assert_memory_equal(confirm->u.key_confirm.ephemeral_pub.key, epk, 32);

    wzp_signal *forged = wzp_signal_new(WZP_SIG_KEY_CONFIRM); /* another key revealed */
    *forged = *confirm;
    forged->u.key_confirm.ephemeral_pub.key[0] ^= 1;
    wzp_handshake *hb2 = NULL; /* a second callee for the same offer, to try each forgery */
    wzp_signal *answer2 = NULL;
    assert_int_equal(wzp_hs_new(WZP_HS_CALLEE, &c.b, c.binding, &hb2), 0);
    assert_int_equal(wzp_hs_on_offer(hb2, offer, profiles(), 3, &answer2), 0);
    assert_int_equal(wzp_hs_on_confirm(hb2, forged, &reply), WZP_ERR_AUTH);
    assert_null(reply);
    wzp_hs_free(hb2);
    wzp_signal_free(answer2);
    forged->u.key_confirm.ephemeral_pub.present = false; /* no key revealed */
    assert_int_equal(wzp_hs_new(WZP_HS_CALLEE, &c.b, c.binding, &hb2), 0);
    assert_int_equal(wzp_hs_on_offer(hb2, offer, profiles(), 3, &answer2), 0);
    assert_int_equal(wzp_hs_on_confirm(hb2, forged, &reply), WZP_ERR_AUTH);
    wzp_hs_free(hb2);
    wzp_signal_free(answer2);
    wzp_signal_free(forged); /* (a KeyConfirm owns no strings: the copy frees alone) */

    assert_int_equal(wzp_hs_on_confirm(c.hb, confirm, &reply), 0); /* the real one */
    unsigned sa = 0;
    assert_int_equal(wzp_hs_sas(c.hb, &sas), 0);
    wzp_signal *none = NULL;
    assert_int_equal(wzp_hs_on_confirm(c.ha, reply, &none), 0);
    assert_int_equal(wzp_hs_sas(c.ha, &sa), 0);
    assert_int_equal(sa, sas);
    wzp_signal_free(offer);
    wzp_signal_free(answer);
    wzp_signal_free(confirm);
    wzp_signal_free(reply);
    call_end(&c);
}

/* ---- media ------------------------------------------------------------------------------- */

static void seal(wzp_media_tx *tx, uint32_t ts, uint8_t *out, size_t *n) {
    uint8_t pt[100];
    memset(pt, (int)ts, sizeof(pt));
    wzp_frame_meta m = {.codec_id = WZP_CODEC_OPUS_24K, .timestamp_ms = ts};
    assert_int_equal(wzp_media_seal(tx, &m, pt, sizeof(pt), out, 200, n), 0);
}

static int open_pkt(wzp_media_rx *rx, uint32_t ts, const uint8_t *in, size_t n, uint64_t now) {
    uint8_t out[200];
    size_t w = 0;
    wzp_frame_meta m = {.codec_id = WZP_CODEC_OPUS_24K, .timestamp_ms = ts};
    return wzp_media_open(rx, &m, in, n, now, out, sizeof(out), &w);
}

static void test_attack_replay_bitflip_and_reordering(void **state) {
    (void)state;
    uint8_t key[32];
    randombytes_buf(key, 32);
    wzp_media_tx tx;
    wzp_media_rx rx, before;
    wzp_media_tx_init(&tx, key, 0);
    wzp_media_rx_init(&rx);
    wzp_media_rx_add_key(&rx, key, 0, 0);
    static uint8_t pkt[3000][200];
    size_t len[3000];
    for (uint32_t i = 0; i < 3000; i++) {
        seal(&tx, i * 20, pkt[i], &len[i]);
    }
    assert_int_equal(open_pkt(&rx, 0, pkt[0], len[0], 0), 0);
    assert_int_equal(open_pkt(&rx, 40, pkt[2], len[2], 0), 0);
    assert_int_equal(open_pkt(&rx, 20, pkt[1], len[1], 0), 0); /* reordered but fresh */
    before = rx;
    assert_int_equal(open_pkt(&rx, 20, pkt[1], len[1], 0), WZP_ERR_REPLAY); /* replayed */
    before.replays++;
    assert_memory_equal(&rx, &before, sizeof(rx));
    /* flip a bit of the ciphertext, of the key id / counter, or of the authenticated metadata */
    uint8_t bad[200];
    memcpy(bad, pkt[3], len[3]);
    bad[30] ^= 1;
    before = rx;
    assert_int_equal(open_pkt(&rx, 60, bad, len[3], 0), WZP_ERR_AUTH);
    before.auth_failures++;
    assert_memory_equal(&rx, &before, sizeof(rx));
    before.auth_failures--;
    memcpy(bad, pkt[3], len[3]);
    bad[4] ^= 1; /* counter 3 -> 2: already seen, refused before any decryption */
    assert_int_equal(open_pkt(&rx, 60, bad, len[3], 0), WZP_ERR_REPLAY);
    bad[3] ^= 0x07; /* counter 3 -> 1794: fresh, but it does not authenticate */
    assert_int_equal(open_pkt(&rx, 60, bad, len[3], 0), WZP_ERR_AUTH);
    bad[3] ^= 0x07;
    bad[4] ^= 1;
    bad[0] ^= 1; /* another key id */
    assert_int_equal(open_pkt(&rx, 60, bad, len[3], 0), WZP_ERR_UNKNOWN_KEY);
    before.auth_failures += 2; /* the failures changed nothing but the counters */
    before.replays++;
    before.unknown_keys++;
    assert_memory_equal(&rx, &before, sizeof(rx));
    assert_int_equal(open_pkt(&rx, 60, pkt[3], len[3], 0), 0);
    assert_int_equal(open_pkt(&rx, 61, pkt[4], len[4], 0), WZP_ERR_AUTH); /* timestamp changed */
    wzp_frame_meta m = {.codec_id = WZP_CODEC_OPUS_6K, .timestamp_ms = 80};
    uint8_t out[200];
    size_t w;
    assert_int_equal(wzp_media_open(&rx, &m, pkt[4], len[4], 0, out, sizeof(out), &w),
                     WZP_ERR_AUTH); /* codec changed */
    assert_int_equal(open_pkt(&rx, 80, pkt[4], len[4], 0), 0);
    assert_int_equal(open_pkt(&rx, 80, pkt[4], 20, 0), WZP_ERR_TRUNCATED);
    /* window: 1984+ packets back still fine once, older ones refused */
    assert_int_equal(open_pkt(&rx, 2999 * 20, pkt[2999], len[2999], 0), 0);
    assert_int_equal(open_pkt(&rx, 1000 * 20, pkt[1000], len[1000], 0), 0);
    assert_int_equal(open_pkt(&rx, 900 * 20, pkt[900], len[900], 0), WZP_ERR_REPLAY);
    assert_true(rx.auth_failures >= 4);
    wzp_media_tx_wipe(&tx);
    wzp_media_rx_wipe(&rx);
}

static void test_rekey_keeps_old_key_only_for_the_grace_window(void **state) {
    (void)state;
    call c;
    call_start(&c);
    call_establish(&c);
    wzp_session_keys ka, kb;
    assert_int_equal(wzp_hs_session_keys(c.ha, &ka), 0);
    assert_int_equal(wzp_hs_session_keys(c.hb, &kb), 0);
    wzp_media_tx tx;
    wzp_media_rx rx;
    wzp_media_tx_init(&tx, ka.tx, ka.key_id);
    wzp_media_rx_init(&rx);
    wzp_media_rx_add_key(&rx, kb.rx, kb.key_id, 0);
    uint8_t old_pkt[200], new_pkt[200];
    size_t old_len, new_len;
    seal(&tx, 0, old_pkt, &old_len);
    tx.counter = WZP_REKEY_INTERVAL;
    assert_true(wzp_media_tx_needs_rekey(&tx));
    wzp_signal *msg = NULL;
    uint8_t new_tx[32], new_rx[32], id_tx = 0, id_rx = 0;
    assert_int_equal(wzp_hs_rekey(c.ha, &msg, new_tx, &id_tx), 0);
    assert_int_equal(wzp_hs_on_rekey(c.hb, msg, new_rx, &id_rx), 0);
    assert_memory_equal(new_tx, new_rx, 32);
    assert_int_equal(id_tx, 1);
    assert_int_equal(wzp_hs_on_rekey(c.hb, msg, new_rx, &id_rx), WZP_ERR_AUTH); /* replayed */
    wzp_media_tx_init(&tx, new_tx, id_tx);
    wzp_media_rx_add_key(&rx, new_rx, id_rx, 1000);
    seal(&tx, 20, new_pkt, &new_len);
    assert_int_equal(open_pkt(&rx, 20, new_pkt, new_len, 1001), 0);
    assert_int_equal(open_pkt(&rx, 0, old_pkt, old_len, 1500), 0); /* in flight: still fine */
    seal(&tx, 40, new_pkt, &new_len);
    uint8_t late[200];
    size_t late_len;
    wzp_media_tx old_tx;
    wzp_media_tx_init(&old_tx, ka.tx, ka.key_id);
    old_tx.counter = 5;
    seal(&old_tx, 0, late, &late_len);
    assert_int_equal(open_pkt(&rx, 0, late, late_len, 1000 + WZP_KEY_GRACE_MS),
                     WZP_ERR_UNKNOWN_KEY); /* the old key is gone after the grace window */
    assert_int_equal(open_pkt(&rx, 40, new_pkt, new_len, 5000), 0);
    wzp_signal_free(msg);
    call_end(&c);
}

static void test_removed_member_cannot_decrypt_the_next_epoch(void **state) {
    (void)state;
    /* Alice's room with Bob and Carol; Carol leaves, Alice starts epoch 2 for Bob only. */
    call ab, ac;
    call_start(&ab);
    call_establish(&ab);
    call_start(&ac);
    call_establish(&ac);
    wzp_sender_key e1, e2, bob_copy, carol_copy;
    uint32_t sid_out = 0;
    assert_int_equal(wzp_sender_key_new(1, &e1), 0);
    wzp_signal *to_bob = NULL, *to_carol = NULL;
    assert_int_equal(wzp_sender_key_wrap(ab.ha, &e1, 77, &to_bob), 0);
    assert_int_equal(wzp_sender_key_wrap(ac.ha, &e1, 77, &to_carol), 0);
    /* Carol cannot open what was sealed for Bob */
    assert_int_equal(wzp_sender_key_unwrap(ac.hb, to_bob, &carol_copy, &sid_out), WZP_ERR_AUTH);
    assert_int_equal(wzp_sender_key_unwrap(ab.hb, to_bob, &bob_copy, &sid_out), 0);
    assert_int_equal(wzp_sender_key_unwrap(ac.hb, to_carol, &carol_copy, &sid_out), 0);
    assert_int_equal(wzp_sender_key_unwrap(ab.hb, to_bob, &bob_copy, &sid_out), WZP_ERR_REPLAY);
    uint8_t key[32], key_id;
    wzp_sender_key_media(&carol_copy, key, &key_id);
    wzp_media_rx carol;
    wzp_media_rx_init(&carol);
    wzp_media_rx_add_key(&carol, key, key_id, 0);
    assert_int_equal(wzp_sender_key_new(2, &e2), 0); /* Carol left: new epoch */
    wzp_signal_free(to_bob);
    assert_int_equal(wzp_sender_key_wrap(ab.ha, &e2, 77, &to_bob), 0);
    assert_int_equal(wzp_sender_key_unwrap(ab.hb, to_bob, &bob_copy, &sid_out), 0);
    wzp_media_tx alice;
    wzp_sender_key_media(&e2, key, &key_id);
    wzp_media_tx_init(&alice, key, key_id);
    uint8_t pkt[200];
    size_t n;
    seal(&alice, 100, pkt, &n);
    assert_int_equal(open_pkt(&carol, 100, pkt, n, 10), WZP_ERR_UNKNOWN_KEY);
    pkt[0] = (uint8_t)(1 * 16); /* even claiming the old key id does not help */
    assert_int_equal(open_pkt(&carol, 100, pkt, n, 10), WZP_ERR_AUTH);
    pkt[0] = key_id;
    wzp_media_rx bob;
    wzp_media_rx_init(&bob);
    wzp_sender_key_media(&bob_copy, key, &key_id);
    wzp_media_rx_add_key(&bob, key, key_id, 0);
    assert_int_equal(open_pkt(&bob, 100, pkt, n, 10), 0);
    /* ratcheting: Bob follows Alice's step forward */
    wzp_sender_key_ratchet(&e2);
    wzp_sender_key_ratchet(&bob_copy);
    uint8_t k1[32], k2[32], i1, i2;
    wzp_sender_key_media(&e2, k1, &i1);
    wzp_sender_key_media(&bob_copy, k2, &i2);
    assert_memory_equal(k1, k2, 32);
    assert_int_equal(i1, i2);
    assert_int_equal(i1, 2 * 16 + 1);
    assert_int_equal(sid_out, 77); /* the sender's media session travels sealed with the key */
    wzp_signal_free(to_bob);
    wzp_signal_free(to_carol);
    call_end(&ab);
    call_end(&ac);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_matches_reference_vectors),
        cmocka_unit_test(test_mnemonic_official_vectors_and_refusals),
        cmocka_unit_test(test_fingerprint_text_round_trip),
        cmocka_unit_test(test_identity_file_is_private_and_checked),
        cmocka_unit_test(test_handshake_agrees_on_keys_sas_and_profile),
        cmocka_unit_test(test_attack_offer_replayed_on_another_connection),
        cmocka_unit_test(test_attack_forged_truncated_or_swapped_offer),
        cmocka_unit_test(test_attack_swapped_answer_and_bad_confirmation),
        cmocka_unit_test(test_attack_replay_bitflip_and_reordering),
        cmocka_unit_test(test_rekey_keeps_old_key_only_for_the_grace_window),
        cmocka_unit_test(test_removed_member_cannot_decrypt_the_next_epoch),
        cmocka_unit_test(test_secret_room_needs_its_proof),
        cmocka_unit_test(test_invite_round_trip_and_refusals),
        cmocka_unit_test(test_the_offer_commits_to_the_callers_ephemeral),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
