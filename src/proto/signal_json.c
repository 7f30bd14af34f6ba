/*
 * JSON codec for signal messages, driven by the schema table in signal.c. Input is untrusted:
 * the text must be UTF-8 without NUL escapes, every field is type- and range-checked, and a
 * message is handed out only when all of it decoded.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc_internal.h"
#include "proto/signal_desc.h"
#include "wzp/alloc.h"

static const char *const k_hangup_names[] = {"Normal", "Busy", "Declined", "Timeout", "Error"};
static const char *const k_accept_names[] = {"Reject", "AcceptTrusted", "AcceptGeneric"};

/* ---- text checks ----------------------------------------------------------------------- */

/* Length of the UTF-8 sequence starting at s[0] (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0 when invalid. */
static size_t utf8_seq_len(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    if (c < 0x80) {
        return 1;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return len;
}

static bool valid_utf8(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq_len(s + i, n - i);
        if (k == 0) {
            return false;
        }
        i += k;
    }
    return true;
}

/* JSON text must be UTF-8 (RFC 8259 §8.1), contain no raw NUL, and no "\u0000" escape: C strings
 * would silently cut such a string short. */
static bool acceptable_text(const uint8_t *s, size_t n) {
    if (!valid_utf8(s, n) || memchr(s, 0, n) != NULL) {
        return false;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\') {
            continue;
        }
        if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0) {
            return false;
        }
        i++; /* skip the escaped character, so "\\\\u0000" is not misread */
    }
    return true;
}

/* ---- decoding -------------------------------------------------------------------------- */

static int decode_message(const cJSON *node, unsigned depth, wzp_signal **out);

static int get_uint(const cJSON *item, uint64_t max, uint64_t *out) {
    if (!cJSON_IsNumber(item)) {
        return WZP_ERR_MALFORMED;
    }
    double d = item->valuedouble;
    if (!isfinite(d) || d < 0.0 || floor(d) != d) {
        return WZP_ERR_MALFORMED;
    }
    if (d > (double)max) {
        return WZP_ERR_OUT_OF_RANGE;
    }
    *out = (uint64_t)d;
    return WZP_OK;
}

static int get_u8(const cJSON *item, uint8_t *out) {
    uint64_t v = 0;
    int rc = get_uint(item, UINT8_MAX, &v);
    if (rc == WZP_OK) {
        *out = (uint8_t)v;
    }
    return rc;
}

/* Find `name` in `obj`; a repeated key is malformed (serde refuses duplicates too). */
static int member(const cJSON *obj, const char *name, const cJSON **out) {
    const cJSON *found = NULL;
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        if (c->string != NULL && strcmp(c->string, name) == 0) {
            if (found != NULL) {
                return WZP_ERR_MALFORMED;
            }
            found = c;
        }
    }
    *out = found;
    return WZP_OK;
}

static int required(const cJSON *obj, const char *name, const cJSON **out) {
    int rc = member(obj, name, out);
    if (rc == WZP_OK && (*out == NULL || cJSON_IsNull(*out))) {
        return WZP_ERR_MISSING_FIELD;
    }
    return rc;
}

static int get_string(const cJSON *item, char **out) {
    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        return WZP_ERR_MALFORMED;
    }
    size_t n = strlen(item->valuestring);
    if (n > WZP_SIGNAL_MAX_STRING) {
        return WZP_ERR_TOO_LARGE;
    }
    *out = wzp_strndup(item->valuestring, n);
    return *out == NULL ? WZP_ERR_NOMEM : WZP_OK;
}

static int get_byte_array(const cJSON *item, uint8_t *dst, size_t min, size_t max, size_t *len) {
    if (!cJSON_IsArray(item)) {
        return WZP_ERR_MALFORMED;
    }
    size_t n = 0;
    for (const cJSON *c = item->child; c != NULL; c = c->next) {
        if (n >= max) {
            return WZP_ERR_TOO_LARGE;
        }
        int rc = get_u8(c, &dst[n]);
        if (rc != WZP_OK) {
            return rc;
        }
        n++;
    }
    if (n < min) {
        return WZP_ERR_MALFORMED;
    }
    *len = n;
    return WZP_OK;
}

