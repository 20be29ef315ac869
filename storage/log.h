/*
 * storage/log.h - one partition's log: Kafka's on-disk layout, O_DIRECT appends
 * through a struct rb_disk, group-commit flushes, reads by offset.
 *
 * Directory: <log.dir>/<topic>-<partition>/ holding
 *   <20-digit base offset>.log | .index | .timeindex  (Kafka's formats)
 * The owner (one shard) is the only thread that touches a log: no locks.
 *
 * Offsets:
 *   start_offset   first offset still in the log (log start offset)
 *   durable_end    every offset below it is written and fdatasync'd
 *   written_end    every offset below it is written (the O_DIRECT write
 *                  completed), maybe not synced yet; this is the high watermark
 *                  a standalone broker exposes to consumers. It equals
 *                  durable_end unless write-only flushes ran (rb_log_write_out,
 *                  used when flush.messages relaxes durability)
 *   end_offset     next offset to assign (log end offset); >= durable_end
 *
 * Write path: rb_log_append copies a validated batch into 4 KiB-aligned chunk
 * buffers and assigns offsets; rb_log_flush writes the dirty chunks (the partial
 * last block is rewritten by the next flush) and fdatasyncs the segment, then calls
 * back. Segment files are preallocated ahead of the write position so O_DIRECT
 * writes never extend them; the file is cut to its logical size on roll and close.
 * Preallocation growth, the next segment's file and the roll run in the background
 * on the disk (storage/log_seg.c): an append that needs them gets -ENOBUFS and is
 * retried from the next flush callback, which waits for that work.
 *
 * Faults: any failed or short write/sync takes the log offline (rb_log_offline);
 * it is never retried. Opening recovers: after an unclean shutdown every segment
 * from the one holding cfg.recovery_point (the last one when unknown) is scanned
 * batch by batch (length, CRC, offsets continuing) and cut at the first invalid
 * batch; an invalid batch below the recovery point is corruption: the log opens
 * offline (an ERROR names the file and position) and is never repaired.
 */
#ifndef RB_STORAGE_LOG_H
#define RB_STORAGE_LOG_H

#include "storage/batch.h"
#include "storage/disk.h"

#include <stdbool.h>
#include <stdint.h>

struct rb_log;

/* Kafka's lower bounds for segment.bytes and segment.index.bytes. A segment
 * smaller than a batch, or an index too small for one entry, holds one batch:
 * every append to a non-empty segment rolls it (as in Kafka). */
#define RB_LOG_SEGMENT_BYTES_MIN 14
#define RB_LOG_INDEX_BYTES_MIN   4

struct rb_log_config {
    uint64_t segment_bytes;        /* segment.bytes (default 1 GiB) */
    int64_t segment_ms;            /* segment.ms (default 7 days) */
    uint32_t index_interval_bytes; /* index.interval.bytes (default 4096) */
    uint32_t segment_index_bytes;  /* segment.index.bytes (default 10 MiB) */
    uint64_t prealloc_bytes;       /* log.preallocate.step.bytes: growth step (default 16 MiB) */
    uint32_t chunk_bytes;          /* log.chunk.bytes: write buffer unit (default 256 KiB) */
    uint32_t max_dirty_bytes;      /* appends beyond this unflushed amount get -ENOBUFS */
    bool log_append_time;          /* message.timestamp.type=LogAppendTime */
    int64_t retention_ms;          /* retention.ms (-1: forever) */
    int64_t retention_bytes;       /* retention.bytes (-1: unlimited) */
    /* From the log dir's checkpoints (-1: unknown). After an unclean shutdown the
     * segments from the one holding recovery_point on are validated; a bad batch
     * below recovery_point is corruption (the log opens offline). */
    int64_t recovery_point;
    int64_t log_start_offset;
    /* The high watermark from replication-offset-checkpoint (-1: unknown). The log
     * only carries it for its owner (part/isr.c), see rb_log_checkpoint_hw. */
    int64_t high_watermark;
    /* flush.messages / flush.ms (log.flush.interval.*): a policy the log only
     * carries for its owner (net/partition.c), which decides when to sync.
     * 1 / -1 (default): every acknowledged append is synced. */
    int64_t flush_messages;
    int64_t flush_ms;
    /* file.delete.delay.ms (log.segment.delete.delay.ms, default 60000): a segment
     * retention or DeleteRecords gave up is renamed to <file>.deleted and removed
     * (or recycled, log_seg.c) only this long after, so a read that still holds its
     * descriptor (a fetch handing it to a slow connection) never sees the file
     * reused. 0: removed (or recycled) at once. */
    int64_t file_delete_delay_ms;
    /* Set by a caller that opens many logs at startup and then syncs the whole file
     * system once (syncfs) before any of them takes an append: rb_log_open skips
     * its own fsync of the directory (index files it rewrote, snapshots and
     * .deleted files it removed). Default false. */
    bool defer_dir_sync;
};

