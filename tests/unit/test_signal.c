/* SignalMessage JSON (SPEC §4, serde externally tagged): golden text, round trips of every
 * variant (also nested in FederatedSignalForward), and refusal of malformed input. */
#include "signal_samples.h"
#include "testutil.h"
#include "wzp/signal.h"

static uint8_t g_buf[WZP_SIGNAL_MAX_JSON + 64];

static char *encode_str(const wzp_signal *m) {
    size_t n = 0;
    assert_int_equal(wzp_signal_encode(m, g_buf, sizeof(g_buf), &n), 0);
    g_buf[n] = 0;
    return (char *)g_buf;
}

static int decode_str(const char *json, wzp_signal **out) {
    return wzp_signal_decode((const uint8_t *)json, strlen(json), out);
}

static void expect_error(const char *json, int err) {
    wzp_signal *m = (wzp_signal *)0x1;
    int rc = decode_str(json, &m);
    if (rc != err) {
        fail_msg("%s: got %d (%s), want %d", json, rc, wzp_strerror(rc), err);
    }
    assert_ptr_equal(m, (wzp_signal *)0x1); /* untouched on error */
}

static void expect_golden(wzp_signal_type t, bool full, const char *want) {
    wzp_signal *m = sample_signal(t, full);
    assert_non_null(m);
    assert_string_equal(encode_str(m), want);
    wzp_signal *d = NULL;
    assert_int_equal(decode_str(want, &d), 0);
    assert_true(wzp_signal_equal(m, d));
    wzp_signal_free(d);
    wzp_signal_free(m);
}

static void test_golden_json_text(void **state) {
    (void)state;
    expect_golden(WZP_SIG_HOLD, false, "\"Hold\"");
    expect_golden(WZP_SIG_REFLECT, false, "\"Reflect\"");
    expect_golden(WZP_SIG_PING, false, "{\"Ping\":{\"timestamp_ms\":1764000000123}}");
    expect_golden(WZP_SIG_QUALITY_UPDATE, false,
                  "{\"QualityUpdate\":{\"report\":{\"loss_pct\":25,\"rtt_4ms\":75,\"jitter_ms\":"
                  "10,\"bitrate_cap_kbps\":100},\"recommended_profile\":{\"codec\":\"Opus6k\","
                  "\"fec_ratio\":0.5,\"frame_duration_ms\":40,\"frames_per_block\":10}}}");
    expect_golden(WZP_SIG_DIRECT_CALL_ANSWER, false,
                  "{\"DirectCallAnswer\":{\"call_id\":\"5f2b8c1e-0000-4000-8000-000000000001\","
                  "\"accept_mode\":\"Reject\"}}");
    expect_golden(WZP_SIG_ROOM_UPDATE, false,
                  "{\"RoomUpdate\":{\"count\":2,\"participants\":[{\"fingerprint\":\"aa:bb\"},"
                  "{\"fingerprint\":\"cc:dd\",\"alias\":\"Bob\"}]}}");
    expect_golden(WZP_SIG_FEDERATED_SIGNAL_FORWARD, false,
                  "{\"FederatedSignalForward\":{\"inner\":\"Reflect\",\"origin_relay_fp\":"
                  "\"ab:cd:ef\"}}");
    expect_golden(WZP_SIG_GLOBAL_ROOM_ACTIVE, false,
                  "{\"GlobalRoomActive\":{\"room\":\"lobby\",\"participants\":[]}}");
    expect_golden(WZP_SIG_LOSS_RECOVERY_UPDATE, false,
                  "{\"LossRecoveryUpdate\":{\"dred_reconstructions\":0,"
                  "\"classical_plc_invocations\":17,\"frames_decoded\":123456789012}}");
    expect_golden(WZP_SIG_HANGUP, true, "{\"Hangup\":{\"reason\":\"Error\"}}");
}

