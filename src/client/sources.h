/*
 * What a call sends: a tone, an audio file, or samples in memory (the echo test's signal), as
 * 48 kHz mono frames read on demand. The microphone (--live) is not a source: the sound card's
 * clock drives a live call (src/client/live_audio.h).
 */
#ifndef WZP_CLIENT_SOURCES_H
#define WZP_CLIENT_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"

typedef struct wzp_source wzp_source;

/* A `hz` tone at -10.5 dBFS (0.3 of full scale) for `seconds`. */
WZP_MUST_CHECK int wzp_source_tone(double hz, double seconds, wzp_source **out);
/* An audio file (any format libsndfile reads; raw 48k s16le otherwise); `why` says what is wrong
 * with it on failure. */
WZP_MUST_CHECK int wzp_source_file(const char *path, wzp_source **out, char *why, size_t why_len);
/* `n` samples in [-1, 1] (not copied: they must outlive the source). */
WZP_MUST_CHECK int wzp_source_samples(const float *x, size_t n, wzp_source **out);

/* `n` samples into `pcm`: the last frame is padded with silence, after which the source is done. */
void wzp_source_read(wzp_source *s, int16_t *pcm, size_t n);
/* Pass over `n` samples (time that went by unsent: a process starved of CPU). */
void wzp_source_skip(wzp_source *s, size_t n);
bool wzp_source_done(const wzp_source *s);
/* Its length in seconds. */
double wzp_source_seconds(const wzp_source *s);
void wzp_source_free(wzp_source *s);

#endif
