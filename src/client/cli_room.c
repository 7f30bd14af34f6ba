/* `wzp-client room new [--relay-fp FP | --known-relays F] [RELAY_ADDR]`: a secret room and its
 * invite (include/wzp/invite.h, docs/SECURITY.md "Secret rooms"). */
#include <getopt.h>
#include <sodium.h>
#include <string.h>

#include "client/known_relays.h"
#include "wzp/client.h"
#include "wzp/invite.h"

static void usage(FILE *f) {
    fprintf(f, "usage: wzp-client room new [--relay-fp FP | --known-relays F] [RELAY_ADDR]\n"
               "  Makes a secret room on the relay at RELAY_ADDR (default 127.0.0.1:4433) and\n"
               "  prints its invite, one line: give it to each member over a channel you\n"
               "  trust; they join with --room-invite. Whoever holds it can join and listen;\n"
               "  the relay sees only the room's id, never its secret.\n"
               "  --relay-fp FP      the relay's TLS fingerprint (printed by wzp-relay)\n"
               "  --known-relays F   without --relay-fp: the fingerprint recorded for the relay\n"
               "                     on first use (default $XDG_CONFIG_HOME/wzp/known_relays)\n");
}

int wzp_client_room_main(int argc, char **argv, FILE *out, FILE *err) {
    static const struct option opts[] = {{"relay-fp", required_argument, NULL, 'f'},
                                         {"known-relays", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *fp_text = NULL, *known = NULL, *relay = "127.0.0.1:4433";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            fp_text = optarg;
            break;
        case 'k':
            known = optarg;
            break;
        case 'h':
            usage(out);
            return 0;
        default:
            usage(err);
            return 2;
        }
    }
    if (optind >= argc || strcmp(argv[optind], "new") != 0 || argc - optind > 2) {
        usage(err);
        return 2;
    }
    if (argc - optind == 2) {
        relay = argv[optind + 1];
    }
    uint8_t pin[WZP_TLS_FINGERPRINT_SIZE];
    char known_def[4096];
    if (fp_text != NULL) {
        if (wzp_tls_fingerprint_parse(fp_text, pin) != WZP_OK) {
            fprintf(err,
                    "wzp-client: --relay-fp must be the relay's fingerprint (ab:cd:... x32)\n");
            return 2;
        }
    } else {
        if (known == NULL &&
            wzp_known_relays_default_path(known_def, sizeof(known_def)) == WZP_OK) {
            known = known_def;
        }
        if (known == NULL || wzp_known_relays_lookup(known, relay, pin) != WZP_OK) {
            fprintf(err,
                    "wzp-client: no fingerprint known for %s: give --relay-fp (an invite carries "
                    "it, so members need not trust the relay on first use)\n",
                    relay);
            return 2;
        }
    }
    if (wzp_crypto_init() != WZP_OK) {
        return 1;
    }
    wzp_invite inv;
    char text[WZP_INVITE_TEXT];
    if (wzp_invite_new(relay, pin, &inv) != WZP_OK) {
        fprintf(err, "wzp-client: %s cannot go in an invite (host:port, [v6]:port or v4:port)\n",
                relay);
        return 2;
    }
    int rc = wzp_invite_format(&inv, text, sizeof(text));
    if (rc == WZP_OK) {
        fprintf(out, "%s\n", text);
        fprintf(err,
                "wzp-client: secret room %s on %s. Give the line above to each member over a "
                "channel you trust; they join with: wzp-client --room-invite 'INVITE'\n",
                inv.room_id, inv.relay);
    }
    sodium_memzero(text, sizeof(text));
    wzp_invite_wipe(&inv);
    return rc == WZP_OK ? 0 : 1;
}
