/*
 * WarzonePhone wire formats (SPEC §3): the 12-byte media header, compact full/mini framing,
 * the 4-byte quality report trailer, trunk frames, and the codec and quality-profile tables.
 * Everything here is sans-I/O: bytes in, bytes out, with every length checked.
 */
#ifndef WZP_PROTO_H
#define WZP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- codecs (SPEC §3.2) ---------------------------------------------------------------- */

typedef enum wzp_codec_id {
    WZP_CODEC_OPUS_24K = 0,
    WZP_CODEC_OPUS_16K = 1,
    WZP_CODEC_OPUS_6K = 2,
    WZP_CODEC_CODEC2_3200 = 3,
    WZP_CODEC_CODEC2_1200 = 4,
    WZP_CODEC_COMFORT_NOISE = 5,
    WZP_CODEC_OPUS_32K = 6,
    WZP_CODEC_OPUS_48K = 7,
    WZP_CODEC_OPUS_64K = 8,
} wzp_codec_id;

#define WZP_CODEC_COUNT 9

typedef enum wzp_codec_family {
    WZP_CODEC_FAMILY_OPUS,
    WZP_CODEC_FAMILY_CODEC2,
    WZP_CODEC_FAMILY_COMFORT_NOISE,
} wzp_codec_family;

typedef struct wzp_codec_info {
    wzp_codec_id id;
    const char *name; /* the wire/JSON name, e.g. "Opus24k", "Codec2_1200" */
    wzp_codec_family family;
    uint32_t bitrate_bps;
    uint32_t sample_rate_hz;
    uint8_t frame_ms;
} wzp_codec_info;

/* The table row for `id`, or NULL when `id` is not a known codec. */
const wzp_codec_info *wzp_codec_info_get(unsigned id);
/* Look a codec up by its wire name (exact, case-sensitive); NULL when unknown. */
const wzp_codec_info *wzp_codec_info_by_name(const char *name, size_t len);
/* Whether `codec_id` is a known codec of `family`. */
bool wzp_codec_is(unsigned codec_id, wzp_codec_family family);

/* ---- quality profiles (SPEC §6) --------------------------------------------------------- */

typedef struct wzp_profile {
    wzp_codec_id codec;
    float fec_ratio;           /* repair symbols per source symbol, 0.0 .. 2.0 */
    uint8_t frame_duration_ms; /* 20 or 40 */
    uint8_t frames_per_block;  /* source frames per FEC block */
} wzp_profile;

typedef enum wzp_profile_id {
    WZP_PROFILE_GOOD,
    WZP_PROFILE_DEGRADED,
    WZP_PROFILE_CATASTROPHIC,
    WZP_PROFILE_STUDIO_32K,
    WZP_PROFILE_STUDIO_48K,
    WZP_PROFILE_STUDIO_64K,
} wzp_profile_id;

#define WZP_PROFILE_COUNT 6

/* The named profile (never NULL for a valid id; NULL otherwise). */
const wzp_profile *wzp_profile_get(wzp_profile_id id);
/* The named profile that sends `codec_id` (its block size is what a receiver expects of that
 * codec's FEC blocks), or NULL when no profile sends it (comfort noise, Opus16k, Codec2 3200). */
const wzp_profile *wzp_profile_for_codec(unsigned codec_id);
/* Human name of a named profile ("GOOD", "STUDIO_32K", ...). */
const char *wzp_profile_name(wzp_profile_id id);
/* Claimed wire bitrate of a named profile in bits/s (SPEC §6: GOOD 28800 ...). */
uint32_t wzp_profile_wire_bitrate_bps(const wzp_profile *p);
/* Repair symbols for a block: ceil(frames_per_block * fec_ratio) (SPEC §6). */
unsigned wzp_profile_repair_count(const wzp_profile *p);
/* 0 when the profile's fields are all in range and consistent with its codec. */
int wzp_profile_validate(const wzp_profile *p);
bool wzp_profile_equal(const wzp_profile *a, const wzp_profile *b);

/* ---- media header (SPEC §3.1) ---------------------------------------------------------- */

#define WZP_MEDIA_HEADER_SIZE     12
#define WZP_FEC_RATIO_MAX_ENCODED 127

