/*
 * libwzp's allocator hook. Every heap allocation in the library (and in cJSON, which libwzp
 * routes through the same hook) goes through these functions, so tests can count blocks to find
 * leaks and make the N-th allocation fail to prove that every error path is clean.
 */
#ifndef WZP_ALLOC_H
#define WZP_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wzp_allocator {
    void *(*malloc_fn)(size_t size);
    void (*free_fn)(void *ptr);
} wzp_allocator;

/* Replace the allocator (NULL restores malloc/free). Not thread-safe: call before any other
 * libwzp function, or from a single-threaded test. */
void wzp_set_allocator(const wzp_allocator *alloc);

void *wzp_malloc(size_t size);
void *wzp_calloc(size_t n, size_t size);
void wzp_free(void *ptr);
/* A NUL-terminated copy of the first `len` bytes of `s`, or NULL when out of memory. */
char *wzp_strndup(const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
