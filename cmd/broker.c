/*
 * cmd/broker.c - the broker's assembly (cmd/broker.h): the only place that wires
 * core/, part/, coord/ and net/ together. The daemon and the simulator both call
 * it; they differ only in what runs the shards (threads on io_uring, or the
 * simulator's scheduler on a simulated ring).
 */
#include "cmd/broker.h"

#include "coord/coord.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/rb.h"
#include "core/shard.h"
#include "core/timer.h"
#include "net/fanout.h"
#include "part/maint.h"
#include "part/part.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void rb_net_close_prebound(void);

static void hook_adopt_initial(void *ctx, int shard, const struct rb_topic_meta *t, int32_t index,
                               struct rb_log *log)
{
    struct rb_broker *b = ctx;
    int r = rb_part_add(rb_part_of(b->rt.t[shard]), t->name, t->id, index, log);
    RB_ASSERT(r == 0);
}

static void gauge_set(struct rb_cluster_gauges *g, int i, uint64_t v)
{
    atomic_store_explicit(&g->v[i], v, memory_order_relaxed);
}

/* The cluster figures of the metrics endpoint from snapshot md (Kafka's
 * definitions): the controller flag, partitions hosted and led here, under-
 * replicated ones among those led here (ISR smaller than the replicas), and on
 * the controller the partitions with no live leader and the cluster's total.
 * Run by the first shard only, so a newer snapshot is never overwritten by an
 * older one. A standalone broker (no leader lease) publishes nothing. */
static void cluster_gauges(struct rb_broker *b, int shard, const struct rb_metadata *md)
{
    if (shard != 0 || !md || !md->leader_lease)
        return;
    int32_t self = b->bc->broker_id;
    bool controller = md->controller_id == self;
    uint64_t hosted = 0, led = 0, under = 0, offline = 0, global = 0;
    for (int32_t i = 0; i < md->n_topics; i++) {
        const struct rb_topic_meta *t = &md->topics[i];
        for (int32_t p = 0; p < t->n_partitions; p++) {
            const struct rb_partition_meta *pm = &t->partitions[p];
            global++;
            for (int32_t r = 0; r < pm->n_replicas; r++)
                if (pm->replicas[r] == self) {
                    hosted++;
                    break;
                }
            if (pm->leader == self) {
                led++;
                if (pm->n_isr < pm->n_replicas)
                    under++;
            }
            bool live = false;
            for (int32_t k = 0; k < md->n_brokers && pm->leader >= 0; k++)
                live = live || md->brokers[k].id == pm->leader;
            if (!live)
                offline++;
        }
    }
    struct rb_cluster_gauges *g = &b->cl;
    gauge_set(g, RB_CLG_CONTROLLER, controller);
    gauge_set(g, RB_CLG_HOSTED, hosted);
    gauge_set(g, RB_CLG_LEADER, led);
    gauge_set(g, RB_CLG_UNDER_REPLICATED, under);
    gauge_set(g, RB_CLG_OFFLINE, controller ? offline : 0);
    gauge_set(g, RB_CLG_GLOBAL, controller ? global : 0);
    atomic_store_explicit(&g->v[RB_CLG_VALID], 1, memory_order_release);
}

static void hook_apply(struct rb_shard *s, struct rb_md_update *u)
{
    struct rb_metadata *md = u->md; /* the shard's reference from now on */
    rb_net_apply_update(s, u);
    cluster_gauges(s->app, s->id, md);
}

static void hook_install_initial(void *ctx, int shard, struct rb_metadata *md)
{
    struct rb_broker *b = ctx;
    struct rb_net *n = b->rt.t[shard]->net;
    rb_metadata_unref(n->md);
    n->md = md;
    /* the shard's clock before its loop first sets it: the ISR state made here
     * counts the followers caught up from now (with 0 a restarted leader proposed
     * removing every follower at its first turn, replica.lag.time.max.ms unused) */
    b->rt.t[shard]->now_ms = rb_mono_ms();
    if (md->leader_lease) /* a cluster: roles before the shard serves anything */
        rb_net_apply_roles(b->rt.t[shard], md, b->bc->broker_id);
    cluster_gauges(b, shard, md);
}

