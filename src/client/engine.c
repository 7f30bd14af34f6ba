/*
 * The client call engine (include/wzp/client.h): one QUIC connection to the relay for
 * signalling, hop-authenticated media datagrams on the same socket, and end-to-end keys with
 * every other member of the room: a "hello" PeerSignal lets each side learn the other's
 * connection exporter (stamped by the relay), the lower fingerprint then calls the higher one
 * (offer, answer, key confirmation both ways), and each side sends its sender key over the
 * confirmed pairwise channel. Media: call encoder (sealed with our sender key) out; a call
 * decoder per sender (opened with theirs) in, mixed every 20 ms.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "client/file_source.h"
#include "client/live_audio.h"
#include "client/known_relays.h"
#include "proto/bytes.h"
#include "wzp/call.h"
#include "wzp/client.h"
#include "wzp/hop.h"
#include "wzp/quic.h"
#include "wzp/relay.h"
#include "wzp/alloc.h"

#define MAX_PEERS        32
#define TICK_MS          20
#define SWEEP_MAX_FRAMES 30000 /* 10 minutes of 20 ms frames */

typedef struct peer {
    bool used;
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    char fptext[WZP_FINGERPRINT_TEXT];
    bool has_binding;
    uint8_t binding[32];
    wzp_handshake *hs;
    bool key_sent;
    uint32_t sid; /* the peer's media session, from its sender key */
    wzp_call_decoder *dec;
    /* quality feedback (docs/PROTOCOL.md §10): what we hear from it, what it hears from us */
    wzp_quality_report heard, about_me;
    int16_t pending[WZP_MAX_FRAME_SAMPLES]; /* decoded, not yet played (40 ms frames) */
    size_t pending_n;
    bool heard_valid;
    uint64_t datagrams_seen, active_until, about_me_at;
    wzp_drift *drift;   /* --drift-test */
    wzp_arrival *trace; /* --sweep: arrivals of its frames, bounded */
    size_t trace_n, trace_cap;
} peer;

typedef struct engine {
    const wzp_client_options *o;
    FILE *out, *err;
    uv_loop_t loop;
    uv_timer_t tick;
    wzp_quic_endpoint *ep;
    wzp_quic_conn *conn;
    struct sockaddr_storage relay_addr;
    uint8_t own_exporter[32];
    uint32_t sid;
    wzp_hop_tx htx;
    wzp_hop_rx hrx;
    wzp_sender_key my_key;
    wzp_call_encoder *enc;
    peer peers[MAX_PEERS];
    SNDFILE *rec;
    wzp_file_source *src;                        /* --send-file */
    wzp_live_audio *live;                        /* --live */
    int16_t live_buf[2 * WZP_MAX_FRAME_SAMPLES]; /* microphone samples not yet encoded */
    size_t live_have;
    uint64_t speaker_discarded; /* frames pulled while the speaker was stalled */
    wzp_quality_ctl qctl;       /* our sending tier, from the receivers' reports */
    uint64_t last_feedback_ms;
    uv_signal_t sigint, sigterm;
    bool src_done;
    double duration_s;
    uint64_t start_ms, sent_samples, played_samples;
    uint64_t send_skipped, play_skipped; /* samples skipped when the process fell behind */
    FILE *metrics;                       /* --metrics-file */
    uint64_t last_metrics_ms;
    uint64_t last_sent_ms; /* media or keep-alive */
    uint64_t last_status_ms;
    bool tty; /* stderr is a terminal: the status line redraws in place */
    int exit_code;
    bool stopping;
    uint8_t json[WZP_SIGNAL_MAX_JSON + 64];
    wzp_datagram dg[WZP_CALL_MAX_OUT];
} engine;

static void send_signal(engine *e, const wzp_signal *m) {
    size_t n = 0;
    if (e->conn == NULL || wzp_signal_encode(m, e->json, sizeof(e->json), &n) != WZP_OK ||
        wzp_quic_send_signal(e->conn, e->json, n) != WZP_OK) {
        fprintf(e->err, "wzp-client: could not send %s\n", wzp_signal_type_name(m->type));
    }
}

/* Wrap `inner` (taken) in a PeerSignal to `p` and send it. */
static void send_to_peer(engine *e, peer *p, wzp_signal *inner) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_PEER_SIGNAL);
    if (m == NULL || wzp_signal_set_str(&m->u.peer_signal.to_fingerprint, p->fptext) != WZP_OK) {
        wzp_signal_free(m);
        wzp_signal_free(inner);
        return;
    }
    m->u.peer_signal.inner = inner;
    send_signal(e, m);
    wzp_signal_free(m);
}

