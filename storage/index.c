/*
 * storage/index.c - sparse offset and time indexes of one segment (see index.h).
 *
 * Owns: the in-memory entry arrays and the .index/.timeindex files.
 * Invariants: offset entries strictly increase in both offset and position; time
 * entries strictly increase in timestamp and never decrease in offset.
 * Fault model: index files are hints. A file that is missing, torn or implausible
 * is reported as unusable and rebuilt from the log by the caller; nothing read from
 * it reaches an assertion. Writes go tmp + fsync + rename so a crash leaves the old
 * file or the new one.
 */
#include "storage/index.h"

#include "core/endian.h"
#include "core/file.h"
#include "core/rb.h"
#include "storage/segment.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(RB_INDEX_ENTRY_BYTES == 2 * sizeof(uint32_t), "index entry: int32 + int32");
_Static_assert(RB_TIMEINDEX_ENTRY_BYTES == sizeof(int64_t) + sizeof(uint32_t),
               "time index entry: int64 + int32");

void rb_index_init(struct rb_seg_index *idx, uint32_t interval_bytes)
{
    memset(idx, 0, sizeof(*idx));
    idx->interval_bytes = interval_bytes;
}

void rb_index_free(struct rb_seg_index *idx)
{
    free(idx->off);
    free(idx->time);
    idx->off = NULL;
    idx->time = NULL;
    idx->n_off = idx->cap_off = idx->n_time = idx->cap_time = 0;
}

void rb_index_reset(struct rb_seg_index *idx)
{
    idx->n_off = idx->n_time = 0;
    idx->bytes_since_entry = 0;
}

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int add_time(struct rb_seg_index *idx, int64_t ts, uint32_t rel)
{
    if (idx->n_time && idx->time[idx->n_time - 1].ts >= ts)
        return 0;
    if (grow((void **)&idx->time, &idx->cap_time, idx->n_time + 1, sizeof(*idx->time)))
        return -ENOMEM;
    idx->time[idx->n_time++] = (struct rb_time_entry){.ts = ts, .rel_offset = rel};
    return 0;
}

int rb_index_on_batch(struct rb_seg_index *idx, uint32_t rel_last, uint32_t pos,
                      uint32_t batch_bytes, int64_t max_ts, uint32_t rel_max)
{
    int err = 0;
    /* Entries loaded from a file may disagree with the log: keep the index sorted. */
    bool ordered = !idx->n_off || (idx->off[idx->n_off - 1].rel_offset < rel_last &&
                                   idx->off[idx->n_off - 1].pos < pos);
    if (idx->bytes_since_entry > idx->interval_bytes && ordered) {
        err = grow((void **)&idx->off, &idx->cap_off, idx->n_off + 1, sizeof(*idx->off));
        if (!err) {
            idx->off[idx->n_off++] = (struct rb_index_entry){.rel_offset = rel_last, .pos = pos};
            if (max_ts >= 0)
                err = add_time(idx, max_ts, rel_max);
            idx->bytes_since_entry = 0;
        }
    }
    idx->bytes_since_entry += batch_bytes;
    return err;
}

int rb_index_finish(struct rb_seg_index *idx, int64_t max_ts, uint32_t rel_max)
{
    return max_ts >= 0 ? add_time(idx, max_ts, rel_max) : 0;
}

uint32_t rb_index_lookup(const struct rb_seg_index *idx, uint32_t rel_offset)
{
    /* first entry with rel_offset > target */
    uint32_t lo = RB_PARTITION_POINT(idx->n_off, i, idx->off[i].rel_offset <= rel_offset);
    return lo ? idx->off[lo - 1].pos : 0;
}

uint32_t rb_index_lookup_time(const struct rb_seg_index *idx, int64_t ts)
{
    uint32_t lo = RB_PARTITION_POINT(idx->n_time, i, idx->time[i].ts < ts); /* first ts >= */
    return lo ? idx->time[lo - 1].rel_offset + 1 : 0;
}

int64_t rb_index_max_ts(const struct rb_seg_index *idx, uint32_t *rel_out)
{
    if (!idx->n_time)
        return -1;
    if (rel_out)
        *rel_out = idx->time[idx->n_time - 1].rel_offset;
    return idx->time[idx->n_time - 1].ts;
}

uint64_t rb_index_file_bytes(const struct rb_seg_index *idx)
{
    return (uint64_t)idx->n_off * RB_INDEX_ENTRY_BYTES;
}

/* Write <base><ext> (flags: core/file.h), or publish its .tmp when buf is NULL. */
static int index_file_write(const char *dir, int64_t base, const char *ext, const uint8_t *buf,
                            size_t len, unsigned flags)
{
    char path[4096];
    int err = rb_segment_path(path, sizeof(path), dir, base, ext);
    if (err)
        return err;
    return buf ? rb_file_write_tmp(path, buf, len, flags) : rb_file_publish_tmp(path);
}

