/* Paths (include/wzp/path.h): the helpers every path shares, and the QUIC-over-UDP path. */
#include <string.h>

#include "wzp/path.h"
#include "wzp/quic.h"

int wzp_path_send_datagram(wzp_path *p, const uint8_t *data, size_t len) {
    if (len > p->mtu) {
        return WZP_ERR_TOO_LARGE;
    }
    memcpy(p->ops->datagram_slot(p), data, len);
    p->ops->datagram_commit(p, len);
    return WZP_OK;
}

int wzp_path_send_message(wzp_path *p, const wzp_signal *m, uint8_t *buf, size_t cap) {
    size_t n = 0;
    int rc = wzp_signal_encode(m, buf, cap, &n);
    return rc == WZP_OK ? p->ops->send_signal(p, buf, n) : rc;
}

/* ---- QUIC over UDP ------------------------------------------------------------------------- */

static wzp_quic_path *qpath(wzp_path *p) {
    return (wzp_quic_path *)p;
}

static uint8_t *quic_slot(wzp_path *p) {
    return wzp_quic_queue_slot(p->ctx);
}

static void quic_commit(wzp_path *p, size_t len) {
    wzp_quic_queue_commit(p->ctx, len, (const struct sockaddr *)&p->remote);
}

static int quic_signal(wzp_path *p, const uint8_t *json, size_t len) {
    wzp_quic_conn *c = qpath(p)->conn;
    return c != NULL ? wzp_quic_send_signal(c, json, len) : WZP_ERR_STATE;
}

static int quic_export(wzp_path *p, const char *label, uint8_t out[32]) {
    wzp_quic_conn *c = qpath(p)->conn;
    return c != NULL ? wzp_quic_export(c, label, out) : WZP_ERR_STATE;
}

static uint32_t quic_rtt(const wzp_path *p) {
    const wzp_quic_conn *c = ((const wzp_quic_path *)p)->conn;
    return c != NULL ? wzp_quic_rtt_ms(c) : 0;
}

static void quic_close(wzp_path *p, const char *reason) {
    wzp_quic_conn *c = qpath(p)->conn;
    if (c != NULL) {
        wzp_quic_close(c, reason);
    }
}

static const wzp_path_ops quic_ops = {quic_slot,   quic_commit, quic_signal,
                                      quic_export, quic_rtt,    quic_close};

void wzp_quic_path_init(wzp_quic_path *qp, wzp_quic_endpoint *ep, wzp_quic_conn *conn) {
    memset(qp, 0, sizeof(*qp));
    qp->base.ops = &quic_ops;
    qp->base.kind = WZP_PATH_QUIC;
    qp->base.state = WZP_PATH_CONNECTING;
    qp->base.mtu = WZP_QUIC_MAX_DATAGRAM;
    wzp_addr_copy(&qp->base.remote, wzp_quic_conn_remote(conn));
    qp->base.ctx = ep;
    qp->conn = conn;
}
