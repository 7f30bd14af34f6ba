/* Fuzz the contacts parser: any text is either refused, leaving no contacts, or read into
 * contacts that save back to a text the parser reads the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/contacts.h"

static wzp_contacts c, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (wzp_contacts_parse((const char *)data, size, &c, NULL) != WZP_OK) {
        if (c.n != 0) {
            abort();
        }
        return 0;
    }
    static char text[WZP_CONTACTS_MAX * 128];
    size_t n = 0;
    for (size_t i = 0; i < c.n; i++) {
        char fp[WZP_FINGERPRINT_TEXT];
        wzp_fingerprint_format(c.items[i].fp, fp);
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s %s\n", fp, c.items[i].name);
    }
    if (wzp_contacts_parse(text, n, &again, NULL) != WZP_OK || again.n != c.n) {
        abort();
    }
    for (size_t i = 0; i < c.n; i++) {
        if (memcmp(c.items[i].fp, again.items[i].fp, sizeof(c.items[i].fp)) != 0 ||
            strcmp(c.items[i].name, again.items[i].name) != 0) {
            abort();
        }
    }
    return 0;
}
