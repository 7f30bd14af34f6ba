/*
 * The endpoint's insides, shared by endpoint.c (the UDP socket: receive batches, the datagram
 * demultiplexer, the send batch, virtual peers) and quic.c (QUIC connections over ngtcp2). Nothing
 * outside src/transport includes this.
 */
#ifndef WZP_TRANSPORT_ENDPOINT_INTERNAL_H
#define WZP_TRANSPORT_ENDPOINT_INTERNAL_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "transport/cid_table.h"
#include "wzp/quic.h"

#define WZP__RECV_SLOT  65536 /* libuv's per-datagram chunk with recvmmsg */
#define WZP__RECV_BATCH 20    /* libuv's UV__MMSG_MAXWIDTH: datagrams per recvmmsg */

/* Datagrams queued by wzp_quic_queue_slot, sent with one sendmmsg at the end of the receive
 * batch that produced them (a relay's fan-out of a whole recvmmsg batch costs one syscall). */
struct send_batch {
    size_t n;
    struct mmsghdr msg[WZP_QUIC_SEND_BATCH];
    struct iovec iov[WZP_QUIC_SEND_BATCH];
    struct sockaddr_storage to[WZP_QUIC_SEND_BATCH];
    uint8_t data[WZP_QUIC_SEND_BATCH][WZP_QUIC_MAX_DATAGRAM];
};

struct wzp_quic_endpoint {
    uv_loop_t *loop;
    uv_udp_t udp;
    struct sockaddr_storage local;
    socklen_t local_len;
    wzp_quic_config cfg;
    gnutls_certificate_credentials_t server_cred;
    uint8_t reset_secret[32]; /* the relay's is derived from its seed: it survives restarts */
    uint8_t retry_secret[32];
    wzp_cid_table cidtab;
    wzp_quic_conn *conns;
    size_t nconns, handshaking; /* handshaking: accepted connections not yet established */
    size_t ninitiated;          /* connections we opened (they can receive stateless resets) */
    double reset_budget;        /* token bucket for stateless resets */
    uint64_t reset_refill_ms;
    wzp_quic_stats stats;
    bool closing;
    unsigned hold;      /* > 0: queued datagrams wait for the last wzp_quic_endpoint_release */
    bool in_recv_batch; /* between a recvmmsg batch's first datagram and its end */
    uint8_t *slab;      /* receive buffer: RECV_BATCH slots on an accepting endpoint, else one */
    size_t slab_len;
    struct send_batch *batch; /* queued datagrams for one sendmmsg */
};

/* quic.c: the QUIC state of an endpoint (secrets, credentials, connection table) ... */
int wzp__quic_init(wzp_quic_endpoint *ep, const wzp_quic_config *cfg);
void wzp__quic_cleanup(wzp_quic_endpoint *ep);
/* ... close every connection (the endpoint is going) ... */
void wzp__quic_close_all(wzp_quic_endpoint *ep);
/* ... whether a datagram is a packet of one of our connections or a stateless reset for one
 * (steps 4 of the demultiplexer's rule); if so it has been handled ... */
bool wzp__quic_owns(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                    const struct sockaddr *from);
/* ... and one datagram the demultiplexer gave to QUIC (steps 2, 4 and 6). */
void wzp__quic_input(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                     const struct sockaddr *from);

/* endpoint.c: send one datagram now (through a link when `to` is a virtual peer). */
void wzp__endpoint_send_now(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                            const struct sockaddr *to);
/* Handle one datagram as if the socket had received it from `from` (then flush queued sends):
 * the fuzzers' and the links' way in. */
void wzp__quic_endpoint_input(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                              const struct sockaddr *from);

#endif
