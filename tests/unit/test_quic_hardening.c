/* The QUIC endpoint under abuse, with real ngtcp2 + GnuTLS on loopback:
 * - Retry: a server under handshake load (or told to always) makes new clients prove their
 *   address; a client still connects; a flood of replayed Initials costs no state; a Retry token
 *   echoed from another address is refused.
 * - Stateless reset: a relay restarted from the same seed resets its old connections at once
 *   (the client learns in milliseconds, not after the 30 s idle timeout); one restarted from
 *   another seed cannot; a forged reset does not kill a connection; resets are rate-limited and
 *   always shorter than what triggered them. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "testutil.h"
#include "wzp/quic.h"

#define ROOM "5d61faddbb77f2a92f815bbaac9dbc91"
#define PING "{\"Ping\":{\"timestamp_ms\":1}}"

typedef struct world {
    uv_loop_t loop;
    uv_timer_t stop;
    int established, pongs, closed, close_error;
    char close_reason[160];
    uint64_t closed_at;
} world;

static world g;

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    (void)sni;
    (void)user;
    if (wzp_quic_conn_get_user(c) == (void *)1) {
        g.established++;
        assert_int_equal(wzp_quic_send_signal(c, (const uint8_t *)PING, strlen(PING)), 0);
    }
    return 0;
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    (void)user;
    (void)json;
    (void)len;
    if (wzp_quic_conn_get_user(c) == (void *)1) {
        g.pongs++;
    } else {
        assert_int_equal(wzp_quic_send_signal(c, (const uint8_t *)PING, strlen(PING)), 0);
    }
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    (void)user;
    if (wzp_quic_conn_get_user(c) == (void *)1) {
        g.closed++;
        g.close_error = error;
        g.closed_at = uv_now(&g.loop);
        snprintf(g.close_reason, sizeof(g.close_reason), "%s", reason);
    }
}

static void on_stop(uv_timer_t *t) {
    uv_stop(t->loop);
}

static void run_for(uint64_t ms) {
    uv_timer_start(&g.stop, on_stop, ms, 0);
    uv_run(&g.loop, UV_RUN_DEFAULT);
    uv_timer_stop(&g.stop);
}

/* Run until `*flag` reaches `want` or `ms` pass. */
static void run_until(const int *flag, int want, uint64_t ms) {
    for (uint64_t t = 0; t < ms && *flag < want; t += 10) {
        run_for(10);
    }
}

static wzp_quic_endpoint *endpoint(wzp_tls_identity *id, const char *bind, bool retry_always,
                                   uint32_t retry_above) {
    wzp_quic_config cfg = {.bind = bind,
                           .identity = id,
                           .cb = {NULL, on_established, on_signal, on_closed, NULL},
                           .retry_always = retry_always,
                           .retry_above = retry_above};
    wzp_quic_endpoint *ep = NULL;
    assert_int_equal(wzp_quic_endpoint_new(&g.loop, &cfg, &ep), 0);
    return ep;
}

static wzp_quic_conn *connect_to(wzp_quic_endpoint *client, uint16_t port, wzp_tls_identity *id) {
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
    uint8_t pin[32];
    wzp_tls_identity_fingerprint(id, pin);
    wzp_quic_conn *c = NULL;
    assert_int_equal(wzp_quic_connect(client, addr, ROOM, pin, &c), 0);
    wzp_quic_conn_set_user(c, (void *)1);
    return c;
}

static wzp_tls_identity *identity(uint8_t b) {
    uint8_t seed[32] = {b};
    wzp_tls_identity *id = NULL;
    assert_int_equal(wzp_tls_identity_from_seed(seed, &id), 0);
    return id;
}

/* A plain non-blocking UDP socket on 127.0.0.1 (a sink, an injector, a spoofer). */
static int udp_socket(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

static void send_to(int fd, uint16_t port, const uint8_t *data, size_t len) {
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)len);
}

/* A client's first Initial, caught by a socket that never answers. */
static size_t capture_initial(wzp_tls_identity *id, uint8_t *out, size_t cap) {
    uint16_t port;
    int sink = udp_socket(&port);
    wzp_quic_endpoint *client = endpoint(NULL, "127.0.0.1:0", false, 0);
    (void)connect_to(client, port, id);
    run_for(30);
    ssize_t n = recv(sink, out, cap, 0);
    assert_true(n >= 1200 && (out[0] & 0x80));
    g.closed = 0;
    wzp_quic_endpoint_free(client);
    run_for(10);
    close(sink);
    return (size_t)n;
}

