/* RFC 6330 core: the RFC's golden symbols, recovery from any symbol set, and decode statistics
 * at K, K+1 and K+2 received symbols. */
#include "testutil.h"
#include "wzp/fec.h"

#ifndef WZP_TEST_DATA_DIR
#error "WZP_TEST_DATA_DIR must point at tests/data"
#endif

static uint64_t g_rng = 0x243F6A8885A308D3ull;
static uint32_t rnd(void) {
    return (uint32_t)(testutil_xorshift(&g_rng) >> 17);
}

static void test_golden_symbols_from_rfc6330_vectors(void **state) {
    (void)state;
    FILE *f = fopen(WZP_TEST_DATA_DIR "/raptorq-golden.txt", "r");
    assert_non_null(f);
    char line[256];
    int checked = 0;
    for (int simd = 0; simd <= (int)wzp_fec_simd_best(); simd++) {
        assert_int_equal(wzp_fec_simd_set((wzp_simd_level)simd), 0);
        rewind(f);
        while (fgets(line, sizeof(line), f) != NULL) {
            unsigned k = 0, esi = 0;
            char hex[64];
            if (line[0] == '#' || sscanf(line, "%u %u %63s", &k, &esi, hex) != 3) {
                continue;
            }
            uint8_t want[16], got[16], src[56 * 16];
            assert_int_equal(testutil_hex(hex, want, sizeof(want)), 16);
            for (unsigned i = 0; i < k * 16; i++) {
                src[i] = (uint8_t)((i * 31 + 7) % 256);
            }
            const wzp_rq_code *code = NULL;
            assert_int_equal(wzp_rq_code_get(k, &code), 0);
            assert_int_equal(wzp_rq_encode(code, k, src, 16, esi, got), 0);
            if (memcmp(got, want, 16) != 0) {
                fail_msg("K=%u ESI=%u differs from the golden symbol", k, esi);
            }
            checked++;
        }
    }
    fclose(f);
    assert_int_equal(wzp_fec_simd_set(wzp_fec_simd_best()), 0);
    print_message("%d golden symbols reproduced\n", checked);
    assert_true(checked >= 157);
}

/* Encode K random symbols, receive `got` symbols drawn from ESIs 0..2K+9, decode. Returns 1 on a
 * decoding failure, 0 on success (and asserts the data came back exactly). */
static int trial(unsigned k, size_t t, unsigned got, uint8_t *src, uint8_t *syms, uint8_t *out,
                 uint8_t *scratch) {
    const wzp_rq_code *code = NULL;
    assert_int_equal(wzp_rq_code_get(k, &code), 0);
    for (size_t i = 0; i < k * t; i++) {
        src[i] = (uint8_t)rnd();
    }
    unsigned pool = 2 * k + 10;
    uint32_t esis[200];
    const uint8_t *ptrs[200];
    for (unsigned i = 0; i < pool; i++) {
        esis[i] = i;
    }
    for (unsigned i = 0; i < got; i++) { /* partial Fisher-Yates: a random subset */
        unsigned j = i + rnd() % (pool - i);
        uint32_t tmp = esis[i];
        esis[i] = esis[j];
        esis[j] = tmp;
        assert_int_equal(wzp_rq_encode(code, k, src, t, esis[i], syms + i * t), 0);
        ptrs[i] = syms + i * t;
    }
    int rc =
        wzp_rq_decode(code, k, t, esis, ptrs, got, out, scratch, wzp_rq_decode_scratch_size(k, t));
    if (rc == WZP_ERR_NEED_MORE) {
        return 1;
    }
    assert_int_equal(rc, 0);
    assert_memory_equal(out, src, k * t);
    return 0;
}

static void run_statistics(unsigned extra, unsigned trials, double max_rate) {
    static const unsigned ks[] = {5, 8, 10, 56};
    const size_t t = 8;
    static uint8_t src[64 * 8], syms[200 * 8], out[64 * 8], scratch[65536];
    for (size_t i = 0; i < 4; i++) {
        unsigned fails = 0;
        for (unsigned n = 0; n < trials; n++) {
            fails += (unsigned)trial(ks[i], t, ks[i] + extra, src, syms, out, scratch);
        }
        double rate = (double)fails / trials;
        print_message("K=%u received K+%u: %u failures in %u trials (%.4f%%)\n", ks[i], extra,
                      fails, trials, 100.0 * rate);
        assert_true(rate <= max_rate);
    }
}

static void test_decode_failure_rate_with_k_symbols(void **state) {
    (void)state;
    run_statistics(0, 10000, 0.01);
}

static void test_decode_failure_rate_with_k_plus_1_symbols(void **state) {
    (void)state;
    run_statistics(1, 10000, 0.0005);
}

static void test_no_decode_failure_with_k_plus_2_symbols(void **state) {
    (void)state;
    run_statistics(2, 100000, 0.0);
}

static void test_all_repair_symbols_and_duplicates_decode(void **state) {
    (void)state;
    const unsigned k = 10;
    const size_t t = 32;
    uint8_t src[10 * 32], syms[30 * 32], out[10 * 32], scratch[8192];
    const wzp_rq_code *code = NULL;
    assert_int_equal(wzp_rq_code_get(k, &code), 0);
    for (size_t i = 0; i < sizeof(src); i++) {
        src[i] = (uint8_t)rnd();
    }
    uint32_t esis[30];
    const uint8_t *ptrs[30];
    unsigned n = 0;
    for (uint32_t e = 200; e < 214; e++, n++) { /* only repair symbols, far ESIs */
        esis[n] = e;
        assert_int_equal(wzp_rq_encode(code, k, src, t, e, syms + n * t), 0);
        ptrs[n] = syms + n * t;
    }
    esis[n] = esis[0]; /* a duplicate */
    ptrs[n++] = ptrs[0];
    assert_int_equal(wzp_rq_decode(code, k, t, esis, ptrs, n, out, scratch, sizeof(scratch)), 0);
    assert_memory_equal(out, src, sizeof(src));
    /* fewer than K distinct symbols can never decode */
    assert_int_equal(wzp_rq_decode(code, k, t, esis, ptrs, 9, out, scratch, sizeof(scratch)),
                     WZP_ERR_NEED_MORE);
    uint8_t sym[32];
    assert_int_equal(wzp_rq_encode(code, k, src, t, k + WZP_RQ_MAX_REPAIR, sym),
                     WZP_ERR_INVALID_ARG);
    assert_int_equal(wzp_rq_code_get(0, &code), WZP_ERR_INVALID_ARG);
    assert_int_equal(wzp_rq_code_get(WZP_RQ_MAX_K + 1, &code), WZP_ERR_INVALID_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_symbols_from_rfc6330_vectors),
        cmocka_unit_test(test_all_repair_symbols_and_duplicates_decode),
        cmocka_unit_test(test_decode_failure_rate_with_k_symbols),
        cmocka_unit_test(test_decode_failure_rate_with_k_plus_1_symbols),
        cmocka_unit_test(test_no_decode_failure_with_k_plus_2_symbols),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
