/* Socket address helpers (include/wzp/addr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "wzp/addr.h"

socklen_t wzp_addr_len(const struct sockaddr *a) {
    return a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

void wzp_addr_copy(struct sockaddr_storage *out, const struct sockaddr *a) {
    memset(out, 0, sizeof(*out));
    memcpy(out, a, wzp_addr_len(a));
}

bool wzp_addr_equal(const struct sockaddr *a, const struct sockaddr *b) {
    if (a->sa_family != b->sa_family) {
        return false;
    }
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return false;
}

bool wzp_addr_same_host(const struct sockaddr *a, const struct sockaddr *b) {
    if (a->sa_family != b->sa_family) {
        return false;
    }
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return false;
}

unsigned wzp_addr_port(const struct sockaddr *a) {
    if (a->sa_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)(const void *)a)->sin_port);
    }
    if (a->sa_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)(const void *)a)->sin6_port);
    }
    return 0;
}

void wzp_addr_format(const struct sockaddr *a, char out[WZP_ADDR_TEXT]) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (a->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)a)->sin_addr, host,
                  sizeof(host));
        snprintf(out, WZP_ADDR_TEXT, "%s:%u", host, wzp_addr_port(a));
    } else if (a->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr, host,
                  sizeof(host));
        snprintf(out, WZP_ADDR_TEXT, "[%s]:%u", host, wzp_addr_port(a));
    } else {
        snprintf(out, WZP_ADDR_TEXT, "?");
    }
}

static int parse_port(const char *p, unsigned *port) {
    unsigned v = 0;
    if (*p == '\0' || strlen(p) > 5) {
        return WZP_ERR_INVALID_ARG;
    }
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return WZP_ERR_INVALID_ARG;
        }
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > 65535) {
        return WZP_ERR_INVALID_ARG;
    }
    *port = v;
    return WZP_OK;
}

int wzp_addr_parse(const char *text, struct sockaddr_storage *out, socklen_t *len) {
    char host[128];
    const char *colon = text != NULL ? strrchr(text, ':') : NULL;
    unsigned port = 0;
    if (colon == NULL || colon == text || (size_t)(colon - text) >= sizeof(host) ||
        parse_port(colon + 1, &port) != WZP_OK) {
        return WZP_ERR_INVALID_ARG;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *h = host;
    size_t hl = strlen(h);
    bool bracketed = h[0] == '[' && hl > 2 && h[hl - 1] == ']';
    if (bracketed) { /* [v6]:port */
        h[hl - 1] = '\0';
        h++;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (!bracketed && inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
    } else {
        return WZP_ERR_INVALID_ARG;
    }
    *out = ss;
    return WZP_OK;
}
