/*
 * The known-relays file: one "ADDRESS FINGERPRINT" per line, the fingerprint as wzp-relay prints
 * it. The parser takes (buf, len), bounds every line and never trusts a damaged entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/known_relays.h"
#include "common/fs.h"
#include "wzp/alloc.h"

#define MAX_LINE 512

int wzp_known_relays_default_path(char *out, size_t cap) {
    return wzp__config_path("known_relays", out, cap);
}

int wzp_known_relays_find(const char *text, size_t len, const char *addr,
                          uint8_t fp[WZP_TLS_FINGERPRINT_SIZE]) {
    size_t alen = strlen(addr);
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n') {
            end++;
        }
        size_t n = end - pos;
        if (n > MAX_LINE) {
            return WZP_ERR_TOO_LARGE;
        }
        char line[MAX_LINE + 1];
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos = end + 1;
        if (n == 0 || line[0] == '#' || memchr(line, '\0', n) != NULL) {
            continue; /* blank, comment (a NUL inside makes the line unreadable: skipped) */
        }
        char *sp = strchr(line, ' ');
        if (sp == NULL || (size_t)(sp - line) != alen || memcmp(line, addr, alen) != 0) {
            continue;
        }
        char *fptext = sp + 1;
        size_t flen = strlen(fptext);
        while (flen > 0 && (fptext[flen - 1] == '\r' || fptext[flen - 1] == ' ')) {
            fptext[--flen] = '\0';
        }
        return wzp_tls_fingerprint_parse(fptext, fp) == WZP_OK ? WZP_OK : WZP_ERR_MALFORMED;
    }
    return WZP_ERR_EMPTY;
}

int wzp_known_relays_lookup(const char *path, const char *addr,
                            uint8_t fp[WZP_TLS_FINGERPRINT_SIZE]) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return errno == ENOENT ? WZP_ERR_EMPTY : WZP_ERR_IO;
    }
    char *buf = wzp_malloc(WZP_KNOWN_RELAYS_MAX_FILE);
    if (buf == NULL) {
        fclose(f);
        return WZP_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, WZP_KNOWN_RELAYS_MAX_FILE, f);
    int extra = fgetc(f);
    fclose(f);
    int rc = extra != EOF ? WZP_ERR_TOO_LARGE : wzp_known_relays_find(buf, n, addr, fp);
    wzp_free(buf);
    return rc;
}

int wzp_known_relays_add(const char *path, const char *addr,
                         const uint8_t fp[WZP_TLS_FINGERPRINT_SIZE]) {
    if (strlen(addr) > 255 || strchr(addr, ' ') != NULL || strchr(addr, '\n') != NULL) {
        return WZP_ERR_INVALID_ARG;
    }
    int rc = wzp__make_parents(path);
    if (rc != WZP_OK) {
        return rc;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return WZP_ERR_IO;
    }
    char text[WZP_TLS_FINGERPRINT_TEXT], line[MAX_LINE + 2];
    wzp_tls_fingerprint_format(fp, text);
    int n = snprintf(line, sizeof(line), "%s %s\n", addr, text);
    bool ok = n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) == n;
    ok = close(fd) == 0 && ok;
    return ok ? WZP_OK : WZP_ERR_IO;
}
