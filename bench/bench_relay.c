/*
 * `wzp-bench relay`: the relay under load, against the physical limit, in one run.
 *
 * The real relay (the wzp-relay binary next to wzp-bench) is started on loopback; N clients, each
 * a call session (wzp/session.h, in raw mode: no codecs) on its own UDP socket with its own QUIC
 * connection, join M rooms (N / M members each: the room by TLS SNI, a signed join, a media
 * session with hop keys). Once all are in, each sends a 100-byte media packet every 20 ms
 * (hop-sealed by its session, as any client's) for the measured seconds; the
 * relay forwards it to the other members of its room. Measured: packets forwarded per second,
 * the relay's CPU (from /proc: user + system over the window), its resident memory, and the
 * latency of each forwarded packet (sender's send to receiver's receive, both in this process:
 * p50, p99, p99.9). The baseline: the same sockets and traffic through a minimal forwarder
 * (a child process, recvmmsg/sendmmsg in batches of 64, no QUIC, no crypto, the room table
 * fixed in advance) -- what the kernel's loopback allows. Ratios are relay / baseline.
 */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "bench.h"
#include "bench_util.h"
#include "wzp/crypto.h"
#include "wzp/quic.h"
#include "wzp/session.h"
#include "wzp/addr.h"

#define PAYLOAD     100
#define SLICES      10 /* the 20 ms period is sent in 10 slices of 2 ms */
#define CONNECTING  32 /* handshakes in flight at once */
#define HIST_LINEAR 2000
#define HIST_SIZE   (HIST_LINEAR + 2000) /* 1 us to 2 ms, then 100 us steps to 202 ms */
#define BATCH       64

extern char **environ;

typedef struct hist {
    uint64_t n[HIST_SIZE + 1];
    uint64_t count;
} hist;

static void hist_add(hist *h, double us) {
    size_t b = us < HIST_LINEAR ? (size_t)(us < 0 ? 0 : us)
                                : HIST_LINEAR + (size_t)((us - HIST_LINEAR) / 100.0);
    h->n[b < HIST_SIZE ? b : HIST_SIZE]++;
    h->count++;
}

static double hist_pct(const hist *h, double p) {
    uint64_t want = (uint64_t)((double)h->count * p), seen = 0;
    for (size_t b = 0; b <= HIST_SIZE; b++) {
        seen += h->n[b];
        if (seen > want) {
            return b < HIST_LINEAR ? (double)b : HIST_LINEAR + (double)(b - HIST_LINEAR) * 100.0;
        }
    }
    return -1;
}

typedef struct run_result {
    double pps_forwarded, cpu_pct, rss_mb, hwm_mb, p50, p99, p999;
    uint64_t sent, received;
} run_result;

/* utime + stime (seconds) and VmRSS / VmHWM (MiB) of a process. */
static double proc_cpu_s(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        if (f) {
            fclose(f);
        }
        return 0;
    }
    fclose(f);
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
        return 0;
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double proc_mem_mb(pid_t pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    double kb = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, field, strlen(field)) == 0) {
            kb = atof(line + strlen(field) + 1);
        }
    }
    if (f) {
        fclose(f);
    }
    return kb / 1024.0;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the relay run --------------------------------------------------------------------- */

/* A client: a call session in raw mode (the room membership, the signed join and the hop keys of
 * any call, without codecs) on its own socket and QUIC connection. */
typedef struct bclient {
    wzp_quic_endpoint *ep;
    wzp_quic_path path;
    wzp_call_session *s;
    wzp_identity id;
    bool ready, failed;
    unsigned room;
} bclient;

static struct {
    uv_loop_t loop;
    uv_timer_t tick;
    bclient *c;
    unsigned n, rooms, ready, failed, started, slice;
    uint64_t next_slice_ns;
    char addr[64];
    uint8_t pin[32];
    bool measuring;
    uint64_t sent, received;
    hist h;
} R;

static void start_next(void);

/* What the relay forwarded to us: its send time is in the payload. */
static void on_media(void *user, uint32_t sender, const uint8_t *pkt, size_t len) {
    (void)user;
    (void)sender;
    if (R.measuring && len >= 16) {
        uint64_t sent;
        memcpy(&sent, pkt, sizeof(sent));
        hist_add(&R.h, (double)(now_ns() - sent) / 1000.0);
        R.received++;
    }
}

