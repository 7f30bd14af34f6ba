/* The FEC interleaver (SPEC §6): packets of `depth` consecutive blocks go out round-robin, so a
 * burst of losses hits each block only once per round. Storage is fixed at creation. */
#include <stdlib.h>
#include <string.h>

#include "wzp/fec.h"
#include "wzp/alloc.h"

typedef struct il_entry {
    wzp_fec_packet pkt;
    uint8_t *data;
} il_entry;

struct wzp_interleaver {
    unsigned depth, cur;
    size_t max_packets, max_payload;
    size_t count[WZP_INTERLEAVE_MAX_DEPTH];
    il_entry *entries; /* depth x max_packets */
    uint8_t *payloads;
};

int wzp_interleaver_new(unsigned depth, size_t max_packets, size_t max_payload,
                        wzp_interleaver **out) {
    if (depth == 0 || depth > WZP_INTERLEAVE_MAX_DEPTH || max_packets == 0 || max_packets > 512 ||
        max_payload == 0 || max_payload > 65536) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_interleaver *il = wzp_calloc(1, sizeof(*il));
    if (il == NULL) {
        return WZP_ERR_NOMEM;
    }
    il->depth = depth;
    il->max_packets = max_packets;
    il->max_payload = max_payload;
    il->entries = wzp_calloc((size_t)depth * max_packets, sizeof(il_entry));
    il->payloads = wzp_malloc((size_t)depth * max_packets * max_payload);
    if (il->entries == NULL || il->payloads == NULL) {
        wzp_interleaver_free(il);
        return WZP_ERR_NOMEM;
    }
    for (size_t i = 0; i < (size_t)depth * max_packets; i++) {
        il->entries[i].data = il->payloads + i * max_payload;
    }
    *out = il;
    return WZP_OK;
}

void wzp_interleaver_free(wzp_interleaver *il) {
    if (il != NULL) {
        wzp_free(il->entries);
        wzp_free(il->payloads);
        wzp_free(il);
    }
}

static size_t queued(const wzp_interleaver *il) {
    size_t n = 0;
    for (unsigned b = 0; b < il->depth; b++) {
        n += il->count[b];
    }
    return n;
}

int wzp_interleaver_flush(wzp_interleaver *il, wzp_fec_packet *out, size_t cap, size_t *n) {
    *n = 0;
    if (queued(il) > cap) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    for (size_t i = 0; i < il->max_packets; i++) {
        for (unsigned b = 0; b < il->depth; b++) {
            if (i < il->count[b]) {
                out[(*n)++] = il->entries[b * il->max_packets + i].pkt;
            }
        }
    }
    memset(il->count, 0, sizeof(il->count));
    il->cur = 0;
    return WZP_OK;
}

int wzp_interleaver_push(wzp_interleaver *il, const wzp_fec_packet *pkt, bool end_of_block,
                         wzp_fec_packet *out, size_t cap, size_t *n) {
    *n = 0;
    if (pkt->len > il->max_payload) {
        return WZP_ERR_TOO_LARGE;
    }
    if (il->depth == 1) {
        if (cap < 1) {
            return WZP_ERR_BUFFER_TOO_SMALL;
        }
        out[(*n)++] = *pkt;
        return WZP_OK;
    }
    if (il->count[il->cur] == il->max_packets) {
        return WZP_ERR_FULL;
    }
    il_entry *e = &il->entries[il->cur * il->max_packets + il->count[il->cur]++];
    memcpy(e->data, pkt->payload, pkt->len);
    e->pkt = *pkt;
    e->pkt.payload = e->data;
    if (end_of_block && ++il->cur == il->depth) {
        return wzp_interleaver_flush(il, out, cap, n);
    }
    return WZP_OK;
}
