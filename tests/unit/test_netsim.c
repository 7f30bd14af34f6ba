/* wzp-netsim's impairment model measured against itself: a known stream goes through each
 * impairment and the loss, delay, jitter, bursts, duplicates and throughput measured match what
 * was configured, within statistical tolerance. */
#include "testutil.h"

#include <math.h>

#include "wzp/netsim.h"

static const wzp_netsim_params none = {0};

static void test_random_loss(void **state) {
    (void)state;
    wzp_netsim_params p = none;
    p.loss = 0.2;
    wzp_netsim n;
    wzp_netsim_init(&n, &p, 1);
    double out[2];
    unsigned lost = 0;
    for (unsigned i = 0; i < 100000; i++) {
        lost += wzp_netsim_offer(&n, 100, i * 20.0, out) == 0;
    }
    print_message("random loss 0.2: measured %.4f\n", lost / 100000.0);
    assert_true(fabs(lost / 100000.0 - 0.2) < 0.005);
}

static void test_gilbert_elliott(void **state) {
    (void)state;
    wzp_netsim_params p = none;
    p.ge = true;
    p.ge_p = 0.05;
    p.ge_r = 0.3;
    p.ge_loss_bad = 1.0;
    wzp_netsim n;
    wzp_netsim_init(&n, &p, 2);
    double out[2];
    unsigned lost = 0, bursts = 0;
    bool prev = false;
    for (unsigned i = 0; i < 200000; i++) {
        bool l = wzp_netsim_offer(&n, 100, i * 20.0, out) == 0;
        lost += l;
        bursts += l && !prev;
        prev = l;
    }
    double rate = lost / 200000.0, mean_burst = (double)lost / bursts;
    print_message("GE p=0.05 r=0.3: loss %.4f (expect %.4f), mean burst %.2f (expect %.2f)\n", rate,
                  0.05 / 0.35, mean_burst, 1 / 0.3);
    assert_true(fabs(rate - 0.05 / 0.35) < 0.01);
    assert_true(fabs(mean_burst - 1 / 0.3) < 0.2);
}

static void test_delay_and_jitter(void **state) {
    (void)state;
    for (int reorder = 0; reorder <= 1; reorder++) {
        wzp_netsim_params p = none;
        p.delay_ms = 50;
        p.jitter_ms = 40;
        p.reorder = reorder;
        wzp_netsim n;
        wzp_netsim_init(&n, &p, 3);
        double out[2], sum = 0, mn = 1e9, mx = 0, prev = 0;
        unsigned reordered = 0, count = 20000;
        for (unsigned i = 0; i < count; i++) {
            assert_int_equal(wzp_netsim_offer(&n, 100, i * 20.0, out), 1);
            double d = out[0] - i * 20.0;
            sum += d;
            mn = fmin(mn, d);
            mx = fmax(mx, d);
            reordered += out[0] < prev;
            prev = out[0];
        }
        print_message("delay 50 + jitter 0..40 %s: mean %.1f, min %.1f, max %.1f, reordered %u\n",
                      reorder ? "with reordering" : "in order", sum / count, mn, mx, reordered);
        assert_true(mn >= 50 && mx <= 90);
        if (reorder) {
            assert_true(fabs(sum / count - 70) < 0.5); /* uniform 50..90 */
            assert_true(reordered > count / 20);       /* 40 ms of jitter over 20 ms spacing */
        } else {
            assert_int_equal(reordered, 0);
            assert_true(sum / count > 70 && sum / count < 80); /* held behind earlier ones */
        }
    }
}

static void test_duplication_and_blackout(void **state) {
    (void)state;
    wzp_netsim_params p = none;
    p.dup = 0.1;
    wzp_netsim n;
    wzp_netsim_init(&n, &p, 4);
    double out[2];
    unsigned copies = 0;
    for (unsigned i = 0; i < 50000; i++) {
        copies += (unsigned)wzp_netsim_offer(&n, 100, i * 20.0, out);
    }
    print_message("dup 0.1: %.4f extra copies per packet\n", copies / 50000.0 - 1);
    assert_true(fabs(copies / 50000.0 - 1.1) < 0.01);
    p = none;
    p.blackout = true;
    wzp_netsim_set(&n, &p);
    assert_int_equal(wzp_netsim_offer(&n, 100, 0, out), 0);
    assert_int_equal(n.st.lost_blackout, 1);
}

