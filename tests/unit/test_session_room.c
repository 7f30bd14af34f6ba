/*
 * A room of three in simulated time, with no sockets: three call sessions (wzp/session.h) and the
 * relay core (wzp/relay_core.h), joined by simulated paths -- datagrams and signalling delayed
 * 15..20 ms, every datagram the relay forwards lost with probability 0.2 -- all of it driven by one
 * seed (the library's random source and the network's). Each member sends its own tone through the
 * whole chain: signed join, pairwise handshakes, sender keys (ratcheting every 100 frames here),
 * the quality loop, FEC, trunking at the relay, jitter buffers, the mix. Each member must hear the
 * other two tones at their frequency and level, and never its own; and the same seed must give the
 * same recordings, sample for sample. The same room again with one person on two devices, and with
 * a member who hangs up and dials in again, and with a member who stops talking.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>

#include "audio_util.h"
#include "testutil.h"
#include "call/session_internal.h"
#include "wzp/addr.h"
#include "wzp/random.h"
#include "wzp/relay_core.h"
#include "wzp/session.h"

#define N        3
#define SECONDS  9
#define SAMPLES  (SECONDS * 48000)
#define QUEUE    1024
#define MAX_ITEM 2048
#define LOSS_PCT 20
#define LATENCY  15  /* ms, plus 0..5 of jitter on datagrams */
#define TONE_AMP 0.3 /* -10.5 dBFS */
#define REKEY_AT 100 /* frames: the sender keys ratchet a few times a call */

/* Codec2 (CATASTROPHIC) carries pitch only up to about 400 Hz: a seed whose losses take member 2
 * there loses its 550 Hz tone (seed 14 does), so each test's seed is one that does not. */
static const double k_hz[N] = {330.0, 440.0, 550.0};

typedef struct item {
    uint64_t at;
    bool signal;
    bool from_copier; /* a copy of a member's datagram, re-sent from the copier's address */
    size_t len;
    uint8_t data[MAX_ITEM];
} item;

/* One direction of one member's link to the relay: a FIFO by delivery time (datagrams may be
 * reordered by their jitter: they are kept sorted on insertion). */
typedef struct lane {
    item *q; /* QUEUE items */
    size_t head, n;
} lane;

struct sim;

typedef struct sim_path {
    wzp_path base;
    struct sim *sim;
    int member;
    bool relay_side; /* the relay's end (sends down), or the member's (sends up) */
    uint8_t slot[WZP_PATH_MAX_DATAGRAM];
    uint8_t secret[32]; /* both ends of one link: their "TLS exporter" */
} sim_path;

/* What happens in the room besides the call. */
typedef struct scenario {
    bool shared_identity;                 /* members 1 and 2 are one person on two devices */
    uint64_t leave_at_ms, back_at_ms;     /* member 2 leaves, and comes back on a new connection */
    uint64_t quiet_at_ms;                 /* member 2 stops sending audio (stays in the room) */
    uint64_t roam_at_ms;                  /* member 2's address changes (a NAT's new port) */
    bool tap;                             /* capture what the relay forwards of member 0's media */
    uint64_t copy_from_ms, copy_until_ms; /* someone on member 2's path re-sends each of its
                                           * datagrams from its own address, ahead of it */
    bool lossless;                        /* no datagram lost (the key-change cost alone) */
    uint32_t epoch_ms;                    /* the members' sender-key time bound (0: default) */
} scenario;

typedef struct sim {
    scenario sc;
    uint64_t now, rng;
    wzp_relay_core *core;
    wzp_identity id[N];
    wzp_call_session *s[N];
    wzp_member *m[N];
    sim_path up[N], down[N]; /* the member's end, the relay's end */
    lane to_relay[N], to_member[N];
    struct sockaddr_storage addr[N]; /* where each member is now */
    struct sockaddr_storage copier;
    uint64_t to_copier, to_copier_bytes; /* what the relay sent the copier's address */
    uint64_t misdirected;                /* datagrams the relay sent where nobody is */
    uint64_t back_at_new_address;        /* when member 2 first heard the relay after its move */
    /* the tap: member 0's media as the relay forwarded it, when, under which epoch of its key */
    struct tapped {
        uint64_t at;
        uint32_t epoch;
        uint16_t len;
        uint8_t data[600];
    } * tapped;
    size_t ntapped;
    wzp_sender_key leaver_key;   /* member 0's key as member 2 held it when it left */
    wzp_sender_key newcomer_key; /* ... and as member 2 was first given it after it came back */
    bool has_newcomer_key;
    uint32_t new_epoch_ts; /* member 0's media clock when it started its next epoch */
    uint32_t back_ts;      /* ... when member 2 dialled in again */
    int16_t *rec[N];
    size_t nrec[N];
    uint64_t sent_samples[N];
    uint64_t lost, carried;
    wzp_tier tier_when_quiet;
    unsigned tier_changes_when_quiet; /* member 2's tier events after it stopped */
} sim;