typedef struct wzp_media_header {
    uint8_t version; /* 0 = v1; the only version this build speaks */
    bool is_repair;  /* T: FEC repair symbol rather than a source frame */
    uint8_t codec_id;
    bool has_quality_report; /* Q: a 4-byte quality report trailer ends the payload */
    uint8_t fec_ratio;       /* 7-bit encoded ratio, value = ratio * 63.5 */
    uint8_t ctx_epoch;       /* 0..3, in SPEC's two unused bits of byte 1: see compact framing */
    uint16_t seq;
    uint32_t timestamp_ms;
    uint8_t fec_block_id;
    uint8_t fec_symbol_idx;
    uint8_t reserved;
    uint8_t csrc_count;
} wzp_media_header;

/* Encode into `buf` (exactly WZP_MEDIA_HEADER_SIZE bytes are written).
 * Errors: WZP_ERR_BUFFER_TOO_SMALL, WZP_ERR_BAD_VERSION, WZP_ERR_UNKNOWN_CODEC,
 * WZP_ERR_OUT_OF_RANGE (fec_ratio > 127 or ctx_epoch > 3). */
WZP_MUST_CHECK int wzp_media_header_encode(const wzp_media_header *h, uint8_t *buf, size_t cap,
                                           size_t *written);
/* Decode from `(buf, len)`; `*out` is untouched on error. Extra bytes after the header are the
 * payload and are not an error; `*consumed` is set to WZP_MEDIA_HEADER_SIZE.
 * Errors: WZP_ERR_TRUNCATED, WZP_ERR_BAD_VERSION, WZP_ERR_UNKNOWN_CODEC. */
WZP_MUST_CHECK int wzp_media_header_decode(const uint8_t *buf, size_t len, wzp_media_header *out,
                                           size_t *consumed);
bool wzp_media_header_equal(const wzp_media_header *a, const wzp_media_header *b);

/* FEC ratio <-> 7-bit wire value (round to nearest, saturating at 0 and 127). */
uint8_t wzp_fec_ratio_encode(float ratio);
float wzp_fec_ratio_decode(uint8_t encoded);

/* ---- compact framing: full / mini (SPEC §3.3, our mini header in docs/PROTOCOL.md) ----
 *
 * A mini header carries the low bits of every per-packet field (sequence, timestamp, FEC
 * position, T, Q) and the 2-bit context epoch of the stream fields it shares with the last full
 * header (version, codec, FEC ratio, reserved, csrc_count). The receiver restores the high bits
 * from the newest packet it accepted and the stream fields from the epoch's full header, so a
 * lost full header costs nothing unless it announced a change, and every mini frame expands on
 * its own: loss, duplication and reordering never change how another packet expands. */

#define WZP_FRAME_TYPE_FULL        0x00
#define WZP_FRAME_TYPE_MINI        0x01
#define WZP_MINI_HEADER_SIZE       5    /* bytes after the type byte */
#define WZP_COMPACT_FULL_INTERVAL  50   /* a full header at least every 50th packet ... */
#define WZP_COMPACT_FULL_PERIOD_MS 1000 /* ... and at least once a second */
#define WZP_COMPACT_CHANGE_REPEAT  3    /* full headers sent in a row after a stream change */
#define WZP_COMPACT_EPOCHS         4
#define WZP_COMPACT_EPOCH_REUSE_MS 6000 /* an epoch value is reused for minis only after this */
#define WZP_COMPACT_EPOCH_TTL_MS   5000 /* receiver forgets an epoch's full header after this */
#define WZP_COMPACT_REF_TTL_MS     1000 /* receiver's high-bit reference stays valid this long */
#define WZP_MINI_MAX_SEQ_AHEAD     64   /* mini only within [-32, +64] of the newest sequence */
#define WZP_MINI_MAX_SEQ_BEHIND    32
#define WZP_MINI_MAX_TS_STEP_MS    2000 /* ... and within 2 s of its timestamp */
#define WZP_MINI_SENDER_REF_MS     500  /* ... sent at most 500 ms after it (half the TTL) */
#define WZP_COMPACT_SEQ_RESTART    256  /* a full header this far behind restarts the stream */
#define WZP_MINI_MAX_SYMBOL        63   /* 6-bit FEC symbol index */
#define WZP_MINI_TS_BITS           14