void rb_log_config_defaults(struct rb_log_config *cfg);

/* Open (creating the directory when missing) and recover the log in dir.
 * Blocking: called at startup or topic creation, never per request. */
int rb_log_open(struct rb_log **out, const char *dir, const struct rb_log_config *cfg,
                struct rb_disk disk, int64_t now_ms);

/* A log that holds nothing and is offline from the start (its directory could
 * not be recovered): every call sees rb_log_offline. Never fails but for -ENOMEM. */
int rb_log_open_offline(struct rb_log **out, const char *dir, const struct rb_log_config *cfg);

/* Clean close: requires no flush in flight (and, in the broker, !rb_log_busy). Writes the indexes,
 * cuts the active segment to its logical size, syncs, frees. Blocking (shutdown only). */
void rb_log_close(struct rb_log *log);

/* Clean close of many logs at once (a shard's shutdown), the same end state as
 * rb_log_close on each, with a few syncfs per file system instead of ~8 fsyncs per
 * log: every log writes its dirty blocks, cuts its active segment and writes its
 * index files as .tmp (no fsync); syncfs; the .tmp files are renamed; syncfs; the
 * clean markers are created; syncfs. A marker is thus only ever durable after all
 * of its log is. The logs are left closed but not freed: rb_log_close frees them. */
typedef void (*rb_log_close_hook)(struct rb_log *log, void *arg);
/* publish runs for each log that closes cleanly between the first and the second
 * syncfs (its .tmp files are durable then): the owner renames its own files. */
void rb_log_close_batch(struct rb_log **logs, int n, rb_log_close_hook publish, void *arg);

/* Close and remove the directory and everything in it (topic deletion). */
int rb_log_destroy(struct rb_log *log);

/* Append one batch already checked by rb_batch_validate (bi describes it). Copies
 * it, assigns base_offset = end_offset, sets LogAppendTime if configured.
 * Returns 0, -ENOBUFS when max_dirty_bytes would be exceeded or a roll or
 * preallocation is pending (flush, then retry from its callback), -EIO when the log
 * is offline, -ENOSPC when preallocation found the disk full. */
int rb_log_append(struct rb_log *log, const uint8_t *batch, const struct rb_batch_info *bi,
                  int64_t now_ms, int64_t *base_offset_out);

/* A follower's append of a batch as its leader stored it (base_offset ==
 * end_offset, asserted): copied unchanged (no LogAppendTime stamp, the leader
 * epoch kept). Returns as rb_log_append. */
int rb_log_append_replica(struct rb_log *log, const uint8_t *batch, const struct rb_batch_info *bi,
                          int64_t now_ms);

bool rb_log_dirty(const struct rb_log *log);
bool rb_log_flushing(const struct rb_log *log);
/* A flush or background segment work (preallocation, next segment, roll) is in
 * flight: the owner must not close, drop or destroy the log until it is false. */
bool rb_log_busy(const struct rb_log *log);

/* Write and fdatasync everything appended so far. At most one flush per log in
 * flight (returns -EBUSY otherwise, -EIO when offline). cb runs once, later, with 0
 * (durable_end advanced) or -errno (the log is now offline). */
typedef void (*rb_log_flush_cb)(struct rb_log *log, int res, void *arg);
int rb_log_flush(struct rb_log *log, rb_log_flush_cb cb, void *arg);

/* Like rb_log_flush, but without the fdatasync: written_end advances once the
 * writes completed; durable_end does not move. Returns -EALREADY (and cb never
 * runs) when everything appended is already written. */
int rb_log_write_out(struct rb_log *log, rb_log_flush_cb cb, void *arg);
/* Appended but not yet written out (a write-only flush has work). */
bool rb_log_unwritten(const struct rb_log *log);

/* Segments a log gave up (retention, DeleteRecords) or whose delete delay passed:
 * their files still exist and must be renamed or removed with
 * rb_log_removed_unlink, off the shard (blocking renames and unlinks). */
