/* Compact full/mini framing: golden bytes, context epochs, and exact headers under 30% loss,
 * reordering and duplication (SPEC §3.3 and §10.4). */
#include "testutil.h"
#include "wzp/proto.h"

static wzp_media_header base_header(void) {
    wzp_media_header h = {.codec_id = WZP_CODEC_OPUS_24K,
                          .fec_ratio = 13,
                          .seq = 0x0102,
                          .timestamp_ms = 1000,
                          .fec_block_id = 9,
                          .fec_symbol_idx = 0};
    return h;
}

static int encode(wzp_compact_tx *tx, wzp_media_header *h, uint64_t now, uint8_t *buf, size_t *n) {
    wzp_media_header sent;
    int rc = wzp_compact_tx_encode(tx, h, now, buf, 32, n, &sent);
    *h = sent;
    return rc;
}

static void test_first_frame_is_full_then_mini_until_the_50th(void **state) {
    (void)state;
    wzp_compact_tx tx;
    wzp_compact_tx_init(&tx);
    wzp_media_header h = base_header();
    for (int i = 0; i < 120; i++) {
        uint8_t buf[32];
        size_t n = 0;
        h.seq = (uint16_t)(0x0102 + i);
        h.timestamp_ms = 1000u + 20u * (unsigned)i;
        h.fec_block_id = (uint8_t)(9 + i / 6);
        h.fec_symbol_idx = (uint8_t)(i % 6);
        h.is_repair = (i % 6) == 5;
        assert_int_equal(encode(&tx, &h, (uint64_t)i * 10, buf, &n), 0);
        /* the first three are full (a new stream), then every 50th */
        bool full = i < WZP_COMPACT_CHANGE_REPEAT || (i - 2) % WZP_COMPACT_FULL_INTERVAL == 0;
        assert_int_equal(buf[0], full ? WZP_FRAME_TYPE_FULL : WZP_FRAME_TYPE_MINI);
        assert_int_equal(n, full ? 13 : 6);
    }
}

static void test_full_header_at_least_once_a_second(void **state) {
    (void)state;
    wzp_compact_tx tx;
    wzp_compact_tx_init(&tx);
    wzp_media_header h = base_header();
    uint8_t buf[32];
    size_t n = 0;
    int fulls = 0;
    for (int i = 0; i < 40; i++) { /* comfort noise: one packet per 200 ms */
        h.seq = (uint16_t)(h.seq + 1);
        h.timestamp_ms += 200;
        assert_int_equal(encode(&tx, &h, 200u * (unsigned)i, buf, &n), 0);
        fulls += buf[0] == WZP_FRAME_TYPE_FULL;
    }
    assert_int_equal(fulls, WZP_COMPACT_CHANGE_REPEAT + (40 - 3) / 5);
}

static void test_mini_header_golden_bytes(void **state) {
    (void)state;
    wzp_mini_header m = {.seq_lsb = 0x07,
                         .ts_lsb = 0x1234,
                         .fec_block_id = 0xF0,
                         .fec_symbol_idx = 5,
                         .ctx_epoch = 2,
                         .is_repair = true,
                         .has_quality_report = false};
    uint8_t buf[5], want[5];
    size_t n = 0;
    assert_int_equal(wzp_mini_header_encode(&m, buf, sizeof(buf), &n), 0);
    /* seq 07 | epoch 2 << 6 | sym 5 = 0x85 | block F0 | T << 15 | ts 0x1234 = 0x9234 */
    testutil_hex("07 85 F0 9234", want, sizeof(want));
    assert_int_equal(n, 5);
    assert_memory_equal(buf, want, 5);
    wzp_mini_header d;
    size_t used = 0;
    assert_int_equal(wzp_mini_header_decode(buf, n, &d, &used), 0);
    assert_int_equal(d.seq_lsb, m.seq_lsb);
    assert_int_equal(d.ts_lsb, m.ts_lsb);
    assert_int_equal(d.fec_block_id, m.fec_block_id);
    assert_int_equal(d.fec_symbol_idx, m.fec_symbol_idx);
    assert_int_equal(d.ctx_epoch, m.ctx_epoch);
    assert_true(d.is_repair);
    assert_false(d.has_quality_report);
    m.fec_symbol_idx = 64;
    assert_int_equal(wzp_mini_header_encode(&m, buf, sizeof(buf), &n), WZP_ERR_OUT_OF_RANGE);
}

