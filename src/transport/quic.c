/*
 * QUIC connections (include/wzp/quic.h): the one file that talks to ngtcp2 (0.12) and its GnuTLS
 * glue. Moving to ngtcp2 1.x is this file's work only. ngtcp2 owns no socket or timer: the
 * endpoint (endpoint.c) hands us the datagrams its demultiplexer classed as QUIC, and we ask
 * ngtcp2 what to send and when to wake up.
 */
#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/cid_table.h"
#include "transport/endpoint_internal.h"
#include "transport/tls_internal.h"
#include "wzp/quic.h"
#include "wzp/signal.h"
#include "wzp/random.h"
#include "wzp/alloc.h"
#include "wzp/addr.h"

#define CID_LEN  16
#define MAX_CIDS 8 /* active_connection_id_limit we grant the peer */
#define CONN_CIDS                                                                                  \
    (MAX_CIDS + 2) /* + the client's original DCID (or our Retry SCID) and our first SCID */
#define RETRY_TOKEN_TTL_NS (10 * NGTCP2_SECONDS)
#define RESETS_PER_SEC     100 /* stateless resets an endpoint sends at most, in bursts of as many */
#define MIN_RESET_SIZE     (NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN)
#define MAX_PKT            1452
#define HOLD_MS            25 /* a packet from a new address waits this long for its original */
#define HOLD_PKTS          8  /* ... at most this many of one connection at once */
#define PRIORITY                                                                                   \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"      \
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:%DISABLE_TLS13_COMPAT_MODE"

struct wzp_quic_conn {
    wzp_quic_endpoint *ep;
    ngtcp2_conn *conn;
    ngtcp2_crypto_conn_ref ref;
    gnutls_session_t tls;
    gnutls_certificate_credentials_t cred; /* client side */
    bool server, established, closed, pinned;
    bool reset_by_peer;  /* a valid stateless reset arrived */
    bool has_peer_token; /* client side: the server's stateless reset token is known */
    uint8_t peer_token[NGTCP2_STATELESS_RESET_TOKENLEN];
    bool in_read;       /* inside ngtcp2_conn_read_pkt: ngtcp2 must not be re-entered */
    bool close_pending; /* wzp_quic_close was called from a callback */
    bool lingering;     /* closed for the application; waiting for the last signals to be acked */
    uint64_t linger_until;             /* uv_now deadline, then CONNECTION_CLOSE regardless */
    uint64_t started_ms, handshake_ms; /* first packet; time to handshake completion */
    const char *close_reason;
    uint8_t pin[WZP_TLS_FINGERPRINT_SIZE];
    uint8_t peer_fp[WZP_TLS_FINGERPRINT_SIZE]; /* what the server presented (client side) */
    struct sockaddr_storage remote;
    socklen_t remote_len;
    ngtcp2_cid cids[CONN_CIDS];
    size_t ncids;
    uv_timer_t timer;
    int64_t stream;
    uint8_t *sendbuf; /* signalling bytes from `acked` to `queued`; `sent` in between */
    size_t acked, sent, queued;
    wzp_frame_reader *reader;
    char sni[256];
    void *user;
    wzp_quic_conn *next;
    /* Packets from an address that is not the connection's: each held HOLD_MS (up to HOLD_PKTS,
     * in arrival order) in case the same bytes come from where the connection is -- then it was
     * a copy someone re-sent from elsewhere, ahead of the original, and is dropped; otherwise
     * (the peer really moved: a NAT's new port) ngtcp2 gets it and validates the new path. */
    struct held_pkt {
        uint8_t *data; /* MAX_PKT; the slots' buffers, allocated on first use */
        size_t len;
        struct sockaddr_storage from;
        socklen_t from_len;
        uint64_t until_ms; /* 0: a free slot */
    } hold[HOLD_PKTS];
    uint8_t *hold_mem;
};

static uint64_t now_ns(void) {
    return uv_hrtime();
}

/* ---- connection-ID bookkeeping ------------------------------------------------------------ */

static int add_cid(wzp_quic_conn *c, const ngtcp2_cid *cid) {
    if (c->ncids >= CONN_CIDS) {
        return WZP_ERR_FULL;
    }
    int rc = wzp_cid_table_put(&c->ep->cidtab, cid->data, cid->datalen, c);
    if (rc == WZP_OK) {
        c->cids[c->ncids++] = *cid;
    }
    return rc;
}

static wzp_quic_conn *find_conn(wzp_quic_endpoint *ep, const uint8_t *dcid, size_t len) {
    return wzp_cid_table_get(&ep->cidtab, dcid, len);
}

/* ---- ngtcp2 callbacks ---------------------------------------------------------------------- */

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
    return ((wzp_quic_conn *)ref->user_data)->conn;
}

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
    (void)ctx;
    wzp_random_buf(dest, len);
}

