/*
 * net/readahead.c - read-ahead of a connection's file streams (O_DIRECT read path,
 * fetch.file.readahead): the file bytes a consumer will ask for next are read
 * before it asks, several stages per stream, so the disk works while the socket
 * sends.
 *
 * A stream is one file a response reads (a partition's segment, by descriptor
 * reference, descriptor and the log's truncation count). Each connection has
 * RB_AHEAD_SLOTS slots; a slot is one stage buffer (1 MiB and a block, sent from
 * directly: no copy; kept while the rest of it is still to come) holding the bytes of
 * [from, from + len) of one stream, read with one unlinked O_DIRECT READ that is
 * not part of the send operation: reads of several slots are in flight at once,
 * across the streams of a response and ahead of the ones the consumer asks for
 * next. When the send needs bytes whose slot is still reading, it waits for that
 * read (rb_conn_ahead_done) instead of reading them again.
 *
 * Plan (rb_ahead_plan, beside every fill or take of file bytes at `next`): first the
 * next stage of this stream, then the first stage of the response's next file
 * region, then the rest of this stream's depth (fetch.file.readahead.bytes, at most
 * RB_AHEAD_SLOTS shared by the response's streams). Only bytes the log said are final
 * (rb_resp_ext.final) are asked for or kept. A slot the plan covers is stamped with
 * the response count; one that two responses in a row did not want is dropped
 * (rb_ahead_response_done: the consumer went elsewhere or jumped). A full table evicts
 * the oldest ready slot not stamped in this response.
 *
 * Bounds: RB_AHEAD_SLOTS buffers per connection, made on first use while the shard is
 * under half of shard.memory.budget.bytes and counted in it (rb_net_mem_charge),
 * kept until the connection closes or idles (no allocation per response); every slot that
 * is not free holds a descriptor reference (rb_part_fd_hold), at most net->ra_cap
 * per shard (a quarter of the descriptor cache). A connection is freed only once no
 * slot read is in flight (rb_ahead_busy). A connection that asked for nothing for
 * a few seconds (a consumer paused or gone quiet, net/listen.c's sweep) gives its
 * slots and buffers back (rb_ahead_idle): a held descriptor would keep a segment
 * retention deleted on the disk until the connection closed.
 * Faults: a failed or short read leaves the slot free or short; the send then
 * reads the bytes itself and reports a failure (net/resp_send.c).
 */
#include "net/net.h"
#include "core/rb.h"
#include "part/part.h"

#include <stdlib.h>

#define RA_STALE 2 /* responses a slot may go unwanted before it is dropped */

static void on_slot(struct rb_io *io, int res, unsigned flags);

void rb_ahead_init(struct rb_conn *c)
{
    for (int i = 0; i < RB_AHEAD_SLOTS; i++) {
        struct rb_ahead_slot *s = &c->ra.slot[i];
        s->io.cb = on_slot;
        s->c = c;
        s->fd = -1;
    }
}

static void slot_release(struct rb_conn *c, struct rb_ahead_slot *s)
{
    RB_ASSERT(s->state == RB_AHEAD_READY);
    rb_part_fd_unref(s->ref);
    RB_ASSERT(c->net->ra_held > 0);
    c->net->ra_held--;
    s->ref = NULL;
    s->fd = -1;
    s->len = s->want = 0;
    s->state = RB_AHEAD_FREE;
}

static bool slot_of(const struct rb_ahead_slot *s, const struct rb_resp_ext *e)
{
    return s->state != RB_AHEAD_FREE && s->ref == e->fd_ref && s->fd == e->fd && s->gen == e->gen;
}

static uint64_t slot_end(const struct rb_ahead_slot *s)
{
    return s->from + (s->state == RB_AHEAD_READY ? s->len : s->want);
}

struct rb_ahead_slot *rb_ahead_find(struct rb_conn *c, const struct rb_resp_ext *e, uint64_t at)
{
    for (int i = 0; i < RB_AHEAD_SLOTS; i++) {
        struct rb_ahead_slot *s = &c->ra.slot[i];
        if (slot_of(s, e) && at >= s->from && at < slot_end(s) && at < s->final)
            return s;
    }
    return NULL;
}