static int rc_on_established(wzp_quic_conn *c, const char *sni, void *user) {
    bclient *cl = user;
    (void)c;
    (void)sni;
    cl->path.base.state = WZP_PATH_UP;
    wzp_call_session_path_up(cl->s, 0, uv_now(&R.loop));
    return 0;
}

static void rc_on_signal(wzp_quic_conn *c, const uint8_t *json, size_t len, void *user) {
    bclient *cl = user;
    (void)c;
    wzp_call_session_on_signal(cl->s, 0, json, len, uv_now(&R.loop));
    if (!cl->ready && wzp_call_session_joined(cl->s)) {
        cl->ready = true;
        R.ready++;
        start_next();
    }
}

static void rc_on_closed(wzp_quic_conn *c, int error, const char *reason, void *user) {
    bclient *cl = user;
    (void)c;
    (void)error;
    (void)reason;
    cl->path.conn = NULL;
    wzp_call_session_path_down(cl->s, 0);
    if (!cl->ready && !cl->failed) {
        cl->failed = true;
        R.failed++;
        start_next();
    }
}

static bool rc_on_datagram(wzp_quic_endpoint *ep, const uint8_t *data, size_t len,
                           const struct sockaddr *from, void *user) {
    bclient *cl = user;
    (void)ep;
    (void)from;
    wzp_call_session_on_datagram(cl->s, 0, data, len, uv_now(&R.loop));
    return true;
}

static int client_start(bclient *cl) {
    char room[32], sni[WZP_ROOM_SNI_TEXT];
    snprintf(room, sizeof(room), "bench-%u", cl->room);
    wzp_room_sni(room, strlen(room), sni);
    wzp_quic_config qc = {
        .bind = "127.0.0.1:0",
        .cb = {cl, rc_on_established, rc_on_signal, rc_on_closed, rc_on_datagram}};
    wzp_quic_conn *conn = NULL;
    unsigned id = 0;
    int rc = wzp_identity_generate(&cl->id);
    if (rc == WZP_OK) {
        wzp_call_session_config sc = wzp_call_session_default_config(&cl->id);
        sc.alias = "bench";
        sc.raw = true;
        sc.trunking = false;
        sc.on_media = on_media;
        rc = wzp_call_session_new(&sc, &cl->s);
    }
    if (rc == WZP_OK) {
        rc = wzp_quic_endpoint_new(&R.loop, &qc, &cl->ep);
    }
    if (rc == WZP_OK) {
        rc = wzp_quic_connect(cl->ep, R.addr, sni, R.pin, &conn);
    }
    if (rc == WZP_OK) {
        wzp_quic_path_init(&cl->path, cl->ep, conn);
        rc = wzp_call_session_add_path(cl->s, &cl->path.base, &id);
    }
    return rc;
}

static void start_next(void) {
    while (R.started < R.n && R.started - R.ready - R.failed < CONNECTING) {
        bclient *cl = &R.c[R.started++];
        if (client_start(cl) != WZP_OK) {
            cl->failed = true;
            R.failed++;
        }
    }
}

/* Every 2 ms, a tenth of the clients send their packet of this 20 ms period. */
static void rc_on_tick(uv_timer_t *t) {
    (void)t;
    uint8_t pkt[PAYLOAD];
    memset(pkt, 0x5a, sizeof(pkt));
    /* by the clock, not by timer callbacks: a late tick sends every slice that is due */
    for (uint64_t now = now_ns(); R.next_slice_ns <= now; R.next_slice_ns += 2000000) {
        for (unsigned i = R.slice; i < R.n; i += SLICES) {
            bclient *cl = &R.c[i];
            if (!cl->ready) {
                continue;
            }
            uint64_t ts = now_ns();
            memcpy(pkt, &ts, sizeof(ts));
            if (wzp_call_session_send_media(cl->s, pkt, sizeof(pkt)) == WZP_OK) {
                R.sent += R.measuring;
            }
        }
        R.slice = (R.slice + 1) % SLICES;
    }
}

