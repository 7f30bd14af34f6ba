/* `wzp-bench crypto`: nanoseconds to protect and to open one 100-byte media frame (ChaCha20-
 * Poly1305 with the explicit key id / counter extension and the replay window), 30,000 packets
 * (SPEC §2), and the same AEAD through libsodium directly as the in-process baseline. */
#include <sodium.h>
#include <string.h>

#include "bench.h"
#include "bench_util.h"
#include "wzp/crypto.h"

cJSON *wzp_bench_crypto(const wzp_bench_opts *opts, FILE *human) {
    unsigned n = opts->iterations ? opts->iterations : 30000;
    if (wzp_crypto_init() != WZP_OK) {
        return NULL;
    }
    uint8_t key[32], pt[100], out[100];
    randombytes_buf(key, sizeof(key));
    randombytes_buf(pt, sizeof(pt));
    static uint8_t pkts[30000][100 + WZP_MEDIA_OVERHEAD];
    if (n > 30000) {
        n = 30000;
    }
    wzp_media_tx tx;
    wzp_media_rx rx;
    wzp_media_tx_init(&tx, key, 0);
    wzp_media_rx_init(&rx);
    wzp_media_rx_add_key(&rx, key, 0, 0);
    wzp_frame_meta meta = {.codec_id = 0, .timestamp_ms = 0};
    size_t w = 0;
    double t0 = bench_now_us();
    for (unsigned i = 0; i < n; i++) {
        meta.timestamp_ms = i * 20;
        if (wzp_media_seal(&tx, &meta, pt, sizeof(pt), pkts[i], sizeof(pkts[i]), &w) != WZP_OK) {
            return NULL;
        }
    }
    double t1 = bench_now_us();
    for (unsigned i = 0; i < n; i++) {
        meta.timestamp_ms = i * 20;
        if (wzp_media_open(&rx, &meta, pkts[i], w, 0, out, sizeof(out), &w) != WZP_OK) {
            return NULL;
        }
        w = 100 + WZP_MEDIA_OVERHEAD;
    }
    double t2 = bench_now_us();
    /* baseline: the bare AEAD, same sizes */
    uint8_t nonce[12] = {0}, ct[116];
    unsigned long long clen;
    double t3 = bench_now_us();
    for (unsigned i = 0; i < n; i++) {
        nonce[11] = (uint8_t)i;
        crypto_aead_chacha20poly1305_ietf_encrypt(ct, &clen, pt, sizeof(pt), NULL, 0, NULL, nonce,
                                                  key);
    }
    double t4 = bench_now_us();
    double seal_ns = (t1 - t0) * 1000.0 / n, open_ns = (t2 - t1) * 1000.0 / n;
    double bare_ns = (t4 - t3) * 1000.0 / n;
    fprintf(human,
            "crypto: 100-byte frames, %u packets: seal %.0f ns, open %.0f ns, seal+open %.0f "
            "ns/packet (bare AEAD encrypt %.0f ns: ratio %.2f)\n",
            n, seal_ns, open_ns, seal_ns + open_ns, bare_ns, seal_ns / bare_ns);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "bench", "crypto");
    cJSON_AddNumberToObject(r, "packets", n);
    cJSON_AddNumberToObject(r, "payload_bytes", 100);
    cJSON_AddNumberToObject(r, "seal_ns", seal_ns);
    cJSON_AddNumberToObject(r, "open_ns", open_ns);
    cJSON_AddNumberToObject(r, "seal_plus_open_ns", seal_ns + open_ns);
    cJSON_AddNumberToObject(r, "bare_aead_encrypt_ns", bare_ns);
    cJSON_AddNumberToObject(r, "seal_vs_bare_ratio", seal_ns / bare_ns);
    wzp_media_tx_wipe(&tx);
    wzp_media_rx_wipe(&rx);
    return r;
}
