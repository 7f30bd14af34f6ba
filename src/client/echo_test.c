/*
 * `wzp-client --echo-test SECS`: the whole path measured against itself. The client joins a room
 * of its own twice -- a talking leg that sends a known test signal and a listening leg (a fresh
 * identity) that records it -- so the signal crosses the relay, the end-to-end handshake, FEC,
 * the jitter buffer and the codec of whatever tier the quality loop picks, and comes back. Then,
 * per second: the loss the listening leg measured, the frames it concealed, the SNR of the
 * recording against the signal sent (after delay alignment and gain), and the correlation of
 * their 10 ms envelopes (meaningful for a vocoder too, whose waveform is not the original's).
 * The verdict: OK, IMPAIRED (a second lost over 5% or lost the signal's shape) or DEGRADING
 * (the last third clearly worse than the first).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wzp/client.h"
#include "wzp/alloc.h"

#define RATE         48000
#define ENV_SAMPLES  480 /* 10 ms envelope points */
#define MAX_LAG_S    3   /* the recording starts before the signal, by the join and buffering */
#define FINE_LAG     960 /* +-20 ms of fine alignment per window */
#define BAD_LOSS_PCT 5.0
#define BAD_CORR     0.7

/* A synthetic voice: a gliding pitch (120..220 Hz) with eight harmonics, its level changing
 * every 100 ms with 10 ms ramps. Every codec tier is built for that; its level pattern aligns in
 * one place only. (Pure tones stepping in pitch, or three tones at once, are not voice: Opus at
 * 24 kbps returned them 6 dB low and smeared, which measured the signal, not the path.) */
static void make_signal(float *x, size_t n, uint32_t seed) {
    double level = 0.5, target = 0.5, phase = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % (RATE / 10) == 0) {
            seed = seed * 1664525u + 1013904223u;
            target = 0.1 + 0.9 * (double)(seed >> 8) / 16777216.0;
        }
        level += (target - level) / 480.0; /* ~10 ms ramps */
        double t = (double)i / RATE, f0 = 170.0 + 50.0 * sin(2 * M_PI * 0.4 * t);
        phase += 2 * M_PI * f0 / RATE;
        double v = 0;
        for (int h = 1; h <= 8; h++) {
            v += sin(h * phase) / h;
        }
        x[i] = (float)(0.12 * level * v);
    }
}

static void envelope(const float *x, size_t n, double *env) {
    for (size_t k = 0; k < n / ENV_SAMPLES; k++) {
        double s = 0;
        for (size_t i = 0; i < ENV_SAMPLES; i++) {
            s += (double)x[k * ENV_SAMPLES + i] * x[k * ENV_SAMPLES + i];
        }
        env[k] = sqrt(s / ENV_SAMPLES);
    }
}

static double pearson(const double *a, const double *b, size_t n) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
}

typedef struct leg {
    wzp_client_options o;
    FILE *out, *err;
    int rc;
    pthread_t thread;
} leg;

static void *run_leg(void *arg) {
    leg *l = arg;
    l->rc = wzp_client_run(&l->o, l->out, l->err);
    return NULL;
}

static void dump(FILE *f, FILE *to) {
    char line[512];
    rewind(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        fputs(line, to);
    }
}

typedef struct window {
    double loss, snr, corr;
    long concealed;
    bool bad;
} window;

/* The listening leg's metrics lines: loss and concealed frames for its seconds [from, to). */
static void window_stats(cJSON **lines, size_t n, double from, double to, window *w) {
    double loss = 0;
    int k = 0;
    long c0 = -1, c1 = -1;
    for (size_t i = 0; i < n; i++) {
        double t = cJSON_GetObjectItem(lines[i], "t")->valuedouble;
        cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(lines[i], "peers"), 0);
        if (p == NULL) {
            continue;
        }
        long c = (long)cJSON_GetObjectItem(p, "concealed")->valuedouble;
        if (t <= from) {
            c0 = c;
        }
        if (t > from && t <= to + 0.5) {
            loss += cJSON_GetObjectItem(p, "loss_pct")->valuedouble;
            k++;
            c1 = c;
        }
    }
    w->loss = k > 0 ? loss / k : 0;
    w->concealed = c0 >= 0 && c1 >= c0 ? c1 - c0 : 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof(double), cmp_double);
    return n > 0 ? v[n / 2] : NAN;
}

/* Capture to playout: the talking leg's media clock (its metrics lines) against the listening
 * leg's playout clock, as scripts/quality-lab.sh measures it. NAN if unknown. */
