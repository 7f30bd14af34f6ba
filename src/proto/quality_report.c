/* The 4-byte quality report trailer (SPEC §3.4) with saturating conversions from measurements. */
#include "wzp/proto.h"

#include <math.h>

static uint8_t saturate_u8(uint32_t v) {
    return v > 255 ? 255 : (uint8_t)v;
}

wzp_quality_report wzp_quality_report_make(double loss_percent, uint32_t rtt_ms, uint32_t jitter_ms,
                                           uint32_t bitrate_cap_kbps) {
    double loss = isnan(loss_percent) ? 0.0 : loss_percent;
    if (loss < 0.0) {
        loss = 0.0;
    }
    if (loss > 100.0) {
        loss = 100.0;
    }
    uint32_t rtt_4 = rtt_ms / 4 + ((rtt_ms % 4) >= 2 ? 1 : 0);
    wzp_quality_report r = {
        .loss_pct = (uint8_t)lround(loss * 255.0 / 100.0),
        .rtt_4ms = saturate_u8(rtt_4),
        .jitter_ms = saturate_u8(jitter_ms),
        .bitrate_cap_kbps = saturate_u8(bitrate_cap_kbps),
    };
    return r;
}

double wzp_quality_report_loss_percent(const wzp_quality_report *r) {
    return (double)r->loss_pct * 100.0 / 255.0;
}

uint32_t wzp_quality_report_rtt_ms(const wzp_quality_report *r) {
    return (uint32_t)r->rtt_4ms * 4u;
}

int wzp_quality_report_encode(const wzp_quality_report *r, uint8_t *buf, size_t cap,
                              size_t *written) {
    if (cap < WZP_QUALITY_REPORT_SIZE) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    buf[0] = r->loss_pct;
    buf[1] = r->rtt_4ms;
    buf[2] = r->jitter_ms;
    buf[3] = r->bitrate_cap_kbps;
    *written = WZP_QUALITY_REPORT_SIZE;
    return WZP_OK;
}

int wzp_quality_report_decode(const uint8_t *buf, size_t len, wzp_quality_report *out,
                              size_t *consumed) {
    if (len < WZP_QUALITY_REPORT_SIZE) {
        return WZP_ERR_TRUNCATED;
    }
    out->loss_pct = buf[0];
    out->rtt_4ms = buf[1];
    out->jitter_ms = buf[2];
    out->bitrate_cap_kbps = buf[3];
    *consumed = WZP_QUALITY_REPORT_SIZE;
    return WZP_OK;
}
