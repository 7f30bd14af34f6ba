/* Codec and quality-profile tables (SPEC §3.2 and §6): the one place these numbers live. */
#include "wzp/proto.h"

#include <math.h>
#include <string.h>

static const wzp_codec_info k_codecs[WZP_CODEC_COUNT] = {
    {WZP_CODEC_OPUS_24K, "Opus24k", WZP_CODEC_FAMILY_OPUS, 24000, 48000, 20},
    {WZP_CODEC_OPUS_16K, "Opus16k", WZP_CODEC_FAMILY_OPUS, 16000, 48000, 20},
    {WZP_CODEC_OPUS_6K, "Opus6k", WZP_CODEC_FAMILY_OPUS, 6000, 48000, 40},
    {WZP_CODEC_CODEC2_3200, "Codec2_3200", WZP_CODEC_FAMILY_CODEC2, 3200, 8000, 20},
    {WZP_CODEC_CODEC2_1200, "Codec2_1200", WZP_CODEC_FAMILY_CODEC2, 1200, 8000, 40},
    {WZP_CODEC_COMFORT_NOISE, "ComfortNoise", WZP_CODEC_FAMILY_COMFORT_NOISE, 0, 48000, 20},
    {WZP_CODEC_OPUS_32K, "Opus32k", WZP_CODEC_FAMILY_OPUS, 32000, 48000, 20},
    {WZP_CODEC_OPUS_48K, "Opus48k", WZP_CODEC_FAMILY_OPUS, 48000, 48000, 20},
    {WZP_CODEC_OPUS_64K, "Opus64k", WZP_CODEC_FAMILY_OPUS, 64000, 48000, 20},
};

/* SPEC §6: the three adaptive tiers and the studio profiles. */
static const wzp_profile k_profiles[WZP_PROFILE_COUNT] = {
    [WZP_PROFILE_GOOD] = {WZP_CODEC_OPUS_24K, 0.2f, 20, 5},
    [WZP_PROFILE_DEGRADED] = {WZP_CODEC_OPUS_6K, 0.5f, 40, 10},
    [WZP_PROFILE_CATASTROPHIC] = {WZP_CODEC_CODEC2_1200, 1.0f, 40, 8},
    [WZP_PROFILE_STUDIO_32K] = {WZP_CODEC_OPUS_32K, 0.1f, 20, 5},
    [WZP_PROFILE_STUDIO_48K] = {WZP_CODEC_OPUS_48K, 0.1f, 20, 5},
    [WZP_PROFILE_STUDIO_64K] = {WZP_CODEC_OPUS_64K, 0.1f, 20, 5},
};

static const char *const k_profile_names[WZP_PROFILE_COUNT] = {
    "GOOD", "DEGRADED", "CATASTROPHIC", "STUDIO_32K", "STUDIO_48K", "STUDIO_64K",
};

const wzp_codec_info *wzp_codec_info_get(unsigned id) {
    return id < WZP_CODEC_COUNT ? &k_codecs[id] : NULL;
}

const wzp_codec_info *wzp_codec_info_by_name(const char *name, size_t len) {
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < WZP_CODEC_COUNT; i++) {
        if (strlen(k_codecs[i].name) == len && memcmp(k_codecs[i].name, name, len) == 0) {
            return &k_codecs[i];
        }
    }
    return NULL;
}

bool wzp_codec_is(unsigned codec_id, wzp_codec_family family) {
    const wzp_codec_info *c = wzp_codec_info_get(codec_id);
    return c != NULL && c->family == family;
}

const wzp_profile *wzp_profile_for_codec(unsigned codec_id) {
    for (size_t i = 0; i < WZP_PROFILE_COUNT; i++) {
        if ((unsigned)k_profiles[i].codec == codec_id) {
            return &k_profiles[i];
        }
    }
    return NULL;
}

const wzp_profile *wzp_profile_get(wzp_profile_id id) {
    return (unsigned)id < WZP_PROFILE_COUNT ? &k_profiles[id] : NULL;
}

const char *wzp_profile_name(wzp_profile_id id) {
    return (unsigned)id < WZP_PROFILE_COUNT ? k_profile_names[id] : "UNKNOWN";
}

uint32_t wzp_profile_wire_bitrate_bps(const wzp_profile *p) {
    const wzp_codec_info *c = wzp_codec_info_get(p->codec);
    if (c == NULL) {
        return 0;
    }
    return (uint32_t)lround((double)c->bitrate_bps * (1.0 + (double)p->fec_ratio));
}

unsigned wzp_profile_repair_count(const wzp_profile *p) {
    /* Subtract a tiny epsilon so that 5 * 0.2f (= 1.0000000149) is 1, not 2. */
    double r = ceil((double)p->frames_per_block * (double)p->fec_ratio - 1e-6);
    return r <= 0.0 ? 0u : (unsigned)r;
}

int wzp_profile_validate(const wzp_profile *p) {
    const wzp_codec_info *c = wzp_codec_info_get(p->codec);
    if (c == NULL) {
        return WZP_ERR_UNKNOWN_CODEC;
    }
    if (!isfinite(p->fec_ratio) || p->fec_ratio < 0.0f || p->fec_ratio > 2.0f) {
        return WZP_ERR_OUT_OF_RANGE;
    }
    if (p->frame_duration_ms != 20 && p->frame_duration_ms != 40) {
        return WZP_ERR_OUT_OF_RANGE;
    }
    if (p->frames_per_block == 0 || p->frames_per_block > 64) {
        return WZP_ERR_OUT_OF_RANGE;
    }
    return WZP_OK;
}

bool wzp_profile_equal(const wzp_profile *a, const wzp_profile *b) {
    return a->codec == b->codec && a->fec_ratio == b->fec_ratio &&
           a->frame_duration_ms == b->frame_duration_ms &&
           a->frames_per_block == b->frames_per_block;
}
