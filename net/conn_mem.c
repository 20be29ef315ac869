/*
 * net/conn_mem.c - the memory budgets of a shard's connections (the rules are in
 * net/conn.c's header comment): what is charged to a connection and its shard,
 * when a connection is over what stops reading or dispatching, fetch
 * reservations, and the shard's memory turn: the tail cache yields to the budget
 * (part/part.h rb_part_mem_limit) and free memory goes back to the OS after a
 * flood.
 *
 * The shard's figure: n->mem (frames, responses, reservations, send stages) plus
 * the tail cache up to its floor (rb_part_mem_floor); what the cache holds above
 * its floor is given back in the turn (mem_yield), before anyone waits for it.
 * Invariant (asserted): every figure >= 0.
 */
#include "net/conn_int.h"
#include "net/net.h"
#include "core/rb.h"
#include "part/part.h"

#include <dlfcn.h>
#include <string.h>

#define MAX_QUEUED          128
#define MAX_QUEUED_BYTES    (128u << 20)
#define CONN_SMALL_BYTES    (256 << 10)
#define RESERVE_FLOOR_BYTES (1 << 20)

static int64_t conn_budget(const struct rb_net *n)
{
    return n->b->bc->connection_memory_max_bytes;
}

/* What the shard holds outside the tail cache: its connections' bytes, the
 * decompression scratch (part/part.h rb_part_codec_mem) and the validator
 * thread's memory for its jobs (rb_part_vt_mem). */
static int64_t held_mem(const struct rb_net *n)
{
    const struct rb_part_shard *ps = n->shard ? rb_part_of(n->shard) : NULL;
    return n->mem + (ps ? rb_part_codec_mem(ps) + rb_part_vt_mem(ps) : 0);
}

/* The shard's memory as the budget sees it: held_mem plus the tail cache up to
 * its floor (part/part.h rb_part_mem): what the cache holds above its floor
 * yields in the shard's turn (mem_yield) before anyone waits. */
static int64_t shard_mem(const struct rb_net *n)
{
    const struct rb_part_shard *ps = n->shard ? rb_part_of(n->shard) : NULL;
    if (!ps)
        return n->mem;
    return held_mem(n) + RB_MIN(rb_part_mem(ps), rb_part_mem_floor(ps));
}

/* Over the shard's budget (scaled by num/den, for the resume threshold). */
static bool shard_over(const struct rb_net *n, int num, int den)
{
    const struct rb_broker_config *bc = n->b->bc;
    if (shard_mem(n) >= bc->shard_memory_budget_bytes / den * num)
        return true;
    if (bc->queued_max_request_bytes < 0)
        return false;
    int64_t share = bc->queued_max_request_bytes / RB_MAX(n->shard->rt->n_shards, 1);
    return n->frame_mem >= RB_MAX(share, (int64_t)1) / den * num;
}

void rb_conn_charge(struct rb_conn *c, int64_t bytes, bool frame)
{
    c->mem += bytes;
    c->net->mem += bytes;
    if (frame) {
        c->frame_mem += bytes;
        c->net->frame_mem += bytes;
    }
    if (bytes < 0)
        c->net->mem_freed = true;
    RB_ASSERT(c->mem >= 0 && c->frame_mem >= 0 && c->net->mem >= 0 && c->net->frame_mem >= 0);
}

void rb_net_mem_charge(struct rb_net *n, int64_t bytes)
{
    n->mem += bytes;
    if (bytes < 0)
        n->mem_freed = true;
    RB_ASSERT(n->mem >= 0);
}

/* Bytes of the frame being received (not counted against the connection's own
 * budget: a legal frame must be able to complete). */
static int64_t partial_bytes(const struct rb_conn *c)
{
    return c->cur ? c->cur->frame_charged : 0;
}

/* Over what stops reading, at num/den of the limits. */
bool rb_conn_over(const struct rb_conn *c, int num, int den)
{
    const struct rb_net *n = c->net;
    if (c->n_queued >= MAX_QUEUED / den * num || c->queued_bytes >= MAX_QUEUED_BYTES / den * num)
        return true;
    if (c->mem - partial_bytes(c) >= conn_budget(n) / den * num)
        return true;
    return c->mem > CONN_SMALL_BYTES && shard_over(n, num, den);
}

/* May the connection's next request be dispatched now? */
bool rb_conn_may_dispatch(const struct rb_conn *c)
{
    if (c->stepping > 0)
        return false; /* a request working over several turns keeps the order */
    if (c->q_undispatched == c->q_head)
        return true; /* nothing else outstanding: always progress */
    return c->mem - partial_bytes(c) < conn_budget(c->net) &&
           !(c->mem > CONN_SMALL_BYTES && shard_over(c->net, 1, 1));
}

uint32_t rb_request_reserve(struct rb_request *req, uint32_t want)
{
    struct rb_conn *c = req->conn;
    if (!c)
        return want;
    const struct rb_net *n = c->net;
    /* The shard's budget leaves every request at least RESERVE_FLOOR_BYTES: many
     * parked long polls must not shrink each other's fetches to one batch. */
    int64_t shard_room =
        RB_MAX(n->b->bc->shard_memory_budget_bytes - shard_mem(n), (int64_t)RESERVE_FLOOR_BYTES);
    int64_t room = RB_MIN(conn_budget(n) - (c->mem - partial_bytes(c)), shard_room);
    uint32_t got = (uint32_t)RB_MAX((int64_t)0, RB_MIN(room, (int64_t)want));
    req->reserved += got;
    rb_conn_charge(c, got, false);
    return got;
}

/* Return free memory to the OS after a flood: when a shard's connections held
 * more than FLOOD_BYTES (or half the shard's budget, if less) and are back under
 * an eighth of it, every shard collects
 * its allocator heap once (mimalloc's mi_collect, found at run time: builds
 * without mimalloc, e.g. ASan's, skip it). Owner shards free the copies they made
 * for fetches on other threads, hence every shard. */
#define FLOOD_BYTES (32 << 20)

static void mem_collect(struct rb_net *n)
{
    uint32_t epoch = atomic_load_explicit(&n->b->collect_epoch, memory_order_relaxed);
    int64_t flood = RB_MIN((int64_t)FLOOD_BYTES, n->b->bc->shard_memory_budget_bytes / 2);
    if (n->mem_peak >= flood && n->mem < flood / 8) {
        epoch = atomic_fetch_add_explicit(&n->b->collect_epoch, 1, memory_order_relaxed) + 1;
        n->mem_peak = n->mem;
    }
    if (epoch == n->collect_seen)
        return;
    n->collect_seen = epoch;
    void *sym = dlsym(RTLD_DEFAULT, "mi_collect"); /* once per flood: cheap enough */
    if (sym) {
        void (*collect)(bool);
        memcpy(&collect, &sym, sizeof(collect));
        collect(true);
    }
}

/* The tail cache yields: it may keep what the connections leave of the shard's
 * budget (never less than its floor); memory it gives back resumes the waiting. */
static void mem_yield(struct rb_net *n)
{
    struct rb_part_shard *ps = n->shard ? rb_part_of(n->shard) : NULL;
    if (ps && rb_part_mem_limit(ps, n->b->bc->shard_memory_budget_bytes - held_mem(n)) > 0)
        n->mem_freed = true;
}

void rb_net_mem_turn(struct rb_net *n)
{
    mem_yield(n);
    if (n->shard) /* the validator thread's submissions wait while over */
        rb_part_set_mem_over(rb_part_of(n->shard), shard_over(n, 1, 1));
    n->mem_peak = RB_MAX(n->mem_peak, n->mem);
    mem_collect(n);
}
