/*
 * storage/segment.c - one segment's .log file: naming, descriptors, preallocation,
 * trimming and the batch-by-batch recovery scan (see segment.h).
 *
 * Owns: the segment's file descriptors and its in-memory index.
 * Invariants: size only ever covers whole batches; prealloc_end >= size once the
 * segment is active, and is 4 KiB aligned after any preallocation, so O_DIRECT
 * writes below it never extend the file; bytes below prealloc_end are never
 * rewritten by preallocation.
 * Fault model: file contents are untrusted. The last segment after a crash may end
 * in a torn batch, zeros (preallocation) or stale batches of an older life of the
 * file; the validating scan cuts the file at the first batch that is not a correct
 * continuation. Any header that does not parse in a trusted (closed) segment is
 * corruption and reported as -EUCLEAN, never skipped.
 */
#include "storage/segment.h"

#include "core/defect.h"
#include "core/logging.h"
#include "core/rb.h"
#include "storage/batch.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZERO_BUF_BYTES (1u << 20)

int rb_segment_path(char *buf, size_t cap, const char *dir, int64_t base_offset, const char *ext)
{
    int n = snprintf(buf, cap, "%s/%020" PRId64 "%s", dir, base_offset, ext);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

bool rb_segment_name_parse(const char *name, const char *ext, int64_t *offset)
{
    size_t el = strlen(ext);
    if (strlen(name) != 20 + el || strcmp(name + 20, ext) != 0)
        return false;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (name[i] - '0');
    }
    *offset = v;
    return true;
}

void rb_segment_init(struct rb_segment *seg, int64_t base_offset, uint32_t index_interval_bytes)
{
    memset(seg, 0, sizeof(*seg));
    seg->base_offset = base_offset;
    seg->end_offset = base_offset;
    seg->max_ts = -1;
    seg->offset_of_max_ts = base_offset;
    seg->first_append_ms = -1;
    seg->rd_fd = -1;
    seg->wr_fd = -1;
    rb_index_init(&seg->idx, index_interval_bytes);
}

void rb_segment_close_fds(struct rb_segment *seg)
{
    if (seg->rd_fd >= 0)
        close(seg->rd_fd);
    if (seg->wr_fd >= 0)
        close(seg->wr_fd);
    seg->rd_fd = seg->wr_fd = -1;
}

void rb_segment_free(struct rb_segment *seg)
{
    RB_ASSERT(!seg->kc); /* released by the log first */
    rb_segment_close_fds(seg);
    rb_index_free(&seg->idx);
}

int rb_segment_open_read(struct rb_segment *seg, const char *dir)
{
    char path[4096];
    if (seg->rd_fd >= 0)
        return 0;
    int err = rb_segment_path(path, sizeof(path), dir, seg->base_offset, ".log");
    if (err)
        return err;
    seg->rd_fd = open(path, O_RDONLY | O_CLOEXEC);
    return seg->rd_fd < 0 ? -errno : 0;
}

int rb_segment_open_write(struct rb_segment *seg, const char *dir, bool create)
{
    char path[4096];
    struct stat st;
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
    int err = rb_segment_path(path, sizeof(path), dir, seg->base_offset, ".log");
    if (err)
        return err;
    seg->direct = true;
    seg->wr_fd = open(path, flags | O_DIRECT, 0644);
    if (seg->wr_fd < 0 && errno == EINVAL) {
        RB_WARN("storage", "%s: O_DIRECT not supported here, using buffered writes", path);
        seg->direct = false;
        seg->wr_fd = open(path, flags, 0644);
    }
    if (seg->wr_fd < 0)
        return -errno;
    if (fstat(seg->wr_fd, &st) < 0) {
        err = -errno;
        goto out_close;
    }
    seg->prealloc_end = (uint64_t)st.st_size;
    /* The buffered read descriptor opens on the first read (rb_segment_open_read):
     * an idle partition holds one descriptor, so ~10,000 fit under ulimit -n. */
    return 0;
out_close:
    close(seg->wr_fd);
    seg->wr_fd = -1;
    return err;
}

