/* `wzp-client contacts add FINGERPRINT NAME | list | remove NAME|FINGERPRINT`
 * (src/client/contacts.h, docs/SECURITY.md "Contacts"). */
#include <getopt.h>
#include <string.h>

#include "client/contacts.h"
#include "wzp/alloc.h"
#include "wzp/client.h"

static void usage(FILE *f) {
    fprintf(f, "usage: wzp-client contacts [--identity FILE | --contacts FILE] COMMAND\n"
               "  add FINGERPRINT NAME   a person whose fingerprint you checked with them (in\n"
               "                         person, or by a channel you trust); a known fingerprint\n"
               "                         gets the new name\n"
               "  list                   everyone, with their fingerprints\n"
               "  remove NAME|FP         forget one\n"
               "  The file is next to the identity: $XDG_CONFIG_HOME/wzp/contacts for the\n"
               "  default one, FILE.contacts for --identity FILE. In a call, contacts are shown\n"
               "  as verified; --require-verified gives keys to contacts only.\n");
}

static int list(const wzp_contacts *c, FILE *out) {
    if (c->n == 0) {
        fprintf(out, "no contacts yet (wzp-client contacts add FINGERPRINT NAME)\n");
    }
    for (size_t i = 0; i < c->n; i++) {
        char fp[WZP_FINGERPRINT_TEXT];
        wzp_fingerprint_format(c->items[i].fp, fp);
        fprintf(out, "%s  %s\n", fp, c->items[i].name);
    }
    return 0;
}

static int change(wzp_contacts *c, const char *path, char **args, int nargs, bool add, FILE *out,
                  FILE *err) {
    int rc;
    if (add) {
        uint8_t fp[WZP_FINGERPRINT_SIZE];
        if (nargs != 2 || wzp_fingerprint_parse(args[0], fp) != WZP_OK) {
            fprintf(err, "wzp-client: contacts add FINGERPRINT NAME (the fingerprint as "
                         "`wzp-client identity show` prints it: 8 groups of 4 hex digits)\n");
            return 2;
        }
        rc = wzp_contacts_add(c, fp, args[1]);
        if (rc == WZP_ERR_INVALID_ARG) {
            fprintf(err,
                    "wzp-client: a name is 1 to %d characters, no control characters, not "
                    "starting with '#' or a blank\n",
                    WZP_CONTACT_NAME_MAX);
            return 2;
        }
        if (rc == WZP_ERR_STATE) {
            fprintf(err,
                    "wzp-client: another fingerprint is already called \"%s\" (remove it "
                    "first, or choose another name)\n",
                    args[1]);
            return 2;
        }
    } else {
        if (nargs != 1) {
            usage(err);
            return 2;
        }
        rc = wzp_contacts_remove(c, args[0]);
        if (rc == WZP_ERR_EMPTY) {
            fprintf(err, "wzp-client: no contact %s\n", args[0]);
            return 1;
        }
    }
    if (rc == WZP_OK) {
        rc = wzp_contacts_save(path, c);
    }
    if (rc != WZP_OK) {
        fprintf(err, "wzp-client: cannot write %s: %s\n", path, wzp_strerror(rc));
        return 1;
    }
    fprintf(out, "wzp-client: %s %s (%zu contact(s) in %s)\n", add ? "added" : "removed",
            args[add ? 1 : 0], c->n, path);
    return 0;
}

int wzp_client_contacts_main(int argc, char **argv, FILE *out, FILE *err) {
    static const struct option opts[] = {{"identity", required_argument, NULL, 'i'},
                                         {"contacts", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *id_path = NULL, *path = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            id_path = optarg;
            break;
        case 'c':
            path = optarg;
            break;
        case 'h':
            usage(out);
            return 0;
        default:
            usage(err);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(err);
        return 2;
    }
    const char *cmd = argv[optind];
    char def[4096];
    if (path == NULL && wzp_contacts_path(id_path, def, sizeof(def)) == WZP_OK) {
        path = def;
    }
    if (path == NULL) {
        fprintf(err, "wzp-client: set HOME or XDG_CONFIG_HOME, or pass --contacts FILE\n");
        return 1;
    }
    wzp_contacts *c = wzp_malloc(sizeof(*c));
    if (c == NULL) {
        return 1;
    }
    unsigned bad = 0;
    int rc = wzp_contacts_load(path, c, &bad);
    if (rc != WZP_OK) {
        fprintf(err, "wzp-client: cannot use %s: %s", path, wzp_strerror(rc));
        if (bad > 0) {
            fprintf(err, " (line %u)", bad);
        }
        fprintf(err, "\n");
        wzp_free(c);
        return 1;
    }
    int nargs = argc - optind - 1;
    if (strcmp(cmd, "list") == 0 && nargs == 0) {
        rc = list(c, out);
    } else if (strcmp(cmd, "add") == 0 || strcmp(cmd, "remove") == 0) {
        rc = change(c, path, argv + optind + 1, nargs, cmd[0] == 'a', out, err);
    } else {
        usage(err);
        rc = 2;
    }
    wzp_free(c);
    return rc;
}
