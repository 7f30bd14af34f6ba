/*
 * conn_flood: one address trying to take a relay down (a test tool, never installed). It opens
 * CONNS QUIC connections to the relay from BIND (several sockets, all on that IP), each asking
 * for ROOM; the first JOINS of them that complete join with a throwaway identity each, the rest
 * stay idle. After SECONDS it prints what it got, one line of JSON, and exits.
 *
 *   conn_flood RELAY_ADDR RELAY_FP BIND_IP ROOM CONNS JOINS SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "wzp/crypto.h"
#include "wzp/quic.h"
#include "wzp/signal.h"

#define PER_SOCKET 1000 /* below a client endpoint's WZP_QUIC_MAX_CONNS */

typedef struct flood {
    unsigned wanted_joins, established, joins_sent, refused, closed, acks;
} flood;

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    flood *f = user;
    (void)sni;
    f->established++;
    if (f->joins_sent >= f->wanted_joins) {
        return 0; /* an idle connection: it holds a slot and says nothing */
    }
    wzp_identity id;
    uint8_t exporter[32], json[WZP_SIGNAL_MAX_JSON];
    wzp_signal *join = NULL;
    size_t n = 0;
    if (wzp_identity_generate(&id) == WZP_OK &&
        wzp_quic_export(c, WZP_JOIN_EXPORTER, exporter) == WZP_OK &&
        wzp_join_sign(&id, exporter, "throwaway", &join) == WZP_OK &&
        wzp_signal_encode(join, json, sizeof(json), &n) == WZP_OK &&
        wzp_quic_send_signal(c, json, n) == WZP_OK) {
        f->joins_sent++;
    }
    wzp_signal_free(join);
    wzp_identity_wipe(&id);
    return 0;
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    flood *f = user;
    wzp_signal *m = NULL;
    (void)c;
    if (wzp_signal_decode(json, len, &m) == WZP_OK && m->type == WZP_SIG_REGISTER_PRESENCE_ACK) {
        f->acks += m->u.register_presence_ack.success;
        f->refused += !m->u.register_presence_ack.success;
    }
    wzp_signal_free(m);
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    flood *f = user;
    (void)c;
    (void)error;
    (void)reason;
    f->closed++;
}

static bool on_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, void *user) {
    (void)ep;
    (void)data;
    (void)len;
    (void)from;
    (void)user;
    return true;
}

static void on_timeout(uv_timer_t *t) {
    uv_stop(t->loop);
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: conn_flood RELAY_ADDR RELAY_FP BIND_IP ROOM CONNS JOINS SECONDS\n");
        return 2;
    }
    uint8_t pin[WZP_TLS_FINGERPRINT_SIZE];
    unsigned conns = (unsigned)strtoul(argv[5], NULL, 10);
    double seconds = strtod(argv[7], NULL);
    if (wzp_tls_fingerprint_parse(argv[2], pin) != WZP_OK || conns == 0 || conns > 20000 ||
        seconds <= 0 || seconds > 600) {
        fprintf(stderr, "conn_flood: bad arguments\n");
        return 2;
    }
    static flood f;
    f.wanted_joins = (unsigned)strtoul(argv[6], NULL, 10);
    char bind[64], sni[WZP_ROOM_SNI_TEXT];
    snprintf(bind, sizeof(bind), "%s:0", argv[3]);
    wzp_room_sni(argv[4], strlen(argv[4]), sni);
    uv_loop_t loop;
    uv_loop_init(&loop);
    unsigned nep = (conns + PER_SOCKET - 1) / PER_SOCKET, started = 0;
    wzp_quic_endpoint **eps = calloc(nep, sizeof(*eps));
    for (unsigned e = 0; eps != NULL && e < nep; e++) {
        wzp_quic_config qc = {.bind = bind,
                              .cb = {&f, on_established, on_signal, on_closed, on_datagram}};
        if (wzp_quic_endpoint_new(&loop, &qc, &eps[e]) != WZP_OK) {
            fprintf(stderr, "conn_flood: cannot bind %s\n", bind);
            return 1;
        }
        for (unsigned i = 0; i < PER_SOCKET && started < conns; i++) {
            wzp_quic_conn *c = NULL;
            started += wzp_quic_connect(eps[e], argv[1], sni, pin, &c) == WZP_OK;
        }
    }
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    uv_timer_start(&timer, on_timeout, (uint64_t)(seconds * 1000), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    printf("{\"started\": %u, \"established\": %u, \"joins_sent\": %u, \"joined\": %u, "
           "\"join_refused\": %u, \"closed\": %u}\n",
           started, f.established, f.joins_sent, f.acks, f.refused, f.closed);
    fflush(stdout);
    for (unsigned e = 0; e < nep; e++) {
        wzp_quic_endpoint_free(eps[e]);
    }
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(eps);
    return 0;
}
