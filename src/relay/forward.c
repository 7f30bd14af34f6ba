/*
 * Forward mode (`wzp-relay --remote ADDR[@FP]`, SPEC §8): this relay hosts no rooms. Every
 * client datagram that reaches its listening socket -- QUIC and media alike -- goes to the remote
 * relay through one link (include/wzp/link.h): a QUIC connection with SNI WZP_LINK_SNI whose
 * media-plane session carries the datagrams, the small ones under RaptorQ FEC so the stretch
 * between the relays may be lossy. Each client address is a tunnel; what the remote relay sends
 * back to a tunnel comes out of our socket to that client. We hold no client keys and parse
 * nothing of theirs: their QUIC connections and media sessions end at the remote relay.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/forward.h"
#include "wzp/link.h"
#include "wzp/hop.h"
#include "wzp/quic.h"
#include "wzp/signal.h"
#include "wzp/random.h"
#include "wzp/alloc.h"
#include "wzp/addr.h"

#define TICK_MS        5
#define CONNECT_GIVEUP 2000
#define TUNNEL_IDLE_MS 60000 /* a client silent this long is forgotten (QUIC's idle is 30 s) */

typedef struct tunnel {
    uint32_t id; /* 0: free */
    struct sockaddr_storage addr;
    uint64_t last_ms;
} tunnel;

struct wzp_forwarder {
    uv_loop_t *loop;
    wzp_relay_probe_target remote;
    struct sockaddr_storage remote_addr;
    uv_udp_t udp; /* clients */
    uv_timer_t tick;
    int open;
    wzp_quic_endpoint *ep; /* the link's QUIC connection and datagrams */
    wzp_quic_conn *conn;
    wzp_link *link;
    bool session;
    uint64_t connect_ms, swept_ms;
    tunnel *tunnels;
    unsigned max_tunnels;
    uint8_t buf[WZP_LINK_MAX_DATAGRAM + 64];
    wzp_forward_stats st;
};

/* ---- the link ------------------------------------------------------------------------------ */

static void link_out(void *user, const uint8_t *dgram, size_t len) {
    wzp_forwarder *f = user;
    wzp_quic_send_datagram(f->ep, dgram, len, (const struct sockaddr *)&f->remote_addr);
}

/* The remote relay's datagram for one of our clients. */
static void link_deliver(void *user, uint32_t id, const uint8_t *data, size_t len) {
    wzp_forwarder *f = user;
    for (unsigned i = 0; i < f->max_tunnels; i++) {
        tunnel *t = &f->tunnels[i];
        if (t->id == id) {
            uv_buf_t b = uv_buf_init((char *)(uintptr_t)data, (unsigned)len);
            if (uv_udp_try_send(&f->udp, &b, 1, (const struct sockaddr *)&t->addr) >= 0) {
                f->st.down++;
            }
            return;
        }
    }
    f->st.unknown_tunnel++;
}

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    wzp_forwarder *f = user;
    (void)sni;
    return wzp_relay_send_ping(c, uv_now(f->loop)) == WZP_OK ? 0 : -1;
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    wzp_forwarder *f = user;
    wzp_signal *m = NULL;
    uint8_t exporter[32];
    wzp_hop_session hop;
    if (c != f->conn || wzp_signal_decode(json, len, &m) != WZP_OK) {
        return;
    }
    if (m->type == WZP_SIG_MEDIA_SESSION &&
        wzp_quic_export(c, WZP_HOP_EXPORTER_LABEL, exporter) == WZP_OK &&
        wzp_hop_session_init(&hop, WZP_HOP_CLIENT, m->u.media_session.session_id, exporter) ==
            WZP_OK) {
        wzp_link_set_session(f->link, &hop);
        wzp_hop_session_wipe(&hop);
        f->session = true;
        f->st.links_made++;
        fprintf(stderr, "wzp-relay: linked to %s\n", f->remote.addr);
    }
    wzp_signal_free(m);
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    wzp_forwarder *f = user;
    (void)error;
    if (c == f->conn) {
        if (f->session) {
            fprintf(stderr, "wzp-relay: link to %s lost (%s)\n", f->remote.addr,
                    reason ? reason : "closed");
        }
        f->conn = NULL;
        f->session = false;
    }
}

