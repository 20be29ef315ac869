/*
 * storage/disk_sim.h - a deterministic, fault-injecting struct rb_disk for tests.
 *
 * Operations are carried out synchronously on the real files at submit time, but
 * their completions are queued and delivered only by rb_disk_sim_run(), in
 * submission order, so the disk contract (never complete inline) holds and a test
 * decides exactly when the log sees its I/O finish.
 *
 * Preallocation and file operations (fallocate, openat, rename, ftruncate) are
 * carried out at submit time too; crash does not undo them.
 *
 * Faults: fail the Nth write, sync or fallocate from now with an errno (the operation is not
 * carried out), make the Nth write short (only its first bytes reach the file), or
 * crash: every write not yet covered by a successful fdatasync of its fd is undone
 * (the old bytes and file size are restored) when lose_unsynced is set, and from then
 * on nothing completes (queued and future operations are dropped), like a machine
 * that lost power.
 */
#ifndef RB_STORAGE_DISK_SIM_H
#define RB_STORAGE_DISK_SIM_H

#include "storage/disk.h"

#include <stdbool.h>
#include <stdint.h>

struct rb_disk_sim;
struct rb_log;

struct rb_disk_sim_stats {
    uint64_t writes;        /* writev submissions */
    uint64_t syncs;         /* fdatasync submissions */
    uint64_t bytes_written; /* bytes that reached the files */
    uint64_t completions;   /* done callbacks delivered */
    uint64_t fallocates;    /* fallocate submissions */
    uint64_t meta_ops;      /* openat, rename and ftruncate submissions */
};

int rb_disk_sim_new(struct rb_disk_sim **out);
/* Drops pending completions without calling them; frees the undo records. */
void rb_disk_sim_free(struct rb_disk_sim *sim);
struct rb_disk rb_disk_sim_disk(struct rb_disk_sim *sim);

/* Deliver queued completions (including those queued by the callbacks themselves)
 * until none is left. Returns how many were delivered. */
int rb_disk_sim_run(struct rb_disk_sim *sim);
unsigned rb_disk_sim_pending(const struct rb_disk_sim *sim);
void rb_disk_sim_get_stats(const struct rb_disk_sim *sim, struct rb_disk_sim_stats *out);

/* nth = 1 is the next write (or sync) submitted. One fault of each kind is armed at a
 * time; arming again replaces it. err is a positive errno (EIO, ENOSPC, ...). */
void rb_disk_sim_fail_write(struct rb_disk_sim *sim, unsigned nth, int err);
void rb_disk_sim_fail_sync(struct rb_disk_sim *sim, unsigned nth, int err);
/* Fail the Nth fallocate from now (e.g. ENOSPC: a full disk). */
void rb_disk_sim_fail_fallocate(struct rb_disk_sim *sim, unsigned nth, int err);
/* While full is set every fallocate fails with ENOSPC (a disk that stays full). */
void rb_disk_sim_disk_full(struct rb_disk_sim *sim, bool full);
void rb_disk_sim_short_write(struct rb_disk_sim *sim, unsigned nth, uint32_t bytes);

/* Power loss now (see above). Returns 0 or -errno when undoing failed. */
int rb_disk_sim_crash(struct rb_disk_sim *sim, bool lose_unsynced);

/* Test helper: rb_log_flush(log) then run the simulated disk until its callback
 * ran; returns the callback's result, or the flush call's own error. */
int rb_disk_sim_flush_log(struct rb_disk_sim *sim, struct rb_log *log);

#endif
