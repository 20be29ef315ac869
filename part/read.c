/*
 * part/read.c - reads of a partition: fetch reads and their long poll, offsets
 * (ListOffsets), moving the log start (DeleteRecords), sizes and blocking copies
 * for internal topics.
 *
 * A read (rb_log_read) is at most one file piece followed by memory pieces (the
 * tail cache and unwritten chunks: storage/tail_cache.h). Memory is copied once,
 * here, into a buffer the item carries back (cached chunks may be evicted as soon
 * as the loop turns). The file piece is not read here: the item gets a reference
 * to the segment's descriptor in the shard's descriptor cache (part/fdcache.c:
 * one descriptor per segment file, shared by every entry that reads it, a fixed
 * number per shard) with the position and length, so no blocking read runs on
 * the owner and the bytes are copied by no one (splice) or once (read + send) by
 * the connection's shard. The reference keeps the file open if retention or a
 * topic deletion unlinks the segment meanwhile; the bytes handed out lie below
 * the log's first chunk, so they are written and never rewritten. When every
 * slot this fetch may take is held (by unsent responses, or by its own earlier
 * entries: at most an eighth of the slots per fetch and shard), an entry gets no
 * bytes this time (the consumer asks again for it).
 *
 * Long poll: a set below min_bytes parks each item on its partition's read
 * waiters and arms a timer for deadline_ms; a flush completion re-runs the set
 * (at most once per wake-up); the deadline, a cancel or a stopping shard answer
 * it with what it has. Set states: IDLE -> RUNNING -> (WAITING -> RUNNING)* -> DONE.
 *
 * Invariants (asserted): a read asks only for [log start, high watermark] (a
 * follower's: [log start, written end]) and gets
 * at most what it asked for; a parked set has every item linked and its timer
 * armed; an answered set has no item linked.
 * Fault model: a read error takes the partition offline (storage) and answers
 * KAFKA_STORAGE_ERROR; no memory answers UNKNOWN_SERVER_ERROR.
 */
#include "part/part_int.h"

#include "core/defect.h"
#include "core/logging.h"
#include "storage/compress.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "partition"

static void set_rerun(struct rb_part_shard *ps, struct rb_part_read_set *set);

void rb_part_data_clear(struct rb_part_data *d)
{
    if (d->file_len)
        rb_part_fd_unref(d->file_ref);
    free(d->mem);
    *d = (struct rb_part_data){.file_fd = -1};
}

/* Take the bytes of sl into d (empty before): memory copied, the file piece as a
 * reference to a cached descriptor. 0, -ENOMEM, -EMFILE (no descriptor slot: d
 * stays empty) or -EIO (not a read of one log). */
static int data_take(struct rb_part_shard *ps, struct rb_part_read_set *set, struct rb_part_data *d,
                     const struct rb_log_slice *sl)
{
    RB_ASSERT(!d->mem && !d->file_len);
    const struct rb_log_piece *fp = sl->n && !sl->piece[0].mem ? &sl->piece[0] : NULL;
    uint32_t file = fp ? fp->len : 0;
    for (int i = fp ? 1 : 0; i < sl->n; i++)
        if (!sl->piece[i].mem)
            return -EIO; /* file bytes after memory: not a read of one log */
    if (file) {
        int fd;
        if (set->file_refs >= rb_fdcache_request_cap(ps->fdcache))
            return -EMFILE;
        struct rb_fd_ref *ref =
            rb_fdcache_get(ps->fdcache, fp->fd, set->file_refs == 0, ps->shard->now_ms, &fd);
        if (!ref)
            return -EMFILE;
        set->file_refs++;
        d->file_fd = fd;
        d->file_direct = rb_fdcache_ref_direct(ref);
        d->file_gen = fp->gen;
        d->file_final = fp->final;
        d->file_ref = ref;
        d->file_pos = fp->file_pos;
        d->file_len = file;
    }
    uint32_t mem = sl->bytes - file;
    uint8_t *buf = NULL;
    if (mem) {
        buf = malloc(mem);
        if (!buf) {
            rb_part_data_clear(d);
            return -ENOMEM;
        }
        uint32_t off = 0;
        for (int i = fp ? 1 : 0; i < sl->n; i++) {
            memcpy(buf + off, sl->piece[i].mem, sl->piece[i].len);
            off += sl->piece[i].len;
        }
        RB_ASSERT(off == mem);
    }
    d->mem = buf;
    d->len = sl->bytes;
    return 0;
}

