/* Contacts: the file, its parser and the lookups (src/client/contacts.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/contacts.h"
#include "common/fs.h"
#include "wzp/alloc.h"

bool wzp_contact_name_ok(const char *name, size_t len) {
    if (len == 0 || len > WZP_CONTACT_NAME_MAX || name[0] == '#' || name[0] == ' ' ||
        name[len - 1] == ' ') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x20 || ch == 0x7f) {
            return false; /* no control characters (a terminal would act on them) */
        }
    }
    return true;
}

const wzp_contact *wzp_contacts_by_fp(const wzp_contacts *c,
                                      const uint8_t fp[WZP_FINGERPRINT_SIZE]) {
    for (size_t i = 0; i < c->n; i++) {
        if (memcmp(c->items[i].fp, fp, WZP_FINGERPRINT_SIZE) == 0) {
            return &c->items[i];
        }
    }
    return NULL;
}

const wzp_contact *wzp_contacts_by_name(const wzp_contacts *c, const char *name) {
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->items[i].name, name) == 0) {
            return &c->items[i];
        }
    }
    return NULL;
}

int wzp_contacts_add(wzp_contacts *c, const uint8_t fp[WZP_FINGERPRINT_SIZE], const char *name) {
    if (name == NULL || !wzp_contact_name_ok(name, strlen(name))) {
        return WZP_ERR_INVALID_ARG;
    }
    const wzp_contact *named = wzp_contacts_by_name(c, name);
    if (named != NULL && memcmp(named->fp, fp, WZP_FINGERPRINT_SIZE) != 0) {
        return WZP_ERR_STATE;
    }
    wzp_contact *k = (wzp_contact *)wzp_contacts_by_fp(c, fp);
    if (k == NULL) {
        if (c->n >= WZP_CONTACTS_MAX) {
            return WZP_ERR_FULL;
        }
        k = &c->items[c->n++];
        memcpy(k->fp, fp, WZP_FINGERPRINT_SIZE);
    }
    snprintf(k->name, sizeof(k->name), "%s", name);
    return WZP_OK;
}

int wzp_contacts_remove(wzp_contacts *c, const char *name_or_fp) {
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    const wzp_contact *k = wzp_contacts_by_name(c, name_or_fp);
    if (k == NULL && wzp_fingerprint_parse(name_or_fp, fp) == WZP_OK) {
        k = wzp_contacts_by_fp(c, fp);
    }
    if (k == NULL) {
        return WZP_ERR_EMPTY;
    }
    size_t i = (size_t)(k - c->items);
    memmove(&c->items[i], &c->items[i + 1], (c->n - i - 1) * sizeof(c->items[0]));
    c->n--;
    return WZP_OK;
}

/* One line (without its '\n'; a '\r' before it is dropped) into `out`. */
static int parse_line(const char *line, size_t n, wzp_contacts *out) {
    if (n > 0 && line[n - 1] == '\r') {
        n--;
    }
    size_t lead = 0;
    while (lead < n && (line[lead] == ' ' || line[lead] == '\t')) {
        lead++;
    }
    if (lead == n || line[lead] == '#') {
        return WZP_OK; /* blank or comment */
    }
    line += lead;
    n -= lead;
    const char *sp = memchr(line, ' ', n);
    char fptext[WZP_FINGERPRINT_TEXT], name[WZP_CONTACT_NAME_MAX + 1];
    if (sp == NULL || (size_t)(sp - line) != WZP_FINGERPRINT_TEXT - 1) {
        return WZP_ERR_MALFORMED;
    }
    memcpy(fptext, line, WZP_FINGERPRINT_TEXT - 1);
    fptext[WZP_FINGERPRINT_TEXT - 1] = '\0';
    const char *nm = sp + 1;
    size_t nn = n - (size_t)(nm - line);
    while (nn > 0 && (nm[0] == ' ' || nm[0] == '\t')) {
        nm++;
        nn--;
    }
    while (nn > 0 && (nm[nn - 1] == ' ' || nm[nn - 1] == '\t')) {
        nn--;
    }
    uint8_t fp[WZP_FINGERPRINT_SIZE];
    if (wzp_fingerprint_parse(fptext, fp) != WZP_OK || !wzp_contact_name_ok(nm, nn) ||
        memchr(nm, '\0', nn) != NULL) {
        return WZP_ERR_MALFORMED;
    }
    memcpy(name, nm, nn);
    name[nn] = '\0';
    if (wzp_contacts_by_fp(out, fp) != NULL || wzp_contacts_by_name(out, name) != NULL) {
        return WZP_ERR_MALFORMED; /* twice: which one is meant cannot be told */
    }
    if (out->n >= WZP_CONTACTS_MAX) {
        return WZP_ERR_TOO_MANY_ENTRIES;
    }
    wzp_contact *k = &out->items[out->n++];
    memcpy(k->fp, fp, sizeof(fp));
    memcpy(k->name, name, nn + 1);
    return WZP_OK;
}

