/* wzp-relay's foreground run: identity, server, signals, loop. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wzp/auth.h"
#include "wzp/forward.h"
#include "wzp/metrics.h"
#include "wzp/probe.h"
#include "wzp/relay.h"
#include "wzp/transport.h"
#include "wzp/version.h"

static void on_signal(uv_signal_t *h, int signum) {
    (void)signum;
    uv_stop(h->loop);
}

static int default_identity_path(char *out, size_t cap) {
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int n = state != NULL && state[0] == '/' ? snprintf(out, cap, "%s/wzp/relay-identity", state)
            : home != NULL ? snprintf(out, cap, "%s/.local/state/wzp/relay-identity", home)
                           : snprintf(out, cap, "wzp-relay-identity");
    return n < 0 || (size_t)n >= cap ? WZP_ERR_BUFFER_TOO_SMALL : WZP_OK;
}

/* Load the relay's seed, or create it on first start. */
static int load_identity(const char *path, wzp_identity *id, FILE *out, FILE *err) {
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        int rc = wzp_identity_generate(id);
        if (rc == WZP_OK) {
            rc = wzp_identity_save(path, id);
        }
        if (rc != WZP_OK) {
            fprintf(err, "wzp-relay: cannot create identity %s: %s\n", path, wzp_strerror(rc));
            return rc;
        }
        fprintf(out, "wzp-relay: new relay identity written to %s\n", path);
        return WZP_OK;
    }
    int rc = wzp_identity_load(path, id);
    if (rc != WZP_OK) {
        fprintf(err, "wzp-relay: cannot load identity %s: %s\n", path, wzp_strerror(rc));
    }
    return rc;
}

typedef struct running {
    wzp_relay_server *server;
    wzp_prober *prober; /* NULL: no probe targets */
} running;

static void render_build_info(wzp_prom *p) {
    wzp_prom_family(p, "wzp_relay_build_info", "gauge", "The relay's version.");
    char l[64];
    wzp_prom_label(l, sizeof(l), "version", wzp_version());
    wzp_prom_sample(p, "wzp_relay_build_info", l, 1);
}

static void render_metrics(void *user, wzp_prom *p) {
    const running *r = user;
    render_build_info(p);
    wzp_relay_server_metrics(r->server, p);
    if (r->prober != NULL) {
        wzp_prober_metrics(r->prober, p);
    }
}

static void render_forward(void *user, wzp_prom *p) {
    render_build_info(p);
    wzp_forwarder_metrics(user, p);
}

static void print_metrics_url(FILE *out, const char *listen, const wzp_metrics_http *m) {
    if (m != NULL) {
        const char *mc = strrchr(listen, ':');
        fprintf(out, "metrics: http://%.*s:%u/metrics\n", mc ? (int)(mc - listen) : 0, listen,
                wzp_metrics_http_port(m));
    }
}

/* The foreground until SIGINT or SIGTERM. */
static void serve(uv_loop_t *loop, FILE *out) {
    fprintf(out, "(Ctrl-C stops the relay)\n");
    fflush(out);
    static uv_signal_t sigint, sigterm; /* closed here, freed by libuv after we return */
    uv_signal_init(loop, &sigint);
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    fprintf(out, "wzp-relay: shutting down\n");
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
}

/* Forward mode: no identity, no rooms; a datagram forwarder with a link to the remote relay. */
static int run_forward(const wzp_relay_options *opts, FILE *out, FILE *err) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    wzp_forwarder *f = NULL;
    wzp_metrics_http *metrics = NULL;
    int rc = wzp_forwarder_new(&loop, opts->listen, &opts->remote, opts->rooms.max_sessions, &f);
    if (rc != WZP_OK) {
        fprintf(err, "wzp-relay: cannot listen on %s: %s\n", opts->listen, wzp_strerror(rc));
    } else if (opts->metrics_listen[0] != '\0' &&
               wzp_metrics_http_start(&loop, opts->metrics_listen, render_forward, f, &metrics) !=
                   WZP_OK) {
        fprintf(err, "wzp-relay: %s: cannot serve metrics on %s\n",
                opts->metrics_explicit ? "error" : "warning", opts->metrics_listen);
        rc = opts->metrics_explicit ? WZP_ERR_IO : WZP_OK;
    }
    if (rc != WZP_OK) {
        wzp_forwarder_free(f);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return 1;
    }
    const char *colon = strrchr(opts->listen, ':');
    fprintf(out,
            "wzp-relay %s forwarding: listening on %.*s:%u (UDP); every client goes to %s%s\n"
            "clients call through it with the remote relay's fingerprint:\n"
            "  wzp-client --relay-fp REMOTE_FINGERPRINT --room NAME ... HOST:%u\n",
            wzp_version(), colon ? (int)(colon - opts->listen) : 0, opts->listen,
            wzp_forwarder_port(f), opts->remote.addr,
            opts->remote.has_fp ? " (certificate pinned)" : " (certificate NOT pinned)",
            wzp_forwarder_port(f));
    print_metrics_url(out, opts->metrics_listen, metrics);
    serve(&loop, out);
    wzp_metrics_http_stop(metrics);
    wzp_forwarder_free(f);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}