enum rb_log_rm_kind {
    RB_RM_UNLINK,         /* unlink <base>.log/.index/.timeindex (file.delete.delay.ms 0) */
    RB_RM_RENAME_DELETED, /* rename each of them to <file>.deleted */
    RB_RM_UNLINK_DELETED, /* unlink the <file>.deleted names (the delay passed) */
};
#define RB_LOG_DELETED_SUFFIX ".deleted"
struct rb_log_removed {
    char *dir;
    int64_t *bases;
    int n;
    enum rb_log_rm_kind kind;
    bool keep_first_log; /* bases[0]'s .log is recycled as the next segment: not unlinked */
};

/* Retention and DeleteRecords: move the log start offset to new_start (ignored when
 * below it; -1: leave it) and drop whole segments that retention.ms (by their max
 * timestamp against now_wall_ms), retention.bytes or the start offset no longer
 * need. Never drops the active segment. Dropped segments are listed in *out (out->n
 * == 0 when none; caller owns it). Returns 0, -ERANGE when new_start is beyond
 * durable_end, -EIO offline, -ENOMEM. */
int rb_log_retain(struct rb_log *log, int64_t now_wall_ms, int64_t new_start,
                  struct rb_log_removed *out);
/* Segments given up at least file.delete.delay.ms before now_wall_ms (their files
 * are <file>.deleted by then): list them in *out (kind RB_RM_UNLINK_DELETED; out->n
 * == 0 when none; caller owns it). The oldest may be recycled as the next segment
 * instead (out->keep_first_log). Returns 0 or -ENOMEM (the rest waits). */
int rb_log_deleted_due(struct rb_log *log, int64_t now_wall_ms, struct rb_log_removed *out);
/* Apply r (see enum rb_log_rm_kind) to the removed segments' .log/.index/.timeindex
 * files, then free *r. Blocking: never on a shard. */
void rb_log_removed_unlink(struct rb_log_removed *r);
void rb_log_removed_free(struct rb_log_removed *r);

int64_t rb_log_start_offset(const struct rb_log *log);
int64_t rb_log_end_offset(const struct rb_log *log);
int64_t rb_log_durable_end(const struct rb_log *log);
int64_t rb_log_written_end(const struct rb_log *log);
/* cfg.high_watermark of the open, clamped to [log start, written end] now (Kafka
 * clamps the checkpointed high watermark the same way); -1 when unknown. */
int64_t rb_log_checkpoint_hw(const struct rb_log *log);
/* The flush.messages / flush.ms in effect (struct rb_log_config: from the open,
 * or the last rb_log_reconfigure). */
void rb_log_flush_policy(const struct rb_log *log, int64_t *messages, int64_t *ms);
/* An append was refused for a roll that needs the active segment durable: only a
 * syncing flush (rb_log_flush) lets it go on. Other refusals (room the background
 * work brings, the dirty budget) are served by write-only flushes too. */
bool rb_log_sync_wanted(const struct rb_log *log);
/* Live topic config change (AlterConfigs, dynamic broker defaults): take the
 * policy fields of cfg - segment.bytes/ms, segment.index.bytes,
 * index.interval.bytes, message.timestamp.type, retention.ms/bytes,
 * flush.messages/ms, file.delete.delay.ms (for segments given up from now on). Segment limits apply
 * from the next roll check (the active segment rolls once it is past the new size or age;
 * index.interval.bytes from the next segment); retention from the next rb_log_retain. The buffer
 * layout (chunk_bytes, max_dirty_bytes, prealloc_bytes) and the recovery fields are fixed at open
 * and ignored. Returns 0 or -EINVAL (nothing changed). */
int rb_log_reconfigure(struct rb_log *log, const struct rb_log_config *cfg);
bool rb_log_offline(const struct rb_log *log);

/* Opened from a clean close (or one empty segment: a new or never-written log)
 * and its files not changed since (nothing appended, rolled, dropped or opened
 * for writing; reads do not count): a clean close of it rewrites nothing (a
 * changed epoch file aside: rb_log_begin_epoch), and its producer state needs no
 * new snapshot. */
bool rb_log_untouched(const struct rb_log *log);
uint64_t rb_log_size_bytes(const struct rb_log *log);

/* Where the bytes of a read are: in memory (mem != NULL) or in a segment file (fd is
 * a buffered descriptor). Both are valid until the next call into this log or into
 * any log sharing its tail cache, and until the shard's next ring completion (a
 * flush completing elsewhere may evict cached chunks): dup() fd to keep it. */