static int get_name_index(const cJSON *item, const char *const *names, size_t count,
                          unsigned *out) {
    if (!cJSON_IsString(item)) {
        return WZP_ERR_MALFORMED;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(item->valuestring, names[i]) == 0) {
            *out = (unsigned)i;
            return WZP_OK;
        }
    }
    return WZP_ERR_MALFORMED;
}

static int get_profile(const cJSON *item, wzp_profile *out) {
    if (!cJSON_IsObject(item)) {
        return WZP_ERR_MALFORMED;
    }
    const cJSON *codec, *ratio, *dur, *fpb;
    int rc = required(item, "codec", &codec);
    if (rc == WZP_OK) {
        rc = required(item, "fec_ratio", &ratio);
    }
    if (rc == WZP_OK) {
        rc = required(item, "frame_duration_ms", &dur);
    }
    if (rc == WZP_OK) {
        rc = required(item, "frames_per_block", &fpb);
    }
    if (rc != WZP_OK) {
        return rc;
    }
    if (!cJSON_IsString(codec) || !cJSON_IsNumber(ratio)) {
        return WZP_ERR_MALFORMED;
    }
    const wzp_codec_info *ci =
        wzp_codec_info_by_name(codec->valuestring, strlen(codec->valuestring));
    if (ci == NULL) {
        return WZP_ERR_UNKNOWN_CODEC;
    }
    wzp_profile p = {.codec = ci->id, .fec_ratio = (float)ratio->valuedouble};
    rc = get_u8(dur, &p.frame_duration_ms);
    if (rc == WZP_OK) {
        rc = get_u8(fpb, &p.frames_per_block);
    }
    if (rc == WZP_OK) {
        rc = wzp_profile_validate(&p);
    }
    if (rc == WZP_OK) {
        *out = p;
    }
    return rc;
}

static int get_report(const cJSON *item, wzp_quality_report *out) {
    static const char *const names[4] = {"loss_pct", "rtt_4ms", "jitter_ms", "bitrate_cap_kbps"};
    if (!cJSON_IsObject(item)) {
        return WZP_ERR_MALFORMED;
    }
    uint8_t v[4];
    for (size_t i = 0; i < 4; i++) {
        const cJSON *f;
        int rc = required(item, names[i], &f);
        if (rc == WZP_OK) {
            rc = get_u8(f, &v[i]);
        }
        if (rc != WZP_OK) {
            return rc;
        }
    }
    *out = (wzp_quality_report){v[0], v[1], v[2], v[3]};
    return WZP_OK;
}

static int array_size(const cJSON *item, size_t max, size_t *out) {
    if (!cJSON_IsArray(item)) {
        return WZP_ERR_MALFORMED;
    }
    size_t n = 0;
    for (const cJSON *c = item->child; c != NULL; c = c->next) {
        if (++n > max) {
            return WZP_ERR_TOO_MANY_ENTRIES;
        }
    }
    *out = n;
    return WZP_OK;
}

static int get_profiles(const cJSON *item, wzp_sig_profiles *out) {
    size_t n = 0;
    int rc = array_size(item, WZP_SIGNAL_MAX_PROFILES, &n);
    size_t i = 0;
    for (const cJSON *c = item->child; rc == WZP_OK && c != NULL; c = c->next) {
        rc = get_profile(c, &out->items[i++]);
    }
    if (rc == WZP_OK) {
        out->count = n;
    }
    return rc;
}

static int get_strings(const cJSON *item, wzp_sig_strings *out) {
    size_t n = 0;
    int rc = array_size(item, WZP_SIGNAL_MAX_LIST, &n);
    if (rc != WZP_OK || n == 0) {
        return rc;
    }
    out->items = wzp_calloc(n, sizeof(char *));
    if (out->items == NULL) {
        return WZP_ERR_NOMEM;
    }
    for (const cJSON *c = item->child; c != NULL; c = c->next) {
        rc = get_string(c, &out->items[out->count]);
        if (rc != WZP_OK) {
            return rc; /* the caller frees what was decoded so far */
        }
        out->count++;
    }
    return WZP_OK;
}