/* Zero [from, to) through the O_DIRECT descriptor: turns fallocated (unwritten)
 * extents into written ones so later O_DIRECT overwrites take the fast path. */
static int zero_range(struct rb_segment *seg, uint64_t from, uint64_t to)
{
    void *zeros;
    int err = 0;
    if (posix_memalign(&zeros, RB_BLOCK_BYTES, ZERO_BUF_BYTES))
        return -ENOMEM;
    memset(zeros, 0, ZERO_BUF_BYTES);
    while (from < to) {
        size_t n = (size_t)RB_MIN((uint64_t)ZERO_BUF_BYTES, to - from);
        ssize_t w = pwrite(seg->wr_fd, zeros, n, (off_t)from);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err = w < 0 ? -errno : -EIO;
            break;
        }
        from += (uint64_t)w;
    }
    free(zeros);
    return err;
}

int rb_segment_preallocate(struct rb_segment *seg, uint64_t need, uint64_t step_bytes)
{
    RB_ASSERT(seg->wr_fd >= 0);
    if (need <= seg->prealloc_end)
        return 0;
    /* Grow geometrically from 1 MiB up to the step: a new or idle partition costs
     * little disk (thousands of partitions must fit), a busy one reaches full steps. */
    uint64_t grow = RB_MIN(step_bytes, RB_MAX((uint64_t)1 << 20, seg->prealloc_end));
    uint64_t target = RB_ALIGN_UP(RB_MAX(need, seg->prealloc_end + grow), (uint64_t)RB_BLOCK_BYTES);
    uint64_t zero_from = RB_ALIGN_UP(seg->prealloc_end, (uint64_t)RB_BLOCK_BYTES);
    if (fallocate(seg->wr_fd, 0, (off_t)seg->prealloc_end, (off_t)(target - seg->prealloc_end)) <
        0) {
        int err = -errno;
        if (err != -EOPNOTSUPP)
            return err;
        /* No fallocate on this file system: the zero writes allocate instead. */
        if (ftruncate(seg->wr_fd, (off_t)zero_from) < 0)
            return -errno;
    }
    int err = zero_range(seg, zero_from, target);
    if (err)
        return err;
    seg->prealloc_end = target;
    return 0;
}

int rb_segment_open_lazy(struct rb_segment *seg, const char *dir, uint64_t reserve)
{
    char path[4096];
    RB_ASSERT(seg->wr_fd < 0);
    int err = rb_segment_path(path, sizeof(path), dir, seg->base_offset, ".log");
    if (err)
        return err;
    seg->wr_fd = open(path, O_RDWR | O_CLOEXEC | (seg->direct ? O_DIRECT : 0));
    if (seg->wr_fd < 0 && errno == EINVAL && seg->direct) {
        RB_WARN("storage", "%s: O_DIRECT not supported here, using buffered writes", path);
        seg->direct = false;
        seg->wr_fd = open(path, O_RDWR | O_CLOEXEC);
    }
    if (seg->wr_fd < 0)
        return -errno;
    uint64_t target = RB_ALIGN_UP(seg->size + reserve, (uint64_t)RB_BLOCK_BYTES);
    if (!reserve || target <= seg->prealloc_end)
        return 0;
    /* Unwritten extents (no zeroing): the background growth zeroes later steps. */
    if (fallocate(seg->wr_fd, 0, (off_t)seg->prealloc_end, (off_t)(target - seg->prealloc_end)) < 0)
        return errno == EOPNOTSUPP ? 0 : -errno; /* without: the growth's zero writes */
    seg->prealloc_end = target;
    return 0;
}

int rb_segment_reserve(struct rb_segment *seg, uint64_t bytes)
{
    RB_ASSERT(seg->wr_fd >= 0 && seg->prealloc_end == 0);
    bytes = RB_ALIGN_UP(bytes, (uint64_t)RB_BLOCK_BYTES);
    if (fallocate(seg->wr_fd, 0, 0, (off_t)bytes) < 0)
        return errno == EOPNOTSUPP ? rb_segment_preallocate(seg, 1, bytes) : -errno;
    seg->prealloc_end = bytes;
    return 0;
}

