/*
 * storage/disk_uring.h - struct rb_disk on a shard's io_uring: the production
 * implementation of storage/disk.h. Operations must be submitted on the shard's
 * own thread; completions run from its loop.
 */
#ifndef RB_STORAGE_DISK_URING_H
#define RB_STORAGE_DISK_URING_H

#include "core/shard.h"
#include "storage/disk.h"

struct rb_disk rb_disk_uring(struct rb_shard *s);

#endif
