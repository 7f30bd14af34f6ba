/*
 * The call handshake (docs/SECURITY.md "Handshake"): signed offer and answer over a transcript
 * that binds both identities, both ephemeral keys, the profiles and the channel; HKDF keys from
 * X25519 with the transcript hash as salt; HMAC key confirmation both ways before any media key
 * is handed out; rekeying; and a sealed channel for room sender keys. Sans-I/O: messages in,
 * messages out. The state is wiped on free.
 */
#include <sodium.h>
#include <string.h>

#include "crypto/handshake_internal.h"
#include "crypto/kdf.h"
#include "proto/bytes.h"
#include "wzp/crypto.h"
#include "wzp/random.h"
#include "wzp/alloc.h"

#define OFFER_LABEL  "wzp/v1 call-offer"
#define ANSWER_LABEL "wzp/v1 call-answer"
#define REKEY_LABEL  "wzp/v1 rekey"
#define COMMIT_LABEL "wzp/v1 ephemeral-commit"
#define PROOF_OFFER  "wzp/v1 room-proof offer"
#define PROOF_ANSWER "wzp/v1 room-proof answer"
#define MAX_TBS      512

struct wzp_handshake {
    wzp_hs_role role;
    wzp_hs_state state;
    wzp_identity me;
    uint8_t binding[WZP_BINDING_SIZE];
    uint8_t eph_sk[WZP_KEY_SIZE], eph_pk[WZP_KEY_SIZE];
    uint8_t peer_sign_pk[WZP_KEY_SIZE], peer_eph_pk[WZP_KEY_SIZE];
    uint8_t eph_commit[32];  /* caller: SHA-256(COMMIT_LABEL || our ephemeral), offered */
    uint8_t peer_commit[32]; /* callee: the caller's commitment, until it reveals */
    uint8_t offer_hash[32], th[32];
    uint8_t tx[WZP_KEY_SIZE], rx[WZP_KEY_SIZE]; /* current media chain keys */
    uint8_t tx_key_id, rx_key_id;
    uint8_t confirm_key[WZP_KEY_SIZE];
    uint8_t seal_tx[WZP_KEY_SIZE], seal_rx[WZP_KEY_SIZE];
    uint64_t seal_next, seal_top;
    wzp_profile profile;
    unsigned sas;
    bool has_room_key;
    uint8_t room_key[WZP_KEY_SIZE]; /* a secret room's proof key */
};

/* A growing byte string for to-be-signed transcripts. */
typedef struct tbs {
    uint8_t b[MAX_TBS];
    size_t n;
} tbs;

static void put(tbs *t, const void *p, size_t n) {
    if (t->n + n <= MAX_TBS) {
        memcpy(t->b + t->n, p, n);
    }
    t->n += n; /* an overflow is caught by the size check in each caller */
}

static void put_label(tbs *t, const char *label) {
    put(t, label, strlen(label) + 1); /* the NUL separates label and data */
}

static void put_profile(tbs *t, const wzp_profile *p) {
    uint32_t bits;
    memcpy(&bits, &p->fec_ratio, 4);
    uint8_t b[7] = {(uint8_t)p->codec, 0, 0, 0, 0, p->frame_duration_ms, p->frames_per_block};
    wzp__put_u32be(b + 1, bits);
    put(t, b, sizeof(b));
}

/* The caller's commitment to its ephemeral key (ZRTP's hash commitment): the offer carries it
 * in place of the key, which the caller reveals only with its key confirmation, after the
 * callee's answer has signed the callee's own ephemeral. Neither side can then choose its key
 * knowing the other's, so nobody in the middle can steer the SAS. */
static void ephemeral_commit(const uint8_t pk[32], uint8_t out[32]) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)COMMIT_LABEL, sizeof(COMMIT_LABEL));
    crypto_hash_sha256_update(&st, pk, 32);
    crypto_hash_sha256_final(&st, out);
}

