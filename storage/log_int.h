/*
 * storage/log_int.h - the partition log's private state, shared by log.c
 * (open, recovery, roll, close), log_write.c (append, flush) and log_read.c (reads).
 * Internal to storage/: nothing outside storage/ includes it.
 *
 * Tail buffers ("chunks"): the active segment's bytes from chunks[0].pos up to its
 * logical size live in memory, in chunk_bytes buffers covering consecutive file
 * ranges (chunks[i].pos = chunks[0].pos + i * chunk_bytes, chunks[0].pos 4 KiB
 * aligned). Bytes in a chunk past the logical size are zero until appended.
 * Invariants:
 *   - everything below chunks[0].pos (or below size when there is no chunk) is in
 *     the file (written; durable only up to durable_pos);
 *   - the chunk holding a partial last block is never freed, so no chunk at all
 *     means the size is a chunk boundary;
 *   - while a flush is in flight no chunk is freed or moved, and appends write only
 *     at or beyond the size the flush captured (fl_size), so the bytes being written
 *     below fl_size never change.
 */
#ifndef RB_STORAGE_LOG_INT_H
#define RB_STORAGE_LOG_INT_H

#include "storage/log.h"
#include "storage/segment.h"

#include <sys/uio.h>

#define RB_LOG_CLEAN_MARKER ".ringbroker-clean-shutdown"

struct rb_chunk {
    uint8_t *buf; /* chunk_bytes, 4 KiB aligned */
    uint64_t pos; /* file position of buf[0] */
};

struct rb_log {
    char *dir;
    struct rb_log_config cfg;
    struct rb_disk disk;

    struct rb_segment *segs; /* ascending base offsets; the last one is active */
    int n_segs, cap_segs;
    int rd_open_seg; /* inactive segment whose rd_fd is open (-1: none) */

    int64_t start_offset, end_offset, durable_end;
    uint64_t durable_pos; /* bytes of the active segment written and synced */
    /* Written (the O_DIRECT write completed) but maybe not synced yet: equal to the
     * durable pair unless write-only flushes ran (relaxed flush.messages/flush.ms).
     * durable_pos <= written_pos <= size, durable_end <= written_end <= end_offset. */
    int64_t written_end;
    uint64_t written_pos;

    struct rb_chunk *chunks;
    int n_chunks, cap_chunks;
    uint8_t *spare_chunk; /* one freed buffer kept for the next allocation */

    bool offline, flushing;
    bool fl_sync; /* this flush ends with an fdatasync (else: write-only) */
    struct rb_disk_op wop, sop;
    struct iovec *iov;
    int iov_cap;
    int fl_fd;
    uint64_t fl_next, fl_end; /* block-aligned range still to write */
    uint64_t fl_want;         /* bytes of the writev in flight */
    uint64_t fl_size;         /* segment size this flush makes durable */
    int64_t fl_offset;        /* end offset this flush makes durable */
    rb_log_flush_cb fl_cb;
    void *fl_arg;
};

static inline struct rb_segment *rb_log_active(struct rb_log *log)
{
    return &log->segs[log->n_segs - 1];
}

/* log_write.c */
int rb_log_chunk_add(struct rb_log *log, uint64_t pos);
void rb_log_chunks_free(struct rb_log *log);
/* Fill iov (at most max entries) with chunk memory covering [from, to); returns the
 * count and the bytes covered in *bytes (may stop early when max is reached). */
int rb_log_build_iov(struct rb_log *log, uint64_t from, uint64_t to, struct iovec *iov, int max,
                     uint64_t *bytes);
void rb_log_set_offline(struct rb_log *log, int err, const char *what);

/* log.c: close the active segment and start a new one at end_offset. Requires no
 * flush in flight and nothing dirty. Blocking. */
int rb_log_roll(struct rb_log *log, int64_t now_ms);

#endif
