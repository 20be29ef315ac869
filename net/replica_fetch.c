/*
 * net/replica_fetch.c - the follower side of replication on a shard: for every
 * leader broker of a partition this shard follows, one fetcher with one peer
 * connection (net/peer.c), sending Fetch v12 (replica_id = this broker, each
 * partition at its log end with the current leader epoch) for all of them
 * together, and appending what comes back at the leader's offsets
 * (rb_part_append_replica, part/follow.c); the next fetch reports the new log end
 * as the follower's position, which moves the leader's high watermark.
 *
 * Settings (Kafka's): replica.fetch.wait.max.ms (500) and replica.fetch.min.bytes
 * (1) for the leader's long poll, replica.fetch.max.bytes (1 MiB) per partition,
 * replica.fetch.response.max.bytes (10 MiB) per response, replica.fetch.backoff.ms
 * (1000) after an error (100 ms when the error says leadership is moving; a new
 * snapshot ends any wait), replica.socket.timeout.ms (30000) per request. Runs in
 * cluster mode only.
 *
 * The set of partitions is read from the shard's metadata snapshot each time a
 * fetch is built (partitions whose shard is this one, whose leader is that broker
 * and whose replicas include this broker), so leader changes need no bookkeeping
 * here: a snapshot kicks every fetcher, and a fetcher without partitions idles.
 * A partition whose last append is not written out yet waits for its flush so
 * the position the leader sees is on disk: the flush's end kicks the fetchers
 * that wait (rb_part_set_follower_written), a short timer is the fallback.
 * Divergence after a leader change: each fetch carries the epoch of the log's last
 * batch (last_fetched_epoch); a leader whose log does not hold it up to our end
 * answers diverging_epoch, and the log is truncated (rb_part_diverged, part/epoch.c)
 * before fetching on. Batches that still do not line up are logged and fetched
 * again after the back-off.
 */
#include "net/replica_fetch.h"

#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"
#include "net/handlers.h"
#include "net/peer.h"
#include "part/part.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP          "replica"
#define FETCH_VERSION 12
#define FLUSH_WAIT_MS 2
#define MOVING_MS     100

struct rfetch {
    struct rfetch *next;
    struct rb_net *n;
    int32_t leader;
    struct rb_peer *peer;
    struct rb_timer timer; /* back-off, or waiting for a flush */
    int32_t corr;
    int64_t errors;  /* consecutive failed fetches (log the first) */
    bool moving;     /* the last error says leadership is changing: retry soon */
    bool flush_wait; /* the timer waits for a flush (not a back-off) */
    bool no_addr;    /* the leader's name is not resolved (noted once) */
};

struct rb_rfetch_shard {
    struct rfetch *list;
    bool stopping;
    int32_t wait_ms, min_bytes, max_bytes, resp_max_bytes;
    int64_t backoff_ms, timeout_ms;
    struct rb_arena arena;
    struct rb_writer w;
};

static int64_t cfg_i64(const struct rb_net *n, const char *key, int64_t def, int64_t min,
                       int64_t max)
{
    const char *v = rb_config_get(rb_net_config(n), key);
    int64_t x;
    return v && rb_parse_i64(v, min, max, &x) == 0 ? x : def;
}

static void read_settings(struct rb_net *n, struct rb_rfetch_shard *rs)
{
    rs->wait_ms = (int32_t)cfg_i64(n, "replica.fetch.wait.max.ms", 500, 0, INT32_MAX);
    rs->min_bytes = (int32_t)cfg_i64(n, "replica.fetch.min.bytes", 1, 1, INT32_MAX);
    rs->max_bytes = (int32_t)cfg_i64(n, "replica.fetch.max.bytes", 1048576, 0, INT32_MAX);
    rs->resp_max_bytes =
        (int32_t)cfg_i64(n, "replica.fetch.response.max.bytes", 10485760, 0, INT32_MAX);
    rs->backoff_ms = cfg_i64(n, "replica.fetch.backoff.ms", 1000, 0, INT32_MAX);
    rs->timeout_ms = cfg_i64(n, "replica.socket.timeout.ms", 30000, 1, INT32_MAX);
    /* the leader waits up to wait_ms: the socket timeout must outlast it */
    if (rs->timeout_ms < rs->wait_ms + 1000)
        rs->timeout_ms = rs->wait_ms + 1000;
}

