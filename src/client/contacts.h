/* Contacts (src/client/contacts.c): the people whose identity fingerprints you checked, by name.
 * A file of "FINGERPRINT NAME" lines next to the identity (0600), '#' comments and blank lines
 * allowed. A peer in the file is shown as verified, with its name; one that is not, as
 * unverified; one that calls itself by a contact's name with another key, with a loud warning.
 * docs/SECURITY.md "Contacts". */
#ifndef WZP_CLIENT_CONTACTS_H
#define WZP_CLIENT_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wzp/crypto.h"

#define WZP_CONTACT_NAME_MAX  64          /* bytes of UTF-8 */
#define WZP_CONTACTS_MAX      512         /* contacts in one file */
#define WZP_CONTACTS_MAX_FILE (64 * 1024) /* bytes */

typedef struct wzp_contact {
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    char name[WZP_CONTACT_NAME_MAX + 1];
} wzp_contact;

typedef struct wzp_contacts {
    size_t n;
    wzp_contact items[WZP_CONTACTS_MAX];
} wzp_contacts;

/* A name a contact may have: 1..WZP_CONTACT_NAME_MAX bytes, no control characters, not
 * starting or ending with a blank, not starting with '#'. */
bool wzp_contact_name_ok(const char *name, size_t len);
/* Read a contacts file's text. Errors: WZP_ERR_MALFORMED (a line that is neither blank, a
 * comment nor "FINGERPRINT NAME"; a fingerprint or a name twice), WZP_ERR_TOO_MANY_ENTRIES,
 * WZP_ERR_TOO_LARGE; `*bad_line` (may be NULL) is the first bad line's number. On error `out`
 * is empty. */
WZP_MUST_CHECK int wzp_contacts_parse(const char *text, size_t len, wzp_contacts *out,
                                      unsigned *bad_line);
/* Load the file at `path` (a missing file: no contacts). Errors: as parse, WZP_ERR_IO,
 * WZP_ERR_PERMISSION (others may write it: it says who you trust). */
WZP_MUST_CHECK int wzp_contacts_load(const char *path, wzp_contacts *out, unsigned *bad_line);
/* Write the file whole (a temporary file renamed over it; 0600, its directories 0700). */
WZP_MUST_CHECK int wzp_contacts_save(const char *path, const wzp_contacts *c);
/* The contacts file beside an identity: $XDG_CONFIG_HOME/wzp/contacts for the default
 * identity (`identity_path` NULL), IDENTITY_FILE.contacts for another. */
WZP_MUST_CHECK int wzp_contacts_path(const char *identity_path, char *out, size_t cap);

const wzp_contact *wzp_contacts_by_fp(const wzp_contacts *c,
                                      const uint8_t fp[WZP_FINGERPRINT_SIZE]);
const wzp_contact *wzp_contacts_by_name(const wzp_contacts *c, const char *name);
/* Add or rename (a known fingerprint gets the new name). Errors: WZP_ERR_INVALID_ARG (the name),
 * WZP_ERR_STATE (another fingerprint has that name), WZP_ERR_FULL. */
WZP_MUST_CHECK int wzp_contacts_add(wzp_contacts *c, const uint8_t fp[WZP_FINGERPRINT_SIZE],
                                    const char *name);
/* Remove by name or fingerprint text. Errors: WZP_ERR_EMPTY (no such contact). */
WZP_MUST_CHECK int wzp_contacts_remove(wzp_contacts *c, const char *name_or_fp);

#endif
