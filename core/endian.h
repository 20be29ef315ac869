/*
 * core/endian.h - big-endian loads and stores on byte buffers.
 *
 * Kafka's wire format and its on-disk files (batches, indexes, snapshots) are
 * big-endian. These helpers read and write unaligned bytes one at a time, so
 * they are safe on any address; the compiler folds them into a single load or
 * store plus a byte swap. The caller checks bounds: p must have 2, 4 or 8 bytes.
 */
#ifndef RB_CORE_ENDIAN_H
#define RB_CORE_ENDIAN_H

#include <stdint.h>

static inline uint16_t rb_get_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t rb_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t rb_get_be64(const uint8_t *p)
{
    return (uint64_t)rb_get_be32(p) << 32 | rb_get_be32(p + 4);
}

static inline void rb_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void rb_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void rb_put_be64(uint8_t *p, uint64_t v)
{
    rb_put_be32(p, (uint32_t)(v >> 32));
    rb_put_be32(p + 4, (uint32_t)v);
}

#endif
