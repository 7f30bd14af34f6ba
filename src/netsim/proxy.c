/*
 * wzp-netsim's I/O (include/wzp/netsim.h has the model): a UDP proxy between clients and one
 * upstream address. Each client gets its own upstream socket (the upstream sees distinct
 * sources, answers find their way back); one impairment model per direction, shared by all
 * clients like one bottleneck link. Datagrams wait in a fixed pool ordered by departure time
 * (a binary heap; full pool: dropped and counted); one timer fires at the earliest departure.
 */
#include <arpa/inet.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "wzp/addr.h"
#include "wzp/alloc.h"
#include "wzp/netsim.h"

#define MAX_CLIENTS 64
#define POOL        4096
#define MAX_DGRAM   1500

typedef struct client {
    bool used;
    struct sockaddr_storage addr;
    uv_udp_t ups[2]; /* its own socket towards the upstream: ups[cur] (a rebind moves it) */
    int cur;
    bool rebound; /* (--rebind-at) its traffic comes from a new port now */
    struct wzp_netsim_proxy *px;
} client;

typedef struct pending {
    double at_ms;
    uint64_t order; /* ties keep arrival order */
    int client;     /* index; direction below */
    bool down;      /* towards the client */
    uint16_t len;
    uint8_t data[MAX_DGRAM];
} pending;

typedef struct wzp_netsim_proxy {
    uv_loop_t *loop;
    wzp_netsim_options o;
    struct sockaddr_storage upstream;
    uv_udp_t listen;
    uv_timer_t send_timer, tick;
    wzp_netsim dir[2]; /* 0: up (client -> upstream), 1: down */
    client clients[MAX_CLIENTS];
    pending *pool;
    unsigned *heap; /* indices into pool */
    unsigned nheap, nfree, *freelist;
    uint64_t order, pool_full, start_ms, next_stats_ms;
    size_t next_step;
    uint8_t rx[MAX_DGRAM + 1];
    FILE *out;
    bool rebind_done;
    double rebind_ms, rebind_first_down_ms; /* when it rebound; when the upstream answered it */
    uv_udp_t copier;                        /* --copier's socket */
    client copier_self;                     /* its handle's data */
    uint64_t copied, copied_bytes, copier_rx, copier_rx_bytes, copier_rx_small;
} wzp_netsim_proxy;

static bool earlier(const wzp_netsim_proxy *px, unsigned a, unsigned b) {
    const pending *x = &px->pool[a], *y = &px->pool[b];
    return x->at_ms < y->at_ms || (x->at_ms == y->at_ms && x->order < y->order);
}

static void heap_push(wzp_netsim_proxy *px, unsigned idx) {
    unsigned i = px->nheap++;
    px->heap[i] = idx;
    while (i > 0 && earlier(px, px->heap[i], px->heap[(i - 1) / 2])) {
        unsigned p = (i - 1) / 2, t = px->heap[p];
        px->heap[p] = px->heap[i];
        px->heap[i] = t;
        i = p;
    }
}

static unsigned heap_pop(wzp_netsim_proxy *px) {
    unsigned top = px->heap[0];
    px->heap[0] = px->heap[--px->nheap];
    for (unsigned i = 0;;) {
        unsigned l = 2 * i + 1, r = l + 1, m = i;
        if (l < px->nheap && earlier(px, px->heap[l], px->heap[m])) {
            m = l;
        }
        if (r < px->nheap && earlier(px, px->heap[r], px->heap[m])) {
            m = r;
        }
        if (m == i) {
            break;
        }
        unsigned t = px->heap[m];
        px->heap[m] = px->heap[i];
        px->heap[i] = t;
        i = m;
    }
    return top;
}

static double now_ms(const wzp_netsim_proxy *px) {
    return (double)uv_hrtime() / 1e6 - (double)px->start_ms;
}

static void on_send_timer(uv_timer_t *t);

static void arm(wzp_netsim_proxy *px) {
    if (px->nheap == 0) {
        uv_timer_stop(&px->send_timer);
        return;
    }
    double wait = px->pool[px->heap[0]].at_ms - now_ms(px);
    uv_timer_start(&px->send_timer, on_send_timer, wait > 0 ? (uint64_t)ceil(wait) : 0, 0);
}

