/*
 * One call session (wzp/session.h) against a relay and a room member played by this test: the
 * relay's signalling is hand-written, and member B is a real handshake driven here, which lies
 * where a hostile member could. The session must address each device by its session, take a
 * sender key only for the media of the session it came from, and forget members who left.
 */
#include <sodium.h>

#include "testutil.h"
#include "call/session_internal.h"
#include "wzp/session.h"

#define SID_B  0x04000004u
#define SID_C  0x04000003u
#define OUTBOX 32

typedef struct capture {
    wzp_path base;
    uint8_t slot[WZP_PATH_MAX_DATAGRAM];
    wzp_signal *out[OUTBOX]; /* what the session sent, decoded */
    size_t nout;
} capture;

static uint8_t *cap_slot(wzp_path *p) {
    return ((capture *)p)->slot;
}

static void cap_commit(wzp_path *p, size_t len) {
    (void)p;
    (void)len;
}

static int cap_signal(wzp_path *p, const uint8_t *json, size_t len) {
    capture *c = (capture *)p;
    assert_true(c->nout < OUTBOX);
    assert_int_equal(wzp_signal_decode(json, len, &c->out[c->nout]), 0);
    c->nout++;
    return WZP_OK;
}

/* A's connection exporter: a fixed function of the label, so the test can compute it too. */
static int cap_export(wzp_path *p, const char *label, uint8_t out[32]) {
    (void)p;
    crypto_generichash(out, 32, (const uint8_t *)label, strlen(label), NULL, 0);
    return WZP_OK;
}

static uint32_t cap_rtt(const wzp_path *p) {
    (void)p;
    return 20;
}

static void cap_close(wzp_path *p, const char *reason) {
    (void)p;
    fail_msg("closed: %s", reason);
}

static const wzp_path_ops cap_ops = {cap_slot,   cap_commit, cap_signal,
                                     cap_export, cap_rtt,    cap_close};

typedef struct world {
    capture path;
    wzp_identity a, b;
    wzp_identity c; /* an impostor the relay may label as B */
    uint32_t sid_a; /* A's relay session: the lower session id calls */
    wzp_call_session *s;
    wzp_handshake *hs_b;    /* B's end of the pairwise handshake with A */
    uint8_t b_exporter[32]; /* B's call-binding exporter, stamped by "the relay" */
    char fp_a[WZP_FINGERPRINT_TEXT], fp_b[WZP_FINGERPRINT_TEXT];
    uint64_t now;
    wzp_sender_key sk; /* B's */
} world;

static void to_session(world *w, wzp_signal *m) {
    uint8_t json[WZP_SESSION_SIGNAL_MAX];
    size_t n = 0;
    assert_int_equal(wzp_signal_encode(m, json, sizeof(json), &n), 0);
    wzp_signal_free(m);
    wzp_call_session_on_signal(w->s, 0, json, n, w->now);
}

/* `inner` (taken) from B on session `from`, as the relay delivers it. */
static void from_b(world *w, uint32_t from, wzp_signal *inner) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_PEER_SIGNAL);
    assert_non_null(m);
    assert_int_equal(wzp_signal_set_str(&m->u.peer_signal.to_fingerprint, w->fp_a), 0);
    assert_int_equal(wzp_signal_set_str(&m->u.peer_signal.from_fingerprint, w->fp_b), 0);
    m->u.peer_signal.to_session = w->sid_a;
    m->u.peer_signal.from_session = from;
    m->u.peer_signal.from_binding.present = true;
    m->u.peer_signal.from_binding.len = 32;
    memcpy(m->u.peer_signal.from_binding.data, w->b_exporter, 32);
    m->u.peer_signal.inner = inner;
    to_session(w, m);
}

