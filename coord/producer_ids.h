/*
 * coord/producer_ids.h - allocation of idempotent-producer ids, unique for the life
 * of the broker's data and across restarts.
 *
 * Ids are handed out from a block reserved in "<first log dir>/producer-id-block"
 * (text: "version=1\nnext.block.start=<N>\n"), written tmp + fsync + rename +
 * fsync(dir) BEFORE any id of the block is handed out. On restart allocation
 * starts at the persisted next.block.start, so at most one block of ids is skipped
 * per restart and none is reused (Kafka does the same with its id blocks). On a
 * cluster broker the blocks come from the quorum's /latest_producer_id_block, as
 * ZooKeeper-era Kafka allocates them (coord/cluster_admin.c), so ids are unique
 * across the brokers.
 *
 * Threads: the allocator state lives on the coordination thread only;
 * rb_coord_alloc_producer_id posts there and `done` runs back on the caller's
 * shard. The file I/O blocks the coordination thread (once per block).
 */
#ifndef RB_COORD_PRODUCER_IDS_H
#define RB_COORD_PRODUCER_IDS_H

#include "core/shard.h"

#include <stdbool.h>
#include <stdint.h>

#define RB_PID_BLOCK_SIZE 1000
#define RB_PID_BLOCK_FILE "producer-id-block"

struct rb_pid_block {
    char dir[4096];
    bool loaded;
    int64_t next; /* next id to hand out */
    int64_t end;  /* first id not reserved on disk */
};

/* Pure allocator (tests and the coord thread): init for dir (nothing read yet). */
void rb_pid_block_init(struct rb_pid_block *b, const char *dir);
/* Next id: loads the file on first use, reserves (persists) a new block when the
 * current one is used up. 0 or -errno (nothing handed out then). */
int rb_pid_block_alloc(struct rb_pid_block *b, int64_t *id_out);

/* From a shard: allocate one id on the coord thread; done(s, err, id, arg) runs on
 * `from` with err 0 or -errno. dir is the first log dir (must outlive the call). */
typedef void (*rb_pid_done_fn)(struct rb_shard *s, int err, int64_t id, void *arg);
void rb_coord_alloc_producer_id(struct rb_shard *from, const char *dir, rb_pid_done_fn done,
                                void *arg);

#endif