static void round_trip(wzp_signal *m) {
    assert_non_null(m);
    size_t n = 0;
    assert_int_equal(wzp_signal_encode(m, g_buf, sizeof(g_buf), &n), 0);
    wzp_signal *d = NULL;
    int rc = wzp_signal_decode(g_buf, n, &d);
    if (rc != 0) {
        fail_msg("%s: decode of own encoding failed: %s", wzp_signal_type_name(m->type),
                 wzp_strerror(rc));
    }
    assert_true(wzp_signal_equal(m, d));
    /* a second encoding is byte-identical */
    static uint8_t again[sizeof(g_buf)];
    size_t n2 = 0;
    assert_int_equal(wzp_signal_encode(d, again, sizeof(again), &n2), 0);
    assert_int_equal(n, n2);
    assert_memory_equal(g_buf, again, n);
    wzp_signal_free(d);
}

static void test_every_variant_round_trips_with_and_without_optionals(void **state) {
    (void)state;
    for (int t = 0; t < WZP_SIG_TYPE_COUNT; t++) {
        for (int full = 0; full < 2; full++) {
            wzp_signal *m = sample_signal((wzp_signal_type)t, full != 0);
            round_trip(m);
            wzp_signal_free(m);
        }
    }
}

static void test_every_variant_round_trips_nested_in_a_federated_forward(void **state) {
    (void)state;
    for (int t = 0; t < WZP_SIG_TYPE_COUNT; t++) {
        for (int full = 0; full < 2; full++) {
            wzp_signal *f = wzp_signal_new(WZP_SIG_FEDERATED_SIGNAL_FORWARD);
            assert_non_null(f);
            f->u.federated_signal_forward.inner = sample_signal((wzp_signal_type)t, full != 0);
            assert_int_equal(
                wzp_signal_set_str(&f->u.federated_signal_forward.origin_relay_fp, "fp"), 0);
            round_trip(f);
            wzp_signal_free(f);
        }
    }
}

static void test_decoder_accepts_serde_alternatives(void **state) {
    (void)state;
    wzp_signal *m = NULL;
    assert_int_equal(decode_str("{\"Hold\":null}", &m), 0);
    assert_int_equal(m->type, WZP_SIG_HOLD);
    wzp_signal_free(m);
    assert_int_equal(decode_str(" {\"GlobalRoomActive\":{\"room\":\"x\"}}\n", &m), 0);
    assert_int_equal(m->u.global_room_active.participants.count, 0);
    wzp_signal_free(m);
    assert_int_equal(decode_str("{\"LossRecoveryUpdate\":{}}", &m), 0);
    assert_int_equal(m->u.loss_recovery_update.frames_decoded, 0);
    wzp_signal_free(m);
    assert_int_equal(
        decode_str("{\"Transfer\":{\"target_fingerprint\":\"a\",\"relay_addr\":null}}", &m), 0);
    assert_null(m->u.transfer.relay_addr);
    wzp_signal_free(m);
    assert_int_equal(decode_str("{\"Ping\":{\"extra\":[1,{\"a\":null}],\"timestamp_ms\":5.0}}", &m),
                     0);
    assert_int_equal(m->u.ping.timestamp_ms, 5);
    wzp_signal_free(m);
}

/* A CallAnswer whose chosen profile has the given codec name and FEC ratio text. */
static void bad_profile(char *buf, size_t cap, const char *codec, const char *ratio) {
    snprintf(
        buf, cap,
        "{\"CallAnswer\":{\"identity_pub\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
        "0,0,0,0,0,0,0,0],\"ephemeral_pub\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
        "0,0,0,0,0,0,0],\"signature\":[1],\"chosen_profile\":{\"codec\":\"%s\",\"fec_ratio\":"
        "%s,\"frame_duration_ms\":20,\"frames_per_block\":5}}}",
        codec, ratio);
}