/* Does this shard follow partition pm of the leader? */
static bool follows(const struct rb_net *n, const struct rb_partition_meta *pm, int32_t leader)
{
    int32_t self = n->b->bc->broker_id;
    if (pm->shard != n->shard->id || pm->leader != leader || leader == self || leader < 0)
        return false;
    for (int32_t i = 0; i < pm->n_replicas; i++)
        if (pm->replicas[i] == self)
            return true;
    return false;
}

static void kick(struct rfetch *f);

static void on_timer(struct rb_timer *t)
{
    struct rfetch *f = RB_CONTAINER_OF(t, struct rfetch, timer);
    f->flush_wait = false;
    kick(f);
}

/* A follower partition's flush wrote its bytes: the fetchers waiting for a flush
 * go on now rather than at their timer (one still unwritten waits again). */
static void on_follower_written(void *arg)
{
    struct rb_net *n = arg;
    if (!n->rfetch || n->rfetch->stopping)
        return;
    for (struct rfetch *f = n->rfetch->list; f; f = f->next) {
        if (!f->flush_wait)
            continue;
        rb_timer_cancel(&n->shard->timers, &f->timer);
        f->flush_wait = false;
        kick(f);
    }
}

/* After an error: replica.fetch.backoff.ms, or MOVING_MS when the leader is not
 * (yet) the leader of the epoch we know, or does not know it yet - the metadata
 * is moving and the next snapshot (which also kicks) may be a moment away. */
static void backoff(struct rfetch *f)
{
    struct rb_rfetch_shard *rs = f->n->rfetch;
    f->errors++;
    f->flush_wait = false;
    int64_t ms = f->moving ? RB_MIN(rs->backoff_ms, MOVING_MS) : rs->backoff_ms;
    f->moving = false;
    (void)rb_timer_arm(&f->n->shard->timers, &f->timer, rb_deadline_after(f->n->shard->now_ms, ms));
}

/* Build the fetch of every partition f's leader leads here into rs->w; returns
 * the partition count, or -EAGAIN when one waits for its flush. */
static int build(struct rfetch *f)
{
    struct rb_net *n = f->n;
    struct rb_rfetch_shard *rs = n->rfetch;
    const struct rb_metadata *md = n->md;
    struct rb_part_shard *ps = rb_part_of(n->shard);
    rb_arena_reset(&rs->arena);
    struct rb_fetch_req req;
    rb_fetch_req_init(&req);
    req.replica_id = n->b->bc->broker_id;
    req.max_wait_ms = rs->wait_ms;
    req.min_bytes = rs->min_bytes;
    req.max_bytes = rs->resp_max_bytes;
    req.isolation_level = 0;
    req.session_id = 0;
    req.session_epoch = -1;
    req.topics = rb_arena_alloc(&rs->arena, sizeof(*req.topics) * (size_t)RB_MAX(md->n_topics, 1));
    RB_ASSERT(req.topics);
    req.topics_n = 0;
    req.forgotten_topics_data_n = 0;
    int total = 0;
    for (int32_t i = 0; i < md->n_topics; i++) {
        const struct rb_topic_meta *t = &md->topics[i];
        struct rb_fetch_req_topic *rt = NULL;
        for (int32_t p = 0; p < t->n_partitions; p++) {
            if (!follows(n, &t->partitions[p], f->leader))
                continue;
            struct rb_part_key k = {t->name, t->name_len, p};
            struct rb_part_follow_pos pos;
            if (rb_part_follow_pos(ps, &k, &pos) || pos.role != RB_PART_FOLLOWER || pos.offline)
                continue; /* not here yet, or the role not applied yet */
            if (pos.unwritten)
                return -EAGAIN;
            if (!rt) {
                rt = &req.topics[req.topics_n++];
                rb_fetch_req_topic_init(rt);
                rt->topic = (struct rb_str){t->name, (int32_t)t->name_len};
                rt->partitions =
                    rb_arena_alloc(&rs->arena, sizeof(*rt->partitions) * (size_t)t->n_partitions);
                RB_ASSERT(rt->partitions);
                rt->partitions_n = 0;
            }
            struct rb_fetch_req_partition *rp = &rt->partitions[rt->partitions_n++];
            rb_fetch_req_partition_init(rp);
            rp->partition = p;
            rp->current_leader_epoch = pos.leader_epoch;
            rp->fetch_offset = pos.fetch_offset;
            int32_t last_epoch = -1;
            int64_t leo;
            (void)rb_part_latest_epoch(ps, &k, &last_epoch, &leo);
            rp->last_fetched_epoch = last_epoch; /* the leader checks divergence */
            rp->log_start_offset = pos.log_start;
            rp->partition_max_bytes = rs->max_bytes;
            total++;
        }
    }
    if (!total)
        return 0;
    rs->w.len = 0;
    rs->w.err = 0;
    rb_write_i32(&rs->w, 0); /* the frame size, patched below */
    char client[48];
    snprintf(client, sizeof(client), "ringbroker-replica-%d", (int)n->b->bc->broker_id);
    struct rb_req_header h = {.api_key = 1,
                              .api_version = FETCH_VERSION,
                              .correlation_id = ++f->corr,
                              .client_id = rb_str_c(client)};
    rb_req_header_encode(&rs->w, &h);
    rb_fetch_req_encode(&rs->w, FETCH_VERSION, &req);
    RB_ASSERT(rs->w.err == 0);
    rb_write_patch_i32(&rs->w, 0, (int32_t)(rs->w.len - 4));
    return total;
}

