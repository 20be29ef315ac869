/*
 * storage/log_seg.c - a partition log's background segment work: growing the
 * active segment's preallocation ahead of the appends, preparing the next
 * segment's file, recycling a file retention gave up, and the segment roll. Every
 * step is an asynchronous operation on the log's struct rb_disk (the shard's
 * io_uring: FALLOCATE, O_DIRECT zero WRITEV, OPENAT, RENAMEAT, FTRUNCATE, FSYNC),
 * so a shard never blocks on fallocate, zeroing, file creation or rename.
 *
 * Owns: log->bg and the gr_*, next, roll_* fields (log_int.h); one step in flight
 * at a time on log->bop.
 *
 *   IDLE --grow--> FALLOC --> ZERO (1..n writevs) --> IDLE
 *   IDLE --prepare next--> [RECYCLE -->] OPEN --> (grow next) --> IDLE, next.ready
 *   IDLE --roll (old durable, next ready)--> TRUNC --> SYNC --> RENAME --> DIR_OPEN
 *        --> DIR_SYNC --> IDLE (the next file is the new active segment)
 *   IDLE --rolled segment's indexes--> (IX_OPEN --> IX_WRITE.. --> IX_SYNC -->
 *        IX_RENAME) for .index, then .timeindex --> IDLE
 *
 * Why zeroing: fallocate leaves unwritten extents; an O_DIRECT write into one
 * must convert it, which makes the following fdatasync commit the journal
 * (MACHINE.md: fdatasync after append ~120-170 us vs 44 us after an overwrite of
 * written blocks). Zero writes make the extents written, so appends overwrite.
 *
 * Lazy open: rb_log_open leaves the active segment without descriptors or
 * preallocation, so idle partitions cost neither descriptors nor disk. The first
 * append (or a roll due on a cold log) opens the write descriptor (act_open);
 * nothing grows while wr_fd is closed.
 *
 * Back-pressure: an append that needs room the background work brings (more
 * preallocation, a roll, the next segment) is refused with -ENOBUFS and sets
 * room_wait; the owner retries refused appends from its flush callback, and a
 * flush finishing while room_wait is set holds its callback (log->fl_held) until
 * the background work is idle. Appends never wait on a blocking call, and writes
 * only go below prealloc_end (never extend a file). Growth is geometric (64 KiB
 * doubling up to prealloc_bytes, capped at segment.bytes) and starts when less
 * than half a step is left; the next segment is prepared once the active one is
 * half full. On ENOSPC the growth halves its size down to what the waiting append
 * needs (the last step shrinks to what fits); when even that fails the waiting
 * append gets -ENOSPC, and a growth ahead that no append waited for stops
 * growing ahead until an append needs room (it does not refuse that append).
 *
 * Roll ordering (crash safety): the old segment is cut to its size and synced
 * before the next file gets its <base>.log name, and no append lands in the new
 * segment before that rename is synced, so after a crash every segment but the
 * last is trimmed (trusted by recovery). Its index files are written next, in the
 * background too (tmp + fdatasync + rename; retention keeps the segment meanwhile);
 * when that fails or a crash comes first, clean close writes them or the next open
 * rebuilds them by the header scan (index files are hints).
 *
 * Recycling: when a segment retention dropped is due for removal and no next file
 * exists, its .log is renamed to RB_LOG_NEXT_NAME (it is then not unlinked) and
 * reused: already allocated and written, so neither fallocate nor zeroing is
 * needed for its length. Due means file.delete.delay.ms after the drop (its file
 * waited as <base>.log.deleted, log_retain.c), so a fetch that took a descriptor
 * of it before the drop has long finished reading when new appends overwrite it;
 * with a delay of 0 the file is recycled at the drop. It holds stale batches of its old life past
 * whatever the new life writes. Why recovery can never take them for data: the new
 * segment is written from position 0 in whole 4 KiB blocks (bytes past the logical
 * size within a written block are zeros from the chunk buffers), and the
 * validating scan of the last segment (segment.c) accepts a batch only if its
 * base offset equals the offset the log expects next, its length fits and its
 * CRC32C matches. Every stale batch carries offsets below the old segment's end,
 * which is at most the log start offset and so below the new segment's base: a
 * stale batch boundary always fails offset continuity, and a torn new batch over
 * stale bytes fails its CRC. Only bytes inside a stale batch's payload, read at a
 * position where the crash cut the new data, could pass: they would have to hold a
 * well-formed v2 header with exactly the next expected offset and a matching CRC
 * over the claimed length - a chance of about 2^-32 even for crafted payloads (the
 * producer cannot know the file position or offset where a future crash will cut
 * the log). Offsets never go back in a log dir (DeleteRecords only moves the start
 * forward; a deleted topic's directory is removed), so this holds for every file
 * that can become RB_LOG_NEXT_NAME. A leftover next file from an earlier run (a
 * crash or close before its roll) holds only zeros or such stale bytes and is
 * reused the same way.
 *
 * Fault model: a failed step other than ENOSPC takes the log offline (like a
 * failed flush); a failed recycle rename only means a fresh file is created.
 */