static int new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                      void *user) {
    wzp_quic_conn *c = user;
    (void)conn;
    wzp_random_buf(cid->data, cidlen);
    cid->datalen = cidlen;
    if (ngtcp2_crypto_generate_stateless_reset_token(token, c->ep->reset_secret,
                                                     sizeof(c->ep->reset_secret), cid) != 0 ||
        add_cid(c, cid) != WZP_OK) {
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static int remove_cid_cb(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *user) {
    wzp_quic_conn *c = user;
    (void)conn;
    for (size_t i = 0; i < c->ncids; i++) {
        if (ngtcp2_cid_eq(&c->cids[i], cid)) {
            wzp_cid_table_del(&c->ep->cidtab, cid->data, cid->datalen, c);
            c->cids[i] = c->cids[--c->ncids];
            break;
        }
    }
    return 0;
}

static int recv_stream_data_cb(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id,
                               uint64_t offset, const uint8_t *data, size_t len, void *user,
                               void *stream_user) {
    wzp_quic_conn *c = user;
    (void)flags;
    (void)offset;
    (void)stream_user;
    if (c->stream < 0) {
        c->stream = stream_id;
    }
    if (stream_id != c->stream) {
        return 0; /* one signalling stream per connection; anything else is ignored */
    }
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *body = NULL;
        size_t blen = 0, taken = 0;
        int rc = wzp_frame_reader_push(c->reader, data + pos, len - pos, &taken, &body, &blen);
        pos += taken;
        if (rc == WZP_ERR_NEED_MORE) {
            break;
        }
        if (rc != WZP_OK) {
            return NGTCP2_ERR_CALLBACK_FAILURE; /* oversized frame: the stream is broken */
        }
        if (c->ep->cfg.cb.on_signal != NULL && !c->lingering) {
            c->ep->cfg.cb.on_signal(c, body, blen, c->ep->cfg.cb.user);
        }
    }
    ngtcp2_conn_extend_max_stream_offset(conn, stream_id, len);
    ngtcp2_conn_extend_max_offset(conn, len);
    return 0;
}

static int acked_cb(ngtcp2_conn *conn, int64_t stream_id, uint64_t offset, uint64_t len, void *user,
                    void *stream_user) {
    wzp_quic_conn *c = user;
    (void)conn;
    (void)stream_id;
    (void)offset;
    (void)stream_user;
    c->acked += (size_t)len;
    if (c->acked == c->queued) { /* everything acknowledged: rewind the buffer */
        c->acked = c->sent = c->queued = 0;
    }
    if (c->lingering && c->queued == 0) {
        c->close_pending = true; /* the parting words arrived: close once ngtcp2 returns */
    }
    return 0;
}

static int recv_stateless_reset_cb(ngtcp2_conn *conn, const ngtcp2_pkt_stateless_reset *sr,
                                   void *user) {
    wzp_quic_conn *c = user;
    (void)conn;
    (void)sr;
    c->reset_by_peer = true;
    c->ep->stats.resets_received++;
    return 0;
}

static int handshake_completed_cb(ngtcp2_conn *conn, void *user) {
    wzp_quic_conn *c = user;
    (void)conn;
    c->established = true;
    c->handshake_ms = uv_now(c->ep->loop) - c->started_ms;
    if (c->server && c->ep->handshaking > 0) {
        c->ep->handshaking--;
    }
    if (!c->server) {
        const ngtcp2_transport_params *rp = ngtcp2_conn_get_remote_transport_params(conn);
        if (rp != NULL && rp->stateless_reset_token_present) {
            memcpy(c->peer_token, rp->stateless_reset_token, sizeof(c->peer_token));
            c->has_peer_token = true;
        }
        if (c->ep->cfg.cb.on_established != NULL) {
            c->ep->cfg.cb.on_established(c, c->sni, c->ep->cfg.cb.user);
        }
        return 0;
    }
    gnutls_datum_t alpn;
    if (gnutls_alpn_get_selected_protocol(c->tls, &alpn) != 0 || alpn.size != strlen(WZP_ALPN) ||
        memcmp(alpn.data, WZP_ALPN, alpn.size) != 0) {
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    if (c->ep->cfg.cb.on_established != NULL &&
        c->ep->cfg.cb.on_established(c, c->sni, c->ep->cfg.cb.user) != 0) {
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static int extend_bidi_cb(ngtcp2_conn *conn, uint64_t max_streams, void *user) {
    wzp_quic_conn *c = user;
    (void)max_streams;
    if (!c->server && c->stream < 0) {
        int64_t id = -1;
        if (ngtcp2_conn_open_bidi_stream(conn, &id, NULL) == 0) {
            c->stream = id;
        }
    }
    return 0;
}

static void fill_callbacks(ngtcp2_callbacks *cb, bool server) {
    memset(cb, 0, sizeof(*cb));
    cb->client_initial = server ? NULL : ngtcp2_crypto_client_initial_cb;
    cb->recv_client_initial = server ? ngtcp2_crypto_recv_client_initial_cb : NULL;
    cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb->handshake_completed = handshake_completed_cb;
    cb->encrypt = ngtcp2_crypto_encrypt_cb;
    cb->decrypt = ngtcp2_crypto_decrypt_cb;
    cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb->recv_stream_data = recv_stream_data_cb;
    cb->acked_stream_data_offset = acked_cb;
    cb->recv_retry = server ? NULL : ngtcp2_crypto_recv_retry_cb;
    cb->extend_max_local_streams_bidi = extend_bidi_cb;
    cb->rand = rand_cb;
    cb->get_new_connection_id = new_cid_cb;
    cb->recv_stateless_reset = recv_stateless_reset_cb;
    cb->remove_connection_id = remove_cid_cb;
    cb->update_key = ngtcp2_crypto_update_key_cb;
    cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
}

static void fill_settings(ngtcp2_settings *s, ngtcp2_transport_params *p, bool server) {
    ngtcp2_settings_default(s);
    s->initial_ts = now_ns();
    s->initial_rtt = 300 * NGTCP2_MILLISECONDS; /* SPEC §8 */
    ngtcp2_transport_params_default(p);
    p->initial_max_streams_bidi = server ? 1 : 0;
    p->initial_max_stream_data_bidi_local = 256 * 1024;
    p->initial_max_stream_data_bidi_remote = 256 * 1024;
    p->initial_max_data = 1024 * 1024;
    p->max_idle_timeout = (ngtcp2_duration)WZP_QUIC_IDLE_TIMEOUT_MS * NGTCP2_MILLISECONDS;
    p->active_connection_id_limit = MAX_CIDS;
}

/* ---- TLS ------------------------------------------------------------------------------------ */

/* Server: read the SNI (the room) from the ClientHello and insist on our ALPN. */
static int client_hello_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                             const gnutls_datum_t *msg) {
    (void)htype;
    (void)when;
    (void)incoming;
    (void)msg;
    ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(s);
    wzp_quic_conn *c = ref->user_data;
    size_t len = sizeof(c->sni) - 1;
    unsigned type = 0;
    if (gnutls_server_name_get(s, c->sni, &len, &type, 0) != 0) {
        c->sni[0] = '\0'; /* no SNI: the default room */
    }
    return 0;
}

/* Client: accept exactly the pinned certificate (no pin: any, for trust on first use; the
 * caller reads the fingerprint and decides). */
static int verify_pin(gnutls_session_t s) {
    ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(s);
    wzp_quic_conn *c = ref->user_data;
    unsigned n = 0;
    const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
    if (peers == NULL || n == 0) {
        return -1;
    }
    crypto_hash_sha256(c->peer_fp, peers[0].data, peers[0].size);
    return !c->pinned || sodium_memcmp(c->peer_fp, c->pin, 32) == 0 ? 0 : -1;
}

static int setup_tls(wzp_quic_conn *c, const char *sni) {
    wzp_quic_endpoint *ep = c->ep;
    unsigned flags = c->server ? GNUTLS_SERVER : GNUTLS_CLIENT;
    if (gnutls_init(&c->tls, flags) != 0 ||
        gnutls_priority_set_direct(c->tls, PRIORITY, NULL) != 0) {
        return WZP_ERR_CRYPTO;
    }
    int rc = c->server ? ngtcp2_crypto_gnutls_configure_server_session(c->tls)
                       : ngtcp2_crypto_gnutls_configure_client_session(c->tls);
    if (rc != 0) {
        return WZP_ERR_CRYPTO;
    }
    c->ref.get_conn = get_conn;
    c->ref.user_data = c;
    gnutls_session_set_ptr(c->tls, &c->ref);
    gnutls_datum_t alpn = {(unsigned char *)(uintptr_t)WZP_ALPN, (unsigned)strlen(WZP_ALPN)};
    gnutls_alpn_set_protocols(c->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY);
    if (c->server) {
        gnutls_handshake_set_hook_function(c->tls, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST,
                                           client_hello_hook);
        return gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, ep->server_cred) == 0
                   ? WZP_OK
                   : WZP_ERR_CRYPTO;
    }
    if (gnutls_certificate_allocate_credentials(&c->cred) != 0 ||
        gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred) != 0) {
        return WZP_ERR_CRYPTO;
    }
    gnutls_session_set_verify_function(c->tls, verify_pin);
    if (sni != NULL && sni[0] != '\0') {
        gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, sni, strlen(sni));
        snprintf(c->sni, sizeof(c->sni), "%s", sni);
    }
    return WZP_OK;
}