static peer *find_peer(engine *e, const uint8_t fp[WZP_FINGERPRINT_SIZE], bool create) {
    peer *free_slot = NULL;
    for (int i = 0; i < MAX_PEERS; i++) {
        if (e->peers[i].used && sodium_memcmp(e->peers[i].fp, fp, WZP_FINGERPRINT_SIZE) == 0) {
            return &e->peers[i];
        }
        if (!e->peers[i].used && free_slot == NULL) {
            free_slot = &e->peers[i];
        }
    }
    if (!create || free_slot == NULL) {
        return NULL;
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = true;
    memcpy(free_slot->fp, fp, WZP_FINGERPRINT_SIZE);
    wzp_fingerprint_format(fp, free_slot->fptext);
    return free_slot;
}

static bool we_call(const engine *e, const peer *p) {
    return memcmp(e->o->identity->fingerprint, p->fp, WZP_FINGERPRINT_SIZE) < 0;
}

static void start_call(engine *e, peer *p) {
    const wzp_profile *good = wzp_profile_get(WZP_PROFILE_GOOD);
    wzp_signal *offer = NULL;
    if (wzp_hs_new(WZP_HS_CALLER, e->o->identity, p->binding, &p->hs) != WZP_OK ||
        wzp_hs_make_offer(p->hs, good, 1, e->o->alias, &offer) != WZP_OK) {
        return;
    }
    send_to_peer(e, p, offer);
}

static void send_sender_key(engine *e, peer *p) {
    wzp_signal *m = NULL;
    if (!p->key_sent && wzp_hs_get_state(p->hs) == WZP_HS_ESTABLISHED &&
        wzp_sender_key_wrap(p->hs, &e->my_key, e->sid, &m) == WZP_OK) {
        p->key_sent = true;
        send_to_peer(e, p, m);
    }
}

/* Every frame of a peer as it arrives (--drift-test, --sweep). */
static void on_frame(void *user, uint32_t ts, uint8_t codec, bool recovered) {
    peer *p = user;
    uint64_t now_ns = uv_hrtime();
    if (p->drift != NULL && !recovered) { /* a recovered frame arrived with a later packet */
        wzp_drift_add(p->drift, ts, now_ns / 1000);
    }
    if (p->trace != NULL && p->trace_n < p->trace_cap) {
        p->trace[p->trace_n++] = (wzp_arrival){ts, codec, (double)now_ns / 1e6};
    }
}

/* The peer's sender key arrived: a decoder for its media. */
static void take_sender_key(engine *e, peer *p, const wzp_signal *m) {
    wzp_sender_key sk;
    uint32_t sid = 0;
    if (p->hs == NULL || wzp_sender_key_unwrap(p->hs, m, &sk, &sid) != WZP_OK) {
        return;
    }
    uint8_t key[32], key_id;
    wzp_sender_key_media(&sk, key, &key_id);
    wzp_call_config cfg = wzp_call_default_config();
    if (p->dec == NULL && wzp_call_decoder_new(&cfg, &p->dec) != WZP_OK) {
        return;
    }
    wzp_call_decoder_add_key(p->dec, key, key_id, uv_now(&e->loop));
    if (e->o->drift_test && p->drift == NULL && (p->drift = wzp_malloc(sizeof(wzp_drift))) != NULL) {
        wzp_drift_init(p->drift);
    }
    if (e->o->sweep && p->trace == NULL) {
        p->trace_cap = (size_t)(e->duration_s * 50.0 * 1.2) + 100;
        p->trace_cap = p->trace_cap > SWEEP_MAX_FRAMES ? SWEEP_MAX_FRAMES : p->trace_cap;
        p->trace = wzp_malloc(p->trace_cap * sizeof(wzp_arrival));
    }
    wzp_call_decoder_observe(p->dec, on_frame, p);
    p->sid = sid;
    sodium_memzero(key, sizeof(key));
    wzp_sender_key_wipe(&sk);
    fprintf(e->out, "wzp-client: end-to-end keys with %s ready\n", p->fptext);
}

static void on_peer_signal(engine *e, wzp_signal *m) {
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    const wzp_sig_bytes *b = &m->u.peer_signal.from_binding;
    if (m->u.peer_signal.from_fingerprint == NULL || m->u.peer_signal.inner == NULL ||
        wzp_fingerprint_parse(m->u.peer_signal.from_fingerprint, fp) != WZP_OK || b->len != 32) {
        return;
    }
    peer *p = find_peer(e, fp, true);
    if (p == NULL) {
        return;
    }
    if (!p->has_binding) {
        wzp_pair_binding(e->own_exporter, b->data, p->binding);
        p->has_binding = true;
        if (we_call(e, p) && p->hs == NULL) {
            start_call(e, p);
        }
    }
    wzp_signal *in = m->u.peer_signal.inner, *reply = NULL;
    switch (in->type) {
    case WZP_SIG_CALL_OFFER:
        if (p->hs == NULL && !we_call(e, p) &&
            wzp_hs_new(WZP_HS_CALLEE, e->o->identity, p->binding, &p->hs) == WZP_OK &&
            wzp_hs_on_offer(p->hs, in, wzp_profile_get(WZP_PROFILE_GOOD), 1, &reply) == WZP_OK) {
            send_to_peer(e, p, reply);
        }
        break;
    case WZP_SIG_CALL_ANSWER:
        if (p->hs != NULL && wzp_hs_on_answer(p->hs, in, &reply) == WZP_OK) {
            send_to_peer(e, p, reply);
        }
        break;
    case WZP_SIG_KEY_CONFIRM:
        if (p->hs != NULL && wzp_hs_on_confirm(p->hs, in, &reply) == WZP_OK) {
            if (reply != NULL) {
                send_to_peer(e, p, reply);
            }
            send_sender_key(e, p);
        }
        break;
    case WZP_SIG_SENDER_KEY:
        take_sender_key(e, p, in);
        break;
    case WZP_SIG_QUALITY_UPDATE: /* how this member hears us */
        p->about_me = in->u.quality_update.report;
        p->about_me_at = uv_now(&e->loop);
        break;
    default:
        break;
    }
}

/* New members get a hello, so they learn our exporter and the pair binding can be formed. */
static void on_room_update(engine *e, const wzp_signal *m) {
    fprintf(e->out, "wzp-client: room has %u member(s)\n", m->u.room_update.count);
    for (size_t i = 0; i < m->u.room_update.participants.count; i++) {
        uint8_t fp[WZP_FINGERPRINT_SIZE];
        const char *text = m->u.room_update.participants.items[i].fingerprint;
        if (wzp_fingerprint_parse(text, fp) != WZP_OK ||
            sodium_memcmp(fp, e->o->identity->fingerprint, WZP_FINGERPRINT_SIZE) == 0 ||
            find_peer(e, fp, false) != NULL) {
            continue;
        }
        peer *p = find_peer(e, fp, true);
        wzp_signal *hello = wzp_signal_new(WZP_SIG_PING);
        if (p != NULL && hello != NULL) {
            hello->u.ping.timestamp_ms = uv_now(&e->loop);
            send_to_peer(e, p, hello);
        } else {
            wzp_signal_free(hello);
        }
    }
}

static void on_media_session(engine *e, uint32_t sid) {
    uint8_t exporter[32], key[32], key_id;
    wzp_hop_keys keys;
    if (wzp_quic_export(e->conn, WZP_HOP_EXPORTER_LABEL, exporter) != WZP_OK ||
        wzp_hop_keys_derive(exporter, &keys) != WZP_OK ||
        wzp_sender_key_new(1, &e->my_key) != WZP_OK) {
        return;
    }
    e->sid = sid;
    wzp_hop_tx_init(&e->htx, sid, keys.client_to_relay);
    wzp_hop_rx_init(&e->hrx, sid, keys.relay_to_client);
    sodium_memzero(&keys, sizeof(keys));
    wzp_signal *opt = wzp_signal_new(WZP_SIG_MEDIA_OPTIONS);
    if (opt != NULL) { /* we can take TrunkFrames: the relay may batch what comes to us */
        opt->u.media_options.trunking = true;
        send_signal(e, opt);
        wzp_signal_free(opt);
    }
    wzp_sender_key_media(&e->my_key, key, &key_id);
    wzp_call_config cfg = wzp_call_default_config();
    cfg.tier = e->qctl.tier;
    /* a synthetic tone is steady: noise suppression and VAD would take it for noise */
    cfg.vad = cfg.denoise = e->o->send_tone_s <= 0 && !e->o->no_dsp;
    if (wzp_call_encoder_new(&cfg, key, key_id, &e->enc) != WZP_OK) {
        fprintf(e->err, "wzp-client: cannot start the audio pipeline\n");
    }
    sodium_memzero(key, sizeof(key));
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    engine *e = user;
    (void)c;
    wzp_signal *m = NULL;
    if (wzp_signal_decode(json, len, &m) != WZP_OK) {
        return;
    }
    if (m->type == WZP_SIG_REGISTER_PRESENCE_ACK && !m->u.register_presence_ack.success) {
        fprintf(e->err, "wzp-client: the relay refused us: %s\n",
                m->u.register_presence_ack.error ? m->u.register_presence_ack.error : "?");
        e->exit_code = 3;
    } else if (m->type == WZP_SIG_MEDIA_SESSION) {
        on_media_session(e, m->u.media_session.session_id);
    } else if (m->type == WZP_SIG_ROOM_UPDATE) {
        on_room_update(e, m);
    } else if (m->type == WZP_SIG_PEER_SIGNAL) {
        on_peer_signal(e, m);
    }
    wzp_signal_free(m);
}

/* First connection to a relay without a pin: remember what it presented, and say so loudly. */
static void trust_on_first_use(engine *e, wzp_quic_conn *c) {
    uint8_t fp[WZP_TLS_FINGERPRINT_SIZE];
    char text[WZP_TLS_FINGERPRINT_TEXT];
    if (wzp_quic_peer_fingerprint(c, fp) != WZP_OK) {
        return;
    }
    wzp_tls_fingerprint_format(fp, text);
    int rc = wzp_known_relays_add(e->o->known_relays, e->o->relay, fp);
    fprintf(e->out,
            "wzp-client: first connection to %s: trusting its certificate\n  %s\n"
            "(%s %s; compare it with the fingerprint the relay's operator published)\n",
            e->o->relay, text, rc == WZP_OK ? "recorded in" : "NOT recorded, cannot write",
            e->o->known_relays);
}

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    engine *e = user;
    (void)sni;
    if (e->o->relay_fp == NULL) {
        trust_on_first_use(e, c);
    }
    wzp_signal *join = NULL;
    uint8_t exporter[32];
    if (wzp_quic_export(c, WZP_JOIN_EXPORTER, exporter) != WZP_OK ||
        wzp_quic_export(c, WZP_CALL_BINDING_EXPORTER, e->own_exporter) != WZP_OK ||
        wzp_join_sign(e->o->identity, exporter, e->o->alias, &join) != WZP_OK) {
        return -1;
    }
    if (e->o->token != NULL) { /* SPEC §8: the token comes first */
        wzp_signal *tok = wzp_signal_new(WZP_SIG_AUTH_TOKEN);
        if (tok == NULL || wzp_signal_set_str(&tok->u.auth_token.token, e->o->token) != WZP_OK) {
            wzp_signal_free(tok);
            wzp_signal_free(join);
            return -1;
        }
        send_signal(e, tok);
        wzp_signal_free(tok);
    }
    send_signal(e, join);
    wzp_signal_free(join);
    fprintf(e->out, "wzp-client: connected to %s, joining room \"%s\"\n", e->o->relay, e->o->room);
    return 0;
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    engine *e = user;
    (void)c;
    e->conn = NULL;
    if (!e->stopping) {
        fprintf(e->err, "wzp-client: connection closed: %s\n", reason ? reason : "?");
        if (reason != NULL && strstr(reason, "handshake timed out") != NULL) {
            fprintf(e->err, "wzp-client: the relay at %s is unreachable (nothing answers there)\n",
                    e->o->relay);
        }
        if (reason != NULL && strstr(reason, "stateless reset") != NULL) {
            fprintf(e->err, "wzp-client: the relay restarted and no longer knows this call\n");
        }
        if (e->exit_code == 0) {
            e->exit_code = 4;
            if (error == WZP_ERR_AUTH && e->o->known_relays == NULL) {
                fprintf(e->err, "wzp-client: the relay's certificate does not match --relay-fp\n");
            } else if (error == WZP_ERR_AUTH) {
                fprintf(e->err,
                        "wzp-client: WARNING: the relay at %s presented a certificate that "
                        "differs from the one recorded in %s when you first connected.\n"
                        "Someone may be intercepting this connection. If the relay's identity "
                        "really changed, check its new fingerprint with its operator and delete "
                        "its line from that file.\n",
                        e->o->relay, e->o->known_relays);
            }
        }
        uv_stop(&e->loop);
    }
}

