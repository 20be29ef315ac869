/*
 * storage/producer_state.c - the per-partition idempotent-producer table, its
 * snapshot files and its rebuild from batch headers (see producer_state.h).
 *
 * Owns: the hash table of producer entries; each entry keeps a ring of the last
 * RB_PSTATE_BATCHES batches, oldest first from `head`.
 * Invariants: an entry's batches all carry the entry's epoch and ascending
 * offsets; check never changes state except creating an empty entry (epoch -1,
 * no batches), which behaves like an unknown producer.
 * Fault model: see the header; the state only changes for batches the log has
 * accepted, so it never runs ahead of the log.
 */
#include "storage/producer_state.h"

#include "core/defect.h"
#include "core/endian.h"
#include "core/file.h"
#include "core/logging.h"
#include "core/rb.h"
#include "storage/log_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP             "pstate"
#define SNAP_MAGIC       "RBPS"
#define SNAP_VERSION     1
#define SNAP_HEAD_BYTES  18 /* magic 4, version 2, offset 8, count 4 */
#define SNAP_ENTRY_BYTES 19
#define SNAP_BATCH_BYTES 28

struct ps_batch {
    int32_t first_seq, last_seq;
    int64_t first_offset;
    int32_t offset_delta;
    int64_t max_ts;
};

struct ps_entry {
    struct ps_entry *hnext;
    int64_t producer_id;
    int16_t epoch; /* -1: none known yet */
    uint8_t n, head;
    int64_t last_ms;
    struct ps_batch b[RB_PSTATE_BATCHES];
};

struct rb_pstate {
    struct ps_entry **buckets;
    uint32_t mask, n;
};

/* ---- table ---- */

static uint32_t pid_hash(int64_t pid)
{
    uint64_t x = (uint64_t)pid * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(x >> 32);
}

struct rb_pstate *rb_pstate_new(void)
{
    return calloc(1, sizeof(struct rb_pstate));
}

static void ps_clear(struct rb_pstate *ps)
{
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++) {
        struct ps_entry *e = ps->buckets[i];
        while (e) {
            struct ps_entry *next = e->hnext;
            free(e);
            e = next;
        }
    }
    free(ps->buckets);
    ps->buckets = NULL;
    ps->mask = ps->n = 0;
}

void rb_pstate_free(struct rb_pstate *ps)
{
    if (!ps)
        return;
    ps_clear(ps);
    free(ps);
}

uint32_t rb_pstate_count(const struct rb_pstate *ps)
{
    return ps->n;
}

static struct ps_entry *ps_find(const struct rb_pstate *ps, int64_t pid)
{
    if (!ps->buckets)
        return NULL;
    for (struct ps_entry *e = ps->buckets[pid_hash(pid) & ps->mask]; e; e = e->hnext)
        if (e->producer_id == pid)
            return e;
    return NULL;
}

static int ps_grow(struct rb_pstate *ps)
{
    uint32_t nb = ps->buckets ? (ps->mask + 1) * 2 : 16;
    struct ps_entry **b = calloc(nb, sizeof(*b));
    if (!b)
        return -ENOMEM;
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++) {
        struct ps_entry *e = ps->buckets[i];
        while (e) {
            struct ps_entry *next = e->hnext;
            uint32_t h = pid_hash(e->producer_id) & (nb - 1);
            e->hnext = b[h];
            b[h] = e;
            e = next;
        }
    }
    free(ps->buckets);
    ps->buckets = b;
    ps->mask = nb - 1;
    return 0;
}

static struct ps_entry *ps_get_or_add(struct rb_pstate *ps, int64_t pid)
{
    struct ps_entry *e = ps_find(ps, pid);
    if (e)
        return e;
    if ((!ps->buckets || ps->n >= ps->mask) && ps_grow(ps))
        return NULL;
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->producer_id = pid;
    e->epoch = -1;
    uint32_t h = pid_hash(pid) & ps->mask;
    e->hnext = ps->buckets[h];
    ps->buckets[h] = e;
    ps->n++;
    return e;
}

