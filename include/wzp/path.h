/*
 * A path: what a call session (or a relay member) sends through, and what is known of it.
 *
 * A session speaks to the other end of a path in datagrams (media, best effort) and signalling
 * messages (reliable, in order), and binds its keys to the channel the path runs on through that
 * channel's exporter. It never sees a socket: each transport implements the ops -- QUIC over UDP
 * first (wzp_quic_path, below), a TLS/WebSocket stream and peer-to-peer paths later -- and a test
 * implements them over a simulated network. Datagrams a path accepts are queued by it (the QUIC
 * endpoint's send batch, a test's simulated link) and sent when its owner's loop says so.
 */
#ifndef WZP_PATH_H
#define WZP_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wzp/error.h"
#include "wzp/signal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_PATH_MAX_DATAGRAM 1500 /* the largest datagram any path takes */

typedef enum wzp_path_kind {
    WZP_PATH_QUIC, /* a QUIC connection for signalling, datagrams beside it on its UDP socket */
    WZP_PATH_TEST, /* a test's simulated network */
} wzp_path_kind;

typedef enum wzp_path_state {
    WZP_PATH_CONNECTING, /* its handshake is not done: nothing can be sent yet */
    WZP_PATH_UP,
    WZP_PATH_CLOSED,
} wzp_path_state;

typedef struct wzp_path wzp_path;

typedef struct wzp_path_ops {
    /* Room for one datagram of up to `mtu` bytes; then commit how many were written (0: none).
     * Best effort: a path that cannot send drops it (and counts). */
    uint8_t *(*datagram_slot)(wzp_path *p);
    void (*datagram_commit)(wzp_path *p, size_t len);
    /* One signalling message (JSON, no framing). Errors: WZP_ERR_STATE (not up), WZP_ERR_FULL
     * (the other end is not reading), WZP_ERR_TOO_LARGE. */
    int (*send_signal)(wzp_path *p, const uint8_t *json, size_t len);
    /* 32 bytes only the two ends of this channel can compute (TLS exporter, RFC 5705/8446) for
     * `label`. Errors: WZP_ERR_STATE, WZP_ERR_CRYPTO. */
    int (*export_secret)(wzp_path *p, const char *label, uint8_t out[32]);
    /* Smoothed round-trip time in ms (0: not measured yet). */
    uint32_t (*rtt_ms)(const wzp_path *p);
    /* Close the channel; its owner hears of it through the transport (on_closed). */
    void (*close)(wzp_path *p, const char *reason);
} wzp_path_ops;

struct wzp_path {
    const wzp_path_ops *ops;
    void *ctx;                      /* the transport's, for its ops (the QUIC path: its endpoint) */
    struct sockaddr_storage remote; /* where datagrams go (an authentic datagram may move it) */
    wzp_path_kind kind;
    wzp_path_state state;
    size_t mtu; /* largest datagram, at most WZP_PATH_MAX_DATAGRAM */
};

/* A copy of `data` as one datagram (the slot and commit in one). Too large for the path: dropped,
 * WZP_ERR_TOO_LARGE. */
int wzp_path_send_datagram(wzp_path *p, const uint8_t *data, size_t len);
/* Encode `m` into `buf` (scratch of `cap` bytes) and send it. Errors: wzp_signal_encode's and
 * send_signal's. */
WZP_MUST_CHECK int wzp_path_send_message(wzp_path *p, const wzp_signal *m, uint8_t *buf,
                                         size_t cap);

/* ---- QUIC over UDP ---------------------------------------------------------------------------
 * A path over one QUIC connection: signalling on its stream, datagrams from its endpoint's socket
 * to `remote` (the connection's peer until the owner moves it). Plain struct, owned by whoever
 * owns the connection (it must outlive the session or member using it). */
struct wzp_quic_endpoint;
struct wzp_quic_conn;
typedef struct wzp_quic_path {
    wzp_path base;              /* ctx: the endpoint (what a datagram needs on the first line) */
    struct wzp_quic_conn *conn; /* NULL once closed */
} wzp_quic_path;

/* `conn`'s path (state CONNECTING until the owner sets UP at its handshake). */
void wzp_quic_path_init(wzp_quic_path *qp, struct wzp_quic_endpoint *ep,
                        struct wzp_quic_conn *conn);

#ifdef __cplusplus
}
#endif
#endif
