/* Codec and profile tables (SPEC §3.2, §6). */
#include "testutil.h"
#include "wzp/proto.h"

static void test_codec_table_matches_spec(void **state) {
    (void)state;
    static const struct {
        unsigned id;
        const char *name;
        uint32_t bps, rate;
        uint8_t ms;
    } want[] = {{0, "Opus24k", 24000, 48000, 20},   {1, "Opus16k", 16000, 48000, 20},
                {2, "Opus6k", 6000, 48000, 40},     {3, "Codec2_3200", 3200, 8000, 20},
                {4, "Codec2_1200", 1200, 8000, 40}, {5, "ComfortNoise", 0, 48000, 20},
                {6, "Opus32k", 32000, 48000, 20},   {7, "Opus48k", 48000, 48000, 20},
                {8, "Opus64k", 64000, 48000, 20}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const wzp_codec_info *c = wzp_codec_info_get(want[i].id);
        assert_non_null(c);
        assert_string_equal(c->name, want[i].name);
        assert_int_equal(c->bitrate_bps, want[i].bps);
        assert_int_equal(c->sample_rate_hz, want[i].rate);
        assert_int_equal(c->frame_ms, want[i].ms);
        assert_ptr_equal(wzp_codec_info_by_name(want[i].name, strlen(want[i].name)), c);
    }
    assert_null(wzp_codec_info_get(9));
    assert_null(wzp_codec_info_get(15));
    assert_null(wzp_codec_info_by_name("Opus24", 6));
    assert_null(wzp_codec_info_by_name("opus24k", 7));
}

static void test_profiles_match_spec(void **state) {
    (void)state;
    const wzp_profile *good = wzp_profile_get(WZP_PROFILE_GOOD);
    const wzp_profile *deg = wzp_profile_get(WZP_PROFILE_DEGRADED);
    const wzp_profile *cat = wzp_profile_get(WZP_PROFILE_CATASTROPHIC);
    assert_int_equal(good->codec, WZP_CODEC_OPUS_24K);
    assert_int_equal(good->frames_per_block, 5);
    assert_int_equal(deg->codec, WZP_CODEC_OPUS_6K);
    assert_int_equal(deg->frame_duration_ms, 40);
    assert_int_equal(cat->codec, WZP_CODEC_CODEC2_1200);
    assert_int_equal(cat->frames_per_block, 8);
    assert_int_equal(wzp_profile_wire_bitrate_bps(good), 28800);
    assert_int_equal(wzp_profile_wire_bitrate_bps(deg), 9000);
    assert_int_equal(wzp_profile_wire_bitrate_bps(cat), 2400);
    assert_int_equal(wzp_profile_repair_count(good), 1);
    assert_int_equal(wzp_profile_repair_count(deg), 5);
    assert_int_equal(wzp_profile_repair_count(cat), 8);
    for (int id = WZP_PROFILE_STUDIO_32K; id <= WZP_PROFILE_STUDIO_64K; id++) {
        const wzp_profile *s = wzp_profile_get((wzp_profile_id)id);
        assert_int_equal(wzp_profile_repair_count(s), 1);
        assert_int_equal(wzp_profile_validate(s), 0);
    }
    assert_string_equal(wzp_profile_name(WZP_PROFILE_CATASTROPHIC), "CATASTROPHIC");
    assert_null(wzp_profile_get((wzp_profile_id)WZP_PROFILE_COUNT));
}

static void test_profile_validation_rejects_out_of_range_fields(void **state) {
    (void)state;
    wzp_profile p = *wzp_profile_get(WZP_PROFILE_GOOD);
    p.fec_ratio = 2.5f;
    assert_int_equal(wzp_profile_validate(&p), WZP_ERR_OUT_OF_RANGE);
    p.fec_ratio = 0.2f;
    p.frame_duration_ms = 30;
    assert_int_equal(wzp_profile_validate(&p), WZP_ERR_OUT_OF_RANGE);
    p.frame_duration_ms = 20;
    p.frames_per_block = 0;
    assert_int_equal(wzp_profile_validate(&p), WZP_ERR_OUT_OF_RANGE);
    p.frames_per_block = 5;
    p.codec = (wzp_codec_id)12;
    assert_int_equal(wzp_profile_validate(&p), WZP_ERR_UNKNOWN_CODEC);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_table_matches_spec),
        cmocka_unit_test(test_profiles_match_spec),
        cmocka_unit_test(test_profile_validation_rejects_out_of_range_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
