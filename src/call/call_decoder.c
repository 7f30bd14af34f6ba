/*
 * The receiving half of the media chain (include/wzp/call.h). The FEC decoder hands out each frame
 * with its codec and timestamp (recovered ones from their block); every frame is opened end to end
 * before it may be played; the jitter buffer's delay covers the FEC span of the blocks arriving,
 * and its changes of delay are spliced by whole pitch periods (wzp_splicer).
 */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/call.h"
#include "wzp/alloc.h"

#define FEC_MAX_FRAME (WZP_MAX_CODEC_FRAME + WZP_MEDIA_OVERHEAD)

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
    wzp_jb *jb;
    wzp_audio_decoder *audio;
    wzp_quality_meter meter;
    unsigned fec_k; /* the block size last told by a repair packet */
    bool k_seen;    /* fec_k came from a repair packet (else: a guess from the codec) */
    bool k_guessed;
    wzp_call_decoder_stats st;
    wzp_frame_observer observer;
    void *observer_user;
    wzp_key_source key_source;
    void *key_source_user;
    wzp_splicer splice; /* the audio played last, for pitch-period splices */
    uint8_t last_codec; /* of the last frame decoded: a change of codec family is bridged */
    bool has_last_codec;
    int16_t ab[2 * WZP_MAX_FRAME_SAMPLES]; /* a dropped frame and the one after it, decoded */
    wzp_fec_frame frames[WZP_FEC_MAX_BLOCK_K];
    /* Frames sealed with a key we do not hold yet (a new epoch's key travels as a signal and may
     * arrive after the first media under it): kept briefly, opened when the key comes. */
    struct held_frame {
        uint64_t at_ms;
        uint8_t codec_id;
        uint32_t timestamp_ms;
        uint16_t len;
        uint8_t data[FEC_MAX_FRAME];
    } held[WZP_CALL_HELD_FRAMES];
    unsigned nheld;
};

void wzp_call_decoder_observe(wzp_call_decoder *dec, wzp_frame_observer fn, void *user) {
    dec->observer = fn;
    dec->observer_user = user;
}