static void test_decoder_refuses_malformed_messages(void **state) {
    (void)state;
    expect_error("\"Foo\"", WZP_ERR_UNKNOWN_VARIANT);
    expect_error("{\"Foo\":{\"x\":1}}", WZP_ERR_UNKNOWN_VARIANT);
    expect_error("{\"FederatedSignalForward\":{\"inner\":\"Foo\",\"origin_relay_fp\":\"a\"}}",
                 WZP_ERR_UNKNOWN_VARIANT);
    expect_error("\"Ping\"", WZP_ERR_MALFORMED);
    expect_error("{\"Hold\":{}}", WZP_ERR_MALFORMED);
    expect_error("[]", WZP_ERR_MALFORMED);
    expect_error("{}", WZP_ERR_MALFORMED);
    expect_error("42", WZP_ERR_MALFORMED);
    expect_error("{\"Ping\":{\"timestamp_ms\":1},\"Pong\":{\"timestamp_ms\":1}}",
                 WZP_ERR_MALFORMED);
    expect_error("{\"Ping\":[]}", WZP_ERR_MALFORMED);
    expect_error("{\"Ping\":{}}", WZP_ERR_MISSING_FIELD);
    expect_error("{\"Ping\":{\"timestamp_ms\":null}}", WZP_ERR_MISSING_FIELD);
    expect_error("{\"Ping\":{\"timestamp_ms\":-1}}", WZP_ERR_MALFORMED);
    expect_error("{\"Ping\":{\"timestamp_ms\":1.5}}", WZP_ERR_MALFORMED);
    expect_error("{\"Ping\":{\"timestamp_ms\":\"1\"}}", WZP_ERR_MALFORMED);
    expect_error("{\"Ping\":{\"timestamp_ms\":1e17}}", WZP_ERR_OUT_OF_RANGE);
    expect_error("{\"Ping\":{\"timestamp_ms\":1,\"timestamp_ms\":2}}", WZP_ERR_MALFORMED);
    expect_error("{\"RouteQuery\":{\"fingerprint\":\"a\",\"ttl\":256}}", WZP_ERR_OUT_OF_RANGE);
    expect_error("{\"RoomUpdate\":{\"count\":4294967296,\"participants\":[]}}",
                 WZP_ERR_OUT_OF_RANGE);
    expect_error("{\"RoomUpdate\":{\"count\":1,\"participants\":[{\"alias\":\"x\"}]}}",
                 WZP_ERR_MISSING_FIELD);
    expect_error("{\"Rekey\":{\"new_ephemeral_pub\":[1,2,3],\"signature\":[]}}", WZP_ERR_MALFORMED);
    expect_error("{\"Hangup\":{\"reason\":\"Maybe\"}}", WZP_ERR_MALFORMED);
    expect_error("{\"DirectCallAnswer\":{\"call_id\":\"c\",\"accept_mode\":\"Sure\"}}",
                 WZP_ERR_MALFORMED);
    expect_error("{\"IceCandidate\":{\"candidate\":\"\xff\"}}", WZP_ERR_MALFORMED);
    expect_error("{\"IceCandidate\":{\"candidate\":\"\xc0\xaf\"}}", WZP_ERR_MALFORMED);
    expect_error("{\"IceCandidate\":{\"candidate\":\"a\\u0000b\"}}", WZP_ERR_MALFORMED);
    expect_error("{\"IceCandidate\":{\"candidate\":\"\\ud800\"}}", WZP_ERR_MALFORMED);
    expect_error("{\"IceCandidate\":{\"candidate\":7}}", WZP_ERR_MALFORMED);
    expect_error("\"Hold\" x", WZP_ERR_TRAILING_DATA);
    expect_error("\"Hold\"\"Hold\"", WZP_ERR_TRAILING_DATA);
    expect_error("{\"Ping\":{\"timestamp_ms\":1}", WZP_ERR_MALFORMED);
    char buf[1024];
    bad_profile(buf, sizeof(buf), "Opus99k", "0.2");
    expect_error(buf, WZP_ERR_UNKNOWN_CODEC);
    bad_profile(buf, sizeof(buf), "Opus24k", "3.0");
    expect_error(buf, WZP_ERR_OUT_OF_RANGE);
    bad_profile(buf, sizeof(buf), "Opus24k", "0.2");
    wzp_signal *ok = NULL;
    assert_int_equal(decode_str(buf, &ok), 0);
    wzp_signal_free(ok);
    char *key256 = strstr(buf, "[0,0");
    key256[1] = '9'; /* 90 is fine */
    assert_int_equal(decode_str(buf, &ok), 0);
    wzp_signal_free(ok);
    memcpy(key256, "[256", 4);
    expect_error(buf, WZP_ERR_OUT_OF_RANGE);
}

