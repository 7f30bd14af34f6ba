/*
 * The adaptive jitter buffer (see include/wzp/call.h). Frames live in a fixed array sorted by
 * media timestamp (serial arithmetic, so the 32-bit millisecond clock may wrap). Playout is
 * driven by pulls, one frame each; depth, target and jitter are all in media milliseconds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/call.h"
#include "wzp/alloc.h"

#define STALE_MAX_MS 10000 /* further back than this, timestamps restarted */

typedef struct jb_frame {
    uint32_t ts;
    uint8_t codec;
    uint16_t dur;
    size_t len;
    uint8_t *data;
} jb_frame;

struct wzp_jb {
    wzp_jb_config cfg;
    jb_frame *frames; /* sorted by ts, count used */
    unsigned count;
    uint8_t *storage;
    uint8_t *out_data; /* copy of the frame handed out */
    bool started;
    uint32_t play_ts;
    unsigned last_dur;
    uint8_t last_codec;
    bool has_transit;
    bool has_newest;
    bool skipped; /* this pull accelerated: skip_data holds the dropped frame */
    uint8_t *skip_data;
    size_t skip_len;
    uint8_t skip_codec;
    uint32_t newest_ts; /* the newest frame inserted: older than its span is stale */
    int64_t prev_transit;
    double jitter;
    unsigned since_adjust;
    unsigned dry;      /* pulls in a row that found nothing */
    unsigned base_max; /* the configured max_frames (FEC may need more for a while) */
    double depth_ema;  /* smoothed depth (ms): decisions ignore momentary jitter */
    wzp_jb_stats st;
};

static bool ts_before(uint32_t a, uint32_t b) {
    return (int32_t)(a - b) < 0;
}

wzp_jb_config wzp_jb_default_config(bool relay) {
    wzp_jb_config c = {WZP_JB_CLIENT_MIN, WZP_JB_CLIENT_TARGET, WZP_JB_CLIENT_MAX, 64,
                       WZP_MAX_CODEC_FRAME + 64};
    if (relay) {
        c.initial_frames = WZP_JB_RELAY_TARGET;
        c.max_frames = WZP_JB_RELAY_MAX;
        c.capacity = WZP_JB_RELAY_MAX + 16;
    }
    return c;
}

int wzp_jb_new(const wzp_jb_config *cfg, wzp_jb **out) {
    if (cfg->min_frames == 0 || cfg->min_frames > cfg->max_frames ||
        cfg->initial_frames < cfg->min_frames || cfg->initial_frames > cfg->max_frames ||
        cfg->capacity <= cfg->max_frames || cfg->capacity > 4096 || cfg->max_payload == 0 ||
        cfg->max_payload > 65536) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_jb *jb = wzp_calloc(1, sizeof(*jb));
    if (jb == NULL) {
        return WZP_ERR_NOMEM;
    }
    jb->cfg = *cfg;
    jb->base_max = cfg->max_frames;
    jb->frames = wzp_calloc(cfg->capacity, sizeof(jb_frame));
    jb->storage = wzp_malloc((size_t)cfg->capacity * cfg->max_payload);
    jb->out_data = wzp_malloc(cfg->max_payload);
    jb->skip_data = wzp_malloc(cfg->max_payload);
    if (jb->frames == NULL || jb->storage == NULL || jb->out_data == NULL ||
        jb->skip_data == NULL) {
        wzp_jb_free(jb);
        return WZP_ERR_NOMEM;
    }
    for (unsigned i = 0; i < cfg->capacity; i++) {
        jb->frames[i].data = jb->storage + (size_t)i * cfg->max_payload;
    }
    jb->last_dur = 20;
    jb->st.target_frames = cfg->initial_frames;
    *out = jb;
    return WZP_OK;
}

void wzp_jb_free(wzp_jb *jb) {
    if (jb != NULL) {
        wzp_free(jb->frames);
        wzp_free(jb->storage);
        wzp_free(jb->out_data);
        wzp_free(jb->skip_data);
        wzp_free(jb);
    }
}

/* Remove entry i, keeping its storage for reuse at the end of the array. */
static void remove_at(wzp_jb *jb, unsigned i) {
    uint8_t *data = jb->frames[i].data;
    memmove(&jb->frames[i], &jb->frames[i + 1], (jb->count - i - 1) * sizeof(jb_frame));
    jb->count--;
    jb->frames[jb->count].data = data;
}

