/* The relay TLS identity: key from the seed per SPEC (checked against the reference vector),
 * a deterministic self-signed certificate, and the fingerprint text form. */
#include <cjson/cJSON.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "testutil.h"
#include "wzp/transport.h"

static void test_certificate_is_deterministic_and_self_signed(void **state) {
    (void)state;
    uint8_t seed[32] = {0}, other[32] = {1};
    wzp_tls_identity *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(wzp_tls_identity_from_seed(seed, &a), 0);
    assert_int_equal(wzp_tls_identity_from_seed(seed, &b), 0);
    assert_int_equal(wzp_tls_identity_from_seed(other, &c), 0);
    uint8_t fa[32], fb[32], fc[32];
    wzp_tls_identity_fingerprint(a, fa);
    wzp_tls_identity_fingerprint(b, fb);
    wzp_tls_identity_fingerprint(c, fc);
    assert_memory_equal(fa, fb, 32); /* same seed, same certificate, across restarts */
    assert_memory_not_equal(fa, fc, 32);
    const uint8_t *der;
    size_t len;
    wzp_tls_identity_certificate(a, &der, &len);
    gnutls_x509_crt_t crt;
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)der, (unsigned)len};
    assert_true(gnutls_x509_crt_init(&crt) >= 0);
    assert_true(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) >= 0);
    unsigned verify = 1;
    assert_true(gnutls_x509_crt_verify(crt, &crt, 1, 0, &verify) >= 0);
    assert_int_equal(verify, 0); /* the self-signature checks out */
    /* the key is SPEC's: Ed25519 from HKDF(seed, "wzp-tls-ed25519"); seed 0 reference vector */
    uint8_t want_seed[32], pk[32], sk[64];
    size_t got = 0;
    const char *hex = "21955a2b5b34c0f0a1b9932be39cfad62a3ad198ede0f8fe47d400e39f9bd72f";
    assert_int_equal(sodium_hex2bin(want_seed, 32, hex, 64, NULL, &got, NULL), 0);
    crypto_sign_seed_keypair(pk, sk, want_seed);
    gnutls_ecc_curve_t curve;
    gnutls_datum_t x = {0}, y = {0};
    assert_true(gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x, &y) >= 0);
    assert_int_equal(curve, GNUTLS_ECC_CURVE_ED25519);
    assert_int_equal(x.size, 32);
    assert_memory_equal(x.data, pk, 32);
    gnutls_free(x.data);
    gnutls_free(y.data);
    gnutls_x509_crt_deinit(crt);
    wzp_tls_identity_free(a);
    wzp_tls_identity_free(b);
    wzp_tls_identity_free(c);
}

static void test_fingerprint_text_form(void **state) {
    (void)state;
    uint8_t fp[32], back[32];
    for (int i = 0; i < 32; i++) {
        fp[i] = (uint8_t)(i * 37 + 1);
    }
    char text[WZP_TLS_FINGERPRINT_TEXT];
    wzp_tls_fingerprint_format(fp, text);
    assert_int_equal(strlen(text), 95);
    assert_int_equal(text[2], ':');
    assert_int_equal(wzp_tls_fingerprint_parse(text, back), 0);
    assert_memory_equal(fp, back, 32);
    text[5] = '-';
    assert_int_equal(wzp_tls_fingerprint_parse(text, back), WZP_ERR_MALFORMED);
    assert_int_equal(wzp_tls_fingerprint_parse("ab:cd", back), WZP_ERR_MALFORMED);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_is_deterministic_and_self_signed),
        cmocka_unit_test(test_fingerprint_text_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