static void on_send_timer(uv_timer_t *t) {
    wzp_netsim_proxy *px = t->data;
    double now = now_ms(px);
    while (px->nheap > 0 && px->pool[px->heap[0]].at_ms <= now + 0.5) {
        unsigned idx = heap_pop(px);
        pending *p = &px->pool[idx];
        client *c = &px->clients[p->client];
        if (c->used) {
            uv_buf_t b = uv_buf_init((char *)p->data, p->len);
            if (p->down) {
                (void)uv_udp_try_send(&px->listen, &b, 1, (const struct sockaddr *)&c->addr);
            } else {
                (void)uv_udp_try_send(&c->ups[c->cur], &b, 1,
                                      (const struct sockaddr *)&px->upstream);
            }
        }
        px->freelist[px->nfree++] = idx;
    }
    arm(px);
}

/* One datagram through the model of its direction, into the pool at its departure times. */
static void offer(wzp_netsim_proxy *px, int ci, bool down, const uint8_t *data, size_t len) {
    bool impaired = px->o.direction == 2 || (px->o.direction == 1) == down;
    double when[2] = {now_ms(px), 0};
    size_t copies = 1;
    if (impaired) {
        copies = wzp_netsim_offer(&px->dir[down], len, when[0], when);
    } else {
        px->dir[down].st.offered++;
        px->dir[down].st.delivered++;
    }
    for (size_t k = 0; k < copies; k++) {
        if (px->nfree == 0 || len > MAX_DGRAM) {
            px->pool_full++;
            continue;
        }
        unsigned idx = px->freelist[--px->nfree];
        pending *p = &px->pool[idx];
        p->at_ms = when[k];
        p->order = px->order++;
        p->client = ci;
        p->down = down;
        p->len = (uint16_t)len;
        memcpy(p->data, data, len);
        heap_push(px, idx);
    }
    arm(px);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    const client *c = h->data;
    wzp_netsim_proxy *px = c->px;
    *buf = uv_buf_init((char *)px->rx, sizeof(px->rx));
}

static void on_upstream(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *from, unsigned flags) {
    client *c = u->data;
    (void)flags;
    (void)from;
    if (u != &c->ups[c->cur]) {
        return; /* to the port the NAT no longer maps: lost */
    }
    if (nread > 0 && c->rebound && c->px->rebind_first_down_ms == 0) {
        c->px->rebind_first_down_ms = now_ms(c->px);
    }
    if (nread > 0 && nread <= MAX_DGRAM) {
        offer(c->px, (int)(c - c->px->clients), true, (const uint8_t *)buf->base, (size_t)nread);
    }
}

/* A new socket towards the upstream for client `c` in ups[slot], receiving. */
static int open_up(wzp_netsim_proxy *px, client *c, int slot) {
    struct sockaddr_storage any;
    socklen_t sl;
    if (wzp_addr_parse(px->upstream.ss_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0", &any, &sl) !=
            WZP_OK ||
        uv_udp_init(px->loop, &c->ups[slot]) != 0) {
        return -1;
    }
    if (uv_udp_bind(&c->ups[slot], (const struct sockaddr *)&any, 0) != 0) {
        uv_close((uv_handle_t *)&c->ups[slot], NULL);
        return -1;
    }
    c->ups[slot].data = c;
    uv_udp_recv_start(&c->ups[slot], on_alloc, on_upstream);
    return 0;
}

/* The NAT rebinds: every client's old upstream socket goes, a new one (a new port) takes over. */
static void rebind(wzp_netsim_proxy *px) {
    px->rebind_done = true;
    px->rebind_ms = now_ms(px);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client *c = &px->clients[i];
        if (c->used && !c->rebound && open_up(px, c, 1 - c->cur) == 0) {
            uv_close((uv_handle_t *)&c->ups[c->cur], NULL);
            c->cur = 1 - c->cur;
            c->rebound = true;
        }
    }
}

static void on_copier(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                      unsigned flags) {
    client *self = u->data;
    (void)buf;
    (void)from;
    (void)flags;
    if (nread > 0) {
        self->px->copier_rx++;
        self->px->copier_rx_bytes += (uint64_t)nread;
        self->px->copier_rx_small += nread <= 32; /* (a media path challenge is 25 bytes) */
    }
}