int wzp_hs_new(wzp_hs_role role, const wzp_identity *me, const uint8_t binding[WZP_BINDING_SIZE],
               wzp_handshake **out) {
    int rc = wzp_crypto_init();
    if (rc != WZP_OK) {
        return rc;
    }
    wzp_handshake *hs = wzp_malloc(sizeof(*hs));
    if (hs == NULL) {
        return WZP_ERR_NOMEM;
    }
    sodium_memzero(hs, sizeof(*hs));
    hs->role = role;
    hs->state = WZP_HS_START;
    hs->me = *me;
    memcpy(hs->binding, binding, WZP_BINDING_SIZE);
    uint8_t eseed[crypto_box_SEEDBYTES];
    wzp_random_buf(eseed, sizeof(eseed)); /* an X25519 key pair from the library's source */
    crypto_box_seed_keypair(hs->eph_pk, hs->eph_sk, eseed);
    sodium_memzero(eseed, sizeof(eseed));
    ephemeral_commit(hs->eph_pk, hs->eph_commit);
    *out = hs;
    return WZP_OK;
}

void wzp_hs_free(wzp_handshake *hs) {
    if (hs != NULL) {
        sodium_memzero(hs, sizeof(*hs)); /* every secret of the handshake */
        wzp_free(hs);
    }
}

wzp_hs_state wzp_hs_get_state(const wzp_handshake *hs) {
    return hs->state;
}

const wzp_profile *wzp_hs_profile(const wzp_handshake *hs) {
    return &hs->profile;
}

void wzp_hs_set_room_key(wzp_handshake *hs, const uint8_t key[WZP_KEY_SIZE]) {
    memcpy(hs->room_key, key, WZP_KEY_SIZE);
    hs->has_room_key = true;
}

static int fail(wzp_handshake *hs, int rc) {
    hs->state = WZP_HS_FAILED;
    sodium_memzero(hs->tx, sizeof(hs->tx));
    sodium_memzero(hs->rx, sizeof(hs->rx));
    return rc;
}

/* A secret room's proof: HMAC(room key, label || binding || ik || ek [|| offer hash]). */
static void room_proof(const wzp_handshake *hs, const char *label, const uint8_t ik[32],
                       const uint8_t ek[32], bool with_offer, uint8_t out[32]) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, hs->room_key, sizeof(hs->room_key));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)label, strlen(label) + 1);
    crypto_auth_hmacsha256_update(&st, hs->binding, WZP_BINDING_SIZE);
    crypto_auth_hmacsha256_update(&st, ik, 32);
    crypto_auth_hmacsha256_update(&st, ek, 32);
    if (with_offer) {
        crypto_auth_hmacsha256_update(&st, hs->offer_hash, 32);
    }
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

static void put_proof(wzp_handshake *hs, const char *label, const uint8_t ik[32],
                      const uint8_t ek[32], bool with_offer, wzp_sig_bytes *proof) {
    if (hs->has_room_key) {
        room_proof(hs, label, ik, ek, with_offer, proof->data);
        proof->len = 32;
        proof->present = true;
    }
}

/* The peer's proof, when we are in a secret room (an open room ignores one). */
static int check_proof(const wzp_handshake *hs, const char *label, const uint8_t ik[32],
                       const uint8_t ek[32], bool with_offer, const wzp_sig_bytes *proof) {
    if (!hs->has_room_key) {
        return WZP_OK;
    }
    if (!proof->present || proof->len != 32) {
        return WZP_ERR_NOT_MEMBER;
    }
    uint8_t want[32];
    room_proof(hs, label, ik, ek, with_offer, want);
    int ok = sodium_memcmp(want, proof->data, 32) == 0;
    sodium_memzero(want, sizeof(want));
    return ok ? WZP_OK : WZP_ERR_NOT_MEMBER;
}

