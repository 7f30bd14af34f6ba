/* Signalling stream framing (SPEC §3.7): length prefix, size cap, and reassembly. */
#include "testutil.h"
#include "wzp/signal.h"

static void test_frame_golden_bytes_and_decode(void **state) {
    (void)state;
    uint8_t buf[32];
    size_t n = 0;
    assert_int_equal(wzp_frame_encode((const uint8_t *)"\"Hold\"", 6, buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 10);
    assert_memory_equal(buf, "\x00\x00\x00\x06\"Hold\"", 10);
    const uint8_t *body;
    size_t blen = 0, used = 0;
    assert_int_equal(wzp_frame_decode(buf, n, &body, &blen, &used), 0);
    assert_int_equal(blen, 6);
    assert_int_equal(used, 10);
    assert_memory_equal(body, "\"Hold\"", 6);
    for (size_t len = 0; len < n; len++) {
        assert_int_equal(wzp_frame_decode(buf, len, &body, &blen, &used), WZP_ERR_NEED_MORE);
    }
    assert_int_equal(wzp_frame_encode(buf, 6, buf, 9, &n), WZP_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(wzp_frame_encode(buf, 0, buf, 9, &n), WZP_ERR_EMPTY);
}

static void test_frame_refuses_oversize_and_empty_lengths(void **state) {
    (void)state;
    const uint8_t big[4] = {0x00, 0x01, 0x00, 0x01}; /* 65537 */
    const uint8_t max[4] = {0x00, 0x01, 0x00, 0x00}; /* 65536: allowed, needs more */
    const uint8_t huge[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    const uint8_t zero[4] = {0, 0, 0, 0};
    const uint8_t *body;
    size_t blen = 0, used = 0;
    assert_int_equal(wzp_frame_decode(big, 4, &body, &blen, &used), WZP_ERR_TOO_LARGE);
    assert_int_equal(wzp_frame_decode(huge, 4, &body, &blen, &used), WZP_ERR_TOO_LARGE);
    assert_int_equal(wzp_frame_decode(max, 4, &body, &blen, &used), WZP_ERR_NEED_MORE);
    assert_int_equal(wzp_frame_decode(zero, 4, &body, &blen, &used), WZP_ERR_EMPTY);
    static uint8_t body_big[WZP_SIGNAL_MAX_JSON + 1];
    static uint8_t out[WZP_SIGNAL_MAX_JSON + 16];
    size_t n = 0;
    assert_int_equal(wzp_frame_encode(body_big, sizeof(body_big), out, sizeof(out), &n),
                     WZP_ERR_TOO_LARGE);
}

static void test_reader_reassembles_frames_fed_one_byte_at_a_time(void **state) {
    (void)state;
    uint8_t stream[64];
    size_t n1 = 0, n2 = 0;
    assert_int_equal(wzp_frame_encode((const uint8_t *)"\"Mute\"", 6, stream, 64, &n1), 0);
    assert_int_equal(wzp_frame_encode((const uint8_t *)"{\"Ping\":{\"timestamp_ms\":1}}", 27,
                                      stream + n1, 64 - n1, &n2),
                     0);
    static wzp_frame_reader r;
    wzp_frame_reader_init(&r);
    int frames = 0;
    for (size_t i = 0; i < n1 + n2; i++) {
        const uint8_t *body = NULL;
        size_t blen = 0, taken = 0;
        int rc = wzp_frame_reader_push(&r, stream + i, 1, &taken, &body, &blen);
        assert_int_equal(taken, 1);
        if (rc == 0) {
            frames++;
            assert_int_equal(blen, frames == 1 ? 6 : 27);
        } else {
            assert_int_equal(rc, WZP_ERR_NEED_MORE);
        }
    }
    assert_int_equal(frames, 2);
}

static void test_reader_splits_two_frames_in_one_chunk_and_fails_stickily(void **state) {
    (void)state;
    uint8_t stream[64];
    size_t n1 = 0, n2 = 0;
    assert_int_equal(wzp_frame_encode((const uint8_t *)"\"Mute\"", 6, stream, 64, &n1), 0);
    assert_int_equal(wzp_frame_encode((const uint8_t *)"\"Hold\"", 6, stream + n1, 64, &n2), 0);
    static wzp_frame_reader r;
    wzp_frame_reader_init(&r);
    const uint8_t *body = NULL;
    size_t blen = 0, taken = 0;
    assert_int_equal(wzp_frame_reader_push(&r, stream, n1 + n2, &taken, &body, &blen), 0);
    assert_int_equal(taken, n1);
    assert_memory_equal(body, "\"Mute\"", 6);
    assert_int_equal(wzp_frame_reader_push(&r, stream + n1, n2, &taken, &body, &blen), 0);
    assert_memory_equal(body, "\"Hold\"", 6);
    const uint8_t bad[4] = {0x7F, 0, 0, 0};
    assert_int_equal(wzp_frame_reader_push(&r, bad, 4, &taken, &body, &blen), WZP_ERR_TOO_LARGE);
    assert_int_equal(wzp_frame_reader_push(&r, stream, n1, &taken, &body, &blen),
                     WZP_ERR_TOO_LARGE);
    assert_int_equal(taken, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_golden_bytes_and_decode),
        cmocka_unit_test(test_frame_refuses_oversize_and_empty_lengths),
        cmocka_unit_test(test_reader_reassembles_frames_fed_one_byte_at_a_time),
        cmocka_unit_test(test_reader_splits_two_frames_in_one_chunk_and_fails_stickily),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
