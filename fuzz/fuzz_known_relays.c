/* Fuzz the known-relays parser: any file text is either refused or yields a fingerprint that
 * formats back to a line the parser reads the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/known_relays.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t fp[WZP_TLS_FINGERPRINT_SIZE], again[WZP_TLS_FINGERPRINT_SIZE];
    if (wzp_known_relays_find((const char *)data, size, "127.0.0.1:4433", fp) != WZP_OK) {
        return 0;
    }
    char text[WZP_TLS_FINGERPRINT_TEXT], line[160];
    wzp_tls_fingerprint_format(fp, text);
    int n = snprintf(line, sizeof(line), "127.0.0.1:4433 %s\n", text);
    if (n <= 0 || wzp_known_relays_find(line, (size_t)n, "127.0.0.1:4433", again) != WZP_OK ||
        memcmp(fp, again, sizeof(fp)) != 0) {
        abort();
    }
    return 0;
}