/* ---- sending, timers, closing -------------------------------------------------------------- */

static void conn_free(wzp_quic_conn *c);
static void arm_timer(wzp_quic_conn *c);
static void timer_closed(uv_handle_t *h);

/* A packet ngtcp2 wrote, to the address of the path it wrote it for: the current path, or a
 * new one it is validating (PATH_CHALLENGE), never simply where the last packet came from. */
static void send_datagram(wzp_quic_conn *c, const uint8_t *data, size_t len,
                          const ngtcp2_path *path) {
    const struct sockaddr *to = path != NULL && path->remote.addrlen > 0
                                    ? (const struct sockaddr *)path->remote.addr
                                    : (const struct sockaddr *)&c->remote;
    wzp__endpoint_send_now(c->ep, data, len, to);
}

static void finish(wzp_quic_conn *c, int error, const char *reason) {
    if (c->closed) {
        return;
    }
    c->closed = true;
    if (!c->lingering && c->ep->cfg.cb.on_closed != NULL) {
        c->ep->cfg.cb.on_closed(c, error, reason, c->ep->cfg.cb.user);
    }
    conn_free(c);
}

static void write_close(wzp_quic_conn *c, int liberr) {
    ngtcp2_connection_close_error ccerr;
    ngtcp2_connection_close_error_default(&ccerr);
    if (liberr != 0) {
        ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, liberr, NULL, 0);
    }
    uint8_t buf[MAX_PKT];
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(c->conn, &ps.path, &pi, buf, sizeof(buf),
                                                        &ccerr, now_ns());
    if (n > 0) {
        send_datagram(c, buf, (size_t)n, &ps.path);
    }
}