#include "storage/log_int.h"

#include "core/logging.h"
#include "core/rb.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZERO_BYTES (1u << 20)

/* Source of every zero write (read-only; shared by all threads). */
static uint8_t zeros[ZERO_BYTES] __attribute__((aligned(RB_BLOCK_BYTES)));

static void bg_done(struct rb_disk_op *op, int res);
static void next_prepare(struct rb_log *log);
static bool ix_start(struct rb_log *log, bool time_index);

#define FIRST_STEP ((uint64_t)64 << 10) /* the first preallocation of an active segment */

static uint64_t seg_cap(const struct rb_log *log)
{
    return RB_ALIGN_UP(log->cfg.segment_bytes, (uint64_t)RB_BLOCK_BYTES);
}

/* Geometric growth: from FIRST_STEP up to the step, doubling, so a partition
 * written a little costs little disk (10,000 of them must fit) and a busy one
 * reaches full steps after a few growths. */
static uint64_t grow_step(const struct rb_log *log, uint64_t prealloc_end)
{
    return RB_MIN(log->cfg.prealloc_bytes, RB_MAX(FIRST_STEP, prealloc_end));
}

bool rb_log_busy(const struct rb_log *log)
{
    return log->flushing || log->bg != RB_BG_IDLE;
}

int rb_log_seg_init(struct rb_log *log)
{
    size_t len = strlen(log->dir) + 64;
    log->next.fd = -1;
    log->dir_fd = -1;
    log->ix_fd = -1;
    log->ix_base = -1;
    log->next_path = malloc(len);
    log->roll_path = malloc(len);
    log->ix_tmp = malloc(len + 8);
    if (!log->next_path || !log->roll_path || !log->ix_tmp)
        return -ENOMEM;
    snprintf(log->next_path, len, "%s/%s", log->dir, RB_LOG_NEXT_NAME);
    return 0;
}

void rb_log_seg_free(struct rb_log *log)
{
    if (log->next.fd >= 0)
        close(log->next.fd); /* the file stays: the next open reuses it */
    log->next.fd = -1;
    if (log->ix_fd >= 0)
        close(log->ix_fd);
    log->ix_fd = -1;
    free(log->ix_buf);
    free(log->next_path);
    free(log->roll_path);
    free(log->ix_tmp);
    log->ix_buf = NULL;
    log->next_path = log->roll_path = log->ix_tmp = NULL;
}

bool rb_log_sync_wanted(const struct rb_log *log)
{
    return log->roll_sync && log->durable_pos != log->segs[log->n_segs - 1].size;
}

bool rb_log_seg_hold_flush(struct rb_log *log)
{
    return log->room_wait && log->bg != RB_BG_IDLE;
}

