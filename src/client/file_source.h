/* Audio from a file as 48 kHz mono frames (src/client/file_source.c). */
#ifndef WZP_CLIENT_FILE_SOURCE_H
#define WZP_CLIENT_FILE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/error.h"

typedef struct wzp_file_source wzp_file_source;

/* Open `path`; on failure `why` says what is wrong with it. */
WZP_MUST_CHECK int wzp_file_source_open(const char *path, wzp_file_source **out, char *why,
                                        size_t why_len);
/* The file's length in seconds. */
double wzp_file_source_seconds(const wzp_file_source *s);
/* Up to `n` samples at 48 kHz; fewer only at the end of the file. */
size_t wzp_file_source_read(wzp_file_source *s, int16_t *pcm, size_t n);
void wzp_file_source_close(wzp_file_source *s);

#endif
