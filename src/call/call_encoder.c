/*
 * The sending half of the media chain (include/wzp/call.h). Frames are sealed end to end
 * before FEC, so a relay can repair and regenerate FEC without keys. A block never mixes codecs
 * or spans a silence: tier changes wait for a block boundary and the block closes when speech
 * stops; each comfort-noise frame travels as a one-frame block with its own repair symbol.
 */
#include <stdlib.h>
#include <string.h>

#include "wzp/call.h"
#include "wzp/alloc.h"

#define FEC_MAX_FRAME (WZP_MAX_CODEC_FRAME + WZP_MEDIA_OVERHEAD)
/* Every 8th packet carries a full header, every 3rd on a lossy link (the FEC ratio shows it): a
 * mini header is readable only with its context's full header, and at 50% loss the compact
 * framing's own one-a-second full header goes missing for seconds at a time, taking every packet
 * in between with it (and the receiver's loss reports with them). 6 bytes every few packets is
 * little next to the repair such a link needs. */
#define FULL_EVERY       8
#define LOSSY_RATIO      0.75f
#define LOSSY_FULL_EVERY 3

struct wzp_call_encoder {
    wzp_call_config cfg;
    wzp_tier tier, next_tier;
    float ratio;
    wzp_audio_encoder *audio;
    wzp_denoiser *denoiser;
    wzp_vad vad;
    wzp_media_tx tx;
    wzp_fec_encoder *fec;
    wzp_interleaver *il;
    wzp_compact_tx framing;
    bool in_speech;
    unsigned silence_ms; /* since the last comfort-noise frame */
    uint32_t ts;         /* media timestamp of the next frame */
    uint16_t seq;
    wzp_call_encoder_stats st;
    int16_t work[WZP_MAX_FRAME_SAMPLES];
    wzp_fec_packet fec_out[1 + WZP_FEC_MAX_BLOCK_REPAIR];
    wzp_fec_packet il_out[WZP_INTERLEAVE_MAX_DEPTH * (WZP_FEC_MAX_BLOCK_K + 64)];
};

wzp_call_config wzp_call_default_config(void) {
    wzp_call_config c = {WZP_TIER_GOOD, true, true, 1, false};
    return c;
}

void wzp_call_encoder_free(wzp_call_encoder *enc) {
    if (enc == NULL) {
        return;
    }
    wzp_audio_encoder_free(enc->audio);
    wzp_denoiser_free(enc->denoiser);
    wzp_fec_encoder_free(enc->fec);
    wzp_interleaver_free(enc->il);
    wzp_media_tx_wipe(&enc->tx);
    wzp_free(enc);
}

static const wzp_profile *profile_of(wzp_tier t) {
    return wzp_profile_get((wzp_profile_id)t);
}

int wzp_call_encoder_new(const wzp_call_config *cfg, const uint8_t key[WZP_KEY_SIZE],
                         uint8_t key_id, wzp_call_encoder **out) {
    const wzp_profile *p = profile_of(cfg->tier);
    if (p == NULL || cfg->interleave_depth == 0 ||
        cfg->interleave_depth > WZP_INTERLEAVE_MAX_DEPTH) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_call_encoder *e = wzp_calloc(1, sizeof(*e));
    if (e == NULL) {
        return WZP_ERR_NOMEM;
    }
    e->cfg = *cfg;
    e->tier = e->next_tier = cfg->tier;
    e->ratio = p->fec_ratio;
    wzp_fec_config fc = {
        .max_k = WZP_FEC_MAX_BLOCK_K, .max_frame = FEC_MAX_FRAME, .fixed_t = cfg->fixed_t};
    int rc = wzp_audio_encoder_new(p->codec, &e->audio);
    if (rc == WZP_OK && cfg->denoise) {
        rc = wzp_denoiser_speex_new(false, &e->denoiser);
    }
    if (rc == WZP_OK) {
        rc = wzp_fec_encoder_new(&fc, &e->fec);
    }
    if (rc == WZP_OK) {
        rc = wzp_fec_encoder_set_params(e->fec, p->frames_per_block, e->ratio);
    }
    if (rc == WZP_OK) {
        rc = wzp_interleaver_new(cfg->interleave_depth, WZP_FEC_MAX_BLOCK_K + 64, 1 + WZP_FEC_MAX_T,
                                 &e->il);
    }
    if (rc != WZP_OK) {
        wzp_call_encoder_free(e);
        return rc;
    }
    wzp_vad_init(&e->vad);
    wzp_media_tx_init(&e->tx, key, key_id);
    wzp_compact_tx_init(&e->framing);
    *out = e;
    return WZP_OK;
}

