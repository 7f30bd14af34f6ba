/* What a call tells its user about itself (src/client/reports.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "client/reports.h"
#include "wzp/alloc.h"

#define SWEEP_MAX_FRAMES 30000 /* 10 minutes of 20 ms frames */

static const char *const tier_names[] = {"GOOD", "DEGRADED", "CATASTROPHIC"};

/* ---- arrivals ------------------------------------------------------------------------------- */

typedef struct peer_log {
    bool used;
    unsigned peer;
    wzp_drift *drift;   /* --drift-test */
    wzp_arrival *trace; /* --sweep */
    size_t n, cap;
} peer_log;

struct wzp_arrivals {
    bool drift, sweep;
    size_t cap;
    peer_log log[WZP_SESSION_MAX_PEERS];
};

int wzp_arrivals_new(bool drift, bool sweep, double seconds, wzp_arrivals **out) {
    wzp_arrivals *a = wzp_calloc(1, sizeof(*a));
    if (a == NULL) {
        return WZP_ERR_NOMEM;
    }
    a->drift = drift;
    a->sweep = sweep;
    a->cap = (size_t)(seconds * 50.0 * 1.2) + 100;
    a->cap = a->cap > SWEEP_MAX_FRAMES ? SWEEP_MAX_FRAMES : a->cap;
    *out = a;
    return WZP_OK;
}

void wzp_arrivals_free(wzp_arrivals *a) {
    for (size_t i = 0; a != NULL && i < WZP_SESSION_MAX_PEERS; i++) {
        wzp_free(a->log[i].drift);
        wzp_free(a->log[i].trace);
    }
    wzp_free(a);
}

/* The log of `peer`, started on its first frame (NULL when the table is full or out of memory). */
static peer_log *log_of(wzp_arrivals *a, unsigned peer) {
    peer_log *free_slot = NULL;
    for (size_t i = 0; i < WZP_SESSION_MAX_PEERS; i++) {
        if (a->log[i].used && a->log[i].peer == peer) {
            return &a->log[i];
        }
        free_slot = free_slot == NULL && !a->log[i].used ? &a->log[i] : free_slot;
    }
    if (free_slot == NULL) {
        return NULL;
    }
    free_slot->drift = a->drift ? wzp_malloc(sizeof(wzp_drift)) : NULL;
    free_slot->trace = a->sweep ? wzp_malloc(a->cap * sizeof(wzp_arrival)) : NULL;
    if ((a->drift && free_slot->drift == NULL) || (a->sweep && free_slot->trace == NULL)) {
        wzp_free(free_slot->drift);
        wzp_free(free_slot->trace);
        free_slot->drift = NULL;
        free_slot->trace = NULL;
        return NULL;
    }
    if (free_slot->drift != NULL) {
        wzp_drift_init(free_slot->drift);
    }
    free_slot->used = true;
    free_slot->peer = peer;
    free_slot->n = 0;
    free_slot->cap = a->cap;
    return free_slot;
}

void wzp_arrivals_add(wzp_arrivals *a, unsigned peer, uint32_t ts, uint8_t codec, bool recovered,
                      uint64_t arrival_us) {
    peer_log *l = log_of(a, peer);
    if (l == NULL) {
        return;
    }
    if (l->drift != NULL && !recovered) { /* a recovered frame arrived with a later packet */
        wzp_drift_add(l->drift, ts, arrival_us);
    }
    if (l->trace != NULL && l->n < l->cap) {
        l->trace[l->n++] = (wzp_arrival){ts, codec, (double)arrival_us / 1e3};
    }
}

/* ---- while the call runs -------------------------------------------------------------------- */

/* The contact a peer is, or NULL. */
static const wzp_contact *contact_of(const wzp_contacts *contacts, const wzp_peer_view *v) {
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    if (contacts == NULL || wzp_fingerprint_parse(v->fingerprint, fp) != WZP_OK) {
        return NULL;
    }
    return wzp_contacts_by_fp(contacts, fp);
}

