/*
 * The lookup-free part of the datagram demultiplexer's rule (include/wzp/quic.h,
 * docs/PROTOCOL.md §10): what the first bytes alone can say. A long header always has its first
 * bit set; STUN (RFC 8489 §5) begins 0b00 and carries the magic cookie at bytes 4..7; a media
 * hop datagram begins with its session id (first byte 0x04..0x3F) -- but so may a short-header
 * QUIC packet whose fixed bit ngtcp2 greased, which only a lookup tells apart.
 */
#include "wzp/quic.h"

#define STUN_HEADER 20
#define STUN_COOKIE 0x2112A442u

wzp_demux_kind wzp_demux_classify(const uint8_t *data, size_t len) {
    if (len == 0) {
        return WZP_DEMUX_EMPTY;
    }
    uint8_t b = data[0];
    if (b & 0x80) {
        return WZP_DEMUX_QUIC_LONG;
    }
    if (b <= 0x03 && len >= STUN_HEADER &&
        ((uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7]) ==
            STUN_COOKIE) {
        return WZP_DEMUX_STUN;
    }
    if (b >= 0x04 && b <= 0x3F) {
        return WZP_DEMUX_MEDIA_OR_SHORT;
    }
    return WZP_DEMUX_SHORT;
}
