/*
 * Forward mode (`wzp-relay --remote ADDR[@FP]`, SPEC §8): a relay that hosts no rooms and carries
 * every client datagram to a remote relay through a link with FEC (include/wzp/link.h), for
 * crossing a lossy or censored stretch. docs/PROTOCOL.md §11.
 */
#ifndef WZP_FORWARD_H
#define WZP_FORWARD_H

#include <uv.h>

#include "wzp/error.h"
#include "wzp/metrics.h"
#include "wzp/relay.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wzp_forward_stats {
    bool link_up;
    uint64_t tunnels, tunnels_made, links_made;
    uint64_t up, down, dropped, unknown_tunnel, recovered, link_refused;
    uint64_t link_sent, link_received, repairs_sent;
} wzp_forward_stats;

typedef struct wzp_forwarder wzp_forwarder;

/* Listen for clients on `listen` ("IP:port"), link to `remote` (pinned when it has a
 * fingerprint), forward for at most `max_tunnels` client addresses at once.
 * Errors: WZP_ERR_INVALID_ARG, WZP_ERR_NOMEM, WZP_ERR_IO (cannot listen). */
WZP_MUST_CHECK int wzp_forwarder_new(uv_loop_t *loop, const char *listen,
                                     const wzp_relay_probe_target *remote, unsigned max_tunnels,
                                     wzp_forwarder **out);
void wzp_forwarder_free(wzp_forwarder *f);
uint16_t wzp_forwarder_port(const wzp_forwarder *f);
wzp_forward_stats wzp_forwarder_stats(const wzp_forwarder *f);
/* wzp_forward_link_up{remote}, wzp_forward_tunnels, wzp_forward_datagrams_total{direction},
 * wzp_forward_link_repairs_total. */
void wzp_forwarder_metrics(const wzp_forwarder *f, wzp_prom *p);

#ifdef __cplusplus
}
#endif
#endif
