/* Clock drift from an arrival trace, and the jitter-buffer sweep that replays one
 * (include/wzp/call.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/call.h"
#include "wzp/alloc.h"

void wzp_drift_init(wzp_drift *d) {
    memset(d, 0, sizeof(*d));
}

void wzp_drift_add(wzp_drift *d, uint32_t timestamp_ms, uint64_t arrival_us) {
    if (!d->started) {
        d->started = true;
        d->first_ts = timestamp_ms;
        d->first_arrival_us = arrival_us;
    }
    int32_t rel = (int32_t)(timestamp_ms - d->first_ts);
    if (rel < 0 || arrival_us < d->first_arrival_us) {
        return; /* from before the first frame seen (reordered): no clock sample */
    }
    uint32_t w = (uint32_t)rel / 1000u;
    if (w >= WZP_DRIFT_WINDOWS) {
        return;
    }
    while (d->windows <= w) {
        d->min_transit_us[d->windows++] = INFINITY;
    }
    double transit = (double)(arrival_us - d->first_arrival_us) - (double)rel * 1000.0;
    if (transit < d->min_transit_us[w]) {
        d->min_transit_us[w] = transit;
    }
    d->frames++;
}

/* The k-th smallest of v[0..n) (v is reordered): Hoare's selection, O(n) on average. */
static double select_kth(double *v, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) {
                i++;
            }
            while (v[j] > pivot) {
                j--;
            }
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j] = t;
                if (j == 0) {
                    break;
                }
                j--;
            }
        }
        if (k <= j) {
            hi = j;
        } else if (k >= i) {
            lo = i;
        } else {
            break;
        }
    }
    return v[k];
}