static double path_delay_ms(cJSON **heard, size_t nh, const char *talk_jsonl) {
    double epochs[4096], d[4096];
    size_t ne = 0, nd = 0;
    FILE *f = fopen(talk_jsonl, "r");
    char line[8192];
    while (f != NULL && ne < 4096 && fgets(line, sizeof(line), f) != NULL) {
        cJSON *o = cJSON_Parse(line);
        cJSON *u = cJSON_GetObjectItem(o, "unix_ms"), *m = cJSON_GetObjectItem(o, "media_ts_ms");
        if (cJSON_IsNumber(u) && cJSON_IsNumber(m) && m->valuedouble > 0) {
            epochs[ne++] = u->valuedouble - m->valuedouble;
        }
        cJSON_Delete(o);
    }
    if (f != NULL) {
        fclose(f);
    }
    if (ne == 0) {
        return NAN;
    }
    double epoch = median(epochs, ne);
    for (size_t i = 0; i < nh && nd < 4096; i++) {
        cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(heard[i], "peers"), 0);
        cJSON *u = cJSON_GetObjectItem(heard[i], "unix_ms");
        if (p != NULL && cJSON_IsNumber(u) && cJSON_GetObjectItem(p, "played")->valuedouble > 0) {
            d[nd++] =
                u->valuedouble - (epoch + cJSON_GetObjectItem(p, "playout_ts_ms")->valuedouble);
        }
    }
    return nd > 0 ? median(d, nd) : NAN;
}

