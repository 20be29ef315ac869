/*
 * part/maint.h - periodic log maintenance driven from the shards: recovery-point
 * and log-start-offset checkpoints, retention, and handing segment files to the
 * coordination thread for deletion.
 *
 * Each shard runs three timers (armed on its first loop turn, rb_part_turn):
 *   - every replica.high.watermark.checkpoint.interval.ms (5000) or
 *     log.flush.offset.checkpoint.interval.ms (60000), the shorter, it posts a
 *     report to the coordination thread: the high watermark of every partition
 *     it owns, and once a log.flush.offset.checkpoint.interval.ms (a full report)
 *     also its durable end, log start offset and changed epoch caches. The
 *     coordination thread keeps the latest of every shard and, once every shard
 *     has reported, rewrites replication-offset-checkpoint (each report) and
 *     recovery-point-offset-checkpoint and log-start-offset-checkpoint (each full
 *     one); blocking file I/O happens only there;
 *   - every log.retention.check.interval.ms it applies retention to its logs and
 *     posts the dropped segments' files to the coordination thread, which renames
 *     them to *.deleted (file.delete.delay.ms > 0) or unlinks them;
 *   - at least once a second it posts the *.deleted files whose delay passed to
 *     the coordination thread to unlink (one .log may be recycled instead).
 * Posts from one shard reach the coordination thread in order, so a rename
 * always runs before the unlink of the same file.
 * At shutdown each shard leaves a final report (rb_part_finish, in its thread,
 * after its logs' batched close, which wrote their changed epoch files: the report
 * carries the epoch caches it could not write) and the main thread writes the
 * files after the threads are joined (rb_part_maint_shutdown).
 */
#ifndef RB_PART_MAINT_H
#define RB_PART_MAINT_H

#include "core/shard.h"

/* Main thread, after every shard and the coordination thread stopped. */
void rb_part_maint_shutdown(struct rb_runtime *rt, const char *log_dir);

#endif
