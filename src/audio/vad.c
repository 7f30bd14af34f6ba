/*
 * Voice activity detection by level against a tracked background: the background follows the
 * level down quickly and up slowly, a frame is voiced when it stands 9 dB above it (and above
 * -55 dBFS), and speech lasts WZP_VAD_HANGOVER_MS after the last voiced frame so word endings and
 * short pauses are not clipped.
 */
#include <math.h>

#include "wzp/audio.h"

#define VOICED_MARGIN_DB 9.0
#define VOICED_MIN_DB    (-55.0)
#define FLOOR_DB         (-127.0)

double wzp_pcm_level_db(const int16_t *pcm, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += (double)pcm[i] * pcm[i];
    }
    if (n == 0 || sum <= 0.0) {
        return FLOOR_DB;
    }
    double db = 10.0 * log10(sum / (double)n / (32768.0 * 32768.0));
    return db < FLOOR_DB ? FLOOR_DB : db;
}

void wzp_vad_init(wzp_vad *v) {
    v->noise_db = -70.0;
    v->level_db = FLOOR_DB;
    v->hangover_ms = 0;
    v->frames = 0;
}

bool wzp_vad_process(wzp_vad *v, const int16_t *pcm, size_t n) {
    double level = wzp_pcm_level_db(pcm, n);
    unsigned ms = (unsigned)(n / WZP_SAMPLES_PER_MS);
    v->level_db = level;
    v->frames++;
    if (level < v->noise_db) {
        v->noise_db += 0.5 * (level - v->noise_db); /* quiet: follow down fast */
    } else {
        v->noise_db += 0.01 * (level - v->noise_db); /* louder: creep up slowly */
    }
    bool voiced = level > v->noise_db + VOICED_MARGIN_DB && level > VOICED_MIN_DB;
    if (voiced) {
        v->hangover_ms = WZP_VAD_HANGOVER_MS;
        return true;
    }
    if (v->hangover_ms > 0) {
        v->hangover_ms = v->hangover_ms > ms ? v->hangover_ms - ms : 0;
        return true;
    }
    return false;
}

uint8_t wzp_vad_cn_level(const wzp_vad *v) {
    double l = -v->noise_db;
    return (uint8_t)lrint(l < 0.0 ? 0.0 : l > 127.0 ? 127.0 : l);
}