static void test_expansion_restores_high_bits_across_wrap(void **state) {
    (void)state;
    wzp_media_header ctx = base_header(), out;
    wzp_mini_header m = {.seq_lsb = 0x02, .ts_lsb = 0x0010, .fec_block_id = 1};
    /* reference just before the 16-bit sequence and 14-bit timestamp wrap */
    wzp_mini_header_expand(&m, &ctx, 0xFFF0, 0x0003FFF0u, &out);
    assert_int_equal(out.seq, 0x0002);
    assert_int_equal(out.timestamp_ms, 0x00040010u);
    /* a reordered packet 60 behind the reference */
    m.seq_lsb = (uint8_t)(0x10 - 60);
    m.ts_lsb = (uint16_t)((0x4000 + 0x0010 - 1200) & 0x3FFF);
    wzp_mini_header_expand(&m, &ctx, 0x0010, 0x00040010u, &out);
    assert_int_equal(out.seq, (uint16_t)(0x0010 - 60));
    assert_int_equal(out.timestamp_ms, 0x00040010u - 1200);
}

static void test_stream_field_change_opens_new_epoch_with_full_headers(void **state) {
    (void)state;
    wzp_compact_tx tx;
    wzp_compact_tx_init(&tx);
    wzp_media_header h = base_header();
    uint8_t buf[32];
    size_t n = 0;
    uint64_t now = 0;
    for (int i = 0; i < 10; i++, now += 20) {
        h.seq++;
        assert_int_equal(encode(&tx, &h, now, buf, &n), 0);
    }
    assert_int_equal(h.ctx_epoch, 0);
    h.codec_id = WZP_CODEC_OPUS_6K;
    for (int i = 0; i < WZP_COMPACT_CHANGE_REPEAT; i++, now += 20) {
        h.seq++;
        assert_int_equal(encode(&tx, &h, now, buf, &n), 0);
        assert_int_equal(buf[0], WZP_FRAME_TYPE_FULL);
        assert_int_equal(h.ctx_epoch, 1);
    }
    h.seq++;
    assert_int_equal(encode(&tx, &h, now, buf, &n), 0);
    assert_int_equal(buf[0], WZP_FRAME_TYPE_MINI);
    /* big steps go in full headers */
    h.seq = (uint16_t)(h.seq + WZP_MINI_MAX_SEQ_AHEAD + 1);
    assert_int_equal(encode(&tx, &h, now, buf, &n), 0);
    assert_int_equal(buf[0], WZP_FRAME_TYPE_FULL);
    h.seq++;
    h.timestamp_ms += WZP_MINI_MAX_TS_STEP_MS + 1;
    assert_int_equal(encode(&tx, &h, now, buf, &n), 0);
    assert_int_equal(buf[0], WZP_FRAME_TYPE_FULL);
    h.seq++;
    h.fec_symbol_idx = 64;
    assert_int_equal(encode(&tx, &h, now, buf, &n), 0);
    assert_int_equal(buf[0], WZP_FRAME_TYPE_FULL);
}

static void test_epoch_value_is_quarantined_before_reuse_for_minis(void **state) {
    (void)state;
    wzp_compact_tx tx;
    wzp_compact_tx_init(&tx);
    wzp_media_header h = base_header();
    uint8_t buf[32];
    size_t n = 0;
    uint64_t now = 0;
    /* five stream changes 100 ms apart: the fifth reuses epoch 0, used < 6 s ago */
    for (int change = 0; change < 5; change++) {
        h.fec_ratio = (uint8_t)(10 + change);
        for (int i = 0; i < 5; i++, now += 20) {
            h.seq++;
            assert_int_equal(encode(&tx, &h, now, buf, &n), 0);
        }
    }
    assert_int_equal(h.ctx_epoch, 0);
    for (; now < 5000; now += 20) {
        h.seq++;
        assert_int_equal(encode(&tx, &h, now, buf, &n), 0);
        assert_int_equal(buf[0], WZP_FRAME_TYPE_FULL);
    }
    for (; now < 7000; now += 20) {
        h.seq++;
        assert_int_equal(encode(&tx, &h, now, buf, &n), 0);
    }
    assert_int_equal(buf[0], WZP_FRAME_TYPE_MINI);
}

