/* Adaptive FEC ratio (SPEC §6): the profile's ratio, plus WZP_FEC_BOOST for WZP_FEC_BOOST_MS
 * after a loss spike (a report well above the running loss average). Ours adds a floor that
 * follows the measured loss: SPEC's fixed ratios cannot save more than ~97% of frames at 20%
 * loss (GOOD, 0.2) or ~80% at 50% (DEGRADED, 0.5) however the tiers move: the floor is the
 * repair a block of the profile's size needs so that at most 1% of blocks fail at the estimated
 * loss (binomial; RaptorQ decodes from any K symbols). The loss estimate rises with the first
 * report that shows more loss (a link that just got worse is repaired from the next block on)
 * and falls slowly (a few clean reports in a lossy stretch do not drop the
 * repair); `wzp-bench quality` shows what each choice buys. */
#include <math.h>

#include "wzp/fec.h"

#define SPIKE_MIN_POINTS 5.0
#define EMA_WEIGHT       0.2

void wzp_fec_adapt_init(wzp_fec_adapt *a, const wzp_profile *profile) {
    a->base_ratio = profile->fec_ratio;
    a->k = profile->frames_per_block;
    a->loss_ema = 0.0;
    a->has_ema = false;
    a->boost_until_ms = 0;
}

void wzp_fec_adapt_set_profile(wzp_fec_adapt *a, const wzp_profile *profile) {
    a->base_ratio = profile->fec_ratio;
    a->k = profile->frames_per_block;
}

void wzp_fec_adapt_on_loss(wzp_fec_adapt *a, double loss_percent, uint64_t now_ms) {
    if (!(loss_percent >= 0.0)) {
        return;
    }
    double avg = a->has_ema ? a->loss_ema : 0.0;
    if (loss_percent >= avg + SPIKE_MIN_POINTS && loss_percent >= 2.0 * avg) {
        a->boost_until_ms = now_ms + WZP_FEC_BOOST_MS;
    }
    a->loss_ema =
        a->has_ema && loss_percent < avg ? avg + EMA_WEIGHT * (loss_percent - avg) : loss_percent;
    a->has_ema = true;
}

/* The fewest repair symbols (at most 2K) for which K + R symbols lose more than R with
 * probability at most WZP_FEC_BLOCK_FAILURE, each lost with probability p. */
static unsigned repair_needed(unsigned k, double p) {
    for (unsigned r = 0; r < 2 * k; r++) {
        unsigned n = k + r;
        /* P(lost <= r) by the binomial terms, built up multiplicatively */
        double term = pow(1.0 - p, (double)n), ok = term;
        for (unsigned j = 1; j <= r; j++) {
            term *= (double)(n - j + 1) / (double)j * p / (1.0 - p);
            ok += term;
        }
        if (1.0 - ok <= WZP_FEC_BLOCK_FAILURE) {
            return r;
        }
    }
    return 2 * k;
}

float wzp_fec_adapt_ratio(const wzp_fec_adapt *a, uint64_t now_ms) {
    float r = a->base_ratio;
    if (now_ms < a->boost_until_ms) {
        r += WZP_FEC_BOOST;
    }
    if (a->has_ema && a->loss_ema > 0.0 && a->k > 0) {
        double p = a->loss_ema / 100.0 > 0.9 ? 0.9 : a->loss_ema / 100.0;
        float floor = (float)repair_needed(a->k, p) / (float)a->k;
        r = floor > r ? floor : r;
    }
    return r > 2.0f ? 2.0f : r;
}
