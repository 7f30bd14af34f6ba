/* Internal entry points of the QUIC adapter for tests and fuzzing. */
#ifndef WZP_TRANSPORT_QUIC_INTERNAL_H
#define WZP_TRANSPORT_QUIC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wzp/quic.h"

/* Handle one datagram as if the socket had received it from `from` (then flush queued sends). */
void wzp__quic_endpoint_input(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                              const struct sockaddr *from);

#endif
