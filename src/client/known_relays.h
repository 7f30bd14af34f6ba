/* Trust on first use for relays (src/client/known_relays.c): a file of "ADDRESS FINGERPRINT"
 * lines, like ssh's known_hosts. */
#ifndef WZP_CLIENT_KNOWN_RELAYS_H
#define WZP_CLIENT_KNOWN_RELAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"
#include "wzp/transport.h"

#define WZP_KNOWN_RELAYS_MAX_FILE (64 * 1024)

/* $XDG_CONFIG_HOME/wzp/known_relays, or ~/.config/wzp/known_relays. */
WZP_MUST_CHECK int wzp_known_relays_default_path(char *out, size_t cap);
/* Find `addr` in the text of a known-relays file. WZP_OK and `fp` when found; WZP_ERR_EMPTY when
 * not; WZP_ERR_MALFORMED when the line for `addr` is damaged (never trusted). Blank lines and
 * '#' comments are skipped; any line longer than 512 bytes is refused. */
WZP_MUST_CHECK int wzp_known_relays_find(const char *text, size_t len, const char *addr,
                                         uint8_t fp[WZP_TLS_FINGERPRINT_SIZE]);
/* Look `addr` up in the file at `path` (a missing file knows nothing: WZP_ERR_EMPTY). */
WZP_MUST_CHECK int wzp_known_relays_lookup(const char *path, const char *addr,
                                           uint8_t fp[WZP_TLS_FINGERPRINT_SIZE]);
/* Append `addr fp` (the file and its directories are created 0600/0700). */
WZP_MUST_CHECK int wzp_known_relays_add(const char *path, const char *addr,
                                        const uint8_t fp[WZP_TLS_FINGERPRINT_SIZE]);

#endif
