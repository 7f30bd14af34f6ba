/*
 * `wzp-client --echo-test SECS`: the whole path measured against itself. The client joins a room
 * of its own twice -- a talking leg that sends a known test signal and a listening leg (a fresh
 * identity) that records it -- so the signal crosses the relay, the end-to-end handshake, FEC,
 * the jitter buffer and the codec of whatever tier the quality loop picks, and comes back. Then,
 * per second: the loss the listening leg measured, the frames it concealed, the SNR of the
 * recording against the signal sent (after delay alignment and gain), and the correlation of
 * their 10 ms envelopes (meaningful for a vocoder too, whose waveform is not the original's).
 * The verdict: OK, IMPAIRED (a second lost over 5% or lost the signal's shape) or DEGRADING
 * (the last third clearly worse than the first). Both legs are call sessions on one loop, in one
 * thread: the listening leg starts first, the talking one once the listener is in the room, and
 * what is measured stays in memory.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/call.h"
#include "wzp/alloc.h"
#include "wzp/client.h"
#include "wzp/random.h"

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

/* What the listening leg measured in one second of its own clock. */
typedef struct snapshot {
    double t; /* seconds since the listening leg started (its recording starts with it) */
    double loss, concealed, played, playout_ts, now_ms;
    bool heard;
} snapshot;

/* The talking leg's media clock read against the loop's clock. */
typedef struct talk_mark {
    double now_ms, media_ts;
} talk_mark;

#define MAX_SECONDS 700

typedef struct echo {
    uv_loop_t loop;
    uv_timer_t watch;
    const wzp_client_options *o;
    wzp_client_call *listen, *talk;
    wzp_client_call_config talk_cfg;
    bool listen_done, talk_done, talk_started;
    int rc;
    float *rec; /* what the listening leg played, in memory */
    size_t nrec, rec_cap;
    snapshot snap[MAX_SECONDS];
    size_t nsnap;
    talk_mark mark[MAX_SECONDS];
    size_t nmark;
    uint64_t listen_start, last_snap;
    FILE *listen_err, *talk_err; /* each leg's errors, in memory: shown if the call fails */
    char *listen_log, *talk_log;
    size_t listen_log_len, talk_log_len;
} echo;

static void record(void *user, const int16_t *pcm, size_t n) {
    echo *e = user;
    for (size_t i = 0; i < n && e->nrec < e->rec_cap; i++) {
        e->rec[e->nrec++] = (float)pcm[i] / 32768.0f;
    }
}

static void on_leg_done(void *user, wzp_client_call *c) {
    echo *e = user;
    e->listen_done = e->listen_done || c == e->listen;
    e->talk_done = e->talk_done || c == e->talk;
    if (e->listen_done && (e->talk_done || !e->talk_started)) {
        uv_stop(&e->loop);
    }
}

/* Once a second: the listening leg's loss and concealment, and the talking leg's media clock. */
static void take_snapshot(echo *e, uint64_t now) {
    if (e->nsnap < MAX_SECONDS) {
        wzp_peer_view v;
        snapshot *s = &e->snap[e->nsnap++];
        memset(s, 0, sizeof(*s));
        s->t = (double)(now - e->listen_start) / 1000.0;
        s->now_ms = (double)now;
        if (wzp_call_session_peers(wzp_client_call_session(e->listen), &v, 1) == 1) {
            s->heard = true;
            s->loss = v.heard_valid ? wzp_quality_report_loss_percent(&v.heard) : 0;
            s->concealed = (double)v.stats.frames_concealed;
            s->played = (double)v.stats.frames_played;
            s->playout_ts = v.stats.playout_ts_ms;
        }
    }
    wzp_call_session *ts =
        e->talk_started && !e->talk_done ? wzp_client_call_session(e->talk) : NULL;
    if (ts != NULL && e->nmark < MAX_SECONDS && wzp_call_session_media_ts(ts) > 0) {
        e->mark[e->nmark++] = (talk_mark){(double)now, wzp_call_session_media_ts(ts)};
    }
}

/* The listener joins first (it hears the signal from its start); the talker once it is in. */
static void on_watch(uv_timer_t *t) {
    echo *e = t->data;
    uint64_t now = uv_now(&e->loop);
    if (!e->talk_started && !e->listen_done &&
        wzp_call_session_joined(wzp_client_call_session(e->listen))) {
        e->talk_started = true;
        if (wzp_client_call_start(&e->loop, &e->talk_cfg, &e->talk) != WZP_OK) {
            e->talk_done = true;
            e->rc = 1;
        }
    }
    if (now - e->last_snap >= 1000) {
        e->last_snap = now;
        take_snapshot(e, now);
    }
}

