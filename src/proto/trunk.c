/*
 * Trunk frames (SPEC §3.5): several sessions' media packets in one datagram, to cut per-packet
 * overhead on relay links. The packer fills a caller buffer and says when to flush; the parser
 * validates the whole frame before handing out any entry.
 */
#include "wzp/proto.h"

#include <string.h>

#include "proto/bytes.h"

int wzp_trunk_decode(const uint8_t *buf, size_t len, wzp_trunk_entry out[WZP_TRUNK_MAX_ENTRIES],
                     size_t *count) {
    if (len < WZP_TRUNK_HEADER_SIZE) {
        return WZP_ERR_TRUNCATED;
    }
    if (len > WZP_TRUNK_MAX_BYTES) {
        return WZP_ERR_TOO_LARGE;
    }
    uint16_t n = wzp__get_u16be(buf);
    if (n == 0) {
        return WZP_ERR_EMPTY;
    }
    if (n > WZP_TRUNK_MAX_ENTRIES) {
        return WZP_ERR_TOO_MANY_ENTRIES;
    }
    wzp_trunk_entry tmp[WZP_TRUNK_MAX_ENTRIES];
    size_t pos = WZP_TRUNK_HEADER_SIZE;
    for (uint16_t i = 0; i < n; i++) {
        if (len - pos < WZP_TRUNK_ENTRY_OVERHEAD) {
            return WZP_ERR_TRUNCATED;
        }
        uint16_t sid = wzp__get_u16be(buf + pos);
        uint16_t plen = wzp__get_u16be(buf + pos + 2);
        pos += WZP_TRUNK_ENTRY_OVERHEAD;
        if (plen == 0) {
            return WZP_ERR_EMPTY;
        }
        if (len - pos < plen) {
            return WZP_ERR_TRUNCATED;
        }
        tmp[i].session_id = sid;
        tmp[i].payload = buf + pos;
        tmp[i].len = plen;
        pos += plen;
    }
    if (pos != len) {
        return WZP_ERR_TRAILING_DATA;
    }
    memcpy(out, tmp, n * sizeof(tmp[0]));
    *count = n;
    return WZP_OK;
}

int wzp_trunk_packer_init(wzp_trunk_packer *p, uint8_t *buf, size_t cap) {
    if (buf == NULL || cap < WZP_TRUNK_HEADER_SIZE + WZP_TRUNK_ENTRY_OVERHEAD + 1) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    p->buf = buf;
    p->cap = cap < WZP_TRUNK_MAX_BYTES ? cap : WZP_TRUNK_MAX_BYTES;
    p->used = WZP_TRUNK_HEADER_SIZE;
    p->count = 0;
    p->first_ms = 0;
    return WZP_OK;
}

bool wzp_trunk_packer_would_overflow(const wzp_trunk_packer *p, size_t len) {
    return p->count >= WZP_TRUNK_MAX_ENTRIES || WZP_TRUNK_ENTRY_OVERHEAD + len > p->cap - p->used;
}

int wzp_trunk_packer_add(wzp_trunk_packer *p, uint16_t session_id, const uint8_t *payload,
                         size_t len, uint64_t now_ms) {
    if (len == 0) {
        return WZP_ERR_EMPTY;
    }
    if (WZP_TRUNK_HEADER_SIZE + WZP_TRUNK_ENTRY_OVERHEAD + len > p->cap) {
        return WZP_ERR_TOO_LARGE;
    }
    if (wzp_trunk_packer_would_overflow(p, len)) {
        return WZP_ERR_FULL;
    }
    uint8_t *e = p->buf + p->used;
    wzp__put_u16be(e, session_id);
    wzp__put_u16be(e + 2, (uint16_t)len);
    memcpy(e + WZP_TRUNK_ENTRY_OVERHEAD, payload, len);
    p->used += WZP_TRUNK_ENTRY_OVERHEAD + len;
    if (p->count == 0) {
        p->first_ms = now_ms;
    }
    p->count++;
    return WZP_OK;
}

bool wzp_trunk_packer_should_flush(const wzp_trunk_packer *p, uint64_t now_ms) {
    if (p->count == 0) {
        return false;
    }
    return wzp_trunk_packer_would_overflow(p, 1) || now_ms - p->first_ms >= WZP_TRUNK_FLUSH_MS;
}

size_t wzp_trunk_packer_finish(wzp_trunk_packer *p) {
    size_t n = 0;
    if (p->count > 0) {
        wzp__put_u16be(p->buf, p->count);
        n = p->used;
    }
    p->used = WZP_TRUNK_HEADER_SIZE;
    p->count = 0;
    p->first_ms = 0;
    return n;
}
