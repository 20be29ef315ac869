/*
 * storage/checkpoint.h - Kafka's offset checkpoint files at the root of a log dir
 * (recovery-point-offset-checkpoint, log-start-offset-checkpoint,
 * replication-offset-checkpoint - the high watermarks): text, version 0,
 *   0\n<count>\n<topic> <partition> <offset>\n...
 * Written tmp + fsync + rename + fsync(dir), so a crash leaves the old or the new
 * file, never a mix. Blocking: startup, the coordination thread and shutdown only.
 */
#ifndef RB_STORAGE_CHECKPOINT_H
#define RB_STORAGE_CHECKPOINT_H

#include <stdint.h>

#define RB_CKPT_RECOVERY_POINT "recovery-point-offset-checkpoint"
#define RB_CKPT_LOG_START      "log-start-offset-checkpoint"
#define RB_CKPT_HIGH_WATERMARK "replication-offset-checkpoint"

struct rb_ckpt_entry {
    char *topic; /* owned */
    int32_t partition;
    int64_t offset;
};

struct rb_ckpt {
    struct rb_ckpt_entry *e;
    int n, cap;
    int sorted; /* rb_ckpt_find sorts once */
};

/* Copies topic. 0 or -ENOMEM. */
int rb_ckpt_add(struct rb_ckpt *c, const char *topic, int32_t partition, int64_t offset);
void rb_ckpt_free(struct rb_ckpt *c);
/* The offset recorded for topic-partition, or -1. Sorts c on first use. */
int64_t rb_ckpt_find(struct rb_ckpt *c, const char *topic, int32_t partition);

/* Parse path into *c (appending). -ENOENT when missing, -EINVAL when malformed
 * (a warning names the file and line), -ENOMEM. */
int rb_ckpt_read(const char *path, struct rb_ckpt *c);
/* Write dir/name atomically from c. 0 or -errno. */
int rb_ckpt_write(const char *dir, const char *name, const struct rb_ckpt *c);

/* Startup: the recovery point and log start offset recorded for topic-partition in
 * log_dir's checkpoint files (-1 when unknown). Loads the files on first use and
 * keeps them; single-threaded (the broker opens its logs before the shards run). */
void rb_ckpt_startup_lookup(const char *log_dir, const char *topic, int32_t partition,
                            int64_t *recovery_point, int64_t *log_start_offset);
/* Startup, likewise: the high watermark recorded in log_dir's
 * replication-offset-checkpoint (-1 when unknown). A file missing beside a
 * recovery-point file, or malformed, is warned about once and counts as empty. */
int64_t rb_ckpt_startup_hw(const char *log_dir, const char *topic, int32_t partition);

#endif