static uint32_t rnd(sim *s) { /* xorshift64*: the network's own, from the seed */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (uint32_t)((s->rng * 2685821657736338717ull) >> 32);
}

static void enqueue(lane *l, uint64_t at, bool signal, const uint8_t *data, size_t len,
                    bool from_copier) {
    assert_true(l->n < QUEUE && len <= MAX_ITEM);
    size_t pos = l->n; /* keep delivery order: signals in order, datagrams by time */
    while (pos > 0 && l->q[(l->head + pos - 1) % QUEUE].at > at) {
        l->q[(l->head + pos) % QUEUE] = l->q[(l->head + pos - 1) % QUEUE];
        pos--;
    }
    item *it = &l->q[(l->head + pos) % QUEUE];
    it->at = at;
    it->signal = signal;
    it->from_copier = from_copier;
    it->len = len;
    memcpy(it->data, data, len);
    l->n++;
}

static lane *lane_of(sim_path *p) {
    return p->relay_side ? &p->sim->to_member[p->member] : &p->sim->to_relay[p->member];
}

static uint8_t *sim_slot(wzp_path *p) {
    return ((sim_path *)p)->slot;
}

static void sim_commit(wzp_path *p, size_t len) {
    sim_path *sp = (sim_path *)p;
    sim *s = sp->sim;
    if (len == 0) {
        return;
    }
    const struct sockaddr *to = (const struct sockaddr *)&p->remote;
    if (sp->relay_side && wzp_addr_equal(to, (const struct sockaddr *)&s->copier)) {
        s->to_copier++; /* the relay answers the copier: what it gets is all the attack gains */
        s->to_copier_bytes += len;
        return;
    }
    if (sp->relay_side && !wzp_addr_equal(to, (const struct sockaddr *)&s->addr[sp->member])) {
        s->misdirected++; /* to where the member was */
        return;
    }
    if (sp->relay_side && sp->member == 2 && s->sc.roam_at_ms != 0 && s->now >= s->sc.roam_at_ms &&
        s->back_at_new_address == 0) {
        s->back_at_new_address = s->now;
    }
    if (sp->relay_side && rnd(s) % 100 < LOSS_PCT && !s->sc.lossless) {
        s->lost++; /* every datagram the relay forwards: lost at 20% */
        return;
    }
    s->carried++;
    uint64_t at = s->now + LATENCY + rnd(s) % 6;
    if (!sp->relay_side && sp->member == 2 && s->now >= s->sc.copy_from_ms &&
        s->now < s->sc.copy_until_ms) {
        enqueue(lane_of(sp), at, false, sp->slot, len, true); /* the copy arrives first */
    }
    enqueue(lane_of(sp), at, false, sp->slot, len, false);
}

static int sim_signal(wzp_path *p, const uint8_t *json, size_t len) {
    sim_path *sp = (sim_path *)p;
    enqueue(lane_of(sp), sp->sim->now + LATENCY + 5, true, json, len, false); /* in order */
    return WZP_OK;
}

static int sim_export(wzp_path *p, const char *label, uint8_t out[32]) {
    sim_path *sp = (sim_path *)p;
    crypto_generichash(out, 32, (const uint8_t *)label, strlen(label), sp->secret, 32);
    return WZP_OK;
}

static uint32_t sim_rtt(const wzp_path *p) {
    (void)p;
    return 2 * LATENCY;
}

static void sim_close(wzp_path *p, const char *reason) {
    (void)p;
    fail_msg("a path was closed: %s", reason); /* nothing in this room is refused or idle */
}

static const wzp_path_ops sim_ops = {sim_slot,   sim_commit, sim_signal,
                                     sim_export, sim_rtt,    sim_close};

static void path_init(sim *s, sim_path *p, int member, bool relay_side, const uint8_t *secret) {
    memset(p, 0, sizeof(*p));
    p->base.ops = &sim_ops;
    p->base.kind = WZP_PATH_TEST;
    p->base.state = WZP_PATH_UP;
    p->base.mtu = WZP_PATH_MAX_DATAGRAM;
    p->sim = s;
    p->member = member;
    p->relay_side = relay_side;
    memcpy(p->secret, secret, 32);
    wzp_addr_copy(&p->base.remote, (const struct sockaddr *)&s->addr[member]);
}