static void run_until(uint64_t deadline_ns, bool (*done)(void)) {
    while (now_ns() < deadline_ns && (done == NULL || !done())) {
        uv_run(&R.loop, UV_RUN_ONCE);
    }
}

static bool all_in(void) {
    return R.ready + R.failed == R.n;
}

/* Start the wzp-relay next to us; its port and fingerprint from its output. */
static pid_t spawn_relay(const char *self_dir, const char *tmp, unsigned n, unsigned per_room,
                         FILE *human) {
    char bin[4096], id[4200], sessions[16], per[16];
    snprintf(bin, sizeof(bin), "%s/wzp-relay", self_dir ? self_dir : ".");
    snprintf(id, sizeof(id), "%s/relay-id", tmp);
    snprintf(sessions, sizeof(sessions), "%u", n + 16);
    snprintf(per, sizeof(per), "%u", per_room);
    char log[4200];
    snprintf(log, sizeof(log), "%s/relay.out", tmp);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    /* every bench client comes from 127.0.0.1: no per-address limit */
    char *argv[] = {bin,
                    "--listen",
                    "127.0.0.1:0",
                    "--identity",
                    id,
                    "--max-sessions",
                    sessions,
                    "--max-per-room",
                    per,
                    "--metrics-listen",
                    "127.0.0.1:0",
                    "--max-per-address",
                    "0",
                    NULL};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(human, "relay bench: cannot start %s: %s\n", bin, strerror(rc));
        return -1;
    }
    bool port = false, fp = false;
    for (int tries = 0; tries < 100 && (!port || !fp); tries++) { /* 10 s at most */
        usleep(100000);
        FILE *f = fopen(log, "r");
        char line[512];
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            const char *l = strstr(line, "listening on 127.0.0.1:");
            if (l != NULL) {
                snprintf(R.addr, sizeof(R.addr), "127.0.0.1:%d", atoi(l + 23));
                port = true;
            }
            if (strncmp(line, "TLS fingerprint: ", 17) == 0 &&
                wzp_tls_fingerprint_parse(strtok(line + 17, " \n"), R.pin) == WZP_OK) {
                fp = true;
            }
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    if (!port || !fp) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        fprintf(human, "relay bench: the relay did not start\n");
        return -1;
    }
    return pid;
}

static int relay_run(const char *self_dir, unsigned n, unsigned rooms, unsigned seconds,
                     FILE *human, run_result *res) {
    char tmp[] = "/tmp/wzp-bench-relay-XXXXXX";
    if (mkdtemp(tmp) == NULL) {
        return WZP_ERR_IO;
    }
    memset(&R, 0, sizeof(R));
    R.n = n;
    R.rooms = rooms;
    pid_t pid = spawn_relay(self_dir, tmp, n, n / rooms + 1, human);
    char idpath[4200];
    snprintf(idpath, sizeof(idpath), "%s/relay-id", tmp);
    if (pid < 0) {
        unlink(idpath);
        snprintf(idpath, sizeof(idpath), "%s/relay.out", tmp);
        unlink(idpath);
        rmdir(tmp);
        return WZP_ERR_IO;
    }
    int rc = WZP_OK;
    R.c = calloc(n, sizeof(bclient));
    uv_loop_init(&R.loop);
    uv_timer_init(&R.loop, &R.tick);
    for (unsigned i = 0; R.c != NULL && i < n; i++) {
        R.c[i].room = i % rooms;
    }
    double t0 = bench_now_us();
    if (rc == WZP_OK && R.c != NULL) {
        start_next();
        run_until(now_ns() + 120ull * 1000000000ull, all_in);
    }
    fprintf(human, "relay: %u of %u clients joined %u rooms in %.1f s (%u failed)\n", R.ready, n,
            rooms, (bench_now_us() - t0) / 1e6, R.failed);
    if (R.ready == n) {
        R.next_slice_ns = now_ns();
        uv_timer_start(&R.tick, rc_on_tick, 1, 1);
        run_until(now_ns() + 2000000000ull, NULL); /* warm up */
        double cpu0 = proc_cpu_s(pid);
        uint64_t w0 = now_ns();
        R.measuring = true;
        run_until(w0 + (uint64_t)seconds * 1000000000ull, NULL);
        R.measuring = false;
        double wall = (double)(now_ns() - w0) / 1e9;
        res->cpu_pct = 100.0 * (proc_cpu_s(pid) - cpu0) / wall;
        res->rss_mb = proc_mem_mb(pid, "VmRSS:");
        res->hwm_mb = proc_mem_mb(pid, "VmHWM:");
        run_until(now_ns() + 200000000ull, NULL); /* the last packets in flight */
        res->sent = R.sent;
        res->received = R.received;
        res->pps_forwarded = (double)R.received / wall;
        res->p50 = hist_pct(&R.h, 0.5);
        res->p99 = hist_pct(&R.h, 0.99);
        res->p999 = hist_pct(&R.h, 0.999);
        uv_timer_stop(&R.tick);
    } else {
        rc = WZP_ERR_IO;
    }
    for (unsigned i = 0; R.c != NULL && i < n; i++) {
        if (R.c[i].ep != NULL) {
            wzp_quic_endpoint_free(R.c[i].ep);
        }
        wzp_call_session_free(R.c[i].s);
        wzp_identity_wipe(&R.c[i].id);
    }
    uv_close((uv_handle_t *)&R.tick, NULL);
    uv_run(&R.loop, UV_RUN_DEFAULT);
    uv_loop_close(&R.loop);
    free(R.c);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    unlink(idpath);
    snprintf(idpath, sizeof(idpath), "%s/relay.out", tmp);
    unlink(idpath);
    rmdir(tmp);
    return rc;
}