static void room_update(world *w, bool with_b) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_ROOM_UPDATE);
    const char *c_fp = "0000:0000:0000:0000:0000:0000:0000:000c";
    assert_int_equal(
        wzp_signal_participants_add(&m->u.room_update.participants, w->fp_a, NULL, NULL), 0);
    assert_int_equal(wzp_signal_participants_add(&m->u.room_update.participants, c_fp, NULL, NULL),
                     0);
    m->u.room_update.participants.items[0].session = w->sid_a;
    m->u.room_update.participants.items[1].session = SID_C;
    if (with_b) {
        assert_int_equal(
            wzp_signal_participants_add(&m->u.room_update.participants, w->fp_b, NULL, NULL), 0);
        m->u.room_update.participants.items[2].session = SID_B;
    }
    m->u.room_update.count = (uint32_t)m->u.room_update.participants.count;
    to_session(w, m);
}

/* The inner message of the next PeerSignal A sent to B after `*cursor` (NULL: none yet). */
static const wzp_signal *next_to_b(world *w, size_t *cursor) {
    while (*cursor < w->path.nout) {
        const wzp_signal *m = w->path.out[(*cursor)++];
        if (m->type == WZP_SIG_PEER_SIGNAL &&
            strcmp(m->u.peer_signal.to_fingerprint, w->fp_b) == 0) {
            assert_int_equal(m->u.peer_signal.to_session, SID_B); /* addressed to the device */
            return m->u.peer_signal.inner;
        }
    }
    return NULL;
}

/* A in the room, B's handshake ready to start -- held by C's identity if `impostor` (the relay
 * still names it B); B calls if `b_calls` (its relay session id is the lower). */
static bool (*world_admit)(void *, const uint8_t *); /* A's admit hook for the next world */

static void open_world_in(world *w, bool impostor, bool b_calls, const uint8_t *room_key_a,
                          const uint8_t *room_key_b) {
    memset(w, 0, sizeof(*w));
    w->sid_a = b_calls ? SID_B + 1 : SID_B - 3;
    assert_int_equal(wzp_identity_generate(&w->a), 0);
    assert_int_equal(wzp_identity_generate(&w->b), 0);
    assert_int_equal(wzp_identity_generate(&w->c), 0);
    wzp_fingerprint_format(w->a.fingerprint, w->fp_a);
    wzp_fingerprint_format(w->b.fingerprint, w->fp_b);
    randombytes_buf(w->b_exporter, sizeof(w->b_exporter));
    w->path.base.ops = &cap_ops;
    w->path.base.kind = WZP_PATH_TEST;
    w->path.base.state = WZP_PATH_UP;
    w->path.base.mtu = WZP_PATH_MAX_DATAGRAM;
    wzp_call_session_config sc = wzp_call_session_default_config(&w->a);
    sc.room_key = room_key_a;
    sc.admit = world_admit;
    sc.admit_user = w;
    unsigned id = 0;
    assert_int_equal(wzp_call_session_new(&sc, &w->s), 0);
    assert_int_equal(wzp_call_session_add_path(w->s, &w->path.base, &id), 0);
    wzp_call_session_path_up(w->s, 0, w->now);
    wzp_signal *ms = wzp_signal_new(WZP_SIG_MEDIA_SESSION);
    ms->u.media_session.session_id = w->sid_a;
    to_session(w, ms);
    wzp_signal *ack = wzp_signal_new(WZP_SIG_REGISTER_PRESENCE_ACK);
    ack->u.register_presence_ack.success = true;
    to_session(w, ack);
    /* B's side of the pair binding: A's exporter (the path's) and its own */
    uint8_t a_exporter[32], binding[32];
    cap_export(&w->path.base, WZP_CALL_BINDING_EXPORTER, a_exporter);
    wzp_pair_binding(w->b_exporter, a_exporter, binding);
    assert_int_equal(wzp_hs_new(b_calls ? WZP_HS_CALLER : WZP_HS_CALLEE, impostor ? &w->c : &w->b,
                                binding, &w->hs_b),
                     0);
    if (room_key_b != NULL) {
        wzp_hs_set_room_key(w->hs_b, room_key_b);
    }
}

static void open_world_as(world *w, bool impostor, bool b_calls) {
    open_world_in(w, impostor, b_calls, NULL, NULL);
}

static void open_world(world *w) {
    open_world_as(w, false, false);
}

