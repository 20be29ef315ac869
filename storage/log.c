/*
 * storage/log.c - a partition log's life cycle: open and recovery, and the
 * accessors. Clean close (single and batched) and destroy are in log_close.c,
 * appends and flushes in log_write.c, reads in log_read.c, the background
 * segment work in log_seg.c; the shared state is described in log_int.h.
 *
 * Segment states:
 *
 *   (file found) --load/scan--> INACTIVE --(last one)--> ACTIVE --roll--> INACTIVE
 *                                  ^                       |
 *   (new file) --create------------+-----------------------+ close: trim, index, marker
 *
 * Open (off the shards) loads the segments and closes every descriptor: a cold
 * partition (never read or written since the start) holds no descriptor and no
 * preallocated disk. Reads open the read descriptor on demand; the first append
 * opens the write descriptor and preallocates, and afterwards growth, the next
 * segment and the roll are the asynchronous background work of log_seg.c.
 *
 * Recovery decision: a clean marker file (written last by rb_log_close) means every
 * segment was trimmed and indexed, so all are loaded from their index files. The
 * marker names the active segment's base offset and size at that close, and stays
 * in place while the log runs (no unlink per partition at startup, nothing for the
 * startup syncfs to write): it is believed only while the last segment still has
 * that base and that file size. Why a stale one cannot be believed after a crash:
 * bytes below that size are never changed (the first flush rewrites the partial
 * last block with the same bytes below it), every append lies above it, and the
 * first append extends the file (fallocate, log_seg.c: act_open) before anything
 * is written, and an acknowledged append was fdatasync'ed, which makes that size
 * durable; a roll gives the last segment a new base. An empty marker (written by
 * an older version, or cut short after everything was durable) is believed.
 * A log that is one empty segment and no marker (new, or never written since its
 * creation) counts as opened clean too: there is nothing to scan and no index to
 * load, so a never-written log closes without a marker or index files and still
 * counts as untouched at the next open; its epoch file loads by the after-a-crash
 * rule (log_epoch.c), which keeps the file as it is when no entry starts past the
 * log end (the file of every clean close of it).
 * Without a believable marker, every segment from the one holding the recovery
 * point (cfg.recovery_point, from recovery-point-offset-checkpoint; the last segment
 * when unknown) is scanned from its start with full validation (CRC, offsets
 * continuing) and cut at the first bad batch above the recovery point; a bad batch
 * below it is corruption and the log opens offline. Earlier segments are trusted:
 * a roll only happens when the old segment is durable, and it trims and syncs the
 * old one before the new one gets its name (log_seg.c); a missing index is rebuilt
 * by the header scan.
 *
 * Fault model: I/O errors during open fail the open; corruption (a header that does
 * not parse in a trusted segment, a bad batch below the recovery point) opens the
 * log offline (never skipped, never repaired). Roll and close errors take the log
 * offline.
 */
#include "storage/log_int.h"

#include "storage/producer_state.h"

#include "core/file.h"
#include "core/logging.h"
#include "core/rb.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void rb_log_config_defaults(struct rb_log_config *cfg)
{
    cfg->segment_bytes = 1ull << 30;
    cfg->segment_ms = 7ll * 24 * 3600 * 1000;
    cfg->index_interval_bytes = 4096;
    cfg->segment_index_bytes = 10u << 20;
    cfg->prealloc_bytes = 16ull << 20;
    cfg->chunk_bytes = 256u << 10;
    cfg->max_dirty_bytes = 8u << 20;
    cfg->log_append_time = false;
    cfg->retention_ms = -1;
    cfg->retention_bytes = -1;
    cfg->recovery_point = -1;
    cfg->log_start_offset = -1;
    cfg->high_watermark = -1;
    cfg->flush_messages = 1;
    cfg->flush_ms = -1;
    cfg->file_delete_delay_ms = 60000;
    cfg->defer_dir_sync = false;
}

