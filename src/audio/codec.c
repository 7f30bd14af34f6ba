/*
 * Codecs behind one 48 kHz interface: Opus (libopus, VOIP application, in-band FEC on) for the
 * Opus ids, Codec2 3200/1200 (libcodec2) at 8 kHz with speexdsp resampling both ways, and comfort
 * noise. One Opus encoder serves every Opus tier, so a tier change is a bitrate change at a frame
 * boundary, not a new stream; decoders for every codec stay alive so switching never re-primes.
 */
#include <codec2/codec2.h>
#include <math.h>
#include <opus/opus.h>
#include <speex/speex_resampler.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/audio.h"
#include "wzp/alloc.h"

#define C2_RATE          8000
#define RESAMPLE_QUALITY 5
#define C2_MAX_SAMPLES   320 /* 40 ms at 8 kHz */

unsigned wzp_codec_frame_samples(unsigned codec_id) {
    const wzp_codec_info *c = wzp_codec_info_get(codec_id);
    return c == NULL ? 0 : (unsigned)c->frame_ms * WZP_SAMPLES_PER_MS;
}

static bool is_opus(unsigned codec) {
    return wzp_codec_is(codec, WZP_CODEC_FAMILY_OPUS);
}

static bool is_codec2(unsigned codec) {
    return wzp_codec_is(codec, WZP_CODEC_FAMILY_CODEC2);
}

/* ---- encoder ------------------------------------------------------------------------------ */

struct wzp_audio_encoder {
    unsigned codec;
    OpusEncoder *opus;
    struct CODEC2 *c2[2]; /* 3200, 1200 */
    SpeexResamplerState *down;
    bool down_primed;
};

void wzp_audio_encoder_free(wzp_audio_encoder *enc) {
    if (enc == NULL) {
        return;
    }
    if (enc->opus != NULL) {
        opus_encoder_destroy(enc->opus);
    }
    for (int i = 0; i < 2; i++) {
        if (enc->c2[i] != NULL) {
            codec2_destroy(enc->c2[i]);
        }
    }
    if (enc->down != NULL) {
        speex_resampler_destroy(enc->down);
    }
    wzp_free(enc);
}

