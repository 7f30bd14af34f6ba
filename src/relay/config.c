/*
 * wzp-relay's configuration file (libconfig syntax; keys as SPEC §2, documented in
 * docs/OPERATIONS.md). Every key is checked before anything is applied: an unknown key, a value
 * of the wrong type or out of range, an address or fingerprint that does not parse stops the
 * relay with the file and line named. Keys for features this relay does not have yet are
 * refused rather than silently ignored.
 */
#include <libconfig.h>
#include <stdio.h>
#include <string.h>

#include "wzp/relay.h"
#include "wzp/addr.h"

void wzp_relay_options_default(wzp_relay_options *o) {
    memset(o, 0, sizeof(*o));
    snprintf(o->listen, sizeof(o->listen), "0.0.0.0:4433");
    o->rooms = (wzp_relay_config){WZP_RELAY_MAX_SESSIONS_DEFAULT, WZP_RELAY_MAX_PER_ROOM_DEFAULT,
                                  WZP_RELAY_IDLE_MS_DEFAULT};
    o->auth_timeout_ms = WZP_RELAY_AUTH_TIMEOUT_MS;
    snprintf(o->metrics_listen, sizeof(o->metrics_listen), WZP_RELAY_METRICS_DEFAULT);
}

int wzp_relay_peer_host_parse(const char *host, struct sockaddr_storage *out) {
    char text[80];
    int n = snprintf(text, sizeof(text), strchr(host, ':') != NULL ? "[%s]:0" : "%s:0", host);
    socklen_t sl;
    if (n < 0 || (size_t)n >= sizeof(text) || strlen(host) >= 64 || host[0] == '[' ||
        wzp_addr_parse(text, out, &sl) != WZP_OK) {
        return WZP_ERR_INVALID_ARG;
    }
    return WZP_OK;
}

size_t wzp_relay_peer_hosts(const wzp_relay_options *o, struct sockaddr_storage *out) {
    size_t n = 0;
    socklen_t sl;
    for (unsigned i = 0; i < o->n_peer_relays && n < WZP_RELAY_MAX_PEER_HOSTS; i++) {
        n += wzp_relay_peer_host_parse(o->peer_relays[i], &out[n]) == WZP_OK;
    }
    for (unsigned i = 0; i < o->n_probes && n < WZP_RELAY_MAX_PEER_HOSTS; i++) {
        n += wzp_addr_parse(o->probes[i].addr, &out[n], &sl) == WZP_OK;
    }
    return n;
}

int wzp_relay_probe_parse(const char *text, wzp_relay_probe_target *t) {
    memset(t, 0, sizeof(*t));
    const char *at = strchr(text, '@');
    size_t alen = at != NULL ? (size_t)(at - text) : strlen(text);
    if (alen == 0 || alen >= sizeof(t->addr)) {
        return WZP_ERR_INVALID_ARG;
    }
    memcpy(t->addr, text, alen);
    struct sockaddr_storage ss;
    socklen_t sl;
    if (wzp_addr_parse(t->addr, &ss, &sl) != WZP_OK) {
        return WZP_ERR_INVALID_ARG;
    }
    if (at != NULL) {
        if (wzp_tls_fingerprint_parse(at + 1, t->fp) != WZP_OK) {
            return WZP_ERR_INVALID_ARG;
        }
        t->has_fp = true;
    }
    snprintf(t->label, sizeof(t->label), "%.63s", t->addr);
    return WZP_OK;
}

typedef struct cfg_ctx {
    const char *path;
    char *err;
    size_t errcap;
} cfg_ctx;

static int fail(const cfg_ctx *c, const config_setting_t *s, const char *what) {
    snprintf(c->err, c->errcap, "%s:%u: %s: %s", c->path, config_setting_source_line(s),
             config_setting_name(s) ? config_setting_name(s) : "(list entry)", what);
    return WZP_ERR_INVALID_ARG;
}

static int get_string(const cfg_ctx *c, const config_setting_t *s, char *out, size_t cap) {
    const char *v = config_setting_get_string(s);
    if (config_setting_type(s) != CONFIG_TYPE_STRING || v == NULL) {
        return fail(c, s, "expected a string");
    }
    if (strlen(v) >= cap) {
        return fail(c, s, "too long");
    }
    snprintf(out, cap, "%s", v);
    return WZP_OK;
}

static int get_addr(const cfg_ctx *c, const config_setting_t *s, char *out, size_t cap) {
    int rc = get_string(c, s, out, cap);
    struct sockaddr_storage ss;
    socklen_t sl;
    if (rc == WZP_OK && wzp_addr_parse(out, &ss, &sl) != WZP_OK) {
        return fail(c, s, "not an address of the form IP:port or [IPv6]:port");
    }
    return rc;
}

