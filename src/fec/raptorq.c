/*
 * RFC 6330 RaptorQ, specialised for the small blocks of voice.
 *
 * RaptorQ is linear: every encoding symbol is a fixed GF(256) combination of the K' source
 * symbols of a block (the intermediate symbols are A^-1 times the padded source). So, once per
 * K', we build the constraint matrix A (LDPC, HDPC and LT rows, §5.3.3), invert it, and fold
 * each repair symbol's LT row through A^-1 into one coefficient row over the source symbols.
 * Encoding a repair symbol is then K multiply-adds; decoding solves only for the missing source
 * symbols, from the coefficient rows of the received repair symbols. The symbols are exactly
 * the RFC's (tests check the RFC's golden vectors and lcrq), and a block decodes exactly when the
 * RFC decoder's system would have full rank, since both describe the same linear map.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fec/gf256.h"
#include "fec/rfc6330_tables.h"
#include "wzp/fec.h"
#include "wzp/alloc.h"

struct wzp_rq_code {
    unsigned k_prime, j, s, h, w, l, p, p1;
    uint8_t *coef; /* WZP_RQ_MAX_REPAIR rows of k_prime coefficients */
};

#define MAX_TABLE_ROWS 512
static _Atomic(wzp_rq_code *) g_codes[MAX_TABLE_ROWS];
static pthread_mutex_t g_build_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- RFC 6330 §5.3.5 generators --------------------------------------------------------- */

static uint32_t rq_rand(uint32_t y, uint32_t i, uint32_t m) {
    uint32_t x0 = (y + i) & 0xFF, x1 = ((y >> 8) + i) & 0xFF;
    uint32_t x2 = ((y >> 16) + i) & 0xFF, x3 = ((y >> 24) + i) & 0xFF;
    return (wzp__rq_V0[x0] ^ wzp__rq_V1[x1] ^ wzp__rq_V2[x2] ^ wzp__rq_V3[x3]) % m;
}

/* §5.3.5.2 Table 1 */
static const uint32_t k_deg_f[31] = {0,       5243,    529531,  704294,  791675,  844104,  879057,
                                     904023,  922747,  937311,  948962,  958494,  966438,  973160,
                                     978921,  983914,  988283,  992138,  995565,  998631,  1001391,
                                     1003887, 1006157, 1008229, 1010129, 1011876, 1013490, 1014983,
                                     1016370, 1017662, 1048576};

static uint32_t rq_deg(uint32_t v, uint32_t w) {
    uint32_t d = 1;
    while (d < 30 && v >= k_deg_f[d]) {
        d++;
    }
    return d < w - 2 ? d : w - 2;
}

typedef struct rq_tuple {
    uint32_t d, a, b, d1, a1, b1;
} rq_tuple;

static rq_tuple rq_tuple_of(const wzp_rq_code *c, uint32_t x) {
    uint32_t a_ = 53591u + c->j * 997u;
    if (a_ % 2 == 0) {
        a_++;
    }
    uint32_t b_ = 10267u * (c->j + 1);
    uint32_t y = b_ + x * a_; /* mod 2^32 */
    rq_tuple t;
    t.d = rq_deg(rq_rand(y, 0, 1u << 20), c->w);
    t.a = 1 + rq_rand(y, 1, c->w - 1);
    t.b = rq_rand(y, 2, c->w);
    t.d1 = t.d < 4 ? 2 + rq_rand(x, 3, 2) : 2;
    t.a1 = 1 + rq_rand(x, 4, c->p1 - 1);
    t.b1 = rq_rand(x, 5, c->p1);
    return t;
}

/* The LT row of ISI x (§5.3.5.3) as a 0/1 vector over the L intermediate symbols. A column hit
 * twice cancels, as XOR-ing the same symbol twice would. */
static void rq_lt_row(const wzp_rq_code *c, uint32_t x, uint8_t *row) {
    rq_tuple t = rq_tuple_of(c, x);
    memset(row, 0, c->l);
    uint32_t b = t.b, b1 = t.b1;
    row[b] ^= 1;
    for (uint32_t i = 1; i < t.d; i++) {
        b = (b + t.a) % c->w;
        row[b] ^= 1;
    }
    while (b1 >= c->p) {
        b1 = (b1 + t.a1) % c->p1;
    }
    row[c->w + b1] ^= 1;
    for (uint32_t i = 1; i < t.d1; i++) {
        b1 = (b1 + t.a1) % c->p1;
        while (b1 >= c->p) {
            b1 = (b1 + t.a1) % c->p1;
        }
        row[c->w + b1] ^= 1;
    }
}

