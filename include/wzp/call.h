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

/* ---- adaptive jitter buffer (wzp_jb) -----------------------------------------------------------
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
#define WZP_JB_ADJUST_INTERVAL 8   /* pulls between two accelerate/stretch steps */
#define WZP_CALL_HELD_FRAMES   16  /* frames kept for a key on its way (a new epoch's) */
#define WZP_CALL_HELD_MS       500 /* ... this long at most */
#define WZP_JB_IDLE_FRAMES     25  /* empty pulls in a row (500 ms) before the buffer goes idle */

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
    /* a frame dropped just before this one to shorten the delay (NULL: none): decode it too, so
     * the codec's state stays continuous, and shorten the audio by whole pitch periods */
    const uint8_t *skipped;
    size_t skipped_len;
    uint8_t skipped_codec;
    bool stretch; /* CONCEAL to lengthen the delay, nothing lost: repeat whole pitch periods */
} wzp_jb_out;

typedef struct wzp_jb wzp_jb;

WZP_MUST_CHECK int wzp_jb_new(const wzp_jb_config *cfg, wzp_jb **out);
void wzp_jb_free(wzp_jb *jb);
/* Insert a frame. Late frames (already played past), duplicates and frames beyond capacity are
 * counted; the call never fails on bad timing. Errors: WZP_ERR_TOO_LARGE, WZP_ERR_UNKNOWN_CODEC. */
WZP_MUST_CHECK int wzp_jb_insert(wzp_jb *jb, uint8_t codec_id, uint32_t timestamp_ms,
                                 const uint8_t *data, size_t len, uint64_t arrival_ms);
/* Raise (or lower) the minimum target depth, e.g. to the span FEC needs to recover a frame. */
void wzp_jb_set_min_frames(wzp_jb *jb, unsigned frames);
/* Take what plays next; pointers stay valid until the next call. */
void wzp_jb_pull(wzp_jb *jb, wzp_jb_out *out);
wzp_jb_stats wzp_jb_get_stats(const wzp_jb *jb);

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
    bool pinned; /* the tier stays (wzp_quality_pin); the FEC still follows the reports */
    unsigned worse_run, better_run;
    wzp_tier history[WZP_QUALITY_HISTORY]; /* the last classifications, oldest first */
    unsigned history_len;
    wzp_fec_adapt fec;
} wzp_quality_ctl;

wzp_tier wzp_quality_classify(const wzp_quality_report *r, wzp_net_kind net);
void wzp_quality_init(wzp_quality_ctl *q, wzp_net_kind net, wzp_tier initial);
/* Keep `tier` whatever the reports say (a user's choice, or a measurement of one tier). */
void wzp_quality_pin(wzp_quality_ctl *q, wzp_tier tier);
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

/* ---- the call encoder and decoder -------------------------------------------------------------
 * Sender: PCM frame -> denoise -> VAD (silence: a comfort-noise frame every 200 ms) -> codec ->
 * end-to-end seal -> FEC over the sealed frames (source packet now, repairs when the block closes)
 * -> interleaver -> media header (full or mini) -> datagram. Receiver: datagram -> header ->
 * FEC (frames as soon as known) -> end-to-end open with anti-replay -> jitter buffer -> decode or
 * conceal -> PCM. Tier changes take effect at a block boundary. */

#include "wzp/crypto.h"

#define WZP_DATAGRAM_MAX 1400
#define WZP_CALL_MAX_OUT (8 * (1 + WZP_FEC_MAX_BLOCK_REPAIR))

typedef struct wzp_datagram {
    size_t len;
    uint8_t data[WZP_DATAGRAM_MAX];
} wzp_datagram;

typedef struct wzp_call_config {
    wzp_tier tier;             /* starting tier */
    bool denoise;              /* speexdsp noise suppression */
    bool vad;                  /* silence -> comfort noise */
    unsigned interleave_depth; /* 1 = off (lowest delay); SPEC's 3 spreads bursts */
    bool fixed_t;              /* SPEC-compatible FEC symbols of 256 bytes */
} wzp_call_config;

