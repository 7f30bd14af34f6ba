/*
 * `wzp-bench quality`: what a listener gets from each tier under loss, in simulated time. The
 * real call chain (call encoder -> wzp-netsim's impairment model -> call decoder, with the
 * receiver's quality reports steering the sender's FEC every 500 ms as in a call) runs a 440 Hz
 * tone for the given seconds per case; the figures are frames played from their own data
 * (directly, recovered by RaptorQ, or rebuilt from Opus in-band FEC), frames concealed, and the
 * delay from the frame's capture to its playout (network delay + jitter buffer + FEC wait; no
 * sound-card buffers). The same cases run for real through wzp-netsim in
 * scripts/quality-table.sh; this one is deterministic and takes seconds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "wzp/call.h"
#include "wzp/netsim.h"

#define MAX_INFLIGHT 4096
#define REPORT_MS    500 /* the client's feedback interval (src/client/engine.c) */
#define ONE_WAY_MS   20.0

typedef struct inflight {
    double at_ms;
    size_t len;
    uint8_t data[WZP_DATAGRAM_MAX];
} inflight;

typedef struct sim_case {
    const char *name;
    wzp_netsim_params net;
} sim_case;

typedef struct sim_result {
    uint64_t frames, played, recovered, lbrr, concealed;
    double delay_sum, delay_max;
    uint64_t delay_n;
    double fec_ratio_end;
    wzp_tier tier_end;
    unsigned tier_changes;
} sim_result;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One call of `seconds` at a pinned tier (adaptive: -1, starting GOOD) through `net`. */
static int simulate(int tier, const wzp_netsim_params *net, unsigned seconds, uint64_t seed,
                    sim_result *res) {
    static inflight q[MAX_INFLIGHT];
    size_t nq = 0;
    uint8_t key[32] = {7};
    wzp_call_config cfg = wzp_call_default_config();
    cfg.vad = cfg.denoise = false; /* a tone, as wzp-client --send-tone sends it */
    cfg.tier = tier < 0 ? WZP_TIER_GOOD : (wzp_tier)tier;
    wzp_call_encoder *enc = NULL;
    wzp_call_decoder *dec = NULL;
    if (wzp_call_encoder_new(&cfg, key, 0, &enc) != WZP_OK ||
        wzp_call_decoder_new(&cfg, &dec) != WZP_OK) {
        wzp_call_encoder_free(enc);
        return WZP_ERR_NOMEM;
    }
    wzp_call_decoder_add_key(dec, key, 0, 0);
    wzp_quality_ctl qc;
    wzp_quality_init(&qc, WZP_NET_WIFI, cfg.tier);
    if (tier >= 0) {
        wzp_quality_pin(&qc, cfg.tier); /* only the FEC follows the loss */
    }
    wzp_netsim ns;
    wzp_netsim_init(&ns, net, seed);
    static wzp_datagram dg[WZP_CALL_MAX_OUT];
    int16_t pcm[WZP_MAX_FRAME_SAMPLES];
    uint64_t sent_samples = 0, played_samples = 0, end_ms = (uint64_t)seconds * 1000;
    size_t pending = 0; /* decoded samples of the current frame not yet "played" */
    bool counted = false;
    double fec_end = 0;
    wzp_call_decoder_stats snap;
    memset(res, 0, sizeof(*res));
    res->tier_end = cfg.tier;
    double *delays = malloc(sizeof(double) * (end_ms / 20 + 16));
    int rc = delays != NULL ? WZP_OK : WZP_ERR_NOMEM;
    for (uint64_t now = 0; rc == WZP_OK && now < end_ms + 2000; now++) {
        /* sender: frames due by now (the tone stops at end_ms; the call runs 2 s more) */
        while (sent_samples < now * 48 && now < end_ms) {
            size_t fs = wzp_call_encoder_frame_samples(enc), n = 0;
            for (size_t i = 0; i < fs; i++) {
                pcm[i] = (int16_t)lrint(
                    9830.0 * sin(2 * M_PI * 440.0 * (double)(sent_samples + i) / 48000.0));
            }
            rc = wzp_call_encoder_push(enc, pcm, fs, sent_samples / 48, dg, WZP_CALL_MAX_OUT, &n);
            sent_samples += fs;
            for (size_t i = 0; rc == WZP_OK && i < n; i++) {
                double out[2];
                size_t copies = wzp_netsim_offer(&ns, dg[i].len, (double)now, out);
                for (size_t c = 0; c < copies && nq < MAX_INFLIGHT; c++, nq++) {
                    q[nq].at_ms = out[c] + ONE_WAY_MS;
                    q[nq].len = dg[i].len;
                    memcpy(q[nq].data, dg[i].data, dg[i].len);
                }
            }
        }
        /* network: everything due arrives */
        for (size_t i = 0; i < nq;) {
            if (q[i].at_ms <= (double)now) {
                rc |= wzp_call_decoder_receive(dec, q[i].data, q[i].len, now);
                memmove(&q[i], &q[i + 1], (--nq - i) * sizeof(q[0]));
            } else {
                i++;
            }
        }
        /* receiver: play every 20 ms of audio due */
        while (played_samples + 960 <= now * 48) {
            size_t have = 0;
            while (have < 960) {
                if (pending == 0) {
                    size_t got = 0;
                    wzp_jb_kind kind;
                    wzp_call_decoder_stats before = wzp_call_decoder_get_stats(dec);
                    rc |= wzp_call_decoder_pull(dec, pcm, &got, &kind);
                    if (got == 0) {
                        break;
                    }
                    pending = got;
                    if (kind != WZP_JB_BUFFERING && !counted) {
                        wzp_call_decoder_stats after = wzp_call_decoder_get_stats(dec);
                        if ((uint64_t)after.playout_ts_ms * 48 + got >= end_ms * 48) {
                            counted = true; /* the tone's last frame: what follows is the
                                               buffer running dry after the call */
                            snap = after;
                        }
                        double d = (double)now - (double)after.playout_ts_ms;
                        if (after.frames_played > before.frames_played &&
                            res->delay_n < end_ms / 20) {
                            delays[res->delay_n++] = d;
                        }
                    }
                }
                size_t k = 960 - have < pending ? 960 - have : pending;
                pending -= k;
                have += k;
            }
            played_samples += 960;
        }
        /* the quality loop: the receiver's report reaches the sender one way later (ignored) */
        if (now % REPORT_MS == 0 && now > 0) {
            wzp_quality_report r = wzp_call_decoder_make_report(dec, (uint32_t)(2 * ONE_WAY_MS));
            if (wzp_quality_on_report(&qc, &r, now)) {
                wzp_call_encoder_set_tier(enc, qc.tier);
            }
            wzp_call_encoder_set_fec_ratio(enc, wzp_quality_fec_ratio(&qc, now));
            if (now <= end_ms) {
                fec_end = wzp_quality_fec_ratio(&qc, now);
            }
            if (now <= end_ms) {
                res->tier_changes += wzp_call_encoder_tier(enc) != res->tier_end;
                res->tier_end = wzp_call_encoder_tier(enc);
            }
        }
    }
    wzp_call_decoder_stats st = counted ? snap : wzp_call_decoder_get_stats(dec);
    res->played = st.frames_played - st.cn_frames;
    res->recovered = st.frames_recovered;
    res->lbrr = st.frames_from_lbrr;
    res->concealed = st.frames_concealed;
    res->fec_ratio_end = fec_end;
    if (res->delay_n > 0) {
        qsort(delays, res->delay_n, sizeof(double), cmp_double);
        res->delay_sum = delays[res->delay_n / 2]; /* the median */
        res->delay_max = delays[res->delay_n * 99 / 100];
    }
    free(delays);
    wzp_call_encoder_free(enc);
    wzp_call_decoder_free(dec);
    return rc == WZP_OK ? WZP_OK : WZP_ERR_IO;
}

