/*
 * Forward error correction (SPEC §6): our own RFC 6330 RaptorQ for the small blocks voice uses,
 * SPEC's block framing with per-block symbol size, a depth-3 interleaver, encoder and decoder
 * block managers, and the adaptive FEC ratio. Sans-I/O: callers pass time in and get packets
 * and frames out. No allocation happens per block or per packet after the objects exist.
 */
#ifndef WZP_FEC_H
#define WZP_FEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"
#include "wzp/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- RFC 6330 core -------------------------------------------------------------------- */

#define WZP_RQ_MAX_K      128 /* source symbols per block the core supports */
#define WZP_RQ_MAX_REPAIR 256 /* repair ESIs K .. K+255 */

typedef enum wzp_simd_level {
    WZP_SIMD_SCALAR = 0,
    WZP_SIMD_SSSE3 = 1,
    WZP_SIMD_AVX2 = 2,
} wzp_simd_level;

/* The best level this CPU supports, and the one in use; setting a level the CPU lacks fails
 * with WZP_ERR_INVALID_ARG. For tests and benchmarks: the default is the best. */
wzp_simd_level wzp_fec_simd_best(void);
wzp_simd_level wzp_fec_simd_current(void);
WZP_MUST_CHECK int wzp_fec_simd_set(wzp_simd_level level);

/* The precomputed RFC 6330 code for one block size. Built once per K' on first use (thread-
 * safe), kept for the life of the process; repeated calls return the same object. */
typedef struct wzp_rq_code wzp_rq_code;
/* Errors: WZP_ERR_INVALID_ARG (K 0 or above WZP_RQ_MAX_K), WZP_ERR_NOMEM. */
WZP_MUST_CHECK int wzp_rq_code_get(unsigned k, const wzp_rq_code **out);
/* K' (the padded block size from RFC 6330 Table 2) for K. */
unsigned wzp_rq_k_prime(unsigned k);

/* Write the encoding symbol `esi` (0..K+WZP_RQ_MAX_REPAIR-1) of the block whose K source
 * symbols of T bytes are `src` (K*T bytes) into `out` (T bytes). Errors: WZP_ERR_INVALID_ARG. */
WZP_MUST_CHECK int wzp_rq_encode(const wzp_rq_code *code, unsigned k, const uint8_t *src, size_t t,
                                 uint32_t esi, uint8_t *out);

/* Bytes of scratch wzp_rq_decode needs for K symbols of T bytes. */
size_t wzp_rq_decode_scratch_size(unsigned k, size_t t);
/* Recover the K source symbols (written to `out`, K*T bytes) from `n` received encoding symbols
 * (any ESIs, any order, duplicates allowed). Returns WZP_ERR_NEED_MORE when they do not determine
 * the block yet (`out` then holds only the received source symbols). */
WZP_MUST_CHECK int wzp_rq_decode(const wzp_rq_code *code, unsigned k, size_t t,
                                 const uint32_t *esis, const uint8_t *const *syms, size_t n,
                                 uint8_t *out, uint8_t *scratch, size_t scratch_len);

#ifdef __cplusplus
}
#endif
#endif
