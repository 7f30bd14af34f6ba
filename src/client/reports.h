/*
 * What a call tells its user about itself (wzp-client): the status line, the --metrics-file lines
 * (docs/AUDIO.md lists the fields), the final report, and the clock-drift and jitter-buffer sweep
 * reports built from each peer's frame arrivals.
 */
#ifndef WZP_CLIENT_REPORTS_H
#define WZP_CLIENT_REPORTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client/contacts.h"
#include "wzp/session.h"

/* Per peer: when its frames arrived (--drift-test, --sweep), bounded. */
typedef struct wzp_arrivals wzp_arrivals;

/* `drift` and/or `sweep` for up to `seconds` of media. Errors: WZP_ERR_NOMEM. */
WZP_MUST_CHECK int wzp_arrivals_new(bool drift, bool sweep, double seconds, wzp_arrivals **out);
void wzp_arrivals_free(wzp_arrivals *a);
/* A frame of peer `peer` arrived at `arrival_us` (a session's on_frame). */
void wzp_arrivals_add(wzp_arrivals *a, unsigned peer, uint32_t ts, uint8_t codec, bool recovered,
                      uint64_t arrival_us);

typedef struct wzp_report_clock {
    uint64_t start_ms, now_ms; /* the call's clock */
    double unix_ms;            /* the wall clock now (for mouth-to-ear delay across processes) */
    uint64_t send_skipped, play_skipped; /* samples skipped when the process fell behind */
} wzp_report_clock;

/* One status line: the peers (how many are contacts), the worst peer's loss and jitter this
 * second, the relay RTT, the buffer. `contacts` may be NULL. */
void wzp_report_status(FILE *f, bool tty, const wzp_call_session *s, uint32_t rtt_ms,
                       const wzp_contacts *contacts);
/* One --metrics-file line (each peer with its fingerprint, and whether it is a contact). */
void wzp_report_metrics(FILE *f, const wzp_call_session *s, uint32_t rtt_ms,
                        const wzp_report_clock *clock, const wzp_contacts *contacts);
/* At the end: what was heard from each peer, and the drift and sweep tables. */
void wzp_report_final(FILE *out, FILE *err, const wzp_call_session *s, const wzp_arrivals *a);
/* ... and, last, whether this process fell behind real time (CPU starved). */
void wzp_report_skipped(FILE *err, const wzp_report_clock *clock);

#endif