/* The background work is idle: let the refused appends retry. */
static void bg_idle(struct rb_log *log)
{
    log->bg = RB_BG_IDLE;
    log->room_wait = false;
    if (log->fl_held) {
        log->fl_held = false;
        log->flushing = false;
        if (log->fl_cb)
            log->fl_cb(log, 0, log->fl_arg);
    }
}

static void bg_fail(struct rb_log *log, int err, const char *what)
{
    rb_log_set_offline(log, err, what);
    bg_idle(log);
}

/* ---- growth ---- */

static void grow_start(struct rb_log *log, bool for_next, uint64_t from, uint64_t to, uint64_t min)
{
    RB_ASSERT(to > from && min <= to);
    log->gr_next = for_next;
    log->gr_fd = for_next ? log->next.fd : rb_log_active(log)->wr_fd;
    log->gr_from = from;
    log->gr_to = to;
    /* whole blocks: a disk full shrinks the step down to gr_min, and the zero
     * writes over it go through O_DIRECT (an unaligned end: EINVAL, offline) */
    log->gr_min = RB_ALIGN_UP(RB_MAX(min, from + 1), (uint64_t)RB_BLOCK_BYTES);
    log->bg = RB_BG_FALLOC;
    log->bop.done = bg_done;
    log->disk.ops->fallocate(log->disk.ctx, log->gr_fd, from, to - from, &log->bop);
}

static void grow_finish(struct rb_log *log)
{
    log->ahead_nospc = false; /* there was room again */
    if (log->gr_next) {
        log->next.prealloc_end = log->gr_to;
        log->next.ready = true;
    } else {
        rb_log_active(log)->prealloc_end = log->gr_to;
    }
    bg_idle(log);
}

static void zero_next(struct rb_log *log)
{
    if (log->gr_zero >= log->gr_to) {
        grow_finish(log);
        return;
    }
    int n = 0;
    uint64_t pos = log->gr_zero;
    while (n < (int)RB_ARRAY_LEN(log->gr_iov) && pos < log->gr_to) {
        size_t len = (size_t)RB_MIN((uint64_t)ZERO_BYTES, log->gr_to - pos);
        log->gr_iov[n++] = (struct iovec){.iov_base = zeros, .iov_len = len};
        pos += len;
    }
    log->gr_want = pos - log->gr_zero;
    log->bg = RB_BG_ZERO;
    log->disk.ops->writev(log->disk.ctx, log->gr_fd, log->gr_iov, n, log->gr_zero, &log->bop);
}

/* Even the smallest step found the disk full. An append waiting for this growth
 * gets -ENOSPC (once: the next one tries again); a growth ahead that no append
 * waited for only stops growing ahead until an append needs room, which then
 * tries for itself: space may have come back by then. */
static void grow_nospc(struct rb_log *log)
{
    if (log->room_wait)
        log->nospc = true; /* the owner logs the refused append, once per episode */
    else
        log->ahead_nospc = true;
    bg_idle(log);
}

static void falloc_done(struct rb_log *log, int res)
{
    if (res == -ENOSPC && log->gr_to > log->gr_min) {
        /* Disk full: try half as much, down to what the waiting append needs, in
         * whole blocks (gr_from is unaligned after a truncation cut the file at a
         * batch: an unaligned end failed the O_DIRECT zero writes with EINVAL) */
        uint64_t to =
            RB_ALIGN_UP(log->gr_from + (log->gr_to - log->gr_from) / 2, (uint64_t)RB_BLOCK_BYTES);
        if (to >= log->gr_to)
            to = log->gr_to - RB_BLOCK_BYTES; /* gr_to and gr_min are whole blocks */
        log->gr_to = RB_MAX(log->gr_min, to);
        log->disk.ops->fallocate(log->disk.ctx, log->gr_fd, log->gr_from, log->gr_to - log->gr_from,
                                 &log->bop);
        return;
    }
    if (res == -ENOSPC) {
        grow_nospc(log);
        return;
    }
    if (res < 0 && res != -EOPNOTSUPP) { /* no fallocate here: zero writes allocate */
        bg_fail(log, res, "preallocation");
        return;
    }
    log->gr_zero = RB_ALIGN_UP(log->gr_from, (uint64_t)RB_BLOCK_BYTES);
    zero_next(log);
}

