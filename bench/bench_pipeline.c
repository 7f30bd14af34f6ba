/*
 * `wzp-bench codec` and `wzp-bench pipeline`: CPU per 20 ms frame for each codec (encode and
 * decode, 1000 frames, SPEC §2), and for each stage of the call chain (denoise, VAD, encode,
 * E2E seal, FEC, whole encoder push, whole decoder receive + pull), with the share of real time
 * one call costs on this CPU.
 */
#include <math.h>
#include <string.h>

#include "bench.h"
#include "bench_util.h"
#include "wzp/call.h"

#define FRAMES 1000

static void speechlike(int16_t *pcm, size_t n, size_t pos) {
    for (size_t i = 0; i < n; i++) { /* a 150 Hz voice with harmonics */
        double t = (double)(pos + i) / 48000.0, v = 0;
        for (int h = 1; h <= 8; h++) {
            v += sin(2 * M_PI * 150.0 * h * t) / h;
        }
        pcm[i] = (int16_t)(v * 5000);
    }
}

cJSON *wzp_bench_codec(const wzp_bench_opts *opts, FILE *human) {
    unsigned frames = opts->iterations ? opts->iterations : FRAMES;
    static const unsigned codecs[] = {WZP_CODEC_OPUS_24K, WZP_CODEC_OPUS_6K, WZP_CODEC_OPUS_64K,
                                      WZP_CODEC_CODEC2_3200, WZP_CODEC_CODEC2_1200};
    cJSON *res = cJSON_CreateObject(), *rows = NULL;
    cJSON_AddStringToObject(res, "bench", "codec");
    rows = cJSON_AddArrayToObject(res, "results");
    fprintf(human, "codecs, %u frames each (48 kHz in and out):\n", frames);
    for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
        wzp_audio_encoder *enc = NULL;
        wzp_audio_decoder *dec = NULL;
        if (wzp_audio_encoder_new(codecs[c], &enc) != WZP_OK ||
            wzp_audio_decoder_new(&dec) != WZP_OK) {
            return NULL;
        }
        size_t fs = wzp_codec_frame_samples(codecs[c]);
        int16_t pcm[WZP_MAX_FRAME_SAMPLES], out[WZP_MAX_FRAME_SAMPLES];
        uint8_t pkt[WZP_MAX_CODEC_FRAME];
        double enc_us = 0, dec_us = 0;
        size_t bytes = 0;
        for (unsigned f = 0; f < frames; f++) {
            speechlike(pcm, fs, f * fs);
            size_t len = 0, n = 0;
            double t0 = bench_now_us();
            if (wzp_audio_encoder_encode(enc, pcm, fs, pkt, sizeof(pkt), &len) != WZP_OK) {
                return NULL;
            }
            double t1 = bench_now_us();
            if (wzp_audio_decoder_decode(dec, codecs[c], pkt, len, out, &n) != WZP_OK) {
                return NULL;
            }
            enc_us += t1 - t0;
            dec_us += bench_now_us() - t1;
            bytes += len;
        }
        const char *name = wzp_codec_info_get(codecs[c])->name;
        fprintf(human, "  %-12s encode %7.1f us, decode %7.1f us per %2zu ms frame, %zu B/frame\n",
                name, enc_us / frames, dec_us / frames, fs / 48, bytes / frames);
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "codec", name);
        cJSON_AddNumberToObject(r, "frame_ms", (double)fs / 48.0);
        cJSON_AddNumberToObject(r, "encode_us", enc_us / frames);
        cJSON_AddNumberToObject(r, "decode_us", dec_us / frames);
        cJSON_AddNumberToObject(r, "bytes_per_frame", (double)bytes / frames);
        cJSON_AddItemToArray(rows, r);
        wzp_audio_encoder_free(enc);
        wzp_audio_decoder_free(dec);
    }
    return res;
}

typedef struct stage {
    const char *name;
    double us;
} stage;

