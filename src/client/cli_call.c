/* `wzp-client [options] [RELAY_ADDR]`: options -> wzp_client_run(). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "client/contacts.h"
#include "client/known_relays.h"
#include "wzp/alloc.h"
#include "wzp/invite.h"
#include "wzp/client.h"
#include "wzp/transport.h"

static void usage(FILE *f) {
    fprintf(f, "usage: wzp-client [options] [RELAY_ADDR]      (default 127.0.0.1:4433)\n"
               "       wzp-client identity new|show|import ...\n"
               "       wzp-client room new [--relay-fp FP] [RELAY_ADDR]\n"
               "       wzp-client contacts add|list|remove ...\n"
               "  --relay-fp FP      the relay's TLS fingerprint (printed by wzp-relay)\n"
               "  --known-relays F   without --relay-fp: trust a relay's certificate on first\n"
               "                     use and remember it in F (default\n"
               "                     $XDG_CONFIG_HOME/wzp/known_relays); a change is refused\n"
               "  --room NAME        room to join (default \"default\"); an open room: anyone\n"
               "                     who can guess or observe the name can join and listen\n"
               "  --room-invite INV  join a secret room from its invite (`wzp-client room\n"
               "                     new` makes one; it names the relay, its fingerprint and\n"
               "                     the room): members must prove its secret to be heard\n"
               "  --send-tone SECS   send a tone for SECS seconds\n"
               "  --tone-hz HZ       tone frequency (default 440)\n"
               "  --send-file FILE   send an audio file (WAV, FLAC, Ogg... any rate and\n"
               "                     channels; .raw/.pcm/.s16 or no known header: 48 kHz\n"
               "                     s16le mono)\n"
               "  --status           a status line every second (tier, loss, RTT, jitter,\n"
               "                     buffer); on a terminal it is always shown, in place\n"
               "  --no-dsp           send audio as is: no noise suppression or silence\n"
               "                     detection (music, test signals)\n"
               "  --live             talk and listen: microphone and speaker (PortAudio), with\n"
               "                     echo cancellation; until Ctrl-C unless --duration\n"
               "  --audio-device S   for --live: the input and output devices whose names\n"
               "                     contain S (default: the system's defaults)\n"
               "  --no-aec           for --live: no echo cancellation (headphones)\n"
               "  --record FILE      write what the room says to a 48 kHz WAV file\n"
               "  --metrics-file F   append one JSON object per second (tier, RTT, and per\n"
               "                     peer: loss, jitter, buffer, frames played/recovered/\n"
               "                     concealed) to F\n"
               "  --tier T           send this tier whatever the listeners report: good,\n"
               "                     degraded or catastrophic (the FEC still follows the\n"
               "                     loss); auto (default) follows the reports\n"
               "  --echo-test SECS   test the whole path: join a room of our own twice, send a\n"
               "                     known signal through the relay and record it; per second\n"
               "                     loss, concealment, SNR and correlation, and a verdict\n"
               "                     (exit 0 OK, 6 impaired or degrading)\n"
               "  --drift-test       measure each sender's clock against ours (ppm), printed at\n"
               "                     the end (default duration 30 s; add --send-tone to be\n"
               "                     measured by the other side too)\n"
               "  --sweep            record when each sender's frames arrive, then replay them\n"
               "                     through jitter buffers of other depths: a table of what\n"
               "                     each would have played, concealed and delayed\n"
               "  --clock-skew PPM   test aid: send as if our sound card's clock ran PPM fast\n"
               "  --duration SECS    stay this long (default: the tone or file plus 3 s, or 10 s)\n"
               "  --alias NAME       the name others see\n"
               "  --token TOKEN      featherChat token, for a relay that requires one (or set\n"
               "                     WZP_TOKEN: other users can read a command line)\n"
               "  --identity FILE    identity file (default $XDG_CONFIG_HOME/wzp/identity,\n"
               "                     created on first use)\n"
               "  --contacts FILE    whom you verified (default: next to the identity; see\n"
               "                     `wzp-client contacts`): each member is shown as verified\n"
               "                     or not, and one using a contact's name with another key\n"
               "                     is warned about\n"
               "  --require-verified give our keys to contacts only; others are refused\n"
               "Exit codes: 0 done, 1 setup error, 2 usage, 3 refused by the relay,\n"
               "4 relay unreachable or certificate mismatch.\n");
}

static int load_or_create(const char *path, wzp_identity *id, FILE *out, FILE *err) {
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        if (wzp_identity_generate(id) != WZP_OK || wzp_identity_save(path, id) != WZP_OK) {
            fprintf(err, "wzp-client: cannot create identity %s\n", path);
            return 1;
        }
        char fp[WZP_FINGERPRINT_TEXT];
        wzp_fingerprint_format(id->fingerprint, fp);
        fprintf(out, "wzp-client: new identity %s written to %s\n", fp, path);
        return 0;
    }
    int rc = wzp_identity_load(path, id);
    if (rc != WZP_OK) {
        fprintf(err, "wzp-client: cannot load %s: %s\n", path, wzp_strerror(rc));
        return 1;
    }
    return 0;
}

int wzp_client_main(int argc, char **argv, FILE *out, FILE *err) {
    static const struct option opts[] = {{"relay-fp", required_argument, NULL, 'f'},
                                         {"room", required_argument, NULL, 'r'},
                                         {"room-invite", required_argument, NULL, 'I'},
                                         {"contacts", required_argument, NULL, 'C'},
                                         {"require-verified", no_argument, NULL, 'V'},
                                         {"send-tone", required_argument, NULL, 't'},
                                         {"tone-hz", required_argument, NULL, 'z'},
                                         {"send-file", required_argument, NULL, 's'},
                                         {"known-relays", required_argument, NULL, 'k'},
                                         {"status", no_argument, NULL, 'S'},
                                         {"no-dsp", no_argument, NULL, 'n'},
                                         {"record", required_argument, NULL, 'o'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"alias", required_argument, NULL, 'a'},
                                         {"token", required_argument, NULL, 'T'},
                                         {"metrics-file", required_argument, NULL, 'M'},
                                         {"identity", required_argument, NULL, 'i'},
                                         {"live", no_argument, NULL, 'L'},
                                         {"audio-device", required_argument, NULL, 'D'},
                                         {"no-aec", no_argument, NULL, 'E'},
                                         {"tier", required_argument, NULL, 'Q'},
                                         {"drift-test", no_argument, NULL, 'F'},
                                         {"echo-test", required_argument, NULL, 'X'},
                                         {"sweep", no_argument, NULL, 'W'},
                                         {"clock-skew", required_argument, NULL, 'K'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    wzp_client_options o = {
        .relay = "127.0.0.1:4433", .room = "default", .tone_hz = 440, .tier = -1};
    const char *known = NULL;
    const char *fp_text = NULL, *id_path = NULL, *invite_text = NULL, *contacts_path = NULL;
    bool room_given = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            fp_text = optarg;
            break;
        case 'r':
            o.room = optarg;
            room_given = true;
            break;
        case 'I':
            invite_text = optarg;
            break;
        case 'C':
            contacts_path = optarg;
            break;
        case 'V':
            o.require_verified = true;
            break;
        case 't':
            o.send_tone_s = atof(optarg);
            break;
        case 'z':
            o.tone_hz = atof(optarg);
            break;
        case 's':
            o.send_file = optarg;
            break;
        case 'n':
            o.no_dsp = true;
            break;
        case 'k':
            known = optarg;
            break;
        case 'S':
            o.status = true;
            break;
        case 'o':
            o.record = optarg;
            break;
        case 'd':
            o.duration_s = atof(optarg);
            break;
        case 'a':
            o.alias = optarg;
            break;
        case 'T':
            o.token = optarg;
            break;
        case 'M':
            o.metrics_file = optarg;
            break;
        case 'i':
            id_path = optarg;
            break;
        case 'L':
            o.live = true;
            break;
        case 'D':
            o.audio_device = optarg;
            break;
        case 'E':
            o.no_aec = true;
            break;
        case 'F':
            o.drift_test = true;
            break;
        case 'X':
            o.echo_test_s = atof(optarg);
            if (o.echo_test_s < 3 || o.echo_test_s > 600) {
                fprintf(err, "wzp-client: --echo-test takes 3 to 600 seconds\n");
                return 2;
            }
            break;
        case 'W':
            o.sweep = true;
            break;
        case 'K':
            o.clock_skew_ppm = atof(optarg);
            if (o.clock_skew_ppm < -100000 || o.clock_skew_ppm > 100000) {
                fprintf(err, "wzp-client: --clock-skew is in ppm, -100000..100000\n");
                return 2;
            }
            break;
        case 'Q':
            o.tier = strcmp(optarg, "good") == 0           ? 0
                     : strcmp(optarg, "degraded") == 0     ? 1
                     : strcmp(optarg, "catastrophic") == 0 ? 2
                     : strcmp(optarg, "auto") == 0         ? -1
                                                           : -2;
            if (o.tier == -2) {
                fprintf(err, "wzp-client: --tier must be good, degraded, catastrophic or auto\n");
                return 2;
            }
            break;
        case 'h':
            usage(out);
            return 0;
        default:
            usage(err);
            return 2;
        }
    }
    if (o.token == NULL && getenv("WZP_TOKEN") != NULL && getenv("WZP_TOKEN")[0] != '\0') {
        o.token = getenv("WZP_TOKEN");
    }
    bool relay_given = optind < argc;
    if (optind < argc) {
        o.relay = argv[optind++];
    }
    if (o.echo_test_s > 0 && (o.live || o.send_tone_s > 0 || o.send_file != NULL || o.record)) {
        fprintf(err, "wzp-client: --echo-test sends and records its own signal\n");
        return 2;
    }
    if (o.live && (o.send_tone_s > 0 || o.send_file != NULL)) {
        fprintf(err, "wzp-client: --live sends the microphone: not with --send-tone or "
                     "--send-file\n");
        return 2;
    }
    uint8_t pin[WZP_TLS_FINGERPRINT_SIZE];
    char known_def[4096];
    if (optind != argc) {
        usage(err);
        return 2;
    }
    wzp_invite inv;
    uint8_t room_key[WZP_KEY_SIZE];
    if (invite_text != NULL) {
        int rc = wzp_invite_parse(invite_text, strlen(invite_text), &inv);
        if (rc != WZP_OK) {
            fprintf(err, "wzp-client: --room-invite: %s\n",
                    rc == WZP_ERR_AUTH ? "the invite is damaged (its room id is not its secret's)"
                                       : "not an invite (wzp://RELAY/ROOM?fp=...#SECRET)");
            return 2;
        }
        if (room_given || relay_given || fp_text != NULL) {
            fprintf(err, "wzp-client: --room-invite names the relay, its fingerprint and the "
                         "room: not with --room, --relay-fp or a relay address\n");
            wzp_invite_wipe(&inv);
            return 2;
        }
        if (wzp_room_secret_derive(inv.secret, inv.room_id, room_key) != WZP_OK) {
            wzp_invite_wipe(&inv);
            return 1;
        }
        memcpy(pin, inv.relay_fp, sizeof(pin));
        o.relay = inv.relay;
        o.relay_fp = pin;
        o.room = inv.room_id;
        o.room_key = room_key;
    } else if (fp_text != NULL) {
        if (wzp_tls_fingerprint_parse(fp_text, pin) != WZP_OK) {
            fprintf(err,
                    "wzp-client: --relay-fp must be the relay's fingerprint (ab:cd:... x32)\n");
            return 2;
        }
        o.relay_fp = pin;
    } else { /* trust on first use, remembered like ssh's known_hosts */
        if (known == NULL &&
            wzp_known_relays_default_path(known_def, sizeof(known_def)) == WZP_OK) {
            known = known_def;
        }
        if (known == NULL) {
            fprintf(err, "wzp-client: give --relay-fp or --known-relays (no HOME)\n");
            return 2;
        }
        int rc = wzp_known_relays_lookup(known, o.relay, pin);
        if (rc == WZP_OK) {
            o.relay_fp = pin;
        } else if (rc != WZP_ERR_EMPTY) {
            fprintf(err, "wzp-client: %s: cannot use its entry for %s: %s\n", known, o.relay,
                    wzp_strerror(rc));
            return 2;
        }
        o.known_relays = known;
    }
    char def[4096], cdef[4200];
    if (contacts_path == NULL && wzp_contacts_path(id_path, cdef, sizeof(cdef)) == WZP_OK) {
        contacts_path = cdef; /* before id_path takes the default: the default's is its own */
    }
    if (id_path == NULL && wzp_identity_default_path(def, sizeof(def)) == WZP_OK) {
        id_path = def;
    }
    wzp_contacts *contacts = wzp_malloc(sizeof(*contacts));
    unsigned bad = 0;
    int crc = contacts == NULL        ? WZP_ERR_NOMEM
              : contacts_path != NULL ? wzp_contacts_load(contacts_path, contacts, &bad)
                                      : WZP_OK;
    if (contacts != NULL && contacts_path == NULL) {
        contacts->n = 0;
    }
    if (crc != WZP_OK) {
        fprintf(err, "wzp-client: cannot use the contacts %s: %s", contacts_path,
                wzp_strerror(crc));
        if (bad > 0) {
            fprintf(err, " (line %u)", bad);
        }
        fprintf(err, "\n");
        wzp_free(contacts);
        if (invite_text != NULL) {
            wzp_invite_wipe(&inv);
            sodium_memzero(room_key, sizeof(room_key));
        }
        return 1;
    }
    if (o.require_verified && contacts->n == 0) {
        fprintf(err,
                "wzp-client: --require-verified with no contacts in %s: every member will be "
                "refused\n",
                contacts_path);
    }
    o.contacts = contacts;
    wzp_identity id;
    int rc = 1;
    if (id_path != NULL && load_or_create(id_path, &id, out, err) == 0) {
        o.identity = &id;
        rc = o.echo_test_s > 0 ? wzp_client_echo_test(&o, out, err) : wzp_client_run(&o, out, err);
        wzp_identity_wipe(&id);
    }
    if (invite_text != NULL) {
        wzp_invite_wipe(&inv);
        sodium_memzero(room_key, sizeof(room_key));
    }
    wzp_free(contacts);
    return rc;
}
