/* Fuzz the relay core's input: three members connect (two clients of one room, a probing relay);
 * then records `kind (1) | length (2, BE) | bytes` -- a signalling message from one of them
 * (joins with any signature, PeerSignals to anyone, MediaOptions, Pings), a datagram from one of
 * their addresses (the session table, hop authentication, fan-out, trunking, probe echoes), or a
 * tick -- and at the end they leave. Nothing may crash or leak; nothing unauthentic goes out. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "fuzz_path.h"
#include "wzp/relay_core.h"

#define M 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fuzz_path paths[M];
    for (int i = 0; i < M; i++) {
        fuzz_path_init(&paths[i], 100 + i);
    }
    /* the probing relay's host is a peer relay's (its probe slot is taken, not refused) */
    wzp_relay_core_config cfg = {.rooms = {8, 4, 15000},
                                 .trunking = true,
                                 .peer_hosts = &paths[M - 1].base.remote,
                                 .npeer_hosts = 1};
    wzp_relay_core *c = NULL;
    wzp_member *m[M];
    static const char *const sni[M] = {"room", "room", WZP_PROBE_SNI};
    if (wzp_relay_core_new(&cfg, &c) != WZP_OK) {
        abort();
    }
    for (int i = 0; i < M; i++) {
        if (wzp_relay_core_connect(c, sni[i], &paths[i].base, 0, &m[i]) != WZP_OK) {
            abort();
        }
    }
    uint64_t now = 1;
    while (size >= 3) {
        uint8_t kind = data[0];
        size_t len = (size_t)data[1] << 8 | data[2], who = (kind >> 4) % M;
        data += 3;
        size -= 3;
        len = len < size ? len : size;
        now += kind & 0x7;
        if ((kind & 0x08) == 0) {
            wzp_signal *msg = NULL;
            if (wzp_signal_decode(data, len, &msg) == WZP_OK) {
                wzp_relay_core_on_signal(c, m[who], msg, now);
                wzp_signal_free(msg);
            }
        } else if (kind & 0x01) {
            wzp_relay_core_tick(c, now);
        } else {
            (void)wzp_relay_core_on_datagram(c, data, len,
                                             (const struct sockaddr *)&paths[who].base.remote, now);
        }
        data += len;
        size -= len;
    }
    if (wzp_relay_core_get_stats(c).media_in != 0) {
        abort(); /* the fuzzer cannot know a member's hop key: nothing authenticates */
    }
    for (int i = 0; i < M; i++) {
        wzp_relay_core_disconnect(c, m[i], "done", now);
    }
    wzp_relay_core_free(c);
    return 0;
}
