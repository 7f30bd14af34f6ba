/*
 * GET /metrics over libmicrohttpd, driven by the caller's libuv loop: MHD runs in its epoll
 * mode without threads; libuv watches MHD's epoll descriptor and a timer follows MHD's own
 * timeout. The page is rendered on the loop thread, where the counters are, at scrape time.
 */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/metrics.h"
#include "wzp/alloc.h"
#include "wzp/addr.h"

#define PAGE_START (64 * 1024)
#define PAGE_MAX   (4 * 1024 * 1024)

struct wzp_metrics_http {
    struct MHD_Daemon *d;
    uv_poll_t poll;
    uv_timer_t timer;
    int open; /* libuv handles not yet closed */
    wzp_metrics_render_fn render;
    void *user;
    uint16_t port;
    char *page;
    size_t page_cap;
};

static void drive(wzp_metrics_http *m);

static void on_timer(uv_timer_t *t) {
    drive(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events) {
    (void)status;
    (void)events;
    drive(p->data);
}

/* Let MHD do what is ready, then wake again when it next needs to. */
static void drive(wzp_metrics_http *m) {
    MHD_run(m->d);
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(m->d, &ms) == MHD_YES) {
        uv_timer_start(&m->timer, on_timer, ms > 60000 ? 60000 : (uint64_t)ms, 0);
    } else {
        uv_timer_stop(&m->timer);
    }
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, size_t len) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Render, growing the page buffer (not a hot path: one scrape every few seconds). */
static bool render(wzp_metrics_http *m, size_t *len) {
    for (;;) {
        wzp_prom p = {m->page, m->page_cap, 0, false};
        m->page[0] = '\0';
        m->render(m->user, &p);
        if (!p.overflow) {
            *len = p.len;
            return true;
        }
        if (m->page_cap * 2 > PAGE_MAX) {
            return false;
        }
        char *bigger = wzp_malloc(m->page_cap * 2);
        if (bigger == NULL) {
            return false;
        }
        wzp_free(m->page);
        m->page = bigger;
        m->page_cap *= 2;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req) {
    wzp_metrics_http *m = cls;
    static int seen;
    (void)version;
    (void)upload_data;
    if (*req == NULL) { /* headers only so far */
        *req = &seen;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0; /* a body on a GET: ignored */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char msg[] = "only GET\n";
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", msg, sizeof(msg) - 1);
    }
    if (strcmp(url, "/metrics") != 0) {
        static const char msg[] = "not found: try /metrics\n";
        return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", msg, sizeof(msg) - 1);
    }
    size_t len = 0;
    if (!render(m, &len)) {
        static const char msg[] = "metrics page too large\n";
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", msg, sizeof(msg) - 1);
    }
    return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", m->page, len);
}

int wzp_metrics_http_start(uv_loop_t *loop, const char *listen, wzp_metrics_render_fn render_fn,
                           void *user, wzp_metrics_http **out) {
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (wzp_addr_parse(listen, &ss, &sl) != WZP_OK) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp_metrics_http *m = wzp_calloc(1, sizeof(*m));
    char *page = wzp_malloc(PAGE_START);
    if (m == NULL || page == NULL) {
        wzp_free(m);
        wzp_free(page);
        return WZP_ERR_NOMEM;
    }
    m->render = render_fn;
    m->user = user;
    m->page = page;
    m->page_cap = PAGE_START;
    unsigned flags = MHD_USE_EPOLL | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 16u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_LISTENING_ADDRESS_REUSE,
                            1u, MHD_OPTION_END);
    const union MHD_DaemonInfo *fd =
        m->d != NULL ? MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    const union MHD_DaemonInfo *port =
        m->d != NULL ? MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (fd == NULL || port == NULL || uv_poll_init(loop, &m->poll, fd->epoll_fd) != 0) {
        if (m->d != NULL) {
            MHD_stop_daemon(m->d);
        }
        wzp_free(m->page);
        wzp_free(m);
        return WZP_ERR_IO;
    }
    m->port = port->port;
    uv_timer_init(loop, &m->timer);
    m->poll.data = m->timer.data = m;
    m->open = 2;
    uv_poll_start(&m->poll, UV_READABLE, on_poll);
    drive(m);
    *out = m;
    return WZP_OK;
}

uint16_t wzp_metrics_http_port(const wzp_metrics_http *m) {
    return m->port;
}

static void on_close(uv_handle_t *h) {
    wzp_metrics_http *m = h->data;
    if (--m->open == 0) {
        MHD_stop_daemon(m->d); /* closes the epoll descriptor libuv no longer watches */
        wzp_free(m->page);
        wzp_free(m);
    }
}

void wzp_metrics_http_stop(wzp_metrics_http *m) {
    if (m == NULL) {
        return;
    }
    uv_close((uv_handle_t *)&m->poll, on_close);
    uv_close((uv_handle_t *)&m->timer, on_close);
}
