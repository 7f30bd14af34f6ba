/*
 * The impairment model of wzp-netsim (issue 8's hostile-network lab), sans-I/O: for each datagram
 * offered at time `now`, when (if ever) it leaves, and how many copies. Random loss,
 * Gilbert-Elliott burst loss, fixed delay, jitter with or without reordering, duplication, a
 * bandwidth cap with a queue limit, and blackouts; every random choice comes from a seeded
 * generator, so a run repeats exactly. The I/O (sockets, timers) lives in apps/wzp-netsim.
 */
#ifndef WZP_NETSIM_H
#define WZP_NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wzp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wzp_netsim_params {
    double loss;                      /* random loss probability, 0..1 */
    bool ge;                          /* Gilbert-Elliott instead of random loss: */
    double ge_p;                      /*   P(good -> bad) per packet */
    double ge_r;                      /*   P(bad -> good) per packet */
    double ge_loss_good, ge_loss_bad; /* loss probability in each state */
    double delay_ms;                  /* fixed one-way delay */
    double jitter_ms;                 /* uniform extra delay 0..jitter_ms */
    bool reorder;     /* false: jitter never reorders (a packet leaves after the one before) */
    double dup;       /* probability a packet is sent twice */
    double rate_kbps; /* bandwidth cap (0: none), serialising packets one after another */
    double queue_ms;  /* with a cap: a packet that would wait longer than this is dropped */
    bool blackout;    /* drop everything (scheduled blackouts set this) */
} wzp_netsim_params;

typedef struct wzp_netsim_stats {
    uint64_t offered, delivered, lost_random, lost_burst, lost_queue, lost_blackout, duplicated;
} wzp_netsim_stats;

typedef struct wzp_netsim {
    wzp_netsim_params p;
    uint64_t rng;
    bool ge_bad;
    double last_departure_ms; /* FIFO order without reordering */
    double link_free_ms;      /* the bandwidth cap's serialiser */
    wzp_netsim_stats st;
} wzp_netsim;

/* Defaults: no impairment. Errors from wzp_netsim_check: WZP_ERR_OUT_OF_RANGE. */
void wzp_netsim_init(wzp_netsim *n, const wzp_netsim_params *p, uint64_t seed);
WZP_MUST_CHECK int wzp_netsim_check(const wzp_netsim_params *p);
/* Change the parameters mid-run (a scenario step); the generator and queue state stay. */
void wzp_netsim_set(wzp_netsim *n, const wzp_netsim_params *p);
/* A datagram of `len` bytes offered at `now_ms`: writes 0, 1 or 2 departure times (ms). */
size_t wzp_netsim_offer(wzp_netsim *n, size_t len, double now_ms, double out_ms[2]);

/* A scenario: lines "SECONDS key=value ..." (keys as wzp-netsim's flags without the dashes:
 * loss, ge (p,r,loss_good,loss_bad), delay, jitter, reorder (0/1), dup, rate, queue, blackout
 * (0/1)), applied in order from that many seconds after the start; '#' starts a comment. */
#define WZP_NETSIM_MAX_STEPS 64
typedef struct wzp_netsim_step {
    double at_s;
    wzp_netsim_params p; /* the whole parameter set from then on */
} wzp_netsim_step;

/* Parse a scenario over `base` (the flags' settings). Errors: WZP_ERR_MALFORMED with the line
 * number in *err_line, WZP_ERR_TOO_MANY_ENTRIES, WZP_ERR_OUT_OF_RANGE. */
WZP_MUST_CHECK int wzp_netsim_parse_scenario(const char *text, size_t len,
                                             const wzp_netsim_params *base, wzp_netsim_step *steps,
                                             size_t cap, size_t *n, unsigned *err_line);
/* Apply one "key=value" to `p`. Errors: WZP_ERR_MALFORMED, WZP_ERR_OUT_OF_RANGE. */
WZP_MUST_CHECK int wzp_netsim_set_kv(wzp_netsim_params *p, const char *kv, size_t len);

/* wzp-netsim: the proxy (src/netsim/proxy.c). */
typedef struct wzp_netsim_options {
    const char *listen;   /* where clients send, "IP:port" */
    const char *upstream; /* where it all goes, "IP:port" */
    wzp_netsim_params params;
    uint64_t seed;
    int direction;     /* 0: client -> upstream only, 1: upstream -> client only, 2: both */
    double stats_s;    /* a JSON line of counters this often (0: only at the end) */
    double duration_s; /* stop by itself after this long (0: at SIGINT/SIGTERM) */
    wzp_netsim_step steps[WZP_NETSIM_MAX_STEPS];
    size_t nsteps;
    /* A NAT that rebinds: at this time each client's traffic goes on from a new source port
     * (0: never). The stats then say when the upstream first answered the new port. */
    double rebind_at_s;
    /* An on-path copier: every client datagram whose first byte is 0x04..0x3F (media, and QUIC
     * short headers whose fixed bit ngtcp2 greased) is also sent at once, ahead of the original,
     * from the copier's own socket; what the upstream sends that socket is counted, never passed
     * on. */
    bool copier;
} wzp_netsim_options;

/* Run the proxy in the foreground. Returns a process exit code. */
int wzp_netsim_run(const wzp_netsim_options *o, FILE *out, FILE *err);

#ifdef __cplusplus
}
#endif
#endif
