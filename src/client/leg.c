/* A call session on a relay over QUIC (src/client/leg.h): the libuv wiring and what the user
 * reads of it. Everything the call does is the session's. */
#include <string.h>

#include "client/known_relays.h"
#include "client/leg.h"
#include "wzp/alloc.h"
#include "wzp/quic.h"

struct wzp_leg {
    wzp_leg_config cfg;
    uv_loop_t *loop;
    wzp_quic_endpoint *ep;
    wzp_quic_path path;
    wzp_call_session *session;
    unsigned path_id;
    uint64_t start_ms; /* event times are told from here */
    int exit_code;
    bool ended, stopping;
};

static const char *const tier_names[] = {"GOOD", "DEGRADED", "CATASTROPHIC"};

/* --require-verified: only contacts get keys. */
static bool admit_contact(void *user, const uint8_t fp[WZP_FINGERPRINT_SIZE]) {
    const wzp_leg *l = user;
    return l->cfg.contacts != NULL && wzp_contacts_by_fp(l->cfg.contacts, fp) != NULL;
}

/* A member whose keys are ready, as the contacts know it: verified (its fingerprint is a
 * contact's) or not; one that goes by a contact's name with another key gets a warning. */
static void peer_ready(const wzp_leg *l, const wzp_session_event *ev) {
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    const wzp_contact *k = NULL, *named = NULL;
    if (l->cfg.contacts != NULL && wzp_fingerprint_parse(ev->fingerprint, fp) == WZP_OK) {
        k = wzp_contacts_by_fp(l->cfg.contacts, fp);
        named = ev->text[0] != '\0' ? wzp_contacts_by_name(l->cfg.contacts, ev->text) : NULL;
    }
    if (l->cfg.out != NULL) {
        fprintf(l->cfg.out, "wzp-client: end-to-end keys with %s ready (%s%s); safety code %04u\n",
                ev->fingerprint, k != NULL ? "verified: " : "unverified: not in your contacts",
                k != NULL ? k->name : "", ev->safety_code);
    }
    if (k == NULL && named != NULL) {
        char known[WZP_FINGERPRINT_TEXT];
        wzp_fingerprint_format(named->fp, known);
        fprintf(l->cfg.err,
                "wzp-client: WARNING: %s calls itself \"%s\", but your contact %s has the key "
                "%s. Either this is someone else, or %s has a new key: check the fingerprint "
                "with them before you trust it.\n",
                ev->fingerprint, ev->text, named->name, known, named->name);
    }
}

/* The session's news, as the user reads it. */
static void write_events(wzp_leg *l) {
    uint64_t start_ms = l->start_ms;
    wzp_session_event ev;
    FILE *out = l->cfg.out, *err = l->cfg.err;
    while (wzp_call_session_next_event(l->session, &ev)) {
        if (l->cfg.status_line) {
            fputs("\r\033[K", err); /* news goes on a line of its own; the status comes back */
        }
        switch (ev.type) {
        case WZP_EV_REFUSED:
            fprintf(err, "wzp-client: the relay refused us: %s\n", ev.text);
            l->exit_code = 3;
            l->ended = true;
            break;
        case WZP_EV_ROOM:
            if (out != NULL) {
                fprintf(out, "wzp-client: room has %u member(s)\n", ev.count);
            }
            break;
        case WZP_EV_PEER_READY:
            peer_ready(l, &ev);
            break;
        case WZP_EV_PEER_LEFT:
            if (out != NULL) {
                fprintf(out, "wzp-client: %s left\n", ev.fingerprint);
            }
            break;
        case WZP_EV_TIER:
            if (out != NULL) {
                fprintf(out,
                        "wzp-client: sending tier %s at %.1f s (%s hears %.0f%% loss, path RTT %u "
                        "ms)\n",
                        (unsigned)ev.tier < 3 ? tier_names[ev.tier] : "?",
                        (double)(ev.at_ms - start_ms) / 1000.0, ev.fingerprint, ev.loss_pct,
                        ev.rtt_ms);
            }
            break;
        case WZP_EV_SEND_FAILED:
            fprintf(err, "wzp-client: could not send %s\n", ev.text);
            break;
        case WZP_EV_MEDIA_FAILED:
            fprintf(err, "wzp-client: cannot start the audio pipeline\n");
            break;
        case WZP_EV_PEER_REFUSED:
            fprintf(err,
                    "wzp-client: REFUSED a member: the relay calls it %s but its key proves %s "
                    "(someone is putting one person in another's place); no keys exchanged\n",
                    ev.fingerprint, ev.text);
            break;
        case WZP_EV_PEER_UNPROVEN:
            fprintf(err,
                    "wzp-client: REFUSED a member: %s did not prove it knows this secret room's "
                    "secret; no keys exchanged\n",
                    ev.fingerprint);
            break;
        case WZP_EV_PEER_UNVERIFIED:
            fprintf(err,
                    "wzp-client: REFUSED a member: %s is not in your contacts "
                    "(--require-verified); no keys exchanged\n",
                    ev.fingerprint);
            break;
        case WZP_EV_JOINED:
            break;
        }
    }
    if (out != NULL) {
        fflush(out);
    }
}

