/*
 * The receiving half of the media chain (include/wzp/call.h). Frames recovered by FEC carry no
 * header of their own: their codec and timestamp come from their block, learned from any packet
 * of it (a source packet's timestamp minus its position, or a repair packet's timestamp, which
 * is the block's first frame). Every frame is then opened end to end before it may be played.
 */
#include <stdlib.h>
#include <string.h>

#include "wzp/call.h"

#define FEC_MAX_FRAME (WZP_MAX_CODEC_FRAME + WZP_MEDIA_OVERHEAD)

typedef struct block_meta {
    bool known;
    uint8_t codec;
    uint32_t first_ts;
} block_meta;

/* A lost frame can be recovered only once its block's repair symbols arrive: up to K frames
 * (times the interleaving depth) later. The playout delay must cover that span or recovered
 * frames arrive too late to play. */
static unsigned fec_span_frames(unsigned k, unsigned depth) {
    return k * depth + 1;
}

struct wzp_call_decoder {
    wzp_call_config cfg;
    wzp_compact_rx framing;
    wzp_fec_decoder *fec;
    wzp_media_rx keys;
    wzp_jitter_buffer *jb;
    wzp_audio_decoder *audio;
    wzp_quality_meter meter;
    block_meta blocks[256];
    unsigned fec_k; /* the block size last seen in a repair packet */
    bool k_seen;    /* fec_k came from a repair packet (else: a guess from the codec) */
    bool k_guessed;
    wzp_call_decoder_stats st;
    wzp_frame_observer observer;
    void *observer_user;
    wzp_fec_frame frames[WZP_FEC_MAX_BLOCK_K];
};

void wzp_call_decoder_observe(wzp_call_decoder *dec, wzp_frame_observer fn, void *user) {
    dec->observer = fn;
    dec->observer_user = user;
}

void wzp_call_decoder_free(wzp_call_decoder *dec) {
    if (dec == NULL) {
        return;
    }
    wzp_fec_decoder_free(dec->fec);
    wzp_jb_free(dec->jb);
    wzp_audio_decoder_free(dec->audio);
    wzp_media_rx_wipe(&dec->keys);
    free(dec);
}

int wzp_call_decoder_new(const wzp_call_config *cfg, wzp_call_decoder **out) {
    wzp_call_decoder *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return WZP_ERR_NOMEM;
    }
    d->cfg = *cfg;
    wzp_fec_config fc = {.max_k = WZP_FEC_MAX_BLOCK_K,
                         .max_frame = FEC_MAX_FRAME,
                         .fixed_t = false,
                         .slots = 16,
                         .window = 32,
                         .max_age_ms = 4000};
    wzp_jb_config jc = wzp_jb_default_config(false);
    int rc = wzp_fec_decoder_new(&fc, &d->fec);
    if (rc == WZP_OK) {
        rc = wzp_jb_new(&jc, &d->jb);
    }
    if (rc == WZP_OK) {
        rc = wzp_audio_decoder_new(&d->audio);
    }
    if (rc != WZP_OK) {
        wzp_call_decoder_free(d);
        return rc;
    }
    const wzp_profile *p = wzp_profile_get((wzp_profile_id)cfg->tier);
    if (p != NULL) {
        d->fec_k = p->frames_per_block;
        wzp_jb_set_min_frames(d->jb, fec_span_frames(d->fec_k, cfg->interleave_depth));
    }
    wzp_compact_rx_init(&d->framing);
    wzp_media_rx_init(&d->keys);
    wzp_quality_meter_init(&d->meter);
    *out = d;
    return WZP_OK;
}

void wzp_call_decoder_add_key(wzp_call_decoder *dec, const uint8_t key[WZP_KEY_SIZE],
                              uint8_t key_id, uint64_t now_ms) {
    wzp_media_rx_add_key(&dec->keys, key, key_id, now_ms);
}

static void learn_block(wzp_call_decoder *d, const wzp_media_header *h) {
    unsigned frame_ms = wzp_codec_frame_samples(h->codec_id) / WZP_SAMPLES_PER_MS;
    block_meta *b = &d->blocks[h->fec_block_id];
    b->known = true;
    b->codec = h->codec_id;
    b->first_ts =
        h->is_repair ? h->timestamp_ms : h->timestamp_ms - (uint32_t)h->fec_symbol_idx * frame_ms;
}

/* Open one frame end to end and queue it for playout. */
static void accept_frame(wzp_call_decoder *d, const wzp_fec_frame *f, uint64_t now_ms) {
    const block_meta *b = &d->blocks[f->block_id];
    if (!b->known) {
        return;
    }
    unsigned frame_ms = wzp_codec_frame_samples(b->codec) / WZP_SAMPLES_PER_MS;
    wzp_frame_meta meta = {b->codec, b->first_ts + (uint32_t)f->index * frame_ms};
    uint8_t plain[FEC_MAX_FRAME];
    size_t n = 0;
    if (wzp_media_open(&d->keys, &meta, f->data, f->len, now_ms, plain, sizeof(plain), &n) !=
        WZP_OK) {
        d->st.auth_failures++;
        return;
    }
    if (f->recovered) {
        d->st.frames_recovered++;
    } else {
        d->st.frames_direct++;
    }
    if (d->observer != NULL) {
        d->observer(d->observer_user, meta.timestamp_ms, meta.codec_id, f->recovered);
    }
    if (wzp_jb_insert(d->jb, meta.codec_id, meta.timestamp_ms, plain, n, now_ms) != WZP_OK) {
        d->st.bad_datagrams++;
    }
}

