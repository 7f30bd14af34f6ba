/* Hop protection of media datagrams: only the QUIC session's keys authenticate, replays and
 * tampering are refused without state change, sessions are told apart. */
#include "testutil.h"
#include "wzp/mediaplane.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_layout),
        cmocka_unit_test(test_attacks_are_refused_without_state_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
