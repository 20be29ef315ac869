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

static void hook_install_initial(void *ctx, int shard, struct rb_metadata *md)
{
    struct rb_broker *b = ctx;
    struct rb_net *n = b->rt.t[shard]->net;
    rb_metadata_unref(n->md);
    n->md = md;
    if (md->leader_lease) /* a cluster: roles before the shard serves anything */
        rb_net_apply_roles(b->rt.t[shard], md, b->bc->broker_id);
}

static int setup_shards(struct rb_broker *b, int n_shards, uint32_t ring_entries)
{
    int r = rb_runtime_init(&b->rt, n_shards, ring_entries);
    if (r)
        return r;
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
        .apply = rb_net_apply_update,
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
    rb_config_free(b->config);
}
