/*
 * Signal message schema (SPEC §4) and the message lifetime: construction, deep free, deep
 * equality. Field names here are wire names and must match SPEC exactly.
 */
#include <string.h>

#include "proto/signal_desc.h"
#include "wzp/alloc.h"

#define FIELD(variant, fname, kind, flags)                                                         \
    { #fname, WZP__K_##kind, flags, offsetof(wzp_signal, u.variant.fname) }
#define VARIANT(name, arr)                                                                         \
    { name, arr, sizeof(arr) / sizeof(arr[0]) }
#define UNIT(name)                                                                                 \
    { name, NULL, 0 }

static const wzp__sig_field f_call_offer[] = {
    FIELD(call_offer, identity_pub, KEY, 0),   FIELD(call_offer, ephemeral_pub, KEY, 0),
    FIELD(call_offer, signature, BYTES, 0),    FIELD(call_offer, supported_profiles, PROFILES, 0),
    FIELD(call_offer, alias, STR, WZP__F_OPT), FIELD(call_offer, room_proof, BYTES, WZP__F_OPT),
};
static const wzp__sig_field f_call_answer[] = {
    FIELD(call_answer, identity_pub, KEY, 0),
    FIELD(call_answer, ephemeral_pub, KEY, 0),
    FIELD(call_answer, signature, BYTES, 0),
    FIELD(call_answer, chosen_profile, PROFILE, 0),
    FIELD(call_answer, room_proof, BYTES, WZP__F_OPT),
};
static const wzp__sig_field f_ice[] = {FIELD(ice_candidate, candidate, STR, 0)};
static const wzp__sig_field f_rekey[] = {
    FIELD(rekey, new_ephemeral_pub, KEY, 0),
    FIELD(rekey, signature, BYTES, 0),
};
static const wzp__sig_field f_quality_update[] = {
    FIELD(quality_update, report, REPORT, 0),
    FIELD(quality_update, recommended_profile, PROFILE, 0),
};
static const wzp__sig_field f_loss_recovery[] = {
    FIELD(loss_recovery_update, dred_reconstructions, U64, WZP__F_DEFAULT),
    FIELD(loss_recovery_update, classical_plc_invocations, U64, WZP__F_DEFAULT),
    FIELD(loss_recovery_update, frames_decoded, U64, WZP__F_DEFAULT),
};
static const wzp__sig_field f_ping[] = {FIELD(ping, timestamp_ms, U64, 0)};
static const wzp__sig_field f_hangup[] = {FIELD(hangup, reason, HANGUP, 0)};
static const wzp__sig_field f_auth[] = {FIELD(auth_token, token, STR, 0)};
static const wzp__sig_field f_transfer[] = {
    FIELD(transfer, target_fingerprint, STR, 0),
    FIELD(transfer, relay_addr, STR, WZP__F_OPT),
};
static const wzp__sig_field f_presence_update[] = {
    FIELD(presence_update, fingerprints, STRINGS, 0),
    FIELD(presence_update, relay_addr, STR, 0),
};
static const wzp__sig_field f_route_query[] = {
    FIELD(route_query, fingerprint, STR, 0),
    FIELD(route_query, ttl, U8, 0),
};
static const wzp__sig_field f_route_response[] = {
    FIELD(route_response, fingerprint, STR, 0),
    FIELD(route_response, found, BOOL, 0),
    FIELD(route_response, relay_chain, STRINGS, 0),
};
static const wzp__sig_field f_session_forward[] = {
    FIELD(session_forward, session_id, STR, 0),
    FIELD(session_forward, target_fingerprint, STR, 0),
    FIELD(session_forward, source_relay, STR, 0),
};
static const wzp__sig_field f_session_forward_ack[] = {
    FIELD(session_forward_ack, session_id, STR, 0),
    FIELD(session_forward_ack, room_name, STR, 0),
};
static const wzp__sig_field f_room_update[] = {
    FIELD(room_update, count, U32, 0),
    FIELD(room_update, participants, PARTICIPANTS, 0),
};
static const wzp__sig_field f_federation_hello[] = {
    FIELD(federation_hello, tls_fingerprint, STR, 0),
};
static const wzp__sig_field f_global_room_active[] = {
    FIELD(global_room_active, room, STR, 0),
    FIELD(global_room_active, participants, PARTICIPANTS, WZP__F_DEFAULT),
};
static const wzp__sig_field f_global_room_inactive[] = {FIELD(global_room_inactive, room, STR, 0)};
static const wzp__sig_field f_register_presence[] = {
    FIELD(register_presence, identity_pub, KEY, 0),
    FIELD(register_presence, signature, BYTES, 0),
    FIELD(register_presence, alias, STR, WZP__F_OPT),
};
static const wzp__sig_field f_register_presence_ack[] = {
    FIELD(register_presence_ack, success, BOOL, 0),
    FIELD(register_presence_ack, error, STR, WZP__F_OPT),
};
static const wzp__sig_field f_direct_call_offer[] = {
    FIELD(direct_call_offer, caller_fingerprint, STR, 0),
    FIELD(direct_call_offer, caller_alias, STR, WZP__F_OPT),
    FIELD(direct_call_offer, target_fingerprint, STR, 0),
    FIELD(direct_call_offer, call_id, STR, 0),
    FIELD(direct_call_offer, identity_pub, KEY, 0),
    FIELD(direct_call_offer, ephemeral_pub, KEY, 0),
    FIELD(direct_call_offer, signature, BYTES, 0),
    FIELD(direct_call_offer, supported_profiles, PROFILES, 0),
    FIELD(direct_call_offer, caller_reflexive_addr, STR, WZP__F_OPT),
};
static const wzp__sig_field f_direct_call_answer[] = {
    FIELD(direct_call_answer, call_id, STR, 0),
    FIELD(direct_call_answer, accept_mode, ACCEPT, 0),
    FIELD(direct_call_answer, identity_pub, KEY_OPT, WZP__F_OPT),
    FIELD(direct_call_answer, ephemeral_pub, KEY_OPT, WZP__F_OPT),
    FIELD(direct_call_answer, signature, BYTES, WZP__F_OPT),
    FIELD(direct_call_answer, chosen_profile, PROFILE_OPT, WZP__F_OPT),
    FIELD(direct_call_answer, callee_reflexive_addr, STR, WZP__F_OPT),
};
static const wzp__sig_field f_call_setup[] = {
    FIELD(call_setup, call_id, STR, 0),
    FIELD(call_setup, room, STR, 0),
    FIELD(call_setup, relay_addr, STR, 0),
    FIELD(call_setup, peer_direct_addr, STR, WZP__F_OPT),
};
static const wzp__sig_field f_call_ringing[] = {FIELD(call_ringing, call_id, STR, 0)};
static const wzp__sig_field f_reflect_response[] = {
    FIELD(reflect_response, observed_addr, STR, 0),
};
static const wzp__sig_field f_forward[] = {
    FIELD(federated_signal_forward, inner, INNER, 0),
    FIELD(federated_signal_forward, origin_relay_fp, STR, 0),
};

static const wzp__sig_field f_key_confirm[] = {
    FIELD(key_confirm, mac, BYTES, 0),
    FIELD(key_confirm, ephemeral_pub, KEY_OPT, WZP__F_OPT),
};
static const wzp__sig_field f_sender_key[] = {
    FIELD(sender_key, epoch, U32, 0),
    FIELD(sender_key, sealed, BYTES, 0),
};
static const wzp__sig_field f_peer_signal[] = {
    FIELD(peer_signal, to_fingerprint, STR, 0),
    FIELD(peer_signal, to_session, U32, WZP__F_DEFAULT),
    FIELD(peer_signal, from_fingerprint, STR, WZP__F_OPT),
    FIELD(peer_signal, from_session, U32, WZP__F_DEFAULT),
    FIELD(peer_signal, from_binding, BYTES, WZP__F_OPT),
    FIELD(peer_signal, inner, INNER, 0),
};

static const wzp__sig_field f_media_session[] = {FIELD(media_session, session_id, U32, 0)};
static const wzp__sig_field f_media_options[] = {
    FIELD(media_options, trunking, BOOL, WZP__F_DEFAULT)};

const wzp__sig_variant wzp__sig_variants[WZP_SIG_TYPE_COUNT] = {
    [WZP_SIG_CALL_OFFER] = VARIANT("CallOffer", f_call_offer),
    [WZP_SIG_CALL_ANSWER] = VARIANT("CallAnswer", f_call_answer),
    [WZP_SIG_ICE_CANDIDATE] = VARIANT("IceCandidate", f_ice),
    [WZP_SIG_REKEY] = VARIANT("Rekey", f_rekey),
    [WZP_SIG_QUALITY_UPDATE] = VARIANT("QualityUpdate", f_quality_update),
    [WZP_SIG_LOSS_RECOVERY_UPDATE] = VARIANT("LossRecoveryUpdate", f_loss_recovery),
    [WZP_SIG_PING] = VARIANT("Ping", f_ping),
    [WZP_SIG_PONG] = VARIANT("Pong", f_ping),
    [WZP_SIG_HANGUP] = VARIANT("Hangup", f_hangup),
    [WZP_SIG_AUTH_TOKEN] = VARIANT("AuthToken", f_auth),
    [WZP_SIG_HOLD] = UNIT("Hold"),
    [WZP_SIG_UNHOLD] = UNIT("Unhold"),
    [WZP_SIG_MUTE] = UNIT("Mute"),
    [WZP_SIG_UNMUTE] = UNIT("Unmute"),
    [WZP_SIG_TRANSFER] = VARIANT("Transfer", f_transfer),
    [WZP_SIG_TRANSFER_ACK] = UNIT("TransferAck"),
    [WZP_SIG_PRESENCE_UPDATE] = VARIANT("PresenceUpdate", f_presence_update),
    [WZP_SIG_ROUTE_QUERY] = VARIANT("RouteQuery", f_route_query),
    [WZP_SIG_ROUTE_RESPONSE] = VARIANT("RouteResponse", f_route_response),
    [WZP_SIG_SESSION_FORWARD] = VARIANT("SessionForward", f_session_forward),
    [WZP_SIG_SESSION_FORWARD_ACK] = VARIANT("SessionForwardAck", f_session_forward_ack),
    [WZP_SIG_ROOM_UPDATE] = VARIANT("RoomUpdate", f_room_update),
    [WZP_SIG_FEDERATION_HELLO] = VARIANT("FederationHello", f_federation_hello),
    [WZP_SIG_GLOBAL_ROOM_ACTIVE] = VARIANT("GlobalRoomActive", f_global_room_active),
    [WZP_SIG_GLOBAL_ROOM_INACTIVE] = VARIANT("GlobalRoomInactive", f_global_room_inactive),
    [WZP_SIG_REGISTER_PRESENCE] = VARIANT("RegisterPresence", f_register_presence),
    [WZP_SIG_REGISTER_PRESENCE_ACK] = VARIANT("RegisterPresenceAck", f_register_presence_ack),
    [WZP_SIG_DIRECT_CALL_OFFER] = VARIANT("DirectCallOffer", f_direct_call_offer),
    [WZP_SIG_DIRECT_CALL_ANSWER] = VARIANT("DirectCallAnswer", f_direct_call_answer),
    [WZP_SIG_CALL_SETUP] = VARIANT("CallSetup", f_call_setup),
    [WZP_SIG_CALL_RINGING] = VARIANT("CallRinging", f_call_ringing),
    [WZP_SIG_REFLECT] = UNIT("Reflect"),
    [WZP_SIG_REFLECT_RESPONSE] = VARIANT("ReflectResponse", f_reflect_response),
    [WZP_SIG_FEDERATED_SIGNAL_FORWARD] = VARIANT("FederatedSignalForward", f_forward),
    [WZP_SIG_KEY_CONFIRM] = VARIANT("KeyConfirm", f_key_confirm),
    [WZP_SIG_SENDER_KEY] = VARIANT("SenderKey", f_sender_key),
    [WZP_SIG_PEER_SIGNAL] = VARIANT("PeerSignal", f_peer_signal),
    [WZP_SIG_MEDIA_SESSION] = VARIANT("MediaSession", f_media_session),
    [WZP_SIG_MEDIA_OPTIONS] = VARIANT("MediaOptions", f_media_options),
};

const char *wzp_signal_type_name(wzp_signal_type type) {
    return (unsigned)type < WZP_SIG_TYPE_COUNT ? wzp__sig_variants[type].name : "?";
}

wzp_signal *wzp_signal_new(wzp_signal_type type) {
    if ((unsigned)type >= WZP_SIG_TYPE_COUNT) {
        return NULL;
    }
    wzp_signal *m = wzp_calloc(1, sizeof(*m));
    if (m != NULL) {
        m->type = type;
    }
    return m;
}

void wzp__sig_participant_clear(wzp_room_participant *p) {
    wzp_free(p->fingerprint);
    wzp_free(p->alias);
    wzp_free(p->relay_label);
    memset(p, 0, sizeof(*p));
}

static void free_field(wzp_signal *m, const wzp__sig_field *f) {
    void *at = wzp__sig_at(m, f);
    switch ((wzp__sig_kind)f->kind) {
    case WZP__K_STR: {
        char **s = at;
        wzp_free(*s);
        *s = NULL;
        break;
    }
    case WZP__K_STRINGS: {
        wzp_sig_strings *l = at;
        for (size_t i = 0; i < l->count; i++) {
            wzp_free(l->items[i]);
        }
        wzp_free(l->items);
        l->items = NULL;
        l->count = 0;
        break;
    }
    case WZP__K_PARTICIPANTS: {
        wzp_sig_participants *l = at;
        for (size_t i = 0; i < l->count; i++) {
            wzp__sig_participant_clear(&l->items[i]);
        }
        wzp_free(l->items);
        l->items = NULL;
        l->count = 0;
        break;
    }
    case WZP__K_INNER: {
        wzp_signal **inner = at;
        wzp_signal_free(*inner);
        *inner = NULL;
        break;
    }
    default:
        break;
    }
}

void wzp_signal_free(wzp_signal *msg) {
    if (msg == NULL) {
        return;
    }
    if ((unsigned)msg->type < WZP_SIG_TYPE_COUNT) {
        const wzp__sig_variant *v = &wzp__sig_variants[msg->type];
        for (size_t i = 0; i < v->nfields; i++) {
            free_field(msg, &v->fields[i]);
        }
    }
    wzp_free(msg);
}

int wzp_signal_set_str(char **field, const char *value) {
    char *copy = NULL;
    if (value != NULL) {
        size_t n = strlen(value);
        if (n > WZP_SIGNAL_MAX_STRING) {
            return WZP_ERR_TOO_LARGE;
        }
        copy = wzp_strndup(value, n);
        if (copy == NULL) {
            return WZP_ERR_NOMEM;
        }
    }
    wzp_free(*field);
    *field = copy;
    return WZP_OK;
}

/* Grow a list by one slot; the new slot is zeroed. Lists are small and rarely built, so a
 * realloc-by-copy per append keeps the code simple. */
static void *grow(void *items, size_t count, size_t size) {
    void *n = wzp_calloc(count + 1, size);
    if (n != NULL && count > 0) {
        memcpy(n, items, count * size);
    }
    return n;
}

int wzp_signal_strings_add(wzp_sig_strings *list, const char *value) {
    if (list->count >= WZP_SIGNAL_MAX_LIST) {
        return WZP_ERR_FULL;
    }
    char *copy = NULL;
    int rc = wzp_signal_set_str(&copy, value);
    if (rc != WZP_OK) {
        return rc;
    }
    char **items = grow(list->items, list->count, sizeof(char *));
    if (items == NULL) {
        wzp_free(copy);
        return WZP_ERR_NOMEM;
    }
    wzp_free(list->items);
    items[list->count++] = copy;
    list->items = items;
    return WZP_OK;
}

int wzp_signal_participants_add(wzp_sig_participants *list, const char *fingerprint,
                                const char *alias, const char *relay_label) {
    if (list->count >= WZP_SIGNAL_MAX_LIST) {
        return WZP_ERR_FULL;
    }
    if (fingerprint == NULL) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_room_participant p = {0};
    int rc = wzp_signal_set_str(&p.fingerprint, fingerprint);
    if (rc == WZP_OK) {
        rc = wzp_signal_set_str(&p.alias, alias);
    }
    if (rc == WZP_OK) {
        rc = wzp_signal_set_str(&p.relay_label, relay_label);
    }
    wzp_room_participant *items = rc == WZP_OK ? grow(list->items, list->count, sizeof(p)) : NULL;
    if (items == NULL) {
        wzp__sig_participant_clear(&p);
        return rc == WZP_OK ? WZP_ERR_NOMEM : rc;
    }
    wzp_free(list->items);
    items[list->count++] = p;
    list->items = items;
    return WZP_OK;
}

static bool str_eq(const char *a, const char *b) {
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

static bool bytes_eq(const wzp_sig_bytes *a, const wzp_sig_bytes *b, bool optional) {
    if (optional && (a->present != b->present)) {
        return false;
    }
    if (optional && !a->present) {
        return true;
    }
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static bool profiles_eq(const wzp_sig_profiles *a, const wzp_sig_profiles *b) {
    if (a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        if (!wzp_profile_equal(&a->items[i], &b->items[i])) {
            return false;
        }
    }
    return true;
}

static bool strings_eq(const wzp_sig_strings *a, const wzp_sig_strings *b) {
    if (a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        if (!str_eq(a->items[i], b->items[i])) {
            return false;
        }
    }
    return true;
}

static bool participants_eq(const wzp_sig_participants *a, const wzp_sig_participants *b) {
    if (a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        const wzp_room_participant *x = &a->items[i], *y = &b->items[i];
        if (!str_eq(x->fingerprint, y->fingerprint) || !str_eq(x->alias, y->alias) ||
            !str_eq(x->relay_label, y->relay_label) || x->session != y->session) {
            return false;
        }
    }
    return true;
}

static bool field_eq(const wzp_signal *a, const wzp_signal *b, const wzp__sig_field *f) {
    const void *x = wzp__sig_at(a, f), *y = wzp__sig_at(b, f);
    switch ((wzp__sig_kind)f->kind) {
    case WZP__K_STR:
        return str_eq(*(char *const *)x, *(char *const *)y);
    case WZP__K_KEY:
        return memcmp(x, y, WZP_SIGNAL_KEY_SIZE) == 0;
    case WZP__K_KEY_OPT: {
        const wzp_sig_key_opt *p = x, *q = y;
        return p->present == q->present &&
               (!p->present || memcmp(p->key, q->key, WZP_SIGNAL_KEY_SIZE) == 0);
    }
    case WZP__K_BYTES:
        return bytes_eq(x, y, (f->flags & WZP__F_OPT) != 0);
    case WZP__K_U8:
        return *(const uint8_t *)x == *(const uint8_t *)y;
    case WZP__K_U32:
        return *(const uint32_t *)x == *(const uint32_t *)y;
    case WZP__K_U64:
        return *(const uint64_t *)x == *(const uint64_t *)y;
    case WZP__K_BOOL:
        return *(const bool *)x == *(const bool *)y;
    case WZP__K_PROFILE:
        return wzp_profile_equal(x, y);
    case WZP__K_PROFILE_OPT: {
        const wzp_sig_profile_opt *p = x, *q = y;
        return p->present == q->present &&
               (!p->present || wzp_profile_equal(&p->profile, &q->profile));
    }
    case WZP__K_PROFILES:
        return profiles_eq(x, y);
    case WZP__K_REPORT:
        return memcmp(x, y, sizeof(wzp_quality_report)) == 0;
    case WZP__K_STRINGS:
        return strings_eq(x, y);
    case WZP__K_PARTICIPANTS:
        return participants_eq(x, y);
    case WZP__K_HANGUP:
        return *(const wzp_hangup_reason *)x == *(const wzp_hangup_reason *)y;
    case WZP__K_ACCEPT:
        return *(const wzp_accept_mode *)x == *(const wzp_accept_mode *)y;
    case WZP__K_INNER:
        return wzp_signal_equal(*(wzp_signal *const *)x, *(wzp_signal *const *)y);
    }
    return false;
}

bool wzp_signal_equal(const wzp_signal *a, const wzp_signal *b) {
    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (a->type != b->type || (unsigned)a->type >= WZP_SIG_TYPE_COUNT) {
        return false;
    }
    const wzp__sig_variant *v = &wzp__sig_variants[a->type];
    for (size_t i = 0; i < v->nfields; i++) {
        if (!field_eq(a, b, &v->fields[i])) {
            return false;
        }
    }
    return true;
}
