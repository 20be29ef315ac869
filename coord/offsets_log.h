/*
 * coord/offsets_log.h - the records of the internal topic __consumer_offsets in
 * Kafka's formats, uncompressed RecordBatch (magic 2) building, and a records
 * iterator over uncompressed batches (used to load the topic at startup).
 *
 * Key (int16 version prefix, then the fields):
 *   versions 0/1 OffsetCommitKey {group string, topic string, partition int32}
 *   version  2   GroupMetadataKey {group string}
 * Value: OffsetCommitValue version 3 {offset int64, leaderEpoch int32, metadata
 * string, commitTimestamp int64} (versions 0-3 are read; 1 adds expireTimestamp,
 * which is ignored); a null value is a tombstone (the offset was deleted).
 * GroupMetadataValue version 3 {protocolType string, generation int32, protocol
 * string?, leader string?, currentStateTimestamp int64, members [memberId string,
 * groupInstanceId string?, clientId string, clientHost string, rebalanceTimeout
 * int32, sessionTimeout int32, subscription bytes, assignment bytes]} (versions
 * 0-4 are read: 1 adds rebalanceTimeout, 2 currentStateTimestamp, 3
 * groupInstanceId, 4 is the flexible form); a null value deletes the group.
 * Fault model: everything read back is untrusted (a corrupt or foreign record is
 * skipped, never trusted for lengths).
 */
#ifndef RB_COORD_OFFSETS_LOG_H
#define RB_COORD_OFFSETS_LOG_H

#include "coord/group.h"
#include "core/wire.h"

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

/* Append a group metadata key (version 2) / value (version 3, from g) to w. */
void rb_gmetakey_write(struct rb_writer *w, const char *group);
void rb_gmeta_write(struct rb_writer *w, const struct rb_group *g);
/* Decode a group metadata value (versions 0-4) into out; the strings live in
 * *pool and out->members until rb_gmeta_free (call it whatever the result).
 * Returns 0 or -EBADMSG. */
int rb_gmeta_decode(const uint8_t *value, int32_t len, struct rb_gmeta *out, char **pool);
void rb_gmeta_free(struct rb_gmeta *meta, char *pool);

/* Build one uncompressed v2 batch (base offset 0, CRC set) of n records into w. */
void rb_orec_batch_build(struct rb_writer *w, const struct rb_orec *recs, int n, int64_t now_ms);

/* Call fn for every record of the uncompressed batches in buf[0..len) (a trailing
 * partial batch is ignored). Compressed and control batches are skipped. Returns
 * the bytes consumed (whole batches), or -EBADMSG for a corrupt batch. */
typedef void (*rb_orec_fn)(void *arg, const uint8_t *key, int32_t key_len, const uint8_t *value,
                           int32_t value_len);
int64_t rb_orec_iterate(const uint8_t *buf, size_t len, rb_orec_fn fn, void *arg);

/* Apply one __consumer_offsets record to the groups of mgr (offsets and group
 * metadata; tombstones delete). Returns 0 or -EBADMSG. Sets mgr->loading while
 * it runs (no records are written back). */
int rb_orec_apply(struct rb_group_mgr *mgr, const uint8_t *key, int32_t key_len,
                  const uint8_t *value, int32_t value_len);

#endif