static void test_mini_without_context_is_rejected_and_changes_nothing(void **state) {
    (void)state;
    wzp_compact_tx tx;
    wzp_compact_tx_init(&tx);
    wzp_media_header h = base_header();
    uint8_t full[32], mini[32];
    size_t nf = 0, nm = 0;
    for (int i = 0; i < 3; i++) {
        h.seq++;
        assert_int_equal(encode(&tx, &h, 0, full, &nf), 0);
    }
    h.seq++;
    assert_int_equal(encode(&tx, &h, 0, mini, &nm), 0);
    assert_int_equal(mini[0], WZP_FRAME_TYPE_MINI);

    wzp_compact_rx rx, before;
    wzp_compact_rx_init(&rx);
    before = rx;
    wzp_media_header out;
    size_t used = 0;
    assert_int_equal(wzp_compact_rx_decode(&rx, mini, nm, 0, &out, &used), WZP_ERR_NO_BASELINE);
    assert_memory_equal(&rx, &before, sizeof(rx));
    assert_int_equal(wzp_compact_rx_decode(&rx, full, nf, 10, &out, &used), 0);
    assert_int_equal(wzp_compact_rx_decode(&rx, mini, nm, 20, &out, &used), 0);
    assert_true(wzp_media_header_equal(&out, &h));
    /* the reference goes stale after a long silence of the channel */
    before = rx;
    assert_int_equal(
        wzp_compact_rx_decode(&rx, mini, nm, 20 + WZP_COMPACT_REF_TTL_MS + 1, &out, &used),
        WZP_ERR_NO_BASELINE);
    assert_memory_equal(&rx, &before, sizeof(rx));
}

static void test_rejects_bad_type_and_every_truncation(void **state) {
    (void)state;
    wzp_compact_tx tx;
    wzp_compact_tx_init(&tx);
    wzp_media_header h = base_header();
    uint8_t full[32], mini[32];
    size_t nf = 0, nm = 0;
    for (int i = 0; i < 3; i++) {
        h.seq++;
        assert_int_equal(encode(&tx, &h, 0, full, &nf), 0);
    }
    h.seq++;
    assert_int_equal(encode(&tx, &h, 0, mini, &nm), 0);
    wzp_compact_rx rx;
    wzp_compact_rx_init(&rx);
    wzp_media_header out;
    size_t used = 0;
    assert_int_equal(wzp_compact_rx_decode(&rx, full, 0, 0, &out, &used), WZP_ERR_EMPTY);
    for (size_t len = 1; len < nf; len++) {
        assert_int_equal(wzp_compact_rx_decode(&rx, full, len, 0, &out, &used), WZP_ERR_TRUNCATED);
    }
    assert_int_equal(wzp_compact_rx_decode(&rx, full, nf, 0, &out, &used), 0);
    for (size_t len = 1; len < nm; len++) {
        assert_int_equal(wzp_compact_rx_decode(&rx, mini, len, 0, &out, &used), WZP_ERR_TRUNCATED);
    }
    uint8_t bad[6] = {0x02, 0x02, 0x01, 0x00, 0, 0};
    assert_int_equal(wzp_compact_rx_decode(&rx, bad, sizeof(bad), 0, &out, &used),
                     WZP_ERR_BAD_FRAME_TYPE);
}

/* ---- a lossy, reordering, duplicating channel ----------------------------------------- */

#define SIM_PACKETS 60000

typedef struct sim_pkt {
    wzp_media_header h; /* as sent */
    uint8_t wire[32];
    size_t len;
    uint64_t arrive_ms;
    int idx;
} sim_pkt;

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    return (uint32_t)(testutil_xorshift(&g_rng) >> 11);
}

static int by_arrival(const void *a, const void *b) {
    const sim_pkt *x = a, *y = b;
    if (x->arrive_ms != y->arrive_ms) {
        return x->arrive_ms < y->arrive_ms ? -1 : 1;
    }
    return x->idx - y->idx;
}

/* A sender stream: the tier changes every 1500 packets, FEC blocks are interleaved 3 deep, a
 * quality report rides every 25th packet, and there are comfort-noise gaps. */
