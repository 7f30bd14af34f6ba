/*
 * One call of wzp-client (src/client/engine.c): a leg (a call session on a relay), what it sends
 * (a source, or the microphone), where what it hears goes (a WAV file, the speaker, or a caller's
 * sink), paced by the clock, and its reports. The CLI runs one; the echo test two on one loop.
 */
#ifndef WZP_CLIENT_CALL_H
#define WZP_CLIENT_CALL_H

#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "client/leg.h"
#include "client/live_audio.h"
#include "client/sources.h"

typedef struct wzp_client_call wzp_client_call;

typedef struct wzp_client_call_config {
    wzp_leg_config leg;
    wzp_source *source;   /* what to send (taken); NULL: nothing, unless live */
    wzp_live_audio *live; /* the microphone and speaker (taken); NULL: none */
    const char *record;   /* WAV file for what we hear; NULL: none */
    /* Every 20 ms we hear (after the speaker and the recording); NULL: none. */
    void (*sink)(void *user, const int16_t *pcm, size_t n);
    void *sink_user;
    FILE *metrics;     /* --metrics-file (taken: closed at the end); NULL: none */
    bool status;       /* a status line every second (always on a terminal) */
    double duration_s; /* the call ends after this long */
    double clock_skew_ppm;
    bool drift_test, sweep;
    /* The call is over (its time is up, or its leg ended). */
    void (*on_done)(void *user, wzp_client_call *c);
    void *user;
} wzp_client_call_config;

/* Start: the leg connects, the clock starts. Errors (said on the leg's err): the leg's, WZP_ERR_IO
 * (cannot write the recording), WZP_ERR_NOMEM. What the config hands over is freed either way. */
WZP_MUST_CHECK int wzp_client_call_start(uv_loop_t *loop, const wzp_client_call_config *cfg,
                                         wzp_client_call **out);
wzp_call_session *wzp_client_call_session(const wzp_client_call *c);
/* 0 done, 3 refused by the relay, 4 relay unreachable / certificate mismatch / connection lost. */
int wzp_client_call_exit_code(const wzp_client_call *c);
/* The final reports (peers, drift, sweep, audio device, skipped time) to `out` and `err`. */
void wzp_client_call_report(wzp_client_call *c, FILE *out, FILE *err);
/* Stop and free (the recording is closed, the leg leaves the room cleanly). */
void wzp_client_call_free(wzp_client_call *c);

#endif
