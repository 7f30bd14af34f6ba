/*
 * Connection-ID → connection lookup for one QUIC endpoint. Peers choose the bytes we look up, so
 * the table hashes them with SipHash under a per-table random key (no one can aim collisions at
 * a bucket) and probes linearly; deletion shifts entries back (no tombstones). It grows by
 * doubling up to a fixed ceiling; lookups and deletions never allocate.
 */
#ifndef WZP_TRANSPORT_CID_TABLE_H
#define WZP_TRANSPORT_CID_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"

#define WZP_CID_MAX 20 /* QUIC's longest connection ID */

typedef struct wzp_cid_slot {
    void *value; /* NULL: empty */
    uint8_t len;
    uint8_t id[WZP_CID_MAX];
} wzp_cid_slot;

typedef struct wzp_cid_table {
    wzp_cid_slot *slots;
    size_t cap, count, max_count;
    uint8_t key[16];
} wzp_cid_table;

/* `max_count` bounds the entries (WZP_ERR_FULL beyond it). */
WZP_MUST_CHECK int wzp_cid_table_init(wzp_cid_table *t, size_t max_count);
void wzp_cid_table_free(wzp_cid_table *t);
/* Insert or replace. Errors: WZP_ERR_INVALID_ARG (len 0 or > WZP_CID_MAX, value NULL),
 * WZP_ERR_FULL, WZP_ERR_NOMEM (growing failed; the table is unchanged). */
WZP_MUST_CHECK int wzp_cid_table_put(wzp_cid_table *t, const uint8_t *id, size_t len, void *value);
void *wzp_cid_table_get(const wzp_cid_table *t, const uint8_t *id, size_t len);
/* Remove `id` if it maps to `value` (NULL: whatever it maps to). */
void wzp_cid_table_del(wzp_cid_table *t, const uint8_t *id, size_t len, const void *value);

#endif
