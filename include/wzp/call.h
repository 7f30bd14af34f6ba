/*
 * The call layer (SPEC §7): the adaptive jitter buffer, the quality controller and the call
 * encoder/decoder that join audio, crypto, FEC and framing into one media chain. Sans-I/O: the
 * caller passes time in milliseconds and moves the datagrams and PCM.
 */
#ifndef WZP_CALL_H
#define WZP_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/audio.h"
#include "wzp/error.h"
#include "wzp/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- adaptive jitter buffer ------------------------------------------------------------------
 * Timestamp-based playout (NetEq-inspired): frames are kept in media-timestamp order; each pull
 * plays the frame due at the playout timestamp or conceals it. The target depth follows an EMA of
 * the inter-arrival jitter (RFC 3550): ceil(jitter / frame) + 2 frames, clamped; the buffer
 * converges on it slowly, dropping one frame (accelerate) or inserting one concealed frame
 * (stretch) at a time, so clock drift is absorbed without bursts of loss. */

#define WZP_JB_CLIENT_MIN      2
#define WZP_JB_CLIENT_TARGET   10 /* SPEC §7: 200 ms until jitter is measured */
#define WZP_JB_CLIENT_MAX      25
#define WZP_JB_RELAY_TARGET    50
#define WZP_JB_RELAY_MAX       250
#define WZP_JB_ADJUST_INTERVAL 8 /* pulls between two accelerate/stretch steps */

typedef struct wzp_jb_config {
    unsigned min_frames, initial_frames, max_frames; /* target depth bounds, in frames */
    unsigned capacity;                               /* frames held at most (overrun above) */
    size_t max_payload;                              /* bytes per frame */
} wzp_jb_config;

/* The defaults of SPEC §7 for a client (false) or a relay (true). */
wzp_jb_config wzp_jb_default_config(bool relay);

typedef struct wzp_jb_stats {
    uint64_t inserted, played, concealed, underruns, overruns, late, duplicates, accelerated,
        stretched;
    unsigned depth_frames, target_frames;
    double jitter_ms;
} wzp_jb_stats;

typedef enum wzp_jb_kind {
    WZP_JB_BUFFERING, /* not started yet: play silence */
    WZP_JB_FRAME,     /* a frame to decode */
    WZP_JB_CONCEAL,   /* a frame is missing: conceal (with `next` for in-band FEC if set) */
} wzp_jb_kind;

typedef struct wzp_jb_out {
    wzp_jb_kind kind;
    uint8_t codec_id;
    uint32_t timestamp_ms;
    unsigned duration_ms;
    const uint8_t *data; /* FRAME: the frame; CONCEAL: the next frame if buffered, else NULL */
    size_t len;
} wzp_jb_out;

typedef struct wzp_jitter_buffer wzp_jitter_buffer;

WZP_MUST_CHECK int wzp_jb_new(const wzp_jb_config *cfg, wzp_jitter_buffer **out);
void wzp_jb_free(wzp_jitter_buffer *jb);
/* Insert a frame. Late frames (already played past), duplicates and frames beyond capacity are
 * counted; the call never fails on bad timing. Errors: WZP_ERR_TOO_LARGE, WZP_ERR_UNKNOWN_CODEC. */
WZP_MUST_CHECK int wzp_jb_insert(wzp_jitter_buffer *jb, uint8_t codec_id, uint32_t timestamp_ms,
                                 const uint8_t *data, size_t len, uint64_t arrival_ms);
/* Take what plays next; pointers stay valid until the next call. */
void wzp_jb_pull(wzp_jitter_buffer *jb, wzp_jb_out *out);
wzp_jb_stats wzp_jb_get_stats(const wzp_jitter_buffer *jb);

#ifdef __cplusplus
}
#endif
#endif