/* Random loss of `p`, or Gilbert-Elliott bursts of mean length 3 packets averaging `p`. */
static wzp_netsim_params loss_params(double p, bool bursty) {
    wzp_netsim_params n = {0};
    if (bursty) {
        n.ge = true;
        n.ge_r = 1.0 / 3.0;
        n.ge_p = p * n.ge_r / (1.0 - p);
        n.ge_loss_good = 0.0;
        n.ge_loss_bad = 1.0;
    } else {
        n.loss = p;
    }
    n.jitter_ms = 10.0; /* a little jitter, in order */
    return n;
}

cJSON *wzp_bench_quality(const wzp_bench_opts *opts, FILE *human) {
    unsigned seconds = opts->iterations ? opts->iterations : 30;
    static const char *const tier_names[] = {"GOOD", "DEGRADED", "CATASTROPHIC", "adaptive"};
    static const struct {
        double p;
        bool bursty;
        const char *name;
    } losses[] = {{0, false, "0%"},     {0.05, false, "5%"},        {0.10, false, "10%"},
                  {0.20, false, "20%"}, {0.30, false, "30%"},       {0.50, false, "50%"},
                  {0.70, false, "70%"}, {0.10, true, "10% bursty"}, {0.30, true, "30% bursty"}};
    cJSON *res = cJSON_CreateObject(), *rows = NULL;
    cJSON_AddStringToObject(res, "bench", "quality");
    cJSON_AddNumberToObject(res, "seconds_per_case", seconds);
    rows = cJSON_AddArrayToObject(res, "results");
    fprintf(human,
            "quality, simulated %u s of tone per case (one-way 20 ms + 0..10 ms jitter; bursts of "
            "3 packets on average):\n  %-13s %-11s %9s %9s %9s %9s %10s %8s\n",
            seconds, "tier", "loss", "unconceal", "recovered", "lbrr", "concealed", "delay p50",
            "fec end");
    for (int t = 0; t < 4; t++) {
        for (size_t l = 0; l < sizeof(losses) / sizeof(losses[0]); l++) {
            wzp_netsim_params np = loss_params(losses[l].p, losses[l].bursty);
            sim_result r;
            if (simulate(t < 3 ? t : -1, &np, seconds, 0x5eed + l, &r) != WZP_OK) {
                cJSON_Delete(res);
                return NULL;
            }
            uint64_t total = r.played + r.lbrr + r.concealed;
            double ok = total ? 100.0 * (double)(r.played + r.lbrr) / (double)total : 0;
            fprintf(human, "  %-13s %-11s %8.2f%% %9llu %9llu %9llu %8.0f ms %8.2f%s%s\n",
                    tier_names[t], losses[l].name, ok, (unsigned long long)r.recovered,
                    (unsigned long long)r.lbrr, (unsigned long long)r.concealed, r.delay_sum,
                    r.fec_ratio_end, t == 3 ? "  -> " : "", t == 3 ? tier_names[r.tier_end] : "");
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "tier", tier_names[t]);
            cJSON_AddStringToObject(o, "loss", losses[l].name);
            cJSON_AddNumberToObject(o, "unconcealed_pct", ok);
            cJSON_AddNumberToObject(o, "frames_played", (double)r.played);
            cJSON_AddNumberToObject(o, "frames_recovered", (double)r.recovered);
            cJSON_AddNumberToObject(o, "frames_lbrr", (double)r.lbrr);
            cJSON_AddNumberToObject(o, "frames_concealed", (double)r.concealed);
            cJSON_AddNumberToObject(o, "delay_p50_ms", r.delay_sum);
            cJSON_AddNumberToObject(o, "delay_p99_ms", r.delay_max);
            cJSON_AddNumberToObject(o, "fec_ratio_end", r.fec_ratio_end);
            cJSON_AddStringToObject(o, "tier_end", tier_names[r.tier_end]);
            cJSON_AddNumberToObject(o, "tier_changes", r.tier_changes);
            cJSON_AddItemToArray(rows, o);
        }
    }
    return res;
}
