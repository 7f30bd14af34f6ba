/* Internal view of the allocator: how many allocations have failed so far. */
#ifndef WZP_COMMON_ALLOC_INTERNAL_H
#define WZP_COMMON_ALLOC_INTERNAL_H

unsigned long wzp__alloc_failures(void);
/* Point cJSON at libwzp's allocator (idempotent). */
void wzp__alloc_install_hooks(void);

#endif
