/*
 * tests/sim/ringsim.c - the simulator's driver: seeds, broker lifetimes, summary.
 *
 *   ringsim [--seed S] [--seeds N] [--verbose] [--keep] [--defect NAME]
 *           [--small-segments]
 *   ringsim --selftest BUDGET      (a build with -DRB_SIM_DEFECTS only)
 *   ringsim --cluster [--seed S] [--seeds N] [--verbose]
 *                                  the cluster simulation (sim_cluster.c): brokers'
 *                                  control planes on a simulated quorum
 *   ringsim --repl [--seed S] [--seeds N] [--verbose]
 *                                  the replication simulation (sim_repl.c): three
 *                                  brokers' part/ tables replicating over links
 *
 * A run (one seed) is a few broker lifetimes on one data directory, each in a
 * forked child so a restart starts from clean process state: the faulty
 * lifetimes (clients, faults, maybe a crash that drops unsynced writes), then a
 * fault-free lifetime that reads everything back and checks it against the
 * ledger (sim_check.c). A child exits 0 (invariants held), 10 (an invariant
 * failed) or otherwise (the broker crashed or asserted: a failure too).
 * Every choice is drawn from the seed, so `ringsim --seed S` replays run S.
 * --defect plants one defect of core/defect.h; --selftest plants each in turn
 * and runs seeds 1..BUDGET until one fails, and exits 0 only if every defect
 * was caught.
 * Prints one line per failing run (every run with --verbose) and the summary
 *   sim: N passed, N failed
 * The first seed of a range runs twice: both runs must leave the same fingerprint of every
 * completion (sim_stats.fingerprint), or something outside the seed (a clock,
 * randomness, an address) steers the broker, and the run fails.
 */
#include "tests/sim/sim_work.h"
#include "core/defect.h"
#include "core/rb.h"
#include "net/fanout.h"
#include "part/part.h"
#include "storage/compress.h"
#include "tests/sim/sim_quorum.h"
#include "tests/sim/sim_repl.h"
#include "tests/sim/sim_world.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_INVARIANT 10
#define LIFETIME_NS    (2000ll * 1000000)

static char props[1024];
const char *sim_broker_props = props;
/* --small-segments: only 16-64 KiB segments in the draw (a roll every few
 * batches, so rolls meet flushes in flight far more often). The default draw
 * has them too, beside bigger ones. */
static bool small_segments;

/* The run's broker configuration, drawn from the seed: segment and chunk sizes
 * (small segments roll under in-flight flushes: README.md, Known findings), the
 * tail cache (0: every fetch reads the files), read or splice; the per-turn
 * budgets of validation and ListOffsets lookups. */
static void pick_props(void)
{
    static const int seg_kb[] = {16, 32, 64, 128, 256, 512, 1024};
    int seg = small_segments ? seg_kb[sim_below(3)] : seg_kb[sim_below(RB_ARRAY_LEN(seg_kb))];
    static const int chunk_kb[] = {4, 16, 64};
    snprintf(props, sizeof(props),
             "num.partitions=4\nauto.create.topics.enable=true\n"
             "log.segment.bytes=%d\nlog.preallocate.step.bytes=262144\n"
             "log.chunk.bytes=%d\nlog.tail.cache.bytes=%d\n"
             "log.max.dirty.bytes=262144\nfetch.file.transfer=%s\n"
             "group.initial.rebalance.delay.ms=0\noffsets.topic.num.partitions=2\n"
             "socket.recv.buffers=64\nsocket.recv.buffer.bytes=4096\n%s",
             seg * 1024, chunk_kb[sim_below(3)] * 1024, sim_below(3) ? 65536 : 0,
             sim_below(2) ? "read" : "splice",
             sim_below(3) ? "" : "compression.type=lz4\n"); /* owners rebuild the others */
    /* Half the runs validate every produce one batch a loop turn and answer every
     * ListOffsets lookup on a later turn, so stepped requests meet the rest. */
    bool tiny = sim_below(2) == 0;
    rb_part_validate_first_bytes = tiny ? 1 : (int64_t)1 << 20;
    rb_part_validate_turn_bytes = tiny ? 1 : (int64_t)2 << 20;
    rb_part_vthread_enabled = false; /* shards are stepped, not threads: */
    rb_part_vthread_sim = true;      /* its jobs run on the shard, answered next turn */
    rb_part_validate_inline_bytes = tiny ? 1 : (int64_t)1 << 20; /* tiny: every one */
    static const int codecs[] = {0, RB_CODEC_LZ4, RB_CODEC_ZSTD, RB_CODEC_GZIP};
    sim_codec = codecs[sim_below(RB_ARRAY_LEN(codecs))];
    rb_net_lookup_turn_bytes = tiny ? 0 : (int64_t)2 << 20;
}

