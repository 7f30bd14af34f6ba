/*
 * Compact media framing (SPEC §3.3, departing per §10.4): a type byte, then either the full
 * 12-byte header or our 5-byte mini header. Mini headers carry absolute low bits, never deltas
 * from a previous packet, so no loss, duplicate or reordering can shift another packet's fields;
 * the stream fields come from the full header of the mini's context epoch. The epoch rules below
 * make that lookup exact as long as no packet is delayed by more than a second relative to
 * another (docs/PROTOCOL.md gives the argument).
 */
#include "wzp/proto.h"

#include <string.h>

#include "proto/bytes.h"

#define TS_MASK ((1u << WZP_MINI_TS_BITS) - 1u)

int wzp_mini_header_encode(const wzp_mini_header *m, uint8_t *buf, size_t cap, size_t *written) {
    if (cap < WZP_MINI_HEADER_SIZE) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    if (m->fec_symbol_idx > WZP_MINI_MAX_SYMBOL || m->ctx_epoch >= WZP_COMPACT_EPOCHS ||
        m->ts_lsb > TS_MASK) {
        return WZP_ERR_OUT_OF_RANGE;
    }
    buf[0] = m->seq_lsb;
    buf[1] = (uint8_t)((m->ctx_epoch << 6) | m->fec_symbol_idx);
    buf[2] = m->fec_block_id;
    wzp__put_u16be(buf + 3, (uint16_t)(((m->is_repair ? 1u : 0u) << 15) |
                                       ((m->has_quality_report ? 1u : 0u) << 14) | m->ts_lsb));
    *written = WZP_MINI_HEADER_SIZE;
    return WZP_OK;
}

int wzp_mini_header_decode(const uint8_t *buf, size_t len, wzp_mini_header *out, size_t *consumed) {
    if (len < WZP_MINI_HEADER_SIZE) {
        return WZP_ERR_TRUNCATED;
    }
    uint16_t tail = wzp__get_u16be(buf + 3);
    wzp_mini_header m = {
        .seq_lsb = buf[0],
        .ctx_epoch = (uint8_t)(buf[1] >> 6),
        .fec_symbol_idx = (uint8_t)(buf[1] & 0x3F),
        .fec_block_id = buf[2],
        .is_repair = (tail >> 15) != 0,
        .has_quality_report = ((tail >> 14) & 1) != 0,
        .ts_lsb = (uint16_t)(tail & TS_MASK),
    };
    *out = m;
    *consumed = WZP_MINI_HEADER_SIZE;
    return WZP_OK;
}

void wzp_mini_header_expand(const wzp_mini_header *m, const wzp_media_header *ctx, uint16_t ref_seq,
                            uint32_t ref_ts, wzp_media_header *out) {
    /* sequence: the value with these low bits in [ref - 64, ref + 191] */
    unsigned dseq = (uint8_t)(m->seq_lsb - (uint8_t)ref_seq);
    int seq_step = dseq >= 192 ? (int)dseq - 256 : (int)dseq;
    /* timestamp: the value with these low bits within +-8192 ms of the reference */
    uint32_t dts = (m->ts_lsb - ref_ts) & TS_MASK;
    int32_t ts_step =
        dts >= (TS_MASK + 1) / 2 ? (int32_t)dts - (int32_t)(TS_MASK + 1) : (int32_t)dts;
    wzp_media_header h = *ctx;
    h.seq = (uint16_t)(ref_seq + (uint16_t)seq_step);
    h.timestamp_ms = ref_ts + (uint32_t)ts_step;
    h.fec_block_id = m->fec_block_id;
    h.fec_symbol_idx = m->fec_symbol_idx;
    h.is_repair = m->is_repair;
    h.has_quality_report = m->has_quality_report;
    h.ctx_epoch = m->ctx_epoch;
    *out = h;
}

/* ---- sender ---------------------------------------------------------------------------- */

/* Fields a mini header inherits from its context: any change opens a new epoch. */
static bool same_stream_fields(const wzp_media_header *a, const wzp_media_header *b) {
    return a->version == b->version && a->codec_id == b->codec_id && a->fec_ratio == b->fec_ratio &&
           a->reserved == b->reserved && a->csrc_count == b->csrc_count;
}

void wzp_compact_tx_init(wzp_compact_tx *tx) {
    memset(tx, 0, sizeof(*tx));
}

