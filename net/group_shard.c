/*
 * net/group_shard.c - the owner side of the group coordinator (see
 * net/group_route.h): per-shard group state, loading of __consumer_offsets, group
 * metadata records, offset expiry; an op reaching its owner shard
 * (rb_gop_on_owner) runs here once its partition is loaded. Routing, appends and
 * record sets are in net/group_route.c.
 *
 * Per-shard state (struct rb_groups_shard off the shard's struct rb_net, owner side): the group
 * manager, the load state of every __consumer_offsets partition, and a tick timer. Once the runtime
 * is stopping, the next loop turn (or tick) answers every parked request
 * (COORDINATOR_NOT_AVAILABLE) so that connections drain and the shard can stop;
 * rb_groups_finish, after the loop, cancels the timers and frees the state.
 * Group metadata records (mgr->persist) are appended without waiting: a crash
 * before they are durable loses at most the last generation (members rejoin).
 * Offset expiry: every offsets.retention.check.interval.ms (first one second after
 * the shard starts, which also loads the partitions of __consumer_offsets the shard leads)
 * each shard expires the offsets of its loaded groups (coord/group.h rules,
 * offsets.retention.minutes, or test.offsets.retention.ms for tests) in slices of
 * EXPIRE_BUDGET groups+offsets, yielding between slices. Expired offsets leave
 * memory at once and their tombstones are appended (as Kafka: a crash before they
 * are durable brings them back, to expire again).
 * Loading reads whole batches of any size: the read buffer starts at LOAD_BUF and
 * doubles until the next batch fits (a batch is as large as the partition took it).
 * Fault model: a __consumer_offsets partition whose log cannot be read, or holding
 * a batch or record that does not decode, stops loading there (logged at ERROR) and
 * its groups stay unavailable (COORDINATOR_NOT_AVAILABLE) until a restart: serving
 * the offsets loaded so far would silently hand out older ones. A partition not on
 * this shard answers NOT_COORDINATOR.
 * Leadership (a cluster): only the partitions this broker leads are loaded (ops,
 * expiry); a follower's replica is loaded when it becomes the leader, from its
 * log, up to its end. When a view applied on the shard (rb_groups_roles) shows that
 * the broker no longer leads a loaded partition, its groups are unloaded: parked
 * requests get NOT_COORDINATOR, and the next time it leads, the partition is
 * loaded again from the log it holds then (other leaders appended in between).
 * Every view the shard applies passes through rb_groups_roles, so a partition
 * still loaded was led throughout. Appends that complete after an unload leave
 * the group state alone (rb_gop_current).
 */
#include "net/group_route_int.h"
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"

#include <stdlib.h>
#include <string.h>

#define COMP                     "groups"
#define RB_GROUP_RECORD_OVERHEAD (33 << 10)
#define LOAD_BUF                 (16u << 20) /* first read size; grows for larger batches */
#define LOAD_BUF_MAX             (1u << 31)
#define LOAD_BUDGET              (64u << 20)
#define TICK_MS                  250
#define EXPIRE_FIRST_MS          1000
#define EXPIRE_BUDGET            2048

enum { LOAD_NONE = 0, LOAD_RUNNING, LOAD_DONE, LOAD_FAILED };

struct gexpire { /* the offset expiry timer of a shard */
    bool armed, running;
    uint32_t pass;
    int64_t retention_ms, interval_ms;
    struct rb_timer timer;
};

/* A shard's group state, hung off its struct rb_net (made on first use). */
struct rb_groups_shard {
    struct rb_shard *s;
    bool init, stopped;
    struct rb_group_mgr mgr;
    int32_t n_parts;
    uint8_t *load_state;
    int64_t *load_off;
    uint32_t *load_gen; /* bumped by every unload: ops and load steps of before see it */
    struct rb_timer tick;
    struct gexpire exp;
};

static struct rb_groups_shard *GS(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    if (!n->groups) {
        n->groups = calloc(1, sizeof(*n->groups));
        RB_ASSERT(n->groups);
        n->groups->s = s;
    }
    return n->groups;
}

/* ---- per-shard state ---- */

/* Stopping: answer every parked op (COORDINATOR_NOT_AVAILABLE) and refuse new
 * ones. Groups an append completion re-creates afterwards are freed by
 * rb_groups_finish. */
static void gshard_stop(struct rb_shard *s)
{
    GS(s)->stopped = true;
    rb_group_mgr_free(&GS(s)->mgr, RB_KERR_COORDINATOR_NOT_AVAILABLE);
}

