/* Helpers for tests that talk to a relay over QUIC. */
#ifndef WZP_RELAY_TESTUTIL_H
#define WZP_RELAY_TESTUTIL_H

#include "testutil.h"
#include "wzp/quic.h"
#include "wzp/relay.h"

static inline void relay_test_send(wzp_quic_conn *c, const wzp_signal *m) {
    static uint8_t buf[4096];
    size_t n = 0;
    assert_int_equal(wzp_signal_encode(m, buf, sizeof(buf), &n), 0);
    assert_int_equal(wzp_quic_send_signal(c, buf, n), 0);
}

/* Register `id` on connection `c`; `forge` signs for another connection's exporter. */
static inline void relay_test_join(wzp_quic_conn *c, const wzp_identity *id, bool forge) {
    uint8_t exporter[32];
    assert_int_equal(wzp_quic_export(c, WZP_JOIN_EXPORTER, exporter), 0);
    if (forge) {
        exporter[0] ^= 1;
    }
    wzp_signal *m = NULL;
    assert_int_equal(wzp_join_sign(id, exporter, "tester", &m), 0);
    relay_test_send(c, m);
    wzp_signal_free(m);
}

/* Where a test relay listens ("127.0.0.1:port") and the pin of its certificate. */
static inline void relay_test_target(const wzp_relay_server *r, char addr[64], uint8_t pin[32]) {
    snprintf(addr, 64, "127.0.0.1:%u", wzp_relay_server_port(r));
    wzp_relay_server_fingerprint(r, pin);
}

/* The sender's session id the relay puts in front of forwarded media. */
static inline uint32_t relay_test_sender(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