typedef struct window {
    double loss, snr, corr;
    long concealed;
    bool bad;
} window;

/* The listening leg's loss and concealed frames for its seconds [from, to). */
static void window_stats(const echo *e, double from, double to, window *w) {
    double loss = 0;
    int k = 0;
    long c0 = -1, c1 = -1;
    for (size_t i = 0; i < e->nsnap; i++) {
        const snapshot *s = &e->snap[i];
        if (!s->heard) {
            continue;
        }
        if (s->t <= from) {
            c0 = (long)s->concealed;
        }
        if (s->t > from && s->t <= to + 0.5) {
            loss += s->loss;
            k++;
            c1 = (long)s->concealed;
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

/* Capture to playout: the talking leg's media clock against the listening leg's playout clock,
 * both read on the loop's clock (as scripts/quality-lab.sh does across processes). */
static double path_delay_ms(const echo *e) {
    double epochs[MAX_SECONDS], d[MAX_SECONDS];
    size_t nd = 0;
    for (size_t i = 0; i < e->nmark; i++) {
        epochs[i] = e->mark[i].now_ms - e->mark[i].media_ts;
    }
    if (e->nmark == 0) {
        return NAN;
    }
    double epoch = median(epochs, e->nmark);
    for (size_t i = 0; i < e->nsnap; i++) {
        if (e->snap[i].heard && e->snap[i].played > 0) {
            d[nd++] = e->snap[i].now_ms - (epoch + e->snap[i].playout_ts);
        }
    }
    return nd > 0 ? median(d, nd) : NAN;
}

/* Per second: SNR after alignment and gain, envelope correlation, loss and concealment. */
static bool judge_second(const float *ref, size_t nref, const float *rec, size_t nrec,
                         const double *er, size_t ner, const double *ec, size_t nec, size_t k,
                         size_t *delay, window *w) {
    size_t r0 = k * RATE, len = RATE;
    /* the playout delay moves when the tier (and the buffer's depth) changes: find this second
     * again within +-500 ms of the delay so far, by its envelope */
    size_t ek = r0 / ENV_SAMPLES, wl = len / ENV_SAMPLES, dl = *delay / ENV_SAMPLES;
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
        *delay = best_l * ENV_SAMPLES;
    }
    if (r0 + len > nref || *delay + r0 + FINE_LAG + len > nrec || r0 + *delay < FINE_LAG) {
        return false;
    }
    /* fine alignment within +-20 ms: the coarse lag is 10 ms steps, and the jitter buffer may have
     * moved the playout since */
    double bc = -1e30;
    long bl = 0;
    for (long l = -FINE_LAG; l <= FINE_LAG; l++) {
        double s = 0;
        for (size_t i = 0; i < len; i += 4) {
            s += (double)ref[r0 + i] * rec[(size_t)((long)(*delay + r0 + i) + l)];
        }
        if (s > bc) {
            bc = s;
            bl = l;
        }
    }
    const float *y = rec + (long)(*delay + r0) + bl;
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
    w->snr = 10 * log10((g * g * sxx + 1e-12) / (noise + 1e-12));
    double ew_ref[RATE / ENV_SAMPLES], ew_rec[RATE / ENV_SAMPLES];
    envelope(ref + r0, len, ew_ref);
    envelope(y, len, ew_rec);
    w->corr = pearson(ew_ref, ew_rec, len / ENV_SAMPLES);
    return true;
}

/* DEGRADING: the last third clearly worse than the first (the signal's shape or the loss; the
 * SNR of a perceptual codec wanders by a few dB from second to second on its own). */
static int verdict(const window *w, size_t nwin, size_t bad, FILE *out) {
    double c_first = 0, c_last = 0, l_first = 0, l_last = 0;
    size_t third = nwin > 1 ? (nwin - 1) / 3 : 0;
    for (size_t k = 0; k < third; k++) {
        c_first += w[1 + k].corr / (double)third;
        l_first += w[1 + k].loss / (double)third;
        c_last += w[nwin - 1 - k].corr / (double)third;
        l_last += w[nwin - 1 - k].loss / (double)third;
    }
    if (third > 0 && (c_last < c_first - 0.1 || l_last > l_first + 5.0)) {
        fprintf(out,
                "echo test verdict: DEGRADING (last third: correlation %.2f, loss %.1f%%; first "
                "third: %.2f, %.1f%%)\n",
                c_last, l_last, c_first, l_first);
        return 6;
    }
    if (bad > 0 || nwin < 2) {
        fprintf(out,
                "echo test verdict: IMPAIRED (%zu of %zu seconds lost over %.0f%% or the signal's "
                "shape)\n",
                bad, nwin > 0 ? nwin - 1 : 0, BAD_LOSS_PCT);
        return 6;
    }
    fprintf(out, "echo test verdict: OK (%zu seconds judged, none impaired, quality steady)\n",
            nwin - 1);
    return 0;
}

static int analyse(const echo *e, const float *ref, size_t nref, double secs, FILE *out) {
    const float *rec = e->rec;
    size_t nrec = e->nrec, ner = nref / ENV_SAMPLES, nec = nrec / ENV_SAMPLES;
    double *er = wzp_malloc(sizeof(double) * (ner + 1));
    double *ec = wzp_malloc(sizeof(double) * (nec + 1));
    window *w = wzp_calloc((size_t)secs + 1, sizeof(window));
    int rc = 1;
    if (er == NULL || ec == NULL || w == NULL) {
        goto done;
    }
    /* coarse delay: the envelope lag with the best correlation over the first seconds */
    envelope(ref, nref, er);
    envelope(rec, nrec, ec);
    size_t span = ner < 300 ? ner : 300, lag = 0;
    double best = -2;
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
    fprintf(out,
            "wzp-client: echo test: %.0f s of test signal came back; capture to playout %.0f ms "
            "(network, FEC and jitter buffer)\n"
            "  %-8s %7s %10s %8s %12s\n",
            secs, path_delay_ms(e), "second", "loss", "concealed", "SNR dB", "correlation");
    size_t delay = lag * ENV_SAMPLES, nwin = (size_t)secs, bad = 0;
    for (size_t k = 0; k < nwin; k++) {
        if (k == 0) { /* the codecs' and the buffer's warm-up */
            fprintf(out, "  %3d-%-4d (warm-up, not judged)\n", 0, 1);
            continue;
        }
        if (!judge_second(ref, nref, rec, nrec, er, ner, ec, nec, k, &delay, &w[k])) {
            nwin = k;
            break;
        }
        double t0 = (double)(delay + k * RATE) / RATE; /* the listening leg's clock */
        window_stats(e, t0, t0 + 1.0, &w[k]);
        w[k].bad = w[k].loss > BAD_LOSS_PCT || w[k].corr < BAD_CORR;
        bad += w[k].bad;
        fprintf(out, "  %3zu-%-4zu %6.1f%% %10ld %8.1f %12.3f%s\n", k, k + 1, w[k].loss,
                w[k].concealed, w[k].snr, w[k].corr, w[k].bad ? "  <- bad" : "");
    }
    rc = verdict(w, nwin, bad, out);
done:
    wzp_free(er);
    wzp_free(ec);
    wzp_free(w);
    return rc;
}

/* A leg of the echo test: the user's options, our room, its own role. */
static int leg_config(const wzp_client_options *o, const char *room, const wzp_identity *id,
                      FILE *err, wzp_client_call_config *cc) {
    memset(cc, 0, sizeof(*cc));
    cc->leg = (wzp_leg_config){o->relay,
                               room,
                               o->relay_fp,
                               o->known_relays,
                               wzp_call_session_default_config(id),
                               NULL,
                               err,
                               false,
                               NULL,
                               false};
    cc->leg.session.token = o->token;
    cc->leg.session.pin_tier = o->tier;
    cc->leg.session.media.vad = cc->leg.session.media.denoise = false; /* a test signal */
    return WZP_OK;
}

/* Close a leg's memory log, and show it on `to` when asked (`show`). */
static void close_log(FILE **f, char **text, size_t *len, bool show, FILE *to) {
    if (*f != NULL) {
        fclose(*f); /* sets *text and *len */
        *f = NULL;
    }
    if (*text != NULL && show) {
        fwrite(*text, 1, *len, to);
    }
    free(*text); /* open_memstream's buffer: the C library's own allocation */
    *text = NULL;
}

/* Both legs' configurations: the listener records into memory from its start; the talker sends
 * the signal `ref` (started once the listener is in the room). */
static int configure_legs(echo *e, const wzp_client_options *o, const char *room,
                          const wzp_identity *listener, const float *ref, size_t n, double secs,
                          wzp_client_call_config *lc) {
    leg_config(o, room, listener, e->listen_err, lc);
    lc->leg.session.alias = "echo-test listener";
    lc->sink = record;
    lc->sink_user = e;
    lc->duration_s = secs + 4;
    lc->on_done = on_leg_done;
    lc->user = e;
    leg_config(o, room, o->identity, e->talk_err, &e->talk_cfg);
    e->talk_cfg.leg.session.alias = o->alias;
    e->talk_cfg.duration_s = secs + 3.5;
    e->talk_cfg.on_done = on_leg_done;
    e->talk_cfg.user = e;
    return wzp_source_samples(ref, n, &e->talk_cfg.source);
}

/* Both legs on one loop until both are done; their exit codes. */
static int run_legs(echo *e, wzp_client_call_config *lc, int *trc) {
    if (wzp_client_call_start(&e->loop, lc, &e->listen) != WZP_OK) {
        wzp_source_free(e->talk_cfg.source);
        return 1;
    }
    e->listen_start = e->last_snap = uv_now(&e->loop);
    uv_timer_init(&e->loop, &e->watch);
    e->watch.data = e;
    uv_timer_start(&e->watch, on_watch, 20, 20);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    if (!e->talk_started) {
        wzp_source_free(e->talk_cfg.source); /* never handed over */
    }
    int lrc = wzp_client_call_exit_code(e->listen);
    *trc = e->talk != NULL ? wzp_client_call_exit_code(e->talk) : 1;
    wzp_client_call_free(e->listen);
    wzp_client_call_free(e->talk);
    uv_close((uv_handle_t *)&e->watch, NULL);
    return e->rc != 0 ? e->rc : lrc;
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
    /* a room of our own unless one was asked for: nobody else hears the test */
    char room[64];
    snprintf(room, sizeof(room), "echo-%08x%08x", wzp_random_u32(), wzp_random_u32());
    const char *the_room = strcmp(o->room, "default") == 0 ? room : o->room;
    size_t n = (size_t)(secs * RATE);
    echo *e = wzp_calloc(1, sizeof(*e));
    float *ref = wzp_malloc(sizeof(float) * n);
    wzp_identity listener;
    memset(&listener, 0, sizeof(listener));
    int rc = 1, trc = 0;
    if (e == NULL || ref == NULL) {
        wzp_free(e);
        wzp_free(ref);
        return 1;
    }
    if (wzp_identity_generate(&listener) != WZP_OK ||
        (e->rec = wzp_malloc(sizeof(float) * (size_t)((secs + 5) * RATE))) == NULL ||
        (e->listen_err = open_memstream(&e->listen_log, &e->listen_log_len)) == NULL ||
        (e->talk_err = open_memstream(&e->talk_log, &e->talk_log_len)) == NULL) {
        goto done;
    }
    e->rec_cap = (size_t)((secs + 5) * RATE);
    make_signal(ref, n, wzp_random_u32());
    uv_loop_init(&e->loop);
    wzp_client_call_config lc;
    if (configure_legs(e, o, the_room, &listener, ref, n, secs, &lc) == WZP_OK) {
        fprintf(out, "wzp-client: echo test: %.0f s through %s, room %s\n", secs, o->relay,
                the_room);
        fflush(out);
        int lrc = run_legs(e, &lc, &trc);
        bool failed = lrc != 0 || trc != 0;
        if (failed && lrc == 0 && !e->talk_started) { /* nothing refused or closed it: silence */
            fprintf(err, "wzp-client: echo test: not in a room at %s after %.0f s (no answer)\n",
                    o->relay, secs + 4);
            trc = 4;
        } else if (failed) {
            fprintf(err, "wzp-client: echo test: the call failed\n");
        }
        close_log(&e->talk_err, &e->talk_log, &e->talk_log_len, failed, err);
        close_log(&e->listen_err, &e->listen_log, &e->listen_log_len, failed, err);
        rc = failed ? (trc != 0 ? trc : lrc) : analyse(e, ref, n, secs, out);
    }
    uv_run(&e->loop, UV_RUN_DEFAULT); /* what was started and closed goes */
    uv_loop_close(&e->loop);
done:
    close_log(&e->talk_err, &e->talk_log, &e->talk_log_len, false, err);
    close_log(&e->listen_err, &e->listen_log, &e->listen_log_len, false, err);
    wzp_free(e->rec);
    wzp_identity_wipe(&listener);
    wzp_free(e);
    wzp_free(ref);
    return rc;
}