/* One media packet from the member with session id `sender` (its low 16 bits when `short_id`:
 * the relay keeps those unique in a room). */
static void deliver(engine *e, uint32_t sender, bool short_id, const uint8_t *pkt, size_t len) {
    for (int i = 0; i < MAX_PEERS; i++) {
        peer *p = &e->peers[i];
        if (p->used && p->dec != NULL && (short_id ? (p->sid & 0xFFFFu) : p->sid) == sender) {
            wzp_quality_report r;
            bool has = false;
            if (wzp_call_decoder_receive(p->dec, pkt, len, uv_now(&e->loop), &r, &has) != WZP_OK) {
                fprintf(e->err, "wzp-client: media from %s dropped\n", p->fptext);
            }
            return;
        }
    }
}

static bool on_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, void *user) {
    engine *e = user;
    (void)ep;
    (void)from;
    const uint8_t *pkt;
    size_t plen = 0;
    if (e->sid == 0 || wzp_hop_open(&e->hrx, data, len, &pkt, &plen) != WZP_OK || plen < 4) {
        return e->sid != 0;
    }
    if (pkt[0] & 0x80) { /* a TrunkFrame: several senders' packets, each named by 16 bits */
        wzp_trunk_entry ent[WZP_TRUNK_MAX_ENTRIES];
        size_t n = 0;
        if (wzp_trunk_decode(pkt + 1, plen - 1, ent, &n) != WZP_OK) {
            return true;
        }
        for (size_t k = 0; k < n; k++) {
            deliver(e, ent[k].session_id, true, ent[k].payload, ent[k].len);
        }
        return true;
    }
    deliver(e, wzp__get_u32be(pkt), false, pkt + 4, plen - 4);
    return true;
}