static int get_participant(const cJSON *item, wzp_room_participant *p) {
    if (!cJSON_IsObject(item)) {
        return WZP_ERR_MALFORMED;
    }
    const cJSON *fp, *alias, *label, *session;
    int rc = required(item, "fingerprint", &fp);
    if (rc == WZP_OK) {
        rc = member(item, "alias", &alias);
    }
    if (rc == WZP_OK) {
        rc = member(item, "relay_label", &label);
    }
    if (rc == WZP_OK) {
        rc = member(item, "session", &session);
    }
    if (rc == WZP_OK) {
        rc = get_string(fp, &p->fingerprint);
    }
    if (rc == WZP_OK && alias != NULL && !cJSON_IsNull(alias)) {
        rc = get_string(alias, &p->alias);
    }
    if (rc == WZP_OK && label != NULL && !cJSON_IsNull(label)) {
        rc = get_string(label, &p->relay_label);
    }
    if (rc == WZP_OK && session != NULL && !cJSON_IsNull(session)) {
        uint64_t v = 0;
        rc = get_uint(session, UINT32_MAX, &v);
        p->session = (uint32_t)v;
    }
    return rc;
}

static int get_participants(const cJSON *item, wzp_sig_participants *out) {
    size_t n = 0;
    int rc = array_size(item, WZP_SIGNAL_MAX_LIST, &n);
    if (rc != WZP_OK || n == 0) {
        return rc;
    }
    out->items = wzp_calloc(n, sizeof(wzp_room_participant));
    if (out->items == NULL) {
        return WZP_ERR_NOMEM;
    }
    for (const cJSON *c = item->child; c != NULL; c = c->next) {
        out->count++; /* count first: a half-decoded entry must still be freed */
        rc = get_participant(c, &out->items[out->count - 1]);
        if (rc != WZP_OK) {
            return rc;
        }
    }
    return WZP_OK;
}

static int decode_value(const cJSON *item, const wzp__sig_field *f, void *at, unsigned depth) {
    switch ((wzp__sig_kind)f->kind) {
    case WZP__K_STR:
        return get_string(item, (char **)at);
    case WZP__K_KEY: {
        size_t n = 0;
        return get_byte_array(item, at, WZP_SIGNAL_KEY_SIZE, WZP_SIGNAL_KEY_SIZE, &n);
    }
    case WZP__K_KEY_OPT: {
        wzp_sig_key_opt *k = at;
        size_t n = 0;
        int rc = get_byte_array(item, k->key, WZP_SIGNAL_KEY_SIZE, WZP_SIGNAL_KEY_SIZE, &n);
        k->present = rc == WZP_OK;
        return rc;
    }
    case WZP__K_BYTES: {
        wzp_sig_bytes *b = at;
        int rc = get_byte_array(item, b->data, 0, WZP_SIGNAL_BYTES_MAX, &b->len);
        b->present = rc == WZP_OK;
        return rc;
    }
    case WZP__K_U8:
        return get_u8(item, at);
    case WZP__K_U32: {
        uint64_t v = 0;
        int rc = get_uint(item, UINT32_MAX, &v);
        *(uint32_t *)at = (uint32_t)v;
        return rc;
    }
    case WZP__K_U64:
        return get_uint(item, WZP_SIGNAL_MAX_U64, at);
    case WZP__K_BOOL:
        if (!cJSON_IsBool(item)) {
            return WZP_ERR_MALFORMED;
        }
        *(bool *)at = cJSON_IsTrue(item);
        return WZP_OK;
    case WZP__K_PROFILE:
        return get_profile(item, at);
    case WZP__K_PROFILE_OPT: {
        wzp_sig_profile_opt *p = at;
        int rc = get_profile(item, &p->profile);
        p->present = rc == WZP_OK;
        return rc;
    }
    case WZP__K_PROFILES:
        return get_profiles(item, at);
    case WZP__K_REPORT:
        return get_report(item, at);
    case WZP__K_STRINGS:
        return get_strings(item, at);
    case WZP__K_PARTICIPANTS:
        return get_participants(item, at);
    case WZP__K_HANGUP:
        return get_name_index(item, k_hangup_names, 5, at);
    case WZP__K_ACCEPT:
        return get_name_index(item, k_accept_names, 3, at);
    case WZP__K_INNER:
        return decode_message(item, depth + 1, (wzp_signal **)at);
    }
    return WZP_ERR_MALFORMED;
}

