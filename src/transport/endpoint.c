/*
 * The endpoint: one UDP socket on a libuv loop shared by every protocol of a node (include/wzp/
 * quic.h). It reads batches with recvmmsg, classes each datagram by its first byte (demux.c) and
 * hands QUIC to quic.c and everything else to the owner's on_datagram; it sends what is queued
 * in one sendmmsg at the end of each receive batch; and it has virtual peers: addresses in
 * fd77:7a70:6c6b::/48 that are reached through a callback (forward mode's link tunnels), never
 * through the socket.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/endpoint_internal.h"
#include "wzp/alloc.h"

/* A datagram for a virtual peer goes to the link that serves it, not to the socket. */
static bool sent_virtually(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                           const struct sockaddr *to) {
    if (!wzp_virtual_addr_is(to)) {
        return false;
    }
    if (ep->cfg.virtual_send != NULL) {
        ep->cfg.virtual_send(to, data, len, ep->cfg.cb.user);
    }
    return true;
}

void wzp__endpoint_send_now(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                            const struct sockaddr *to) {
    if (sent_virtually(ep, data, len, to)) {
        return;
    }
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)data, (unsigned)len);
    (void)uv_udp_try_send(&ep->udp, &b, 1, to);
}

/* ---- receiving ------------------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    wzp_quic_endpoint *ep = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)ep->slab, (unsigned)ep->slab_len);
}

/* One datagram to the protocol it belongs to, by the rule in include/wzp/quic.h. */
static void handle_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                            const struct sockaddr *from) {
    switch (wzp_demux_classify(data, len)) {
    case WZP_DEMUX_EMPTY:
    case WZP_DEMUX_STUN: /* no NAT checks yet: nothing here speaks STUN */
        ep->stats.datagrams_other++;
        return;
    case WZP_DEMUX_QUIC_LONG:
    case WZP_DEMUX_SHORT:
        wzp__quic_input(ep, data, len, from);
        return;
    case WZP_DEMUX_MEDIA_OR_SHORT:
        if (wzp__quic_owns(ep, data, len, from)) {
            return; /* one of our connections' packets, or a stateless reset for one: handled */
        }
        if (ep->cfg.cb.on_datagram != NULL &&
            ep->cfg.cb.on_datagram(ep, data, len, from, ep->cfg.cb.user)) {
            return; /* media */
        }
        wzp__quic_input(ep, data, len, from); /* a stray short header */
        return;
    }
}

void wzp_quic_flush_datagrams(wzp_quic_endpoint *ep) {
    struct send_batch *b = ep->batch;
    uv_os_fd_t fd = -1;
    if (b->n == 0 || uv_fileno((const uv_handle_t *)&ep->udp, &fd) != 0) {
        b->n = 0;
        return;
    }
    size_t done = 0;
    while (done < b->n) {
        int n = sendmmsg(fd, b->msg + done, (unsigned)(b->n - done), MSG_DONTWAIT);
        ep->stats.send_syscalls++;
        if (n > 0) {
            done += (size_t)n;
            ep->stats.datagrams_sent += (uint64_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            break; /* the socket is full: late audio is worthless, drop the rest */
        } else {
            done++; /* this one cannot go (unreachable, bad address): skip it */
            ep->stats.datagrams_dropped++;
        }
    }
    ep->stats.datagrams_dropped += b->n - done;
    b->n = 0;
}

static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags) {
    wzp_quic_endpoint *ep = udp->data;
    if (ep->closing) {
        return;
    }
    if (nread <= 0 || from == NULL) {
        if ((flags & UV_UDP_MMSG_FREE) && ep->in_recv_batch) { /* the end of a recvmmsg batch */
            ep->in_recv_batch = false;
            ep->stats.recv_batches++;
            wzp_quic_endpoint_release(ep);
        }
        return;
    }
    ep->stats.datagrams_received++;
    bool chunk = (flags & UV_UDP_MMSG_CHUNK) != 0;
    if (chunk && !ep->in_recv_batch) { /* what it makes us send goes out when the batch ends */
        ep->in_recv_batch = true;
        wzp_quic_endpoint_hold(ep);
    }
    if (!chunk) {
        wzp_quic_endpoint_hold(ep);
    }
    if (!wzp_virtual_addr_is(from)) { /* that prefix names link tunnels, never a real peer */
        handle_datagram(ep, (const uint8_t *)buf->base, (size_t)nread, from);
    }
    if (!chunk) { /* a lone datagram: no batch end follows */
        wzp_quic_endpoint_release(ep);
    }
}

