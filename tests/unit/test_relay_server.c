/* The relay's control plane over real QUIC on loopback: clients join rooms by SNI with a
 * connection-bound signature, RoomUpdate follows every join and leave, PeerSignal reaches only
 * the named member (identity, and device when named) of the same room with the sender's identity
 * and session stamped over whatever it claimed, and a forged registration is refused. */
#include <uv.h>

#include "relay_testutil.h"
#include "wzp/quic.h"
#include "wzp/relay.h"

#define NCLIENTS 4

typedef struct client {
    int idx;
    wzp_identity id;
    wzp_quic_conn *conn;
    bool forge;
    int acks_ok, acks_refused, closed;
    int last_count; /* from the latest RoomUpdate */
    int peer_signals;
    char peer_from[WZP_FINGERPRINT_TEXT];
    uint32_t sid, peer_from_session; /* ours (MediaSession), the sender's of the PeerSignal */
} client;

typedef struct world {
    uv_loop_t loop;
    uv_timer_t tick;
    wzp_relay_server *relay;
    wzp_quic_endpoint *ep;
    client clients[NCLIENTS];
    int step;
    uint64_t started;
    bool shutting_down;
} world;

static world g_w;

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    (void)sni;
    (void)user;
    client *cl = wzp_quic_conn_get_user(c);
    relay_test_join(c, &cl->id, cl->forge);
    return 0;
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    (void)user;
    client *cl = wzp_quic_conn_get_user(c);
    wzp_signal *m = NULL;
    assert_int_equal(wzp_signal_decode(json, len, &m), 0);
    if (m->type == WZP_SIG_REGISTER_PRESENCE_ACK) {
        if (m->u.register_presence_ack.success) {
            cl->acks_ok++;
        } else {
            cl->acks_refused++;
        }
    } else if (m->type == WZP_SIG_MEDIA_SESSION) {
        cl->sid = m->u.media_session.session_id;
    } else if (m->type == WZP_SIG_ROOM_UPDATE) {
        cl->last_count = (int)m->u.room_update.count;
    } else if (m->type == WZP_SIG_PEER_SIGNAL) {
        cl->peer_signals++;
        snprintf(cl->peer_from, sizeof(cl->peer_from), "%s", m->u.peer_signal.from_fingerprint);
        cl->peer_from_session = m->u.peer_signal.from_session;
        /* the relay stamped the sender's connection exporter: both ends derive one binding */
        assert_true(m->u.peer_signal.from_binding.present);
        assert_int_equal(m->u.peer_signal.from_binding.len, 32);
        uint8_t own[32], pair_b[32], pair_a[32];
        assert_int_equal(wzp_quic_export(c, WZP_CALL_BINDING_EXPORTER, own), 0);
        wzp_pair_binding(own, m->u.peer_signal.from_binding.data, pair_b);
        uint8_t a_exp[32];
        assert_int_equal(wzp_quic_export(g_w.clients[0].conn, WZP_CALL_BINDING_EXPORTER, a_exp), 0);
        wzp_pair_binding(a_exp, own, pair_a);
        assert_memory_equal(pair_a, pair_b, 32);
        assert_memory_equal(a_exp, m->u.peer_signal.from_binding.data, 32);
    }
    wzp_signal_free(m);
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    (void)error;
    (void)reason;
    (void)user;
    client *cl = wzp_quic_conn_get_user(c);
    if (cl != NULL && !g_w.shutting_down) {
        cl->closed++;
        cl->conn = NULL;
    }
}

static void connect_client(int i, const char *room_sni, bool forge) {
    client *cl = &g_w.clients[i];
    cl->idx = i;
    cl->forge = forge;
    assert_int_equal(wzp_identity_generate(&cl->id), 0);
    uint8_t pin[32];
    char addr[64];
    relay_test_target(g_w.relay, addr, pin);
    assert_int_equal(wzp_quic_connect(g_w.ep, addr, room_sni, pin, &cl->conn), 0);
    wzp_quic_conn_set_user(cl->conn, cl);
}