void wzp_call_encoder_set_tier(wzp_call_encoder *enc, wzp_tier tier) {
    enc->next_tier = tier;
}

void wzp_call_encoder_set_fec_ratio(wzp_call_encoder *enc, float ratio) {
    enc->ratio = ratio < 0.0f ? 0.0f : ratio > 2.0f ? 2.0f : ratio;
}

void wzp_call_encoder_set_key(wzp_call_encoder *enc, const uint8_t key[WZP_KEY_SIZE],
                              uint8_t key_id) {
    wzp_media_tx_init(&enc->tx, key, key_id);
}

uint32_t wzp_call_encoder_key_use(const wzp_call_encoder *enc) {
    return enc->tx.counter;
}

size_t wzp_call_encoder_frame_samples(const wzp_call_encoder *enc) {
    /* a pending tier change applies to the next frame when no block is open */
    wzp_tier t = wzp_fec_encoder_pending(enc->fec) == 0 ? enc->next_tier : enc->tier;
    return wzp_codec_frame_samples(profile_of(t)->codec);
}

wzp_call_encoder_stats wzp_call_encoder_get_stats(const wzp_call_encoder *enc) {
    return enc->st;
}

wzp_tier wzp_call_encoder_tier(const wzp_call_encoder *enc) {
    return enc->tier;
}

uint32_t wzp_call_encoder_media_ts(const wzp_call_encoder *enc) {
    return enc->ts;
}

/* Header + payload for one FEC packet. */
static int emit(wzp_call_encoder *e, const wzp_fec_packet *p, uint64_t now_ms, wzp_datagram *d) {
    wzp_media_header h = {.is_repair = p->is_repair,
                          .codec_id = p->codec_id,
                          .fec_ratio = wzp_fec_ratio_encode(e->ratio),
                          .seq = e->seq++,
                          .timestamp_ms = p->timestamp_ms,
                          .fec_block_id = p->block_id,
                          .fec_symbol_idx = p->esi};
    size_t hl = 0;
    if (h.seq % (e->ratio >= LOSSY_RATIO ? LOSSY_FULL_EVERY : FULL_EVERY) == 0) {
        wzp_compact_tx_force_full(&e->framing);
    }
    int rc = wzp_compact_tx_encode(&e->framing, &h, now_ms, d->data, sizeof(d->data), &hl, NULL);
    if (rc != WZP_OK) {
        return rc;
    }
    if (hl + p->len > sizeof(d->data)) {
        return WZP_ERR_TOO_LARGE;
    }
    memcpy(d->data + hl, p->payload, p->len);
    d->len = hl + p->len;
    e->st.datagrams++;
    e->st.bytes += d->len;
    return rc;
}

/* FEC packets -> interleaver -> datagrams; `closed`: they end their block. */
static int send_fec(wzp_call_encoder *e, size_t n, bool closed, uint64_t now_ms, wzp_datagram *out,
                    size_t cap, size_t *count) {
    for (size_t i = 0; i < n; i++) {
        const wzp_fec_packet *p = &e->fec_out[i];
        size_t m = 0;
        int rc = wzp_interleaver_push(e->il, p, closed && i + 1 == n, e->il_out,
                                      sizeof(e->il_out) / sizeof(e->il_out[0]), &m);
        for (size_t j = 0; rc == WZP_OK && j < m; j++) {
            if (*count == cap) {
                return WZP_ERR_BUFFER_TOO_SMALL;
            }
            rc = emit(e, &e->il_out[j], now_ms, &out[(*count)++]);
        }
        if (rc != WZP_OK) {
            return rc;
        }
    }
    return WZP_OK;
}

/* Seal one codec frame and feed it to FEC. */
static int send_frame(wzp_call_encoder *e, unsigned codec, const uint8_t *frame, size_t len,
                      uint64_t now_ms, wzp_datagram *out, size_t cap, size_t *count) {
    uint8_t sealed[FEC_MAX_FRAME];
    size_t sl = 0, n = 0;
    wzp_frame_meta meta = {(uint8_t)codec, e->ts};
    int rc = wzp_media_seal(&e->tx, &meta, frame, len, sealed, sizeof(sealed), &sl);
    if (rc == WZP_OK) {
        rc = wzp_fec_encoder_add(e->fec, sealed, sl, (uint8_t)codec, e->ts, e->fec_out,
                                 sizeof(e->fec_out) / sizeof(e->fec_out[0]), &n);
    }
    /* the block closed if this frame filled it (repairs or not) */
    bool closed = wzp_fec_encoder_pending(e->fec) == 0;
    return rc == WZP_OK ? send_fec(e, n, closed, now_ms, out, cap, count) : rc;
}

