/*
 * storage/log_int.h - the partition log's private state, shared by log.c
 * (open, recovery, roll, close), log_write.c (append, flush) and log_read.c (reads).
 * Internal to storage/: nothing outside storage/ includes it.
 *
 * Tail buffers ("chunks"): the active segment's bytes from chunks[0]->pos up to its
 * logical size live in memory, in chunk_bytes buffers covering consecutive file
 * ranges (chunks[i]->pos = chunks[0]->pos + i * chunk_bytes, chunks[0]->pos 4 KiB
 * aligned). Bytes in a chunk past the logical size are zero until appended.
 * The first n_cached chunks are entirely written out and sit in the shard's tail
 * cache (storage/tail_cache.h), which may evict them, oldest (lowest) first, at any
 * flush completion of any log of the shard. Without a cache they are freed as
 * soon as they are written. At a roll the chunks stay with the segment that was
 * active (rb_segment.kc, all cached) until the cache evicts them, so a consumer
 * a segment or more behind still reads memory; a log's cached chunks are evicted
 * in file order across its segments. Retention, truncation and close free them.
 * Invariants:
 *   - everything below chunks[0].pos (or below size when there is no chunk) is in
 *     the file (written; durable only up to durable_pos);
 *   - the chunk holding a partial last block is never freed, so no chunk at all
 *     means the size is a chunk boundary;
 *   - while a flush is in flight no chunk at or above written_pos is freed (only
 *     cached ones, below it, may be evicted), and appends write only
 *     at or beyond the size the flush captured (fl_size), so the bytes being written
 *     below fl_size never change.
 */
#ifndef RB_STORAGE_LOG_INT_H
#define RB_STORAGE_LOG_INT_H

#include "storage/epoch_cache.h"
#include "storage/log.h"
#include "storage/segment.h"
#include "storage/tail_cache.h"

#include <sys/uio.h>

#define RB_LOG_CLEAN_MARKER ".ringbroker-clean-shutdown"

/* Background segment work (storage/log_seg.c), one step at a time on log->bop. */
enum rb_log_bg {
    RB_BG_IDLE,
    RB_BG_FALLOC,    /* growing gr_*: fallocate in flight */
    RB_BG_ZERO,      /* growing gr_*: zero writes in flight */
    RB_BG_RECYCLE,   /* renaming a dropped segment's file to the next-segment file */
    RB_BG_OPEN,      /* opening (creating) the next-segment file */
    RB_BG_TRUNC,     /* roll: cutting the old segment to its size */
    RB_BG_SYNC,      /* roll: fdatasync of the old segment */
    RB_BG_RENAME,    /* roll: next-segment file -> <base>.log */
    RB_BG_DIR_OPEN,  /* roll: opening the directory */
    RB_BG_DIR_SYNC,  /* roll: fdatasync of the directory */
    RB_BG_IX_OPEN,   /* rolled segment's index file: creating <file>.tmp */
    RB_BG_IX_WRITE,  /* ... writing it */
    RB_BG_IX_SYNC,   /* ... fdatasync */
    RB_BG_IX_RENAME, /* ... <file>.tmp -> <file> */
};

/* A segment retention gave up, its files renamed to <file>.deleted (log_retain.c),
 * waiting for file.delete.delay.ms. */
struct rb_log_del {
    int64_t base;
    int64_t due_ms; /* wall clock: removed (or recycled) from then on */
};

/* The next segment's file, prepared ahead under RB_LOG_NEXT_NAME. */
struct rb_log_next {
    int fd; /* -1: none */
    bool direct;
    bool ready;            /* open and preallocated: a roll may use it */
    uint64_t prealloc_end; /* allocated and written (zeros or stale bytes) up to here */
};

struct rb_log {
    char *dir;
    struct rb_log_config cfg;
    struct rb_disk disk;

    struct rb_segment *segs; /* ascending base offsets; the last one is active */
    int n_segs, cap_segs;
    int rd_open_seg;    /* inactive segment whose rd_fd is open (-1: none) */
    uint32_t trunc_gen; /* truncations (rb_log_truncate_to) so far: rb_log_piece.gen */

    int64_t start_offset, end_offset, durable_end;
    uint64_t durable_pos; /* bytes of the active segment written and synced */
    /* Written (the O_DIRECT write completed) but maybe not synced yet: equal to the
     * durable pair unless write-only flushes ran (relaxed flush.messages/flush.ms).
     * durable_pos <= written_pos <= size, durable_end <= written_end <= end_offset. */
    int64_t written_end;
    uint64_t written_pos;