static void test_rate_cap(void **state) {
    (void)state;
    wzp_netsim_params p = none;
    p.rate_kbps = 64;
    p.queue_ms = 100;
    wzp_netsim n;
    wzp_netsim_init(&n, &p, 5);
    double out[2], last = 0, max_wait = 0;
    unsigned sent = 0;
    for (unsigned i = 0; i < 6000; i++) { /* 200 bytes every 10 ms: 160 kbit/s offered */
        if (wzp_netsim_offer(&n, 200, i * 10.0, out) == 1) {
            sent++;
            last = out[0];
            max_wait = fmax(max_wait, out[0] - i * 10.0);
        }
    }
    double kbps = sent * 200 * 8 / last;
    print_message("cap 64 kbit/s, queue 100 ms, 160 offered: %.1f kbit/s through, %.0f%% dropped, "
                  "longest wait %.1f ms\n",
                  kbps, 100.0 - 100.0 * sent / 6000, max_wait);
    assert_true(fabs(kbps - 64) < 1);
    assert_true(max_wait <= 100 + 200 * 8 / 64.0 + 0.001);
    assert_true(n.st.lost_queue > 3000);
}

static void test_deterministic(void **state) {
    (void)state;
    wzp_netsim_params p = none;
    p.loss = 0.3;
    p.jitter_ms = 30;
    p.reorder = true;
    wzp_netsim a, b;
    wzp_netsim_init(&a, &p, 42);
    wzp_netsim_init(&b, &p, 42);
    for (unsigned i = 0; i < 1000; i++) {
        double x[2] = {0}, y[2] = {0};
        assert_int_equal(wzp_netsim_offer(&a, 100, i, x), wzp_netsim_offer(&b, 100, i, y));
        assert_true(x[0] == y[0]);
    }
}

static void test_scenario(void **state) {
    (void)state;
    wzp_netsim_step st[8];
    size_t n = 0;
    unsigned line = 0;
    const char *good = "# degrade, then recover\n0 loss=0\n10 loss=0.3 jitter=40 reorder=1\n"
                       "\n20 ge=0.05,0.3,0,1 # bursts\n30 blackout=1\n32 blackout=0 loss=0\n";
    wzp_netsim_params base = none;
    base.delay_ms = 20;
    assert_int_equal(wzp_netsim_parse_scenario(good, strlen(good), &base, st, 8, &n, &line),
                     WZP_OK);
    assert_int_equal(n, 5);
    assert_true(st[1].at_s == 10 && st[1].p.loss == 0.3 && st[1].p.reorder &&
                st[1].p.delay_ms == 20);
    assert_true(st[2].p.ge && st[2].p.ge_loss_bad == 1 && st[2].p.jitter_ms == 40);
    assert_true(st[3].p.blackout && !st[4].p.blackout && !st[4].p.ge);
    static const struct {
        const char *text;
        unsigned line;
    } bad[] = {{"0 loss=0\n5 los=0.1\n", 2},
               {"0 loss=1.5\n", 1},
               {"5 loss=0\n2 loss=0\n", 2},
               {"x loss=0\n", 1},
               {"0\n", 1},
               {"0 ge=0.1,0.2,0\n", 1},
               {"0 jitter=abc\n", 1},
               {"0 reorder=2\n", 1},
               {"0 loss=nan\n", 1}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        line = 0;
        assert_int_not_equal(
            wzp_netsim_parse_scenario(bad[i].text, strlen(bad[i].text), &base, st, 8, &n, &line),
            WZP_OK);
        assert_int_equal(line, bad[i].line);
    }
    char many[2048] = "";
    for (int i = 0; i < 9; i++) {
        char l[32];
        snprintf(l, sizeof(l), "%d loss=0\n", i);
        strcat(many, l);
    }
    assert_int_equal(wzp_netsim_parse_scenario(many, strlen(many), &base, st, 8, &n, &line),
                     WZP_ERR_TOO_MANY_ENTRIES);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_loss),      cmocka_unit_test(test_gilbert_elliott),
        cmocka_unit_test(test_delay_and_jitter), cmocka_unit_test(test_duplication_and_blackout),
        cmocka_unit_test(test_rate_cap),         cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_scenario),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
