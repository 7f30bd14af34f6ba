/*
 * FEC block framing and the encoder/decoder block managers (SPEC §6). The encoder turns frames
 * into source packets at once and adds repair packets when a block closes; the decoder keeps a
 * few blocks assembling at once, hands out each frame as soon as it is known, and expires blocks
 * by age and by block-id distance (8-bit wrap). The state of a block lives here alone: its codec
 * and first frame's media timestamp travel on each of its packets (a repair packet carries the
 * block's first timestamp, a source packet its own), so every frame that comes out -- received
 * or recovered -- carries its codec and timestamp, and the block's K once a repair told it. All
 * memory is taken at creation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/bytes.h"
#include "wzp/fec.h"
#include "wzp/alloc.h"

#define DEFAULT_SLOTS      8
#define DEFAULT_WINDOW     16
#define DEFAULT_MAX_AGE_MS 2000
#define MAX_SLOTS          64

size_t wzp_fec_symbol_size(size_t max_frame, bool fixed_t) {
    size_t need = max_frame + WZP_FEC_LEN_PREFIX;
    if (fixed_t) {
        return need <= WZP_FEC_FIXED_T ? WZP_FEC_FIXED_T : 0;
    }
    size_t t = (need + WZP_FEC_ALIGN - 1) / WZP_FEC_ALIGN * WZP_FEC_ALIGN;
    return t <= WZP_FEC_MAX_T ? t : 0;
}

int wzp_fec_symbol_pack(const uint8_t *frame, size_t len, uint8_t *sym, size_t t) {
    if (t < WZP_FEC_LEN_PREFIX || len > t - WZP_FEC_LEN_PREFIX) {
        return WZP_ERR_TOO_LARGE;
    }
    wzp__put_u16le(sym, (uint16_t)len);
    memcpy(sym + WZP_FEC_LEN_PREFIX, frame, len);
    memset(sym + WZP_FEC_LEN_PREFIX + len, 0, t - WZP_FEC_LEN_PREFIX - len);
    return WZP_OK;
}

int wzp_fec_symbol_unpack(const uint8_t *sym, size_t t, const uint8_t **frame, size_t *len) {
    if (t < WZP_FEC_LEN_PREFIX) {
        return WZP_ERR_MALFORMED;
    }
    size_t n = wzp__get_u16le(sym);
    if (n > t - WZP_FEC_LEN_PREFIX) {
        return WZP_ERR_MALFORMED;
    }
    *frame = sym + WZP_FEC_LEN_PREFIX;
    *len = n;
    return WZP_OK;
}

static int check_config(const wzp_fec_config *cfg, size_t *max_t) {
    if (cfg->max_k == 0 || cfg->max_k > WZP_FEC_MAX_BLOCK_K || cfg->max_frame == 0 ||
        cfg->max_frame > WZP_FEC_MAX_FRAME || cfg->slots > MAX_SLOTS || cfg->window >= 128) {
        return WZP_ERR_INVALID_ARG;
    }
    *max_t = wzp_fec_symbol_size(cfg->max_frame, cfg->fixed_t);
    return *max_t == 0 ? WZP_ERR_INVALID_ARG : WZP_OK;
}

/* ---- encoder ---------------------------------------------------------------------------- */

struct wzp_fec_encoder {
    wzp_fec_config cfg;
    size_t max_t;
    unsigned k, next_k;
    float ratio, next_ratio;
    uint8_t block_id;
    unsigned count;
    uint8_t block_codec; /* of the open block's frames */
    uint32_t block_ts;   /* the open block's first frame */
    size_t lens[WZP_FEC_MAX_BLOCK_K];
    uint8_t *frames;  /* max_k x max_frame */
    uint8_t *syms;    /* max_k x max_t */
    uint8_t *repairs; /* WZP_FEC_MAX_BLOCK_REPAIR x (1 + max_t) */
};

