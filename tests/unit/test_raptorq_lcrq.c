/* Cross-check against lcrq, an independent RFC 6330 implementation (GPL: used here as a test
 * oracle only, never linked into a shipped binary). Repair symbols ESI K..K+20 for
 * K in {1,5,8,10,26,56} and T in {4,64,256} over random data must be bit-identical. */
#include <lcrq.h>

#include "testutil.h"
#include "wzp/fec.h"

static void test_repair_symbols_match_lcrq(void **state) {
    (void)state;
    static const unsigned ks[] = {1, 5, 8, 10, 26, 56};
    static const unsigned ts[] = {4, 64, 256};
    static uint8_t src[56 * 256], ours[256], theirs[256];
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    int compared = 0;
    for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
        for (size_t j = 0; j < sizeof(ts) / sizeof(ts[0]); j++) {
            unsigned k = ks[i], t = ts[j];
            for (size_t b = 0; b < (size_t)k * t; b++) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                src[b] = (uint8_t)(rng >> 24);
            }
            rq_t *rq = rq_init((uint64_t)k * t, (uint16_t)t);
            assert_non_null(rq);
            assert_int_equal(rq_K(rq), k);
            assert_int_equal(rq_Z(rq), 1); /* one source block, no sub-blocks */
            assert_int_equal(rq_N(rq), 1);
            assert_int_equal(rq_KP(rq), wzp_rq_k_prime(k));
            assert_int_equal(rq_encode(rq, src, (size_t)k * t), 0);
            const wzp_rq_code *code = NULL;
            assert_int_equal(wzp_rq_code_get(k, &code), 0);
            for (uint32_t esi = k; esi <= k + 20; esi++) {
                rq_pid_t pid = 0;
                pid = rq_pidsetesi(pid, esi);
                assert_non_null(rq_symbol(rq, &pid, theirs, 0));
                assert_int_equal(wzp_rq_encode(code, k, src, t, esi, ours), 0);
                if (memcmp(ours, theirs, t) != 0) {
                    fail_msg("K=%u T=%u ESI=%u: repair symbol differs from lcrq", k, t, esi);
                }
                compared++;
            }
            rq_free(rq);
        }
    }
    print_message("%d repair symbols identical to lcrq's\n", compared);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repair_symbols_match_lcrq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
