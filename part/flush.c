/*
 * part/flush.c - the group-commit turn of a shard: every loop turn, a flush
 * (writes + fdatasync through the ring) starts for each dirty partition that has
 * none in flight; when it completes, every append waiting for an offset now
 * durable is answered, parked reads are re-run, and appends refused for lack of
 * buffer room (-ENOBUFS) are retried in order. While one flush is in flight, new
 * appends accumulate and go out together in the next one. The log also refuses
 * with -ENOBUFS while a segment roll or preallocation it needs runs in the
 * background (storage/log_seg.c); that flush's callback waits for it, so the
 * retry finds room. A partition is dropped or closed only once rb_log_busy is
 * false.
 *
 * Relaxed durability (topic flush.messages / flush.ms, broker
 * log.flush.interval.messages / .ms; default 1 = every acknowledged append is
 * fdatasync'd): with flush.messages > 1 a flush cycle only WRITES the dirty chunks
 * (rb_log_write_out) unless a sync is due - flush.messages messages appended since
 * the last sync, flush.ms elapsed since it (a per-partition timer brings it even
 * when appends stop), or appends blocked for room. "Acknowledged" then means
 * written through O_DIRECT (survives a broker crash, not a power loss before the
 * deferred sync) - Kafka's equivalent is "in the page cache". The high watermark
 * is the log's written end, which moves on write completion; with the default it
 * equals the durable end. The recovery-point checkpoint stays at the durable end.
 *
 * Owns: the shard's dirty list and its flush counters (struct rb_part_stats).
 * Invariants (asserted on completion): durable end <= written end <= log end; an
 * append is answered only once the written end covers its last offset.
 * Fault model: a failed flush takes the log offline (storage decides; the page
 * cache may have dropped the data, so no retry): waiting appends get
 * KAFKA_STORAGE_ERROR, and so does later work on the partition.
 */
#include "part/part_int.h"

#include "core/logging.h"

#include <string.h>

#define COMP "partition"

static void flush_done(struct rb_log *log, int res, void *arg);

/* Retry the appends refused with -ENOBUFS, in order, until one is refused again. */
static void retry_blocked(struct rb_part *p, int res)
{
    struct rb_part_shard *ps = p->ps;
    while (p->blocked_head) {
        struct rb_part_item *it = rb_part_wpop(&p->blocked_head, &p->blocked_tail);
        if (res < 0) {
            rb_part_item_finish(ps, it, RB_KERR_KAFKA_STORAGE_ERROR);
            continue;
        }
        /* Detach the rest so a refused append goes back to the front, not the end. */
        struct rb_part_item *rest_head = p->blocked_head, *rest_tail = p->blocked_tail;
        p->blocked_head = p->blocked_tail = NULL;
        int finished = rb_part_append_more(p, (struct rb_part_append *)it);
        bool refused = p->blocked_head == it;
        if (rest_head) {
            rest_head->wprev = p->blocked_tail;
            if (p->blocked_tail)
                p->blocked_tail->wnext = rest_head;
            else
                p->blocked_head = rest_head;
            p->blocked_tail = rest_tail;
        }
        if (finished)
            rb_part_item_finish(ps, it, 0);
        if (refused)
            break; /* no room yet: wait for the next flush */
    }
}

static void flush_done(struct rb_log *log, int res, void *arg)
{
    struct rb_part *p = arg;
    struct rb_part_shard *ps = p->ps;
    struct rb_shard *s = ps->shard;
    RB_ASSERT(p->flushing && ps->flushes_in_flight > 0);
    p->flushing = false;
    ps->flushes_in_flight--;
    if (res >= 0) {
        int64_t us = rb_metrics_now_us() - p->flush_start_us;
        rb_hist_add(&ps->m.flush_ms, (uint64_t)(us / 1000));
        if (p->syncing)
            rb_hist_add(&ps->m.fsync_us, (uint64_t)us);
    }
    if (res < 0) {
        RB_ERROR(COMP, "partition %s-%d is offline: flush failed: %s", p->topic, p->index,
                 strerror(-res));
        (void)rb_part_check_offline(p);
    }
    if (res >= 0 && p->syncing) {
        p->last_sync_ms = s->now_ms;
        rb_timer_cancel(&s->timers, &p->sync_timer);
    }
    int64_t we = rb_log_written_end(log); /* == durable end unless relaxed */
    RB_ASSERT(rb_log_durable_end(log) <= we && we <= rb_log_end_offset(log));
    RB_ASSERT(rb_part_hw(p) <= we);
    while (p->durable_head) {
        struct rb_part_append *a = (struct rb_part_append *)p->durable_head;
        if (res >= 0 && a->wait_end > we)
            break;
        RB_ASSERT(res < 0 || a->wait_end <= we);
        rb_part_wpop(&p->durable_head, &p->durable_tail);
        /* acks=all: durable here, then the ISR (part/isr.c) */
        if (res < 0 || a->acks == 1 || rb_part_isr_park(p, a))
            rb_part_item_finish(ps, &a->it, res < 0 ? RB_KERR_KAFKA_STORAGE_ERROR : 0);
    }
    if (res < 0)
        rb_part_isr_fail(p, RB_KERR_KAFKA_STORAGE_ERROR);
    retry_blocked(p, res);
    rb_part_isr_advance(p); /* the leader's own end moved: the HW may too */
    rb_part_wake_readers(ps, p);
    if (res >= 0 && rb_log_dirty(log))
        rb_part_mark_dirty(p);
    if (res >= 0 && p->role == RB_PART_FOLLOWER && ps->follower_written)
        ps->follower_written(ps->follower_written_arg); /* its next fetch may go */
}

