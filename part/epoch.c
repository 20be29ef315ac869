/*
 * part/epoch.c - leader epochs of a partition on its owner shard: the epoch its
 * leader stamps into appended batches (from the role coord applies), KIP-320
 * fencing of a request's current_leader_epoch, OffsetForLeaderEpoch answers from
 * the log's epoch cache (storage/epoch_cache.h), truncation of the log's end, and
 * the follower's decision where to truncate after a leader change.
 *
 * Fencing (Kafka's Partition.checkCurrentLeaderEpoch): a request naming an epoch
 * older than the partition's is FENCED_LEADER_EPOCH (the client's metadata is
 * stale), a newer one UNKNOWN_LEADER_EPOCH (ours is: it retries), checked before
 * the role, on followers as on leaders; -1 (not given) is never fenced.
 * Truncation is blocking (unlinks, ftruncate, fsyncs; rb_log_truncate_to), like
 * the rebuild of producer state after it: rare (a follower after a leader change),
 * never per request.
 */
#include "part/part_int.h"

#include "core/defect.h"
#include "core/logging.h"
#include "storage/producer_state.h"

#include <errno.h>
#include <inttypes.h>

#define COMP "part"

/* Producers idle this long are forgotten after a rebuild (table.c's rule). */
#define EPOCH_PSTATE_EXPIRATION_MS (24LL * 3600 * 1000)

void rb_part_epoch_role(struct rb_part *p)
{
    if (p->role != RB_PART_LEADER) {
        rb_log_set_stamp_epoch(p->log, -1); /* a follower keeps the leader's epochs */
        return;
    }
    rb_log_set_stamp_epoch(p->log, p->leader_epoch);
    if (rb_log_begin_epoch(p->log, p->leader_epoch))
        RB_WARN(COMP, "%s-%d: epoch %d not recorded (no memory): its first batch records it",
                p->topic, p->index, p->leader_epoch);
}

int16_t rb_part_fence(const struct rb_part *p, bool check, int32_t current_leader_epoch)
{
    if (!check || current_leader_epoch < 0)
        return RB_KERR_NONE;
    if (current_leader_epoch < p->leader_epoch)
        return RB_KERR_FENCED_LEADER_EPOCH;
    if (current_leader_epoch > p->leader_epoch)
        return RB_KERR_UNKNOWN_LEADER_EPOCH;
    return RB_KERR_NONE;
}

int16_t rb_part_read_diverging(struct rb_part *p, struct rb_part_read *r)
{
    r->diverged = false;
    if (!r->check_epoch || r->last_fetched_epoch < 0)
        return RB_KERR_NONE;
    int32_t e;
    int64_t end;
    rb_log_epoch_end_offset(p->log, r->last_fetched_epoch, &e, &end);
    if (e < 0 || end < 0)
        return RB_KERR_OFFSET_OUT_OF_RANGE; /* as Kafka: nothing to diverge from */
    if (e < r->last_fetched_epoch || end < r->offset) {
        r->diverged = true;
        r->diverging_epoch = e;
        r->diverging_end_offset = end;
    }
    return RB_KERR_NONE;
}

void rb_part_epoch_end(struct rb_part_shard *ps, struct rb_part_epoch_q *q)
{
    q->end_epoch = -1;
    q->end_offset = -1;
    q->it.error = RB_KERR_NONE;
    struct rb_part *p = rb_part_live(ps, &q->it.key);
    if (!p) {
        q->it.error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    int16_t err = rb_part_fence(p, true, q->current_leader_epoch);
    if (!err && p->role != RB_PART_LEADER)
        err = RB_KERR_NOT_LEADER_OR_FOLLOWER;
    if (!err && rb_part_check_offline(p))
        err = RB_KERR_KAFKA_STORAGE_ERROR;
    q->it.error = err;
    if (!err)
        rb_log_epoch_end_offset(p->log, q->leader_epoch, &q->end_epoch, &q->end_offset);
}

int rb_part_latest_epoch(struct rb_part_shard *ps, const struct rb_part_key *k, int32_t *epoch,
                         int64_t *log_end)
{
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    *epoch = rb_log_latest_epoch(p->log, NULL);
    *log_end = rb_log_end_offset(p->log);
    return 0;
}

int rb_part_truncate_to(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t offset)
{
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    if (rb_part_check_offline(p))
        return -EIO;
    if (p->durable_head || p->blocked_head || p->flushing)
        return -EAGAIN; /* appends in flight: answer them first */
    int err = rb_log_truncate_to(p->log, offset);
    if (err == -EIO)
        (void)rb_part_check_offline(p);
    if (err)
        return err;
    /* producer state: from the newest snapshot at or below the new end (later ones
     * are removed) and the batch headers after it */
    if (rb_pstate_recover(p->pstate, p->log, rb_wall_ms() - EPOCH_PSTATE_EXPIRATION_MS))
        RB_WARN(COMP, "%s-%d: producer state not rebuilt after truncation", p->topic, p->index);
    RB_ASSERT(rb_part_hw(p) <= rb_log_end_offset(p->log));
    return 0;
}

int rb_part_diverged(struct rb_part_shard *ps, const struct rb_part_key *k, int32_t leader_epoch,
                     int64_t leader_end, int64_t high_watermark, int64_t *fetch_from)
{
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    int64_t leo = rb_log_end_offset(p->log), target;
    bool done = true;
    if (leader_end < 0) {
        /* the leader knows no such epoch: Kafka falls back to the high watermark */
        target = RB_MIN(RB_MAX(high_watermark, rb_log_start_offset(p->log)), leo);
    } else if (leader_epoch < 0) {
        target = RB_MIN(leader_end, leo);
    } else {
        int32_t mine;
        int64_t my_end;
        rb_log_epoch_end_offset(p->log, leader_epoch, &mine, &my_end);
        if (my_end < 0) {
            target = RB_MIN(leader_end, leo);
        } else if (mine != leader_epoch) {
            /* we never had the leader's epoch: cut to where our floor epoch ends and
             * ask again with the epoch before it */
            target = my_end;
            done = false;
        } else {
            target = RB_MIN(leader_end, my_end);
        }
    }
    int err = 0;
    if (target < leo && !RB_DEFECT(NO_TRUNCATE))
        err = rb_part_truncate_to(ps, k, target);
    else if (target >= leo) /* an epoch we led without a batch goes (Kafka's truncateTo) */
        err = rb_log_truncate_to(p->log, leo);
    if (err)
        return err;
    *fetch_from = rb_log_end_offset(p->log);
    return done ? 0 : 1;
}
