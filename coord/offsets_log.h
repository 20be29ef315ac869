/*
 * coord/offsets_log.h - the records of the internal topic __consumer_offsets in
 * Kafka's formats, uncompressed RecordBatch (magic 2) building, and a records
 * iterator over uncompressed batches (used to load the topic at startup).
 *
 * Key (int16 version prefix, then the fields):
 *   versions 0/1 OffsetCommitKey {group string, topic string, partition int32}
 *   version  2   GroupMetadataKey {group string}
 * Value: OffsetCommitValue version 3 {offset int64, leaderEpoch int32, metadata
 * string, commitTimestamp int64} (versions 0-3 are read; 1 adds expireTimestamp);
 * a null value is a tombstone (the offset was deleted).
 * Fault model: everything read back is untrusted (a corrupt or foreign record is
 * skipped, never trusted for lengths).
 */
#ifndef RB_COORD_OFFSETS_LOG_H
#define RB_COORD_OFFSETS_LOG_H

#include "coord/group.h"
#include "net/wire.h"

#define RB_CONSUMER_OFFSETS "__consumer_offsets"

struct rb_orec { /* one record to write */
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value; /* NULL: tombstone */
    int32_t value_len;
};

/* Append an offset-commit key / value to w. */
void rb_offkey_write(struct rb_writer *w, const char *group, const char *topic, int32_t partition);
void rb_offval_write(struct rb_writer *w, int64_t offset, int32_t leader_epoch,
                     const char *metadata, int64_t commit_ts);

/* Build one uncompressed v2 batch (base offset 0, CRC set) of n records into w. */
void rb_orec_batch_build(struct rb_writer *w, const struct rb_orec *recs, int n, int64_t now_ms);

/* Call fn for every record of the uncompressed batches in buf[0..len) (a trailing
 * partial batch is ignored). Compressed and control batches are skipped. Returns
 * the bytes consumed (whole batches), or -EBADMSG for a corrupt batch. */
typedef void (*rb_orec_fn)(void *arg, const uint8_t *key, int32_t key_len, const uint8_t *value,
                           int32_t value_len);
int64_t rb_orec_iterate(const uint8_t *buf, size_t len, rb_orec_fn fn, void *arg);

/* Apply one __consumer_offsets record to the groups of mgr (offsets; tombstones
 * delete; group metadata records are ignored). Returns 0 or -EBADMSG. */
int rb_orec_apply(struct rb_group_mgr *mgr, const uint8_t *key, int32_t key_len,
                  const uint8_t *value, int32_t value_len);

#endif
