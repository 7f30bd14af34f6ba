/*
 * The endpoint and its QUIC connections (ngtcp2 0.12 + GnuTLS on a libuv loop).
 *
 * An endpoint owns one UDP socket (src/transport/endpoint.c). Every datagram it receives is
 * classed by its first byte (wzp_demux_classify): QUIC goes to the connections, everything else
 * (media hop datagrams, STUN, garbage) to the owner's on_datagram. It sends queued datagrams in
 * one sendmmsg per receive batch, and can have virtual peers reached through a callback.
 *
 * A connection (src/transport/quic.c) is accepted (when the endpoint has a TLS identity) or
 * initiated. Each carries signalling on one long-lived bidirectional stream opened by the
 * client, framed as 4-byte length + JSON (wzp_frame_*). The server learns the room from the TLS
 * SNI; clients pin the server certificate's SHA-256. Keep-alive 5 s, idle timeout 30 s, ALPN
 * "wzp".
 */
#ifndef WZP_QUIC_H
#define WZP_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "wzp/addr.h"
#include "wzp/error.h"
#include "wzp/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_QUIC_KEEPALIVE_MS    5000
#define WZP_QUIC_IDLE_TIMEOUT_MS 30000
#define WZP_QUIC_MAX_CONNS       1024
#define WZP_QUIC_MAX_PER_HOST    64           /* one address cannot hold the whole table */
#define WZP_QUIC_SEND_BUFFER     (256 * 1024) /* unacknowledged signalling bytes per connection */
#define WZP_QUIC_SERVER_SOCKBUF  (4 * 1024 * 1024) /* accepting endpoints' UDP buffers */
#define WZP_QUIC_LINGER_MS       2000 /* a closed connection waits this long for its last signals */
#define WZP_QUIC_RETRY_ABOVE     64 /* handshakes in progress beyond which new clients get a Retry */
#define WZP_QUIC_SEND_BATCH      64   /* queued datagrams sent by one sendmmsg */
#define WZP_QUIC_MAX_DATAGRAM    1500 /* the largest datagram the queue takes */

typedef struct wzp_quic_endpoint wzp_quic_endpoint;
typedef struct wzp_quic_conn wzp_quic_conn;

typedef struct wzp_quic_callbacks {
    void *user;
    /* The handshake completed. For a server `sni` is what the client asked for; returning
     * non-zero closes the connection. */
    int (*on_established)(wzp_quic_conn *c, const char *sni, void *user);
    /* One complete signalling message. */
    void (*on_signal)(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user);
    /* The connection is gone (`error` 0 for a clean close); the handle is invalid afterwards. */
    void (*on_closed)(wzp_quic_conn *c, int error, const char *reason, void *user);
    /* A datagram that may be media (step 5 of the rule below). Return true when it names a
     * media session of yours (whatever you then make of it: authentic, forged, replayed), false
     * when it names none: the endpoint then treats it as a stray QUIC short header. */
    bool (*on_datagram)(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                        const struct sockaddr *from, void *user);
} wzp_quic_callbacks;

typedef struct wzp_quic_config {
    const char *bind;           /* "IP:port"; port 0 picks one */
    wzp_tls_identity *identity; /* accept connections with this certificate (NULL: client only) */
    wzp_quic_callbacks cb;
    /* Address validation: while this many accepted handshakes are unfinished (0: the default,
     * WZP_QUIC_RETRY_ABOVE), a new client is first sent a Retry and must echo its token from the
     * same address; `retry_always` asks that of every client. */
    uint32_t retry_above;
    bool retry_always;
    /* Connections one host (IP address, any port) may hold at once; a new one beyond is dropped
     * (counted). 0: WZP_QUIC_MAX_PER_HOST; UINT32_MAX: no limit. */
    uint32_t max_per_host;
    /* Forward mode: datagrams for a virtual address (wzp_virtual_addr_is) never touch the
     * socket; they are handed here (the remote relay sends to clients behind a link). */
    void (*virtual_send)(const struct sockaddr *to, const uint8_t *data, size_t len, void *user);
} wzp_quic_config;

