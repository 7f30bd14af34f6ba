/*
 * A leg: one call session (wzp/session.h) on a relay, over QUIC from its own UDP socket, on a libuv
 * loop. The leg owns the I/O the session must not see -- the endpoint, the connection, the path,
 * trust on first use of the relay's certificate -- and turns the session's events and the
 * connection's fate into what a user reads. Several legs may share one loop (the echo test's two).
 */
#ifndef WZP_CLIENT_LEG_H
#define WZP_CLIENT_LEG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "client/contacts.h"
#include "wzp/session.h"

typedef struct wzp_leg_config {
    const char *relay;        /* "IP:port" */
    const char *room;         /* its hash is the SNI */
    const uint8_t *relay_fp;  /* pin of the relay's certificate; NULL: trust on first use */
    const char *known_relays; /* where that pin came from / goes (NULL with relay_fp) */
    wzp_call_session_config session;
    FILE *out, *err;  /* what the user reads (out may be NULL: quiet) */
    bool status_line; /* err is a terminal whose last line is a status line redrawn in place */
    const wzp_contacts *contacts; /* peers shown as verified or not (NULL: none known) */
    bool require_verified;        /* refuse peers not in `contacts` */
} wzp_leg_config;

typedef struct wzp_leg wzp_leg;

/* Open a socket and start connecting. Errors (said on err): WZP_ERR_INVALID_ARG (address),
 * WZP_ERR_NOMEM, WZP_ERR_IO. */
WZP_MUST_CHECK int wzp_leg_new(uv_loop_t *loop, const wzp_leg_config *cfg, wzp_leg **out);
/* Close everything (the memory goes once libuv has closed the socket). */
void wzp_leg_free(wzp_leg *l);
wzp_call_session *wzp_leg_session(const wzp_leg *l);
/* The session's timers, then its events written out (times from the leg's start). */
void wzp_leg_tick(wzp_leg *l, uint64_t now_ms);
/* The leg is over: refused, or its connection closed (see wzp_leg_exit_code). */
bool wzp_leg_ended(const wzp_leg *l);
/* 0 while fine, 3 refused by the relay, 4 unreachable, certificate mismatch or connection lost. */
int wzp_leg_exit_code(const wzp_leg *l);
/* We are stopping on purpose: a closing connection is no news. If the call never started (no
 * join: the relay did not answer in `waited_s`), that is said, and the exit code is 4. */
void wzp_leg_stopping(wzp_leg *l, double waited_s);
/* The QUIC round-trip time to the relay (0 before the first sample). */
uint32_t wzp_leg_rtt_ms(const wzp_leg *l);

#endif
