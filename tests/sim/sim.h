/*
 * tests/sim/sim.h - the deterministic simulator's shared state (see README.md).
 *
 * One simulated broker lifetime runs in one process: the real broker (core/,
 * storage/, part/, coord/, net/, assembled by cmd/broker.c) on a simulated ring (sim_ring.c) and
 * clock, driven by simulated Kafka clients (sim_client.c, sim_work.c). Every choice comes from one
 * PRNG seeded by the run's seed; time is simulated nanoseconds that only move when nothing can run
 * at the current instant.
 *
 * Every shard (and the coordination thread) is stepped from the simulator's one
 * thread, one loop turn at a time (sim_world.c). Execution is therefore a pure
 * function of the seed.
 */
#ifndef RB_SIM_SIM_H
#define RB_SIM_SIM_H

#include "core/shard.h"

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- randomness (xoshiro256**, seeded by splitmix64) ---- */
void sim_rng_seed(uint64_t seed);
uint64_t sim_rand(void);
/* Uniform in [0, n); n > 0. */
uint64_t sim_below(uint64_t n);
/* True with probability ppm / 1e6. */
bool sim_chance(uint32_t ppm);

/* ---- time ---- */
extern int64_t sim_now_ns;
void sim_clock_install(int64_t wall_base_ms);

/* ---- logging ---- */
extern int sim_verbose;
#define SIM_LOG(...)                                                                               \
    do {                                                                                           \
        if (sim_verbose)                                                                           \
            sim_logf(__VA_ARGS__);                                                                 \
    } while (0)
void sim_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An invariant does not hold: print, count, and (in the checker) fail the run. */
void sim_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int sim_failures;
/* The first message since sim_failures was last 0 (for a one-line verdict). */
extern char sim_first_failure[200];

/* ---- faults of one lifetime (chosen by the seed in ringsim.c) ---- */
struct sim_faults {
    uint32_t delay_ppm;     /* an op completes late (up to delay_max_us) */
    uint32_t delay_max_us;  /* reordering window */
    uint32_t short_io_ppm;  /* recv/send move fewer bytes than asked */
    uint32_t fsync_eio_ppm; /* fdatasync fails with EIO */
    uint32_t write_eio_ppm; /* a write fails with EIO */
    uint32_t enospc_ppm;    /* write/fallocate fail with ENOSPC */
    uint32_t torn_ppm;      /* at a crash, the write at the cut is torn */
    uint32_t conn_drop_ppm; /* a client drops its connection mid-frame */
    int64_t crash_at_ns;    /* power loss at this simulated time (0: none) */
};
extern struct sim_faults sim_faults;

/* ---- ring (sim_ring.c) ---- */
extern const struct rb_ring_ops sim_ring_ops;
/* Attach a simulated ring to a shard (before rb_shard_boot). */
void sim_ring_attach(struct rb_shard *s);
/* Earliest instant an in-flight op completes (INT64_MAX: none). */
int64_t sim_ring_next_due(void);
/* Run every op due at or before now; re-poll blocked ops. Returns how many ran. */
int sim_ring_run_due(void);
/* In-flight ops (for the end-of-run "nothing parked" check). */
int sim_ring_inflight(void);
/* Client side of the network: queue a connection for the broker's accept; the
 * broker gets `fd` (the other end of a socketpair the client keeps). */
void sim_net_connect(int fd);

/* ---- disk model (sim_disk.c): writes not yet covered by fdatasync ---- */
/* Before a write of len bytes at off of fd: remember the old contents. */
void sim_disk_before_write(int fd, uint64_t off, uint64_t len);
/* An fdatasync of fd succeeded: its writes so far are durable. */
void sim_disk_synced(int fd);
/* An fdatasync of fd failed: the kernel may have dropped its dirty pages; model
 * the worst case, every unsynced write of the file is lost now. */
void sim_disk_sync_failed(int fd);
/* Power loss: per file, unsynced writes survive up to a cut chosen by the seed,
 * the write at the cut possibly torn (a prefix of sectors), the rest lost. */
void sim_disk_crash(void);
uint64_t sim_disk_unsynced(void);

/* ---- counters printed in the run summary ---- */
struct sim_stats {
    uint64_t ops, writes, syncs, sync_eio, write_err, enospc, torn, lost_writes;
    uint64_t steps, conns, drops;
    uint64_t produced, acked, produce_err, fetches, fetched_records, long_polls;
    uint64_t list_offsets, delete_records, commits, group_joins;
    uint64_t fingerprint; /* of every completion (op, result, flags, instant): replay check */
};
extern struct sim_stats sim_stats;

#endif
