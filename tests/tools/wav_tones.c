/* Level (dBFS) of given frequencies in a window of a WAV file, by Goertzel over 200 ms Hann
 * windows with the powers averaged (insensitive to phase jumps): used by the call
 * integration tests to check what a client recorded. Usage: wav_tones FILE START END HZ...
 * where HZ "rms" gives the window's RMS level in dBFS instead (broadband signals: speech), and
 * "minrms" the level of its quietest 20 ms (a gap in a tone shows there). */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: wav_tones FILE START_S END_S HZ...\n");
        return 2;
    }
    SF_INFO info = {0};
    SNDFILE *f = sf_open(argv[1], SFM_READ, &info);
    if (f == NULL || info.channels != 1) {
        fprintf(stderr, "wav_tones: cannot read %s\n", argv[1]);
        return 1;
    }
    sf_count_t start = (sf_count_t)(atof(argv[2]) * info.samplerate);
    sf_count_t end = (sf_count_t)(atof(argv[3]) * info.samplerate);
    if (end > info.frames) {
        end = info.frames;
    }
    if (start >= end) {
        fprintf(stderr, "wav_tones: window outside the file (%lld frames)\n",
                (long long)info.frames);
        return 1;
    }
    double *x = malloc(sizeof(double) * (size_t)(end - start));
    sf_seek(f, start, SEEK_SET);
    sf_count_t n = sf_read_double(f, x, end - start);
    sf_close(f);
    for (int a = 4; a < argc; a++) {
        if (strcmp(argv[a], "minrms") == 0) {
            sf_count_t w20 = info.samplerate / 50;
            double worst = 1.0, at = 0;
            for (sf_count_t b0 = 0; b0 + w20 <= n; b0 += w20) {
                double sum = 0;
                for (sf_count_t i = 0; i < w20; i++) {
                    sum += x[b0 + i] * x[b0 + i];
                }
                double rms = sqrt(sum / (double)w20);
                if (rms < worst) {
                    worst = rms;
                    at = (double)(start + b0) / info.samplerate;
                }
            }
            printf("minrms %.1f at %.2f\n", 20 * log10(worst > 1e-9 ? worst : 1e-9), at);
            continue;
        }
        if (strcmp(argv[a], "rms") == 0) {
            double sum = 0;
            for (sf_count_t i = 0; i < n; i++) {
                sum += x[i] * x[i];
            }
            double rms = n > 0 ? sqrt(sum / (double)n) : 0;
            printf("rms %.1f\n", 20 * log10(rms > 1e-9 ? rms : 1e-9));
            continue;
        }
        /* Hann-windowed Goertzel over 200 ms blocks, powers averaged: the level a listener
         * hears, blind to phase jumps (a concealed or skipped frame shifts the tone's phase,
         * which would cancel in one long coherent window) */
        double hz = atof(argv[a]), w = 2 * M_PI * hz / info.samplerate, c = 2 * cos(w);
        sf_count_t blk = info.samplerate / 5;
        double psum = 0;
        int nblk = 0;
        for (sf_count_t b0 = 0; b0 + blk <= n || (nblk == 0 && b0 < n); b0 += blk) {
            sf_count_t len = b0 + blk <= n ? blk : n - b0;
            double s1 = 0, s2 = 0, wsum = 0;
            for (sf_count_t i = 0; i < len; i++) {
                double hann = 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)len);
                double s = x[b0 + i] * hann + c * s1 - s2;
                s2 = s1;
                s1 = s;
                wsum += hann;
            }
            double power = (s1 * s1 + s2 * s2 - c * s1 * s2) / (wsum * wsum);
            psum += 4 * power; /* squared sine amplitude, full scale = 1 */
            nblk++;
        }
        double amp = nblk > 0 ? sqrt(psum / nblk) : 0;
        printf("%g %.1f\n", hz, 20 * log10(amp > 1e-9 ? amp : 1e-9));
    }
    free(x);
    return 0;
}
