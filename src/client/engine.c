/*
 * wzp-client's calls (src/client/call.h) and the CLI's one (include/wzp/client.h): a leg, a source
 * or the microphone, the recording and the speaker, the reports, paced by the clock on a libuv
 * loop. The call itself -- room, peers, keys, media chain, quality loop -- is the session's.
 *
 * Timing: frames are due by the clock (uv_now since the call started), not by counting timer
 * callbacks; a process starved of CPU sends and plays the frames it owes, up to WZP_CATCHUP_MS at
 * once, so its media and recording stay aligned with real time; anything further behind is
 * skipped (and counted), as a sound card would. With --live the sound card's clock drives sending.
 */
#include <signal.h>
#include <sndfile.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/call.h"
#include "client/reports.h"
#include "wzp/alloc.h"
#include "wzp/client.h"

#define TICK_MS        20
#define LIVE_TICK_MS   10
#define WZP_CATCHUP_MS 200 /* the most a late tick catches up at once */
#define FRAME          WZP_SESSION_FRAME
/* --live: the speaker is kept LIVE_AHEAD frames ahead (enough to ride out a late timer, little
 * enough to keep the delay short); past LIVE_STALL queued frames it is considered stalled */
#define LIVE_AHEAD 3
#define LIVE_STALL 8

struct wzp_client_call {
    wzp_client_call_config cfg;
    uv_loop_t *loop;
    uv_timer_t *tick; /* its own allocation: libuv frees nothing, and closes it later */
    wzp_leg *leg;
    SNDFILE *rec;
    wzp_arrivals *arrivals;
    bool tty, done;
    uint64_t start_ms, last_status_ms, last_metrics_ms;
    wzp_report_clock clock; /* sent/played are counted in samples here */
    uint64_t sent_samples, played_samples, speaker_discarded, push_failed;
    int16_t live_buf[2 * WZP_MAX_FRAME_SAMPLES]; /* microphone samples not yet encoded */
    size_t live_have;
};

static void on_frame(void *user, unsigned peer, uint32_t ts, uint8_t codec, bool recovered) {
    wzp_client_call *c = user;
    wzp_arrivals_add(c->arrivals, peer, ts, codec, recovered, uv_hrtime() / 1000);
}

static wzp_call_session *session_of(const wzp_client_call *c) {
    return wzp_leg_session(c->leg);
}

/* 20 ms of everyone we hear to the speaker, the recording and the sink; `discard` pulls it from
 * the jitter buffers and drops it (the speaker is stalled). */
static void play_frame(wzp_client_call *c, bool discard) {
    int16_t out[FRAME];
    wzp_call_session_pull(session_of(c), out);
    c->played_samples += FRAME;
    if (discard) {
        c->speaker_discarded++;
        return;
    }
    if (c->cfg.live != NULL) {
        (void)wzp_live_audio_play(c->cfg.live, out);
    }
    if (c->rec != NULL) {
        sf_write_short(c->rec, out, FRAME);
    }
    if (c->cfg.sink != NULL) {
        c->cfg.sink(c->cfg.sink_user, out, FRAME);
    }
}

static void send_pcm(wzp_client_call *c, const int16_t *pcm, size_t fs) {
    if (wzp_call_session_push(session_of(c), pcm, fs, c->sent_samples / 48) != WZP_OK) {
        c->push_failed++; /* a frame lost to the encoder (never seen: counted all the same) */
    }
    c->sent_samples += fs;
}

/* A source's frames as they come due (--clock-skew: a sound card whose clock runs fast or slow
 * produces its samples faster or slower than the wall clock). */
static void send_due(wzp_client_call *c, uint64_t due) {
    size_t fs = wzp_call_session_frame_samples(session_of(c));
    wzp_source *src = c->cfg.source;
    if (fs == 0 || src == NULL) {
        return;
    }
    uint64_t sdue = (uint64_t)((double)due * (1.0 + c->cfg.clock_skew_ppm * 1e-6));
    uint64_t sfloor = sdue > WZP_CATCHUP_MS * 48 ? sdue - WZP_CATCHUP_MS * 48 : 0;
    if (c->sent_samples < sfloor) {
        uint64_t skip = sfloor - sfloor % fs - c->sent_samples;
        c->clock.send_skipped += wzp_source_done(src) ? 0 : skip;
        wzp_source_skip(src, skip);
        c->sent_samples += skip;
    }
    int16_t pcm[WZP_MAX_FRAME_SAMPLES];
    while (c->sent_samples < sdue && !wzp_source_done(src)) {
        wzp_source_read(src, pcm, fs);
        send_pcm(c, pcm, fs);
    }
}

