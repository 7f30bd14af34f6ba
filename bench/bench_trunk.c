/* `wzp-bench trunk`: what trunking saves one receiver in a room of S talkers (each 50 packets/s,
 * random phase, 100-byte forwarded packets: Opus 24k plus headers), over 60 s of simulated time
 * through the relay's real packer (flush at 5 ms, 10 entries or 1200 bytes). Baseline, same
 * run: every packet in its own datagram. Wire bytes count IPv4+UDP (28) and the hop layer (16). */
#include <stdlib.h>

#include "bench.h"
#include "bench_util.h"
#include "wzp/hop.h"
#include "wzp/proto.h"

#define PKT      100
#define WIRE_HDR (28 + WZP_HOP_OVERHEAD)
#define SIM_MS   60000
#define MAX_TALK 64

static cJSON *one(unsigned talkers, uint64_t *seed, FILE *human, double *ns_per_pkt) {
    unsigned phase[MAX_TALK];
    for (unsigned i = 0; i < talkers; i++) {
        phase[i] = bench_rand(seed) % 20;
    }
    uint8_t frame[WZP_TRUNK_MAX_BYTES], pkt[PKT] = {0};
    wzp_trunk_packer p;
    if (wzp_trunk_packer_init(&p, frame, sizeof(frame)) != WZP_OK) {
        return NULL;
    }
    uint64_t pkts = 0, dgrams = 0, bytes = 0, base_bytes = 0, delay_sum = 0;
    double t0 = bench_now_us();
    for (uint64_t ms = 0; ms < SIM_MS; ms++) {
        if (p.count > 0 && wzp_trunk_packer_should_flush(&p, ms)) {
            bytes += WIRE_HDR + 1 + wzp_trunk_packer_finish(&p);
            dgrams++;
        }
        for (unsigned i = 0; i < talkers; i++) {
            if (ms % 20 != phase[i]) {
                continue;
            }
            pkts++;
            base_bytes += WIRE_HDR + 4 + PKT;
            if (wzp_trunk_packer_would_overflow(&p, PKT)) {
                bytes += WIRE_HDR + 1 + wzp_trunk_packer_finish(&p);
                dgrams++;
            }
            if (wzp_trunk_packer_add(&p, (uint16_t)i, pkt, PKT, ms) != WZP_OK) {
                return NULL;
            }
            delay_sum += WZP_TRUNK_FLUSH_MS - (ms - p.first_ms); /* upper bound of its wait */
            if (wzp_trunk_packer_should_flush(&p, ms)) {
                bytes += WIRE_HDR + 1 + wzp_trunk_packer_finish(&p);
                dgrams++;
            }
        }
    }
    double t1 = bench_now_us();
    *ns_per_pkt = (t1 - t0) * 1000.0 / (double)pkts;
    double np = (double)pkts, nd = (double)dgrams, nb = (double)bytes, nbb = (double)base_bytes;
    double dg_ratio = nd / np, b_ratio = nb / nbb;
    fprintf(human,
            "trunk: %2u talkers -> one receiver: %6.0f datagrams/s instead of %6.0f (%.2f), "
            "%7.0f B/s instead of %7.0f (%.2f), added delay <= %.1f ms on average\n",
            talkers, nd * 1000.0 / SIM_MS, np * 1000.0 / SIM_MS, dg_ratio, nb * 1000.0 / SIM_MS,
            nbb * 1000.0 / SIM_MS, b_ratio, (double)delay_sum / np);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "talkers", talkers);
    cJSON_AddNumberToObject(o, "packets_per_s", np * 1000.0 / SIM_MS);
    cJSON_AddNumberToObject(o, "datagrams_per_s", nd * 1000.0 / SIM_MS);
    cJSON_AddNumberToObject(o, "baseline_datagrams_per_s", np * 1000.0 / SIM_MS);
    cJSON_AddNumberToObject(o, "datagram_ratio", dg_ratio);
    cJSON_AddNumberToObject(o, "wire_bytes_per_s", nb * 1000.0 / SIM_MS);
    cJSON_AddNumberToObject(o, "baseline_wire_bytes_per_s", nbb * 1000.0 / SIM_MS);
    cJSON_AddNumberToObject(o, "byte_ratio", b_ratio);
    cJSON_AddNumberToObject(o, "mean_added_delay_ms_max", (double)delay_sum / np);
    return o;
}

cJSON *wzp_bench_trunk(const wzp_bench_opts *opts, FILE *human) {
    (void)opts;
    static const unsigned talkers[] = {2, 5, 10, 20, 50};
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    cJSON *out = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(out, "rooms");
    double ns = 0, ns_max = 0;
    for (size_t i = 0; i < sizeof(talkers) / sizeof(talkers[0]); i++) {
        cJSON *r = one(talkers[i], &seed, human, &ns);
        if (r == NULL) {
            cJSON_Delete(out);
            return NULL;
        }
        ns_max = ns > ns_max ? ns : ns_max;
        cJSON_AddItemToArray(rows, r);
    }
    cJSON_AddNumberToObject(out, "packer_ns_per_packet_max", ns_max);
    fprintf(human, "trunk: packing costs at most %.0f ns per packet\n", ns_max);
    return out;
}
