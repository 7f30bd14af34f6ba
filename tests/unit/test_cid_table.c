/* The QUIC connection-ID table against a brute-force model: random puts, gets and deletes
 * (backward-shift deletion must never lose an entry), its ceiling, and bad arguments. */
#include <sodium.h>

#include "testutil.h"
#include "transport/cid_table.h"

#define MODEL 600

typedef struct {
    uint8_t id[WZP_CID_MAX];
    size_t len;
    void *value;
} entry;

static void test_matches_model(void **state) {
    (void)state;
    wzp_cid_table t;
    assert_int_equal(wzp_cid_table_init(&t, 100000), WZP_OK);
    static entry m[MODEL];
    memset(m, 0, sizeof(m));
    size_t live = 0;
    uint32_t seed = 7;
    for (int op = 0; op < 200000; op++) {
        seed = seed * 1103515245u + 12345u;
        size_t k = (seed >> 8) % MODEL;
        entry *e = &m[k];
        if (e->value == NULL) {
            e->len = 2 + (seed >> 20) % (WZP_CID_MAX - 1);
            randombytes_buf(e->id, e->len);
            e->id[0] = (uint8_t)k; /* distinct ids */
            e->id[1] = (uint8_t)(k >> 8);
            e->value = (void *)(uintptr_t)(k + 1);
            assert_int_equal(wzp_cid_table_put(&t, e->id, e->len, e->value), WZP_OK);
            live++;
        } else if ((seed >> 4) & 1) {
            wzp_cid_table_del(&t, e->id, e->len, e->value);
            e->value = NULL;
            live--;
        }
        assert_int_equal(t.count, live);
        if (op % 997 == 0) {
            for (size_t i = 0; i < MODEL; i++) {
                if (m[i].value != NULL) {
                    assert_ptr_equal(wzp_cid_table_get(&t, m[i].id, m[i].len), m[i].value);
                } else if (m[i].len > 0) {
                    assert_null(wzp_cid_table_get(&t, m[i].id, m[i].len));
                }
            }
        }
    }
    assert_true(t.cap <= 2048); /* grew to fit at most 600 live entries, no further */
    wzp_cid_table_free(&t);
}

static void test_del_checks_owner_and_replace(void **state) {
    (void)state;
    wzp_cid_table t;
    assert_int_equal(wzp_cid_table_init(&t, 10), WZP_OK);
    uint8_t id[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int a, b;
    assert_int_equal(wzp_cid_table_put(&t, id, 8, &a), WZP_OK);
    wzp_cid_table_del(&t, id, 8, &b); /* not b's: stays */
    assert_ptr_equal(wzp_cid_table_get(&t, id, 8), &a);
    assert_int_equal(wzp_cid_table_put(&t, id, 8, &b), WZP_OK); /* replace */
    assert_int_equal(t.count, 1);
    assert_ptr_equal(wzp_cid_table_get(&t, id, 8), &b);
    assert_null(wzp_cid_table_get(&t, id, 7)); /* a prefix is another id */
    wzp_cid_table_del(&t, id, 8, NULL);
    assert_null(wzp_cid_table_get(&t, id, 8));
    assert_int_equal(t.count, 0);
    wzp_cid_table_free(&t);
}

static void test_ceiling_and_bad_args(void **state) {
    (void)state;
    wzp_cid_table t;
    assert_int_equal(wzp_cid_table_init(&t, 3), WZP_OK);
    int v;
    uint8_t id[WZP_CID_MAX + 1] = {0};
    for (uint8_t i = 0; i < 3; i++) {
        id[0] = i;
        assert_int_equal(wzp_cid_table_put(&t, id, 4, &v), WZP_OK);
    }
    id[0] = 9;
    assert_int_equal(wzp_cid_table_put(&t, id, 4, &v), WZP_ERR_FULL);
    assert_null(wzp_cid_table_get(&t, id, 4));
    assert_int_equal(wzp_cid_table_put(&t, id, 0, &v), WZP_ERR_INVALID_ARG);
    assert_int_equal(wzp_cid_table_put(&t, id, WZP_CID_MAX + 1, &v), WZP_ERR_INVALID_ARG);
    assert_int_equal(wzp_cid_table_put(&t, id, 4, NULL), WZP_ERR_INVALID_ARG);
    assert_null(wzp_cid_table_get(&t, id, 0));
    assert_null(wzp_cid_table_get(&t, id, WZP_CID_MAX + 1));
    wzp_cid_table_del(&t, id, WZP_CID_MAX + 1, NULL);
    assert_int_equal(t.count, 3);
    wzp_cid_table_free(&t);
}

int main(void) {
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_model),
        cmocka_unit_test(test_del_checks_owner_and_replace),
        cmocka_unit_test(test_ceiling_and_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