int wzp_fec_encoder_new(const wzp_fec_config *cfg, wzp_fec_encoder **out) {
    size_t max_t = 0;
    int rc = check_config(cfg, &max_t);
    if (rc != WZP_OK) {
        return rc;
    }
    wzp_fec_encoder *e = wzp_calloc(1, sizeof(*e));
    if (e == NULL) {
        return WZP_ERR_NOMEM;
    }
    e->cfg = *cfg;
    e->max_t = max_t;
    e->k = e->next_k = cfg->max_k;
    e->frames = wzp_malloc((size_t)cfg->max_k * cfg->max_frame);
    e->syms = wzp_malloc((size_t)cfg->max_k * max_t);
    e->repairs = wzp_malloc((size_t)WZP_FEC_MAX_BLOCK_REPAIR * (1 + max_t));
    if (e->frames == NULL || e->syms == NULL || e->repairs == NULL) {
        wzp_fec_encoder_free(e);
        return WZP_ERR_NOMEM;
    }
    *out = e;
    return WZP_OK;
}

void wzp_fec_encoder_free(wzp_fec_encoder *enc) {
    if (enc != NULL) {
        wzp_free(enc->frames);
        wzp_free(enc->syms);
        wzp_free(enc->repairs);
        wzp_free(enc);
    }
}

int wzp_fec_encoder_set_params(wzp_fec_encoder *enc, unsigned k, float ratio) {
    if (k == 0 || k > enc->cfg.max_k || !(ratio >= 0.0f && ratio <= 2.0f)) {
        return WZP_ERR_INVALID_ARG;
    }
    enc->next_k = k;
    enc->next_ratio = ratio;
    if (enc->count == 0) {
        enc->k = k;
        enc->ratio = ratio;
    }
    return WZP_OK;
}

static unsigned repair_count(unsigned k, float ratio) {
    double r = ceil((double)k * (double)ratio - 1e-6);
    unsigned n = r <= 0.0 ? 0u : (unsigned)r;
    if (n > WZP_FEC_MAX_BLOCK_REPAIR) {
        n = WZP_FEC_MAX_BLOCK_REPAIR;
    }
    if (k + n > 256) { /* the ESI is one byte on the wire */
        n = 256 - k;
    }
    return n;
}

static int finish_block(wzp_fec_encoder *e, wzp_fec_packet *out, size_t cap, size_t *n) {
    unsigned k = e->count;
    size_t longest = 0;
    for (unsigned i = 0; i < k; i++) {
        longest = e->lens[i] > longest ? e->lens[i] : longest;
    }
    size_t t = wzp_fec_symbol_size(longest, e->cfg.fixed_t);
    unsigned r = repair_count(k, e->ratio);
    if (*n + r > cap) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    const wzp_rq_code *code = NULL;
    int rc = r > 0 ? wzp_rq_code_get(k, &code) : WZP_OK;
    for (unsigned i = 0; rc == WZP_OK && i < k; i++) {
        rc = wzp_fec_symbol_pack(e->frames + (size_t)i * e->cfg.max_frame, e->lens[i],
                                 e->syms + (size_t)i * t, t);
    }
    for (unsigned i = 0; rc == WZP_OK && i < r; i++) {
        uint8_t *p = e->repairs + (size_t)i * (1 + t);
        p[0] = (uint8_t)k;
        rc = wzp_rq_encode(code, k, e->syms, t, k + i, p + 1);
        out[(*n)++] = (wzp_fec_packet){e->block_id, (uint8_t)(k + i), true,       p,
                                       1 + t,       e->block_codec,   e->block_ts};
    }
    e->block_id++;
    e->count = 0;
    e->k = e->next_k;
    e->ratio = e->next_ratio;
    return rc;
}

int wzp_fec_encoder_add(wzp_fec_encoder *enc, const uint8_t *frame, size_t len, uint8_t codec_id,
                        uint32_t timestamp_ms, wzp_fec_packet *out, size_t cap, size_t *n) {
    *n = 0;
    if (len == 0) {
        return WZP_ERR_EMPTY;
    }
    if (len > enc->cfg.max_frame) {
        return WZP_ERR_TOO_LARGE;
    }
    if (cap < 1) {
        return WZP_ERR_BUFFER_TOO_SMALL;
    }
    if (enc->count == 0) {
        enc->block_codec = codec_id;
        enc->block_ts = timestamp_ms;
    }
    uint8_t *slot = enc->frames + (size_t)enc->count * enc->cfg.max_frame;
    memcpy(slot, frame, len);
    enc->lens[enc->count] = len;
    out[(*n)++] = (wzp_fec_packet){enc->block_id, (uint8_t)enc->count, false, slot, len,
                                   codec_id,      timestamp_ms};
    enc->count++;
    if (enc->count < enc->k) {
        return WZP_OK;
    }
    return finish_block(enc, out, cap, n);
}