int wzp_contacts_parse(const char *text, size_t len, wzp_contacts *out, unsigned *bad_line) {
    out->n = 0;
    if (bad_line != NULL) {
        *bad_line = 0;
    }
    if (len > WZP_CONTACTS_MAX_FILE) {
        return WZP_ERR_TOO_LARGE;
    }
    unsigned number = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
        number++;
        int rc = parse_line(text + at, n, out);
        if (rc != WZP_OK) {
            out->n = 0;
            if (bad_line != NULL) {
                *bad_line = number;
            }
            return rc;
        }
        at += n + 1;
    }
    return WZP_OK;
}

int wzp_contacts_load(const char *path, wzp_contacts *out, unsigned *bad_line) {
    out->n = 0;
    if (bad_line != NULL) {
        *bad_line = 0;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? WZP_OK : WZP_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return WZP_ERR_IO;
    }
    if ((st.st_mode & 022) != 0) {
        close(fd);
        return WZP_ERR_PERMISSION;
    }
    char *buf = wzp_malloc(WZP_CONTACTS_MAX_FILE + 1);
    if (buf == NULL) {
        close(fd);
        return WZP_ERR_NOMEM;
    }
    size_t have = 0;
    ssize_t r;
    while (have <= WZP_CONTACTS_MAX_FILE &&
           (r = read(fd, buf + have, WZP_CONTACTS_MAX_FILE + 1 - have)) > 0) {
        have += (size_t)r;
    }
    close(fd);
    int rc = have > WZP_CONTACTS_MAX_FILE ? WZP_ERR_TOO_LARGE
                                          : wzp_contacts_parse(buf, have, out, bad_line);
    wzp_free(buf);
    return rc;
}

int wzp_contacts_save(const char *path, const wzp_contacts *c) {
    char tmp[4200];
    int n = snprintf(tmp, sizeof(tmp), "%s.new", path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        return WZP_ERR_INVALID_ARG;
    }
    int rc = wzp__make_parents(path);
    if (rc != WZP_OK) {
        return rc;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return WZP_ERR_IO;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return WZP_ERR_IO;
    }
    bool ok =
        fprintf(f, "# wzp contacts: FINGERPRINT NAME, one a line (wzp-client contacts)\n") > 0;
    for (size_t i = 0; ok && i < c->n; i++) {
        char fp[WZP_FINGERPRINT_TEXT];
        wzp_fingerprint_format(c->items[i].fp, fp);
        ok = fprintf(f, "%s %s\n", fp, c->items[i].name) > 0;
    }
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return WZP_ERR_IO;
    }
    return WZP_OK;
}

int wzp_contacts_path(const char *identity_path, char *out, size_t cap) {
    if (identity_path == NULL) {
        return wzp__config_path("contacts", out, cap);
    }
    int n = snprintf(out, cap, "%s.contacts", identity_path);
    return n < 0 || (size_t)n >= cap ? WZP_ERR_BUFFER_TOO_SMALL : WZP_OK;
}
