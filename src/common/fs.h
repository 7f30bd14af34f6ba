/* Small filesystem helpers shared inside the library. */
#ifndef WZP_COMMON_FS_H
#define WZP_COMMON_FS_H

#include <stddef.h>

/* mkdir -p of the directories above `path`, each 0700 when created. */
int wzp__make_parents(const char *path);
/* $XDG_CONFIG_HOME/wzp/<name>, or ~/.config/wzp/<name>. */
int wzp__config_path(const char *name, char *out, size_t cap);

#endif
