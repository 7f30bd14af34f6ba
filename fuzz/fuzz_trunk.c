/* Fuzz trunk frames: whatever decodes must repack to the identical bytes. */
#include <stdlib.h>
#include <string.h>

#include "wzp/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wzp_trunk_entry e[WZP_TRUNK_MAX_ENTRIES];
    size_t count = 0;
    if (wzp_trunk_decode(data, size, e, &count) != 0) {
        return 0;
    }
    uint8_t buf[WZP_TRUNK_MAX_BYTES];
    wzp_trunk_packer p;
    if (wzp_trunk_packer_init(&p, buf, sizeof(buf)) != 0) {
        abort();
    }
    for (size_t i = 0; i < count; i++) {
        if (e[i].payload < data || e[i].payload + e[i].len > data + size) {
            abort();
        }
        if (wzp_trunk_packer_add(&p, e[i].session_id, e[i].payload, e[i].len, 0) != 0) {
            abort();
        }
    }
    size_t n = wzp_trunk_packer_finish(&p);
    if (n != size || memcmp(buf, data, n) != 0) {
        abort();
    }
    return 0;
}
