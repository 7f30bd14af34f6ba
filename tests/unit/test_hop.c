/* Hop protection of media datagrams: only the QUIC session's keys authenticate, replays and
 * tampering are refused without state change, sessions are told apart, and the 64-bit counter
 * (32 bits on the wire) carries a session across 2^32 packets without a hole or a replay. */
#include <sodium.h>

#include "testutil.h"
#include "wzp/hop.h"

static void setup(wzp_hop_tx *tx, wzp_hop_rx *rx, uint32_t *sid) {
    uint8_t exporter[32];
    for (int i = 0; i < 32; i++) {
        exporter[i] = (uint8_t)(i * 3 + 1);
    }
    wzp_hop_keys keys;
    assert_int_equal(wzp_hop_keys_derive(exporter, &keys), 0);
    assert_memory_not_equal(keys.client_to_relay, keys.relay_to_client, 32);
    *sid = wzp_hop_new_session_id();
    assert_true(*sid != 0 && (*sid & 0x80000000u) == 0);
    wzp_hop_tx_init(tx, *sid, keys.client_to_relay);
    wzp_hop_rx_init(rx, *sid, keys.client_to_relay);
}

static void test_round_trip_and_layout(void **state) {
    (void)state;
    wzp_hop_tx tx;
    wzp_hop_rx rx;
    uint32_t sid;
    setup(&tx, &rx, &sid);
    uint8_t pkt[60], out[100];
    memset(pkt, 0xAB, sizeof(pkt));
    size_t n = 0, plen = 0;
    assert_int_equal(wzp_hop_seal(&tx, pkt, sizeof(pkt), out, sizeof(out), &n), 0);
    assert_int_equal(n, sizeof(pkt) + WZP_HOP_OVERHEAD);
    uint32_t peek = 0;
    assert_int_equal(wzp_hop_peek_session(out, n, &peek), 0);
    assert_int_equal(peek, sid);
    const uint8_t *p;
    assert_int_equal(wzp_hop_open(&rx, out, n, &p, &plen), 0);
    assert_int_equal(plen, sizeof(pkt));
    assert_memory_equal(p, pkt, sizeof(pkt));
    assert_int_equal(wzp_hop_seal(&tx, pkt, sizeof(pkt), out, 70, &n), WZP_ERR_BUFFER_TOO_SMALL);
}

static void test_attacks_are_refused_without_state_change(void **state) {
    (void)state;
    wzp_hop_tx tx;
    wzp_hop_rx rx, before;
    uint32_t sid;
    setup(&tx, &rx, &sid);
    uint8_t pkt[40] = {1}, a[80], b[80];
    size_t na = 0, nb = 0, plen;
    const uint8_t *p;
    assert_int_equal(wzp_hop_seal(&tx, pkt, sizeof(pkt), a, sizeof(a), &na), 0);
    assert_int_equal(wzp_hop_seal(&tx, pkt, sizeof(pkt), b, sizeof(b), &nb), 0);
    assert_int_equal(wzp_hop_open(&rx, b, nb, &p, &plen), 0);
    assert_int_equal(wzp_hop_open(&rx, a, na, &p, &plen), 0); /* reordered but fresh */
    before = rx;
    assert_int_equal(wzp_hop_open(&rx, a, na, &p, &plen), WZP_ERR_REPLAY); /* replayed */
    before.replays++;
    assert_memory_equal(&rx, &before, sizeof(rx));
    uint8_t bad[80];
    memcpy(bad, a, na);
    bad[20] ^= 1; /* tampered payload: a valid session id with a bad MAC */
    assert_int_equal(wzp_hop_open(&rx, bad, na, &p, &plen), WZP_ERR_AUTH);
    memcpy(bad, a, na);
    bad[5] ^= 1; /* tampered counter */
    assert_int_equal(wzp_hop_open(&rx, bad, na, &p, &plen), WZP_ERR_AUTH);
    before.bad_mac += 2;
    assert_memory_equal(&rx, &before, sizeof(rx));
    /* a datagram for another session, and junk */
    wzp_hop_tx other;
    wzp_hop_tx_init(&other, sid ^ 1, tx.key);
    assert_int_equal(wzp_hop_seal(&other, pkt, sizeof(pkt), bad, sizeof(bad), &nb), 0);
    assert_int_equal(wzp_hop_open(&rx, bad, nb, &p, &plen), WZP_ERR_UNKNOWN_KEY);
    for (size_t len = 0; len < WZP_HOP_OVERHEAD; len++) {
        assert_int_equal(wzp_hop_open(&rx, a, len, &p, &plen), WZP_ERR_TRUNCATED);
    }
    uint8_t quic_like[40] = {0xC3, 0, 0, 0, 1};
    uint32_t s;
    assert_int_equal(wzp_hop_peek_session(quic_like, sizeof(quic_like), &s), WZP_ERR_MALFORMED);
    /* the wrong key (someone without the QUIC session) never authenticates */
    uint8_t wrong[32] = {9};
    wzp_hop_tx forger;
    wzp_hop_tx_init(&forger, sid, wrong);
    forger.counter = 1000;
    assert_int_equal(wzp_hop_seal(&forger, pkt, sizeof(pkt), bad, sizeof(bad), &nb), 0);
    assert_int_equal(wzp_hop_open(&rx, bad, nb, &p, &plen), WZP_ERR_AUTH);
}

