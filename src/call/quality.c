/* Tier classification with hysteresis (SPEC §7) and the receiver's loss meter. */
#include <string.h>

#include "wzp/call.h"

wzp_tier wzp_quality_classify(const wzp_quality_report *r, wzp_net_kind net) {
    double loss = wzp_quality_report_loss_percent(r);
    uint32_t rtt = wzp_quality_report_rtt_ms(r);
    if (net == WZP_NET_CELLULAR) {
        if (loss > 25.0 || rtt > 500) {
            return WZP_TIER_CATASTROPHIC;
        }
        return (loss > 8.0 || rtt > 300) ? WZP_TIER_DEGRADED : WZP_TIER_GOOD;
    }
    if (loss > 40.0 || rtt > 600) {
        return WZP_TIER_CATASTROPHIC;
    }
    return (loss < 10.0 && rtt < 400) ? WZP_TIER_GOOD : WZP_TIER_DEGRADED;
}

void wzp_quality_init(wzp_quality_ctl *q, wzp_net_kind net, wzp_tier initial) {
    memset(q, 0, sizeof(*q));
    q->net = net;
    q->tier = initial;
    wzp_fec_adapt_init(&q->fec, wzp_profile_get((wzp_profile_id)initial));
}

void wzp_quality_pin(wzp_quality_ctl *q, wzp_tier tier) {
    q->tier = tier;
    q->pinned = true;
    wzp_fec_adapt_set_profile(&q->fec, wzp_profile_get((wzp_profile_id)tier));
}

static void remember(wzp_quality_ctl *q, wzp_tier t) {
    if (q->history_len == WZP_QUALITY_HISTORY) {
        memmove(q->history, q->history + 1, (WZP_QUALITY_HISTORY - 1) * sizeof(wzp_tier));
        q->history_len--;
    }
    q->history[q->history_len++] = t;
}

bool wzp_quality_on_report(wzp_quality_ctl *q, const wzp_quality_report *r, uint64_t now_ms) {
    wzp_tier seen = wzp_quality_classify(r, q->net);
    remember(q, seen);
    wzp_fec_adapt_on_loss(&q->fec, wzp_quality_report_loss_percent(r), now_ms);
    wzp_tier before = q->tier;
    if (q->pinned) {
        return false;
    }
    unsigned down =
        q->net == WZP_NET_CELLULAR ? WZP_QUALITY_DOWN_REPORTS_CELLULAR : WZP_QUALITY_DOWN_REPORTS;
    if (seen > q->tier) { /* worse */
        q->better_run = 0;
        if (++q->worse_run >= down) {
            q->tier = seen;
            q->worse_run = 0;
        }
    } else if (seen < q->tier) { /* better */
        q->worse_run = 0;
        if (++q->better_run >= WZP_QUALITY_UP_REPORTS) {
            q->tier = (wzp_tier)(q->tier - 1);
            q->better_run = 0;
        }
    } else {
        q->worse_run = q->better_run = 0;
    }
    if (q->tier != before) {
        wzp_fec_adapt_set_profile(&q->fec, wzp_profile_get((wzp_profile_id)q->tier));
        return true;
    }
    return false;
}

const wzp_profile *wzp_quality_profile(const wzp_quality_ctl *q) {
    return wzp_profile_get((wzp_profile_id)q->tier);
}

float wzp_quality_fec_ratio(const wzp_quality_ctl *q, uint64_t now_ms) {
    return wzp_fec_adapt_ratio(&q->fec, now_ms);
}

void wzp_quality_meter_init(wzp_quality_meter *m) {
    memset(m, 0, sizeof(*m));
}

void wzp_quality_meter_on_packet(wzp_quality_meter *m, uint16_t seq) {
    if (!m->started) {
        m->started = true;
        m->base_ext = m->max_ext = seq;
        m->received = 1;
        return;
    }
    /* extend the 16-bit sequence around the highest seen so far */
    uint32_t ext = (m->max_ext & ~0xFFFFu) | seq;
    int32_t d = (int32_t)(ext - m->max_ext);
    if (d > 0x8000) {
        ext -= 0x10000;
    } else if (d < -0x8000) {
        ext += 0x10000;
    }
    if ((int32_t)(ext - m->max_ext) > 0) {
        m->max_ext = ext;
    }
    if ((int32_t)(ext - m->base_ext) >= 0) {
        m->received++;
    }
}

wzp_quality_report wzp_quality_meter_report(wzp_quality_meter *m, uint32_t rtt_ms,
                                            uint32_t jitter_ms, uint32_t bitrate_cap_kbps) {
    double loss = 0.0;
    if (m->started) {
        double expected = (double)(m->max_ext - m->base_ext) + 1.0;
        double got = (double)m->received > expected ? expected : (double)m->received;
        loss = 100.0 * (expected - got) / expected;
        m->base_ext = m->max_ext + 1;
        m->received = 0;
    }
    return wzp_quality_report_make(loss, rtt_ms, jitter_ms, bitrate_cap_kbps);
}
