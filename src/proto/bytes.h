/* Big-endian and little-endian helpers for wire formats: never type-pun a struct onto the wire. */
#ifndef WZP_PROTO_BYTES_H
#define WZP_PROTO_BYTES_H

#include <stdint.h>

static inline void wzp__put_u16be(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void wzp__put_u32be(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint16_t wzp__get_u16be(const uint8_t *p) {
    return (uint16_t)((uint16_t)(p[0] << 8) | p[1]);
}

static inline uint32_t wzp__get_u32be(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void wzp__put_u16le(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline uint16_t wzp__get_u16le(const uint8_t *p) {
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

#endif