/* First connection to a relay without a pin: remember what it presented, and say so loudly. */
static void trust_on_first_use(wzp_leg *l, wzp_quic_conn *c) {
    uint8_t fp[WZP_TLS_FINGERPRINT_SIZE];
    char text[WZP_TLS_FINGERPRINT_TEXT];
    if (wzp_quic_peer_fingerprint(c, fp) != WZP_OK || l->cfg.known_relays == NULL) {
        return;
    }
    wzp_tls_fingerprint_format(fp, text);
    int rc = wzp_known_relays_add(l->cfg.known_relays, l->cfg.relay, fp);
    fprintf(l->cfg.out != NULL ? l->cfg.out : l->cfg.err,
            "wzp-client: first connection to %s: trusting its certificate\n  %s\n"
            "(%s %s; compare it with the fingerprint the relay's operator published)\n",
            l->cfg.relay, text, rc == WZP_OK ? "recorded in" : "NOT recorded, cannot write",
            l->cfg.known_relays);
}

static int on_established(wzp_quic_conn *c, const char *sni, void *user) {
    wzp_leg *l = user;
    (void)sni;
    if (l->cfg.relay_fp == NULL) {
        trust_on_first_use(l, c);
    }
    l->path.base.state = WZP_PATH_UP;
    if (l->cfg.out != NULL && l->cfg.session.room_key != NULL) {
        fprintf(l->cfg.out,
                "wzp-client: connected to %s, joining secret room %s (the relay sees only this "
                "id; members are given keys only once they prove the room's secret)\n",
                l->cfg.relay, l->cfg.room);
    } else if (l->cfg.out != NULL) {
        fprintf(l->cfg.out,
                "wzp-client: connected to %s, joining room \"%s\" (an open room: anyone who can "
                "guess or observe its name can join and listen)\n",
                l->cfg.relay, l->cfg.room);
    }
    wzp_call_session_path_up(l->session, l->path_id, uv_now(l->loop));
    write_events(l);
    return 0;
}

static void on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    wzp_leg *l = user;
    (void)c;
    wzp_call_session_on_signal(l->session, l->path_id, json, len, uv_now(l->loop));
    write_events(l);
}

static bool on_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, void *user) {
    wzp_leg *l = user;
    (void)ep;
    (void)from;
    wzp_call_session_on_datagram(l->session, l->path_id, data, len, uv_now(l->loop));
    return true; /* this socket talks to its relay only */
}

/* Why the connection went, in the user's words. */
static void explain_close(wzp_leg *l, int error, const char *reason) {
    FILE *err = l->cfg.err;
    if (l->cfg.status_line) {
        fputs("\r\033[K", err);
    }
    fprintf(err, "wzp-client: connection closed: %s\n", reason ? reason : "?");
    if (reason != NULL && strstr(reason, "handshake timed out") != NULL) {
        fprintf(err, "wzp-client: the relay at %s is unreachable (nothing answers there)\n",
                l->cfg.relay);
    }
    if (reason != NULL && strstr(reason, "stateless reset") != NULL) {
        fprintf(err, "wzp-client: the relay restarted and no longer knows this call\n");
    }
    if (l->exit_code != 0) {
        return;
    }
    l->exit_code = 4;
    if (error == WZP_ERR_AUTH && l->cfg.known_relays == NULL) {
        fprintf(err, "wzp-client: the relay's certificate does not match --relay-fp\n");
    } else if (error == WZP_ERR_AUTH) {
        fprintf(err,
                "wzp-client: WARNING: the relay at %s presented a certificate that differs from "
                "the one recorded in %s when you first connected.\n"
                "Someone may be intercepting this connection. If the relay's identity really "
                "changed, check its new fingerprint with its operator and delete its line from "
                "that file.\n",
                l->cfg.relay, l->cfg.known_relays);
    }
}

