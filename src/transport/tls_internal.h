/* Internal access to a TLS identity's GnuTLS objects for the QUIC adapter. */
#ifndef WZP_TRANSPORT_TLS_INTERNAL_H
#define WZP_TRANSPORT_TLS_INTERNAL_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "wzp/transport.h"

gnutls_x509_crt_t wzp__tls_identity_crt(wzp_tls_identity *id);
gnutls_x509_privkey_t wzp__tls_identity_key(wzp_tls_identity *id);
/* 32 bytes derived from the seed (HKDF, info "wzp-quic-stateless-reset"): the key of the
 * stateless reset tokens, so a restarted relay can still reset its old connections. */
const uint8_t *wzp__tls_identity_reset_secret(const wzp_tls_identity *id);

#endif
