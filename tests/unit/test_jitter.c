/*
 * The adaptive jitter buffer on synthetic network traces, simulated in virtual time: a sender
 * emits a 20 ms frame per tick on its own (possibly drifting) clock; the network adds delay,
 * jitter, reordering or a blackout; the receiver inserts what has arrived and pulls one frame
 * every 20 ms of its clock. Each trace is data: a seeded generator and its parameters.
 */
#include <math.h>

#include "testutil.h"
#include "wzp/call.h"

typedef struct trace {
    const char *name;
    unsigned frames;
    double base_ms, jitter_ms; /* uniform jitter in [0, jitter_ms) */
    unsigned reorder_pct;      /* packets held back 25 ms, arriving after the next */
    double blackout_at_ms, blackout_ms;
    double drift_ppm; /* sender clock rate error */
    uint64_t seed;
} trace;

typedef struct result {
    double mean_delay, oracle_delay;
    unsigned underruns_after_warmup, late, played, concealed, max_depth, min_depth_after_warmup;
    wzp_jb_stats st;
} result;

static uint64_t g_rng;
static double urand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}

#define MAXF 40000
static double g_send[MAXF], g_arrive[MAXF], g_played_at[MAXF];
static unsigned g_order[MAXF];

static int by_arrival(const void *a, const void *b) {
    double x = g_arrive[*(const unsigned *)a], y = g_arrive[*(const unsigned *)b];
    return x < y ? -1 : x > y;
}

static result run_trace(const trace *t) {
    g_rng = t->seed;
    unsigned n = 0;
    for (unsigned i = 0; i < t->frames; i++) {
        g_send[i] = i * 20.0 * (1.0 + t->drift_ppm / 1e6);
        g_arrive[i] = g_send[i] + t->base_ms + t->jitter_ms * urand();
        if (urand() * 100 < t->reorder_pct) {
            g_arrive[i] += 25.0;
        }
        g_played_at[i] = -1;
        bool blacked =
            g_send[i] >= t->blackout_at_ms && g_send[i] < t->blackout_at_ms + t->blackout_ms;
        if (!blacked) {
            g_order[n++] = i;
        }
    }
    qsort(g_order, n, sizeof(unsigned), by_arrival);
    wzp_jb_config cfg = wzp_jb_default_config(false);
    wzp_jb *jb = NULL;
    assert_int_equal(wzp_jb_new(&cfg, &jb), 0);
    result r = {0};
    r.min_depth_after_warmup = 1000;
    unsigned next = 0;
    double sum = 0;
    uint8_t payload[60] = {0};
    uint64_t underruns_at_warmup = 0;
    for (unsigned k = 0;; k++) {
        double now = k * 20.0;
        while (next < n && g_arrive[g_order[next]] <= now) {
            unsigned i = g_order[next++];
            assert_int_equal(wzp_jb_insert(jb, WZP_CODEC_OPUS_24K, i * 20u, payload,
                                           sizeof(payload), (uint64_t)g_arrive[i]),
                             0);
        }
        wzp_jb_out out;
        wzp_jb_pull(jb, &out);
        if (out.kind == WZP_JB_FRAME) {
            unsigned i = out.timestamp_ms / 20;
            g_played_at[i] = now;
            sum += now - g_send[i];
            r.played++;
        }
        wzp_jb_stats st = wzp_jb_get_stats(jb);
        if (k == 100) {
            underruns_at_warmup = st.underruns;
        }
        if (k > 100) {
            r.max_depth = st.depth_frames > r.max_depth ? st.depth_frames : r.max_depth;
            if (st.depth_frames < r.min_depth_after_warmup) {
                r.min_depth_after_warmup = st.depth_frames;
            }
        }
        if (out.kind == WZP_JB_FRAME && out.timestamp_ms == (t->frames - 1) * 20) {
            break; /* the last frame played */
        }
        assert_true(now < g_send[t->frames - 1] + 60000);
    }
    r.st = wzp_jb_get_stats(jb);
    r.underruns_after_warmup = (unsigned)(r.st.underruns - underruns_at_warmup);
    r.late = (unsigned)r.st.late;
    r.concealed = (unsigned)r.st.concealed;
    r.mean_delay = sum / r.played;
    for (unsigned j = 0; j < n; j++) {
        unsigned i = g_order[j];
        r.oracle_delay = fmax(r.oracle_delay, g_arrive[i] - g_send[i]);
    }
    print_message("%-9s played %u, late %u, concealed %u, underruns after warm-up %u, "
                  "accelerated %llu, stretched %llu, jitter %.1f ms, target %u, depth %u..%u; "
                  "mean delay %.1f ms vs oracle %.1f ms (%.2fx)\n",
                  t->name, r.played, r.late, r.concealed, r.underruns_after_warmup,
                  (unsigned long long)r.st.accelerated, (unsigned long long)r.st.stretched,
                  r.st.jitter_ms, r.st.target_frames, r.min_depth_after_warmup, r.max_depth,
                  r.mean_delay, r.oracle_delay, r.mean_delay / r.oracle_delay);
    wzp_jb_free(jb);
    return r;
}