void wzp_call_decoder_on_unknown_key(wzp_call_decoder *dec, wzp_key_source fn, void *user) {
    dec->key_source = fn;
    dec->key_source_user = user;
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

/* An opened frame goes to the jitter buffer (and the observer). */
static void play_frame(wzp_call_decoder *d, const wzp_frame_meta *meta, bool recovered,
                       const uint8_t *plain, size_t n, uint64_t now_ms);

/* The frames held for a key that has now come: open what it opens; drop what is too old. */
static void open_held(wzp_call_decoder *d, uint64_t now_ms) {
    unsigned keep = 0;
    for (unsigned i = 0; i < d->nheld; i++) {
        struct held_frame *h = &d->held[i];
        wzp_frame_meta meta = {h->codec_id, h->timestamp_ms};
        uint8_t plain[FEC_MAX_FRAME];
        size_t n = 0;
        int rc = wzp_media_open(&d->keys, &meta, h->data, h->len, now_ms, plain, sizeof(plain), &n);
        if (rc == WZP_OK) {
            d->st.frames_held_opened++;
            play_frame(d, &meta, false, plain, n, now_ms);
        } else if (rc == WZP_ERR_UNKNOWN_KEY && now_ms - h->at_ms < WZP_CALL_HELD_MS) {
            if (keep != i) {
                d->held[keep] = *h;
            }
            keep++;
            continue;
        } else {
            d->st.auth_failures++; /* no key came for it in time, or it was not authentic */
        }
        sodium_memzero(plain, sizeof(plain));
    }
    d->nheld = keep;
}

void wzp_call_decoder_add_key(wzp_call_decoder *dec, const uint8_t key[WZP_KEY_SIZE],
                              uint8_t key_id, uint64_t now_ms) {
    wzp_media_rx_add_key(&dec->keys, key, key_id, now_ms);
    if (dec->nheld > 0) {
        open_held(dec, now_ms);
    }
}

/* Open one frame end to end (a key id we lack may be the sender's next ratchet step: asked of
 * the key source once; else it is held a moment for a key on its way) and queue it for
 * playout. */
static void accept_frame(wzp_call_decoder *d, const wzp_fec_frame *f, uint64_t now_ms) {
    wzp_frame_meta meta = {f->codec_id, f->timestamp_ms};
    uint8_t plain[FEC_MAX_FRAME];
    size_t n = 0;
    int rc = wzp_media_open(&d->keys, &meta, f->data, f->len, now_ms, plain, sizeof(plain), &n);
    if (rc == WZP_ERR_UNKNOWN_KEY && d->key_source != NULL && f->len > 0 &&
        d->key_source(d->key_source_user, f->data[0], now_ms)) {
        rc = wzp_media_open(&d->keys, &meta, f->data, f->len, now_ms, plain, sizeof(plain), &n);
    }
    if (rc == WZP_ERR_UNKNOWN_KEY && f->len <= FEC_MAX_FRAME) {
        if (d->nheld > 0 && now_ms - d->held[0].at_ms >= WZP_CALL_HELD_MS) {
            open_held(d, now_ms); /* (drops those whose key never came) */
        }
        if (d->nheld < WZP_CALL_HELD_FRAMES) {
            struct held_frame *h = &d->held[d->nheld++];
            h->at_ms = now_ms;
            h->codec_id = f->codec_id;
            h->timestamp_ms = f->timestamp_ms;
            h->len = (uint16_t)f->len;
            memcpy(h->data, f->data, f->len);
            d->st.frames_held++;
            return;
        }
    }
    if (rc != WZP_OK) {
        d->st.auth_failures++;
        return;
    }
    play_frame(d, &meta, f->recovered, plain, n, now_ms);
    sodium_memzero(plain, sizeof(plain));
}

static void play_frame(wzp_call_decoder *d, const wzp_frame_meta *meta, bool recovered,
                       const uint8_t *plain, size_t n, uint64_t now_ms) {
    if (recovered) {
        d->st.frames_recovered++;
    } else {
        d->st.frames_direct++;
    }
    if (d->observer != NULL) {
        d->observer(d->observer_user, meta->timestamp_ms, meta->codec_id, recovered);
    }
    if (wzp_jb_insert(d->jb, meta->codec_id, meta->timestamp_ms, plain, n, now_ms) != WZP_OK) {
        d->st.bad_datagrams++;
    }
}

/* The playout delay covers the span FEC needs: the block size from the repair packets, and
 * before the first of them (a block's end) a guess from the codec -- the block size of the tier
 * that sends it. A buffer that started for the wrong span would grow by concealed frames later,
 * at the start of every call that begins in DEGRADED or CATASTROPHIC. */
static void follow_block_size(wzp_call_decoder *d, const wzp_media_header *h) {
    if (h->codec_id == WZP_CODEC_COMFORT_NOISE) {
        return; /* one-frame blocks of their own */
    }
    unsigned k = 0;
    if (h->is_repair) {
        k = wzp_fec_decoder_block_k(d->fec, h->fec_block_id);
        d->k_seen = d->k_seen || k != 0;
    } else if (!d->k_seen && !d->k_guessed) {
        const wzp_profile *p = wzp_profile_for_codec(h->codec_id);
        d->k_guessed = true;
        k = p != NULL ? p->frames_per_block : 0;
    }
    if (k != 0 && k != d->fec_k) {
        d->fec_k = k;
        wzp_jb_set_min_frames(d->jb, fec_span_frames(k, d->cfg.interleave_depth));
    }
}

int wzp_call_decoder_receive(wzp_call_decoder *dec, const uint8_t *buf, size_t len,
                             uint64_t now_ms) {
    dec->st.datagrams++;
    wzp_media_header h;
    size_t hl = 0;
    if (wzp_compact_rx_decode(&dec->framing, buf, len, now_ms, &h, &hl) != WZP_OK ||
        wzp_codec_frame_samples(h.codec_id) == 0) {
        dec->st.bad_datagrams++;
        return WZP_OK;
    }
    size_t plen = len - hl;
    if (h.has_quality_report) { /* SPEC's in-band report: our reports travel as signals */
        if (plen < WZP_QUALITY_REPORT_SIZE) {
            dec->st.bad_datagrams++;
            return WZP_OK;
        }
        plen -= WZP_QUALITY_REPORT_SIZE;
    }
    wzp_quality_meter_on_packet(&dec->meter, h.seq);
    wzp_fec_packet p = {h.fec_block_id, h.fec_symbol_idx, h.is_repair,   buf + hl,
                        plen,           h.codec_id,       h.timestamp_ms};
    size_t n = 0;
    if (wzp_fec_decoder_add(dec->fec, &p, now_ms, dec->frames, WZP_FEC_MAX_BLOCK_K, &n) != WZP_OK) {
        dec->st.bad_datagrams++;
        return WZP_OK;
    }
    follow_block_size(dec, &h);
    for (size_t i = 0; i < n; i++) {
        accept_frame(dec, &dec->frames[i], now_ms);
    }
    return WZP_OK;
}

static int pull(wzp_call_decoder *dec, int16_t *pcm, size_t *n, wzp_jb_kind *kind) {
    wzp_jb_out o;
    wzp_jb_pull(dec->jb, &o);
    *kind = o.kind;
    if (o.kind == WZP_JB_BUFFERING) {
        *n = (size_t)o.duration_ms * WZP_SAMPLES_PER_MS;
        memset(pcm, 0, *n * sizeof(int16_t));
        wzp_splicer_reset(&dec->splice);
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
            if (a == 0 || !wzp_splicer_shorten(&dec->splice, dec->ab, a, b, pcm, n)) {
                memcpy(pcm, dec->ab + a, b * sizeof(int16_t)); /* the dropped frame just goes */
                *n = b;
            }
            if (o.codec_id != WZP_CODEC_COMFORT_NOISE) {
                if (dec->has_last_codec &&
                    wzp_codec_is(o.codec_id, WZP_CODEC_FAMILY_CODEC2) !=
                        wzp_codec_is(dec->last_codec, WZP_CODEC_FAMILY_CODEC2)) {
                    wzp_splicer_bridge(&dec->splice, pcm, *n); /* Opus <-> Codec2 */
                }
                dec->last_codec = o.codec_id;
                dec->has_last_codec = true;
            }
            return WZP_OK;
        }
        /* undecodable although authentic: conceal rather than play nothing */
    }
    if (o.stretch &&
        wzp_splicer_stretch(&dec->splice, (size_t)o.duration_ms * WZP_SAMPLES_PER_MS, pcm, n)) {
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
        wzp_splicer_remember(&dec->splice, pcm, *n);
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
