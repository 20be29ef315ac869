/*
 * part/fdcache.c - the shard's bounded cache of segment descriptors lent to fetch
 * responses: no descriptor per fetch entry.
 *
 * A fetch hands file bytes to the connection's shard (maybe another thread),
 * which reads or splices them after the owner has moved on; the segment's own
 * descriptor may be closed meanwhile (storage keeps one closed segment open, and
 * retention or a topic deletion closes and unlinks files). So the bytes travel
 * with a reference to an entry of this cache: one dup() per segment file (keyed by
 * device and inode, so every entry of every fetch that reads one segment shares
 * it), kept open while any response holds it and then until its slot is needed
 * (least recently used first), or until it has been unused for
 * RB_FDCACHE_IDLE_MS (rb_part_fd_trim, from the shard's turn: a descriptor of a
 * segment retention deleted must not keep its space). The cache has a fixed
 * number of slots
 * (rb_fdcache_slots: a share of RLIMIT_NOFILE per shard, 16..256), so fetches
 * never hold more descriptors than that, however many entries or pipelined
 * requests they carry.
 *
 * Threads: the owner shard alone looks up, fills and evicts slots; any thread
 * drops a reference (rb_part_fd_unref: an atomic decrement, release order). A slot
 * is reused only when its count reads 0 (acquire), after which no holder touches
 * the descriptor again. The slots live as long as the partition shard.
 * Fairness: one fetch's reads on a shard take at most rb_fdcache_request_cap
 * slots (an eighth), and the last quarter of the slots is kept for the first file
 * read of a fetch, so a fetch from another client still gets its first partition
 * when hostile or slow readers hold the rest (each of their connections has one
 * big fetch in flight at a time: net/conn.c's budget).
 * Direct reads (rb_fdcache_set_direct, fetch.file.direct): a slot's descriptor is
 * then a new open file description of the segment with O_DIRECT (opened through
 * /proc/self/fd, so an unlinked segment still opens), read in 4 KiB-aligned steps
 * by net/resp_send.c: the segments are written with O_DIRECT, so the page cache
 * does not hold them, and a buffered read of them fills it at a third of the
 * disk's speed here (MACHINE.md; perf/RESULTS.md fetch rows). Where O_DIRECT
 * cannot open (tmpfs, no /proc) the slot falls back to a dup() and says so
 * (rb_fdcache_ref_direct).
 * Fault model: when no slot may be taken (or dup fails), the lookup says so and
 * the read returns no file bytes for that entry this time (the consumer asks
 * again), never a new descriptor.
 */
#include "part/part_int.h"

#include "core/logging.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMP "partition"
/* A free slot unused this long is closed: a deleted segment's space comes back. */
#define RB_FDCACHE_IDLE_MS 5000

struct rb_fd_ref {
    _Atomic int32_t refs;
    int fd;      /* -1: free slot */
    bool direct; /* fd was opened with O_DIRECT */
    dev_t dev;
    ino_t ino;
    uint64_t used;   /* tick of the last lookup, for LRU */
    int64_t used_ms; /* time of the last lookup, for the idle trim */
};

struct rb_fdcache {
    struct rb_fd_ref *slot;
    uint32_t n;
    uint64_t tick;
    int64_t full_logged_ms;
    uint64_t full_count;
    int64_t trimmed_ms;
    bool direct; /* fill slots with O_DIRECT descriptors when the file system allows */
};

uint32_t rb_fdcache_slots(int num_shards)
{
    struct rlimit rl;
    uint64_t lim = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        lim = rl.rlim_cur;
    uint64_t n = lim / (8 * (uint64_t)(num_shards > 0 ? num_shards : 1));
    return (uint32_t)RB_MAX(RB_MIN(n, 256), 16);
}

struct rb_fdcache *rb_fdcache_new(uint32_t slots)
{
    struct rb_fdcache *fc = calloc(1, sizeof(*fc));
    if (!fc)
        return NULL;
    fc->slot = calloc(slots, sizeof(*fc->slot));
    if (!fc->slot) {
        free(fc);
        return NULL;
    }
    fc->n = slots;
    for (uint32_t i = 0; i < slots; i++)
        fc->slot[i].fd = -1;
    return fc;
}

void rb_fdcache_free(struct rb_fdcache *fc)
{
    if (!fc)
        return;
    for (uint32_t i = 0; i < fc->n; i++)
        if (fc->slot[i].fd >= 0)
            close(fc->slot[i].fd);
    free(fc->slot);
    free(fc);
}

void rb_fdcache_set_direct(struct rb_fdcache *fc, bool on)
{
    fc->direct = on;
}

bool rb_fdcache_ref_direct(const struct rb_fd_ref *ref)
{
    return ref->direct;
}