/* Relaxed durability: with flush.messages > 1 a flush only writes (the ack and the
 * high watermark follow the write) unless a sync is due: flush.messages appended
 * since the last sync, flush.ms elapsed since it, or appends blocked by a roll
 * (it seals a durable segment). Appends blocked for room (preallocation, the
 * dirty budget) need no sync: a write-only flush calls back once there is room. */
static bool sync_due(struct rb_part_shard *ps, struct rb_part *p)
{
    int64_t msgs, ms;
    rb_log_flush_policy(p->log, &msgs, &ms);
    if (msgs <= 1 || (p->blocked_head && rb_log_sync_wanted(p->log)))
        return true;
    if (rb_log_end_offset(p->log) - rb_log_durable_end(p->log) >= msgs)
        return true;
    return ms >= 0 && ps->shard->now_ms - p->last_sync_ms >= ms;
}

/* Start a syncing or write-only flush of p; -EALREADY: nothing to do now (the
 * flush.ms timer is armed when set). */
static int part_flush(struct rb_part_shard *ps, struct rb_part *p)
{
    p->syncing = sync_due(ps, p);
    if (p->syncing)
        return rb_log_flush(p->log, flush_done, p);
    int r = rb_log_write_out(p->log, flush_done, p);
    int64_t msgs, ms;
    rb_log_flush_policy(p->log, &msgs, &ms);
    if (ms >= 0 && !rb_timer_armed(&p->sync_timer) &&
        rb_timer_arm(&ps->shard->timers, &p->sync_timer, rb_deadline_after(p->last_sync_ms, ms)))
        RB_WARN(COMP, "%s-%d: no flush.ms timer (out of memory)", p->topic, p->index);
    return r;
}

static void start_flushes(struct rb_part_shard *ps)
{
    struct rb_part *p = ps->dirty_head;
    ps->dirty_head = NULL;
    uint64_t started = 0;
    while (p) {
        struct rb_part *next = p->dirty_next;
        p->in_dirty_list = false;
        p->dirty_next = NULL;
        if (!p->flushing && (rb_log_dirty(p->log) || p->blocked_head)) {
            int r = part_flush(ps, p);
            if (r == -EALREADY) {
                /* written, sync not due: flush.ms (if set) brings it */
            } else if (r == 0) {
                p->flush_start_us = rb_metrics_now_us();
                p->flushing = true;
                ps->flushes_in_flight++;
                started++;
                if (p->syncing)
                    rb_part_stat_add(&ps->stats.syncs, 1);
            } else if (r != -EBUSY) {
                /* offline: answer everyone waiting with the error */
                p->flushing = true;
                ps->flushes_in_flight++;
                flush_done(p->log, r, p);
            }
        }
        p = next;
    }
    if (started) {
        rb_part_stat_add(&ps->stats.flush_cycles, 1);
        rb_part_stat_add(&ps->stats.flushes, started);
    }
}

void rb_part_turn(struct rb_part_shard *ps)
{
    rb_part_maint_turn(ps);
    if (ps->dirty_head)
        start_flushes(ps);
}

bool rb_part_idle(struct rb_part_shard *ps)
{
    if (ps->flushes_in_flight || ps->dirty_head || ps->vt_out)
        return false;
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++)
        for (struct rb_part *p = ps->buckets[i]; p; p = p->hnext)
            if (rb_log_busy(p->log))
                return false;
    return true;
}
