/* Connection-ID table: SipHash-keyed open addressing with backward-shift deletion. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "transport/cid_table.h"
#include "wzp/random.h"
#include "wzp/alloc.h"

#define MIN_CAP 16 /* a power of two; the load stays at or below one half */

static size_t bucket(const wzp_cid_table *t, const uint8_t *id, size_t len) {
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id, len, t->key);
    uint64_t v;
    memcpy(&v, h, sizeof(v));
    return (size_t)v & (t->cap - 1);
}

int wzp_cid_table_init(wzp_cid_table *t, size_t max_count) {
    memset(t, 0, sizeof(*t));
    t->slots = wzp_calloc(MIN_CAP, sizeof(*t->slots));
    if (t->slots == NULL) {
        return WZP_ERR_NOMEM;
    }
    t->cap = MIN_CAP;
    t->max_count = max_count;
    wzp_random_buf(t->key, sizeof(t->key));
    return WZP_OK;
}

void wzp_cid_table_free(wzp_cid_table *t) {
    wzp_free(t->slots);
    sodium_memzero(t, sizeof(*t));
}

static wzp_cid_slot *find(const wzp_cid_table *t, const uint8_t *id, size_t len) {
    for (size_t i = bucket(t, id, len);; i = (i + 1) & (t->cap - 1)) {
        wzp_cid_slot *s = &t->slots[i];
        if (s->value == NULL || (s->len == len && memcmp(s->id, id, len) == 0)) {
            return s; /* the entry, or the empty slot where it would go */
        }
    }
}

static int grow(wzp_cid_table *t) {
    wzp_cid_table bigger = *t;
    bigger.cap = t->cap * 2;
    bigger.slots = wzp_calloc(bigger.cap, sizeof(*bigger.slots));
    if (bigger.slots == NULL) {
        return WZP_ERR_NOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].value != NULL) {
            *find(&bigger, t->slots[i].id, t->slots[i].len) = t->slots[i];
        }
    }
    wzp_free(t->slots);
    *t = bigger;
    return WZP_OK;
}

int wzp_cid_table_put(wzp_cid_table *t, const uint8_t *id, size_t len, void *value) {
    if (len == 0 || len > WZP_CID_MAX || value == NULL) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_cid_slot *s = find(t, id, len);
    if (s->value != NULL) {
        s->value = value;
        return WZP_OK;
    }
    if (t->count >= t->max_count) {
        return WZP_ERR_FULL;
    }
    if (2 * (t->count + 1) > t->cap) {
        int rc = grow(t);
        if (rc != WZP_OK) {
            return rc;
        }
        s = find(t, id, len);
    }
    s->value = value;
    s->len = (uint8_t)len;
    memcpy(s->id, id, len);
    t->count++;
    return WZP_OK;
}

void *wzp_cid_table_get(const wzp_cid_table *t, const uint8_t *id, size_t len) {
    if (len == 0 || len > WZP_CID_MAX) {
        return NULL;
    }
    return find(t, id, len)->value;
}

void wzp_cid_table_del(wzp_cid_table *t, const uint8_t *id, size_t len, const void *value) {
    if (len == 0 || len > WZP_CID_MAX) {
        return;
    }
    wzp_cid_slot *s = find(t, id, len);
    if (s->value == NULL || (value != NULL && s->value != value)) {
        return;
    }
    /* backward shift: pull later entries of the run into the hole when their home allows it */
    size_t mask = t->cap - 1, hole = (size_t)(s - t->slots);
    for (size_t j = (hole + 1) & mask; t->slots[j].value != NULL; j = (j + 1) & mask) {
        size_t home = bucket(t, t->slots[j].id, t->slots[j].len);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    memset(&t->slots[hole], 0, sizeof(t->slots[hole]));
    t->count--;
}