static void tick_fired(struct rb_timer *t)
{
    struct rb_shard *s = RB_CONTAINER_OF(t, struct rb_groups_shard, tick)->s;
    if (atomic_load(&s->rt->stopping)) {
        gshard_stop(s);
        return;
    }
    rb_timer_arm(&s->timers, t, s->now_ms + TICK_MS);
}

static void persist_group(struct rb_group_mgr *mgr, struct rb_group *g, bool tombstone);

/* The largest group metadata value a __consumer_offsets batch of max.message.bytes
 * (the topic's, else message.max.bytes) holds: the batch and record headers and
 * the key (a group id of at most 32767 bytes) take less than 33 KiB. */
static int64_t offsets_max_record_bytes(struct rb_net *n, const struct rb_topic_meta *t)
{
    const char *v = t ? rb_topic_config(t, "max.message.bytes") : NULL;
    int64_t max = n->b->bc->message_max_bytes;
    if (v)
        (void)rb_parse_i64(v, 0, INT32_MAX, &max);
    return max - RB_GROUP_RECORD_OVERHEAD;
}

static void gshard_init(struct rb_shard *s)
{
    if (GS(s)->init)
        return;
    struct rb_net *n = s->net;
    const struct rb_topic_meta *t = rb_groups_offsets_topic(n);
    int32_t np = t ? t->n_partitions : n->b->bc->offsets_topic_num_partitions;
    const struct rb_broker_config *bc = n->b->bc;
    rb_group_mgr_init(&GS(s)->mgr, &s->timers, &s->now_ms, bc->group_initial_rebalance_delay_ms,
                      np);
    GS(s)->mgr.min_session_ms = bc->group_min_session_timeout_ms;
    GS(s)->mgr.max_session_ms = bc->group_max_session_timeout_ms;
    GS(s)->mgr.max_size = bc->group_max_size;
    GS(s)->mgr.max_record_bytes = offsets_max_record_bytes(n, t);
    GS(s)->mgr.persist = persist_group;
    GS(s)->n_parts = np;
    GS(s)->load_state = calloc((size_t)RB_MAX(np, 1), 1);
    GS(s)->load_off = calloc((size_t)RB_MAX(np, 1), sizeof(int64_t));
    GS(s)->load_gen = calloc((size_t)RB_MAX(np, 1), sizeof(uint32_t));
    RB_ASSERT(GS(s)->load_state && GS(s)->load_off && GS(s)->load_gen);
    rb_timer_init(&GS(s)->tick, tick_fired);
    rb_timer_arm(&s->timers, &GS(s)->tick, s->now_ms + TICK_MS);
    GS(s)->init = true;
}

/* ---- loading ---- */

struct load_ctx {
    struct rb_group_mgr *mgr;
    int64_t bad_offset; /* the first batch that did not decode, else -1 */
};

static void apply_rec(void *arg, const uint8_t *k, int32_t kl, const uint8_t *v, int32_t vl)
{
    struct load_ctx *lc = arg;
    if (lc->bad_offset < 0 && rb_orec_apply(lc->mgr, k, kl, v, vl))
        lc->bad_offset = INT64_MAX; /* load_batch puts the batch's offset */
}

static void load_batch(void *arg, const uint8_t *batch, uint32_t bytes, int64_t base_offset)
{
    struct load_ctx *lc = arg;
    if (lc->bad_offset >= 0)
        return;
    if (rb_orec_iterate(batch, bytes, apply_rec, lc) < 0 || lc->bad_offset >= 0)
        lc->bad_offset = base_offset;
}

/* Partition p's metadata when this broker leads it on this shard, else NULL. */
static const struct rb_partition_meta *led_here(struct rb_shard *s, int32_t p)
{
    struct rb_net *n = s->net;
    const struct rb_topic_meta *t = rb_groups_offsets_topic(n);
    if (!t || p < 0 || p >= t->n_partitions)
        return NULL;
    const struct rb_partition_meta *pm = &t->partitions[p];
    return pm->leader == n->b->bc->broker_id && pm->shard == s->id ? pm : NULL;
}

/* Forget what was loaded of p and its groups (parked requests get NOT_COORDINATOR:
 * the clients look the coordinator up again). The next op loads p afresh. */