static void test_clean_trace_never_underruns_after_warm_up(void **state) {
    (void)state;
    trace t = {"clean", 3000, 30, 2, 0, 0, 0, 0, 1};
    result r = run_trace(&t);
    assert_int_equal(r.underruns_after_warmup, 0);
    assert_int_equal(r.late, 0);
    assert_true(r.played >= 3000 - r.st.accelerated);
}

static void test_jittery_trace_costs_at_most_1_2x_the_oracle_delay(void **state) {
    (void)state;
    trace t = {"jitter", 6000, 30, 50, 10, 0, 0, 0, 2};
    result r = run_trace(&t);
    assert_true(r.mean_delay <= 1.2 * r.oracle_delay);
    assert_true(r.late * 100 <= r.played); /* under 1% late */
}

static void test_blackout_recovers(void **state) {
    (void)state;
    trace t = {"blackout", 3000, 30, 10, 0, 20000, 300, 0, 3};
    result r = run_trace(&t);
    assert_true(r.concealed >= 15 && r.concealed <= 30); /* the 300 ms gap, concealed */
    assert_true(r.played >= 3000 - 15 - r.st.accelerated - 5);
}

static void test_clock_drift_keeps_depth_bounded(void **state) {
    (void)state;
    for (int sign = -1; sign <= 1; sign += 2) {
        trace t = {sign < 0 ? "drift-200" : "drift+200", 30000, 30, 10, 0, 0, 0, 200.0 * sign, 4};
        result r = run_trace(&t);
        /* 10 minutes at 200 ppm is 120 ms of drift: absorbed one frame at a time */
        assert_true(r.max_depth <= r.st.target_frames + 3);
        /* a fast sender (negative ppm here) fills the buffer: accelerate; a slow one: stretch */
        assert_true(sign < 0 ? r.st.accelerated >= 3 : r.st.stretched >= 3);
        assert_true(r.underruns_after_warmup <= 2);
    }
}

static void test_reordering_duplicates_and_late_frames(void **state) {
    (void)state;
    wzp_jb_config cfg = wzp_jb_default_config(false);
    cfg.initial_frames = 2;
    wzp_jb *jb = NULL;
    assert_int_equal(wzp_jb_new(&cfg, &jb), 0);
    const uint8_t p[3] = {1, 2, 3};
    uint32_t base = 0xFFFFFFFFu - 30; /* the millisecond clock wraps mid-test */
    assert_int_equal(wzp_jb_insert(jb, WZP_CODEC_OPUS_24K, base + 20, p, 2, 0), 0);
    assert_int_equal(wzp_jb_insert(jb, WZP_CODEC_OPUS_24K, base, p, 1, 1), 0);
    assert_int_equal(wzp_jb_insert(jb, WZP_CODEC_OPUS_24K, base, p, 1, 2), 0); /* duplicate */
    assert_int_equal(wzp_jb_insert(jb, WZP_CODEC_OPUS_24K, base + 60, p, 3, 3), 0);
    wzp_jb_out o;
    wzp_jb_pull(jb, &o);
    assert_int_equal(o.kind, WZP_JB_FRAME);
    assert_int_equal(o.timestamp_ms, base);
    wzp_jb_pull(jb, &o);
    assert_int_equal(o.timestamp_ms, base + 20);
    wzp_jb_pull(jb, &o); /* base + 40 is missing; the next frame is there for in-band FEC */
    assert_int_equal(o.kind, WZP_JB_CONCEAL);
    assert_non_null(o.data);
    assert_int_equal(o.len, 3);
    assert_int_equal(wzp_jb_insert(jb, WZP_CODEC_OPUS_24K, base + 40, p, 1, 4), 0); /* late */
    wzp_jb_pull(jb, &o);
    assert_int_equal(o.kind, WZP_JB_FRAME);
    assert_int_equal(o.timestamp_ms, base + 60);
    wzp_jb_stats st = wzp_jb_get_stats(jb);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.late, 1);
    assert_int_equal(wzp_jb_insert(jb, 12, base + 80, p, 1, 5), WZP_ERR_UNKNOWN_CODEC);
    wzp_jb_free(jb);
}

