/* Joining a relay (include/wzp/crypto.h): the connection-bound RegisterPresence signature. */
#include <sodium.h>
#include <string.h>

#include "wzp/crypto.h"

#define TBS_SIZE (sizeof(WZP_JOIN_LABEL) + 32)

/* What is signed: the label with its NUL, then the connection's join exporter. */
static void join_tbs(const uint8_t exporter[32], uint8_t tbs[TBS_SIZE]) {
    memcpy(tbs, WZP_JOIN_LABEL, sizeof(WZP_JOIN_LABEL));
    memcpy(tbs + sizeof(WZP_JOIN_LABEL), exporter, 32);
}

int wzp_join_sign(const wzp_identity *id, const uint8_t exporter[32], const char *alias,
                  wzp_signal **msg) {
    uint8_t tbs[TBS_SIZE];
    join_tbs(exporter, tbs);
    wzp_signal *m = wzp_signal_new(WZP_SIG_REGISTER_PRESENCE);
    if (m == NULL) {
        return WZP_ERR_NOMEM;
    }
    memcpy(m->u.register_presence.identity_pub, id->sign_pk, 32);
    m->u.register_presence.signature.present = true;
    m->u.register_presence.signature.len = crypto_sign_BYTES;
    crypto_sign_detached(m->u.register_presence.signature.data, NULL, tbs, sizeof(tbs),
                         id->sign_sk);
    int rc = wzp_signal_set_str(&m->u.register_presence.alias, alias);
    if (rc != WZP_OK) {
        wzp_signal_free(m);
        return rc;
    }
    *msg = m;
    return WZP_OK;
}

int wzp_join_verify(const wzp_signal *msg, const uint8_t exporter[32],
                    uint8_t fp[WZP_FINGERPRINT_SIZE]) {
    if (msg == NULL || msg->type != WZP_SIG_REGISTER_PRESENCE) {
        return WZP_ERR_INVALID_ARG;
    }
    uint8_t tbs[TBS_SIZE];
    join_tbs(exporter, tbs);
    const wzp_sig_bytes *sig = &msg->u.register_presence.signature;
    if (sig->len != crypto_sign_BYTES ||
        crypto_sign_verify_detached(sig->data, tbs, sizeof(tbs),
                                    msg->u.register_presence.identity_pub) != 0) {
        return WZP_ERR_AUTH;
    }
    wzp_fingerprint_of(msg->u.register_presence.identity_pub, fp);
    return WZP_OK;
}
