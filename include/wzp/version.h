/* Library version, from the CMake project version. */
#ifndef WZP_VERSION_H
#define WZP_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

const char *wzp_version(void);

#ifdef __cplusplus
}
#endif
#endif