static size_t drain(int fd, size_t *max_len) {
    uint8_t buf[2048];
    size_t count = 0;
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) >= 0) {
        count++;
        if (max_len != NULL && (size_t)n > *max_len) {
            *max_len = (size_t)n;
        }
    }
    return count;
}

/* One turn of a forwarder socket between a client and a server on `sport`: what the server sends
 * goes to the client last heard from (`cl`); `hook` sees each client packet first and says whether
 * to forward it. */
typedef bool (*client_hook)(const uint8_t *pkt, size_t len);

static void pump(int fwd, uint16_t sport, struct sockaddr_in *cl, client_hook hook) {
    run_for(5);
    uint8_t buf[2048];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n;
    while ((n = recvfrom(fwd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) > 0) {
        if (ntohs(from.sin_port) == sport) {
            (void)sendto(fwd, buf, (size_t)n, 0, (struct sockaddr *)cl, sizeof(*cl));
        } else {
            *cl = from;
            if (hook == NULL || hook(buf, (size_t)n)) {
                send_to(fwd, sport, buf, (size_t)n);
            }
        }
        fl = sizeof(from);
    }
}

/* ---- a copier on the path ----------------------------------------------------------------- */

static int g_copier = -1;
static uint16_t g_sport;

/* Every short-header packet of the client is also sent, first, from the copier's socket. */
static bool copy_ahead(const uint8_t *pkt, size_t len) {
    if (!(pkt[0] & 0x80)) {
        send_to(g_copier, g_sport, pkt, len);
    }
    return true;
}

/* Someone on the path re-sends each of the client's packets from its own address, ahead of the
 * original. The server drops each copy when its original comes from the connection's address
 * (within 25 ms) instead of following it: twenty pings later the client still gets every answer,
 * and the copier's address got nothing. (Before: the server answered wherever the last packet
 * came from: 32 datagrams of the connection went to the copier's address.) */
static void test_copies_from_another_address_do_not_move_a_connection(void **state) {
    (void)state;
    wzp_tls_identity *id = identity(9);
    wzp_quic_endpoint *server = endpoint(id, "127.0.0.1:0", false, 0);
    g_sport = wzp_quic_endpoint_port(server);
    uint16_t fport, cport;
    int fwd = udp_socket(&fport);
    g_copier = udp_socket(&cport);
    wzp_quic_endpoint *client = endpoint(NULL, "127.0.0.1:0", false, 0);
    wzp_quic_conn *c = connect_to(client, fport, id);
    struct sockaddr_in cl = {0};
    for (int i = 0; i < 400 && g.pongs < 1; i++) {
        pump(fwd, g_sport, &cl, copy_ahead);
    }
    assert_int_equal(g.pongs, 1); /* connected (through the forwarder, copies and all) */
    for (int round = 1; round <= 20; round++) {
        assert_int_equal(wzp_quic_send_signal(c, (const uint8_t *)PING, strlen(PING)), 0);
        for (int i = 0; i < 100 && g.pongs < 1 + round; i++) {
            pump(fwd, g_sport, &cl, copy_ahead);
        }
    }
    wzp_quic_stats st;
    wzp_quic_endpoint_stats(server, &st);
    size_t to_copier = drain(g_copier, NULL);
    print_message("20 pings: %d answers; %llu copies dropped, %llu held packets passed on; the "
                  "copier's address got %zu datagrams\n",
                  g.pongs - 1, (unsigned long long)st.copies_dropped,
                  (unsigned long long)st.held_released, to_copier);
    assert_int_equal(g.pongs, 21);
    assert_true(st.copies_dropped >= 20);
    assert_int_equal(to_copier, 0);
    assert_int_equal(g.closed, 0);
    wzp_quic_endpoint_free(client);
    wzp_quic_endpoint_free(server);
    run_for(20);
    close(fwd);
    close(g_copier);
    wzp_tls_identity_free(id);
}

static int setup(void **state) {
    (void)state;
    memset(&g, 0, sizeof(g));
    assert_int_equal(uv_loop_init(&g.loop), 0);
    uv_timer_init(&g.loop, &g.stop);
    return 0;
}

static void close_any(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) {
        uv_close(h, NULL); /* only after a failed test: endpoints left open are abandoned */
    }
}

static int teardown(void **state) {
    (void)state;
    uv_close((uv_handle_t *)&g.stop, NULL);
    uv_walk(&g.loop, close_any, NULL);
    uv_run(&g.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&g.loop), 0);
    return 0;
}