/* ---- constraint matrix (§5.3.3.3) ------------------------------------------------------- */

static void build_ldpc(const wzp_rq_code *c, uint8_t *a) {
    unsigned l = c->l, s = c->s, b_cols = c->w - c->s;
    for (unsigned i = 0; i < b_cols; i++) {
        unsigned step = 1 + i / s, b = i % s;
        a[b * l + i] ^= 1;
        b = (b + step) % s;
        a[b * l + i] ^= 1;
        b = (b + step) % s;
        a[b * l + i] ^= 1;
    }
    for (unsigned i = 0; i < s; i++) {
        a[i * l + b_cols + i] = 1;
        a[i * l + c->w + (i % c->p)] ^= 1;
        a[i * l + c->w + ((i + 1) % c->p)] ^= 1;
    }
}

/* G_HDPC = MT * GAMMA, computed column by column from the right: G[r][j] = MT[r][j] +
 * alpha * G[r][j+1]. */
static void build_hdpc(const wzp_rq_code *c, uint8_t *a) {
    unsigned l = c->l, ks = c->k_prime + c->s, h = c->h;
    uint8_t acc[64] = {0};
    for (unsigned j = ks; j-- > 0;) {
        uint8_t mt[64] = {0};
        if (j == ks - 1) {
            for (unsigned r = 0; r < h; r++) {
                mt[r] = wzp__gf_exp(r);
            }
        } else {
            unsigned r1 = rq_rand(j + 1, 6, h);
            unsigned r2 = (r1 + rq_rand(j + 1, 7, h - 1) + 1) % h;
            mt[r1] = 1;
            mt[r2] = 1;
        }
        for (unsigned r = 0; r < h; r++) {
            acc[r] = (uint8_t)(wzp__gf_mul(acc[r], 2) ^ mt[r]);
            a[(c->s + r) * l + j] = acc[r];
        }
    }
    for (unsigned r = 0; r < h; r++) {
        a[(c->s + r) * l + ks + r] = 1;
    }
}

/* Gauss-Jordan inversion of the n x n matrix `a` into `inv` (a is destroyed). */
static int gf_invert(uint8_t *a, uint8_t *inv, unsigned n) {
    memset(inv, 0, (size_t)n * n);
    for (unsigned i = 0; i < n; i++) {
        inv[i * n + i] = 1;
    }
    for (unsigned col = 0; col < n; col++) {
        unsigned piv = col;
        while (piv < n && a[piv * n + col] == 0) {
            piv++;
        }
        if (piv == n) {
            return WZP_ERR_MALFORMED; /* singular */
        }
        if (piv != col) {
            for (unsigned k = 0; k < n; k++) {
                uint8_t t = a[col * n + k];
                a[col * n + k] = a[piv * n + k];
                a[piv * n + k] = t;
                t = inv[col * n + k];
                inv[col * n + k] = inv[piv * n + k];
                inv[piv * n + k] = t;
            }
        }
        uint8_t f = wzp__gf_inv(a[col * n + col]);
        wzp__gf_scale(a + (size_t)col * n, f, n);
        wzp__gf_scale(inv + (size_t)col * n, f, n);
        for (unsigned r = 0; r < n; r++) {
            uint8_t m = a[r * n + col];
            if (r != col && m != 0) {
                wzp__gf_muladd(a + (size_t)r * n, a + (size_t)col * n, m, n);
                wzp__gf_muladd(inv + (size_t)r * n, inv + (size_t)col * n, m, n);
            }
        }
    }
    return WZP_OK;
}

static bool is_prime(unsigned v) {
    if (v < 2) {
        return false;
    }
    for (unsigned d = 2; d * d <= v; d++) {
        if (v % d == 0) {
            return false;
        }
    }
    return true;
}

static size_t table_index(unsigned k) {
    size_t i = 0;
    while (i < wzp__rq_table2_len && wzp__rq_table2[i].k_prime < k) {
        i++;
    }
    return i;
}

unsigned wzp_rq_k_prime(unsigned k) {
    size_t i = table_index(k);
    return i < wzp__rq_table2_len ? wzp__rq_table2[i].k_prime : 0;
}