static int decode_field(const cJSON *body, wzp_signal *m, const wzp__sig_field *f, unsigned depth) {
    const cJSON *item;
    int rc = member(body, f->name, &item);
    if (rc != WZP_OK) {
        return rc;
    }
    if (item == NULL) {
        return (f->flags & (WZP__F_OPT | WZP__F_DEFAULT)) ? WZP_OK : WZP_ERR_MISSING_FIELD;
    }
    if (cJSON_IsNull(item)) {
        return (f->flags & WZP__F_OPT) ? WZP_OK : WZP_ERR_MISSING_FIELD;
    }
    return decode_value(item, f, wzp__sig_at(m, f), depth);
}

static int find_variant(const char *name, wzp_signal_type *out) {
    for (unsigned i = 0; i < WZP_SIG_TYPE_COUNT; i++) {
        if (strcmp(wzp__sig_variants[i].name, name) == 0) {
            *out = (wzp_signal_type)i;
            return WZP_OK;
        }
    }
    return WZP_ERR_UNKNOWN_VARIANT;
}

/* Split the externally tagged form into variant and body (NULL body for a unit variant). */
static int variant_of(const cJSON *node, wzp_signal_type *type, const cJSON **body) {
    int rc;
    if (cJSON_IsString(node)) {
        rc = find_variant(node->valuestring, type);
        *body = NULL;
        if (rc == WZP_OK && wzp__sig_variants[*type].fields != NULL) {
            return WZP_ERR_MALFORMED; /* a struct variant written as a bare name */
        }
        return rc;
    }
    if (!cJSON_IsObject(node) || node->child == NULL || node->child->next != NULL) {
        return WZP_ERR_MALFORMED;
    }
    rc = find_variant(node->child->string, type);
    if (rc != WZP_OK) {
        return rc;
    }
    *body = node->child;
    if (wzp__sig_variants[*type].fields == NULL) {
        /* serde also accepts {"Hold":null} for a unit variant */
        return cJSON_IsNull(*body) ? WZP_OK : WZP_ERR_MALFORMED;
    }
    return cJSON_IsObject(*body) ? WZP_OK : WZP_ERR_MALFORMED;
}

static int decode_message(const cJSON *node, unsigned depth, wzp_signal **out) {
    if (depth > WZP_SIGNAL_MAX_DEPTH) {
        return WZP_ERR_TOO_LARGE;
    }
    wzp_signal_type type;
    const cJSON *body;
    int rc = variant_of(node, &type, &body);
    if (rc != WZP_OK) {
        return rc;
    }
    wzp_signal *m = wzp_signal_new(type);
    if (m == NULL) {
        return WZP_ERR_NOMEM;
    }
    const wzp__sig_variant *v = &wzp__sig_variants[type];
    for (size_t i = 0; rc == WZP_OK && i < v->nfields; i++) {
        rc = decode_field(body, m, &v->fields[i], depth);
    }
    if (rc != WZP_OK) {
        wzp_signal_free(m);
        return rc;
    }
    *out = m;
    return WZP_OK;
}

static bool only_whitespace(const char *p, const char *end) {
    for (; p < end; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            return false;
        }
    }
    return true;
}

int wzp_signal_decode(const uint8_t *buf, size_t len, wzp_signal **out) {
    if (len == 0) {
        return WZP_ERR_EMPTY;
    }
    if (len > WZP_SIGNAL_MAX_JSON) {
        return WZP_ERR_TOO_LARGE;
    }
    if (!acceptable_text(buf, len)) {
        return WZP_ERR_MALFORMED;
    }
    wzp__alloc_install_hooks();
    unsigned long failures = wzp__alloc_failures();
    const char *text = (const char *)buf;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        return wzp__alloc_failures() != failures ? WZP_ERR_NOMEM : WZP_ERR_MALFORMED;
    }
    int rc = only_whitespace(end, text + len) ? WZP_OK : WZP_ERR_TRAILING_DATA;
    wzp_signal *m = NULL;
    if (rc == WZP_OK) {
        rc = decode_message(root, 0, &m);
    }
    cJSON_Delete(root);
    if (rc == WZP_OK) {
        *out = m;
    }
    return rc;
}