int wzp_fec_encoder_flush(wzp_fec_encoder *enc, wzp_fec_packet *out, size_t cap, size_t *n) {
    *n = 0;
    return enc->count == 0 ? WZP_OK : finish_block(enc, out, cap, n);
}

unsigned wzp_fec_encoder_pending(const wzp_fec_encoder *enc) {
    return enc->count;
}

/* ---- decoder ---------------------------------------------------------------------------- */

typedef struct fec_slot {
    bool used, complete;
    uint8_t block_id;
    uint64_t first_ms;
    unsigned k; /* 0 until a repair packet tells */
    size_t t;
    uint8_t codec;     /* of the block, from its latest packet */
    uint32_t first_ts; /* media timestamp of its first frame */
    unsigned n_src, n_rep;
    uint8_t have[WZP_FEC_MAX_BLOCK_K];
    uint16_t src_len[WZP_FEC_MAX_BLOCK_K];
    uint8_t rep_esi[WZP_FEC_MAX_BLOCK_K + 8];
    uint8_t *src; /* max_k x max_frame */
    uint8_t *rep; /* (max_k + 8) x max_t */
} fec_slot;

struct wzp_fec_decoder {
    wzp_fec_config cfg;
    size_t max_t;
    unsigned max_rep;
    bool has_newest;
    uint8_t newest;
    fec_slot slots[MAX_SLOTS];
    uint8_t *in_syms, *out_syms, *scratch;
    size_t scratch_len;
    wzp_fec_decoder_stats stats;
};

int wzp_fec_decoder_new(const wzp_fec_config *cfg, wzp_fec_decoder **out) {
    size_t max_t = 0;
    int rc = check_config(cfg, &max_t);
    if (rc != WZP_OK) {
        return rc;
    }
    wzp_fec_decoder *d = wzp_calloc(1, sizeof(*d));
    if (d == NULL) {
        return WZP_ERR_NOMEM;
    }
    d->cfg = *cfg;
    d->cfg.slots = cfg->slots ? cfg->slots : DEFAULT_SLOTS;
    d->cfg.window = cfg->window ? cfg->window : DEFAULT_WINDOW;
    d->cfg.max_age_ms = cfg->max_age_ms ? cfg->max_age_ms : DEFAULT_MAX_AGE_MS;
    d->max_t = max_t;
    d->max_rep = cfg->max_k + 8;
    d->scratch_len = wzp_rq_decode_scratch_size(cfg->max_k, max_t);
    d->in_syms = wzp_malloc((size_t)cfg->max_k * max_t);
    d->out_syms = wzp_malloc((size_t)cfg->max_k * max_t);
    d->scratch = wzp_malloc(d->scratch_len);
    rc = (d->in_syms && d->out_syms && d->scratch) ? WZP_OK : WZP_ERR_NOMEM;
    for (unsigned i = 0; rc == WZP_OK && i < d->cfg.slots; i++) {
        d->slots[i].src = wzp_malloc((size_t)cfg->max_k * cfg->max_frame);
        d->slots[i].rep = wzp_malloc((size_t)d->max_rep * max_t);
        if (d->slots[i].src == NULL || d->slots[i].rep == NULL) {
            rc = WZP_ERR_NOMEM;
        }
    }
    if (rc != WZP_OK) {
        wzp_fec_decoder_free(d);
        return rc;
    }
    *out = d;
    return WZP_OK;
}

void wzp_fec_decoder_free(wzp_fec_decoder *dec) {
    if (dec == NULL) {
        return;
    }
    for (unsigned i = 0; i < MAX_SLOTS; i++) {
        wzp_free(dec->slots[i].src);
        wzp_free(dec->slots[i].rep);
    }
    wzp_free(dec->in_syms);
    wzp_free(dec->out_syms);
    wzp_free(dec->scratch);
    wzp_free(dec);
}

wzp_fec_decoder_stats wzp_fec_decoder_get_stats(const wzp_fec_decoder *dec) {
    return dec->stats;
}

unsigned wzp_fec_decoder_block_k(const wzp_fec_decoder *dec, uint8_t block_id) {
    for (unsigned i = 0; i < dec->cfg.slots; i++) {
        if (dec->slots[i].used && dec->slots[i].block_id == block_id) {
            return dec->slots[i].k;
        }
    }
    return 0;
}

