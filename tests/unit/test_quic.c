/* QUIC on loopback with real ngtcp2 + GnuTLS: a pinned client reaches the server, the server
 * sees the room SNI, signalling flows both ways on the stream; a wrong pin is refused; two
 * endpoints each accept and initiate on their one socket at the same time (what a direct
 * peer-to-peer call needs). */
#include <uv.h>

#include "testutil.h"
#include "wzp/quic.h"
#include "wzp/signal.h"

typedef struct world {
    uv_loop_t loop;
    uv_timer_t guard;
    wzp_quic_endpoint *server, *client;
    char server_sni[256];
    int server_established, client_established, client_closed, client_close_error;
    char got_at_server[128], got_at_client[128];
    uint8_t export_server[32], export_client[32];
    bool done, shutting_down;
    int pongs, want_pongs;
} world;

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    world *w = user;
    if (wzp_quic_conn_get_user(c) == (void *)1) { /* a client connection */
        w->client_established++;
        const char *ping = "{\"Ping\":{\"timestamp_ms\":42}}";
        assert_int_equal(wzp_quic_send_signal(c, (const uint8_t *)ping, strlen(ping)), 0);
    } else {
        w->server_established++;
        snprintf(w->server_sni, sizeof(w->server_sni), "%s", sni);
    }
    return 0;
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    world *w = user;
    if (wzp_quic_conn_get_user(c) == (void *)1) {
        snprintf(w->got_at_client, sizeof(w->got_at_client), "%.*s", (int)len, json);
        assert_int_equal(wzp_quic_export(c, "EXPORTER-wzp-media-hop", w->export_client), 0);
        if (++w->pongs == w->want_pongs) {
            w->done = true;
            uv_stop(&w->loop);
        }
    } else {
        snprintf(w->got_at_server, sizeof(w->got_at_server), "%.*s", (int)len, json);
        assert_int_equal(wzp_quic_export(c, "EXPORTER-wzp-media-hop", w->export_server), 0);
        const char *pong = "{\"Pong\":{\"timestamp_ms\":42}}";
        assert_int_equal(wzp_quic_send_signal(c, (const uint8_t *)pong, strlen(pong)), 0);
    }
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    world *w = user;
    (void)reason;
    if (wzp_quic_conn_get_user(c) == (void *)1 && !w->shutting_down) {
        w->client_closed++;
        w->client_close_error = error;
        w->done = true;
        uv_stop(&w->loop);
    }
}

static void on_guard(uv_timer_t *t) {
    uv_stop(t->loop);
}

/* `both_ways`: the "client" endpoint has an identity too and the "server" also connects to it. */
static void run_world(world *w, bool right_pin, bool both_ways) {
    memset(w, 0, sizeof(*w));
    w->want_pongs = both_ways ? 2 : 1;
    assert_int_equal(uv_loop_init(&w->loop), 0);
    uint8_t seed[32] = {7}, seed2[32] = {8};
    wzp_tls_identity *id = NULL, *id2 = NULL;
    assert_int_equal(wzp_tls_identity_from_seed(seed, &id), 0);
    assert_int_equal(wzp_tls_identity_from_seed(seed2, &id2), 0);
    wzp_quic_callbacks cb = {w, on_established, on_signal, on_closed, NULL};
    wzp_quic_config scfg = {.bind = "127.0.0.1:0", .identity = id, .cb = cb},
                    ccfg = {.bind = "127.0.0.1:0", .identity = both_ways ? id2 : NULL, .cb = cb};
    assert_int_equal(wzp_quic_endpoint_new(&w->loop, &scfg, &w->server), 0);
    assert_int_equal(wzp_quic_endpoint_new(&w->loop, &ccfg, &w->client), 0);
    uint8_t pin[32];
    wzp_tls_identity_fingerprint(id, pin);
    if (!right_pin) {
        pin[0] ^= 1;
    }
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", wzp_quic_endpoint_port(w->server));
    wzp_quic_conn *c = NULL;
    assert_int_equal(wzp_quic_connect(w->client, addr, "5d61faddbb77f2a92f815bbaac9dbc91", pin, &c),
                     0);
    wzp_quic_conn_set_user(c, (void *)1);
    if (both_ways) { /* the same two sockets, the other direction, at the same time */
        uint8_t pin2[32];
        wzp_tls_identity_fingerprint(id2, pin2);
        snprintf(addr, sizeof(addr), "127.0.0.1:%u", wzp_quic_endpoint_port(w->client));
        assert_int_equal(wzp_quic_connect(w->server, addr, "p2p", pin2, &c), 0);
        wzp_quic_conn_set_user(c, (void *)1);
    }
    uv_timer_init(&w->loop, &w->guard);
    uv_timer_start(&w->guard, on_guard, 5000, 0);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&w->guard);
    uv_close((uv_handle_t *)&w->guard, NULL);
    w->shutting_down = true;
    wzp_quic_endpoint_free(w->client);
    wzp_quic_endpoint_free(w->server);
    w->shutting_down = true;
    uv_run(&w->loop, UV_RUN_DEFAULT); /* let every handle close */
    assert_int_equal(uv_loop_close(&w->loop), 0);
    wzp_tls_identity_free(id);
    wzp_tls_identity_free(id2);
}

static void test_pinned_client_exchanges_signalling_and_server_sees_sni(void **state) {
    (void)state;
    world w;
    run_world(&w, true, false);
    assert_true(w.done);
    assert_int_equal(w.server_established, 1);
    assert_int_equal(w.client_established, 1);
    assert_string_equal(w.server_sni, "5d61faddbb77f2a92f815bbaac9dbc91");
    assert_string_equal(w.got_at_server, "{\"Ping\":{\"timestamp_ms\":42}}");
    assert_string_equal(w.got_at_client, "{\"Pong\":{\"timestamp_ms\":42}}");
    /* both ends derive the same exporter value: the root of the hop keys and the binding */
    assert_memory_equal(w.export_client, w.export_server, 32);
    uint8_t zero[32] = {0};
    assert_memory_not_equal(w.export_client, zero, 32);
}

static void test_wrong_pin_is_refused(void **state) {
    (void)state;
    world w;
    run_world(&w, false, false);
    assert_true(w.done);
    assert_int_equal(w.client_established, 0);
    assert_int_equal(w.server_established, 0);
    assert_int_equal(w.client_closed, 1);
    assert_int_equal(w.client_close_error, WZP_ERR_AUTH);
}

static void test_one_socket_accepts_and_initiates_at_once(void **state) {
    (void)state;
    world w;
    run_world(&w, true, true);
    assert_true(w.done);
    assert_int_equal(w.pongs, 2);              /* each endpoint's outgoing call got its answer */
    assert_int_equal(w.server_established, 2); /* and each accepted the other's */
    assert_int_equal(w.client_established, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_client_exchanges_signalling_and_server_sees_sni),
        cmocka_unit_test(test_wrong_pin_is_refused),
        cmocka_unit_test(test_one_socket_accepts_and_initiates_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