void rb_pstate_expire(struct rb_pstate *ps, int64_t cutoff_ms)
{
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++) {
        struct ps_entry **pp = &ps->buckets[i];
        while (*pp) {
            struct ps_entry *e = *pp;
            if (e->last_ms < cutoff_ms) {
                *pp = e->hnext;
                free(e);
                ps->n--;
            } else {
                pp = &e->hnext;
            }
        }
    }
}

/* ---- sequence rules ---- */

int32_t rb_pstate_last_seq(int32_t base_seq, int32_t last_offset_delta)
{
    if (base_seq > INT32_MAX - last_offset_delta)
        return last_offset_delta - (INT32_MAX - base_seq) - 1;
    return base_seq + last_offset_delta;
}

static bool in_sequence(int32_t last_seq, int32_t next_seq)
{
    return (int64_t)next_seq == (int64_t)last_seq + 1 || (next_seq == 0 && last_seq == INT32_MAX);
}

static const struct ps_batch *ps_batch_at(const struct ps_entry *e, int i)
{
    return &e->b[(e->head + i) % RB_PSTATE_BATCHES];
}

int rb_pstate_check(struct rb_pstate *ps, const struct rb_batch_info *bi, struct rb_pstate_dup *dup)
{
    if (bi->producer_id < 0)
        return RB_PSTATE_APPEND;
    struct ps_entry *e = ps_get_or_add(ps, bi->producer_id);
    if (!e)
        return -ENOMEM;
    int32_t last = rb_pstate_last_seq(bi->base_sequence, bi->last_offset_delta);
    if (bi->producer_epoch == e->epoch) {
        /* RB_DEFECT: planted defect (sim-selftest), the newest batch left out */
        for (int i = 0; i < e->n - RB_DEFECT(DEDUP_WINDOW); i++) {
            const struct ps_batch *b = ps_batch_at(e, i);
            if (b->first_seq == bi->base_sequence && b->last_seq == last) {
                dup->first_offset = b->first_offset;
                dup->last_offset = b->first_offset + b->offset_delta;
                return RB_PSTATE_DUPLICATE;
            }
        }
    }
    if (e->epoch < 0)
        return RB_PSTATE_APPEND; /* unknown producer: any sequence */
    if (bi->producer_epoch < e->epoch)
        return RB_PSTATE_STALE_EPOCH;
    if (bi->producer_epoch > e->epoch)
        return bi->base_sequence == 0 ? RB_PSTATE_APPEND : RB_PSTATE_OUT_OF_ORDER;
    if (e->n == 0)
        return RB_PSTATE_APPEND;
    const struct ps_batch *lb = ps_batch_at(e, e->n - 1);
    return in_sequence(lb->last_seq, bi->base_sequence) ? RB_PSTATE_APPEND : RB_PSTATE_OUT_OF_ORDER;
}

/* Append one batch's metadata to e (replay or live); a new epoch resets it. */
static void entry_push(struct ps_entry *e, int16_t epoch, const struct ps_batch *nb, int64_t now_ms)
{
    if (epoch != e->epoch) {
        e->epoch = epoch;
        e->n = 0;
        e->head = 0;
    }
    if (e->n == RB_PSTATE_BATCHES) {
        e->b[e->head] = *nb;
        e->head = (uint8_t)((e->head + 1) % RB_PSTATE_BATCHES);
    } else {
        e->b[(e->head + e->n) % RB_PSTATE_BATCHES] = *nb;
        e->n++;
    }
    if (now_ms > e->last_ms)
        e->last_ms = now_ms;
}

void rb_pstate_update(struct rb_pstate *ps, const struct rb_batch_info *bi, int64_t base_offset,
                      int64_t now_ms)
{
    if (bi->producer_id < 0)
        return;
    struct ps_entry *e = ps_find(ps, bi->producer_id);
    RB_ASSERT(e); /* rb_pstate_check created it */
    struct ps_batch nb = {
        .first_seq = bi->base_sequence,
        .last_seq = rb_pstate_last_seq(bi->base_sequence, bi->last_offset_delta),
        .first_offset = base_offset,
        .offset_delta = bi->last_offset_delta,
        .max_ts = bi->max_timestamp,
    };
    entry_push(e, bi->producer_epoch, &nb, now_ms);
}

/* ---- snapshot encoding ---- */