/* The scenario advances whenever its condition holds; the guard fails it after 10 s. */
static void on_tick(uv_timer_t *t) {
    client *a = &g_w.clients[0], *b = &g_w.clients[1], *c = &g_w.clients[2], *d = &g_w.clients[3];
    if (uv_now(t->loop) - g_w.started > 10000) {
        uv_stop(t->loop);
        return;
    }
    switch (g_w.step) {
    case 0:
        if (a->acks_ok && b->acks_ok && c->acks_ok && d->closed && a->last_count == 2 &&
            b->last_count == 2) {
            char to[WZP_FINGERPRINT_TEXT];
            wzp_fingerprint_format(b->id.fingerprint, to);
            wzp_signal *m = wzp_signal_new(WZP_SIG_PEER_SIGNAL);
            assert_int_equal(wzp_signal_set_str(&m->u.peer_signal.to_fingerprint, to), 0);
            m->u.peer_signal.inner = wzp_signal_new(WZP_SIG_KEY_CONFIRM);
            m->u.peer_signal.inner->u.key_confirm.mac.len = 32;
            m->u.peer_signal.to_session = b->sid ^ 1; /* b's identity, another device: nobody */
            relay_test_send(a->conn, m);
            m->u.peer_signal.to_session = b->sid;
            m->u.peer_signal.from_session = c->sid; /* a lie the relay overwrites */
            assert_int_equal(wzp_signal_set_str(&m->u.peer_signal.from_fingerprint, to), 0);
            relay_test_send(a->conn, m);
            wzp_signal_free(m);
            g_w.step = 1;
        }
        break;
    case 1:
        if (b->peer_signals == 1) {
            wzp_quic_close(a->conn, "leaving");
            a->conn = NULL;
            g_w.step = 2;
        }
        break;
    case 2:
        if (b->last_count == 1) {
            g_w.step = 3;
            uv_stop(t->loop);
        }
        break;
    default:
        break;
    }
}

static void test_rooms_join_update_route_and_refuse_forgeries(void **state) {
    (void)state;
    memset(&g_w, 0, sizeof(g_w));
    assert_int_equal(uv_loop_init(&g_w.loop), 0);
    uint8_t seed[32] = {42};
    wzp_relay_server_config cfg = {.listen = "127.0.0.1:0", .seed = seed, .rooms = {16, 8, 30000}};
    assert_int_equal(wzp_relay_server_new(&g_w.loop, &cfg, &g_w.relay), 0);
    wzp_quic_config qc = {.bind = "127.0.0.1:0",
                          .cb = {NULL, on_established, on_signal, on_closed, NULL}};
    assert_int_equal(wzp_quic_endpoint_new(&g_w.loop, &qc, &g_w.ep), 0);
    char room_x[WZP_ROOM_SNI_TEXT], room_y[WZP_ROOM_SNI_TEXT];
    wzp_room_sni("x", 1, room_x);
    wzp_room_sni("y", 1, room_y);
    connect_client(0, room_x, false);
    connect_client(1, room_x, false);
    connect_client(2, room_y, false);
    connect_client(3, room_x, true);
    uv_timer_init(&g_w.loop, &g_w.tick);
    g_w.started = uv_now(&g_w.loop);
    uv_timer_start(&g_w.tick, on_tick, 10, 10);
    uv_run(&g_w.loop, UV_RUN_DEFAULT);
    client *a = &g_w.clients[0], *b = &g_w.clients[1], *c = &g_w.clients[2], *d = &g_w.clients[3];
    print_message("step %d: acks %d/%d/%d refused(d) %d, counts a=%d b=%d c=%d, b got %d\n",
                  g_w.step, a->acks_ok, b->acks_ok, c->acks_ok, d->acks_refused, a->last_count,
                  b->last_count, c->last_count, b->peer_signals);
    assert_int_equal(g_w.step, 3);
    assert_int_equal(d->acks_refused, 1); /* forged registration refused and closed */
    assert_int_equal(d->closed, 1);
    assert_int_equal(c->last_count, 1); /* room y never saw room x's members */
    assert_int_equal(c->peer_signals, 0);
    char fp_a[WZP_FINGERPRINT_TEXT];
    wzp_fingerprint_format(a->id.fingerprint, fp_a);
    assert_string_equal(b->peer_from, fp_a); /* stamped by the relay */
    assert_true(a->sid != 0);
    assert_int_equal(b->peer_from_session, a->sid);
    assert_int_equal(b->peer_signals, 1); /* the one for another device of b went nowhere */
    g_w.shutting_down = true;
    uv_timer_stop(&g_w.tick);
    uv_close((uv_handle_t *)&g_w.tick, NULL);
    wzp_quic_endpoint_free(g_w.ep);
    wzp_relay_server_free(g_w.relay);
    uv_run(&g_w.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&g_w.loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rooms_join_update_route_and_refuse_forgeries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