/* A proof present is signed with the rest (absent: the transcript is as before proofs). */
static void put_signed_proof(tbs *t, const wzp_sig_bytes *proof) {
    if (proof->present) {
        uint8_t n = (uint8_t)proof->len;
        put(t, &n, 1);
        put(t, proof->data, proof->len);
    }
}

static void offer_tbs(const wzp_handshake *hs, const uint8_t ik[32], const uint8_t ek[32],
                      const wzp_sig_profiles *profiles, const wzp_sig_bytes *proof, tbs *t) {
    t->n = 0;
    put_label(t, OFFER_LABEL);
    put(t, hs->binding, WZP_BINDING_SIZE);
    put(t, ik, 32);
    put(t, ek, 32);
    uint8_t n = (uint8_t)profiles->count;
    put(t, &n, 1);
    for (size_t i = 0; i < profiles->count; i++) {
        put_profile(t, &profiles->items[i]);
    }
    put_signed_proof(t, proof);
}

static void answer_tbs(const wzp_handshake *hs, const uint8_t ik[32], const uint8_t ek[32],
                       const wzp_profile *chosen, const wzp_sig_bytes *proof, tbs *t) {
    t->n = 0;
    put_label(t, ANSWER_LABEL);
    put(t, hs->binding, WZP_BINDING_SIZE);
    put(t, hs->offer_hash, 32);
    put(t, ik, 32);
    put(t, ek, 32);
    put_profile(t, chosen);
    put_signed_proof(t, proof);
}

static void hash_signed(const tbs *t, const uint8_t sig[64], uint8_t out[32]) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, t->b, t->n);
    crypto_hash_sha256_update(&st, sig, 64);
    crypto_hash_sha256_final(&st, out);
}

static int sign_into(const wzp_handshake *hs, const tbs *t, wzp_sig_bytes *sig) {
    if (t->n > MAX_TBS) {
        return WZP_ERR_TOO_LARGE;
    }
    sig->present = true;
    sig->len = WZP_SIGNATURE_SIZE;
    return crypto_sign_detached(sig->data, NULL, t->b, t->n, hs->me.sign_sk) == 0 ? WZP_OK
                                                                                  : WZP_ERR_CRYPTO;
}

static int verify(const tbs *t, const wzp_sig_bytes *sig, const uint8_t pk[32]) {
    if (t->n > MAX_TBS || sig->len != WZP_SIGNATURE_SIZE) {
        return WZP_ERR_AUTH;
    }
    return crypto_sign_verify_detached(sig->data, t->b, t->n, pk) == 0 ? WZP_OK : WZP_ERR_AUTH;
}

int wzp_hs_make_offer(wzp_handshake *hs, const wzp_profile *profiles, size_t n, const char *alias,
                      wzp_signal **offer) {
    if (hs->role != WZP_HS_CALLER || hs->state != WZP_HS_START) {
        return WZP_ERR_STATE;
    }
    if (n == 0 || n > WZP_SIGNAL_MAX_PROFILES) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_signal *m = wzp_signal_new(WZP_SIG_CALL_OFFER);
    if (m == NULL) {
        return WZP_ERR_NOMEM;
    }
    memcpy(m->u.call_offer.identity_pub, hs->me.sign_pk, 32);
    memcpy(m->u.call_offer.ephemeral_pub, hs->eph_commit, 32); /* the commitment, not the key */
    m->u.call_offer.supported_profiles.count = n;
    memcpy(m->u.call_offer.supported_profiles.items, profiles, n * sizeof(*profiles));
    put_proof(hs, PROOF_OFFER, hs->me.sign_pk, hs->eph_commit, false, &m->u.call_offer.room_proof);
    tbs t;
    offer_tbs(hs, hs->me.sign_pk, hs->eph_commit, &m->u.call_offer.supported_profiles,
              &m->u.call_offer.room_proof, &t);
    int rc = sign_into(hs, &t, &m->u.call_offer.signature);
    if (rc == WZP_OK) {
        rc = wzp_signal_set_str(&m->u.call_offer.alias, alias);
    }
    if (rc != WZP_OK) {
        wzp_signal_free(m);
        return rc;
    }
    hash_signed(&t, m->u.call_offer.signature.data, hs->offer_hash);
    hs->state = WZP_HS_OFFER_SENT;
    *offer = m;
    return WZP_OK;
}

