/*
 * The media plane through a real relay on loopback: after joining, members get a session id and
 * hop keys from their QUIC connection; a member's media reaches every other member of its room
 * and nobody else; a replayed datagram, one forged with another member's session id and a
 * datagram for an unknown session are refused with nothing sent; a member moving to a new
 * source port keeps talking and hearing (roaming).
 */
#include <uv.h>

#include "relay_testutil.h"
#include "wzp/mediaplane.h"
#include "wzp/quic.h"
#include "wzp/relay.h"

#define NC 4

typedef struct client {
    wzp_identity id;
    wzp_quic_conn *conn;
    uint32_t sid;
    wzp_hop_tx tx;
    wzp_hop_rx rx;
    int received;
    char last[32];
} client;

static struct {
    uv_loop_t loop;
    uv_timer_t tick;
    wzp_relay_server *relay;
    wzp_quic_endpoint *ep, *ep2; /* ep2: A's new socket after roaming */
    struct sockaddr_in relay_addr;
    client c[NC];
    int step, wait;
    uint8_t saved[256];
    size_t saved_len;
    bool shutting_down;
} g;

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    (void)sni;
    (void)user;
    client *cl = wzp_quic_conn_get_user(c);
    relay_test_join(c, &cl->id, false);
    return 0;
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    (void)user;
    client *cl = wzp_quic_conn_get_user(c);
    wzp_signal *m = NULL;
    assert_int_equal(wzp_signal_decode(json, len, &m), 0);
    if (m->type == WZP_SIG_MEDIA_SESSION) {
        uint8_t exporter[32];
        wzp_hop_keys keys;
        assert_int_equal(wzp_quic_export(c, WZP_HOP_EXPORTER_LABEL, exporter), 0);
        assert_int_equal(wzp_hop_keys_derive(exporter, &keys), 0);
        cl->sid = m->u.media_session.session_id;
        wzp_hop_tx_init(&cl->tx, cl->sid, keys.client_to_relay);
        wzp_hop_rx_init(&cl->rx, cl->sid, keys.relay_to_client);
    }
    wzp_signal_free(m);
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    (void)c;
    (void)error;
    (void)reason;
    (void)user;
}