/* Send everything ngtcp2 has for this connection, signalling data first. */
static int conn_write(wzp_quic_conn *c) {
    uint8_t buf[MAX_PKT];
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    for (int budget = 64; budget > 0; budget--) {
        ngtcp2_vec v = {c->sendbuf + c->sent, c->queued - c->sent};
        bool have = c->stream >= 0 && c->queued > c->sent;
        ngtcp2_ssize consumed = -1;
        ngtcp2_pkt_info pi;
        ngtcp2_ssize n = ngtcp2_conn_writev_stream(
            c->conn, &ps.path, &pi, buf, sizeof(buf), &consumed, NGTCP2_WRITE_STREAM_FLAG_NONE,
            have ? c->stream : -1, have ? &v : NULL, have ? 1 : 0, now_ns());
        if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR) {
            n = ngtcp2_conn_writev_stream(c->conn, &ps.path, &pi, buf, sizeof(buf), NULL,
                                          NGTCP2_WRITE_STREAM_FLAG_NONE, -1, NULL, 0, now_ns());
        }
        if (n < 0) {
            return (int)n;
        }
        if (consumed > 0) {
            c->sent += (size_t)consumed;
        }
        if (n == 0) {
            break;
        }
        send_datagram(c, buf, (size_t)n, &ps.path);
    }
    ngtcp2_conn_update_pkt_tx_time(c->conn, now_ns());
    arm_timer(c);
    return 0;
}

/* A close asked for by the application. Signalling still unacknowledged (a refusal and its
 * reason, a last hang-up) would die with an immediate CONNECTION_CLOSE, so the connection lingers,
 * invisible to the application, until the peer acknowledges it or WZP_QUIC_LINGER_MS pass. */
static void close_gracefully(wzp_quic_conn *c, const char *reason) {
    if (!c->lingering && c->established && !c->ep->closing && c->queued > c->acked) {
        if (c->ep->cfg.cb.on_closed != NULL) {
            c->ep->cfg.cb.on_closed(c, 0, reason, c->ep->cfg.cb.user);
        }
        c->lingering = true;
        c->close_pending = false;
        c->user = NULL;
        c->linger_until = uv_now(c->ep->loop) + WZP_QUIC_LINGER_MS;
        arm_timer(c);
        return;
    }
    write_close(c, 0);
    finish(c, 0, reason);
}

static void conn_read(wzp_quic_conn *c, const uint8_t *data, size_t len,
                      const struct sockaddr *from, socklen_t from_len);

/* The oldest held packet (its slot), or NULL. */
static struct held_pkt *oldest_held(wzp_quic_conn *c) {
    struct held_pkt *o = NULL;
    for (int i = 0; i < HOLD_PKTS; i++) {
        if (c->hold[i].until_ms != 0 && (o == NULL || c->hold[i].until_ms < o->until_ms)) {
            o = &c->hold[i];
        }
    }
    return o;
}

/* A held packet, to ngtcp2 after all (no original came: the peer moved). */
static void release_held(wzp_quic_conn *c, struct held_pkt *h) {
    h->until_ms = 0;
    c->ep->stats.held_released++;
    conn_read(c, h->data, h->len, (const struct sockaddr *)&h->from, h->from_len);
}

static void on_timer(uv_timer_t *t) {
    wzp_quic_conn *c = t->data;
    struct held_pkt *h = oldest_held(c);
    if (h != NULL && uv_now(c->ep->loop) >= h->until_ms) {
        release_held(c, h); /* (it may finish the connection: nothing after it here) */
        if (!c->closed) {
            arm_timer(c);
        }
        return;
    }
    if (c->lingering && uv_now(c->ep->loop) >= c->linger_until) {
        write_close(c, 0);
        finish(c, 0, "linger expired");
        return;
    }
    int rv = ngtcp2_conn_handle_expiry(c->conn, now_ns());
    if (rv == NGTCP2_ERR_IDLE_CLOSE) {
        finish(c, WZP_ERR_IO, "idle timeout");
        return;
    }
    if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
        finish(c, WZP_ERR_IO, "no answer: the QUIC handshake timed out");
        return;
    }
    if (rv != 0 || conn_write(c) != 0) {
        write_close(c, rv);
        finish(c, WZP_ERR_IO, ngtcp2_strerror(rv));
    }
}

static void arm_timer(wzp_quic_conn *c) {
    ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(c->conn), now = now_ns();
    uint64_t ms = expiry <= now ? 0 : (expiry - now) / NGTCP2_MILLISECONDS + 1;
    uint64_t t = uv_now(c->ep->loop);
    if (c->lingering) {
        uint64_t left = c->linger_until > t ? c->linger_until - t : 0;
        ms = ms < left ? ms : left;
    }
    const struct held_pkt *h = oldest_held(c);
    if (h != NULL) {
        uint64_t left = h->until_ms > t ? h->until_ms - t : 0;
        ms = ms < left ? ms : left;
    }
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* ---- connections ---------------------------------------------------------------------------- */

static void conn_free(wzp_quic_conn *c) {
    wzp_quic_endpoint *ep = c->ep;
    for (wzp_quic_conn **p = &ep->conns; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            ep->nconns--;
            break;
        }
    }
    for (size_t i = 0; i < c->ncids; i++) {
        wzp_cid_table_del(&ep->cidtab, c->cids[i].data, c->cids[i].datalen, c);
    }
    c->ncids = 0;
    if (c->server && !c->established && ep->handshaking > 0) {
        ep->handshaking--;
    }
    if (!c->server && ep->ninitiated > 0) {
        ep->ninitiated--;
    }
    if (c->conn != NULL) {
        ngtcp2_conn_del(c->conn);
    }
    if (c->tls != NULL) {
        gnutls_deinit(c->tls);
    }
    if (c->cred != NULL) {
        gnutls_certificate_free_credentials(c->cred);
    }
    wzp_free(c->sendbuf);
    wzp_free(c->reader);
    wzp_free(c->hold_mem);
    c->hold_mem = NULL;
    c->conn = NULL;
    c->tls = NULL;
    c->cred = NULL;
    /* libuv still owns the timer handle: the memory goes in its close callback */
    uv_timer_stop(&c->timer);
    c->timer.data = c;
    uv_close((uv_handle_t *)&c->timer, timer_closed);
}