/* Fold each repair symbol's LT row through A^-1: coefficient row over the K' source symbols. */
static void fold_repair_rows(wzp_rq_code *c, const uint8_t *inv, uint8_t *lt) {
    unsigned off = c->s + c->h;
    for (unsigned r = 0; r < WZP_RQ_MAX_REPAIR; r++) {
        uint8_t *coef = c->coef + (size_t)r * c->k_prime;
        rq_lt_row(c, c->k_prime + r, lt);
        for (unsigned col = 0; col < c->l; col++) {
            if (lt[col]) {
                wzp__gf_muladd(coef, inv + (size_t)col * c->l + off, 1, c->k_prime);
            }
        }
    }
}

static int build_code(size_t idx, wzp_rq_code **out) {
    const wzp__rq_systematic *row = &wzp__rq_table2[idx];
    wzp_rq_code *c = wzp_calloc(1, sizeof(*c));
    if (c == NULL) {
        return WZP_ERR_NOMEM;
    }
    c->k_prime = row->k_prime;
    c->j = row->j;
    c->s = row->s;
    c->h = row->h;
    c->w = row->w;
    c->l = c->k_prime + c->s + c->h;
    c->p = c->l - c->w;
    c->p1 = c->p;
    while (!is_prime(c->p1)) {
        c->p1++;
    }
    size_t ll = (size_t)c->l * c->l;
    uint8_t *a = wzp_calloc(ll, 1), *inv = wzp_malloc(ll), *lt = wzp_malloc(c->l);
    c->coef = wzp_calloc((size_t)WZP_RQ_MAX_REPAIR * c->k_prime, 1);
    int rc = (a && inv && lt && c->coef) ? WZP_OK : WZP_ERR_NOMEM;
    if (rc == WZP_OK) {
        build_ldpc(c, a);
        build_hdpc(c, a);
        for (unsigned i = 0; i < c->k_prime; i++) {
            rq_lt_row(c, i, a + (size_t)(c->s + c->h + i) * c->l);
        }
        rc = gf_invert(a, inv, c->l);
    }
    if (rc == WZP_OK) {
        fold_repair_rows(c, inv, lt);
        *out = c;
    } else {
        wzp_free(c->coef);
        wzp_free(c);
    }
    wzp_free(a);
    wzp_free(inv);
    wzp_free(lt);
    return rc;
}

int wzp_rq_code_get(unsigned k, const wzp_rq_code **out) {
    if (k == 0 || k > WZP_RQ_MAX_K) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp__gf_init();
    size_t idx = table_index(k);
    wzp_rq_code *c = atomic_load_explicit(&g_codes[idx], memory_order_acquire);
    if (c != NULL) {
        *out = c;
        return WZP_OK;
    }
    pthread_mutex_lock(&g_build_lock);
    c = atomic_load_explicit(&g_codes[idx], memory_order_relaxed);
    int rc = WZP_OK;
    if (c == NULL) {
        rc = build_code(idx, &c);
        if (rc == WZP_OK) {
            atomic_store_explicit(&g_codes[idx], c, memory_order_release);
        }
    }
    pthread_mutex_unlock(&g_build_lock);
    if (rc == WZP_OK) {
        *out = c;
    }
    return rc;
}

/* ---- encoding and decoding -------------------------------------------------------------- */

static const uint8_t *repair_row(const wzp_rq_code *c, unsigned k, uint32_t esi) {
    return c->coef + (size_t)(esi - k) * c->k_prime;
}

int wzp_rq_encode(const wzp_rq_code *code, unsigned k, const uint8_t *src, size_t t, uint32_t esi,
                  uint8_t *out) {
    if (k == 0 || k > code->k_prime || esi >= k + WZP_RQ_MAX_REPAIR) {
        return WZP_ERR_INVALID_ARG;
    }
    if (esi < k) {
        memcpy(out, src + (size_t)esi * t, t);
        return WZP_OK;
    }
    const uint8_t *coef = repair_row(code, k, esi);
    memset(out, 0, t);
    for (unsigned j = 0; j < k; j++) {
        wzp__gf_muladd(out, src + (size_t)j * t, coef[j], t);
    }
    return WZP_OK;
}

size_t wzp_rq_decode_scratch_size(unsigned k, size_t t) {
    return (size_t)k * t + 3u * k * k + 2u * k;
}

/* Reduce `v` (m coefficients) against the echelon rows found so far; true if independent, in
 * which case it is normalised and becomes a new row with its pivot recorded. */