/* Deliver what is due on every lane. */
static void deliver(sim *s) {
    for (int i = 0; i < N; i++) {
        lane *up = &s->to_relay[i], *down = &s->to_member[i];
        while (up->n > 0 && up->q[up->head].at <= s->now) {
            item *it = &up->q[up->head];
            up->head = (up->head + 1) % QUEUE;
            up->n--;
            if (it->signal) {
                wzp_signal *m = NULL;
                assert_int_equal(wzp_signal_decode(it->data, it->len, &m), 0);
                wzp_relay_core_on_signal(s->core, s->m[i], m, s->now);
                wzp_signal_free(m);
            } else {
                const struct sockaddr *from =
                    (const struct sockaddr *)(it->from_copier ? &s->copier : &s->addr[i]);
                assert_true(wzp_relay_core_on_datagram(s->core, it->data, it->len, from, s->now));
            }
        }
        while (down->n > 0 && down->q[down->head].at <= s->now) {
            item *it = &down->q[down->head];
            down->head = (down->head + 1) % QUEUE;
            down->n--;
            if (it->signal) {
                wzp_call_session_on_signal(s->s[i], 0, it->data, it->len, s->now);
            } else {
                wzp_call_session_on_datagram(s->s[i], 0, it->data, it->len, s->now);
            }
        }
    }
}

/* Every 20 ms: each member's tone frames as they come due, its timers, 20 ms of what it hears. */
static void media_tick(sim *s) {
    for (int i = 0; i < N; i++) {
        size_t fs = wzp_call_session_frame_samples(s->s[i]);
        uint64_t due = s->now * 48;
        int16_t pcm[WZP_MAX_FRAME_SAMPLES];
        if (i == 2 && s->sc.quiet_at_ms != 0 && s->now >= s->sc.quiet_at_ms) {
            fs = 0; /* it has stopped talking */
        }
        while (fs > 0 && s->sent_samples[i] < due) {
            tone(pcm, fs, k_hz[i], TONE_AMP, s->sent_samples[i]);
            int rc = wzp_call_session_push(s->s[i], pcm, fs, s->sent_samples[i] / 48);
            assert_int_equal(rc, wzp_call_session_joined(s->s[i]) ? WZP_OK : WZP_ERR_STATE);
            s->sent_samples[i] += fs;
        }
        wzp_call_session_tick(s->s[i], s->now);
        if (s->nrec[i] + WZP_SESSION_FRAME <= SAMPLES) {
            wzp_call_session_pull(s->s[i], s->rec[i] + s->nrec[i]);
            s->nrec[i] += WZP_SESSION_FRAME;
        }
    }
}

#define TAP_MAX 2000

static void on_tap(uint32_t sid, const uint8_t *pkt, size_t len, void *user) {
    sim *s = user;
    if (sid != wzp_call_session_media_id(s->s[0]) || s->ntapped == TAP_MAX || len > 600) {
        return;
    }
    struct tapped *t = &s->tapped[s->ntapped++];
    t->at = s->now;
    t->epoch = s->s[0]->my_key.epoch;
    t->len = (uint16_t)len;
    memcpy(t->data, pkt, len);
}

/* Member 0's sender key as member `i` holds it (false: it has none). */
static bool key_of_member0(sim *s, int i, wzp_sender_key *out) {
    for (size_t k = 0; k < WZP_SESSION_MAX_PEERS; k++) {
        const wzp__peer *p = &s->s[i]->peers[k];
        if (p->used && !p->left && p->has_key &&
            memcmp(p->fp, s->id[0].fingerprint, WZP_FINGERPRINT_SIZE) == 0) {
            *out = p->key;
            return true;
        }
    }
    return false;
}

