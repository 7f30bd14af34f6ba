/*
 * The relay server (include/wzp/relay.h): the relay core on a QUIC endpoint. Each connection is a
 * member with a QUIC path; what it says goes through the bounded signal parser, then (until
 * featherChat has vouched for it, when the relay checks tokens) through the auth gate, then to
 * the core. Media datagrams the endpoint's demultiplexer offers go to the core; forward mode's
 * virtual addresses connect the endpoint and the core's links. One timer runs the core's.
 */
#include <stdio.h>
#include <string.h>

#include "relay/server_internal.h"
#include "wzp/alloc.h"

typedef enum auth_state { AUTH_NONE, AUTH_PENDING, AUTH_DONE } auth_state;

/* One connection: its path and member, and where its token check stands. */
typedef struct conn_rec {
    wzp_quic_path path;
    wzp_member *m;
    wzp_relay_server *s;
    auth_state auth;
    wzp_auth_req *auth_req;   /* while AUTH_PENDING */
    wzp_signal *pending_join; /* a RegisterPresence that arrived while the token was checked */
} conn_rec;

static void log_line(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}

/* ---- the core's timer -------------------------------------------------------------------------
 */

static void arm(wzp_relay_server *s);

static void on_timer(uv_timer_t *t) {
    wzp_relay_server *s = t->data;
    s->timer_at = UINT64_MAX;
    wzp_quic_endpoint_hold(s->ep); /* what the core sends now goes in one sendmmsg */
    wzp_relay_core_tick(s->core, uv_now(s->loop));
    wzp_quic_endpoint_release(s->ep);
    arm(s);
}

/* (Re)arm the timer when the core wants it earlier than it is set for. */
static void arm(wzp_relay_server *s) {
    uint64_t at = wzp_relay_core_next_tick(s->core), now = uv_now(s->loop);
    if (at < s->timer_at) {
        s->timer_at = at;
        uv_timer_start(s->timer, on_timer, at > now ? at - now : 0, 0);
    }
}

/* ---- featherChat ------------------------------------------------------------------------------
 */

static void auth_refuse(wzp_relay_server *s, conn_rec *r, unsigned result, const char *detail) {
    char why[200];
    s->auth_attempts[result]++;
    snprintf(why, sizeof(why), "auth refused: %s", detail);
    fprintf(stderr, "wzp-relay: %s (room=%.12s)\n", why, wzp_member_room(r->m));
    wzp_relay_core_refuse(s->core, r->m, why);
}

/* featherChat answered (on the loop, later): admit the member, and let its join through. */
static void on_auth_reply(void *user, const wzp_auth_reply *a) {
    conn_rec *r = user;
    wzp_relay_server *s = r->s;
    r->auth_req = NULL;
    if (a->result != WZP_AUTH_OK) {
        auth_refuse(s, r, a->result, a->detail);
        return;
    }
    r->auth = AUTH_DONE; /* counted as ok once the join shows the token is this identity's */
    wzp_relay_core_vouch(r->m, a->fingerprint, a->alias);
    fprintf(stderr, "wzp-relay: auth ok (room=%.12s)\n", wzp_member_room(r->m));
    if (r->pending_join != NULL) {
        wzp_signal *join = r->pending_join;
        r->pending_join = NULL;
        wzp_relay_core_on_signal(s->core, r->m, join, uv_now(s->loop));
        wzp_signal_free(join);
        arm(s);
    }
}

/* With an auth checker the first message must be AuthToken (SPEC §8); the join that follows it
 * waits for featherChat's answer. Returns true when `*m` was consumed here. */
