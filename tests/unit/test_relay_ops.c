/* The relay's operational pieces without a network: configuration file, probe targets,
 * Prometheus exposition, and the featherChat answer parser. */
#include "testutil.h"

#include <unistd.h>

#include "wzp/auth.h"
#include "wzp/metrics.h"
#include "wzp/addr.h"
#include "wzp/link.h"
#include "wzp/relay.h"
#include "wzp/relay_core.h"

static const char *write_conf(const char *text) {
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/wzp-test-conf-%d", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_config_applies_keys(void **state) {
    (void)state;
    wzp_relay_options o;
    wzp_relay_options_default(&o);
    char err[256] = "";
    const char *p = write_conf("listen_addr = \"[::1]:5000\";\nmax_sessions = 9;\n"
                               "session_idle = 20;\nmetrics_port = 9100;\n"
                               "auth_url = \"http://127.0.0.1:1/v\";\nauth_timeout = 2;\n"
                               "probe_targets = ( \"127.0.0.1:4433\", { addr = \"10.0.0.1:1\"; "
                               "label = \"fra1\"; } );\n");
    assert_int_equal(wzp_relay_options_load(p, &o, err, sizeof(err)), WZP_OK);
    assert_string_equal(o.listen, "[::1]:5000");
    assert_int_equal(o.rooms.max_sessions, 9);
    assert_int_equal(o.rooms.max_per_room, WZP_RELAY_MAX_PER_ROOM_DEFAULT);
    assert_int_equal(o.rooms.idle_ms, 20000);
    assert_string_equal(o.metrics_listen, "0.0.0.0:9100");
    assert_true(o.metrics_explicit);
    assert_string_equal(o.auth_url, "http://127.0.0.1:1/v");
    assert_int_equal(o.auth_timeout_ms, 2000);
    assert_int_equal(o.n_probes, 2);
    assert_string_equal(o.probes[0].label, "127.0.0.1:4433");
    assert_string_equal(o.probes[1].label, "fra1");
    assert_false(o.probes[1].has_fp);
    unlink(p);
}

static void test_config_error_changes_nothing(void **state) {
    (void)state;
    wzp_relay_options o, before;
    wzp_relay_options_default(&o);
    before = o;
    char err[256] = "";
    const char *p = write_conf("max_sessions = 9;\nmetrics_port = 70000;\n");
    assert_int_equal(wzp_relay_options_load(p, &o, err, sizeof(err)), WZP_ERR_INVALID_ARG);
    assert_non_null(strstr(err, ":2: metrics_port: out of range"));
    assert_memory_equal(&o, &before, sizeof(o)); /* max_sessions = 9 was not applied */
    p = write_conf("auth_url = \"ftp://x\";\n");
    assert_int_equal(wzp_relay_options_load(p, &o, err, sizeof(err)), WZP_ERR_INVALID_ARG);
    assert_non_null(strstr(err, ":1: auth_url: not an http"));
    p = write_conf("max_sessions = \"9\";\n");
    assert_int_equal(wzp_relay_options_load(p, &o, err, sizeof(err)), WZP_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "expected an integer"));
    unlink(p);
}

/* Probe and link slots are for peer relays: hosts named with peer_relays / --peer-relay, and
 * the hosts we probe ourselves. Anyone else's probe or link is refused (and counted); clients
 * from anywhere are not affected. */
