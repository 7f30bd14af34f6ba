/* RFC 6330 data: the V0..V3 random tables (§5.5) and the systematic indices (§5.6 Table 2). */
#ifndef WZP_FEC_RFC6330_TABLES_H
#define WZP_FEC_RFC6330_TABLES_H

#include <stddef.h>
#include <stdint.h>

typedef struct wzp__rq_systematic {
    uint32_t k_prime, j, s, h, w;
} wzp__rq_systematic;

extern const uint32_t wzp__rq_V0[256];
extern const uint32_t wzp__rq_V1[256];
extern const uint32_t wzp__rq_V2[256];
extern const uint32_t wzp__rq_V3[256];
extern const wzp__rq_systematic wzp__rq_table2[];
extern const size_t wzp__rq_table2_len;

#endif
