/*
 * tests/sim/sim_broker.c - builds the real broker in the simulator's process,
 * wired as cmd/ringbroker.c wires the daemon (configuration, coordination
 * backend in standalone mode recovering the logs, one rb_net per shard with the
 * net/ hooks), but with every runtime thread on the simulated ring and clock
 * (sim_world.c) instead of io_uring. One broker per process lifetime: global
 * state is never freed, the process ends with the lifetime (ringsim.c).
 */
#include "coord/coord.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/rb.h"
#include "net/log_maint.h"
#include "net/net.h"
#include "net/partition.h"
#include "storage/tail_cache.h"
#include "tests/sim/sim_world.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rb_net_close_prebound(void);

struct sim_broker {
    struct rb_broker b;
    char dir[512];
};

static void hook_adopt_initial(void *ctx, int shard, const struct rb_topic_meta *t, int32_t index,
                               struct rb_log *log)
{
    struct rb_broker *b = ctx;
    struct rb_net *n = b->rt.t[shard]->net;
    int r = rb_ptable_add(n, t->name, t->id, index, log);
    RB_ASSERT(r == 0);
}

static void hook_install_initial(void *ctx, int shard, struct rb_metadata *md)
{
    struct rb_broker *b = ctx;
    struct rb_net *n = b->rt.t[shard]->net;
    rb_metadata_unref(n->md);
    n->md = md;
}

static int setup_shards(struct rb_broker *b, int n_shards)
{
    int r = rb_runtime_init(&b->rt, n_shards, 256);
    if (r)
        return r;
    for (int i = 0; i < b->rt.n_threads; i++) {
        struct rb_shard *s = b->rt.t[i];
        s->app = b;
        if (s->is_coord)
            continue;
        struct rb_net *n = calloc(1, sizeof(*n));
        if (!n)
            return -ENOMEM;
        n->b = b;
        n->shard = s;
        n->listen_fd = -1;
        n->tail_cache = rb_tail_cache_new((uint64_t)b->bc->log_tail_cache_bytes);
        if (!n->tail_cache)
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

int sim_broker_start(struct sim_broker **out, const char *dir, int n_shards, const char *extra)
{
    struct sim_broker *sb = calloc(1, sizeof(*sb));
    RB_ASSERT(sb);
    struct rb_broker *b = &sb->b;
    snprintf(sb->dir, sizeof(sb->dir), "%s", dir);
    char path[600], err[1024] = "";
    snprintf(path, sizeof(path), "%s/server.properties", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "broker.id=0\nlisteners=PLAINTEXT://127.0.0.1:0\nlog.dirs=%s/data\n"
            "num.shards=%d\nlog.level=%s\n%s",
            dir, n_shards, sim_verbose > 1 ? "info" : "error", extra ? extra : "");
    fclose(f);
    char *env[] = {NULL};
    int r = rb_config_load(&b->config, path, env, 0, NULL, err, sizeof(err));
    if (r) {
        fprintf(stderr, "sim: configuration error: %s\n", err);
        return r;
    }
    b->bc = rb_config_broker(b->config);
    enum rb_loglevel lvl;
    if (rb_loglevel_parse(b->bc->log_level, &lvl) == 0)
        rb_loglevel_max = lvl;
    r = setup_shards(b, n_shards);
    if (r)
        return r;
    r = rb_net_prebind(b, err, sizeof(err));
    if (r) {
        fprintf(stderr, "sim: %s\n", err);
        return r;
    }
    struct rb_coord_hooks hooks = {
        .adopt_initial = hook_adopt_initial,
        .install_initial = hook_install_initial,
        .apply = rb_net_apply_update,
        .ctx = b,
    };
    r = rb_coord_standalone_open(&b->coord, b->config, &b->rt, &hooks, err, sizeof(err));
    if (r) {
        fprintf(stderr, "sim: cannot open the log dirs: %s\n", err[0] ? err : strerror(-r));
        return r;
    }
    r = sim_world_boot(&b->rt);
    rb_net_close_prebound();
    *out = sb;
    return r;
}

int sim_broker_stop(struct sim_broker *sb, sim_actor_fn actor, void *arg)
{
    struct rb_broker *b = &sb->b;
    rb_runtime_request_stop(&b->rt);
    int r = sim_world_run(sim_now_ns + 60ll * 1000000000, actor, arg);
    if (r != SIM_STOPPED)
        return -ETIMEDOUT;
    sim_world_finish();
    char data[600];
    snprintf(data, sizeof(data), "%s/data", sb->dir);
    rb_log_maint_shutdown(&b->rt, data);
    return 0;
}