static void test_decoder_enforces_size_depth_and_list_limits(void **state) {
    (void)state;
    wzp_signal *m = NULL;
    assert_int_equal(wzp_signal_decode((const uint8_t *)"", 0, &m), WZP_ERR_EMPTY);
    static uint8_t big[WZP_SIGNAL_MAX_JSON + 1];
    memset(big, ' ', sizeof(big));
    assert_int_equal(wzp_signal_decode(big, sizeof(big), &m), WZP_ERR_TOO_LARGE);
    /* forwards nested deeper than WZP_SIGNAL_MAX_DEPTH */
    char deep[2048] = "";
    for (int i = 0; i < 6; i++) {
        strcat(deep, "{\"FederatedSignalForward\":{\"origin_relay_fp\":\"a\",\"inner\":");
    }
    strcat(deep, "\"Hold\"");
    for (int i = 0; i < 6; i++) {
        strcat(deep, "}}");
    }
    expect_error(deep, WZP_ERR_TOO_LARGE);
    /* 17 profiles */
    char offer[8192];
    strcpy(offer, "{\"CallOffer\":{\"identity_pub\":[");
    for (int i = 0; i < 32; i++) {
        strcat(offer, i ? ",1" : "1");
    }
    strcat(offer, "],\"ephemeral_pub\":[");
    for (int i = 0; i < 32; i++) {
        strcat(offer, i ? ",1" : "1");
    }
    strcat(offer, "],\"signature\":[],\"supported_profiles\":[");
    for (int i = 0; i < 17; i++) {
        strcat(offer, i ? "," : "");
        strcat(offer, "{\"codec\":\"Opus24k\",\"fec_ratio\":0.2,\"frame_duration_ms\":20,"
                      "\"frames_per_block\":5}");
    }
    strcat(offer, "]}}");
    expect_error(offer, WZP_ERR_TOO_MANY_ENTRIES);
    /* a 129-byte signature */
    char sig[2048] = "{\"Rekey\":{\"new_ephemeral_pub\":[";
    for (int i = 0; i < 32; i++) {
        strcat(sig, i ? ",2" : "2");
    }
    strcat(sig, "],\"signature\":[");
    for (int i = 0; i < 129; i++) {
        strcat(sig, i ? ",3" : "3");
    }
    strcat(sig, "]}}");
    expect_error(sig, WZP_ERR_TOO_LARGE);
}

static void test_every_truncation_of_every_sample_is_refused(void **state) {
    (void)state;
    for (int t = 0; t < WZP_SIG_TYPE_COUNT; t++) {
        wzp_signal *m = sample_signal((wzp_signal_type)t, true);
        size_t n = 0;
        assert_int_equal(wzp_signal_encode(m, g_buf, sizeof(g_buf), &n), 0);
        for (size_t len = 0; len < n; len++) {
            wzp_signal *d = NULL;
            int rc = wzp_signal_decode(g_buf, len, &d);
            if (rc == 0) {
                fail_msg("%s: prefix of %zu/%zu bytes accepted", wzp_signal_type_name(m->type), len,
                         n);
            }
        }
        wzp_signal_free(m);
    }
}

static void test_encoder_refuses_messages_that_would_not_decode(void **state) {
    (void)state;
    size_t n = 0;
    wzp_signal *m = wzp_signal_new(WZP_SIG_AUTH_TOKEN);
    assert_int_equal(wzp_signal_encode(m, g_buf, sizeof(g_buf), &n), WZP_ERR_MISSING_FIELD);
    wzp_signal_free(m);
    m = wzp_signal_new(WZP_SIG_FEDERATED_SIGNAL_FORWARD);
    assert_int_equal(wzp_signal_set_str(&m->u.federated_signal_forward.origin_relay_fp, "a"), 0);
    assert_int_equal(wzp_signal_encode(m, g_buf, sizeof(g_buf), &n), WZP_ERR_MISSING_FIELD);
    wzp_signal_free(m);
    m = wzp_signal_new(WZP_SIG_PING);
    m->u.ping.timestamp_ms = WZP_SIGNAL_MAX_U64 + 1;
    assert_int_equal(wzp_signal_encode(m, g_buf, sizeof(g_buf), &n), WZP_ERR_OUT_OF_RANGE);
    wzp_signal_free(m);
    m = wzp_signal_new(WZP_SIG_ICE_CANDIDATE);
    assert_int_equal(wzp_signal_set_str(&m->u.ice_candidate.candidate, "\xff\xfe"), 0);
    assert_int_equal(wzp_signal_encode(m, g_buf, sizeof(g_buf), &n), WZP_ERR_INVALID_ARG);
    wzp_signal_free(m);
    /* every buffer too small for the text and its NUL is refused cleanly */
    m = sample_signal(WZP_SIG_CALL_SETUP, true);
    size_t need = 0;
    assert_int_equal(wzp_signal_encode(m, g_buf, sizeof(g_buf), &need), 0);
    for (size_t cap = 1; cap <= need; cap++) {
        static uint8_t small[512];
        assert_int_equal(wzp_signal_encode(m, small, cap, &n), WZP_ERR_BUFFER_TOO_SMALL);
    }
    wzp_signal_free(m);
}