static void encode_and_send(engine *e, const int16_t *pcm, size_t fs, uint64_t elapsed);

/* Send one frame of tone or file stamped `elapsed` ms into the call. */
static void send_frame(engine *e, uint64_t elapsed) {
    int16_t pcm[WZP_MAX_FRAME_SAMPLES];
    size_t fs = wzp_call_encoder_frame_samples(e->enc);
    if (e->src != NULL) {
        size_t got = wzp_file_source_read(e->src, pcm, fs);
        if (got < fs) { /* the end of the file: pad the last frame with silence */
            memset(pcm + got, 0, (fs - got) * sizeof(int16_t));
            e->src_done = true;
        }
    } else {
        for (size_t i = 0; i < fs; i++) {
            double ph = 2.0 * M_PI * e->o->tone_hz * (double)(e->sent_samples + i) / 48000.0;
            pcm[i] = (int16_t)lrint(0.3 * 32767.0 * sin(ph));
        }
    }
    encode_and_send(e, pcm, fs, elapsed);
}

static void encode_and_send(engine *e, const int16_t *pcm, size_t fs, uint64_t elapsed) {
    size_t n = 0;
    e->sent_samples += fs;
    if (wzp_call_encoder_push(e->enc, pcm, fs, elapsed, NULL, e->dg, WZP_CALL_MAX_OUT, &n) ==
        WZP_OK) {
        for (size_t i = 0; i < n; i++) {
            uint8_t out[WZP_DATAGRAM_MAX + WZP_HOP_OVERHEAD];
            size_t len = 0;
            if (wzp_hop_seal(&e->htx, e->dg[i].data, e->dg[i].len, out, sizeof(out), &len) ==
                WZP_OK) {
                wzp_quic_send_datagram(e->ep, out, len, (const struct sockaddr *)&e->relay_addr);
                e->last_sent_ms = uv_now(&e->loop);
            }
        }
    }
}

/* Nothing sent for a while (listening only): an empty authenticated packet tells the relay we
 * are still here, so it can drop members that are not (docs/PROTOCOL.md §10). */
static void keep_alive(engine *e) {
    uint64_t now = uv_now(&e->loop);
    if (e->sid == 0 || now - e->last_sent_ms < WZP_MEDIA_KEEPALIVE_MS) {
        return;
    }
    static const uint8_t nothing[1] = {0};
    uint8_t out[WZP_HOP_OVERHEAD];
    size_t len = 0;
    if (wzp_hop_seal(&e->htx, nothing, 0, out, sizeof(out), &len) == WZP_OK) {
        wzp_quic_send_datagram(e->ep, out, len, (const struct sockaddr *)&e->relay_addr);
        e->last_sent_ms = now;
    }
}

/* Play (to the speaker and/or the recording) 20 ms of the mix of everyone we hear; `discard`
 * pulls it from the jitter buffers and drops it (the speaker is stalled). */
static void play_frame_to(engine *e, bool discard) {
    int32_t mix[960] = {0};
    for (int i = 0; i < MAX_PEERS; i++) {
        peer *p = &e->peers[i];
        if (!p->used || p->dec == NULL) {
            continue;
        }
        /* frames are 20 or 40 ms: decode as many as this 20 ms needs, keep the rest */
        size_t have = 0;
        while (have < 960) {
            if (p->pending_n == 0) {
                wzp_jb_kind kind;
                if (wzp_call_decoder_pull(p->dec, p->pending, &p->pending_n, &kind) != WZP_OK ||
                    p->pending_n == 0) {
                    break;
                }
            }
            size_t k = 960 - have < p->pending_n ? 960 - have : p->pending_n;
            for (size_t j = 0; j < k; j++) {
                mix[have + j] += p->pending[j];
            }
            memmove(p->pending, p->pending + k, (p->pending_n - k) * sizeof(int16_t));
            p->pending_n -= k;
            have += k;
        }
    }
    int16_t out[960];
    for (int j = 0; j < 960; j++) {
        out[j] = (int16_t)(mix[j] > 32767 ? 32767 : mix[j] < -32768 ? -32768 : mix[j]);
    }
    e->played_samples += 960;
    if (discard) {
        e->speaker_discarded++;
        return;
    }
    if (e->live != NULL) {
        (void)wzp_live_audio_play(e->live, out);
    }
    if (e->rec != NULL) {
        sf_write_short(e->rec, out, 960);
    }
}

static void play_frame(engine *e) {
    play_frame_to(e, false);
}