static void test_probe_and_link_slots_are_for_peer_relays(void **state) {
    (void)state;
    wzp_relay_options o;
    wzp_relay_options_default(&o);
    char err[256] = "";
    const char *p = write_conf("peer_relays = ( \"10.0.0.2\", \"2001:db8::2\" );\n"
                               "probe_targets = ( \"10.0.0.3:4433\" );\n");
    assert_int_equal(wzp_relay_options_load(p, &o, err, sizeof(err)), WZP_OK);
    assert_int_equal(o.n_peer_relays, 2);
    struct sockaddr_storage hosts[WZP_RELAY_MAX_PEER_HOSTS];
    size_t n = wzp_relay_peer_hosts(&o, hosts);
    assert_int_equal(n, 3);
    p = write_conf("peer_relays = ( \"10.0.0.2:5\" );\n");
    assert_int_equal(wzp_relay_options_load(p, &o, err, sizeof(err)), WZP_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "a peer relay is an IP address"));
    unlink(p);

    wzp_relay_core_config cc = {.rooms = {16, 8, 15000}, .peer_hosts = hosts, .npeer_hosts = n};
    wzp_relay_core *core = NULL;
    assert_int_equal(wzp_relay_core_new(&cc, &core), 0);
    struct {
        const char *sni, *from;
        int want;
    } cases[] = {
        {WZP_PROBE_SNI, "10.0.0.9:4433", WZP_ERR_PERMISSION}, /* a stranger's probe */
        {WZP_LINK_SNI, "10.0.0.9:4433", WZP_ERR_PERMISSION},  /* ... and link */
        {WZP_PROBE_SNI, "10.0.0.2:5555", WZP_OK},             /* a named peer, any port */
        {WZP_PROBE_SNI, "[2001:db8::2]:1", WZP_OK},
        {WZP_LINK_SNI, "10.0.0.3:7", WZP_OK},                          /* a host we probe */
        {"5d61faddbb77f2a92f815bbaac9dbc91", "10.0.0.9:4433", WZP_OK}, /* a client */
    };
    wzp_path paths[sizeof(cases) / sizeof(cases[0])];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&paths[i], 0, sizeof(paths[i]));
        socklen_t sl;
        assert_int_equal(wzp_addr_parse(cases[i].from, &paths[i].remote, &sl), 0);
        wzp_member *m = NULL;
        assert_int_equal(wzp_relay_core_connect(core, cases[i].sni, &paths[i], 0, &m),
                         cases[i].want);
    }
    assert_int_equal(wzp_relay_core_get_stats(core).peer_refused, 2);
    wzp_relay_core_free(core);
}

static void test_probe_parse(void **state) {
    (void)state;
    wzp_relay_probe_target t;
    assert_int_equal(wzp_relay_probe_parse("127.0.0.1:4433", &t), WZP_OK);
    assert_false(t.has_fp);
    char fp[WZP_TLS_FINGERPRINT_TEXT] = "";
    for (int i = 0; i < 32; i++) {
        strcat(fp, i ? ":ab" : "ab");
    }
    char text[160];
    snprintf(text, sizeof(text), "[::1]:9@%s", fp);
    assert_int_equal(wzp_relay_probe_parse(text, &t), WZP_OK);
    assert_true(t.has_fp);
    assert_int_equal(t.fp[31], 0xab);
    assert_int_equal(wzp_relay_probe_parse("127.0.0.1:4433@ab:cd", &t), WZP_ERR_INVALID_ARG);
    assert_int_equal(wzp_relay_probe_parse("host:4433", &t), WZP_ERR_INVALID_ARG);
    assert_int_equal(wzp_relay_probe_parse("127.0.0.1:65536", &t), WZP_ERR_INVALID_ARG);
    assert_int_equal(wzp_relay_probe_parse("127.0.0.1:44x", &t), WZP_ERR_INVALID_ARG);
    assert_int_equal(wzp_relay_probe_parse("127.0.0.1:", &t), WZP_ERR_INVALID_ARG);
    assert_int_equal(wzp_relay_probe_parse("", &t), WZP_ERR_INVALID_ARG);
}