/* Keys from X25519(our ephemeral, theirs) with the transcript hash as HKDF salt. */
static int derive_keys(wzp_handshake *hs) {
    uint8_t dh[64], prk[32], c2s[32], s2c[32], seal_c2s[32], seal_s2c[32], sas[4];
    int rc = crypto_scalarmult(dh, hs->eph_sk, hs->peer_eph_pk) == 0 ? WZP_OK : WZP_ERR_AUTH;
    memcpy(dh + 32, hs->room_key, 32); /* a secret room's key after the X25519 secret */
    if (rc == WZP_OK) {
        rc = wzp__hkdf_extract(hs->th, 32, dh, hs->has_room_key ? 64 : 32, prk);
    }
    if (rc == WZP_OK) {
        rc = wzp__hkdf_expand(prk, "wzp/v1 caller->callee media", c2s, 32);
    }
    if (rc == WZP_OK) {
        rc = wzp__hkdf_expand(prk, "wzp/v1 callee->caller media", s2c, 32);
    }
    if (rc == WZP_OK) {
        rc = wzp__hkdf_expand(prk, "wzp/v1 key confirmation", hs->confirm_key, 32);
    }
    if (rc == WZP_OK) {
        rc = wzp__hkdf_expand(prk, "wzp/v1 caller->callee seal", seal_c2s, 32);
    }
    if (rc == WZP_OK) {
        rc = wzp__hkdf_expand(prk, "wzp/v1 callee->caller seal", seal_s2c, 32);
    }
    if (rc == WZP_OK) {
        rc = wzp__hkdf_expand(prk, "warzone-sas-code", sas, 4);
    }
    if (rc == WZP_OK) {
        bool caller = hs->role == WZP_HS_CALLER;
        memcpy(hs->tx, caller ? c2s : s2c, 32);
        memcpy(hs->rx, caller ? s2c : c2s, 32);
        memcpy(hs->seal_tx, caller ? seal_c2s : seal_s2c, 32);
        memcpy(hs->seal_rx, caller ? seal_s2c : seal_c2s, 32);
        hs->sas = wzp__get_u32be(sas) % 10000u;
    }
    sodium_memzero(dh, sizeof(dh));
    sodium_memzero(prk, sizeof(prk));
    sodium_memzero(c2s, sizeof(c2s));
    sodium_memzero(s2c, sizeof(s2c));
    sodium_memzero(seal_c2s, sizeof(seal_c2s));
    sodium_memzero(seal_s2c, sizeof(seal_s2c));
    return rc;
}

static bool pick_profile(const wzp_sig_profiles *theirs, const wzp_profile *ours, size_t n,
                         wzp_profile *out) {
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < theirs->count; j++) {
            if (wzp_profile_equal(&ours[i], &theirs->items[j])) {
                *out = ours[i];
                return true;
            }
        }
    }
    return false;
}

