/* Relay rooms: auto-create and delete, fan-out to everyone but the sender and never across
 * rooms, limits with clear errors, idle expiry, RoomUpdate contents. */
#include "testutil.h"
#include "wzp/relay.h"

static const wzp_relay_config k_cfg = {8, 3, 30000};

static void fp_of(uint8_t fp[16], uint8_t v) {
    memset(fp, v, 16);
}

static void test_fanout_reaches_the_room_but_not_the_sender(void **state) {
    (void)state;
    wzp_rooms *r = NULL;
    assert_int_equal(wzp_rooms_new(&k_cfg, &r), 0);
    uint8_t fp[16];
    uint32_t a, b, c, d;
    fp_of(fp, 1);
    assert_int_equal(wzp_rooms_join(r, "room-x", fp, "alice", NULL, 0, &a), 0);
    fp_of(fp, 2);
    assert_int_equal(wzp_rooms_join(r, "room-x", fp, "bob", NULL, 0, &b), 0);
    fp_of(fp, 3);
    assert_int_equal(wzp_rooms_join(r, "room-x", fp, NULL, NULL, 0, &c), 0);
    fp_of(fp, 4);
    assert_int_equal(wzp_rooms_join(r, "room-y", fp, "dave", NULL, 0, &d), 0);
    assert_true((a & 0x80000000u) == 0 && a != b && b != c && c != d);
    uint32_t out[8];
    size_t n = wzp_rooms_fanout(r, a, out, 8);
    assert_int_equal(n, 2);
    assert_true((out[0] == b && out[1] == c) || (out[0] == c && out[1] == b));
    assert_int_equal(wzp_rooms_fanout(r, d, out, 8), 0); /* alone in room-y */
    assert_int_equal(wzp_rooms_count(r, "room-x"), 3);
    assert_int_equal(wzp_rooms_leave(r, a), 0);
    assert_int_equal(wzp_rooms_leave(r, a), WZP_ERR_UNKNOWN_KEY);
    assert_int_equal(wzp_rooms_fanout(r, b, out, 8), 1);
    assert_int_equal(wzp_rooms_leave(r, d), 0);
    assert_int_equal(wzp_rooms_count(r, "room-y"), 0); /* the room went with its last member */
    assert_int_equal(wzp_rooms_total(r), 2);
    wzp_rooms_free(r);
}

static void test_limits_are_refused_clearly(void **state) {
    (void)state;
    wzp_rooms *r = NULL;
    assert_int_equal(wzp_rooms_new(&k_cfg, &r), 0);
    uint8_t fp[16] = {0};
    uint32_t sid;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wzp_rooms_join(r, "small", fp, NULL, NULL, 0, &sid), 0);
    }
    assert_int_equal(wzp_rooms_join(r, "small", fp, NULL, NULL, 0, &sid), WZP_ERR_TOO_MANY_ENTRIES);
    for (int i = 0; i < 5; i++) {
        char room[16];
        snprintf(room, sizeof(room), "r%d", i);
        assert_int_equal(wzp_rooms_join(r, room, fp, NULL, NULL, 0, &sid), 0);
    }
    assert_int_equal(wzp_rooms_join(r, "another", fp, NULL, NULL, 0, &sid), WZP_ERR_FULL);
    char longname[80];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[79] = 0;
    assert_int_equal(wzp_rooms_join(r, longname, fp, NULL, NULL, 0, &sid), WZP_ERR_INVALID_ARG);
    wzp_rooms_free(r);
}