static void teardown_world(world *w) {
    wzp_sender_key_wipe(&w->sk);
    wzp_call_session_free(w->s);
    wzp_hs_free(w->hs_b);
    for (size_t i = 0; i < w->path.nout; i++) {
        wzp_signal_free(w->path.out[i]);
    }
    wzp_identity_wipe(&w->a);
    wzp_identity_wipe(&w->b);
    wzp_identity_wipe(&w->c);
}

/* B and A run the pairwise handshake, B answering whatever A sends; B's end's state after. */
static wzp_hs_state run_handshake(world *w) {
    size_t cursor = 0;
    const wzp_profile *good = wzp_profile_get(WZP_PROFILE_GOOD);
    room_update(w, true);
    const wzp_signal *in = next_to_b(w, &cursor);
    assert_non_null(in); /* A's hello, to B's session */
    assert_int_equal(in->type, WZP_SIG_PING);
    wzp_signal *hello = wzp_signal_new(WZP_SIG_PING);
    from_b(w, SID_B, hello);
    if (SID_B < w->sid_a) { /* B calls */
        wzp_signal *offer = NULL;
        assert_int_equal(wzp_hs_make_offer(w->hs_b, good, 1, NULL, &offer), 0);
        from_b(w, SID_B, offer);
    }
    for (int rounds = 0; rounds < 8 && wzp_hs_get_state(w->hs_b) != WZP_HS_ESTABLISHED; rounds++) {
        while ((in = next_to_b(w, &cursor)) != NULL) {
            wzp_signal *reply = NULL;
            if (in->type == WZP_SIG_CALL_OFFER) {
                int rc = wzp_hs_on_offer(w->hs_b, in, good, 1, &reply);
                assert_true(rc == 0 || rc == WZP_ERR_NOT_MEMBER); /* B may refuse A */
            } else if (in->type == WZP_SIG_CALL_ANSWER) {
                assert_int_equal(wzp_hs_on_answer(w->hs_b, in, &reply), 0);
            } else if (in->type == WZP_SIG_KEY_CONFIRM) {
                assert_int_equal(wzp_hs_on_confirm(w->hs_b, in, &reply), 0);
            }
            if (reply != NULL) {
                from_b(w, SID_B, reply);
            }
        }
    }
    return wzp_hs_get_state(w->hs_b);
}

static void handshake(world *w) {
    assert_int_equal(run_handshake(w), WZP_HS_ESTABLISHED);
}

/* A and B with their pairwise channel up, and B's sender key made. */
static void setup_world(world *w) {
    open_world(w);
    handshake(w);
    assert_int_equal(wzp_sender_key_new(1, &w->sk), 0);
}

/* The members in the room we can hear (those that left are listed too, not present). */
static size_t ready_peers(world *w, wzp_peer_view *v) {
    wzp_peer_view all[4];
    size_t n = wzp_call_session_peers(w->s, all, 4), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (all[i].present && all[i].ready) {
            v[k++] = all[i];
        }
    }
    return k;
}

/* B's sender key to A, naming `claimed` as its media session, sent from B's session `from`. */
static void key_from_b(world *w, const wzp_sender_key *sk, uint32_t claimed, uint32_t from) {
    wzp_signal *m = NULL;
    assert_int_equal(wzp_sender_key_wrap(w->hs_b, sk, claimed, &m), 0);
    from_b(w, from, m);
}

/* B hands A a sender key claiming C's media session: A must not take it (it would open C's media
 * with B's key -- C silenced for A). The same key for B's own session is taken. */
static void test_a_sender_key_for_another_members_media_is_refused(void **state) {
    (void)state;
    static world w;
    setup_world(&w);
    key_from_b(&w, &w.sk, SID_C, SID_B);
    wzp_peer_view v[4];
    assert_int_equal(ready_peers(&w, v), 0);
    key_from_b(&w, &w.sk, SID_B, SID_B);
    assert_int_equal(ready_peers(&w, v), 1);
    assert_int_equal(v[0].media_id, SID_B);
    assert_string_equal(v[0].fingerprint, w.fp_b);
    teardown_world(&w);
}

/* B's key moves to epoch 2 (a member left it); B's epoch-1 key handed to A again afterwards --
 * by a member that kept it, freshly sealed -- is not taken back: A keeps the newer key. */
