/* FEC block framing, block managers, interleaving and the adaptive ratio: frames survive random
 * and bursty loss as well as an ideal (MDS) code would allow, within a small margin. */
#include <math.h>

#include "testutil.h"
#include "wzp/fec.h"

static uint64_t g_rng = 0xD1B54A32D192ED03ull;
static uint32_t rnd(void) {
    return (uint32_t)(testutil_xorshift(&g_rng) >> 17);
}
static double urand(void) {
    return (double)(rnd() & 0xFFFFFF) / 16777216.0;
}

static void test_symbol_size_and_framing(void **state) {
    (void)state;
    assert_int_equal(wzp_fec_symbol_size(60, false), 64);
    assert_int_equal(wzp_fec_symbol_size(62, false), 64);
    assert_int_equal(wzp_fec_symbol_size(63, false), 68);
    assert_int_equal(wzp_fec_symbol_size(60, true), 256);
    assert_int_equal(wzp_fec_symbol_size(255, true), 0);
    assert_int_equal(wzp_fec_symbol_size(WZP_FEC_MAX_FRAME + 1, false), 0);
    uint8_t sym[16];
    const uint8_t frame[5] = {1, 2, 3, 4, 5};
    assert_int_equal(wzp_fec_symbol_pack(frame, 5, sym, 16), 0);
    assert_memory_equal(sym, "\x05\x00\x01\x02\x03\x04\x05\x00", 8);
    const uint8_t *f;
    size_t len;
    assert_int_equal(wzp_fec_symbol_unpack(sym, 16, &f, &len), 0);
    assert_int_equal(len, 5);
    assert_int_equal(wzp_fec_symbol_pack(frame, 5, sym, 6), WZP_ERR_TOO_LARGE);
    sym[0] = 15; /* claims more than the symbol holds */
    assert_int_equal(wzp_fec_symbol_unpack(sym, 16, &f, &len), WZP_ERR_MALFORMED);
}

static void test_encoder_emits_sources_then_repairs_with_k_and_t(void **state) {
    (void)state;
    wzp_fec_config cfg = {.max_k = 10, .max_frame = 200};
    wzp_fec_encoder *enc = NULL;
    assert_int_equal(wzp_fec_encoder_new(&cfg, &enc), 0);
    assert_int_equal(wzp_fec_encoder_set_params(enc, 5, 0.2f), 0);
    wzp_fec_packet out[1 + WZP_FEC_MAX_BLOCK_REPAIR];
    size_t n = 0;
    uint8_t frame[80] = {0};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(wzp_fec_encoder_add(enc, frame, 40 + (size_t)i * 10, 0, 0, out, 129, &n),
                         0);
        assert_int_equal(out[0].esi, i);
        assert_false(out[0].is_repair);
        assert_int_equal(out[0].len, 40 + i * 10);
        assert_int_equal(n, i < 4 ? 1 : 2);
    }
    assert_true(out[1].is_repair);
    assert_int_equal(out[1].esi, 5);
    assert_int_equal(out[1].payload[0], 5); /* K */
    assert_int_equal(out[1].len, 1 + 84);   /* T = 80 + 2 rounded to 4 */
    assert_int_equal(out[1].block_id, 0);
    assert_int_equal(wzp_fec_encoder_add(enc, frame, 10, 0, 0, out, 129, &n), 0);
    assert_int_equal(out[0].block_id, 1);
    /* an early flush closes a short block: K = 1 */
    assert_int_equal(wzp_fec_encoder_flush(enc, out, 129, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].payload[0], 1);
    assert_int_equal(wzp_fec_encoder_add(enc, frame, 201, 0, 0, out, 129, &n), WZP_ERR_TOO_LARGE);
    assert_int_equal(wzp_fec_encoder_add(enc, frame, 0, 0, 0, out, 129, &n), WZP_ERR_EMPTY);
    assert_int_equal(wzp_fec_encoder_set_params(enc, 11, 0.2f), WZP_ERR_INVALID_ARG);
    wzp_fec_encoder_free(enc);
}