static int get_uint(const cfg_ctx *c, const config_setting_t *s, long long lo, long long hi,
                    long long *out) {
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
        return fail(c, s, "expected an integer");
    }
    long long v = config_setting_get_int64(s);
    if (v < lo || v > hi) {
        char what[96];
        snprintf(what, sizeof(what), "out of range (%lld..%lld)", lo, hi);
        return fail(c, s, what);
    }
    *out = v;
    return WZP_OK;
}

static int get_bool(const cfg_ctx *c, const config_setting_t *s, bool *out) {
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        return fail(c, s, "expected true or false");
    }
    *out = config_setting_get_bool(s) != 0;
    return WZP_OK;
}

/* One probe target: "IP:port[@FINGERPRINT]" or { addr = "..."; fingerprint = "..."; label = "...";
 * } */
static int get_probe(const cfg_ctx *c, const config_setting_t *s, wzp_relay_probe_target *t) {
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        if (wzp_relay_probe_parse(config_setting_get_string(s), t) != WZP_OK) {
            return fail(c, s, "not a probe target IP:port or IP:port@FINGERPRINT");
        }
        return WZP_OK;
    }
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        return fail(c, s, "expected \"IP:port\" or { addr = ...; fingerprint = ...; }");
    }
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *k = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_name(k);
        int rc = WZP_OK;
        if (strcmp(name, "addr") == 0) {
            rc = get_addr(c, k, t->addr, sizeof(t->addr));
        } else if (strcmp(name, "label") == 0) {
            rc = get_string(c, k, t->label, sizeof(t->label));
        } else if (strcmp(name, "fingerprint") == 0) {
            char fp[WZP_TLS_FINGERPRINT_TEXT];
            rc = get_string(c, k, fp, sizeof(fp));
            if (rc == WZP_OK && wzp_tls_fingerprint_parse(fp, t->fp) != WZP_OK) {
                rc = fail(c, k, "not a certificate fingerprint (32 hex pairs)");
            }
            t->has_fp = rc == WZP_OK;
        } else {
            rc = fail(c, k, "unknown key in a probe target (addr, fingerprint, label)");
        }
        if (rc != WZP_OK) {
            return rc;
        }
    }
    if (t->addr[0] == '\0') {
        return fail(c, s, "a probe target needs addr");
    }
    if (t->label[0] == '\0') {
        snprintf(t->label, sizeof(t->label), "%.63s", t->addr);
    }
    return WZP_OK;
}

/* Keys SPEC §2 lists for features this relay does not have yet. */
static const char *const later_keys[] = {"jitter_target_depth",
                                         "jitter_max_depth",
                                         "log_level",
                                         "probe_mesh",
                                         "ws_port",
                                         "static_dir",
                                         "peers",
                                         "trusted",
                                         "global_rooms",
                                         "debug_tap",
                                         "event_log"};