/* Cursor forms of core/endian.h: each advances *p past what it wrote or read. */
static void put16(uint8_t **p, uint16_t v)
{
    rb_put_be16(*p, v);
    *p += 2;
}
static void put32(uint8_t **p, uint32_t v)
{
    rb_put_be32(*p, v);
    *p += 4;
}
static void put64(uint8_t **p, uint64_t v)
{
    rb_put_be64(*p, v);
    *p += 8;
}
static uint16_t get16(const uint8_t **p)
{
    uint16_t v = rb_get_be16(*p);
    *p += 2;
    return v;
}
static uint32_t get32(const uint8_t **p)
{
    uint32_t v = rb_get_be32(*p);
    *p += 4;
    return v;
}
static uint64_t get64(const uint8_t **p)
{
    uint64_t v = rb_get_be64(*p);
    *p += 8;
    return v;
}

static size_t snap_encode(const struct rb_pstate *ps, int64_t offset, uint8_t *buf)
{
    uint8_t *p = buf;
    memcpy(p, SNAP_MAGIC, 4);
    p += 4;
    put16(&p, SNAP_VERSION);
    put64(&p, (uint64_t)offset);
    put32(&p, ps->n);
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++) {
        for (const struct ps_entry *e = ps->buckets[i]; e; e = e->hnext) {
            put64(&p, (uint64_t)e->producer_id);
            put16(&p, (uint16_t)e->epoch);
            *p++ = e->n;
            put64(&p, (uint64_t)e->last_ms);
            for (int k = 0; k < e->n; k++) {
                const struct ps_batch *b = ps_batch_at(e, k);
                put32(&p, (uint32_t)b->first_seq);
                put32(&p, (uint32_t)b->last_seq);
                put64(&p, (uint64_t)b->first_offset);
                put32(&p, (uint32_t)b->offset_delta);
                put64(&p, (uint64_t)b->max_ts);
            }
        }
    }
    put32(&p, rb_crc32c(0, buf, (size_t)(p - buf)));
    return (size_t)(p - buf);
}

static int snap_decode(struct rb_pstate *ps, const uint8_t *buf, size_t len, int64_t *offset)
{
    if (len < SNAP_HEAD_BYTES + 4 || memcmp(buf, SNAP_MAGIC, 4) != 0)
        return -EINVAL;
    const uint8_t *crcp = buf + len - 4;
    if (get32(&crcp) != rb_crc32c(0, buf, len - 4))
        return -EINVAL;
    const uint8_t *p = buf + 4, *end = buf + len - 4;
    if (get16(&p) != SNAP_VERSION)
        return -EINVAL;
    *offset = (int64_t)get64(&p);
    uint32_t count = get32(&p);
    ps_clear(ps);
    for (uint32_t i = 0; i < count; i++) {
        if ((size_t)(end - p) < SNAP_ENTRY_BYTES)
            return -EINVAL;
        int64_t pid = (int64_t)get64(&p);
        int16_t epoch = (int16_t)get16(&p);
        uint8_t n = *p++;
        int64_t last_ms = (int64_t)get64(&p);
        if (pid < 0 || n > RB_PSTATE_BATCHES || (size_t)(end - p) < (size_t)n * SNAP_BATCH_BYTES)
            return -EINVAL;
        struct ps_entry *e = ps_get_or_add(ps, pid);
        if (!e)
            return -ENOMEM;
        for (int k = 0; k < n; k++) {
            struct ps_batch b;
            b.first_seq = (int32_t)get32(&p);
            b.last_seq = (int32_t)get32(&p);
            b.first_offset = (int64_t)get64(&p);
            b.offset_delta = (int32_t)get32(&p);
            b.max_ts = (int64_t)get64(&p);
            entry_push(e, epoch, &b, last_ms);
        }
        e->epoch = epoch;
        e->last_ms = last_ms;
    }
    return p == end ? 0 : -EINVAL;
}

/* ---- snapshot files ---- */

static int snap_path(char *buf, size_t cap, const char *dir, int64_t offset, const char *ext)
{
    int n = snprintf(buf, cap, "%s/%020" PRId64 "%s", dir, offset, ext);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Remove the snapshots other than keep that lie above `above` (-1: all others). */
static void remove_snapshots(const char *dir, int64_t keep, int64_t above)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    int64_t off;
    while ((de = readdir(d)))
        if (rb_segment_name_parse(de->d_name, RB_PSTATE_SNAP_EXT, &off) && off != keep &&
            (above < 0 || off > above))
            unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
}

