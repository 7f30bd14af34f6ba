/* Fuzz a call session's input: after its path comes up and the relay gives it a media session,
 * the input is a sequence of records -- a signalling message (any JSON: the decoder, the room
 * update, every PeerSignal of the handshake), a datagram (hop, trunk, media chain), a tick or a
 * pull -- each `kind (1) | length (2, BE) | bytes`. Nothing may crash, leak or misbehave. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "fuzz_path.h"
#include "wzp/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static wzp_identity id;
    static int ready;
    if (!ready) {
        uint8_t seed[32] = {7};
        if (wzp_identity_from_seed(seed, &id) != WZP_OK) {
            abort();
        }
        ready = 1;
    }
    wzp_call_session_config cfg = wzp_call_session_default_config(&id);
    cfg.media.vad = cfg.media.denoise = false;
    wzp_call_session *s = NULL;
    static fuzz_path path;
    fuzz_path_init(&path, 1);
    unsigned pid = 0;
    if (wzp_call_session_new(&cfg, &s) != WZP_OK ||
        wzp_call_session_add_path(s, &path.base, &pid) != WZP_OK) {
        abort();
    }
    uint64_t now = 1000;
    wzp_call_session_path_up(s, pid, now);
    static const char media[] = "{\"MediaSession\":{\"session_id\":100000000}}";
    wzp_call_session_on_signal(s, pid, (const uint8_t *)media, sizeof(media) - 1, now);
    while (size >= 3) {
        uint8_t kind = data[0];
        size_t len = (size_t)data[1] << 8 | data[2];
        data += 3;
        size -= 3;
        len = len < size ? len : size;
        now += kind & 0x1F;
        if ((kind & 0xC0) == 0) {
            wzp_call_session_on_signal(s, pid, data, len, now);
        } else if ((kind & 0xC0) == 0x40) {
            wzp_call_session_on_datagram(s, pid, data, len, now);
        } else if ((kind & 0xC0) == 0x80) {
            wzp_call_session_tick(s, now);
        } else {
            int16_t pcm[WZP_SESSION_FRAME];
            wzp_call_session_pull(s, pcm);
        }
        data += len;
        size -= len;
    }
    wzp_session_event ev;
    while (wzp_call_session_next_event(s, &ev)) {
    }
    wzp_call_session_free(s);
    return 0;
}
