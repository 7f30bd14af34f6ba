/* Fuzz the quality report trailer: decode -> encode reproduces the bytes. */
#include <stdlib.h>
#include <string.h>

#include "wzp/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wzp_quality_report r;
    size_t used = 0, n = 0;
    if (wzp_quality_report_decode(data, size, &r, &used) != 0) {
        return 0;
    }
    uint8_t buf[WZP_QUALITY_REPORT_SIZE];
    if (wzp_quality_report_encode(&r, buf, sizeof(buf), &n) != 0 || n != used ||
        memcmp(buf, data, n) != 0) {
        abort();
    }
    /* the conversions round-trip within their quantisation */
    wzp_quality_report m =
        wzp_quality_report_make(wzp_quality_report_loss_percent(&r), wzp_quality_report_rtt_ms(&r),
                                r.jitter_ms, r.bitrate_cap_kbps);
    if (memcmp(&m, &r, sizeof(r)) != 0) {
        abort();
    }
    return 0;
}
