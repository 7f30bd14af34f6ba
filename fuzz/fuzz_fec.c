/*
 * Fuzz FEC decoding two ways: (1) arbitrary symbol sets (ESI, bytes) straight into the RFC 6330
 * decoder; a success must reproduce every received source symbol. (2) Arbitrary packet
 * sequences into the decoder block manager, whose memory is fixed at creation; every frame it
 * hands out must lie within its own buffers' bounds (ASan checks) and be non-empty.
 */
#include <stdlib.h>
#include <string.h>

#include "wzp/fec.h"

static void fuzz_core(const uint8_t *data, size_t size) {
    if (size < 2) {
        return;
    }
    unsigned k = 1 + data[0] % 40;
    size_t t = 1 + data[1] % 48;
    data += 2;
    size_t left = size - 2;
    static uint32_t esis[512];
    static const uint8_t *syms[512];
    static uint8_t out[40 * 48], scratch[65536];
    size_t n = 0;
    while (left >= 1 + t && n < 512) {
        esis[n] = data[0] < 200 ? data[0] : data[0] + 1000u; /* also out-of-range ESIs */
        syms[n++] = data + 1;
        data += 1 + t;
        left -= 1 + t;
    }
    const wzp_rq_code *code = NULL;
    if (wzp_rq_code_get(k, &code) != 0) {
        abort();
    }
    int rc = wzp_rq_decode(code, k, t, esis, syms, n, out, scratch, sizeof(scratch));
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            if (esis[i] < k && memcmp(out + esis[i] * t, syms[i], t) != 0) {
                /* a repeated ESI keeps its first copy */
                size_t first = 0;
                while (esis[first] != esis[i]) {
                    first++;
                }
                if (memcmp(out + esis[i] * t, syms[first], t) != 0) {
                    abort();
                }
            }
        }
    } else if (rc != WZP_ERR_NEED_MORE) {
        abort();
    }
}

static void fuzz_manager(const uint8_t *data, size_t size) {
    static wzp_fec_decoder *dec;
    if (dec == NULL) {
        wzp_fec_config cfg = {.max_k = 16, .max_frame = 200, .slots = 4, .window = 8};
        if (wzp_fec_decoder_new(&cfg, &dec) != 0) {
            abort();
        }
    }
    uint64_t now = 0;
    size_t pos = 0;
    while (pos + 4 <= size) {
        wzp_fec_packet p = {
            .is_repair = (data[pos] & 1) != 0, .block_id = data[pos + 1], .esi = data[pos + 2]};
        size_t len = data[pos + 3] * 2u;
        now += data[pos] >> 1;
        pos += 4;
        if (len > size - pos) {
            len = size - pos;
        }
        p.payload = data + pos;
        p.len = len;
        pos += len;
        wzp_fec_frame out[16];
        size_t n = 0;
        if (wzp_fec_decoder_add(dec, &p, now, out, 16, &n) != 0 || n > 16) {
            abort();
        }
        for (size_t i = 0; i < n; i++) {
            if (out[i].len == 0 || out[i].len > 200) {
                abort();
            }
            volatile uint8_t sink = out[i].data[out[i].len - 1];
            (void)sink;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_core(data, size);
    fuzz_manager(data, size);
    return 0;
}