    struct rb_chunk **chunks;
    int n_chunks, cap_chunks;
    int n_cached;                 /* chunks[0..n_cached) are in the tail cache */
    struct rb_tail_cache *cache;  /* the shard's (NULL: none) */
    struct rb_chunk *spare_chunk; /* without a cache: one freed chunk kept for reuse */
    int n_kept_segs;              /* inactive segments holding kept chunks (segment.h kc) */

    bool offline, flushing;
    /* opened_clean: open found the clean marker (no scan, indexes loaded as they
     * were), or the log is one empty segment without a marker (new, or never
     * written: nothing to scan or index, log.c). touched: the files may since differ from what open
     * found (an append, the active segment opened for writing, a roll, a retention drop). A log
     * opened clean and never touched closes without rewriting anything
     * (rb_log_untouched, log_close.c). */
    bool opened_clean, touched;
    /* The producer snapshots (their offsets) open's listing saw, so that
     * rb_pstate_recover needs no listing of its own; taken (and freed) by it. */
    int64_t *snaps;
    int n_snaps;
    bool snaps_listed;
    bool fl_sync; /* this flush ends with an fdatasync (else: write-only) */
    struct rb_disk_op wop, sop;
    struct iovec *iov;
    int iov_cap;
    int fl_fd;
    uint64_t fl_next, fl_end; /* block-aligned range still to write */
    uint64_t fl_want;         /* bytes of the writev in flight */
    uint64_t fl_size;         /* segment size this flush makes durable */
    int64_t fl_offset;        /* end offset this flush makes durable */
    int64_t fl_seg_base;      /* base offset of the segment the flush writes */
    rb_log_flush_cb fl_cb;
    void *fl_arg;
    bool fl_held; /* the flush is done but its callback waits for the background work */

    /* background segment work (log_seg.c) */
    enum rb_log_bg bg;
    struct rb_disk_op bop;
    bool room_wait;   /* an append was refused until the background work finishes */
    bool nospc;       /* the last growth found the disk full (told to one append) */
    bool ahead_nospc; /* a growth ahead found it full: none ahead until an append grows */
    bool roll_sync;   /* a roll was refused until the active segment is durable */
    int close_err;    /* batched clean close (rb_log_close_batch): first error, 1 = done */
    bool gr_next;     /* the growth in flight is for next (else the active segment) */
    int gr_fd;
    uint64_t gr_from, gr_to, gr_min; /* growing [gr_from, gr_to); gr_to >= gr_min */
    uint64_t gr_zero, gr_want;       /* zero writes: next position, bytes in flight */
    struct iovec gr_iov[16];
    struct rb_log_next next;
    int64_t recycle_base;   /* a dropped segment whose .log may become next (-1: none) */
    struct rb_log_del *del; /* given-up segments waiting for their delete delay */
    int n_del, cap_del;
    int64_t roll_base;
    int dir_fd;
    char *next_path; /* <dir>/RB_LOG_NEXT_NAME */
    char *roll_path; /* rename source / target of the step in flight */
    /* index files of a rolled segment, written in the background */
    int64_t ix_base; /* the segment (-1: none pending) */
    bool ix_time;    /* writing .timeindex (else .index) */
    int ix_fd;
    uint8_t *ix_buf;
    size_t ix_len, ix_done;
    struct iovec ix_iov;
    char *ix_tmp; /* <file>.tmp */
    /* The last answer of rb_log_record_at_time (log_time.c), keyed by everything it
     * depends on: a request naming one partition many times, or many requests
     * asking the same, read and decompress its batch once. */
    struct {
        bool valid;
        /* the question (min_offset: the log start then) and its answer; no bytes */
        struct rb_log_tlookup q;
    } tq;
    uint64_t tq_lookups; /* lookups that read the log (not answered by tq) */
    uint32_t tq_gen;     /* moved when tq is invalidated (a truncation) */
    /* leader epochs (log_epoch.c): which epoch started where; the epoch stamped
     * into appended batches (-1: kept as the batch carries it) */
    struct rb_epoch_cache epochs;
    uint64_t epochs_reported; /* epochs.gen at the last rb_log_epochs_report */
    bool epochs_tmp;          /* a batched close wrote the file's .tmp (log_close.c) */
    int32_t stamp_epoch;
};

static inline struct rb_segment *rb_log_active(struct rb_log *log)
{
    return &log->segs[log->n_segs - 1];
}