/* ---- the loss experiment ---------------------------------------------------------------- */

typedef struct experiment {
    unsigned k;
    float ratio;
    unsigned depth;
    double loss;       /* random loss probability, or the Gilbert-Elliott bad-state loss */
    double ge_p, ge_r; /* Gilbert-Elliott good->bad and bad->good; 0 for random loss */
    unsigned frames;
} experiment;

static void frame_content(unsigned idx, uint8_t *buf, size_t *len) {
    *len = 20 + idx % 100;
    for (size_t i = 0; i < *len; i++) {
        buf[i] = (uint8_t)(idx * 7 + i * 13);
    }
}

/* Runs frames through encoder -> interleaver -> lossy channel -> decoder; returns the fraction of
 * frames delivered (each checked byte for byte). */
static double run(const experiment *x, double *raw_delivery) {
    wzp_fec_config cfg = {.max_k = x->k, .max_frame = 128, .slots = 16, .window = 32};
    wzp_fec_encoder *enc = NULL;
    wzp_fec_decoder *dec = NULL;
    wzp_interleaver *il = NULL;
    assert_int_equal(wzp_fec_encoder_new(&cfg, &enc), 0);
    assert_int_equal(wzp_fec_decoder_new(&cfg, &dec), 0);
    assert_int_equal(wzp_fec_encoder_set_params(enc, x->k, x->ratio), 0);
    assert_int_equal(wzp_interleaver_new(x->depth, 3 * x->k + 1, 1 + 132, &il), 0);
    static wzp_fec_packet pk[200], sent[8 * 200];
    static wzp_fec_frame got[64];
    static bool delivered[200000];
    memset(delivered, 0, x->frames);
    bool bad = false;
    size_t raw = 0, total_sent = 0;
    for (unsigned f = 0; f < x->frames; f++) {
        uint8_t buf[128];
        size_t len, n = 0, ns = 0;
        frame_content(f, buf, &len);
        assert_int_equal(wzp_fec_encoder_add(enc, buf, len, 0, 0, pk, 200, &n), 0);
        bool block_closed = n > 1 || pk[0].esi + 1u == x->k;
        for (size_t i = 0; i < n; i++) {
            bool end = block_closed && i + 1 == n;
            assert_int_equal(wzp_interleaver_push(il, &pk[i], end, sent, 8 * 200, &ns), 0);
            for (size_t j = 0; j < ns; j++) {
                /* channel */
                if (x->ge_p > 0) {
                    bad = bad ? urand() >= x->ge_r : urand() < x->ge_p;
                }
                bool lost = x->ge_p > 0 ? (bad && urand() < x->loss) : urand() < x->loss;
                total_sent++;
                if (lost) {
                    continue;
                }
                size_t ng = 0;
                assert_int_equal(wzp_fec_decoder_add(dec, &sent[j], total_sent * 20, got, 64, &ng),
                                 0);
                for (size_t g = 0; g < ng; g++) {
                    unsigned idx = (unsigned)(got[g].block_id) * x->k + got[g].index;
                    /* block ids wrap: map back to the nearest frame number */
                    unsigned base = f - f % (256 * x->k);
                    unsigned fi = base + idx;
                    if (fi > f + 3 * x->k) {
                        fi -= 256 * x->k;
                    }
                    uint8_t want[128];
                    size_t wlen;
                    frame_content(fi, want, &wlen);
                    assert_int_equal(got[g].len, wlen);
                    assert_memory_equal(got[g].data, want, wlen);
                    if (!got[g].recovered) {
                        raw++;
                    }
                    delivered[fi] = true;
                }
            }
        }
    }
    size_t ok = 0;
    for (unsigned f = 0; f < x->frames; f++) {
        ok += delivered[f];
    }
    *raw_delivery = (double)raw / x->frames;
    wzp_fec_encoder_free(enc);
    wzp_fec_decoder_free(dec);
    wzp_interleaver_free(il);
    return (double)ok / x->frames;
}