/* Virtual peers: IPv6 addresses in fd77:7a70:6c6b::/48 carrying two 32-bit values (a link and a
 * tunnel). Datagrams from that prefix arriving on a socket are dropped: it names no real peer. */
void wzp_virtual_addr_make(uint32_t link, uint32_t tunnel, struct sockaddr_storage *out);
bool wzp_virtual_addr_is(const struct sockaddr *a);
void wzp_virtual_addr_parts(const struct sockaddr *a, uint32_t *link, uint32_t *tunnel);

/* ---- one socket, several protocols (docs/PROTOCOL.md §10) ----------------------------------
 * ngtcp2 0.12 greases QUIC's fixed bit (RFC 9287) and cannot be told not to, so a short-header
 * QUIC packet may begin with any byte 0x00..0x7F: the first byte alone cannot tell it from media.
 * The endpoint applies this rule, in this order, to every datagram:
 *   1. empty                                                        -> dropped
 *   2. first bit set: a long header (the form bit is never greased) -> QUIC
 *   3. first byte 0x00..0x03 and STUN's magic cookie at bytes 4..7  -> STUN (reserved: dropped)
 *   4. bytes 1..16 name one of this endpoint's QUIC connections, or it is a stateless reset for
 *      a connection this endpoint opened                             -> QUIC
 *   5. first byte 0x04..0x3F (a media session id, wzp/hop.h) and the owner's on_datagram says
 *      the session is its own                                        -> media
 *   6. anything else                                                -> QUIC, as a short header
 *      for no known connection (a server answers with a rate-limited stateless reset)
 * wzp_demux_classify is the part of the rule that needs no lookup (steps 1-3 and 5's range). */
typedef enum wzp_demux_kind {
    WZP_DEMUX_EMPTY,
    WZP_DEMUX_QUIC_LONG,
    WZP_DEMUX_STUN,
    WZP_DEMUX_MEDIA_OR_SHORT, /* first byte 0x04..0x3F: a media session id or a short header */
    WZP_DEMUX_SHORT,          /* first bit clear, anything else: a QUIC short header */
} wzp_demux_kind;

wzp_demux_kind wzp_demux_classify(const uint8_t *data, size_t len);

typedef struct wzp_quic_stats {
    size_t connections, handshaking; /* now */
    uint64_t retries_sent, retry_tokens_refused;
    uint64_t refused_per_host; /* new connections beyond max_per_host */
    uint64_t resets_sent, resets_suppressed, resets_received;
    uint64_t datagrams_received, recv_batches; /* recv_batches: recvmmsg calls that returned data */
    uint64_t datagrams_other; /* dropped by the demultiplexer (empty, STUN: no NAT checks yet) */
    uint64_t datagrams_sent, datagrams_dropped, send_syscalls; /* media plane, both paths */
    /* packets of a connection from another address, held for their original: dropped as copies
     * (the original came), or released to QUIC (the peer moved) */
    uint64_t copies_dropped, held_released;
} wzp_quic_stats;

WZP_MUST_CHECK int wzp_quic_endpoint_new(uv_loop_t *loop, const wzp_quic_config *cfg,
                                         wzp_quic_endpoint **out);
/* Close every connection and the socket; the endpoint is freed once libuv has closed them. */
void wzp_quic_endpoint_free(wzp_quic_endpoint *ep);
uint16_t wzp_quic_endpoint_port(const wzp_quic_endpoint *ep);
void wzp_quic_endpoint_stats(const wzp_quic_endpoint *ep, wzp_quic_stats *out);

/* Handle one datagram as if the socket had received it from `from` (a virtual peer's datagram
 * that came through a link), then flush what it queued. */
void wzp_quic_endpoint_inject(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                              const struct sockaddr *from);