/* A descriptor of src_fd's file for a slot: O_DIRECT when asked and possible,
 * else a dup(). -1 (errno set) when neither works. */
static int slot_fd(const struct rb_fdcache *fc, int src_fd, bool *direct)
{
    *direct = false;
    if (fc->direct) {
        char path[40];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", src_fd);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
        if (fd >= 0) {
            *direct = true;
            return fd;
        }
    }
    return fcntl(src_fd, F_DUPFD_CLOEXEC, 0);
}

uint32_t rb_fdcache_open(const struct rb_fdcache *fc)
{
    uint32_t open = 0;
    for (uint32_t i = 0; i < fc->n; i++)
        open += fc->slot[i].fd >= 0;
    return open;
}

void rb_part_fd_unref(struct rb_fd_ref *ref)
{
    if (!ref)
        return;
    int32_t before = atomic_fetch_sub_explicit(&ref->refs, 1, memory_order_release);
    RB_ASSERT(before > 0);
}

void rb_part_fd_hold(struct rb_fd_ref *ref)
{
    int32_t before = atomic_fetch_add_explicit(&ref->refs, 1, memory_order_relaxed);
    RB_ASSERT(before > 0); /* only a holder adds one: the slot cannot be reused meanwhile */
}

uint32_t rb_part_fd_hold_cap(int num_shards)
{
    uint32_t n = (uint32_t)(num_shards > 0 ? num_shards : 1);
    return rb_fdcache_slots((int)n) / (4 * n);
}

static struct rb_fd_ref *take(struct rb_fdcache *fc, struct rb_fd_ref *e, int64_t now_ms)
{
    e->used = ++fc->tick;
    e->used_ms = now_ms;
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    return e;
}

uint32_t rb_fdcache_request_cap(const struct rb_fdcache *fc)
{
    return RB_MAX(fc->n / 8, 1u);
}

struct rb_fd_ref *rb_fdcache_get(struct rb_fdcache *fc, int src_fd, bool first, int64_t now_ms,
                                 int *fd_out)
{
    struct stat st;
    if (fstat(src_fd, &st) < 0)
        return NULL;
    struct rb_fd_ref *victim = NULL;
    uint32_t held = 0;
    for (uint32_t i = 0; i < fc->n; i++) {
        struct rb_fd_ref *e = &fc->slot[i];
        if (e->fd >= 0 && e->dev == st.st_dev && e->ino == st.st_ino) {
            *fd_out = e->fd;
            return take(fc, e, now_ms);
        }
        if (e->fd >= 0 && atomic_load_explicit(&e->refs, memory_order_acquire) != 0) {
            held++;
            continue;
        }
        if (!victim || (victim->fd >= 0 && (e->fd < 0 || e->used < victim->used)))
            victim = e;
    }
    if (!first && held >= fc->n - fc->n / 4)
        victim = NULL; /* the last quarter is kept for the first read of a fetch */
    bool direct = false;
    int fd = victim ? slot_fd(fc, src_fd, &direct) : -1;
    if (fd < 0 && victim && victim->fd >= 0) { /* at the fd limit: give the victim's back */
        close(victim->fd);
        victim->fd = -1;
        fd = slot_fd(fc, src_fd, &direct);
    }
    if (fd < 0) {
        fc->full_count++;
        if (!fc->full_logged_ms || now_ms - fc->full_logged_ms >= 10000) {
            RB_WARN(COMP,
                    "fetch descriptors: all %u slots held by unsent responses (%llu reads "
                    "deferred); entries get no file bytes until they drain",
                    fc->n, (unsigned long long)fc->full_count);
            fc->full_logged_ms = now_ms ? now_ms : 1;
            fc->full_count = 0;
        }
        return NULL;
    }
    if (victim->fd >= 0)
        close(victim->fd);
    victim->fd = fd;
    victim->direct = direct;
    victim->dev = st.st_dev;
    victim->ino = st.st_ino;
    *fd_out = fd;
    return take(fc, victim, now_ms);
}

void rb_fdcache_trim(struct rb_fdcache *fc, int64_t now_ms)
{
    if (now_ms - fc->trimmed_ms < RB_FDCACHE_IDLE_MS / 4)
        return;
    fc->trimmed_ms = now_ms;
    for (uint32_t i = 0; i < fc->n; i++) {
        struct rb_fd_ref *e = &fc->slot[i];
        if (e->fd >= 0 && now_ms - e->used_ms >= RB_FDCACHE_IDLE_MS &&
            atomic_load_explicit(&e->refs, memory_order_acquire) == 0) {
            close(e->fd);
            e->fd = -1;
        }
    }
}

void rb_part_fd_trim(struct rb_part_shard *ps)
{
    rb_fdcache_trim(ps->fdcache, ps->shard->now_ms);
}