/* --live: the sound card's clock drives the call. Every microphone frame waiting is echo-
 * cancelled, gathered to the encoder's frame size and sent. The speaker is kept LIVE_AHEAD
 * frames ahead (enough to ride out a late timer, little enough to keep the delay short), and the
 * jitter buffers are also pulled at least at the wall clock's pace: a sound server that stalls
 * (PulseAudio prebuffers for seconds when a stream starts; a device can hang) must not let
 * seconds of audio pile up in them, to be played late or squeezed out later. Frames the speaker
 * cannot take then are dropped and counted. */
#define WZP_CATCHUP_MS 200 /* see on_tick */
#define LIVE_AHEAD     3
#define LIVE_STALL     8 /* frames queued for the speaker beyond which it is considered stalled */
static void live_tick(engine *e, uint64_t elapsed) {
    int16_t mic[WZP_LIVE_FRAME];
    while (wzp_live_audio_capture(e->live, mic)) {
        if (e->enc == NULL) {
            continue; /* not in the call yet: the microphone is not buffered */
        }
        size_t fs = wzp_call_encoder_frame_samples(e->enc);
        if (e->live_have + WZP_LIVE_FRAME > sizeof(e->live_buf) / sizeof(e->live_buf[0])) {
            e->live_have = 0; /* cannot happen with 20/40 ms frames; never overflow */
        }
        memcpy(e->live_buf + e->live_have, mic, sizeof(mic));
        e->live_have += WZP_LIVE_FRAME;
        if (e->live_have >= fs) {
            encode_and_send(e, e->live_buf, fs, e->sent_samples / 48);
            memmove(e->live_buf, e->live_buf + fs, (e->live_have - fs) * sizeof(int16_t));
            e->live_have -= fs;
        }
    }
    while (wzp_live_audio_queued(e->live) < LIVE_AHEAD) {
        play_frame(e);
    }
    uint64_t due = elapsed * 48;
    if (e->played_samples + WZP_CATCHUP_MS * 48 < due) {
        e->play_skipped += due - WZP_CATCHUP_MS * 48 - e->played_samples;
        e->played_samples = due - WZP_CATCHUP_MS * 48; /* a starved process skips, as elsewhere */
    }
    while (e->played_samples + 960 <= due) {
        play_frame_to(e, wzp_live_audio_queued(e->live) >= LIVE_STALL);
    }
}

#define FEEDBACK_MS     500   /* three worse reports move the tier down: within 2 s */
#define REPORT_FRESH_MS 3000  /* reports older than this no longer steer our tier */
#define PEER_ACTIVE_MS  10000 /* a sender heard from this recently and now silent: 100% loss */

static const char *const tier_names[] = {"GOOD", "DEGRADED", "CATASTROPHIC"};

/* Twice a second, both halves of the quality loop, with no per-packet acknowledgement (the relay
 * forwards media it cannot read, so the loop runs end to end over signalling):
 * - as a receiver, tell each member we hear how its media arrives (loss from sequence numbers,
 *   jitter, our RTT to the relay) in a QualityUpdate;
 * - as a sender, follow the worst fresh report any member sent us (a room sends one stream to
 *   everyone: the weakest listener sets it), adding our own RTT to the relay, through the quality
 *   controller's hysteresis; its FEC ratio (with the boost after a loss spike) goes to the
 *   encoder. */
static void quality_feedback(engine *e) {
    uint64_t now = uv_now(&e->loop);
    if (now - e->last_feedback_ms < FEEDBACK_MS) {
        return;
    }
    e->last_feedback_ms = now;
    uint32_t rtt = e->conn != NULL ? wzp_quic_rtt_ms(e->conn) : 0;
    const wzp_quality_report *worst = NULL;
    wzp_tier worst_tier = WZP_TIER_GOOD;
    const peer *worst_peer = NULL;
    for (int i = 0; i < MAX_PEERS; i++) {
        peer *p = &e->peers[i];
        if (!p->used || p->dec == NULL) {
            continue;
        }
        wzp_call_decoder_stats st = wzp_call_decoder_get_stats(p->dec);
        bool fresh = st.datagrams > p->datagrams_seen;
        p->datagrams_seen = st.datagrams;
        if (fresh) {
            p->active_until = now + PEER_ACTIVE_MS;
        }
        wzp_quality_report r = wzp_call_decoder_make_report(p->dec, rtt);
        if (!fresh && now >= p->active_until) {
            p->heard_valid = false; /* it is not sending: nothing to report */
        } else {
            if (!fresh) {
                r.loss_pct = 255; /* it was sending a moment ago and nothing arrived */
            }
            p->heard = r;
            p->heard_valid = true;
            wzp_signal *m = wzp_signal_new(WZP_SIG_QUALITY_UPDATE);
            if (m != NULL) {
                m->u.quality_update.report = r;
                m->u.quality_update.recommended_profile =
                    *wzp_profile_get((wzp_profile_id)wzp_quality_classify(&r, WZP_NET_WIFI));
                send_to_peer(e, p, m);
            }
        }
        if (p->about_me_at != 0 && now - p->about_me_at <= REPORT_FRESH_MS) {
            wzp_tier t = wzp_quality_classify(&p->about_me, WZP_NET_WIFI);
            if (worst == NULL || t > worst_tier ||
                (t == worst_tier && p->about_me.loss_pct > worst->loss_pct)) {
                worst = &p->about_me;
                worst_tier = t;
                worst_peer = p;
            }
        }
    }
    if (e->enc == NULL || worst == NULL) {
        return;
    }
    wzp_quality_report r = *worst;
    uint32_t path_rtt = wzp_quality_report_rtt_ms(&r) + rtt; /* them->relay + relay->us */
    r.rtt_4ms = (uint8_t)(path_rtt / 4 > 255 ? 255 : path_rtt / 4);
    if (wzp_quality_on_report(&e->qctl, &r, now)) {
        wzp_call_encoder_set_tier(e->enc, e->qctl.tier);
        fprintf(e->out,
                "wzp-client: sending tier %s at %.1f s (%s hears %.0f%% loss, path RTT %u ms)\n",
                tier_names[e->qctl.tier], (double)(now - e->start_ms) / 1000.0, worst_peer->fptext,
                wzp_quality_report_loss_percent(&r), path_rtt);
    }
    wzp_call_encoder_set_fec_ratio(e->enc, wzp_quality_fec_ratio(&e->qctl, now));
}

