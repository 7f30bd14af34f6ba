/*
 * Fuzz the receiving half of a call with arbitrary datagrams: raw bytes (mode 0), or datagrams
 * a real call encoder made from the input's samples, corrupted at input-chosen positions
 * (mode 1), so header, FEC, end-to-end and jitter-buffer paths are all reached. One decoder
 * lives across inputs, as it would across a call.
 */
#include <stdlib.h>
#include <string.h>

#include "wzp/call.h"

static wzp_call_decoder *g_dec;
static wzp_call_encoder *g_enc;
static uint64_t g_now;
static wzp_datagram g_out[WZP_CALL_MAX_OUT];

static void setup(void) {
    if (g_dec != NULL) {
        return;
    }
    uint8_t key[32] = {5, 6, 7};
    wzp_call_config cfg = wzp_call_default_config();
    cfg.denoise = false;
    if (wzp_call_decoder_new(&cfg, &g_dec) != 0 || wzp_call_encoder_new(&cfg, key, 0, &g_enc)) {
        abort();
    }
    wzp_call_decoder_add_key(g_dec, key, 0, 0);
}

static void feed(const uint8_t *d, size_t n) {
    if (wzp_call_decoder_receive(g_dec, d, n, g_now) != 0) {
        abort(); /* bad input is counted, never an error */
    }
}

static void pull(void) {
    int16_t pcm[WZP_MAX_FRAME_SAMPLES];
    size_t n = 0;
    wzp_jb_kind kind;
    if (wzp_call_decoder_pull(g_dec, pcm, &n, &kind) != 0 || n > WZP_MAX_FRAME_SAMPLES) {
        abort();
    }
}

static void raw_mode(const uint8_t *d, size_t size) {
    size_t pos = 0;
    while (pos + 2 <= size) {
        size_t len = d[pos];
        g_now += d[pos + 1] & 0x3F;
        pos += 2;
        len = len > size - pos ? size - pos : len;
        feed(d + pos, len);
        pos += len;
        pull();
    }
}

static void encoder_mode(const uint8_t *d, size_t size) {
    int16_t pcm[WZP_MAX_FRAME_SAMPLES] = {0};
    size_t fs = wzp_call_encoder_frame_samples(g_enc);
    for (size_t i = 0; i < fs && i < size; i++) {
        pcm[i] = (int16_t)(d[i] * 97);
    }
    size_t n = 0;
    if (wzp_call_encoder_push(g_enc, pcm, fs, g_now, g_out, WZP_CALL_MAX_OUT, &n) != 0) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (size > 2 && g_out[i].len > 0) { /* corrupt one byte where the input says */
            size_t at = d[(i * 2) % size] % g_out[i].len;
            g_out[i].data[at] ^= d[(i * 2 + 1) % size];
        }
        feed(g_out[i].data, g_out[i].len);
    }
    g_now += 20;
    pull();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    if (size < 1) {
        return 0;
    }
    if (data[0] & 1) {
        encoder_mode(data + 1, size - 1);
    } else {
        raw_mode(data + 1, size - 1);
    }
    return 0;
}
