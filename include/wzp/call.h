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

/* ---- quality controller (SPEC §7) ---------------------------------------------------------
 * Classifies each received quality report into a tier (Wi-Fi or cellular thresholds), and moves
 * the sender's tier with hysteresis: down after 3 consecutive worse reports (2 on cellular),
 * straight to the tier the reports show; up after 10 consecutive better reports, one tier at a
 * time. It also drives the FEC boost. */

#include "wzp/fec.h"

typedef enum wzp_tier {
    WZP_TIER_GOOD = WZP_PROFILE_GOOD,
    WZP_TIER_DEGRADED = WZP_PROFILE_DEGRADED,
    WZP_TIER_CATASTROPHIC = WZP_PROFILE_CATASTROPHIC,
} wzp_tier;

typedef enum wzp_net_kind { WZP_NET_WIFI, WZP_NET_CELLULAR } wzp_net_kind;

#define WZP_QUALITY_HISTORY               20
#define WZP_QUALITY_DOWN_REPORTS          3
#define WZP_QUALITY_DOWN_REPORTS_CELLULAR 2
#define WZP_QUALITY_UP_REPORTS            10

typedef struct wzp_quality_ctl {
    wzp_net_kind net;
    wzp_tier tier;
    unsigned worse_run, better_run;
    wzp_tier history[WZP_QUALITY_HISTORY]; /* the last classifications, oldest first */
    unsigned history_len;
    wzp_fec_adapt fec;
} wzp_quality_ctl;

wzp_tier wzp_quality_classify(const wzp_quality_report *r, wzp_net_kind net);
void wzp_quality_init(wzp_quality_ctl *q, wzp_net_kind net, wzp_tier initial);
/* Feed one report; true when the tier changed. */
bool wzp_quality_on_report(wzp_quality_ctl *q, const wzp_quality_report *r, uint64_t now_ms);
const wzp_profile *wzp_quality_profile(const wzp_quality_ctl *q);
float wzp_quality_fec_ratio(const wzp_quality_ctl *q, uint64_t now_ms);

/* Receiver side: loss over an interval from sequence numbers, turned into a report. */
typedef struct wzp_quality_meter {
    bool started;
    uint32_t base_ext, max_ext; /* extended (unwrapped) sequence numbers */
    uint64_t received;
} wzp_quality_meter;

void wzp_quality_meter_init(wzp_quality_meter *m);
void wzp_quality_meter_on_packet(wzp_quality_meter *m, uint16_t seq);
/* The report for the interval since the last one (loss from sequence gaps), then a new interval
 * starts. */
wzp_quality_report wzp_quality_meter_report(wzp_quality_meter *m, uint32_t rtt_ms,
                                            uint32_t jitter_ms, uint32_t bitrate_cap_kbps);

#ifdef __cplusplus
}
#endif
#endif
