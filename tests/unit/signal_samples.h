/* A fully populated sample of every signal variant (optionally with every optional field set),
 * for round-trip tests and as fuzzing seeds. */
#ifndef WZP_SIGNAL_SAMPLES_H
#define WZP_SIGNAL_SAMPLES_H

#include <string.h>

#include "wzp/signal.h"

static void sample_key(uint8_t *k, uint8_t seed) {
    for (int i = 0; i < WZP_SIGNAL_KEY_SIZE; i++) {
        k[i] = (uint8_t)(seed + i * 7);
    }
}

static void sample_sig(wzp_sig_bytes *b, uint8_t seed) {
    b->present = true;
    b->len = 64;
    for (size_t i = 0; i < b->len; i++) {
        b->data[i] = (uint8_t)(seed ^ (i * 13));
    }
}

static void sample_profiles(wzp_sig_profiles *l) {
    l->count = 3;
    l->items[0] = *wzp_profile_get(WZP_PROFILE_GOOD);
    l->items[1] = *wzp_profile_get(WZP_PROFILE_DEGRADED);
    l->items[2] = *wzp_profile_get(WZP_PROFILE_CATASTROPHIC);
}

#define SAMPLE_OK(expr)                                                                            \
    do {                                                                                           \
        if ((expr) != 0) {                                                                         \
            wzp_signal_free(m);                                                                    \
            return NULL;                                                                           \
        }                                                                                          \
    } while (0)
#define OPT(field, value) SAMPLE_OK(wzp_signal_set_str(&(field), full ? (value) : NULL))
#define STR(field, value) SAMPLE_OK(wzp_signal_set_str(&(field), (value)))

static wzp_signal *sample_signal(wzp_signal_type t, bool full);

