/* Fuzz wzp-netsim's scenario parser (a file an operator or a test writes): any text is either
 * refused with a line number or yields steps in time order whose parameters pass the checks. */
#include <stdlib.h>

#include "wzp/netsim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static wzp_netsim_step steps[WZP_NETSIM_MAX_STEPS];
    static const wzp_netsim_params base = {0};
    size_t n = 0;
    unsigned line = 0;
    int rc = wzp_netsim_parse_scenario((const char *)data, size, &base, steps, WZP_NETSIM_MAX_STEPS,
                                       &n, &line);
    if (rc != WZP_OK) {
        if (line == 0 || n != 0) {
            abort();
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (wzp_netsim_check(&steps[i].p) != WZP_OK ||
            (i > 0 && steps[i].at_s < steps[i - 1].at_s)) {
            abort();
        }
        wzp_netsim sim;
        double out[2];
        wzp_netsim_init(&sim, &steps[i].p, i);
        (void)wzp_netsim_offer(&sim, 1200, 0, out);
    }
    return 0;
}