static void start(sim *s, uint64_t seed) {
    static wzp_random_deterministic det;
    wzp_random_deterministic_init(&det, seed);
    wzp_random_source src = wzp_random_deterministic_source(&det);
    wzp_random_set(&src);
    s->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    wzp_relay_core_config cc = {.rooms = {16, 8, 15000}, .trunking = true};
    if (s->sc.tap) {
        s->tapped = test_malloc(TAP_MAX * sizeof(*s->tapped));
        cc.tap = on_tap;
        cc.tap_user = s;
    }
    assert_int_equal(wzp_relay_core_new(&cc, &s->core), 0);
    char sni[WZP_ROOM_SNI_TEXT];
    wzp_room_sni("sim", 3, sni);
    for (int i = 0; i < N; i++) {
        struct sockaddr_in *a = (struct sockaddr_in *)&s->addr[i];
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)(1000 + i));
        a->sin_addr.s_addr = htonl(0x0A000001u + (uint32_t)i);
        struct sockaddr_in *cp = (struct sockaddr_in *)&s->copier;
        cp->sin_family = AF_INET;
        cp->sin_port = htons(999);
        cp->sin_addr.s_addr = htonl(0x0A090909u);
        uint8_t secret[32];
        wzp_random_buf(secret, sizeof(secret));
        path_init(s, &s->up[i], i, false, secret);
        path_init(s, &s->down[i], i, true, secret);
        s->to_relay[i].q = test_malloc(QUEUE * sizeof(item));
        s->to_member[i].q = test_malloc(QUEUE * sizeof(item));
        s->rec[i] = test_calloc(SAMPLES, sizeof(int16_t));
        if (s->sc.shared_identity && i == 2) {
            s->id[i] = s->id[1];
        } else {
            assert_int_equal(wzp_identity_generate(&s->id[i]), 0);
        }
        wzp_call_session_config sc = wzp_call_session_default_config(&s->id[i]);
        sc.media.vad = sc.media.denoise = false; /* a tone is not noise */
        sc.rekey_frames = REKEY_AT;
        sc.epoch_ms = s->sc.epoch_ms;
        unsigned pid = 0;
        assert_int_equal(wzp_call_session_new(&sc, &s->s[i]), 0);
        assert_int_equal(wzp_call_session_add_path(s->s[i], &s->up[i].base, &pid), 0);
        assert_int_equal(pid, 0);
        assert_int_equal(wzp_relay_core_connect(s->core, sni, &s->down[i].base, 0, &s->m[i]), 0);
    }
}

static void stop(sim *s) {
    for (int i = 0; i < N; i++) {
        wzp_relay_core_disconnect(s->core, s->m[i], "done", s->now);
        wzp_call_session_free(s->s[i]);
        test_free(s->to_relay[i].q);
        test_free(s->to_member[i].q);
        test_free(s->rec[i]);
        if (!(s->sc.shared_identity && i == 2)) {
            wzp_identity_wipe(&s->id[i]);
        }
    }
    wzp_relay_core_free(s->core);
    if (s->tapped != NULL) {
        test_free(s->tapped);
    }
    wzp_random_set(NULL);
}

/* Member `i` hangs up: the relay sees its connection go, and what was in flight is lost. */
static void leave(sim *s, int i) {
    wzp_relay_core_disconnect(s->core, s->m[i], "hung up", s->now);
    wzp_call_session_path_down(s->s[i], 0);
    s->to_relay[i].n = s->to_member[i].n = 0;
}

/* Member `i` dials in again: a new connection (new exporter), a new session at the relay. */
static void come_back(sim *s, int i) {
    uint8_t secret[32];
    char sni[WZP_ROOM_SNI_TEXT];
    wzp_room_sni("sim", 3, sni);
    wzp_random_buf(secret, sizeof(secret));
    path_init(s, &s->up[i], i, false, secret);
    path_init(s, &s->down[i], i, true, secret);
    assert_int_equal(wzp_relay_core_connect(s->core, sni, &s->down[i].base, 0, &s->m[i]), 0);
    wzp_call_session_path_up(s->s[i], 0, s->now);
}

/* The call, in 1 ms steps: the members come in 100 ms apart. */
static void run_scenario(sim *s, uint64_t seed, const scenario *sc) {
    memset(s, 0, sizeof(*s));
    s->sc = *sc;
    start(s, seed);
    for (s->now = 0; s->now < SECONDS * 1000; s->now++) {
        for (int i = 0; i < N; i++) {
            if (s->now == (uint64_t)i * 100) {
                wzp_call_session_path_up(s->s[i], 0, s->now); /* its handshake is done */
            }
        }
        if (sc->tap && s->new_epoch_ts == 0 && s->s[0]->my_key.epoch > 1) {
            s->new_epoch_ts = wzp_call_session_media_ts(s->s[0]);
        }
        if (sc->tap && sc->back_at_ms != 0 && s->now == sc->back_at_ms) {
            s->back_ts = wzp_call_session_media_ts(s->s[0]);
        }
        if (sc->tap && sc->back_at_ms != 0 && s->now > sc->back_at_ms && !s->has_newcomer_key) {
            s->has_newcomer_key = key_of_member0(s, 2, &s->newcomer_key);
        }
        if (sc->tap && sc->leave_at_ms != 0 && s->now == sc->leave_at_ms) {
            assert_true(key_of_member0(s, 2, &s->leaver_key)); /* what it takes with it */
        }
        if (sc->leave_at_ms != 0 && s->now == sc->leave_at_ms) {
            leave(s, 2);
        }
        if (sc->back_at_ms != 0 && s->now == sc->back_at_ms) {
            come_back(s, 2);
        }
        if (sc->roam_at_ms != 0 && s->now == sc->roam_at_ms) { /* a NAT gave it a new port */
            ((struct sockaddr_in *)&s->addr[2])->sin_port = htons(2002);
        }
        if (sc->quiet_at_ms != 0 && s->now == sc->quiet_at_ms) {
            s->tier_when_quiet = wzp_call_session_tier(s->s[2]);
        }
        wzp_session_event ev;
        while (sc->quiet_at_ms != 0 && wzp_call_session_next_event(s->s[2], &ev)) {
            s->tier_changes_when_quiet += ev.type == WZP_EV_TIER && s->now > sc->quiet_at_ms;
        }
        deliver(s);
        if (s->now >= wzp_relay_core_next_tick(s->core)) {
            wzp_relay_core_tick(s->core, s->now);
        }
        if (s->now % 20 == 0) {
            media_tick(s);
        }
    }
}

