/* wzp-relay: configuration file, then flags (flags win) -> wzp_relay_run(). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/relay.h"
#include "wzp/version.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: wzp-relay [options]\n"
            "  -c, --config FILE      libconfig file with the same keys as the flags (flags win;\n"
            "                         see docs/OPERATIONS.md and etc/wzp-relay.conf)\n"
            "  --listen ADDR          UDP address for QUIC and media (default 0.0.0.0:4433)\n"
            "  -i, --identity FILE    relay seed, created 0600 on first start\n"
            "                         (default $XDG_STATE_HOME/wzp/relay-identity)\n"
            "  --max-sessions N       sessions on this relay (default %d)\n"
            "  --max-per-room N       members of one room (default %d)\n"
            "  --max-per-address N    sessions from one IP address (default %d; half of them in\n"
            "                         one room, 4N connections; 0: no limit): one address\n"
            "                         cannot fill the relay or a room\n"
            "  --max-per-identity N   sessions of one identity, its devices (default %d; half\n"
            "                         of them in one room; 0: no limit)\n"
            "  --session-idle SECS    drop a member silent this long: no media, keep-alive\n"
            "                         or signal (default %d, 2..600)\n"
            "  --auth-url URL         featherChat token validation: every client must send a\n"
            "                         token that this URL accepts (POST {\"token\": ...})\n"
            "  --auth-timeout SECS    give up on the auth server after this long (default %d)\n"
            "  --metrics-port PORT    Prometheus /metrics on 0.0.0.0:PORT (0: off)\n"
            "  --metrics-listen ADDR  Prometheus /metrics on ADDR (default %s)\n"
            "  --probe ADDR[@FP]      probe another relay once a second: RTT, loss, jitter, up\n"
            "                         (repeatable; @FP pins its certificate fingerprint)\n"
            "  --peer-relay IP        accept probes and forward-mode links from this host\n"
            "                         (repeatable; hosts we --probe are accepted too; any\n"
            "                         other relay's probe or link is refused)\n"
            "  --remote ADDR[@FP]     forward mode: host no rooms, carry every client to the\n"
            "                         relay at ADDR through one link with FEC (@FP pins it)\n"
            "  --trunking             batch what goes to each member into TrunkFrames (fewer\n"
            "                         datagrams and headers; up to 5 ms more delay)\n"
            "  --version, --help\n"
            "The relay joins clients into rooms (chosen by TLS SNI), routes their end-to-end key\n"
            "exchange and forwards their media, which it cannot decrypt, to the other members.\n",
            WZP_RELAY_MAX_SESSIONS_DEFAULT, WZP_RELAY_MAX_PER_ROOM_DEFAULT, WZP_RELAY_PER_ADDRESS,
            WZP_RELAY_PER_IDENTITY, WZP_RELAY_IDLE_MS_DEFAULT / 1000,
            WZP_RELAY_AUTH_TIMEOUT_MS / 1000, WZP_RELAY_METRICS_DEFAULT);
}

static bool parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out) {
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

static bool set_string(char *dst, size_t cap, const char *v) {
    return (size_t)snprintf(dst, cap, "%s", v) < cap;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"identity", required_argument, NULL, 'i'},
                                         {"max-sessions", required_argument, NULL, 's'},
                                         {"max-per-room", required_argument, NULL, 'r'},
                                         {"max-per-address", required_argument, NULL, 'P'},
                                         {"max-per-identity", required_argument, NULL, 'J'},
                                         {"session-idle", required_argument, NULL, 't'},
                                         {"auth-url", required_argument, NULL, 'a'},
                                         {"auth-timeout", required_argument, NULL, 'A'},
                                         {"metrics-port", required_argument, NULL, 'm'},
                                         {"metrics-listen", required_argument, NULL, 'M'},
                                         {"probe", required_argument, NULL, 'p'},
                                         {"peer-relay", required_argument, NULL, 'e'},
                                         {"trunking", no_argument, NULL, 'k'},
                                         {"remote", required_argument, NULL, 'R'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static wzp_relay_options o;
    wzp_relay_options_default(&o);
    /* first pass: the configuration file, so that flags override it */
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:l:i:h", opts, NULL)) != -1) {
        if (c == 'c') {
            char err[512];
            if (wzp_relay_options_load(optarg, &o, err, sizeof(err)) != WZP_OK) {
                fprintf(stderr, "wzp-relay: configuration error: %s\n", err);
                return 2;
            }
        }
    }
    opterr = 1;
    optind = 0;
    bool probes_from_flags = false, peers_from_flags = false;
    while ((c = getopt_long(argc, argv, "c:l:i:h", opts, NULL)) != -1) {
        unsigned long v = 0;
        bool ok = true;
        switch (c) {
        case 'c':
            break;
        case 'l':
            ok = set_string(o.listen, sizeof(o.listen), optarg);
            break;
        case 'i':
            ok = set_string(o.identity_path, sizeof(o.identity_path), optarg);
            break;
        case 's':
            ok = parse_uint(optarg, 1, 100000, &v);
            o.rooms.max_sessions = (unsigned)v;
            break;
        case 'r':
            ok = parse_uint(optarg, 1, 10000, &v);
            o.rooms.max_per_room = (unsigned)v;
            break;
        case 'P':
            ok = parse_uint(optarg, 0, WZP_QUIC_MAX_CONNS, &v);
            o.max_per_address = v == 0 ? UINT32_MAX : (uint32_t)v;
            break;
        case 'J':
            ok = parse_uint(optarg, 0, 100000, &v);
            o.max_per_identity = v == 0 ? UINT32_MAX : (uint32_t)v;
            break;
        case 't':
            ok = parse_uint(optarg, 2 * WZP_MEDIA_KEEPALIVE_MS / 1000, 600, &v);
            o.rooms.idle_ms = (uint32_t)v * 1000;
            break;
        case 'a':
            ok = set_string(o.auth_url, sizeof(o.auth_url), optarg) &&
                 (strncmp(optarg, "http://", 7) == 0 || strncmp(optarg, "https://", 8) == 0);
            break;
        case 'A':
            ok = parse_uint(optarg, 1, 60, &v);
            o.auth_timeout_ms = (unsigned)v * 1000;
            break;
        case 'm':
            ok = parse_uint(optarg, 0, 65535, &v);
            o.metrics_explicit = true;
            if (v == 0) {
                o.metrics_listen[0] = '\0';
            } else {
                snprintf(o.metrics_listen, sizeof(o.metrics_listen), "0.0.0.0:%lu", v);
            }
            break;
        case 'M':
            o.metrics_explicit = true;
            ok = set_string(o.metrics_listen, sizeof(o.metrics_listen), optarg);
            break;
        case 'e': {
            if (!peers_from_flags) { /* flags replace the file's list */
                o.n_peer_relays = 0;
                peers_from_flags = true;
            }
            struct sockaddr_storage ss;
            ok = o.n_peer_relays < WZP_RELAY_MAX_PROBES &&
                 wzp_relay_peer_host_parse(optarg, &ss) == WZP_OK;
            if (ok) {
                snprintf(o.peer_relays[o.n_peer_relays++], sizeof(o.peer_relays[0]), "%s", optarg);
            }
            break;
        }
        case 'p':
            if (!probes_from_flags) { /* flags replace the file's list */
                o.n_probes = 0;
                probes_from_flags = true;
            }
            ok = o.n_probes < WZP_RELAY_MAX_PROBES &&
                 wzp_relay_probe_parse(optarg, &o.probes[o.n_probes]) == WZP_OK;
            o.n_probes += ok;
            break;
        case 'k':
            o.trunking = true;
            break;
        case 'R':
            ok = wzp_relay_probe_parse(optarg, &o.remote) == WZP_OK;
            o.has_remote = ok;
            break;
        case 'V':
            printf("wzp-relay %s\n", wzp_version());
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (!ok) {
            const char *name = "?";
            for (size_t i = 0; opts[i].name != NULL; i++) {
                name = opts[i].val == c ? opts[i].name : name;
            }
            fprintf(stderr, "wzp-relay: bad value for --%s: '%s' (see --help)\n", name, optarg);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "wzp-relay: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return wzp_relay_run(&o, stdout, stderr);
}