/* Time each stage of the GOOD-tier chain on its own, then the whole encoder and decoder. */
static int time_stages(unsigned frames, stage *st) {
    wzp_denoiser *dn = NULL;
    wzp_audio_encoder *enc = NULL;
    wzp_fec_encoder *fec = NULL;
    wzp_fec_config fc = {.max_k = 5, .max_frame = 600};
    if (wzp_denoiser_speex_new(false, &dn) != WZP_OK ||
        wzp_audio_encoder_new(WZP_CODEC_OPUS_24K, &enc) != WZP_OK ||
        wzp_fec_encoder_new(&fc, &fec) != WZP_OK || wzp_fec_encoder_set_params(fec, 5, 0.2f)) {
        return WZP_ERR_NOMEM;
    }
    uint8_t key[32] = {1};
    wzp_media_tx tx;
    wzp_media_tx_init(&tx, key, 0);
    wzp_vad vad;
    wzp_vad_init(&vad);
    int16_t pcm[960];
    uint8_t pkt[WZP_MAX_CODEC_FRAME], sealed[WZP_MAX_CODEC_FRAME + WZP_MEDIA_OVERHEAD];
    wzp_fec_packet out[8];
    int bad = 0;
    for (unsigned f = 0; f < frames; f++) {
        speechlike(pcm, 960, f * 960u);
        size_t len = 0, sl = 0, n = 0;
        double t0 = bench_now_us();
        bad += wzp_denoiser_process(dn, pcm, 960) != WZP_OK;
        double t1 = bench_now_us();
        (void)wzp_vad_process(&vad, pcm, 960);
        double t2 = bench_now_us();
        bad += wzp_audio_encoder_encode(enc, pcm, 960, pkt, sizeof(pkt), &len) != WZP_OK;
        double t3 = bench_now_us();
        wzp_frame_meta meta = {0, f * 20u};
        bad += wzp_media_seal(&tx, &meta, pkt, len, sealed, sizeof(sealed), &sl) != WZP_OK;
        double t4 = bench_now_us();
        bad += wzp_fec_encoder_add(fec, sealed, sl, 0, 0, out, 8, &n) != WZP_OK;
        double t5 = bench_now_us();
        st[0].us += t1 - t0;
        st[1].us += t2 - t1;
        st[2].us += t3 - t2;
        st[3].us += t4 - t3;
        st[4].us += t5 - t4;
    }
    wzp_denoiser_free(dn);
    wzp_audio_encoder_free(enc);
    wzp_fec_encoder_free(fec);
    return bad ? WZP_ERR_IO : WZP_OK;
}

static int time_chain(unsigned frames, stage *st) {
    uint8_t key[32] = {2};
    wzp_call_config cfg = wzp_call_default_config();
    cfg.vad = false; /* a steady synthetic voice would be taken for background noise */
    wzp_call_encoder *enc = NULL;
    wzp_call_decoder *dec = NULL;
    if (wzp_call_encoder_new(&cfg, key, 0, &enc) != WZP_OK ||
        wzp_call_decoder_new(&cfg, &dec) != WZP_OK) {
        return WZP_ERR_NOMEM;
    }
    wzp_call_decoder_add_key(dec, key, 0, 0);
    static wzp_datagram dg[WZP_CALL_MAX_OUT];
    int16_t pcm[WZP_MAX_FRAME_SAMPLES];
    int bad = 0;
    for (unsigned f = 0; f < frames; f++) {
        speechlike(pcm, 960, f * 960u);
        size_t n = 0, got = 0;
        double t0 = bench_now_us();
        bad += wzp_call_encoder_push(enc, pcm, 960, f * 20u, dg, WZP_CALL_MAX_OUT, &n) != 0;
        double t1 = bench_now_us();
        for (size_t i = 0; i < n; i++) {
            bad += wzp_call_decoder_receive(dec, dg[i].data, dg[i].len, f * 20u) != 0;
        }
        wzp_jb_kind kind;
        bad += wzp_call_decoder_pull(dec, pcm, &got, &kind) != 0;
        double t2 = bench_now_us();
        st[5].us += t1 - t0;
        st[6].us += t2 - t1;
    }
    wzp_call_encoder_free(enc);
    wzp_call_decoder_free(dec);
    return bad ? WZP_ERR_IO : WZP_OK;
}

cJSON *wzp_bench_pipeline(const wzp_bench_opts *opts, FILE *human) {
    unsigned frames = opts->iterations ? opts->iterations : FRAMES;
    stage st[7] = {{"denoise", 0},
                   {"vad", 0},
                   {"opus24k_encode", 0},
                   {"e2e_seal", 0},
                   {"fec_encode", 0},
                   {"call_encoder_push", 0},
                   {"call_decoder_receive_decode_play", 0}};
    if (time_stages(frames, st) != WZP_OK || time_chain(frames, st) != WZP_OK) {
        return NULL;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "bench", "pipeline");
    cJSON_AddNumberToObject(res, "frames", frames);
    cJSON *stages = cJSON_AddObjectToObject(res, "us_per_frame");
    fprintf(human, "pipeline (GOOD tier), microseconds per 20 ms frame over %u frames:\n", frames);
    for (size_t i = 0; i < 7; i++) {
        fprintf(human, "  %-34s %8.2f\n", st[i].name, st[i].us / frames);
        cJSON_AddNumberToObject(stages, st[i].name, st[i].us / frames);
    }
    double per_call = (st[5].us + st[6].us) / frames;
    fprintf(human, "  one call (both directions' work) uses %.2f%% of one core in real time\n",
            100.0 * per_call / 20000.0);
    cJSON_AddNumberToObject(res, "realtime_fraction_per_call", per_call / 20000.0);
    return res;
}
