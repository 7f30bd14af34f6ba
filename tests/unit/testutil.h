/* Shared test helpers: cmocka includes, hex helpers, and a counting allocator that can be told
 * to fail at the N-th allocation (baresip/re style) to prove every error path is clean. */
#ifndef WZP_TESTUTIL_H
#define WZP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wzp/alloc.h"

static long g_live_blocks;
static long g_alloc_calls;
static long g_fail_at = -1; /* fail the allocation with this index (0-based); -1: never */

static void *counting_malloc(size_t n) {
    if (g_fail_at >= 0 && g_alloc_calls++ == g_fail_at) {
        return NULL;
    }
    void *p = malloc(n);
    if (p != NULL) {
        g_live_blocks++;
    }
    return p;
}

static void counting_free(void *p) {
    if (p != NULL) {
        g_live_blocks--;
    }
    free(p);
}

static inline void testutil_use_counting_allocator(long fail_at) {
    static const wzp_allocator a = {counting_malloc, counting_free};
    g_alloc_calls = 0;
    g_fail_at = fail_at;
    wzp_set_allocator(&a);
}

static inline void testutil_restore_allocator(void) {
    g_fail_at = -1;
    wzp_set_allocator(NULL);
}

/* A small deterministic generator (xorshift64) for reproducible test data. */
static inline uint64_t testutil_xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Parse a hex string (spaces allowed) into `out`; returns the byte count. */
static inline size_t testutil_hex(const char *hex, uint8_t *out, size_t cap) {
    size_t n = 0;
    for (const char *p = hex; *p != '\0';) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v = 0;
        if (sscanf(p, "%2x", &v) != 1 || n >= cap) {
            return n;
        }
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

#endif
