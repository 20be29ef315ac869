/*
 * storage/producer_state.h - one partition's idempotent-producer table: for each
 * producer id its epoch and the metadata of its last RB_PSTATE_BATCHES appended
 * batches (first/last sequence, offsets), used to deduplicate retried batches and
 * to detect sequence gaps and fenced epochs, with Kafka's rules:
 *
 *   - a batch whose (epoch, first seq, last seq) equals a retained batch is a
 *     duplicate: the caller answers with the retained offsets and appends nothing;
 *   - unknown producer (or none with a known epoch): any sequence is accepted
 *     (Kafka since KIP-360: state may have been lost to retention);
 *   - epoch below the producer's: stale (Kafka answers INVALID_PRODUCER_EPOCH);
 *   - epoch above it: the batch must start at sequence 0;
 *   - same epoch: first seq == last seq + 1, wrapping INT32_MAX -> 0.
 *
 * Persistence: a snapshot file "<20-digit offset>.rbsnap" in the partition
 * directory holds the table as of that log offset (everything appended below the
 * offset). Recovery loads the newest snapshot not beyond the log end and replays
 * batch headers from its offset (or from the log start) to the log end: the
 * header carries producerId/epoch/baseSequence, no record is decoded.
 *
 * Snapshot format (big-endian), ours (not Kafka's .snapshot, so Kafka tools do not
 * misread it):
 *   "RBPS" | version u16 = 1 | offset i64 | count u32 |
 *   count x { producer_id i64 | epoch i16 | n u8 | last_ms i64 |
 *             n x { first_seq i32 | last_seq i32 | first_offset i64 |
 *                   offset_delta i32 | max_ts i64 } } |
 *   crc32c u32 of every byte before it
 * Written tmp + fsync + rename + fsync(dir); older snapshots are then removed.
 *
 * Threads: owned by the partition's shard, no locks. Memory: one malloc per new
 * producer id (never per batch); entries not used for expire_ms are dropped
 * when a snapshot is taken or loaded (Kafka's producer.id.expiration.ms).
 * Fault model: snapshot files are untrusted (bad magic/CRC/length -> ignored,
 * state rebuilt from the log); log bytes below the end were validated by the
 * log's recovery, a header that does not parse is reported (-EUCLEAN).
 */
#ifndef RB_STORAGE_PRODUCER_STATE_H
#define RB_STORAGE_PRODUCER_STATE_H

#include "storage/batch.h"

#include <stdint.h>

#define RB_PSTATE_BATCHES  5
#define RB_PSTATE_SNAP_EXT ".rbsnap"

struct rb_pstate;
struct rb_log;

enum rb_pstate_verdict {
    RB_PSTATE_APPEND = 0,   /* append it, then rb_pstate_update */
    RB_PSTATE_DUPLICATE,    /* already in the log: answer with dup offsets */
    RB_PSTATE_OUT_OF_ORDER, /* sequence gap, or new epoch not starting at 0 */
    RB_PSTATE_STALE_EPOCH,  /* epoch older than the producer's */
};

struct rb_pstate_dup {
    int64_t first_offset;
    int64_t last_offset;
};

struct rb_pstate *rb_pstate_new(void);
void rb_pstate_free(struct rb_pstate *ps);
uint32_t rb_pstate_count(const struct rb_pstate *ps);

/* Last sequence of a batch of count records starting at base_seq (wraps). */
int32_t rb_pstate_last_seq(int32_t base_seq, int32_t last_offset_delta);

/* Decide what to do with batch bi before appending it. For producer ids >= 0 it
 * makes sure an entry exists (so rb_pstate_update cannot fail). Returns a verdict
 * (>= 0; dup filled for RB_PSTATE_DUPLICATE) or -ENOMEM. Batches without a
 * producer id are always RB_PSTATE_APPEND. */
int rb_pstate_check(struct rb_pstate *ps, const struct rb_batch_info *bi,
                    struct rb_pstate_dup *dup);

/* Record batch bi appended at base_offset (after rb_pstate_check said APPEND and
 * the log accepted it). now_ms feeds expiry. No-op without a producer id. */
void rb_pstate_update(struct rb_pstate *ps, const struct rb_batch_info *bi, int64_t base_offset,
                      int64_t now_ms);

/* Drop producers last used before cutoff_ms. */
void rb_pstate_expire(struct rb_pstate *ps, int64_t cutoff_ms);

/* Write the snapshot for offset into dir (see the format above) and remove older
 * ones. Blocking. 0 or -errno. */
int rb_pstate_snapshot_write(struct rb_pstate *ps, const char *dir, int64_t offset);

/* Load snapshot file path into ps (replacing its content): 0, -EINVAL for a bad
 * file, -errno. *offset_out gets the snapshot's offset. */
int rb_pstate_snapshot_read(struct rb_pstate *ps, const char *path, int64_t *offset_out);

/* Rebuild ps for a log just opened: newest valid snapshot at or below the log end
 * offset, then batch headers from there to the end; snapshots beyond the end are
 * removed (the log lost that tail). Expires producers idle since cutoff_ms.
 * Blocking (startup / adoption). 0 or -errno (ps is then empty). */
int rb_pstate_recover(struct rb_pstate *ps, struct rb_log *log, int64_t cutoff_ms);

/* Snapshot ps into log's directory at its end offset (clean close). */
int rb_pstate_snapshot_log(struct rb_pstate *ps, struct rb_log *log);

/* The same in three steps for a batched clean close (rb_log_close_batch): write
 * the .tmp file unsynced; once it is durable rename it; once that is durable
 * remove the older snapshots. */
int rb_pstate_snapshot_log_tmp(struct rb_pstate *ps, struct rb_log *log);
int rb_pstate_snapshot_log_publish(struct rb_log *log);
void rb_pstate_snapshot_log_prune(struct rb_log *log);

#endif
