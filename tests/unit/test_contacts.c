/* Contacts (src/client/contacts.c): the file's parser, its refusals, add/rename/remove, and the
 * file on disk (0600, refused when others may write it). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/contacts.h"
#include "testutil.h"

#define FP_A "0123:4567:89ab:cdef:0123:4567:89ab:cdef"
#define FP_B "ffff:0000:ffff:0000:ffff:0000:ffff:0001"

static wzp_contacts *fresh(void) {
    wzp_contacts *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    return c;
}

static void test_a_file_is_read_and_bad_lines_are_named(void **state) {
    (void)state;
    wzp_contacts *c = fresh();
    char text[512];
    snprintf(text, sizeof(text), "# people\n\n%s Alice Smith\r\n  %s   Bob  \n", FP_A, FP_B);
    unsigned bad = 99;
    assert_int_equal(wzp_contacts_parse(text, strlen(text), c, &bad), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(c->n, 2);
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    assert_int_equal(wzp_fingerprint_parse(FP_B, fp), 0);
    assert_string_equal(wzp_contacts_by_fp(c, fp)->name, "Bob");
    assert_non_null(wzp_contacts_by_name(c, "Alice Smith"));
    assert_null(wzp_contacts_by_name(c, "alice smith"));

    const char *bad_texts[] = {
        FP_A "\n",                        /* a fingerprint without a name */
        FP_A " Alice\n" FP_A " Alicia\n", /* one fingerprint twice */
        "0123:4567 Alice\n",              /* a short fingerprint */
        FP_A " Al\001ce\n",               /* a control character in a name */
        FP_A " #Alice\n",                 /* a name that starts like a comment */
    };
    for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++) {
        snprintf(text, sizeof(text), "%s", bad_texts[i]);
        assert_int_equal(wzp_contacts_parse(text, strlen(text), c, &bad), WZP_ERR_MALFORMED);
        assert_int_equal(c->n, 0); /* nothing half-read */
        assert_true(bad >= 1);
    }
    snprintf(text, sizeof(text), "%s Alice\n%s Alice\n", FP_A, FP_B); /* one name twice */
    assert_int_equal(wzp_contacts_parse(text, strlen(text), c, &bad), WZP_ERR_MALFORMED);
    assert_int_equal(bad, 2);
    char name[WZP_CONTACT_NAME_MAX + 2];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(text, sizeof(text), "%s %s\n", FP_A, name); /* a name one byte too long */
    assert_int_equal(wzp_contacts_parse(text, strlen(text), c, &bad), WZP_ERR_MALFORMED);
    text[0] = '\0';
    assert_int_equal(wzp_contacts_parse(text, 0, c, NULL), 0);
    assert_int_equal(c->n, 0);
    free(c);
}

static void test_add_rename_remove_and_the_file(void **state) {
    (void)state;
    wzp_contacts *c = fresh();
    uint8_t a[WZP_FINGERPRINT_SIZE], b[WZP_FINGERPRINT_SIZE];
    assert_int_equal(wzp_fingerprint_parse(FP_A, a), 0);
    assert_int_equal(wzp_fingerprint_parse(FP_B, b), 0);
    assert_int_equal(wzp_contacts_add(c, a, "Alice"), 0);
    assert_int_equal(wzp_contacts_add(c, b, "Alice"), WZP_ERR_STATE); /* the name is taken */
    assert_int_equal(wzp_contacts_add(c, b, ""), WZP_ERR_INVALID_ARG);
    assert_int_equal(wzp_contacts_add(c, b, "Bob"), 0);
    assert_int_equal(wzp_contacts_add(c, a, "Alice (work)"), 0); /* rename */
    assert_int_equal(c->n, 2);
    assert_null(wzp_contacts_by_name(c, "Alice"));

    char dir[] = "/tmp/wzp-contacts-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/sub/contacts", dir);
    assert_int_equal(wzp_contacts_save(path, c), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    wzp_contacts *back = fresh();
    assert_int_equal(wzp_contacts_load(path, back, NULL), 0);
    assert_int_equal(back->n, 2);
    assert_string_equal(wzp_contacts_by_fp(back, a)->name, "Alice (work)");
    assert_int_equal(wzp_contacts_remove(back, "Bob"), 0);
    assert_int_equal(wzp_contacts_remove(back, FP_A), 0); /* by fingerprint */
    assert_int_equal(wzp_contacts_remove(back, "Bob"), WZP_ERR_EMPTY);
    assert_int_equal(back->n, 0);
    assert_int_equal(chmod(path, 0620), 0); /* others may write it: who you trust is not yours */
    assert_int_equal(wzp_contacts_load(path, back, NULL), WZP_ERR_PERMISSION);
    snprintf(path, sizeof(path), "%s/none", dir); /* no file: no contacts */
    assert_int_equal(wzp_contacts_load(path, back, NULL), 0);
    assert_int_equal(back->n, 0);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(wzp_contacts_path("/x/a.id", path, sizeof(path)), 0);
    assert_string_equal(path, "/x/a.id.contacts");
    free(c);
    free(back);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_file_is_read_and_bad_lines_are_named),
        cmocka_unit_test(test_add_rename_remove_and_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