static void zero_done(struct rb_log *log, int res)
{
    if (res == -ENOSPC) { /* only without fallocate */
        grow_nospc(log);
        return;
    }
    if (res < 0 || (uint64_t)res != log->gr_want) {
        bg_fail(log, res < 0 ? res : -EIO, "preallocation (zero write)");
        return;
    }
    log->gr_zero += log->gr_want;
    zero_next(log);
}

/* ---- the active segment's write descriptor, opened on the first need ---- */

/* A cold log (nothing appended since open) has no write descriptor and nothing
 * preallocated. Its first append opens the file and fallocates the first step
 * without zeroing it, synchronously: one open and one metadata-only fallocate per
 * partition and life, like the read descriptor's open on the first read
 * (log_read.c), so the first append needs no extra loop turn; the zeroed growth
 * that follows is asynchronous as for every log. 0, -ENOSPC (the log stays usable:
 * the next append tries again), or -EIO with the log offline. */
static int act_open(struct rb_log *log, uint64_t reserve)
{
    struct rb_segment *seg = rb_log_active(log);
    log->touched = true;
    int err = rb_segment_open_lazy(seg, log->dir, reserve);
    if (err == -ENOSPC)
        return err;
    if (err) {
        rb_log_set_offline(log, err, "opening the active segment");
        return -EIO;
    }
    return 0;
}

int rb_log_seg_room(struct rb_log *log, uint64_t need)
{
    struct rb_segment *seg = rb_log_active(log);
    if (seg->wr_fd < 0) {
        int err = act_open(log, RB_MIN(FIRST_STEP, log->cfg.prealloc_bytes));
        if (err)
            return err;
    }
    if (need <= seg->prealloc_end)
        return 0;
    if (log->bg != RB_BG_IDLE) {
        log->room_wait = true;
        return -ENOBUFS;
    }
    if (log->nospc) {
        log->nospc = false; /* told once; the next append tries again */
        return -ENOSPC;
    }
    uint64_t from = seg->prealloc_end;
    uint64_t to = RB_MAX(need, RB_MIN(from + grow_step(log, from), seg_cap(log)));
    log->ahead_nospc = false;
    log->room_wait = true;
    grow_start(log, false, from, RB_ALIGN_UP(to, (uint64_t)RB_BLOCK_BYTES), need);
    return -ENOBUFS;
}

void rb_log_seg_ahead(struct rb_log *log)
{
    struct rb_segment *seg = rb_log_active(log);
    if (log->offline || log->bg != RB_BG_IDLE || log->nospc || log->ahead_nospc || seg->wr_fd < 0)
        return;
    uint64_t step = grow_step(log, seg->prealloc_end);
    if (seg->prealloc_end < seg_cap(log) && seg->size + step / 2 >= seg->prealloc_end) {
        uint64_t to = RB_MIN(seg->prealloc_end + step, seg_cap(log));
        grow_start(log, false, seg->prealloc_end, RB_ALIGN_UP(to, (uint64_t)RB_BLOCK_BYTES), 0);
        return;
    }
    if (log->ix_base >= 0 && ix_start(log, false))
        return;
    if (!log->next.ready && seg->size >= log->cfg.segment_bytes / 2)
        next_prepare(log);
}

/* ---- the next segment ---- */

/* The active segment's current step, at most a whole segment. */
static uint64_t next_want(struct rb_log *log)
{
    uint64_t step = grow_step(log, rb_log_active(log)->prealloc_end);
    return RB_ALIGN_UP(RB_MIN(step, seg_cap(log)), (uint64_t)RB_BLOCK_BYTES);
}

