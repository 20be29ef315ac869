/*
 * part/follow.c - replication on a follower: the record batches a replica fetch
 * brought from the leader are appended at the leader's offsets, byte for byte
 * (the leader epoch and timestamps as the leader stored them), through the log's
 * group commit like any append; the idempotent producers' state follows the
 * appended batches, so a follower that becomes leader dedups retries of batches it
 * only replicated. The follower's high watermark is min(the leader's, its own
 * written end) (rb_part_follower_hw, part/isr.c).
 *
 * Owns: rb_part_append_replica, the position a follower fetches from, and its
 * log start following the leader's (rb_part_follow_log_start); the hook that
 * tells the fetchers a follower flush is done (called from part/flush.c).
 * Invariants: the log stays dense - a batch is appended only when it starts at
 * the log end; batches already here (ending below the log end) are skipped, so a
 * fetch that overlaps what was appended (a retried fetch) is harmless.
 * Fault model: the bytes come from another broker: every batch is checked (header,
 * CRC, counts) before anything of the response is appended; a batch that
 * straddles or skips the log end means the logs diverged (-EILSEQ: the caller
 * truncates after OffsetForLeaderEpoch) and nothing is appended. A partial batch
 * at the end of the records (the leader's size cut) is left for the next fetch.
 */
#include "part/part_int.h"

#include "core/logging.h"
#include "storage/batch.h"
#include "storage/producer_state.h"

#include <errno.h>
#include <string.h>

#define COMP "follow"

/* Check every whole batch of records: the byte count of the whole ones, or
 * -EBADMSG. */
static int64_t check_batches(const uint8_t *rec, uint32_t len)
{
    uint32_t off = 0;
    while (off < len) {
        struct rb_batch_info bi;
        enum rb_batch_status st = rb_batch_parse(rec + off, len - off, &bi);
        if (st == RB_BATCH_TRUNCATED)
            break; /* the leader's size cut: the rest comes next time */
        if (st == RB_BATCH_OK)
            st = rb_batch_validate(rec + off, len - off, &bi);
        if (st != RB_BATCH_OK || bi.base_offset < 0 || bi.record_count <= 0 ||
            bi.last_offset_delta + 1 != bi.record_count)
            return -EBADMSG;
        off += rb_batch_total_bytes(&bi);
    }
    return off;
}

int rb_part_append_replica(struct rb_part_shard *ps, const struct rb_part_key *k,
                           const uint8_t *records, uint32_t len, int64_t leader_hw, int *appended)
{
    *appended = 0;
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    if (p->role != RB_PART_FOLLOWER)
        return -EPERM;
    if (rb_part_check_offline(p))
        return -EIO;
    int64_t whole = check_batches(records, len);
    if (whole < 0) {
        RB_WARN(COMP, "%s-%d: the leader sent a batch that fails its checks", p->topic, p->index);
        return (int)whole;
    }
    int r = 0;
    uint32_t off = 0;
    while (off < (uint32_t)whole) {
        struct rb_batch_info bi;
        RB_ASSERT(rb_batch_parse(records + off, (uint32_t)whole - off, &bi) == RB_BATCH_OK);
        const uint8_t *b = records + off;
        off += rb_batch_total_bytes(&bi);
        int64_t end = rb_log_end_offset(p->log);
        int64_t last = bi.base_offset + bi.last_offset_delta;
        if (last < end)
            continue; /* already here */
        if (bi.base_offset != end) {
            RB_WARN(COMP,
                    "%s-%d: the leader's batch [%lld, %lld] does not start at the log end %lld",
                    p->topic, p->index, (long long)bi.base_offset, (long long)last, (long long)end);
            r = -EILSEQ;
            break;
        }
        /* the producer's entry exists before the update (rb_pstate_check); the
         * verdict is the leader's business, the follower keeps what it stored */
        if (bi.producer_id >= 0 &&
            rb_pstate_check(p->pstate, &bi, &(struct rb_pstate_dup){0}) < 0) {
            r = -ENOMEM;
            break;
        }
        r = rb_log_append_replica(p->log, b, &bi, rb_wall_ms());
        if (r) {
            if (r == -ENOSPC && !p->disk_full)
                RB_WARN(COMP, "replica append to %s-%d: %s", p->topic, p->index, strerror(-r));
            p->disk_full = r == -ENOSPC;
            break;
        }
        RB_ASSERT(rb_log_end_offset(p->log) == last + 1);
        p->disk_full = false;
        rb_pstate_update(p->pstate, &bi, bi.base_offset, rb_wall_ms());
        rb_part_stat_add(&ps->stats.bytes, rb_batch_total_bytes(&bi));
        (*appended)++;
    }
    if (*appended)
        rb_part_mark_dirty(p);
    /* not over a log that diverged from the leader's: its HW would cover batches
     * the leader does not have */
    if (leader_hw >= 0 && p->repl && r != -EILSEQ)
        (void)rb_part_follower_hw(ps, k, leader_hw);
    return r;
}

void rb_part_set_follower_written(struct rb_part_shard *ps, rb_part_written_fn fn, void *arg)
{
    ps->follower_written = fn;
    ps->follower_written_arg = arg;
}

int rb_part_follow_pos(struct rb_part_shard *ps, const struct rb_part_key *k,
                       struct rb_part_follow_pos *out)
{
    memset(out, 0, sizeof(*out));
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    out->role = p->role;
    out->leader_epoch = p->leader_epoch;
    out->fetch_offset = rb_log_end_offset(p->log);
    out->log_start = rb_log_start_offset(p->log);
    out->unwritten = rb_log_unwritten(p->log);
    out->offline = rb_log_offline(p->log);
    return 0;
}

int rb_part_follow_log_start(struct rb_part_shard *ps, const struct rb_part_key *k,
                             int64_t leader_log_start)
{
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    if (p->role != RB_PART_FOLLOWER)
        return -EPERM;
    int64_t target = RB_MIN(leader_log_start, rb_log_durable_end(p->log));
    if (target <= rb_log_start_offset(p->log))
        return 0;
    struct rb_log_removed rm;
    int r = rb_log_retain(p->log, rb_wall_ms(), target, &rm);
    if (r)
        return r;
    rb_part_maint_unlink(ps, &rm);
    return 0;
}
