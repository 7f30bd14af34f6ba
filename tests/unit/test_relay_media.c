/*
 * The media plane through a real relay on loopback: after joining, members get a session id and
 * hop keys from their QUIC connection; a member's media reaches every other member of its room
 * and nobody else; a replayed datagram, one forged with another member's session id, both of
 * those again from a spoofed source address, and a datagram for an unknown session are refused
 * with nothing sent (no fan-out, nothing to the spoofed address, the member stays where it is); a
 * member moving to a new source port keeps talking and hearing (roaming). Then A speaks for real (a
 * 440 Hz tone through the call encoder, end-to-end sealed): everything the relay handles is
 * captured at its tap, and with every key the relay holds (its seed, A's hop keys) none of it
 * opens, while B, holding A's sender key, hears the tone from the very same bytes.
 */
#include <sodium.h>
#include <stdlib.h>
#include <uv.h>

#include "audio_util.h"
#include "e2e_testutil.h"
#include "relay_testutil.h"
#include "wzp/call.h"
#include "wzp/hop.h"
#include "wzp/quic.h"
#include "wzp/relay.h"

#define NC 4

typedef struct client {
    wzp_identity id;
    wzp_quic_conn *conn;
    uint32_t sid;
    wzp_hop_tx tx;
    wzp_hop_rx rx;
    wzp_hop_keys keys;
    int received;
    char last[32];
} client;

static struct {
    uv_loop_t loop;
    uv_timer_t tick;
    wzp_relay_server *relay;
    wzp_quic_endpoint *ep, *ep2;   /* ep2: A's new socket after roaming */
    wzp_quic_endpoint *spoofer;    /* sends A's packets from an address A never used */
    int spoof_rx;                  /* anything the relay sent to the spoofed address */
    int challenges;                /* path challenges A answered (its move to ep2) */
    wzp_quic_endpoint *a_heard_on; /* the socket A last received media on */
    struct sockaddr_in relay_addr;
    client c[NC];
    int step, wait;
    uint8_t saved[256]; /* the newest datagram sent */
    size_t saved_len;
    uint8_t first[256]; /* A's first */
    size_t first_len;
    bool shutting_down;
    uint64_t in5, out5, refused5; /* relay counters before the end-to-end part */
    bool e2e;
    uint8_t a_key[WZP_KEY_SIZE]; /* A's sender key: never given to the relay */
    size_t e2e_sent;
    capture tapped, heard; /* what the relay forwarded; what B received from A */
} g;

static void on_tap(uint32_t sid, const uint8_t *pkt, size_t len, void *user) {
    (void)user;
    if (g.e2e && sid == g.c[0].sid) {
        keep(&g.tapped, pkt, len);
    }
}

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
        wzp_hop_keys *keys = &cl->keys;
        assert_int_equal(wzp_quic_export(c, WZP_HOP_EXPORTER_LABEL, exporter), 0);
        assert_int_equal(wzp_hop_keys_derive(exporter, keys), 0);
        cl->sid = m->u.media_session.session_id;
        wzp_hop_tx_init(&cl->tx, cl->sid, keys->client_to_relay);
        wzp_hop_rx_init(&cl->rx, cl->sid, keys->relay_to_client);
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
            if (n == WZP_HOP_CHALLENGE_SIZE && p[0] == WZP_HOP_CHALLENGE) {
                /* the relay checks A's new address: answer from where it came, as a client does */
                uint8_t reply[WZP_HOP_CHALLENGE_SIZE + WZP_HOP_OVERHEAD], body[9];
                memcpy(body, p, sizeof(body));
                body[0] = WZP_HOP_CHALLENGE_REPLY;
                size_t rn = 0;
                assert_int_equal(wzp_hop_seal(&g.c[i].tx, body, 9, reply, sizeof(reply), &rn), 0);
                wzp_quic_send_datagram(ep, reply, rn, (const struct sockaddr *)&g.relay_addr);
                g.challenges++;
                continue;
            }
            assert_true(n >= 4); /* the sender's session id, then its packet */
            uint32_t sender = relay_test_sender(p);
            bool known = false;
            for (int j = 0; j < NC; j++) {
                known = known || (g.c[j].sid == sender && j != i);
            }
            assert_true(known);
            g.c[i].received++;
            if (i == 0) {
                g.a_heard_on = ep;
            }
            if (g.e2e && i == 1 && sender == g.c[0].sid) {
                keep(&g.heard, p + 4, n - 4);
            }
            if (!g.e2e) {
                snprintf(g.c[i].last, sizeof(g.c[i].last), "%.*s", (int)(n - 4), p + 4);
            }
        }
    }
    return true;
}

static bool on_spoofer_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                                const struct sockaddr *from, void *user) {
    (void)ep;
    (void)data;
    (void)len;
    (void)from;
    (void)user;
    g.spoof_rx++;
    return true;
}