void wzp_compact_tx_force_full(wzp_compact_tx *tx) {
    if (tx->repeat_full == 0) {
        tx->repeat_full = 1;
    }
}

/* Open a new epoch for changed stream fields. Minis may use it only once its value has rested
 * for WZP_COMPACT_EPOCH_REUSE_MS, so a receiver can never hold a stale full header for it. */
static void open_epoch(wzp_compact_tx *tx, const wzp_media_header *h, uint64_t now_ms) {
    uint8_t e = 0;
    if (tx->has_ctx) {
        e = (uint8_t)((tx->epoch + 1u) % WZP_COMPACT_EPOCHS);
    }
    tx->epoch = e;
    tx->ctx = *h;
    tx->has_ctx = true;
    tx->minis_from_ms = now_ms;
    if (tx->epoch_ever_used[e] && tx->epoch_used_ms[e] + WZP_COMPACT_EPOCH_REUSE_MS > now_ms) {
        tx->minis_from_ms = tx->epoch_used_ms[e] + WZP_COMPACT_EPOCH_REUSE_MS;
    }
    tx->repeat_full = WZP_COMPACT_CHANGE_REPEAT;
}

/* Serial-number order (RFC 1982) on 16-bit sequences. */
static bool seq_newer(uint16_t a, uint16_t b) {
    return a != b && (uint16_t)(a - b) < 0x8000;
}

/* The reference both ends keep for restoring high bits: the newest sequence so far, reset by a
 * packet far behind it (a restarted stream) or when it has gone stale. Sender and receiver run
 * this same rule; the receiver's reference can only lag the sender's (lost packets). */
static bool ref_should_move(bool has_ref, uint16_t ref_seq, uint64_t ref_ms, uint16_t seq,
                            uint64_t now_ms) {
    uint16_t behind = (uint16_t)(ref_seq - seq);
    return !has_ref || now_ms - ref_ms > WZP_COMPACT_REF_TTL_MS || seq_newer(seq, ref_seq) ||
           (behind > WZP_COMPACT_SEQ_RESTART && behind < 0x8000);
}

static bool mini_fits(const wzp_compact_tx *tx, const wzp_media_header *h, uint64_t now_ms) {
    if (!tx->has_ref || now_ms - tx->ref_ms > WZP_MINI_SENDER_REF_MS) {
        return false;
    }
    int seq_step = (int16_t)(uint16_t)(h->seq - tx->ref_seq);
    int32_t ts_step = (int32_t)(h->timestamp_ms - tx->ref_ts);
    return tx->repeat_full == 0 && now_ms >= tx->minis_from_ms &&
           tx->since_full + 1 < WZP_COMPACT_FULL_INTERVAL &&
           now_ms - tx->last_full_ms < WZP_COMPACT_FULL_PERIOD_MS &&
           seq_step >= -WZP_MINI_MAX_SEQ_BEHIND && seq_step <= WZP_MINI_MAX_SEQ_AHEAD &&
           ts_step >= -WZP_MINI_MAX_TS_STEP_MS && ts_step <= WZP_MINI_MAX_TS_STEP_MS &&
           h->fec_symbol_idx <= WZP_MINI_MAX_SYMBOL;
}

static int encode_full(wzp_compact_tx *tx, const wzp_media_header *h, uint64_t now_ms, uint8_t *buf,
                       size_t cap, size_t *written) {
    if (cap < 1 + WZP_MEDIA_HEADER_SIZE) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    size_t n = 0;
    int rc = wzp_media_header_encode(h, buf + 1, cap - 1, &n);
    if (rc != WZP_OK) {
        return rc;
    }
    buf[0] = WZP_FRAME_TYPE_FULL;
    tx->since_full = 0;
    tx->last_full_ms = now_ms;
    if (tx->repeat_full > 0) {
        tx->repeat_full--;
    }
    *written = 1 + n;
    return WZP_OK;
}

static int encode_mini(wzp_compact_tx *tx, const wzp_media_header *h, uint8_t *buf, size_t cap,
                       size_t *written) {
    if (cap < 1 + WZP_MINI_HEADER_SIZE) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    wzp_mini_header m = {
        .seq_lsb = (uint8_t)h->seq,
        .ts_lsb = (uint16_t)(h->timestamp_ms & TS_MASK),
        .fec_block_id = h->fec_block_id,
        .fec_symbol_idx = h->fec_symbol_idx,
        .ctx_epoch = h->ctx_epoch,
        .is_repair = h->is_repair,
        .has_quality_report = h->has_quality_report,
    };
    size_t n = 0;
    int rc = wzp_mini_header_encode(&m, buf + 1, cap - 1, &n);
    if (rc == WZP_OK) {
        buf[0] = WZP_FRAME_TYPE_MINI;
        tx->since_full++;
        *written = 1 + n;
    }
    return rc;
}

