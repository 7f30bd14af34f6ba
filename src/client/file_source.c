/*
 * Audio from a file for --send-file: anything libsndfile reads (WAV, FLAC, Ogg, MP3, ...), any
 * channel count (mixed down) and rate (speexdsp resampler to 48 kHz), or headerless 48 kHz s16le
 * mono. Streams: memory is bounded whatever the file's length.
 *
 * Headerless input is never left to sniffing alone: libsndfile recognises MPEG audio by frame
 * sync words, which raw PCM often contains (a first sample of -1 is 0xffff: about one dithered
 * tone in thirteen sniffed as MP3 and played as noise). So a .raw/.pcm/.s16/.sln name is raw
 * without asking, and "MPEG" is believed only from an .mp1/.mp2/.mp3 name.
 */
#include <math.h>
#include <sndfile.h>
#include <speex/speex_resampler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/file_source.h"
#include "wzp/alloc.h"

#define CHUNK        1024 /* input frames read at a time */
#define MAX_CHANNELS 8

struct wzp_file_source {
    SNDFILE *f;
    int channels, rate;
    SpeexResamplerState *rs;           /* NULL at 48 kHz */
    float inter[CHUNK * MAX_CHANNELS]; /* any format, read as -1..1 */
    int16_t mono[CHUNK];
    size_t have, pos; /* mono samples read and not yet used */
    bool eof;
    double seconds;
};

static bool has_extension(const char *path, const char *const *exts) {
    const char *dot = strrchr(path, '.');
    if (dot == NULL || strchr(dot, '/') != NULL) {
        return false;
    }
    for (; *exts != NULL; exts++) {
        if (strcasecmp(dot + 1, *exts) == 0) {
            return true;
        }
    }
    return false;
}

int wzp_file_source_open(const char *path, wzp_file_source **out, char *why, size_t why_len) {
    static const char *const raw_ext[] = {"raw", "pcm", "s16", "sln", NULL};
    static const char *const mpeg_ext[] = {"mp1", "mp2", "mp3", NULL};
    SF_INFO info;
    memset(&info, 0, sizeof(info));
    SNDFILE *f = NULL;
    if (!has_extension(path, raw_ext)) {
        f = sf_open(path, SFM_READ, &info);
        if (f != NULL && (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG &&
            !has_extension(path, mpeg_ext)) {
            sf_close(f); /* sniffed sync words in what is most likely raw PCM */
            f = NULL;
        }
    }
    if (f == NULL) { /* headerless: raw 48 kHz s16le mono */
        memset(&info, 0, sizeof(info));
        info.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE;
        info.samplerate = 48000;
        info.channels = 1;
        f = sf_open(path, SFM_READ, &info);
    }
    if (f == NULL) {
        snprintf(why, why_len, "%s", sf_strerror(NULL));
        return WZP_ERR_IO;
    }
    if (info.channels < 1 || info.channels > MAX_CHANNELS || info.samplerate < 8000 ||
        info.samplerate > 192000) {
        snprintf(why, why_len, "%d channels at %d Hz not supported (1..%d, 8-192 kHz)",
                 info.channels, info.samplerate, MAX_CHANNELS);
        sf_close(f);
        return WZP_ERR_OUT_OF_RANGE;
    }
    wzp_file_source *s = wzp_calloc(1, sizeof(*s));
    if (s == NULL) {
        sf_close(f);
        return WZP_ERR_NOMEM;
    }
    s->f = f;
    s->channels = info.channels;
    s->rate = info.samplerate;
    s->seconds = (double)info.frames / info.samplerate;
    if (info.samplerate != 48000) {
        int err = 0;
        s->rs = speex_resampler_init(1, (spx_uint32_t)info.samplerate, 48000, 5, &err);
        if (s->rs == NULL) {
            snprintf(why, why_len, "resampler: %s", speex_resampler_strerror(err));
            wzp_file_source_close(s);
            return WZP_ERR_NOMEM;
        }
        speex_resampler_skip_zeros(s->rs);
    }
    *out = s;
    return WZP_OK;
}

double wzp_file_source_seconds(const wzp_file_source *s) {
    return s->seconds;
}

static bool refill(wzp_file_source *s) {
    if (s->eof) {
        return false;
    }
    /* as floats: libsndfile normalises integer formats to -1..1, and float files are -1..1
     * already (read as shorts they would come out as 0 and +-1: silence) */
    sf_count_t n = sf_readf_float(s->f, s->inter, CHUNK);
    if (n <= 0) {
        s->eof = true;
        return false;
    }
    for (sf_count_t i = 0; i < n; i++) {
        float sum = 0;
        for (int c = 0; c < s->channels; c++) {
            sum += s->inter[i * s->channels + c];
        }
        float v = sum / (float)s->channels * 32768.0f;
        s->mono[i] = (int16_t)lrintf(v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v);
    }
    s->have = (size_t)n;
    s->pos = 0;
    return true;
}

size_t wzp_file_source_read(wzp_file_source *s, int16_t *pcm, size_t n) {
    size_t done = 0;
    while (done < n) {
        if (s->pos == s->have && !refill(s)) {
            break;
        }
        if (s->rs == NULL) {
            size_t k = s->have - s->pos < n - done ? s->have - s->pos : n - done;
            memcpy(pcm + done, s->mono + s->pos, k * sizeof(int16_t));
            s->pos += k;
            done += k;
        } else {
            spx_uint32_t in_len = (spx_uint32_t)(s->have - s->pos),
                         out_len = (spx_uint32_t)(n - done);
            speex_resampler_process_int(s->rs, 0, s->mono + s->pos, &in_len, pcm + done, &out_len);
            s->pos += in_len;
            done += out_len;
            if (in_len == 0 && out_len == 0) {
                break;
            }
        }
    }
    return done;
}

void wzp_file_source_close(wzp_file_source *s) {
    if (s == NULL) {
        return;
    }
    if (s->rs != NULL) {
        speex_resampler_destroy(s->rs);
    }
    sf_close(s->f);
    wzp_free(s);
}