static bool add_to_basis(uint8_t *basis, uint8_t *pivots, unsigned *rows, uint8_t *v, unsigned m) {
    for (unsigned r = 0; r < *rows; r++) {
        uint8_t f = v[pivots[r]];
        if (f != 0) {
            wzp__gf_muladd(v, basis + (size_t)r * m, f, m);
        }
    }
    unsigned p = 0;
    while (p < m && v[p] == 0) {
        p++;
    }
    if (p == m) {
        return false;
    }
    wzp__gf_scale(v, wzp__gf_inv(v[p]), m);
    memcpy(basis + (size_t)*rows * m, v, m);
    pivots[(*rows)++] = (uint8_t)p;
    return true;
}

typedef struct decode_ctx {
    const wzp_rq_code *code;
    unsigned k, m;
    size_t t;
    uint8_t miss[WZP_RQ_MAX_K];
    size_t chosen[WZP_RQ_MAX_K]; /* index into the received symbols */
} decode_ctx;

/* Pick m received repair symbols whose rows over the missing columns are independent. */
static bool choose_repairs(decode_ctx *d, const uint32_t *esis, size_t n, uint8_t *basis,
                           uint8_t *v) {
    uint8_t pivots[WZP_RQ_MAX_K];
    uint8_t seen[(WZP_RQ_MAX_K + WZP_RQ_MAX_REPAIR) / 8] = {0};
    unsigned rows = 0;
    for (size_t i = 0; i < n && rows < d->m; i++) {
        uint32_t e = esis[i];
        if (e < d->k || e >= d->k + WZP_RQ_MAX_REPAIR || (seen[e / 8] >> (e % 8)) & 1) {
            continue;
        }
        seen[e / 8] = (uint8_t)(seen[e / 8] | (1u << (e % 8)));
        const uint8_t *coef = repair_row(d->code, d->k, e);
        for (unsigned c = 0; c < d->m; c++) {
            v[c] = coef[d->miss[c]];
        }
        if (add_to_basis(basis, pivots, &rows, v, d->m)) {
            d->chosen[rows - 1] = i;
        }
    }
    return rows == d->m;
}

int wzp_rq_decode(const wzp_rq_code *code, unsigned k, size_t t, const uint32_t *esis,
                  const uint8_t *const *syms, size_t n, uint8_t *out, uint8_t *scratch,
                  size_t scratch_len) {
    if (k == 0 || k > code->k_prime || scratch_len < wzp_rq_decode_scratch_size(k, t)) {
        return WZP_ERR_INVALID_ARG;
    }
    bool have[WZP_RQ_MAX_K] = {false};
    for (size_t i = 0; i < n; i++) {
        if (esis[i] < k && !have[esis[i]]) {
            memcpy(out + (size_t)esis[i] * t, syms[i], t);
            have[esis[i]] = true;
        }
    }
    decode_ctx d = {.code = code, .k = k, .t = t, .m = 0};
    for (unsigned j = 0; j < k; j++) {
        if (!have[j]) {
            d.miss[d.m++] = (uint8_t)j;
        }
    }
    if (d.m == 0) {
        return WZP_OK;
    }
    uint8_t *rhs = scratch, *mat = scratch + (size_t)k * t;
    uint8_t *inv = mat + (size_t)k * k, *basis = inv + (size_t)k * k, *v = basis + (size_t)k * k;
    if (!choose_repairs(&d, esis, n, basis, v)) {
        return WZP_ERR_NEED_MORE;
    }
    /* right-hand sides: each chosen repair minus the known source symbols' contribution */
    for (unsigned r = 0; r < d.m; r++) {
        uint32_t e = esis[d.chosen[r]];
        const uint8_t *coef = repair_row(code, k, e);
        uint8_t *dst = rhs + (size_t)r * t;
        memcpy(dst, syms[d.chosen[r]], t);
        for (unsigned j = 0; j < k; j++) {
            if (have[j]) {
                wzp__gf_muladd(dst, out + (size_t)j * t, coef[j], t);
            }
        }
        for (unsigned c = 0; c < d.m; c++) {
            mat[r * d.m + c] = coef[d.miss[c]];
        }
    }
    if (gf_invert(mat, inv, d.m) != WZP_OK) {
        return WZP_ERR_NEED_MORE; /* cannot happen: the rows were chosen independent */
    }
    for (unsigned c = 0; c < d.m; c++) {
        uint8_t *dst = out + (size_t)d.miss[c] * t;
        memset(dst, 0, t);
        for (unsigned r = 0; r < d.m; r++) {
            wzp__gf_muladd(dst, rhs + (size_t)r * t, inv[c * d.m + r], t);
        }
    }
    return WZP_OK;
}
