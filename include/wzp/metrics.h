/*
 * Prometheus telemetry: a text-exposition builder (format 0.0.4) over a fixed buffer, a
 * fixed-bucket histogram, and a /metrics HTTP endpoint served by libmicrohttpd on the caller's
 * libuv loop (no thread: the page is rendered where the counters live, so nothing is shared).
 */
#ifndef WZP_METRICS_H
#define WZP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "wzp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A page under construction. Writes past `cap` set `overflow` and are dropped. */
typedef struct wzp_prom {
    char *buf;
    size_t cap, len;
    bool overflow;
} wzp_prom;

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram). */
void wzp_prom_family(wzp_prom *p, const char *name, const char *type, const char *help);
/* One sample: name{labels} value. `labels` is NULL or a ready label list such as
 * `result="ok"`; use wzp_prom_label to build one from an untrusted value. */
void wzp_prom_sample(wzp_prom *p, const char *name, const char *labels, double value);
void wzp_prom_sample_u64(wzp_prom *p, const char *name, const char *labels, uint64_t value);
/* Write key="value" into out, escaping \, " and newline as the exposition format requires;
 * the value is cut to fit. */
void wzp_prom_label(char *out, size_t cap, const char *key, const char *value);

#define WZP_HIST_MAX_BUCKETS 16
typedef struct wzp_histogram {
    const double *bounds; /* ascending upper bounds (the +Inf bucket is implicit) */
    size_t nbounds;
    uint64_t counts[WZP_HIST_MAX_BUCKETS]; /* non-cumulative */
    uint64_t count;
    double sum;
} wzp_histogram;

void wzp_histogram_init(wzp_histogram *h, const double *bounds, size_t nbounds);
void wzp_histogram_observe(wzp_histogram *h, double v);
/* The family's _bucket (cumulative, with le), _sum and _count samples. */
void wzp_prom_histogram(wzp_prom *p, const char *name, const char *labels, const wzp_histogram *h);

/* Fill `p` with the current page. */
typedef void (*wzp_metrics_render_fn)(void *user, wzp_prom *p);

typedef struct wzp_metrics_http wzp_metrics_http;

/* Serve GET /metrics on `listen` ("IP:port"; port 0 picks one). Other paths answer 404, other
 * methods 405; at most 16 connections, 10 s each. Errors: WZP_ERR_INVALID_ARG (address),
 * WZP_ERR_IO (cannot listen), WZP_ERR_NOMEM. */
WZP_MUST_CHECK int wzp_metrics_http_start(uv_loop_t *loop, const char *listen,
                                          wzp_metrics_render_fn render, void *user,
                                          wzp_metrics_http **out);
uint16_t wzp_metrics_http_port(const wzp_metrics_http *m);
/* Stop serving; the memory goes once libuv has closed the handles (run the loop). */
void wzp_metrics_http_stop(wzp_metrics_http *m);

#ifdef __cplusplus
}
#endif
#endif