int rb_index_encode(const struct rb_seg_index *idx, bool time_index, uint8_t **buf, size_t *len)
{
    size_t n = time_index ? (size_t)idx->n_time * RB_TIMEINDEX_ENTRY_BYTES
                          : (size_t)idx->n_off * RB_INDEX_ENTRY_BYTES;
    uint8_t *b = malloc(n + 1);
    if (!b)
        return -ENOMEM;
    for (uint32_t i = 0; !time_index && i < idx->n_off; i++) {
        rb_put_be32(b + i * RB_INDEX_ENTRY_BYTES, idx->off[i].rel_offset);
        rb_put_be32(b + i * RB_INDEX_ENTRY_BYTES + 4, idx->off[i].pos);
    }
    for (uint32_t i = 0; time_index && i < idx->n_time; i++) {
        uint8_t *p = b + i * RB_TIMEINDEX_ENTRY_BYTES;
        rb_put_be64(p, (uint64_t)idx->time[i].ts);
        rb_put_be32(p + 8, idx->time[i].rel_offset);
    }
    *buf = b;
    *len = n;
    return 0;
}

int rb_index_write(const struct rb_seg_index *idx, const char *dir, int64_t base_offset)
{
    uint8_t *buf;
    size_t len;
    int err = rb_index_encode(idx, false, &buf, &len);
    if (err)
        return err;
    err = index_file_write(dir, base_offset, ".index", buf, len, RB_FILE_SYNC | RB_FILE_PUBLISH);
    free(buf);
    if (err || (err = rb_index_encode(idx, true, &buf, &len)))
        return err;
    err =
        index_file_write(dir, base_offset, ".timeindex", buf, len, RB_FILE_SYNC | RB_FILE_PUBLISH);
    free(buf);
    return err;
}

int rb_index_write_tmp(const struct rb_seg_index *idx, const char *dir, int64_t base_offset)
{
    uint8_t *buf;
    size_t len;
    int err = rb_index_encode(idx, false, &buf, &len);
    if (err)
        return err;
    err = index_file_write(dir, base_offset, ".index", buf, len, 0);
    free(buf);
    if (err || (err = rb_index_encode(idx, true, &buf, &len)))
        return err;
    err = index_file_write(dir, base_offset, ".timeindex", buf, len, 0);
    free(buf);
    return err;
}

int rb_index_publish_tmp(const char *dir, int64_t base_offset)
{
    int err = index_file_write(dir, base_offset, ".index", NULL, 0, 0);
    return err ? err : index_file_write(dir, base_offset, ".timeindex", NULL, 0, 0);
}

static int read_file(const char *dir, int64_t base, const char *ext, uint8_t **buf, size_t *len)
{
    char path[4096];
    struct stat st;
    int err = rb_segment_path(path, sizeof(path), dir, base, ext);
    if (err)
        return err;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || st.st_size > (off_t)UINT32_MAX) {
        err = -EINVAL;
        goto out_close;
    }
    *len = (size_t)st.st_size;
    *buf = malloc(*len + 1);
    if (!*buf) {
        err = -ENOMEM;
        goto out_close;
    }
    if (pread(fd, *buf, *len, 0) != (ssize_t)*len) {
        free(*buf);
        *buf = NULL;
        err = -EIO;
    }
out_close:
    close(fd);
    return err;
}

static int parse_offsets(struct rb_seg_index *idx, const uint8_t *b, size_t len, uint64_t seg)
{
    if (len % RB_INDEX_ENTRY_BYTES)
        return -EINVAL;
    uint32_t n = (uint32_t)(len / RB_INDEX_ENTRY_BYTES);
    if (grow((void **)&idx->off, &idx->cap_off, n, sizeof(*idx->off)))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        struct rb_index_entry e = {rb_get_be32(b + i * 8), rb_get_be32(b + i * 8 + 4)};
        if (e.pos >= seg ||
            (i && (e.rel_offset <= idx->off[i - 1].rel_offset || e.pos <= idx->off[i - 1].pos)))
            return -EINVAL;
        idx->off[i] = e;
    }
    idx->n_off = n;
    return 0;
}

static int parse_times(struct rb_seg_index *idx, const uint8_t *b, size_t len)
{
    if (len % RB_TIMEINDEX_ENTRY_BYTES)
        return -EINVAL;
    uint32_t n = (uint32_t)(len / RB_TIMEINDEX_ENTRY_BYTES);
    if (grow((void **)&idx->time, &idx->cap_time, n, sizeof(*idx->time)))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = b + i * RB_TIMEINDEX_ENTRY_BYTES;
        struct rb_time_entry e = {(int64_t)rb_get_be64(p), rb_get_be32(p + 8)};
        if (i && (e.ts <= idx->time[i - 1].ts || e.rel_offset < idx->time[i - 1].rel_offset))
            return -EINVAL;
        idx->time[i] = e;
    }
    idx->n_time = n;
    return 0;
}

int rb_index_load(struct rb_seg_index *idx, const char *dir, int64_t base_offset,
                  uint64_t seg_bytes)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rb_index_reset(idx);
    int err = read_file(dir, base_offset, ".index", &buf, &len);
    if (!err)
        err = parse_offsets(idx, buf, len, seg_bytes);
    free(buf);
    buf = NULL;
    if (!err)
        err = read_file(dir, base_offset, ".timeindex", &buf, &len);
    if (!err)
        err = parse_times(idx, buf, len);
    free(buf);
    if (err)
        rb_index_reset(idx);
    return err;
}

void rb_index_unlink(const char *dir, int64_t base_offset)
{
    char path[4096];
    if (!rb_segment_path(path, sizeof(path), dir, base_offset, ".index"))
        unlink(path);
    if (!rb_segment_path(path, sizeof(path), dir, base_offset, ".timeindex"))
        unlink(path);
}
