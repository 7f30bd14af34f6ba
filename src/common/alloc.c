/* The allocator hook behind wzp_malloc/wzp_free; cJSON is pointed at the same functions. */
#include "wzp/alloc.h"

#include "common/alloc_internal.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static wzp_allocator g_alloc = {malloc, free};
static unsigned long g_failures;

unsigned long wzp__alloc_failures(void) {
    return g_failures;
}

/* cJSON reports "parse failed" for both bad JSON and exhausted memory; counting failures lets
 * the signal decoder tell the two apart. */
static void *hooked_malloc(size_t size) {
    void *p = g_alloc.malloc_fn(size == 0 ? 1 : size);
    if (p == NULL) {
        g_failures++;
    }
    return p;
}

static void hooked_free(void *ptr) {
    g_alloc.free_fn(ptr);
}

static bool g_hooks_installed;

void wzp__alloc_install_hooks(void) {
    if (!g_hooks_installed) {
        cJSON_Hooks hooks = {hooked_malloc, hooked_free};
        cJSON_InitHooks(&hooks);
        g_hooks_installed = true;
    }
}

void wzp_set_allocator(const wzp_allocator *alloc) {
    if (alloc == NULL) {
        g_alloc.malloc_fn = malloc;
        g_alloc.free_fn = free;
    } else {
        g_alloc = *alloc;
    }
    g_hooks_installed = false;
    wzp__alloc_install_hooks();
}

void *wzp_malloc(size_t size) {
    return hooked_malloc(size);
}

void *wzp_calloc(size_t n, size_t size) {
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    void *p = wzp_malloc(n * size);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

void wzp_free(void *ptr) {
    if (ptr != NULL) {
        g_alloc.free_fn(ptr);
    }
}

char *wzp_strndup(const char *s, size_t len) {
    char *p = wzp_malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