/* The two sides of one connection made by the one constructor: each opens what the other seals,
 * and a side cannot open its own datagrams (the directions have different keys). */
static void test_session_sides_talk_to_each_other(void **state) {
    (void)state;
    uint8_t exporter[32] = {7, 7, 7};
    wzp_hop_session client, relay;
    uint32_t sid = wzp_hop_new_session_id();
    assert_true(wzp_hop_sid_valid(sid));
    assert_int_equal(wzp_hop_session_init(&client, WZP_HOP_CLIENT, sid, exporter), 0);
    assert_int_equal(wzp_hop_session_init(&relay, WZP_HOP_RELAY, sid, exporter), 0);
    uint8_t pkt[10] = {1, 2, 3}, out[64];
    size_t n = 0, plen = 0;
    const uint8_t *p;
    assert_int_equal(wzp_hop_seal(&client.tx, pkt, sizeof(pkt), out, sizeof(out), &n), 0);
    assert_int_equal(wzp_hop_open(&client.rx, out, n, &p, &plen), WZP_ERR_AUTH);
    assert_int_equal(wzp_hop_open(&relay.rx, out, n, &p, &plen), 0);
    assert_int_equal(wzp_hop_seal(&relay.tx, pkt, sizeof(pkt), out, sizeof(out), &n), 0);
    assert_int_equal(wzp_hop_open(&client.rx, out, n, &p, &plen), 0);
    assert_memory_equal(p, pkt, sizeof(pkt));
    wzp_hop_session_wipe(&client);
    uint8_t zero[sizeof(client)] = {0};
    assert_memory_equal(&client, zero, sizeof(client));
}

/* Session ids live in 0x04000000..0x3FFFFFFF: the first byte tells a media datagram from QUIC
 * (0x40 and up) and STUN (0x00..0x03) on a shared socket. */
static void test_session_ids_stay_in_the_media_range(void **state) {
    (void)state;
    for (int i = 0; i < 10000; i++) {
        uint32_t sid = wzp_hop_new_session_id();
        assert_true(sid >> 24 >= 0x04 && sid >> 24 <= 0x3F);
    }
    uint8_t d[WZP_HOP_OVERHEAD] = {0};
    uint32_t s;
    const uint8_t firsts[] = {0x00, 0x03, 0x40, 0x7F, 0x80, 0xC0, 0xFF};
    for (size_t i = 0; i < sizeof(firsts); i++) {
        d[0] = firsts[i];
        assert_int_equal(wzp_hop_peek_session(d, sizeof(d), &s), WZP_ERR_MALFORMED);
    }
    d[0] = 0x04;
    assert_int_equal(wzp_hop_peek_session(d, sizeof(d), &s), 0);
    d[0] = 0x3F;
    assert_int_equal(wzp_hop_peek_session(d, sizeof(d), &s), 0);
}

/* Below 2^32 packets the MAC is plain keyed BLAKE2b over the datagram (the wire format of
 * earlier releases): the high half of the counter, zero there, is BLAKE2b's all-zero salt. */