/* Without sync only the .tmp file is written, unsynced (rb_pstate_snapshot_log_tmp). */
static int snapshot_write(struct rb_pstate *ps, const char *dir, int64_t offset, bool sync)
{
    char path[4096];
    int r = snap_path(path, sizeof(path), dir, offset, RB_PSTATE_SNAP_EXT);
    if (r)
        return r;
    size_t cap = SNAP_HEAD_BYTES + 4 +
                 (size_t)ps->n * (SNAP_ENTRY_BYTES + RB_PSTATE_BATCHES * SNAP_BATCH_BYTES);
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t len = snap_encode(ps, offset, buf);
    RB_ASSERT(len <= cap);
    r = rb_file_write_tmp(path, buf, len, sync ? RB_FILE_SYNC | RB_FILE_PUBLISH : 0);
    if (!r && sync)
        remove_snapshots(dir, offset, -1);
    free(buf);
    return r;
}

int rb_pstate_snapshot_write(struct rb_pstate *ps, const char *dir, int64_t offset)
{
    return snapshot_write(ps, dir, offset, true);
}

int rb_pstate_snapshot_read(struct rb_pstate *ps, const char *path, int64_t *offset_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    off_t size = lseek(fd, 0, SEEK_END);
    int r = 0;
    if (size < 0 || size > (64 << 20)) {
        r = size < 0 ? -errno : -EINVAL;
        goto out_close;
    }
    uint8_t *buf = malloc((size_t)size + 1);
    if (!buf) {
        r = -ENOMEM;
        goto out_close;
    }
    ssize_t got = pread(fd, buf, (size_t)size, 0);
    if (got != size)
        r = got < 0 ? -errno : -EINVAL;
    else
        r = snap_decode(ps, buf, (size_t)size, offset_out);
    if (r)
        ps_clear(ps);
    free(buf);
out_close:
    close(fd);
    return r;
}

/* ---- recovery ---- */

/* Newest snapshot at or below max_offset that loads; -ENOENT when none. The
 * snapshots above max_offset (of a tail the log lost) are removed in the same
 * listing: one directory read per partition at startup. */
static int load_newest_snapshot(struct rb_pstate *ps, const char *dir, int64_t max_offset,
                                int64_t *offset)
{
    int64_t best = -1, off;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!rb_segment_name_parse(de->d_name, RB_PSTATE_SNAP_EXT, &off))
            continue;
        if (off > max_offset)
            unlinkat(dirfd(d), de->d_name, 0);
        else if (off > best)
            best = off;
    }
    closedir(d);
    if (best < 0)
        return -ENOENT;
    char path[4096];
    int r = snap_path(path, sizeof(path), dir, best, RB_PSTATE_SNAP_EXT);
    if (!r)
        r = rb_pstate_snapshot_read(ps, path, offset);
    if (r) {
        RB_WARN(COMP, "ignoring producer snapshot %s: %s", path, strerror(-r));
        return -ENOENT;
    }
    return 0;
}