static int analyse(const float *ref, size_t nref, const char *wav, const char *jsonl,
                   const char *talk_jsonl, double secs, FILE *out, FILE *err) {
    SF_INFO info = {0};
    SNDFILE *f = sf_open(wav, SFM_READ, &info);
    if (f == NULL || info.channels != 1 || info.samplerate != RATE) {
        fprintf(err, "wzp-client: echo test: nothing was recorded\n");
        if (f != NULL) {
            sf_close(f);
        }
        return 1;
    }
    size_t nrec = (size_t)info.frames;
    float *rec = wzp_malloc(sizeof(float) * (nrec + 1));
    double *er = wzp_malloc(sizeof(double) * (nref / ENV_SAMPLES + 1));
    double *ec = wzp_malloc(sizeof(double) * (nrec / ENV_SAMPLES + 1));
    cJSON **lines = wzp_calloc(4096, sizeof(cJSON *));
    size_t nl = 0;
    int rc = 0;
    if (rec == NULL || er == NULL || ec == NULL || lines == NULL) {
        rc = 1;
        goto done;
    }
    nrec = (size_t)sf_readf_float(f, rec, (sf_count_t)nrec);
    FILE *jf = fopen(jsonl, "r");
    char line[8192];
    while (jf != NULL && nl < 4096 && fgets(line, sizeof(line), jf) != NULL) {
        cJSON *o = cJSON_Parse(line);
        if (o != NULL && cJSON_IsNumber(cJSON_GetObjectItem(o, "t")) &&
            cJSON_IsArray(cJSON_GetObjectItem(o, "peers"))) {
            lines[nl++] = o;
        } else {
            cJSON_Delete(o);
        }
    }
    if (jf != NULL) {
        fclose(jf);
    }
    /* coarse delay: the envelope lag with the best correlation over the first seconds */
    envelope(ref, nref, er);
    envelope(rec, nrec, ec);
    size_t ner = nref / ENV_SAMPLES, nec = nrec / ENV_SAMPLES, span = ner < 300 ? ner : 300;
    double best = -2;
    size_t lag = 0;
    for (size_t l = 0; l + span <= nec && l <= MAX_LAG_S * 100; l++) {
        double c = pearson(er, ec + l, span);
        if (c > best) {
            best = c;
            lag = l;
        }
    }
    if (best < 0.3) {
        fprintf(out, "wzp-client: echo test: the signal did not come back (best match %.2f)\n",
                best);
        fprintf(out, "echo test verdict: IMPAIRED (nothing recognisable received)\n");
        rc = 6;
        goto done;
    }
    size_t delay = lag * ENV_SAMPLES, nwin = (size_t)secs;
    window *w = wzp_calloc(nwin, sizeof(window));
    if (w == NULL) {
        rc = 1;
        goto done;
    }
    fprintf(out,
            "wzp-client: echo test: %.0f s of test signal came back; capture to playout %.0f ms "
            "(network, FEC and jitter buffer)\n"
            "  %-8s %7s %10s %8s %12s\n",
            secs, path_delay_ms(lines, nl, talk_jsonl), "second", "loss", "concealed", "SNR dB",
            "correlation");
    size_t bad = 0;
    for (size_t k = 0; k < nwin; k++) {
        if (k == 0) { /* the codecs' and the buffer's warm-up */
            fprintf(out, "  %3d-%-4d (warm-up, not judged)\n", 0, 1);
            continue;
        }
        size_t r0 = k * RATE, len = RATE;
        /* the playout delay moves when the tier (and the buffer's depth) changes: find this
         * second again within +-500 ms of the delay so far, by its envelope */
        size_t ek = r0 / ENV_SAMPLES, wl = len / ENV_SAMPLES, dl = delay / ENV_SAMPLES;
        double bw = -2;
        size_t best_l = dl;
        for (size_t l = dl > 50 ? dl - 50 : 0; l <= dl + 50; l++) {
            if (ek + wl <= ner && l + ek + wl <= nec) {
                double c = pearson(er + ek, ec + l + ek, wl);
                if (c > bw) {
                    bw = c;
                    best_l = l;
                }
            }
        }
        if (bw > 0.5) {
            delay = best_l * ENV_SAMPLES;
        }
        if (r0 + len > nref || delay + r0 + FINE_LAG + len > nrec || r0 + delay < FINE_LAG) {
            nwin = k;
            break;
        }
        /* fine alignment within +-20 ms: the coarse lag is 10 ms steps, and the jitter buffer
         * may have moved the playout since */
        double bc = -1e30;
        long bl = 0;
        for (long l = -FINE_LAG; l <= FINE_LAG; l++) {
            double s = 0;
            for (size_t i = 0; i < len; i += 4) {
                s += (double)ref[r0 + i] * rec[(size_t)((long)(delay + r0 + i) + l)];
            }
            if (s > bc) {
                bc = s;
                bl = l;
            }
        }
        const float *y = rec + (long)(delay + r0) + bl;
        double sxy = 0, sxx = 0;
        for (size_t i = 0; i < len; i++) {
            sxy += (double)ref[r0 + i] * y[i];
            sxx += (double)ref[r0 + i] * ref[r0 + i];
        }
        double g = sxx > 0 ? sxy / sxx : 0, noise = 0;
        for (size_t i = 0; i < len; i++) {
            double d = y[i] - g * ref[r0 + i];
            noise += d * d;
        }
        w[k].snr = 10 * log10((g * g * sxx + 1e-12) / (noise + 1e-12));
        double ew_ref[RATE / ENV_SAMPLES], ew_rec[RATE / ENV_SAMPLES];
        envelope(ref + r0, len, ew_ref);
        envelope(y, len, ew_rec);
        w[k].corr = pearson(ew_ref, ew_rec, len / ENV_SAMPLES);
        /* the listening leg's clock: the recording started with it */
        double t0 = (double)(delay + r0) / RATE;
        window_stats(lines, nl, t0, t0 + 1.0, &w[k]);
        w[k].bad = w[k].loss > BAD_LOSS_PCT || w[k].corr < BAD_CORR;
        bad += w[k].bad;
        fprintf(out, "  %3zu-%-4zu %6.1f%% %10ld %8.1f %12.3f%s\n", k, k + 1, w[k].loss,
                w[k].concealed, w[k].snr, w[k].corr, w[k].bad ? "  <- bad" : "");
    }
    /* DEGRADING: the last third clearly worse than the first (the signal's shape or the loss;
     * the SNR of a perceptual codec wanders by a few dB from second to second on its own) */
    double c_first = 0, c_last = 0, l_first = 0, l_last = 0;
    size_t third = nwin > 1 ? (nwin - 1) / 3 : 0;
    for (size_t k = 0; k < third; k++) {
        c_first += w[1 + k].corr / (double)third;
        l_first += w[1 + k].loss / (double)third;
        c_last += w[nwin - 1 - k].corr / (double)third;
        l_last += w[nwin - 1 - k].loss / (double)third;
    }
    bool degrading = third > 0 && (c_last < c_first - 0.1 || l_last > l_first + 5.0);
    if (degrading) {
        fprintf(out,
                "echo test verdict: DEGRADING (last third: correlation %.2f, loss %.1f%%; first "
                "third: %.2f, %.1f%%)\n",
                c_last, l_last, c_first, l_first);
        rc = 6;
    } else if (bad > 0 || nwin < 2) {
        fprintf(out,
                "echo test verdict: IMPAIRED (%zu of %zu seconds lost over %.0f%% or the "
                "signal's shape)\n",
                bad, nwin > 0 ? nwin - 1 : 0, BAD_LOSS_PCT);
        rc = 6;
    } else {
        fprintf(out, "echo test verdict: OK (%zu seconds judged, none impaired, quality steady)\n",
                nwin - 1);
    }
    wzp_free(w);
done:
    sf_close(f);
    for (size_t i = 0; i < nl; i++) {
        cJSON_Delete(lines[i]);
    }
    wzp_free(lines);
    wzp_free(rec);
    wzp_free(er);
    wzp_free(ec);
    return rc;
}

