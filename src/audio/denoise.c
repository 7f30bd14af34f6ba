/* The speexdsp denoiser: its preprocessor (spectral noise suppression, optional AGC) run on
 * 480-sample (10 ms) blocks at 48 kHz, behind the wzp_denoiser interface. */
#include <speex/speex_preprocess.h>
#include <stdlib.h>

#include "wzp/audio.h"
#include "wzp/alloc.h"

#define BLOCK       480
#define SUPPRESS_DB (-30)

typedef struct speex_denoiser {
    wzp_denoiser base;
    SpeexPreprocessState *st;
} speex_denoiser;

static int speex_process(wzp_denoiser *d, int16_t *pcm, size_t n) {
    speex_denoiser *s = (speex_denoiser *)d;
    if (n % BLOCK != 0) {
        return WZP_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < n; i += BLOCK) {
        speex_preprocess_run(s->st, pcm + i);
    }
    return WZP_OK;
}

static void speex_free(wzp_denoiser *d) {
    speex_denoiser *s = (speex_denoiser *)d;
    speex_preprocess_state_destroy(s->st);
    wzp_free(s);
}

static const wzp_denoiser_ops k_speex_ops = {"speexdsp", speex_process, speex_free};

int wzp_denoiser_speex_new(bool agc, wzp_denoiser **out) {
    speex_denoiser *s = wzp_calloc(1, sizeof(*s));
    if (s == NULL) {
        return WZP_ERR_NOMEM;
    }
    s->st = speex_preprocess_state_init(BLOCK, WZP_SAMPLE_RATE);
    if (s->st == NULL) {
        wzp_free(s);
        return WZP_ERR_NOMEM;
    }
    spx_int32_t on = 1, off = 0, suppress = SUPPRESS_DB, agc_on = agc ? 1 : 0;
    speex_preprocess_ctl(s->st, SPEEX_PREPROCESS_SET_DENOISE, &on);
    speex_preprocess_ctl(s->st, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &suppress);
    speex_preprocess_ctl(s->st, SPEEX_PREPROCESS_SET_AGC, &agc_on);
    speex_preprocess_ctl(s->st, SPEEX_PREPROCESS_SET_DEREVERB, &off);
    s->base.ops = &k_speex_ops;
    *out = &s->base;
    return WZP_OK;
}