/* RFC 3550 interarrival jitter, and the target depth it implies. */
static void update_jitter(wzp_jb *jb, uint32_t ts, uint64_t arrival_ms, unsigned dur) {
    int64_t transit = (int64_t)arrival_ms - (int64_t)ts;
    if (jb->has_transit) {
        double d = fabs((double)(transit - jb->prev_transit));
        if (d < 10000.0) { /* a timestamp jump is not jitter */
            jb->jitter += (d - jb->jitter) / 16.0;
        }
        unsigned t = (unsigned)ceil(jb->jitter / (double)dur) + 2;
        t = t < jb->cfg.min_frames ? jb->cfg.min_frames : t;
        jb->st.target_frames = t > jb->cfg.max_frames ? jb->cfg.max_frames : t;
    }
    jb->prev_transit = transit;
    jb->has_transit = true;
}

int wzp_jb_insert(wzp_jb *jb, uint8_t codec_id, uint32_t timestamp_ms, const uint8_t *data,
                  size_t len, uint64_t arrival_ms) {
    const wzp_codec_info *ci = wzp_codec_info_get(codec_id);
    if (ci == NULL) {
        return WZP_ERR_UNKNOWN_CODEC;
    }
    if (len > jb->cfg.max_payload) {
        return WZP_ERR_TOO_LARGE;
    }
    if (jb->started && ts_before(timestamp_ms, jb->play_ts)) {
        jb->st.late++;
        return WZP_OK;
    }
    /* A frame far behind the newest one seen (a block FEC completed late, after the buffer
     * went idle) is stale: started on, it would hold the whole call that far behind. Seconds
     * behind is a sender that restarted its timeline, not a stale frame. */
    int32_t behind = jb->has_newest ? (int32_t)(jb->newest_ts - timestamp_ms) : 0;
    if (behind > (int32_t)((jb->cfg.max_frames + 2) * ci->frame_ms) && behind < STALE_MAX_MS) {
        jb->st.late++;
        return WZP_OK;
    }
    if (!jb->has_newest || behind < 0 || behind >= STALE_MAX_MS) {
        jb->newest_ts = timestamp_ms;
        jb->has_newest = true;
    }
    unsigned pos = jb->count;
    while (pos > 0 && ts_before(timestamp_ms, jb->frames[pos - 1].ts)) {
        pos--;
    }
    if (pos > 0 && jb->frames[pos - 1].ts == timestamp_ms) {
        jb->st.duplicates++;
        return WZP_OK;
    }
    update_jitter(jb, timestamp_ms, arrival_ms, ci->frame_ms);
    if (jb->count == jb->cfg.capacity) { /* overrun: the oldest goes */
        jb->st.overruns++;
        remove_at(jb, 0);
        if (pos == 0) {
            return WZP_OK; /* the new frame was the oldest of all */
        }
        pos--;
    }
    uint8_t *slot = jb->frames[jb->count].data;
    memmove(&jb->frames[pos + 1], &jb->frames[pos], (jb->count - pos) * sizeof(jb_frame));
    jb->frames[pos] = (jb_frame){timestamp_ms, codec_id, ci->frame_ms, len, slot};
    memcpy(slot, data, len);
    jb->count++;
    jb->st.inserted++;
    return WZP_OK;
}

/* Media milliseconds buffered from the playout point to the end of the newest frame. */
static unsigned depth_ms(const wzp_jb *jb, uint32_t from) {
    if (jb->count == 0) {
        return 0;
    }
    const jb_frame *last = &jb->frames[jb->count - 1];
    int32_t d = (int32_t)(last->ts + last->dur - from);
    return d > 0 ? (unsigned)d : 0;
}

static void emit_frame(wzp_jb *jb, wzp_jb_out *out) {
    jb_frame *f = &jb->frames[0];
    memcpy(jb->out_data, f->data, f->len);
    *out = (wzp_jb_out){WZP_JB_FRAME, f->codec, f->ts, f->dur, jb->out_data,
                        f->len,       NULL,     0,     0,      false};
    jb->play_ts = f->ts + f->dur;
    jb->last_dur = f->dur;
    jb->last_codec = f->codec;
    jb->st.played++;
    remove_at(jb, 0);
}

static void emit_conceal(wzp_jb *jb, wzp_jb_out *out, uint8_t codec, bool advance) {
    *out =
        (wzp_jb_out){WZP_JB_CONCEAL, codec, jb->play_ts, jb->last_dur, NULL, 0, NULL, 0, 0, false};
    if (jb->count > 0 && jb->frames[0].ts == jb->play_ts + jb->last_dur) {
        out->data = jb->frames[0].data; /* the next frame: its in-band FEC covers this one */
        out->len = jb->frames[0].len;
    }
    if (advance) {
        jb->play_ts += jb->last_dur;
    }
    jb->st.concealed++;
}

/* Slow convergence on the target: at most one step every WZP_JB_ADJUST_INTERVAL pulls. Returns
 * true when it stretched (output already written). */
