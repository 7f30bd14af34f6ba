/*
 * Audio (SPEC §7): codecs behind one interface that always speaks 48 kHz mono 16-bit PCM (Opus
 * via libopus; Codec2 3200/1200 via libcodec2 with speexdsp resampling; comfort noise), a
 * denoiser interface (speexdsp's preprocessor today, an ML denoiser later), voice activity
 * detection with hangover, and comfort-noise synthesis. Objects are created once per stream; the
 * per-frame calls allocate nothing.
 */
#ifndef WZP_AUDIO_H
#define WZP_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"
#include "wzp/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_SAMPLE_RATE       48000
#define WZP_SAMPLES_PER_MS    48
#define WZP_MAX_FRAME_SAMPLES 1920 /* 40 ms */
#define WZP_MAX_CODEC_FRAME   512  /* bytes of one encoded frame, any codec */
#define WZP_CN_PAYLOAD        1    /* comfort noise: one byte, the level in -dBFS */

/* Samples (48 kHz) in one frame of `codec`, from the codec table. */
unsigned wzp_codec_frame_samples(unsigned codec_id);

/* ---- encoder: switches codec at a frame boundary ----------------------------------------- */

typedef struct wzp_audio_encoder wzp_audio_encoder;

WZP_MUST_CHECK int wzp_audio_encoder_new(unsigned codec_id, wzp_audio_encoder **out);
void wzp_audio_encoder_free(wzp_audio_encoder *enc);
/* The codec for the next frame (Opus, Codec2 3200/1200). Errors: WZP_ERR_UNKNOWN_CODEC. */
WZP_MUST_CHECK int wzp_audio_encoder_set_codec(wzp_audio_encoder *enc, unsigned codec_id);
unsigned wzp_audio_encoder_codec(const wzp_audio_encoder *enc);
/* Expected loss in percent: Opus sizes its in-band FEC (LBRR) for it. */
void wzp_audio_encoder_set_loss_hint(wzp_audio_encoder *enc, unsigned percent);
/* Encode one frame of wzp_codec_frame_samples(codec) samples. Errors: WZP_ERR_INVALID_ARG (wrong
 * sample count), WZP_ERR_BUFFER_TOO_SMALL, WZP_ERR_IO (the codec failed). */
WZP_MUST_CHECK int wzp_audio_encoder_encode(wzp_audio_encoder *enc, const int16_t *pcm, size_t n,
                                            uint8_t *out, size_t cap, size_t *written);

/* ---- decoder: any codec, with concealment ------------------------------------------------ */

typedef struct wzp_audio_decoder wzp_audio_decoder;

WZP_MUST_CHECK int wzp_audio_decoder_new(wzp_audio_decoder **out);
void wzp_audio_decoder_free(wzp_audio_decoder *dec);
/* Decode one frame of `codec_id` into `pcm` (room for WZP_MAX_FRAME_SAMPLES); `*n` samples.
 * Comfort-noise frames are synthesised at the level they carry. Errors: WZP_ERR_UNKNOWN_CODEC,
 * WZP_ERR_MALFORMED (the codec refused the data). */
WZP_MUST_CHECK int wzp_audio_decoder_decode(wzp_audio_decoder *dec, unsigned codec_id,
                                            const uint8_t *data, size_t len, int16_t *pcm,
                                            size_t *n);
/* Conceal one missing frame of `codec_id`. With `next` (the following frame's data, Opus only)
 * the frame is rebuilt from the in-band FEC it carries (`*from_fec` true); otherwise the codec's
 * packet-loss concealment fills it (Codec2: fading repetition). */
WZP_MUST_CHECK int wzp_audio_decoder_conceal(wzp_audio_decoder *dec, unsigned codec_id,
                                             const uint8_t *next, size_t next_len, int16_t *pcm,
                                             size_t *n, bool *from_fec);

/* ---- denoiser interface ------------------------------------------------------------------ */

typedef struct wzp_denoiser wzp_denoiser;
typedef struct wzp_denoiser_ops {
    const char *name;
    /* Denoise `n` samples (a multiple of 480) in place. */
    int (*process)(wzp_denoiser *d, int16_t *pcm, size_t n);
    void (*free)(wzp_denoiser *d);
} wzp_denoiser_ops;
struct wzp_denoiser {
    const wzp_denoiser_ops *ops;
};

/* speexdsp's preprocessor on 480-sample (10 ms) blocks: noise suppression, optional AGC.
 * (RNNoise, the original's choice, is not packaged as a library in Debian 12.) */
WZP_MUST_CHECK int wzp_denoiser_speex_new(bool agc, wzp_denoiser **out);
static inline int wzp_denoiser_process(wzp_denoiser *d, int16_t *pcm, size_t n) {
    return d->ops->process(d, pcm, n);
}
static inline void wzp_denoiser_free(wzp_denoiser *d) {
    if (d != NULL) {
        d->ops->free(d);
    }
}

/* ---- voice activity detection and comfort noise ------------------------------------------ */

#define WZP_VAD_HANGOVER_MS 100
#define WZP_CN_INTERVAL_MS  200

typedef struct wzp_vad {
    double noise_db;      /* tracked background level, dBFS */
    double level_db;      /* level of the last frame, dBFS */
    unsigned hangover_ms; /* speech continues this long after the last voiced frame */
    unsigned frames;
} wzp_vad;

void wzp_vad_init(wzp_vad *v);
/* True while there is speech (including the 100 ms hangover after it). */
bool wzp_vad_process(wzp_vad *v, const int16_t *pcm, size_t n);
/* The comfort-noise payload for the current background level. */
uint8_t wzp_vad_cn_level(const wzp_vad *v);
/* Frame level in dBFS (RMS; -127 for digital silence). */
double wzp_pcm_level_db(const int16_t *pcm, size_t n);

/* ---- time-scale changes by whole pitch periods (src/audio/splice.c) ----------------------
 * A receiver that must shorten or lengthen its playout by a frame (a jitter buffer changing its
 * delay) does it by whole pitch periods of what it just played, so a steady sound keeps its
 * phase; and a change of codec family fades the new codec in over the old sound's periods. */

#define WZP_SPLICE_HISTORY 2048 /* samples kept: >= the longest period (960) + the window (960) */

typedef struct wzp_splicer {
    int16_t hist[WZP_SPLICE_HISTORY]; /* the audio played last */
    size_t hist_n;
} wzp_splicer;

/* Forget what played (silence while buffering). */
void wzp_splicer_reset(wzp_splicer *sp);
/* Note `n` samples just played. */
void wzp_splicer_remember(wzp_splicer *sp, const int16_t *pcm, size_t n);
/* Lengthen: about `frame` samples of whole periods repeating the last one played; false when
 * what played is not periodic (conceal instead). */
bool wzp_splicer_stretch(const wzp_splicer *sp, size_t frame, int16_t *pcm, size_t *n);
/* Shorten: `ab` holds `a` samples (a dropped frame, decoded) then `b` (the frame due); out goes
 * their concatenation less the whole periods covering `a`, crossfaded. False when not periodic. */
bool wzp_splicer_shorten(const wzp_splicer *sp, const int16_t *ab, size_t a, size_t b, int16_t *pcm,
                         size_t *n);
/* Fade the first 20 ms of `pcm` (a new codec's first frame) in over the last period played. */
void wzp_splicer_bridge(const wzp_splicer *sp, int16_t *pcm, size_t n);

#ifdef __cplusplus
}
#endif
#endif