static void test_idle_sessions_expire_and_room_update_lists_members(void **state) {
    (void)state;
    wzp_rooms *r = NULL;
    assert_int_equal(wzp_rooms_new(&k_cfg, &r), 0);
    uint8_t fp[16];
    uint32_t a, b;
    fp_of(fp, 0x27);
    assert_int_equal(wzp_rooms_join(r, "x", fp, "alice", NULL, 1000, &a), 0);
    fp_of(fp, 0x51);
    assert_int_equal(wzp_rooms_join(r, "x", fp, NULL, NULL, 1000, &b), 0);
    wzp_signal *m = NULL;
    assert_int_equal(wzp_rooms_update_message(r, "x", &m), 0);
    assert_int_equal(m->u.room_update.count, 2);
    assert_string_equal(m->u.room_update.participants.items[0].fingerprint,
                        "2727:2727:2727:2727:2727:2727:2727:2727");
    assert_string_equal(m->u.room_update.participants.items[0].alias, "alice");
    assert_null(m->u.room_update.participants.items[1].alias);
    wzp_signal_free(m);
    wzp_rooms_touch(r, a, 20000);
    uint32_t gone[4];
    assert_int_equal(wzp_rooms_idle(r, 31001 + 1000, gone, 4), 1); /* b was idle > 30 s */
    assert_int_equal(gone[0], b);
    assert_non_null(wzp_rooms_get(r, b)); /* listed, not removed: its connection is closed */
    assert_int_equal(wzp_rooms_leave(r, b), 0);
    assert_null(wzp_rooms_get(r, b));
    assert_non_null(wzp_rooms_get(r, a));
    wzp_rooms_free(r);
}

/* Thousands of joins and leaves in random order against a plain model: every session found by
 * id, every room's members and count right, rooms gone with their last member (the relay's
 * indexes: open addressing with backward-shift deletion, member lists). */
static void test_index_survives_churn(void **state) {
    (void)state;
    enum { CAP = 1000, ROOMS = 37 };
    static const wzp_relay_config cfg = {CAP, CAP, 30000};
    wzp_rooms *r = NULL;
    assert_int_equal(wzp_rooms_new(&cfg, &r), 0);
    static uint32_t sid[CAP];
    static int room_of[CAP]; /* -1: not joined */
    uint32_t rng = 99;
    for (int i = 0; i < CAP; i++) {
        room_of[i] = -1;
    }
    for (int step = 0; step < 20000; step++) {
        rng = rng * 1664525u + 1013904223u;
        int i = (int)((rng >> 8) % CAP);
        char name[16];
        if (room_of[i] < 0) {
            int room = (int)((rng >> 20) % ROOMS);
            snprintf(name, sizeof(name), "room-%d", room);
            uint8_t fp[16];
            fp_of(fp, (uint8_t)i);
            assert_int_equal(wzp_rooms_join(r, name, fp, NULL, NULL, 0, &sid[i]), 0);
            room_of[i] = room;
        } else {
            assert_int_equal(wzp_rooms_leave(r, sid[i]), 0);
            assert_null(wzp_rooms_get(r, sid[i]));
            room_of[i] = -1;
        }
        if (step % 997 != 0) {
            continue;
        }
        size_t total = 0, active = 0;
        for (int room = 0; room < ROOMS; room++) {
            size_t want = 0;
            for (int j = 0; j < CAP; j++) {
                want += room_of[j] == room;
            }
            snprintf(name, sizeof(name), "room-%d", room);
            assert_int_equal(wzp_rooms_count(r, name), want);
            total += want;
            active += want > 0;
        }
        assert_int_equal(wzp_rooms_total(r), total);
        assert_int_equal(wzp_rooms_active(r), active);
        for (int j = 0; j < CAP; j++) {
            if (room_of[j] >= 0) {
                wzp_session *s = wzp_rooms_get(r, sid[j]);
                assert_non_null(s);
                snprintf(name, sizeof(name), "room-%d", room_of[j]);
                assert_string_equal(s->room, name);
                uint32_t out[CAP];
                assert_int_equal(wzp_rooms_fanout(r, sid[j], out, CAP),
                                 wzp_rooms_count(r, name) - 1);
            }
        }
    }
    wzp_rooms_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fanout_reaches_the_room_but_not_the_sender),
        cmocka_unit_test(test_limits_are_refused_clearly),
        cmocka_unit_test(test_idle_sessions_expire_and_room_update_lists_members),
        cmocka_unit_test(test_index_survives_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