/* log_write.c */
int rb_log_chunk_add(struct rb_log *log, uint64_t pos);
/* Zero the chunk bytes from the active segment's size to the end of its block,
 * so a write of that partial last block carries zeros past the data, not what an
 * earlier use of the buffer left there (chunks are not zeroed when taken). */
void rb_log_zero_pad(struct rb_log *log);
/* Every chunk: the active segment's and those the inactive ones kept. */
void rb_log_chunks_free(struct rb_log *log);
/* An inactive segment's kept chunks (before it is dropped or freed). */
void rb_log_seg_chunks_free(struct rb_log *log, struct rb_segment *seg);
/* Roll: the active segment (all written) keeps its chunks in the tail cache, so
 * a consumer behind the roll still reads them from memory; without a cache they
 * are freed. The log has no active chunks after it. */
void rb_log_chunks_keep(struct rb_log *log);
/* The tail cache evicts c, the log's oldest cached chunk: the first kept chunk of
 * its lowest segment that has any, else its active segment's first chunk. */
void rb_log_chunk_evict(struct rb_log *log, struct rb_chunk *c);
/* Fill iov (at most max entries) with chunk memory covering [from, to); returns the
 * count and the bytes covered in *bytes (may stop early when max is reached). */
int rb_log_build_iov(struct rb_log *log, uint64_t from, uint64_t to, struct iovec *iov, int max,
                     uint64_t *bytes);
void rb_log_set_offline(struct rb_log *log, int err, const char *what);

/* log_seg.c: background segment work (see there). */
#define RB_LOG_NEXT_NAME ".next-segment.prealloc"
/* Room in the active segment's preallocation for bytes up to need: 0, or -ENOBUFS
 * after starting the growth (the refused append is retried once it is done: the
 * flush callback waits for it), or -ENOSPC once after a growth found the disk full. */
int rb_log_seg_room(struct rb_log *log, uint64_t need);
/* A roll is due: start it (or the next segment's preparation it needs). Returns
 * -ENOBUFS (retry after the next flush callback) or -EIO offline. */
int rb_log_seg_roll(struct rb_log *log);
/* After an append: grow ahead, prepare the next segment when the active one is half
 * full. Never fails (the work is retried by later appends). */
void rb_log_seg_ahead(struct rb_log *log);
/* The flush that just finished must hold its callback until the background work
 * completes (an append waits for it). */
bool rb_log_seg_hold_flush(struct rb_log *log);
/* Paths and descriptors of the background state (open / free). */
int rb_log_seg_init(struct rb_log *log);
void rb_log_seg_free(struct rb_log *log);
/* Retention dropped the segment with this base: start renaming its .log (with
 * deleted: its <base>.log.deleted, whose delete delay passed) to the next-segment
 * file. false: not now (the caller unlinks it as usual). */
bool rb_log_seg_recycle(struct rb_log *log, int64_t base, bool deleted);
/* The index files of the segment with this base are being written: retention
 * keeps it until they are. */
bool rb_log_seg_indexing(const struct rb_log *log, int64_t base);
/* log.c: append a new (inactive, empty) segment to log->segs. */
int rb_log_segs_push(struct rb_log *log, int64_t base);
/* log_epoch.c: load the epoch cache at open (after the segments: blocking);
 * save it when changed (blocking; a failure is logged); stamp the epoch into an
 * appended batch's header copy and assign it at base (0 or -ENOMEM, unchanged). */
int rb_log_epochs_load(struct rb_log *log, bool clean);
int rb_log_epochs_save(struct rb_log *log);
/* The same in a batched close's two phases: the .tmp (no sync), then, after the
 * caller's syncfs, the rename (a failure is logged and returned). */
int rb_log_epochs_save_tmp(struct rb_log *log);
int rb_log_epochs_publish(struct rb_log *log);
int rb_log_epoch_stamp(struct rb_log *log, uint8_t *hdr, int64_t base);
/* log_trunc.c: a truncation a crash cut short (its intent file is there) is
 * completed at open, before the epochs load. 0, or the log is offline. */
#define RB_LOG_TRUNC_INTENT ".ringbroker-truncate-to"
int rb_log_trunc_resume(struct rb_log *log);
/* log.c: the active segment ready for appends (its partial last block in a chunk). */
int rb_log_activate(struct rb_log *log, bool create);
/* <dir>/RB_LOG_CLEAN_MARKER into buf (log.c; used by log_close.c). */
int rb_log_marker_path(char *buf, size_t cap, const char *dir);
/* log.c: (re)write the clean marker naming the active segment and its size, no
 * sync (the caller syncs). 0 or -errno. */
int rb_log_marker_write(struct rb_log *log);

#endif
