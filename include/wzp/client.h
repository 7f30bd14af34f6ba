/* wzp-client's commands, callable from its thin main.c (and from tests). Each returns a process
 * exit code and writes user-facing text to `out` / errors to `err`. */
#ifndef WZP_CLIENT_H
#define WZP_CLIENT_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `wzp-client identity new|show|import [options]`; argv[0] is "identity". */
int wzp_client_identity_main(int argc, char **argv, FILE *in, FILE *out, FILE *err);
/* `wzp-client room new [--relay-fp FP] [RELAY_ADDR]`: a secret room's invite; argv[0] is "room". */
int wzp_client_room_main(int argc, char **argv, FILE *out, FILE *err);
/* `wzp-client contacts add|list|remove ...`; argv[0] is "contacts". */
int wzp_client_contacts_main(int argc, char **argv, FILE *out, FILE *err);

#ifndef WZP_CLIENT_ENGINE_H
#define WZP_CLIENT_ENGINE_H
#include <stdbool.h>
#include <stdint.h>

#include "wzp/crypto.h"

/* A call in a relay room: join, end-to-end keys with every other member (pairwise handshake,
 * then sender keys), send a tone, record what the room says. */
typedef struct wzp_client_options {
    const char *relay;       /* "IP:port" */
    const char *room;        /* room name; its hash is the SNI */
    const uint8_t *room_key; /* a secret room's proof key (from its invite); NULL: open room */
    const struct wzp_contacts *contacts; /* shown as verified (NULL: none) */
    bool require_verified;               /* only contacts get our keys */
    const uint8_t *relay_fp;  /* 32-byte pin of the relay's certificate; NULL: trust on first use */
    const char *known_relays; /* where the pin came from / goes (NULL: --relay-fp) */
    const wzp_identity *identity;
    const char *alias;        /* NULL: none */
    const char *token;        /* featherChat token for a relay with --auth-url (NULL: none) */
    double send_tone_s;       /* seconds of tone to send (0: listen only) */
    const char *send_file;    /* audio file to send (any libsndfile format, or raw 48k s16le) */
    bool no_dsp;              /* send as is: no noise suppression or silence detection */
    bool status;              /* a status line every second (always on a terminal) */
    double tone_hz;           /* default 440 */
    const char *record;       /* WAV file for what the room says, or NULL */
    const char *metrics_file; /* JSONL: one object per second (docs/AUDIO.md), or NULL */
    double duration_s; /* how long to stay in the room (0: the tone or file plus 3 s, or 10 s;
                          with --live: until interrupted) */
    bool live;         /* microphone and speaker (PortAudio) */
    const char *audio_device; /* PortAudio device name part for --live (NULL: the defaults) */
    bool no_aec;              /* --live without echo cancellation (headphones) */
    int tier;                 /* -1: adaptive; else the wzp_tier to send whatever the reports */
    bool drift_test;          /* measure each sender's clock against ours (ppm) */
    bool sweep;               /* record arrivals, replay them through other jitter buffers */
    double clock_skew_ppm;    /* test aid: our media clock runs this much fast (negative: slow) */
    double echo_test_s;       /* > 0: wzp_client_echo_test for this many seconds */
} wzp_client_options;

/* Run the call in the foreground. Returns a process exit code: 0 done, 1 setup error, 3 the
 * relay refused us, 4 the relay could not be reached or its certificate did not match. */
int wzp_client_run(const wzp_client_options *o, FILE *out, FILE *err);
/* --echo-test: a talking and a listening leg of our own through the relay, a known signal,
 * per-second loss, concealment, SNR and correlation, and a verdict. Exit code 0 (OK), 6
 * (IMPAIRED or DEGRADING), or the call's. */
int wzp_client_echo_test(const wzp_client_options *o, FILE *out, FILE *err);
/* `wzp-client [options] [RELAY_ADDR]` (see --help). */
int wzp_client_main(int argc, char **argv, FILE *out, FILE *err);
#endif

#ifdef __cplusplus
}
#endif
#endif