int wzp_relay_run(const wzp_relay_options *opts, FILE *out, FILE *err) {
    if (opts->has_remote) {
        return run_forward(opts, out, err);
    }
    char path[4096];
    const char *id_path = opts->identity_path;
    if (id_path[0] == '\0') {
        if (default_identity_path(path, sizeof(path)) != WZP_OK) {
            return 1;
        }
        id_path = path;
    }
    wzp_identity id;
    if (load_identity(id_path, &id, out, err) != WZP_OK) {
        return 1;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    wzp_auth *auth = NULL;
    int rc = WZP_OK;
    if (opts->auth_url[0] != '\0') {
        rc = wzp_auth_new(&loop, opts->auth_url, opts->auth_timeout_ms, &auth);
        if (rc != WZP_OK) {
            fprintf(err, "wzp-relay: cannot use auth URL %s: %s\n", opts->auth_url,
                    wzp_strerror(rc));
            wzp_identity_wipe(&id);
            uv_loop_close(&loop);
            return 1;
        }
    }
    wzp_relay_server_config cfg = {opts->listen,
                                   id.seed,
                                   opts->rooms,
                                   NULL,
                                   NULL,
                                   auth,
                                   opts->trunking,
                                   opts->lie,
                                   opts->max_per_address,
                                   opts->max_per_identity,
                                   NULL,
                                   0};
    static struct sockaddr_storage peer_hosts[WZP_RELAY_MAX_PEER_HOSTS];
    cfg.npeer_hosts = wzp_relay_peer_hosts(opts, peer_hosts);
    cfg.peer_hosts = peer_hosts;
    wzp_relay_server *server = NULL;
    rc = wzp_relay_server_new(&loop, &cfg, &server);
    wzp_identity_wipe(&id);
    wzp_metrics_http *metrics = NULL;
    static running r;
    r.server = server;
    if (rc != WZP_OK) {
        fprintf(err, "wzp-relay: cannot listen on %s: %s\n", opts->listen, wzp_strerror(rc));
    } else if (opts->n_probes > 0 &&
               (rc = wzp_prober_new(&loop, opts->probes, opts->n_probes, &r.prober)) != WZP_OK) {
        fprintf(err, "wzp-relay: cannot start probes: %s\n", wzp_strerror(rc));
    } else if (opts->metrics_listen[0] != '\0' &&
               wzp_metrics_http_start(&loop, opts->metrics_listen, render_metrics, &r, &metrics) !=
                   WZP_OK) {
        /* the operator asked for them: fatal; the default port being taken: say so, go on */
        fprintf(err,
                "wzp-relay: %s: cannot serve metrics on %s (in use? --metrics-listen ADDR "
                "moves them, --metrics-port 0 turns them off)\n",
                opts->metrics_explicit ? "error" : "warning", opts->metrics_listen);
        rc = opts->metrics_explicit ? WZP_ERR_IO : WZP_OK;
    }
    if (rc != WZP_OK) {
        wzp_prober_free(r.prober);
        wzp_relay_server_free(server);
        wzp_auth_free(auth);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return 1;
    }
    uint8_t fp[32];
    char fptext[WZP_TLS_FINGERPRINT_TEXT];
    wzp_relay_server_fingerprint(server, fp);
    wzp_tls_fingerprint_format(fp, fptext);
    const char *colon = strrchr(opts->listen, ':');
    fprintf(out,
            "wzp-relay %s listening on %.*s:%u (UDP, QUIC)\n"
            "TLS fingerprint: %s\n"
            "call through it: wzp-client --relay-fp %s --room NAME [--send-tone SECS | --record "
            "FILE] HOST:%u\n",
            wzp_version(), colon ? (int)(colon - opts->listen) : 0, opts->listen,
            wzp_relay_server_port(server), fptext, fptext, wzp_relay_server_port(server));
    print_metrics_url(out, opts->metrics_listen, metrics);
    if (auth != NULL) {
        fprintf(out, "featherChat tokens checked at %s (timeout %u ms)\n", opts->auth_url,
                opts->auth_timeout_ms);
    }
    if (opts->trunking) {
        fprintf(out, "trunking: packets to a member batched into TrunkFrames (5 ms at most)\n");
    }
    for (unsigned i = 0; i < opts->n_probes; i++) {
        fprintf(out, "probing %s%s\n", opts->probes[i].addr,
                opts->probes[i].has_fp ? " (certificate pinned)" : "");
    }
    serve(&loop, out);
    wzp_metrics_http_stop(metrics);
    wzp_prober_free(r.prober);
    wzp_relay_server_free(server);
    wzp_auth_free(auth);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}