static int check_config(const struct rb_log_config *cfg)
{
    if (cfg->chunk_bytes < RB_BLOCK_BYTES || cfg->chunk_bytes % RB_BLOCK_BYTES)
        return -EINVAL;
    if (cfg->segment_bytes < RB_LOG_SEGMENT_BYTES_MIN || cfg->segment_bytes > INT32_MAX)
        return -EINVAL;
    if (!cfg->prealloc_bytes || !cfg->max_dirty_bytes ||
        cfg->segment_index_bytes < RB_LOG_INDEX_BYTES_MIN)
        return -EINVAL;
    if (cfg->file_delete_delay_ms < 0)
        return -EINVAL;
    return 0;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        buf[i] = c;
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool deleted_name(const char *name)
{
    size_t n = strlen(name), k = strlen(RB_LOG_DELETED_SUFFIX);
    return n > k && strcmp(name + n - k, RB_LOG_DELETED_SUFFIX) == 0;
}

/* Base offsets of the .log files in dir, sorted, and whether the clean marker is
 * there (one listing serves both). Files a retention gave up before a restart
 * (<file>.deleted, log_retain.c) are removed: no reader can hold them any more
 * (Kafka does the same at load). */
static int add_i64(int64_t **arr, int *n, int *cap, int64_t v)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        int64_t *na = realloc(*arr, (size_t)nc * sizeof(*na));
        if (!na)
            return -ENOMEM;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = v;
    return 0;
}

static int list_segments(struct rb_log *log, int64_t **bases, int *n, bool *marker)
{
    const char *dir = log->dir;
    int snap_cap = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    int cap = 0;
    *bases = NULL;
    *n = 0;
    *marker = false;
    if (!d)
        return -errno;
    while ((de = readdir(d))) {
        int64_t b;
        if (strcmp(de->d_name, RB_LOG_CLEAN_MARKER) == 0) {
            *marker = true;
            continue;
        }
        if (rb_segment_name_parse(de->d_name, RB_PSTATE_SNAP_EXT, &b)) {
            if (add_i64(&log->snaps, &log->n_snaps, &snap_cap, b)) {
                closedir(d);
                return -ENOMEM;
            }
            continue;
        }
        if (deleted_name(de->d_name)) {
            if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                RB_WARN("storage", "%s/%s: cannot remove: %s", dir, de->d_name, strerror(errno));
            continue;
        }
        if (!rb_segment_name_parse(de->d_name, ".log", &b))
            continue;
        if (add_i64(bases, n, &cap, b)) {
            closedir(d);
            return -ENOMEM;
        }
    }
    closedir(d);
    log->snaps_listed = true;
    if (*n > 1)
        qsort(*bases, (size_t)*n, sizeof(**bases), cmp_i64);
    return 0;
}

int rb_log_marker_path(char *buf, size_t cap, const char *dir)
{
    int n = snprintf(buf, cap, "%s/%s", dir, RB_LOG_CLEAN_MARKER);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int rb_log_marker_write(struct rb_log *log)
{
    char path[4096], text[64];
    const struct rb_segment *act = rb_log_active(log);
    int err = rb_log_marker_path(path, sizeof(path), log->dir);
    if (err)
        return err;
    int len =
        snprintf(text, sizeof(text), "%" PRId64 " %" PRIu64 "\n", act->base_offset, act->size);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write(fd, text, (size_t)len) != len)
        err = -EIO;
    close(fd);
    return err;
}