static void test_overrun_drops_the_oldest(void **state) {
    (void)state;
    wzp_jb_config cfg = wzp_jb_default_config(false);
    wzp_jb *jb = NULL;
    assert_int_equal(wzp_jb_new(&cfg, &jb), 0);
    const uint8_t p[1] = {0};
    for (unsigned i = 0; i < cfg.capacity + 10; i++) {
        assert_int_equal(wzp_jb_insert(jb, WZP_CODEC_OPUS_24K, i * 20, p, 1, i), 0);
    }
    wzp_jb_stats st = wzp_jb_get_stats(jb);
    assert_int_equal(st.overruns, 10);
    wzp_jb_out o;
    wzp_jb_pull(jb, &o);
    assert_int_equal(o.timestamp_ms, 200); /* frames 0..9 went */
    wzp_jb_free(jb);
}

/* A sender that stops (hang-up, mute) is concealed for at most WZP_JB_IDLE_FRAMES pulls, then
 * the buffer waits in silence; its next talkspurt, seconds later, plays from its first frame after
 * buffering afresh (not dropped as "late"). */
static void test_stopped_sender_goes_idle_and_restarts(void **state) {
    (void)state;
    wzp_jb_config cfg = wzp_jb_default_config(false);
    cfg.initial_frames = 2;
    wzp_jb *jb = NULL;
    assert_int_equal(wzp_jb_new(&cfg, &jb), 0);
    const uint8_t p[1] = {7};
    wzp_jb_out o;
    unsigned played = 0, concealed = 0, silent = 0;
    /* one frame arrives per pull, as in a call; 10 frames, then nothing for 2 s */
    for (unsigned i = 0; i < 100; i++) {
        if (i < 10) {
            assert_int_equal(wzp_jb_insert(jb, WZP_CODEC_OPUS_24K, i * 20, p, 1, i * 20), 0);
        }
        wzp_jb_pull(jb, &o);
        played += o.kind == WZP_JB_FRAME;
        concealed += o.kind == WZP_JB_CONCEAL;
        silent += o.kind == WZP_JB_BUFFERING;
    }
    wzp_jb_stats st = wzp_jb_get_stats(jb);
    print_message("first talkspurt: %u played, %u concealed, %u silent, %llu accelerated\n", played,
                  concealed, silent, (unsigned long long)st.accelerated);
    assert_int_equal(played + st.accelerated, 10);
    assert_int_equal(concealed, WZP_JB_IDLE_FRAMES);
    assert_int_equal(st.underruns, WZP_JB_IDLE_FRAMES);
    assert_true(silent >= 100 - 10 - WZP_JB_IDLE_FRAMES);
    played = 0;
    uint32_t first = 0;
    for (unsigned i = 0; i < 20; i++) { /* the next talkspurt, 5 s on */
        if (i < 10) {
            assert_int_equal(
                wzp_jb_insert(jb, WZP_CODEC_OPUS_24K, 5000 + i * 20, p, 1, 5000 + i * 20), 0);
        }
        wzp_jb_pull(jb, &o);
        if (o.kind == WZP_JB_FRAME && played++ == 0) {
            first = o.timestamp_ms;
        }
    }
    st = wzp_jb_get_stats(jb);
    assert_int_equal(played, 10);
    assert_int_equal(first, 5000);
    assert_int_equal(st.late, 0);
    wzp_jb_free(jb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_trace_never_underruns_after_warm_up),
        cmocka_unit_test(test_jittery_trace_costs_at_most_1_2x_the_oracle_delay),
        cmocka_unit_test(test_blackout_recovers),
        cmocka_unit_test(test_clock_drift_keeps_depth_bounded),
        cmocka_unit_test(test_reordering_duplicates_and_late_frames),
        cmocka_unit_test(test_overrun_drops_the_oldest),
        cmocka_unit_test(test_stopped_sender_goes_idle_and_restarts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
