/*
 * The relay link of forward mode (include/wzp/link.h): client datagrams in a hop-authenticated
 * session between two relays, small ones protected by RaptorQ blocks (the same block managers
 * as media FEC, over datagrams that are already protected end to end and per hop).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/fec.h"
#include "wzp/link.h"
#include "wzp/alloc.h"

#define T_RAW      0x01
#define T_FEC      0x02
#define FEC_HDR    4 /* type, block, esi, flags */
#define FRAME_HDR  6 /* tunnel (u32), send time (u16, ms) */
#define PACE_SLOTS 256

/* A datagram held to be released at its original pace. */
typedef struct paced {
    bool used;
    uint64_t release_ms;
    uint32_t tunnel;
    uint16_t len;
    uint8_t data[WZP_LINK_FEC_MAX];
} paced;

struct wzp_link {
    wzp_link_out_fn out;
    wzp_link_deliver_fn deliver;
    void *user;
    bool ready;
    wzp_hop_session hop;
    wzp_fec_encoder *enc;
    wzp_fec_decoder *dec;
    uint64_t block_start_ms;
    wzp_link_stats st;
    wzp_fec_packet pk[1 + WZP_FEC_MAX_BLOCK_REPAIR];
    wzp_fec_frame fr[WZP_FEC_MAX_BLOCK_K];
    uint8_t frame[FRAME_HDR + WZP_LINK_FEC_MAX];
    /* re-pacing: the smallest (arrival - send time) seen, this second and the last */
    bool has_base;
    uint16_t min_cur, min_prev;
    uint64_t window_start;
    paced pace[PACE_SLOTS];
    uint8_t plain[WZP_LINK_MAX_DATAGRAM];
    uint8_t sealed[WZP_LINK_MAX_DATAGRAM + WZP_HOP_OVERHEAD];
};

static const wzp_fec_config fec_cfg = {.max_k = WZP_LINK_BLOCK_K,
                                       .max_frame = FRAME_HDR + WZP_LINK_FEC_MAX,
                                       .fixed_t = false,
                                       .slots = 16,
                                       .window = 32,
                                       .max_age_ms = 2000};

static int make_fec(wzp_link *l) {
    wzp_fec_encoder_free(l->enc);
    wzp_fec_decoder_free(l->dec);
    l->enc = NULL;
    l->dec = NULL;
    int rc = wzp_fec_encoder_new(&fec_cfg, &l->enc);
    if (rc == WZP_OK) {
        rc = wzp_fec_encoder_set_params(l->enc, WZP_LINK_BLOCK_K, WZP_LINK_RATIO);
    }
    return rc == WZP_OK ? wzp_fec_decoder_new(&fec_cfg, &l->dec) : rc;
}

int wzp_link_new(wzp_link_out_fn out, wzp_link_deliver_fn deliver, void *user, wzp_link **link) {
    wzp_link *l = wzp_calloc(1, sizeof(*l));
    if (l == NULL) {
        return WZP_ERR_NOMEM;
    }
    l->out = out;
    l->deliver = deliver;
    l->user = user;
    if (make_fec(l) != WZP_OK) {
        wzp_link_free(l);
        return WZP_ERR_NOMEM;
    }
    *link = l;
    return WZP_OK;
}

void wzp_link_free(wzp_link *l) {
    if (l != NULL) {
        wzp_fec_encoder_free(l->enc);
        wzp_fec_decoder_free(l->dec);
        wzp_hop_session_wipe(&l->hop);
        wzp_free(l);
    }
}

void wzp_link_set_session(wzp_link *l, const wzp_hop_session *hop) {
    l->hop = *hop;
    memset(l->pace, 0, sizeof(l->pace));
    l->has_base = false;
    l->ready = make_fec(l) == WZP_OK;
}

static void emit(wzp_link *l, size_t len) {
    size_t n = 0;
    if (wzp_hop_seal(&l->hop.tx, l->plain, len, l->sealed, sizeof(l->sealed), &n) == WZP_OK) {
        l->st.sent++;
        l->out(l->user, l->sealed, n);
    }
}

