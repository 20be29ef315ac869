/*
 * storage/disk_fault.h - a fault-injecting struct rb_disk wrapped around another
 * one (the shard's io_uring disk in the broker): a testing aid for the storage
 * fault tests (tests/integration/t_fault_fsync.sh), never enabled by default.
 *
 * The broker builds one for a single partition when the test-only config keys
 * test.fault.partition=<topic>-<p> and test.fault.fsync.fail.after=<N> are set
 * (coord/standalone.c): the first N fdatasyncs of that partition's log go through
 * unchanged, every later one is still submitted to the inner disk but completes
 * with -EIO, as a disk whose write-back failed would report it. Writes always
 * pass through.
 */
#ifndef RB_STORAGE_DISK_FAULT_H
#define RB_STORAGE_DISK_FAULT_H

#include "storage/disk.h"

/* Wrap inner: fdatasyncs after the first fsync_fail_after (>= 0) ones fail with
 * -EIO. The wrapper's state lives until the process exits (a test aid: one per
 * faulted partition). Returns 0 or -ENOMEM. Thread: used by the inner disk's
 * owner only, like any struct rb_disk. */
int rb_disk_fault_wrap(struct rb_disk inner, long fsync_fail_after, struct rb_disk *out);

/* How many fdatasyncs of this wrapper were failed so far (0 for a disk that is not a
 * fault wrapper). */
long rb_disk_fault_injected(struct rb_disk d);

#endif