static void run(sim *s, uint64_t seed) {
    const scenario plain = {0};
    run_scenario(s, seed, &plain);
}

/* dBFS of the `hz` component over `x` (a sine of amplitude A reads 20 log10(A)). */
static double tone_dbfs(const int16_t *x, size_t n, double hz) {
    return 10.0 * log10(4.0 * goertzel(x, n, hz) / (32768.0 * 32768.0) + 1e-30);
}

static void test_three_members_hear_each_other_through_20pct_loss(void **state) {
    (void)state;
    static sim s;
    run(&s, 42);
    print_message("simulated network: %llu datagrams carried, %llu lost by the relay's links\n",
                  (unsigned long long)s.carried, (unsigned long long)s.lost);
    for (int i = 0; i < N; i++) {
        wzp_peer_view v[N];
        size_t np = wzp_call_session_peers(s.s[i], v, N);
        wzp_session_stats st = wzp_call_session_stats(s.s[i]);
        assert_int_equal(np, N - 1); /* it has both others' sender keys */
        /* the last 4 s: the room settled, the quality loop has chosen its tier */
        const int16_t *tail = s.rec[i] + SAMPLES - 4 * 48000;
        for (int j = 0; j < N; j++) {
            double db = tone_dbfs(tail, 4 * 48000, k_hz[j]);
            double hz = j == i ? 0 : peak_frequency(tail, 4 * 48000, k_hz[j] - 5, k_hz[j] + 5);
            print_message("member %d hears %.0f Hz at %.1f dBFS (peak %.2f Hz)\n", i, k_hz[j], db,
                          hz);
            if (j == i) {
                assert_true(db < -50.0); /* its own voice never comes back */
            } else {
                assert_true(fabs(hz - k_hz[j]) < 1.0);
                assert_true(db > -14.5 && db < -8.5); /* sent at -10.5 dBFS: within 4 dB */
            }
        }
        uint64_t recovered = 0, concealed = 0, played = 0;
        for (size_t k = 0; k < np; k++) {
            recovered += v[k].stats.frames_recovered;
            concealed += v[k].stats.frames_concealed;
            played += v[k].stats.frames_played;
        }
        print_message("member %d: tier %d, %llu frames played, %llu recovered by FEC, %llu "
                      "concealed, %llu sender-key ratchets\n",
                      i, wzp_call_session_tier(s.s[i]), (unsigned long long)played,
                      (unsigned long long)recovered, (unsigned long long)concealed,
                      (unsigned long long)st.rekeys);
        assert_true(recovered > 50);          /* the loss was there, and FEC repaired it */
        assert_true(concealed * 20 < played); /* under 5% invented */
        assert_true(st.rekeys >= 2);          /* keys moved on; everyone followed */
    }
    stop(&s);
}

/* Over the last `seconds` of every recording: each member hears the others' tones at their
 * frequency and level, and never its own. */
static void assert_everyone_hears_the_others(const sim *s, int seconds) {
    for (int i = 0; i < N; i++) {
        const int16_t *tail = s->rec[i] + SAMPLES - (size_t)seconds * 48000;
        for (int j = 0; j < N; j++) {
            double db = tone_dbfs(tail, (size_t)seconds * 48000, k_hz[j]);
            print_message("member %d hears %.0f Hz at %.1f dBFS\n", i, k_hz[j], db);
            if (j == i) {
                assert_true(db < -50.0);
            } else {
                double hz = peak_frequency(tail, (size_t)seconds * 48000, k_hz[j] - 5, k_hz[j] + 5);
                assert_true(fabs(hz - k_hz[j]) < 1.0);
                assert_true(db > -14.5 && db < -8.5);
            }
        }
    }
}

