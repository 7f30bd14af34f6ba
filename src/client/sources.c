/* Sources of a call's audio (src/client/sources.h). */
#include <math.h>
#include <string.h>

#include "client/file_source.h"
#include "client/sources.h"
#include "wzp/alloc.h"

#define RATE 48000

typedef enum kind { TONE, FILE_SRC, SAMPLES } kind;

struct wzp_source {
    kind kind;
    bool done;
    uint64_t pos; /* samples given so far */
    uint64_t len; /* TONE, SAMPLES: samples in all */
    double hz;
    const float *x;
    wzp_file_source *file;
};

static int make(kind k, wzp_source **out) {
    wzp_source *s = wzp_calloc(1, sizeof(*s));
    if (s == NULL) {
        return WZP_ERR_NOMEM;
    }
    s->kind = k;
    *out = s;
    return WZP_OK;
}

int wzp_source_tone(double hz, double seconds, wzp_source **out) {
    int rc = make(TONE, out);
    if (rc == WZP_OK) {
        (*out)->hz = hz;
        (*out)->len = (uint64_t)(seconds * RATE);
        (*out)->done = (*out)->len == 0;
    }
    return rc;
}

int wzp_source_file(const char *path, wzp_source **out, char *why, size_t why_len) {
    wzp_file_source *f = NULL;
    int rc = wzp_file_source_open(path, &f, why, why_len);
    if (rc == WZP_OK && (rc = make(FILE_SRC, out)) == WZP_OK) {
        (*out)->file = f;
    } else {
        wzp_file_source_close(f);
    }
    return rc;
}

int wzp_source_samples(const float *x, size_t n, wzp_source **out) {
    int rc = make(SAMPLES, out);
    if (rc == WZP_OK) {
        (*out)->x = x;
        (*out)->len = n;
    }
    return rc;
}

static int16_t to_s16(double v) {
    v = v > 1.0 ? 1.0 : v < -1.0 ? -1.0 : v;
    return (int16_t)lrint(v * 32767.0);
}

void wzp_source_read(wzp_source *s, int16_t *pcm, size_t n) {
    size_t got = 0;
    if (s->kind == FILE_SRC) {
        got = s->done ? 0 : wzp_file_source_read(s->file, pcm, n);
        s->done = s->done || got < n;
    } else if (s->kind == TONE) {
        for (; got < n; got++) { /* a steady tone for as long as it is asked: ends by frames */
            double ph = 2.0 * M_PI * s->hz * (double)(s->pos + got) / RATE;
            pcm[got] = (int16_t)lrint(0.3 * 32767.0 * sin(ph));
        }
        s->done = s->pos + n >= s->len;
    } else {
        for (; got < n && s->pos + got < s->len; got++) {
            pcm[got] = to_s16(s->x[s->pos + got]);
        }
        s->done = s->pos + got >= s->len;
    }
    memset(pcm + got, 0, (n - got) * sizeof(int16_t)); /* the end: padded with silence */
    s->pos += n;
}

void wzp_source_skip(wzp_source *s, size_t n) {
    int16_t scratch[960];
    while (n > 0 && !s->done) {
        size_t k = n < 960 ? n : 960;
        wzp_source_read(s, scratch, k);
        n -= k;
    }
}

bool wzp_source_done(const wzp_source *s) {
    return s->done;
}

double wzp_source_seconds(const wzp_source *s) {
    return s->kind == FILE_SRC ? wzp_file_source_seconds(s->file) : (double)s->len / RATE;
}

void wzp_source_free(wzp_source *s) {
    if (s != NULL) {
        wzp_file_source_close(s->file);
        wzp_free(s);
    }
}
