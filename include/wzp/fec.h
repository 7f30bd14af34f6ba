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

/* ---- block framing (SPEC §6, with our per-block symbol size) ----------------------------
 * A frame becomes a source symbol: 2-byte little-endian length, the frame, zero padding to T.
 * Source packets carry just the frame; a repair packet carries [K][T-byte symbol], so a receiver
 * learns the block's K and T from any repair packet. T is the largest frame of the block plus 2,
 * rounded up to WZP_FEC_ALIGN, or SPEC's fixed 256 in compatibility mode. */

#define WZP_FEC_LEN_PREFIX       2
#define WZP_FEC_ALIGN            4
#define WZP_FEC_FIXED_T          256
#define WZP_FEC_MAX_T            1280
#define WZP_FEC_MAX_FRAME        (WZP_FEC_MAX_T - WZP_FEC_LEN_PREFIX)
#define WZP_FEC_MAX_BLOCK_K      64
#define WZP_FEC_MAX_BLOCK_REPAIR 128
#define WZP_FEC_REPAIR_PREFIX    1

/* Symbol size for a block whose largest frame is `max_frame` bytes (0 when it cannot fit). */
size_t wzp_fec_symbol_size(size_t max_frame, bool fixed_t);
/* Write `frame` as a T-byte source symbol. Errors: WZP_ERR_TOO_LARGE. */
WZP_MUST_CHECK int wzp_fec_symbol_pack(const uint8_t *frame, size_t len, uint8_t *sym, size_t t);
/* The frame inside a T-byte symbol. Errors: WZP_ERR_MALFORMED (length past the symbol). */
WZP_MUST_CHECK int wzp_fec_symbol_unpack(const uint8_t *sym, size_t t, const uint8_t **frame,
                                         size_t *len);

/* One FEC packet: where it sits in its block and its payload (the frame for a source packet,
 * [K][symbol] for a repair packet). Payload pointers stay valid until the next call on the
 * object that produced them. */
typedef struct wzp_fec_packet {
    uint8_t block_id;
    uint8_t esi;
    bool is_repair;
    const uint8_t *payload;
    size_t len;
    /* The block's metadata, which the packet's header shows: the codec, and the media timestamp
     * of this frame (a source packet) or of the block's first frame (a repair packet). The
     * encoder stamps them; the decoder learns the block's from any of its packets. */
    uint8_t codec_id;
    uint32_t timestamp_ms;
} wzp_fec_packet;

typedef struct wzp_fec_config {
    unsigned max_k;      /* largest block (frames), 1..WZP_FEC_MAX_BLOCK_K */
    size_t max_frame;    /* largest frame in bytes, 1..WZP_FEC_MAX_FRAME */
    bool fixed_t;        /* SPEC-compatible T = 256 (frames up to 254 bytes) */
    unsigned slots;      /* decoder: blocks assembled at once, 1..64 (default 8 when 0) */
    unsigned window;     /* decoder: a block this many ids behind the newest is expired */
    uint32_t max_age_ms; /* decoder: a block older than this is expired (default 2000) */
} wzp_fec_config;

/* ---- encoder block manager -------------------------------------------------------------- */

typedef struct wzp_fec_encoder wzp_fec_encoder;

WZP_MUST_CHECK int wzp_fec_encoder_new(const wzp_fec_config *cfg, wzp_fec_encoder **out);
void wzp_fec_encoder_free(wzp_fec_encoder *enc);
/* Block size and repair ratio for blocks started from now on (the current block keeps its own).
 * Errors: WZP_ERR_INVALID_ARG (k 0 or above max_k, ratio outside 0..2). */
WZP_MUST_CHECK int wzp_fec_encoder_set_params(wzp_fec_encoder *enc, unsigned k, float ratio);
/* Add one frame of `codec_id` stamped `timestamp_ms`: its source packet goes out at once; when
 * the block is full its repair packets follow. `out` needs room for 1 + WZP_FEC_MAX_BLOCK_REPAIR
 * packets. Errors: WZP_ERR_TOO_LARGE, WZP_ERR_EMPTY, WZP_ERR_BUFFER_TOO_SMALL. */
WZP_MUST_CHECK int wzp_fec_encoder_add(wzp_fec_encoder *enc, const uint8_t *frame, size_t len,
                                       uint8_t codec_id, uint32_t timestamp_ms, wzp_fec_packet *out,
                                       size_t cap, size_t *n);
/* Close the current block early (e.g. before silence) and emit its repair packets. */
WZP_MUST_CHECK int wzp_fec_encoder_flush(wzp_fec_encoder *enc, wzp_fec_packet *out, size_t cap,
                                         size_t *n);
/* Frames in the open block (0: the next frame starts a block). */
unsigned wzp_fec_encoder_pending(const wzp_fec_encoder *enc);

/* ---- decoder block manager -------------------------------------------------------------- */

