/*
 * storage/index.h - one segment's sparse offset index and time index, in memory,
 * and their files in Kafka's formats:
 *   <base>.index      8-byte entries: int32 relative offset, int32 file position
 *   <base>.timeindex 12-byte entries: int64 timestamp, int32 relative offset
 * all big-endian. Entries are added by Kafka's rule: after more than
 * index_interval_bytes of batches since the last entry, the next batch gets an
 * offset entry (its last offset, its position) and, when the segment's max timestamp
 * grew, a time entry (that max timestamp, the offset of the batch that carried it).
 * Internal to storage/.
 */
#ifndef RB_STORAGE_INDEX_H
#define RB_STORAGE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RB_INDEX_ENTRY_BYTES     8u
#define RB_TIMEINDEX_ENTRY_BYTES 12u

struct rb_index_entry {
    uint32_t rel_offset;
    uint32_t pos;
};

struct rb_time_entry {
    int64_t ts;
    uint32_t rel_offset;
};

struct rb_seg_index {
    struct rb_index_entry *off;
    uint32_t n_off, cap_off;
    struct rb_time_entry *time;
    uint32_t n_time, cap_time;
    uint32_t bytes_since_entry;
    uint32_t interval_bytes;
};

void rb_index_init(struct rb_seg_index *idx, uint32_t interval_bytes);
void rb_index_free(struct rb_seg_index *idx);
void rb_index_reset(struct rb_seg_index *idx);

/* Account one batch of batch_bytes at pos whose last offset is rel_last; max_ts and
 * rel_max are the segment's max timestamp so far and the offset that carried it.
 * Returns 0 or -ENOMEM (the index then just stays sparser). */
int rb_index_on_batch(struct rb_seg_index *idx, uint32_t rel_last, uint32_t pos,
                      uint32_t batch_bytes, int64_t max_ts, uint32_t rel_max);

/* Make the last time entry carry the segment's max timestamp (done at roll). */
int rb_index_finish(struct rb_seg_index *idx, int64_t max_ts, uint32_t rel_max);

/* File position to start scanning from for rel_offset: that of the last entry whose
 * offset is <= rel_offset, else 0. */
uint32_t rb_index_lookup(const struct rb_seg_index *idx, uint32_t rel_offset);

/* Relative offset after which the first batch with max timestamp >= ts can be: the
 * offset of the last time entry whose timestamp is < ts, +1; 0 when none. */
uint32_t rb_index_lookup_time(const struct rb_seg_index *idx, int64_t ts);

/* Largest timestamp the time index knows (-1 when it is empty). */
int64_t rb_index_max_ts(const struct rb_seg_index *idx, uint32_t *rel_out);

/* Bytes the .index file would take (segment.index.bytes check). */
uint64_t rb_index_file_bytes(const struct rb_seg_index *idx);

/* The .index (time_index false) or .timeindex file's bytes, in a malloc'd *buf
 * (*len bytes; free it). Returns 0 or -ENOMEM. */
int rb_index_encode(const struct rb_seg_index *idx, bool time_index, uint8_t **buf, size_t *len);

/* Write both files (tmp + fsync + rename). Blocking: open and close only (a live
 * log writes them in the background, storage/log_seg.c). */
int rb_index_write(const struct rb_seg_index *idx, const char *dir, int64_t base_offset);
/* Batched clean close (storage/log.c): write both files as <name>.tmp without fsync;
 * after the caller made them durable (syncfs), rb_index_publish_tmp renames them over
 * the real names. A crash in between leaves the old files or none (hints only). */
int rb_index_write_tmp(const struct rb_seg_index *idx, const char *dir, int64_t base_offset);
int rb_index_publish_tmp(const char *dir, int64_t base_offset);

/* Load both files; -ENOENT when missing, -EINVAL when they are not plausible for a
 * segment of seg_bytes bytes (the caller then rebuilds by scanning). */
int rb_index_load(struct rb_seg_index *idx, const char *dir, int64_t base_offset,
                  uint64_t seg_bytes);

/* Remove both files (ignores missing ones). */
void rb_index_unlink(const char *dir, int64_t base_offset);

#endif