static void timer_closed(uv_handle_t *h) {
    wzp_free(h->data);
}

static wzp_quic_conn *conn_alloc(wzp_quic_endpoint *ep, const struct sockaddr *remote,
                                 socklen_t rlen) {
    if (ep->nconns >= WZP_QUIC_MAX_CONNS) {
        return NULL;
    }
    wzp_quic_conn *c = wzp_calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->sendbuf = wzp_malloc(WZP_QUIC_SEND_BUFFER);
    c->reader = wzp_malloc(sizeof(*c->reader));
    if (c->sendbuf == NULL || c->reader == NULL) {
        wzp_free(c->sendbuf);
        wzp_free(c->reader);
        wzp_free(c);
        return NULL;
    }
    wzp_frame_reader_init(c->reader);
    c->ep = ep;
    c->started_ms = uv_now(ep->loop);
    c->stream = -1;
    memcpy(&c->remote, remote, rlen);
    c->remote_len = rlen;
    uv_timer_init(ep->loop, &c->timer);
    c->timer.data = c;
    c->next = ep->conns;
    ep->conns = c;
    ep->nconns++;
    return c;
}

/* ---- receiving ------------------------------------------------------------------------------ */

static void conn_read(wzp_quic_conn *c, const uint8_t *data, size_t len,
                      const struct sockaddr *from, socklen_t from_len) {
    wzp_quic_endpoint *ep = c->ep;
    ngtcp2_path path = {{(struct sockaddr *)&ep->local, ep->local_len},
                        {(struct sockaddr *)(uintptr_t)from, from_len},
                        NULL};
    ngtcp2_pkt_info pi = {0};
    c->in_read = true;
    int rv = ngtcp2_conn_read_pkt(c->conn, &path, &pi, data, len, now_ns());
    c->in_read = false;
    if (rv == 0 && c->close_pending) {
        (void)conn_write(c); /* what the callback queued (e.g. the reason) goes first */
        close_gracefully(c, c->close_reason);
        return;
    }
    if (rv == 0) {
        /* the peer's address is the path ngtcp2 now uses: it moves to a new one only after it
         * validated it (a copy of a packet re-sent from elsewhere does not move the connection) */
        const ngtcp2_path *cur = ngtcp2_conn_get_path(c->conn);
        if (cur->remote.addrlen > 0 && cur->remote.addrlen <= sizeof(c->remote)) {
            memcpy(&c->remote, cur->remote.addr, cur->remote.addrlen);
            c->remote_len = (socklen_t)cur->remote.addrlen;
        }
        rv = conn_write(c);
    }
    if (rv == NGTCP2_ERR_DRAINING && c->reset_by_peer) {
        finish(c, WZP_ERR_IO, "the peer has lost this connection (stateless reset: restarted?)");
    } else if (rv == NGTCP2_ERR_DRAINING) {
        finish(c, 0, "closed by peer");
    } else if (rv == NGTCP2_ERR_CRYPTO) {
        uint8_t alert = ngtcp2_conn_get_tls_alert(c->conn);
        write_close(c, rv);
        finish(c, WZP_ERR_AUTH, alert == 42 ? "certificate rejected (pin mismatch)" : "TLS failed");
    } else if (rv != 0) {
        write_close(c, rv);
        finish(c, WZP_ERR_IO, ngtcp2_strerror(rv));
    }
}

/* Under handshake load a new client first proves it owns its address: a Retry carries a token
 * (AEAD over the address, the client's first DCID and the time) and costs us no state. */
static bool want_retry(const wzp_quic_endpoint *ep) {
    uint32_t above = ep->cfg.retry_above != 0 ? ep->cfg.retry_above : WZP_QUIC_RETRY_ABOVE;
    return ep->cfg.retry_always || ep->handshaking >= above;
}

static void send_retry(wzp_quic_endpoint *ep, const ngtcp2_pkt_hd *hd, const struct sockaddr *from,
                       socklen_t from_len) {
    ngtcp2_cid scid = {.datalen = CID_LEN};
    wzp_random_buf(scid.data, CID_LEN);
    uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN], buf[MAX_PKT];
    ngtcp2_ssize tlen = ngtcp2_crypto_generate_retry_token(
        token, ep->retry_secret, sizeof(ep->retry_secret), hd->version,
        (const ngtcp2_sockaddr *)from, from_len, &scid, &hd->dcid, now_ns());
    if (tlen < 0) {
        return;
    }
    ngtcp2_ssize n = ngtcp2_crypto_write_retry(buf, sizeof(buf), hd->version, &hd->scid, &scid,
                                               &hd->dcid, token, (size_t)tlen);
    if (n > 0) {
        wzp__endpoint_send_now(ep, buf, (size_t)n, from);
        ep->stats.retries_sent++;
    }
}