int wzp_audio_encoder_new(unsigned codec_id, wzp_audio_encoder **out) {
    wzp_audio_encoder *e = wzp_calloc(1, sizeof(*e));
    if (e == NULL) {
        return WZP_ERR_NOMEM;
    }
    int err = 0;
    e->opus = opus_encoder_create(WZP_SAMPLE_RATE, 1, OPUS_APPLICATION_VOIP, &err);
    e->c2[0] = codec2_create(CODEC2_MODE_3200);
    e->c2[1] = codec2_create(CODEC2_MODE_1200);
    e->down = speex_resampler_init(1, WZP_SAMPLE_RATE, C2_RATE, RESAMPLE_QUALITY, &err);
    if (e->opus == NULL || e->c2[0] == NULL || e->c2[1] == NULL || e->down == NULL) {
        wzp_audio_encoder_free(e);
        return WZP_ERR_NOMEM;
    }
    opus_encoder_ctl(e->opus, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    /* No Opus in-band FEC (LBRR): RaptorQ repairs losses across the whole block, and libopus's
     * LBRR (1.3.1 here) left 20 ms of near silence in a steady tone now and then -- 5.6 s into a
     * 24 kbit/s stream, and 40 ms after every switch from 6 to 24 kbit/s (a tone's 20 ms RMS fell
     * from ~7,000 to 512; 19 over 5 ms). Without it: never under 6,500. */
    opus_encoder_ctl(e->opus, OPUS_SET_INBAND_FEC(0));
    /* Constant bitrate: with VBR the sizes of encrypted packets reveal what is being said
     * (phrase spotting on VBR VoIP is a known attack); silence is handled by VAD instead. */
    opus_encoder_ctl(e->opus, OPUS_SET_VBR(0));
    int rc = wzp_audio_encoder_set_codec(e, codec_id);
    if (rc != WZP_OK) {
        wzp_audio_encoder_free(e);
        return rc;
    }
    *out = e;
    return WZP_OK;
}

int wzp_audio_encoder_set_codec(wzp_audio_encoder *enc, unsigned codec_id) {
    if (!is_opus(codec_id) && !is_codec2(codec_id)) {
        return WZP_ERR_UNKNOWN_CODEC;
    }
    if (is_opus(codec_id)) {
        opus_int32 bps = (opus_int32)wzp_codec_info_get(codec_id)->bitrate_bps;
        if (is_codec2(enc->codec)) {
            /* back from Codec2 after seconds unused: fresh state (a stale one left the tone
             * unsteady for a second, down to -27 dBFS over 20 ms; fresh, -17 at worst) */
            opus_encoder_ctl(enc->opus, OPUS_RESET_STATE);
            opus_encoder_ctl(enc->opus, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
            opus_encoder_ctl(enc->opus, OPUS_SET_INBAND_FEC(0));
            opus_encoder_ctl(enc->opus, OPUS_SET_VBR(0));
        }
        opus_encoder_ctl(enc->opus, OPUS_SET_BITRATE(bps));
    } else if (!is_codec2(enc->codec)) {
        enc->down_primed = false;
    }
    enc->codec = codec_id;
    return WZP_OK;
}

unsigned wzp_audio_encoder_codec(const wzp_audio_encoder *enc) {
    return enc->codec;
}

void wzp_audio_encoder_set_loss_hint(wzp_audio_encoder *enc, unsigned percent) {
    opus_encoder_ctl(enc->opus, OPUS_SET_PACKET_LOSS_PERC((int)(percent > 100 ? 100 : percent)));
}

/* 48 kHz -> 8 kHz for one frame; the resampler keeps its history across frames. */
static void downsample(wzp_audio_encoder *enc, const int16_t *pcm, size_t n, int16_t *out,
                       size_t want) {
    if (!enc->down_primed) {
        speex_resampler_reset_mem(enc->down);
        speex_resampler_skip_zeros(enc->down);
        enc->down_primed = true;
    }
    spx_uint32_t in_len = (spx_uint32_t)n, out_len = (spx_uint32_t)want;
    speex_resampler_process_int(enc->down, 0, pcm, &in_len, out, &out_len);
    for (size_t i = out_len; i < want; i++) {
        out[i] = out_len > 0 ? out[out_len - 1] : 0;
    }
}

int wzp_audio_encoder_encode(wzp_audio_encoder *enc, const int16_t *pcm, size_t n, uint8_t *out,
                             size_t cap, size_t *written) {
    if (n != wzp_codec_frame_samples(enc->codec)) {
        return WZP_ERR_INVALID_ARG;
    }
    if (is_opus(enc->codec)) {
        opus_int32 r =
            opus_encode(enc->opus, pcm, (int)n, out,
                        (opus_int32)(cap > WZP_MAX_CODEC_FRAME ? WZP_MAX_CODEC_FRAME : cap));
        if (r < 0) {
            return r == OPUS_BUFFER_TOO_SMALL ? WZP_ERR_BUFFER_TOO_SMALL : WZP_ERR_IO;
        }
        *written = (size_t)r;
        return WZP_OK;
    }
    struct CODEC2 *c2 = enc->c2[enc->codec == WZP_CODEC_CODEC2_3200 ? 0 : 1];
    size_t per = (size_t)codec2_samples_per_frame(c2), bytes = (size_t)codec2_bytes_per_frame(c2);
    size_t frames = n / 6 / per;
    if (cap < frames * bytes) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    int16_t low[C2_MAX_SAMPLES];
    downsample(enc, pcm, n, low, n / 6);
    for (size_t f = 0; f < frames; f++) {
        codec2_encode(c2, out + f * bytes, low + f * per);
    }
    *written = frames * bytes;
    return WZP_OK;
}

/* ---- decoder ------------------------------------------------------------------------------ */

struct wzp_audio_decoder {
    int16_t last_pcm[WZP_MAX_FRAME_SAMPLES]; /* the last frame played, for fallback concealment */
    size_t last_n;
    OpusDecoder *opus;
    struct CODEC2 *c2[2];
    SpeexResamplerState *up;
    unsigned last_codec;
    bool have_c2_frame;
    uint8_t c2_last[16];
    unsigned c2_lost;
    uint32_t rng;
    double cn_state;
};

void wzp_audio_decoder_free(wzp_audio_decoder *dec) {
    if (dec == NULL) {
        return;
    }
    if (dec->opus != NULL) {
        opus_decoder_destroy(dec->opus);
    }
    for (int i = 0; i < 2; i++) {
        if (dec->c2[i] != NULL) {
            codec2_destroy(dec->c2[i]);
        }
    }
    if (dec->up != NULL) {
        speex_resampler_destroy(dec->up);
    }
    wzp_free(dec);
}

int wzp_audio_decoder_new(wzp_audio_decoder **out) {
    wzp_audio_decoder *d = wzp_calloc(1, sizeof(*d));
    if (d == NULL) {
        return WZP_ERR_NOMEM;
    }
    int err = 0;
    d->opus = opus_decoder_create(WZP_SAMPLE_RATE, 1, &err);
    d->c2[0] = codec2_create(CODEC2_MODE_3200);
    d->c2[1] = codec2_create(CODEC2_MODE_1200);
    d->up = speex_resampler_init(1, C2_RATE, WZP_SAMPLE_RATE, RESAMPLE_QUALITY, &err);
    if (d->opus == NULL || d->c2[0] == NULL || d->c2[1] == NULL || d->up == NULL) {
        wzp_audio_decoder_free(d);
        return WZP_ERR_NOMEM;
    }
    speex_resampler_skip_zeros(d->up);
    d->rng = 0x12345678u;
    d->last_codec = WZP_CODEC_OPUS_24K;
    *out = d;
    return WZP_OK;
}

static void upsample(wzp_audio_decoder *d, const int16_t *low, size_t n, int16_t *pcm) {
    spx_uint32_t in_len = (spx_uint32_t)n, out_len = (spx_uint32_t)(n * 6);
    speex_resampler_process_int(d->up, 0, low, &in_len, pcm, &out_len);
    for (size_t i = out_len; i < n * 6; i++) {
        pcm[i] = out_len > 0 ? pcm[out_len - 1] : 0;
    }
}

static int decode_codec2(wzp_audio_decoder *d, unsigned codec, const uint8_t *data, size_t len,
                         double gain, int16_t *pcm, size_t *n) {
    struct CODEC2 *c2 = d->c2[codec == WZP_CODEC_CODEC2_3200 ? 0 : 1];
    size_t per = (size_t)codec2_samples_per_frame(c2), bytes = (size_t)codec2_bytes_per_frame(c2);
    size_t samples = wzp_codec_frame_samples(codec);
    size_t frames = samples / 6 / per;
    if (len != frames * bytes) {
        return WZP_ERR_MALFORMED;
    }
    int16_t low[C2_MAX_SAMPLES];
    for (size_t f = 0; f < frames; f++) {
        codec2_decode(c2, low + f * per, data + f * bytes);
    }
    for (size_t i = 0; gain != 1.0 && i < frames * per; i++) {
        low[i] = (int16_t)lrint(low[i] * gain);
    }
    upsample(d, low, frames * per, pcm);
    *n = samples;
    return WZP_OK;
}

/* Comfort noise at -level dBFS: white noise through a one-pole low-pass (a softer hiss). */
static void synth_cn(wzp_audio_decoder *d, uint8_t level, int16_t *pcm, size_t n) {
    double rms = 32767.0 * pow(10.0, -(double)level / 20.0);
    for (size_t i = 0; i < n; i++) {
        d->rng = d->rng * 1664525u + 1013904223u;
        double white = ((double)(d->rng >> 8) / 8388608.0 - 1.0) * 1.732; /* unit RMS */
        d->cn_state = 0.7 * d->cn_state + 0.3 * white;
        double v = d->cn_state * rms * 2.2; /* the filter halves the RMS; restore it */
        pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
}

static void remember_output(wzp_audio_decoder *dec, const int16_t *pcm, size_t n) {
    memcpy(dec->last_pcm, pcm, n * sizeof(int16_t));
    dec->last_n = n;
}

static int decode_frame(wzp_audio_decoder *dec, unsigned codec_id, const uint8_t *data, size_t len,
                        int16_t *pcm, size_t *n);

int wzp_audio_decoder_decode(wzp_audio_decoder *dec, unsigned codec_id, const uint8_t *data,
                             size_t len, int16_t *pcm, size_t *n) {
    int rc = decode_frame(dec, codec_id, data, len, pcm, n);
    if (rc == WZP_OK && codec_id != WZP_CODEC_COMFORT_NOISE) {
        remember_output(dec, pcm, *n);
    }
    return rc;
}

static int decode_frame(wzp_audio_decoder *dec, unsigned codec_id, const uint8_t *data, size_t len,
                        int16_t *pcm, size_t *n) {
    if (codec_id == WZP_CODEC_COMFORT_NOISE) {
        if (len != WZP_CN_PAYLOAD) {
            return WZP_ERR_MALFORMED;
        }
        *n = wzp_codec_frame_samples(codec_id);
        synth_cn(dec, data[0], pcm, *n);
        return WZP_OK;
    }
    if (is_opus(codec_id)) {
        if (is_codec2(dec->last_codec)) { /* back from Codec2: a stale Opus state misfires */
            opus_decoder_ctl(dec->opus, OPUS_RESET_STATE);
        }
        int r = opus_decode(dec->opus, data, (opus_int32)len, pcm, WZP_MAX_FRAME_SAMPLES, 0);
        if (r < 0) {
            return WZP_ERR_MALFORMED;
        }
        dec->last_codec = codec_id;
        *n = (size_t)r;
        return WZP_OK;
    }
    if (!is_codec2(codec_id)) {
        return WZP_ERR_UNKNOWN_CODEC;
    }
    int rc = decode_codec2(dec, codec_id, data, len, 1.0, pcm, n);
    if (rc == WZP_OK && len <= sizeof(dec->c2_last)) {
        memcpy(dec->c2_last, data, len);
        dec->have_c2_frame = true;
        dec->c2_lost = 0;
        dec->last_codec = codec_id;
    }
    return rc;
}

int wzp_audio_decoder_conceal(wzp_audio_decoder *dec, unsigned codec_id, const uint8_t *next,
                              size_t next_len, int16_t *pcm, size_t *n, bool *from_fec) {
    size_t samples = wzp_codec_frame_samples(codec_id);
    *from_fec = false;
    if (samples == 0) {
        return WZP_ERR_UNKNOWN_CODEC;
    }
    if (is_opus(codec_id)) {
        int fec = next != NULL && next_len > 0;
        int r = opus_decode(dec->opus, fec ? next : NULL, fec ? (opus_int32)next_len : 0, pcm,
                            (int)samples, fec);
        if (r < 0 && fec) { /* no usable LBRR in that packet: plain concealment */
            fec = 0;
            r = opus_decode(dec->opus, NULL, 0, pcm, (int)samples, 0);
        }
        if (r < 0) {
            return WZP_ERR_MALFORMED;
        }
        *from_fec = fec != 0;
        *n = (size_t)r;
        return WZP_OK;
    }
    if (is_codec2(codec_id) && dec->have_c2_frame && codec_id == dec->last_codec) {
        dec->c2_lost++;
        double gain = pow(0.5, dec->c2_lost); /* repeat the last frame, fading out */
        size_t len =
            (size_t)codec2_bytes_per_frame(dec->c2[codec_id == WZP_CODEC_CODEC2_3200 ? 0 : 1]) *
            (samples / 6 /
             (size_t)codec2_samples_per_frame(dec->c2[codec_id == WZP_CODEC_CODEC2_3200 ? 0 : 1]));
        return decode_codec2(dec, codec_id, dec->c2_last, len, gain, pcm, n);
    }
    /* nothing codec-specific to go on (e.g. just after a codec switch): repeat the last frame
     * at half level, so a switch never opens a hole */
    for (size_t i = 0; i < samples; i++) {
        pcm[i] = (int16_t)(dec->last_n > 0 ? dec->last_pcm[i % dec->last_n] / 2 : 0);
    }
    *n = samples;
    return WZP_OK;
}