struct rb_log_piece {
    const uint8_t *mem;
    int fd;
    uint64_t file_pos;
    uint32_t len;
    /* file pieces: the segment's bytes below `final` are written and not rewritten
     * while the log's truncation count (`gen`) stays the same (a reader may keep
     * what it read ahead of the piece up to there, keyed by gen) */
    uint64_t final;
    uint32_t gen;
};

#define RB_LOG_SLICE_PIECES 32
struct rb_log_slice {
    struct rb_log_piece piece[RB_LOG_SLICE_PIECES];
    int n;
    uint32_t bytes;
};

/* Locate whole batches starting with the batch that contains offset, below
 * upto_offset (exclusive; usually durable_end), totalling at most max_bytes - except
 * that when min_one is set the first batch is returned whole even if larger.
 * Stays within one segment. Returns 0 (slice may be empty when offset ==
 * upto_offset), -ERANGE when offset is outside [start_offset, upto_offset], -EIO
 * when offline or a read failed. */
int rb_log_read(struct rb_log *log, int64_t offset, int64_t upto_offset, uint32_t max_bytes,
                bool min_one, struct rb_log_slice *out);

/* Use the shard's tail cache (storage/tail_cache.h; NULL: none): chunks written out
 * stay in memory under its budget. Set once, before the first append. */
struct rb_tail_cache;
void rb_log_set_tail_cache(struct rb_log *log, struct rb_tail_cache *tc);

/* A read of this log's file failed (bytes handed out by rb_log_read could not be
 * read back): the log goes offline, like after a failed write. */
void rb_log_read_failed(struct rb_log *log, int err);

/* Copy helper: rb_log_read into buf (cap bytes), reading file pieces with pread. */
int rb_log_read_copy(struct rb_log *log, int64_t offset, int64_t upto_offset, uint32_t max_bytes,
                     bool min_one, uint8_t *buf, uint32_t cap, uint32_t *len_out);

/* ListOffsets by timestamp: the first offset whose batch max timestamp >= ts, and
 * that timestamp. Returns 0, or -ENOENT when no such batch (Kafka answers -1). */
int rb_log_offset_for_time(struct rb_log *log, int64_t ts, int64_t *offset, int64_t *timestamp);

/* storage/log_epoch.c - leader epochs (storage/epoch_cache.h). Every appended
 * batch's partitionLeaderEpoch enters the log's epoch cache; a leader sets the
 * epoch to stamp into the batches it appends (-1: keep what each batch carries,
 * as a follower does with the leader's batches). */
void rb_log_set_stamp_epoch(struct rb_log *log, int32_t epoch);
/* A leader taking over at epoch: the epoch starts at the log end offset, before
 * its first batch (Kafka's new leader does the same), so the old epoch's end is
 * known at once. Ignored when epoch is not newer than the latest. 0 or -ENOMEM. */
int rb_log_begin_epoch(struct rb_log *log, int32_t epoch);
/* A new log's leader-epoch-checkpoint written now when its cache changed (.tmp,
 * then the rename), not synced: its creator syncs the file system before the
 * metadata names the log, as for the log's other new files (coord/
 * standalone_admin.c), so the first clean close has nothing to write. 0 or -errno
 * (the cache stays changed: the close or a checkpoint report writes it). */
int rb_log_epochs_save_nosync(struct rb_log *log);
/* For the periodic checkpoint report (owner): a copy of the epoch cache when it
 * changed since the last report (1; *out to rb_epoch_cache_write into dir, then
 * free), else 0; -ENOMEM (reported next time). Written before the recovery point
 * the same report carries, the file then holds every epoch starting below that
 * point: an open after a crash walks batch headers only from there. */
struct rb_epoch_cache;
int rb_log_epochs_report(struct rb_log *log, struct rb_epoch_cache *out, const char **dir);
/* The latest epoch in the log (-1: none) and where it starts (-1). */
int32_t rb_log_latest_epoch(const struct rb_log *log, int64_t *start);
/* The epoch of the batch holding offset (-1: unknown), as ListOffsets answers. */
int32_t rb_log_epoch_for_offset(const struct rb_log *log, int64_t offset);
/* OffsetForLeaderEpoch (storage/epoch_cache.h): the end of epoch against the log
 * end offset. */
void rb_log_epoch_end_offset(const struct rb_log *log, int32_t epoch, int32_t *epoch_out,
                             int64_t *end_out);

