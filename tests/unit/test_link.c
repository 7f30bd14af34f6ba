/* The forward-mode link without a network: two ends wired through a lossy "wire" in memory. */
#include "testutil.h"

#include "wzp/link.h"
#include "wzp/quic.h"
#include "wzp/addr.h"

#define MAXQ 4096

typedef struct wire {
    uint8_t q[MAXQ][WZP_LINK_MAX_DATAGRAM + WZP_HOP_OVERHEAD];
    size_t len[MAXQ], n;
} wire;

typedef struct end {
    wire *out;
    uint32_t got_tunnel[MAXQ];
    size_t got_len[MAXQ], got;
    uint8_t last[WZP_LINK_MAX_DATAGRAM];
} end;

static void to_wire(void *user, const uint8_t *d, size_t len) {
    end *e = user;
    assert_true(e->out->n < MAXQ);
    memcpy(e->out->q[e->out->n], d, len);
    e->out->len[e->out->n++] = len;
}

static void got(void *user, uint32_t tunnel, const uint8_t *d, size_t len) {
    end *e = user;
    e->got_tunnel[e->got] = tunnel;
    e->got_len[e->got++] = len;
    memcpy(e->last, d, len);
}

/* The two ends of one link session, as a forwarding relay (client side) and its remote. */
static void link_sessions(wzp_link *a, wzp_link *b, uint64_t counter) {
    uint8_t exporter[32];
    memset(exporter, 1, sizeof(exporter));
    wzp_hop_session ha, hb;
    assert_int_equal(wzp_hop_session_init(&ha, WZP_HOP_CLIENT, 0x05000077u, exporter), 0);
    assert_int_equal(wzp_hop_session_init(&hb, WZP_HOP_RELAY, 0x05000077u, exporter), 0);
    ha.tx.counter = hb.tx.counter = counter; /* both ends have been talking that long */
    ha.rx.replay.top = hb.rx.replay.top = counter;
    wzp_link_set_session(a, &ha);
    wzp_link_set_session(b, &hb);
}

static void pair(wzp_link **a, wzp_link **b, end *ea, end *eb, wire *ab, wire *ba) {
    memset(ea, 0, sizeof(*ea));
    memset(eb, 0, sizeof(*eb));
    ea->out = ab;
    eb->out = ba;
    assert_int_equal(wzp_link_new(to_wire, got, ea, a), WZP_OK);
    assert_int_equal(wzp_link_new(to_wire, got, eb, b), WZP_OK);
    link_sessions(*a, *b, 0);
}

static void test_link_fec_recovers_loss(void **state) {
    (void)state;
    static wire ab, ba;
    static end ea, eb;
    wzp_link *a, *b;
    ab.n = ba.n = 0;
    pair(&a, &b, &ea, &eb, &ab, &ba);
    uint8_t pkt[120];
    for (unsigned i = 0; i < 800; i++) { /* 800 media-sized datagrams from 4 tunnels */
        memset(pkt, (int)i, sizeof(pkt));
        assert_int_equal(wzp_link_send(a, 1000 + i % 4, pkt, 60 + i % 60, i * 5), WZP_OK);
        wzp_link_tick(a, i * 5);
    }
    uint64_t seed = 7;
    unsigned dropped = 0;
    for (size_t i = 0; i < ab.n; i++) { /* 20% random loss */
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        if ((seed >> 33) % 100 < 20) {
            dropped++;
            continue;
        }
        assert_int_equal(wzp_link_receive(b, ab.q[i], ab.len[i], i), WZP_OK);
    }
    wzp_link_tick(b, 100000); /* release what re-pacing holds */
    wzp_link_stats sb = wzp_link_get_stats(b);
    print_message(
        "link: %zu datagrams (800 + repairs), %u dropped, %zu delivered, %llu recovered\n", ab.n,
        dropped, eb.got, (unsigned long long)sb.recovered);
    /* 8 + 4 per block: a block fails when 5 of its 12 are lost (7% of blocks at 20%); what
     * is left (about 3%) is the media FEC's, end to end */
    assert_true(eb.got >= 760);
    assert_true(sb.recovered > 100);
    for (size_t i = 0; i < eb.got; i++) {
        assert_true(eb.got_tunnel[i] >= 1000 && eb.got_tunnel[i] < 1004);
    }
    wzp_link_free(a);
    wzp_link_free(b);
}