static void on_listen(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                      unsigned flags) {
    client *self = u->data;
    wzp_netsim_proxy *px = self->px;
    (void)flags;
    if (nread <= 0 || from == NULL || nread > MAX_DGRAM) {
        return;
    }
    int ci = -1, free_ci = -1;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client *c = &px->clients[i];
        if (c->used && wzp_addr_equal((const struct sockaddr *)&c->addr, from)) {
            ci = i;
            break;
        }
        if (!c->used && free_ci < 0) {
            free_ci = i;
        }
    }
    if (ci < 0) {
        if (free_ci < 0) {
            return; /* bounded: 64 clients */
        }
        client *c = &px->clients[free_ci];
        c->px = px;
        c->cur = 0;
        if (open_up(px, c, 0) != 0) {
            return;
        }
        c->used = true;
        c->rebound = px->rebind_done; /* (a client new after the rebind has nothing to move) */
        memset(&c->addr, 0, sizeof(c->addr));
        wzp_addr_copy(&c->addr, from);
        ci = free_ci;
    }
    const uint8_t *d = (const uint8_t *)buf->base;
    if (px->o.copier && d[0] >= 0x04 && d[0] <= 0x3F) { /* media (or greased QUIC): ahead */
        uv_buf_t b = uv_buf_init((char *)buf->base, (unsigned)nread);
        if (uv_udp_try_send(&px->copier, &b, 1, (const struct sockaddr *)&px->upstream) > 0) {
            px->copied++;
            px->copied_bytes += (uint64_t)nread;
        }
    }
    offer(px, ci, false, d, (size_t)nread);
}

static void print_dir(FILE *f, const char *name, const wzp_netsim_stats *s) {
    fprintf(f,
            "\"%s\":{\"offered\":%llu,\"delivered\":%llu,\"lost_random\":%llu,\"lost_burst\":%llu,"
            "\"lost_queue\":%llu,\"lost_blackout\":%llu,\"duplicated\":%llu}",
            name, (unsigned long long)s->offered, (unsigned long long)s->delivered,
            (unsigned long long)s->lost_random, (unsigned long long)s->lost_burst,
            (unsigned long long)s->lost_queue, (unsigned long long)s->lost_blackout,
            (unsigned long long)s->duplicated);
}

static void print_stats(wzp_netsim_proxy *px) {
    fprintf(px->out, "{\"t\":%.1f,", now_ms(px) / 1000.0);
    print_dir(px->out, "up", &px->dir[0].st);
    fputc(',', px->out);
    print_dir(px->out, "down", &px->dir[1].st);
    fprintf(px->out, ",\"queued\":%u,\"pool_full\":%llu", px->nheap,
            (unsigned long long)px->pool_full);
    if (px->o.copier) {
        fprintf(px->out,
                ",\"copied\":%llu,\"copied_bytes\":%llu,\"copier_rx\":%llu,"
                "\"copier_rx_bytes\":%llu,\"copier_rx_small\":%llu",
                (unsigned long long)px->copied, (unsigned long long)px->copied_bytes,
                (unsigned long long)px->copier_rx, (unsigned long long)px->copier_rx_bytes,
                (unsigned long long)px->copier_rx_small);
    }
    if (px->rebind_done) {
        fprintf(px->out, ",\"rebind_at\":%.3f,\"rebind_first_down_ms\":%.1f",
                px->rebind_ms / 1000.0,
                px->rebind_first_down_ms > 0 ? px->rebind_first_down_ms - px->rebind_ms : -1.0);
    }
    fprintf(px->out, "}\n");
    fflush(px->out);
}

static void on_tick(uv_timer_t *t) {
    wzp_netsim_proxy *px = t->data;
    double now = now_ms(px);
    while (px->next_step < px->o.nsteps && px->o.steps[px->next_step].at_s * 1000.0 <= now) {
        const wzp_netsim_params *p = &px->o.steps[px->next_step].p;
        wzp_netsim_set(&px->dir[0], p);
        wzp_netsim_set(&px->dir[1], p);
        px->next_step++;
    }
    if (px->o.rebind_at_s > 0 && !px->rebind_done && now >= px->o.rebind_at_s * 1000.0) {
        rebind(px);
    }
    if (px->o.stats_s > 0 && now >= (double)px->next_stats_ms) {
        print_stats(px);
        px->next_stats_ms += (uint64_t)(px->o.stats_s * 1000.0);
    }
    if (px->o.duration_s > 0 && now >= px->o.duration_s * 1000.0) {
        uv_stop(px->loop);
    }
}

