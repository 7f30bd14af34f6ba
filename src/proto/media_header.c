/* The 12-byte media header (SPEC §3.1): bit layout of bytes 0-1 and the FEC ratio encoding.
 * SPEC leaves the two low bits of byte 1 unused (the original writes zeros); we carry the compact
 * framing's context epoch there, which an original decoder ignores. */
#include "wzp/proto.h"

#include <math.h>

#include "proto/bytes.h"

uint8_t wzp_fec_ratio_encode(float ratio) {
    if (!(ratio > 0.0f)) { /* also catches NaN */
        return 0;
    }
    double v = round((double)ratio * 63.5);
    return v >= WZP_FEC_RATIO_MAX_ENCODED ? WZP_FEC_RATIO_MAX_ENCODED : (uint8_t)v;
}

float wzp_fec_ratio_decode(uint8_t encoded) {
    return (float)(encoded & 0x7F) / 63.5f;
}

int wzp_media_header_encode(const wzp_media_header *h, uint8_t *buf, size_t cap, size_t *written) {
    if (cap < WZP_MEDIA_HEADER_SIZE) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    if (h->version != 0) {
        return WZP_ERR_BAD_VERSION;
    }
    if (wzp_codec_info_get(h->codec_id) == NULL) {
        return WZP_ERR_UNKNOWN_CODEC;
    }
    if (h->fec_ratio > WZP_FEC_RATIO_MAX_ENCODED || h->ctx_epoch >= 4) {
        return WZP_ERR_OUT_OF_RANGE;
    }
    buf[0] = (uint8_t)((h->version << 7) | ((h->is_repair ? 1 : 0) << 6) | (h->codec_id << 2) |
                       ((h->has_quality_report ? 1 : 0) << 1) | (h->fec_ratio >> 6));
    buf[1] = (uint8_t)(((h->fec_ratio & 0x3F) << 2) | h->ctx_epoch);
    wzp__put_u16be(buf + 2, h->seq);
    wzp__put_u32be(buf + 4, h->timestamp_ms);
    buf[8] = h->fec_block_id;
    buf[9] = h->fec_symbol_idx;
    buf[10] = h->reserved;
    buf[11] = h->csrc_count;
    *written = WZP_MEDIA_HEADER_SIZE;
    return WZP_OK;
}

int wzp_media_header_decode(const uint8_t *buf, size_t len, wzp_media_header *out,
                            size_t *consumed) {
    if (len < WZP_MEDIA_HEADER_SIZE) {
        return WZP_ERR_TRUNCATED;
    }
    uint8_t b0 = buf[0];
    uint8_t b1 = buf[1];
    if ((b0 >> 7) != 0) {
        return WZP_ERR_BAD_VERSION;
    }
    uint8_t codec = (uint8_t)((b0 >> 2) & 0x0F);
    if (wzp_codec_info_get(codec) == NULL) {
        return WZP_ERR_UNKNOWN_CODEC;
    }
    wzp_media_header h = {
        .version = 0,
        .is_repair = ((b0 >> 6) & 1) != 0,
        .codec_id = codec,
        .has_quality_report = ((b0 >> 1) & 1) != 0,
        .fec_ratio = (uint8_t)(((b0 & 1) << 6) | (b1 >> 2)),
        .ctx_epoch = (uint8_t)(b1 & 0x03),
        .seq = wzp__get_u16be(buf + 2),
        .timestamp_ms = wzp__get_u32be(buf + 4),
        .fec_block_id = buf[8],
        .fec_symbol_idx = buf[9],
        .reserved = buf[10],
        .csrc_count = buf[11],
    };
    *out = h;
    *consumed = WZP_MEDIA_HEADER_SIZE;
    return WZP_OK;
}

bool wzp_media_header_equal(const wzp_media_header *a, const wzp_media_header *b) {
    return a->version == b->version && a->is_repair == b->is_repair && a->codec_id == b->codec_id &&
           a->has_quality_report == b->has_quality_report && a->fec_ratio == b->fec_ratio &&
           a->ctx_epoch == b->ctx_epoch && a->seq == b->seq && a->timestamp_ms == b->timestamp_ms &&
           a->fec_block_id == b->fec_block_id && a->fec_symbol_idx == b->fec_symbol_idx &&
           a->reserved == b->reserved && a->csrc_count == b->csrc_count;
}