uint32_t rb_ahead_take(struct rb_conn *c, struct rb_ahead_slot *s, uint64_t at, uint32_t n)
{
    RB_ASSERT(s->state == RB_AHEAD_READY && at >= s->from && at < s->from + s->len);
    RB_ASSERT(!c->ra.sending);
    c->ra.sending = s;
    c->stage_off = (uint32_t)(at - s->from);
    uint32_t got = (uint32_t)RB_MIN((uint64_t)n, s->from + s->len - at);
    s->taken = at + got;
    s->seen = c->ra.resp;
    c->ra.miss = 0;
    return got;
}

void rb_ahead_sent(struct rb_conn *c)
{
    struct rb_ahead_slot *s = c->ra.sending;
    c->ra.sending = NULL;
    if (s->taken >= s->from + s->len)
        slot_release(c, s);
}

/* A slot to read into: a free one (its buffer made if need be), else the oldest
 * ready one not wanted in this response. NULL when none may be taken. */
static struct rb_ahead_slot *slot_get(struct rb_conn *c)
{
    struct rb_net *n = c->net;
    if (n->ra_held >= n->ra_cap)
        return NULL;
    struct rb_ahead_slot *victim = NULL;
    for (int i = 0; i < RB_AHEAD_SLOTS; i++) {
        struct rb_ahead_slot *s = &c->ra.slot[i];
        if (s->state == RB_AHEAD_FREE && s->buf)
            return s;
        if (s->state == RB_AHEAD_FREE && !victim)
            victim = s;
    }
    if (victim) { /* a free slot without a buffer yet */
        const struct rb_broker_config *bc = n->b->bc;
        if (n->mem + (int64_t)RB_STAGE_ALLOC > bc->shard_memory_budget_bytes / 2)
            victim = NULL; /* memory is short: no more buffers */
        void *b;
        if (victim && posix_memalign(&b, RB_DIO_ALIGN, RB_STAGE_ALLOC) == 0) {
            victim->buf = b;
            rb_net_mem_charge(n, RB_STAGE_ALLOC);
            return victim;
        }
    }
    victim = NULL;
    for (int i = 0; i < RB_AHEAD_SLOTS; i++) {
        struct rb_ahead_slot *s = &c->ra.slot[i];
        if (s->state == RB_AHEAD_READY && s != c->ra.sending && s->seen < c->ra.resp &&
            (!victim || s->seen < victim->seen))
            victim = s;
    }
    if (victim) {
        c->ra.miss = (uint8_t)RB_MIN(c->ra.miss + 1, 255);
        slot_release(c, victim);
    }
    return victim;
}

static void slot_issue(struct rb_conn *c, struct rb_ahead_slot *s, const struct rb_resp_ext *t,
                       uint64_t pos)
{
    uint64_t from = pos & ~(uint64_t)(RB_DIO_ALIGN - 1);
    uint64_t want = RB_MIN((uint64_t)RB_STAGE_ALLOC, t->final - from);
    s->want = (uint32_t)((want + RB_DIO_ALIGN - 1) & ~(uint64_t)(RB_DIO_ALIGN - 1));
    s->from = from;
    s->final = t->final;
    s->len = 0;
    s->ref = t->fd_ref;
    s->fd = t->fd;
    s->gen = t->gen;
    s->seen = c->ra.resp;
    s->state = RB_AHEAD_PENDING;
    rb_part_fd_hold(t->fd_ref);
    c->net->ra_held++;
    c->ra.pending++;
    struct io_uring_sqe *sqe = rb_sqe(c->net->shard);
    io_uring_prep_read(sqe, t->fd, s->buf, s->want, from);
    rb_sqe_set_io(sqe, &s->io);
}

/* Cover [pos, upto) of t's file with slots (at most `room` new ones); returns how
 * many it issued. */
