/* Fuzz the 12-byte media header: decode, and decode->encode must reproduce the input bytes. */
#include <stdlib.h>
#include <string.h>

#include "wzp/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wzp_media_header h, again;
    size_t used = 0, n = 0;
    if (wzp_media_header_decode(data, size, &h, &used) != 0) {
        return 0;
    }
    uint8_t buf[WZP_MEDIA_HEADER_SIZE];
    if (wzp_media_header_encode(&h, buf, sizeof(buf), &n) != 0 || n != used ||
        memcmp(buf, data, n) != 0) {
        abort();
    }
    if (wzp_media_header_decode(buf, n, &again, &used) != 0 ||
        !wzp_media_header_equal(&h, &again)) {
        abort();
    }
    return 0;
}