static bool auth_gate(wzp_relay_server *s, conn_rec *r, wzp_signal **m) {
    if (s->auth == NULL || r->auth == AUTH_DONE || wzp_member_role_of(r->m) != WZP_MEMBER_CLIENT) {
        return false;
    }
    if (r->auth == AUTH_NONE) {
        if ((*m)->type != WZP_SIG_AUTH_TOKEN) {
            auth_refuse(s, r, WZP__AUTH_MISSING, "this relay needs a featherChat token (--token)");
            return true;
        }
        int rc = wzp_auth_check(s->auth, (*m)->u.auth_token.token, on_auth_reply, r, &r->auth_req);
        if (rc != WZP_OK) {
            auth_refuse(s, r, WZP__AUTH_BUSY,
                        rc == WZP_ERR_FULL ? "too many token checks in flight, try again"
                                           : "the token cannot be checked");
            return true;
        }
        r->auth = AUTH_PENDING;
        return true;
    }
    if ((*m)->type == WZP_SIG_REGISTER_PRESENCE && r->pending_join == NULL) {
        r->pending_join = *m; /* kept (one) until the answer */
        *m = NULL;
    }
    return true; /* anything else before the answer is dropped */
}

/* ---- connections ------------------------------------------------------------------------------
 */

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    wzp_relay_server *s = user;
    conn_rec *r = wzp_calloc(1, sizeof(*r));
    if (r == NULL) {
        return -1;
    }
    wzp_histogram_observe(&s->handshake, wzp_quic_conn_handshake_ms(c) / 1000.0);
    wzp_quic_path_init(&r->path, s->ep, c);
    r->path.base.state = WZP_PATH_UP;
    r->s = s;
    if (wzp_relay_core_connect(s->core, sni, &r->path.base, uv_now(s->loop), &r->m) != WZP_OK) {
        wzp_free(r);
        return -1; /* too many probing relays or links: closed */
    }
    wzp_member_set_user(r->m, r);
    wzp_quic_conn_set_user(c, r);
    return 0;
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    wzp_relay_server *s = user;
    conn_rec *r = wzp_quic_conn_get_user(c);
    wzp_signal *m = NULL;
    int rc = wzp_signal_decode(json, len, &m);
    if (rc == WZP_ERR_UNKNOWN_VARIANT) {
        fprintf(stderr, "wzp-relay: unknown signal variant dropped\n");
        return;
    }
    if (rc != WZP_OK || r == NULL) {
        wzp_signal_free(m);
        return;
    }
    if (!auth_gate(s, r, &m)) {
        wzp_relay_core_on_signal(s->core, r->m, m, uv_now(s->loop));
        arm(s);
    }
    wzp_signal_free(m);
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    wzp_relay_server *s = user;
    conn_rec *r = wzp_quic_conn_get_user(c);
    (void)error;
    if (r == NULL) {
        return;
    }
    wzp_auth_cancel(r->auth_req); /* its answer would find nobody */
    wzp_signal_free(r->pending_join);
    wzp_relay_core_disconnect(s->core, r->m, reason, uv_now(s->loop));
    wzp_quic_conn_set_user(c, NULL);
    wzp_free(r);
    arm(s);
}

static bool on_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, void *user) {
    wzp_relay_server *s = user;
    (void)ep;
    bool mine = wzp_relay_core_on_datagram(s->core, data, len, from, uv_now(s->loop));
    if (wzp_relay_core_next_tick(s->core) < s->timer_at) {
        arm(s); /* a trunk frame started */
    }
    return mine;
}

/* ---- forward mode's links ---------------------------------------------------------------------
 */

/* A client datagram that came through a link: the endpoint takes it as from the tunnel's virtual
 * address, so QUIC, joins and media work as for any client. */
static void link_deliver(void *user, uint32_t link_id, uint32_t tunnel, const uint8_t *data,
                         size_t len) {
    wzp_relay_server *s = user;
    struct sockaddr_storage va;
    wzp_virtual_addr_make(link_id, tunnel, &va);
    wzp_quic_endpoint_inject(s->ep, data, len, (const struct sockaddr *)&va);
}

