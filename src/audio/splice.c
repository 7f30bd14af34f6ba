/*
 * Time-scale changes by whole pitch periods (include/wzp/audio.h). The jitter buffer changes its
 * delay one frame at a time: it drops a frame (accelerate) or adds one (stretch). Done as such on
 * a steady sound (a tone, a held vowel), the splice is audible: a dropped frame leaves a phase
 * jump, and a codec's concealment frame fades (Opus' fell to -60 dBFS within 40 ms on a tone at
 * every stretch after a tier switch). So the audio is cut or lengthened by whole pitch periods of
 * what just played, found by autocorrelation: the splice lands on the same phase. Aperiodic audio
 * (noise, silence) falls back to frame drop / concealment, where nothing periodic is there to
 * break. Hand-written: Debian's time-stretchers (rubberband, soundtouch) change a stream's
 * speed, not one frame's worth on demand.
 */
#include <math.h>
#include <string.h>

#include "wzp/audio.h"

#define PITCH_MIN   48  /* 1 kHz */
#define PITCH_MAX   960 /* 50 Hz */
#define PITCH_WIN   960 /* 20 ms compared */
#define PERIODIC    0.6 /* normalised autocorrelation above which the sound counts as periodic */
#define SPLICE_FADE 96  /* 2 ms crossfade at a cut */
#define BRIDGE      960 /* 20 ms fade-in of a new codec */

void wzp_splicer_remember(wzp_splicer *d, const int16_t *pcm, size_t n) {
    if (n >= WZP_SPLICE_HISTORY) {
        memcpy(d->hist, pcm + n - WZP_SPLICE_HISTORY, WZP_SPLICE_HISTORY * sizeof(int16_t));
        d->hist_n = WZP_SPLICE_HISTORY;
        return;
    }
    size_t keep = d->hist_n + n > WZP_SPLICE_HISTORY ? WZP_SPLICE_HISTORY - n : d->hist_n;
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

/* (See include/wzp/audio.h.) Stretch: `frame` samples' worth of whole periods repeating the last
 * one played. */
bool wzp_splicer_stretch(const wzp_splicer *d, size_t frame, int16_t *pcm, size_t *n) {
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
bool wzp_splicer_shorten(const wzp_splicer *d, const int16_t *ab, size_t a, size_t b, int16_t *pcm,
                         size_t *n) {
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

/* A switch between Opus and Codec2 (a tier change): the new decoder starts from nothing (Codec2's
 * resampler primes with silence, a stale Opus state misfires), a 10-20 ms hole. The first 20 ms
 * of the new codec fade in over the old sound's pitch periods, continued. */
void wzp_splicer_bridge(const wzp_splicer *d, int16_t *pcm, size_t n) {
    size_t p = pitch_period(d->hist, d->hist_n);
    size_t len = n < BRIDGE ? n : BRIDGE;
    const int16_t *last = d->hist + d->hist_n - p;
    for (size_t i = 0; p != 0 && i < len; i++) {
        double w = (double)i / (double)len;
        pcm[i] = (int16_t)lrint(w * pcm[i] + (1.0 - w) * last[i % p]);
    }
}

void wzp_splicer_reset(wzp_splicer *d) {
    d->hist_n = 0;
}
