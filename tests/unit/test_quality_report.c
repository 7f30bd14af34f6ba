/* QualityReport trailer (SPEC §3.4): golden bytes and saturating conversions. */
#include "testutil.h"
#include "wzp/proto.h"

static void test_report_golden_bytes_and_round_trip(void **state) {
    (void)state;
    wzp_quality_report r = {
        .loss_pct = 128, .rtt_4ms = 100, .jitter_ms = 50, .bitrate_cap_kbps = 200};
    uint8_t buf[4], want[4];
    size_t n = 0, used = 0;
    testutil_hex("80 64 32 C8", want, sizeof(want));
    assert_int_equal(wzp_quality_report_encode(&r, buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, want, 4);
    wzp_quality_report d;
    assert_int_equal(wzp_quality_report_decode(buf, n, &d, &used), 0);
    assert_memory_equal(&d, &r, sizeof(r));
    assert_int_equal(wzp_quality_report_encode(&r, buf, 3, &n), WZP_ERR_BUFFER_TOO_SMALL);
}

static void test_report_rejects_every_truncation(void **state) {
    (void)state;
    const uint8_t buf[4] = {1, 2, 3, 4};
    for (size_t len = 0; len < 4; len++) {
        wzp_quality_report d = {9, 9, 9, 9};
        size_t used = 7;
        assert_int_equal(wzp_quality_report_decode(buf, len, &d, &used), WZP_ERR_TRUNCATED);
        assert_int_equal(d.loss_pct, 9);
        assert_int_equal(used, 7);
    }
}

static void test_report_conversions_saturate(void **state) {
    (void)state;
    wzp_quality_report r = wzp_quality_report_make(100.0, 1020, 255, 255);
    assert_int_equal(r.loss_pct, 255);
    assert_int_equal(r.rtt_4ms, 255);
    r = wzp_quality_report_make(250.0, 5000, 9999, 100000);
    assert_int_equal(r.loss_pct, 255);
    assert_int_equal(r.rtt_4ms, 255);
    assert_int_equal(r.jitter_ms, 255);
    assert_int_equal(r.bitrate_cap_kbps, 255);
    r = wzp_quality_report_make(-3.0, 0, 0, 0);
    assert_int_equal(r.loss_pct, 0);
    r = wzp_quality_report_make(0.0 / 0.0, 2, 0, 0);
    assert_int_equal(r.loss_pct, 0);
    assert_int_equal(r.rtt_4ms, 1); /* 2 ms rounds to one 4-ms unit */
    r = wzp_quality_report_make(20.0, 300, 40, 24);
    assert_int_equal(r.loss_pct, 51);
    assert_int_equal(wzp_quality_report_rtt_ms(&r), 300);
    assert_float_equal(wzp_quality_report_loss_percent(&r), 20.0, 0.01);
    assert_int_equal(r.jitter_ms, 40);
    assert_int_equal(r.bitrate_cap_kbps, 24);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_golden_bytes_and_round_trip),
        cmocka_unit_test(test_report_rejects_every_truncation),
        cmocka_unit_test(test_report_conversions_saturate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