/* Once a second, when asked or on a terminal: what the call is doing. Loss and jitter are what
 * this receiver measured over the last second (the worst peer), RTT is QUIC's to the relay. */
static void status_line(engine *e) {
    uint64_t now = uv_now(&e->loop);
    if ((!e->o->status && !e->tty) || e->enc == NULL || now - e->last_status_ms < 1000) {
        return;
    }
    e->last_status_ms = now;
    wzp_tier tier = wzp_call_encoder_tier(e->enc);
    uint32_t rtt = e->conn != NULL ? wzp_quic_rtt_ms(e->conn) : 0;
    double loss = 0, jitter = 0;
    unsigned peers = 0, depth = 0;
    for (int i = 0; i < MAX_PEERS; i++) {
        peer *p = &e->peers[i];
        if (!p->used || p->dec == NULL) {
            continue;
        }
        peers++;
        wzp_call_decoder_stats st = wzp_call_decoder_get_stats(p->dec);
        if (p->heard_valid) { /* the report quality_feedback sent it this second */
            loss = fmax(loss, wzp_quality_report_loss_percent(&p->heard));
            jitter = fmax(jitter, p->heard.jitter_ms);
        }
        depth = st.jb.depth_frames > depth ? st.jb.depth_frames : depth;
    }
    fprintf(e->err,
            "%swzp: tier %s | peers %u | loss %.1f%% | rtt %u ms | jitter %.0f ms | buffer %u "
            "frames%s",
            e->tty ? "\r\033[K" : "", (unsigned)tier < 3 ? tier_names[tier] : "?", peers, loss, rtt,
            jitter, depth, e->tty ? "" : "\n");
    fflush(e->err);
}

/* --metrics-file: once a second, one JSON object per line (docs/AUDIO.md lists the fields). */
static void metrics_line(engine *e) {
    uint64_t now = uv_now(&e->loop);
    if (e->metrics == NULL || now - e->last_metrics_ms < 1000) {
        return;
    }
    e->last_metrics_ms = now;
    cJSON *o = cJSON_CreateObject(), *peers = cJSON_AddArrayToObject(o, "peers");
    cJSON_AddNumberToObject(o, "t", (double)(now - e->start_ms) / 1000.0);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    cJSON_AddNumberToObject(o, "unix_ms",
                            (double)wall.tv_sec * 1e3 + (double)(wall.tv_nsec / 1000000));
    if (e->enc != NULL) { /* the media clock of what we send: with a peer's playout_ts_ms, the
                             delay from our microphone to its speaker */
        cJSON_AddNumberToObject(o, "media_ts_ms", (double)wzp_call_encoder_media_ts(e->enc));
    }
    wzp_tier tier = e->enc != NULL ? wzp_call_encoder_tier(e->enc) : WZP_TIER_GOOD;
    cJSON_AddStringToObject(o, "tier", (unsigned)tier < 3 ? tier_names[tier] : "?");
    cJSON_AddNumberToObject(o, "rtt_ms", e->conn != NULL ? wzp_quic_rtt_ms(e->conn) : 0);
    cJSON_AddNumberToObject(o, "send_skipped_ms", (double)(e->send_skipped / 48));
    cJSON_AddNumberToObject(o, "play_skipped_ms", (double)(e->play_skipped / 48));
    for (int i = 0; i < MAX_PEERS; i++) {
        peer *p = &e->peers[i];
        if (!p->used || p->dec == NULL) {
            continue;
        }
        wzp_call_decoder_stats st = wzp_call_decoder_get_stats(p->dec);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "fingerprint", p->fptext);
        cJSON_AddNumberToObject(j, "loss_pct",
                                p->heard_valid ? wzp_quality_report_loss_percent(&p->heard) : 0);
        cJSON_AddNumberToObject(j, "jitter_ms", st.jb.jitter_ms);
        cJSON_AddNumberToObject(j, "buffer_frames", st.jb.depth_frames);
        cJSON_AddNumberToObject(j, "playout_ts_ms", st.playout_ts_ms);
        cJSON_AddNumberToObject(j, "played", (double)st.frames_played);
        cJSON_AddNumberToObject(j, "recovered", (double)st.frames_recovered);
        cJSON_AddNumberToObject(j, "concealed", (double)st.frames_concealed);
        cJSON_AddNumberToObject(j, "late", (double)st.jb.late);
        cJSON_AddNumberToObject(j, "underruns", (double)st.jb.underruns);
        cJSON_AddItemToArray(peers, j);
    }
    char *text = cJSON_PrintUnformatted(o);
    if (text != NULL) {
        fprintf(e->metrics, "%s\n", text);
        fflush(e->metrics);
        cJSON_free(text);
    }
    cJSON_Delete(o);
}

/* Every 20 ms, driven by the clock rather than by timer callbacks: a process starved of CPU
 * catches up (up to WZP_CATCHUP_MS at once) so the call keeps real time and the recording stays
 * aligned with the wall clock; anything further behind is skipped, as a sound card would. */
