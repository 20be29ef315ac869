/*
 * tests/sim/sim_work.h - the simulated workload: record contents, the ledger of
 * what the broker acknowledged, the clients of one lifetime and the final check.
 *
 * Records: record n of producer `tag` has key (tag, n) and a value derived from
 * (tag, n) alone, so any record read back can be checked without the ledger.
 *
 * Ledger: a file in the run directory, appended by each lifetime (a forked
 * child) as acknowledgements arrive; the last lifetime reads it all back and
 * checks the broker against it (sim_check.c).
 */
#ifndef RB_SIM_SIM_WORK_H
#define RB_SIM_SIM_WORK_H

#include "tests/sim/sim.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_TOPIC      "simt"
#define SIM_PARTITIONS 4
#define SIM_GROUP      "simg"

enum sim_ledger_kind {
    LEDGER_ACK = 1,    /* batch acked: part, offset = base, count, tag, first = first record n */
    LEDGER_DELETE,     /* DeleteRecords acked: part, offset = low watermark */
    LEDGER_COMMIT,     /* OffsetCommit acked: part, offset */
    LEDGER_COMMIT_TRY, /* OffsetCommit sent (may or may not survive): part, offset */
    LEDGER_DELETE_TRY, /* DeleteRecords sent (its answer may be lost): part, offset */
};

struct sim_ledger_rec {
    int32_t kind;
    int32_t part;
    int64_t offset;
    int32_t count;
    uint32_t tag;
    uint32_t first;
    int32_t idempotent;
};

void sim_ledger_open(const char *dir);
void sim_ledger_add(const struct sim_ledger_rec *r);
/* All records so far (malloc'd); returns the count. */
int sim_ledger_load(const char *dir, struct sim_ledger_rec **out);

/* The codec producers compress their batches with (0: none; ringsim picks it). */
extern int sim_codec;
/* Build a RecordBatch v2 of `count` records tag/first.. into out (>= 64 KiB);
 * returns its size. producer_id -1: not idempotent. */
size_t sim_batch_build(uint8_t *out, size_t cap, uint32_t tag, uint32_t first, int count,
                       int64_t producer_id, int16_t epoch, int32_t base_seq);

/* Walk the batches in buf (a fetch response's records): for each record call
 * fn(arg, offset, producer_id, tag, n). Checks CRCs, record framing and that
 * each value is the one (tag, n) implies; returns 0 or -EBADMSG (reported
 * through sim_fail). A truncated last batch is allowed (fetch max bytes). */
typedef void (*sim_record_fn)(void *arg, int64_t offset, int64_t producer_id, uint32_t tag,
                              uint32_t n);
int sim_batches_walk(const uint8_t *buf, size_t len, sim_record_fn fn, void *arg);

/* One lifetime's clients: run the broker in dir for run_ns of simulated time.
 * Returns 0, or SIM_CRASHED. Invariant failures are counted in sim_failures. */
int sim_work_run(const char *dir, int lifetime, int n_shards, int64_t run_ns);
/* The last lifetime: read everything back and check it against the ledger. */
int sim_check_run(const char *dir, int n_shards);

/* The broker configuration every lifetime uses (server.properties lines). */
extern const char *sim_broker_props;

#endif