static void unload(struct rb_shard *s, int32_t p, const char *why)
{
    struct rb_groups_shard *gs = GS(s);
    int n = rb_group_mgr_unload(&gs->mgr, p, RB_KERR_NOT_COORDINATOR);
    gs->load_state[p] = LOAD_NONE;
    gs->load_off[p] = 0;
    gs->load_gen[p]++;
    RB_INFO(COMP, "unloaded %s-%d (%s): %d groups dropped", RB_CONSUMER_OFFSETS, p, why, n);
}

static void load_fail(struct rb_shard *s, int32_t p, int64_t at, const char *why)
{
    RB_ERROR(COMP,
             "loading %s-%d stopped at offset %lld: %s; the groups of this partition stay "
             "unavailable until a restart",
             RB_CONSUMER_OFFSETS, p, (long long)at, why);
    GS(s)->load_state[p] = LOAD_FAILED;
}

/* Load up to LOAD_BUDGET bytes of partition p. Returns 1 when loaded, 0 when more
 * remains, -ENOENT when this shard does not own p, -EBADMSG when loading failed. */
static int load_step(struct rb_shard *s, int32_t p)
{
    struct rb_part_key k = {RB_CONSUMER_OFFSETS, strlen(RB_CONSUMER_OFFSETS), p};
    /* To the log end, durable or not: a new leader may hold replicated batches not
     * synced yet (relaxed flush.messages may leave them so for long): they are part
     * of the log it leads now. */
    struct rb_part_follow_pos pos;
    if (rb_part_follow_pos(rb_part_of(s), &k, &pos))
        return -ENOENT;
    int64_t start = pos.log_start, end = pos.fetch_offset;
    int64_t *off = &GS(s)->load_off[p];
    if (*off < start)
        *off = start;
    uint32_t cap = LOAD_BUF;
    uint8_t *buf = NULL;
    uint64_t done = 0;
    struct load_ctx lc = {&GS(s)->mgr, -1};
    while (*off < end && done < LOAD_BUDGET) {
        if (!buf && !(buf = malloc(cap))) {
            load_fail(s, p, *off, "out of memory for the read buffer");
            return -EBADMSG;
        }
        uint32_t len = 0;
        int r = rb_part_read_copy(rb_part_of(s), &k, *off, end, cap, buf, cap, &len);
        if (r == -ENOBUFS && cap < LOAD_BUF_MAX) { /* the next batch is larger */
            free(buf);
            buf = NULL;
            cap *= 2;
            continue;
        }
        int64_t next = r ? -1 : rb_part_batches_each(buf, len, load_batch, &lc);
        if (r || lc.bad_offset >= 0 || next <= *off) {
            free(buf);
            load_fail(s, p, lc.bad_offset >= 0 ? lc.bad_offset : *off,
                      r ? strerror(-r) : "a batch or record that does not decode");
            return -EBADMSG;
        }
        *off = next;
        done += len;
    }
    free(buf);
    if (*off < end)
        return 0;
    GS(s)->load_state[p] = LOAD_DONE;
    if (end > 0)
        RB_INFO(COMP, "loaded %s-%d up to offset %lld (shard %d now has %d groups)",
                RB_CONSUMER_OFFSETS, p, (long long)end, s->id, GS(s)->mgr.n_groups);
    return 1;
}

/* A load step posted to come back on a later turn: arg packs the partition and the
 * unload generation it was posted in (a step of an unloaded load stops). */
static void *load_arg(struct rb_shard *s, int32_t p)
{
    return (void *)(uintptr_t)(((uint64_t)GS(s)->load_gen[p] << 32) | (uint32_t)p);
}

static void load_more(struct rb_shard *s, void *arg)
{
    int32_t p = (int32_t)(uint32_t)(uintptr_t)arg;
    if (GS(s)->stopped || p >= GS(s)->n_parts || GS(s)->load_state[p] != LOAD_RUNNING ||
        arg != load_arg(s, p))
        return;
    if (load_step(s, p) == 0)
        rb_post(s, s->id, load_more, arg);
}

