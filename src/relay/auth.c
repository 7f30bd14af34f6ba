/*
 * featherChat token validation over libcurl's multi-socket interface on libuv
 * (include/wzp/auth.h). libcurl tells us which sockets to watch and when its next timeout is;
 * a uv_poll per socket and one uv_timer turn those into curl_multi_socket_action calls. The
 * token goes only into the request body: it is never logged.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/auth.h"
#include "wzp/alloc.h"

struct wzp_auth_req {
    wzp_auth *a;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    char reply[WZP_AUTH_MAX_REPLY];
    size_t reply_len;
    bool too_long;
    wzp_auth_cb cb;
    void *user;
    wzp_auth_req *prev, *next;
};

typedef struct sock_watch {
    uv_poll_t poll;
    curl_socket_t fd;
    wzp_auth *a;
} sock_watch;

struct wzp_auth {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    char *url;
    unsigned timeout_ms;
    unsigned inflight;
    wzp_auth_req *reqs;
    bool freeing;
};

static const char *const result_names[WZP_AUTH_RESULTS] = {"ok",          "invalid", "expired",
                                                           "unreachable", "timeout", "error"};

const char *wzp_auth_result_name(wzp_auth_result r) {
    return (unsigned)r < WZP_AUTH_RESULTS ? result_names[r] : "error";
}

/* Strings from the auth server reach log lines and other members' screens: no control
 * characters. */
static void copy_str(char *dst, size_t cap, const cJSON *item) {
    if (cJSON_IsString(item) && item->valuestring != NULL) {
        snprintf(dst, cap, "%s", item->valuestring);
        for (char *p = dst; *p != '\0'; p++) {
            *p = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
        }
    }
}

void wzp_auth_parse_reply(long http_status, const char *body, size_t len, wzp_auth_reply *out) {
    memset(out, 0, sizeof(*out));
    out->result = WZP_AUTH_ERROR;
    if (http_status != 200 && http_status != 401 && http_status != 403) {
        snprintf(out->detail, sizeof(out->detail), "the auth server answered HTTP %ld",
                 http_status);
        return;
    }
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *valid = cJSON_GetObjectItemCaseSensitive(j, "valid");
    if (j == NULL || !cJSON_IsObject(j) || !cJSON_IsBool(valid)) {
        snprintf(out->detail, sizeof(out->detail),
                 "the auth server's answer is not {\"valid\": true|false, ...}");
        cJSON_Delete(j);
        return;
    }
    copy_str(out->fingerprint, sizeof(out->fingerprint),
             cJSON_GetObjectItemCaseSensitive(j, "fingerprint"));
    copy_str(out->alias, sizeof(out->alias), cJSON_GetObjectItemCaseSensitive(j, "alias"));
    if (cJSON_IsTrue(valid) && out->fingerprint[0] == '\0') {
        /* a token that names nobody would admit anybody: fail closed */
        snprintf(out->detail, sizeof(out->detail),
                 "the auth server vouched for the token but named no identity");
    } else if (cJSON_IsTrue(valid)) {
        out->result = WZP_AUTH_OK;
        snprintf(out->detail, sizeof(out->detail), "token accepted");
    } else {
        /* featherChat says why in "error" (or "reason"); an expired token is worth telling
         * apart: the user needs a fresh one, not a different account */
        char why[96] = "";
        copy_str(why, sizeof(why), cJSON_GetObjectItemCaseSensitive(j, "error"));
        if (why[0] == '\0') {
            copy_str(why, sizeof(why), cJSON_GetObjectItemCaseSensitive(j, "reason"));
        }
        bool expired = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "expired")) ||
                       strstr(why, "expired") != NULL;
        out->result = expired ? WZP_AUTH_EXPIRED : WZP_AUTH_INVALID;
        bool say_why = why[0] != '\0' && !(expired && strcmp(why, "token expired") == 0);
        snprintf(out->detail, sizeof(out->detail), "%s%s%s",
                 expired ? "token expired" : "token invalid", say_why ? ": " : "",
                 say_why ? why : "");
    }
    cJSON_Delete(j);
}

/* ---- requests ---------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *user) {
    wzp_auth_req *r = user;
    size_t len = size * n;
    if (len > sizeof(r->reply) - r->reply_len) {
        r->too_long = true;
        return 0; /* libcurl aborts the transfer */
    }
    memcpy(r->reply + r->reply_len, data, len);
    r->reply_len += len;
    return len;
}

static void req_free(wzp_auth_req *r) {
    wzp_auth *a = r->a;
    curl_multi_remove_handle(a->multi, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    wzp_free(r->body);
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        a->reqs = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
    a->inflight--;
    wzp_free(r);
}

static void finish(wzp_auth_req *r, CURLcode code) {
    wzp_auth_reply reply;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK) {
        wzp_auth_parse_reply(status, r->reply, r->reply_len, &reply);
    } else {
        memset(&reply, 0, sizeof(reply));
        if (code == CURLE_OPERATION_TIMEDOUT) {
            reply.result = WZP_AUTH_TIMEOUT;
            snprintf(reply.detail, sizeof(reply.detail), "no answer from the auth server in %u ms",
                     r->a->timeout_ms);
        } else if (r->too_long) {
            reply.result = WZP_AUTH_ERROR;
            snprintf(reply.detail, sizeof(reply.detail), "the auth server's answer is too long");
        } else if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
                   code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR ||
                   code == CURLE_GOT_NOTHING) {
            reply.result = WZP_AUTH_UNREACHABLE;
            snprintf(reply.detail, sizeof(reply.detail), "auth server unreachable: %s",
                     curl_easy_strerror(code));
        } else {
            reply.result = WZP_AUTH_ERROR;
            snprintf(reply.detail, sizeof(reply.detail), "auth request failed: %s",
                     curl_easy_strerror(code));
        }
    }
    wzp_auth_cb cb = r->cb;
    void *user = r->user;
    req_free(r);
    cb(user, &reply);
}