static void test_an_older_epochs_key_is_not_taken_back(void **state) {
    (void)state;
    static world w;
    setup_world(&w);
    key_from_b(&w, &w.sk, SID_B, SID_B);
    wzp_sender_key next;
    assert_int_equal(wzp_sender_key_new(2, &next), 0);
    key_from_b(&w, &next, SID_B, SID_B);
    const wzp__peer *p = wzp__peer_find(w.s, w.b.fingerprint, SID_B, false);
    assert_non_null(p);
    assert_int_equal(p->key.epoch, 2);
    assert_memory_equal(p->key.chain, next.chain, sizeof(next.chain));
    key_from_b(&w, &w.sk, SID_B, SID_B); /* epoch 1 again */
    assert_int_equal(p->key.epoch, 2);
    assert_memory_equal(p->key.chain, next.chain, sizeof(next.chain));
    wzp_sender_key_wipe(&next);
    teardown_world(&w);
}

/* The relay stops listing B: A drops its keys (keeping its statistics) and says so; B signalling
 * again from another session is a new device that must hand-shake afresh. */
static void test_a_member_no_longer_listed_loses_its_keys(void **state) {
    (void)state;
    static world w;
    setup_world(&w);
    key_from_b(&w, &w.sk, SID_B, SID_B);
    wzp_peer_view v[4];
    assert_int_equal(ready_peers(&w, v), 1);
    room_update(&w, false);
    assert_int_equal(ready_peers(&w, v), 0);
    wzp_peer_view all[4]; /* still listed, for what it said */
    assert_int_equal(wzp_call_session_peers(w.s, all, 4), 1);
    assert_false(all[0].present);
    assert_false(all[0].ready);
    wzp_session_event ev;
    bool left = false;
    while (wzp_call_session_next_event(w.s, &ev)) {
        left |= ev.type == WZP_EV_PEER_LEFT && strcmp(ev.fingerprint, w.fp_b) == 0;
    }
    assert_true(left);
    /* B's old channel opens nothing on another session: A has no handshake with that device */
    key_from_b(&w, &w.sk, SID_B, SID_B ^ 0x10);
    assert_int_equal(ready_peers(&w, v), 0);
    teardown_world(&w);
}

/* A talks for `ms` (silence is audio too: it is pushed), its timers running every 20 ms. */
static void talk(world *w, uint64_t ms) {
    static const int16_t pcm[2 * WZP_SESSION_FRAME];
    for (uint64_t end = w->now + ms; w->now < end;) {
        w->now += 20;
        size_t n = wzp_call_session_frame_samples(w->s);
        assert_true(n > 0 && n <= 2 * WZP_SESSION_FRAME);
        assert_int_equal(wzp_call_session_push(w->s, pcm, n, w->now), 0);
        wzp_call_session_tick(w->s, w->now);
    }
}

/* B tells A it hears A's media at `loss` percent. */
static void report_from_b(world *w, double loss) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_QUALITY_UPDATE);
    assert_non_null(m);
    m->u.quality_update.report = wzp_quality_report_make(loss, 40, 5, 0);
    m->u.quality_update.recommended_profile = *wzp_profile_get(WZP_PROFILE_CATASTROPHIC);
    from_b(w, SID_B, m);
}

/* When, if ever, A said it sends another tier now (0: not yet), and which. */
static uint64_t tier_change_at(world *w, wzp_tier *tier) {
    wzp_session_event ev;
    uint64_t at = 0;
    while (wzp_call_session_next_event(w->s, &ev)) {
        if (ev.type == WZP_EV_TIER && at == 0) {
            at = ev.at_ms;
            *tier = ev.tier;
        }
    }
    return at;
}

/* B hears A at 50% loss, one report every 500 ms: A's controller goes down as the third arrives
 * (a 500 ms timer of A's own used to add up to half a second: quality_lab saw 7.1 s, its limit
 * 7.0); the encoder follows at its next block. */