static void kick(struct rfetch *f)
{
    struct rb_rfetch_shard *rs = f->n->rfetch;
    if (rs->stopping || rb_peer_busy(f->peer) || rb_timer_armed(&f->timer))
        return;
    int r = build(f);
    if (r == -EAGAIN) {
        f->flush_wait = rb_timer_arm(&f->n->shard->timers, &f->timer,
                                     rb_deadline_after(f->n->shard->now_ms, FLUSH_WAIT_MS)) == 0;
        return;
    }
    if (r <= 0)
        return; /* nothing to follow from this leader now */
    uint32_t max_resp = (uint32_t)RB_MIN((int64_t)rs->resp_max_bytes + rs->max_bytes + (1 << 20),
                                         (int64_t)INT32_MAX);
    r = rb_peer_send(f->peer, rs->w.buf, (uint32_t)rs->w.len, max_resp, rs->timeout_ms);
    if (r) {
        if (!f->errors)
            RB_WARN(COMP, "shard %d: cannot fetch from broker %d: %s", f->n->shard->id, f->leader,
                    strerror(-r));
        backoff(f);
    }
}

/* The leader says our log diverged from its own (Fetch v12+ diverging_epoch: the
 * end of the largest epoch it shares with us): truncate there (part/epoch.c
 * decides the offset, as Kafka's fetcher); the next fetch goes on from the new
 * log end with the new latest epoch. False when it needs the back-off. */
static bool diverged(struct rfetch *f, const struct rb_part_key *k,
                     const struct rb_fetch_resp_partition *rp)
{
    struct rb_part_shard *ps = rb_part_of(f->n->shard);
    int64_t hw = -1, from = -1;
    (void)rb_part_high_watermark(ps, k, &hw);
    int r = rb_part_diverged(ps, k, rp->diverging_epoch.epoch, rp->diverging_epoch.end_offset, hw,
                             &from);
    if (r < 0) {
        if (r != -EAGAIN)
            RB_WARN(COMP,
                    "shard %d: truncating %s-%d (diverged from broker %d at epoch %d, "
                    "offset %lld): %s",
                    f->n->shard->id, k->topic, k->index, f->leader, rp->diverging_epoch.epoch,
                    (long long)rp->diverging_epoch.end_offset, strerror(-r));
        return false;
    }
    RB_INFO(
        COMP,
        "shard %d: %s-%d diverged from leader %d (its epoch %d ends at %lld): fetching from %lld",
        f->n->shard->id, k->topic, k->index, f->leader, rp->diverging_epoch.epoch,
        (long long)rp->diverging_epoch.end_offset, (long long)from);
    return true;
}

