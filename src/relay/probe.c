/*
 * Inter-relay probes (include/wzp/probe.h). Each target gets a QUIC connection with SNI
 * WZP_PROBE_SNI; the target answers with a media-plane session id, keys come from the
 * connection's exporter as for any media session, and each second a probe datagram
 * (seq, send time) goes out and comes back echoed. No echo for a while: the connection is
 * dropped and made again, so a restarted target is found again quickly.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/hop.h"
#include "wzp/probe.h"
#include "wzp/quic.h"
#include "wzp/signal.h"
#include "wzp/alloc.h"
#include "wzp/addr.h"

#define PROBE_MAGIC      0x50 /* 'P' */
#define PROBE_LEN        13   /* magic, seq (u32), send time (u64 ms) */
#define CONNECT_GIVEUP   2000 /* a handshake or session not done by then: try again */
#define RECONNECT_SILENT 3000 /* no echo for this long on a live session: reconnect */
#define SLOTS            64   /* probes in flight, indexed by seq */

typedef struct target {
    wzp_relay_probe_target cfg;
    struct sockaddr_storage addr;
    struct wzp_prober *p;
    wzp_quic_endpoint *ep; /* the prober's endpoint of this address family */
    wzp_quic_conn *conn;
    bool session;
    wzp_hop_session hop;
    uint64_t connect_ms, last_echo_ms;
    uint32_t seq;
    uint64_t sent_at[SLOTS];    /* µs (uv_hrtime); 0: slot free or judged */
    uint64_t unreachable_since; /* ms; 0 while a session is up */
    bool echoed[SLOTS];
    bool window[WZP_PROBE_WINDOW]; /* judged probes: true = lost */
    unsigned wpos, wcount, wlost;
    bool has_rtt;
    double rtt_ms, jitter_ms;
    uint64_t sent, got;
} target;

struct wzp_prober {
    uv_loop_t *loop;
    wzp_quic_endpoint *ep4, *ep6;
    uv_timer_t tick;
    target t[WZP_RELAY_MAX_PROBES];
    unsigned n;
};

/* A relay opens a probe or link session on another with a Ping (the stream is the initiator's
 * to open): one helper for probes and links. */
int wzp_relay_send_ping(wzp_quic_conn *c, uint64_t now_ms) {
    wzp_signal *m = wzp_signal_new(WZP_SIG_PING);
    uint8_t json[128];
    size_t n = 0;
    if (m == NULL) {
        return WZP_ERR_NOMEM;
    }
    m->u.ping.timestamp_ms = now_ms;
    int rc = wzp_signal_encode(m, json, sizeof(json), &n);
    wzp_signal_free(m);
    return rc == WZP_OK ? wzp_quic_send_signal(c, json, n) : rc;
}

static void judge(target *t, bool lost) {
    if (t->wcount == WZP_PROBE_WINDOW) {
        t->wlost -= t->window[t->wpos];
    } else {
        t->wcount++;
    }
    t->window[t->wpos] = lost;
    t->wlost += lost;
    t->wpos = (t->wpos + 1) % WZP_PROBE_WINDOW;
}

static target *target_of_conn(wzp_quic_conn *c) {
    return wzp_quic_conn_get_user(c);
}

static void drop_conn(target *t) {
    if (t->conn != NULL) {
        wzp_quic_conn_set_user(t->conn, NULL);
        wzp_quic_close(t->conn, "probe: reconnecting");
        t->conn = NULL;
    }
    t->session = false;
}

/* The stream is ours to open: a Ping asks the target for a probe session. */
static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    (void)sni;
    wzp_prober *p = user;
    return wzp_relay_send_ping(c, uv_now(p->loop)) == WZP_OK ? 0 : -1;
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    (void)user;
    target *t = target_of_conn(c);
    wzp_signal *m = NULL;
    if (t == NULL || wzp_signal_decode(json, len, &m) != WZP_OK) {
        return;
    }
    uint8_t exporter[32];
    if (m->type == WZP_SIG_MEDIA_SESSION &&
        wzp_quic_export(c, WZP_HOP_EXPORTER_LABEL, exporter) == WZP_OK &&
        wzp_hop_session_init(&t->hop, WZP_HOP_CLIENT, m->u.media_session.session_id, exporter) ==
            WZP_OK) {
        t->session = true;
        t->last_echo_ms = uv_now(t->p->loop); /* give it RECONNECT_SILENT from now */
    }
    wzp_signal_free(m);
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    (void)error;
    (void)reason;
    (void)user;
    target *t = target_of_conn(c);
    if (t != NULL && t->conn == c) {
        t->conn = NULL;
        t->session = false;
    }
}

