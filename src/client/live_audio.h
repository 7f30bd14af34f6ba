/*
 * Live audio for --live: PortAudio full duplex at 48 kHz mono, 20 ms per callback. The audio
 * callback only copies frames through two single-producer single-consumer rings (C11 atomics: no
 * lock, no allocation, no system call on the audio thread); echo cancellation (speexdsp, 200 ms
 * tail) runs on the call's thread, with each microphone frame paired with the frame the speaker
 * played in the same callback as its far-end reference.
 */
#ifndef WZP_CLIENT_LIVE_AUDIO_H
#define WZP_CLIENT_LIVE_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"

#define WZP_LIVE_FRAME 960 /* 20 ms at 48 kHz */

typedef struct wzp_live_audio wzp_live_audio;

typedef struct wzp_live_stats {
    uint64_t captured, played;   /* frames */
    uint64_t capture_overruns;   /* microphone frames dropped: the call thread fell behind */
    uint64_t playback_underruns; /* speaker frames with nothing to play (silence instead) */
    uint64_t playback_overruns;  /* frames refused: more than the ring holds were queued */
} wzp_live_stats;

/* Open and start the default input and output devices (or the PortAudio devices whose names
 * contain `device`). `aec`: cancel the speaker's echo from the microphone. `why` then describes
 * the devices and latencies opened, or on failure what is wrong (no device, format refused). */
WZP_MUST_CHECK int wzp_live_audio_open(const char *device, bool aec, wzp_live_audio **out,
                                       char *why, size_t why_len);
/* One 20 ms microphone frame, echo-cancelled; false when none is waiting. */
bool wzp_live_audio_capture(wzp_live_audio *a, int16_t pcm[WZP_LIVE_FRAME]);
/* Frames queued for the speaker and not yet played. */
size_t wzp_live_audio_queued(const wzp_live_audio *a);
/* Queue one 20 ms frame for the speaker; false (and counted) when the ring is full. */
bool wzp_live_audio_play(wzp_live_audio *a, const int16_t pcm[WZP_LIVE_FRAME]);
wzp_live_stats wzp_live_audio_stats(const wzp_live_audio *a);
void wzp_live_audio_close(wzp_live_audio *a);

#endif