static int stream_ahead(struct rb_conn *c, const struct rb_resp_ext *t, uint64_t pos, uint64_t upto,
                        int room)
{
    int issued = 0;
    upto = RB_MIN(upto, t->final);
    while (pos < upto) {
        struct rb_ahead_slot *s = rb_ahead_find(c, t, pos);
        if (s) {
            s->seen = c->ra.resp;
            pos = slot_end(s);
            continue;
        }
        if (issued >= room || !(s = slot_get(c)))
            break;
        slot_issue(c, s, t, pos);
        issued++;
        pos = slot_end(s);
    }
    return issued;
}

void rb_ahead_plan(struct rb_conn *c, struct rb_request *req, const struct rb_resp_ext *e,
                   uint64_t next)
{
    const struct rb_broker_config *bc = c->net->b->bc;
    if (!bc->fetch_file_readahead || !e->direct)
        return;
    int streams = 0;
    const struct rb_resp_ext *nx = NULL;
    for (const struct rb_resp_ext *x = req->ext; x < req->ext + req->n_ext; x++) {
        if (!x->file_len)
            continue;
        streams++;
        if (x > e && !nx && x->direct)
            nx = x;
    }
    int per = (int)RB_MAX(RB_MIN(RB_AHEAD_SLOTS / RB_MAX(streams, 1),
                                 (int)(bc->fetch_file_readahead_bytes / RB_STAGE_BYTES)),
                          1);
    uint64_t region_end = e->file_pos + e->file_len;
    /* past this response: speculative, mostly skipped while such slots go unused */
    bool spec_ok = c->ra.miss < 2 * RB_AHEAD_SLOTS || (++c->ra.skip & 7) == 0;
    uint64_t first = spec_ok ? next + 1 : RB_MIN(next + 1, region_end);
    stream_ahead(c, e, next, first, 1);
    if (nx)
        stream_ahead(c, nx, nx->file_pos, nx->file_pos + 1, 1);
    uint64_t upto = next + (uint64_t)per * RB_STAGE_BYTES;
    stream_ahead(c, e, next, spec_ok ? upto : RB_MIN(upto, region_end), per);
}

void rb_ahead_response_done(struct rb_conn *c)
{
    c->ra.resp++;
    for (int i = 0; i < RB_AHEAD_SLOTS; i++) {
        struct rb_ahead_slot *s = &c->ra.slot[i];
        if (s->state == RB_AHEAD_READY && s != c->ra.sending && c->ra.resp - s->seen > RA_STALE) {
            c->ra.miss = (uint8_t)RB_MIN(c->ra.miss + 1, 255);
            slot_release(c, s);
        }
    }
}

void rb_ahead_idle(struct rb_conn *c)
{
    for (int i = 0; i < RB_AHEAD_SLOTS; i++) {
        struct rb_ahead_slot *s = &c->ra.slot[i];
        if (s == c->ra.sending || s->state == RB_AHEAD_PENDING)
            continue;
        if (s->state == RB_AHEAD_READY)
            slot_release(c, s);
        if (s->buf)
            rb_net_mem_charge(c->net, -(int64_t)RB_STAGE_ALLOC);
        free(s->buf);
        s->buf = NULL;
    }
}

bool rb_ahead_busy(const struct rb_conn *c)
{
    return c->ra.pending > 0;
}

void rb_ahead_free(struct rb_conn *c)
{
    RB_ASSERT(!rb_ahead_busy(c));
    c->ra.sending = NULL; /* closed before its bytes went out */
    rb_ahead_idle(c);
}

static void on_slot(struct rb_io *io, int res, unsigned flags)
{
    (void)flags;
    struct rb_ahead_slot *s = RB_CONTAINER_OF(io, struct rb_ahead_slot, io);
    struct rb_conn *c = s->c;
    RB_ASSERT(s->state == RB_AHEAD_PENDING && c->ra.pending > 0);
    c->ra.pending--;
    s->state = RB_AHEAD_READY;
    /* only bytes final when it was issued count; a failure is not reported here
     * (the fill that needs the bytes reads them and reports) */
    s->len = res > 0 ? (uint32_t)RB_MIN((uint64_t)res, s->final - s->from) : 0;
    if (!s->len || c->state == RB_CONN_CLOSING)
        slot_release(c, s);
    bool waited = c->ra.wait == s;
    if (waited)
        c->ra.wait = NULL;
    rb_conn_ahead_done(c, waited, res);
}
