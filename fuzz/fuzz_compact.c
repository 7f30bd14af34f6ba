/*
 * Fuzz compact framing two ways. (1) Receiver: the input is a sequence of datagrams
 * (length byte + bytes, time step byte) fed to one wzp_compact_rx; whatever it accepts must
 * re-encode to the same header bytes. (2) Sender->receiver: every valid 12-byte header in the
 * input goes through wzp_compact_tx and, delivered in order, must come out of a fresh receiver
 * exactly as sent.
 */
#include <stdlib.h>
#include <string.h>

#include "wzp/proto.h"

static void check_receiver(const uint8_t *data, size_t size) {
    wzp_compact_rx rx;
    wzp_compact_rx_init(&rx);
    uint64_t now = 0;
    size_t pos = 0;
    while (pos + 2 <= size) {
        size_t len = data[pos];
        now += data[pos + 1] * 8u;
        pos += 2;
        if (len > size - pos) {
            len = size - pos;
        }
        wzp_media_header h;
        size_t used = 0;
        if (wzp_compact_rx_decode(&rx, data + pos, len, now, &h, &used) == 0) {
            if (used > len) {
                abort();
            }
            uint8_t buf[WZP_MEDIA_HEADER_SIZE];
            size_t n = 0;
            if (wzp_media_header_encode(&h, buf, sizeof(buf), &n) != 0) {
                abort(); /* every accepted header is encodable */
            }
            if (data[pos] == WZP_FRAME_TYPE_FULL && memcmp(buf, data + pos + 1, n) != 0) {
                abort();
            }
        }
        pos += len;
    }
}

static void check_sender_to_receiver(const uint8_t *data, size_t size) {
    wzp_compact_tx tx;
    wzp_compact_rx rx;
    wzp_compact_tx_init(&tx);
    wzp_compact_rx_init(&rx);
    uint64_t now = 0;
    for (size_t pos = 0; pos + 13 <= size; pos += 13) {
        wzp_media_header h, sent, got;
        size_t used = 0, n = 0;
        now += data[pos] & 0x3F;
        if (wzp_media_header_decode(data + pos + 1, 12, &h, &used) != 0) {
            continue;
        }
        uint8_t wire[32];
        if (wzp_compact_tx_encode(&tx, &h, now, wire, sizeof(wire), &n, &sent) != 0) {
            abort();
        }
        if (wzp_compact_rx_decode(&rx, wire, n, now, &got, &used) != 0 || used != n ||
            !wzp_media_header_equal(&got, &sent)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_receiver(data, size);
    check_sender_to_receiver(data, size);
    return 0;
}