static void test_link_raw_and_refusals(void **state) {
    (void)state;
    static wire ab, ba;
    static end ea, eb;
    wzp_link *a, *b;
    ab.n = ba.n = 0;
    pair(&a, &b, &ea, &eb, &ab, &ba);
    uint8_t big[1200];
    memset(big, 0x5a, sizeof(big));
    assert_int_equal(wzp_link_send(b, 42, big, sizeof(big), 0), WZP_OK); /* too big for FEC */
    assert_int_equal(ba.n, 1);
    assert_int_equal(wzp_link_receive(a, ba.q[0], ba.len[0], 0), WZP_OK);
    assert_int_equal(ea.got, 1);
    assert_int_equal(ea.got_tunnel[0], 42);
    assert_memory_equal(ea.last, big, sizeof(big));
    /* a replay, a forgery and another session change nothing */
    assert_int_equal(wzp_link_receive(a, ba.q[0], ba.len[0], 0), WZP_ERR_REPLAY);
    ba.q[0][10] ^= 1;
    assert_int_not_equal(wzp_link_receive(a, ba.q[0], ba.len[0], 0), WZP_OK);
    assert_int_equal(ea.got, 1);
    uint8_t huge[WZP_LINK_MAX_DATAGRAM];
    assert_int_equal(wzp_link_send(b, 1, huge, sizeof(huge), 0), WZP_ERR_TOO_LARGE);
    wzp_link *c;
    assert_int_equal(wzp_link_new(to_wire, got, &ea, &c), WZP_OK);
    assert_int_equal(wzp_link_send(c, 1, big, 10, 0), WZP_ERR_STATE); /* no session yet */
    wzp_link_free(a);
    wzp_link_free(b);
    wzp_link_free(c);
}

/* A busy link (~50,000 datagrams a second) sends 2^32 hop datagrams in about a day; the hop
 * counter's wire half wraps then. Nothing is lost across the wrap (the 32-bit counter of earlier
 * releases stopped there and the link dropped everything from then on). */
static void test_link_survives_its_hop_counter_wrap(void **state) {
    (void)state;
    static wire ab, ba;
    static end ea, eb;
    wzp_link *a, *b;
    ab.n = ba.n = 0;
    pair(&a, &b, &ea, &eb, &ab, &ba);
    link_sessions(a, b, 0xFFFFFFFFull - 150);
    uint8_t pkt[100] = {1};
    for (unsigned i = 0; i < 300; i++) {
        assert_int_equal(wzp_link_send(a, 7, pkt, sizeof(pkt), i * 2), WZP_OK);
        wzp_link_tick(a, i * 2);
    }
    wzp_link_tick(a, 10000);
    for (size_t i = 0; i < ab.n; i++) {
        assert_int_equal(wzp_link_receive(b, ab.q[i], ab.len[i], 600), WZP_OK);
    }
    wzp_link_tick(b, 100000);
    print_message("link across the wrap: %zu hop datagrams, %zu delivered\n", ab.n, eb.got);
    assert_true(ab.n > 300); /* the datagrams and their repairs crossed 2^32 */
    assert_int_equal(eb.got, 300);
    wzp_link_free(a);
    wzp_link_free(b);
}

static uint64_t g_now;
static uint64_t g_delivered_at[1000];

static void got_timed(void *user, uint32_t tunnel, const uint8_t *d, size_t len) {
    (void)user;
    (void)tunnel;
    unsigned seq = (unsigned)d[0] << 8 | d[1];
    assert_true(len >= 2 && seq < 1000);
    g_delivered_at[seq] = g_now;
}

/* The stretch between the relays adds 0..40 ms of jitter and loses 10%: the receiving end
 * releases datagrams at the pace they were sent (a constant delay), recovered ones included. */
