/* Fuzz the media-plane hop parser: arbitrary datagrams never authenticate (without the key), a
 * sealed copy of the input always does, exactly once. */
#include <stdlib.h>
#include <string.h>

#include "wzp/hop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t key[32] = {3, 1, 4, 1, 5};
    wzp_hop_rx rx;
    uint32_t sid = 0;
    const uint8_t *p;
    size_t plen = 0;
    if (wzp_hop_peek_session(data, size, &sid) == 0) {
        wzp_hop_rx_init(&rx, sid, key);
        if (wzp_hop_open(&rx, data, size, &p, &plen) == 0) {
            abort(); /* forged a MAC */
        }
    }
    if (size > 2048) {
        return 0;
    }
    static uint8_t out[2048 + WZP_HOP_OVERHEAD];
    wzp_hop_tx tx;
    wzp_hop_tx_init(&tx, 0x05234567, key);
    wzp_hop_rx_init(&rx, 0x05234567, key);
    size_t n = 0;
    if (wzp_hop_seal(&tx, data, size, out, sizeof(out), &n) != 0 ||
        wzp_hop_open(&rx, out, n, &p, &plen) != 0 || plen != size ||
        (size > 0 && memcmp(p, data, size) != 0) ||
        wzp_hop_open(&rx, out, n, &p, &plen) != WZP_ERR_REPLAY) {
        abort();
    }
    return 0;
}
