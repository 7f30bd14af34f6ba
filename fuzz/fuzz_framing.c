/* Fuzz stream framing: the reader fed in arbitrary chunks must find exactly the frames that
 * wzp_frame_decode finds in the whole stream, and each body goes through the signal decoder. */
#include <stdlib.h>
#include <string.h>

#include "wzp/signal.h"

static wzp_frame_reader g_reader;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) {
        return 0;
    }
    size_t chunk = (size_t)data[0] % 17 + 1;
    const uint8_t *stream = data + 1;
    size_t len = size - 1;
    wzp_frame_reader_init(&g_reader);
    size_t whole_pos = 0, pos = 0;
    while (pos < len) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        size_t taken = 0, blen = 0;
        const uint8_t *body = NULL;
        int rc = wzp_frame_reader_push(&g_reader, stream + pos, n, &taken, &body, &blen);
        if (taken > n) {
            abort();
        }
        pos += taken;
        if (rc == WZP_ERR_NEED_MORE) {
            continue;
        }
        const uint8_t *wbody = NULL;
        size_t wlen = 0, used = 0;
        int wrc = wzp_frame_decode(stream + whole_pos, len - whole_pos, &wbody, &wlen, &used);
        if (rc != wrc) {
            abort();
        }
        if (rc != 0) {
            break;
        }
        if (wlen != blen || memcmp(wbody, body, blen) != 0) {
            abort();
        }
        whole_pos += used;
        wzp_signal *m = NULL;
        if (wzp_signal_decode(body, blen, &m) == 0) {
            wzp_signal_free(m);
        }
    }
    return 0;
}