static void emit_fec(wzp_link *l, size_t count) {
    for (size_t i = 0; i < count; i++) {
        const wzp_fec_packet *p = &l->pk[i];
        if (FEC_HDR + p->len > sizeof(l->plain)) {
            continue;
        }
        l->plain[0] = T_FEC;
        l->plain[1] = p->block_id;
        l->plain[2] = p->esi;
        l->plain[3] = p->is_repair ? 1 : 0;
        memcpy(l->plain + FEC_HDR, p->payload, p->len);
        l->st.repairs_sent += p->is_repair;
        emit(l, FEC_HDR + p->len);
    }
}

int wzp_link_send(wzp_link *l, uint32_t tunnel, const uint8_t *data, size_t len, uint64_t now_ms) {
    if (!l->ready) {
        return WZP_ERR_STATE;
    }
    if (len == 0 || len + 5 > sizeof(l->plain)) {
        l->st.too_large++;
        return WZP_ERR_TOO_LARGE;
    }
    if (len > WZP_LINK_FEC_MAX) { /* a full-size QUIC packet: QUIC retransmits it itself */
        l->plain[0] = T_RAW;
        l->plain[1] = (uint8_t)(tunnel >> 24);
        l->plain[2] = (uint8_t)(tunnel >> 16);
        l->plain[3] = (uint8_t)(tunnel >> 8);
        l->plain[4] = (uint8_t)tunnel;
        memcpy(l->plain + 5, data, len);
        l->st.sent_raw++;
        emit(l, len + 5);
        return WZP_OK;
    }
    l->frame[0] = (uint8_t)(tunnel >> 24);
    l->frame[1] = (uint8_t)(tunnel >> 16);
    l->frame[2] = (uint8_t)(tunnel >> 8);
    l->frame[3] = (uint8_t)tunnel;
    l->frame[4] = (uint8_t)(now_ms >> 8);
    l->frame[5] = (uint8_t)now_ms;
    memcpy(l->frame + FRAME_HDR, data, len);
    size_t n = 0;
    if (wzp_fec_encoder_pending(l->enc) == 0) {
        l->block_start_ms = now_ms;
    }
    /* (no codec or media time: the link's blocks carry datagrams) */
    int rc = wzp_fec_encoder_add(l->enc, l->frame, len + FRAME_HDR, 0, 0, l->pk,
                                 sizeof(l->pk) / sizeof(l->pk[0]), &n);
    if (rc != WZP_OK) {
        return rc;
    }
    l->st.sent_fec++;
    emit_fec(l, n);
    return WZP_OK;
}

static void release(wzp_link *l, uint64_t now_ms);