static bool on_link_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                             const struct sockaddr *from, void *user) {
    wzp_forwarder *f = user;
    (void)ep;
    (void)from;
    if (f->session && wzp_link_receive(f->link, data, len, uv_now(f->loop)) != WZP_OK) {
        f->st.link_refused++; /* not the link's, forged, replayed or malformed */
    }
    return true;
}

static void connect_remote(wzp_forwarder *f) {
    if (f->conn != NULL) {
        wzp_quic_close(f->conn, "link: reconnecting");
        f->conn = NULL;
    }
    f->session = false;
    f->connect_ms = uv_now(f->loop);
    wzp_quic_conn *c = NULL;
    if (wzp_quic_connect(f->ep, f->remote.addr, WZP_LINK_SNI,
                         f->remote.has_fp ? f->remote.fp : NULL, &c) == WZP_OK) {
        f->conn = c;
    }
}

/* ---- clients ------------------------------------------------------------------------------- */

static tunnel *tunnel_for(wzp_forwarder *f, const struct sockaddr *from, uint64_t now) {
    tunnel *free_slot = NULL;
    for (unsigned i = 0; i < f->max_tunnels; i++) {
        tunnel *t = &f->tunnels[i];
        if (t->id != 0 && wzp_addr_equal((const struct sockaddr *)&t->addr, from)) {
            return t;
        }
        if (t->id == 0 && free_slot == NULL) {
            free_slot = t;
        }
    }
    if (free_slot == NULL) {
        return NULL; /* full: bounded like the sessions of a relay */
    }
    wzp_addr_copy(&free_slot->addr, from);
    do {
        free_slot->id = wzp_random_u32();
    } while (free_slot->id == 0);
    free_slot->last_ms = now;
    f->st.tunnels_made++;
    return free_slot;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    wzp_forwarder *f = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)f->buf, sizeof(f->buf));
}

static void on_client(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                      unsigned flags) {
    wzp_forwarder *f = u->data;
    (void)flags;
    if (nread <= 0 || from == NULL) {
        return;
    }
    uint64_t now = uv_now(f->loop);
    tunnel *t = tunnel_for(f, from, now);
    if (t == NULL || !f->session) {
        f->st.dropped++;
        return;
    }
    t->last_ms = now;
    if (wzp_link_send(f->link, t->id, (const uint8_t *)buf->base, (size_t)nread, now) == WZP_OK) {
        f->st.up++;
    } else {
        f->st.dropped++;
    }
}

static void on_tick(uv_timer_t *h) {
    wzp_forwarder *f = h->data;
    uint64_t now = uv_now(f->loop);
    wzp_link_tick(f->link, now);
    if (!f->session && (f->connect_ms == 0 || now - f->connect_ms >= CONNECT_GIVEUP)) {
        connect_remote(f); /* at start, after a loss, and every 2 s while it fails */
    }
    if (now - f->swept_ms >= 1000) {
        f->swept_ms = now;
        for (unsigned i = 0; i < f->max_tunnels; i++) {
            if (f->tunnels[i].id != 0 && now - f->tunnels[i].last_ms > TUNNEL_IDLE_MS) {
                f->tunnels[i].id = 0;
            }
        }
    }
}

