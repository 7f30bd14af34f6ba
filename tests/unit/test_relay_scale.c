/*
 * 200 clients on one relay, each on its own UDP socket, all in one room. Once everyone has
 * joined, client 0 speaks one second of 440 Hz in real time (a call-encoded, end-to-end sealed
 * frame every 20 ms). Every one of the other 199, with the sender's key, plays all 50 frames with
 * the tone at the level sent (a datagram the kernel drops under load is recovered by FEC).
 * Bounded: 30 s at most.
 */
#include <sodium.h>
#include <stdlib.h>
#include <uv.h>

#include "audio_util.h"
#include "e2e_testutil.h"
#include "relay_testutil.h"
#include "wzp/hop.h"

#define NCL 200

typedef struct client {
    wzp_quic_endpoint *ep;
    wzp_identity id;
    wzp_quic_conn *conn;
    uint32_t sid;
    wzp_hop_tx tx;
    wzp_hop_rx rx;
    capture *heard;
} client;

static struct {
    uv_loop_t loop;
    uv_timer_t tick;
    wzp_relay_server *relay;
    struct sockaddr_in relay_addr;
    client c[NCL];
    int joined, joined_ms, ticks, settle;
    wzp_call_encoder *enc;
    uint8_t key[WZP_KEY_SIZE];
    size_t frames_sent, sent;
    bool done;
} g;

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    (void)sni;
    client *cl = user;
    relay_test_join(c, &cl->id, false);
    return 0;
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    client *cl = user;
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
        g.joined++;
    }
    wzp_signal_free(m);
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    (void)c;
    (void)error;
    (void)reason;
    client *cl = user;
    cl->conn = NULL;
}

static bool on_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, void *user) {
    (void)ep;
    (void)from;
    client *cl = user;
    const uint8_t *p;
    size_t n = 0;
    if (cl->sid != 0 && wzp_hop_open(&cl->rx, data, len, &p, &n) == 0 && n > 4 &&
        relay_test_sender(p) == g.c[0].sid) {
        keep(cl->heard, p + 4, n - 4);
        return true;
    }
    return cl->sid != 0;
}

static void send_frame(void) {
    static wzp_datagram dg[WZP_CALL_MAX_OUT];
    int16_t pcm[WZP_MAX_FRAME_SAMPLES];
    size_t fs = wzp_call_encoder_frame_samples(g.enc), n = 0, at = g.frames_sent * fs;
    if (at < 48000) {
        tone(pcm, fs, 440.0, 0.3, at);
        assert_int_equal(wzp_call_encoder_push(g.enc, pcm, fs, at / 48, dg, WZP_CALL_MAX_OUT, &n),
                         0);
    } else {
        assert_int_equal(wzp_call_encoder_flush(g.enc, 1000, dg, WZP_CALL_MAX_OUT, &n), 0);
        g.done = true;
    }
    g.frames_sent++;
    for (size_t i = 0; i < n; i++) {
        uint8_t out[WZP_DATAGRAM_MAX + WZP_HOP_OVERHEAD];
        size_t len = 0;
        assert_int_equal(wzp_hop_seal(&g.c[0].tx, dg[i].data, dg[i].len, out, sizeof(out), &len),
                         0);
        wzp_quic_send_datagram(g.c[0].ep, out, len, (const struct sockaddr *)&g.relay_addr);
        g.sent++;
    }
}

static void on_tick(uv_timer_t *t) {
    if (++g.ticks > 1500) { /* 30 s */
        uv_stop(t->loop);
        return;
    }
    if (g.joined < NCL) {
        return;
    }
    if (g.joined_ms == 0) {
        g.joined_ms = g.ticks * 20;
    }
    if (!g.done) {
        send_frame();
        return;
    }
    bool all = true;
    for (int i = 1; i < NCL; i++) {
        all = all && g.c[i].heard->n == g.sent;
    }
    if (all || ++g.settle >= 100) { /* everything arrived, or 2 s after the last send */
        uv_stop(t->loop);
    }
}

