/*
 * tests/sim/sim_repl.h - the replication simulation (sim(repl), README.md): what
 * its world (sim_repl.c: brokers, links, the quorum's partition state, clients)
 * and its checks (sim_repl_check.c: the committed log, acknowledgements, one
 * leader per epoch) share.
 */
#ifndef RB_SIM_SIM_REPL_H
#define RB_SIM_SIM_REPL_H

#include "core/config.h"
#include "core/shard.h"
#include "part/part.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SR_BROKERS 3
#define SR_TOPIC   "r"
/* The idempotent producer's id (sim_repl_clients.c). */
#define SR_IDEM_PID 4242

/* One lifetime of a broker: a shard without a ring, its part/ table over the
 * simulated disk (storage/disk_sim.h) holding partition "r"-0. A crash leaves the
 * old one behind as it was (never touched again; the run is a forked child). */
struct sr_inc {
    struct rb_runtime rt;
    struct rb_shard shard;
    struct rb_broker_config bc;
    struct rb_part_shard *ps;
    struct rb_disk_sim *disk;
    int64_t checked_upto; /* the log below this was compared with the committed log */
};

static inline struct rb_part_key sr_key(void)
{
    return (struct rb_part_key){SR_TOPIC, 1, 0};
}

/* ---- sim_repl.c: the world as the clients see it ---- */
/* Broker id's lifetime when it is up (its number in *gen), else NULL. */
struct sr_inc *sr_broker_inc(int32_t id, int *gen);
/* Lifetime gen of broker id still exists (up or paused). */
bool sr_broker_alive(int32_t id, int gen);
/* Broker id holds a leader lease (may accept writes). */
bool sr_may_lead(int32_t id);
/* The quorum's leader (-1: none). */
int32_t sr_quorum_leader(void);
/* A part/ read on inc (net/h_fetch.c's part): replica_id >= 0 a follower's (KIP-320
 * epochs checked), else a consumer's; answered at once; the bytes go to *out
 * (malloc'd, *len of them). */
void sr_read_part(struct sr_inc *inc, struct rb_part_read *rd, int32_t replica_id, int64_t offset,
                  int32_t cur_epoch, int32_t last_epoch, uint8_t **out, uint32_t *len);
/* Who asked for a long poll (the answer goes back to them). */
struct sr_poll_ctx {
    int32_t leader, follower, corr;
    int gen;
};
typedef void (*sr_poll_fn)(const struct sr_poll_ctx *ctx, const struct rb_part_read *rd,
                           uint8_t *bytes, uint32_t len);
/* A follower's fetch on inc parked up to wait_ms for a byte (0: answered at
 * once); fn gets the answer and the bytes (malloc'd) when it comes, maybe inside
 * this call, never when the broker crashed first. */
void sr_read_poll(struct sr_inc *inc, int32_t replica_id, int64_t offset, int32_t cur_epoch,
                  int32_t last_epoch, int64_t wait_ms, sr_poll_fn fn,
                  const struct sr_poll_ctx *ctx);
/* Mix an event into the run's fingerprint (the replay check). */
void sr_fp(uint64_t v);
/* One seed in this process (sim_repl.c); 0 when every invariant held. */
int sr_run(uint64_t seed, const char *root, char *why, size_t whylen, uint64_t *fp);
/* One seed in a forked child (sim_repl_run.c); 0 when every invariant held. */
int sim_repl_seed(uint64_t seed, const char *root, char *why, size_t whylen, uint64_t *fp,
                  uint64_t *acked);

/* ---- sim_repl_clients.c: acks=all producers and a consumer ---- */
void clients_reset(void);
/* Send, collect answers (faults: producers run; false: no new sends). */
void clients_step(bool produce);
/* Check what the clients got since the last call (after the brokers' checks). */
void clients_check(void);

/* ---- sim_repl_check.c ---- */
void sr_check_reset(void);
/* b's log below its high watermark agrees with the committed log (and extends it). */
void sr_check_broker(int32_t id, struct sr_inc *inc, bool full);
/* An acknowledged batch (acks=all): base offset, bytes as appended. */
void sr_check_ack(int32_t id, int64_t base, const uint8_t *batch, uint32_t len);
/* A consumer's fetch from broker id returned these batches (below its HW). */
void sr_check_consumed(int32_t id, const uint8_t *buf, uint32_t len);
/* Broker id appended as leader in epoch. */
void sr_check_leader_append(int32_t id, int32_t epoch);
/* The end: every acknowledged batch and the whole committed log are in log. */
void sr_check_final(int32_t id, struct sr_inc *inc);
uint64_t sr_check_acked(void);
int64_t sr_check_committed_end(void);
/* Copy [from, upto) of inc's log (whole batches); returns the bytes. */
uint32_t sr_read_log(struct sr_inc *inc, int64_t from, int64_t upto, uint8_t *buf, uint32_t cap);

#endif