void wzp_report_status(FILE *f, bool tty, const wzp_call_session *s, uint32_t rtt_ms,
                       const wzp_contacts *contacts) {
    wzp_peer_view v[WZP_SESSION_MAX_PEERS];
    size_t n = wzp_call_session_peers(s, v, WZP_SESSION_MAX_PEERS);
    double loss = 0, jitter = 0;
    unsigned depth = 0;
    size_t present = 0, verified = 0;
    for (size_t i = 0; i < n; i++) {
        present += v[i].present;
        verified += v[i].present && contact_of(contacts, &v[i]) != NULL;
        if (v[i].heard_valid) { /* the report the quality loop sent it this second */
            loss = fmax(loss, wzp_quality_report_loss_percent(&v[i].heard));
            jitter = fmax(jitter, v[i].heard.jitter_ms);
        }
        depth = v[i].stats.jb.depth_frames > depth ? v[i].stats.jb.depth_frames : depth;
    }
    wzp_tier tier = wzp_call_session_tier(s);
    fprintf(f,
            "%swzp: tier %s | peers %zu (%zu verified) | loss %.1f%% | rtt %u ms | jitter %.0f ms "
            "| buffer %u frames%s",
            tty ? "\r\033[K" : "", (unsigned)tier < 3 ? tier_names[tier] : "?", present, verified,
            loss, rtt_ms, jitter, depth, tty ? "" : "\n");
    fflush(f);
}

static cJSON *peer_json(const wzp_peer_view *v, const wzp_contact *k) {
    cJSON *j = cJSON_CreateObject();
    const wzp_call_decoder_stats *st = &v->stats;
    cJSON_AddStringToObject(j, "fingerprint", v->fingerprint);
    cJSON_AddBoolToObject(j, "verified", k != NULL);
    if (k != NULL) {
        cJSON_AddStringToObject(j, "contact", k->name);
    }
    cJSON_AddNumberToObject(j, "loss_pct",
                            v->heard_valid ? wzp_quality_report_loss_percent(&v->heard) : 0);
    cJSON_AddNumberToObject(j, "jitter_ms", st->jb.jitter_ms);
    cJSON_AddNumberToObject(j, "buffer_frames", st->jb.depth_frames);
    cJSON_AddNumberToObject(j, "playout_ts_ms", st->playout_ts_ms);
    cJSON_AddNumberToObject(j, "played", (double)st->frames_played);
    cJSON_AddNumberToObject(j, "recovered", (double)st->frames_recovered);
    cJSON_AddNumberToObject(j, "concealed", (double)st->frames_concealed);
    cJSON_AddNumberToObject(j, "late", (double)st->jb.late);
    cJSON_AddNumberToObject(j, "underruns", (double)st->jb.underruns);
    return j;
}

void wzp_report_metrics(FILE *f, const wzp_call_session *s, uint32_t rtt_ms,
                        const wzp_report_clock *c, const wzp_contacts *contacts) {
    cJSON *o = cJSON_CreateObject(), *peers = cJSON_AddArrayToObject(o, "peers");
    cJSON_AddNumberToObject(o, "t", (double)(c->now_ms - c->start_ms) / 1000.0);
    cJSON_AddNumberToObject(o, "unix_ms", c->unix_ms);
    if (wzp_call_session_frame_samples(s) > 0) {
        /* the media clock of what we send: with a peer's playout_ts_ms, the delay from our
         * microphone to its speaker */
        cJSON_AddNumberToObject(o, "media_ts_ms", (double)wzp_call_session_media_ts(s));
    }
    wzp_tier tier = wzp_call_session_tier(s);
    cJSON_AddStringToObject(o, "tier", (unsigned)tier < 3 ? tier_names[tier] : "?");
    cJSON_AddNumberToObject(o, "rtt_ms", rtt_ms);
    cJSON_AddNumberToObject(o, "send_skipped_ms", (double)(c->send_skipped / 48));
    cJSON_AddNumberToObject(o, "play_skipped_ms", (double)(c->play_skipped / 48));
    wzp_peer_view v[WZP_SESSION_MAX_PEERS];
    size_t n = wzp_call_session_peers(s, v, WZP_SESSION_MAX_PEERS);
    for (size_t i = 0; i < n; i++) {
        if (v[i].present) {
            cJSON_AddItemToArray(peers, peer_json(&v[i], contact_of(contacts, &v[i])));
        }
    }
    char *text = cJSON_PrintUnformatted(o);
    if (text != NULL) {
        fprintf(f, "%s\n", text);
        fflush(f);
        cJSON_free(text);
    }
    cJSON_Delete(o);
}

/* ---- at the end ----------------------------------------------------------------------------- */