/* The mini header as carried on the wire (after the 0x01 type byte). */
typedef struct wzp_mini_header {
    uint8_t seq_lsb;        /* low 8 bits of the sequence */
    uint16_t ts_lsb;        /* low 14 bits of the timestamp */
    uint8_t fec_block_id;   /* whole (it is 8 bits anyway) */
    uint8_t fec_symbol_idx; /* 0..63 */
    uint8_t ctx_epoch;      /* 0..3 */
    bool is_repair;
    bool has_quality_report;
} wzp_mini_header;

/* Errors: WZP_ERR_BUFFER_TOO_SMALL, WZP_ERR_OUT_OF_RANGE. */
WZP_MUST_CHECK int wzp_mini_header_encode(const wzp_mini_header *m, uint8_t *buf, size_t cap,
                                          size_t *written);
/* Errors: WZP_ERR_TRUNCATED. */
WZP_MUST_CHECK int wzp_mini_header_decode(const uint8_t *buf, size_t len, wzp_mini_header *out,
                                          size_t *consumed);
/* The full header a mini header stands for, given its context (stream fields) and a reference
 * header for the high bits: sequence within [-64, +191] and timestamp within +-8 s of it. */
void wzp_mini_header_expand(const wzp_mini_header *m, const wzp_media_header *ctx, uint16_t ref_seq,
                            uint32_t ref_ts, wzp_media_header *out);

/* Sender state: chooses full or mini per packet and owns the context epoch. */
typedef struct wzp_compact_tx {
    bool has_ctx;
    wzp_media_header ctx; /* stream fields of the current epoch */
    uint8_t epoch;
    uint64_t minis_from_ms;                     /* minis allowed from (epoch quarantine) */
    uint64_t epoch_used_ms[WZP_COMPACT_EPOCHS]; /* last send with each epoch value */
    bool epoch_ever_used[WZP_COMPACT_EPOCHS];
    bool has_ref; /* the newest sequence sent, as the receiver tracks it */
    uint16_t ref_seq;
    uint32_t ref_ts;
    uint64_t ref_ms;
    uint32_t since_full; /* packets since the last full header */
    uint64_t last_full_ms;
    unsigned repeat_full; /* full headers still owed after a change */
} wzp_compact_tx;

void wzp_compact_tx_init(wzp_compact_tx *tx);
/* Force the next packet to carry a full header (e.g. a new receiver joined). */
void wzp_compact_tx_force_full(wzp_compact_tx *tx);
/* Write the type byte and the full or mini header for `h` into `buf`; the caller appends the
 * payload. The sender sets the context epoch: `h->ctx_epoch` is ignored, and the header as sent
 * is stored in `*sent` when `sent` is not NULL. Errors: those of wzp_media_header_encode. */
WZP_MUST_CHECK int wzp_compact_tx_encode(wzp_compact_tx *tx, const wzp_media_header *h,
                                         uint64_t now_ms, uint8_t *buf, size_t cap, size_t *written,
                                         wzp_media_header *sent);

/* Receiver state: one full header per epoch and the newest accepted packet. */
typedef struct wzp_compact_rx_epoch {
    bool used;
    wzp_media_header header; /* the newest full header of this epoch */
    uint64_t arrived_ms;
} wzp_compact_rx_epoch;

typedef struct wzp_compact_rx {
    wzp_compact_rx_epoch epoch[WZP_COMPACT_EPOCHS];
    bool has_ref;
    uint16_t ref_seq;
    uint32_t ref_ts;
    uint64_t ref_ms;
} wzp_compact_rx;

void wzp_compact_rx_init(wzp_compact_rx *rx);
/* Decode the type byte and header at the start of a datagram; `*consumed` is the header length
 * (the payload follows). A mini header whose epoch or reference is unknown or stale gives
 * WZP_ERR_NO_BASELINE and changes nothing. Errors: WZP_ERR_EMPTY, WZP_ERR_BAD_FRAME_TYPE,
 * WZP_ERR_NO_BASELINE, and the header decoders'. */
WZP_MUST_CHECK int wzp_compact_rx_decode(wzp_compact_rx *rx, const uint8_t *buf, size_t len,
                                         uint64_t now_ms, wzp_media_header *out, size_t *consumed);

