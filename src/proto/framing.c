/*
 * Stream framing for signalling (SPEC §3.7): a 4-byte big-endian length, then the JSON body.
 * The hard cap is WZP_SIGNAL_MAX_JSON, far below the original's 1 MiB: no legitimate message
 * comes near it, and a peer cannot make us buffer more.
 */
#include <string.h>

#include "proto/bytes.h"
#include "wzp/signal.h"

int wzp_frame_encode(const uint8_t *body, size_t body_len, uint8_t *buf, size_t cap,
                     size_t *written) {
    if (body_len == 0) {
        return WZP_ERR_EMPTY;
    }
    if (body_len > WZP_SIGNAL_MAX_JSON) {
        return WZP_ERR_TOO_LARGE;
    }
    if (cap < WZP_SIGNAL_FRAME_PREFIX || cap - WZP_SIGNAL_FRAME_PREFIX < body_len) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    wzp__put_u32be(buf, (uint32_t)body_len);
    memmove(buf + WZP_SIGNAL_FRAME_PREFIX, body, body_len);
    *written = WZP_SIGNAL_FRAME_PREFIX + body_len;
    return WZP_OK;
}

static int check_length(uint32_t body_len) {
    if (body_len == 0) {
        return WZP_ERR_EMPTY;
    }
    if (body_len > WZP_SIGNAL_MAX_JSON) {
        return WZP_ERR_TOO_LARGE;
    }
    return WZP_OK;
}

int wzp_frame_decode(const uint8_t *buf, size_t len, const uint8_t **body, size_t *body_len,
                     size_t *consumed) {
    if (len < WZP_SIGNAL_FRAME_PREFIX) {
        return WZP_ERR_NEED_MORE;
    }
    uint32_t n = wzp__get_u32be(buf);
    int rc = check_length(n);
    if (rc != WZP_OK) {
        return rc;
    }
    if (len - WZP_SIGNAL_FRAME_PREFIX < n) {
        return WZP_ERR_NEED_MORE;
    }
    *body = buf + WZP_SIGNAL_FRAME_PREFIX;
    *body_len = n;
    *consumed = WZP_SIGNAL_FRAME_PREFIX + n;
    return WZP_OK;
}

void wzp_frame_reader_init(wzp_frame_reader *r) {
    r->have = 0;
    r->done = false;
    r->error = WZP_OK;
}

static size_t fill(wzp_frame_reader *r, size_t want, const uint8_t *data, size_t len) {
    size_t n = want - r->have;
    if (n > len) {
        n = len;
    }
    memcpy(r->buf + r->have, data, n);
    r->have += n;
    return n;
}

int wzp_frame_reader_push(wzp_frame_reader *r, const uint8_t *data, size_t len, size_t *taken,
                          const uint8_t **body, size_t *body_len) {
    *taken = 0;
    if (r->error != WZP_OK) {
        return r->error;
    }
    if (r->done) {
        r->have = 0;
        r->done = false;
    }
    if (r->have < WZP_SIGNAL_FRAME_PREFIX) {
        *taken += fill(r, WZP_SIGNAL_FRAME_PREFIX, data, len);
        if (r->have < WZP_SIGNAL_FRAME_PREFIX) {
            return WZP_ERR_NEED_MORE;
        }
    }
    uint32_t n = wzp__get_u32be(r->buf);
    int rc = check_length(n);
    if (rc != WZP_OK) {
        r->error = rc;
        return rc;
    }
    *taken += fill(r, WZP_SIGNAL_FRAME_PREFIX + n, data + *taken, len - *taken);
    if (r->have < WZP_SIGNAL_FRAME_PREFIX + n) {
        return WZP_ERR_NEED_MORE;
    }
    r->done = true;
    *body = r->buf + WZP_SIGNAL_FRAME_PREFIX;
    *body_len = n;
    return WZP_OK;
}