/* Does `from`'s host hold as many connections as one host may? */
static bool host_full(const wzp_quic_endpoint *ep, const struct sockaddr *from) {
    uint32_t cap = ep->cfg.max_per_host != 0 ? ep->cfg.max_per_host : WZP_QUIC_MAX_PER_HOST;
    uint32_t n = 0;
    for (const wzp_quic_conn *c = ep->conns; c != NULL && n < cap; c = c->next) {
        n += wzp_addr_same_host((const struct sockaddr *)&c->remote, from);
    }
    return n >= cap;
}

/* A packet for no known connection: a server accepts a new one from a client Initial. */
static void accept_conn(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, socklen_t from_len) {
    ngtcp2_pkt_hd hd;
    if (ep->server_cred == NULL || ngtcp2_accept(&hd, data, len) != 0) {
        return; /* not an Initial we can take: drop it */
    }
    if (host_full(ep, from)) {
        ep->stats.refused_per_host++; /* one address cannot take every slot */
        return;
    }
    ngtcp2_cid odcid = hd.dcid; /* the DCID of the client's very first Initial */
    bool retried = false;
    if (hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
        if (ngtcp2_crypto_verify_retry_token(&odcid, hd.token.base, hd.token.len, ep->retry_secret,
                                             sizeof(ep->retry_secret), hd.version,
                                             (const ngtcp2_sockaddr *)from, from_len, &hd.dcid,
                                             RETRY_TOKEN_TTL_NS, now_ns()) != 0) {
            ep->stats.retry_tokens_refused++; /* expired, forged or from another address */
            return;
        }
        retried = true;
    } else if (want_retry(ep)) {
        send_retry(ep, &hd, from, from_len);
        return;
    }
    wzp_quic_conn *c = conn_alloc(ep, from, from_len);
    if (c == NULL) {
        return;
    }
    c->server = true;
    ep->handshaking++;
    ngtcp2_cid scid = {.datalen = CID_LEN};
    wzp_random_buf(scid.data, CID_LEN);
    ngtcp2_callbacks cb;
    ngtcp2_settings settings;
    ngtcp2_transport_params params;
    fill_callbacks(&cb, true);
    fill_settings(&settings, &params, true);
    params.original_dcid = odcid;
    if (retried) {
        settings.token = hd.token;
        params.retry_scid = hd.dcid;
        params.retry_scid_present = 1;
    }
    params.stateless_reset_token_present = 1;
    ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token, ep->reset_secret,
                                                 sizeof(ep->reset_secret), &scid);
    ngtcp2_path path = {{(struct sockaddr *)&ep->local, ep->local_len},
                        {(struct sockaddr *)(uintptr_t)from, from_len},
                        NULL};
    /* the client keeps using the DCID it chose (or our Retry SCID) for a while */
    if (add_cid(c, &scid) != WZP_OK || add_cid(c, &hd.dcid) != WZP_OK ||
        setup_tls(c, NULL) != WZP_OK ||
        ngtcp2_conn_server_new(&c->conn, &hd.scid, &scid, &path, hd.version, &cb, &settings,
                               &params, NULL, c) != 0) {
        conn_free(c);
        return;
    }
    ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
    ngtcp2_conn_set_keep_alive_timeout(c->conn, (ngtcp2_duration)WZP_QUIC_KEEPALIVE_MS *
                                                    NGTCP2_MILLISECONDS);
    conn_read(c, data, len, from, from_len);
}

/* A packet for connection `c`: from where the connection is, to ngtcp2 (dropping a held copy of
 * it); from anywhere else, held for its original (see `hold`). */
static void deliver(wzp_quic_conn *c, const uint8_t *data, size_t len, const struct sockaddr *from,
                    socklen_t from_len) {
    bool home = wzp_addr_equal((const struct sockaddr *)&c->remote, from);
    if (home || c->closed || c->lingering || len > MAX_PKT) {
        for (int i = 0; home && i < HOLD_PKTS; i++) {
            struct held_pkt *h = &c->hold[i];
            if (h->until_ms != 0 && h->len == len && memcmp(h->data, data, len) == 0) {
                h->until_ms = 0; /* the held one was a copy of this: dropped */
                c->ep->stats.copies_dropped++;
            }
        }
        conn_read(c, data, len, from, from_len);
        return;
    }
    if (c->hold_mem == NULL && (c->hold_mem = wzp_malloc((size_t)HOLD_PKTS * MAX_PKT)) == NULL) {
        conn_read(c, data, len, from, from_len);
        return;
    }
    struct held_pkt *slot = NULL;
    for (int i = 0; i < HOLD_PKTS && slot == NULL; i++) {
        slot = c->hold[i].until_ms == 0 ? &c->hold[i] : NULL;
    }
    if (slot == NULL) { /* all held: the oldest goes to ngtcp2 now */
        slot = oldest_held(c);
        release_held(c, slot);
        if (c->closed) {
            return;
        }
    }
    slot->data = c->hold_mem + (size_t)(slot - c->hold) * MAX_PKT;
    memcpy(slot->data, data, len);
    slot->len = len;
    memcpy(&slot->from, from, from_len);
    slot->from_len = from_len;
    slot->until_ms = uv_now(c->ep->loop) + HOLD_MS;
    arm_timer(c);
}

/* A short-header packet for no connection we know may be our server's stateless reset: its
 * DCID is random and its last 16 bytes are the token the server gave us. Checked before the
 * media plane sees the packet (which would take anything from the relay's address), at the
 * cost of one 16-byte compare per connection we opened, and only for those; ngtcp2 then
 * confirms it and the connection drains. */
