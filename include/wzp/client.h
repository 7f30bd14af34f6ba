/* wzp-client's commands, callable from its thin main.c (and from tests). Each returns a process
 * exit code and writes user-facing text to `out` / errors to `err`. */
#ifndef WZP_CLIENT_H
#define WZP_CLIENT_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `wzp-client identity new|show|import [options]`; argv[0] is "identity". */
int wzp_client_identity_main(int argc, char **argv, FILE *in, FILE *out, FILE *err);

#ifdef __cplusplus
}
#endif
#endif