static void build_stream(sim_pkt *pkts) {
    static const struct {
        uint8_t codec, ratio, frame_ms, k, r;
    } tiers[3] = {{WZP_CODEC_OPUS_24K, 13, 20, 5, 1},
                  {WZP_CODEC_OPUS_6K, 32, 40, 10, 5},
                  {WZP_CODEC_CODEC2_1200, 64, 40, 8, 8}};
    wzp_compact_tx tx;
    wzp_compact_tx_init(&tx);
    uint32_t ts = 0xFFFF0000u; /* the timestamp wraps too */
    uint8_t block = 250;
    uint64_t clock = 0;
    int i = 0;
    while (i < SIM_PACKETS) {
        int t = (i / 1500) % 3;
        int per_block = tiers[t].k + tiers[t].r;
        uint32_t ts0 = ts;
        for (int slot = 0; slot < per_block * 3 && i < SIM_PACKETS; slot++, i++) {
            int b = slot % 3, esi = slot / 3;
            wzp_media_header h = {.codec_id = tiers[t].codec, .fec_ratio = tiers[t].ratio};
            h.seq = (uint16_t)(65000 + i); /* wraps early */
            h.fec_block_id = (uint8_t)(block + b);
            h.fec_symbol_idx = (uint8_t)esi;
            h.is_repair = esi >= tiers[t].k;
            h.has_quality_report = (i % 25) == 0;
            int frame = b * tiers[t].k + (esi < tiers[t].k ? esi : tiers[t].k - 1);
            h.timestamp_ms = ts0 + (uint32_t)frame * tiers[t].frame_ms;
            clock += 12;
            sim_pkt *p = &pkts[i];
            p->idx = i;
            assert_int_equal(
                wzp_compact_tx_encode(&tx, &h, clock, p->wire, sizeof(p->wire), &p->len, &p->h), 0);
            p->arrive_ms = clock + 20 + rnd() % 90; /* up to ~8 packets of reordering */
        }
        ts = ts0 + (uint32_t)(3 * tiers[t].k) * tiers[t].frame_ms;
        if (rnd() % 20 == 0) {
            ts += 200 * (1 + rnd() % 5); /* a silence */
            clock += 200;
        }
        block = (uint8_t)(block + 3);
    }
}

static void test_exact_headers_at_30_percent_loss_with_reordering_and_duplicates(void **state) {
    (void)state;
    sim_pkt *pkts = calloc(SIM_PACKETS, sizeof(sim_pkt));
    sim_pkt *chan = calloc(SIM_PACKETS * 2, sizeof(sim_pkt));
    assert_non_null(pkts);
    assert_non_null(chan);
    build_stream(pkts);
    size_t nchan = 0, minis = 0;
    for (int i = 0; i < SIM_PACKETS; i++) {
        minis += pkts[i].wire[0] == WZP_FRAME_TYPE_MINI;
        if (rnd() % 100 < 30) {
            continue; /* lost */
        }
        chan[nchan++] = pkts[i];
        if (rnd() % 100 < 3) {
            chan[nchan] = pkts[i];
            chan[nchan++].arrive_ms += 1 + rnd() % 50; /* a later duplicate */
        }
    }
    qsort(chan, nchan, sizeof(sim_pkt), by_arrival);

    wzp_compact_rx rx;
    wzp_compact_rx_init(&rx);
    size_t ok = 0, refused = 0;
    for (size_t j = 0; j < nchan; j++) {
        const sim_pkt *p = &chan[j];
        wzp_media_header out;
        size_t used = 0;
        int rc = wzp_compact_rx_decode(&rx, p->wire, p->len, p->arrive_ms, &out, &used);
        if (rc == WZP_OK) {
            /* never a mis-expanded header: every field equals what was sent */
            assert_true(wzp_media_header_equal(&out, &p->h));
            assert_int_equal(used, p->len);
            ok++;
        } else {
            assert_int_equal(rc, WZP_ERR_NO_BASELINE);
            refused++;
        }
    }
    print_message("sent %d (%zu mini, %.1f%%), delivered %zu: decoded %zu, refused %zu\n",
                  SIM_PACKETS, minis, 100.0 * (double)minis / SIM_PACKETS, nchan, ok, refused);
    assert_true(minis * 100 >= SIM_PACKETS * 90); /* compression really happens */
    assert_true(refused * 1000 <= nchan * 5);     /* < 0.5% refused: only after tier changes */
    free(chan);
    free(pkts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_frame_is_full_then_mini_until_the_50th),
        cmocka_unit_test(test_full_header_at_least_once_a_second),
        cmocka_unit_test(test_mini_header_golden_bytes),
        cmocka_unit_test(test_expansion_restores_high_bits_across_wrap),
        cmocka_unit_test(test_stream_field_change_opens_new_epoch_with_full_headers),
        cmocka_unit_test(test_epoch_value_is_quarantined_before_reuse_for_minis),
        cmocka_unit_test(test_mini_without_context_is_rejected_and_changes_nothing),
        cmocka_unit_test(test_rejects_bad_type_and_every_truncation),
        cmocka_unit_test(test_exact_headers_at_30_percent_loss_with_reordering_and_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