static struct sim_stats *shared_stats;

static uint64_t mix(uint64_t seed, uint64_t k)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + k * 0xbf58476d1ce4e5b9ull + 1;
    x ^= x >> 31;
    return x * 0x94d049bb133111ebull;
}

static void pick_faults(int lifetime, bool last, bool may_crash)
{
    memset(&sim_faults, 0, sizeof(sim_faults));
    if (last)
        return;
    sim_faults.delay_ppm = 100000;
    sim_faults.delay_max_us = 2000 + (uint32_t)sim_below(20000);
    sim_faults.short_io_ppm = 100000;
    sim_faults.torn_ppm = 500000;
    if (sim_below(3) == 0)
        sim_faults.fsync_eio_ppm = 2000 + (uint32_t)sim_below(5000);
    if (sim_below(5) == 0)
        sim_faults.write_eio_ppm = 500 + (uint32_t)sim_below(2000);
    if (sim_below(5) == 0)
        sim_faults.enospc_ppm = 500 + (uint32_t)sim_below(3000);
    if (sim_below(2) == 0)
        sim_faults.conn_drop_ppm = 2000 + (uint32_t)sim_below(20000);
    if (may_crash && sim_below(10) < 6)
        sim_faults.crash_at_ns = 50 * 1000000 + (int64_t)sim_below(LIFETIME_NS);
    (void)lifetime;
}

/* The broker asserted or crashed: the stack into the lifetime's log (resolve
 * with addr2line -e build/sim/ringsim), then die of the same signal. */
static void on_fatal(int sig)
{
    void *pc[64];
    int n = backtrace(pc, 64);
    backtrace_symbols_fd(pc, n, 2);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void add_stats(struct sim_stats *to, const struct sim_stats *from)
{
    uint64_t *t = (uint64_t *)to;
    const uint64_t *f = (const uint64_t *)from;
    for (size_t i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
        t[i] += f[i];
}

/* One lifetime in a child. Returns 0, EXIT_INVARIANT, or another failure code. */
static int lifetime(uint64_t seed, int k, bool last, int n_shards, const char *dir, char *why,
                    size_t whylen)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        if (!sim_verbose) {
            char p[600];
            snprintf(p, sizeof(p), "%s/log.%d", dir, k);
            int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd >= 0) {
                dup2(fd, 2);
                close(fd);
            }
        }
        signal(SIGPIPE, SIG_IGN);
        signal(SIGABRT, on_fatal);
        signal(SIGSEGV, on_fatal);
        signal(SIGBUS, on_fatal);
        alarm(300); /* a hung lifetime (a bug of the simulator) dies of SIGALRM */
        sim_rng_seed(mix(seed, (uint64_t)k + 1));
        pick_faults(k, last, true);
        sim_clock_install(1767225600000ll + (int64_t)k * 3600 * 1000);
        memset(&sim_stats, 0, sizeof(sim_stats));
        int r = last ? sim_check_run(dir, n_shards) : sim_work_run(dir, k, n_shards, LIFETIME_NS);
        add_stats(shared_stats, &sim_stats);
        SIM_LOG("lifetime %d ends: %s, %d invariant failures, fingerprint %016llx", k,
                r == SIM_CRASHED ? "crashed (injected)" : "ran to the end", sim_failures,
                (unsigned long long)sim_stats.fingerprint);
        fflush(stderr);
        _exit(sim_failures ? EXIT_INVARIANT : 0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_INVARIANT)
        snprintf(why, whylen, "lifetime %d: invariant failed", k);
    else if (WIFSIGNALED(st))
        snprintf(why, whylen, "lifetime %d: broker died of signal %d (%s)", k, WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else
        snprintf(why, whylen, "lifetime %d: exit status %d", k, WEXITSTATUS(st));
    return WIFEXITED(st) && WEXITSTATUS(st) == EXIT_INVARIANT ? EXIT_INVARIANT : 3;
}

static void print_tail(const char *dir, int k)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "grep -h 'INVARIANT\\|ASSERT\\|assert' %s/log.%d | head -5 >&2", dir,
             k);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof(cmd), "tail -5 %s/log.%d >&2", dir, k);
        if (system(cmd)) {
        }
    }
}

