/* --send-file input: headerless PCM is read as 48 kHz s16le mono even when its bytes look like
 * MPEG frame sync (a first sample of -1 is 0xffff), WAV at another rate and channel count is
 * mixed down and resampled, and a missing file is a clear error. */
#include <sndfile.h>
#include <unistd.h>

#include "audio_util.h"
#include "client/file_source.h"
#include "testutil.h"

#define SECONDS 1
#define N       (48000 * SECONDS)

static char g_dir[] = "/tmp/wzp-file-source-XXXXXX";

/* A 1200 Hz tone at 0.15 whose first sample is -1: what libsndfile sniffs as MP3. */
static void write_mpeg_looking_raw(const char *path) {
    static int16_t pcm[N];
    tone(pcm, N, 1200, 0.15, 0);
    pcm[0] = -1;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(pcm, sizeof(pcm[0]), N, f), N);
    assert_int_equal(fclose(f), 0);
}

/* All of the file at 48 kHz; the tone's frequency and level measured on its middle. */
static void read_and_measure(const char *path, double hz, double amp) {
    static int16_t out[N + 4800];
    wzp_file_source *s = NULL;
    char why[128] = "";
    assert_int_equal(wzp_file_source_open(path, &s, why, sizeof(why)), WZP_OK);
    assert_true(fabs(wzp_file_source_seconds(s) - SECONDS) < 0.01);
    size_t got = 0, n;
    while ((n = wzp_file_source_read(s, out + got, 960)) > 0 && got + 960 <= sizeof(out) / 2) {
        got += n;
    }
    wzp_file_source_close(s);
    assert_true(got > N - 960 && got <= N);
    const int16_t *mid = out + 4800;
    size_t len = 38400;
    double f = peak_frequency(mid, len, hz - 50, hz + 50);
    double p = goertzel(mid, len, f);
    double level = 2.0 * sqrt(p) / 32767.0;
    print_message("%s: %.2f Hz at amplitude %.3f (want %.0f Hz, %.3f)\n", path, f, level, hz, amp);
    assert_true(fabs(f - hz) < 0.5);
    assert_true(fabs(level - amp) < 0.01);
}

static void test_raw_by_extension(void **state) {
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "%s/tone.raw", g_dir);
    write_mpeg_looking_raw(path);
    SF_INFO info = {0}; /* the trap this guards against is real */
    SNDFILE *sniffed = sf_open(path, SFM_READ, &info);
    if (sniffed != NULL) {
        print_message("libsndfile alone sniffs it as format 0x%x, %d Hz, %d ch\n", info.format,
                      info.samplerate, info.channels);
        sf_close(sniffed);
    }
    read_and_measure(path, 1200, 0.15);
    unlink(path);
}

static void test_raw_unknown_extension_not_mpeg(void **state) {
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "%s/tone.bin", g_dir);
    write_mpeg_looking_raw(path);
    read_and_measure(path, 1200, 0.15);
    unlink(path);
}

static void test_wav_stereo_16k(void **state) {
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "%s/tone.wav", g_dir);
    static int16_t mono[16000], stereo[32000];
    for (size_t i = 0; i < 16000; i++) {
        mono[i] = (int16_t)lrint(0.2 * 32767.0 * sin(2.0 * M_PI * 660.0 * (double)i / 16000.0));
        stereo[2 * i] = stereo[2 * i + 1] = mono[i];
    }
    SF_INFO info = {.samplerate = 16000, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    assert_non_null(f);
    assert_int_equal(sf_writef_short(f, stereo, 16000), 16000);
    sf_close(f);
    read_and_measure(path, 660, 0.2);
    unlink(path);
}

/* A 32-bit float WAV (what audio editors export): samples in -1..1 must be scaled, not
 * truncated to 0 and +-1 (libsndfile's default when read as shorts: silence). */
static void test_wav_float(void **state) {
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "%s/tone-float.wav", g_dir);
    static float x[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)(0.3 * sin(2.0 * M_PI * 440.0 * (double)i / 48000.0));
    }
    SF_INFO info = {.samplerate = 48000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    assert_non_null(f);
    assert_int_equal(sf_writef_float(f, x, N), N);
    sf_close(f);
    read_and_measure(path, 440, 0.3);
    unlink(path);
}

static void test_missing_file(void **state) {
    (void)state;
    wzp_file_source *s = NULL;
    char why[128] = "";
    assert_int_not_equal(wzp_file_source_open("/nonexistent/x.wav", &s, why, sizeof(why)), WZP_OK);
    assert_null(s);
    assert_true(why[0] != '\0');
    assert_int_not_equal(wzp_file_source_open("/nonexistent/x.raw", &s, why, sizeof(why)), WZP_OK);
    assert_null(s);
}

int main(void) {
    if (mkdtemp(g_dir) == NULL) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_by_extension),
        cmocka_unit_test(test_raw_unknown_extension_not_mpeg),
        cmocka_unit_test(test_wav_stereo_16k),
        cmocka_unit_test(test_wav_float),
        cmocka_unit_test(test_missing_file),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(g_dir);
    return rc;
}
