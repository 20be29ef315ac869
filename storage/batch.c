/*
 * storage/batch.c - RecordBatch (magic 2) header parsing, in-place validation,
 * record-level (deep) checks and CRC-32C.
 *
 * Owns: the rules a batch must satisfy before the log accepts it from a producer.
 * Invariants: nothing here writes to the batch; every read is bounded by len.
 * Fault model: the bytes come from the network (or from a possibly torn segment
 * file); any value is possible, so every failure is a status, never an assertion.
 *
 * CRC: ISA-L's crc32_iscsi(buf, len, seed) computes the reflected Castagnoli CRC
 * without the final inversion. The standard CRC-32C is crc32_iscsi(buf, len, ~0) ^ ~0,
 * so rb_crc32c(crc, ...) seeds with ~crc and inverts the result: starting from 0 gives
 * the standard value and feeding a result back in continues the same CRC.
 */
#include "storage/batch.h"

#include "core/endian.h"
#include "core/rb.h"

#include <isa-l/crc.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

_Static_assert(RB_BATCH_HEADER_BYTES == 61, "RecordBatch v2 header is 61 bytes");
_Static_assert(RB_BATCH_OFF_ATTRIBUTES == RB_BATCH_OFF_CRC + 4, "CRC precedes attributes");

/* batchLength covers partitionLeaderEpoch .. end: at least the rest of the header. */
#define BATCH_LENGTH_MIN ((int32_t)(RB_BATCH_HEADER_BYTES - RB_BATCH_LOG_OVERHEAD))

uint32_t rb_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint32_t c = ~crc;

    while (len > 0) {
        size_t n = RB_MIN(len, (size_t)(1u << 30)); /* crc32_iscsi takes an int length */
        c = crc32_iscsi((unsigned char *)p, (int)n, c);
        p += n;
        len -= n;
    }
    return ~c;
}

enum rb_batch_status rb_batch_parse(const uint8_t *p, size_t len, struct rb_batch_info *out)
{
    memset(out, 0, sizeof(*out));
    /* v0/v1 message sets also keep magic at byte 16: name them as a bad magic. */
    if (len <= RB_BATCH_OFF_MAGIC)
        return RB_BATCH_TRUNCATED;
    out->magic = (int8_t)p[RB_BATCH_OFF_MAGIC];
    if (out->magic != 2)
        return RB_BATCH_BAD_MAGIC;
    if (len < RB_BATCH_HEADER_BYTES)
        return RB_BATCH_TRUNCATED;

    out->base_offset = (int64_t)rb_get_be64(p + 0);
    out->batch_length = (int32_t)rb_get_be32(p + 8);
    out->leader_epoch = (int32_t)rb_get_be32(p + 12);
    out->crc = rb_get_be32(p + 17);
    out->attributes = (int16_t)rb_get_be16(p + 21);
    out->last_offset_delta = (int32_t)rb_get_be32(p + 23);
    out->base_timestamp = (int64_t)rb_get_be64(p + 27);
    out->max_timestamp = (int64_t)rb_get_be64(p + 35);
    out->producer_id = (int64_t)rb_get_be64(p + 43);
    out->producer_epoch = (int16_t)rb_get_be16(p + 51);
    out->base_sequence = (int32_t)rb_get_be32(p + 53);
    out->record_count = (int32_t)rb_get_be32(p + 57);

    if (out->batch_length < BATCH_LENGTH_MIN ||
        (uint64_t)out->batch_length > (uint64_t)INT32_MAX - RB_BATCH_LOG_OVERHEAD)
        return RB_BATCH_BAD_LENGTH;
    if ((uint64_t)RB_BATCH_LOG_OVERHEAD + (uint64_t)out->batch_length > len)
        return RB_BATCH_TRUNCATED;
    return RB_BATCH_OK;
}

enum rb_batch_status rb_batch_validate(const uint8_t *p, size_t len, struct rb_batch_info *out)
{
    enum rb_batch_status st = rb_batch_parse(p, len, out);
    if (st != RB_BATCH_OK)
        return st;

    size_t total = rb_batch_total_bytes(out);
    uint32_t crc = rb_crc32c(0, p + RB_BATCH_OFF_ATTRIBUTES, total - RB_BATCH_OFF_ATTRIBUTES);
    if (crc != out->crc)
        return RB_BATCH_BAD_CRC;

    if (out->last_offset_delta < 0 || out->record_count <= 0 ||
        (int64_t)out->record_count != (int64_t)out->last_offset_delta + 1)
        return RB_BATCH_INVALID;
    if (out->attributes & RB_BATCH_ATTR_CONTROL)
        return RB_BATCH_INVALID;
    if (out->producer_id >= 0 && out->base_sequence < 0)
        return RB_BATCH_INVALID;
    if (out->max_timestamp != -1 && out->max_timestamp < out->base_timestamp)
        return RB_BATCH_INVALID;
    return RB_BATCH_OK;
}