static wzp_signal *sample_signal(wzp_signal_type t, bool full) {
    wzp_signal *m = wzp_signal_new(t);
    if (m == NULL) {
        return NULL;
    }
    switch (t) {
    case WZP_SIG_CALL_OFFER:
        sample_key(m->u.call_offer.identity_pub, 1);
        sample_key(m->u.call_offer.ephemeral_pub, 2);
        sample_sig(&m->u.call_offer.signature, 3);
        sample_profiles(&m->u.call_offer.supported_profiles);
        OPT(m->u.call_offer.alias, "Alice \xe2\x98\x8e \"quoted\" \\ back");
        break;
    case WZP_SIG_CALL_ANSWER:
        sample_key(m->u.call_answer.identity_pub, 4);
        sample_key(m->u.call_answer.ephemeral_pub, 5);
        sample_sig(&m->u.call_answer.signature, 6);
        m->u.call_answer.chosen_profile = *wzp_profile_get(WZP_PROFILE_STUDIO_48K);
        break;
    case WZP_SIG_ICE_CANDIDATE:
        STR(m->u.ice_candidate.candidate, "udp 203.0.113.5 4433");
        break;
    case WZP_SIG_REKEY:
        sample_key(m->u.rekey.new_ephemeral_pub, 7);
        sample_sig(&m->u.rekey.signature, 8);
        break;
    case WZP_SIG_QUALITY_UPDATE:
        m->u.quality_update.report = (wzp_quality_report){25, 75, 10, 100};
        m->u.quality_update.recommended_profile = *wzp_profile_get(WZP_PROFILE_DEGRADED);
        break;
    case WZP_SIG_LOSS_RECOVERY_UPDATE:
        m->u.loss_recovery_update.dred_reconstructions = full ? WZP_SIGNAL_MAX_U64 : 0;
        m->u.loss_recovery_update.classical_plc_invocations = 17;
        m->u.loss_recovery_update.frames_decoded = 123456789012ull;
        break;
    case WZP_SIG_PING:
    case WZP_SIG_PONG:
        m->u.ping.timestamp_ms = 1764000000123ull;
        break;
    case WZP_SIG_HANGUP:
        m->u.hangup.reason = full ? WZP_HANGUP_ERROR : WZP_HANGUP_NORMAL;
        break;
    case WZP_SIG_AUTH_TOKEN:
        STR(m->u.auth_token.token, "eyJhbGciOi.token.sig");
        break;
    case WZP_SIG_TRANSFER:
        STR(m->u.transfer.target_fingerprint, "27ba:36eb:371e:ea99:e7d0:ee57:3165:e50e");
        OPT(m->u.transfer.relay_addr, "[2001:db8::1]:4433");
        break;
    case WZP_SIG_PRESENCE_UPDATE:
        SAMPLE_OK(wzp_signal_strings_add(&m->u.presence_update.fingerprints, "aa:bb"));
        if (full) {
            SAMPLE_OK(wzp_signal_strings_add(&m->u.presence_update.fingerprints, "cc:dd"));
        }
        STR(m->u.presence_update.relay_addr, "192.0.2.1:4433");
        break;
    case WZP_SIG_ROUTE_QUERY:
        STR(m->u.route_query.fingerprint, "aa:bb");
        m->u.route_query.ttl = 255;
        break;
    case WZP_SIG_ROUTE_RESPONSE:
        STR(m->u.route_response.fingerprint, "aa:bb");
        m->u.route_response.found = full;
        if (full) {
            SAMPLE_OK(wzp_signal_strings_add(&m->u.route_response.relay_chain, "relay-a"));
            SAMPLE_OK(wzp_signal_strings_add(&m->u.route_response.relay_chain, "relay-b"));
        }
        break;
    case WZP_SIG_SESSION_FORWARD:
        STR(m->u.session_forward.session_id, "s-1");
        STR(m->u.session_forward.target_fingerprint, "aa:bb");
        STR(m->u.session_forward.source_relay, "relay-a");
        break;
    case WZP_SIG_SESSION_FORWARD_ACK:
        STR(m->u.session_forward_ack.session_id, "s-1");
        STR(m->u.session_forward_ack.room_name, "room");
        break;
    case WZP_SIG_ROOM_UPDATE:
        m->u.room_update.count = full ? UINT32_MAX : 2;
        SAMPLE_OK(wzp_signal_participants_add(&m->u.room_update.participants, "aa:bb",
                                              full ? "Alice" : NULL, NULL));
        SAMPLE_OK(wzp_signal_participants_add(&m->u.room_update.participants, "cc:dd", "Bob",
                                              full ? "Relay B" : NULL));
        m->u.room_update.participants.items[0].session = full ? UINT32_MAX : 0;
        break;
    case WZP_SIG_FEDERATION_HELLO:
        STR(m->u.federation_hello.tls_fingerprint, "01:02:03");
        break;
    case WZP_SIG_GLOBAL_ROOM_ACTIVE:
        STR(m->u.global_room_active.room, "lobby");
        if (full) {
            SAMPLE_OK(wzp_signal_participants_add(&m->u.global_room_active.participants, "aa", "A",
                                                  NULL));
        }
        break;
    case WZP_SIG_GLOBAL_ROOM_INACTIVE:
        STR(m->u.global_room_inactive.room, "lobby");
        break;
    case WZP_SIG_REGISTER_PRESENCE:
        sample_key(m->u.register_presence.identity_pub, 9);
        sample_sig(&m->u.register_presence.signature, 10);
        OPT(m->u.register_presence.alias, "Carol");
        break;
    case WZP_SIG_REGISTER_PRESENCE_ACK:
        m->u.register_presence_ack.success = !full;
        OPT(m->u.register_presence_ack.error, "fingerprint already registered");
        break;
    case WZP_SIG_DIRECT_CALL_OFFER:
        STR(m->u.direct_call_offer.caller_fingerprint, "aa:bb");
        OPT(m->u.direct_call_offer.caller_alias, "Alice");
        STR(m->u.direct_call_offer.target_fingerprint, "cc:dd");
        STR(m->u.direct_call_offer.call_id, "5f2b8c1e-0000-4000-8000-000000000001");
        sample_key(m->u.direct_call_offer.identity_pub, 11);
        sample_key(m->u.direct_call_offer.ephemeral_pub, 12);
        sample_sig(&m->u.direct_call_offer.signature, 13);
        sample_profiles(&m->u.direct_call_offer.supported_profiles);
        OPT(m->u.direct_call_offer.caller_reflexive_addr, "198.51.100.7:50000");
        break;
    case WZP_SIG_DIRECT_CALL_ANSWER:
        STR(m->u.direct_call_answer.call_id, "5f2b8c1e-0000-4000-8000-000000000001");
        m->u.direct_call_answer.accept_mode = full ? WZP_ACCEPT_TRUSTED : WZP_ACCEPT_REJECT;
        if (full) {
            m->u.direct_call_answer.identity_pub.present = true;
            sample_key(m->u.direct_call_answer.identity_pub.key, 14);
            m->u.direct_call_answer.ephemeral_pub.present = true;
            sample_key(m->u.direct_call_answer.ephemeral_pub.key, 15);
            sample_sig(&m->u.direct_call_answer.signature, 16);
            m->u.direct_call_answer.chosen_profile.present = true;
            m->u.direct_call_answer.chosen_profile.profile = *wzp_profile_get(WZP_PROFILE_GOOD);
        }
        OPT(m->u.direct_call_answer.callee_reflexive_addr, "203.0.113.9:40000");
        break;
    case WZP_SIG_CALL_SETUP:
        STR(m->u.call_setup.call_id, "c-1");
        STR(m->u.call_setup.room, "call-c-1");
        STR(m->u.call_setup.relay_addr, "192.0.2.1:4433");
        OPT(m->u.call_setup.peer_direct_addr, "198.51.100.7:50000");
        break;
    case WZP_SIG_CALL_RINGING:
        STR(m->u.call_ringing.call_id, "c-1");
        break;
    case WZP_SIG_REFLECT_RESPONSE:
        STR(m->u.reflect_response.observed_addr, "[::1]:54321");
        break;
    case WZP_SIG_FEDERATED_SIGNAL_FORWARD:
        m->u.federated_signal_forward.inner =
            sample_signal(full ? WZP_SIG_DIRECT_CALL_OFFER : WZP_SIG_REFLECT, full);
        if (m->u.federated_signal_forward.inner == NULL) {
            wzp_signal_free(m);
            return NULL;
        }
        STR(m->u.federated_signal_forward.origin_relay_fp, "ab:cd:ef");
        break;
    case WZP_SIG_KEY_CONFIRM:
        sample_sig(&m->u.key_confirm.mac, 17);
        m->u.key_confirm.mac.len = 32;
        break;
    case WZP_SIG_SENDER_KEY:
        m->u.sender_key.epoch = 7;
        sample_sig(&m->u.sender_key.sealed, 18);
        break;
    case WZP_SIG_PEER_SIGNAL:
        STR(m->u.peer_signal.to_fingerprint, "27ba:36eb:371e:ea99:e7d0:ee57:3165:e50e");
        OPT(m->u.peer_signal.from_fingerprint, "518e:b935:62fa:9e34:e59c:28b6:7fc2:d384");
        if (full) {
            m->u.peer_signal.to_session = UINT32_MAX;
            m->u.peer_signal.from_session = 0x04000002u;
        }
        m->u.peer_signal.inner =
            sample_signal(full ? WZP_SIG_CALL_OFFER : WZP_SIG_KEY_CONFIRM, full);
        if (m->u.peer_signal.inner == NULL) {
            wzp_signal_free(m);
            return NULL;
        }
        break;
    case WZP_SIG_MEDIA_SESSION:
        m->u.media_session.session_id = 0x7FFFFFFF;
        break;
    default:
        break; /* unit variants */
    }
    return m;
}

#undef OPT
#undef STR
#undef SAMPLE_OK

#endif