int wzp_hs_on_offer(wzp_handshake *hs, const wzp_signal *offer, const wzp_profile *profiles,
                    size_t n, wzp_signal **answer) {
    if (hs->role != WZP_HS_CALLEE || hs->state != WZP_HS_START) {
        return WZP_ERR_STATE;
    }
    if (offer->type != WZP_SIG_CALL_OFFER) {
        return fail(hs, WZP_ERR_MALFORMED);
    }
    const __typeof__(offer->u.call_offer) *o = &offer->u.call_offer;
    tbs t;
    offer_tbs(hs, o->identity_pub, o->ephemeral_pub, &o->supported_profiles, &o->room_proof, &t);
    int rc = verify(&t, &o->signature, o->identity_pub);
    if (rc == WZP_OK) {
        rc = check_proof(hs, PROOF_OFFER, o->identity_pub, o->ephemeral_pub, false, &o->room_proof);
    }
    if (rc != WZP_OK) {
        return fail(hs, rc);
    }
    if (!pick_profile(&o->supported_profiles, profiles, n, &hs->profile)) {
        return fail(hs, WZP_ERR_NO_COMMON_PROFILE);
    }
    hash_signed(&t, o->signature.data, hs->offer_hash);
    memcpy(hs->peer_sign_pk, o->identity_pub, 32);
    memcpy(hs->peer_commit, o->ephemeral_pub, 32); /* its key comes with its confirmation */

    wzp_signal *m = wzp_signal_new(WZP_SIG_CALL_ANSWER);
    if (m == NULL) {
        return fail(hs, WZP_ERR_NOMEM);
    }
    memcpy(m->u.call_answer.identity_pub, hs->me.sign_pk, 32);
    memcpy(m->u.call_answer.ephemeral_pub, hs->eph_pk, 32);
    m->u.call_answer.chosen_profile = hs->profile;
    put_proof(hs, PROOF_ANSWER, hs->me.sign_pk, hs->eph_pk, true, &m->u.call_answer.room_proof);
    answer_tbs(hs, hs->me.sign_pk, hs->eph_pk, &hs->profile, &m->u.call_answer.room_proof, &t);
    rc = sign_into(hs, &t, &m->u.call_answer.signature);
    if (rc == WZP_OK) {
        hash_signed(&t, m->u.call_answer.signature.data, hs->th);
    }
    if (rc != WZP_OK) {
        wzp_signal_free(m);
        return fail(hs, rc);
    }
    hs->state = WZP_HS_ANSWER_SENT; /* the keys come once the caller reveals its ephemeral */
    *answer = m;
    return WZP_OK;
}

static int make_confirm(const wzp_handshake *hs, wzp_signal **out) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_KEY_CONFIRM);
    if (m == NULL) {
        return WZP_ERR_NOMEM;
    }
    const char *who = hs->role == WZP_HS_CALLER ? "caller" : "callee";
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, hs->confirm_key, sizeof(hs->confirm_key));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)who, strlen(who));
    crypto_auth_hmacsha256_update(&st, hs->th, sizeof(hs->th));
    crypto_auth_hmacsha256_final(&st, m->u.key_confirm.mac.data);
    m->u.key_confirm.mac.present = true;
    m->u.key_confirm.mac.len = WZP_CONFIRM_SIZE;
    if (hs->role == WZP_HS_CALLER) { /* the ephemeral the offer committed to */
        m->u.key_confirm.ephemeral_pub.present = true;
        memcpy(m->u.key_confirm.ephemeral_pub.key, hs->eph_pk, 32);
    }
    *out = m;
    return WZP_OK;
}

static int check_confirm(const wzp_handshake *hs, const wzp_signal *msg) {
    if (msg->type != WZP_SIG_KEY_CONFIRM || msg->u.key_confirm.mac.len != WZP_CONFIRM_SIZE) {
        return WZP_ERR_AUTH;
    }
    const char *who = hs->role == WZP_HS_CALLER ? "callee" : "caller";
    uint8_t want[WZP_CONFIRM_SIZE];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, hs->confirm_key, sizeof(hs->confirm_key));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)who, strlen(who));
    crypto_auth_hmacsha256_update(&st, hs->th, sizeof(hs->th));
    crypto_auth_hmacsha256_final(&st, want);
    int ok = sodium_memcmp(want, msg->u.key_confirm.mac.data, WZP_CONFIRM_SIZE) == 0;
    sodium_memzero(want, sizeof(want));
    return ok ? WZP_OK : WZP_ERR_AUTH;
}