/* ---- the baseline: a minimal recvmmsg/sendmmsg forwarder ----------------------------------- */

/* Child process: packets start with the sender's index (4 bytes); each goes to the other members
 * of its room (index % rooms), at the addresses learned from their own packets. */
static void forwarder(int fd, unsigned n, unsigned rooms) {
    struct sockaddr_in *addr = calloc(n, sizeof(*addr));
    bool *known = calloc(n, sizeof(bool));
    static uint8_t in[BATCH][PAYLOAD + 64], out[BATCH * 8][PAYLOAD + 64];
    struct mmsghdr rm[BATCH], sm[BATCH * 8];
    struct iovec riov[BATCH], siov[BATCH * 8];
    struct sockaddr_in from[BATCH];
    if (addr == NULL || known == NULL) {
        _exit(1);
    }
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            riov[i] = (struct iovec){in[i], sizeof(in[i])};
            rm[i].msg_hdr = (struct msghdr){&from[i], sizeof(from[i]), &riov[i], 1, NULL, 0, 0};
        }
        int got = recvmmsg(fd, rm, BATCH, MSG_WAITFORONE, NULL);
        if (got <= 0) {
            if (got < 0 && errno != EINTR) {
                _exit(0);
            }
            continue;
        }
        int ns = 0;
        for (int i = 0; i < got; i++) {
            if (rm[i].msg_len < 4) {
                continue;
            }
            uint32_t s = (uint32_t)in[i][0] << 24 | (uint32_t)in[i][1] << 16 |
                         (uint32_t)in[i][2] << 8 | in[i][3];
            if (s >= n) {
                continue;
            }
            addr[s] = from[i];
            known[s] = true;
            for (uint32_t m = s % rooms; m < n; m += rooms) {
                if (m == s || !known[m] || ns == BATCH * 8) {
                    continue;
                }
                memcpy(out[ns], in[i], rm[i].msg_len); /* the relay prefixes the sender too */
                siov[ns] = (struct iovec){out[ns], rm[i].msg_len};
                sm[ns].msg_hdr =
                    (struct msghdr){&addr[m], sizeof(addr[m]), &siov[ns], 1, NULL, 0, 0};
                ns++;
            }
        }
        for (int off = 0; off < ns;) {
            int k = sendmmsg(fd, sm + off, (unsigned)(ns - off), 0);
            off += k > 0 ? k : ns - off; /* a full socket buffer drops the rest, as UDP does */
        }
    }
}

/* The forwarder is forked first, while this process is small: its memory is its own. */
static pid_t start_forwarder(unsigned n, unsigned rooms, struct sockaddr_in *fa) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    *fa = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t fl = sizeof(*fa);
    int big = 4 << 20;
    if (fd < 0 || bind(fd, (struct sockaddr *)fa, sizeof(*fa)) != 0 ||
        getsockname(fd, (struct sockaddr *)fa, &fl) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    pid_t pid = fork();
    if (pid == 0) {
        forwarder(fd, n, rooms);
        _exit(0);
    }
    close(fd);
    return pid;
}