static void check_done(wzp_auth *a) {
    CURLMsg *msg;
    int left = 0;
    while ((msg = curl_multi_info_read(a->multi, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE) {
            wzp_auth_req *r = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            finish(r, msg->data.result); /* invalidates msg: read before */
        }
    }
}

/* ---- libcurl <-> libuv --------------------------------------------------------------------- */

static void watch_closed(uv_handle_t *h) {
    wzp_free(h->data);
}

static void on_sock(uv_poll_t *p, int status, int events) {
    sock_watch *w = p->data;
    int flags = status < 0 ? CURL_CSELECT_ERR : 0;
    flags |= (events & UV_READABLE) ? CURL_CSELECT_IN : 0;
    flags |= (events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0;
    int running = 0;
    wzp_auth *a = w->a;
    curl_multi_socket_action(a->multi, w->fd, flags, &running);
    check_done(a);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *user, void *sockp) {
    wzp_auth *a = user;
    sock_watch *w = sockp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (w != NULL) {
            curl_multi_assign(a->multi, fd, NULL);
            w->poll.data = w;
            uv_close((uv_handle_t *)&w->poll, watch_closed);
        }
        return 0;
    }
    if (w == NULL) {
        w = wzp_calloc(1, sizeof(*w));
        if (w == NULL || uv_poll_init_socket(a->loop, &w->poll, fd) != 0) {
            wzp_free(w);
            return -1;
        }
        w->fd = fd;
        w->a = a;
        w->poll.data = w;
        curl_multi_assign(a->multi, fd, w);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&w->poll, ev, on_sock);
    return 0;
}

static void on_timeout(uv_timer_t *t) {
    wzp_auth *a = t->data;
    int running = 0;
    curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(a);
}

static int timer_cb(CURLM *multi, long ms, void *user) {
    wzp_auth *a = user;
    (void)multi;
    if (ms < 0) {
        uv_timer_stop(&a->timer);
    } else {
        uv_timer_start(&a->timer, on_timeout, (uint64_t)ms, 0); /* 0: as soon as possible */
    }
    return 0;
}

int wzp_auth_new(uv_loop_t *loop, const char *url, unsigned timeout_ms, wzp_auth **out) {
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        return WZP_ERR_INVALID_ARG;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return WZP_ERR_IO;
    }
    wzp_auth *a = wzp_calloc(1, sizeof(*a));
    if (a == NULL || (a->url = wzp_strndup(url, strlen(url))) == NULL ||
        (a->multi = curl_multi_init()) == NULL) {
        if (a != NULL) {
            wzp_free(a->url);
        }
        wzp_free(a);
        return WZP_ERR_NOMEM;
    }
    a->loop = loop;
    a->timeout_ms = timeout_ms;
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
    *out = a;
    return WZP_OK;
}

static void auth_timer_closed(uv_handle_t *h) {
    wzp_auth *a = h->data;
    wzp_free(a->url);
    wzp_free(a);
}

void wzp_auth_free(wzp_auth *a) {
    if (a == NULL) {
        return;
    }
    while (a->reqs != NULL) {
        req_free(a->reqs); /* removing each handle closes its sockets: socket_cb REMOVE */
    }
    curl_multi_cleanup(a->multi);
    uv_close((uv_handle_t *)&a->timer, auth_timer_closed);
}

int wzp_auth_check(wzp_auth *a, const char *token, wzp_auth_cb cb, void *user, wzp_auth_req **out) {
    if (strlen(token) > WZP_AUTH_MAX_TOKEN) {
        return WZP_ERR_TOO_LARGE;
    }
    if (a->inflight >= WZP_AUTH_MAX_INFLIGHT) {
        return WZP_ERR_FULL;
    }
    wzp_auth_req *r = wzp_calloc(1, sizeof(*r));
    cJSON *j = cJSON_CreateObject();
    if (r == NULL || j == NULL || cJSON_AddStringToObject(j, "token", token) == NULL ||
        (r->body = cJSON_PrintUnformatted(j)) == NULL || (r->easy = curl_easy_init()) == NULL ||
        (r->headers = curl_slist_append(NULL, "Content-Type: application/json")) == NULL) {
        cJSON_Delete(j);
        if (r != NULL) {
            curl_easy_cleanup(r->easy);
            wzp_free(r->body);
        }
        wzp_free(r);
        return WZP_ERR_NOMEM;
    }
    cJSON_Delete(j);
    r->a = a;
    r->cb = cb;
    r->user = user;
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, a->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    if (curl_multi_add_handle(a->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        curl_slist_free_all(r->headers);
        wzp_free(r->body);
        wzp_free(r);
        return WZP_ERR_NOMEM;
    }
    r->next = a->reqs;
    if (a->reqs != NULL) {
        a->reqs->prev = r;
    }
    a->reqs = r;
    a->inflight++;
    if (out != NULL) {
        *out = r;
    }
    return WZP_OK;
}

void wzp_auth_cancel(wzp_auth_req *req) {
    if (req != NULL) {
        req_free(req);
    }
}

unsigned wzp_auth_inflight(const wzp_auth *a) {
    return a->inflight;
}