static bool stateless_reset_for_us(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                                   const struct sockaddr *from, socklen_t from_len) {
    if (ep->ninitiated == 0 || (data[0] & 0x80) || len < MIN_RESET_SIZE) {
        return false;
    }
    const uint8_t *tail = data + len - NGTCP2_STATELESS_RESET_TOKENLEN;
    for (wzp_quic_conn *c = ep->conns; c != NULL; c = c->next) {
        if (!c->server && c->has_peer_token && !c->closed && !c->lingering &&
            wzp_addr_equal((const struct sockaddr *)&c->remote, from) &&
            sodium_memcmp(tail, c->peer_token, NGTCP2_STATELESS_RESET_TOKENLEN) == 0) {
            conn_read(c, data, len, from, from_len);
            return true;
        }
    }
    return false;
}

/* Otherwise a server answers a stray short-header packet with a stateless reset of its own
 * (keyed on the DCID: a relay restarted from the same seed resets its old connections at once
 * instead of leaving clients to a 30 s idle timeout) -- shorter than the trigger, so two
 * endpoints cannot loop, and rate-limited, so it is no amplifier. */
static void stray_short(wzp_quic_endpoint *ep, size_t len, const struct sockaddr *from,
                        const ngtcp2_version_cid *vc) {
    if (ep->server_cred == NULL || len <= MIN_RESET_SIZE || vc->dcidlen != CID_LEN) {
        return;
    }
    uint64_t now = uv_now(ep->loop);
    ep->reset_budget += (double)(now - ep->reset_refill_ms) * RESETS_PER_SEC / 1000.0;
    ep->reset_refill_ms = now;
    if (ep->reset_budget > RESETS_PER_SEC) {
        ep->reset_budget = RESETS_PER_SEC;
    }
    if (ep->reset_budget < 1.0) {
        ep->stats.resets_suppressed++;
        return;
    }
    ep->reset_budget -= 1.0;
    ngtcp2_cid dcid;
    ngtcp2_cid_init(&dcid, vc->dcid, vc->dcidlen);
    uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN], rnd[64], buf[64];
    size_t size = len - 1 < sizeof(buf) ? len - 1 : sizeof(buf);
    wzp_random_buf(rnd, sizeof(rnd));
    if (ngtcp2_crypto_generate_stateless_reset_token(token, ep->reset_secret,
                                                     sizeof(ep->reset_secret), &dcid) != 0) {
        return;
    }
    ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(buf, size, token, rnd, sizeof(rnd));
    if (n > 0) {
        wzp__endpoint_send_now(ep, buf, (size_t)n, from);
        ep->stats.resets_sent++;
    }
}

bool wzp__quic_owns(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                    const struct sockaddr *from) {
    socklen_t from_len = wzp_addr_len(from);
    ngtcp2_version_cid vc;
    if (ngtcp2_pkt_decode_version_cid(&vc, data, len, CID_LEN) != 0) {
        return false;
    }
    wzp_quic_conn *c = find_conn(ep, vc.dcid, vc.dcidlen);
    if (c != NULL) {
        deliver(c, data, len, from, from_len);
        return true;
    }
    return stateless_reset_for_us(ep, data, len, from, from_len);
}

/* A datagram the demultiplexer gave to QUIC: for a connection we know, a stateless reset of
 * ours, a new connection (a long header at a server), or a stray short header. */
void wzp__quic_input(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                     const struct sockaddr *from) {
    ngtcp2_version_cid vc;
    if (ngtcp2_pkt_decode_version_cid(&vc, data, len, CID_LEN) != 0) {
        return; /* not a packet of the one version we speak (no version negotiation) */
    }
    if (wzp__quic_owns(ep, data, len, from)) {
        return;
    }
    if (data[0] & 0x80) { /* long header */
        accept_conn(ep, data, len, from, wzp_addr_len(from));
    } else {
        stray_short(ep, len, from, &vc);
    }
}

int wzp__quic_init(wzp_quic_endpoint *ep, const wzp_quic_config *cfg) {
    if (cfg->identity != NULL) {
        memcpy(ep->reset_secret, wzp__tls_identity_reset_secret(cfg->identity), 32);
    } else {
        wzp_random_buf(ep->reset_secret, sizeof(ep->reset_secret));
    }
    wzp_random_buf(ep->retry_secret, sizeof(ep->retry_secret));
    ep->reset_budget = RESETS_PER_SEC;
    ep->reset_refill_ms = uv_now(ep->loop);
    if (wzp_cid_table_init(&ep->cidtab, WZP_QUIC_MAX_CONNS * CONN_CIDS) != WZP_OK) {
        return WZP_ERR_NOMEM;
    }
    if (cfg->identity != NULL) {
        gnutls_x509_crt_t crt = wzp__tls_identity_crt(cfg->identity);
        if (gnutls_certificate_allocate_credentials(&ep->server_cred) != 0 ||
            gnutls_certificate_set_x509_key(ep->server_cred, &crt, 1,
                                            wzp__tls_identity_key(cfg->identity)) < 0) {
            return WZP_ERR_CRYPTO;
        }
    }
    return WZP_OK;
}

void wzp__quic_cleanup(wzp_quic_endpoint *ep) {
    if (ep->server_cred != NULL) {
        gnutls_certificate_free_credentials(ep->server_cred);
        ep->server_cred = NULL;
    }
    wzp_cid_table_free(&ep->cidtab);
}