/* Close the open block early (before silence or at the end): its repairs go out now. */
static int close_block(wzp_call_encoder *e, uint64_t now_ms, wzp_datagram *out, size_t cap,
                       size_t *count) {
    if (wzp_fec_encoder_pending(e->fec) == 0) {
        return WZP_OK;
    }
    size_t n = 0;
    int rc =
        wzp_fec_encoder_flush(e->fec, e->fec_out, sizeof(e->fec_out) / sizeof(e->fec_out[0]), &n);
    if (rc == WZP_OK && n == 0) {
        /* no repair symbols: still tell the interleaver the block ended */
        return WZP_OK;
    }
    return rc == WZP_OK ? send_fec(e, n, true, now_ms, out, cap, count) : rc;
}

/* At a block boundary: apply a pending tier and the block parameters for speech or CN. */
static int prepare_block(wzp_call_encoder *e, bool speech) {
    if (wzp_fec_encoder_pending(e->fec) != 0) {
        return WZP_OK;
    }
    e->tier = e->next_tier;
    const wzp_profile *p = profile_of(e->tier);
    int rc = wzp_audio_encoder_set_codec(e->audio, p->codec);
    if (rc == WZP_OK) {
        rc = wzp_fec_encoder_set_params(e->fec, speech ? p->frames_per_block : 1, e->ratio);
    }
    return rc;
}

int wzp_call_encoder_push(wzp_call_encoder *enc, const int16_t *pcm, size_t n, uint64_t now_ms,
                          wzp_datagram *out, size_t cap, size_t *count) {
    *count = 0;
    if (n != wzp_call_encoder_frame_samples(enc)) {
        return WZP_ERR_INVALID_ARG;
    }
    memcpy(enc->work, pcm, n * sizeof(int16_t));
    int rc = enc->denoiser ? wzp_denoiser_process(enc->denoiser, enc->work, n) : WZP_OK;
    bool speech = !enc->cfg.vad || wzp_vad_process(&enc->vad, enc->work, n);
    unsigned frame_ms = (unsigned)(n / WZP_SAMPLES_PER_MS);
    enc->st.frames++;
    if (rc == WZP_OK && !speech && enc->in_speech) {
        rc = close_block(enc, now_ms, out, cap, count);
    }
    if (rc == WZP_OK) {
        rc = prepare_block(enc, speech);
    }
    if (rc == WZP_OK && speech) {
        uint8_t frame[WZP_MAX_CODEC_FRAME];
        size_t len = 0;
        rc = wzp_audio_encoder_encode(enc->audio, enc->work, n, frame, sizeof(frame), &len);
        if (rc == WZP_OK) {
            rc = send_frame(enc, wzp_audio_encoder_codec(enc->audio), frame, len, now_ms, out, cap,
                            count);
        }
        enc->st.speech_frames++;
        enc->silence_ms = 0;
    } else if (rc == WZP_OK) {
        if (enc->in_speech || enc->silence_ms >= WZP_CN_INTERVAL_MS) {
            uint8_t level = wzp_vad_cn_level(&enc->vad);
            rc = send_frame(enc, WZP_CODEC_COMFORT_NOISE, &level, 1, now_ms, out, cap, count);
            enc->silence_ms = 0;
            enc->st.cn_frames++;
        }
        enc->silence_ms += frame_ms;
    }
    enc->in_speech = speech;
    enc->ts += frame_ms;
    return rc;
}

int wzp_call_encoder_flush(wzp_call_encoder *enc, uint64_t now_ms, wzp_datagram *out, size_t cap,
                           size_t *count) {
    *count = 0;
    int rc = close_block(enc, now_ms, out, cap, count);
    size_t m = 0;
    if (rc == WZP_OK) {
        rc = wzp_interleaver_flush(enc->il, enc->il_out,
                                   sizeof(enc->il_out) / sizeof(enc->il_out[0]), &m);
    }
    for (size_t j = 0; rc == WZP_OK && j < m; j++) {
        if (*count == cap) {
            return WZP_ERR_BUFFER_TOO_SMALL;
        }
        rc = emit(enc, &enc->il_out[j], now_ms, &out[(*count)++]);
    }
    return rc;
}