/* Probability that a frame is delivered by an ideal code: received, or lost with at least K of
 * the block's other K+R-1 symbols received. */
static double ideal(unsigned k, unsigned r, double p) {
    unsigned n = k + r - 1;
    double ok = 0.0;
    for (unsigned got = k; got <= n; got++) {
        double c = 1.0;
        for (unsigned i = 0; i < got; i++) {
            c = c * (n - i) / (i + 1);
        }
        ok += c * pow(1 - p, got) * pow(p, n - got);
    }
    return (1 - p) + p * ok;
}

static void test_recovery_at_random_loss_matches_an_ideal_code(void **state) {
    (void)state;
    static const experiment xs[] = {
        {8, 1.0f, 1, 0.20, 0, 0, 30000},  {8, 1.0f, 3, 0.20, 0, 0, 30000},
        {8, 1.0f, 1, 0.30, 0, 0, 30000},  {8, 1.0f, 3, 0.30, 0, 0, 30000},
        {8, 2.0f, 1, 0.50, 0, 0, 30000},  {8, 2.0f, 3, 0.50, 0, 0, 30000},
        {10, 2.0f, 1, 0.70, 0, 0, 30000}, {10, 2.0f, 3, 0.70, 0, 0, 30000},
        {5, 0.4f, 1, 0.20, 0, 0, 30000},  {5, 0.4f, 3, 0.20, 0, 0, 30000},
    };
    for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
        double raw = 0;
        double got = run(&xs[i], &raw);
        unsigned r = (unsigned)ceil((double)xs[i].k * (double)xs[i].ratio - 1e-6);
        double want = ideal(xs[i].k, r, xs[i].loss);
        print_message("K=%u ratio %.1f depth %u, %2.0f%% random loss: %.2f%% delivered "
                      "(%.2f%% without FEC, ideal code %.2f%%)\n",
                      xs[i].k, (double)xs[i].ratio, xs[i].depth, 100 * xs[i].loss, 100 * got,
                      100 * raw, 100 * want);
        assert_true(got >= want - 0.015);
        assert_true(got > raw);
    }
}

static void test_interleaving_spreads_burst_loss(void **state) {
    (void)state;
    /* Gilbert-Elliott: bursts averaging 4 packets, ~17% loss overall */
    experiment flat = {5, 0.4f, 1, 1.0, 0.05, 0.25, 60000};
    experiment deep = flat;
    deep.depth = 3;
    double raw1 = 0, raw3 = 0;
    double off = run(&flat, &raw1), on = run(&deep, &raw3);
    print_message("bursty loss (GE, mean burst 4): %.2f%% delivered without interleaving, "
                  "%.2f%% with depth 3 (no FEC: %.2f%%)\n",
                  100 * off, 100 * on, 100 * raw1);
    assert_true(on > off + 0.02);
}