/* An echo: which target's session, authentic, then RTT from the send time it carries. */
static bool on_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, void *user) {
    wzp_prober *p = user;
    uint32_t sid = 0;
    (void)ep;
    (void)from;
    if (wzp_hop_peek_session(data, len, &sid) != WZP_OK) {
        return false;
    }
    for (unsigned i = 0; i < p->n; i++) {
        target *t = &p->t[i];
        const uint8_t *pkt;
        size_t plen = 0;
        if (!t->session || t->hop.tx.sid != sid ||
            wzp_hop_open(&t->hop.rx, data, len, &pkt, &plen) != WZP_OK) {
            continue;
        }
        if (plen != PROBE_LEN || pkt[0] != PROBE_MAGIC) {
            return true;
        }
        uint32_t seq =
            (uint32_t)pkt[1] << 24 | (uint32_t)pkt[2] << 16 | (uint32_t)pkt[3] << 8 | pkt[4];
        uint64_t at = 0;
        for (int k = 0; k < 8; k++) {
            at = at << 8 | pkt[5 + k];
        }
        uint64_t now = uv_hrtime() / 1000;
        unsigned slot = seq % SLOTS;
        if (t->sent_at[slot] != at || at == 0 || t->echoed[slot] || now < at) {
            return true; /* not a probe in flight (late beyond judging, or duplicated) */
        }
        t->echoed[slot] = true;
        t->got++;
        t->last_echo_ms = uv_now(p->loop);
        double rtt = (double)(now - at) / 1000.0;
        if (t->has_rtt) {
            t->jitter_ms += (fabs(rtt - t->rtt_ms) - t->jitter_ms) / 16.0;
        }
        t->rtt_ms = rtt;
        t->has_rtt = true;
        return true;
    }
    return true; /* our socket only talks to targets: nothing else is taken as QUIC */
}

static void connect_target(target *t) {
    drop_conn(t);
    t->connect_ms = uv_now(t->p->loop);
    wzp_quic_conn *c = NULL;
    if (wzp_quic_connect(t->ep, t->cfg.addr, WZP_PROBE_SNI, t->cfg.has_fp ? t->cfg.fp : NULL, &c) ==
        WZP_OK) {
        t->conn = c;
        wzp_quic_conn_set_user(c, t);
    }
}

static void send_probe(target *t) {
    uint64_t now = uv_hrtime() / 1000;
    unsigned slot = t->seq % SLOTS;
    uint8_t pkt[PROBE_LEN], out[PROBE_LEN + WZP_HOP_OVERHEAD];
    pkt[0] = PROBE_MAGIC;
    for (int k = 0; k < 4; k++) {
        pkt[1 + k] = (uint8_t)(t->seq >> (24 - 8 * k));
    }
    for (int k = 0; k < 8; k++) {
        pkt[5 + k] = (uint8_t)(now >> (56 - 8 * k));
    }
    size_t n = 0;
    if (wzp_hop_seal(&t->hop.tx, pkt, sizeof(pkt), out, sizeof(out), &n) != WZP_OK) {
        drop_conn(t); /* hop counter exhausted (after 2^64 probes): new session */
        return;
    }
    t->sent_at[slot] = now;
    t->echoed[slot] = false;
    t->seq++;
    t->sent++;
    wzp_quic_send_datagram(t->ep, out, n, (const struct sockaddr *)&t->addr);
}

static void on_tick(uv_timer_t *h) {
    wzp_prober *p = h->data;
    uint64_t now = uv_now(p->loop);
    for (unsigned i = 0; i < p->n; i++) {
        target *t = &p->t[i];
        uint64_t now_us = uv_hrtime() / 1000;
        for (unsigned s = 0; s < SLOTS; s++) { /* judge probes old enough */
            if (t->sent_at[s] != 0 && now_us - t->sent_at[s] >= WZP_PROBE_LOST_MS * 1000) {
                judge(t, !t->echoed[s]);
                t->sent_at[s] = 0;
            }
        }
        if (t->session && now - t->last_echo_ms >= RECONNECT_SILENT) {
            drop_conn(t); /* the target died, restarted or lost our session */
        }
        if (t->conn == NULL || (!t->session && now - t->connect_ms >= CONNECT_GIVEUP)) {
            connect_target(t);
        }
        if (t->session) {
            t->unreachable_since = 0;
            send_probe(t);
        } else if (t->unreachable_since == 0) {
            t->unreachable_since = now;
        } else if (now - t->unreachable_since >= WZP_PROBE_LOST_MS) {
            t->sent++; /* a probe we could not send: the target has not been reachable */
            judge(t, true);
        }
    }
}

