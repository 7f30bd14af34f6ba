/* A path for fuzz targets: everything sent is counted and dropped; the channel's secrets are a
 * constant, so both ends of one fuzz input agree. */
#ifndef WZP_FUZZ_PATH_H
#define WZP_FUZZ_PATH_H

#include <string.h>

#include "wzp/path.h"

typedef struct fuzz_path {
    wzp_path base;
    uint8_t slot[WZP_PATH_MAX_DATAGRAM];
    size_t datagrams, signals;
    int closed;
} fuzz_path;

static uint8_t *fp_slot(wzp_path *p) {
    return ((fuzz_path *)p)->slot;
}
static void fp_commit(wzp_path *p, size_t len) {
    ((fuzz_path *)p)->datagrams += len > 0;
}
static int fp_signal(wzp_path *p, const uint8_t *json, size_t len) {
    (void)json;
    ((fuzz_path *)p)->signals += len > 0;
    return 0;
}
static int fp_export(wzp_path *p, const char *label, uint8_t out[32]) {
    (void)p;
    memset(out, 0, 32);
    memcpy(out, label, strlen(label) < 32 ? strlen(label) : 32);
    return 0;
}
static uint32_t fp_rtt(const wzp_path *p) {
    (void)p;
    return 20;
}
static void fp_close(wzp_path *p, const char *reason) {
    (void)reason;
    ((fuzz_path *)p)->closed++;
}
static const wzp_path_ops fuzz_path_ops = {fp_slot,   fp_commit, fp_signal,
                                           fp_export, fp_rtt,    fp_close};

static void fuzz_path_init(fuzz_path *p, int port) {
    memset(p, 0, sizeof(*p));
    p->base.ops = &fuzz_path_ops;
    p->base.kind = WZP_PATH_TEST;
    p->base.state = WZP_PATH_UP;
    p->base.mtu = WZP_PATH_MAX_DATAGRAM;
    struct sockaddr_in *a = (struct sockaddr_in *)&p->base.remote;
    a->sin_family = AF_INET;
    a->sin_port = (uint16_t)port;
}

#endif