static void test_a_sender_steps_down_as_the_third_bad_report_arrives(void **state) {
    (void)state;
    static world w;
    setup_world(&w);
    key_from_b(&w, &w.sk, SID_B, SID_B); /* B is a member A sends to */
    talk(&w, 1010);
    wzp_tier tier = WZP_TIER_GOOD;
    assert_int_equal(tier_change_at(&w, &tier), 0);
    for (int k = 0; k < 2; k++) {
        report_from_b(&w, 50.0);
        talk(&w, 500);
        assert_int_equal(tier_change_at(&w, &tier), 0);
    }
    report_from_b(&w, 50.0);
    assert_int_equal(tier_change_at(&w, &tier), w.now); /* no timer ran in between */
    assert_int_equal(tier, WZP_TIER_CATASTROPHIC);
    talk(&w, 200);
    assert_int_equal(wzp_call_session_tier(w.s), WZP_TIER_CATASTROPHIC);
    teardown_world(&w);
}

/* Reports bunched together (several listeners, or one whose reports were held up) take one step
 * per 400 ms, not one each: a burst of five bad reports does not move the tier. */
static void test_bunched_reports_take_one_step(void **state) {
    (void)state;
    static world w;
    setup_world(&w);
    key_from_b(&w, &w.sk, SID_B, SID_B);
    talk(&w, 1010);
    for (int k = 0; k < 5; k++) {
        report_from_b(&w, 50.0);
        w.now += 10;
    }
    wzp_tier tier = WZP_TIER_GOOD;
    assert_int_equal(tier_change_at(&w, &tier), 0);
    talk(&w, 200);
    assert_int_equal(wzp_call_session_tier(w.s), WZP_TIER_GOOD);
    teardown_world(&w);
}

/* The relay puts C in B's place: C's handshake goes out under B's fingerprint. Whichever side
 * calls, A finds the signing key is C's, says so naming both, answers nothing more and sends no
 * sender key. */
static void impostor(bool b_calls) {
    static world w;
    open_world_as(&w, true, b_calls);
    assert_int_not_equal(run_handshake(&w), WZP_HS_ESTABLISHED);
    char fp_c[WZP_FINGERPRINT_TEXT];
    wzp_fingerprint_format(w.c.fingerprint, fp_c);
    wzp_session_event ev;
    bool refused = false;
    while (wzp_call_session_next_event(w.s, &ev)) {
        assert_int_not_equal(ev.type, WZP_EV_PEER_READY);
        if (ev.type == WZP_EV_PEER_REFUSED) {
            assert_string_equal(ev.fingerprint, w.fp_b); /* who the relay said */
            assert_string_equal(ev.text, fp_c);          /* who the key proves */
            refused = true;
        }
    }
    assert_true(refused);
    for (size_t i = 0; i < w.path.nout; i++) {
        const wzp_signal *m = w.path.out[i];
        assert_false(m->type == WZP_SIG_PEER_SIGNAL &&
                     m->u.peer_signal.inner->type == WZP_SIG_SENDER_KEY);
        assert_false(m->type == WZP_SIG_PEER_SIGNAL &&
                     m->u.peer_signal.inner->type == WZP_SIG_KEY_CONFIRM);
    }
    wzp_peer_view v[4];
    assert_int_equal(ready_peers(&w, v), 0);
    teardown_world(&w);
}

/* A secret room: B, with the room's proof key, is admitted either way round; B without it (it
 * knows the room id the relay sees, not the secret) or with another room's is refused whether
 * it calls or answers, is named in the event (unless it refused A's offer first), and never gets
 * A's sender key -- nor a key confirmation, so it holds no session key with A at all. */