int wzp_hs_on_answer(wzp_handshake *hs, const wzp_signal *answer, wzp_signal **confirm) {
    if (hs->role != WZP_HS_CALLER || hs->state != WZP_HS_OFFER_SENT) {
        return WZP_ERR_STATE;
    }
    if (answer->type != WZP_SIG_CALL_ANSWER) {
        return fail(hs, WZP_ERR_MALFORMED);
    }
    const __typeof__(answer->u.call_answer) *a = &answer->u.call_answer;
    tbs t;
    answer_tbs(hs, a->identity_pub, a->ephemeral_pub, &a->chosen_profile, &a->room_proof, &t);
    int rc = verify(&t, &a->signature, a->identity_pub);
    if (rc == WZP_OK) {
        rc = check_proof(hs, PROOF_ANSWER, a->identity_pub, a->ephemeral_pub, true, &a->room_proof);
    }
    if (rc != WZP_OK) {
        return fail(hs, rc);
    }
    hash_signed(&t, a->signature.data, hs->th);
    memcpy(hs->peer_sign_pk, a->identity_pub, 32);
    memcpy(hs->peer_eph_pk, a->ephemeral_pub, 32);
    hs->profile = a->chosen_profile;
    rc = derive_keys(hs);
    if (rc == WZP_OK) {
        rc = make_confirm(hs, confirm);
    }
    if (rc != WZP_OK) {
        return fail(hs, rc);
    }
    hs->state = WZP_HS_CONFIRM_SENT;
    return WZP_OK;
}

int wzp_hs_on_confirm(wzp_handshake *hs, const wzp_signal *confirm, wzp_signal **reply) {
    bool callee = hs->role == WZP_HS_CALLEE;
    if (hs->state != (callee ? WZP_HS_ANSWER_SENT : WZP_HS_CONFIRM_SENT)) {
        return WZP_ERR_STATE;
    }
    int rc = WZP_OK;
    if (callee) { /* the caller's ephemeral: the one it committed to, or nothing */
        uint8_t c[32];
        const wzp_sig_key_opt *eph = &confirm->u.key_confirm.ephemeral_pub;
        if (confirm->type != WZP_SIG_KEY_CONFIRM || !eph->present) {
            return fail(hs, WZP_ERR_AUTH);
        }
        ephemeral_commit(eph->key, c);
        if (sodium_memcmp(c, hs->peer_commit, 32) != 0) {
            return fail(hs, WZP_ERR_AUTH);
        }
        memcpy(hs->peer_eph_pk, eph->key, 32);
        rc = derive_keys(hs);
    }
    if (rc == WZP_OK) {
        rc = check_confirm(hs, confirm);
    }
    if (rc != WZP_OK) {
        return fail(hs, rc);
    }
    *reply = NULL;
    if (callee) {
        rc = make_confirm(hs, reply);
        if (rc != WZP_OK) {
            return fail(hs, rc);
        }
    }
    hs->state = WZP_HS_ESTABLISHED;
    return WZP_OK;
}

int wzp_hs_session_keys(const wzp_handshake *hs, wzp_session_keys *out) {
    if (hs->state != WZP_HS_ESTABLISHED) {
        return WZP_ERR_STATE;
    }
    memcpy(out->tx, hs->tx, WZP_KEY_SIZE);
    memcpy(out->rx, hs->rx, WZP_KEY_SIZE);
    out->key_id = hs->tx_key_id;
    return WZP_OK;
}

int wzp_hs_sas(const wzp_handshake *hs, unsigned *sas) {
    if (hs->state != WZP_HS_ESTABLISHED) {
        return WZP_ERR_STATE;
    }
    *sas = hs->sas;
    return WZP_OK;
}

int wzp_hs_peer(const wzp_handshake *hs, uint8_t sign_pk[WZP_KEY_SIZE]) {
    if (hs->state != WZP_HS_ANSWER_SENT && hs->state != WZP_HS_CONFIRM_SENT &&
        hs->state != WZP_HS_ESTABLISHED) { /* no signed message of the peer verified yet */
        return WZP_ERR_STATE;
    }
    memcpy(sign_pk, hs->peer_sign_pk, WZP_KEY_SIZE);
    return WZP_OK;
}

