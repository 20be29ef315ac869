/*
 * cmd/ringbroker.c - the ringbroker daemon's entry point and composition root: the
 * only file that wires core/, storage/, part/, coord/ and net/ together. It loads the
 * configuration, probes io_uring, opens the coordination backend (which recovers the partition
 * logs), starts the shard threads and waits for SIGINT/SIGTERM (SIGUSR1 logs the
 * shards' group-commit counters), then stops them:
 * each shard flushes what it holds and closes its logs cleanly.
 *
 *   ringbroker CONFIG [--override key=value ...]
 */
#include "coord/coord.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/rb.h"
#include "core/shard.h"
#include "net/net.h"
#include "net/fanout.h"
#include "part/maint.h"
#include "part/part.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP       "main"
#define RB_VERSION "0.1.0"

extern char **environ;
void rb_net_close_prebound(void);

static void usage(FILE *f)
{
    fprintf(f, "usage: ringbroker CONFIG [--override key=value ...]\n"
               "       ringbroker --version\n"
               "Starts a Kafka-compatible broker configured by CONFIG (Kafka's\n"
               "server.properties format). Environment: KAFKA_FOO_BAR / RINGBROKER_FOO_BAR\n"
               "set foo.bar; --override wins over both.\n");
}

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
}

static int parse_args(int argc, char **argv, const char **path, int *n_over, char ***over)
{
    *path = NULL;
    *n_over = 0;
    *over = calloc((size_t)argc, sizeof(char *));
    RB_ASSERT(*over);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--override") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ringbroker: --override needs key=value\n");
                return -EINVAL;
            }
            (*over)[(*n_over)++] = argv[++i];
        } else if (strncmp(argv[i], "--override=", 11) == 0) {
            (*over)[(*n_over)++] = argv[i] + 11;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ringbroker: unknown option %s\n", argv[i]);
            return -EINVAL;
        } else if (!*path) {
            *path = argv[i];
        } else {
            fprintf(stderr, "ringbroker: unexpected argument %s\n", argv[i]);
            return -EINVAL;
        }
    }
    if (!*path) {
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

static int setup_shards(struct rb_broker *b, int n_shards)
{
    int r = rb_runtime_init(&b->rt, n_shards, 1024);
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

/* One line per shard with its group-commit counters (part/part.h), for perf/run:
 *   stats shard=0 t_ms=MONO flush_cycles=N flushes=N syncs=N bytes=N */
static void log_stats(struct rb_broker *b)
{
    int64_t now = rb_mono_ms();
    for (int i = 0; i < b->rt.n_shards; i++) {
        const struct rb_part_stats *st = rb_part_stats(rb_part_of(b->rt.t[i]));
        RB_INFO("stats",
                "stats shard=%d t_ms=%lld flush_cycles=%llu flushes=%llu syncs=%llu bytes=%llu", i,
                (long long)now, (unsigned long long)atomic_load(&st->flush_cycles),
                (unsigned long long)atomic_load(&st->flushes),
                (unsigned long long)atomic_load(&st->syncs),
                (unsigned long long)atomic_load(&st->bytes));
    }
}

/* SIGINT/SIGTERM: returned; SIGUSR1: the stats lines, then wait on. */
static int wait_for_signal(struct rb_broker *b)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGUSR1)
            return sig;
        log_stats(b);
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("ringbroker %s\n", RB_VERSION);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    const char *path;
    int n_over;
    char **over;
    if (parse_args(argc, argv, &path, &n_over, &over))
        return 1;

    static struct rb_broker b;
    char err[1024] = "";
    int r = rb_config_load(&b.config, path, environ, n_over, over, err, sizeof(err));
    free(over);
    if (r) {
        fprintf(stderr, "ringbroker: configuration error: %s\n", err);
        return 1;
    }
    b.bc = rb_config_broker(b.config);
    enum rb_loglevel lvl;
    if (rb_loglevel_parse(b.bc->log_level, &lvl) == 0)
        rb_loglevel_max = lvl;
    if (rb_uring_probe(err, sizeof(err))) {
        RB_ERROR(COMP, "%s", err);
        return 1;
    }
    /* Signals go to the main thread only (sigwait); shards never see them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int n_shards = b.bc->num_shards > 0 ? b.bc->num_shards : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n_shards < 1)
        n_shards = 1;
    if (n_shards > RB_MAX_THREADS - 1)
        n_shards = RB_MAX_THREADS - 1;
    r = setup_shards(&b, n_shards);
    if (r) {
        RB_ERROR(COMP, "cannot set up %d shards: %s", n_shards, strerror(-r));
        return 1;
    }
    r = rb_net_prebind(&b, err, sizeof(err));
    if (r) {
        RB_ERROR(COMP, "%s", err);
        return 1;
    }
    struct rb_coord_hooks hooks = {
        .adopt_initial = hook_adopt_initial,
        .install_initial = hook_install_initial,
        .apply = rb_net_apply_update,
        .ctx = &b,
    };
    r = rb_coord_standalone_open(&b.coord, b.config, &b.rt, &hooks, err, sizeof(err));
    if (r) {
        RB_ERROR(COMP, "cannot open the log dirs: %s", err[0] ? err : strerror(-r));
        return 1;
    }
    r = rb_runtime_start(&b.rt);
    rb_net_close_prebound();
    if (r) {
        RB_ERROR(COMP, "startup failed (see above)");
        return 1;
    }
    RB_INFO(COMP, "ringbroker %s started: broker.id=%d, listening on %s:%u, %d shards, log.dirs=%s",
            RB_VERSION, b.bc->broker_id, b.bc->listener_host[0] ? b.bc->listener_host : "0.0.0.0",
            b.bound_port, n_shards, b.bc->log_dirs[0]);
    int sig = wait_for_signal(&b);
    RB_INFO(COMP, "received %s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rb_runtime_request_stop(&b.rt);
    rb_runtime_join(&b.rt);
    log_stats(&b);
    rb_part_maint_shutdown(&b.rt, b.bc->log_dirs[0]); /* recovery-point checkpoints */
    rb_coord_close(b.coord);
    for (int i = 0; i < b.rt.n_shards; i++) {
        free(b.rt.t[i]->net);
        rb_part_shard_free(b.rt.t[i]->part);
    }
    rb_runtime_free(&b.rt);
    rb_config_free(b.config);
    RB_INFO(COMP, "shut down cleanly");
    return 0;
}