static void on_tick(uv_timer_t *t) {
    engine *e = t->data;
    uint64_t elapsed = uv_now(&e->loop) - e->start_ms;
    if ((double)elapsed >= e->duration_s * 1000.0) {
        e->stopping = true;
        uv_stop(&e->loop);
        return;
    }
    if (e->live != NULL) {
        live_tick(e, elapsed);
        keep_alive(e);
        quality_feedback(e);
        status_line(e);
        metrics_line(e);
        return;
    }
    uint64_t due = elapsed * 48, floor = due > WZP_CATCHUP_MS * 48 ? due - WZP_CATCHUP_MS * 48 : 0;
    double tone_end = e->o->send_tone_s * 48000.0;
    if (e->enc != NULL) {
        size_t fs = wzp_call_encoder_frame_samples(e->enc);
        bool sending = e->src != NULL ? !e->src_done : (double)e->sent_samples < tone_end;
        /* --clock-skew: a sound card whose clock runs fast or slow produces its samples faster
         * or slower than the wall clock */
        uint64_t sdue = (uint64_t)((double)due * (1.0 + e->o->clock_skew_ppm * 1e-6)),
                 sfloor = sdue > WZP_CATCHUP_MS * 48 ? sdue - WZP_CATCHUP_MS * 48 : 0;
        if (e->sent_samples < sfloor) {
            e->send_skipped += sending ? sfloor - sfloor % fs - e->sent_samples : 0;
            e->sent_samples = sfloor - sfloor % fs;
        }
        while (e->sent_samples < sdue &&
               (e->src != NULL ? !e->src_done : (double)e->sent_samples < tone_end)) {
            send_frame(e, e->sent_samples / 48);
        }
    }
    keep_alive(e);
    quality_feedback(e);
    status_line(e);
    metrics_line(e);
    if (e->played_samples < floor) {
        e->play_skipped += floor - floor % 960 - e->played_samples;
        e->played_samples = floor - floor % 960;
    }
    while (e->played_samples < due) {
        play_frame(e);
    }
}

static void on_stop_signal(uv_signal_t *h, int signum) {
    engine *e = h->data;
    (void)signum;
    e->stopping = true; /* a clean leave: the relay is told, the recording is closed */
    uv_stop(&e->loop);
}

/* --drift-test: the peer's clock against ours. */
static void drift_report(engine *e, const peer *p) {
    double ppm = 0, span = 0;
    if (!p->used || p->drift == NULL) {
        return;
    }
    if (wzp_drift_ppm(p->drift, &ppm, &span) != WZP_OK) {
        fprintf(e->out, "wzp-client: clock drift of %s: not measured (under 5 s of its media)\n",
                p->fptext);
        return;
    }
    fprintf(e->out,
            "wzp-client: clock drift of %s: %+.0f ppm (its clock runs %s: %+.2f ms per second "
            "against ours), over %.0f s of its media, %llu frames\n",
            p->fptext, ppm, ppm >= 0 ? "fast" : "slow", ppm / 1000.0, span,
            (unsigned long long)p->drift->frames);
}

/* --sweep: the recorded arrivals through jitter buffers of fixed depths and the adaptive one. */
static void sweep_report(engine *e, const peer *p) {
    static const unsigned fixed[] = {1, 2, 3, 4, 6, 8, 12, 16, 25};
    if (!p->used || p->trace == NULL || p->trace_n < 50) {
        if (p->used && p->trace != NULL) {
            fprintf(e->out, "wzp-client: sweep of %s: too few frames (%zu)\n", p->fptext,
                    p->trace_n);
        }
        return;
    }
    fprintf(e->out,
            "wzp-client: jitter-buffer sweep over %zu frames from %s (depths in frames; delay "
            "beyond the fastest transit):\n"
            "  %-14s %8s %10s %6s %10s %10s\n",
            p->trace_n, p->fptext, "depth", "played", "concealed", "late", "delay p50",
            "delay p95");
    for (size_t i = 0; i <= sizeof(fixed) / sizeof(fixed[0]); i++) {
        bool adaptive = i == sizeof(fixed) / sizeof(fixed[0]);
        unsigned lo = adaptive ? WZP_JB_CLIENT_MIN : fixed[i];
        unsigned hi = adaptive ? WZP_JB_CLIENT_MAX : fixed[i];
        wzp_sweep_result r;
        if (wzp_sweep_run(p->trace, p->trace_n, lo, hi, &r) != WZP_OK) {
            continue;
        }
        char name[32];
        snprintf(name, sizeof(name), adaptive ? "adaptive %u-%u" : "fixed %u", lo, hi);
        double all = (double)(r.played + r.concealed);
        fprintf(e->out, "  %-14s %8llu %9.2f%% %6llu %7.0f ms %7.0f ms\n", name,
                (unsigned long long)r.played, all > 0 ? 100.0 * (double)r.concealed / all : 0.0,
                (unsigned long long)r.late, r.delay_p50_ms, r.delay_p95_ms);
    }
}

/* At the end: what was heard from each peer, so a user (or a test) can tell a clean call from a
 * concealed one. */
static void final_report(engine *e) {
    for (int i = 0; i < MAX_PEERS; i++) {
        peer *p = &e->peers[i];
        if (!p->used || p->dec == NULL) {
            continue;
        }
        wzp_call_decoder_stats st = wzp_call_decoder_get_stats(p->dec);
        fprintf(e->err,
                "wzp-client: from %s: %llu frames played, %llu recovered by FEC, %llu concealed, "
                "%llu late, jitter buffer underruns %llu, accelerated %llu, stretched %llu\n",
                p->fptext, (unsigned long long)st.frames_played,
                (unsigned long long)st.frames_recovered, (unsigned long long)st.frames_concealed,
                (unsigned long long)st.jb.late, (unsigned long long)st.jb.underruns,
                (unsigned long long)st.jb.accelerated, (unsigned long long)st.jb.stretched);
    }
    for (int i = 0; i < MAX_PEERS; i++) {
        drift_report(e, &e->peers[i]);
        sweep_report(e, &e->peers[i]);
    }
    if (e->live != NULL) {
        wzp_live_stats ls = wzp_live_audio_stats(e->live);
        fprintf(e->err,
                "wzp-client: audio: %llu frames captured, %llu played; speaker underruns %llu, "
                "dropped while the speaker stalled %llu, microphone overruns %llu\n",
                (unsigned long long)ls.captured, (unsigned long long)ls.played,
                (unsigned long long)ls.playback_underruns, (unsigned long long)e->speaker_discarded,
                (unsigned long long)ls.capture_overruns);
    }
    if (e->send_skipped + e->play_skipped > 0) {
        /* what a listener heard as gaps was then this machine, not the network */
        fprintf(e->err,
                "wzp-client: this process fell behind real time (CPU starved): %llu ms of "
                "sending and %llu ms of playout skipped\n",
                (unsigned long long)(e->send_skipped / 48),
                (unsigned long long)(e->play_skipped / 48));
    }
}