static void on_sig(uv_signal_t *h, int signum) {
    (void)signum;
    uv_stop(h->loop);
}

int wzp_netsim_run(const wzp_netsim_options *o, FILE *out, FILE *err) {
    static wzp_netsim_proxy px;
    static client listener;
    struct sockaddr_storage la;
    socklen_t sl;
    memset(&px, 0, sizeof(px));
    px.o = *o;
    px.out = out;
    if (wzp_addr_parse(o->listen, &la, &sl) != WZP_OK ||
        wzp_addr_parse(o->upstream, &px.upstream, &sl) != WZP_OK) {
        fprintf(err, "wzp-netsim: addresses must be IP:port or [IPv6]:port\n");
        return 2;
    }
    px.pool = wzp_calloc(POOL, sizeof(pending));
    px.heap = wzp_calloc(POOL, sizeof(unsigned));
    px.freelist = wzp_calloc(POOL, sizeof(unsigned));
    if (px.pool == NULL || px.heap == NULL || px.freelist == NULL) {
        fprintf(err, "wzp-netsim: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < POOL; i++) {
        px.freelist[px.nfree++] = POOL - 1 - i;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    px.loop = &loop;
    px.start_ms = uv_hrtime() / 1000000;
    wzp_netsim_init(&px.dir[0], &o->params, o->seed);
    wzp_netsim_init(&px.dir[1], &o->params, o->seed ^ 0x5bd1e995u);
    listener.px = &px;
    uv_udp_init(&loop, &px.listen);
    px.listen.data = &listener;
    if (uv_udp_bind(&px.listen, (const struct sockaddr *)&la, 0) != 0) {
        fprintf(err, "wzp-netsim: cannot listen on %s\n", o->listen);
        return 1;
    }
    struct sockaddr_storage bound;
    int blen = sizeof(bound);
    uv_udp_getsockname(&px.listen, (struct sockaddr *)&bound, &blen);
    unsigned port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                      : ((struct sockaddr_in *)&bound)->sin_port);
    uv_udp_recv_start(&px.listen, on_alloc, on_listen);
    if (o->copier) {
        struct sockaddr_storage any;
        px.copier_self.px = &px;
        uv_udp_init(&loop, &px.copier);
        px.copier.data = &px.copier_self;
        if (wzp_addr_parse(px.upstream.ss_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0", &any, &sl) !=
                WZP_OK ||
            uv_udp_bind(&px.copier, (const struct sockaddr *)&any, 0) != 0) {
            fprintf(err, "wzp-netsim: cannot open the copier's socket\n");
            return 1;
        }
        uv_udp_recv_start(&px.copier, on_alloc, on_copier);
    }
    uv_timer_init(&loop, &px.send_timer);
    uv_timer_init(&loop, &px.tick);
    px.send_timer.data = px.tick.data = &px;
    uv_timer_start(&px.tick, on_tick, 0, 10);
    uv_signal_t sigint, sigterm;
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigint, on_sig, SIGINT);
    uv_signal_start(&sigterm, on_sig, SIGTERM);
    const char *colon = strrchr(o->listen, ':');
    fprintf(out, "wzp-netsim listening on %.*s:%u -> %s (seed %llu, %zu scenario steps)\n",
            colon ? (int)(colon - o->listen) : 0, o->listen, port, o->upstream,
            (unsigned long long)o->seed, o->nsteps);
    fflush(out);
    uv_run(&loop, UV_RUN_DEFAULT);
    print_stats(&px);
    uv_close((uv_handle_t *)&px.listen, NULL);
    uv_close((uv_handle_t *)&px.send_timer, NULL);
    uv_close((uv_handle_t *)&px.tick, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (px.clients[i].used) {
            uv_close((uv_handle_t *)&px.clients[i].ups[px.clients[i].cur], NULL);
        }
    }
    if (o->copier) {
        uv_close((uv_handle_t *)&px.copier, NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    wzp_free(px.pool);
    wzp_free(px.heap);
    wzp_free(px.freelist);
    return 0;
}
