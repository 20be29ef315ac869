/*
 * storage/batch.h - Kafka RecordBatch (magic 2) header parsing and in-place
 * validation, and CRC-32C.
 *
 * Layout (big-endian), 61-byte header then records:
 *   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32
 *   16 magic int8 | 17 crc uint32 | 21 attributes int16 | 23 lastOffsetDelta int32
 *   27 baseTimestamp int64 | 35 maxTimestamp int64 | 43 producerId int64
 *   51 producerEpoch int16 | 53 baseSequence int32 | 57 recordCount int32
 * batchLength counts the bytes after the batchLength field (total = 12 + batchLength).
 * The CRC (Castagnoli) covers attributes .. end of batch, so rewriting baseOffset or
 * partitionLeaderEpoch does not change it.
 */
#ifndef RB_STORAGE_BATCH_H
#define RB_STORAGE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RB_BATCH_HEADER_BYTES     61u
#define RB_BATCH_LOG_OVERHEAD     12u /* baseOffset + batchLength */
#define RB_BATCH_OFF_BASE_OFFSET  0
#define RB_BATCH_OFF_LENGTH       8
#define RB_BATCH_OFF_LEADER_EPOCH 12
#define RB_BATCH_OFF_MAGIC        16
#define RB_BATCH_OFF_CRC          17
#define RB_BATCH_OFF_ATTRIBUTES   21
#define RB_BATCH_OFF_MAX_TS       35

#define RB_BATCH_ATTR_COMPRESSION_MASK 0x07
#define RB_BATCH_ATTR_TIMESTAMP_TYPE   0x08 /* 1 = LogAppendTime */
#define RB_BATCH_ATTR_TRANSACTIONAL    0x10
#define RB_BATCH_ATTR_CONTROL          0x20

enum rb_batch_status {
    RB_BATCH_OK = 0,
    RB_BATCH_TRUNCATED,  /* fewer bytes than the header or batchLength says */
    RB_BATCH_BAD_LENGTH, /* batchLength below the header size or above the limit */
    RB_BATCH_BAD_MAGIC,  /* magic != 2 */
    RB_BATCH_BAD_CRC,    /* CRC-32C mismatch */
    RB_BATCH_INVALID,    /* header fields inconsistent (counts, sequence, control) */
    /* deep validation (rb_batch_check_records, storage/compress.h) */
    RB_BATCH_BAD_RECORD,      /* inner records malformed or not matching the header */
    RB_BATCH_BAD_COMPRESSION, /* records do not decompress with the batch's codec */
    RB_BATCH_TOO_LARGE,       /* decompressed records over the cap */
    RB_BATCH_BAD_CODEC,       /* codec bits 5..7 */
    RB_BATCH_NOMEM,           /* out of memory while validating */
};

struct rb_batch_info {
    int64_t base_offset;
    int32_t batch_length; /* as on the wire; total bytes = 12 + batch_length */
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
};

static inline uint32_t rb_batch_total_bytes(const struct rb_batch_info *bi)
{
    return RB_BATCH_LOG_OVERHEAD + (uint32_t)bi->batch_length;
}

/* CRC-32C (Castagnoli). Start with crc = 0; pass the previous result to continue. */
uint32_t rb_crc32c(uint32_t crc, const void *buf, size_t len);

/* Parse the fixed header of the batch at p (len bytes available). Checks only that
 * the header is present, magic == 2 and batchLength is plausible (>= 49, and the
 * whole batch fits in len). No CRC. */
enum rb_batch_status rb_batch_parse(const uint8_t *p, size_t len, struct rb_batch_info *out);

/* Full in-place validation of one batch as a producer sends it: rb_batch_parse, then
 * CRC, record_count == last_offset_delta + 1 > 0, no control batch, base_sequence >= 0
 * when producer_id >= 0, max_timestamp >= base_timestamp or -1. */
enum rb_batch_status rb_batch_validate(const uint8_t *p, size_t len, struct rb_batch_info *out);

/* Record timestamps of a batch (base_timestamp + delta): min over the records
 * whose timestamp is not -1 (INT64_MAX when none), max over all of them (-1 at
 * least), as Kafka's LogValidator and batch rebuild see them. */
struct rb_ts_range {
    int64_t min, max;
};

/* Deep check of a batch's (decompressed) records recs[0..len) against its header
 * bi, as Kafka's LogValidator iterates them: exactly record_count records filling
 * len; each record's length varint matches the fields it holds (attributes,
 * timestamp delta, offset delta, key, value, headers); offset deltas are 0..n-1 in
 * order; key/value lengths are -1 or fit; header count and header key lengths are
 * >= 0, header value lengths -1 or fit; timestamps do not overflow. Returns
 * RB_BATCH_OK or RB_BATCH_BAD_RECORD; *ts (may be NULL) gets the timestamp range. */
enum rb_batch_status rb_batch_check_records(const uint8_t *recs, size_t len,
                                            const struct rb_batch_info *bi, struct rb_ts_range *ts);

/* Human-readable name of a status, for logs. */
const char *rb_batch_status_str(enum rb_batch_status st);

#endif