int wzp_forwarder_new(uv_loop_t *loop, const char *listen, const wzp_relay_probe_target *remote,
                      unsigned max_tunnels, wzp_forwarder **out) {
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (max_tunnels == 0 || wzp_addr_parse(listen, &ss, &sl) != WZP_OK) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_forwarder *f = wzp_calloc(1, sizeof(*f));
    if (f == NULL) {
        return WZP_ERR_NOMEM;
    }
    f->loop = loop;
    f->remote = *remote;
    f->max_tunnels = max_tunnels;
    f->tunnels = wzp_calloc(max_tunnels, sizeof(tunnel));
    int rc =
        f->tunnels != NULL ? wzp_addr_parse(remote->addr, &f->remote_addr, &sl) : WZP_ERR_NOMEM;
    if (rc == WZP_OK) {
        rc = wzp_link_new(link_out, link_deliver, f, &f->link);
    }
    if (rc == WZP_OK) {
        wzp_quic_config qc = {
            .bind = f->remote_addr.ss_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0",
            .cb = {f, on_established, on_signal, on_closed, on_link_datagram},
        };
        rc = wzp_quic_endpoint_new(loop, &qc, &f->ep);
    }
    if (rc == WZP_OK && (uv_udp_init(loop, &f->udp) != 0 ||
                         uv_udp_bind(&f->udp, (const struct sockaddr *)&ss, 0) != 0)) {
        uv_close((uv_handle_t *)&f->udp, NULL);
        rc = WZP_ERR_IO;
    }
    if (rc != WZP_OK) {
        wzp_quic_endpoint_free(f->ep);
        wzp_link_free(f->link);
        wzp_free(f->tunnels);
        wzp_free(f);
        return rc;
    }
    f->udp.data = f;
    uv_udp_recv_start(&f->udp, on_alloc, on_client);
    uv_timer_init(loop, &f->tick);
    f->tick.data = f;
    f->open = 2;
    uv_timer_start(&f->tick, on_tick, 0, TICK_MS);
    *out = f;
    return WZP_OK;
}

uint16_t wzp_forwarder_port(const wzp_forwarder *f) {
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_udp_getsockname(&f->udp, (struct sockaddr *)&ss, &len) != 0) {
        return 0;
    }
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

static void closed(uv_handle_t *h) {
    wzp_forwarder *f = h->data;
    if (--f->open == 0) {
        wzp_link_free(f->link);
        wzp_free(f->tunnels);
        wzp_free(f);
    }
}

void wzp_forwarder_free(wzp_forwarder *f) {
    if (f == NULL) {
        return;
    }
    f->conn = NULL;
    wzp_quic_endpoint_free(f->ep);
    uv_close((uv_handle_t *)&f->udp, closed);
    uv_close((uv_handle_t *)&f->tick, closed);
}

wzp_forward_stats wzp_forwarder_stats(const wzp_forwarder *f) {
    wzp_forward_stats s = f->st;
    wzp_link_stats ls = wzp_link_get_stats(f->link);
    s.link_up = f->session;
    s.recovered = ls.recovered;
    s.link_sent = ls.sent;
    s.link_received = ls.received;
    s.repairs_sent = ls.repairs_sent;
    for (unsigned i = 0; i < f->max_tunnels; i++) {
        s.tunnels += f->tunnels[i].id != 0;
    }
    return s;
}

void wzp_forwarder_metrics(const wzp_forwarder *f, wzp_prom *p) {
    wzp_forward_stats s = wzp_forwarder_stats(f);
    char l[160];
    wzp_prom_label(l, sizeof(l), "remote", f->remote.addr);
    wzp_prom_family(p, "wzp_forward_link_up", "gauge",
                    "1 while the link to the remote relay is up.");
    wzp_prom_sample(p, "wzp_forward_link_up", l, s.link_up);
    wzp_prom_family(p, "wzp_forward_tunnels", "gauge", "Clients forwarded now.");
    wzp_prom_sample_u64(p, "wzp_forward_tunnels", NULL, s.tunnels);
    wzp_prom_family(p, "wzp_forward_datagrams_total", "counter",
                    "Client datagrams carried up to the remote relay, down to clients, dropped "
                    "(no link, too many clients), recovered by link FEC.");
    wzp_prom_sample_u64(p, "wzp_forward_datagrams_total", "direction=\"up\"", s.up);
    wzp_prom_sample_u64(p, "wzp_forward_datagrams_total", "direction=\"down\"", s.down);
    wzp_prom_sample_u64(p, "wzp_forward_datagrams_total", "direction=\"dropped\"", s.dropped);
    wzp_prom_sample_u64(p, "wzp_forward_datagrams_total", "direction=\"recovered\"", s.recovered);
    wzp_prom_family(p, "wzp_forward_link_repairs_total", "counter",
                    "Link FEC repair datagrams sent to the remote relay.");
    wzp_prom_sample_u64(p, "wzp_forward_link_repairs_total", NULL, s.repairs_sent);
}