static void on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    wzp_leg *l = user;
    (void)c;
    l->path.conn = NULL;
    l->path.base.state = WZP_PATH_CLOSED;
    wzp_call_session_path_down(l->session, l->path_id);
    write_events(l); /* a refusal that came just before */
    if (!l->stopping) {
        explain_close(l, error, reason);
    }
    l->ended = true;
}

int wzp_leg_new(uv_loop_t *loop, const wzp_leg_config *cfg, wzp_leg **out) {
    struct sockaddr_storage relay;
    socklen_t rlen = 0;
    if (wzp_addr_parse(cfg->relay, &relay, &rlen) != WZP_OK) {
        fprintf(cfg->err, "wzp-client: relay address must be IP:port\n");
        return WZP_ERR_INVALID_ARG;
    }
    wzp_leg *l = wzp_calloc(1, sizeof(*l));
    if (l == NULL) {
        return WZP_ERR_NOMEM;
    }
    l->cfg = *cfg;
    l->loop = loop;
    l->start_ms = uv_now(loop);
    char sni[WZP_ROOM_SNI_TEXT];
    wzp_room_sni(cfg->room, strlen(cfg->room), sni);
    wzp_quic_config qc = {
        .bind = relay.ss_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0",
        .cb = {l, on_established, on_signal, on_closed, on_datagram},
    };
    wzp_quic_conn *conn = NULL;
    wzp_call_session_config sc = cfg->session;
    if (cfg->require_verified) {
        sc.admit = admit_contact;
        sc.admit_user = l;
    }
    int rc = wzp_call_session_new(&sc, &l->session);
    if (rc == WZP_OK) {
        rc = wzp_quic_endpoint_new(loop, &qc, &l->ep);
    }
    if (rc == WZP_OK) {
        rc = wzp_quic_connect(l->ep, cfg->relay, sni, cfg->relay_fp, &conn);
    }
    if (rc == WZP_OK) {
        wzp_quic_path_init(&l->path, l->ep, conn);
        rc = wzp_call_session_add_path(l->session, &l->path.base, &l->path_id);
    }
    if (rc != WZP_OK) {
        fprintf(cfg->err, "wzp-client: cannot start a connection to %s\n", cfg->relay);
        wzp_leg_free(l);
        return rc;
    }
    *out = l;
    return WZP_OK;
}

void wzp_leg_free(wzp_leg *l) {
    if (l == NULL) {
        return;
    }
    l->stopping = true;
    if (l->ep != NULL) {
        wzp_quic_endpoint_free(l->ep); /* on_closed may still run: the session is still here */
    }
    wzp_call_session_free(l->session);
    wzp_free(l);
}

wzp_call_session *wzp_leg_session(const wzp_leg *l) {
    return l->session;
}

void wzp_leg_tick(wzp_leg *l, uint64_t now_ms) {
    wzp_call_session_tick(l->session, now_ms);
    write_events(l);
}

bool wzp_leg_ended(const wzp_leg *l) {
    return l->ended;
}

int wzp_leg_exit_code(const wzp_leg *l) {
    return l->exit_code;
}

void wzp_leg_stopping(wzp_leg *l, double waited_s) {
    if (!l->stopping && !l->ended && l->exit_code == 0 && !wzp_call_session_joined(l->session)) {
        if (l->cfg.status_line) {
            fputs("\r\033[K", l->cfg.err);
        }
        fprintf(l->cfg.err,
                "wzp-client: the call never started: no answer from the relay at %s in %.1f s\n",
                l->cfg.relay, waited_s);
        l->exit_code = 4;
    }
    l->stopping = true;
}

uint32_t wzp_leg_rtt_ms(const wzp_leg *l) {
    return l->path.base.ops != NULL ? l->path.base.ops->rtt_ms(&l->path.base) : 0;
}