static void next_grow(struct rb_log *log)
{
    uint64_t want = next_want(log);
    if (log->next.prealloc_end >= want) {
        log->next.ready = true;
        if (log->bg != RB_BG_IDLE) /* never call back from inside an append */
            bg_idle(log);
        return;
    }
    grow_start(log, true, log->next.prealloc_end, want, 0);
}

static void next_open(struct rb_log *log)
{
    log->bg = RB_BG_OPEN;
    log->bop.done = bg_done;
    int flags = O_RDWR | O_CREAT | O_CLOEXEC | (log->next.direct ? O_DIRECT : 0);
    log->disk.ops->openat(log->disk.ctx, log->next_path, flags, 0644, &log->bop);
}

static void next_prepare(struct rb_log *log)
{
    RB_ASSERT(log->bg == RB_BG_IDLE);
    if (log->next.fd >= 0) {
        next_grow(log);
        return;
    }
    log->next.direct = true;
    next_open(log);
}

static void open_done(struct rb_log *log, int res)
{
    struct stat st;
    if (res == -EINVAL && log->next.direct) {
        RB_WARN("storage", "%s: O_DIRECT not supported here, using buffered writes", log->dir);
        log->next.direct = false;
        next_open(log);
        return;
    }
    if (res < 0) {
        bg_fail(log, res, "creating the next segment");
        return;
    }
    log->next.fd = res;
    log->next.ready = false;
    /* An existing file (recycled, or left by an earlier run) is allocated and
     * written up to its size. fstat of an open descriptor does not block. */
    if (fstat(res, &st) < 0) {
        bg_fail(log, -errno, "creating the next segment");
        return;
    }
    log->next.prealloc_end = RB_ALIGN_DOWN((uint64_t)st.st_size, (uint64_t)RB_BLOCK_BYTES);
    next_grow(log);
}

bool rb_log_seg_recycle(struct rb_log *log, int64_t base, bool deleted)
{
    if (log->offline || log->bg != RB_BG_IDLE || log->next.fd >= 0)
        return false;
    if (rb_segment_path(log->roll_path, strlen(log->dir) + 64, log->dir, base,
                        deleted ? ".log" RB_LOG_DELETED_SUFFIX : ".log"))
        return false;
    log->bg = RB_BG_RECYCLE;
    log->bop.done = bg_done;
    log->disk.ops->rename(log->disk.ctx, log->roll_path, log->next_path, &log->bop);
    return true;
}

static void recycle_done(struct rb_log *log, int res)
{
    if (res < 0) {
        RB_WARN("storage", "%s: cannot recycle %s: %s", log->dir, log->roll_path, strerror(-res));
        bg_idle(log);
        return;
    }
    RB_INFO("storage", "%s: recycling %s as the next segment", log->dir, log->roll_path);
    bg_idle(log); /* opened when the active segment is half full (rb_log_seg_ahead) */
}

/* ---- roll ---- */

int rb_log_seg_roll(struct rb_log *log)
{
    struct rb_segment *seg = rb_log_active(log);
    if (log->offline)
        return -EIO;
    log->touched = true;
    /* A roll seals a durable segment: flush first (the caller retries). */
    if (log->flushing || log->durable_pos != seg->size) {
        log->roll_sync = true;
        return -ENOBUFS;
    }
    log->roll_sync = false;
    if (log->bg != RB_BG_IDLE) {
        log->room_wait = true;
        return -ENOBUFS;
    }
    if (seg->wr_fd < 0) { /* a roll due on a cold log: it truncates through wr_fd */
        int err = act_open(log, 0);
        if (err)
            return err;
    }
    if (!log->next.ready && log->nospc) {
        log->nospc = false; /* told once; the next append tries again */
        return -ENOSPC;
    }
    log->room_wait = true;
    if (!log->next.ready) {
        next_prepare(log);
        return -ENOBUFS;
    }
    log->roll_base = log->end_offset;
    log->bg = RB_BG_TRUNC;
    log->bop.done = bg_done;
    log->disk.ops->ftruncate(log->disk.ctx, seg->wr_fd, seg->size, &log->bop);
    return -ENOBUFS;
}