static void test_decoder_expires_blocks_and_rejects_inconsistent_packets(void **state) {
    (void)state;
    wzp_fec_config cfg = {.max_k = 8, .max_frame = 64, .slots = 4, .window = 4};
    wzp_fec_decoder *dec = NULL;
    assert_int_equal(wzp_fec_decoder_new(&cfg, &dec), 0);
    wzp_fec_frame got[8];
    size_t n = 0;
    uint8_t data[80] = {0};
    wzp_fec_packet src = {.block_id = 10, .esi = 2, .payload = data, .len = 10};
    assert_int_equal(wzp_fec_decoder_add(dec, &src, 0, got, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(wzp_fec_decoder_add(dec, &src, 1, got, 8, &n), 0); /* duplicate */
    assert_int_equal(n, 0);
    data[0] = 2; /* repair says K = 2, but source index 2 exists */
    wzp_fec_packet rep = {.block_id = 10, .esi = 5, .is_repair = true, .payload = data, .len = 17};
    assert_int_equal(wzp_fec_decoder_add(dec, &rep, 2, got, 8, &n), 0);
    data[0] = 9; /* K above max_k */
    assert_int_equal(wzp_fec_decoder_add(dec, &rep, 2, got, 8, &n), 0);
    /* a block far behind the newest is expired on arrival */
    wzp_fec_packet newer = src;
    newer.block_id = 20;
    assert_int_equal(wzp_fec_decoder_add(dec, &newer, 3, got, 8, &n), 0);
    src.esi = 3;
    assert_int_equal(wzp_fec_decoder_add(dec, &src, 4, got, 8, &n), 0);
    assert_int_equal(n, 0);
    /* block ids wrap at 8 bits: walk the newest id round to 255, then 1 is two ahead */
    const uint8_t steps[] = {100, 180, 255};
    for (size_t i = 0; i < sizeof(steps); i++) {
        newer.block_id = steps[i];
        assert_int_equal(wzp_fec_decoder_add(dec, &newer, 5, got, 8, &n), 0);
        assert_int_equal(n, 1);
    }
    wzp_fec_packet wrapped = newer;
    wrapped.block_id = 1;
    assert_int_equal(wzp_fec_decoder_add(dec, &wrapped, 6, got, 8, &n), 0);
    assert_int_equal(n, 1);
    wzp_fec_decoder_stats st = wzp_fec_decoder_get_stats(dec);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.rejected, 2);
    assert_int_equal(st.expired_packets, 1);
    wzp_fec_decoder_free(dec);
}

static void test_adaptive_ratio_boosts_after_a_loss_spike(void **state) {
    (void)state;
    wzp_fec_adapt a;
    wzp_fec_adapt_init(&a, wzp_profile_get(WZP_PROFILE_GOOD));
    assert_float_equal(wzp_fec_adapt_ratio(&a, 0), 0.2, 1e-6);
    for (int i = 0; i < 10; i++) {
        wzp_fec_adapt_on_loss(&a, 2.0, (uint64_t)i * 1000);
    }
    assert_float_equal(wzp_fec_adapt_ratio(&a, 10000), 0.2, 1e-6);
    wzp_fec_adapt_on_loss(&a, 7.0, 10000); /* a spike: the boost */
    assert_float_equal(wzp_fec_adapt_ratio(&a, 10001), 0.4, 1e-6);
    for (int i = 11; i < 20; i++) { /* back to 2%: the loss estimate falls report by report */
        wzp_fec_adapt_on_loss(&a, 2.0, (uint64_t)i * 1000);
    }
    assert_float_equal(wzp_fec_adapt_ratio(&a, 19999), 0.4, 1e-6);
    assert_float_equal(wzp_fec_adapt_ratio(&a, 20000), 0.2, 1e-6);
    /* heavy loss: the floor -- the fewest repairs R for which a block of 5 + R symbols at 20%
     * loss fails at most 1% of the time is 5 (P = 0.6%; 4 gives 2%) -- beats profile + boost */
    wzp_fec_adapt_on_loss(&a, 20.0, 21000);
    assert_float_equal(wzp_fec_adapt_ratio(&a, 21001), 1.0, 1e-6);
    wzp_fec_adapt_set_profile(&a, wzp_profile_get(WZP_PROFILE_CATASTROPHIC));
    wzp_fec_adapt_on_loss(&a, 90.0, 30000);
    assert_float_equal(wzp_fec_adapt_ratio(&a, 30001), 2.0, 1e-6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symbol_size_and_framing),
        cmocka_unit_test(test_encoder_emits_sources_then_repairs_with_k_and_t),
        cmocka_unit_test(test_recovery_at_random_loss_matches_an_ideal_code),
        cmocka_unit_test(test_interleaving_spreads_burst_loss),
        cmocka_unit_test(test_decoder_expires_blocks_and_rejects_inconsistent_packets),
        cmocka_unit_test(test_adaptive_ratio_boosts_after_a_loss_spike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