wzp_call_config wzp_call_default_config(void);

typedef struct wzp_call_encoder_stats {
    uint64_t frames, speech_frames, cn_frames, datagrams, bytes;
} wzp_call_encoder_stats;

typedef struct wzp_call_encoder wzp_call_encoder;

WZP_MUST_CHECK int wzp_call_encoder_new(const wzp_call_config *cfg, const uint8_t key[WZP_KEY_SIZE],
                                        uint8_t key_id, wzp_call_encoder **out);
void wzp_call_encoder_free(wzp_call_encoder *enc);
/* Switch tier (codec, frame size, block size) at the next block boundary. */
void wzp_call_encoder_set_tier(wzp_call_encoder *enc, wzp_tier tier);
/* FEC ratio for the next blocks (the quality controller's, boost included). */
void wzp_call_encoder_set_fec_ratio(wzp_call_encoder *enc, float ratio);
/* New sending key (a ratchet step of the sender key, or a new epoch). */
void wzp_call_encoder_set_key(wzp_call_encoder *enc, const uint8_t key[WZP_KEY_SIZE],
                              uint8_t key_id);
/* Frames sealed with the current key (time to ratchet at WZP_REKEY_INTERVAL). */
uint32_t wzp_call_encoder_key_use(const wzp_call_encoder *enc);
/* Samples the next push must carry (20 or 40 ms at 48 kHz). */
size_t wzp_call_encoder_frame_samples(const wzp_call_encoder *enc);
/* Encode one frame; the datagrams to send go to `out` (room for WZP_CALL_MAX_OUT; in practice
 * a few dozen per interleaving depth). */
WZP_MUST_CHECK int wzp_call_encoder_push(wzp_call_encoder *enc, const int16_t *pcm, size_t n,
                                         uint64_t now_ms, wzp_datagram *out, size_t cap,
                                         size_t *count);
/* Close the current block and release everything queued (end of a call). */
WZP_MUST_CHECK int wzp_call_encoder_flush(wzp_call_encoder *enc, uint64_t now_ms, wzp_datagram *out,
                                          size_t cap, size_t *count);
wzp_call_encoder_stats wzp_call_encoder_get_stats(const wzp_call_encoder *enc);
/* The tier being sent now. */
wzp_tier wzp_call_encoder_tier(const wzp_call_encoder *enc);
/* The media timestamp (ms) the next frame will carry. */
uint32_t wzp_call_encoder_media_ts(const wzp_call_encoder *enc);

typedef struct wzp_call_decoder_stats {
    uint64_t datagrams, bad_datagrams, frames_direct, frames_recovered, auth_failures;
    uint64_t frames_held, frames_held_opened; /* under a key not yet here; opened when it came */
    uint64_t frames_played;    /* decoded from their own data (directly or recovered by FEC) */
    uint64_t frames_from_lbrr; /* rebuilt from the next frame's Opus in-band FEC */
    uint64_t frames_concealed; /* invented by packet-loss concealment */
    uint64_t cn_frames;
    uint32_t playout_ts_ms; /* the sender's media timestamp of the frame pulled last */
    wzp_jb_stats jb;
} wzp_call_decoder_stats;

typedef struct wzp_call_decoder wzp_call_decoder;

WZP_MUST_CHECK int wzp_call_decoder_new(const wzp_call_config *cfg, wzp_call_decoder **out);
void wzp_call_decoder_free(wzp_call_decoder *dec);
/* Install a receive key (the previous one stays for the grace window). */
void wzp_call_decoder_add_key(wzp_call_decoder *dec, const uint8_t key[WZP_KEY_SIZE],
                              uint8_t key_id, uint64_t now_ms);
/* Take one datagram. Anything malformed, unauthentic or replayed is counted and dropped (the
 * return is 0 unless the call itself is misused). A SPEC in-band quality report trailer is
 * skipped: our quality reports travel as signals (QualityUpdate), end to end. */
WZP_MUST_CHECK int wzp_call_decoder_receive(wzp_call_decoder *dec, const uint8_t *buf, size_t len,
                                            uint64_t now_ms);