/* ---- encoding -------------------------------------------------------------------------- */

static int encode_message(const wzp_signal *m, unsigned depth, cJSON **out);

static int add(cJSON *obj, const char *name, cJSON *item) {
    if (item == NULL) {
        return WZP_ERR_NOMEM;
    }
    if (!cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return WZP_ERR_NOMEM;
    }
    return WZP_OK;
}

static int push(cJSON *arr, cJSON *item) {
    if (item == NULL) {
        return WZP_ERR_NOMEM;
    }
    if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return WZP_ERR_NOMEM;
    }
    return WZP_OK;
}

static int make_string(const char *s, cJSON **out) {
    if (s == NULL) {
        return WZP_ERR_MISSING_FIELD;
    }
    size_t n = strlen(s);
    if (n > WZP_SIGNAL_MAX_STRING) {
        return WZP_ERR_TOO_LARGE;
    }
    if (!valid_utf8((const uint8_t *)s, n)) {
        return WZP_ERR_INVALID_ARG;
    }
    *out = cJSON_CreateString(s);
    return *out == NULL ? WZP_ERR_NOMEM : WZP_OK;
}

static cJSON *make_bytes(const uint8_t *data, size_t n) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (push(arr, cJSON_CreateNumber(data[i])) != WZP_OK) {
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

/* The shortest decimal that reads back as the same float (serde prints f32 0.2 as "0.2"). */
static cJSON *make_float(float v) {
    char tmp[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)v);
        if (strtof(tmp, NULL) == v) {
            break;
        }
    }
    return cJSON_CreateRaw(tmp);
}

static cJSON *make_u64(uint64_t v) {
    char tmp[24];
    snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    return cJSON_CreateRaw(tmp);
}

static int make_profile(const wzp_profile *p, cJSON **out) {
    int rc = wzp_profile_validate(p);
    if (rc != WZP_OK) {
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return WZP_ERR_NOMEM;
    }
    rc = add(o, "codec", cJSON_CreateString(wzp_codec_info_get(p->codec)->name));
    if (rc == WZP_OK) {
        rc = add(o, "fec_ratio", make_float(p->fec_ratio));
    }
    if (rc == WZP_OK) {
        rc = add(o, "frame_duration_ms", cJSON_CreateNumber(p->frame_duration_ms));
    }
    if (rc == WZP_OK) {
        rc = add(o, "frames_per_block", cJSON_CreateNumber(p->frames_per_block));
    }
    if (rc != WZP_OK) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return WZP_OK;
}

static int make_report(const wzp_quality_report *r, cJSON **out) {
    cJSON *o = cJSON_CreateObject();
    int rc = o == NULL ? WZP_ERR_NOMEM : WZP_OK;
    if (rc == WZP_OK) {
        rc = add(o, "loss_pct", cJSON_CreateNumber(r->loss_pct));
    }
    if (rc == WZP_OK) {
        rc = add(o, "rtt_4ms", cJSON_CreateNumber(r->rtt_4ms));
    }
    if (rc == WZP_OK) {
        rc = add(o, "jitter_ms", cJSON_CreateNumber(r->jitter_ms));
    }
    if (rc == WZP_OK) {
        rc = add(o, "bitrate_cap_kbps", cJSON_CreateNumber(r->bitrate_cap_kbps));
    }
    if (rc != WZP_OK) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return WZP_OK;
}

static int make_profiles(const wzp_sig_profiles *l, cJSON **out) {
    if (l->count > WZP_SIGNAL_MAX_PROFILES) {
        return WZP_ERR_TOO_MANY_ENTRIES;
    }
    cJSON *arr = cJSON_CreateArray();
    int rc = arr == NULL ? WZP_ERR_NOMEM : WZP_OK;
    for (size_t i = 0; rc == WZP_OK && i < l->count; i++) {
        cJSON *p = NULL;
        rc = make_profile(&l->items[i], &p);
        if (rc == WZP_OK) {
            rc = push(arr, p);
        }
    }
    if (rc != WZP_OK) {
        cJSON_Delete(arr);
        return rc;
    }
    *out = arr;
    return WZP_OK;
}