/* ---- rekey ---------------------------------------------------------------------------- */

static void rekey_tbs(const wzp_handshake *hs, wzp_hs_role sender, uint8_t key_id,
                      const uint8_t eph[32], tbs *t) {
    t->n = 0;
    put_label(t, REKEY_LABEL);
    put(t, hs->binding, WZP_BINDING_SIZE);
    put(t, hs->th, 32);
    uint8_t meta[2] = {(uint8_t)sender, key_id};
    put(t, meta, 2);
    put(t, eph, 32);
}

/* new = HKDF(salt = old chain key, ikm = dh, "wzp/v1 rekey"); the old key is overwritten. */
static int ratchet(uint8_t chain[32], const uint8_t dh[32]) {
    uint8_t next[32];
    int rc = wzp__hkdf(chain, 32, dh, 32, "wzp/v1 rekey", next, 32);
    if (rc == WZP_OK) {
        memcpy(chain, next, 32);
    }
    sodium_memzero(next, sizeof(next));
    return rc;
}

int wzp_hs_rekey(wzp_handshake *hs, wzp_signal **msg, uint8_t new_tx[WZP_KEY_SIZE],
                 uint8_t *key_id) {
    if (hs->state != WZP_HS_ESTABLISHED) {
        return WZP_ERR_STATE;
    }
    uint8_t esk[32], epk[32], dh[32], eseed[crypto_box_SEEDBYTES];
    wzp_random_buf(eseed, sizeof(eseed));
    crypto_box_seed_keypair(epk, esk, eseed);
    sodium_memzero(eseed, sizeof(eseed));
    int rc = crypto_scalarmult(dh, esk, hs->peer_eph_pk) == 0 ? WZP_OK : WZP_ERR_CRYPTO;
    wzp_signal *m = rc == WZP_OK ? wzp_signal_new(WZP_SIG_REKEY) : NULL;
    if (rc == WZP_OK && m == NULL) {
        rc = WZP_ERR_NOMEM;
    }
    uint8_t next_id = (uint8_t)(hs->tx_key_id + 1);
    if (rc == WZP_OK) {
        memcpy(m->u.rekey.new_ephemeral_pub, epk, 32);
        tbs t;
        rekey_tbs(hs, hs->role, next_id, epk, &t);
        rc = sign_into(hs, &t, &m->u.rekey.signature);
    }
    if (rc == WZP_OK) {
        rc = ratchet(hs->tx, dh);
    }
    sodium_memzero(esk, sizeof(esk));
    sodium_memzero(dh, sizeof(dh));
    if (rc != WZP_OK) {
        wzp_signal_free(m);
        return rc;
    }
    hs->tx_key_id = next_id;
    memcpy(new_tx, hs->tx, WZP_KEY_SIZE);
    *key_id = next_id;
    *msg = m;
    return WZP_OK;
}

int wzp_hs_on_rekey(wzp_handshake *hs, const wzp_signal *msg, uint8_t new_rx[WZP_KEY_SIZE],
                    uint8_t *key_id) {
    if (hs->state != WZP_HS_ESTABLISHED) {
        return WZP_ERR_STATE;
    }
    if (msg->type != WZP_SIG_REKEY) {
        return WZP_ERR_MALFORMED;
    }
    uint8_t next_id = (uint8_t)(hs->rx_key_id + 1);
    wzp_hs_role peer = hs->role == WZP_HS_CALLER ? WZP_HS_CALLEE : WZP_HS_CALLER;
    tbs t;
    rekey_tbs(hs, peer, next_id, msg->u.rekey.new_ephemeral_pub, &t);
    int rc = verify(&t, &msg->u.rekey.signature, hs->peer_sign_pk);
    if (rc != WZP_OK) {
        return rc; /* a forged or replayed Rekey changes nothing */
    }
    uint8_t dh[32];
    rc = crypto_scalarmult(dh, hs->eph_sk, msg->u.rekey.new_ephemeral_pub) == 0 ? WZP_OK
                                                                                : WZP_ERR_AUTH;
    if (rc == WZP_OK) {
        rc = ratchet(hs->rx, dh);
    }
    sodium_memzero(dh, sizeof(dh));
    if (rc == WZP_OK) {
        hs->rx_key_id = next_id;
        memcpy(new_rx, hs->rx, WZP_KEY_SIZE);
        *key_id = next_id;
    }
    return rc;
}