/* ---- quality report trailer (SPEC §3.4) ----------------------------------------------- */

#define WZP_QUALITY_REPORT_SIZE 4

typedef struct wzp_quality_report {
    uint8_t loss_pct;         /* 0..255 <-> 0..100 % */
    uint8_t rtt_4ms;          /* RTT / 4 ms, 0..255 <-> 0..1020 ms */
    uint8_t jitter_ms;        /* 0..255 ms */
    uint8_t bitrate_cap_kbps; /* 0..255 kbps */
} wzp_quality_report;

/* Build a report from measurements, saturating every field (negative or NaN loss -> 0). */
wzp_quality_report wzp_quality_report_make(double loss_percent, uint32_t rtt_ms, uint32_t jitter_ms,
                                           uint32_t bitrate_cap_kbps);
double wzp_quality_report_loss_percent(const wzp_quality_report *r);
uint32_t wzp_quality_report_rtt_ms(const wzp_quality_report *r);
WZP_MUST_CHECK int wzp_quality_report_encode(const wzp_quality_report *r, uint8_t *buf, size_t cap,
                                             size_t *written);
/* Decode exactly 4 bytes from the start of `buf`. Errors: WZP_ERR_TRUNCATED. */
WZP_MUST_CHECK int wzp_quality_report_decode(const uint8_t *buf, size_t len,
                                             wzp_quality_report *out, size_t *consumed);

/* ---- trunk frames (SPEC §3.5) ---------------------------------------------------------- */

#define WZP_TRUNK_MAX_ENTRIES    10
#define WZP_TRUNK_MAX_BYTES      1200 /* whole encoded frame */
#define WZP_TRUNK_HEADER_SIZE    2
#define WZP_TRUNK_ENTRY_OVERHEAD 4
#define WZP_TRUNK_FLUSH_MS       5

typedef struct wzp_trunk_entry {
    uint16_t session_id;
    const uint8_t *payload; /* points into the decoded buffer */
    uint16_t len;
} wzp_trunk_entry;

/* Parse a whole trunk frame. Entries point into `buf`. Errors: WZP_ERR_TRUNCATED,
 * WZP_ERR_TOO_LARGE (len > 1200), WZP_ERR_EMPTY (count 0 or an empty payload),
 * WZP_ERR_TOO_MANY_ENTRIES, WZP_ERR_TRAILING_DATA. */
WZP_MUST_CHECK int wzp_trunk_decode(const uint8_t *buf, size_t len,
                                    wzp_trunk_entry out[WZP_TRUNK_MAX_ENTRIES], size_t *count);

/* Builds one trunk frame in a caller buffer; tells the caller when it must be flushed. */
typedef struct wzp_trunk_packer {
    uint8_t *buf;
    size_t cap; /* min(caller capacity, WZP_TRUNK_MAX_BYTES) */
    size_t used;
    uint16_t count;
    uint64_t first_ms; /* when the first entry was added */
} wzp_trunk_packer;

/* `cap` must be at least WZP_TRUNK_HEADER_SIZE + WZP_TRUNK_ENTRY_OVERHEAD + 1. */
WZP_MUST_CHECK int wzp_trunk_packer_init(wzp_trunk_packer *p, uint8_t *buf, size_t cap);
/* Append one entry. WZP_ERR_FULL: the frame must be flushed first (nothing was written);
 * WZP_ERR_TOO_LARGE: the payload can never fit a trunk frame; WZP_ERR_EMPTY: len 0. */
WZP_MUST_CHECK int wzp_trunk_packer_add(wzp_trunk_packer *p, uint16_t session_id,
                                        const uint8_t *payload, size_t len, uint64_t now_ms);
/* True when another entry of `len` bytes would not fit. */
bool wzp_trunk_packer_would_overflow(const wzp_trunk_packer *p, size_t len);
/* True when the frame is full (10 entries, or no room for even a 1-byte entry) or its oldest
 * entry has waited WZP_TRUNK_FLUSH_MS. */
bool wzp_trunk_packer_should_flush(const wzp_trunk_packer *p, uint64_t now_ms);
/* The encoded frame (0 bytes when empty); the packer is reset for the next frame. */
size_t wzp_trunk_packer_finish(wzp_trunk_packer *p);

#ifdef __cplusplus
}
#endif
#endif
