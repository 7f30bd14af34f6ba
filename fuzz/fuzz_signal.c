/* Fuzz signal JSON: decode -> encode -> decode must give an equal message, and encoding that
 * message again must give identical text. */
#include <stdlib.h>
#include <string.h>

#include "wzp/signal.h"

static uint8_t g_a[WZP_SIGNAL_MAX_JSON + 64], g_b[WZP_SIGNAL_MAX_JSON + 64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wzp_signal *m = NULL, *again = NULL;
    if (wzp_signal_decode(data, size, &m) != 0) {
        return 0;
    }
    size_t na = 0, nb = 0;
    int rc = wzp_signal_encode(m, g_a, sizeof(g_a), &na);
    if (rc == WZP_ERR_TOO_LARGE) { /* escapes can grow a message past the cap */
        wzp_signal_free(m);
        return 0;
    }
    if (rc != 0 || wzp_signal_decode(g_a, na, &again) != 0 || !wzp_signal_equal(m, again)) {
        abort();
    }
    if (wzp_signal_encode(again, g_b, sizeof(g_b), &nb) != 0 || na != nb ||
        memcmp(g_a, g_b, na) != 0) {
        abort();
    }
    wzp_signal_free(again);
    wzp_signal_free(m);
    return 0;
}
