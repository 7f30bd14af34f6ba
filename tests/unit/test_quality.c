/* The quality controller: SPEC §7 thresholds, hysteresis, one tier up at a time, FEC boost, and
 * the receiver's loss meter. */
#include <math.h>

#include "testutil.h"
#include "wzp/call.h"

static wzp_quality_report rep(double loss, uint32_t rtt) {
    return wzp_quality_report_make(loss, rtt, 10, 0);
}

static void test_thresholds_for_wifi_and_cellular(void **state) {
    (void)state;
    wzp_quality_report r = rep(5, 100);
    assert_int_equal(wzp_quality_classify(&r, WZP_NET_WIFI), WZP_TIER_GOOD);
    r = rep(12, 100);
    assert_int_equal(wzp_quality_classify(&r, WZP_NET_WIFI), WZP_TIER_DEGRADED);
    r = rep(5, 450);
    assert_int_equal(wzp_quality_classify(&r, WZP_NET_WIFI), WZP_TIER_DEGRADED);
    r = rep(45, 100);
    assert_int_equal(wzp_quality_classify(&r, WZP_NET_WIFI), WZP_TIER_CATASTROPHIC);
    r = rep(5, 700);
    assert_int_equal(wzp_quality_classify(&r, WZP_NET_WIFI), WZP_TIER_CATASTROPHIC);
    r = rep(9, 100);
    assert_int_equal(wzp_quality_classify(&r, WZP_NET_CELLULAR), WZP_TIER_DEGRADED);
    r = rep(5, 320);
    assert_int_equal(wzp_quality_classify(&r, WZP_NET_CELLULAR), WZP_TIER_DEGRADED);
    r = rep(30, 100);
    assert_int_equal(wzp_quality_classify(&r, WZP_NET_CELLULAR), WZP_TIER_CATASTROPHIC);
    r = rep(5, 100);
    assert_int_equal(wzp_quality_classify(&r, WZP_NET_CELLULAR), WZP_TIER_GOOD);
}

static void test_hysteresis_down_fast_up_slow_one_tier_at_a_time(void **state) {
    (void)state;
    wzp_quality_ctl q;
    wzp_quality_init(&q, WZP_NET_WIFI, WZP_TIER_GOOD);
    wzp_quality_report bad = rep(50, 100), good = rep(1, 50), mid = rep(20, 100);
    assert_false(wzp_quality_on_report(&q, &bad, 0));
    assert_false(wzp_quality_on_report(&q, &bad, 1000));
    assert_false(wzp_quality_on_report(&q, &good, 2000)); /* a good one breaks the run */
    assert_false(wzp_quality_on_report(&q, &bad, 3000));
    assert_false(wzp_quality_on_report(&q, &bad, 4000));
    assert_true(wzp_quality_on_report(&q, &bad, 5000));
    assert_int_equal(q.tier, WZP_TIER_CATASTROPHIC); /* straight to what the reports show */
    assert_int_equal(wzp_quality_profile(&q)->codec, WZP_CODEC_CODEC2_1200);
    for (int i = 0; i < 9; i++) {
        assert_false(wzp_quality_on_report(&q, &good, 6000 + (uint64_t)i * 1000));
    }
    assert_true(wzp_quality_on_report(&q, &good, 15000));
    assert_int_equal(q.tier, WZP_TIER_DEGRADED); /* one tier up, not two */
    for (int i = 0; i < 9; i++) {
        assert_false(wzp_quality_on_report(&q, &good, 16000 + (uint64_t)i * 1000));
    }
    assert_true(wzp_quality_on_report(&q, &good, 25000));
    assert_int_equal(q.tier, WZP_TIER_GOOD);
    assert_int_equal(q.history_len, WZP_QUALITY_HISTORY);
    assert_int_equal(q.history[WZP_QUALITY_HISTORY - 1], WZP_TIER_GOOD);
    /* cellular: two reports are enough to go down */
    wzp_quality_init(&q, WZP_NET_CELLULAR, WZP_TIER_GOOD);
    assert_false(wzp_quality_on_report(&q, &mid, 0));
    assert_true(wzp_quality_on_report(&q, &mid, 1000));
    assert_int_equal(q.tier, WZP_TIER_DEGRADED);
}

static void test_loss_spike_boosts_fec(void **state) {
    (void)state;
    wzp_quality_ctl q;
    wzp_quality_init(&q, WZP_NET_WIFI, WZP_TIER_GOOD);
    wzp_quality_report low = rep(1, 50), spike = rep(9, 50);
    for (int i = 0; i < 5; i++) {
        wzp_quality_on_report(&q, &low, (uint64_t)i * 1000);
    }
    assert_float_equal(wzp_quality_fec_ratio(&q, 5000), 0.2, 1e-6);
    wzp_quality_on_report(&q, &spike, 5000);
    assert_int_equal(q.tier, WZP_TIER_GOOD);
    /* the boost alone would give 0.4; at 9% loss blocks of 5 need 3 repairs to fail under 1% */
    assert_float_equal(wzp_quality_fec_ratio(&q, 6000), 0.6, 1e-6);
    /* the loss estimate follows a rise at once and falls with the reports after it: back to
     * the profile's ratio once the boost is over and the reports are low again */
    for (int i = 6; i < 16; i++) {
        wzp_quality_on_report(&q, &low, (uint64_t)i * 1000);
    }
    assert_float_equal(wzp_quality_fec_ratio(&q, 16000), 0.2, 1e-6);
    /* 50% loss reported: the ratio goes at once to what such a link needs */
    wzp_quality_report half = rep(50, 50);
    wzp_quality_on_report(&q, &half, 17000);
    assert_float_equal(wzp_quality_fec_ratio(&q, 17000), 2.0, 1e-6);
}

static void test_meter_measures_loss_across_sequence_wrap(void **state) {
    (void)state;
    wzp_quality_meter m;
    wzp_quality_meter_init(&m);
    for (uint32_t s = 65000; s < 65000 + 1000; s++) {
        if (s % 5 != 0) { /* 20% lost */
            wzp_quality_meter_on_packet(&m, (uint16_t)s);
        }
    }
    wzp_quality_report r = wzp_quality_meter_report(&m, 120, 15, 24);
    assert_true(fabs(wzp_quality_report_loss_percent(&r) - 20.0) < 0.5);
    assert_int_equal(wzp_quality_report_rtt_ms(&r), 120);
    for (uint32_t s = 65000 + 1000; s < 65000 + 2000; s++) {
        wzp_quality_meter_on_packet(&m, (uint16_t)s);
    }
    r = wzp_quality_meter_report(&m, 120, 15, 24);
    assert_int_equal(r.loss_pct, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thresholds_for_wifi_and_cellular),
        cmocka_unit_test(test_hysteresis_down_fast_up_slow_one_tier_at_a_time),
        cmocka_unit_test(test_loss_spike_boosts_fec),
        cmocka_unit_test(test_meter_measures_loss_across_sequence_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