/* Kafka's zigzag varlong (at most 10 bytes); false when it runs past end. */
static bool rd_varlong_slow(const uint8_t **p, const uint8_t *end, int64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return true;
        }
    }
    return false;
}

/* Most varints in a record are one or two bytes (a 100-byte value's length is
 * two): decode those inline. */
static inline __attribute__((always_inline)) bool rd_varlong(const uint8_t **p, const uint8_t *end,
                                                             int64_t *out)
{
    const uint8_t *q = *p;
    if (end - q >= 2) {
        uint64_t v = q[0];
        if (!(v & 0x80)) {
            *p = q + 1;
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return true;
        }
        if (!(q[1] & 0x80)) {
            v = (v & 0x7f) | (uint64_t)q[1] << 7;
            *p = q + 2;
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return true;
        }
    }
    return rd_varlong_slow(p, end, out);
}

/* Kafka's zigzag varint: at most 5 bytes and 32 bits. */
static inline __attribute__((always_inline)) bool rd_varint(const uint8_t **p, const uint8_t *end,
                                                            int32_t *out)
{
    const uint8_t *start = *p;
    int64_t v;
    if (!rd_varlong(p, end, &v) || *p - start > 5 || v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = (int32_t)v;
    return true;
}

/* A length-prefixed byte string; -1 (null) allowed when nullable. */
static inline __attribute__((always_inline)) bool skip_bytes(const uint8_t **p, const uint8_t *end,
                                                             bool nullable)
{
    int32_t n;
    if (!rd_varint(p, end, &n))
        return false;
    if (n < 0)
        return nullable && n == -1;
    if (n > end - *p)
        return false;
    *p += n;
    return true;
}

/* One record's body r..rend (after its length); offset delta must be want_delta. */
static bool check_record(const uint8_t *r, const uint8_t *rend, int32_t want_delta,
                         int64_t *ts_delta)
{
    int32_t off_delta, n_headers;
    r++; /* attributes: unused in v2 */
    if (!rd_varlong(&r, rend, ts_delta) || !rd_varint(&r, rend, &off_delta) ||
        off_delta != want_delta)
        return false;
    if (!skip_bytes(&r, rend, true) || !skip_bytes(&r, rend, true)) /* key, value */
        return false;
    if (!rd_varint(&r, rend, &n_headers) || n_headers < 0 || n_headers > rend - r)
        return false;
    for (int32_t h = 0; h < n_headers; h++)
        if (!skip_bytes(&r, rend, false) || !skip_bytes(&r, rend, true))
            return false;
    return r == rend;
}

enum rb_batch_status rb_batch_check_records(const uint8_t *recs, size_t len,
                                            const struct rb_batch_info *bi, struct rb_ts_range *tsr)
{
    const uint8_t *p = recs, *end = recs + len;
    int64_t min = INT64_MAX, max = -1;
    for (int32_t i = 0; i < bi->record_count; i++) {
        int32_t size;
        if (!rd_varint(&p, end, &size) || size < 1 || size > end - p)
            return RB_BATCH_BAD_RECORD;
        int64_t ts_delta, ts;
        if (!check_record(p, p + size, i, &ts_delta) ||
            __builtin_add_overflow(bi->base_timestamp, ts_delta, &ts))
            return RB_BATCH_BAD_RECORD;
        max = RB_MAX(max, ts);
        if (ts != -1)
            min = RB_MIN(min, ts);
        p += size;
    }
    if (p != end || bi->record_count <= 0)
        return RB_BATCH_BAD_RECORD;
    if (tsr) {
        tsr->min = min;
        tsr->max = max;
    }
    return RB_BATCH_OK;
}

const char *rb_batch_status_str(enum rb_batch_status st)
{
    switch (st) {
    case RB_BATCH_OK:
        return "ok";
    case RB_BATCH_TRUNCATED:
        return "truncated";
    case RB_BATCH_BAD_LENGTH:
        return "bad batch length";
    case RB_BATCH_BAD_MAGIC:
        return "bad magic";
    case RB_BATCH_BAD_CRC:
        return "CRC mismatch";
    case RB_BATCH_INVALID:
        return "invalid header fields";
    case RB_BATCH_BAD_RECORD:
        return "malformed records";
    case RB_BATCH_BAD_COMPRESSION:
        return "records do not decompress";
    case RB_BATCH_TOO_LARGE:
        return "decompressed records too large";
    case RB_BATCH_BAD_CODEC:
        return "unknown compression codec";
    case RB_BATCH_NOMEM:
        return "out of memory";
    }
    return "unknown status";
}