static void cleanup(engine *e) {
    wzp_live_audio_close(e->live);
    for (int i = 0; i < MAX_PEERS; i++) {
        wzp_hs_free(e->peers[i].hs);
        wzp_call_decoder_free(e->peers[i].dec);
        wzp_free(e->peers[i].drift);
        wzp_free(e->peers[i].trace);
    }
    wzp_call_encoder_free(e->enc);
    wzp_sender_key_wipe(&e->my_key);
    if (e->rec != NULL) {
        sf_close(e->rec);
    }
    if (e->metrics != NULL) {
        fclose(e->metrics);
    }
    wzp_file_source_close(e->src);
    if (e->tty && e->last_status_ms != 0) {
        fputc('\n', e->err); /* leave the last status line in place */
    }
}

int wzp_client_run(const wzp_client_options *o, FILE *out, FILE *err) {
    engine *e = wzp_calloc(1, sizeof(*e));
    if (e == NULL) {
        return 1;
    }
    e->o = o;
    e->out = out;
    e->err = err;
    char sni[WZP_ROOM_SNI_TEXT];
    wzp_room_sni(o->room, strlen(o->room), sni);
    uv_loop_init(&e->loop);
    int rc = 1;
    e->duration_s = o->duration_s;
    wzp_quality_init(&e->qctl, WZP_NET_WIFI, WZP_TIER_GOOD);
    if (o->tier >= 0) {
        wzp_quality_pin(&e->qctl, (wzp_tier)o->tier);
    }
    e->tty = isatty(fileno(err)) == 1;
    if (o->send_file != NULL) {
        char why[256];
        if (wzp_file_source_open(o->send_file, &e->src, why, sizeof(why)) != WZP_OK) {
            fprintf(err, "wzp-client: cannot read %s: %s\n", o->send_file, why);
            goto done;
        }
        if (e->duration_s <= 0) {
            e->duration_s = wzp_file_source_seconds(e->src) + 3;
        }
    }
    if (o->live) {
        char why[256] = "";
        if (wzp_live_audio_open(o->audio_device, !o->no_aec, &e->live, why, sizeof(why)) !=
            WZP_OK) {
            fprintf(err, "wzp-client: --live: %s\n", why);
            goto done;
        }
        fprintf(err, "wzp-client: audio: %s\n", why);
        if (e->duration_s <= 0) {
            e->duration_s = 1e9; /* until Ctrl-C */
        }
    }
    if (e->duration_s <= 0) {
        e->duration_s = o->send_tone_s > 0          ? o->send_tone_s + 3
                        : o->drift_test || o->sweep ? 30
                                                    : 10;
    }
    if (o->record != NULL) {
        SF_INFO info = {
            .samplerate = 48000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
        e->rec = sf_open(o->record, SFM_WRITE, &info);
        if (e->rec == NULL) {
            fprintf(err, "wzp-client: cannot write %s\n", o->record);
            goto done;
        }
    }
    if (o->metrics_file != NULL && (e->metrics = fopen(o->metrics_file, "a")) == NULL) {
        fprintf(err, "wzp-client: cannot write %s\n", o->metrics_file);
        goto done;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&e->relay_addr;
    char host[64];
    const char *colon = strrchr(o->relay, ':');
    if (colon == NULL || (size_t)(colon - o->relay) >= sizeof(host)) {
        fprintf(err, "wzp-client: relay address must be IP:port\n");
        goto done;
    }
    memcpy(host, o->relay, (size_t)(colon - o->relay));
    host[colon - o->relay] = '\0';
    if (uv_ip4_addr(host, atoi(colon + 1), in4) != 0) {
        fprintf(err, "wzp-client: relay address must be IP:port (IPv4)\n");
        goto done;
    }
    wzp_quic_config qc = {
        .bind = "0.0.0.0:0",
        .cb = {e, on_established, on_signal, on_closed, on_datagram},
    };
    if (wzp_quic_endpoint_new(&e->loop, &qc, &e->ep) != WZP_OK ||
        wzp_quic_connect(e->ep, o->relay, sni, o->relay_fp, &e->conn) != WZP_OK) {
        fprintf(err, "wzp-client: cannot start a connection to %s\n", o->relay);
        goto done;
    }
    uv_timer_init(&e->loop, &e->tick);
    e->tick.data = e;
    e->start_ms = uv_now(&e->loop);
    uv_timer_start(&e->tick, on_tick, e->live != NULL ? 10 : TICK_MS,
                   e->live != NULL ? 10 : TICK_MS);
    uv_signal_init(&e->loop, &e->sigint);
    uv_signal_init(&e->loop, &e->sigterm);
    e->sigint.data = e->sigterm.data = e;
    uv_signal_start(&e->sigint, on_stop_signal, SIGINT);
    uv_signal_start(&e->sigterm, on_stop_signal, SIGTERM);
    uv_unref((uv_handle_t *)&e->sigint);
    uv_unref((uv_handle_t *)&e->sigterm);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    rc = e->exit_code;
    e->stopping = true;
    uv_timer_stop(&e->tick);
    uv_close((uv_handle_t *)&e->tick, NULL);
    uv_close((uv_handle_t *)&e->sigint, NULL);
    uv_close((uv_handle_t *)&e->sigterm, NULL);
done:
    if (e->ep != NULL) {
        wzp_quic_endpoint_free(e->ep);
    }
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_loop_close(&e->loop);
    final_report(e);
    cleanup(e);
    wzp_free(e);
    return rc;
}
