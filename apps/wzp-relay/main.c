/*
 * wzp-relay entry point. Placeholder until the relay issue lands: it prints its version and
 * exits 0, so the README's first command already builds and runs something real.
 */
#include <stdio.h>
#include <string.h>

#include "wzp/version.h"

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: wzp-relay [--version] [--help]\n"
                   "The relay is not implemented yet: this build only reports its version.\n");
            return 0;
        }
    }
    printf("wzp-relay %s (placeholder: the relay lands with the transport issue)\n", wzp_version());
    return 0;
}
