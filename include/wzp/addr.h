/*
 * Socket addresses as the rest of libwzp handles them: one parser for what people type, one
 * length, one comparison, one copy and one printer, for IPv4 and IPv6 alike. Sans-I/O: nothing
 * here resolves a name or touches a socket.
 */
#ifndef WZP_ADDR_H
#define WZP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "wzp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WZP_ADDR_TEXT 64 /* "[ffff:...:ffff]:65535" and a NUL */

/* Parse "IPv4:port" or "[IPv6]:port" (numeric only, port 0..65535); `*out` is zeroed first.
 * Errors: WZP_ERR_INVALID_ARG (`*out` is then untouched). */
WZP_MUST_CHECK int wzp_addr_parse(const char *text, struct sockaddr_storage *out, socklen_t *len);
/* The length of the family's sockaddr (sockaddr_in6 for AF_INET6, else sockaddr_in). */
socklen_t wzp_addr_len(const struct sockaddr *a);
/* Same family, address and port. */
bool wzp_addr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* Same family and address, whatever the ports (one host, or one NAT). */
bool wzp_addr_same_host(const struct sockaddr *a, const struct sockaddr *b);
/* `*out` becomes `a` (zero-padded past its length). */
void wzp_addr_copy(struct sockaddr_storage *out, const struct sockaddr *a);
/* The port (host order) of an AF_INET or AF_INET6 address; 0 for anything else. */
unsigned wzp_addr_port(const struct sockaddr *a);
/* "1.2.3.4:5" or "[::1]:5" into `out`. */
void wzp_addr_format(const struct sockaddr *a, char out[WZP_ADDR_TEXT]);

#ifdef __cplusplus
}
#endif
#endif