/* One person in the room on two devices (members 1 and 2 share an identity): the relay tells
 * the devices apart by session, each device keys and hears the other, and everyone hears both. */
static void test_one_identity_on_two_devices_is_two_members(void **state) {
    (void)state;
    static sim s;
    const scenario sc = {.shared_identity = true};
    run_scenario(&s, 11, &sc);
    for (int i = 0; i < N; i++) {
        wzp_peer_view v[N];
        assert_int_equal(wzp_call_session_peers(s.s[i], v, N), N - 1);
    }
    assert_everyone_hears_the_others(&s, 4);
    stop(&s);
}

/* A member hangs up and dials in again (a new session, a new pair binding): the others forget
 * the old device, key with the new one and hear it again; it hears them. */
static void test_a_member_who_leaves_and_comes_back_is_heard_again(void **state) {
    (void)state;
    static sim s;
    const scenario sc = {.leave_at_ms = 3000, .back_at_ms = 4000};
    run_scenario(&s, 12, &sc);
    for (int i = 0; i < N; i++) {
        wzp_peer_view v[2 * N];
        size_t np = wzp_call_session_peers(s.s[i], v, 2 * N), present = 0;
        for (size_t k = 0; k < np; k++) {
            present += v[k].present;
            assert_true(v[k].present ? v[k].ready && v[k].media_id != 0 : !v[k].ready);
        }
        /* the old device left the others' rooms (kept for its statistics); member 2 left the
         * room itself, so it has the others twice: before and after */
        assert_int_equal(present, N - 1);
        assert_int_equal(np, i == 2 ? 2 * (N - 1) : N);
    }
    /* while it was away, the others did not hear it: its tone (-10 dBFS when there) is down to
     * the floor that Codec2 1200 (CATASTROPHIC, where the links' loss takes member 1) leaves at
     * 550 Hz from the distortion of member 1's 440 Hz tone: about -48 dBFS */
    for (int i = 0; i < 2; i++) {
        double away = tone_dbfs(s.rec[i] + 3300 * 48, 600 * 48, k_hz[2]);
        print_message("member %d hears %.0f Hz at %.1f dBFS while member 2 is away\n", i, k_hz[2],
                      away);
        assert_true(away < -40.0);
    }
    assert_everyone_hears_the_others(&s, 4);
    stop(&s);
}

/* Member 2 stops sending (the end of a tone, a pause): the others hear its silence and report
 * 100% loss for a while -- which says nothing about its path, so its tier stays. */
static void test_a_member_who_stops_talking_keeps_its_tier(void **state) {
    (void)state;
    static sim s;
    const scenario sc = {.quiet_at_ms = 5000};
    run_scenario(&s, 13, &sc);
    print_message("member 2: tier %d when it stopped, %u tier changes after\n", s.tier_when_quiet,
                  s.tier_changes_when_quiet);
    assert_int_equal(s.tier_changes_when_quiet, 0);
    assert_true(s.tier_when_quiet < WZP_TIER_CATASTROPHIC);
    stop(&s);
}

/* Someone on member 2's path re-sends each of its datagrams from its own address, ahead of it
 * (the originals then arrive as replays): the relay forwards the media, which is authentic, but
 * keeps sending member 2's audio home; the copier's address gets path challenges only, at most
 * one per WZP_RELAY_CHALLENGE_MS, which it cannot answer. */
static void test_a_copier_on_the_path_gets_only_challenges(void **state) {
    (void)state;
    static sim s;
    const scenario sc = {.copy_from_ms = 2000, .copy_until_ms = 6000};
    run_scenario(&s, 17, &sc);
    print_message("the copier's address got %llu datagrams (%llu bytes) in 4 s; %llu misdirected\n",
                  (unsigned long long)s.to_copier, (unsigned long long)s.to_copier_bytes,
                  (unsigned long long)s.misdirected);
    assert_true(s.to_copier > 0 && s.to_copier <= 4000 / WZP_RELAY_CHALLENGE_MS + 1);
    assert_true(s.to_copier_bytes == s.to_copier * (WZP_HOP_CHALLENGE_SIZE + WZP_HOP_OVERHEAD));
    assert_int_equal(s.misdirected, 0);
    assert_everyone_hears_the_others(&s, 4);
    stop(&s);
}

/* Member 2's NAT gives it a new port mid-call: the relay challenges the new address, member 2's
 * session answers from it, and the room's audio reaches it there within a round trip. */