static int run_seed(uint64_t seed, const char *root, bool keep, char *why, size_t whylen)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/seed-%llu", root, (unsigned long long)seed);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/data", dir, dir);
    if (system(cmd))
        return 2;
    sim_rng_seed(seed);
    int n_life = 1 + (int)sim_below(3);
    int n_shards = 2 + (int)sim_below(2);
    pick_props();
    int rc = 0;
    for (int k = 0; k <= n_life && !rc; k++) {
        rc = lifetime(seed, k, k == n_life, n_shards, dir, why, whylen);
        if (rc && !sim_verbose)
            print_tail(dir, k);
    }
    if (!rc && !keep) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd)) {
        }
    }
    return rc;
}

/* The command that replays seed s (with the planted defect, if any). */
static const char *replay_cmd(uint64_t s)
{
    static char buf[256];
    const char *mode = small_segments ? " --small-segments" : "";
    if (rb_defect_active)
        snprintf(buf, sizeof(buf), "build/simdef/sim/ringsim --defect %s --seed %llu%s --verbose",
                 rb_defect_names[rb_defect_active], (unsigned long long)s, mode);
    else
        snprintf(buf, sizeof(buf), "build/sim/ringsim --seed %llu%s --verbose",
                 (unsigned long long)s, mode);
    return buf;
}

static int selftest(long budget, const char *root)
{
#ifndef RB_SIM_DEFECTS
    (void)budget;
    (void)root;
    fprintf(stderr,
            "ringsim: --selftest needs a build with -DRB_SIM_DEFECTS (make sim-selftest)\n");
    return 2;
#else
    int missed = 0;
    for (int d = 1; d < RB_DEFECT_COUNT; d++) {
        rb_defect_active = d;
        long s;
        char why[256] = "";
        bool cl = d == RB_DEFECT_NO_LEADER_LEASE || d == RB_DEFECT_UNFENCED_CONTROLLER;
        bool rp = d == RB_DEFECT_HW_ANY_FOLLOWER || d == RB_DEFECT_NO_TRUNCATE;
        for (s = 1; s <= budget; s++) {
            uint64_t fp, acked;
            if (rp   ? sim_repl_seed((uint64_t)s, root, why, sizeof(why), &fp, &acked)
                : cl ? sim_cluster_run((uint64_t)s, why, sizeof(why))
                     : run_seed((uint64_t)s, root, false, why, sizeof(why)))
                break;
        }
        if (s <= budget && rp)
            printf("sim-selftest: %-20s caught by seed %ld (%s): build/simdef/sim/ringsim "
                   "--repl --defect %s --seed %ld --verbose\n",
                   rb_defect_names[d], s, why, rb_defect_names[d], s);
        else if (s <= budget && cl)
            printf("sim-selftest: %-20s caught by seed %ld (%s): build/simdef/sim/ringsim "
                   "--cluster --defect %s --seed %ld --verbose\n",
                   rb_defect_names[d], s, why, rb_defect_names[d], s);
        else if (s <= budget)
            printf("sim-selftest: %-20s caught by seed %ld (%s): %s\n", rb_defect_names[d], s, why,
                   replay_cmd((uint64_t)s));
        else
            printf("sim-selftest: %-20s NOT caught within %ld seeds\n", rb_defect_names[d], budget);
        missed += s > budget;
        fflush(stdout);
    }
    rb_defect_active = 0;
    printf("sim-selftest: %d of %d planted defects caught\n", RB_DEFECT_COUNT - 1 - missed,
           RB_DEFECT_COUNT - 1);
    return missed ? 1 : 0;
#endif
}