int rb_segment_trim(struct rb_segment *seg, const char *dir)
{
    char path[4096];
    int err = rb_segment_path(path, sizeof(path), dir, seg->base_offset, ".log");
    if (err)
        return err;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)seg->size) < 0 || fsync(fd) < 0)
        err = -errno;
    close(fd);
    if (!err)
        seg->prealloc_end = seg->size;
    return err;
}

void rb_segment_account(struct rb_segment *seg, uint64_t pos, int64_t base_offset,
                        int64_t last_offset, uint32_t total_bytes, int64_t max_ts)
{
    RB_ASSERT(pos == seg->size && base_offset >= seg->base_offset);
    RB_ASSERT(last_offset >= base_offset && last_offset - seg->base_offset <= INT32_MAX);
    RB_ASSERT(pos <= UINT32_MAX);
    if (max_ts > seg->max_ts) {
        seg->max_ts = max_ts;
        seg->offset_of_max_ts = last_offset;
    }
    /* -ENOMEM only leaves the index sparser: lookups stay correct. */
    (void)rb_index_on_batch(&seg->idx, (uint32_t)(last_offset - seg->base_offset), (uint32_t)pos,
                            total_bytes, seg->max_ts,
                            (uint32_t)(seg->offset_of_max_ts - seg->base_offset));
    seg->index_stale = true;
    seg->end_offset = last_offset + 1;
    seg->size = pos + total_bytes;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t pos)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(pos + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

int rb_segment_pread(struct rb_segment *seg, const char *dir, void *buf, size_t len, uint64_t pos)
{
    int err = rb_segment_open_read(seg, dir);
    return err ? -EIO : pread_full(seg->rd_fd, buf, len, pos);
}

static bool only_zeros_from(struct rb_segment *seg, uint64_t pos, uint64_t file_bytes)
{
    uint8_t buf[16384];
    while (pos < file_bytes) {
        size_t n = (size_t)RB_MIN((uint64_t)sizeof(buf), file_bytes - pos);
        if (pread_full(seg->rd_fd, buf, n, pos))
            return false;
        for (size_t i = 0; i < n; i++)
            if (buf[i])
                return false;
        pos += n;
    }
    return true;
}

/* Check the batch at pos (header already in hdr, parsed into bi) for the validating
 * scan: whole CRC and offsets continuing. *buf grows to hold the batch. */
static const char *check_batch(struct rb_segment *seg, uint64_t pos, const struct rb_batch_info *bi,
                               uint8_t **buf, size_t *cap)
{
    uint32_t total = rb_batch_total_bytes(bi);
    if (bi->base_offset != seg->end_offset)
        return "base offset does not continue the log";
    if (bi->last_offset_delta < 0 ||
        bi->base_offset + bi->last_offset_delta - seg->base_offset > INT32_MAX)
        return "bad last offset delta";
    if (total > *cap) {
        uint8_t *nb = realloc(*buf, total);
        if (!nb)
            return "out of memory";
        *buf = nb;
        *cap = total;
    }
    if (pread_full(seg->rd_fd, *buf, total, pos))
        return "read error";
    uint32_t crc = rb_crc32c(0, *buf + RB_BATCH_OFF_ATTRIBUTES, total - RB_BATCH_OFF_ATTRIBUTES);
    /* RB_DEFECT: planted defect (sim-selftest), a torn tail passes recovery */
    return crc == bi->crc || RB_DEFECT(SKIP_TORN_TRUNCATE) ? NULL : "CRC mismatch";
}

/* Classify the batch at pos: NULL when good (bi filled), else why not. */
static const char *next_batch(struct rb_segment *seg, uint64_t pos, uint64_t file_bytes,
                              bool validate, struct rb_batch_info *bi, uint8_t **buf, size_t *cap)
{
    uint8_t hdr[RB_BATCH_HEADER_BYTES];
    if (file_bytes - pos < RB_BATCH_HEADER_BYTES)
        return "truncated header";
    if (pread_full(seg->rd_fd, hdr, sizeof(hdr), pos))
        return "read error";
    /* Only the header is read by rb_batch_parse; the length check uses the file. */
    enum rb_batch_status st = rb_batch_parse(hdr, (size_t)(file_bytes - pos), bi);
    if (st != RB_BATCH_OK)
        return rb_batch_status_str(st);
    if (pos + rb_batch_total_bytes(bi) > UINT32_MAX)
        return "segment too large";
    if (!validate) {
        if (bi->base_offset < seg->end_offset || bi->last_offset_delta < 0 ||
            bi->base_offset + bi->last_offset_delta - seg->base_offset > INT32_MAX)
            return "offsets out of order";
        return NULL;
    }
    return check_batch(seg, pos, bi, buf, cap);
}

int rb_segment_scan(struct rb_segment *seg, const char *dir, uint64_t pos, bool validate,
                    int64_t corrupt_below)
{
    struct stat st;
    struct rb_batch_info bi;
    uint8_t *buf = NULL;
    size_t cap = 0;
    const char *why = NULL;
    int err = rb_segment_open_read(seg, dir);
    if (err)
        return err;
    if (fstat(seg->rd_fd, &st) < 0)
        return -errno;
    uint64_t file_bytes = (uint64_t)st.st_size;

    while (pos < file_bytes) {
        why = next_batch(seg, pos, file_bytes, validate, &bi, &buf, &cap);
        if (why)
            break;
        uint32_t total = rb_batch_total_bytes(&bi);
        rb_segment_account(seg, pos, bi.base_offset, bi.base_offset + bi.last_offset_delta, total,
                           bi.max_timestamp);
        pos += total;
    }
    free(buf);
    if (!why)
        return 0;
    if (!validate || seg->end_offset < corrupt_below) {
        RB_ERROR("storage",
                 "%s/%020" PRId64 ".log: corrupt batch at position %" PRIu64
                 " (expected offset %" PRId64 "%s): %s",
                 dir, seg->base_offset, pos, seg->end_offset,
                 validate ? ", below the recovery point" : "", why);
        return -EUCLEAN;
    }
    if (!only_zeros_from(seg, pos, file_bytes))
        RB_WARN("storage",
                "%s/%020" PRId64 ".log: invalid batch at position %" PRIu64
                " (%s): truncating %" PRIu64 " bytes",
                dir, seg->base_offset, pos, why, file_bytes - pos);
    return rb_segment_trim(seg, dir);
}

int rb_segment_load(struct rb_segment *seg, const char *dir)
{
    struct stat st;
    int err = rb_segment_open_read(seg, dir);
    if (err)
        return err;
    if (fstat(seg->rd_fd, &st) < 0)
        return -errno;
    if (st.st_size == 0)
        return 0; /* empty (never written, or trimmed so): nothing to index or scan */
    err = rb_index_load(&seg->idx, dir, seg->base_offset, (uint64_t)st.st_size);
    if (err || !seg->idx.n_off) {
        bool no_entries = !err; /* files read: the segment is below one index interval */
        rb_index_reset(&seg->idx);
        err = rb_segment_scan(seg, dir, 0, false, -1);
        if (!err && no_entries && !seg->idx.n_off)
            seg->index_stale = false; /* the files hold what a rewrite would */
        return err;
    }
    /* Resume after what the index covers: its last entry starts a batch. */
    const struct rb_index_entry *last = &seg->idx.off[seg->idx.n_off - 1];
    uint32_t rel_max = 0;
    seg->max_ts = rb_index_max_ts(&seg->idx, &rel_max);
    seg->offset_of_max_ts = seg->base_offset + rel_max;
    seg->size = last->pos;
    seg->end_offset = seg->base_offset; /* set again by the scan */
    seg->idx.bytes_since_entry = 0;
    err = rb_segment_scan(seg, dir, last->pos, false, -1);
    if (!err)
        seg->index_stale = false;
    return err;
}
