/* Fuzz the featherChat auth answer (what an auth server, or whoever answers for it, sends):
 * the first byte picks the HTTP status; the verdict is always one of the defined results, the
 * strings always terminated and free of control characters where they reach a log line. */
#include <stdlib.h>
#include <string.h>

#include "wzp/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const long statuses[] = {200, 401, 403, 500};
    if (size == 0) {
        return 0;
    }
    wzp_auth_reply r;
    wzp_auth_parse_reply(statuses[data[0] % 4], (const char *)data + 1, size - 1, &r);
    if ((unsigned)r.result >= WZP_AUTH_RESULTS ||
        memchr(r.fingerprint, 0, sizeof(r.fingerprint)) == NULL ||
        memchr(r.alias, 0, sizeof(r.alias)) == NULL ||
        memchr(r.detail, 0, sizeof(r.detail)) == NULL) {
        abort();
    }
    const char *strs[] = {r.fingerprint, r.alias, r.detail};
    for (size_t i = 0; i < 3; i++) {
        for (const char *p = strs[i]; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                abort();
            }
        }
    }
    return 0;
}
