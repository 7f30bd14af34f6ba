/* MediaHeader (SPEC §3.1): golden bytes, edge values, and every malformed input. */
#include "testutil.h"
#include "wzp/proto.h"

static const wzp_media_header k_edge = {
    .version = 0,
    .is_repair = true,
    .codec_id = WZP_CODEC_CODEC2_1200,
    .has_quality_report = true,
    .fec_ratio = 127,
    .ctx_epoch = 3,
    .seq = 65535,
    .timestamp_ms = UINT32_MAX,
    .fec_block_id = 255,
    .fec_symbol_idx = 255,
    .reserved = 0xAB,
    .csrc_count = 1,
};

static void test_header_encodes_golden_bytes_at_edge_values(void **state) {
    (void)state;
    uint8_t buf[16], want[12];
    size_t n = 0;
    testutil_hex("53 FF FFFF FFFFFFFF FF FF AB 01", want, sizeof(want));
    assert_int_equal(wzp_media_header_encode(&k_edge, buf, sizeof(buf), &n), 0);
    assert_int_equal(n, WZP_MEDIA_HEADER_SIZE);
    assert_memory_equal(buf, want, 12);
}

static void test_header_encodes_golden_bytes_for_good_tier_source(void **state) {
    (void)state;
    wzp_media_header h = {.codec_id = WZP_CODEC_OPUS_24K,
                          .fec_ratio = wzp_fec_ratio_encode(0.2f),
                          .seq = 0x1234,
                          .timestamp_ms = 0x00010203,
                          .fec_block_id = 7,
                          .fec_symbol_idx = 3};
    uint8_t buf[12], want[12];
    size_t n = 0;
    testutil_hex("00 34 1234 00010203 07 03 00 00", want, sizeof(want));
    assert_int_equal(wzp_media_header_encode(&h, buf, sizeof(buf), &n), 0);
    assert_memory_equal(buf, want, 12);
}

static void test_header_round_trips_every_codec_and_ratio(void **state) {
    (void)state;
    for (unsigned codec = 0; codec < WZP_CODEC_COUNT; codec++) {
        for (unsigned ratio = 0; ratio <= 127; ratio++) {
            wzp_media_header h = k_edge, d;
            h.codec_id = (uint8_t)codec;
            h.fec_ratio = (uint8_t)ratio;
            h.is_repair = (ratio & 1) != 0;
            h.has_quality_report = (ratio & 2) != 0;
            uint8_t buf[12];
            size_t n = 0, used = 0;
            assert_int_equal(wzp_media_header_encode(&h, buf, sizeof(buf), &n), 0);
            assert_int_equal(wzp_media_header_decode(buf, n, &d, &used), 0);
            assert_int_equal(used, 12);
            assert_true(wzp_media_header_equal(&h, &d));
        }
    }
}

static void test_header_round_trips_seq_and_timestamp_extremes(void **state) {
    (void)state;
    const uint16_t seqs[] = {0, 1, 32767, 32768, 65534, 65535};
    const uint32_t tss[] = {0, 1, 0x7FFFFFFF, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        for (size_t j = 0; j < sizeof(tss) / sizeof(tss[0]); j++) {
            wzp_media_header h = k_edge, d;
            h.seq = seqs[i];
            h.timestamp_ms = tss[j];
            uint8_t buf[12];
            size_t n = 0, used = 0;
            assert_int_equal(wzp_media_header_encode(&h, buf, sizeof(buf), &n), 0);
            assert_int_equal(wzp_media_header_decode(buf, n, &d, &used), 0);
            assert_int_equal(d.seq, seqs[i]);
            assert_int_equal(d.timestamp_ms, tss[j]);
        }
    }
}

static void test_header_rejects_every_truncation(void **state) {
    (void)state;
    uint8_t buf[12];
    size_t n = 0;
    assert_int_equal(wzp_media_header_encode(&k_edge, buf, sizeof(buf), &n), 0);
    for (size_t len = 0; len < n; len++) {
        wzp_media_header d;
        memset(&d, 0x5A, sizeof(d));
        wzp_media_header before = d;
        size_t used = 99;
        assert_int_equal(wzp_media_header_decode(buf, len, &d, &used), WZP_ERR_TRUNCATED);
        assert_memory_equal(&d, &before, sizeof(d)); /* untouched on error */
        assert_int_equal(used, 99);
    }
}