static void test_retry_always_client_connects_and_replays_cost_nothing(void **state) {
    (void)state;
    wzp_tls_identity *id = identity(1);
    uint8_t initial[1500];
    size_t ilen = capture_initial(id, initial, sizeof(initial));

    wzp_quic_endpoint *server = endpoint(id, "127.0.0.1:0", true, 0);
    wzp_quic_endpoint *client = endpoint(NULL, "127.0.0.1:0", false, 0);
    (void)connect_to(client, wzp_quic_endpoint_port(server), id);
    run_until(&g.pongs, 1, 3000);
    assert_int_equal(g.established, 1);
    assert_int_equal(g.pongs, 1); /* signalling works through an address-validated connection */
    wzp_quic_stats st;
    wzp_quic_endpoint_stats(server, &st);
    assert_int_equal(st.retries_sent, 1);
    assert_int_equal(st.connections, 1);

    /* 300 replayed Initials from one address: 300 Retries (each smaller than its Initial), no
     * connection state */
    uint16_t port;
    int inj = udp_socket(&port);
    size_t biggest = 0, answers = 0;
    for (int i = 0; i < 300; i++) {
        send_to(inj, wzp_quic_endpoint_port(server), initial, ilen);
        if (i % 50 == 49) {
            run_for(20);
            answers += drain(inj, &biggest);
        }
    }
    wzp_quic_endpoint_stats(server, &st);
    print_message("300 replayed Initials (%zu bytes): %zu Retries of at most %zu bytes, "
                  "connections %zu, handshaking %zu\n",
                  ilen, answers, biggest, st.connections, st.handshaking);
    assert_int_equal(st.retries_sent, 301);
    assert_int_equal(answers, 300);
    assert_true(biggest < ilen / 4);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.handshaking, 0);
    close(inj);
    wzp_quic_endpoint_free(client);
    wzp_quic_endpoint_free(server);
    run_for(10);
    wzp_tls_identity_free(id);
}

/* A Retry token echoed from another address (an attacker racing a victim with the victim's
 * token) is refused without state. A real client connects through a forwarder socket that holds
 * back its second Initial (the one carrying the token), sends it from another address first,
 * then lets the original through. */
static uint8_t g_tokened[1500];
static size_t g_tlen;
static wzp_quic_endpoint *g_server;

static bool hold_tokened_initial(const uint8_t *pkt, size_t len) {
    wzp_quic_stats st;
    wzp_quic_endpoint_stats(g_server, &st);
    if ((pkt[0] & 0xb0) == 0x80 && len >= 1200 && g_tlen == 0 && st.retries_sent == 1) {
        memcpy(g_tokened, pkt, len);
        g_tlen = len;
        return false;
    }
    return true;
}

static void test_retry_token_from_another_address_is_refused(void **state) {
    (void)state;
    wzp_tls_identity *id = identity(2);
    g_server = endpoint(id, "127.0.0.1:0", true, 0);
    g_tlen = 0;
    uint16_t fport, sport = wzp_quic_endpoint_port(g_server), aport;
    int fwd = udp_socket(&fport), attacker = udp_socket(&aport);
    wzp_quic_endpoint *client = endpoint(NULL, "127.0.0.1:0", false, 0);
    (void)connect_to(client, fport, id);
    struct sockaddr_in cl = {0};
    for (int turn = 0; turn < 100 && g_tlen == 0; turn++) {
        pump(fwd, sport, &cl, hold_tokened_initial);
    }
    assert_true(g_tlen > 0);
    wzp_quic_stats before, after;
    wzp_quic_endpoint_stats(g_server, &before);
    send_to(attacker, sport, g_tokened, g_tlen);
    run_for(50);
    wzp_quic_endpoint_stats(g_server, &after);
    print_message("token echoed from another port: refused %llu -> %llu, connections %zu -> %zu\n",
                  (unsigned long long)before.retry_tokens_refused,
                  (unsigned long long)after.retry_tokens_refused, before.connections,
                  after.connections);
    assert_int_equal(after.retry_tokens_refused, before.retry_tokens_refused + 1);
    assert_int_equal(after.connections, 0);
    assert_int_equal(drain(attacker, NULL), 0); /* and nothing is sent to it */
    send_to(fwd, sport, g_tokened, g_tlen);     /* the victim's own copy still works */
    for (int turn = 0; turn < 300 && g.pongs < 1; turn++) {
        pump(fwd, sport, &cl, NULL);
    }
    assert_int_equal(g.pongs, 1);
    close(attacker);
    close(fwd);
    wzp_quic_endpoint_free(client);
    wzp_quic_endpoint_free(g_server);
    run_for(10);
    wzp_tls_identity_free(id);
}

