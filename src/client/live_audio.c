/* Live microphone and speaker through PortAudio, lock-free rings, speexdsp echo cancellation. */
#include <alsa/asoundlib.h>
#include <jack/jack.h>
#include <portaudio.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/live_audio.h"
#include "wzp/alloc.h"

#define RING     16 /* frames each way: 320 ms, far more than the call keeps queued */
#define TAIL_MS  200
#define AEC_STEP 480 /* 10 ms: the canceller adapts twice per frame */
#define PLAY_CAP 8   /* frames the call may queue for the speaker */

typedef struct capture_slot {
    int16_t mic[WZP_LIVE_FRAME];
    int16_t ref[WZP_LIVE_FRAME]; /* what the speaker was given in the same callback */
} capture_slot;

struct wzp_live_audio {
    PaStream *stream;
    SpeexEchoState *echo;           /* NULL: no echo cancellation */
    SpeexPreprocessState *residual; /* suppresses the echo the linear filter leaves */
    capture_slot cap[RING];
    int16_t play[RING][WZP_LIVE_FRAME];
    /* single producer, single consumer: head written by the consumer, tail by the producer */
    _Atomic size_t cap_head, cap_tail, play_head, play_tail;
    _Atomic uint64_t captured, played, cap_over, play_under, play_over;
    bool pa_up;
};

static int callback(const void *input, void *output, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *user) {
    wzp_live_audio *a = user;
    (void)time;
    (void)flags;
    if (frames != WZP_LIVE_FRAME) {
        memset(output, 0, frames * sizeof(int16_t));
        return paContinue;
    }
    int16_t *out = output;
    size_t ph = atomic_load_explicit(&a->play_head, memory_order_relaxed);
    size_t pt = atomic_load_explicit(&a->play_tail, memory_order_acquire);
    if (ph != pt) {
        memcpy(out, a->play[ph % RING], sizeof(a->play[0]));
        atomic_store_explicit(&a->play_head, ph + 1, memory_order_release);
        atomic_fetch_add_explicit(&a->played, 1, memory_order_relaxed);
    } else {
        memset(out, 0, sizeof(a->play[0]));
        atomic_fetch_add_explicit(&a->play_under, 1, memory_order_relaxed);
    }
    size_t ct = atomic_load_explicit(&a->cap_tail, memory_order_relaxed);
    size_t ch = atomic_load_explicit(&a->cap_head, memory_order_acquire);
    if (ct - ch < RING && input != NULL) {
        capture_slot *s = &a->cap[ct % RING];
        memcpy(s->mic, input, sizeof(s->mic));
        memcpy(s->ref, out, sizeof(s->ref));
        atomic_store_explicit(&a->cap_tail, ct + 1, memory_order_release);
        atomic_fetch_add_explicit(&a->captured, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&a->cap_over, 1, memory_order_relaxed);
    }
    return paContinue;
}

/* PortAudio probes every ALSA device and JACK when it starts; both libraries print each failed
 * probe to stderr (two dozen lines on a normal desktop). What matters reaches the user through
 * PortAudio's own errors, so their chatter is silenced. */
static void quiet_alsa(const char *file, int line, const char *function, int err, const char *fmt,
                       ...) {
    (void)file;
    (void)line;
    (void)function;
    (void)err;
    (void)fmt;
}

static void quiet_jack(const char *msg) {
    (void)msg;
}

static PaDeviceIndex find_device(const char *name, bool input) {
    if (name == NULL) {
        return input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
    }
    for (PaDeviceIndex i = 0; i < Pa_GetDeviceCount(); i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (d != NULL && strstr(d->name, name) != NULL &&
            (input ? d->maxInputChannels : d->maxOutputChannels) > 0) {
            return i;
        }
    }
    return paNoDevice;
}

