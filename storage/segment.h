/*
 * storage/segment.h - one segment of a partition log: the <base>.log file, its
 * descriptors, preallocation, recovery scan and its indexes. Internal to storage/.
 *
 * A segment is either inactive (closed, read-only; rd_fd opened on demand) or the
 * log's active segment (wr_fd O_DIRECT for appends, opened on the first append;
 * rd_fd buffered for reads, opened on the first read; file preallocated up to
 * prealloc_end >= its logical size once written).
 */
#ifndef RB_STORAGE_SEGMENT_H
#define RB_STORAGE_SEGMENT_H

#include "storage/index.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rb_chunk;

struct rb_segment {
    int64_t base_offset;
    int64_t end_offset;       /* next offset after its last batch */
    uint64_t size;            /* logical bytes: whole batches only */
    int64_t max_ts;           /* largest batch max timestamp (-1: none) */
    int64_t offset_of_max_ts; /* last offset of the batch that carried it */
    int64_t first_append_ms;  /* when its first batch was appended (-1: none yet) */
    int rd_fd;                /* buffered O_RDONLY, -1 when closed */
    int wr_fd;                /* O_DIRECT O_RDWR, active segment only, else -1 */
    bool direct;              /* wr_fd really has O_DIRECT */
    uint64_t prealloc_end;    /* file size: preallocated (zeroed) up to here */
    bool index_stale;         /* idx holds entries its files do not */
    struct rb_seg_index idx;
    /* An inactive segment's chunk buffers, kept from when it was active (the tail
     * cache holds them, storage/log_int.h): kc[kc_head..n_kc) cover its bytes from
     * kc[kc_head]->pos to its size, consecutively; evicted from the front. The log
     * releases them (rb_log_seg_chunks_free) before rb_segment_free. */
    struct rb_chunk **kc;
    int kc_head, n_kc;
};

/* "<dir>/<20-digit base><ext>"; -ENAMETOOLONG when it does not fit. */
int rb_segment_path(char *buf, size_t cap, const char *dir, int64_t base_offset, const char *ext);
/* The inverse: whether name is "<20 digits><ext>", and the offset the digits say.
 * Names come from readdir (untrusted): anything else is false, never an assert. */
bool rb_segment_name_parse(const char *name, const char *ext, int64_t *offset);

void rb_segment_init(struct rb_segment *seg, int64_t base_offset, uint32_t index_interval_bytes);
void rb_segment_close_fds(struct rb_segment *seg);
void rb_segment_free(struct rb_segment *seg);

/* Open the buffered read descriptor if closed. */
int rb_segment_open_read(struct rb_segment *seg, const char *dir);

/* Open the .log for appending (create: it must not exist yet). Also opens rd_fd.
 * prealloc_end becomes the current file size. */
int rb_segment_open_write(struct rb_segment *seg, const char *dir, bool create);

/* Make sure the file is allocated and zeroed up to at least need bytes, growing in
 * step_bytes steps (fallocate + O_DIRECT zero writes). Blocking; -ENOSPC on a full
 * disk. Never touches bytes below prealloc_end. Only for rb_log_open (off the
 * shards): a live log grows asynchronously (storage/log_seg.c). */
int rb_segment_preallocate(struct rb_segment *seg, uint64_t need, uint64_t step_bytes);

/* The active segment's write descriptor, opened on the first append of a cold log
 * (O_DIRECT unless refused), and up to reserve bytes past its size fallocated
 * without zeroing. Blocking (one open, one fallocate). -ENOSPC leaves wr_fd open
 * and prealloc_end as it was. */
int rb_segment_open_lazy(struct rb_segment *seg, const char *dir, uint64_t reserve);

/* A new, empty segment: fallocate its first bytes without zeroing them (the
 * zero writes of rb_segment_preallocate cost ~1 MiB per new partition). */
int rb_segment_reserve(struct rb_segment *seg, uint64_t bytes);

/* Cut the file to its logical size and fsync it. Blocking. */
int rb_segment_trim(struct rb_segment *seg, const char *dir);

/* Account one appended (or scanned) batch at pos: offsets, size, max timestamp, index. */
void rb_segment_account(struct rb_segment *seg, uint64_t pos, int64_t base_offset,
                        int64_t last_offset, uint32_t total_bytes, int64_t max_ts);

/* Walk the batches of the file from pos (which must start a batch; the segment's
 * state describes everything below it), accounting each one. With validate, each
 * batch must parse, carry a good CRC and continue the offsets; the walk stops at the
 * first that does not and the file is cut there (a warning names the file and
 * position unless only zeros follow). Without validate only headers are read.
 * With validate and corrupt_below >= 0, an invalid batch where the log expected an
 * offset below corrupt_below (the recovery point: those bytes were durable) is
 * corruption: an ERROR names the file and position and -EUCLEAN is returned.
 * Returns 0 or -errno for I/O errors. */
int rb_segment_scan(struct rb_segment *seg, const char *dir, uint64_t pos, bool validate,
                    int64_t corrupt_below);

/* Load the index files, or rebuild them by scanning headers when unusable; then
 * scan from the last indexed batch to the end (end offset, size, max timestamp). */
int rb_segment_load(struct rb_segment *seg, const char *dir);

/* Read len bytes at pos from the file through rd_fd (opened on demand): 0 or -EIO. */
int rb_segment_pread(struct rb_segment *seg, const char *dir, void *buf, size_t len, uint64_t pos);

#endif
