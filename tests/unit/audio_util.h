/* Test signal helpers: tones, frequency and SNR measurement (Goertzel scan and a least-squares
 * sine fit), and gap detection. */
#ifndef WZP_AUDIO_UTIL_H
#define WZP_AUDIO_UTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

static inline void tone(int16_t *pcm, size_t n, double freq, double amp, size_t offset) {
    for (size_t i = 0; i < n; i++) {
        pcm[i] =
            (int16_t)lrint(amp * 32767.0 * sin(2.0 * M_PI * freq * (double)(i + offset) / 48000.0));
    }
}

/* Power of `freq` in x (Goertzel). */
static inline double goertzel(const int16_t *x, size_t n, double freq) {
    double w = 2.0 * M_PI * freq / 48000.0, c = 2.0 * cos(w), s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * (double)n);
}

/* The strongest frequency in [lo, hi] at 0.05 Hz resolution. */
static inline double peak_frequency(const int16_t *x, size_t n, double lo, double hi) {
    double best = lo, best_p = -1;
    for (double f = lo; f <= hi; f += 0.05) {
        double p = goertzel(x, n, f);
        if (p > best_p) {
            best_p = p;
            best = f;
        }
    }
    return best;
}

/* SNR in dB of x against the best-fitting sine of `freq` (any amplitude and phase). */
static inline double sine_snr_db(const int16_t *x, size_t n, double freq) {
    double ss = 0, sc = 0, cc = 0, xs = 0, xc = 0;
    for (size_t i = 0; i < n; i++) {
        double s = sin(2 * M_PI * freq * (double)i / 48000.0);
        double c = cos(2 * M_PI * freq * (double)i / 48000.0);
        ss += s * s;
        cc += c * c;
        sc += s * c;
        xs += x[i] * s;
        xc += x[i] * c;
    }
    double det = ss * cc - sc * sc;
    double a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
    double sig = 0, err = 0;
    for (size_t i = 0; i < n; i++) {
        double fit = a * sin(2 * M_PI * freq * (double)i / 48000.0) +
                     b * cos(2 * M_PI * freq * (double)i / 48000.0);
        sig += fit * fit;
        err += (x[i] - fit) * (x[i] - fit);
    }
    return 10.0 * log10(sig / (err > 1e-9 ? err : 1e-9));
}

/* Longest run of samples whose 1-ms envelope stays below `thresh`, in samples. */
static inline size_t longest_gap(const int16_t *x, size_t n, int thresh) {
    size_t best = 0, run = 0;
    for (size_t i = 0; i + 48 <= n; i += 48) {
        int peak = 0;
        for (size_t j = i; j < i + 48; j++) {
            int v = x[j] < 0 ? -x[j] : x[j];
            peak = v > peak ? v : peak;
        }
        run = peak < thresh ? run + 48 : 0;
        best = run > best ? run : best;
    }
    return best;
}

#endif