int wzp_live_audio_open(const char *device, bool aec, wzp_live_audio **out, char *why,
                        size_t why_len) {
    wzp_live_audio *a = wzp_calloc(1, sizeof(*a));
    if (a == NULL) {
        return WZP_ERR_NOMEM;
    }
    snd_lib_error_set_handler(quiet_alsa);
    jack_set_error_function(quiet_jack);
    jack_set_info_function(quiet_jack);
    PaError err = Pa_Initialize();
    if (err != paNoError) {
        snprintf(why, why_len, "PortAudio: %s", Pa_GetErrorText(err));
        wzp_free(a);
        return WZP_ERR_IO;
    }
    a->pa_up = true;
    PaDeviceIndex in = find_device(device, true), outdev = find_device(device, false);
    if (in == paNoDevice || outdev == paNoDevice) {
        snprintf(why, why_len, "no %s device%s%s", in == paNoDevice ? "input" : "output",
                 device != NULL ? " matching " : "", device != NULL ? device : "");
        wzp_live_audio_close(a);
        return WZP_ERR_IO;
    }
    PaStreamParameters ip = {in, 1, paInt16, Pa_GetDeviceInfo(in)->defaultLowInputLatency, NULL},
                       op = {outdev, 1, paInt16, Pa_GetDeviceInfo(outdev)->defaultLowOutputLatency,
                             NULL};
    err = Pa_OpenStream(&a->stream, &ip, &op, 48000, WZP_LIVE_FRAME, paClipOff, callback, a);
    if (err != paNoError) {
        snprintf(why, why_len, "cannot open 48 kHz mono on %s / %s: %s", Pa_GetDeviceInfo(in)->name,
                 Pa_GetDeviceInfo(outdev)->name, Pa_GetErrorText(err));
        a->stream = NULL;
        wzp_live_audio_close(a);
        return WZP_ERR_IO;
    }
    if (aec) {
        a->echo = speex_echo_state_init(AEC_STEP, 48 * TAIL_MS);
        a->residual = speex_preprocess_state_init(AEC_STEP, 48000);
        int rate = 48000, off = 0;
        if (a->echo == NULL || a->residual == NULL) {
            wzp_live_audio_close(a);
            return WZP_ERR_NOMEM;
        }
        speex_echo_ctl(a->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
        /* residual echo suppression only: noise suppression is the call encoder's business */
        speex_preprocess_ctl(a->residual, SPEEX_PREPROCESS_SET_DENOISE, &off);
        speex_preprocess_ctl(a->residual, SPEEX_PREPROCESS_SET_AGC, &off);
        speex_preprocess_ctl(a->residual, SPEEX_PREPROCESS_SET_ECHO_STATE, a->echo);
        /* while the near end talks over the far end, suppress residual echo gently: keeping
         * the local talker audible matters more than the last few dB of echo */
        int active = -6;
        speex_preprocess_ctl(a->residual, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, &active);
    }
    err = Pa_StartStream(a->stream);
    if (err != paNoError) {
        snprintf(why, why_len, "cannot start audio: %s", Pa_GetErrorText(err));
        wzp_live_audio_close(a);
        return WZP_ERR_IO;
    }
    const PaStreamInfo *si = Pa_GetStreamInfo(a->stream);
    snprintf(why, why_len, "%s / %s, latency in %.0f ms, out %.0f ms%s", Pa_GetDeviceInfo(in)->name,
             Pa_GetDeviceInfo(outdev)->name, si != NULL ? si->inputLatency * 1000 : 0,
             si != NULL ? si->outputLatency * 1000 : 0,
             a->echo != NULL ? ", echo cancellation on" : "");
    *out = a;
    return WZP_OK;
}

bool wzp_live_audio_capture(wzp_live_audio *a, int16_t pcm[WZP_LIVE_FRAME]) {
    size_t h = atomic_load_explicit(&a->cap_head, memory_order_relaxed);
    if (h == atomic_load_explicit(&a->cap_tail, memory_order_acquire)) {
        return false;
    }
    capture_slot *s = &a->cap[h % RING];
    if (a->echo != NULL) {
        for (size_t i = 0; i < WZP_LIVE_FRAME; i += AEC_STEP) {
            speex_echo_cancellation(a->echo, s->mic + i, s->ref + i, pcm + i);
            speex_preprocess_run(a->residual, pcm + i);
        }
    } else {
        memcpy(pcm, s->mic, sizeof(s->mic));
    }
    atomic_store_explicit(&a->cap_head, h + 1, memory_order_release);
    return true;
}

size_t wzp_live_audio_queued(const wzp_live_audio *a) {
    return atomic_load_explicit(&a->play_tail, memory_order_relaxed) -
           atomic_load_explicit(&a->play_head, memory_order_acquire);
}

bool wzp_live_audio_play(wzp_live_audio *a, const int16_t pcm[WZP_LIVE_FRAME]) {
    size_t t = atomic_load_explicit(&a->play_tail, memory_order_relaxed);
    if (t - atomic_load_explicit(&a->play_head, memory_order_acquire) >= PLAY_CAP) {
        atomic_fetch_add_explicit(&a->play_over, 1, memory_order_relaxed);
        return false;
    }
    memcpy(a->play[t % RING], pcm, sizeof(a->play[0]));
    atomic_store_explicit(&a->play_tail, t + 1, memory_order_release);
    return true;
}

wzp_live_stats wzp_live_audio_stats(const wzp_live_audio *a) {
    wzp_live_stats s = {
        .captured = atomic_load(&a->captured),
        .played = atomic_load(&a->played),
        .capture_overruns = atomic_load(&a->cap_over),
        .playback_underruns = atomic_load(&a->play_under),
        .playback_overruns = atomic_load(&a->play_over),
    };
    return s;
}

void wzp_live_audio_close(wzp_live_audio *a) {
    if (a == NULL) {
        return;
    }
    if (a->stream != NULL) {
        Pa_StopStream(a->stream);
        Pa_CloseStream(a->stream);
    }
    if (a->residual != NULL) {
        speex_preprocess_state_destroy(a->residual);
    }
    if (a->echo != NULL) {
        speex_echo_state_destroy(a->echo);
    }
    if (a->pa_up) {
        Pa_Terminate();
    }
    wzp_free(a);
}