void wzp__quic_close_all(wzp_quic_endpoint *ep) {
    while (ep->conns != NULL) {
        wzp_quic_close(ep->conns, "shutting down");
    }
}

/* ---- public API ------------------------------------------------------------------------------ */

int wzp_quic_connect(wzp_quic_endpoint *ep, const char *addr, const char *sni,
                     const uint8_t pin[WZP_TLS_FINGERPRINT_SIZE], wzp_quic_conn **out) {
    struct sockaddr_storage remote;
    socklen_t rlen = 0;
    int rc = wzp_addr_parse(addr, &remote, &rlen);
    if (rc != WZP_OK) {
        return rc;
    }
    wzp_quic_conn *c = conn_alloc(ep, (const struct sockaddr *)&remote, rlen);
    if (c == NULL) {
        return WZP_ERR_FULL;
    }
    ep->ninitiated++;
    if (pin != NULL) {
        memcpy(c->pin, pin, WZP_TLS_FINGERPRINT_SIZE);
        c->pinned = true;
    }
    ngtcp2_cid dcid = {.datalen = CID_LEN}, scid = {.datalen = CID_LEN};
    wzp_random_buf(dcid.data, CID_LEN);
    wzp_random_buf(scid.data, CID_LEN);
    add_cid(c, &scid);
    ngtcp2_callbacks cb;
    ngtcp2_settings settings;
    ngtcp2_transport_params params;
    fill_callbacks(&cb, false);
    fill_settings(&settings, &params, false);
    ngtcp2_path path = {{(struct sockaddr *)&ep->local, ep->local_len},
                        {(struct sockaddr *)&c->remote, c->remote_len},
                        NULL};
    rc = setup_tls(c, sni);
    if (rc == WZP_OK && ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1,
                                               &cb, &settings, &params, NULL, c) != 0) {
        rc = WZP_ERR_CRYPTO;
    }
    if (rc != WZP_OK) {
        conn_free(c);
        return rc;
    }
    ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
    ngtcp2_conn_set_keep_alive_timeout(c->conn, (ngtcp2_duration)WZP_QUIC_KEEPALIVE_MS *
                                                    NGTCP2_MILLISECONDS);
    if (conn_write(c) != 0) {
        conn_free(c);
        return WZP_ERR_IO;
    }
    *out = c;
    return WZP_OK;
}

int wzp_quic_send_signal(wzp_quic_conn *c, const uint8_t *json, size_t len) {
    if (c->closed || c->lingering || !c->established || (c->server && c->stream < 0)) {
        return WZP_ERR_STATE; /* a client queues until its stream opens */
    }
    if (len == 0 || len > WZP_SIGNAL_MAX_JSON) {
        return WZP_ERR_TOO_LARGE;
    }
    if (WZP_QUIC_SEND_BUFFER - c->queued < WZP_SIGNAL_FRAME_PREFIX + len) {
        return WZP_ERR_FULL;
    }
    size_t n = 0;
    int rc =
        wzp_frame_encode(json, len, c->sendbuf + c->queued, WZP_QUIC_SEND_BUFFER - c->queued, &n);
    if (rc != WZP_OK) {
        return rc;
    }
    c->queued += n;
    if (!c->in_read && conn_write(c) != 0) { /* inside a callback: written after the read */
        wzp_quic_close(c, "send failed");
    }
    return WZP_OK;
}

void wzp_quic_close(wzp_quic_conn *c, const char *reason) {
    if (c->in_read && !c->ep->closing) { /* ngtcp2 is on the stack: close once it returns */
        c->close_pending = true;
        c->close_reason = reason;
        return;
    }
    if (c->conn == NULL || c->closed) {
        finish(c, 0, reason);
        return;
    }
    close_gracefully(c, reason);
}

uint32_t wzp_quic_rtt_ms(const wzp_quic_conn *c) {
    if (c->conn == NULL || c->closed) {
        return 0;
    }
    ngtcp2_conn_stat st;
    ngtcp2_conn_get_conn_stat(c->conn, &st);
    return (uint32_t)(st.smoothed_rtt / NGTCP2_MILLISECONDS);
}

int wzp_quic_peer_fingerprint(const wzp_quic_conn *c, uint8_t out[WZP_TLS_FINGERPRINT_SIZE]) {
    if (c->server || !c->established) {
        return WZP_ERR_STATE;
    }
    memcpy(out, c->peer_fp, WZP_TLS_FINGERPRINT_SIZE);
    return WZP_OK;
}

int wzp_quic_export(const wzp_quic_conn *c, const char *label, uint8_t out[32]) {
    if (c->closed || !c->established) {
        return WZP_ERR_STATE;
    }
    return gnutls_prf_rfc5705(c->tls, strlen(label), label, 0, NULL, 32, (char *)out) == 0
               ? WZP_OK
               : WZP_ERR_CRYPTO;
}

uint32_t wzp_quic_conn_handshake_ms(const wzp_quic_conn *c) {
    return (uint32_t)c->handshake_ms;
}

const struct sockaddr *wzp_quic_conn_remote(const wzp_quic_conn *c) {
    return (const struct sockaddr *)&c->remote;
}

void *wzp_quic_conn_get_user(const wzp_quic_conn *c) {
    return c->user;
}

void wzp_quic_conn_set_user(wzp_quic_conn *c, void *user) {
    c->user = user;
}
