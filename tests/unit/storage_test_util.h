/*
 * tests/unit/storage_test_util.h - builds Kafka RecordBatch v2 byte strings by hand
 * for the storage tests (test_batch.c, test_log.c), straight from the format:
 * a 61-byte big-endian header, then records whose fields are zigzag varints:
 *   length, attributes(int8), timestampDelta, offsetDelta, keyLength, key,
 *   valueLength, value, headerCount, [headerKeyLength, key, headerValueLength, value]
 * The CRC-32C covers attributes .. end of batch.
 */
#ifndef RB_TESTS_STORAGE_TEST_UTIL_H
#define RB_TESTS_STORAGE_TEST_UTIL_H

#include "core/endian.h"
#include "storage/batch.h"

#include <stdint.h>
#include <string.h>

static inline size_t tu_varint(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (z >= 0x80) {
        p[n++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    p[n++] = (uint8_t)z;
    return n;
}

/* One record: key may be NULL (length -1); one header "h" = "x" when with_header. */
static inline size_t tu_record(uint8_t *out, int64_t ts_delta, int32_t off_delta,
                               const uint8_t *key, int32_t key_len, const uint8_t *val,
                               int32_t val_len, int with_header)
{
    uint8_t body[70000];
    size_t n = 0;
    body[n++] = 0; /* attributes */
    n += tu_varint(body + n, ts_delta);
    n += tu_varint(body + n, off_delta);
    n += tu_varint(body + n, key ? key_len : -1);
    if (key) {
        memcpy(body + n, key, (size_t)key_len);
        n += (size_t)key_len;
    }
    n += tu_varint(body + n, val_len);
    memcpy(body + n, val, (size_t)val_len);
    n += (size_t)val_len;
    n += tu_varint(body + n, with_header ? 1 : 0);
    if (with_header) {
        n += tu_varint(body + n, 1);
        body[n++] = 'h';
        n += tu_varint(body + n, 1);
        body[n++] = 'x';
    }
    size_t h = tu_varint(out, (int64_t)n);
    memcpy(out + h, body, n);
    return h + n;
}

static inline void tu_fix_crc(uint8_t *b)
{
    uint32_t total =
        12 + ((uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11]);
    rb_put_be32(b + RB_BATCH_OFF_CRC,
                rb_crc32c(0, b + RB_BATCH_OFF_ATTRIBUTES, total - RB_BATCH_OFF_ATTRIBUTES));
}

struct tu_batch_spec {
    int nrec;
    int64_t base_ts; /* record i has timestamp base_ts + i */
    int64_t producer_id;
    int32_t base_seq;
    int16_t attributes;
    uint32_t value_bytes; /* per record; contents derived from seed */
    uint32_t seed;
};

/* Build a batch into out (large enough); returns its total size. */
static inline size_t tu_build(uint8_t *out, const struct tu_batch_spec *s)
{
    size_t n = RB_BATCH_HEADER_BYTES;
    uint8_t val[65536];
    for (int i = 0; i < s->nrec; i++) {
        for (uint32_t j = 0; j < s->value_bytes; j++)
            val[j] = (uint8_t)(s->seed * 31 + (uint32_t)i * 7 + j);
        uint8_t key[8];
        rb_put_be32(key, s->seed);
        rb_put_be32(key + 4, (uint32_t)i);
        n += tu_record(out + n, i, i, (i % 2) ? NULL : key, 8, val, (int32_t)s->value_bytes,
                       i % 3 == 0);
    }
    rb_put_be64(out + 0, 0);
    rb_put_be32(out + 8, (uint32_t)(n - 12));
    rb_put_be32(out + 12, 0);
    out[16] = 2;
    rb_put_be16(out + 21, (uint16_t)s->attributes);
    rb_put_be32(out + 23, (uint32_t)(s->nrec - 1));
    rb_put_be64(out + 27, (uint64_t)s->base_ts);
    rb_put_be64(out + 35, (uint64_t)(s->base_ts + s->nrec - 1));
    rb_put_be64(out + 43, (uint64_t)s->producer_id);
    rb_put_be16(out + 51, 0);
    rb_put_be32(out + 53, (uint32_t)s->base_seq);
    rb_put_be32(out + 57, (uint32_t)s->nrec);
    tu_fix_crc(out);
    return n;
}

#endif