/* The next frame of audio (20 or 40 ms; silence while buffering) into `pcm` (room for
 * WZP_MAX_FRAME_SAMPLES). */
WZP_MUST_CHECK int wzp_call_decoder_pull(wzp_call_decoder *dec, int16_t *pcm, size_t *n,
                                         wzp_jb_kind *kind);
wzp_call_decoder_stats wzp_call_decoder_get_stats(const wzp_call_decoder *dec);
/* Called for every authentic frame as it goes into the jitter buffer, during
 * wzp_call_decoder_receive (so "now" is its arrival): the clock-drift test and the jitter-buffer
 * sweep record the arrival trace from it. NULL: none. */
typedef void (*wzp_frame_observer)(void *user, uint32_t timestamp_ms, uint8_t codec_id,
                                   bool recovered);
void wzp_call_decoder_observe(wzp_call_decoder *dec, wzp_frame_observer fn, void *user);
/* Asked when a frame names a key id the decoder does not hold (a sender that ratcheted its key):
 * return true after wzp_call_decoder_add_key with that id, and the frame is opened again. */
typedef bool (*wzp_key_source)(void *user, uint8_t key_id, uint64_t now_ms);
void wzp_call_decoder_on_unknown_key(wzp_call_decoder *dec, wzp_key_source fn, void *user);
/* The report this receiver should send back now (loss since the last one, jitter). */
wzp_quality_report wzp_call_decoder_make_report(wzp_call_decoder *dec, uint32_t rtt_ms);

/* ---- clock drift (wzp-client --drift-test) --------------------------------------------------
 * A sender's media clock against ours: per second of its media time, the smallest transit
 * (arrival minus media timestamp) -- the packet that waited least, the cleanest clock sample --
 * then a line through those minima: least squares over those not far above their Theil-Sen line
 * (the median of the slopes between every two), so that seconds in which either end was held
 * up do not tilt it. Its slope is the drift: positive when the sender's clock runs slow
 * (its media second lasts longer in our time), negative when fast. */
#define WZP_DRIFT_WINDOWS 3600 /* one an hour of media seconds at most */
#define WZP_DRIFT_POINTS  240  /* the line is fitted through at most this many */

typedef struct wzp_drift {
    bool started;
    uint32_t first_ts;
    uint64_t first_arrival_us;
    uint32_t windows; /* filled */
    double min_transit_us[WZP_DRIFT_WINDOWS];
    uint64_t frames;
} wzp_drift;

void wzp_drift_init(wzp_drift *d);
void wzp_drift_add(wzp_drift *d, uint32_t timestamp_ms, uint64_t arrival_us);
/* Drift in parts per million of the sender's clock relative to ours, positive when it runs
 * fast, over `*span_s` seconds of its media. Errors: WZP_ERR_EMPTY (under 5 s of media),
 * WZP_ERR_NOMEM. */
WZP_MUST_CHECK int wzp_drift_ppm(const wzp_drift *d, double *ppm, double *span_s);

/* ---- jitter-buffer sweep (wzp-client --sweep) ------------------------------------------------
 * Replays a recorded arrival trace through jitter buffers of other settings, pulling every frame
 * duration in simulated time as a receiver would: what each setting would have played,
 * concealed and dropped late, and the delay it adds over the fastest transit. */
typedef struct wzp_arrival {
    uint32_t timestamp_ms;
    uint8_t codec_id;
    double arrival_ms;
} wzp_arrival;

typedef struct wzp_sweep_result {
    unsigned min_frames, max_frames;
    uint64_t played, concealed, late;
    double delay_p50_ms, delay_p95_ms; /* playout - (media timestamp + fastest transit) */
} wzp_sweep_result;

/* One setting over `trace` (in arrival order). Errors: WZP_ERR_NOMEM, WZP_ERR_EMPTY. */
WZP_MUST_CHECK int wzp_sweep_run(const wzp_arrival *trace, size_t n, unsigned min_frames,
                                 unsigned max_frames, wzp_sweep_result *out);

#ifdef __cplusplus
}
#endif
#endif
