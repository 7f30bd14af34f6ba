/* wzp-relay: options -> wzp_relay_run(). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "wzp/relay.h"
#include "wzp/version.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: wzp-relay [--listen ADDR] [--identity FILE] [--max-sessions N]\n"
            "                 [--max-per-room N] [--session-idle SECS] [--version] [--help]\n"
            "  --listen ADDR        UDP address for QUIC (default 0.0.0.0:4433)\n"
            "  --identity FILE      relay seed, created 0600 on first start\n"
            "                       (default $XDG_STATE_HOME/wzp/relay-identity)\n"
            "  --max-sessions N     sessions on this relay (default %d)\n"
            "  --max-per-room N     members of one room (default %d)\n"
            "  --session-idle SECS  drop a member silent this long: no media, keep-alive\n"
            "                       or signal (default %d, 2..600)\n"
            "The relay joins clients into rooms (chosen by TLS SNI), routes their end-to-end key\n"
            "exchange and forwards their media, which it cannot decrypt, to the other members.\n",
            WZP_RELAY_MAX_SESSIONS_DEFAULT, WZP_RELAY_MAX_PER_ROOM_DEFAULT,
            WZP_RELAY_IDLE_MS_DEFAULT / 1000);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"identity", required_argument, NULL, 'i'},
                                         {"max-sessions", required_argument, NULL, 's'},
                                         {"max-per-room", required_argument, NULL, 'r'},
                                         {"session-idle", required_argument, NULL, 't'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    wzp_relay_options o = {"0.0.0.0:4433",
                           NULL,
                           {WZP_RELAY_MAX_SESSIONS_DEFAULT, WZP_RELAY_MAX_PER_ROOM_DEFAULT,
                            WZP_RELAY_IDLE_MS_DEFAULT}};
    int c;
    while ((c = getopt_long(argc, argv, "l:i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            o.listen = optarg;
            break;
        case 'i':
            o.identity_path = optarg;
            break;
        case 's':
            o.rooms.max_sessions = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            o.rooms.max_per_room = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            o.rooms.idle_ms = (uint32_t)(strtod(optarg, NULL) * 1000.0);
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
    }
    if (optind != argc || o.rooms.max_sessions == 0 || o.rooms.max_per_room == 0 ||
        o.rooms.idle_ms < 2 * WZP_MEDIA_KEEPALIVE_MS || o.rooms.idle_ms > 600000) {
        usage(stderr);
        return 2;
    }
    return wzp_relay_run(&o, stdout, stderr);
}