static void test_a_member_whose_port_changes_hears_again_at_once(void **state) {
    (void)state;
    static sim s;
    const scenario sc = {.roam_at_ms = 4000};
    run_scenario(&s, 15, &sc);
    print_message(
        "member 2 moved at 4000 ms; the relay reached it at its new port at %llu ms; %llu "
        "datagrams went to the old one meanwhile\n",
        (unsigned long long)s.back_at_new_address, (unsigned long long)s.misdirected);
    assert_true(s.back_at_new_address >= 4000 && s.back_at_new_address < 4000 + 1000);
    assert_int_equal(s.to_copier, 0);
    assert_everyone_hears_the_others(&s, 4);
    stop(&s);
}

/* A decoder holding `key` -- and stepping its ratchet forward on an unknown key id, as someone
 * who kept their keys would -- fed every tapped packet: how many frames it opens with a media
 * timestamp before `ts`, and how many from `ts` on. */
static wzp_sender_key g_try;
static uint32_t g_ts;
static uint64_t g_opened[2]; /* before, from */

static bool try_ratchet(void *user, uint8_t key_id, uint64_t now_ms) {
    wzp_sender_key next = g_try;
    for (int step = 1; step <= 16; step++) {
        uint8_t key[WZP_KEY_SIZE], id;
        wzp_sender_key_ratchet(&next);
        wzp_sender_key_media(&next, key, &id);
        if (id == key_id) {
            wzp_call_decoder_add_key(user, key, id, now_ms);
            g_try = next;
            return true;
        }
    }
    return false;
}

static void count_opened(void *user, uint32_t ts, uint8_t codec, bool recovered) {
    (void)user;
    (void)codec;
    (void)recovered;
    g_opened[ts >= g_ts]++;
}

static void opened_with(const sim *s, const wzp_sender_key *key, uint32_t ts) {
    wzp_call_config cfg = wzp_call_default_config();
    wzp_call_decoder *dec = NULL;
    assert_int_equal(wzp_call_decoder_new(&cfg, &dec), 0);
    uint8_t k[WZP_KEY_SIZE], id;
    g_try = *key;
    g_ts = ts;
    g_opened[0] = g_opened[1] = 0;
    wzp_sender_key_media(key, k, &id);
    wzp_call_decoder_add_key(dec, k, id, 0);
    wzp_call_decoder_on_unknown_key(dec, try_ratchet, dec);
    wzp_call_decoder_observe(dec, count_opened, NULL);
    for (size_t i = 0; i < s->ntapped; i++) {
        const struct tapped *t = &s->tapped[i];
        assert_int_equal(wzp_call_decoder_receive(dec, t->data, t->len, t->at), 0);
    }
    wzp_call_decoder_free(dec);
    wzp_sender_key_wipe(&g_try);
}

/* Member 2 leaves at 3 s and comes back at 4 s. Member 0 starts a new epoch (a fresh sender key,
 * to those still there) when it learns of the leave, and steps its ratchet when member 2 comes
 * back. Fed all that the relay forwarded of member 0's media (a tap), the key member 2 took with
 * it -- ratcheted forward as far as it likes -- opens no frame member 0 said in the new epoch,
 * and the key it was given on its return opens none said before it dialled in; those still in
 * the room lose no frame to the key changes. */
static void test_a_leaver_and_a_newcomer_read_nothing_outside_their_stay(void **state) {
    (void)state;
    static sim s;
    const scenario sc = {.leave_at_ms = 3000, .back_at_ms = 4000, .tap = true};
    run_scenario(&s, 12, &sc);
    assert_true(s.has_newcomer_key && s.new_epoch_ts > 0 && s.back_ts > s.new_epoch_ts);
    opened_with(&s, &s.leaver_key, s.new_epoch_ts);
    uint64_t leaver_before = g_opened[0], leaver_after = g_opened[1];
    opened_with(&s, &s.newcomer_key, s.back_ts);
    uint64_t newcomer_before = g_opened[0], newcomer_after = g_opened[1];
    wzp_session_stats st0 = wzp_call_session_stats(s.s[0]);
    print_message("member 0: %llu new epoch(s) (at media %u ms), %llu ratchet steps; of %zu "
                  "packets, the leaver's key opens %llu frames from before the epoch, %llu after; "
                  "the newcomer's key %llu from before it dialled in (media %u ms), %llu after\n",
                  (unsigned long long)st0.epochs, s.new_epoch_ts, (unsigned long long)st0.rekeys,
                  s.ntapped, (unsigned long long)leaver_before, (unsigned long long)leaver_after,
                  (unsigned long long)newcomer_before, s.back_ts,
                  (unsigned long long)newcomer_after);
    assert_int_equal(st0.epochs, 1);
    assert_true(leaver_before > 0 && newcomer_after > 100); /* the keys are the right ones */
    assert_int_equal(leaver_after, 0);
    assert_int_equal(newcomer_before, 0);
    /* member 1 heard member 0 through both key changes without a frame refused */
    wzp_peer_view v[2 * N];
    size_t np = wzp_call_session_peers(s.s[1], v, 2 * N);
    bool seen = false;
    for (size_t k = 0; k < np; k++) {
        if (v[k].present && v[k].media_id == wzp_call_session_media_id(s.s[0])) {
            print_message("member 1 from member 0: %llu frames held for a new key, %llu opened "
                          "when it came, %llu refused\n",
                          (unsigned long long)v[k].stats.frames_held,
                          (unsigned long long)v[k].stats.frames_held_opened,
                          (unsigned long long)v[k].stats.auth_failures);
            assert_int_equal(v[k].stats.auth_failures, 0);
            seen = true;
        }
    }
    assert_true(seen);
    assert_everyone_hears_the_others(&s, 4);
    wzp_sender_key_wipe(&s.leaver_key);
    wzp_sender_key_wipe(&s.newcomer_key);
    stop(&s);
}

