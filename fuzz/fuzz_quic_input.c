/* Fuzz what a relay's UDP socket receives: arbitrary datagrams from arbitrary ports go through
 * the endpoint's demultiplexing (connection-ID table, media hand-off, Retry and address
 * validation, new connections, stateless resets) into ngtcp2. The endpoint and its state
 * persist across inputs, as on a live relay. Input: byte 0 picks the source port, the rest is
 * the datagram. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <uv.h>

#include "transport/endpoint_internal.h"

static uv_loop_t g_loop;
static wzp_quic_endpoint *g_ep;

static bool on_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, void *user) {
    (void)ep;
    (void)from;
    (void)user;
    return len >= 16 && data[0] == 0x01; /* some datagrams are "media" */
}

static void setup(void) {
    uint8_t seed[32] = {9};
    wzp_tls_identity *id = NULL;
    if (uv_loop_init(&g_loop) != 0 || wzp_tls_identity_from_seed(seed, &id) != 0) {
        abort();
    }
    wzp_quic_config cfg = {
        .bind = "127.0.0.1:0", .identity = id, .cb = {NULL, NULL, NULL, NULL, on_datagram}};
    if (wzp_quic_endpoint_new(&g_loop, &cfg, &g_ep) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (g_ep == NULL) {
        setup();
    }
    if (size < 2 || size > 1500) {
        return 0;
    }
    struct sockaddr_in from = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)(40000 + data[0])),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    wzp__quic_endpoint_input(g_ep, data + 1, size - 1, (const struct sockaddr *)&from);
    uv_run(&g_loop, UV_RUN_NOWAIT);
    wzp_quic_stats st;
    wzp_quic_endpoint_stats(g_ep, &st);
    if (st.handshaking > WZP_QUIC_RETRY_ABOVE || st.connections > WZP_QUIC_MAX_CONNS) {
        abort(); /* address validation must bound half-open state */
    }
    return 0;
}
