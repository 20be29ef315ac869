/*
 * tests/sim/sim_disk.c - what a power loss does to the files of a simulated run.
 *
 * Model: a write through the ring reaches the file at once (so reads see it),
 * but it is volatile until an fdatasync of the same file completes after it.
 * Before each write the old bytes of its range and the file's size are saved;
 * a successful fdatasync forgets the file's saved writes (they are durable); a
 * failed one makes them all lost right away (Linux may drop the dirty pages
 * after a writeback error, so the worst case is what a broker must survive).
 *
 * At a crash, for each file, the volatile writes survive in order up to a cut
 * the seed picks; the write at the cut may be torn (a prefix of 512-byte
 * sectors reaches the disk); everything after it is undone, newest first.
 * Files are keyed by inode, so a write through one descriptor and a sync
 * through another of the same file count together.
 *
 * Not modelled: metadata (file creation, rename, fallocate, ftruncate) is
 * durable at once; writes made with plain syscalls (checkpoints written
 * synchronously by storage/) are durable at once.
 */
#include "tests/sim/sim.h"
#include "core/rb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sim_file {
    dev_t dev;
    ino_t ino;
    int fd; /* our own descriptor (buffered, read-write) */
};

struct sim_wrec {
    int file;
    uint64_t off, len;
    uint64_t old_size;
    uint8_t *old; /* len bytes, zeros past old_size */
};

static struct sim_file *files;
static int n_files, cap_files;
static struct sim_wrec *recs;
static int n_recs, cap_recs;

static int file_find(int fd, struct stat *st)
{
    if (fstat(fd, st))
        return -1;
    for (int i = 0; i < n_files; i++)
        if (files[i].dev == st->st_dev && files[i].ino == st->st_ino)
            return i;
    return -1;
}

static int file_of(int fd)
{
    struct stat st;
    int i = file_find(fd, &st);
    if (i >= 0)
        return i;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int own = open(path, O_RDWR | O_CLOEXEC);
    if (own < 0)
        return -1;
    if (n_files == cap_files) {
        cap_files = cap_files ? cap_files * 2 : 16;
        files = realloc(files, (size_t)cap_files * sizeof(*files));
        RB_ASSERT(files);
    }
    files[n_files] = (struct sim_file){st.st_dev, st.st_ino, own};
    return n_files++;
}

void sim_disk_before_write(int fd, uint64_t off, uint64_t len)
{
    int f = file_of(fd);
    RB_ASSERT(f >= 0);
    struct stat st;
    RB_ASSERT(fstat(files[f].fd, &st) == 0);
    struct sim_wrec w = {f, off, len, (uint64_t)st.st_size, calloc(1, len ? len : 1)};
    RB_ASSERT(w.old);
    ssize_t n RB_UNUSED = pread(files[f].fd, w.old, len, (off_t)off);
    if (n_recs == cap_recs) {
        cap_recs = cap_recs ? cap_recs * 2 : 64;
        recs = realloc(recs, (size_t)cap_recs * sizeof(*recs));
        RB_ASSERT(recs);
    }
    recs[n_recs++] = w;
}

/* Put back rec's old bytes from `from` (bytes into the write) on. */
static void undo(struct sim_wrec *w, uint64_t from)
{
    int fd = files[w->file].fd;
    if (from < w->len) {
        ssize_t n RB_UNUSED =
            pwrite(fd, w->old + from, (size_t)(w->len - from), (off_t)(w->off + from));
    }
    uint64_t keep_end = w->off + from;
    uint64_t size = w->old_size > keep_end ? w->old_size : (from ? keep_end : w->old_size);
    struct stat st;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > size)
        RB_ASSERT(ftruncate(fd, (off_t)size) == 0);
    sim_stats.lost_writes++;
}

static void drop(int i)
{
    free(recs[i].old);
    recs[i].old = NULL;
    recs[i].file = -1;
}

static void compact(void)
{
    int j = 0;
    for (int i = 0; i < n_recs; i++)
        if (recs[i].file >= 0)
            recs[j++] = recs[i];
    n_recs = j;
}

void sim_disk_synced(int fd)
{
    int f = file_of(fd);
    for (int i = 0; i < n_recs; i++)
        if (recs[i].file == f)
            drop(i);
    compact();
}

void sim_disk_sync_failed(int fd)
{
    int f = file_of(fd);
    for (int i = n_recs - 1; i >= 0; i--) {
        if (recs[i].file != f)
            continue;
        undo(&recs[i], 0);
        drop(i);
    }
    compact();
}

/* Where a torn write stops: a sector boundary inside the bytes it changed (a
 * tear in bytes it rewrote unchanged would be invisible). 0: no tear. */
static uint64_t tear_point(const struct sim_wrec *w)
{
    uint8_t *now = malloc(w->len ? w->len : 1);
    RB_ASSERT(now);
    ssize_t n = pread(files[w->file].fd, now, w->len, (off_t)w->off);
    uint64_t lo = 0, hi = n > 0 ? (uint64_t)n : 0;
    while (lo < hi && now[lo] == w->old[lo])
        lo++;
    while (hi > lo && now[hi - 1] == w->old[hi - 1])
        hi--;
    free(now);
    uint64_t first = (lo / 512 + 1) * 512; /* the first boundary past lo */
    if (hi <= first)
        return 0;
    return first + 512 * sim_below((hi - first + 511) / 512);
}

void sim_disk_crash(void)
{
    for (int f = 0; f < n_files; f++) {
        int k = 0;
        for (int i = 0; i < n_recs; i++)
            k += recs[i].file == f;
        if (!k)
            continue;
        int cut = (int)sim_below((uint64_t)k + 1); /* writes [0, cut) survive */
        int seen = k;
        for (int i = n_recs - 1; i >= 0; i--) {
            if (recs[i].file != f)
                continue;
            seen--;
            if (seen < cut)
                break;
            uint64_t from = 0;
            if (seen == cut && sim_faults.torn_ppm && sim_chance(sim_faults.torn_ppm))
                from = tear_point(&recs[i]);
            if (from) {
                sim_stats.torn++;
                char fp[64], path[512] = "?";
                snprintf(fp, sizeof(fp), "/proc/self/fd/%d", files[f].fd);
                ssize_t pl = readlink(fp, path, sizeof(path) - 1);
                path[pl > 0 ? pl : 0] = 0;
                SIM_LOG("power loss tears a write: %llu of %llu bytes at %llu reach %s",
                        (unsigned long long)from, (unsigned long long)recs[i].len,
                        (unsigned long long)recs[i].off, path);
            }
            undo(&recs[i], from);
        }
    }
    for (int i = 0; i < n_recs; i++)
        drop(i);
    n_recs = 0;
}

/* The storage code's own synchronous fsync/fdatasync (checkpoints, recovery):
 * this executable's definitions win over libc's. No disk flush (a run stays
 * fast); a file the ring wrote to has its writes made durable. */
static void sync_tracked(int fd)
{
    struct stat st;
    if (file_find(fd, &st) >= 0)
        sim_disk_synced(fd);
}

int fsync(int fd)
{
    sync_tracked(fd);
    return 0;
}

int fdatasync(int fd)
{
    sync_tracked(fd);
    return 0;
}

int syncfs(int fd)
{
    (void)fd;
    return 0;
}

uint64_t sim_disk_unsynced(void)
{
    return (uint64_t)n_recs;
}