/* ---- the sealed pairwise channel -------------------------------------------------------- */

int wzp_hs_seal(wzp_handshake *hs, const uint8_t *pt, size_t len, uint8_t *out, size_t cap,
                size_t *written) {
    if (hs->state != WZP_HS_ESTABLISHED) {
        return WZP_ERR_STATE;
    }
    size_t need = 8 + len + crypto_aead_chacha20poly1305_ietf_ABYTES;
    if (cap < need) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    uint64_t c = hs->seal_next++;
    uint8_t nonce[12] = {0};
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(c >> (56 - 8 * i));
    }
    memcpy(nonce + 4, out, 8);
    unsigned long long clen = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out + 8, &clen, pt, len, (const uint8_t *)"wzp-seal",
                                              8, NULL, nonce, hs->seal_tx);
    *written = 8 + (size_t)clen;
    return WZP_OK;
}

int wzp_hs_open(wzp_handshake *hs, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                size_t *written) {
    if (hs->state != WZP_HS_ESTABLISHED) {
        return WZP_ERR_STATE;
    }
    if (len < 8 + crypto_aead_chacha20poly1305_ietf_ABYTES) {
        return WZP_ERR_MALFORMED;
    }
    if (cap < len - 8 - crypto_aead_chacha20poly1305_ietf_ABYTES) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    uint64_t c = 0;
    for (int i = 0; i < 8; i++) {
        c = (c << 8) | in[i];
    }
    if (c < hs->seal_top) {
        return WZP_ERR_REPLAY; /* the pairwise channel is ordered: counters only grow */
    }
    uint8_t nonce[12] = {0};
    memcpy(nonce + 4, in, 8);
    unsigned long long plen = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, in + 8, len - 8,
                                                  (const uint8_t *)"wzp-seal", 8, nonce,
                                                  hs->seal_rx) != 0) {
        return WZP_ERR_AUTH;
    }
    hs->seal_top = c + 1;
    *written = (size_t)plen;
    return WZP_OK;
}

void wzp_pair_binding(const uint8_t own[32], const uint8_t peer[32], uint8_t out[32]) {
    static const char label[] = "wzp/v1 pair-binding";
    const uint8_t *lo = memcmp(own, peer, 32) <= 0 ? own : peer;
    const uint8_t *hi = lo == own ? peer : own;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)label, sizeof(label)); /* with its NUL */
    crypto_hash_sha256_update(&st, lo, 32);
    crypto_hash_sha256_update(&st, hi, 32);
    crypto_hash_sha256_final(&st, out);
}

/* ---- test hooks (handshake_internal.h) -------------------------------------------------- */

void wzp__hs_set_ephemeral(wzp_handshake *hs, const uint8_t sk[WZP_KEY_SIZE]) {
    memcpy(hs->eph_sk, sk, WZP_KEY_SIZE);
    crypto_scalarmult_base(hs->eph_pk, hs->eph_sk);
    ephemeral_commit(hs->eph_pk, hs->eph_commit);
}

void wzp__hs_transcript(const wzp_handshake *hs, uint8_t th[32]) {
    memcpy(th, hs->th, 32);
}

void wzp__hs_peer_ephemeral(const wzp_handshake *hs, uint8_t pk[32]) {
    memcpy(pk, hs->peer_eph_pk, 32);
}