int wzp_prober_new(uv_loop_t *loop, const wzp_relay_probe_target *targets, unsigned n,
                   wzp_prober **out) {
    if (n == 0 || n > WZP_RELAY_MAX_PROBES) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_prober *p = wzp_calloc(1, sizeof(*p));
    if (p == NULL) {
        return WZP_ERR_NOMEM;
    }
    p->loop = loop;
    p->n = n;
    int rc = WZP_OK;
    for (unsigned i = 0; i < n && rc == WZP_OK; i++) {
        target *t = &p->t[i];
        t->cfg = targets[i];
        t->p = p;
        socklen_t sl = 0;
        rc = wzp_addr_parse(t->cfg.addr, &t->addr, &sl);
        wzp_quic_endpoint **ep = t->addr.ss_family == AF_INET6 ? &p->ep6 : &p->ep4;
        if (rc == WZP_OK && *ep == NULL) {
            wzp_quic_config qc = {
                .bind = t->addr.ss_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0",
                .cb = {p, on_established, on_signal, on_closed, on_datagram},
            };
            rc = wzp_quic_endpoint_new(loop, &qc, ep);
        }
        t->ep = *ep;
    }
    if (rc != WZP_OK) {
        wzp_quic_endpoint_free(p->ep4);
        wzp_quic_endpoint_free(p->ep6);
        wzp_free(p);
        return rc;
    }
    uv_timer_init(loop, &p->tick);
    p->tick.data = p;
    uv_timer_start(&p->tick, on_tick, 0, WZP_PROBE_INTERVAL_MS);
    *out = p;
    return WZP_OK;
}

static void tick_closed(uv_handle_t *h) {
    wzp_free(h->data);
}

void wzp_prober_free(wzp_prober *p) {
    if (p == NULL) {
        return;
    }
    for (unsigned i = 0; i < p->n; i++) {
        if (p->t[i].conn != NULL) {
            wzp_quic_conn_set_user(p->t[i].conn, NULL);
            p->t[i].conn = NULL;
        }
    }
    wzp_quic_endpoint_free(p->ep4); /* closes the connections */
    wzp_quic_endpoint_free(p->ep6);
    uv_close((uv_handle_t *)&p->tick, tick_closed);
}

void wzp_prober_status(const wzp_prober *p, unsigned i, wzp_probe_status *out) {
    const target *t = &p->t[i];
    uint64_t now = uv_now(p->loop);
    out->up = t->session && t->got > 0 && now - t->last_echo_ms < WZP_PROBE_DOWN_MS;
    out->rtt_ms = t->rtt_ms;
    out->jitter_ms = t->jitter_ms;
    out->loss = t->wcount ? (double)t->wlost / t->wcount : 0;
    out->sent = t->sent;
    out->echoed = t->got;
}

void wzp_prober_metrics(const wzp_prober *p, wzp_prom *out) {
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"wzp_probe_up", "gauge", "1 while the target relay answers probes (an echo in 2 s)."},
        {"wzp_probe_rtt_seconds", "gauge", "Round-trip time of the last echoed probe."},
        {"wzp_probe_jitter_seconds", "gauge", "Smoothed variation of the probe RTT."},
        {"wzp_probe_loss_ratio", "gauge", "Probes not echoed within 2 s, over the last 60."},
        {"wzp_probe_sent_total", "counter", "Probes sent (or due while unreachable)."},
        {"wzp_probe_echoed_total", "counter", "Probes echoed back."},
    };
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        wzp_prom_family(out, fam[f].name, fam[f].type, fam[f].help);
        for (unsigned i = 0; i < p->n; i++) {
            wzp_probe_status st;
            wzp_prober_status(p, i, &st);
            char l[96];
            wzp_prom_label(l, sizeof(l), "target", p->t[i].cfg.label);
            double v[] = {st.up,   st.rtt_ms / 1000.0, st.jitter_ms / 1000.0,
                          st.loss, (double)st.sent,    (double)st.echoed};
            wzp_prom_sample(out, fam[f].name, l, v[f]);
        }
    }
}
