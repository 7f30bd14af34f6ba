/*
 * The signal-message schema as data: one descriptor per field of every variant. The JSON codec,
 * free, and equality all walk this table, so adding a variant is one table entry, not four
 * hand-written functions that can drift apart.
 */
#ifndef WZP_PROTO_SIGNAL_DESC_H
#define WZP_PROTO_SIGNAL_DESC_H

#include <stddef.h>
#include <stdint.h>

#include "wzp/signal.h"

typedef enum wzp__sig_kind {
    WZP__K_STR,          /* char * */
    WZP__K_KEY,          /* uint8_t[32] */
    WZP__K_KEY_OPT,      /* wzp_sig_key_opt */
    WZP__K_BYTES,        /* wzp_sig_bytes */
    WZP__K_U8,           /* uint8_t */
    WZP__K_U32,          /* uint32_t */
    WZP__K_U64,          /* uint64_t, at most 2^53 */
    WZP__K_BOOL,         /* bool */
    WZP__K_PROFILE,      /* wzp_profile */
    WZP__K_PROFILE_OPT,  /* wzp_sig_profile_opt */
    WZP__K_PROFILES,     /* wzp_sig_profiles */
    WZP__K_REPORT,       /* wzp_quality_report */
    WZP__K_STRINGS,      /* wzp_sig_strings */
    WZP__K_PARTICIPANTS, /* wzp_sig_participants */
    WZP__K_HANGUP,       /* wzp_hangup_reason */
    WZP__K_ACCEPT,       /* wzp_accept_mode */
    WZP__K_INNER,        /* wzp_signal * */
} wzp__sig_kind;

#define WZP__F_OPT     1u /* may be absent or null; omitted on output when absent */
#define WZP__F_DEFAULT 2u /* absent means zero/empty (serde default); always written */

typedef struct wzp__sig_field {
    const char *name;
    uint8_t kind;
    uint8_t flags;
    size_t off; /* offset in struct wzp_signal */
} wzp__sig_field;

typedef struct wzp__sig_variant {
    const char *name;
    const wzp__sig_field *fields; /* NULL for a unit variant */
    size_t nfields;
} wzp__sig_variant;

extern const wzp__sig_variant wzp__sig_variants[WZP_SIG_TYPE_COUNT];

static inline void *wzp__sig_at(const wzp_signal *m, const wzp__sig_field *f) {
    return (void *)((uintptr_t)m + f->off);
}

void wzp__sig_participant_clear(wzp_room_participant *p);

#endif