void wzp_link_tick(wzp_link *l, uint64_t now_ms) {
    if (!l->ready) {
        return;
    }
    if (wzp_fec_encoder_pending(l->enc) > 0 && now_ms - l->block_start_ms >= WZP_LINK_BLOCK_MS) {
        size_t n = 0;
        if (wzp_fec_encoder_flush(l->enc, l->pk, sizeof(l->pk) / sizeof(l->pk[0]), &n) == WZP_OK) {
            emit_fec(l, n);
        }
    }
    wzp_fec_decoder_tick(l->dec, now_ms);
    release(l, now_ms);
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool u16_before(uint16_t a, uint16_t b) {
    return (int16_t)(a - b) < 0;
}

/* Re-pacing (SPEC §8's jitter buffer on a relay chain): a datagram is released
 * WZP_LINK_PACE_MS after the fastest transit seen recently, so the bursts in which FEC recovers
 * datagrams and the jitter of the stretch between the relays are smoothed back into the pace
 * at which they were sent. Late ones go at once; a full pool sends at once rather than drop. */
static void pace(wzp_link *l, uint32_t tunnel, uint16_t sent, const uint8_t *data, size_t len,
                 uint64_t now_ms) {
    uint16_t offset = (uint16_t)((uint16_t)now_ms - sent); /* transit + clock offset, mod 2^16 */
    if (!l->has_base || now_ms - l->window_start >= 1000) {
        l->min_prev = l->has_base ? l->min_cur : offset;
        l->min_cur = offset;
        l->window_start = now_ms;
        l->has_base = true;
    }
    l->min_cur = u16_before(offset, l->min_cur) ? offset : l->min_cur;
    uint16_t base = u16_before(l->min_prev, l->min_cur) ? l->min_prev : l->min_cur;
    int wait = (int16_t)(uint16_t)(base + WZP_LINK_PACE_MS - offset);
    if (wait > 2 * WZP_LINK_PACE_MS) {
        wait = 2 * WZP_LINK_PACE_MS; /* a jump of the sender's clock: never hold long */
    }
    if (wait > 0 && len <= WZP_LINK_FEC_MAX) {
        for (size_t i = 0; i < PACE_SLOTS; i++) {
            paced *p = &l->pace[i];
            if (!p->used) {
                p->used = true;
                p->release_ms = now_ms + (uint64_t)wait;
                p->tunnel = tunnel;
                p->len = (uint16_t)len;
                memcpy(p->data, data, len);
                l->st.paced++;
                return;
            }
        }
        l->st.pace_full++;
    } else {
        l->st.late++;
    }
    l->st.delivered++;
    l->deliver(l->user, tunnel, data, len);
}

/* Release what is due, earliest first. */
static void release(wzp_link *l, uint64_t now_ms) {
    for (;;) {
        paced *next = NULL;
        for (size_t i = 0; i < PACE_SLOTS; i++) {
            paced *p = &l->pace[i];
            if (p->used && p->release_ms <= now_ms &&
                (next == NULL || p->release_ms < next->release_ms)) {
                next = p;
            }
        }
        if (next == NULL) {
            return;
        }
        next->used = false;
        l->st.delivered++;
        l->deliver(l->user, next->tunnel, next->data, next->len);
    }
}

int wzp_link_receive(wzp_link *l, const uint8_t *dgram, size_t len, uint64_t now_ms) {
    const uint8_t *p;
    size_t n = 0;
    if (!l->ready) {
        return WZP_ERR_STATE;
    }
    int rc = wzp_hop_open(&l->hop.rx, dgram, len, &p, &n);
    if (rc != WZP_OK) {
        l->st.refused++;
        return rc;
    }
    l->st.received++;
    if (n == 0) {
        return WZP_OK; /* a keep-alive */
    }
    if (p[0] == T_RAW && n > 5) {
        l->st.delivered++;
        l->deliver(l->user, get_u32(p + 1), p + 5, n - 5);
        return WZP_OK;
    }
    if (p[0] != T_FEC || n <= FEC_HDR || (p[3] & ~1u) != 0) {
        return WZP_ERR_MALFORMED;
    }
    wzp_fec_packet pkt = {p[1], p[2], (p[3] & 1) != 0, p + FEC_HDR, n - FEC_HDR, 0, 0};
    size_t got = 0;
    if (wzp_fec_decoder_add(l->dec, &pkt, now_ms, l->fr, WZP_FEC_MAX_BLOCK_K, &got) != WZP_OK) {
        return WZP_ERR_MALFORMED;
    }
    for (size_t i = 0; i < got; i++) {
        const wzp_fec_frame *f = &l->fr[i];
        if (f->len <= FRAME_HDR) {
            continue;
        }
        l->st.recovered += f->recovered;
        pace(l, get_u32(f->data), (uint16_t)(f->data[4] << 8 | f->data[5]), f->data + FRAME_HDR,
             f->len - FRAME_HDR, now_ms);
    }
    return WZP_OK;
}

wzp_link_stats wzp_link_get_stats(const wzp_link *l) {
    return l->st;
}
