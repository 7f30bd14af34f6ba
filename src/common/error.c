/* Descriptions for wzp_error values; the table is the single source of error texts. */
#include "wzp/error.h"

const char *wzp_strerror(int err) {
    switch ((wzp_error)err) {
    case WZP_OK:
        return "success";
    case WZP_ERR_INVALID_ARG:
        return "invalid argument";
    case WZP_ERR_BUFFER_TOO_SMALL:
        return "output buffer too small";
    case WZP_ERR_TRUNCATED:
        return "input truncated";
    case WZP_ERR_BAD_VERSION:
        return "unsupported protocol version";
    case WZP_ERR_UNKNOWN_CODEC:
        return "unknown codec";
    case WZP_ERR_RESERVED_BITS:
        return "reserved bits set";
    case WZP_ERR_BAD_FRAME_TYPE:
        return "unknown frame type";
    case WZP_ERR_NO_BASELINE:
        return "mini header without a known full-header baseline";
    case WZP_ERR_TRAILING_DATA:
        return "trailing data after structure";
    case WZP_ERR_TOO_MANY_ENTRIES:
        return "too many entries";
    case WZP_ERR_TOO_LARGE:
        return "size above the maximum";
    case WZP_ERR_MALFORMED:
        return "malformed input";
    case WZP_ERR_UNKNOWN_VARIANT:
        return "unknown signal variant";
    case WZP_ERR_NOMEM:
        return "out of memory";
    case WZP_ERR_OUT_OF_RANGE:
        return "value out of range";
    case WZP_ERR_FULL:
        return "container full";
    case WZP_ERR_EMPTY:
        return "empty structure";
    case WZP_ERR_NEED_MORE:
        return "need more input";
    case WZP_ERR_MISSING_FIELD:
        return "required field missing";
    case WZP_ERR_AUTH:
        return "authentication failed";
    case WZP_ERR_REPLAY:
        return "replayed or too old";
    case WZP_ERR_UNKNOWN_KEY:
        return "unknown key id";
    case WZP_ERR_STATE:
        return "operation not valid in this state";
    case WZP_ERR_NO_COMMON_PROFILE:
        return "no common quality profile";
    case WZP_ERR_IO:
        return "input/output error";
    case WZP_ERR_PERMISSION:
        return "unsafe file permissions";
    case WZP_ERR_CRYPTO:
        return "crypto library failure";
    case WZP_ERR_NOT_MEMBER:
        return "no proof of the room's secret";
    }
    return "unknown error";
}

#include "wzp/version.h"

const char *wzp_version(void) {
    return WZP_VERSION_STRING;
}
