/* TrunkFrame (SPEC §3.5): packer limits, golden bytes, and malformed frames. */
#include "testutil.h"
#include "wzp/proto.h"

static void test_trunk_golden_bytes(void **state) {
    (void)state;
    uint8_t buf[64], want[64];
    wzp_trunk_packer p;
    assert_int_equal(wzp_trunk_packer_init(&p, buf, sizeof(buf)), 0);
    const uint8_t a[3] = {0xAA, 0xBB, 0xCC}, b[1] = {0x11};
    assert_int_equal(wzp_trunk_packer_add(&p, 0x0102, a, 3, 0), 0);
    assert_int_equal(wzp_trunk_packer_add(&p, 0xFFFF, b, 1, 0), 0);
    size_t n = wzp_trunk_packer_finish(&p);
    size_t wn = testutil_hex("0002 0102 0003 AABBCC FFFF 0001 11", want, sizeof(want));
    assert_int_equal(n, wn);
    assert_memory_equal(buf, want, n);
    wzp_trunk_entry e[WZP_TRUNK_MAX_ENTRIES];
    size_t count = 0;
    assert_int_equal(wzp_trunk_decode(buf, n, e, &count), 0);
    assert_int_equal(count, 2);
    assert_int_equal(e[0].session_id, 0x0102);
    assert_int_equal(e[0].len, 3);
    assert_memory_equal(e[0].payload, a, 3);
    assert_int_equal(e[1].session_id, 0xFFFF);
    assert_int_equal(e[1].len, 1);
}

static void test_trunk_holds_ten_entries_and_refuses_the_eleventh(void **state) {
    (void)state;
    uint8_t buf[WZP_TRUNK_MAX_BYTES];
    wzp_trunk_packer p;
    assert_int_equal(wzp_trunk_packer_init(&p, buf, sizeof(buf)), 0);
    uint8_t payload[60];
    for (uint16_t i = 0; i < 10; i++) {
        memset(payload, i, sizeof(payload));
        assert_false(wzp_trunk_packer_should_flush(&p, 0));
        assert_int_equal(wzp_trunk_packer_add(&p, i, payload, sizeof(payload), 0), 0);
    }
    assert_true(wzp_trunk_packer_should_flush(&p, 0));
    assert_int_equal(wzp_trunk_packer_add(&p, 10, payload, 1, 0), WZP_ERR_FULL);
    size_t n = wzp_trunk_packer_finish(&p);
    assert_int_equal(n, 2 + 10 * (4 + 60));
    wzp_trunk_entry e[WZP_TRUNK_MAX_ENTRIES];
    size_t count = 0;
    assert_int_equal(wzp_trunk_decode(buf, n, e, &count), 0);
    assert_int_equal(count, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(e[i].session_id, i);
        assert_int_equal(e[i].payload[0], i);
    }
    /* the packer is reset after finish */
    assert_int_equal(wzp_trunk_packer_finish(&p), 0);
}

static void test_trunk_fills_exactly_1200_bytes_and_no_more(void **state) {
    (void)state;
    uint8_t buf[2000];
    wzp_trunk_packer p;
    assert_int_equal(wzp_trunk_packer_init(&p, buf, sizeof(buf)), 0);
    uint8_t payload[1200] = {0};
    /* 2 + 2*(4+500) = 1010, the third entry gets exactly the remaining 190 - 4 = 186 */
    assert_int_equal(wzp_trunk_packer_add(&p, 1, payload, 500, 0), 0);
    assert_int_equal(wzp_trunk_packer_add(&p, 2, payload, 500, 0), 0);
    assert_true(wzp_trunk_packer_would_overflow(&p, 187));
    assert_int_equal(wzp_trunk_packer_add(&p, 3, payload, 187, 0), WZP_ERR_FULL);
    assert_int_equal(wzp_trunk_packer_add(&p, 3, payload, 186, 0), 0);
    assert_true(wzp_trunk_packer_should_flush(&p, 0));
    size_t n = wzp_trunk_packer_finish(&p);
    assert_int_equal(n, WZP_TRUNK_MAX_BYTES);
    wzp_trunk_entry e[WZP_TRUNK_MAX_ENTRIES];
    size_t count = 0;
    assert_int_equal(wzp_trunk_decode(buf, n, e, &count), 0);
    assert_int_equal(count, 3);
    /* a payload that can never fit, and an empty one */
    assert_int_equal(wzp_trunk_packer_add(&p, 1, payload, 1195, 0), WZP_ERR_TOO_LARGE);
    assert_int_equal(wzp_trunk_packer_add(&p, 1, payload, 0, 0), WZP_ERR_EMPTY);
}

static void test_trunk_flushes_after_5_ms(void **state) {
    (void)state;
    uint8_t buf[256];
    wzp_trunk_packer p;
    assert_int_equal(wzp_trunk_packer_init(&p, buf, sizeof(buf)), 0);
    const uint8_t x = 1;
    assert_false(wzp_trunk_packer_should_flush(&p, 1000));
    assert_int_equal(wzp_trunk_packer_add(&p, 1, &x, 1, 1000), 0);
    assert_int_equal(wzp_trunk_packer_add(&p, 2, &x, 1, 1003), 0);
    assert_false(wzp_trunk_packer_should_flush(&p, 1004));
    assert_true(wzp_trunk_packer_should_flush(&p, 1005));
}

static void test_trunk_rejects_every_truncation_and_bad_frames(void **state) {
    (void)state;
    uint8_t buf[64];
    size_t n = testutil_hex("0002 0102 0003 AABBCC FFFF 0001 11", buf, sizeof(buf));
    wzp_trunk_entry e[WZP_TRUNK_MAX_ENTRIES];
    size_t count = 99;
    for (size_t len = 0; len < n; len++) {
        assert_int_equal(wzp_trunk_decode(buf, len, e, &count), WZP_ERR_TRUNCATED);
        assert_int_equal(count, 99);
    }
    uint8_t trailing[64];
    memcpy(trailing, buf, n);
    trailing[n] = 0;
    assert_int_equal(wzp_trunk_decode(trailing, n + 1, e, &count), WZP_ERR_TRAILING_DATA);
    uint8_t zero[2] = {0, 0};
    assert_int_equal(wzp_trunk_decode(zero, 2, e, &count), WZP_ERR_EMPTY);
    uint8_t eleven[2] = {0, 11};
    assert_int_equal(wzp_trunk_decode(eleven, 2, e, &count), WZP_ERR_TOO_MANY_ENTRIES);
    uint8_t empty_entry[6] = {0, 1, 0, 1, 0, 0};
    assert_int_equal(wzp_trunk_decode(empty_entry, 6, e, &count), WZP_ERR_EMPTY);
    static uint8_t big[1201];
    big[1] = 1;
    assert_int_equal(wzp_trunk_decode(big, sizeof(big), e, &count), WZP_ERR_TOO_LARGE);
    assert_int_equal(count, 99);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trunk_golden_bytes),
        cmocka_unit_test(test_trunk_holds_ten_entries_and_refuses_the_eleventh),
        cmocka_unit_test(test_trunk_fills_exactly_1200_bytes_and_no_more),
        cmocka_unit_test(test_trunk_flushes_after_5_ms),
        cmocka_unit_test(test_trunk_rejects_every_truncation_and_bad_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