/* Is the marker found by the listing believable (see the top of this file)? */
static bool marker_holds(const char *mpath, const char *dir, const int64_t *bases, int n)
{
    char text[64], path[4096];
    int fd = open(mpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t len = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (len == 0)
        return true;
    int64_t base;
    uint64_t size;
    struct stat st;
    if (len < 0 || n == 0)
        return false;
    text[len] = '\0';
    if (sscanf(text, "%" SCNd64 " %" SCNu64, &base, &size) != 2 || base != bases[n - 1])
        return false;
    if (rb_segment_path(path, sizeof(path), dir, base, ".log") || stat(path, &st) < 0)
        return false;
    return (uint64_t)st.st_size == size;
}

int rb_log_segs_push(struct rb_log *log, int64_t base)
{
    if (log->n_segs == log->cap_segs) {
        int cap = log->cap_segs ? log->cap_segs * 2 : 8;
        struct rb_segment *ns = realloc(log->segs, (size_t)cap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        log->segs = ns;
        log->cap_segs = cap;
    }
    rb_segment_init(&log->segs[log->n_segs++], base, log->cfg.index_interval_bytes);
    return 0;
}

/* Does segment i need the validating scan? Without a clean marker: the last one
 * always, and with a known recovery point every segment from the one holding it. */
static bool needs_scan(const struct rb_log *log, const int64_t *bases, int n, int i, bool clean)
{
    if (clean)
        return false;
    if (i == n - 1)
        return true;
    int64_t rp = log->cfg.recovery_point;
    return rp >= 0 && bases[i + 1] > rp;
}

/* Load every segment found; see needs_scan for which are validated. Closed
 * segments keep no descriptor open. -EUCLEAN: corruption below the recovery point. */
static int load_segments(struct rb_log *log, const int64_t *bases, int n, bool clean)
{
    for (int i = 0; i < n; i++) {
        int err = rb_log_segs_push(log, bases[i]);
        if (err)
            return err;
        struct rb_segment *seg = &log->segs[i];
        bool last = i == n - 1;
        if (needs_scan(log, bases, n, i, clean)) {
            err = rb_segment_scan(seg, log->dir, 0, true, log->cfg.recovery_point);
            if (!err && !last && seg->end_offset < bases[i + 1]) {
                RB_ERROR("storage",
                         "%s/%020" PRId64 ".log: ends at offset %" PRId64 " (byte %" PRIu64
                         ") but the next segment starts at %" PRId64,
                         log->dir, seg->base_offset, seg->end_offset, seg->size, bases[i + 1]);
                err = -EUCLEAN;
            }
            if (!err && !last) {
                (void)rb_index_finish(&seg->idx, seg->max_ts,
                                      (uint32_t)(seg->offset_of_max_ts - seg->base_offset));
                if (!rb_index_write(&seg->idx, log->dir, seg->base_offset))
                    seg->index_stale = false;
            }
        } else {
            err = rb_segment_load(seg, log->dir);
            if (!err && !last && seg->index_stale) {
                (void)rb_index_finish(&seg->idx, seg->max_ts,
                                      (uint32_t)(seg->offset_of_max_ts - seg->base_offset));
                if (!rb_index_write(&seg->idx, log->dir, seg->base_offset))
                    seg->index_stale = false;
            }
        }
        if (err)
            return err;
        if (i > 0 && seg->base_offset != log->segs[i - 1].end_offset)
            RB_WARN("storage", "%s: segment %020" PRId64 " does not continue offset %" PRId64,
                    log->dir, seg->base_offset, log->segs[i - 1].end_offset);
        if (!last)
            rb_segment_close_fds(seg);
    }
    return 0;
}

/* Prepare the last segment for appending: its size on disk (preallocated up to
 * there) and the partial last block copied into the first chunk so the next flush
 * rewrites it whole. Nothing is preallocated and no write descriptor is kept: a
 * partition that is never written costs no disk beyond its bytes and no
 * descriptor; the first append opens the file and grows it in the background
 * (log_seg.c: rb_log_seg_room). A new log only creates its empty file. */
int rb_log_activate(struct rb_log *log, bool create)
{
    char path[4096];
    struct stat st;
    struct rb_segment *seg = rb_log_active(log);
    int err = rb_segment_path(path, sizeof(path), log->dir, seg->base_offset, ".log");
    if (err)
        return err;
    if (create) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            return -errno;
        close(fd);
    }
    /* The load left the read descriptor open: no second path walk. */
    if ((seg->rd_fd >= 0 ? fstat(seg->rd_fd, &st) : stat(path, &st)) < 0)
        return -errno;
    seg->prealloc_end = (uint64_t)st.st_size;
    seg->direct = true; /* tried first when the write descriptor opens */
    log->durable_pos = log->written_pos = seg->size;
    uint64_t block = RB_ALIGN_DOWN(seg->size, (uint64_t)RB_BLOCK_BYTES);
    if (block != seg->size) {
        err = rb_log_chunk_add(log, block);
        if (!err)
            err = rb_segment_pread(seg, log->dir, log->chunks[0]->buf, seg->size - block, block);
    }
    /* Reads open rd_fd again on demand (log_read.c): a cold partition holds none. */
    rb_segment_close_fds(seg);
    return err;
}

/* List, load (scanning what needs it) and activate the segments; *marker: the
 * clean marker was found and holds. */
static int open_segments(struct rb_log *log, bool *marker)
{
    char mpath[4096];
    int64_t *bases = NULL;
    int n = 0;
    bool clean = false;
    int err = rb_log_marker_path(mpath, sizeof(mpath), log->dir);
    if (!err)
        err = list_segments(log, &bases, &n, &clean);
    /* A new partition: its directory is made here (no mkdir per open otherwise). */
    if (err == -ENOENT && !(err = mkdir_p(log->dir)))
        err = list_segments(log, &bases, &n, &clean);
    if (err)
        return err;
    bool found = clean;
    if (clean)
        clean = marker_holds(mpath, log->dir, bases, n);
    err = load_segments(log, bases, n, clean);
    free(bases);
    if (err)
        return err;
    if (log->n_segs == 0 && (err = rb_log_segs_push(log, 0)))
        return err;
    err = rb_log_activate(log, n == 0);
    if (err)
        return err;
    /* The marker stays: a crash after the first append is detected by its size. A
     * log that is one empty segment (new, or never written since) needs no marker
     * to be trusted: nothing to scan, no index to load, so its clean close writes
     * nothing but a changed epoch file (no index files, no marker, no producer
     * snapshot: 10,000 new partitions took 9-70 s to stop for those). Not with a
     * marker that does not hold (a crash after a truncation): the close rewrites it,
     * so no stale size stays to match a later file by chance. */
    *marker = clean;
    log->opened_clean = clean || (!found && log->n_segs == 1 && rb_log_active(log)->size == 0);
    /* A brand-new log: its files need no sync of their own; the creator syncs the
     * file system before the metadata names it (coord/standalone.c), and a log dir
     * lost to a crash is simply created again, empty, at the next open. */
    return n == 0 || log->cfg.defer_dir_sync ? 0 : rb_file_sync_dir(log->dir);
}

int rb_log_open(struct rb_log **out, const char *dir, const struct rb_log_config *cfg,
                struct rb_disk disk, int64_t now_ms)
{
    int err = check_config(cfg);
    if (err)
        return err;
    struct rb_log *log = calloc(1, sizeof(*log));
    if (!log)
        return -ENOMEM;
    log->cfg = *cfg;
    log->cfg.prealloc_bytes = RB_ALIGN_UP(cfg->prealloc_bytes, (uint64_t)RB_BLOCK_BYTES);
    log->disk = disk;
    log->rd_open_seg = -1;
    log->dir = strdup(dir);
    if (!log->dir) {
        err = -ENOMEM;
        goto out_free;
    }
    bool marker = false;
    err = rb_log_seg_init(log);
    if (!err)
        err = open_segments(log, &marker);
    if (err == -EUCLEAN && log->n_segs > 0) {
        /* Corruption below the recovery point (reported by the scan): keep what was
         * loaded, serve nothing, never repair it behind the operator's back. */
        RB_ERROR("storage", "%s: corrupt below the recovery point %" PRId64 ": log offline", dir,
                 cfg->recovery_point);
        log->offline = true;
        err = 0;
    }
    if (err)
        goto out_free;
    struct rb_segment *act = rb_log_active(log);
    if (act->size > 0 && act->first_append_ms < 0)
        act->first_append_ms = now_ms; /* segment.ms counts from this open */
    log->start_offset = log->segs[0].base_offset;
    log->end_offset = act->end_offset;
    log->durable_end = log->end_offset;
    if (cfg->log_start_offset > log->start_offset)
        log->start_offset = RB_MIN(cfg->log_start_offset, log->end_offset);
    if (log->offline) /* keeps its checkpoint entries until someone repairs it */
        log->durable_end = RB_MAX(cfg->recovery_point, log->durable_end);
    log->written_end = log->durable_end;
    if (!log->offline)
        err = rb_log_trunc_resume(log);
    if (!err)
        err = rb_log_epochs_load(log, marker); /* an empty log without one: as after a crash */
    if (err)
        goto out_free;
    *out = log;
    return 0;
out_free:
    RB_ERROR("storage", "%s: cannot open log: %s", dir, strerror(-err));
    rb_log_chunks_free(log);
    if (log->dir)
        rb_log_seg_free(log);
    for (int i = 0; i < log->n_segs; i++)
        rb_segment_free(&log->segs[i]);
    free(log->segs);
    free(log->snaps);
    free(log->dir);
    rb_epoch_cache_free(&log->epochs);
    free(log);
    return err;
}

int rb_log_open_offline(struct rb_log **out, const char *dir, const struct rb_log_config *cfg)
{
    struct rb_log *log = calloc(1, sizeof(*log));
    if (!log)
        return -ENOMEM;
    log->cfg = *cfg;
    log->rd_open_seg = -1;
    log->offline = true;
    log->stamp_epoch = -1;
    log->durable_end = RB_MAX(cfg->recovery_point, 0);
    log->written_end = log->durable_end;
    log->start_offset = RB_MAX(cfg->log_start_offset, 0);
    log->dir = strdup(dir);
    log->next.fd = -1;
    if (!log->dir || rb_log_seg_init(log) || rb_log_segs_push(log, 0)) {
        if (log->dir)
            rb_log_seg_free(log);
        free(log->dir);
        free(log->segs);
        free(log);
        return -ENOMEM;
    }
    *out = log;
    return 0;
}

void rb_log_set_tail_cache(struct rb_log *log, struct rb_tail_cache *tc)
{
    RB_ASSERT(log->n_cached == 0);
    log->cache = tc;
}

int64_t rb_log_start_offset(const struct rb_log *log)
{
    return log->start_offset;
}

int64_t rb_log_end_offset(const struct rb_log *log)
{
    return log->end_offset;
}

int64_t rb_log_durable_end(const struct rb_log *log)
{
    return log->durable_end;
}

int64_t rb_log_written_end(const struct rb_log *log)
{
    return log->written_end;
}

int64_t rb_log_checkpoint_hw(const struct rb_log *log)
{
    if (log->cfg.high_watermark < 0)
        return -1;
    return RB_MAX(RB_MIN(log->cfg.high_watermark, log->written_end), log->start_offset);
}

void rb_log_flush_policy(const struct rb_log *log, int64_t *messages, int64_t *ms)
{
    *messages = log->cfg.flush_messages;
    *ms = log->cfg.flush_ms;
}

int rb_log_reconfigure(struct rb_log *log, const struct rb_log_config *cfg)
{
    if (cfg->segment_bytes < RB_LOG_SEGMENT_BYTES_MIN || cfg->segment_bytes > INT32_MAX ||
        cfg->segment_index_bytes < RB_LOG_INDEX_BYTES_MIN || cfg->segment_ms <= 0 ||
        cfg->file_delete_delay_ms < 0)
        return -EINVAL;
    /* Read at each append's roll check (need_roll) or when a segment starts: an
     * active segment is never rewritten, it just rolls by the new limits. */
    log->cfg.segment_bytes = cfg->segment_bytes;
    log->cfg.segment_ms = cfg->segment_ms;
    log->cfg.segment_index_bytes = cfg->segment_index_bytes;
    log->cfg.index_interval_bytes = cfg->index_interval_bytes;
    log->cfg.log_append_time = cfg->log_append_time;
    log->cfg.retention_ms = cfg->retention_ms;
    log->cfg.retention_bytes = cfg->retention_bytes;
    log->cfg.flush_messages = cfg->flush_messages;
    log->cfg.flush_ms = cfg->flush_ms;
    log->cfg.file_delete_delay_ms = cfg->file_delete_delay_ms;
    return 0;
}

bool rb_log_offline(const struct rb_log *log)
{
    return log->offline;
}

bool rb_log_untouched(const struct rb_log *log)
{
    const struct rb_segment *act = &log->segs[log->n_segs - 1];
    if (!log->opened_clean || log->touched || log->offline || log->bg != RB_BG_IDLE ||
        log->next.fd >= 0 || act->wr_fd >= 0 || log->written_pos != act->size)
        return false;
    for (int i = 0; i < log->n_segs; i++)
        if (log->segs[i].index_stale)
            return false;
    return true;
}

uint64_t rb_log_size_bytes(const struct rb_log *log)
{
    uint64_t sum = 0;
    for (int i = 0; i < log->n_segs; i++)
        sum += log->segs[i].size;
    return sum;
}