static void play_due(wzp_client_call *c, uint64_t due) {
    uint64_t floor = due > WZP_CATCHUP_MS * 48 ? due - WZP_CATCHUP_MS * 48 : 0;
    if (c->played_samples < floor) {
        c->clock.play_skipped += floor - floor % FRAME - c->played_samples;
        c->played_samples = floor - floor % FRAME;
    }
    while (c->played_samples < due) {
        play_frame(c, false);
    }
}

/* --live: the sound card's clock drives the call. Every microphone frame waiting is echo-
 * cancelled, gathered to the encoder's frame size and sent. The speaker is kept LIVE_AHEAD
 * frames ahead, and the jitter buffers are also pulled at least at the wall clock's pace: a
 * sound server that stalls (PulseAudio prebuffers for seconds when a stream starts; a device can
 * hang) must not let seconds of audio pile up in them, to be played late or squeezed out later.
 * Frames the speaker cannot take then are dropped and counted. */
static void live_tick(wzp_client_call *c, uint64_t elapsed) {
    int16_t mic[WZP_LIVE_FRAME];
    while (wzp_live_audio_capture(c->cfg.live, mic)) {
        size_t fs = wzp_call_session_frame_samples(session_of(c));
        if (fs == 0) {
            continue; /* not in the call yet: the microphone is not buffered */
        }
        if (c->live_have + WZP_LIVE_FRAME > sizeof(c->live_buf) / sizeof(c->live_buf[0])) {
            c->live_have = 0; /* cannot happen with 20/40 ms frames; never overflow */
        }
        memcpy(c->live_buf + c->live_have, mic, sizeof(mic));
        c->live_have += WZP_LIVE_FRAME;
        if (c->live_have >= fs) {
            send_pcm(c, c->live_buf, fs);
            memmove(c->live_buf, c->live_buf + fs, (c->live_have - fs) * sizeof(int16_t));
            c->live_have -= fs;
        }
    }
    while (wzp_live_audio_queued(c->cfg.live) < LIVE_AHEAD) {
        play_frame(c, false);
    }
    uint64_t due = elapsed * 48;
    if (c->played_samples + WZP_CATCHUP_MS * 48 < due) {
        c->clock.play_skipped += due - WZP_CATCHUP_MS * 48 - c->played_samples;
        c->played_samples = due - WZP_CATCHUP_MS * 48; /* a starved process skips, as elsewhere */
    }
    while (c->played_samples + FRAME <= due) {
        play_frame(c, wzp_live_audio_queued(c->cfg.live) >= LIVE_STALL);
    }
}

/* Once a second, when asked or on a terminal: the status line; with --metrics-file, its line. */
static void reports(wzp_client_call *c, uint64_t now) {
    wzp_call_session *s = session_of(c);
    if ((c->cfg.status || c->tty) && wzp_call_session_frame_samples(s) > 0 &&
        now - c->last_status_ms >= 1000) {
        c->last_status_ms = now;
        wzp_report_status(c->cfg.leg.err, c->tty, s, wzp_leg_rtt_ms(c->leg), c->cfg.leg.contacts);
    }
    if (c->cfg.metrics != NULL && now - c->last_metrics_ms >= 1000) {
        c->last_metrics_ms = now;
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        c->clock.start_ms = c->start_ms;
        c->clock.now_ms = now;
        c->clock.unix_ms = (double)wall.tv_sec * 1e3 + (double)(wall.tv_nsec / 1000000);
        wzp_report_metrics(c->cfg.metrics, s, wzp_leg_rtt_ms(c->leg), &c->clock,
                           c->cfg.leg.contacts);
    }
}

static void finish(wzp_client_call *c) {
    c->done = true;
    uv_timer_stop(c->tick);
    wzp_leg_stopping(c->leg, (double)(uv_now(c->loop) - c->start_ms) / 1000.0);
    if (c->cfg.on_done != NULL) {
        c->cfg.on_done(c->cfg.user, c);
    }
}

/* Milliseconds until the next frame is due, to send or to play, and at most a tick: a file or
 * tone source then leaves within a millisecond of its frame's time. (A timer repeating every
 * 20 ms slides against the frames, the first firing late moving all later ones, so each frame
 * went out 0..20 ms after its time, a jitter of the sender's own making.) */
static uint64_t next_wake(const wzp_client_call *c, uint64_t now) {
    size_t fs = wzp_call_session_frame_samples(session_of(c));
    uint64_t at = now - c->start_ms + TICK_MS; /* in ms since the start */
    if (fs > 0 && c->cfg.source != NULL && !wzp_source_done(c->cfg.source)) {
        /* the next frame leaves once the skewed clock passes its first sample */
        double own_ms = (double)c->sent_samples / 48.0 / (1.0 + c->cfg.clock_skew_ppm * 1e-6);
        uint64_t send_at = (uint64_t)own_ms + 1;
        at = send_at < at ? send_at : at;
    }
    uint64_t play_at = c->played_samples / 48 + 1;
    at = play_at < at ? play_at : at;
    uint64_t since = now - c->start_ms;
    return at > since ? at - since : 1;
}