static int baseline_run(pid_t pid, struct sockaddr_in fa, unsigned n, unsigned seconds,
                        run_result *res) {
    int *socks = calloc(n, sizeof(int));
    int ep = epoll_create1(0);
    hist *h = calloc(1, sizeof(hist));
    int rc = socks != NULL && h != NULL && ep >= 0 ? WZP_OK : WZP_ERR_NOMEM;
    for (unsigned i = 0; rc == WZP_OK && i < n; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socks[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        if (socks[i] < 0 || bind(socks[i], (struct sockaddr *)&a, sizeof(a)) != 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, socks[i], &ev) != 0) {
            rc = WZP_ERR_IO;
        }
    }
    uint8_t pkt[PAYLOAD + 4];
    memset(pkt, 0x5a, sizeof(pkt));
    uint64_t start = now_ns(), next = start, w0 = start + 2000000000ull,
             end = w0 + (uint64_t)seconds * 1000000000ull, sent = 0, received = 0;
    double cpu0 = 0;
    bool measuring = false;
    unsigned slice = 0;
    while (rc == WZP_OK && now_ns() < end + 200000000ull) {
        uint64_t now = now_ns();
        if (!measuring && now >= w0 && now < end) {
            measuring = true;
            cpu0 = proc_cpu_s(pid);
        }
        if (measuring && now >= end) {
            double wall = (double)(now - w0) / 1e9;
            res->cpu_pct = 100.0 * (proc_cpu_s(pid) - cpu0) / wall;
            res->rss_mb = proc_mem_mb(pid, "VmRSS:");
            res->hwm_mb = proc_mem_mb(pid, "VmHWM:");
            res->pps_forwarded = (double)received / wall;
            measuring = false;
        }
        if (now >= next && now < end) {
            for (unsigned i = slice; i < n; i += SLICES) {
                pkt[0] = (uint8_t)(i >> 24);
                pkt[1] = (uint8_t)(i >> 16);
                pkt[2] = (uint8_t)(i >> 8);
                pkt[3] = (uint8_t)i;
                uint64_t ts = now_ns();
                memcpy(pkt + 4, &ts, sizeof(ts));
                if (sendto(socks[i], pkt, sizeof(pkt), 0, (struct sockaddr *)&fa, sizeof(fa)) > 0) {
                    sent += now >= w0;
                }
            }
            slice = (slice + 1) % SLICES;
            next += 2000000;
        }
        struct epoll_event evs[64];
        int timeout = now < next ? (int)((next - now) / 1000000) : 0;
        int k = epoll_wait(ep, evs, 64, timeout);
        for (int e = 0; e < k; e++) {
            uint8_t buf[PAYLOAD + 64];
            ssize_t got;
            while ((got = recv(socks[evs[e].data.u32], buf, sizeof(buf), 0)) >= 12) {
                if (measuring) {
                    uint64_t ts;
                    memcpy(&ts, buf + 4, sizeof(ts));
                    hist_add(h, (double)(now_ns() - ts) / 1000.0);
                    received++;
                }
            }
        }
    }
    res->sent = sent;
    res->received = received;
    if (h != NULL) {
        res->p50 = hist_pct(h, 0.5);
        res->p99 = hist_pct(h, 0.99);
        res->p999 = hist_pct(h, 0.999);
    }
    for (unsigned i = 0; socks != NULL && i < n; i++) {
        if (socks[i] > 0) {
            close(socks[i]);
        }
    }
    if (ep >= 0) {
        close(ep);
    }
    free(socks);
    free(h);
    return rc;
}

