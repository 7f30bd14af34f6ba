/* End-to-end media helpers for relay tests: capture datagrams, decode them with a key. */
#ifndef WZP_E2E_TESTUTIL_H
#define WZP_E2E_TESTUTIL_H

#include "testutil.h"
#include "wzp/call.h"

#define MAX_E2E 256 /* datagrams of one end-to-end exchange */

typedef struct capture {
    size_t n;
    size_t len[MAX_E2E];
    uint8_t data[MAX_E2E][WZP_DATAGRAM_MAX];
} capture;

static inline void keep(capture *cap, const uint8_t *pkt, size_t len) {
    if (cap->n < MAX_E2E && len <= WZP_DATAGRAM_MAX) {
        memcpy(cap->data[cap->n], pkt, len);
        cap->len[cap->n++] = len;
    }
}

/* Feed `cap` to a decoder holding `key` (as key id 1); the audio it plays goes to `pcm`. */
static inline wzp_call_decoder_stats decode_all(const capture *cap, const uint8_t key[WZP_KEY_SIZE],
                                                int16_t *pcm, size_t cap_samples, size_t *got) {
    wzp_call_config cc = wzp_call_default_config();
    wzp_call_decoder *dec = NULL;
    assert_int_equal(wzp_call_decoder_new(&cc, &dec), 0);
    wzp_call_decoder_add_key(dec, key, 1, 0);
    /* in real time: the datagrams of one second spread over 50 frames, one pull per frame */
    size_t next = 0;
    *got = 0;
    for (size_t f = 0; f < 70 && *got + WZP_MAX_FRAME_SAMPLES <= cap_samples; f++) {
        for (; next < cap->n && next * 50 < (f + 1) * cap->n; next++) {
            assert_int_equal(wzp_call_decoder_receive(dec, cap->data[next], cap->len[next], f * 20),
                             0);
        }
        size_t n = 0;
        wzp_jb_kind kind;
        assert_int_equal(wzp_call_decoder_pull(dec, pcm + *got, &n, &kind), 0);
        *got += n;
    }
    wzp_call_decoder_stats st = wzp_call_decoder_get_stats(dec);
    wzp_call_decoder_free(dec);
    return st;
}

#endif