static void test_two_hundred_clients_all_hear_the_sender(void **state) {
    (void)state;
    memset(&g, 0, sizeof(g));
    assert_int_equal(uv_loop_init(&g.loop), 0);
    uint8_t seed[32] = {7};
    wzp_relay_server_config cfg = {.listen = "127.0.0.1:0",
                                   .seed = seed,
                                   .rooms = {NCL + 8, NCL, 30000},
                                   .max_per_address = UINT32_MAX,
                                   .max_per_identity = UINT32_MAX};
    assert_int_equal(wzp_relay_server_new(&g.loop, &cfg, &g.relay), 0);
    uv_ip4_addr("127.0.0.1", wzp_relay_server_port(g.relay), &g.relay_addr);
    uint8_t pin[32];
    char addr[64], room[WZP_ROOM_SNI_TEXT];
    relay_test_target(g.relay, addr, pin);
    wzp_room_sni("crowd", 5, room);
    for (int i = 0; i < NCL; i++) {
        client *cl = &g.c[i];
        wzp_quic_config qc = {.bind = "127.0.0.1:0",
                              .cb = {cl, on_established, on_signal, on_closed, on_datagram}};
        assert_int_equal(wzp_quic_endpoint_new(&g.loop, &qc, &cl->ep), 0);
        assert_int_equal(wzp_identity_generate(&cl->id), 0);
        cl->heard = calloc(1, sizeof(capture));
        assert_non_null(cl->heard);
        assert_int_equal(wzp_quic_connect(cl->ep, addr, room, pin, &cl->conn), 0);
    }
    randombytes_buf(g.key, sizeof(g.key));
    wzp_call_config cc = wzp_call_default_config();
    cc.vad = cc.denoise = false; /* a steady synthetic tone is what noise suppression removes */
    assert_int_equal(wzp_call_encoder_new(&cc, g.key, 1, &g.enc), 0);
    uv_timer_init(&g.loop, &g.tick);
    uv_timer_start(&g.tick, on_tick, 20, 20);
    uv_run(&g.loop, UV_RUN_DEFAULT);

    uint64_t in = 0, out = 0, refused = 0;
    wzp_relay_server_media_stats(g.relay, &in, &out, &refused);
    print_message("%d of %d joined after %d ms, %zu datagrams sent; relay in %llu out %llu "
                  "refused %llu\n",
                  g.joined, NCL, g.joined_ms, g.sent, (unsigned long long)in,
                  (unsigned long long)out, (unsigned long long)refused);
    assert_int_equal(g.joined, NCL);
    assert_true(g.done);
    /* batched I/O: the fan-out of a receive batch leaves in sendmmsg calls of up to 64 */
    wzp_quic_stats qs;
    wzp_relay_server_quic_stats(g.relay, &qs);
    print_message("relay socket: %llu datagrams in, %llu recvmmsg batches; %llu out in %llu "
                  "send syscalls (%.1f per call), %llu dropped\n",
                  (unsigned long long)qs.datagrams_received, (unsigned long long)qs.recv_batches,
                  (unsigned long long)qs.datagrams_sent, (unsigned long long)qs.send_syscalls,
                  (double)qs.datagrams_sent / (double)(qs.send_syscalls ? qs.send_syscalls : 1),
                  (unsigned long long)qs.datagrams_dropped);
    assert_true(qs.recv_batches > 0);
    assert_true(qs.datagrams_sent >= out);
    assert_true(qs.send_syscalls * 16 < qs.datagrams_sent);
    static int16_t pcm[70 * WZP_MAX_FRAME_SAMPLES];
    int played_all = 0;
    size_t datagrams = 0;
    double lo = 1e9, hi = 0;
    for (int i = 1; i < NCL; i++) {
        datagrams += g.c[i].heard->n;
        size_t got = 0;
        wzp_call_decoder_stats st =
            decode_all(g.c[i].heard, g.key, pcm, sizeof(pcm) / sizeof(pcm[0]), &got);
        size_t start = 0;
        while (start < got && abs(pcm[start]) < 1000) {
            start++;
        }
        assert_true(start + 960 + 24000 <= got);
        /* the tone's amplitude from its Goertzel power: sent at 0.3 of full scale */
        double amp = 2.0 * sqrt(goertzel(pcm + start + 960, 24000, 440.0)) / 32767.0;
        lo = amp < lo ? amp : lo;
        hi = amp > hi ? amp : hi;
        played_all += st.frames_played == 50;
        if (i == 1) {
            print_message("receiver 1: tone at %.2f Hz\n",
                          peak_frequency(pcm + start + 960, 24000, 430.0, 450.0));
        }
    }
    print_message("%d of %d receivers played all 50 frames; %zu of %zu datagrams arrived (UDP: "
                  "FEC covers a loss); tone amplitude %.3f..%.3f\n",
                  played_all, NCL - 1, datagrams, (size_t)(NCL - 1) * g.sent, lo, hi);
    assert_int_equal(played_all, NCL - 1);
    assert_true(lo > 0.27 && hi < 0.33);

    uv_timer_stop(&g.tick);
    uv_close((uv_handle_t *)&g.tick, NULL);
    wzp_call_encoder_free(g.enc);
    for (int i = 0; i < NCL; i++) {
        wzp_quic_endpoint_free(g.c[i].ep);
        free(g.c[i].heard);
    }
    wzp_relay_server_free(g.relay);
    uv_run(&g.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&g.loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_hundred_clients_all_hear_the_sender),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