/* What a key change costs the listeners: a lossless room, member 2 leaving at 3 s and coming
 * back at 4 s (an epoch and a ratchet step for the others), and every sender's time bound at
 * 1.5 s (five more epochs each): member 1 conceals not one frame of member 0's more than in the
 * same room with none of that -- frames that arrive ahead of their key are held, not dropped. */
static void test_key_changes_cost_no_frames(void **state) {
    (void)state;
    static sim base, changes;
    const scenario quiet = {.lossless = true};
    const scenario busy = {
        .lossless = true, .leave_at_ms = 3000, .back_at_ms = 4000, .epoch_ms = 1500};
    run_scenario(&base, 12, &quiet);
    run_scenario(&changes, 12, &busy);
    uint64_t concealed[2] = {0, 0}, held[2] = {0, 0}, played[2] = {0, 0};
    sim *runs[2] = {&base, &changes};
    for (int r = 0; r < 2; r++) {
        wzp_peer_view v[2 * N];
        size_t np = wzp_call_session_peers(runs[r]->s[1], v, 2 * N);
        for (size_t k = 0; k < np; k++) {
            if (v[k].media_id == wzp_call_session_media_id(runs[r]->s[0])) {
                concealed[r] = v[k].stats.frames_concealed;
                held[r] = v[k].stats.frames_held;
                played[r] = v[k].stats.frames_played;
                assert_int_equal(v[k].stats.auth_failures, 0);
            }
        }
    }
    wzp_session_stats st = wzp_call_session_stats(changes.s[0]);
    print_message("member 1 hears member 0: without key changes %llu played, %llu concealed; "
                  "with %llu epochs and %llu ratchet steps of member 0's key, %llu played, %llu "
                  "concealed, %llu held for their key\n",
                  (unsigned long long)played[0], (unsigned long long)concealed[0],
                  (unsigned long long)st.epochs, (unsigned long long)st.rekeys,
                  (unsigned long long)played[1], (unsigned long long)concealed[1],
                  (unsigned long long)held[1]);
    assert_true(st.epochs >= 5);
    assert_true(played[1] > 350);
    assert_true(concealed[1] <= concealed[0]);
    stop(&base);
    stop(&changes);
}

static void test_room_is_deterministic_from_its_seed(void **state) {
    (void)state;
    static sim a, b;
    run(&a, 7);
    run(&b, 7);
    for (int i = 0; i < N; i++) {
        assert_int_equal(a.nrec[i], b.nrec[i]);
        assert_memory_equal(a.rec[i], b.rec[i], a.nrec[i] * sizeof(int16_t));
    }
    assert_int_equal(a.lost, b.lost);
    stop(&b);
    run(&b, 8); /* another seed: another loss pattern, other keys, other bytes */
    assert_true(a.lost != b.lost || memcmp(a.rec[0], b.rec[0], a.nrec[0] * sizeof(int16_t)) != 0);
    stop(&a);
    stop(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_members_hear_each_other_through_20pct_loss),
        cmocka_unit_test(test_key_changes_cost_no_frames),
        cmocka_unit_test(test_room_is_deterministic_from_its_seed),
        cmocka_unit_test(test_one_identity_on_two_devices_is_two_members),
        cmocka_unit_test(test_a_member_who_leaves_and_comes_back_is_heard_again),
        cmocka_unit_test(test_a_member_who_stops_talking_keeps_its_tier),
        cmocka_unit_test(test_a_copier_on_the_path_gets_only_challenges),
        cmocka_unit_test(test_a_leaver_and_a_newcomer_read_nothing_outside_their_stay),
        cmocka_unit_test(test_a_member_whose_port_changes_hears_again_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
