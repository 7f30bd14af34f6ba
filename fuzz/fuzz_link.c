/* Fuzz the forward-mode link's receiving side (what arrives from the other relay, or from anyone
 * who sends to it): the input is split into datagrams by a length byte. Forged datagrams must be
 * refused; to reach the FEC and framing parsers behind the MAC, the fuzzer's bytes are also sealed
 * with the session's hop key as link payloads. Nothing delivered may be empty or oversized. */
#include <stdlib.h>
#include <string.h>

#include "wzp/link.h"

static uint8_t g_sealed[WZP_LINK_MAX_DATAGRAM + WZP_HOP_OVERHEAD];

static void out(void *user, const uint8_t *d, size_t len) {
    (void)user;
    (void)d;
    (void)len;
}

static void deliver(void *user, uint32_t tunnel, const uint8_t *d, size_t len) {
    (void)user;
    (void)tunnel;
    if (len == 0 || len > WZP_LINK_MAX_DATAGRAM) {
        abort();
    }
    volatile uint8_t x = d[0] ^ d[len - 1];
    (void)x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t exporter[32] = {1};
    wzp_link *rx;
    if (wzp_link_new(out, deliver, NULL, &rx) != WZP_OK) {
        return 0;
    }
    wzp_hop_session ends[2];
    if (wzp_hop_session_init(&ends[0], WZP_HOP_RELAY, 0x09000000u, exporter) != WZP_OK ||
        wzp_hop_session_init(&ends[1], WZP_HOP_CLIENT, 0x09000000u, exporter) != WZP_OK) {
        abort();
    }
    wzp_link_set_session(rx, &ends[0]);
    wzp_hop_tx hop = ends[1].tx;
    uint64_t now = 0;
    while (size > 1) {
        size_t n = data[0];
        bool as_payload = n & 0x80;
        n &= 0x7f;
        data++;
        size--;
        if (n > size) {
            n = size;
        }
        if (as_payload && n > 0) {
            /* arbitrary link payload behind a valid MAC: the type byte, FEC header, FEC
             * decoder and framing all see the fuzzer's bytes */
            size_t w = 0;
            if (wzp_hop_seal(&hop, data, n, g_sealed, sizeof(g_sealed), &w) == WZP_OK) {
                (void)wzp_link_receive(rx, g_sealed, w, now);
            }
        } else {
            (void)wzp_link_receive(rx, data, n, now); /* forged: refused */
        }
        now += 7;
        wzp_link_tick(rx, now);
        data += n;
        size -= n;
    }
    wzp_link_free(rx);
    return 0;
}
