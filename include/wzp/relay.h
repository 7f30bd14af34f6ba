/*
 * The relay: its server (QUIC endpoint, the relay core, featherChat auth, timers), its options and
 * configuration file, and its foreground run. The sans-I/O parts are wzp/rooms.h (sessions and
 * rooms) and wzp/relay_core.h (members, signalling, fan-out); a client includes none of these.
 */
#ifndef WZP_RELAY_H
#define WZP_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/crypto.h"
#include "wzp/error.h"
#include "wzp/quic.h"
#include "wzp/rooms.h"
#include "wzp/signal.h"
#include "wzp/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the relay server ------------------------------------------------------------------------
 * The relay core (wzp/relay_core.h) on a QUIC endpoint: each connection is a member with a QUIC
 * path; the room comes from the TLS SNI; media datagrams share the endpoint's socket (the
 * demultiplexer's rule in wzp/quic.h); with an auth checker, a client's first message must be
 * its featherChat token, and its join waits for the answer. One timer runs the core's. */

#ifndef WZP_RELAY_SERVER_H
#define WZP_RELAY_SERVER_H
#include <uv.h>

#include "wzp/relay_core.h"

typedef struct wzp_relay_server_config {
    const char *listen;  /* "IP:port" */
    const uint8_t *seed; /* 32-byte relay seed: its TLS identity */
    wzp_relay_config rooms;
    wzp_relay_tap_fn tap; /* optional */
    void *tap_user;
    struct wzp_auth *auth;     /* optional (wzp/auth.h): clients must present a featherChat token */
    bool trunking;             /* batch what goes to each receiver that can take TrunkFrames */
    const wzp_relay_lie *lie;  /* NULL (tests only: wzp/relay_core.h) */
    uint32_t max_per_address;  /* sessions one IP may hold, half in one room, and four times as
                                * many connections (0: WZP_RELAY_PER_ADDRESS; UINT32_MAX: none) */
    uint32_t max_per_identity; /* sessions one identity may hold, half in one room (0:
                                * WZP_RELAY_PER_IDENTITY; UINT32_MAX: none) */
    const struct sockaddr_storage *peer_hosts; /* as wzp_relay_core_config's */
    size_t npeer_hosts;
} wzp_relay_server_config;

typedef struct wzp_relay_server wzp_relay_server;

WZP_MUST_CHECK int wzp_relay_server_new(uv_loop_t *loop, const wzp_relay_server_config *cfg,
                                        wzp_relay_server **out);
void wzp_relay_server_free(wzp_relay_server *s);
uint16_t wzp_relay_server_port(const wzp_relay_server *s);
void wzp_relay_server_fingerprint(const wzp_relay_server *s, uint8_t out[32]);
/* Media datagrams authenticated in, sent out (fan-out), and refused (unknown, forged, replayed). */
void wzp_relay_server_media_stats(const wzp_relay_server *s, uint64_t *in, uint64_t *out,
                                  uint64_t *refused);
/* The relay endpoint's QUIC and socket counters (Retry, resets, batching). */
void wzp_relay_server_quic_stats(const wzp_relay_server *s, wzp_quic_stats *out);
/* Append the relay's Prometheus families (src/relay/metrics.c; docs/OPERATIONS.md lists them). */
struct wzp_prom;
void wzp_relay_server_metrics(const wzp_relay_server *s, struct wzp_prom *p);

/* Send Ping {timestamp_ms: now_ms} on `c`: how a relay opens a probe or link session on another
 * (the stream is the client's to open). Errors: as wzp_signal_encode, wzp_quic_send_signal. */
WZP_MUST_CHECK int wzp_relay_send_ping(wzp_quic_conn *c, uint64_t now_ms);

#endif

#ifndef WZP_RELAY_RUN_H
#define WZP_RELAY_RUN_H
#include <stdio.h>

#define WZP_RELAY_MAX_PROBES      16
#define WZP_RELAY_METRICS_DEFAULT "127.0.0.1:9090"
#define WZP_RELAY_AUTH_TIMEOUT_MS 5000 /* SPEC §5: featherChat validation timeout */

typedef struct wzp_relay_probe_target {
    char addr[128];
    char label[64]; /* the Prometheus label value: the address unless configured */
    bool has_fp;    /* pin the target relay's certificate */
    uint8_t fp[WZP_TLS_FINGERPRINT_SIZE];
} wzp_relay_probe_target;

/* Everything an operator can set, from flags and/or the configuration file (flags win). */
typedef struct wzp_relay_options {
    char listen[128];         /* default "0.0.0.0:4433" */
    char identity_path[1024]; /* empty: $XDG_STATE_HOME/wzp/relay-identity */
    wzp_relay_config rooms;
    char auth_url[1024];      /* featherChat validation; empty: no authentication */
    unsigned auth_timeout_ms; /* default WZP_RELAY_AUTH_TIMEOUT_MS */
    char metrics_listen[128]; /* Prometheus /metrics "IP:port"; empty: off */
    bool metrics_explicit;    /* set by the operator: failing to serve it is fatal */
    wzp_relay_probe_target probes[WZP_RELAY_MAX_PROBES];
    unsigned n_probes;
    bool trunking;   /* batch forwarded packets per receiver into TrunkFrames */
    bool has_remote; /* forward mode: carry every client to this relay, host no rooms */
    wzp_relay_probe_target remote;
    const wzp_relay_lie *lie;  /* a test tool's, never a flag or key: NULL */
    uint32_t max_per_address;  /* as wzp_relay_server_config's */
    uint32_t max_per_identity; /* as wzp_relay_server_config's */
    /* hosts ("IP") other relays may probe and link from, besides those we probe ourselves */
    char peer_relays[WZP_RELAY_MAX_PROBES][64];
    unsigned n_peer_relays;
} wzp_relay_options;

void wzp_relay_options_default(wzp_relay_options *o);
/* Read a libconfig file into `o` (keys as SPEC §2; see docs/OPERATIONS.md). Every key is checked;
 * on any error nothing is applied to `o` and `err` names the file and line. */
WZP_MUST_CHECK int wzp_relay_options_load(const char *path, wzp_relay_options *o, char *err,
                                          size_t errcap);
/* Parse one probe target "IP:port" or "IP:port@FINGERPRINT". Errors: WZP_ERR_INVALID_ARG. */
WZP_MUST_CHECK int wzp_relay_probe_parse(const char *text, wzp_relay_probe_target *t);
/* A peer relay's host, "IP" (v4 or v6), as an address with port 0. Errors: WZP_ERR_INVALID_ARG. */
WZP_MUST_CHECK int wzp_relay_peer_host_parse(const char *host, struct sockaddr_storage *out);
/* The hosts other relays may probe and link from: the configured peer relays and the hosts we
 * probe ourselves (at most WZP_RELAY_MAX_PEER_HOSTS). Returns how many. */
size_t wzp_relay_peer_hosts(const wzp_relay_options *o, struct sockaddr_storage *out);

/* Run the relay in the foreground until SIGINT or SIGTERM: load or create the relay identity
 * (0600), print the address and TLS fingerprint to `out`, serve. Returns a process exit code. */
int wzp_relay_run(const wzp_relay_options *opts, FILE *out, FILE *err);
#endif

#ifdef __cplusplus
}
#endif
#endif
