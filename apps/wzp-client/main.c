/* wzp-client entry point: dispatches to the library's commands. Calls (send/record/live) land
 * with the transport issue; today the client manages identities. */
#include <stdio.h>
#include <string.h>

#include "wzp/client.h"
#include "wzp/version.h"

static void usage(FILE *f) {
    fprintf(f, "usage: wzp-client identity new|show|import [options]   manage your identity\n"
               "       wzp-client --version | --help\n"
               "Calls through a relay (--send-tone, --record, --live ...) are not implemented "
               "yet.\n");
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "identity") == 0) {
        return wzp_client_identity_main(argc - 1, argv + 1, stdin, stdout, stderr);
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("wzp-client %s\n", wzp_version());
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
