/* The relay server's state (src/relay/server.c), for its metrics page (src/relay/metrics.c). */
#ifndef WZP_RELAY_SERVER_INTERNAL_H
#define WZP_RELAY_SERVER_INTERNAL_H

#include "wzp/auth.h"
#include "wzp/metrics.h"
#include "wzp/relay.h"

#define WZP__AUTH_MISMATCH WZP_AUTH_RESULTS
#define WZP__AUTH_BUSY     (WZP_AUTH_RESULTS + 1)
#define WZP__AUTH_MISSING  (WZP_AUTH_RESULTS + 2)
#define WZP__AUTH_COUNTS   (WZP_AUTH_RESULTS + 3)

struct wzp_relay_server {
    uv_loop_t *loop;
    wzp_quic_endpoint *ep;
    wzp_tls_identity *tls;
    wzp_relay_core *core;
    wzp_auth *auth;                           /* NULL: no token needed */
    uint64_t auth_attempts[WZP__AUTH_COUNTS]; /* by result (ok and mismatch: the core counts) */
    wzp_histogram handshake;
    uv_timer_t *timer; /* the core's; its own allocation (libuv closes it later) */
    uint64_t timer_at; /* when it is armed for (UINT64_MAX: not) */
    uint8_t json[WZP_SIGNAL_MAX_JSON + 64];
};

#endif
