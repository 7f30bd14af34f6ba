/* The impairment model of wzp-netsim (include/wzp/netsim.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/netsim.h"

/* xoshiro-style splitmix64: deterministic, good enough for simulation, never for keys */
static double uniform(wzp_netsim *n) {
    uint64_t z = (n->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0; /* [0, 1) */
}

static bool prob(double p) {
    return p >= 0 && p <= 1;
}

int wzp_netsim_check(const wzp_netsim_params *p) {
    if (!prob(p->loss) || !prob(p->ge_p) || !prob(p->ge_r) || !prob(p->ge_loss_good) ||
        !prob(p->ge_loss_bad) || !prob(p->dup) || !(p->delay_ms >= 0 && p->delay_ms <= 60000) ||
        !(p->jitter_ms >= 0 && p->jitter_ms <= 60000) ||
        !(p->rate_kbps >= 0 && p->rate_kbps <= 10e6) ||
        !(p->queue_ms >= 0 && p->queue_ms <= 60000)) {
        return WZP_ERR_OUT_OF_RANGE;
    }
    return WZP_OK;
}

void wzp_netsim_init(wzp_netsim *n, const wzp_netsim_params *p, uint64_t seed) {
    memset(n, 0, sizeof(*n));
    n->p = *p;
    n->rng = seed;
}

void wzp_netsim_set(wzp_netsim *n, const wzp_netsim_params *p) {
    n->p = *p;
}

size_t wzp_netsim_offer(wzp_netsim *n, size_t len, double now_ms, double out_ms[2]) {
    const wzp_netsim_params *p = &n->p;
    n->st.offered++;
    if (p->blackout) {
        n->st.lost_blackout++;
        return 0;
    }
    if (p->ge) { /* the state moves per packet, then the state's loss applies */
        n->ge_bad = n->ge_bad ? uniform(n) >= p->ge_r : uniform(n) < p->ge_p;
        if (uniform(n) < (n->ge_bad ? p->ge_loss_bad : p->ge_loss_good)) {
            n->st.lost_burst++;
            return 0;
        }
    } else if (p->loss > 0 && uniform(n) < p->loss) {
        n->st.lost_random++;
        return 0;
    }
    double t = now_ms;
    if (p->rate_kbps > 0) { /* serialise: wait for the link, then take len*8/rate */
        double start = n->link_free_ms > now_ms ? n->link_free_ms : now_ms;
        if (start - now_ms > p->queue_ms) {
            n->st.lost_queue++;
            return 0;
        }
        n->link_free_ms = start + (double)len * 8.0 / p->rate_kbps; /* kbit/s = bit/ms */
        t = n->link_free_ms;
    }
    t += p->delay_ms + (p->jitter_ms > 0 ? uniform(n) * p->jitter_ms : 0);
    if (!p->reorder && t < n->last_departure_ms) {
        t = n->last_departure_ms; /* jitter without reordering: never overtake */
    }
    n->last_departure_ms = t > n->last_departure_ms ? t : n->last_departure_ms;
    out_ms[0] = t;
    n->st.delivered++;
    if (p->dup > 0 && uniform(n) < p->dup) {
        out_ms[1] = t + 1.0; /* the copy right behind */
        n->st.duplicated++;
        return 2;
    }
    return 1;
}

/* ---- key=value and scenarios ---------------------------------------------------------------- */

static bool parse_num(const char *s, size_t len, double *out) {
    char buf[48];
    if (len == 0 || len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    double v = strtod(buf, &end);
    if (end != buf + len || !isfinite(v)) {
        return false;
    }
    *out = v;
    return true;
}

int wzp_netsim_set_kv(wzp_netsim_params *p, const char *kv, size_t len) {
    const char *eq = memchr(kv, '=', len);
    if (eq == NULL) {
        return WZP_ERR_MALFORMED;
    }
    size_t kl = (size_t)(eq - kv), vl = len - kl - 1;
    const char *v = eq + 1;
    wzp_netsim_params q = *p;
    double x = 0;
#define KEY(name) (kl == sizeof(name) - 1 && memcmp(kv, name, kl) == 0)
    if (KEY("ge")) { /* p,r,loss_good,loss_bad */
        double a[4];
        size_t start = 0, i = 0;
        for (size_t k = 0; k <= vl && i < 4; k++) {
            if (k == vl || v[k] == ',') {
                if (!parse_num(v + start, k - start, &a[i++])) {
                    return WZP_ERR_MALFORMED;
                }
                start = k + 1;
            }
        }
        if (i != 4 || start != vl + 1) {
            return WZP_ERR_MALFORMED;
        }
        q.ge = true;
        q.ge_p = a[0];
        q.ge_r = a[1];
        q.ge_loss_good = a[2];
        q.ge_loss_bad = a[3];
    } else if (!parse_num(v, vl, &x)) {
        return WZP_ERR_MALFORMED;
    } else if (KEY("loss")) {
        q.loss = x;
        q.ge = false;
    } else if (KEY("delay")) {
        q.delay_ms = x;
    } else if (KEY("jitter")) {
        q.jitter_ms = x;
    } else if (KEY("reorder") && (x == 0 || x == 1)) {
        q.reorder = x == 1;
    } else if (KEY("dup")) {
        q.dup = x;
    } else if (KEY("rate")) {
        q.rate_kbps = x;
    } else if (KEY("queue")) {
        q.queue_ms = x;
    } else if (KEY("blackout") && (x == 0 || x == 1)) {
        q.blackout = x == 1;
    } else {
        return WZP_ERR_MALFORMED;
    }
#undef KEY
    if (wzp_netsim_check(&q) != WZP_OK) {
        return WZP_ERR_OUT_OF_RANGE;
    }
    *p = q;
    return WZP_OK;
}

int wzp_netsim_parse_scenario(const char *text, size_t len, const wzp_netsim_params *base,
                              wzp_netsim_step *steps, size_t cap, size_t *n, unsigned *err_line) {
    wzp_netsim_params cur = *base;
    size_t count = 0, pos = 0;
    double last_at = -1;
    unsigned line = 0;
    *n = 0;
    while (pos < len) {
        line++;
        size_t end = pos;
        while (end < len && text[end] != '\n') {
            end++;
        }
        size_t stop = end;
        for (size_t k = pos; k < end; k++) {
            if (text[k] == '#') {
                stop = k;
                break;
            }
        }
        /* tokens separated by blanks: the first is the time, the rest key=value */
        size_t k = pos, tok = 0;
        wzp_netsim_step st = {0, cur};
        while (k < stop) {
            while (k < stop && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r')) {
                k++;
            }
            size_t t0 = k;
            while (k < stop && text[k] != ' ' && text[k] != '\t' && text[k] != '\r') {
                k++;
            }
            if (k == t0) {
                break;
            }
            int rc = WZP_OK;
            if (tok == 0) {
                rc = parse_num(text + t0, k - t0, &st.at_s) && st.at_s >= 0 && st.at_s >= last_at &&
                             st.at_s <= 86400
                         ? WZP_OK
                         : WZP_ERR_MALFORMED;
            } else {
                rc = wzp_netsim_set_kv(&st.p, text + t0, k - t0);
            }
            if (rc != WZP_OK) {
                *err_line = line;
                return rc;
            }
            tok++;
        }
        if (tok == 1) { /* a time and nothing to change */
            *err_line = line;
            return WZP_ERR_MALFORMED;
        }
        if (tok > 1) {
            if (count == cap) {
                *err_line = line;
                return WZP_ERR_TOO_MANY_ENTRIES;
            }
            steps[count++] = st;
            cur = st.p;
            last_at = st.at_s;
        }
        pos = end + 1;
    }
    *n = count;
    return WZP_OK;
}
