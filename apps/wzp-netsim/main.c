/* wzp-netsim: flags and scenario file -> wzp_netsim_run(). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/netsim.h"
#include "wzp/version.h"

static void usage(FILE *f) {
    fprintf(f, "usage: wzp-netsim --upstream ADDR [--listen ADDR] [impairments] [options]\n"
               "A UDP impairment proxy: clients send to --listen, everything goes to --upstream\n"
               "and back, impaired on the way (both directions unless --direction says).\n"
               "impairments (also the keys of a scenario file):\n"
               "  --loss P            random loss, 0..1\n"
               "  --ge p,r,lg,lb      Gilbert-Elliott bursts: P(good->bad), P(bad->good),\n"
               "                      loss in the good and in the bad state\n"
               "  --delay MS          fixed one-way delay\n"
               "  --jitter MS         extra delay uniform in 0..MS (in order unless --reorder)\n"
               "  --reorder           let jitter reorder datagrams\n"
               "  --dup P             duplicate with probability P\n"
               "  --rate KBPS         bandwidth cap, with --queue MS of queue (tail drop)\n"
               "  --queue MS          (default 200)\n"
               "options:\n"
               "  --listen ADDR       default 127.0.0.1:0 (the port is printed)\n"
               "  --scenario FILE     lines \"SECONDS key=value ...\" (e.g. \"10 loss=0.3\",\n"
               "                      \"20 blackout=1\", \"22 blackout=0\") applied over time\n"
               "  --direction D       up (client -> upstream), down, or both (default)\n"
               "  --seed N            random seed (default 1): runs repeat exactly\n"
               "  --stats SECS        a JSON line of counters every SECS (and at the end)\n"
               "  --duration SECS     stop by itself after SECS (default: at Ctrl-C)\n"
               "  --rebind-at SECS    a NAT rebinding: from then on each client's traffic\n"
               "                      leaves from a new port (the stats say when the upstream\n"
               "                      first answered it: rebind_first_down_ms)\n"
               "  --copier            an on-path copier: each client datagram whose first byte\n"
               "                      is 0x04..0x3F (media, and QUIC packets with a greased\n"
               "                      fixed bit) is also sent, first, from the proxy's own\n"
               "                      socket; what comes back to it is counted (copier_rx,\n"
               "                      copier_rx_bytes, copier_rx_small: <= 32 bytes), not passed\n"
               "  --version, --help\n");
}

static int set(wzp_netsim_params *p, const char *key, const char *value) {
    char kv[128];
    int n = snprintf(kv, sizeof(kv), "%s=%s", key, value);
    return n > 0 && (size_t)n < sizeof(kv) ? wzp_netsim_set_kv(p, kv, (size_t)n)
                                           : WZP_ERR_MALFORMED;
}

static int load_scenario(const char *path, wzp_netsim_options *o) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "wzp-netsim: cannot read %s\n", path);
        return 2;
    }
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text), f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    if (more) {
        fprintf(stderr, "wzp-netsim: %s: larger than 64 KiB\n", path);
        return 2;
    }
    unsigned line = 0;
    int rc = wzp_netsim_parse_scenario(text, n, &o->params, o->steps, WZP_NETSIM_MAX_STEPS,
                                       &o->nsteps, &line);
    if (rc != WZP_OK) {
        fprintf(stderr, "wzp-netsim: %s:%u: %s\n", path, line,
                rc == WZP_ERR_TOO_MANY_ENTRIES ? "more than 64 steps"
                : rc == WZP_ERR_OUT_OF_RANGE   ? "a value out of range"
                                               : "not \"SECONDS key=value ...\" (times in order)");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"upstream", required_argument, NULL, 'u'},
                                         {"loss", required_argument, NULL, 'L'},
                                         {"ge", required_argument, NULL, 'g'},
                                         {"delay", required_argument, NULL, 'd'},
                                         {"jitter", required_argument, NULL, 'j'},
                                         {"reorder", no_argument, NULL, 'r'},
                                         {"dup", required_argument, NULL, 'D'},
                                         {"rate", required_argument, NULL, 'R'},
                                         {"queue", required_argument, NULL, 'q'},
                                         {"scenario", required_argument, NULL, 's'},
                                         {"direction", required_argument, NULL, 'x'},
                                         {"seed", required_argument, NULL, 'S'},
                                         {"stats", required_argument, NULL, 't'},
                                         {"duration", required_argument, NULL, 'T'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"rebind-at", required_argument, NULL, 'B'},
                                         {"copier", no_argument, NULL, 'C'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static wzp_netsim_options o;
    o.listen = "127.0.0.1:0";
    o.seed = 1;
    o.direction = 2;
    o.params.queue_ms = 200;
    const char *scenario = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int rc = WZP_OK;
        char *end = NULL;
        switch (c) {
        case 'l':
            o.listen = optarg;
            break;
        case 'u':
            o.upstream = optarg;
            break;
        case 'L':
            rc = set(&o.params, "loss", optarg);
            break;
        case 'g':
            rc = set(&o.params, "ge", optarg);
            break;
        case 'd':
            rc = set(&o.params, "delay", optarg);
            break;
        case 'j':
            rc = set(&o.params, "jitter", optarg);
            break;
        case 'r':
            o.params.reorder = true;
            break;
        case 'D':
            rc = set(&o.params, "dup", optarg);
            break;
        case 'R':
            rc = set(&o.params, "rate", optarg);
            break;
        case 'q':
            rc = set(&o.params, "queue", optarg);
            break;
        case 's':
            scenario = optarg;
            break;
        case 'x':
            o.direction = strcmp(optarg, "up") == 0     ? 0
                          : strcmp(optarg, "down") == 0 ? 1
                          : strcmp(optarg, "both") == 0 ? 2
                                                        : -1;
            rc = o.direction < 0 ? WZP_ERR_MALFORMED : WZP_OK;
            break;
        case 'S':
            o.seed = strtoull(optarg, &end, 10);
            rc = *optarg && *end == '\0' ? WZP_OK : WZP_ERR_MALFORMED;
            break;
        case 't':
            o.stats_s = strtod(optarg, &end);
            rc = *end == '\0' && o.stats_s >= 0 && o.stats_s <= 3600 ? WZP_OK : WZP_ERR_MALFORMED;
            break;
        case 'T':
            o.duration_s = strtod(optarg, &end);
            rc = *end == '\0' && o.duration_s >= 0 && o.duration_s <= 86400 ? WZP_OK
                                                                            : WZP_ERR_MALFORMED;
            break;
        case 'B':
            o.rebind_at_s = strtod(optarg, &end);
            rc = *end == '\0' && o.rebind_at_s > 0 && o.rebind_at_s <= 86400 ? WZP_OK
                                                                             : WZP_ERR_MALFORMED;
            break;
        case 'C':
            o.copier = true;
            break;
        case 'V':
            printf("wzp-netsim %s\n", wzp_version());
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (rc != WZP_OK) {
            fprintf(stderr, "wzp-netsim: bad value '%s' (see --help)\n", optarg ? optarg : "");
            return 2;
        }
    }
    if (o.upstream == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (scenario != NULL && load_scenario(scenario, &o) != 0) {
        return 2;
    }
    return wzp_netsim_run(&o, stdout, stderr);
}