static int make_strings(const wzp_sig_strings *l, cJSON **out) {
    if (l->count > WZP_SIGNAL_MAX_LIST) {
        return WZP_ERR_TOO_MANY_ENTRIES;
    }
    cJSON *arr = cJSON_CreateArray();
    int rc = arr == NULL ? WZP_ERR_NOMEM : WZP_OK;
    for (size_t i = 0; rc == WZP_OK && i < l->count; i++) {
        cJSON *s = NULL;
        rc = make_string(l->items[i], &s);
        if (rc == WZP_OK) {
            rc = push(arr, s);
        }
    }
    if (rc != WZP_OK) {
        cJSON_Delete(arr);
        return rc;
    }
    *out = arr;
    return WZP_OK;
}

static int add_opt_string(cJSON *o, const char *name, const char *s) {
    if (s == NULL) {
        return WZP_OK;
    }
    cJSON *item = NULL;
    int rc = make_string(s, &item);
    return rc == WZP_OK ? add(o, name, item) : rc;
}

static int make_participant(const wzp_room_participant *p, cJSON **out) {
    cJSON *o = cJSON_CreateObject();
    cJSON *fp = NULL;
    int rc = o == NULL ? WZP_ERR_NOMEM : make_string(p->fingerprint, &fp);
    if (rc == WZP_OK) {
        rc = add(o, "fingerprint", fp);
    }
    if (rc == WZP_OK) {
        rc = add_opt_string(o, "alias", p->alias);
    }
    if (rc == WZP_OK) {
        rc = add_opt_string(o, "relay_label", p->relay_label);
    }
    if (rc == WZP_OK && p->session != 0) {
        rc = add(o, "session", make_u64(p->session));
    }
    if (rc != WZP_OK) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return WZP_OK;
}

static int make_participants(const wzp_sig_participants *l, cJSON **out) {
    if (l->count > WZP_SIGNAL_MAX_LIST) {
        return WZP_ERR_TOO_MANY_ENTRIES;
    }
    cJSON *arr = cJSON_CreateArray();
    int rc = arr == NULL ? WZP_ERR_NOMEM : WZP_OK;
    for (size_t i = 0; rc == WZP_OK && i < l->count; i++) {
        cJSON *p = NULL;
        rc = make_participant(&l->items[i], &p);
        if (rc == WZP_OK) {
            rc = push(arr, p);
        }
    }
    if (rc != WZP_OK) {
        cJSON_Delete(arr);
        return rc;
    }
    *out = arr;
    return WZP_OK;
}

static int make_enum(unsigned v, const char *const *names, unsigned count, cJSON **out) {
    if (v >= count) {
        return WZP_ERR_INVALID_ARG;
    }
    *out = cJSON_CreateString(names[v]);
    return *out == NULL ? WZP_ERR_NOMEM : WZP_OK;
}