static void test_prom_exposition(void **state) {
    (void)state;
    char buf[2048];
    wzp_prom p = {buf, sizeof(buf), 0, false};
    char l[32];
    wzp_prom_label(l, sizeof(l), "target", "a\"b\\c\nd");
    assert_string_equal(l, "target=\"a\\\"b\\\\c\\nd\"");
    wzp_prom_label(l, 12, "k", "0123456789"); /* cut, still quoted */
    assert_string_equal(l, "k=\"0123456\"");
    wzp_prom_family(&p, "x_total", "counter", "Things.");
    wzp_prom_sample_u64(&p, "x_total", "r=\"a\"", 18446744073709551615ull);
    static const double b[] = {0.01, 0.1, 1};
    wzp_histogram h;
    wzp_histogram_init(&h, b, 3);
    wzp_histogram_observe(&h, 0.005);
    wzp_histogram_observe(&h, 0.05);
    wzp_histogram_observe(&h, 0.05);
    wzp_histogram_observe(&h, 7);
    wzp_prom_histogram(&p, "hs_seconds", NULL, &h);
    assert_false(p.overflow);
    assert_string_equal(buf, "# HELP x_total Things.\n# TYPE x_total counter\n"
                             "x_total{r=\"a\"} 18446744073709551615\n"
                             "hs_seconds_bucket{le=\"0.01\"} 1\n"
                             "hs_seconds_bucket{le=\"0.1\"} 3\n"
                             "hs_seconds_bucket{le=\"1\"} 3\n"
                             "hs_seconds_bucket{le=\"+Inf\"} 4\n"
                             "hs_seconds_sum 7.105\nhs_seconds_count 4\n");
    /* a full page keeps whole lines only */
    char small[40];
    wzp_prom q = {small, sizeof(small), 0, false};
    wzp_prom_sample_u64(&q, "a_metric", NULL, 1);
    wzp_prom_sample_u64(&q, "another_metric_that_does_not_fit", NULL, 2);
    assert_true(q.overflow);
    assert_string_equal(small, "a_metric 1\n");
}

static void test_auth_reply(void **state) {
    (void)state;
    wzp_auth_reply r;
    const char *ok = "{\"valid\":true,\"fingerprint\":\"7610:5031\",\"alias\":\"bo\\nb\"}";
    wzp_auth_parse_reply(200, ok, strlen(ok), &r);
    assert_int_equal(r.result, WZP_AUTH_OK);
    assert_string_equal(r.fingerprint, "7610:5031");
    assert_string_equal(r.alias, "bo?b"); /* no control characters reach a screen */
    const char *exp = "{\"valid\":false,\"error\":\"token expired\"}";
    wzp_auth_parse_reply(401, exp, strlen(exp), &r);
    assert_int_equal(r.result, WZP_AUTH_EXPIRED);
    assert_string_equal(r.detail, "token expired");
    const char *no = "{\"valid\":false}";
    wzp_auth_parse_reply(403, no, strlen(no), &r);
    assert_int_equal(r.result, WZP_AUTH_INVALID);
    wzp_auth_parse_reply(500, no, strlen(no), &r);
    assert_int_equal(r.result, WZP_AUTH_ERROR);
    assert_string_equal(r.detail, "the auth server answered HTTP 500");
    const char *notbool = "{\"valid\":\"yes\"}";
    wzp_auth_parse_reply(200, notbool, strlen(notbool), &r);
    assert_int_equal(r.result, WZP_AUTH_ERROR);
    wzp_auth_parse_reply(200, "{\"valid\":tr", 11, &r);
    assert_int_equal(r.result, WZP_AUTH_ERROR);
    /* valid, but for nobody: refused (it used to admit any identity) */
    const char *nobody = "{\"valid\":true,\"alias\":\"x\"}";
    wzp_auth_parse_reply(200, nobody, strlen(nobody), &r);
    assert_int_equal(r.result, WZP_AUTH_ERROR);
    assert_string_equal(r.detail, "the auth server vouched for the token but named no identity");
    const char *empty = "{\"valid\":true,\"fingerprint\":\"\"}";
    wzp_auth_parse_reply(200, empty, strlen(empty), &r);
    assert_int_equal(r.result, WZP_AUTH_ERROR);
    assert_string_equal(wzp_auth_result_name(WZP_AUTH_TIMEOUT), "timeout");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_applies_keys),
        cmocka_unit_test(test_config_error_changes_nothing),
        cmocka_unit_test(test_probe_parse),
        cmocka_unit_test(test_prom_exposition),
        cmocka_unit_test(test_auth_reply),
        cmocka_unit_test(test_probe_and_link_slots_are_for_peer_relays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