/* Append one partition's records; false when it needs the back-off. */
static bool take(struct rfetch *f, const struct rb_str topic,
                 const struct rb_fetch_resp_partition *rp)
{
    struct rb_net *n = f->n;
    const struct rb_topic_meta *t = rb_metadata_topic(n->md, topic.ptr, (size_t)topic.len);
    if (!t)
        return true; /* deleted meanwhile */
    struct rb_part_key k = {t->name, t->name_len, rp->partition_index};
    if (!rp->error_code && rp->diverging_epoch.epoch >= 0 && rp->diverging_epoch.end_offset >= 0)
        return diverged(f, &k, rp);
    if (rp->error_code) {
        f->moving |= rp->error_code == RB_KERR_NOT_LEADER_OR_FOLLOWER ||
                     rp->error_code == RB_KERR_UNKNOWN_LEADER_EPOCH ||
                     rp->error_code == RB_KERR_FENCED_LEADER_EPOCH;
        RB_DEBUG(COMP, "shard %d: fetch of %s-%d from broker %d: error %d", n->shard->id, t->name,
                 rp->partition_index, f->leader, rp->error_code);
        return false;
    }
    if (rp->log_start_offset > 0) /* the leader's retention or DeleteRecords */
        (void)rb_part_follow_log_start(rb_part_of(n->shard), &k, rp->log_start_offset);
    if (rp->records.len <= 0) {
        /* no records: the leader's HW still moves ours (Kafka's follower takes it
         * from every response; else it lags a fetch behind, in memory and in
         * replication-offset-checkpoint) */
        if (rp->high_watermark >= 0)
            (void)rb_part_follower_hw(rb_part_of(n->shard), &k, rp->high_watermark);
        return true;
    }
    int appended = 0;
    int r = rb_part_append_replica(rb_part_of(n->shard), &k, rp->records.ptr,
                                   (uint32_t)rp->records.len, rp->high_watermark, &appended);
    if (r == 0 || r == -ENOBUFS)
        return true; /* -ENOBUFS: the rest after the flush, fetched again */
    if (r != -EPERM && r != -ENOENT)
        RB_WARN(COMP, "shard %d: replica append to %s-%d from broker %d: %s", n->shard->id, t->name,
                rp->partition_index, f->leader, strerror(-r));
    return false;
}

static void on_response(struct rb_peer *p, int err, const uint8_t *body, uint32_t len, void *arg)
{
    (void)p;
    struct rfetch *f = arg;
    struct rb_rfetch_shard *rs = f->n->rfetch;
    if (err) {
        /* Perhaps the leader moved to another address: the coordination thread
         * resolves the names again (at most every few seconds). */
        if (err != -ECANCELED && f->n->md && f->n->md->resolve_again)
            atomic_store(f->n->md->resolve_again, true);
        /* Perhaps the leader died: the coordination thread probes it now. */
        if (err != -ECANCELED)
            rb_coord_liveness_hint(f->n->shard, f->leader);
        if (!f->errors)
            RB_INFO(COMP, "shard %d: fetch from broker %d failed: %s (retrying every %lld ms)",
                    f->n->shard->id, f->leader, strerror(-err), (long long)rs->backoff_ms);
        backoff(f);
        return;
    }
    struct rb_reader r;
    rb_reader_init(&r, body, len);
    int32_t corr = -1;
    rb_arena_reset(&rs->arena);
    struct rb_fetch_resp resp;
    if (rb_resp_header_decode(&r, 1, FETCH_VERSION, &corr) || corr != f->corr ||
        rb_fetch_resp_decode(&r, &rs->arena, FETCH_VERSION, &resp)) {
        RB_WARN(COMP, "shard %d: broker %d sent a fetch response that does not decode",
                f->n->shard->id, f->leader);
        backoff(f);
        return;
    }
    bool ok = resp.error_code == 0;
    for (int32_t i = 0; ok && i < resp.responses_n; i++)
        for (int32_t j = 0; j < resp.responses[i].partitions_n; j++)
            ok &= take(f, resp.responses[i].topic, &resp.responses[i].partitions[j]);
    if (!ok) {
        backoff(f);
        return;
    }
    if (f->errors)
        RB_INFO(COMP, "shard %d: fetching from broker %d again", f->n->shard->id, f->leader);
    f->errors = 0;
    kick(f);
}