static int apply_key(const cfg_ctx *c, const config_setting_t *s, wzp_relay_options *o) {
    const char *name = config_setting_name(s);
    long long v = 0;
    int rc;
    if (strcmp(name, "listen_addr") == 0) {
        return get_addr(c, s, o->listen, sizeof(o->listen));
    }
    if (strcmp(name, "identity") == 0) {
        return get_string(c, s, o->identity_path, sizeof(o->identity_path));
    }
    if (strcmp(name, "max_sessions") == 0) {
        rc = get_uint(c, s, 1, 100000, &v);
        o->rooms.max_sessions = (unsigned)v;
        return rc;
    }
    if (strcmp(name, "max_per_room") == 0) {
        rc = get_uint(c, s, 1, 10000, &v);
        o->rooms.max_per_room = (unsigned)v;
        return rc;
    }
    if (strcmp(name, "max_per_address") == 0) {
        rc = get_uint(c, s, 0, WZP_QUIC_MAX_CONNS, &v);
        o->max_per_address = v == 0 ? UINT32_MAX : (uint32_t)v;
        return rc;
    }
    if (strcmp(name, "max_per_identity") == 0) {
        rc = get_uint(c, s, 0, 100000, &v);
        o->max_per_identity = v == 0 ? UINT32_MAX : (uint32_t)v;
        return rc;
    }
    if (strcmp(name, "session_idle") == 0) {
        rc = get_uint(c, s, 2 * WZP_MEDIA_KEEPALIVE_MS / 1000, 600, &v);
        o->rooms.idle_ms = (uint32_t)v * 1000;
        return rc;
    }
    if (strcmp(name, "auth_url") == 0) {
        rc = get_string(c, s, o->auth_url, sizeof(o->auth_url));
        if (rc == WZP_OK && strncmp(o->auth_url, "http://", 7) != 0 &&
            strncmp(o->auth_url, "https://", 8) != 0) {
            return fail(c, s, "not an http:// or https:// URL");
        }
        return rc;
    }
    if (strcmp(name, "auth_timeout") == 0) {
        rc = get_uint(c, s, 1, 60, &v);
        o->auth_timeout_ms = (unsigned)v * 1000;
        return rc;
    }
    if (strcmp(name, "metrics_port") == 0) {
        rc = get_uint(c, s, 0, 65535, &v);
        o->metrics_explicit = true;
        if (v == 0) {
            o->metrics_listen[0] = '\0';
        } else {
            snprintf(o->metrics_listen, sizeof(o->metrics_listen), "0.0.0.0:%lld", v);
        }
        return rc;
    }
    if (strcmp(name, "metrics_listen") == 0) {
        o->metrics_explicit = true;
        return get_addr(c, s, o->metrics_listen, sizeof(o->metrics_listen));
    }
    if (strcmp(name, "remote_relay") == 0) {
        if (config_setting_type(s) != CONFIG_TYPE_STRING &&
            config_setting_type(s) != CONFIG_TYPE_GROUP) {
            return fail(c, s, "expected \"IP:port@FINGERPRINT\" or { addr = ...; ... }");
        }
        o->has_remote = true;
        return get_probe(c, s, &o->remote);
    }
    if (strcmp(name, "trunking_enabled") == 0) {
        return get_bool(c, s, &o->trunking);
    }
    if (strcmp(name, "peer_relays") == 0) {
        if (config_setting_type(s) != CONFIG_TYPE_LIST &&
            config_setting_type(s) != CONFIG_TYPE_ARRAY) {
            return fail(c, s, "expected a list of hosts (\"IP\", ...)");
        }
        int n = config_setting_length(s);
        if (n > WZP_RELAY_MAX_PROBES) {
            return fail(c, s, "too many peer relays (at most 16)");
        }
        for (int i = 0; i < n; i++) {
            const char *h = config_setting_get_string(config_setting_get_elem(s, (unsigned)i));
            struct sockaddr_storage ss;
            if (h == NULL || wzp_relay_peer_host_parse(h, &ss) != WZP_OK) {
                return fail(c, s, "a peer relay is an IP address (\"10.0.0.2\", \"2001:db8::2\")");
            }
            snprintf(o->peer_relays[i], sizeof(o->peer_relays[i]), "%s", h);
        }
        o->n_peer_relays = (unsigned)n;
        return WZP_OK;
    }
    if (strcmp(name, "probe_targets") == 0) {
        if (config_setting_type(s) != CONFIG_TYPE_LIST &&
            config_setting_type(s) != CONFIG_TYPE_ARRAY) {
            return fail(c, s, "expected a list ( ... ) of probe targets");
        }
        int n = config_setting_length(s);
        if (n > WZP_RELAY_MAX_PROBES) {
            return fail(c, s, "too many probe targets (at most 16)");
        }
        for (int i = 0; i < n; i++) {
            rc = get_probe(c, config_setting_get_elem(s, (unsigned)i), &o->probes[i]);
            if (rc != WZP_OK) {
                return rc;
            }
        }
        o->n_probes = (unsigned)n;
        return WZP_OK;
    }
    for (size_t i = 0; i < sizeof(later_keys) / sizeof(later_keys[0]); i++) {
        if (strcmp(name, later_keys[i]) == 0) {
            return fail(c, s, "not supported by this relay yet");
        }
    }
    return fail(c, s, "unknown key");
}

int wzp_relay_options_load(const char *path, wzp_relay_options *o, char *err, size_t errcap) {
    config_t cfg;
    config_init(&cfg);
    int rc = WZP_OK;
    if (config_read_file(&cfg, path) != CONFIG_TRUE) {
        if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
            snprintf(err, errcap, "%s: cannot read the file", path);
        } else {
            snprintf(err, errcap, "%s:%d: %s", path, config_error_line(&cfg),
                     config_error_text(&cfg));
        }
        config_destroy(&cfg);
        return WZP_ERR_INVALID_ARG;
    }
    cfg_ctx c = {path, err, errcap};
    wzp_relay_options tmp = *o; /* nothing applied unless every key is good */
    const config_setting_t *root = config_root_setting(&cfg);
    for (int i = 0; i < config_setting_length(root) && rc == WZP_OK; i++) {
        rc = apply_key(&c, config_setting_get_elem(root, (unsigned)i), &tmp);
    }
    if (rc == WZP_OK) {
        *o = tmp;
    }
    config_destroy(&cfg);
    return rc;
}