static void release_slot(wzp_fec_decoder *d, fec_slot *s) {
    if (s->used && !s->complete) {
        d->stats.blocks_expired_incomplete++;
    }
    s->used = false;
}

void wzp_fec_decoder_tick(wzp_fec_decoder *dec, uint64_t now_ms) {
    for (unsigned i = 0; i < dec->cfg.slots; i++) {
        fec_slot *s = &dec->slots[i];
        bool too_old = s->used && now_ms - s->first_ms > dec->cfg.max_age_ms;
        bool too_far = s->used && dec->has_newest &&
                       (int8_t)(uint8_t)(dec->newest - s->block_id) > (int)dec->cfg.window;
        if (too_old || too_far) {
            release_slot(dec, s);
        }
    }
}

/* The slot for `block_id`, a new one (evicting the oldest if all are taken), or NULL when the
 * block is too far behind the newest to matter. */
static fec_slot *slot_for(wzp_fec_decoder *d, uint8_t block_id, uint64_t now_ms) {
    int dist = d->has_newest ? (int8_t)(uint8_t)(block_id - d->newest) : 0;
    if (dist < -(int)d->cfg.window) {
        return NULL;
    }
    if (!d->has_newest || dist > 0) {
        d->has_newest = true;
        d->newest = block_id;
    }
    wzp_fec_decoder_tick(d, now_ms);
    fec_slot *free_slot = NULL, *oldest = NULL;
    for (unsigned i = 0; i < d->cfg.slots; i++) {
        fec_slot *s = &d->slots[i];
        if (s->used && s->block_id == block_id) {
            return s;
        }
        if (!s->used && free_slot == NULL) {
            free_slot = s;
        }
        if (s->used && (oldest == NULL || s->first_ms < oldest->first_ms)) {
            oldest = s;
        }
    }
    fec_slot *victim = free_slot != NULL ? free_slot : oldest;
    release_slot(d, victim);
    victim->used = true;
    victim->complete = false;
    victim->block_id = block_id;
    victim->first_ms = now_ms;
    victim->k = 0;
    victim->t = 0;
    victim->n_src = victim->n_rep = 0;
    memset(victim->have, 0, sizeof(victim->have));
    return victim;
}

static bool add_source(wzp_fec_decoder *d, fec_slot *s, const wzp_fec_packet *p) {
    if (p->esi >= d->cfg.max_k || (s->k != 0 && p->esi >= s->k) || p->len == 0 ||
        p->len > d->cfg.max_frame) {
        d->stats.rejected++;
        return false;
    }
    if (s->have[p->esi]) {
        d->stats.duplicates++;
        return false;
    }
    memcpy(s->src + (size_t)p->esi * d->cfg.max_frame, p->payload, p->len);
    s->src_len[p->esi] = (uint16_t)p->len;
    s->have[p->esi] = 1;
    s->n_src++;
    return true;
}

static bool add_repair(wzp_fec_decoder *d, fec_slot *s, const wzp_fec_packet *p) {
    unsigned k = p->len > WZP_FEC_REPAIR_PREFIX ? p->payload[0] : 0;
    size_t t = p->len - WZP_FEC_REPAIR_PREFIX;
    bool bad = k == 0 || k > d->cfg.max_k || p->len <= WZP_FEC_REPAIR_PREFIX ||
               t < WZP_FEC_LEN_PREFIX || t > d->max_t || p->esi < k ||
               (s->k != 0 && (s->k != k || s->t != t));
    for (unsigned i = k; !bad && i < d->cfg.max_k; i++) {
        bad = s->have[i] != 0; /* a source index the repair says cannot exist */
    }
    if (bad) {
        d->stats.rejected++;
        return false;
    }
    s->k = k;
    s->t = t;
    for (unsigned i = 0; i < s->n_rep; i++) {
        if (s->rep_esi[i] == p->esi) {
            d->stats.duplicates++;
            return false;
        }
    }
    if (s->n_rep == d->max_rep) {
        return false; /* plenty already: K + 8 repair symbols always suffice in practice */
    }
    s->rep_esi[s->n_rep] = p->esi;
    memcpy(s->rep + (size_t)s->n_rep * d->max_t, p->payload + WZP_FEC_REPAIR_PREFIX, t);
    s->n_rep++;
    return true;
}