static bool on_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, void *user) {
    (void)ep;
    (void)from;
    (void)user;
    uint32_t sid = 0;
    if (wzp_hop_peek_session(data, len, &sid) != 0) {
        return false;
    }
    for (int i = 0; i < NC; i++) {
        const uint8_t *p;
        size_t n = 0;
        if (g.c[i].sid == sid && wzp_hop_open(&g.c[i].rx, data, len, &p, &n) == 0) {
            assert_true(n >= 4); /* the sender's session id, then its packet */
            uint32_t sender =
                (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
            bool known = false;
            for (int j = 0; j < NC; j++) {
                known = known || (g.c[j].sid == sender && j != i);
            }
            assert_true(known);
            g.c[i].received++;
            snprintf(g.c[i].last, sizeof(g.c[i].last), "%.*s", (int)(n - 4), p + 4);
        }
    }
    return true;
}

static void send_media(wzp_quic_endpoint *ep, client *cl, const char *text) {
    uint8_t out[256];
    size_t n = 0;
    assert_int_equal(
        wzp_hop_seal(&cl->tx, (const uint8_t *)text, strlen(text), out, sizeof(out), &n), 0);
    memcpy(g.saved, out, n);
    g.saved_len = n;
    wzp_quic_send_datagram(ep, out, n, (const struct sockaddr *)&g.relay_addr);
}

static void on_tick(uv_timer_t *t) {
    client *a = &g.c[0], *b = &g.c[1], *c = &g.c[2], *d = &g.c[3];
    if (++g.wait > 1000) { /* 10 s */
        uv_stop(t->loop);
        return;
    }
    switch (g.step) {
    case 0:
        if (a->sid && b->sid && c->sid && d->sid) {
            for (int i = 0; i < 5; i++) {
                char text[16];
                snprintf(text, sizeof(text), "a%d", i);
                send_media(g.ep, a, text);
            }
            g.step = 1;
        }
        break;
    case 1:
        if (b->received == 5 && c->received == 5) {
            /* replay, forgery with A's session id, unknown session */
            wzp_quic_send_datagram(g.ep, g.saved, g.saved_len,
                                   (const struct sockaddr *)&g.relay_addr);
            wzp_hop_tx forger = d->tx;
            forger.sid = a->sid;
            forger.counter = 500;
            uint8_t out[64];
            size_t n = 0;
            assert_int_equal(wzp_hop_seal(&forger, (const uint8_t *)"evil", 4, out, 64, &n), 0);
            wzp_quic_send_datagram(g.ep, out, n, (const struct sockaddr *)&g.relay_addr);
            forger.sid = 0x1234;
            assert_int_equal(wzp_hop_seal(&forger, (const uint8_t *)"evil", 4, out, 64, &n), 0);
            wzp_quic_send_datagram(g.ep, out, n, (const struct sockaddr *)&g.relay_addr);
            g.step = 2;
            g.wait = 0;
        }
        break;
    case 2:
        if (g.wait >= 20) { /* 200 ms: anything the attacks caused would be here by now */
            assert_int_equal(b->received, 5);
            assert_int_equal(c->received, 5);
            send_media(g.ep2, a, "roamed"); /* A now speaks from another socket */
            g.step = 3;
        }
        break;
    case 3:
        if (b->received == 6) {
            send_media(g.ep, b, "b0"); /* goes to A's new address */
            g.step = 4;
        }
        break;
    case 4:
        if (a->received == 1) {
            g.step = 5;
            uv_stop(t->loop);
        }
        break;
    default:
        break;
    }
}

static void test_media_fans_out_refuses_attacks_and_follows_roaming(void **state) {
    (void)state;
    memset(&g, 0, sizeof(g));
    assert_int_equal(uv_loop_init(&g.loop), 0);
    uint8_t seed[32] = {9};
    wzp_relay_server_config cfg = {"127.0.0.1:0", seed, {16, 8, 30000}, NULL, NULL};
    assert_int_equal(wzp_relay_server_new(&g.loop, &cfg, &g.relay), 0);
    wzp_quic_config qc = {
        "127.0.0.1:0", NULL, {NULL, on_established, on_signal, on_closed, on_datagram}};
    assert_int_equal(wzp_quic_endpoint_new(&g.loop, &qc, &g.ep), 0);
    assert_int_equal(wzp_quic_endpoint_new(&g.loop, &qc, &g.ep2), 0);
    uv_ip4_addr("127.0.0.1", wzp_relay_server_port(g.relay), &g.relay_addr);
    uint8_t pin[32];
    wzp_relay_server_fingerprint(g.relay, pin);
    char addr[64], room_x[WZP_ROOM_SNI_TEXT], room_y[WZP_ROOM_SNI_TEXT];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", wzp_relay_server_port(g.relay));
    wzp_room_sni("x", 1, room_x);
    wzp_room_sni("y", 1, room_y);
    for (int i = 0; i < NC; i++) {
        assert_int_equal(wzp_identity_generate(&g.c[i].id), 0);
        assert_int_equal(wzp_quic_connect(g.ep, addr, i < 3 ? room_x : room_y, pin, &g.c[i].conn),
                         0);
        wzp_quic_conn_set_user(g.c[i].conn, &g.c[i]);
    }
    uv_timer_init(&g.loop, &g.tick);
    uv_timer_start(&g.tick, on_tick, 10, 10);
    uv_run(&g.loop, UV_RUN_DEFAULT);
    uint64_t in = 0, out = 0, refused = 0;
    wzp_relay_server_media_stats(g.relay, &in, &out, &refused);
    print_message("step %d: received a=%d b=%d c=%d d=%d; relay in %llu out %llu refused %llu\n",
                  g.step, g.c[0].received, g.c[1].received, g.c[2].received, g.c[3].received,
                  (unsigned long long)in, (unsigned long long)out, (unsigned long long)refused);
    assert_int_equal(g.step, 5);
    assert_int_equal(g.c[3].received, 0); /* room y heard nothing */
    assert_string_equal(g.c[1].last, "roamed");
    assert_string_equal(g.c[0].last, "b0"); /* heard at its new address */
    assert_int_equal(in, 7);                /* 5 + roamed + b0 */
    assert_int_equal(out, 5 * 2 + 2 + 2);
    assert_true(refused >= 3); /* replay, forgery, unknown session */
    g.shutting_down = true;
    uv_timer_stop(&g.tick);
    uv_close((uv_handle_t *)&g.tick, NULL);
    wzp_quic_endpoint_free(g.ep);
    wzp_quic_endpoint_free(g.ep2);
    wzp_relay_server_free(g.relay);
    uv_run(&g.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&g.loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_media_fans_out_refuses_attacks_and_follows_roaming),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