/* Fail the 1st, 2nd, 3rd ... allocation: every call ends in success or WZP_ERR_NOMEM, and no
 * block is left behind. */
static void test_allocation_failures_are_clean(void **state) {
    (void)state;
    wzp_signal *ref = sample_signal(WZP_SIG_FEDERATED_SIGNAL_FORWARD, true);
    size_t n = 0;
    assert_int_equal(wzp_signal_encode(ref, g_buf, sizeof(g_buf), &n), 0);
    static uint8_t json[4096];
    assert_true(n < sizeof(json));
    memcpy(json, g_buf, n);
    wzp_signal_free(ref);
    for (long fail = 0;; fail++) {
        testutil_use_counting_allocator(fail);
        wzp_signal *m = sample_signal(WZP_SIG_ROOM_UPDATE, true);
        int rc_build = m == NULL ? WZP_ERR_NOMEM : 0;
        size_t w = 0;
        int rc_enc = m == NULL ? WZP_ERR_NOMEM : wzp_signal_encode(m, g_buf, sizeof(g_buf), &w);
        wzp_signal *d = NULL;
        int rc_dec = wzp_signal_decode(json, n, &d);
        wzp_signal_free(d);
        wzp_signal_free(m);
        long calls = g_alloc_calls;
        testutil_restore_allocator();
        assert_int_equal(g_live_blocks, 0);
        assert_true(rc_build == 0 || rc_build == WZP_ERR_NOMEM);
        assert_true(rc_enc == 0 || rc_enc == WZP_ERR_NOMEM);
        assert_true(rc_dec == 0 || rc_dec == WZP_ERR_NOMEM);
        if (fail > calls) {
            assert_int_equal(rc_dec, 0);
            assert_int_equal(rc_enc, 0);
            break;
        }
    }
}

static int write_corpus(const char *dir) {
    for (int t = 0; t < WZP_SIG_TYPE_COUNT; t++) {
        for (int full = 0; full < 2; full++) {
            wzp_signal *m = sample_signal((wzp_signal_type)t, full != 0);
            size_t n = 0;
            if (m == NULL || wzp_signal_encode(m, g_buf, sizeof(g_buf), &n) != 0) {
                return 1;
            }
            char path[512];
            snprintf(path, sizeof(path), "%s/%s-%d.json", dir, wzp_signal_type_name(m->type), full);
            FILE *f = fopen(path, "wb");
            if (f == NULL || fwrite(g_buf, 1, n, f) != n || fclose(f) != 0) {
                return 1;
            }
            wzp_signal_free(m);
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) {
        return write_corpus(argv[2]);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_json_text),
        cmocka_unit_test(test_every_variant_round_trips_with_and_without_optionals),
        cmocka_unit_test(test_every_variant_round_trips_nested_in_a_federated_forward),
        cmocka_unit_test(test_decoder_accepts_serde_alternatives),
        cmocka_unit_test(test_decoder_refuses_malformed_messages),
        cmocka_unit_test(test_decoder_enforces_size_depth_and_list_limits),
        cmocka_unit_test(test_every_truncation_of_every_sample_is_refused),
        cmocka_unit_test(test_encoder_refuses_messages_that_would_not_decode),
        cmocka_unit_test(test_allocation_failures_are_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