/* Connect to "IP:port", asking for `sni`, accepting only a certificate whose SHA-256 is `pin`.
 * `pin` NULL accepts any certificate (trust on first use: the caller must check
 * wzp_quic_peer_fingerprint before trusting the connection with anything).
 * Errors: WZP_ERR_INVALID_ARG (address), WZP_ERR_FULL, WZP_ERR_NOMEM, WZP_ERR_CRYPTO. */
WZP_MUST_CHECK int wzp_quic_connect(wzp_quic_endpoint *ep, const char *addr, const char *sni,
                                    const uint8_t pin[WZP_TLS_FINGERPRINT_SIZE],
                                    wzp_quic_conn **out);
/* The connection's smoothed round-trip time in ms (0 before the first sample). */
uint32_t wzp_quic_rtt_ms(const wzp_quic_conn *c);
/* Client side, once established: the SHA-256 of the certificate the server presented. */
WZP_MUST_CHECK int wzp_quic_peer_fingerprint(const wzp_quic_conn *c,
                                             uint8_t out[WZP_TLS_FINGERPRINT_SIZE]);
/* Queue one signalling message (the length prefix is added). Errors: WZP_ERR_STATE (not
 * established; a server also needs the client to have opened the stream), WZP_ERR_FULL (the
 * peer is not reading), WZP_ERR_TOO_LARGE. */
WZP_MUST_CHECK int wzp_quic_send_signal(wzp_quic_conn *c, const uint8_t *json, size_t len);
/* Close with CONNECTION_CLOSE; on_closed follows (at once, or when called from one of this
 * connection's callbacks, as soon as that callback's packet is processed). */
void wzp_quic_close(wzp_quic_conn *c, const char *reason);
/* 32 bytes of TLS exporter output (RFC 5705/8446) for `label`: both ends of a connection get the
 * same value, no one else can. Used for the media hop keys and the call channel binding.
 * Errors: WZP_ERR_STATE (handshake not complete), WZP_ERR_CRYPTO. */
WZP_MUST_CHECK int wzp_quic_export(const wzp_quic_conn *c, const char *label, uint8_t out[32]);
/* Send one datagram from the endpoint's socket (the media plane). Best effort, never blocks. */
void wzp_quic_send_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                            const struct sockaddr *to);
/* Queue one datagram without a copy: write at most WZP_QUIC_MAX_DATAGRAM bytes into the slot
 * returned (valid until the next call on any endpoint of this thread), then commit them (length
 * 0: nothing queued). While the endpoint is held -- during the handling of a receive batch, or
 * between wzp_quic_endpoint_hold and _release -- the queue waits and goes out with one sendmmsg at
 * the end (or when WZP_QUIC_SEND_BATCH are queued); otherwise it goes at once. Nothing waits beyond
 * the current loop turn, so no stale audio is queued. If the socket is full the rest of the
 * batch is dropped and counted. */
uint8_t *wzp_quic_queue_slot(wzp_quic_endpoint *ep);
void wzp_quic_queue_commit(wzp_quic_endpoint *ep, size_t len, const struct sockaddr *to);
void wzp_quic_flush_datagrams(wzp_quic_endpoint *ep);
/* Batch what is queued until the matching release (nests); the last release sends it. */
void wzp_quic_endpoint_hold(wzp_quic_endpoint *ep);
void wzp_quic_endpoint_release(wzp_quic_endpoint *ep);
/* Milliseconds from the connection's first packet to handshake completion (0 before it). */
uint32_t wzp_quic_conn_handshake_ms(const wzp_quic_conn *c);
/* The peer's current address (for the media plane's first packets). */
const struct sockaddr *wzp_quic_conn_remote(const wzp_quic_conn *c);
void *wzp_quic_conn_get_user(const wzp_quic_conn *c);
void wzp_quic_conn_set_user(wzp_quic_conn *c, void *user);

#ifdef __cplusplus
}
#endif
#endif