static void roll_finish(struct rb_log *log)
{
    struct rb_segment *old = rb_log_active(log);
    rb_log_chunks_keep(log); /* a consumer behind the roll still reads memory */
    (void)rb_index_finish(&old->idx, old->max_ts,
                          (uint32_t)(old->offset_of_max_ts - old->base_offset));
    rb_segment_close_fds(old);
    log->ix_base = old->base_offset; /* its index files: next in the background */
    int err = rb_log_segs_push(log, log->roll_base);
    if (err) {
        bg_fail(log, err, "segment roll");
        return;
    }
    struct rb_segment *seg = rb_log_active(log);
    seg->wr_fd = log->next.fd;
    seg->direct = log->next.direct;
    seg->prealloc_end = log->next.prealloc_end;
    log->next = (struct rb_log_next){.fd = -1};
    log->durable_pos = log->written_pos = 0;
    RB_INFO("storage", "%s: rolled new segment %020" PRId64, log->dir, log->roll_base);
    bg_idle(log);
}

static void roll_step(struct rb_log *log, int res)
{
    struct rb_segment *old = rb_log_active(log);
    if (res < 0) {
        if (log->bg == RB_BG_DIR_SYNC)
            close(log->dir_fd);
        bg_fail(log, res, "segment roll");
        return;
    }
    switch (log->bg) {
    case RB_BG_TRUNC:
        old->prealloc_end = old->size;
        log->bg = RB_BG_SYNC;
        log->disk.ops->fdatasync(log->disk.ctx, old->wr_fd, &log->bop);
        break;
    case RB_BG_SYNC:
        if (rb_segment_path(log->roll_path, strlen(log->dir) + 64, log->dir, log->roll_base,
                            ".log")) {
            bg_fail(log, -ENAMETOOLONG, "segment roll");
            return;
        }
        log->bg = RB_BG_RENAME;
        log->disk.ops->rename(log->disk.ctx, log->next_path, log->roll_path, &log->bop);
        break;
    case RB_BG_RENAME:
        log->bg = RB_BG_DIR_OPEN;
        log->disk.ops->openat(log->disk.ctx, log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                              &log->bop);
        break;
    case RB_BG_DIR_OPEN:
        log->dir_fd = res;
        log->bg = RB_BG_DIR_SYNC;
        log->disk.ops->fdatasync(log->disk.ctx, log->dir_fd, &log->bop);
        break;
    case RB_BG_DIR_SYNC:
        close(log->dir_fd); /* nothing dirty left: does not wait for the disk */
        log->dir_fd = -1;
        roll_finish(log);
        break;
    default:
        RB_ASSERT(!"roll step");
    }
}

/* ---- index files of a rolled segment ---- */

bool rb_log_seg_indexing(const struct rb_log *log, int64_t base)
{
    return log->ix_base == base && log->bg >= RB_BG_IX_OPEN;
}

static struct rb_segment *find_seg(struct rb_log *log, int64_t base)
{
    for (int i = log->n_segs - 2; i >= 0; i--) /* never the active one */
        if (log->segs[i].base_offset == base)
            return &log->segs[i];
    return NULL;
}

/* Start writing one index file of segment ix_base (tmp + fdatasync + rename, like
 * rb_index_write). false: nothing to do (the segment is gone or indexed). */