/* Replay the batch headers of segment si that end at or after from. */
static int replay_segment(struct rb_pstate *ps, struct rb_log *log, int si, int64_t from)
{
    struct rb_segment *seg = &log->segs[si];
    bool was_open = seg->rd_fd >= 0;
    uint64_t pos = 0;
    int r = 0;
    while (pos < seg->size) {
        uint8_t h[RB_BATCH_HEADER_BYTES];
        if (seg->size - pos < sizeof(h)) {
            r = -EUCLEAN;
            break;
        }
        r = rb_segment_pread(seg, log->dir, h, sizeof(h), pos);
        if (r)
            break;
        const uint8_t *p = h;
        struct rb_batch_info bi;
        bi.base_offset = (int64_t)get64(&p);
        bi.batch_length = (int32_t)get32(&p);
        p = h + 23;
        bi.last_offset_delta = (int32_t)get32(&p);
        p = h + 35;
        bi.max_timestamp = (int64_t)get64(&p);
        bi.producer_id = (int64_t)get64(&p);
        bi.producer_epoch = (int16_t)get16(&p);
        bi.base_sequence = (int32_t)get32(&p);
        if (bi.batch_length < (int32_t)(RB_BATCH_HEADER_BYTES - RB_BATCH_LOG_OVERHEAD) ||
            (uint64_t)bi.batch_length + RB_BATCH_LOG_OVERHEAD > seg->size - pos) {
            r = -EUCLEAN;
            break;
        }
        if (bi.producer_id >= 0 && bi.base_offset + bi.last_offset_delta >= from) {
            struct ps_entry *e = ps_get_or_add(ps, bi.producer_id);
            if (!e) {
                r = -ENOMEM;
                break;
            }
            struct ps_batch nb = {bi.base_sequence,
                                  rb_pstate_last_seq(bi.base_sequence, bi.last_offset_delta),
                                  bi.base_offset, bi.last_offset_delta, bi.max_timestamp};
            entry_push(e, bi.producer_epoch, &nb, bi.max_timestamp);
        }
        pos += RB_BATCH_LOG_OVERHEAD + (uint64_t)bi.batch_length;
    }
    if (!was_open && si < log->n_segs - 1 && log->rd_open_seg != si)
        rb_segment_close_fds(seg);
    return r;
}

/* The same from the listing rb_log_open made (log->snaps): no directory read. */
static int load_listed_snapshot(struct rb_pstate *ps, struct rb_log *log, int64_t max_offset,
                                int64_t *offset)
{
    char path[4096];
    int64_t best = -1;
    for (int i = 0; i < log->n_snaps; i++) {
        int64_t off = log->snaps[i];
        if (off > max_offset) {
            if (!snap_path(path, sizeof(path), log->dir, off, RB_PSTATE_SNAP_EXT))
                unlink(path);
        } else if (off > best) {
            best = off;
        }
    }
    free(log->snaps);
    log->snaps = NULL;
    log->n_snaps = 0;
    log->snaps_listed = false;
    if (best < 0)
        return -ENOENT;
    int r = snap_path(path, sizeof(path), log->dir, best, RB_PSTATE_SNAP_EXT);
    if (!r)
        r = rb_pstate_snapshot_read(ps, path, offset);
    if (r) {
        RB_WARN(COMP, "ignoring producer snapshot %s: %s", path, strerror(-r));
        return -ENOENT;
    }
    return 0;
}

int rb_pstate_recover(struct rb_pstate *ps, struct rb_log *log, int64_t cutoff_ms)
{
    ps_clear(ps);
    int64_t end = rb_log_end_offset(log), from = -1;
    int lr = log->snaps_listed ? load_listed_snapshot(ps, log, end, &from)
                               : load_newest_snapshot(ps, log->dir, end, &from);
    if (lr)
        from = -1;
    if (from < log->start_offset)
        from = log->start_offset;
    int r = 0;
    for (int i = 0; i < log->n_segs && !r; i++)
        if (log->segs[i].end_offset > from)
            r = replay_segment(ps, log, i, from);
    if (r) {
        RB_ERROR(COMP, "producer state of %s: replay failed: %s", log->dir, strerror(-r));
        ps_clear(ps);
        return r;
    }
    rb_pstate_expire(ps, cutoff_ms);
    return 0;
}

int rb_pstate_snapshot_log(struct rb_pstate *ps, struct rb_log *log)
{
    return rb_pstate_snapshot_write(ps, log->dir, rb_log_end_offset(log));
}

int rb_pstate_snapshot_log_tmp(struct rb_pstate *ps, struct rb_log *log)
{
    return snapshot_write(ps, log->dir, rb_log_end_offset(log), false);
}

int rb_pstate_snapshot_log_publish(struct rb_log *log)
{
    char path[4096];
    int r = snap_path(path, sizeof(path), log->dir, rb_log_end_offset(log), RB_PSTATE_SNAP_EXT);
    return r ? r : rb_file_publish_tmp(path);
}

void rb_pstate_snapshot_log_prune(struct rb_log *log)
{
    remove_snapshots(log->dir, rb_log_end_offset(log), -1);
}
