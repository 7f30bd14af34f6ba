/* Small filesystem helpers shared inside the library. */
#ifndef WZP_COMMON_FS_H
#define WZP_COMMON_FS_H

/* mkdir -p of the directories above `path`, each 0700 when created. */
int wzp__make_parents(const char *path);

#endif