static void test_header_rejects_unknown_version_and_codec(void **state) {
    (void)state;
    uint8_t buf[12];
    size_t n = 0, used = 0;
    wzp_media_header d;
    assert_int_equal(wzp_media_header_encode(&k_edge, buf, sizeof(buf), &n), 0);
    uint8_t bad[12];
    memcpy(bad, buf, 12);
    bad[0] |= 0x80;
    assert_int_equal(wzp_media_header_decode(bad, 12, &d, &used), WZP_ERR_BAD_VERSION);
    for (unsigned codec = WZP_CODEC_COUNT; codec < 16; codec++) {
        memcpy(bad, buf, 12);
        bad[0] = (uint8_t)((bad[0] & 0xC3u) | (codec << 2));
        assert_int_equal(wzp_media_header_decode(bad, 12, &d, &used), WZP_ERR_UNKNOWN_CODEC);
    }
}

static void test_header_carries_context_epoch_in_spare_bits(void **state) {
    (void)state;
    for (uint8_t e = 0; e < 4; e++) {
        wzp_media_header h = k_edge, d;
        h.ctx_epoch = e;
        uint8_t buf[12];
        size_t n = 0, used = 0;
        assert_int_equal(wzp_media_header_encode(&h, buf, sizeof(buf), &n), 0);
        assert_int_equal(buf[1] & 0x03, e);
        assert_int_equal(buf[1] >> 2, 63); /* FEC ratio bits untouched */
        assert_int_equal(wzp_media_header_decode(buf, n, &d, &used), 0);
        assert_int_equal(d.ctx_epoch, e);
    }
}

static void test_header_encode_refuses_invalid_fields(void **state) {
    (void)state;
    uint8_t buf[12];
    size_t n = 0;
    wzp_media_header h = k_edge;
    assert_int_equal(wzp_media_header_encode(&h, buf, 11, &n), WZP_ERR_BUFFER_TOO_SMALL);
    h.fec_ratio = 128;
    assert_int_equal(wzp_media_header_encode(&h, buf, 12, &n), WZP_ERR_OUT_OF_RANGE);
    h = k_edge;
    h.codec_id = 9;
    assert_int_equal(wzp_media_header_encode(&h, buf, 12, &n), WZP_ERR_UNKNOWN_CODEC);
    h = k_edge;
    h.ctx_epoch = 4;
    assert_int_equal(wzp_media_header_encode(&h, buf, 12, &n), WZP_ERR_OUT_OF_RANGE);
    h = k_edge;
    h.version = 1;
    assert_int_equal(wzp_media_header_encode(&h, buf, 12, &n), WZP_ERR_BAD_VERSION);
}

static void test_fec_ratio_encoding_saturates(void **state) {
    (void)state;
    assert_int_equal(wzp_fec_ratio_encode(0.0f), 0);
    assert_int_equal(wzp_fec_ratio_encode(0.2f), 13);
    assert_int_equal(wzp_fec_ratio_encode(0.5f), 32);
    assert_int_equal(wzp_fec_ratio_encode(1.0f), 64);
    assert_int_equal(wzp_fec_ratio_encode(2.0f), 127);
    assert_int_equal(wzp_fec_ratio_encode(7.0f), 127);
    assert_int_equal(wzp_fec_ratio_encode(-1.0f), 0);
    assert_int_equal(wzp_fec_ratio_encode(0.0f / 0.0f), 0);
    assert_float_equal(wzp_fec_ratio_decode(127), 2.0, 1e-6);
    assert_float_equal(wzp_fec_ratio_decode(0), 0.0, 1e-9);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_encodes_golden_bytes_at_edge_values),
        cmocka_unit_test(test_header_encodes_golden_bytes_for_good_tier_source),
        cmocka_unit_test(test_header_round_trips_every_codec_and_ratio),
        cmocka_unit_test(test_header_round_trips_seq_and_timestamp_extremes),
        cmocka_unit_test(test_header_rejects_every_truncation),
        cmocka_unit_test(test_header_rejects_unknown_version_and_codec),
        cmocka_unit_test(test_header_carries_context_epoch_in_spare_bits),
        cmocka_unit_test(test_header_encode_refuses_invalid_fields),
        cmocka_unit_test(test_fec_ratio_encoding_saturates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