/* 0 when p is loaded, else the error to answer. */
static int16_t ensure_loaded(struct rb_shard *s, int32_t p)
{
    if (p < 0 || p >= GS(s)->n_parts)
        return RB_GROUPS_NOT_COORD_ERR;
    if (!led_here(s, p)) /* routed by another shard's older view (rb_groups_roles unloaded it) */
        return RB_GROUPS_NOT_COORD_ERR;
    if (GS(s)->load_state[p] == LOAD_DONE)
        return 0;
    if (GS(s)->load_state[p] == LOAD_RUNNING)
        return RB_KERR_COORDINATOR_LOAD_IN_PROGRESS;
    if (GS(s)->load_state[p] == LOAD_FAILED)
        return RB_KERR_COORDINATOR_NOT_AVAILABLE;
    int r = load_step(s, p);
    if (r == -EBADMSG)
        return RB_KERR_COORDINATOR_NOT_AVAILABLE;
    if (r < 0)
        return RB_GROUPS_NOT_COORD_ERR;
    if (r == 1)
        return 0;
    GS(s)->load_state[p] = LOAD_RUNNING;
    rb_post(s, s->id, load_more, load_arg(s, p));
    return RB_KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

static int16_t ensure_shard_loaded(struct rb_shard *s)
{
    const struct rb_topic_meta *t = rb_groups_offsets_topic(s->net);
    int16_t err = 0;
    for (int32_t p = 0; t && p < t->n_partitions && p < GS(s)->n_parts; p++) {
        if (!led_here(s, p)) /* a follower's replica is loaded once it leads */
            continue;
        int16_t e = ensure_loaded(s, p);
        if (e)
            err = e;
    }
    return err;
}

/* ---- an op on its owner ---- */

void rb_gop_on_owner(struct rb_shard *s, struct rb_fan_item *fi)
{
    struct rb_gop *op = RB_CONTAINER_OF(fi, struct rb_gop, fi);
    gshard_init(s);
    if (GS(s)->stopped) {
        op->err = RB_KERR_COORDINATOR_NOT_AVAILABLE;
        rb_gop_return(s, op);
        return;
    }
    int16_t err = op->part >= 0 ? ensure_loaded(s, op->part) : ensure_shard_loaded(s);
    if (err) {
        op->err = err;
        rb_gop_return(s, op);
        return;
    }
    if (op->part >= 0)
        op->load_gen = GS(s)->load_gen[op->part];
    op->run(s, op, &GS(s)->mgr);
}

bool rb_gop_current(struct rb_shard *s, const struct rb_gop *op)
{
    struct rb_groups_shard *gs = GS(s);
    return op->part < 0 || (op->part < gs->n_parts && gs->load_state[op->part] == LOAD_DONE &&
                            gs->load_gen[op->part] == op->load_gen);
}

void rb_groups_roles(struct rb_shard *s)
{
    struct rb_groups_shard *gs = GS(s);
    if (!gs->init || gs->stopped)
        return;
    for (int32_t p = 0; p < gs->n_parts; p++) {
        if (gs->load_state[p] != LOAD_NONE && !led_here(s, p))
            unload(s, p, "no longer its leader");
    }
}

/* ---- group metadata records ---- */

static void persist_done(struct rb_shard *s, int16_t err, int64_t base, void *arg)
{
    char *group = arg;
    (void)s;
    (void)base;
    if (err)
        RB_WARN(COMP, "group %s: metadata record not written (error %d)", group, err);
    free(group);
}

static void persist_group(struct rb_group_mgr *mgr, struct rb_group *g, bool tombstone)
{
    struct rb_shard *s = RB_CONTAINER_OF(mgr, struct rb_groups_shard, mgr)->s;
    struct rb_writer w;
    rb_writer_init(&w, 256);
    rb_gmetakey_write(&w, g->id);
    size_t kl = w.len;
    if (!tombstone)
        rb_gmeta_write(&w, g);
    struct rb_orec rec = {w.buf, (int32_t)kl, tombstone ? NULL : w.buf + kl, (int32_t)(w.len - kl)};
    char *group = strdup(g->id);
    RB_ASSERT(group);
    int r = w.err ? w.err : rb_groups_append(s, g->coord_partition, &rec, 1, persist_done, group);
    if (r) {
        RB_WARN(COMP, "group %s: metadata record not written: %s", g->id, strerror(-r));
        free(group);
    }
    rb_writer_free(&w);
}

/* ---- offset expiry ---- */

static void expire_done(struct rb_shard *s, int16_t err, int64_t base, void *arg)
{
    (void)s;
    (void)base;
    (void)arg;
    if (err)
        RB_WARN(COMP, "expired offsets: tombstones not written (error %d)", err);
}

static void expire_one(void *arg, struct rb_group *g, const struct rb_goffset *o)
{
    rb_recset_add(arg, g->id, o->topic, o->partition, true, 0, 0, NULL, 0);
}

static void expire_arm(struct rb_shard *s, int64_t delay)
{
    (void)rb_timer_arm(&s->timers, &GS(s)->exp.timer, rb_deadline_after(s->now_ms, delay));
}

static bool stopping(struct rb_shard *s)
{
    return GS(s)->stopped || atomic_load(&s->rt->stopping);
}

/* One slice of the current pass; posts itself again until every group is seen. */
static void expire_slice(struct rb_shard *s, void *arg)
{
    (void)arg;
    if (stopping(s)) {
        GS(s)->exp.running = false;
        return;
    }
    int64_t now = rb_wall_ms(), budget = EXPIRE_BUDGET;
    for (struct rb_group *g = GS(s)->mgr.groups, *next; g; g = next) {
        next = g->next;
        if (g->exp_pass == GS(s)->exp.pass)
            continue;
        if (budget <= 0) {
            rb_post(s, s->id, expire_slice, NULL);
            return;
        }
        g->exp_pass = GS(s)->exp.pass;
        budget -= 1 + g->n_offsets;
        int32_t p = g->coord_partition;
        if (p < 0 || p >= GS(s)->n_parts || GS(s)->load_state[p] != LOAD_DONE)
            continue;
        struct rb_recset rs = {0};
        rb_writer_init(&rs.w, 256);
        int n = rb_group_expire_offsets(g, now, GS(s)->exp.retention_ms, expire_one, &rs);
        if (n > 0) {
            RB_INFO(COMP, "group %s: %d committed offset(s) expired", g->id, n);
            if (rb_recset_append_part(s, p, &rs, expire_done, NULL))
                RB_WARN(COMP, "group %s: expired offsets' tombstones not written", g->id);
        } else {
            free(rs.r);
            rb_writer_free(&rs.w);
        }
        rb_group_gc(&GS(s)->mgr, g); /* Empty without offsets: Dead, as Kafka's cleanup */
    }
    GS(s)->exp.running = false;
    expire_arm(s, GS(s)->exp.interval_ms);
}

static void expire_fire(struct rb_timer *t)
{
    struct rb_shard *s = RB_CONTAINER_OF(t, struct rb_groups_shard, exp.timer)->s;
    if (atomic_load(&s->rt->stopping))
        return;
    const struct rb_topic_meta *top = rb_groups_offsets_topic(s->net);
    bool owns = false;
    for (int32_t p = 0; top && p < top->n_partitions && !owns; p++)
        owns = led_here(s, p) != NULL;
    if (!owns || GS(s)->exp.running) {
        expire_arm(s, GS(s)->exp.interval_ms);
        return;
    }
    gshard_init(s);
    if (GS(s)->stopped)
        return;
    (void)ensure_shard_loaded(s); /* partitions still loading are skipped */
    GS(s)->exp.pass++;
    GS(s)->exp.running = true;
    expire_slice(s, NULL);
}

static int64_t cfg_i64(struct rb_net *n, const char *key, int64_t min, int64_t dflt)
{
    int64_t v;
    const char *str = rb_config_get(n->b->config, key);
    return str && !rb_parse_i64(str, min, INT64_MAX / 4, &v) ? v : dflt;
}

void rb_groups_turn(struct rb_net *n)
{
    struct rb_shard *s = n->shard;
    struct rb_groups_shard *gs = GS(s);
    /* The stop hook's turns come here too: answer parked ops at once rather than
     * at the next tick (the shard may leave its loop before that). */
    if (gs->init && !gs->stopped && atomic_load_explicit(&s->rt->stopping, memory_order_relaxed))
        gshard_stop(s);
    if (gs->exp.armed)
        return;
    gs->exp.armed = true;
    gs->exp.retention_ms = cfg_i64(n, "test.offsets.retention.ms", 0, -1);
    if (gs->exp.retention_ms < 0)
        gs->exp.retention_ms = cfg_i64(n, "offsets.retention.minutes", 1, 10080) * 60000;
    gs->exp.interval_ms = cfg_i64(n, "offsets.retention.check.interval.ms", 1, 600000);
    rb_timer_init(&gs->exp.timer, expire_fire);
    expire_arm(s, RB_MIN(EXPIRE_FIRST_MS, gs->exp.interval_ms));
}

void rb_groups_finish(struct rb_net *n)
{
    struct rb_groups_shard *gs = n->groups;
    struct rb_timers *timers = &n->shard->timers;
    if (!gs)
        return;
    if (gs->exp.armed)
        rb_timer_cancel(timers, &gs->exp.timer);
    if (gs->init) {
        rb_timer_cancel(timers, &gs->tick);
        gshard_stop(n->shard);
        free(gs->load_state);
        free(gs->load_off);
        free(gs->load_gen);
    }
    free(gs);
    n->groups = NULL;
}
