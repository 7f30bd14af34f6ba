/*
 * The receiving half of the media chain (include/wzp/call.h). Frames recovered by FEC carry no
 * header of their own: their codec and timestamp come from their block, learned from any packet
 * of it (a source packet's timestamp minus its position, or a repair packet's timestamp, which
 * is the block's first frame). Every frame is then opened end to end before it may be played.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/call.h"
#include "wzp/alloc.h"

#define FEC_MAX_FRAME   (WZP_MAX_CODEC_FRAME + WZP_MEDIA_OVERHEAD)
#define WZP_TSM_HISTORY 2048 /* >= PITCH_WIN + PITCH_MAX */

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
    int16_t hist[WZP_TSM_HISTORY]; /* the audio played last, for pitch-period splices */
    size_t hist_n;
    uint8_t last_codec; /* of the last frame decoded: a change of codec family is bridged */
    bool has_last_codec;
    int16_t ab[2 * WZP_MAX_FRAME_SAMPLES]; /* a dropped frame and the one after it, decoded */
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
    wzp_free(dec);
}

int wzp_call_decoder_new(const wzp_call_config *cfg, wzp_call_decoder **out) {
    wzp_call_decoder *d = wzp_calloc(1, sizeof(*d));
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

/* ---- time-scale changes by whole pitch periods -------------------------------------------
 * The jitter buffer changes its delay one frame at a time: it drops a frame (accelerate) or adds
 * one (stretch). Done as such on a steady sound (a tone, a held vowel), the splice is audible: a
 * dropped frame leaves a phase jump, and a codec's concealment frame fades (Opus' fell to
 * -60 dBFS within 40 ms on a tone at every stretch after a tier switch). So the audio is cut or
 * lengthened by whole pitch periods of what just played, found by autocorrelation: the splice
 * lands on the same phase. Aperiodic audio (noise, silence) falls back to frame drop /
 * concealment, where nothing periodic is there to break. */

#define PITCH_MIN   48  /* 1 kHz */
#define PITCH_MAX   960 /* 50 Hz */
#define PITCH_WIN   960 /* 20 ms compared */
#define PERIODIC    0.6 /* normalised autocorrelation above which the sound counts as periodic */
#define SPLICE_FADE 96  /* 2 ms crossfade at a cut */
#define BRIDGE      960 /* 20 ms fade-in of a new codec */

static void remember_output(wzp_call_decoder *d, const int16_t *pcm, size_t n) {
    if (n >= WZP_TSM_HISTORY) {
        memcpy(d->hist, pcm + n - WZP_TSM_HISTORY, WZP_TSM_HISTORY * sizeof(int16_t));
        d->hist_n = WZP_TSM_HISTORY;
        return;
    }
    size_t keep = d->hist_n + n > WZP_TSM_HISTORY ? WZP_TSM_HISTORY - n : d->hist_n;
    memmove(d->hist, d->hist + d->hist_n - keep, keep * sizeof(int16_t));
    memcpy(d->hist + keep, pcm, n * sizeof(int16_t));
    d->hist_n = keep + n;
}

/* `w` points PITCH_MAX samples or more into the history: `w - lag` is still inside it. */
static double autocorr(const int16_t *w, size_t lag, double e0) {
    const int16_t *v = w - lag;
    double c = 0, e1 = 0;
    for (size_t i = 0; i < PITCH_WIN; i++) {
        c += (double)w[i] * v[i];
        e1 += (double)v[i] * v[i];
    }
    return e1 > 0 ? c / sqrt(e0 * e1) : 0;
}

/* The pitch period (samples) of the end of `x`, or 0 when it is not periodic: the first lag
 * whose normalised autocorrelation passes PERIODIC, climbed to its local maximum (a lag a few
 * samples short of the period would put every repeated period that much out of phase). */
static size_t pitch_period(const int16_t *x, size_t n) {
    if (n < PITCH_WIN + PITCH_MAX) {
        return 0;
    }
    const int16_t *w = x + n - PITCH_WIN;
    double e0 = 0;
    for (size_t i = 0; i < PITCH_WIN; i++) {
        e0 += (double)w[i] * w[i];
    }
    if (e0 < (double)PITCH_WIN * 100.0) { /* quieter than -50 dBFS: nothing to keep in phase */
        return 0;
    }
    for (size_t lag = PITCH_MIN; lag <= PITCH_MAX; lag++) {
        double r = autocorr(w, lag, e0);
        if (r > PERIODIC) {
            while (lag < PITCH_MAX) {
                double next = autocorr(w, lag + 1, e0);
                if (next < r) {
                    break;
                }
                r = next;
                lag++;
            }
            return lag;
        }
    }
    return 0;
}

/* Stretch: `frame` samples' worth of whole periods repeating the last one played. */
static bool stretch_periodic(wzp_call_decoder *d, size_t frame, int16_t *pcm, size_t *n) {
    size_t p = pitch_period(d->hist, d->hist_n);
    if (p == 0) {
        return false;
    }
    size_t len = frame / p * p;
    const int16_t *last = d->hist + d->hist_n - p;
    for (size_t i = 0; i < len; i++) {
        pcm[i] = last[i % p];
    }
    *n = len;
    return true;
}

/* Accelerate: `a` (the dropped frame, decoded) then `b` (the frame due); the output is their
 * concatenation less the first whole periods covering `a`, crossfaded in. Returns false when the
 * sound is not periodic. */
static bool shorten_periodic(const wzp_call_decoder *d, const int16_t *ab, size_t a, size_t b,
                             int16_t *pcm, size_t *n) {
    size_t p = pitch_period(d->hist, d->hist_n);
    if (p == 0 || p > b) {
        return false;
    }
    size_t cut = (a + p - 1) / p * p; /* >= a, and the output is at most b */
    size_t len = a + b - cut;
    for (size_t i = 0; i < len; i++) {
        double v = ab[cut + i];
        if (i < SPLICE_FADE) { /* from the natural continuation into the same phase, later */
            double w = (double)i / SPLICE_FADE;
            v = w * v + (1.0 - w) * ab[i];
        }
        pcm[i] = (int16_t)lrint(v);
    }
    *n = len;
    return true;
}

static bool is_codec2(uint8_t codec) {
    return codec == WZP_CODEC_CODEC2_3200 || codec == WZP_CODEC_CODEC2_1200;
}

/* A switch between Opus and Codec2 (a tier change): the new decoder starts from nothing (Codec2's
 * resampler primes with silence, a stale Opus state misfires), a 10-20 ms hole. The first 20 ms
 * of the new codec fade in over the old sound's pitch periods, continued. */
static void bridge_codec_change(const wzp_call_decoder *d, int16_t *pcm, size_t n) {
    size_t p = pitch_period(d->hist, d->hist_n);
    size_t len = n < BRIDGE ? n : BRIDGE;
    const int16_t *last = d->hist + d->hist_n - p;
    for (size_t i = 0; p != 0 && i < len; i++) {
        double w = (double)i / (double)len;
        pcm[i] = (int16_t)lrint(w * pcm[i] + (1.0 - w) * last[i % p]);
    }
}

static int pull(wzp_call_decoder *dec, int16_t *pcm, size_t *n, wzp_jb_kind *kind) {
    wzp_jb_out o;
    wzp_jb_pull(dec->jb, &o);
    *kind = o.kind;
    if (o.kind == WZP_JB_BUFFERING) {
        *n = (size_t)o.duration_ms * WZP_SAMPLES_PER_MS;
        memset(pcm, 0, *n * sizeof(int16_t));
        dec->hist_n = 0;
        return WZP_OK;
    }
    dec->st.playout_ts_ms = o.timestamp_ms;
    size_t a = 0;
    if (o.skipped != NULL && wzp_audio_decoder_decode(dec->audio, o.skipped_codec, o.skipped,
                                                      o.skipped_len, dec->ab, &a) != WZP_OK) {
        a = 0; /* undecodable: the next frame starts from whatever state there is */
    }
    if (o.kind == WZP_JB_FRAME) {
        dec->st.frames_played++;
        dec->st.cn_frames += o.codec_id == WZP_CODEC_COMFORT_NOISE;
        size_t b = 0;
        if (wzp_audio_decoder_decode(dec->audio, o.codec_id, o.data, o.len, dec->ab + a, &b) ==
            WZP_OK) {
            if (a == 0 || !shorten_periodic(dec, dec->ab, a, b, pcm, n)) {
                memcpy(pcm, dec->ab + a, b * sizeof(int16_t)); /* the dropped frame just goes */
                *n = b;
            }
            if (o.codec_id != WZP_CODEC_COMFORT_NOISE) {
                if (dec->has_last_codec && is_codec2(o.codec_id) != is_codec2(dec->last_codec)) {
                    bridge_codec_change(dec, pcm, *n);
                }
                dec->last_codec = o.codec_id;
                dec->has_last_codec = true;
            }
            return WZP_OK;
        }
        /* undecodable although authentic: conceal rather than play nothing */
    }
    if (o.stretch && stretch_periodic(dec, (size_t)o.duration_ms * WZP_SAMPLES_PER_MS, pcm, n)) {
        return WZP_OK; /* nothing was lost: not counted as concealment */
    }
    bool from_fec = false;
    dec->st.frames_concealed += !o.stretch;
    int rc = wzp_audio_decoder_conceal(dec->audio, o.codec_id, o.data, o.len, pcm, n, &from_fec);
    if (!o.stretch) {
        dec->st.frames_from_lbrr += from_fec;
        dec->st.frames_concealed -= from_fec; /* rebuilt from real data, not invented */
    }
    return rc;
}

int wzp_call_decoder_pull(wzp_call_decoder *dec, int16_t *pcm, size_t *n, wzp_jb_kind *kind) {
    int rc = pull(dec, pcm, n, kind);
    if (rc == WZP_OK && *kind != WZP_JB_BUFFERING) {
        remember_output(dec, pcm, *n);
    }
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