int wzp_drift_ppm(const wzp_drift *d, double *ppm, double *span_s) {
    /* At most WZP_DRIFT_POINTS points: a long call's seconds are taken in groups (the smallest
     * transit of each group), which also makes each point a cleaner sample. */
    uint32_t group = (d->windows + WZP_DRIFT_POINTS - 1) / WZP_DRIFT_POINTS;
    double x[WZP_DRIFT_POINTS], y[WZP_DRIFT_POINTS];
    size_t n = 0;
    for (uint32_t w0 = 0; group > 0 && w0 < d->windows; w0 += group) {
        double best = INFINITY, at = 0;
        for (uint32_t w = w0; w < w0 + group && w < d->windows; w++) {
            if (d->min_transit_us[w] < best) {
                best = d->min_transit_us[w];
                at = (double)w + 0.5;
            }
        }
        if (isfinite(best)) {
            x[n] = at;
            y[n++] = best;
        }
    }
    if (n < 5) {
        return WZP_ERR_EMPTY;
    }
    /* First the Theil-Sen line: the median of the slopes between every two points. A second
     * in which the sender or we were held up (a loaded machine, a scheduler stall) lifts its
     * minimum far above the line; least squares lets a few such seconds at an end tilt the
     * slope by hundreds of ppm (+1234 for +1000 seen in CI), the median ignores up to 29% of
     * the points. */
    size_t pairs = n * (n - 1) / 2, k = 0;
    double *slopes = wzp_malloc(sizeof(double) * pairs);
    if (slopes == NULL) {
        return WZP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            slopes[k++] = (y[j] - y[i]) / (x[j] - x[i]);
        }
    }
    double slope = select_kth(slopes, pairs, pairs / 2);
    wzp_free(slopes);
    /* Then least squares (the best line under symmetric noise) through the points that are
     * not far above that line: at most 3 robust deviations (MAD) above its median residual,
     * with a floor of 0.1 ms so that a very clean trace keeps its points. */
    double r[WZP_DRIFT_POINTS], t[WZP_DRIFT_POINTS];
    for (size_t i = 0; i < n; i++) {
        t[i] = y[i] - slope * x[i];
    }
    double intercept = select_kth(t, n, n / 2);
    for (size_t i = 0; i < n; i++) {
        r[i] = y[i] - (intercept + slope * x[i]);
        t[i] = r[i];
    }
    double med = select_kth(t, n, n / 2);
    for (size_t i = 0; i < n; i++) {
        t[i] = fabs(r[i] - med);
    }
    double limit = med + 3.0 * fmax(1.4826 * select_kth(t, n, n / 2), 100.0);
    double sx = 0, sy = 0, sxx = 0, sxy = 0, kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i] <= limit) {
            sx += x[i];
            sy += y[i];
            sxx += x[i] * x[i];
            sxy += x[i] * y[i];
            kept++;
        }
    }
    double den = kept * sxx - sx * sx;
    if (kept >= 5 && den > 0) {
        slope = (kept * sxy - sx * sy) / den;
    }
    /* microseconds of transit gained per second of media = parts per million; a transit that
     * grows means the sender's seconds last longer than ours: its clock is slow */
    *ppm = -slope;
    *span_s = (double)d->windows;
    return WZP_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int wzp_sweep_run(const wzp_arrival *trace, size_t n, unsigned min_frames, unsigned max_frames,
                  wzp_sweep_result *out) {
    if (n == 0) {
        return WZP_ERR_EMPTY;
    }
    wzp_jb_config cfg = wzp_jb_default_config(false);
    cfg.min_frames = min_frames;
    cfg.initial_frames = min_frames;
    cfg.max_frames = max_frames;
    cfg.capacity = max_frames + 16 > cfg.capacity ? max_frames + 16 : cfg.capacity;
    cfg.max_payload = 1;
    wzp_jb *jb = NULL;
    double *delays = wzp_malloc(sizeof(double) * (n + 1));
    int rc = delays != NULL ? wzp_jb_new(&cfg, &jb) : WZP_ERR_NOMEM;
    if (rc != WZP_OK) {
        wzp_free(delays);
        return rc;
    }
    double fastest = INFINITY; /* the smallest transit: the delay no buffer could avoid */
    for (size_t i = 0; i < n; i++) {
        fastest = fmin(fastest, trace[i].arrival_ms - (double)trace[i].timestamp_ms);
    }
    memset(out, 0, sizeof(*out));
    out->min_frames = min_frames;
    out->max_frames = max_frames;
    static const uint8_t dummy = 0;
    size_t next = 0, nd = 0;
    double clock = trace[0].arrival_ms;
    uint32_t last_ts = trace[n - 1].timestamp_ms;
    for (unsigned guard = 0; guard < 4 * n + 1000; guard++) {
        while (next < n && trace[next].arrival_ms <= clock) {
            if (wzp_jb_insert(jb, trace[next].codec_id, trace[next].timestamp_ms, &dummy, 1,
                              (uint64_t)trace[next].arrival_ms) != WZP_OK) {
                rc = WZP_ERR_MALFORMED;
            }
            next++;
        }
        wzp_jb_out o;
        wzp_jb_pull(jb, &o);
        if (o.kind == WZP_JB_FRAME) {
            out->played++;
            delays[nd++] = clock - ((double)o.timestamp_ms + fastest);
        } else if (o.kind == WZP_JB_CONCEAL) {
            out->concealed++;
        }
        clock += o.duration_ms;
        if (next == n && o.kind != WZP_JB_BUFFERING && (int32_t)(o.timestamp_ms - last_ts) >= 0) {
            break; /* played (or concealed) up to the trace's last frame */
        }
        if (next == n && o.kind == WZP_JB_BUFFERING) {
            break;
        }
    }
    out->late = wzp_jb_get_stats(jb).late;
    if (nd > 0) {
        qsort(delays, nd, sizeof(double), cmp_double);
        out->delay_p50_ms = delays[nd / 2];
        out->delay_p95_ms = delays[nd * 95 / 100];
    }
    wzp_free(delays);
    wzp_jb_free(jb);
    return rc;
}