/* storage/log_trunc.c - cut the log's end (a follower diverging from its new
 * leader): everything from the batch holding offset on is removed (the log end
 * becomes that batch's base; offset at or above the log end: only epochs begun at
 * the log end without a batch go, as Kafka's truncateTo), with
 * later segments, index entries and epochs, durably, before it returns. Blocking
 * (a few unlinks, an ftruncate and fsyncs). Requires everything appended to be
 * written and no flush or segment work in flight: -EAGAIN otherwise (flush, then
 * call again). -ERANGE when offset is below the log start, -EIO offline (also
 * after a failure midway: the log goes offline). Crash-atomic: an intent file
 * written first makes the next open complete a truncation a crash cut short, so
 * the log recovers to before or after it. */
int rb_log_truncate_to(struct rb_log *log, int64_t offset);

/* storage/log_time.c - record precision for ListOffsets. Compressed batches are
 * decompressed in c (storage/compress.h, the owner shard's scratch); with c NULL
 * they are answered at batch precision.
 * MAX_TIMESTAMP (-3): the first record carrying the largest timestamp, if it is
 * below upto_offset. Returns 0, or -ENOENT when the log has no timestamped record
 * there (Kafka answers -1/-1), -EIO when offline or a read failed. */
struct rb_codec_ctx;
int rb_log_max_timestamp(struct rb_log *log, struct rb_codec_ctx *c, int64_t upto_offset,
                         int64_t *offset, int64_t *timestamp);
/* In the batch holding batch_offset (below upto_offset): the first record at or
 * after the log start offset with timestamp >= ts, and that record's timestamp
 * (LogAppendTime: the batch timestamp). Returns 0, -ENOENT when its records cannot be read or none
 * is late enough, -ERANGE / -EIO as rb_log_read. */
int rb_log_record_at_time(struct rb_log *log, struct rb_codec_ctx *c, int64_t batch_offset,
                          int64_t upto_offset, int64_t ts, int64_t *offset, int64_t *timestamp);
/* How many rb_log_record_at_time calls read (and maybe decompressed) a batch; a
 * repeat of the last question is answered from memory and not counted. */
uint64_t rb_log_time_reads(const struct rb_log *log);

/* rb_log_record_at_time in three steps, so that the decompression can run off the
 * owner shard (part/vthread.c): rb_log_time_read on the owner (the memo, or the
 * candidate batch's bytes read, no decompression), rb_log_time_scan anywhere (a
 * pure function of q's bytes and a codec context), rb_log_time_finish on the owner
 * (keeps the answer in the memo and frees the bytes). */
struct rb_log_tlookup {
    /* the question (rb_log_time_read sets it) */
    bool codec; /* record precision inside compressed batches */
    int64_t batch_offset, upto_offset, ts;
    int64_t min_offset; /* the log start offset when the batch was read */
    uint32_t gen;       /* the log's memo generation then (a truncation moves it) */
    /* the batch (malloc'd; rb_log_time_finish frees it) */
    uint8_t *buf;
    uint32_t len;
    /* the answer: err 0 (offset, timestamp), -ENOENT, -ERANGE, -EIO, -ENOMEM */
    int err;
    int64_t offset, timestamp;
};
/* Returns 0: q is answered (memo, offline, nothing to read; finish is a no-op
 * for it), 1: q->buf holds the batch, scan it (with a codec context when
 * q->codec). */
int rb_log_time_read(struct rb_log *log, bool codec, int64_t batch_offset, int64_t upto_offset,
                     int64_t ts, struct rb_log_tlookup *q);
/* The first record of q's batch at or after q->min_offset with timestamp >=
 * q->ts, decompressing at most cap bytes (RB_DECOMP_CAP_MIN at most) in c: sets
 * q->err and the answer and returns 0, or returns -EMSGSIZE (q untouched) when the
 * records decompress to more than a cap below RB_DECOMP_CAP_MIN: scan again with
 * a larger one. Any thread; c NULL (or !q->codec): batch precision. */
int rb_log_time_scan(struct rb_codec_ctx *c, struct rb_log_tlookup *q, size_t cap);
/* Keep q's answer in the log's memo when the log is still as it was read (log
 * NULL: the partition went meanwhile, only free) and free q's bytes. */
void rb_log_time_finish(struct rb_log *log, struct rb_log_tlookup *q);
/* MAX_TIMESTAMP's candidate: the batch holding the first record of the largest
 * timestamp (*batch_offset, *ts), below upto_offset. 0, -ENOENT, -EIO (offline). */
int rb_log_max_ts_batch(struct rb_log *log, int64_t upto_offset, int64_t *batch_offset,
                        int64_t *ts);

#endif