static void send_media(wzp_quic_endpoint *ep, client *cl, const char *text) {
    uint8_t out[256];
    size_t n = 0;
    assert_int_equal(
        wzp_hop_seal(&cl->tx, (const uint8_t *)text, strlen(text), out, sizeof(out), &n), 0);
    memcpy(g.saved, out, n);
    g.saved_len = n;
    if (strcmp(text, "a0") == 0) {
        memcpy(g.first, out, n);
        g.first_len = n;
    }
    wzp_quic_send_datagram(ep, out, n, (const struct sockaddr *)&g.relay_addr);
}

/* One second of 440 Hz through A's call encoder, sealed with A's own sender key. */
static void send_tone_e2e(client *a) {
    static wzp_datagram dg[WZP_CALL_MAX_OUT];
    wzp_call_config cc = wzp_call_default_config();
    wzp_call_encoder *enc = NULL;
    randombytes_buf(g.a_key, sizeof(g.a_key));
    assert_int_equal(wzp_call_encoder_new(&cc, g.a_key, 1, &enc), 0);
    g.e2e = true;
    int16_t pcm[WZP_MAX_FRAME_SAMPLES];
    size_t fs = wzp_call_encoder_frame_samples(enc);
    for (size_t at = 0; at <= 48000; at += fs) {
        size_t n = 0;
        tone(pcm, fs, 440.0, 0.3, at);
        if (at < 48000) {
            assert_int_equal(wzp_call_encoder_push(enc, pcm, fs, at / 48, dg, WZP_CALL_MAX_OUT, &n),
                             0);
        } else {
            assert_int_equal(wzp_call_encoder_flush(enc, 1000, dg, WZP_CALL_MAX_OUT, &n), 0);
        }
        for (size_t i = 0; i < n; i++) {
            uint8_t out[WZP_DATAGRAM_MAX + WZP_HOP_OVERHEAD];
            size_t len = 0;
            assert_int_equal(wzp_hop_seal(&a->tx, dg[i].data, dg[i].len, out, sizeof(out), &len),
                             0);
            wzp_quic_send_datagram(g.ep2, out, len, (const struct sockaddr *)&g.relay_addr);
            g.e2e_sent++;
        }
    }
    wzp_call_encoder_free(enc);
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
            /* spoofed source: A's own (captured, older) packet and a forged one from another
             * address. (A copy of one of A's newest, within 50 ms, would get a path challenge:
             * the relay cannot tell it from a copier racing A -- tests/integration/roaming.sh.) */
            wzp_quic_send_datagram(g.spoofer, g.first, g.first_len,
                                   (const struct sockaddr *)&g.relay_addr);
            forger.counter = 900;
            assert_int_equal(wzp_hop_seal(&forger, (const uint8_t *)"evil", 4, out, 64, &n), 0);
            wzp_quic_send_datagram(g.spoofer, out, n, (const struct sockaddr *)&g.relay_addr);
            forger.sid = 0x05001234;
            assert_int_equal(wzp_hop_seal(&forger, (const uint8_t *)"evil", 4, out, 64, &n), 0);
            wzp_quic_send_datagram(g.ep, out, n, (const struct sockaddr *)&g.relay_addr);
            g.step = 2;
            g.wait = 0;
        }
        break;
    case 2:
        if (g.wait >= 20) { /* 200 ms: anything the attacks caused would be here by now */
            assert_int_equal(b->received, 5); /* no fan-out of anything refused */
            assert_int_equal(c->received, 5);
            assert_int_equal(g.spoof_rx, 0); /* and no reply to the spoofed address */
            send_media(g.ep2, a, "roamed");  /* A now speaks from another socket */
            g.step = 3;
            g.wait = 0;
        }
        break;
    case 3: /* the relay challenged A's new address and A answered from there */
        if (b->received == 6 && g.challenges == 1 && g.wait >= 3) {
            send_media(g.ep, b, "b0"); /* goes to A's new address */
            g.step = 4;
        }
        break;
    case 4:
        if (a->received == 1) {
            wzp_relay_server_media_stats(g.relay, &g.in5, &g.out5, &g.refused5);
            send_tone_e2e(a);
            g.step = 5;
            g.wait = 0;
        }
        break;
    case 5:
        if (g.heard.n == g.e2e_sent || g.wait >= 200) {
            g.step = 6;
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
    wzp_relay_server_config cfg = {
        .listen = "127.0.0.1:0", .seed = seed, .rooms = {16, 8, 30000}, .tap = on_tap};
    assert_int_equal(wzp_relay_server_new(&g.loop, &cfg, &g.relay), 0);
    wzp_quic_config qc = {.bind = "127.0.0.1:0",
                          .cb = {NULL, on_established, on_signal, on_closed, on_datagram}};
    assert_int_equal(wzp_quic_endpoint_new(&g.loop, &qc, &g.ep), 0);
    assert_int_equal(wzp_quic_endpoint_new(&g.loop, &qc, &g.ep2), 0);
    wzp_quic_config sq = {.bind = "127.0.0.1:0",
                          .cb = {NULL, NULL, NULL, NULL, on_spoofer_datagram}};
    assert_int_equal(wzp_quic_endpoint_new(&g.loop, &sq, &g.spoofer), 0);
    uv_ip4_addr("127.0.0.1", wzp_relay_server_port(g.relay), &g.relay_addr);
    uint8_t pin[32];
    char addr[64], room_x[WZP_ROOM_SNI_TEXT], room_y[WZP_ROOM_SNI_TEXT];
    relay_test_target(g.relay, addr, pin);
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
    uint64_t in = g.in5, out = g.out5, refused = g.refused5; /* before the end-to-end part */
    print_message("step %d: received a=%d b=%d c=%d d=%d; relay in %llu out %llu refused %llu\n",
                  g.step, g.c[0].received, g.c[1].received, g.c[2].received, g.c[3].received,
                  (unsigned long long)in, (unsigned long long)out, (unsigned long long)refused);
    assert_int_equal(g.step, 6);
    assert_int_equal(g.c[3].received, 0); /* room y heard nothing */
    assert_string_equal(g.c[1].last, "roamed");
    assert_string_equal(g.c[0].last, "b0"); /* heard at its new address */
    assert_ptr_equal(g.a_heard_on, g.ep2);
    assert_int_equal(g.challenges, 1);
    assert_int_equal(in, 8); /* 5 + roamed + A's answer to the path challenge + b0 */
    assert_int_equal(out, 5 * 2 + 2 + 2);
    assert_true(refused >= 5); /* replay, forgery, spoofed replay and forgery, unknown session */
    assert_int_equal(g.spoof_rx, 0);

    /* The end-to-end part: the relay forwarded exactly the bytes B received ... */
    print_message("end-to-end: %zu datagrams sent, %zu tapped at the relay, %zu heard by B\n",
                  g.e2e_sent, g.tapped.n, g.heard.n);
    assert_true(g.e2e_sent > 50);
    assert_int_equal(g.tapped.n, g.e2e_sent);
    assert_int_equal(g.heard.n, g.e2e_sent);
    for (size_t i = 0; i < g.heard.n; i++) {
        assert_int_equal(g.heard.len[i], g.tapped.len[i]);
        assert_memory_equal(g.heard.data[i], g.tapped.data[i], g.heard.len[i]);
    }
    /* ... which nothing the relay holds can open ... */
    static int16_t pcm[70 * WZP_MAX_FRAME_SAMPLES];
    size_t got = 0;
    const uint8_t *relay_keys[] = {seed, g.c[0].keys.client_to_relay, g.c[0].keys.relay_to_client,
                                   g.c[1].keys.relay_to_client};
    for (size_t k = 0; k < sizeof(relay_keys) / sizeof(relay_keys[0]); k++) {
        uint8_t key[WZP_KEY_SIZE] = {0};
        memcpy(key, relay_keys[k], k == 0 ? sizeof(seed) : WZP_KEY_SIZE);
        wzp_call_decoder_stats st = decode_all(&g.tapped, key, pcm, sizeof(pcm) / 2, &got);
        print_message("relay key %zu: %llu frames played, %llu authentication failures\n", k,
                      (unsigned long long)st.frames_played, (unsigned long long)st.auth_failures);
        assert_int_equal(st.frames_played + st.frames_recovered, 0);
        assert_true(st.auth_failures >= 50);
        assert_true(goertzel(pcm, got, 440.0) < 1e-6); /* not a trace of the tone */
    }
    /* ... and B, with A's sender key, hears the tone. */
    wzp_call_decoder_stats st = decode_all(&g.heard, g.a_key, pcm, sizeof(pcm) / 2, &got);
    size_t start = 0;
    while (start < got && abs(pcm[start]) < 1000) {
        start++;
    }
    assert_true(start + 960 + 24000 <= got);
    double hz = peak_frequency(pcm + start + 960, 24000, 400.0, 480.0); /* 0.5 s inside it */
    print_message("B with A's key: %llu frames played, tone at %.2f Hz\n",
                  (unsigned long long)st.frames_played, hz);
    assert_int_equal(st.frames_played, 50);
    assert_true(fabs(hz - 440.0) < 1.0);
    g.shutting_down = true;
    uv_timer_stop(&g.tick);
    uv_close((uv_handle_t *)&g.tick, NULL);
    wzp_quic_endpoint_free(g.ep);
    wzp_quic_endpoint_free(g.ep2);
    wzp_quic_endpoint_free(g.spoofer);
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