static bool ix_start(struct rb_log *log, bool time_index)
{
    struct rb_segment *seg = find_seg(log, log->ix_base);
    size_t cap = strlen(log->dir) + 64;
    if (!seg || !seg->index_stale ||
        rb_segment_path(log->roll_path, cap, log->dir, seg->base_offset,
                        time_index ? ".timeindex" : ".index") ||
        rb_index_encode(&seg->idx, time_index, &log->ix_buf, &log->ix_len)) {
        log->ix_base = -1; /* -ENOMEM: clean close writes it */
        return false;
    }
    snprintf(log->ix_tmp, cap + 8, "%s.tmp", log->roll_path);
    log->ix_time = time_index;
    log->ix_done = 0;
    log->bg = RB_BG_IX_OPEN;
    log->bop.done = bg_done;
    log->disk.ops->openat(log->disk.ctx, log->ix_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                          0644, &log->bop);
    return true;
}

static void ix_write(struct rb_log *log)
{
    if (log->ix_done == log->ix_len) {
        log->bg = RB_BG_IX_SYNC;
        log->disk.ops->fdatasync(log->disk.ctx, log->ix_fd, &log->bop);
        return;
    }
    log->ix_iov = (struct iovec){.iov_base = log->ix_buf + log->ix_done,
                                 .iov_len = log->ix_len - log->ix_done};
    log->bg = RB_BG_IX_WRITE;
    log->disk.ops->writev(log->disk.ctx, log->ix_fd, &log->ix_iov, 1, log->ix_done, &log->bop);
}

static void ix_step(struct rb_log *log, int res)
{
    if (res < 0 || (log->bg == RB_BG_IX_WRITE && res == 0)) {
        /* Index files are hints: clean close writes them again, or the next open
         * rebuilds them. The log stays online. */
        RB_WARN("storage", "%s: writing %s: %s", log->dir, log->ix_tmp,
                strerror(res < 0 ? -res : EIO));
        if (log->ix_fd >= 0)
            close(log->ix_fd);
        log->ix_fd = -1;
        free(log->ix_buf);
        log->ix_buf = NULL;
        log->ix_base = -1;
        bg_idle(log);
        return;
    }
    switch (log->bg) {
    case RB_BG_IX_OPEN:
        log->ix_fd = res;
        ix_write(log);
        break;
    case RB_BG_IX_WRITE:
        log->ix_done += (size_t)res;
        ix_write(log);
        break;
    case RB_BG_IX_SYNC:
        close(log->ix_fd); /* synced: does not wait for the disk */
        log->ix_fd = -1;
        log->bg = RB_BG_IX_RENAME;
        log->disk.ops->rename(log->disk.ctx, log->ix_tmp, log->roll_path, &log->bop);
        break;
    default: { /* RB_BG_IX_RENAME */
        free(log->ix_buf);
        log->ix_buf = NULL;
        log->bg = RB_BG_IDLE;
        if (!log->ix_time && ix_start(log, true))
            break;
        struct rb_segment *seg = find_seg(log, log->ix_base);
        if (seg)
            seg->index_stale = false;
        log->ix_base = -1;
        bg_idle(log);
        break;
    }
    }
}

static void bg_done(struct rb_disk_op *op, int res)
{
    struct rb_log *log = RB_CONTAINER_OF(op, struct rb_log, bop);
    switch (log->bg) {
    case RB_BG_FALLOC:
        falloc_done(log, res);
        break;
    case RB_BG_ZERO:
        zero_done(log, res);
        break;
    case RB_BG_RECYCLE:
        recycle_done(log, res);
        break;
    case RB_BG_OPEN:
        open_done(log, res);
        break;
    case RB_BG_IX_OPEN:
    case RB_BG_IX_WRITE:
    case RB_BG_IX_SYNC:
    case RB_BG_IX_RENAME:
        ix_step(log, res);
        break;
    default:
        roll_step(log, res);
        break;
    }
    /* Idle again: start what the appends will need next. */
    if (log->bg == RB_BG_IDLE)
        rb_log_seg_ahead(log);
}
