/*
 * net/log_maint.h - periodic log maintenance driven from the shards: recovery-point
 * and log-start-offset checkpoints, retention, and handing segment files to the
 * coordination thread for deletion.
 *
 * Each shard runs three timers (armed on its first loop turn):
 *   - every log.flush.offset.checkpoint.interval.ms it posts a report (topic,
 *     partition, durable end, log start offset of every partition it owns) to the
 *     coordination thread, which keeps the latest report of every shard and, once
 *     every shard has reported, rewrites both checkpoint files (blocking file I/O
 *     happens only there);
 *   - every log.retention.check.interval.ms it applies retention to its logs and
 *     posts the dropped segments' files to the coordination thread, which renames
 *     them to *.deleted (file.delete.delay.ms > 0) or unlinks them;
 *   - at least once a second it posts the *.deleted files whose delay passed to
 *     the coordination thread to unlink (one .log may be recycled instead).
 * Posts from one shard reach the coordination thread in order, so a rename
 * always runs before the unlink of the same file.
 * At shutdown each shard leaves a final report (rb_log_maint_finish, in its thread,
 * before its logs close) and the main thread writes the files after the threads
 * are joined (rb_log_maint_shutdown).
 */
#ifndef RB_NET_LOG_MAINT_H
#define RB_NET_LOG_MAINT_H

#include "net/net.h"
#include "storage/log.h"

/* Every loop turn of a shard (cheap: arms the timers once). */
void rb_log_maint_turn(struct rb_net *n);
/* A shard's last act before it closes its logs. */
void rb_log_maint_finish(struct rb_net *n);
/* Main thread, after every shard and the coordination thread stopped. */
void rb_log_maint_shutdown(struct rb_runtime *rt, const char *log_dir);

/* Hand removed segments to the coordination thread for unlinking (takes *rm). */
void rb_log_maint_unlink(struct rb_shard *s, struct rb_log_removed *rm);

#endif