static void test_retry_only_under_handshake_load(void **state) {
    (void)state;
    wzp_tls_identity *id = identity(3);
    uint8_t i1[1500], i2[1500];
    size_t l1 = capture_initial(id, i1, sizeof(i1)), l2 = capture_initial(id, i2, sizeof(i2));
    wzp_quic_endpoint *server = endpoint(id, "127.0.0.1:0", false, 2);
    uint16_t port, sport = wzp_quic_endpoint_port(server);
    int half = udp_socket(&port); /* two handshakes that will never finish */
    send_to(half, sport, i1, l1);
    send_to(half, sport, i2, l2);
    run_for(50);
    wzp_quic_stats st;
    wzp_quic_endpoint_stats(server, &st);
    assert_int_equal(st.handshaking, 2);
    assert_int_equal(st.retries_sent, 0); /* below the threshold nobody is asked */
    wzp_quic_endpoint *client = endpoint(NULL, "127.0.0.1:0", false, 0);
    (void)connect_to(client, sport, id);
    run_until(&g.pongs, 1, 3000);
    wzp_quic_endpoint_stats(server, &st);
    print_message("with 2 half-open handshakes: retries %llu, client pongs %d\n",
                  (unsigned long long)st.retries_sent, g.pongs);
    assert_int_equal(st.retries_sent, 1); /* at the threshold the next client proves itself */
    assert_int_equal(g.pongs, 1);         /* and gets through */
    close(half);
    wzp_quic_endpoint_free(client);
    wzp_quic_endpoint_free(server);
    run_for(10);
    wzp_tls_identity_free(id);
}

/* The relay "crashes" (its socket is gone without a word: the forwarder stops delivering and the
 * old endpoint is freed out of sight) and comes back behind the same address. */
static void restart_case(uint8_t new_seed, bool expect_reset) {
    wzp_tls_identity *id = identity(4), *id2 = identity(new_seed);
    wzp_quic_endpoint *server = endpoint(id, "127.0.0.1:0", false, 0);
    uint16_t fport, sport = wzp_quic_endpoint_port(server);
    int fwd = udp_socket(&fport);
    wzp_quic_endpoint *client = endpoint(NULL, "127.0.0.1:0", false, 0);
    wzp_quic_conn *c = connect_to(client, fport, id);
    struct sockaddr_in cl = {0};
    bool crashed = false;
    uint64_t sent_at = 0;
    for (int turn = 0; turn < 400; turn++) {
        pump(fwd, sport, &cl, NULL);
        if (g.pongs == 1 && !crashed) {
            crashed = true;
            uint16_t old = sport;
            wzp_quic_endpoint_free(server); /* its CONNECTION_CLOSE goes to the forwarder ... */
            run_for(20);
            (void)drain(fwd, NULL); /* ... which drops it: the client never hears */
            server = endpoint(id2, "127.0.0.1:0", false, 0);
            sport = wzp_quic_endpoint_port(server);
            assert_int_not_equal(sport, old);
            sent_at = uv_now(&g.loop); /* the client speaks: a short-header packet */
            assert_int_equal(wzp_quic_send_signal(c, (const uint8_t *)PING, strlen(PING)), 0);
        }
        if (g.closed > 0 || (crashed && uv_now(&g.loop) - sent_at > 1500)) {
            break;
        }
    }
    wzp_quic_stats sst, cst;
    wzp_quic_endpoint_stats(server, &sst);
    wzp_quic_endpoint_stats(client, &cst);
    print_message("restart with %s seed: resets sent %llu, received %llu, client closed %d "
                  "after %llu ms (%s)\n",
                  expect_reset ? "the same" : "another", (unsigned long long)sst.resets_sent,
                  (unsigned long long)cst.resets_received, g.closed,
                  (unsigned long long)(g.closed ? g.closed_at - sent_at : 0), g.close_reason);
    assert_true(crashed);
    assert_true(sst.resets_sent >= 1);
    if (expect_reset) {
        assert_int_equal(g.closed, 1);
        assert_int_equal(g.close_error, WZP_ERR_IO);
        assert_non_null(strstr(g.close_reason, "stateless reset"));
        assert_int_equal(cst.resets_received, 1);
        assert_true(g.closed_at - sent_at < 1000);
    } else {
        assert_int_equal(g.closed, 0); /* another key cannot forge our peer's token */
        assert_int_equal(cst.resets_received, 0);
    }
    close(fwd);
    wzp_quic_endpoint_free(client);
    wzp_quic_endpoint_free(server);
    run_for(10);
    wzp_tls_identity_free(id);
    wzp_tls_identity_free(id2);
}

