/* Prometheus text exposition (include/wzp/metrics.h): builder and histogram. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wzp/metrics.h"

static void put(wzp_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(wzp_prom *p, const char *fmt, ...) {
    if (p->overflow) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= p->cap - p->len) {
        p->overflow = true;
        p->buf[p->len] = '\0'; /* whole lines only */
        return;
    }
    p->len += (size_t)n;
}

void wzp_prom_family(wzp_prom *p, const char *name, const char *type, const char *help) {
    put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void wzp_prom_sample(wzp_prom *p, const char *name, const char *labels, double value) {
    const char *open = labels != NULL && labels[0] ? "{" : "";
    const char *close = labels != NULL && labels[0] ? "}" : "";
    if (isinf(value)) {
        put(p, "%s%s%s%s %s\n", name, open, labels ? labels : "", close,
            value > 0 ? "+Inf" : "-Inf");
    } else {
        put(p, "%s%s%s%s %.9g\n", name, open, labels ? labels : "", close, value);
    }
}

void wzp_prom_sample_u64(wzp_prom *p, const char *name, const char *labels, uint64_t value) {
    const char *open = labels != NULL && labels[0] ? "{" : "";
    const char *close = labels != NULL && labels[0] ? "}" : "";
    put(p, "%s%s%s%s %llu\n", name, open, labels ? labels : "", close, (unsigned long long)value);
}

void wzp_prom_label(char *out, size_t cap, const char *key, const char *value) {
    if (cap == 0) {
        return;
    }
    int n = snprintf(out, cap, "%s=\"", key);
    if (n < 0 || (size_t)n + 2 > cap) {
        out[0] = '\0';
        return;
    }
    size_t o = (size_t)n;
    for (const char *v = value; *v != '\0'; v++) {
        const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        size_t need = esc != NULL ? 2 : 1;
        if (o + need + 2 > cap) {
            break; /* cut, keeping the closing quote */
        }
        if (esc != NULL) {
            memcpy(out + o, esc, 2);
        } else {
            out[o] = *v;
        }
        o += need;
    }
    out[o++] = '"';
    out[o] = '\0';
}

void wzp_histogram_init(wzp_histogram *h, const double *bounds, size_t nbounds) {
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
    h->nbounds = nbounds < WZP_HIST_MAX_BUCKETS ? nbounds : WZP_HIST_MAX_BUCKETS - 1;
}

void wzp_histogram_observe(wzp_histogram *h, double v) {
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i]) {
        i++;
    }
    h->counts[i]++; /* i == nbounds: the +Inf bucket */
    h->count++;
    h->sum += v;
}

void wzp_prom_histogram(wzp_prom *p, const char *name, const char *labels, const wzp_histogram *h) {
    const char *sep = labels != NULL && labels[0] ? "," : "";
    const char *lab = labels != NULL ? labels : "";
    uint64_t cum = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        cum += h->counts[i];
        if (i < h->nbounds) {
            put(p, "%s_bucket{%s%sle=\"%.9g\"} %llu\n", name, lab, sep, h->bounds[i],
                (unsigned long long)cum);
        } else {
            put(p, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lab, sep, (unsigned long long)cum);
        }
    }
    const char *open = lab[0] ? "{" : "";
    const char *close = lab[0] ? "}" : "";
    put(p, "%s_sum%s%s%s %.9g\n", name, open, lab, close, h->sum);
    put(p, "%s_count%s%s%s %llu\n", name, open, lab, close, (unsigned long long)h->count);
}
