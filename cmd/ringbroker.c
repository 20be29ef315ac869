/*
 * cmd/ringbroker.c - the ringbroker daemon's entry point. It probes io_uring, has
 * cmd/broker.c assemble the broker (configuration, shards, coordination backend
 * recovering the partition logs; the simulator runs the same assembly), starts the
 * shard threads and waits for SIGINT, SIGTERM or SIGHUP (SIGUSR1 logs the shards'
 * group-commit counters), then stops them: each shard flushes what it holds and
 * closes its logs cleanly.
 *
 *   ringbroker CONFIG [--override key=value ...]
 */
#include "cmd/broker.h"
#include "cmd/crash.h"
#include "cmd/metrics.h"
#include "coord/coord.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/rb.h"
#include "core/shard.h"
#include "part/part.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP       "main"
#define RB_VERSION "0.1.0"

extern char **environ;

static void usage(FILE *f)
{
    fprintf(f, "usage: ringbroker CONFIG [--override key=value ...]\n"
               "       ringbroker --version | --check-io-uring\n"
               "Starts a Kafka-compatible broker configured by CONFIG (Kafka's\n"
               "server.properties format). Environment: KAFKA_FOO_BAR / RINGBROKER_FOO_BAR\n"
               "set foo.bar; --override wins over both.\n");
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

/* SIGINT/SIGTERM/SIGHUP: returned; SIGUSR1: the stats lines, then wait on.
 * SIGHUP stops the broker cleanly, as Kafka does: a hangup (a closed terminal, or
 * the kernel's SIGHUP to a process group orphaned while one of its members was
 * stopped) must not kill it without a clean close or a log line. */
static int wait_for_signal(struct rb_broker *b)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
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
    if (argc == 2 && strcmp(argv[1], "--check-io-uring") == 0) {
        /* for container/docker-entrypoint.sh: can this process use io_uring? */
        char why[1024] = "";
        int r = rb_uring_probe(why, sizeof(why));
        printf("%s\n", r ? why : "io_uring: ok");
        return r ? 1 : 0;
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
    char err[1024] = "";

    if (rb_uring_probe(err, sizeof(err))) {
        RB_ERROR(COMP, "%s", err);
        return 1;
    }
    /* Signals go to the main thread only (sigwait); shards never see them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    rb_crash_handlers_install();

    static struct rb_broker b;
    struct rb_broker_args args = {
        .config_path = path, .env = environ, .n_over = n_over, .over = over, .ring_entries = 1024};
    int r = rb_broker_open(&b, &args, err, sizeof(err));
    free(over);
    if (r) {
        RB_ERROR(COMP, "%s", err);
        return 1;
    }
    r = rb_runtime_start(&b.rt);
    rb_broker_close_prebound();
    if (r) {
        RB_ERROR(COMP, "startup failed (see above)");
        return 1;
    }
    struct rb_metrics_server *ms = NULL;
    const char *ml = rb_config_get(b.config, "metrics.listener");
    if (ml && ml[0]) {
        uint16_t mport = 0;
        r = rb_metrics_server_start(&ms, &b, ml, &mport, err, sizeof(err));
        if (r) {
            RB_ERROR(COMP, "%s", err);
            rb_runtime_request_stop(&b.rt);
            rb_runtime_join(&b.rt);
            rb_broker_close(&b);
            return 1;
        }
        RB_INFO(COMP, "metrics on %s (port %u), path /metrics", ml, mport);
    }
    if (rb_config_get(b.config, "replication.test.enable"))
        RB_WARN(COMP, "replication.test.enable is deprecated and ignored: replication factors "
                      "up to the number of brokers are always accepted in a cluster");
    RB_INFO(COMP, "ringbroker %s started: broker.id=%d, listening on %s:%u, %d shards, log.dirs=%s",
            RB_VERSION, b.bc->broker_id, b.bc->listener_host[0] ? b.bc->listener_host : "0.0.0.0",
            b.bound_port, b.rt.n_shards, b.bc->log_dirs[0]);
    int sig = wait_for_signal(&b);
    RB_INFO(COMP, "received SIG%s: shutting down", sigabbrev_np(sig));
    rb_coord_controlled_shutdown(b.coord);
    rb_metrics_server_stop(ms);
    rb_runtime_request_stop(&b.rt);
    rb_runtime_join(&b.rt);
    log_stats(&b);
    rb_broker_close(&b);
    RB_INFO(COMP, "shut down cleanly");
    return 0;
}