static unsigned frame_ms(uint8_t codec) {
    const wzp_codec_info *c = wzp_codec_info_get(codec);
    return c != NULL ? c->frame_ms : 20;
}

/* A block's codec and first timestamp, from any of its packets: a repair packet carries the
 * first frame's timestamp, a source packet its own (its position back from there). */
static void learn_block(fec_slot *s, const wzp_fec_packet *p) {
    s->codec = p->codec_id;
    s->first_ts =
        p->is_repair ? p->timestamp_ms : p->timestamp_ms - (uint32_t)p->esi * frame_ms(p->codec_id);
}

static uint32_t frame_ts(const fec_slot *s, unsigned index) {
    return s->first_ts + (uint32_t)index * frame_ms(s->codec);
}

/* Try to solve the block; on success hand out the recovered frames. */
static void try_recover(wzp_fec_decoder *d, fec_slot *s, wzp_fec_frame *out, size_t cap,
                        size_t *n) {
    if (s->k == 0 || s->n_src >= s->k || s->n_src + s->n_rep < s->k || cap - *n < s->k) {
        return;
    }
    uint32_t esis[WZP_FEC_MAX_BLOCK_K * 2 + 8];
    const uint8_t *ptrs[WZP_FEC_MAX_BLOCK_K * 2 + 8];
    size_t m = 0;
    for (unsigned i = 0; i < s->k; i++) {
        if (!s->have[i]) {
            continue;
        }
        uint8_t *sym = d->in_syms + (size_t)i * s->t;
        if (wzp_fec_symbol_pack(s->src + (size_t)i * d->cfg.max_frame, s->src_len[i], sym, s->t) !=
            WZP_OK) {
            return; /* a source frame longer than the block's symbols: inconsistent block */
        }
        esis[m] = i;
        ptrs[m++] = sym;
    }
    for (unsigned i = 0; i < s->n_rep; i++) {
        esis[m] = s->rep_esi[i];
        ptrs[m++] = s->rep + (size_t)i * d->max_t;
    }
    const wzp_rq_code *code = NULL;
    if (wzp_rq_code_get(s->k, &code) != WZP_OK ||
        wzp_rq_decode(code, s->k, s->t, esis, ptrs, m, d->out_syms, d->scratch, d->scratch_len) !=
            WZP_OK) {
        return;
    }
    for (unsigned i = 0; i < s->k; i++) {
        const uint8_t *frame;
        size_t len;
        if (s->have[i] ||
            wzp_fec_symbol_unpack(d->out_syms + (size_t)i * s->t, s->t, &frame, &len) != WZP_OK ||
            len == 0) {
            continue;
        }
        out[(*n)++] = (wzp_fec_frame){s->block_id, (uint8_t)i, true,           frame,
                                      len,         s->codec,   frame_ts(s, i), s->k};
        d->stats.frames_recovered++;
    }
    s->complete = true;
    d->stats.blocks_complete++;
}

int wzp_fec_decoder_add(wzp_fec_decoder *dec, const wzp_fec_packet *pkt, uint64_t now_ms,
                        wzp_fec_frame *out, size_t cap, size_t *n) {
    *n = 0;
    dec->stats.packets++;
    fec_slot *s = slot_for(dec, pkt->block_id, now_ms);
    if (s == NULL) {
        dec->stats.expired_packets++;
        return WZP_OK;
    }
    learn_block(s, pkt);
    if (s->complete) {
        dec->stats.duplicates++;
        return WZP_OK;
    }
    if (!pkt->is_repair) {
        if (!add_source(dec, s, pkt) || cap == 0) {
            return WZP_OK;
        }
        out[(*n)++] = (wzp_fec_frame){s->block_id,
                                      pkt->esi,
                                      false,
                                      s->src + (size_t)pkt->esi * dec->cfg.max_frame,
                                      pkt->len,
                                      s->codec,
                                      frame_ts(s, pkt->esi),
                                      s->k};
        dec->stats.frames_direct++;
    } else if (!add_repair(dec, s, pkt)) {
        return WZP_OK;
    }
    if (s->k != 0 && s->n_src == s->k) {
        s->complete = true;
        dec->stats.blocks_complete++;
        return WZP_OK;
    }
    try_recover(dec, s, out, cap, n);
    return WZP_OK;
}