static void add_run(cJSON *o, const char *name, const run_result *r) {
    cJSON *j = cJSON_AddObjectToObject(o, name);
    cJSON_AddNumberToObject(j, "forwarded_pps", r->pps_forwarded);
    cJSON_AddNumberToObject(j, "sent", (double)r->sent);
    cJSON_AddNumberToObject(j, "received", (double)r->received);
    cJSON_AddNumberToObject(j, "cpu_pct_of_one_core", r->cpu_pct);
    cJSON_AddNumberToObject(j, "rss_mib", r->rss_mb);
    cJSON_AddNumberToObject(j, "peak_rss_mib", r->hwm_mb);
    cJSON_AddNumberToObject(j, "latency_p50_us", r->p50);
    cJSON_AddNumberToObject(j, "latency_p99_us", r->p99);
    cJSON_AddNumberToObject(j, "latency_p999_us", r->p999);
}

cJSON *wzp_bench_relay(const wzp_bench_opts *opts, FILE *human) {
    unsigned n = opts->sessions ? opts->sessions : 1000;
    unsigned rooms = opts->rooms ? opts->rooms : n / 2;
    unsigned seconds = opts->seconds ? opts->seconds : 30;
    if (rooms == 0 || rooms > n) {
        fprintf(human, "relay bench: --rooms must be 1..sessions\n");
        return NULL;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2 * n + 64) {
        rl.rlim_cur = rl.rlim_max < 2 * n + 64 ? rl.rlim_max : 2 * n + 64;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    run_result relay = {0}, base = {0};
    struct sockaddr_in fwd_addr;
    pid_t fwd = start_forwarder(n, rooms, &fwd_addr);
    if (fwd < 0) {
        return NULL;
    }
    fprintf(human, "relay: %u streams in %u rooms, 50 packets/s each of %d bytes, %u s measured\n",
            n, rooms, PAYLOAD, seconds);
    int rc = relay_run(opts->self_dir, n, rooms, seconds, human, &relay);
    if (rc == WZP_OK) {
        rc = baseline_run(fwd, fwd_addr, n, seconds, &base);
    }
    kill(fwd, SIGTERM);
    waitpid(fwd, NULL, 0);
    if (rc != WZP_OK) {
        return NULL;
    }
    double expect = 1.0 / (double)(n / rooms > 1 ? n / rooms - 1 : 1);
    const run_result *rs[2] = {&relay, &base};
    for (int k = 0; k < 2; k++) {
        const run_result *r = rs[k];
        fprintf(human,
                "  %-9s %9.0f pkt/s forwarded (%llu of %llu expected), CPU %5.1f%% of a core, "
                "RSS %.1f MiB, latency p50 %.0f us p99 %.0f us p99.9 %.0f us\n",
                k == 0 ? "wzp-relay" : "baseline", r->pps_forwarded,
                (unsigned long long)r->received, (unsigned long long)((double)r->sent / expect),
                r->cpu_pct, r->rss_mb, r->p50, r->p99, r->p999);
    }
    double cpu_ratio = base.cpu_pct > 0 ? relay.cpu_pct / base.cpu_pct : 0;
    double pps_ratio = base.pps_forwarded > 0 ? relay.pps_forwarded / base.pps_forwarded : 0;
    fprintf(human,
            "  relay / baseline: throughput %.3f, CPU per forwarded packet %.2fx, p99 latency "
            "%.2fx (CPU per packet: relay %.2f us, baseline %.2f us)\n",
            pps_ratio, cpu_ratio / (pps_ratio > 0 ? pps_ratio : 1),
            base.p99 > 0 ? relay.p99 / base.p99 : 0,
            relay.pps_forwarded > 0 ? relay.cpu_pct * 1e4 / relay.pps_forwarded : 0,
            base.pps_forwarded > 0 ? base.cpu_pct * 1e4 / base.pps_forwarded : 0);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "bench", "relay");
    cJSON_AddNumberToObject(res, "streams", n);
    cJSON_AddNumberToObject(res, "rooms", rooms);
    cJSON_AddNumberToObject(res, "seconds", seconds);
    cJSON_AddNumberToObject(res, "packet_bytes", PAYLOAD);
    add_run(res, "relay", &relay);
    add_run(res, "baseline", &base);
    cJSON_AddNumberToObject(res, "throughput_ratio", pps_ratio);
    cJSON_AddNumberToObject(res, "cpu_per_packet_ratio",
                            cpu_ratio / (pps_ratio > 0 ? pps_ratio : 1));
    cJSON_AddNumberToObject(res, "p99_latency_ratio", base.p99 > 0 ? relay.p99 / base.p99 : 0);
    return res;
}