static struct rfetch *fetcher_of(struct rb_net *n, int32_t leader)
{
    for (struct rfetch *f = n->rfetch->list; f; f = f->next)
        if (f->leader == leader)
            return f;
    struct rfetch *f = calloc(1, sizeof(*f));
    RB_ASSERT(f);
    f->n = n;
    f->leader = leader;
    f->peer = rb_peer_new(n->shard, leader, on_response, f);
    RB_ASSERT(f->peer);
    rb_timer_init(&f->timer, on_timer);
    f->next = n->rfetch->list;
    n->rfetch->list = f;
    return f;
}

void rb_rfetch_update(struct rb_net *n)
{
    if (!n->md || !n->md->leader_lease)
        return;
    if (!n->rfetch) {
        n->rfetch = calloc(1, sizeof(*n->rfetch));
        RB_ASSERT(n->rfetch);
        rb_arena_init(&n->rfetch->arena, 0);
        rb_writer_init(&n->rfetch->w, 4096);
        rb_part_set_follower_written(rb_part_of(n->shard), on_follower_written, n);
    }
    struct rb_rfetch_shard *rs = n->rfetch;
    if (rs->stopping)
        return;
    read_settings(n, rs);
    const struct rb_metadata *md = n->md;
    for (int32_t i = 0; i < md->n_topics; i++) {
        const struct rb_topic_meta *t = &md->topics[i];
        for (int32_t p = 0; p < t->n_partitions; p++)
            if (follows(n, &t->partitions[p], t->partitions[p].leader))
                (void)fetcher_of(n, t->partitions[p].leader);
    }
    for (struct rfetch *f = rs->list; f; f = f->next) {
        for (int32_t b = 0; b < md->n_brokers; b++) {
            if (md->brokers[b].id != f->leader)
                continue;
            bool had = !f->no_addr;
            f->no_addr = rb_peer_set_addr(f->peer, &md->brokers[b].addr) != 0;
            if (f->no_addr && had)
                RB_WARN(COMP,
                        "shard %d: broker %d's host %s is not resolved (yet): not fetching "
                        "from it until it is",
                        n->shard->id, f->leader, md->brokers[b].host);
        }
        rb_timer_cancel(&n->shard->timers, &f->timer); /* news: no need to wait */
        f->flush_wait = false;
        kick(f);
    }
}

void rb_rfetch_stop(struct rb_net *n)
{
    if (!n->rfetch)
        return;
    n->rfetch->stopping = true;
    rb_part_set_follower_written(rb_part_of(n->shard), NULL, NULL);
    for (struct rfetch *f = n->rfetch->list; f; f = f->next) {
        rb_timer_cancel(&n->shard->timers, &f->timer);
        rb_peer_close(f->peer);
    }
}

bool rb_rfetch_quiet(const struct rb_net *n)
{
    if (!n->rfetch)
        return true;
    for (struct rfetch *f = n->rfetch->list; f; f = f->next)
        if (!rb_peer_quiet(f->peer))
            return false;
    return true;
}

void rb_rfetch_free(struct rb_net *n)
{
    if (!n->rfetch)
        return;
    if (rb_part_of(n->shard))
        rb_part_set_follower_written(rb_part_of(n->shard), NULL, NULL);
    while (n->rfetch->list) {
        struct rfetch *f = n->rfetch->list;
        n->rfetch->list = f->next;
        rb_timer_cancel(&n->shard->timers, &f->timer);
        rb_peer_free(f->peer);
        free(f);
    }
    rb_arena_free(&n->rfetch->arena);
    rb_writer_free(&n->rfetch->w);
    free(n->rfetch);
    n->rfetch = NULL;
}
