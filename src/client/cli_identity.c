/*
 * `wzp-client identity`: create, show and import the user's identity (a 32-byte seed shown as a
 * 24-word BIP39 mnemonic; the fingerprint is what others see). The file defaults to
 * $XDG_CONFIG_HOME/wzp/identity, is created 0600, and is refused when others can read it.
 */
#include <errno.h>
#include <sys/stat.h>
#include <getopt.h>
#include <sodium.h>
#include <string.h>

#include "wzp/client.h"
#include "wzp/crypto.h"

#define EXIT_USAGE 2

static void usage(FILE *f) {
    fprintf(f, "usage: wzp-client identity new    [--identity FILE]\n"
               "       wzp-client identity show   [--identity FILE] [--reveal]\n"
               "       wzp-client identity import [--identity FILE] [--seed HEX | --mnemonic "
               "\"24 words\"]\n"
               "  new      create a new identity and print its recovery words\n"
               "  show     print the fingerprint (--reveal also prints the recovery words)\n"
               "  import   restore an identity from its words (read from stdin if not given)\n"
               "The default file is $XDG_CONFIG_HOME/wzp/identity (~/.config/wzp/identity).\n");
}

static void print_identity(FILE *out, const wzp_identity *id, bool reveal) {
    char fp[WZP_FINGERPRINT_TEXT], words[WZP_MNEMONIC_MAX];
    wzp_fingerprint_format(id->fingerprint, fp);
    fprintf(out, "fingerprint: %s\n", fp);
    if (reveal && wzp_mnemonic_from_seed(id->seed, words, sizeof(words)) == WZP_OK) {
        fprintf(out, "recovery words (keep them secret, they ARE your identity):\n%s\n", words);
        sodium_memzero(words, sizeof(words));
    }
}

static int save(const char *path, const wzp_identity *id, FILE *out, FILE *err) {
    int rc = wzp_identity_save(path, id);
    if (rc == WZP_ERR_INVALID_ARG) {
        fprintf(err, "wzp-client: %s already exists; not overwriting an identity\n", path);
        return 1;
    }
    if (rc != WZP_OK) {
        fprintf(err, "wzp-client: cannot write %s: %s\n", path, wzp_strerror(rc));
        return 1;
    }
    fprintf(out, "identity written to %s\n", path);
    return 0;
}

static int seed_from_args(const char *hex, const char *words, FILE *in, uint8_t seed[32]) {
    if (hex != NULL) {
        size_t got = 0;
        return sodium_hex2bin(seed, 32, hex, strlen(hex), NULL, &got, NULL) == 0 && got == 32
                   ? WZP_OK
                   : WZP_ERR_MALFORMED;
    }
    char line[1024];
    if (words == NULL) {
        if (fgets(line, sizeof(line), in) == NULL) {
            return WZP_ERR_MALFORMED;
        }
        words = line;
    }
    int rc = wzp_mnemonic_to_seed(words, seed);
    sodium_memzero(line, sizeof(line));
    return rc;
}

static int run(const char *cmd, const char *path, const char *hex, const char *words, bool reveal,
               FILE *in, FILE *out, FILE *err) {
    wzp_identity id;
    int rc;
    if (strcmp(cmd, "new") == 0) {
        rc = wzp_identity_generate(&id);
        if (rc == WZP_OK && (rc = save(path, &id, out, err)) == 0) {
            print_identity(out, &id, true);
        }
    } else if (strcmp(cmd, "show") == 0) {
        struct stat st;
        if (stat(path, &st) != 0 && errno == ENOENT) {
            fprintf(err,
                    "wzp-client: no identity at %s yet: `wzp-client identity new` makes one (so "
                    "does the first call)\n",
                    path);
            return 1;
        }
        rc = wzp_identity_load(path, &id);
        if (rc != WZP_OK) {
            fprintf(err, "wzp-client: cannot load %s: %s%s\n", path, wzp_strerror(rc),
                    rc == WZP_ERR_PERMISSION ? " (run: chmod 600 FILE)" : "");
            return 1;
        }
        print_identity(out, &id, reveal);
    } else if (strcmp(cmd, "import") == 0) {
        uint8_t seed[32];
        rc = seed_from_args(hex, words, in, seed);
        if (rc != WZP_OK) {
            fprintf(err, "wzp-client: not a valid seed or 24-word mnemonic (checksum?)\n");
            return 1;
        }
        rc = wzp_identity_from_seed(seed, &id);
        sodium_memzero(seed, sizeof(seed));
        if (rc == WZP_OK && (rc = save(path, &id, out, err)) == 0) {
            print_identity(out, &id, false);
        }
    } else {
        usage(err);
        return EXIT_USAGE;
    }
    wzp_identity_wipe(&id);
    return rc == WZP_OK ? 0 : (rc > 0 ? rc : 1);
}

int wzp_client_identity_main(int argc, char **argv, FILE *in, FILE *out, FILE *err) {
    static const struct option opts[] = {
        {"identity", required_argument, NULL, 'i'}, {"seed", required_argument, NULL, 's'},
        {"mnemonic", required_argument, NULL, 'm'}, {"reveal", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    const char *path = NULL, *hex = NULL, *words = NULL;
    bool reveal = false;
    char def[4096];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            path = optarg;
            break;
        case 's':
            hex = optarg;
            break;
        case 'm':
            words = optarg;
            break;
        case 'r':
            reveal = true;
            break;
        case 'h':
            usage(out);
            return 0;
        default:
            usage(err);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        usage(err);
        return EXIT_USAGE;
    }
    if (path == NULL) {
        if (wzp_identity_default_path(def, sizeof(def)) != WZP_OK) {
            fprintf(err, "wzp-client: set HOME or XDG_CONFIG_HOME, or pass --identity FILE\n");
            return 1;
        }
        path = def;
    }
    if (wzp_crypto_init() != WZP_OK) {
        fprintf(err, "wzp-client: libsodium failed to initialise\n");
        return 1;
    }
    return run(argv[optind], path, hex, words, reveal, in, out, err);
}