/* --drift-test: the peer's clock against ours. */
static void drift_report(FILE *out, const char *fp, const peer_log *l) {
    double ppm = 0, span = 0;
    if (wzp_drift_ppm(l->drift, &ppm, &span) != WZP_OK) {
        fprintf(out, "wzp-client: clock drift of %s: not measured (under 5 s of its media)\n", fp);
        return;
    }
    fprintf(out,
            "wzp-client: clock drift of %s: %+.0f ppm (its clock runs %s: %+.2f ms per second "
            "against ours), over %.0f s of its media, %llu frames\n",
            fp, ppm, ppm >= 0 ? "fast" : "slow", ppm / 1000.0, span,
            (unsigned long long)l->drift->frames);
}

/* --sweep: the recorded arrivals through jitter buffers of fixed depths and the adaptive one. */
static void sweep_report(FILE *out, const char *fp, const peer_log *l) {
    static const unsigned fixed[] = {1, 2, 3, 4, 6, 8, 12, 16, 25};
    if (l->n < 50) {
        fprintf(out, "wzp-client: sweep of %s: too few frames (%zu)\n", fp, l->n);
        return;
    }
    fprintf(out,
            "wzp-client: jitter-buffer sweep over %zu frames from %s (depths in frames; delay "
            "beyond the fastest transit):\n"
            "  %-14s %8s %10s %6s %10s %10s\n",
            l->n, fp, "depth", "played", "concealed", "late", "delay p50", "delay p95");
    for (size_t i = 0; i <= sizeof(fixed) / sizeof(fixed[0]); i++) {
        bool adaptive = i == sizeof(fixed) / sizeof(fixed[0]);
        unsigned lo = adaptive ? WZP_JB_CLIENT_MIN : fixed[i];
        unsigned hi = adaptive ? WZP_JB_CLIENT_MAX : fixed[i];
        wzp_sweep_result r;
        if (wzp_sweep_run(l->trace, l->n, lo, hi, &r) != WZP_OK) {
            continue;
        }
        char name[32];
        snprintf(name, sizeof(name), adaptive ? "adaptive %u-%u" : "fixed %u", lo, hi);
        double all = (double)(r.played + r.concealed);
        fprintf(out, "  %-14s %8llu %9.2f%% %6llu %7.0f ms %7.0f ms\n", name,
                (unsigned long long)r.played, all > 0 ? 100.0 * (double)r.concealed / all : 0.0,
                (unsigned long long)r.late, r.delay_p50_ms, r.delay_p95_ms);
    }
}

/* What was heard from each peer, so a user (or a test) can tell a clean call from a concealed
 * one; then the drift and sweep tables. */
void wzp_report_final(FILE *out, FILE *err, const wzp_call_session *s, const wzp_arrivals *a) {
    wzp_peer_view v[WZP_SESSION_MAX_PEERS];
    size_t n = wzp_call_session_peers(s, v, WZP_SESSION_MAX_PEERS);
    for (size_t i = 0; i < n; i++) {
        const wzp_call_decoder_stats *st = &v[i].stats;
        fprintf(err,
                "wzp-client: from %s: %llu frames played, %llu recovered by FEC, %llu concealed, "
                "%llu late, jitter buffer underruns %llu, accelerated %llu, stretched %llu\n",
                v[i].fingerprint, (unsigned long long)st->frames_played,
                (unsigned long long)st->frames_recovered, (unsigned long long)st->frames_concealed,
                (unsigned long long)st->jb.late, (unsigned long long)st->jb.underruns,
                (unsigned long long)st->jb.accelerated, (unsigned long long)st->jb.stretched);
    }
    for (size_t i = 0; a != NULL && i < n; i++) {
        for (size_t k = 0; k < WZP_SESSION_MAX_PEERS; k++) {
            const peer_log *l = &a->log[k];
            if (l->used && l->peer == v[i].index && l->drift != NULL) {
                drift_report(out, v[i].fingerprint, l);
            }
            if (l->used && l->peer == v[i].index && l->trace != NULL) {
                sweep_report(out, v[i].fingerprint, l);
            }
        }
    }
}

void wzp_report_skipped(FILE *err, const wzp_report_clock *c) {
    if (c->send_skipped + c->play_skipped > 0) {
        /* what a listener heard as gaps was then this machine, not the network */
        fprintf(err,
                "wzp-client: this process fell behind real time (CPU starved): %llu ms of "
                "sending and %llu ms of playout skipped\n",
                (unsigned long long)(c->send_skipped / 48),
                (unsigned long long)(c->play_skipped / 48));
    }
}
