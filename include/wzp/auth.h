/*
 * featherChat token validation (SPEC §5, §8): POST {"token": "..."} to the auth URL and read
 * {"valid": bool, "fingerprint"?: string, "alias"?: string}. Requests run on the caller's libuv
 * loop through libcurl's multi interface: nothing blocks, so media keeps flowing while the auth
 * server is slow or down. Requests in flight are bounded; each has a timeout.
 */
#ifndef WZP_AUTH_H
#define WZP_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "wzp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_AUTH_MAX_TOKEN    4096
#define WZP_AUTH_MAX_REPLY    16384 /* a longer answer is refused as malformed */
#define WZP_AUTH_MAX_INFLIGHT 64

typedef enum wzp_auth_result {
    WZP_AUTH_OK,          /* valid */
    WZP_AUTH_INVALID,     /* the server says no */
    WZP_AUTH_EXPIRED,     /* the server says no: the token expired */
    WZP_AUTH_UNREACHABLE, /* no connection to the auth server */
    WZP_AUTH_TIMEOUT,     /* no answer within the timeout */
    WZP_AUTH_ERROR,       /* an answer, but not a usable one (HTTP error, bad JSON) */
    WZP_AUTH_RESULTS
} wzp_auth_result;

/* The metric label of a result: ok, invalid, expired, unreachable, timeout, error. */
const char *wzp_auth_result_name(wzp_auth_result r);

typedef struct wzp_auth_reply {
    wzp_auth_result result;
    char fingerprint[128]; /* as the server wrote it; empty if absent */
    char alias[65];
    char detail[160]; /* for the log: what went wrong, never the token */
} wzp_auth_reply;

/* Parse a response body (exposed for the fuzzer and tests). The HTTP status decides whether a
 * "valid": false answer is expected (200, 401, 403) or an error. */
void wzp_auth_parse_reply(long http_status, const char *body, size_t len, wzp_auth_reply *out);

typedef struct wzp_auth wzp_auth;
typedef struct wzp_auth_req wzp_auth_req;
typedef void (*wzp_auth_cb)(void *user, const wzp_auth_reply *reply);

/* Errors: WZP_ERR_INVALID_ARG (URL), WZP_ERR_NOMEM, WZP_ERR_IO (libcurl). */
WZP_MUST_CHECK int wzp_auth_new(uv_loop_t *loop, const char *url, unsigned timeout_ms,
                                wzp_auth **out);
/* Everything in flight is cancelled (no callbacks); memory goes once libuv closed its handles. */
void wzp_auth_free(wzp_auth *a);
/* Start validating `token`; `cb` runs later on the loop, exactly once, unless cancelled.
 * Errors: WZP_ERR_FULL (WZP_AUTH_MAX_INFLIGHT in flight), WZP_ERR_TOO_LARGE (token),
 * WZP_ERR_NOMEM. */
WZP_MUST_CHECK int wzp_auth_check(wzp_auth *a, const char *token, wzp_auth_cb cb, void *user,
                                  wzp_auth_req **req);
void wzp_auth_cancel(wzp_auth_req *req);
unsigned wzp_auth_inflight(const wzp_auth *a);

#ifdef __cplusplus
}
#endif
#endif