void wzp_quic_endpoint_hold(wzp_quic_endpoint *ep) {
    ep->hold++;
}

void wzp_quic_endpoint_release(wzp_quic_endpoint *ep) {
    if (ep->hold > 0 && --ep->hold == 0 && !ep->closing) {
        wzp_quic_flush_datagrams(ep);
    }
}

void wzp_quic_endpoint_inject(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                              const struct sockaddr *from) {
    wzp__quic_endpoint_input(ep, data, len, from);
}

void wzp__quic_endpoint_input(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                              const struct sockaddr *from) {
    if (len == 0 || ep->closing) {
        return;
    }
    ep->stats.datagrams_received++;
    wzp_quic_endpoint_hold(ep);
    handle_datagram(ep, data, len, from);
    wzp_quic_endpoint_release(ep);
}

/* ---- virtual peers -------------------------------------------------------------------------- */

static const uint8_t vprefix[6] = {0xfd, 0x77, 0x7a, 0x70, 0x6c, 0x6b};

void wzp_virtual_addr_make(uint32_t link, uint32_t tunnel, struct sockaddr_storage *out) {
    memset(out, 0, sizeof(*out));
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(1);
    memcpy(a->sin6_addr.s6_addr, vprefix, sizeof(vprefix));
    uint8_t *b = a->sin6_addr.s6_addr + 8;
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(link >> (24 - 8 * i));
        b[4 + i] = (uint8_t)(tunnel >> (24 - 8 * i));
    }
}

bool wzp_virtual_addr_is(const struct sockaddr *a) {
    return a->sa_family == AF_INET6 &&
           memcmp(((const struct sockaddr_in6 *)(const void *)a)->sin6_addr.s6_addr, vprefix,
                  sizeof(vprefix)) == 0;
}

void wzp_virtual_addr_parts(const struct sockaddr *a, uint32_t *link, uint32_t *tunnel) {
    const uint8_t *b = ((const struct sockaddr_in6 *)(const void *)a)->sin6_addr.s6_addr + 8;
    *link = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    *tunnel = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
}

/* ---- the endpoint ---------------------------------------------------------------------------- */

int wzp_quic_endpoint_new(uv_loop_t *loop, const wzp_quic_config *cfg, wzp_quic_endpoint **out) {
    wzp_quic_endpoint *ep = wzp_calloc(1, sizeof(*ep));
    if (ep == NULL) {
        return WZP_ERR_NOMEM;
    }
    ep->loop = loop;
    ep->cfg = *cfg;
    int rc = wzp_addr_parse(cfg->bind, &ep->local, &ep->local_len);
    if (rc == WZP_OK) {
        rc = wzp__quic_init(ep, cfg);
    }
    if (rc == WZP_OK) {
        /* an accepting endpoint (a relay) reads up to RECV_BATCH datagrams per recvmmsg */
        ep->slab_len = cfg->identity != NULL ? WZP__RECV_SLOT * WZP__RECV_BATCH : WZP__RECV_SLOT;
        ep->slab = wzp_malloc(ep->slab_len);
        ep->batch = wzp_calloc(1, sizeof(*ep->batch));
        rc = ep->slab != NULL && ep->batch != NULL ? WZP_OK : WZP_ERR_NOMEM;
    }
    unsigned udp_flags = AF_UNSPEC | (cfg->identity != NULL ? UV_UDP_RECVMMSG : 0);
    if (rc == WZP_OK && (uv_udp_init_ex(loop, &ep->udp, udp_flags) != 0 ||
                         uv_udp_bind(&ep->udp, (const struct sockaddr *)&ep->local, 0) != 0)) {
        rc = WZP_ERR_IO;
    }
    if (rc != WZP_OK) {
        wzp__quic_cleanup(ep);
        wzp_free(ep->slab);
        wzp_free(ep->batch);
        sodium_memzero(ep, sizeof(*ep));
        wzp_free(ep); /* (a failed uv_udp_init leaves nothing to close) */
        return rc;
    }
    if (cfg->identity != NULL) {
        /* a relay takes bursts (hundreds of Initials at once, a room's fan-out): ask for deep
         * socket buffers; best effort, the kernel caps them at net.core.[rw]mem_max */
        int size = WZP_QUIC_SERVER_SOCKBUF;
        (void)uv_recv_buffer_size((uv_handle_t *)&ep->udp, &size);
        size = WZP_QUIC_SERVER_SOCKBUF;
        (void)uv_send_buffer_size((uv_handle_t *)&ep->udp, &size);
    }
    int namelen = sizeof(ep->local);
    uv_udp_getsockname(&ep->udp, (struct sockaddr *)&ep->local, &namelen);
    ep->local_len = (socklen_t)namelen;
    ep->udp.data = ep;
    uv_udp_recv_start(&ep->udp, on_alloc, on_recv);
    *out = ep;
    return WZP_OK;
}

