/* The relay's Prometheus families (include/wzp/relay.h; docs/OPERATIONS.md lists them). */
#include <string.h>

#include "relay/server_internal.h"

static const char *const auth_extra_names[] = {"mismatch", "busy", "missing"};

/* No per-session or per-room labels: a relay with thousands of sessions must not produce
 * thousands of series. Labels here take a fixed, small set of values. */
void wzp_relay_server_metrics(const wzp_relay_server *s, wzp_prom *p) {
    wzp_quic_stats q;
    wzp_quic_endpoint_stats(s->ep, &q);
    wzp_relay_core_stats st = wzp_relay_core_get_stats(s->core);
    const wzp_rooms *rooms = wzp_relay_core_rooms(s->core);
    uint64_t auth[WZP__AUTH_COUNTS];
    memcpy(auth, s->auth_attempts, sizeof(auth));
    auth[WZP_AUTH_OK] += st.vouched_joins;
    auth[WZP__AUTH_MISMATCH] += st.vouch_mismatches;
    wzp_prom_family(p, "wzp_relay_active_sessions", "gauge", "Members joined to a room now.");
    wzp_prom_sample_u64(p, "wzp_relay_active_sessions", NULL, wzp_rooms_total(rooms));
    wzp_prom_family(p, "wzp_relay_active_rooms", "gauge", "Rooms with at least one member.");
    wzp_prom_sample_u64(p, "wzp_relay_active_rooms", NULL, wzp_rooms_active(rooms));
    wzp_prom_family(p, "wzp_relay_connections", "gauge",
                    "QUIC connections now (joined or not), and those still handshaking.");
    wzp_prom_sample_u64(p, "wzp_relay_connections", "state=\"all\"", q.connections);
    wzp_prom_sample_u64(p, "wzp_relay_connections", "state=\"handshaking\"", q.handshaking);
    wzp_prom_family(p, "wzp_relay_joins_total", "counter", "Members admitted to a room.");
    wzp_prom_sample_u64(p, "wzp_relay_joins_total", NULL, st.joins);
    wzp_prom_family(p, "wzp_relay_leaves_total", "counter",
                    "Members gone (hung up, closed, idle).");
    wzp_prom_sample_u64(p, "wzp_relay_leaves_total", NULL, st.leaves);
    wzp_prom_family(p, "wzp_relay_idle_expired_total", "counter",
                    "Members dropped for silence (no media, keep-alive or signal).");
    wzp_prom_sample_u64(p, "wzp_relay_idle_expired_total", NULL, st.expired);
    wzp_prom_family(p, "wzp_relay_join_per_address_total", "counter",
                    "Joins refused: their IP address held its share of sessions already.");
    wzp_prom_sample_u64(p, "wzp_relay_join_per_address_total", NULL, st.join_per_address);
    wzp_prom_family(p, "wzp_relay_peer_refused_total", "counter",
                    "Probes and links refused: not from a configured peer relay's host.");
    wzp_prom_sample_u64(p, "wzp_relay_peer_refused_total", NULL, st.peer_refused);
    wzp_prom_family(p, "wzp_relay_join_per_identity_total", "counter",
                    "Joins refused: their identity held --max-per-identity sessions already.");
    wzp_prom_sample_u64(p, "wzp_relay_join_per_identity_total", NULL, st.join_per_identity);
    wzp_prom_family(p, "wzp_relay_path_challenges_total", "counter",
                    "Path challenges sent to a member's new address (a move, or a copier).");
    wzp_prom_sample_u64(p, "wzp_relay_path_challenges_total", NULL, st.challenges);
    wzp_prom_family(p, "wzp_relay_roams_total", "counter",
                    "Members whose media moved to a new address that answered its challenge.");
    wzp_prom_sample_u64(p, "wzp_relay_roams_total", NULL, st.roams);
    wzp_prom_family(p, "wzp_relay_join_deadline_total", "counter",
                    "Connections closed for not joining within the deadline.");
    wzp_prom_sample_u64(p, "wzp_relay_join_deadline_total", NULL, st.join_deadline);
    static const char *const refused[] = {"relay_full", "room_full", "bad_signature", "other"};
    wzp_prom_family(p, "wzp_relay_join_refused_total", "counter", "Joins refused, by reason.");
    for (size_t i = 0; i < 4; i++) {
        char l[64];
        wzp_prom_label(l, sizeof(l), "reason", refused[i]);
        wzp_prom_sample_u64(p, "wzp_relay_join_refused_total", l, st.join_refused[i]);
    }
    wzp_prom_family(p, "wzp_relay_auth_attempts_total", "counter",
                    "featherChat token checks, by result.");
    for (unsigned i = 0; i < WZP__AUTH_COUNTS; i++) {
        char l[64];
        wzp_prom_label(l, sizeof(l), "result",
                       i < WZP_AUTH_RESULTS ? wzp_auth_result_name((wzp_auth_result)i)
                                            : auth_extra_names[i - WZP_AUTH_RESULTS]);
        wzp_prom_sample_u64(p, "wzp_relay_auth_attempts_total", l, auth[i]);
    }
    wzp_prom_family(p, "wzp_relay_handshake_duration_seconds", "histogram",
                    "From a connection's first packet to QUIC handshake completion.");
    wzp_prom_histogram(p, "wzp_relay_handshake_duration_seconds", NULL, &s->handshake);
    wzp_prom_family(p, "wzp_relay_media_packets_total", "counter",
                    "Media datagrams: authenticated in, forwarded out, refused (unknown session, "
                    "forged, replayed), keep-alives.");
    wzp_prom_sample_u64(p, "wzp_relay_media_packets_total", "direction=\"in\"", st.media_in);
    wzp_prom_sample_u64(p, "wzp_relay_media_packets_total", "direction=\"out\"", st.media_out);
    wzp_prom_sample_u64(p, "wzp_relay_media_packets_total", "direction=\"refused\"",
                        st.media_refused);
    wzp_prom_sample_u64(p, "wzp_relay_media_packets_total", "direction=\"keepalive\"",
                        st.keepalives);
    wzp_prom_family(p, "wzp_relay_media_bytes_total", "counter",
                    "Media bytes in and out (UDP payload).");
    wzp_prom_sample_u64(p, "wzp_relay_media_bytes_total", "direction=\"in\"", st.media_bytes_in);
    wzp_prom_sample_u64(p, "wzp_relay_media_bytes_total", "direction=\"out\"", st.media_bytes_out);
    wzp_prom_family(p, "wzp_relay_udp_send_syscalls_total", "counter",
                    "sendmmsg/sendmsg calls for media (datagrams out per call shows batching).");
    wzp_prom_sample_u64(p, "wzp_relay_udp_send_syscalls_total", NULL, q.send_syscalls);
    wzp_prom_family(p, "wzp_relay_udp_dropped_total", "counter",
                    "Media datagrams the socket refused (send buffer full).");
    wzp_prom_sample_u64(p, "wzp_relay_udp_dropped_total", NULL, q.datagrams_dropped);
    wzp_prom_family(p, "wzp_relay_quic_retries_total", "counter",
                    "Retry packets sent under handshake load.");
    wzp_prom_sample_u64(p, "wzp_relay_quic_retries_total", NULL, q.retries_sent);
    wzp_prom_family(p, "wzp_relay_per_address_refused_total", "counter",
                    "New connections dropped: their IP address held its limit already.");
    wzp_prom_sample_u64(p, "wzp_relay_per_address_refused_total", NULL, q.refused_per_host);
    wzp_prom_family(p, "wzp_relay_quic_copies_dropped_total", "counter",
                    "QUIC packets from another address dropped: the original came from the "
                    "connection's own address within 25 ms (a copy re-sent from elsewhere).");
    wzp_prom_sample_u64(p, "wzp_relay_quic_copies_dropped_total", NULL, q.copies_dropped);
    wzp_prom_family(p, "wzp_relay_quic_held_released_total", "counter",
                    "QUIC packets from another address passed on after 25 ms without an original "
                    "(the peer moved; QUIC validates its new path).");
    wzp_prom_sample_u64(p, "wzp_relay_quic_held_released_total", NULL, q.held_released);
    wzp_prom_family(p, "wzp_relay_quic_stateless_resets_total", "counter",
                    "Stateless resets sent for unknown connections.");
    wzp_prom_sample_u64(p, "wzp_relay_quic_stateless_resets_total", NULL, q.resets_sent);
    wzp_prom_family(p, "wzp_relay_trunk_frames_total", "counter",
                    "TrunkFrames sent (each carries several forwarded packets).");
    wzp_prom_sample_u64(p, "wzp_relay_trunk_frames_total", NULL, st.trunk_frames);
    wzp_prom_family(p, "wzp_relay_trunk_entries_total", "counter",
                    "Forwarded packets that travelled inside TrunkFrames.");
    wzp_prom_sample_u64(p, "wzp_relay_trunk_entries_total", NULL, st.trunk_entries);
    wzp_prom_family(p, "wzp_relay_trunk_bytes_saved_total", "counter",
                    "Bytes on the wire (IPv4/UDP headers included) trunking saved.");
    wzp_prom_sample_u64(p, "wzp_relay_trunk_bytes_saved_total", NULL, st.trunk_bytes_saved);
    const wzp_link_stats ls = st.link;
    wzp_prom_family(p, "wzp_relay_links", "gauge",
                    "Forwarding relays whose clients come through this one now.");
    wzp_prom_sample_u64(p, "wzp_relay_links", NULL, st.links);
    wzp_prom_family(p, "wzp_relay_link_datagrams_total", "counter",
                    "Link datagrams from forwarding relays (in), to them (out); client datagrams "
                    "delivered from them, of which recovered by link FEC.");
    wzp_prom_sample_u64(p, "wzp_relay_link_datagrams_total", "direction=\"in\"", ls.received);
    wzp_prom_sample_u64(p, "wzp_relay_link_datagrams_total", "direction=\"out\"", ls.sent);
    wzp_prom_sample_u64(p, "wzp_relay_link_datagrams_total", "direction=\"delivered\"",
                        ls.delivered);
    wzp_prom_sample_u64(p, "wzp_relay_link_datagrams_total", "direction=\"recovered\"",
                        ls.recovered);
    wzp_prom_family(p, "wzp_relay_probe_sessions", "gauge", "Other relays probing this one now.");
    wzp_prom_sample_u64(p, "wzp_relay_probe_sessions", NULL, st.probes);
    wzp_prom_family(p, "wzp_relay_probe_echoes_total", "counter",
                    "Probe datagrams echoed to probing relays.");
    wzp_prom_sample_u64(p, "wzp_relay_probe_echoes_total", NULL, st.probe_echoes);
    if (s->auth != NULL) {
        wzp_prom_family(p, "wzp_relay_auth_inflight", "gauge",
                        "featherChat token checks waiting for an answer.");
        wzp_prom_sample_u64(p, "wzp_relay_auth_inflight", NULL, wzp_auth_inflight(s->auth));
    }
}
