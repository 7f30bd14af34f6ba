/*
 * Inter-relay probes (SPEC §8): once a second, a small authenticated datagram to each target
 * relay, echoed back by it over the media plane (not the QUIC stream, whose retransmissions
 * would hide loss). Per target: RTT, jitter (RFC 3550-style smoothing of RTT changes), loss over
 * the last 60 probes, and up/down. A target that stops answering is reconnected every few
 * seconds; one that comes back is up again within a probe or two.
 */
#ifndef WZP_PROBE_H
#define WZP_PROBE_H

#include <uv.h>

#include "wzp/error.h"
#include "wzp/metrics.h"
#include "wzp/relay.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_PROBE_INTERVAL_MS 1000
#define WZP_PROBE_LOST_MS     2000 /* an echo later than this counts as a lost probe */
#define WZP_PROBE_DOWN_MS     2000 /* no echo for this long: down */
#define WZP_PROBE_WINDOW      60   /* probes the loss ratio is computed over */

typedef struct wzp_prober wzp_prober;

typedef struct wzp_probe_status {
    bool up;
    double rtt_ms, jitter_ms, loss; /* loss: 0..1 over the last WZP_PROBE_WINDOW judged probes */
    uint64_t sent, echoed;
} wzp_probe_status;

/* Start probing `n` targets (n <= WZP_RELAY_MAX_PROBES) from their own client endpoint(s).
 * Errors: WZP_ERR_INVALID_ARG, WZP_ERR_NOMEM, WZP_ERR_IO. */
WZP_MUST_CHECK int wzp_prober_new(uv_loop_t *loop, const wzp_relay_probe_target *targets,
                                  unsigned n, wzp_prober **out);
void wzp_prober_free(wzp_prober *p);
void wzp_prober_status(const wzp_prober *p, unsigned i, wzp_probe_status *out);
/* wzp_probe_up, wzp_probe_rtt_seconds, wzp_probe_jitter_seconds, wzp_probe_loss_ratio,
 * wzp_probe_sent_total, wzp_probe_echoed_total, each labelled target="<label>". */
void wzp_prober_metrics(const wzp_prober *p, wzp_prom *out);

#ifdef __cplusplus
}
#endif
#endif