uint16_t wzp_quic_endpoint_port(const wzp_quic_endpoint *ep) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&ep->local;
    return ntohs(in->sin_port); /* sin_port and sin6_port sit at the same offset */
}

static void udp_closed(uv_handle_t *h) {
    wzp_quic_endpoint *ep = h->data;
    wzp__quic_cleanup(ep);
    wzp_free(ep->slab);
    wzp_free(ep->batch);
    sodium_memzero(ep, sizeof(*ep)); /* the reset and retry secrets */
    wzp_free(ep);
}

void wzp_quic_endpoint_stats(const wzp_quic_endpoint *ep, wzp_quic_stats *out) {
    *out = ep->stats;
    out->connections = ep->nconns;
    out->handshaking = ep->handshaking;
}

void wzp_quic_endpoint_free(wzp_quic_endpoint *ep) {
    if (ep == NULL) {
        return;
    }
    ep->closing = true; /* no lingering: everything closes now */
    wzp__quic_close_all(ep);
    uv_udp_recv_stop(&ep->udp);
    uv_close((uv_handle_t *)&ep->udp, udp_closed);
}

void wzp_quic_send_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                            const struct sockaddr *to) {
    if (sent_virtually(ep, data, len, to)) {
        return;
    }
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)data, (unsigned)len);
    ep->stats.send_syscalls++;
    if (uv_udp_try_send(&ep->udp, &b, 1, to) >= 0) {
        ep->stats.datagrams_sent++;
    } else {
        ep->stats.datagrams_dropped++;
    }
}

/* A datagram queued while the endpoint is not held goes at once: it is written to one slot shared
 * by every endpoint of the thread (warm in the cache, where a thousand endpoints' batches would
 * each be cold) and sent with one sendmsg. */
static _Thread_local uint8_t g_now_slot[WZP_QUIC_MAX_DATAGRAM];

uint8_t *wzp_quic_queue_slot(wzp_quic_endpoint *ep) {
    struct send_batch *b = ep->batch;
    if (ep->hold == 0) {
        return g_now_slot;
    }
    if (b->n == WZP_QUIC_SEND_BATCH) {
        wzp_quic_flush_datagrams(ep);
    }
    return b->data[b->n];
}

void wzp_quic_queue_commit(wzp_quic_endpoint *ep, size_t len, const struct sockaddr *to) {
    struct send_batch *b = ep->batch;
    if (ep->hold == 0) {
        if (len > 0 && len <= WZP_QUIC_MAX_DATAGRAM) {
            wzp_quic_send_datagram(ep, g_now_slot, len, to);
        }
        return;
    }
    if (len > 0 && len <= WZP_QUIC_MAX_DATAGRAM && b->n < WZP_QUIC_SEND_BATCH &&
        sent_virtually(ep, b->data[b->n], len, to)) {
        return; /* the slot's bytes went to the link; the slot stays free */
    }
    if (len == 0 || len > WZP_QUIC_MAX_DATAGRAM || b->n == WZP_QUIC_SEND_BATCH) {
        ep->stats.datagrams_dropped += len != 0;
        return;
    }
    size_t i = b->n++;
    socklen_t tl = wzp_addr_len(to);
    memcpy(&b->to[i], to, tl);
    b->iov[i] = (struct iovec){b->data[i], len};
    b->msg[i] = (struct mmsghdr){
        .msg_hdr = {
            .msg_name = &b->to[i], .msg_namelen = tl, .msg_iov = &b->iov[i], .msg_iovlen = 1}};
}