static void on_tick(uv_timer_t *t) {
    wzp_client_call *c = t->data;
    uint64_t now = uv_now(c->loop), elapsed = now - c->start_ms;
    if ((double)elapsed >= c->cfg.duration_s * 1000.0 || wzp_leg_ended(c->leg)) {
        wzp_leg_tick(c->leg, now); /* the last events (a refusal) are told */
        finish(c);
        return;
    }
    if (c->cfg.live != NULL) {
        live_tick(c, elapsed);
    } else {
        send_due(c, elapsed * 48);
    }
    wzp_leg_tick(c->leg, now);
    reports(c, now);
    if (c->cfg.live == NULL) {
        play_due(c, elapsed * 48);
        uv_timer_start(c->tick, on_tick, next_wake(c, now), 0);
    }
}

static void free_handed_over(const wzp_client_call_config *cfg) {
    wzp_source_free(cfg->source);
    wzp_live_audio_close(cfg->live);
    if (cfg->metrics != NULL) {
        fclose(cfg->metrics);
    }
}

int wzp_client_call_start(uv_loop_t *loop, const wzp_client_call_config *cfg,
                          wzp_client_call **out) {
    wzp_client_call *c = wzp_calloc(1, sizeof(*c));
    if (c == NULL) {
        free_handed_over(cfg);
        return WZP_ERR_NOMEM;
    }
    c->cfg = *cfg;
    c->loop = loop;
    c->tty = isatty(fileno(cfg->leg.err)) == 1;
    c->cfg.leg.status_line = c->tty;
    c->tick = wzp_calloc(1, sizeof(*c->tick));
    int rc = c->tick != NULL ? WZP_OK : WZP_ERR_NOMEM;
    if (rc == WZP_OK && (cfg->drift_test || cfg->sweep)) {
        rc = wzp_arrivals_new(cfg->drift_test, cfg->sweep, cfg->duration_s, &c->arrivals);
        c->cfg.leg.session.on_frame = on_frame;
        c->cfg.leg.session.user = c;
    }
    if (rc == WZP_OK && cfg->record != NULL) {
        SF_INFO info = {
            .samplerate = 48000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
        if ((c->rec = sf_open(cfg->record, SFM_WRITE, &info)) == NULL) {
            fprintf(cfg->leg.err, "wzp-client: cannot write %s\n", cfg->record);
            rc = WZP_ERR_IO;
        }
    }
    if (rc == WZP_OK) {
        rc = wzp_leg_new(loop, &c->cfg.leg, &c->leg);
    }
    if (rc != WZP_OK) {
        c->done = true;
        wzp_client_call_free(c);
        return rc;
    }
    uv_timer_init(loop, c->tick);
    c->tick->data = c;
    c->start_ms = uv_now(loop);
    unsigned every = cfg->live != NULL ? LIVE_TICK_MS : TICK_MS;
    uv_timer_start(c->tick, on_tick, every, every);
    *out = c;
    return WZP_OK;
}

wzp_call_session *wzp_client_call_session(const wzp_client_call *c) {
    return session_of(c);
}

int wzp_client_call_exit_code(const wzp_client_call *c) {
    return wzp_leg_exit_code(c->leg);
}

/* Leave the last status line in place: what follows goes below it. */
static void end_status_line(wzp_client_call *c) {
    if (c->tty && c->last_status_ms != 0) {
        fputc('\n', c->cfg.leg.err);
        c->last_status_ms = 0;
    }
}

void wzp_client_call_report(wzp_client_call *c, FILE *out, FILE *err) {
    end_status_line(c);
    wzp_report_final(out, err, session_of(c), c->arrivals);
    if (c->cfg.live != NULL) {
        wzp_live_stats ls = wzp_live_audio_stats(c->cfg.live);
        fprintf(err,
                "wzp-client: audio: %llu frames captured, %llu played; speaker underruns %llu, "
                "dropped while the speaker stalled %llu, microphone overruns %llu\n",
                (unsigned long long)ls.captured, (unsigned long long)ls.played,
                (unsigned long long)ls.playback_underruns, (unsigned long long)c->speaker_discarded,
                (unsigned long long)ls.capture_overruns);
    }
    wzp_report_skipped(err, &c->clock);
}

static void tick_closed(uv_handle_t *h) {
    wzp_free(h);
}

void wzp_client_call_free(wzp_client_call *c) {
    if (c == NULL) {
        return;
    }
    if (c->tick != NULL && c->tick->data == c) {
        uv_timer_stop(c->tick);
        uv_close((uv_handle_t *)c->tick, tick_closed);
    } else {
        wzp_free(c->tick);
    }
    wzp_leg_free(c->leg);
    if (c->rec != NULL) {
        sf_close(c->rec);
    }
    end_status_line(c);
    wzp_arrivals_free(c->arrivals);
    free_handed_over(&c->cfg);
    wzp_free(c);
}

/* ---- the CLI's call ------------------------------------------------------------------------- */

static void on_stop_signal(uv_signal_t *h, int signum) {
    (void)signum;
    uv_stop(h->loop); /* a clean leave: the relay is told, the recording is closed */
}

static void on_call_done(void *user, wzp_client_call *c) {
    (void)c;
    uv_stop(user);
}

/* How long to stay: the tone or file plus 3 s, 30 s for the clock tests, until Ctrl-C live, or
 * 10 s. */
static double duration_of(const wzp_client_options *o, const wzp_client_call_config *cc) {
    if (o->duration_s > 0) {
        return o->duration_s;
    }
    if (o->send_file != NULL) {
        return wzp_source_seconds(cc->source) + 3;
    }
    if (o->live) {
        return 1e9;
    }
    return o->send_tone_s > 0 ? o->send_tone_s + 3 : o->drift_test || o->sweep ? 30 : 10;
}

/* What the CLI's options ask of the call: its source, devices, files. Errors said on `err`. */
static int configure(const wzp_client_options *o, wzp_client_call_config *cc, FILE *out,
                     FILE *err) {
    char why[256] = "";
    if (o->send_file != NULL &&
        wzp_source_file(o->send_file, &cc->source, why, sizeof(why)) != WZP_OK) {
        fprintf(err, "wzp-client: cannot read %s: %s\n", o->send_file, why);
        return WZP_ERR_IO;
    }
    if (o->send_file == NULL && o->send_tone_s > 0 &&
        wzp_source_tone(o->tone_hz, o->send_tone_s, &cc->source) != WZP_OK) {
        return WZP_ERR_NOMEM;
    }
    if (o->live) {
        if (wzp_live_audio_open(o->audio_device, !o->no_aec, &cc->live, why, sizeof(why)) !=
            WZP_OK) {
            fprintf(err, "wzp-client: --live: %s\n", why);
            return WZP_ERR_IO;
        }
        fprintf(err, "wzp-client: audio: %s\n", why);
    }
    if (o->metrics_file != NULL && (cc->metrics = fopen(o->metrics_file, "a")) == NULL) {
        fprintf(err, "wzp-client: cannot write %s\n", o->metrics_file);
        return WZP_ERR_IO;
    }
    cc->record = o->record;
    cc->status = o->status;
    cc->duration_s = duration_of(o, cc);
    cc->clock_skew_ppm = o->clock_skew_ppm;
    cc->drift_test = o->drift_test;
    cc->sweep = o->sweep;
    cc->leg = (wzp_leg_config){o->relay,
                               o->room,
                               o->relay_fp,
                               o->known_relays,
                               wzp_call_session_default_config(o->identity),
                               out,
                               err,
                               false,
                               NULL,
                               false};
    wzp_call_session_config *sc = &cc->leg.session;
    sc->alias = o->alias;
    sc->token = o->token;
    sc->room_key = o->room_key;
    cc->leg.contacts = o->contacts;
    cc->leg.require_verified = o->require_verified;
    sc->pin_tier = o->tier;
    /* a synthetic tone is steady: noise suppression and VAD would take it for noise */
    sc->media.vad = sc->media.denoise = o->send_tone_s <= 0 && !o->no_dsp;
    return WZP_OK;
}

int wzp_client_run(const wzp_client_options *o, FILE *out, FILE *err) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    wzp_client_call_config cc;
    memset(&cc, 0, sizeof(cc));
    wzp_client_call *call = NULL;
    int rc = configure(o, &cc, out, err);
    if (rc != WZP_OK) {
        free_handed_over(&cc);
    } else {
        cc.on_done = on_call_done;
        cc.user = &loop;
        rc = wzp_client_call_start(&loop, &cc, &call);
    }
    if (rc != WZP_OK) {
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return 1;
    }
    uv_signal_t sigint, sigterm;
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigint, on_stop_signal, SIGINT);
    uv_signal_start(&sigterm, on_stop_signal, SIGTERM);
    uv_unref((uv_handle_t *)&sigint);
    uv_unref((uv_handle_t *)&sigterm);
    uv_run(&loop, UV_RUN_DEFAULT);
    int code = wzp_client_call_exit_code(call);
    wzp_client_call_report(call, out, err);
    wzp_client_call_free(call);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return code;
}