static void test_a_secret_room_admits_only_who_proves_its_secret(void **state) {
    (void)state;
    static world w;
    uint8_t key[32], other[32];
    randombytes_buf(key, sizeof(key));
    randombytes_buf(other, sizeof(other));
    for (int b_calls = 0; b_calls < 2; b_calls++) {
        open_world_in(&w, false, b_calls, key, key);
        assert_int_equal(run_handshake(&w), WZP_HS_ESTABLISHED);
        teardown_world(&w);
        for (int has = 0; has < 2; has++) {
            open_world_in(&w, false, b_calls, key, has ? other : NULL);
            assert_int_not_equal(run_handshake(&w), WZP_HS_ESTABLISHED);
            wzp_session_event ev;
            bool refused = false;
            while (wzp_call_session_next_event(w.s, &ev)) {
                assert_int_not_equal(ev.type, WZP_EV_PEER_READY);
                if (ev.type == WZP_EV_PEER_UNPROVEN) {
                    assert_string_equal(ev.fingerprint, w.fp_b); /* the key that signed */
                    refused = true;
                }
            }
            /* B holding another room's key refuses A's offer itself: A hears nothing back */
            bool a_hears = !(has && !b_calls);
            assert_int_equal(refused, a_hears);
            assert_int_equal(wzp_call_session_stats(w.s).peers_unproven, a_hears ? 1 : 0);
            for (size_t i = 0; i < w.path.nout; i++) {
                const wzp_signal *m = w.path.out[i];
                assert_false(m->type == WZP_SIG_PEER_SIGNAL &&
                             (m->u.peer_signal.inner->type == WZP_SIG_SENDER_KEY ||
                              m->u.peer_signal.inner->type == WZP_SIG_KEY_CONFIRM));
            }
            wzp_peer_view v[4];
            assert_int_equal(ready_peers(&w, v), 0);
            teardown_world(&w);
        }
    }
}

static bool admit_nobody(void *user, const uint8_t *fp) {
    world *w = user;
    assert_memory_equal(fp, w->b.fingerprint, WZP_FINGERPRINT_SIZE); /* asked about B, proven */
    return false;
}

static bool admit_b(void *user, const uint8_t *fp) {
    world *w = user;
    return memcmp(fp, w->b.fingerprint, WZP_FINGERPRINT_SIZE) == 0;
}

/* --require-verified: a member A does not admit (not a contact) is refused once its key proved
 * who it is, whether it calls or answers, and gets no key; one A admits is heard as usual. */
static void test_a_member_not_admitted_gets_no_keys(void **state) {
    (void)state;
    static world w;
    for (int b_calls = 0; b_calls < 2; b_calls++) {
        world_admit = admit_b;
        open_world_in(&w, false, b_calls, NULL, NULL);
        assert_int_equal(run_handshake(&w), WZP_HS_ESTABLISHED);
        teardown_world(&w);
        world_admit = admit_nobody;
        open_world_in(&w, false, b_calls, NULL, NULL);
        assert_int_not_equal(run_handshake(&w), WZP_HS_ESTABLISHED);
        wzp_session_event ev;
        bool refused = false;
        while (wzp_call_session_next_event(w.s, &ev)) {
            assert_int_not_equal(ev.type, WZP_EV_PEER_READY);
            if (ev.type == WZP_EV_PEER_UNVERIFIED) {
                assert_string_equal(ev.fingerprint, w.fp_b);
                refused = true;
            }
        }
        assert_true(refused);
        for (size_t i = 0; i < w.path.nout; i++) {
            const wzp_signal *m = w.path.out[i];
            assert_false(m->type == WZP_SIG_PEER_SIGNAL &&
                         (m->u.peer_signal.inner->type == WZP_SIG_SENDER_KEY ||
                          m->u.peer_signal.inner->type == WZP_SIG_KEY_CONFIRM));
        }
        teardown_world(&w);
    }
    world_admit = NULL;
}

static void test_an_impostor_that_calls_is_refused(void **state) {
    (void)state;
    impostor(true);
}

static void test_an_impostor_that_answers_is_refused(void **state) {
    (void)state;
    impostor(false);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_sender_key_for_another_members_media_is_refused),
        cmocka_unit_test(test_a_member_no_longer_listed_loses_its_keys),
        cmocka_unit_test(test_an_older_epochs_key_is_not_taken_back),
        cmocka_unit_test(test_a_sender_steps_down_as_the_third_bad_report_arrives),
        cmocka_unit_test(test_bunched_reports_take_one_step),
        cmocka_unit_test(test_an_impostor_that_calls_is_refused),
        cmocka_unit_test(test_an_impostor_that_answers_is_refused),
        cmocka_unit_test(test_a_secret_room_admits_only_who_proves_its_secret),
        cmocka_unit_test(test_a_member_not_admitted_gets_no_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
