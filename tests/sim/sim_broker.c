/*
 * tests/sim/sim_broker.c - the real broker in the simulator's process, assembled
 * by cmd/broker.c exactly as the daemon assembles it (configuration, each
 * shard's part/ and net/ state and hooks, coordination backend in standalone
 * mode recovering the logs), but with every shard on the simulated ring and clock
 * (sim_world.c) instead of io_uring threads. One broker per process lifetime: the
 * process ends with the lifetime (ringsim.c).
 */
#include "cmd/broker.h"
#include "core/logging.h"
#include "core/rb.h"
#include "tests/sim/sim_world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_broker {
    struct rb_broker b;
};

int sim_broker_start(struct sim_broker **out, const char *dir, int n_shards, const char *extra)
{
    struct sim_broker *sb = calloc(1, sizeof(*sb));
    RB_ASSERT(sb);
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
    struct rb_broker_args args = {.config_path = path, .env = env, .ring_entries = 256};
    int r = rb_broker_open(&sb->b, &args, err, sizeof(err));
    if (r) {
        fprintf(stderr, "sim: %s\n", err);
        return r;
    }
    r = sim_world_boot(&sb->b.rt);
    rb_broker_close_prebound();
    *out = sb;
    return r;
}

int sim_broker_stop(struct sim_broker *sb, sim_actor_fn actor, void *arg)
{
    rb_runtime_request_stop(&sb->b.rt);
    int r = sim_world_run(sim_now_ns + 60ll * 1000000000, actor, arg);
    if (r != SIM_STOPPED)
        return -ETIMEDOUT;
    sim_world_finish();
    rb_broker_close(&sb->b);
    free(sb);
    return 0;
}