int wzp_compact_tx_encode(wzp_compact_tx *tx, const wzp_media_header *h, uint64_t now_ms,
                          uint8_t *buf, size_t cap, size_t *written, wzp_media_header *sent) {
    wzp_compact_tx saved = *tx;
    if (!tx->has_ctx || !same_stream_fields(h, &tx->ctx)) {
        open_epoch(tx, h, now_ms);
    }
    wzp_media_header out = *h;
    out.ctx_epoch = tx->epoch;
    int rc = mini_fits(tx, &out, now_ms) ? encode_mini(tx, &out, buf, cap, written)
                                         : encode_full(tx, &out, now_ms, buf, cap, written);
    if (rc != WZP_OK) {
        *tx = saved; /* a refused packet changes nothing */
        return rc;
    }
    tx->epoch_used_ms[tx->epoch] = now_ms;
    tx->epoch_ever_used[tx->epoch] = true;
    if (ref_should_move(tx->has_ref, tx->ref_seq, tx->ref_ms, out.seq, now_ms)) {
        tx->has_ref = true;
        tx->ref_seq = out.seq;
        tx->ref_ts = out.timestamp_ms;
        tx->ref_ms = now_ms;
    }
    if (sent != NULL) {
        *sent = out;
    }
    return WZP_OK;
}

/* ---- receiver -------------------------------------------------------------------------- */

void wzp_compact_rx_init(wzp_compact_rx *rx) {
    memset(rx, 0, sizeof(*rx));
}

static void advance_ref(wzp_compact_rx *rx, const wzp_media_header *h, uint64_t now_ms) {
    if (ref_should_move(rx->has_ref, rx->ref_seq, rx->ref_ms, h->seq, now_ms)) {
        rx->has_ref = true;
        rx->ref_seq = h->seq;
        rx->ref_ts = h->timestamp_ms;
        rx->ref_ms = now_ms;
    }
}

static int decode_mini(wzp_compact_rx *rx, const uint8_t *buf, size_t len, uint64_t now_ms,
                       wzp_media_header *out, size_t *consumed) {
    wzp_mini_header m;
    size_t n = 0;
    int rc = wzp_mini_header_decode(buf, len, &m, &n);
    if (rc != WZP_OK) {
        return rc;
    }
    const wzp_compact_rx_epoch *ep = &rx->epoch[m.ctx_epoch];
    if (!ep->used || now_ms - ep->arrived_ms > WZP_COMPACT_EPOCH_TTL_MS || !rx->has_ref ||
        now_ms - rx->ref_ms > WZP_COMPACT_REF_TTL_MS) {
        return WZP_ERR_NO_BASELINE;
    }
    wzp_media_header h;
    wzp_mini_header_expand(&m, &ep->header, rx->ref_seq, rx->ref_ts, &h);
    advance_ref(rx, &h, now_ms);
    *out = h;
    *consumed = 1 + n;
    return WZP_OK;
}

int wzp_compact_rx_decode(wzp_compact_rx *rx, const uint8_t *buf, size_t len, uint64_t now_ms,
                          wzp_media_header *out, size_t *consumed) {
    if (len == 0) {
        return WZP_ERR_EMPTY;
    }
    if (buf[0] == WZP_FRAME_TYPE_MINI) {
        return decode_mini(rx, buf + 1, len - 1, now_ms, out, consumed);
    }
    if (buf[0] != WZP_FRAME_TYPE_FULL) {
        return WZP_ERR_BAD_FRAME_TYPE;
    }
    wzp_media_header h;
    size_t n = 0;
    int rc = wzp_media_header_decode(buf + 1, len - 1, &h, &n);
    if (rc != WZP_OK) {
        return rc;
    }
    wzp_compact_rx_epoch *ep = &rx->epoch[h.ctx_epoch];
    ep->used = true;
    ep->header = h;
    ep->arrived_ms = now_ms;
    advance_ref(rx, &h, now_ms);
    *out = h;
    *consumed = 1 + n;
    return WZP_OK;
}