static int setup_shards(struct rb_broker *b, int n_shards, uint32_t ring_entries)
{
    int r = rb_runtime_init(&b->rt, n_shards, ring_entries);
    if (r)
        return r;
    if (rb_part_vthread_enabled) {
        b->vt = rb_vthread_new(n_shards); /* big compressed batches off the shards */
        if (!b->vt)
            return -ENOMEM;
    }
    for (int i = 0; i < b->rt.n_threads; i++) {
        struct rb_shard *s = b->rt.t[i];
        s->app = b;
        if (s->is_coord) {
            s->hooks.start = rb_coord_thread_start;
            continue;
        }
        struct rb_net *n = calloc(1, sizeof(*n));
        if (!n)
            return -ENOMEM;
        n->b = b;
        n->shard = s;
        n->listen_fd = -1;
        s->part = rb_part_shard_new(s, b->config, b->bc);
        if (!s->part)
            return -ENOMEM;
        rb_part_set_isr_sink(s->part, rb_coord_isr_sink, s); /* ISR changes via the quorum */
        rb_part_set_vthread(s->part, b->vt, i);
        s->net = n;
        s->hooks.start = rb_net_shard_start;
        s->hooks.turn = rb_net_shard_turn;
        s->hooks.stop = rb_net_shard_stop;
        s->hooks.stop_done = rb_net_shard_stop_done;
        s->hooks.finish = rb_net_shard_finish;
    }
    return 0;
}

/* err = "what: err" */
static void prefix(char *err, size_t errlen, const char *what)
{
    char why[1024];
    snprintf(why, sizeof(why), "%s", err);
    snprintf(err, errlen, "%s: %s", what, why);
}

static int shard_count(const struct rb_broker_config *bc)
{
    int n = bc->num_shards > 0 ? bc->num_shards : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > RB_MAX_THREADS - 1)
        n = RB_MAX_THREADS - 1;
    return n;
}

int rb_broker_open(struct rb_broker *b, const struct rb_broker_args *args, char *err, size_t errlen)
{
    int r = rb_config_load(&b->config, args->config_path, args->env, args->n_over, args->over, err,
                           errlen);
    if (r) {
        prefix(err, errlen, "configuration error");
        return r;
    }
    b->bc = rb_config_broker(b->config);
    enum rb_loglevel lvl;
    if (rb_loglevel_parse(b->bc->log_level, &lvl) == 0)
        rb_loglevel_max = lvl;
    int n_shards = shard_count(b->bc);
    r = setup_shards(b, n_shards, args->ring_entries);
    if (r) {
        snprintf(err, errlen, "cannot set up %d shards: %s", n_shards, strerror(-r));
        return r;
    }
    r = rb_net_prebind(b, err, errlen);
    if (r)
        return r;
    struct rb_coord_hooks hooks = {
        .adopt_initial = hook_adopt_initial,
        .install_initial = hook_install_initial,
        .apply = hook_apply,
        .ctx = b,
    };
    r = rb_coord_standalone_open(&b->coord, b->config, &b->rt, &hooks, err, errlen);
    if (r) {
        if (!err[0])
            snprintf(err, errlen, "%s", strerror(-r));
        prefix(err, errlen, "cannot open the log dirs");
    }
    return r;
}

void rb_broker_close_prebound(void)
{
    rb_net_close_prebound();
}

void rb_broker_close(struct rb_broker *b)
{
    rb_part_maint_shutdown(&b->rt, b->bc->log_dirs[0]); /* recovery-point checkpoints */
    rb_coord_close(b->coord);
    for (int i = 0; i < b->rt.n_shards; i++) {
        free(b->rt.t[i]->net);
        rb_part_shard_free(b->rt.t[i]->part);
    }
    rb_runtime_free(&b->rt);
    rb_vthread_free(b->vt); /* the shards stopped with no job out (rb_part_idle) */
    b->vt = NULL;
    rb_config_free(b->config);
}
