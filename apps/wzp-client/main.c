/* wzp-client entry point: dispatches to the library's commands. */
#include <stdio.h>
#include <string.h>

#include "wzp/client.h"
#include "wzp/version.h"

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* status lines reach a log file or pipe as they happen */
    if (argc >= 2 && strcmp(argv[1], "identity") == 0) {
        return wzp_client_identity_main(argc - 1, argv + 1, stdin, stdout, stderr);
    }
    if (argc >= 2 && strcmp(argv[1], "contacts") == 0) {
        return wzp_client_contacts_main(argc - 1, argv + 1, stdout, stderr);
    }
    if (argc >= 2 && strcmp(argv[1], "room") == 0) {
        return wzp_client_room_main(argc - 1, argv + 1, stdout, stderr);
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("wzp-client %s\n", wzp_version());
        return 0;
    }
    return wzp_client_main(argc, argv, stdout, stderr);
}