static void test_link_repaces(void **state) {
    (void)state;
    static wire ab;
    static end ea;
    wzp_link *a, *b;
    memset(&ea, 0, sizeof(ea));
    ab.n = 0;
    ea.out = &ab;
    assert_int_equal(wzp_link_new(to_wire, got, &ea, &a), WZP_OK);
    assert_int_equal(wzp_link_new(to_wire, got_timed, NULL, &b), WZP_OK);
    link_sessions(a, b, 0);
    static uint64_t arrive[MAXQ];
    uint64_t seed = 3;
    const unsigned n = 400;
    size_t sent_before = 0;
    memset(g_delivered_at, 0, sizeof(g_delivered_at));
    for (unsigned i = 0; i < n; i++) { /* one datagram every 20 ms, from t = 1000 */
        uint8_t pkt[80] = {(uint8_t)(i >> 8), (uint8_t)i};
        uint64_t t = 1000 + i * 20;
        assert_int_equal(wzp_link_send(a, 9, pkt, sizeof(pkt), t), WZP_OK);
        wzp_link_tick(a, t);
        for (; sent_before < ab.n; sent_before++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            bool lost = (seed >> 33) % 100 < 10;
            arrive[sent_before] = lost ? 0 : t + 5 + (seed >> 40) % 41;
        }
    }
    for (g_now = 1000; g_now < 1000 + n * 20 + 500; g_now++) { /* the receiver, ms by ms */
        for (size_t i = 0; i < ab.n; i++) {
            if (arrive[i] == g_now) {
                assert_int_equal(wzp_link_receive(b, ab.q[i], ab.len[i], g_now), WZP_OK);
            }
        }
        wzp_link_tick(b, g_now);
    }
    unsigned delivered = 0, on_pace = 0;
    for (unsigned i = 0; i < n; i++) {
        if (g_delivered_at[i] != 0) {
            delivered++;
            int64_t delay = (int64_t)g_delivered_at[i] - (int64_t)(1000 + i * 20);
            on_pace += delay >= WZP_LINK_PACE_MS && delay <= WZP_LINK_PACE_MS + 10;
        }
    }
    wzp_link_stats st = wzp_link_get_stats(b);
    print_message("re-paced: %u of %u delivered, %u at a constant delay (%d..%d ms), %llu late, "
                  "%llu recovered\n",
                  delivered, n, on_pace, WZP_LINK_PACE_MS, WZP_LINK_PACE_MS + 10,
                  (unsigned long long)st.late, (unsigned long long)st.recovered);
    assert_true(delivered >= n * 97 / 100);
    assert_true(on_pace >= delivered * 95 / 100); /* the 0..40 ms jitter is gone */
    wzp_link_free(a);
    wzp_link_free(b);
}

static void test_virtual_addresses(void **state) {
    (void)state;
    struct sockaddr_storage v, r;
    socklen_t l;
    wzp_virtual_addr_make(0x0102, 0xdeadbeef, &v);
    assert_true(wzp_virtual_addr_is((const struct sockaddr *)&v));
    uint32_t link = 0, tunnel = 0;
    wzp_virtual_addr_parts((const struct sockaddr *)&v, &link, &tunnel);
    assert_int_equal(link, 0x0102);
    assert_int_equal(tunnel, 0xdeadbeef);
    assert_int_equal(wzp_addr_parse("[fd77:7a70:6c6b::1]:5", &r, &l), WZP_OK);
    assert_true(wzp_virtual_addr_is((const struct sockaddr *)&r)); /* such sources are dropped */
    assert_int_equal(wzp_addr_parse("[fd77:7a70:6c6c::1]:5", &r, &l), WZP_OK);
    assert_false(wzp_virtual_addr_is((const struct sockaddr *)&r));
    assert_int_equal(wzp_addr_parse("127.0.0.1:5", &r, &l), WZP_OK);
    assert_false(wzp_virtual_addr_is((const struct sockaddr *)&r));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_fec_recovers_loss),
        cmocka_unit_test(test_link_raw_and_refusals),
        cmocka_unit_test(test_link_survives_its_hop_counter_wrap),
        cmocka_unit_test(test_link_repaces),
        cmocka_unit_test(test_virtual_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