/* Build the JSON for one field; *out stays NULL when an optional field is absent. */
static int encode_value(const wzp_signal *m, const wzp__sig_field *f, unsigned depth, cJSON **out) {
    const void *at = wzp__sig_at(m, f);
    bool opt = (f->flags & WZP__F_OPT) != 0;
    *out = NULL;
    switch ((wzp__sig_kind)f->kind) {
    case WZP__K_STR: {
        const char *s = *(char *const *)at;
        return (opt && s == NULL) ? WZP_OK : make_string(s, out);
    }
    case WZP__K_KEY:
        *out = make_bytes(at, WZP_SIGNAL_KEY_SIZE);
        break;
    case WZP__K_KEY_OPT: {
        const wzp_sig_key_opt *k = at;
        if (!k->present) {
            return WZP_OK;
        }
        *out = make_bytes(k->key, WZP_SIGNAL_KEY_SIZE);
        break;
    }
    case WZP__K_BYTES: {
        const wzp_sig_bytes *b = at;
        if (opt && !b->present) {
            return WZP_OK;
        }
        if (b->len > WZP_SIGNAL_BYTES_MAX) {
            return WZP_ERR_OUT_OF_RANGE;
        }
        *out = make_bytes(b->data, b->len);
        break;
    }
    case WZP__K_U8:
        *out = cJSON_CreateNumber(*(const uint8_t *)at);
        break;
    case WZP__K_U32:
        *out = make_u64(*(const uint32_t *)at);
        break;
    case WZP__K_U64: {
        uint64_t v = *(const uint64_t *)at;
        if (v > WZP_SIGNAL_MAX_U64) {
            return WZP_ERR_OUT_OF_RANGE;
        }
        *out = make_u64(v);
        break;
    }
    case WZP__K_BOOL:
        *out = cJSON_CreateBool(*(const bool *)at);
        break;
    case WZP__K_PROFILE:
        return make_profile(at, out);
    case WZP__K_PROFILE_OPT: {
        const wzp_sig_profile_opt *p = at;
        return p->present ? make_profile(&p->profile, out) : WZP_OK;
    }
    case WZP__K_PROFILES:
        return make_profiles(at, out);
    case WZP__K_REPORT:
        return make_report(at, out);
    case WZP__K_STRINGS:
        return make_strings(at, out);
    case WZP__K_PARTICIPANTS:
        return make_participants(at, out);
    case WZP__K_HANGUP:
        return make_enum(*(const wzp_hangup_reason *)at, k_hangup_names, 5, out);
    case WZP__K_ACCEPT:
        return make_enum(*(const wzp_accept_mode *)at, k_accept_names, 3, out);
    case WZP__K_INNER: {
        const wzp_signal *inner = *(wzp_signal *const *)at;
        return inner == NULL ? WZP_ERR_MISSING_FIELD : encode_message(inner, depth + 1, out);
    }
    }
    return *out == NULL ? WZP_ERR_NOMEM : WZP_OK;
}

static int encode_body(const wzp_signal *m, unsigned depth, cJSON *body) {
    const wzp__sig_variant *v = &wzp__sig_variants[m->type];
    for (size_t i = 0; i < v->nfields; i++) {
        cJSON *item = NULL;
        int rc = encode_value(m, &v->fields[i], depth, &item);
        if (rc == WZP_OK && item != NULL) {
            rc = add(body, v->fields[i].name, item);
        }
        if (rc != WZP_OK) {
            return rc;
        }
    }
    return WZP_OK;
}

static int encode_message(const wzp_signal *m, unsigned depth, cJSON **out) {
    if ((unsigned)m->type >= WZP_SIG_TYPE_COUNT) {
        return WZP_ERR_INVALID_ARG;
    }
    if (depth > WZP_SIGNAL_MAX_DEPTH) {
        return WZP_ERR_TOO_LARGE;
    }
    const wzp__sig_variant *v = &wzp__sig_variants[m->type];
    if (v->fields == NULL) {
        *out = cJSON_CreateString(v->name);
        return *out == NULL ? WZP_ERR_NOMEM : WZP_OK;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *body = cJSON_CreateObject();
    int rc = (root == NULL || body == NULL) ? WZP_ERR_NOMEM : WZP_OK;
    if (rc == WZP_OK) {
        rc = add(root, v->name, body);
        body = rc == WZP_OK ? root->child : NULL;
    } else {
        cJSON_Delete(body);
    }
    if (rc == WZP_OK) {
        rc = encode_body(m, depth, body);
    }
    if (rc != WZP_OK) {
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return WZP_OK;
}

int wzp_signal_encode(const wzp_signal *msg, uint8_t *buf, size_t cap, size_t *written) {
    if (msg == NULL || buf == NULL) {
        return WZP_ERR_INVALID_ARG;
    }
    wzp__alloc_install_hooks();
    cJSON *root = NULL;
    int rc = encode_message(msg, 0, &root);
    if (rc != WZP_OK) {
        return rc;
    }
    /* cJSON may need a few bytes beyond the text (it says 5); keep them spare. */
    int icap = cap > INT_MAX ? INT_MAX : (int)cap;
    bool ok = cJSON_PrintPreallocated(root, (char *)buf, icap, 0);
    cJSON_Delete(root);
    if (!ok) {
        return cap > WZP_SIGNAL_MAX_JSON + 64 ? WZP_ERR_TOO_LARGE : WZP_ERR_BUFFER_TOO_SMALL;
    }
    size_t n = strlen((const char *)buf);
    if (n > WZP_SIGNAL_MAX_JSON) {
        return WZP_ERR_TOO_LARGE;
    }
    *written = n;
    return WZP_OK;
}