int wzp_client_echo_test(const wzp_client_options *o, FILE *out, FILE *err) {
    double secs = o->echo_test_s;
    if (secs < 3 || secs > 600) {
        fprintf(err, "wzp-client: --echo-test takes 3 to 600 seconds\n");
        return 2;
    }
    if (o->relay_fp == NULL) {
        fprintf(err, "wzp-client: --echo-test needs the relay's fingerprint: --relay-fp, or "
                     "call it once normally so it is recorded\n");
        return 2;
    }
    char dir[] = "/tmp/wzp-echo-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        fprintf(err, "wzp-client: echo test: no temporary directory\n");
        return 1;
    }
    char sig[64], wav[64], jsonl[64], talk_jsonl[64], room[64];
    snprintf(sig, sizeof(sig), "%s/signal.wav", dir);
    snprintf(wav, sizeof(wav), "%s/heard.wav", dir);
    snprintf(jsonl, sizeof(jsonl), "%s/heard.jsonl", dir);
    snprintf(talk_jsonl, sizeof(talk_jsonl), "%s/talk.jsonl", dir);
    /* a room of our own unless one was asked for: nobody else hears the test */
    snprintf(room, sizeof(room), "echo-%08x%08x", randombytes_random(), randombytes_random());
    size_t n = (size_t)(secs * RATE);
    float *ref = wzp_malloc(sizeof(float) * n);
    SF_INFO si = {.samplerate = RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *sf = ref != NULL ? sf_open(sig, SFM_WRITE, &si) : NULL;
    int rc = 1;
    wzp_identity listener;
    memset(&listener, 0, sizeof(listener));
    leg talk = {0}, listen = {0};
    if (sf == NULL) {
        fprintf(err, "wzp-client: echo test: cannot write %s\n", sig);
        goto done;
    }
    make_signal(ref, n, randombytes_random());
    sf_writef_float(sf, ref, (sf_count_t)n);
    sf_close(sf);
    if (wzp_identity_generate(&listener) != WZP_OK) {
        goto done;
    }
    listen.o = *o;
    listen.o.identity = &listener;
    listen.o.room = strcmp(o->room, "default") == 0 ? room : o->room;
    listen.o.send_tone_s = 0;
    listen.o.send_file = NULL;
    listen.o.record = wav;
    listen.o.metrics_file = jsonl;
    listen.o.duration_s = secs + 4;
    listen.o.status = false;
    listen.o.alias = "echo-test listener";
    talk.o = *o;
    talk.o.room = listen.o.room;
    talk.o.send_tone_s = 0;
    talk.o.send_file = sig;
    talk.o.no_dsp = true; /* a test signal, not a voice: no noise suppression or VAD */
    talk.o.record = NULL;
    talk.o.metrics_file = talk_jsonl;
    talk.o.status = false;
    talk.o.duration_s = secs + 3.5;
    listen.out = tmpfile();
    listen.err = tmpfile();
    talk.out = tmpfile();
    talk.err = tmpfile();
    if (listen.out == NULL || listen.err == NULL || talk.out == NULL || talk.err == NULL) {
        goto done;
    }
    fprintf(out, "wzp-client: echo test: %.0f s through %s, room %s\n", secs, o->relay,
            listen.o.room);
    fflush(out);
    if (pthread_create(&listen.thread, NULL, run_leg, &listen) != 0) {
        goto done;
    }
    usleep(300000); /* the listener joins first: it hears the signal from its start */
    bool talking = pthread_create(&talk.thread, NULL, run_leg, &talk) == 0;
    if (talking) {
        pthread_join(talk.thread, NULL);
    }
    pthread_join(listen.thread, NULL);
    if (!talking || talk.rc != 0 || listen.rc != 0) {
        fprintf(err, "wzp-client: echo test: the call failed\n");
        dump(talk.err, err);
        dump(listen.err, err);
        rc = talking && talk.rc != 0 ? talk.rc : listen.rc != 0 ? listen.rc : 1;
        goto done;
    }
    rc = analyse(ref, n, wav, jsonl, talk_jsonl, secs, out, err);
    if (rc != 0 && rc != 6) {
        dump(listen.err, err);
    }
done:
    wzp_identity_wipe(&listener);
    FILE *files[] = {listen.out, listen.err, talk.out, talk.err};
    for (size_t i = 0; i < 4; i++) {
        if (files[i] != NULL) {
            fclose(files[i]);
        }
    }
    if (getenv("WZP_ECHO_KEEP") == NULL) { /* debugging: keep the signal, recording and log */
        unlink(sig);
        unlink(wav);
        unlink(jsonl);
        unlink(talk_jsonl);
        rmdir(dir);
    } else {
        fprintf(err, "wzp-client: echo test files kept in %s\n", dir);
    }
    wzp_free(ref);
    return rc;
}