/* Read r's data (replacing any earlier read) within budget bytes. */
static void read_one(struct rb_part_shard *ps, struct rb_part_read_set *set, struct rb_part_read *r,
                     uint32_t budget)
{
    rb_part_data_clear(&r->data);
    r->it.error = RB_KERR_NONE;
    r->high_watermark = -1;
    r->log_start_offset = -1;
    struct rb_part *p = rb_part_live(ps, &r->it.key);
    if (!p) {
        r->it.error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    if ((r->it.error = rb_part_fence(p, r->check_epoch, r->current_leader_epoch)))
        return;
    if (rb_part_check_offline(p)) {
        r->it.error = RB_KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    if (r->replica && r->replica_error) {
        r->it.error = r->replica_error;
        return;
    }
    int64_t hw = rb_part_hw(p), ls = rb_log_start_offset(p->log);
    r->high_watermark = hw;
    r->log_start_offset = ls;
    if ((r->it.error = rb_part_read_diverging(p, r)) || r->diverged)
        return; /* no records: the fetcher truncates first */
    /* consumers read below the high watermark, followers up to the written end */
    int64_t upto = r->replica ? rb_log_written_end(p->log) : hw;
    int64_t off = r->offset;
    if (off < ls || off > upto) {
        r->it.error = RB_KERR_OFFSET_OUT_OF_RANGE;
        return;
    }
    if (off == upto || r->max_bytes <= 0)
        return;
    struct rb_log_slice sl;
    uint32_t max = RB_MIN((uint32_t)r->max_bytes, budget);
    RB_ASSERT(ls <= off && off < upto && upto <= rb_log_end_offset(p->log));
    int e = rb_log_read(p->log, off, upto, max, set->bytes == 0, &sl);
    if (e == -ERANGE) {
        r->it.error = RB_KERR_OFFSET_OUT_OF_RANGE;
        return;
    }
    if (e < 0) {
        r->it.error = RB_KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    /* at most max, except a first batch returned whole */
    RB_ASSERT(sl.bytes <= max || set->bytes == 0);
    if (sl.bytes == 0)
        return;
    e = data_take(ps, set, &r->data, &sl);
    if (e == -EMFILE)
        return; /* every descriptor slot is lent out: nothing this time */
    if (e) {
        RB_ERROR(COMP, "read of %s-%d at offset %lld failed: %s", p->topic, p->index,
                 (long long)off, strerror(-e));
        r->it.error = e == -EIO ? RB_KERR_KAFKA_STORAGE_ERROR : RB_KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    set->bytes += sl.bytes;
}

static void set_read_all(struct rb_part_shard *ps, struct rb_part_read_set *set)
{
    set->bytes = 0;
    set->file_refs = 0; /* read_one drops each item's earlier data first */
    for (int i = 0; i < set->n; i++) {
        uint32_t left =
            set->max_bytes > (int32_t)set->bytes ? (uint32_t)set->max_bytes - set->bytes : 0;
        read_one(ps, set, set->items[i], left);
    }
}

static void set_unwait(struct rb_part_shard *ps, struct rb_part_read_set *set)
{
    for (int i = 0; i < set->n; i++) {
        struct rb_part_item *it = &set->items[i]->it;
        if (!it->waiting)
            continue;
        struct rb_part *p = rb_part_get(ps, &it->key);
        RB_ASSERT(p);
        if (it->wprev)
            it->wprev->wnext = it->wnext;
        else
            p->read_waiters = it->wnext;
        if (it->wnext)
            it->wnext->wprev = it->wprev;
        it->wnext = it->wprev = NULL;
        it->waiting = false;
    }
    rb_timer_cancel(&ps->shard->timers, &set->timer);
}

/* BytesOut per topic and the memory/file split, counted once per answer. */
static void count_out(struct rb_part_shard *ps, struct rb_part_read *r)
{
    if (!r->data.len)
        return;
    struct rb_part *p = rb_part_live(ps, &r->it.key);
    if (p)
        rb_counter_add(&rb_part_mtopic(p)->v[RB_PT_BYTES_OUT], r->data.len);
    rb_counter_add(&ps->m.read_file_bytes, r->data.file_len);
    rb_counter_add(&ps->m.read_mem_bytes, r->data.len - r->data.file_len);
}

static void set_answer(struct rb_part_shard *ps, struct rb_part_read_set *set)
{
    RB_ASSERT(set->state != RB_PSET_DONE);
    for (int i = 0; i < set->n; i++) {
        RB_ASSERT(!set->items[i]->it.waiting);
        count_out(ps, set->items[i]);
    }
    set->state = RB_PSET_DONE;
    set->done(ps->shard, set, set->done_arg);
}

static bool set_satisfied(struct rb_part_shard *ps, struct rb_part_read_set *set)
{
    if ((int32_t)set->bytes >= set->min_bytes || ps->shard->now_ms >= set->deadline_ms)
        return true;
    for (int i = 0; i < set->n; i++)
        if (set->items[i]->it.error || set->items[i]->diverged)
            return true; /* errors and diverging epochs go back at once, like Kafka */
    return false;
}

static void set_timer_fired(struct rb_timer *t)
{
    struct rb_part_read_set *set = RB_CONTAINER_OF(t, struct rb_part_read_set, timer);
    struct rb_part_shard *ps = set->ps;
    RB_ASSERT(set->state == RB_PSET_WAITING);
    set_unwait(ps, set);
    set_read_all(ps, set);
    set_answer(ps, set);
}

static void set_wait_or_answer(struct rb_part_shard *ps, struct rb_part_read_set *set)
{
    struct rb_shard *s = ps->shard;
    if (set_satisfied(ps, set) || atomic_load(&s->rt->stopping)) {
        set_answer(ps, set); /* a stopping broker answers long polls at once */
        return;
    }
    for (int i = 0; i < set->n; i++) {
        struct rb_part_item *it = &set->items[i]->it;
        struct rb_part *p = rb_part_get(ps, &it->key);
        RB_ASSERT(p); /* otherwise the read set an error */
        rb_part_wpush(&p->read_waiters, NULL, it);
    }
    set->state = RB_PSET_WAITING;
    rb_timer_init(&set->timer, set_timer_fired);
    if (rb_timer_arm(&s->timers, &set->timer, set->deadline_ms)) {
        set_unwait(ps, set);
        set_answer(ps, set);
    }
}

/* A follower's fetch: its position goes to the leader's replica state once per
 * request (the high watermark may move: acks=all appends answered). */
static void replica_fetched(struct rb_part_shard *ps, struct rb_part_read *r)
{
    r->replica_error = RB_KERR_NONE;
    struct rb_part *p = rb_part_live(ps, &r->it.key);
    /* a fenced or diverged follower's offset is no position (read_one answers) */
    if (!p || rb_part_fence(p, r->check_epoch, r->current_leader_epoch) ||
        rb_part_read_diverging(p, r) || r->diverged)
        return;
    int64_t hw = -1;
    int e =
        rb_part_replica_fetched(ps, &r->it.key, r->replica_id, r->offset, ps->shard->now_ms, &hw);
    r->replica_error = e == 0         ? RB_KERR_NONE
                       : e == -ERANGE ? RB_KERR_OFFSET_OUT_OF_RANGE
                                      : RB_KERR_NOT_LEADER_OR_FOLLOWER;
}

void rb_part_read_start(struct rb_part_shard *ps, struct rb_part_read_set *set)
{
    set->ps = ps;
    set->state = RB_PSET_RUNNING;
    set->wake_gen = 0;
    for (int i = 0; i < set->n; i++) {
        set->items[i]->it.waiting = false;
        set->items[i]->set = set;
        set->items[i]->data = (struct rb_part_data){.file_fd = -1};
        if (set->items[i]->replica)
            replica_fetched(ps, set->items[i]);
    }
    set_read_all(ps, set);
    set_wait_or_answer(ps, set);
}

static void set_rerun(struct rb_part_shard *ps, struct rb_part_read_set *set)
{
    RB_ASSERT(set->state == RB_PSET_WAITING);
    set_unwait(ps, set);
    if (RB_DEFECT(DROP_FETCH_WAITER)) /* planted defect (sim-selftest): never answered */
        return;
    set->state = RB_PSET_RUNNING;
    set_read_all(ps, set);
    set_wait_or_answer(ps, set);
}

void rb_part_read_cancel(struct rb_part_shard *ps, struct rb_part_read_set *set)
{
    if (set->state != RB_PSET_WAITING)
        return;
    set_unwait(ps, set);
    set_answer(ps, set);
}

static struct rb_part_read_set *set_of(struct rb_part_item *it)
{
    return ((struct rb_part_read *)it)->set;
}

void rb_part_wake_readers(struct rb_part_shard *ps, struct rb_part *p)
{
    /* Re-run every set parked on p, however many, in one walk of the list.
     * Re-running a set unlinks its items from every partition, then answers it
     * (it may be freed) or parks it again at the head of p's list, behind the
     * cursor. So the cursor first steps past the set's own items (the only ones
     * the re-run may unlink or free); every other item stays linked. A set with
     * several items on p is re-run once: it is stamped with this wake-up's number. */
    uint64_t gen = ++ps->wake_gen;
    struct rb_part_item *it = p->read_waiters;
    while (it) {
        struct rb_part_read_set *set = set_of(it);
        struct rb_part_item *next = it->wnext;
        while (next && set_of(next) == set)
            next = next->wnext;
        if (set->wake_gen != gen) {
            RB_ASSERT(set->state == RB_PSET_WAITING);
            set->wake_gen = gen;
            set_rerun(ps, set);
        }
        it = next;
    }
}

int rb_part_answer_waiters(struct rb_part_shard *ps)
{
    int answered = 0;
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++)
        for (struct rb_part *p = ps->buckets[i]; p; p = p->hnext)
            while (p->read_waiters) {
                struct rb_part_read_set *set = ((struct rb_part_read *)p->read_waiters)->set;
                RB_ASSERT(set->state == RB_PSET_WAITING);
                set_unwait(ps, set);
                set_answer(ps, set);
                answered++;
            }
    /* acks=all appends waiting for followers that will not come: retriable */
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++)
        for (struct rb_part *p = ps->buckets[i]; p; p = p->hnext)
            rb_part_isr_fail(p, RB_KERR_NOT_LEADER_OR_FOLLOWER);
    return answered;
}

void rb_part_read_failed(struct rb_part_shard *ps, const struct rb_part_key *k, int err)
{
    struct rb_part *p = rb_part_get(ps, k);
    if (!p)
        return;
    RB_ERROR(COMP, "partition %s-%d is offline: a read of its log failed: %s", p->topic, p->index,
             strerror(-err));
    rb_log_read_failed(p->log, err);
    (void)rb_part_check_offline(p);
}
