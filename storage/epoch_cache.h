/*
 * storage/epoch_cache.h - a partition's leader epoch cache: which leader epoch
 * started at which offset, in memory and in Kafka's leader-epoch-checkpoint file
 * in the partition directory:
 *   0\n<count>\n<epoch> <startOffset>\n...
 * (LeaderEpochCheckpointFile, version 0). Entries ascend in both epoch and start
 * offset. Kafka's rules: assign(epoch, offset) appends a newer epoch (an older or
 * equal epoch, or an offset below the latest start, first removes the entries it
 * conflicts with); truncation from the end (the log was cut) drops the entries
 * starting at or above the new end; truncation from the start (retention) drops
 * the entries wholly below the new start and moves the one holding it up to it.
 *
 * The memory part is plain data, touched by the log's owner only. Reading and
 * writing the file are blocking (open, close, truncation: never per request).
 * Fault model: the file is input; a torn or garbled file reads as -EINVAL (a
 * warning names the file and line) and the owner rebuilds from the log's batches.
 */
#ifndef RB_STORAGE_EPOCH_CACHE_H
#define RB_STORAGE_EPOCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RB_EPOCH_CKPT_NAME "leader-epoch-checkpoint"
#define RB_EPOCH_UNDEFINED (-1)

struct rb_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
};

struct rb_epoch_cache {
    struct rb_epoch_entry *e;
    int n, cap;
    bool dirty;   /* changed since the file was last written or read */
    uint64_t gen; /* counts changes */
};

void rb_epoch_cache_free(struct rb_epoch_cache *c);
void rb_epoch_cache_clear(struct rb_epoch_cache *c);

/* A batch of leader epoch epoch starts at offset. Negative epochs (-1: a batch
 * written without one) are ignored. Returns 0, or -ENOMEM (nothing changed). */
int rb_epoch_cache_assign(struct rb_epoch_cache *c, int32_t epoch, int64_t offset);
/* The latest epoch (RB_EPOCH_UNDEFINED when empty) and its start offset (-1). */
int32_t rb_epoch_cache_latest(const struct rb_epoch_cache *c, int64_t *start);
/* OffsetForLeaderEpoch: the end offset of epoch (the start of the next higher one,
 * log_end for the latest) and the largest epoch at or below it in *epoch_out.
 * Unknown (undefined, newer than the latest, empty cache): -1 / -1. Older than the
 * oldest: (epoch, the oldest's start), as Kafka answers. */
void rb_epoch_cache_end_offset(const struct rb_epoch_cache *c, int32_t epoch, int64_t log_end,
                               int32_t *epoch_out, int64_t *end_out);
/* The epoch of the batch holding offset: the latest entry starting at or below it
 * (RB_EPOCH_UNDEFINED when none). */
int32_t rb_epoch_cache_epoch_for(const struct rb_epoch_cache *c, int64_t offset);
/* The log now ends at end: drop entries starting at or above it. */
void rb_epoch_cache_truncate_end(struct rb_epoch_cache *c, int64_t end);
/* The log now starts at start: drop entries ending at or below it, move the one
 * holding it up to start. */
void rb_epoch_cache_truncate_start(struct rb_epoch_cache *c, int64_t start);

/* Kafka's text of the cache into buf (cap bytes); returns its length, or -ENOSPC. */
int rb_epoch_cache_format(const struct rb_epoch_cache *c, char *buf, size_t cap);
/* Parse Kafka's text (len bytes) into c (cleared first). -EINVAL when malformed,
 * with a warning naming what (what) and the line; -ENOMEM. */
int rb_epoch_cache_parse(struct rb_epoch_cache *c, const char *text, size_t len, const char *what);
/* <dir>/leader-epoch-checkpoint: read (-ENOENT missing, -EINVAL garbled, c then
 * empty) and write atomically (core/file.h; dirty cleared). */
int rb_epoch_cache_read(struct rb_epoch_cache *c, const char *dir);
int rb_epoch_cache_write(struct rb_epoch_cache *c, const char *dir);
/* The same in two steps, for a batched close: "<file>.tmp" written with no sync,
 * then (once the caller synced the file system) renamed over the file, dirty
 * cleared; the caller syncs again to make the rename durable. */
int rb_epoch_cache_write_tmp(const struct rb_epoch_cache *c, const char *dir);
int rb_epoch_cache_publish_tmp(struct rb_epoch_cache *c, const char *dir);

#endif
