/*
 * Error codes shared by every libwzp module. Functions return 0 on success or one of these
 * negative values; wzp_strerror() gives a stable, human-readable description.
 */
#ifndef WZP_ERROR_H
#define WZP_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_MUST_CHECK __attribute__((warn_unused_result))

typedef enum wzp_error {
    WZP_OK = 0,
    WZP_ERR_INVALID_ARG = -1,        /* a caller passed a value outside the documented domain */
    WZP_ERR_BUFFER_TOO_SMALL = -2,   /* the output buffer cannot hold the encoding */
    WZP_ERR_TRUNCATED = -3,          /* input ends before the structure does */
    WZP_ERR_BAD_VERSION = -4,        /* protocol version this build does not speak */
    WZP_ERR_UNKNOWN_CODEC = -5,      /* codec id or name not in the codec table */
    WZP_ERR_RESERVED_BITS = -6,      /* bits that must be zero are not */
    WZP_ERR_BAD_FRAME_TYPE = -7,     /* compact frame type byte is neither full nor mini */
    WZP_ERR_NO_BASELINE = -8,        /* mini header whose full-header baseline is unknown */
    WZP_ERR_TRAILING_DATA = -9,      /* bytes left over after a complete structure */
    WZP_ERR_TOO_MANY_ENTRIES = -10,  /* more list entries than the format allows */
    WZP_ERR_TOO_LARGE = -11,         /* size above the format's hard maximum */
    WZP_ERR_MALFORMED = -12,         /* structurally invalid input (bad JSON, wrong types) */
    WZP_ERR_UNKNOWN_VARIANT = -13,   /* signal message variant this build does not know */
    WZP_ERR_NOMEM = -14,             /* allocation failed */
    WZP_ERR_OUT_OF_RANGE = -15,      /* a numeric value outside its field's range */
    WZP_ERR_FULL = -16,              /* a bounded container has no room: flush or drain first */
    WZP_ERR_EMPTY = -17,             /* a structure that must not be empty is */
    WZP_ERR_NEED_MORE = -18,         /* incomplete input: feed more bytes */
    WZP_ERR_MISSING_FIELD = -19,     /* a required field is absent */
    WZP_ERR_AUTH = -20,              /* authentication failed: bad signature, MAC or tag */
    WZP_ERR_REPLAY = -21,            /* a packet or message seen before (or too old) */
    WZP_ERR_UNKNOWN_KEY = -22,       /* no key for this key id */
    WZP_ERR_STATE = -23,             /* the operation does not fit the object's state */
    WZP_ERR_NO_COMMON_PROFILE = -24, /* no quality profile both sides support */
    WZP_ERR_IO = -25,                /* a file or system call failed */
    WZP_ERR_PERMISSION = -26,        /* unsafe file permissions */
    WZP_ERR_CRYPTO = -27,            /* the crypto library failed */
    WZP_ERR_NOT_MEMBER = -28,        /* no (or a wrong) proof of a secret room's secret */
} wzp_error;

/* A static, never-NULL description of `err` (unknown values get a generic text). */
const char *wzp_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