/* The replication simulation: each seed in a forked child (sim_repl.c); the
 * first seed runs twice and must leave the same fingerprint. */
static int run_repl(uint64_t seed, long seeds, const char *root)
{
    int passed = 0, failed = 0;
    uint64_t fp0 = 0, acked = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < seeds; i++) {
        uint64_t s = seed + (uint64_t)i, fp = 0, a = 0;
        char why[256] = "";
        if (sim_repl_seed(s, root, why, sizeof(why), &fp, &a)) {
            failed++;
            printf("sim(repl): seed %llu FAILED: %s\n  replay: %s/sim/ringsim --repl%s%s --seed "
                   "%llu --verbose\n",
                   (unsigned long long)s, why, rb_defect_active ? "build/simdef" : "build",
                   rb_defect_active ? " --defect " : "",
                   rb_defect_active ? rb_defect_names[rb_defect_active] : "",
                   (unsigned long long)s);
        } else {
            passed++;
            if (sim_verbose)
                printf("sim(repl): seed %llu ok\n", (unsigned long long)s);
        }
        if (i == 0)
            fp0 = fp;
        acked += a;
        fflush(stdout);
    }
    if (seeds > 1 && !rb_defect_active) {
        uint64_t fp = 0, a = 0;
        char why[256] = "";
        (void)sim_repl_seed(seed, root, why, sizeof(why), &fp, &a);
        if (fp != fp0) {
            failed++;
            printf("sim(repl): seed %llu does not replay identically (fingerprint %016llx, then "
                   "%016llx)\n",
                   (unsigned long long)seed, (unsigned long long)fp0, (unsigned long long)fp);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("sim(repl): seeds %llu..%llu in %.1f s: %llu batches acknowledged\n",
           (unsigned long long)seed, (unsigned long long)(seed + (uint64_t)seeds - 1), secs,
           (unsigned long long)acked);
    printf("sim(repl): %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/* The cluster simulation: every seed in this process (no disk, no fork). */
static int run_cluster(uint64_t seed, long seeds)
{
    int passed = 0, failed = 0;
    uint64_t first_bad = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < seeds; i++) {
        uint64_t s = seed + (uint64_t)i;
        char why[256] = "";
        if (sim_cluster_run(s, why, sizeof(why))) {
            failed++;
            if (!first_bad)
                first_bad = s;
            printf("sim(cluster): seed %llu FAILED: %s\n  replay: build/sim/ringsim --cluster "
                   "--seed %llu --verbose\n",
                   (unsigned long long)s, why, (unsigned long long)s);
        } else {
            passed++;
            if (sim_verbose)
                printf("sim(cluster): seed %llu ok\n", (unsigned long long)s);
        }
        fflush(stdout);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("sim(cluster): seeds %llu..%llu in %.1f s\n", (unsigned long long)seed,
           (unsigned long long)(seed + (uint64_t)seeds - 1), secs);
    printf("sim(cluster): %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    long selftest_budget = 0;
    uint64_t seed = 1;
    long seeds = 1;
    bool keep = false, seed_given = false, cluster = false, repl = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
            seed_given = true;
        } else if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
            seeds = strtol(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--verbose")) {
            sim_verbose++;
        } else if (!strcmp(argv[i], "--keep")) {
            keep = true;
        } else if (!strcmp(argv[i], "--small-segments")) {
            small_segments = true;
        } else if (!strcmp(argv[i], "--cluster")) {
            cluster = true;
        } else if (!strcmp(argv[i], "--repl")) {
            repl = true;
        } else if (!strcmp(argv[i], "--one-thread")) {
            /* the only mode now; accepted so older replay commands still work */
        } else if (!strcmp(argv[i], "--selftest") && i + 1 < argc) {
            selftest_budget = strtol(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--defect") && i + 1 < argc) {
            const char *name = argv[++i];
            for (int d = 1; d < RB_DEFECT_COUNT; d++)
                if (!strcmp(name, rb_defect_names[d]))
                    rb_defect_active = d;
            if (!rb_defect_active) {
                fprintf(stderr, "ringsim: unknown defect %s\n", name);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: ringsim [--seed S] [--seeds N] [--verbose] [--keep] "
                            "[--small-segments] [--defect NAME] | --selftest BUDGET\n");
            return 2;
        }
    }
    if (!seed_given && seeds > 1)
        seed = (uint64_t)time(NULL); /* a fresh range each time; printed for replay */
    if (cluster)
        return run_cluster(seed, seeds);
    shared_stats = mmap(NULL, sizeof(*shared_stats), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared_stats == MAP_FAILED)
        return 2;
    char root[] = "/tmp/ringsim-XXXXXX";
    if (!mkdtemp(root))
        return 2;
    if (repl && !selftest_budget) {
        int r = run_repl(seed, seeds, root);
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        if (system(cmd)) {
        }
        return r;
    }
    if (selftest_budget > 0) {
        int r = selftest(selftest_budget, root);
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        if (system(cmd)) {
        }
        return r;
    }
    int passed = 0, failed = 0;
    uint64_t first_bad = 0, first_fp = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < seeds; i++) {
        uint64_t s = seed + (uint64_t)i;
        char why[256] = "";
        uint64_t before = shared_stats->fingerprint;
        int rc = run_seed(s, root, keep, why, sizeof(why));
        if (i == 0)
            first_fp = shared_stats->fingerprint - before;
        if (rc) {
            failed++;
            if (!first_bad)
                first_bad = s;
            printf("sim: seed %llu FAILED: %s\n  replay: %s\n", (unsigned long long)s, why,
                   replay_cmd(s));
        } else {
            passed++;
            if (sim_verbose)
                printf("sim: seed %llu ok\n", (unsigned long long)s);
        }
        fflush(stdout);
    }
    /* Determinism: the first seed again must give the same fingerprint. */
    if (seeds > 1 && !rb_defect_active) {
        char why[256] = "";
        uint64_t fp0 = first_fp;
        uint64_t before = shared_stats->fingerprint;
        struct sim_stats keep_stats = *shared_stats;
        run_seed(seed, root, keep, why, sizeof(why));
        uint64_t again = shared_stats->fingerprint - before;
        *shared_stats = keep_stats;
        if (again != fp0) {
            failed++;
            printf("sim: seed %llu does not replay identically (fingerprint %016llx, then "
                   "%016llx): something outside the seed steers the broker\n",
                   (unsigned long long)seed, (unsigned long long)fp0, (unsigned long long)again);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    struct sim_stats *st = shared_stats;
    printf(
        "sim: seeds %llu..%llu in %.1f s: acked %llu of %llu records, %llu fetches (%llu records "
        "read), %llu list-offsets, %llu delete-records, %llu commits, %llu joins; faults: %llu "
        "fsync EIO, %llu write EIO, %llu ENOSPC, %llu torn, %llu writes lost, %llu dropped "
        "connections; %llu ops, %llu shard steps\n",
        (unsigned long long)seed, (unsigned long long)(seed + (uint64_t)seeds - 1), secs,
        (unsigned long long)st->acked, (unsigned long long)st->produced,
        (unsigned long long)st->fetches, (unsigned long long)st->fetched_records,
        (unsigned long long)st->list_offsets, (unsigned long long)st->delete_records,
        (unsigned long long)st->commits, (unsigned long long)st->group_joins,
        (unsigned long long)st->sync_eio, (unsigned long long)st->write_err,
        (unsigned long long)st->enospc, (unsigned long long)st->torn,
        (unsigned long long)st->lost_writes, (unsigned long long)st->drops,
        (unsigned long long)st->ops, (unsigned long long)st->steps);
    printf("sim: %d passed, %d failed\n", passed, failed);
    if (failed)
        printf("sim: first failing seed %llu: %s\n", (unsigned long long)first_bad,
               replay_cmd(first_bad));
    if (!keep) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        if (system(cmd)) {
        }
    } else {
        printf("sim: run directories kept in %s\n", root);
    }
    return failed ? 1 : 0;
}