typedef struct wzp_fec_frame {
    uint8_t block_id;
    uint8_t index; /* position in the block */
    bool recovered;
    const uint8_t *data;
    size_t len;
    uint8_t codec_id;      /* the block's codec */
    uint32_t timestamp_ms; /* this frame's media timestamp (the block's first + its position) */
    unsigned k;            /* the block's size, once a repair packet told it (0: not yet) */
} wzp_fec_frame;

typedef struct wzp_fec_decoder_stats {
    uint64_t packets, duplicates, expired_packets, rejected, frames_direct, frames_recovered,
        blocks_complete, blocks_expired_incomplete;
} wzp_fec_decoder_stats;

typedef struct wzp_fec_decoder wzp_fec_decoder;

WZP_MUST_CHECK int wzp_fec_decoder_new(const wzp_fec_config *cfg, wzp_fec_decoder **out);
void wzp_fec_decoder_free(wzp_fec_decoder *dec);
/* Feed one packet. Frames become known at once: a source frame is returned immediately, frames
 * recovered by FEC when their block solves. `out` needs room for max_k frames; frame data stays
 * valid until the next call. Malformed packets are counted and dropped (return 0, no frames). */
WZP_MUST_CHECK int wzp_fec_decoder_add(wzp_fec_decoder *dec, const wzp_fec_packet *pkt,
                                       uint64_t now_ms, wzp_fec_frame *out, size_t cap, size_t *n);
/* The size K of block `block_id` if a repair packet of it has told (0: unknown or expired). */
unsigned wzp_fec_decoder_block_k(const wzp_fec_decoder *dec, uint8_t block_id);
/* Expire blocks by age (call now and then when no packets arrive). */
void wzp_fec_decoder_tick(wzp_fec_decoder *dec, uint64_t now_ms);
wzp_fec_decoder_stats wzp_fec_decoder_get_stats(const wzp_fec_decoder *dec);

/* ---- interleaver (SPEC §6: depth 3, round-robin across consecutive blocks) ----------------
 * Collects the packets of `depth` consecutive blocks and releases them round-robin, so a burst
 * of consecutive losses is spread over several blocks. Depth 1 passes packets straight through. */

#define WZP_INTERLEAVE_MAX_DEPTH 8

typedef struct wzp_interleaver wzp_interleaver;

/* `max_packets` bounds the packets of one block (K + R). */
WZP_MUST_CHECK int wzp_interleaver_new(unsigned depth, size_t max_packets, size_t max_payload,
                                       wzp_interleaver **out);
void wzp_interleaver_free(wzp_interleaver *il);
/* Queue one packet. When it is the last of a group of `depth` blocks (`end_of_block` true for
 * the last packet of each block), the whole group is released into `out` (room for depth *
 * max_packets). Errors: WZP_ERR_FULL (a block exceeded max_packets), WZP_ERR_TOO_LARGE. */
WZP_MUST_CHECK int wzp_interleaver_push(wzp_interleaver *il, const wzp_fec_packet *pkt,
                                        bool end_of_block, wzp_fec_packet *out, size_t cap,
                                        size_t *n);
/* Release whatever is queued (end of a talk spurt or of the call), round-robin. */
WZP_MUST_CHECK int wzp_interleaver_flush(wzp_interleaver *il, wzp_fec_packet *out, size_t cap,
                                         size_t *n);

/* ---- adaptive ratio (SPEC §6: ratio per profile, +0.2 for 10 s after a loss spike) ------ */

#define WZP_FEC_BOOST    0.2f
#define WZP_FEC_BOOST_MS 10000
/* ratio floor for a loss fraction p and blocks of K frames: the fewest repair symbols R for
 * which a block of K + R symbols, each lost independently with probability p, loses more than
 * R (cannot be decoded) at most this often */
#define WZP_FEC_BLOCK_FAILURE 0.01

typedef struct wzp_fec_adapt {
    float base_ratio;
    unsigned k;      /* the profile's frames per block */
    double loss_ema; /* percent: follows a rise at once, a fall slowly */
    bool has_ema;
    uint64_t boost_until_ms;
} wzp_fec_adapt;

void wzp_fec_adapt_init(wzp_fec_adapt *a, const wzp_profile *profile);
/* Switch profile (keeps a running boost). */
void wzp_fec_adapt_set_profile(wzp_fec_adapt *a, const wzp_profile *profile);
/* Feed an observed loss percentage; a spike (at least 5 points above the running average and at
 * least twice it) starts or extends the boost. */
void wzp_fec_adapt_on_loss(wzp_fec_adapt *a, double loss_percent, uint64_t now_ms);
/* The ratio to use now: the profile's plus the boost while it lasts, at least the loss floor
 * above for the loss estimate (R / K), capped at 2.0. */
float wzp_fec_adapt_ratio(const wzp_fec_adapt *a, uint64_t now_ms);

#ifdef __cplusplus
}
#endif
#endif