int wzp_call_decoder_receive(wzp_call_decoder *dec, const uint8_t *buf, size_t len, uint64_t now_ms,
                             wzp_quality_report *report, bool *has_report) {
    *has_report = false;
    dec->st.datagrams++;
    wzp_media_header h;
    size_t hl = 0, used = 0;
    if (wzp_compact_rx_decode(&dec->framing, buf, len, now_ms, &h, &hl) != WZP_OK ||
        wzp_codec_frame_samples(h.codec_id) == 0) {
        dec->st.bad_datagrams++;
        return WZP_OK;
    }
    size_t plen = len - hl;
    if (h.has_quality_report) {
        if (plen < WZP_QUALITY_REPORT_SIZE ||
            wzp_quality_report_decode(buf + len - WZP_QUALITY_REPORT_SIZE, WZP_QUALITY_REPORT_SIZE,
                                      report, &used) != WZP_OK) {
            dec->st.bad_datagrams++;
            return WZP_OK;
        }
        *has_report = true;
        plen -= WZP_QUALITY_REPORT_SIZE;
    }
    wzp_quality_meter_on_packet(&dec->meter, h.seq);
    learn_block(dec, &h);
    if (h.is_repair && plen > 0 && buf[hl] != dec->fec_k && h.codec_id != WZP_CODEC_COMFORT_NOISE) {
        dec->fec_k = buf[hl]; /* repair payloads start with the block's K */
        dec->k_seen = true;
        wzp_jb_set_min_frames(dec->jb, fec_span_frames(dec->fec_k, dec->cfg.interleave_depth));
    } else if (!dec->k_seen && !dec->k_guessed && h.codec_id != WZP_CODEC_COMFORT_NOISE) {
        /* Before the first repair packet (a block's end), guess K from the codec: the tier that
         * sends it. A buffer that starts for the wrong span must grow by concealed frames
         * later, at the start of every call that begins in DEGRADED or CATASTROPHIC. */
        dec->k_guessed = true;
        unsigned k = h.codec_id == WZP_CODEC_OPUS_6K       ? 10
                     : h.codec_id == WZP_CODEC_CODEC2_1200 ? 8
                                                           : dec->fec_k;
        if (k != dec->fec_k) {
            dec->fec_k = k;
            wzp_jb_set_min_frames(dec->jb, fec_span_frames(k, dec->cfg.interleave_depth));
        }
    }
    wzp_fec_packet p = {h.fec_block_id, h.fec_symbol_idx, h.is_repair,   buf + hl,
                        plen,           h.codec_id,       h.timestamp_ms};
    size_t n = 0;
    if (wzp_fec_decoder_add(dec->fec, &p, now_ms, dec->frames, WZP_FEC_MAX_BLOCK_K, &n) != WZP_OK) {
        dec->st.bad_datagrams++;
        return WZP_OK;
    }
    for (size_t i = 0; i < n; i++) {
        accept_frame(dec, &dec->frames[i], now_ms);
    }
    return WZP_OK;
}

int wzp_call_decoder_pull(wzp_call_decoder *dec, int16_t *pcm, size_t *n, wzp_jb_kind *kind) {
    wzp_jb_out o;
    wzp_jb_pull(dec->jb, &o);
    *kind = o.kind;
    if (o.kind == WZP_JB_BUFFERING) {
        *n = (size_t)o.duration_ms * WZP_SAMPLES_PER_MS;
        memset(pcm, 0, *n * sizeof(int16_t));
        return WZP_OK;
    }
    dec->st.playout_ts_ms = o.timestamp_ms;
    if (o.skipped != NULL) {
        /* the buffer dropped a frame to shorten the delay: decoded and thrown away, it keeps
         * the codec's state continuous (skipping it outright leaves the next frame's overlap
         * with the wrong history: a 20 ms dip in a steady sound) */
        size_t m = 0;
        if (wzp_audio_decoder_decode(dec->audio, o.skipped_codec, o.skipped, o.skipped_len, pcm,
                                     &m) != WZP_OK) {
            m = 0; /* undecodable: the next frame starts from whatever state there is */
        }
    }
    if (o.kind == WZP_JB_FRAME) {
        dec->st.frames_played++;
        dec->st.cn_frames += o.codec_id == WZP_CODEC_COMFORT_NOISE;
        if (wzp_audio_decoder_decode(dec->audio, o.codec_id, o.data, o.len, pcm, n) == WZP_OK) {
            return WZP_OK;
        }
        /* undecodable although authentic: conceal rather than play nothing */
    }
    bool from_fec = false;
    dec->st.frames_concealed++;
    int rc = wzp_audio_decoder_conceal(dec->audio, o.codec_id, o.data, o.len, pcm, n, &from_fec);
    dec->st.frames_from_lbrr += from_fec;
    dec->st.frames_concealed -= from_fec; /* rebuilt from real data, not invented */
    return rc;
}

wzp_call_decoder_stats wzp_call_decoder_get_stats(const wzp_call_decoder *dec) {
    wzp_call_decoder_stats s = dec->st;
    s.jb = wzp_jb_get_stats(dec->jb);
    return s;
}

wzp_quality_report wzp_call_decoder_make_report(wzp_call_decoder *dec, uint32_t rtt_ms) {
    wzp_jb_stats js = wzp_jb_get_stats(dec->jb);
    return wzp_quality_meter_report(&dec->meter, rtt_ms, (uint32_t)js.jitter_ms, 0);
}