static bool adjust(wzp_jb *jb, wzp_jb_out *out, uint8_t codec) {
    if (++jb->since_adjust < WZP_JB_ADJUST_INTERVAL) {
        return false;
    }
    unsigned target = jb->st.target_frames * jb->last_dur;
    unsigned depth = depth_ms(jb, jb->play_ts);
    double ema = jb->depth_ema;
    if (ema > target + jb->last_dur && depth > target && jb->count > 1 &&
        jb->frames[0].ts == jb->play_ts) {
        jb->play_ts += jb->frames[0].dur; /* accelerate: skip one frame */
        memcpy(jb->skip_data, jb->frames[0].data, jb->frames[0].len);
        jb->skip_len = jb->frames[0].len;
        jb->skip_codec = jb->frames[0].codec;
        jb->skipped = true;
        remove_at(jb, 0);
        jb->st.accelerated++;
        jb->since_adjust = 0;
    } else if (ema + jb->last_dur < target && depth + jb->last_dur < target && depth > 0) {
        emit_conceal(jb, out, codec, false); /* stretch: one extra frame, playout waits */
        out->stretch = true;
        jb->st.concealed--;
        jb->st.stretched++;
        jb->since_adjust = 0;
        return true;
    }
    return false;
}

static void jb_pull(wzp_jb *jb, wzp_jb_out *out);

void wzp_jb_pull(wzp_jb *jb, wzp_jb_out *out) {
    jb->skipped = false;
    jb_pull(jb, out);
    out->skipped = jb->skipped ? jb->skip_data : NULL;
    out->skipped_len = jb->skipped ? jb->skip_len : 0;
    out->skipped_codec = jb->skip_codec;
}

static void jb_pull(wzp_jb *jb, wzp_jb_out *out) {
    if (!jb->started) {
        if (jb->count == 0 ||
            depth_ms(jb, jb->frames[0].ts) < jb->st.target_frames * (unsigned)jb->frames[0].dur) {
            *out = (wzp_jb_out){WZP_JB_BUFFERING, 0, 0, 20, NULL, 0, NULL, 0, 0, false};
            return;
        }
        jb->started = true;
        jb->dry = 0;
        jb->depth_ema = depth_ms(jb, jb->frames[0].ts);
        jb->play_ts = jb->frames[0].ts;
        jb->last_dur = jb->frames[0].dur;
        jb->last_codec = jb->frames[0].codec;
    }
    while (jb->count > 0 && ts_before(jb->frames[0].ts, jb->play_ts)) {
        remove_at(jb, 0); /* overtaken by an acceleration */
    }
    uint8_t codec = jb->last_codec;
    jb->depth_ema += ((double)depth_ms(jb, jb->play_ts) - jb->depth_ema) / 16.0;
    if (adjust(jb, out, codec)) {
        return;
    }
    if (jb->count > 0 && jb->frames[0].ts == jb->play_ts) {
        jb->dry = 0;
        emit_frame(jb, out);
        return;
    }
    if (jb->count == 0) {
        if (++jb->dry > WZP_JB_IDLE_FRAMES) {
            /* the sender has stopped (hung up, muted, gone): wait for its next talkspurt in
             * silence, buffering afresh, rather than concealing forever */
            jb->started = false;
            *out = (wzp_jb_out){WZP_JB_BUFFERING, 0, 0, 20, NULL, 0, NULL, 0, 0, false};
            return;
        }
        jb->st.underruns++;
    } else {
        jb->dry = 0;
    }
    emit_conceal(jb, out, codec, true);
}

void wzp_jb_set_min_frames(wzp_jb *jb, unsigned frames) {
    if (frames == 0) {
        frames = 1;
    }
    /* FEC over interleaved blocks can only recover a frame once its whole span has arrived:
     * the buffer must be allowed to hold that span even beyond the configured maximum
     * (bounded by its capacity), and returns to that maximum when the span shrinks */
    unsigned cap_max = jb->cfg.capacity - 1;
    jb->cfg.max_frames = frames + 2 > jb->base_max ? frames + 2 : jb->base_max;
    if (jb->cfg.max_frames > cap_max) {
        jb->cfg.max_frames = cap_max;
    }
    jb->cfg.min_frames = frames > jb->cfg.max_frames ? jb->cfg.max_frames : frames;
    if (jb->st.target_frames > jb->cfg.max_frames) {
        jb->st.target_frames = jb->cfg.max_frames;
    }
    if (jb->st.target_frames < jb->cfg.min_frames) {
        jb->st.target_frames = jb->cfg.min_frames;
    }
}

wzp_jb_stats wzp_jb_get_stats(const wzp_jb *jb) {
    wzp_jb_stats s = jb->st;
    s.depth_frames = jb->last_dur ? depth_ms(jb, jb->play_ts) / jb->last_dur : 0;
    s.jitter_ms = jb->jitter;
    return s;
}