static void test_restarted_relay_resets_old_connections(void **state) {
    (void)state;
    restart_case(4, true);
}

static void test_relay_with_another_seed_cannot_reset(void **state) {
    (void)state;
    restart_case(5, false);
}

/* Random short-header packets: a server answers at most RESETS_PER_SEC (100) in a burst, each
 * shorter than its trigger; sent from the server's address to a client they are not a reset and
 * the client's connection lives on. */
static void test_resets_rate_limited_and_forged_ones_harmless(void **state) {
    (void)state;
    wzp_tls_identity *id = identity(6);
    wzp_quic_endpoint *server = endpoint(id, "127.0.0.1:0", false, 0);
    uint16_t port, sport = wzp_quic_endpoint_port(server);
    int inj = udp_socket(&port);
    uint8_t junk[60];
    size_t biggest = 0, answers = 0;
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < 1000; i++) {
        randombytes_buf(junk, sizeof(junk));
        junk[0] = (uint8_t)((junk[0] & 0x3f) | 0x40); /* short header */
        send_to(inj, sport, junk, sizeof(junk));
        if (i % 100 == 99) {
            run_for(1);
            answers += drain(inj, &biggest);
        }
    }
    uint64_t ms = (uv_hrtime() - t0) / 1000000 + 2;
    run_for(30); /* the last ones */
    answers += drain(inj, &biggest);
    wzp_quic_stats st;
    wzp_quic_endpoint_stats(server, &st);
    ms += 30; /* a burst of 100, then 100 per second of the time it all took */
    print_message("1000 stray packets of 60 bytes in %llu ms: %zu resets (largest %zu bytes), "
                  "%llu suppressed\n",
                  (unsigned long long)ms, answers, biggest,
                  (unsigned long long)st.resets_suppressed);
    assert_true(answers >= 100 && answers <= 100 + ms / 10);
    assert_int_equal(answers, st.resets_sent);
    assert_true(biggest < sizeof(junk));
    assert_int_equal(st.resets_suppressed + answers, 1000);
    close(inj);

    /* forged resets toward a live client from the server's own address (a forwarder stands in
     * for the server, so a spoofer can do no better): they are not resets, the call lives on */
    uint16_t fport;
    int fwd = udp_socket(&fport);
    wzp_quic_endpoint *client = endpoint(NULL, "127.0.0.1:0", false, 0);
    wzp_quic_conn *c = connect_to(client, fport, id);
    struct sockaddr_in cl = {0};
    for (int turn = 0; turn < 300 && g.pongs < 1; turn++) {
        pump(fwd, sport, &cl, NULL);
    }
    assert_int_equal(g.pongs, 1);
    for (int i = 0; i < 200; i++) {
        randombytes_buf(junk, sizeof(junk));
        junk[0] = (uint8_t)((junk[0] & 0x3f) | 0x40);
        (void)sendto(fwd, junk, sizeof(junk), 0, (struct sockaddr *)&cl, sizeof(cl));
    }
    assert_int_equal(wzp_quic_send_signal(c, (const uint8_t *)PING, strlen(PING)), 0);
    for (int turn = 0; turn < 300 && g.pongs < 2; turn++) {
        pump(fwd, sport, &cl, NULL);
    }
    wzp_quic_stats cst;
    wzp_quic_endpoint_stats(client, &cst);
    print_message("200 forged resets from the server's address: client closed %d, resets "
                  "received %llu, pongs %d\n",
                  g.closed, (unsigned long long)cst.resets_received, g.pongs);
    assert_int_equal(g.closed, 0);
    assert_int_equal(cst.resets_received, 0);
    assert_int_equal(g.pongs, 2); /* still talking */
    close(fwd);
    wzp_quic_endpoint_free(client);
    wzp_quic_endpoint_free(server);
    run_for(10);
    wzp_tls_identity_free(id);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retry_always_client_connects_and_replays_cost_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_token_from_another_address_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_only_under_handshake_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restarted_relay_resets_old_connections, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_relay_with_another_seed_cannot_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copies_from_another_address_do_not_move_a_connection,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_resets_rate_limited_and_forged_ones_harmless, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