/* The endpoint sends to a virtual address: into the link that serves that tunnel. */
static void virtual_send(const struct sockaddr *to, const uint8_t *data, size_t len, void *user) {
    wzp_relay_server *s = user;
    uint32_t link_id = 0, tunnel = 0;
    wzp_virtual_addr_parts(to, &link_id, &tunnel);
    wzp_relay_core_link_send(s->core, link_id, tunnel, data, len, uv_now(s->loop));
}

/* ---- the server -------------------------------------------------------------------------------
 */

static void timer_closed(uv_handle_t *h) {
    wzp_free(h);
}

int wzp_relay_server_new(uv_loop_t *loop, const wzp_relay_server_config *cfg,
                         wzp_relay_server **out) {
    wzp_relay_server *s = wzp_calloc(1, sizeof(*s));
    if (s == NULL) {
        return WZP_ERR_NOMEM;
    }
    s->loop = loop;
    s->auth = cfg->auth;
    s->timer_at = UINT64_MAX;
    static const double hs_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    wzp_histogram_init(&s->handshake, hs_bounds, sizeof(hs_bounds) / sizeof(hs_bounds[0]));
    wzp_relay_core_config cc = {cfg->rooms,
                                cfg->trunking,
                                cfg->tap,
                                cfg->tap_user,
                                link_deliver,
                                log_line,
                                s,
                                cfg->lie,
                                cfg->max_per_address,
                                cfg->max_per_identity,
                                cfg->peer_hosts,
                                cfg->npeer_hosts};
    int rc = wzp_tls_identity_from_seed(cfg->seed, &s->tls);
    if (rc == WZP_OK) {
        rc = wzp_relay_core_new(&cc, &s->core);
    }
    if (rc == WZP_OK) {
        wzp_quic_config qc = {
            .bind = cfg->listen,
            .identity = s->tls,
            .cb = {s, on_established, on_signal, on_closed, on_datagram},
            .virtual_send = virtual_send,
            /* connections, joined or not: four times the sessions one address may hold */
            .max_per_host = cfg->max_per_address == UINT32_MAX ? UINT32_MAX
                            : cfg->max_per_address != 0        ? 4 * cfg->max_per_address
                                                               : 4 * WZP_RELAY_PER_ADDRESS,
        };
        rc = wzp_quic_endpoint_new(loop, &qc, &s->ep);
    }
    if (rc == WZP_OK && (s->timer = wzp_calloc(1, sizeof(*s->timer))) == NULL) {
        rc = WZP_ERR_NOMEM;
    }
    if (rc != WZP_OK) {
        wzp_quic_endpoint_free(s->ep);
        wzp_relay_core_free(s->core);
        wzp_tls_identity_free(s->tls);
        wzp_free(s);
        return rc;
    }
    uv_timer_init(loop, s->timer);
    s->timer->data = s;
    arm(s);
    *out = s;
    return WZP_OK;
}

void wzp_relay_server_free(wzp_relay_server *s) {
    if (s == NULL) {
        return;
    }
    uv_close((uv_handle_t *)s->timer, timer_closed); /* (closing stops it) */
    wzp_quic_endpoint_free(s->ep); /* closes connections: on_closed takes each member out */
    wzp_relay_core_free(s->core);
    wzp_tls_identity_free(s->tls);
    wzp_free(s);
}

uint16_t wzp_relay_server_port(const wzp_relay_server *s) {
    return wzp_quic_endpoint_port(s->ep);
}

void wzp_relay_server_fingerprint(const wzp_relay_server *s, uint8_t out[32]) {
    wzp_tls_identity_fingerprint(s->tls, out);
}

void wzp_relay_server_quic_stats(const wzp_relay_server *s, wzp_quic_stats *out) {
    wzp_quic_endpoint_stats(s->ep, out);
}

void wzp_relay_server_media_stats(const wzp_relay_server *s, uint64_t *in, uint64_t *out,
                                  uint64_t *refused) {
    wzp_relay_core_stats st = wzp_relay_core_get_stats(s->core);
    *in = st.media_in;
    *out = st.media_out;
    *refused = st.media_refused;
}