static void test_mac_below_two_to_the_32_is_plain_keyed_blake2b(void **state) {
    (void)state;
    wzp_hop_tx tx;
    uint8_t key[32] = {5}, pkt[20] = {9}, out[64], full[16];
    wzp_hop_tx_init(&tx, 0x05000001u, key);
    tx.counter = 0xFFFFFFF0u;
    size_t n = 0;
    assert_int_equal(wzp_hop_seal(&tx, pkt, sizeof(pkt), out, sizeof(out), &n), 0);
    crypto_generichash(full, sizeof(full), out, n - WZP_HOP_MAC_SIZE, key, sizeof(key));
    assert_memory_equal(full, out + n - WZP_HOP_MAC_SIZE, WZP_HOP_MAC_SIZE);
}

/* A busy link (50,000 datagrams a second) passes 2^32 packets in a day. Across the wrap of the
 * wire counter every datagram still opens, in order or a little reordered, and a datagram
 * captured before the wrap cannot be replayed after it (its MAC was made for the old high half). */
static void test_counter_crosses_two_to_the_32(void **state) {
    (void)state;
    uint8_t key[32] = {3}, pkt[12] = {4};
    wzp_hop_tx tx;
    wzp_hop_rx rx;
    wzp_hop_tx_init(&tx, 0x06000000u, key);
    wzp_hop_rx_init(&rx, 0x06000000u, key);
    tx.counter = 0xFFFFFFFFull - 40;
    static uint8_t dg[100][64];
    size_t len[100];
    for (int i = 0; i < 100; i++) {
        assert_int_equal(wzp_hop_seal(&tx, pkt, sizeof(pkt), dg[i], sizeof(dg[i]), &len[i]), 0);
    }
    assert_true(tx.counter > 0x100000000ull);
    const uint8_t *p;
    size_t plen;
    for (int i = 0; i < 100; i += 2) { /* pairs swapped: a little reordering across the wrap */
        assert_int_equal(wzp_hop_open(&rx, dg[i + 1], len[i + 1], &p, &plen), 0);
        assert_int_equal(wzp_hop_open(&rx, dg[i], len[i], &p, &plen), 0);
    }
    assert_int_equal(rx.bad_mac, 0);
    /* replays: one from before the wrap (same low half as nothing sent after it), one after */
    assert_int_equal(wzp_hop_open(&rx, dg[0], len[0], &p, &plen), WZP_ERR_REPLAY);
    assert_int_equal(wzp_hop_open(&rx, dg[99], len[99], &p, &plen), WZP_ERR_REPLAY);
    /* a pre-wrap datagram whose low half comes round again 2^32 packets later: refused */
    wzp_hop_rx later = rx;
    later.replay.top += 0x100000000ull; /* as if 2^32 more had arrived */
    assert_int_equal(wzp_hop_open(&later, dg[0], len[0], &p, &plen), WZP_ERR_AUTH);
}

/* The counter is 64 bits: it ends only after 2^64 packets, with a clean error, never silently. */
static void test_counter_end_is_an_error(void **state) {
    (void)state;
    uint8_t key[32] = {1}, pkt[4] = {0}, out[64];
    wzp_hop_tx tx;
    wzp_hop_rx rx;
    wzp_hop_tx_init(&tx, 0x07000000u, key);
    wzp_hop_rx_init(&rx, 0x07000000u, key);
    tx.counter = UINT64_MAX - 2;
    rx.replay.top = UINT64_MAX - 3; /* the receiver has followed it there */
    size_t n = 0, plen;
    const uint8_t *p;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(wzp_hop_seal(&tx, pkt, sizeof(pkt), out, sizeof(out), &n), 0);
        assert_int_equal(wzp_hop_open(&rx, out, n, &p, &plen), 0);
    }
    assert_int_equal(wzp_hop_seal(&tx, pkt, sizeof(pkt), out, sizeof(out), &n), WZP_ERR_FULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_layout),
        cmocka_unit_test(test_attacks_are_refused_without_state_change),
        cmocka_unit_test(test_session_sides_talk_to_each_other),
        cmocka_unit_test(test_session_ids_stay_in_the_media_range),
        cmocka_unit_test(test_mac_below_two_to_the_32_is_plain_keyed_blake2b),
        cmocka_unit_test(test_counter_crosses_two_to_the_32),
        cmocka_unit_test(test_counter_end_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
