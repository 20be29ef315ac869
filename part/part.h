/*
 * part/part.h - the partition layer: the partitions placed on one shard and the
 * work done on them (append, durability waiters, reads and long-poll waiters,
 * offsets, log start moves, flush turns, maintenance). No wire format here: the
 * caller (net/, coord/) hands in decoded parts and gets results with Kafka error
 * codes (enum rb_kerr, core/kerr.h) back.
 *
 * One struct rb_part_shard per shard (reachable as rb_shard->part); everything in
 * it is touched by that shard's thread only, except the stats counters (read by
 * the main thread).
 *
 * Work items: a caller embeds a struct rb_part_append / rb_part_read /
 * rb_part_offsets / rb_part_trim (each starts with a struct rb_part_item: the
 * partition's key and the answer's error) in its own memory and passes it in on
 * the owner shard. Appends finish asynchronously: it->done(s, it, it->done_arg)
 * runs on the owner shard exactly once, possibly before rb_part_append returns.
 * Reads finish per set (struct rb_part_read_set, a fetch's share on this shard):
 * set->done runs exactly once, at once or when the long poll ends. The item and
 * the strings it points at must stay valid until done ran.
 *
 * Partition state (part/table.c):
 *   LOADING --add--> ONLINE --fsync/read error--> OFFLINE
 *      ONLINE/OFFLINE --drop--> DROPPING --flushes over--> (freed)
 * OFFLINE is the log's own verdict (storage/log.h rb_log_offline), kept in step.
 */
#ifndef RB_PART_PART_H
#define RB_PART_PART_H

#include "core/metrics.h"
#include "core/shard.h"
#include "core/timer.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rb_config;
struct rb_broker_config;
struct rb_log;
struct rb_log_config;
struct rb_part_shard;

struct rb_part_key {
    const char *topic; /* NUL-terminated */
    size_t topic_len;
    int32_t index;
};

struct rb_part_item;
typedef void (*rb_part_done_fn)(struct rb_shard *s, struct rb_part_item *it, void *arg);

struct rb_part_item {
    struct rb_part_key key;
    int16_t error; /* enum rb_kerr */
    /* owner private: waiter lists of the partition */
    bool waiting;
    struct rb_part_item *wnext, *wprev;
    rb_part_done_fn done; /* appends */
    void *done_arg;
};

/* Kafka's record timestamp rule for a topic: with CreateTime, every record
 * timestamp other than -1 lies within [now - before_ms, now + after_ms]
 * (message.timestamp.before/after.max.ms), else INVALID_TIMESTAMP. */
struct rb_part_ts_rule {
    bool check; /* message.timestamp.type=CreateTime */
    int64_t before_ms, after_ms;
};

struct rb_log_tlookup; /* storage/log.h */
/* One compressed batch handed to the validator thread (part/vthread.c): its
 * bytes (owned by the caller, which keeps them until done ran), the cap, and
 * what deep validation found (an enum rb_batch_status, the records' timestamps,
 * the bytes decompressed). done runs on the submitting shard. */
struct rb_part_vjob {
    const uint8_t *batch;
    uint32_t len;
    size_t cap;
    int status;
    int64_t ts_min, ts_max;
    uint64_t out_bytes;
    /* rebuild (rb_part_rebuild_prepare), else deep validation: with the target
     * codec; the rebuilt batch, malloc'd (rb_part_vjob_release frees it) unless
     * out_scratch (in the shard's codec scratch, good for the next rebuild only) */
    bool rebuild;
    uint8_t target;
    bool out_scratch;
    uint64_t gen; /* out_scratch: the shard's codec generation it is good for */
    uint8_t *out;
    uint32_t out_len;
    /* a ListOffsets scan instead (rb_part_list_offsets): the record at or after a
     * timestamp in the batch tl holds; the answer goes into tl */
    struct rb_log_tlookup *tl;
    /* the shard's gauge out (the rebuilt batch) is charged to until released */
    _Atomic int64_t *gauge;
    uint8_t state; /* RB_VJOB_* */
    void (*done)(struct rb_part_vjob *j);
    void *arg;
};
enum { RB_VJOB_IDLE, RB_VJOB_WANTED, RB_VJOB_OUT, RB_VJOB_DONE };

/* One partition's records of a produce (validated with rb_part_validate). */
struct rb_part_append {
    struct rb_part_item it;
    const uint8_t *records;
    uint32_t len;
    int16_t acks;
    /* topic compression.type: batches of another codec are rebuilt with codec on
     * the owner; max_bytes and ts apply to rebuilt batches */
    bool recompress;
    uint8_t codec;
    int32_t max_bytes;
    struct rb_part_ts_rule ts;
    /* acks=all on a replicated partition: REQUEST_TIMED_OUT when the ISR has not
     * got it within timeout_ms of its durable append (the produce's; <= 0: no
     * bound, as internal appends use) */
    int32_t timeout_ms;
    /* the rebuilt batch when it was made before rb_part_append (state
     * RB_VJOB_DONE: rb_part_rebuild_prepare; zeroed: none) */
    struct rb_part_vjob pre;
    /* answer */
    int64_t base_offset;
    int64_t log_append_time;
    int64_t log_start_offset;
    /* owner private */
    int64_t wait_end;    /* written end needed before answering */
    int64_t deadline_ms; /* acks=all on the ISR list: timeout_ms from parking */
    uint32_t next_batch; /* byte position of the next batch to append */
};

/* A reference to a segment descriptor lent by the owner shard's descriptor cache
 * (part/fdcache.c): the descriptor stays open until the reference is dropped. */
struct rb_fd_ref;
/* Drop a reference (any thread; NULL is a no-op). */
void rb_part_fd_unref(struct rb_fd_ref *ref);
/* One more reference, by a holder of one (any thread): a connection keeping bytes
 * it read ahead of a response past that response (net/resp_send.c). */
void rb_part_fd_hold(struct rb_fd_ref *ref);
/* How many such holds one connection shard may keep at a time (a quarter of a
 * descriptor cache's slots shared by all shards; 0: none). */
uint32_t rb_part_fd_hold_cap(int num_shards);
/* Owner, from its turn: close the cache's descriptors unused for seconds. */
void rb_part_fd_trim(struct rb_part_shard *ps);

/* The bytes of a read: file_len bytes of file_fd at file_pos (a descriptor of the
 * owner's cache, valid while file_ref is held, when file_len > 0), then the bytes
 * of mem (malloc'd by the owner from the tail cache); len counts both. Released
 * with rb_part_data_clear or handed on (the new holder unrefs and frees). */
struct rb_part_data {
    uint8_t *mem;
    uint32_t len;
    uint32_t file_len;
    int file_fd;
    bool file_direct;    /* file_fd is O_DIRECT: read it in 4 KiB-aligned steps */
    uint32_t file_gen;   /* the log's truncation count (rb_log_piece.gen) */
    uint64_t file_final; /* bytes of the file below it are final (rb_log_piece.final) */
    uint64_t file_pos;
    struct rb_fd_ref *file_ref;
};

struct rb_part_read_set;
struct rb_part_read {
    struct rb_part_item it;
    int64_t offset;
    int32_t max_bytes;
    /* a follower's fetch (replica_id >= 0): its position is recorded on the
     * leader (rb_part_replica_fetched) and it reads up to the written end */
    bool replica;
    int32_t replica_id;
    int16_t replica_error; /* owner private: the leader refused the follower */
    /* answer */
    int64_t high_watermark;
    int64_t log_start_offset;
    struct rb_part_data data;
    struct rb_part_read_set *set;
    /* KIP-320: the fetcher's current_leader_epoch (Fetch v9+) and, when not -1,
     * last_fetched_epoch (v12+), checked when check_epoch is set: a fetch whose
     * epoch ends in our log below fetch_offset (or is one we never had) gets no
     * records but diverged, with the end of the largest epoch at or below it in
     * diverging_epoch/diverging_end_offset (Fetch v12+ diverging_epoch: the
     * follower truncates there, part/epoch.c rb_part_diverged). */
    bool check_epoch;
    int32_t current_leader_epoch;
    int32_t last_fetched_epoch;
    bool diverged; /* answer */
    int32_t diverging_epoch;
    int64_t diverging_end_offset;
};

enum rb_part_set_state { RB_PSET_IDLE = 0, RB_PSET_RUNNING, RB_PSET_WAITING, RB_PSET_DONE };

/* The reads of one fetch on one shard, answered together: at once when they hold
 * min_bytes (or an error), else when new data is written, or at deadline_ms. */
struct rb_part_read_set {
    struct rb_part_read **items;
    int n;
    int64_t deadline_ms;
    int32_t min_bytes;
    int32_t max_bytes;
    void (*done)(struct rb_shard *s, struct rb_part_read_set *set, void *arg);
    void *done_arg;
    /* owner private */
    uint32_t bytes;
    uint32_t file_refs; /* descriptor slots its reads hold (part/fdcache.c) */
    enum rb_part_set_state state;
    struct rb_timer timer;
    struct rb_part_shard *ps;
    uint64_t wake_gen; /* the last wake-up that re-ran this set */
};

/* ListOffsets: timestamp -1 latest (the high watermark), -2/-4 earliest, -3 max
 * timestamp, >= 0 the first record at or after it. */
struct rb_part_offsets {
    struct rb_part_item it;
    int64_t timestamp;
    int64_t offset; /* answer, -1: none */
    int64_t found_timestamp;
    /* KIP-320: the client's current_leader_epoch (ListOffsets v4+), checked when set */
    bool check_epoch;
    int32_t current_leader_epoch;
    int32_t found_epoch; /* answer: the leader epoch of offset (-1: none) */
    /* a client's question (replica_id -1; Kafka lets only its debugging id -2 ask
     * a follower): a non-leader answers NOT_LEADER_OR_FOLLOWER, after fencing */
    bool leader_only;
    /* owner private: the scan of a batch decompressing to more than
     * rb_part_validate_inline_bytes, handed to the validator thread (job.state
     * RB_VJOB_WANTED after rb_part_list_offsets: see there) */
    struct rb_part_vjob job;
    struct rb_log_tlookup *tl; /* malloc'd while the scan is out */
    int64_t tl_batch;          /* the batch's offset (the answer without the scan) */
    int64_t tl_ts;             /* the timestamp asked (-3: the largest one) */
    uint8_t tl_topic_id[16];   /* the partition's incarnation when asked */
};

/* DeleteRecords: move the log start to offset (-1: the durable end). */
struct rb_part_trim {
    struct rb_part_item it;
    int64_t offset;
    int64_t low_watermark; /* answer */
};

/* OffsetForLeaderEpoch (part/epoch.c): the end of leader_epoch in the leader's
 * log - the start of the next higher epoch, the log end offset for the latest -
 * and the largest epoch at or below it; -1/-1 when unknown (no error, as Kafka).
 * current_leader_epoch (-1: not given) is fenced first, then a non-leader answers
 * NOT_LEADER_OR_FOLLOWER. */
struct rb_part_epoch_q {
    struct rb_part_item it;
    int32_t current_leader_epoch;
    int32_t leader_epoch;
    int32_t end_epoch; /* answer */
    int64_t end_offset;
};

/* Group-commit counters (perf/run reads them through the "stats shard=" line):
 * written by the owner shard only, read by the main thread. */
struct rb_part_stats {
    _Atomic uint64_t flush_cycles; /* loop turns that started >= 1 flush */
    _Atomic uint64_t flushes;      /* partition flushes started */
    _Atomic uint64_t syncs;        /* of them with an fdatasync */
    _Atomic uint64_t bytes;        /* record-batch bytes appended */
};

/* What the metrics endpoint reads from a shard's partition layer (core/metrics.h:
 * written by the shard only, read racily by the metrics thread). topics: per
 * topic RB_PT_* counters. */
enum { RB_PT_MESSAGES_IN = 0, RB_PT_BYTES_IN, RB_PT_BYTES_OUT, RB_PT_PRODUCE_REQUESTS };
struct rb_part_metrics {
    struct rb_mnames *topics;
    rb_counter online, offline; /* partitions in each state (gauges, mod 2^64) */
    struct rb_hist flush_ms;    /* one partition's flush: write out (+ fdatasync) */
    struct rb_hist fsync_us;    /* flushes that synced, in microseconds */
    rb_counter read_mem_bytes;  /* fetched bytes served from memory (tail cache) */
    rb_counter read_file_bytes; /* ... and from the segment files */
};

/* ---- the shard's partition layer (part/table.c) ---- */

/* Before the shard starts (any thread): the tail cache of log.tail.cache.bytes.
 * NULL on -ENOMEM. config and bc outlive the shard. */
struct rb_part_shard *rb_part_shard_new(struct rb_shard *s, struct rb_config *config,
                                        const struct rb_broker_config *bc);
/* After rb_part_finish, in any thread. */
void rb_part_shard_free(struct rb_part_shard *ps);
static inline struct rb_part_shard *rb_part_of(struct rb_shard *s)
{
    return s->part;
}
const struct rb_part_stats *rb_part_stats(const struct rb_part_shard *ps);
const struct rb_part_metrics *rb_part_metrics(const struct rb_part_shard *ps);

/* The shard's memory budget (shard.memory.budget.bytes) covers the partition
 * layer's tail cache too; net/ reads these each turn (owner shard only).
 * mem: bytes held (cached chunks and spare chunk buffers). floor: what the cache
 * keeps however tight the budget, min(log.tail.cache.bytes, budget / 8).
 * limit: keep at most max(bytes, floor) (plus what of an auto-sized cache is
 * outside the budget, rb_part_tail_cache_size) from now on (oldest chunks go first;
 * reads of them go to the files); returns the bytes given back. Never call limit
 * from inside a part/ callback: the logs' chunks change. */
int64_t rb_part_mem(const struct rb_part_shard *ps);
/* The shard's decompression scratch (storage/compress.c; released after each
 * big batch): counted in the shard's memory figure beside the connections'. */
int64_t rb_part_codec_mem(const struct rb_part_shard *ps);
/* The validator thread's memory charged to the shard (any thread may read it):
 * its decompression/rebuild scratch while it runs one of the shard's jobs and the
 * rebuilt batches it returned until rb_part_vjob_release. While the shard is over
 * its budget (rb_part_set_mem_over, net/ each turn) a submission waits (-EAGAIN)
 * unless the shard has no job out: one job always goes (bounded by its cap). */
int64_t rb_part_vt_mem(const struct rb_part_shard *ps);
void rb_part_set_mem_over(struct rb_part_shard *ps, bool over);
int64_t rb_part_mem_floor(const struct rb_part_shard *ps);
int64_t rb_part_mem_limit(struct rb_part_shard *ps, int64_t bytes);

/* The tail cache's size per shard. log.tail.cache.bytes >= 0: that, all of it
 * inside shard.memory.budget.bytes (it yields down to its floor when connections
 * need the budget). -1 (the default, "auto"): a quarter of the memory available
 * at start (mem_avail_bytes, core/meminfo.h: MemAvailable lowered to the memory
 * cgroups' headroom; < 0: unknown, 64 MiB) shared by the
 * shards, never less than 64 MiB; with shard.memory.budget.bytes left at its
 * default (budget_set false) a quarter of the budget (the old fixed default,
 * 64 MiB) is inside it, yielding as before, and the rest is outside
 * (*outside_bytes: kept whatever the connections hold, so their budget does not
 * shrink); with a set budget it is at most a quarter of it, all inside. Pure: the caller reads
 * the memory available. */
int64_t rb_part_tail_cache_size(int64_t configured, int64_t mem_avail_bytes, int n_shards,
                                int64_t budget_bytes, bool budget_set, int64_t *outside_bytes);
/* The shard's resolved tail cache size (rb_part_tail_cache_size). */
int64_t rb_part_tail_cache_bytes(const struct rb_part_shard *ps);

/* A partition's role in its cluster (coord's metadata, applied on the owner
 * shard): only the leader takes appends; a standalone partition is always the
 * leader. Followers hold the log (replication will append to it). */
enum rb_part_role { RB_PART_LEADER = 0, RB_PART_FOLLOWER, RB_PART_NO_ROLE };
/* Owner: set key's role and leader epoch; -ENOENT when it is not here. */
int rb_part_set_role(struct rb_part_shard *ps, const struct rb_part_key *k, enum rb_part_role role,
                     int32_t leader_epoch);

/* Adopt an opened log (blocking: rebuilds producer state). 0 or -ENOMEM. */
int rb_part_add(struct rb_part_shard *ps, const char *topic, const uint8_t id[16], int32_t index,
                struct rb_log *log);
/* Drop a partition: true once it is gone (*log: its log to close, NULL when it
 * was not here), false while a flush or segment work is in flight (call again). */
bool rb_part_drop(struct rb_part_shard *ps, const char *topic, size_t len, int32_t index,
                  struct rb_log **log);
/* New settings for every live log: cfg fills lc for a topic (0) or skips it. */
void rb_part_reconfigure(struct rb_part_shard *ps,
                         int (*cfg)(void *arg, const char *topic, size_t len,
                                    struct rb_log_config *lc),
                         void *arg);
bool rb_part_exists(struct rb_part_shard *ps, const struct rb_part_key *k);

/* ---- loop hooks (part/flush.c) ---- */
/* Every loop turn: maintenance timers, group-commit flushes of dirty partitions. */
void rb_part_turn(struct rb_part_shard *ps);
/* Stopping: no flush in flight, nothing dirty, no background segment work. */
bool rb_part_idle(struct rb_part_shard *ps);
/* Stopping: answer every parked read set now; returns how many. */
int rb_part_answer_waiters(struct rb_part_shard *ps);
/* After the loop: final checkpoint report, producer snapshots, close every log. */
void rb_part_finish(struct rb_part_shard *ps);

/* ---- leader epochs (part/epoch.c) ---- */
/* Owner, synchronous: answer q. */
void rb_part_epoch_end(struct rb_part_shard *ps, struct rb_part_epoch_q *q);
/* Owner: the latest epoch in key's log (-1: none) and its log end offset - what a
 * follower asks its new leader about (OffsetForLeaderEpoch). -ENOENT. */
int rb_part_latest_epoch(struct rb_part_shard *ps, const struct rb_part_key *k, int32_t *epoch,
                         int64_t *log_end);
/* Owner: cut key's log at offset (storage/log.h rb_log_truncate_to: the batch
 * holding it and everything after go, durably), rebuild its producer state.
 * Blocking. 0, -EAGAIN (appends or a flush in flight, or bytes not written yet:
 * call again after the next flush), -ERANGE (below the log start), -EIO (the
 * partition is offline now), -ENOENT. */
int rb_part_truncate_to(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t offset);
/* Follower, after a leader change: the leader's answer for our latest epoch
 * (OffsetForLeaderEpoch: end_epoch/end_offset) or a Fetch v12+ diverging_epoch
 * (epoch/end_offset) decides the truncation, as Kafka's fetcher does: the leader
 * knows no end (-1) -> our high watermark; its epoch is ours too -> the smaller of
 * both ends; we never had its epoch -> the end of our floor epoch, and 1 is
 * returned: ask again with the new latest epoch (rb_part_latest_epoch). Truncates
 * (rb_part_truncate_to, same errors) and puts where fetching resumes in
 * *fetch_from. 0 when done. */
int rb_part_diverged(struct rb_part_shard *ps, const struct rb_part_key *k, int32_t leader_epoch,
                     int64_t leader_end, int64_t high_watermark, int64_t *fetch_from);

/* ---- append (part/append.c) ---- */
/* Validate one partition's records as received (length, CRC, counts, size
 * against max_bytes, inner records, timestamps); target_codec >= 0: batches of
 * another codec are left to the owner's rebuild (*recompress). zstd_ok: the
 * request may carry zstd. Returns an enum rb_kerr. Any shard. */
int16_t rb_part_validate(struct rb_part_shard *ps, const uint8_t *rec, int32_t len,
                         int32_t max_bytes, int target_codec, const struct rb_part_ts_rule *ts,
                         bool zstd_ok, bool *recompress);
/* Validation in steps, so one request cannot hold the shard for long: where a
 * partition's records have been validated up to, and what was found so far. */
struct rb_part_vstate {
    uint32_t off; /* bytes of the records validated (a batch boundary) */
    int n_batches;
    bool recompress;
    /* RB_VJOB_WANTED: the batch at off goes to the validator thread (the caller
     * sets job.done/arg and calls rb_part_vjob_submit; when done ran, step again) */
    struct rb_part_vjob job;
    bool no_handoff; /* every batch on the shard (rb_part_validate) */
};
/* Per-turn budgets of validation work (bytes read plus bytes decompressed): on
 * arrival (1 MiB), then each later loop turn (2 MiB). A batch is never split: one
 * that costs more than the budget is done in one step, and every step does one.
 * Set once before the shards start (the simulator draws tiny ones, so that every
 * produce is validated over many turns). */
extern int64_t rb_part_validate_first_bytes, rb_part_validate_turn_bytes;
/* rb_part_validate from vs->off (zeroed to start) while *budget > 0, at least one
 * batch; each batch's cost is taken from *budget. Returns an enum rb_kerr (the
 * whole records refused, whichever step found it); 0 with vs->off < len: call
 * again (next turn) for the rest; 0 with vs->off == len: valid, *recompress set.
 * The shard's codec scratch is trimmed after each compressed batch: between steps
 * it holds at most 2 x RB_CODEC_KEEP_BYTES (storage/compress.h), whatever the
 * batches decompressed to. */
int16_t rb_part_validate_step(struct rb_part_shard *ps, const uint8_t *rec, int32_t len,
                              int32_t max_bytes, int target_codec, const struct rb_part_ts_rule *ts,
                              bool zstd_ok, struct rb_part_vstate *vs, int64_t *budget);
/* A compressed batch is first decompressed on the shard under this cap (1 MiB);
 * one that needs more goes to the shard's validator thread, if it has one
 * (rb_part_set_vthread), else is done on the shard under the full cap. */
extern int64_t rb_part_validate_inline_bytes;
/* The broker starts a validator thread (the simulator clears it: its shards are
 * stepped deterministically and validate everything on the shard). */
extern bool rb_part_vthread_enabled;
/* Without a thread, shards still hand batches off, to themselves: the job runs
 * on the shard when submitted and is answered next turn (the simulator sets it,
 * so that its stepped shards go through every hand-off path). */
extern bool rb_part_vthread_sim;

/* ---- the validator thread (part/vthread.c) ---- */
struct rb_vthread;
/* One per broker, for n_shards shards; NULL on failure. Freed after the shards
 * stopped (rb_vthread_free finishes the jobs submitted before). */
struct rb_vthread *rb_vthread_new(int n_shards);
void rb_vthread_free(struct rb_vthread *vt);
/* Thread-level API (the shard glue below uses it; unit tests call it directly):
 * submit from shard's thread (-EAGAIN: it has 8 jobs submitted and not reaped
 * yet), reap its finished jobs
 * (NULL: none), the eventfd written after each completion, jobs done so far. */
int rb_vthread_submit(struct rb_vthread *vt, int shard, struct rb_part_vjob *j);
struct rb_part_vjob *rb_vthread_reap(struct rb_vthread *vt, int shard);
int rb_vthread_efd(const struct rb_vthread *vt, int shard);
uint64_t rb_vthread_jobs(const struct rb_vthread *vt);
/* The shard's validator thread and its index there (before the shard starts). */
void rb_part_set_vthread(struct rb_part_shard *ps, struct rb_vthread *vt, int shard);
/* Hand j (state RB_VJOB_WANTED, done/arg set) to the validator thread: 0 (j is
 * out; j->done runs on this shard in a later turn with state RB_VJOB_DONE) or
 * -EAGAIN (the queue is full: try again next turn). The shard is not idle
 * (rb_part_idle) while jobs are out. */
int rb_part_vjob_submit(struct rb_part_shard *ps, struct rb_part_vjob *j);

/* Before rb_part_append of a (owner shard): when a asks for a rebuild of a
 * batch that decompresses to more than rb_part_validate_inline_bytes and the
 * shard has a validator thread, a->pre is left RB_VJOB_WANTED (returns true):
 * the caller sets done/arg, submits it (rb_part_vjob_submit) and appends once it
 * is back; else a smaller rebuild is made here for the append that follows at
 * once (false). rb_part_vjob_release(&a->pre) once a was answered. */
bool rb_part_rebuild_prepare(struct rb_part_shard *ps, struct rb_part_append *a);
void rb_part_vjob_release(struct rb_part_vjob *j);

/* Bytes the shard's codec scratch decompressed so far (ListOffsets and the
 * validation measure their work with it). */
uint64_t rb_part_codec_work(struct rb_part_shard *ps);
/* A compression.type value as a codec, -1 for "producer" or unknown. */
int rb_part_codec_from_config(const char *value);
/* Owner: append a's records; a->it.done runs once answered. */
void rb_part_append(struct rb_part_shard *ps, struct rb_part_append *a);

/* Append one batch (validated here, copied) as acks=all on this shard:
 * done(s, error, base_offset, arg) runs later on this shard once durable (or
 * failed). topic must stay valid until then. 0, -EINVAL (bad batch), -ENOMEM. */
typedef void (*rb_append_done_fn)(struct rb_shard *s, int16_t err, int64_t base_offset, void *arg);
int rb_part_append_local(struct rb_part_shard *ps, const char *topic, int32_t index,
                         const uint8_t *batch, uint32_t len, rb_append_done_fn done, void *arg);

/* ---- replication, leader side (part/isr.c) ----
 * A partition with replicas on other brokers keeps, on its leader's shard, every
 * follower's position (its last fetch offset = its log end) and the in-sync
 * replica set (ISR). The high watermark is then min(log end of each ISR member,
 * the leader's own durable end); acks=all appends wait for it. Without an ISR
 * (standalone, or never set) the high watermark is the leader's written end. */

/* An ISR change the leader proposes for one of its partitions. The sink (coord)
 * writes it to the partition state conditionally on state_version, with the
 * leader epoch as read, and the applied ISR comes back via rb_part_set_isr. The
 * strings and array are valid during the call only (the sink copies them). */
struct rb_part_isr_change {
    const char *topic;
    size_t topic_len;
    int32_t index;
    int32_t leader_epoch;  /* the proposer's, as read with the ISR */
    int32_t state_version; /* the state node's version the ISR was read at */
    const int32_t *isr;    /* the ISR wanted (broker ids, the leader first) */
    int n_isr;
    int32_t add, remove; /* the change itself: a broker id joining or leaving, else -1 */
};
typedef void (*rb_part_isr_sink_fn)(void *arg, const struct rb_part_isr_change *c);
/* Before the shard starts or on the owner: where ISR changes go (NULL: nowhere,
 * the ISR then only changes through rb_part_set_isr). Called on the owner shard. */
void rb_part_set_isr_sink(struct rb_part_shard *ps, rb_part_isr_sink_fn fn, void *arg);

/* Owner: key's replicas and ISR as the cluster's state holds them (broker ids,
 * this broker among them), the state node version they were read at (-1:
 * unknown) and the topic's min.insync.replicas. n_replicas <= 1 turns
 * replication state off (high watermark = written end). 0, -ENOENT (not here),
 * -EINVAL (more than RB_PART_MAX_REPLICAS), -ENOMEM. */
#define RB_PART_MAX_REPLICAS 16
int rb_part_set_isr(struct rb_part_shard *ps, const struct rb_part_key *k, const int32_t *replicas,
                    int n_replicas, const int32_t *isr, int n_isr, int32_t state_version,
                    int32_t min_insync);

/* Owner: a follower's fetch (replica_id >= 0) of key at fetch_offset (its log
 * end) at now_ms (monotonic): records its position, advances the high watermark
 * (waking acks=all waiters and parked fetches), proposes an ISR expand when it
 * caught up, and sets *hw_out to the high watermark for the response. Returns
 * 0, -ENOENT (not here), -EPERM (not the leader: NOT_LEADER_OR_FOLLOWER),
 * -ESRCH (replica_id is not a replica of key: NOT_LEADER_OR_FOLLOWER in Kafka
 * 2.8 terms, UNKNOWN for older), -ERANGE (fetch_offset beyond the leader's log
 * end: OFFSET_OUT_OF_RANGE). */
int rb_part_replica_fetched(struct rb_part_shard *ps, const struct rb_part_key *k,
                            int32_t replica_id, int64_t fetch_offset, int64_t now_ms,
                            int64_t *hw_out);

/* Owner, on a follower: the leader's high watermark from a fetch response; the
 * follower's becomes min(it, own written end) (>= the log start; it may move back
 * after a truncation, as Kafka's). 0, -ENOENT, -EPERM (not a follower with
 * replicas). On becoming leader the follower's HW is where it starts. */
int rb_part_follower_hw(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t leader_hw);

/* Owner: key's high watermark (-ENOENT when not here). */
int rb_part_high_watermark(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t *hw);

/* ---- replication, follower side (part/follow.c) ---- */

/* Owner, on a follower: append the records of a replica fetch response (whole
 * batches as the leader stored them; a partial one at the end is ignored) at the
 * leader's offsets, through the group commit. Batches ending below the log end
 * are skipped (already here); the next one must start at the log end. leader_hw
 * (-1: none): the response's high watermark (rb_part_follower_hw). *appended:
 * batches appended. Returns 0, -ENOENT (not here), -EPERM (not a follower),
 * -EBADMSG (a batch fails its checks: nothing appended), -EILSEQ (a batch does
 * not start at the log end: diverged, truncate first), -ENOBUFS (no room before
 * the next flush: fetch again from the log end), -EIO, -ENOSPC, -ENOMEM. */
int rb_part_append_replica(struct rb_part_shard *ps, const struct rb_part_key *k,
                           const uint8_t *records, uint32_t len, int64_t leader_hw, int *appended);

/* Owner, on a follower: the leader's log start offset from a fetch response (its
 * retention or DeleteRecords): the follower's log start moves there too, at most
 * to its own durable end. 0, -ENOENT, -EPERM (not a follower), -EIO, -ENOMEM. */
int rb_part_follow_log_start(struct rb_part_shard *ps, const struct rb_part_key *k,
                             int64_t leader_log_start);

/* What a follower's next fetch of a partition needs (rb_part_follow_pos). */
struct rb_part_follow_pos {
    enum rb_part_role role;
    int32_t leader_epoch;
    int64_t fetch_offset; /* the log end (LEO) */
    int64_t log_start;
    bool unwritten; /* appended bytes not written out yet: wait for the flush */
    bool offline;
};
/* Owner: key's follower position; -ENOENT when not here. */
int rb_part_follow_pos(struct rb_part_shard *ps, const struct rb_part_key *k,
                       struct rb_part_follow_pos *out);
/* Called on the owner shard when a flush of a follower partition has written its
 * bytes out (its position may now be reported: a fetcher waiting for that flush
 * goes on at once instead of polling). NULL: nobody. */
typedef void (*rb_part_written_fn)(void *arg);
void rb_part_set_follower_written(struct rb_part_shard *ps, rb_part_written_fn fn, void *arg);

/* ---- reads (part/read.c) ---- */
/* Owner: read every item of set; set->done runs once answered. */
void rb_part_read_start(struct rb_part_shard *ps, struct rb_part_read_set *set);
/* Owner: a parked set is answered now (nothing when it is not parked). */
void rb_part_read_cancel(struct rb_part_shard *ps, struct rb_part_read_set *set);
/* Either shard: close and free d's bytes. */
void rb_part_data_clear(struct rb_part_data *d);
/* Owner: the file bytes handed out for key could not be read: offline. */
void rb_part_read_failed(struct rb_part_shard *ps, const struct rb_part_key *k, int err);
/* Owner. Synchronous, except a lookup by timestamp (or MAX_TIMESTAMP) whose
 * batch decompresses to more than rb_part_validate_inline_bytes when the shard
 * has a validator thread (or rb_part_vthread_sim): o->job is left RB_VJOB_WANTED,
 * the caller sets done/arg, submits it (rb_part_vjob_submit; -EAGAIN: again next
 * turn) and calls rb_part_list_offsets_back once done ran, which answers o. */
void rb_part_list_offsets(struct rb_part_shard *ps, struct rb_part_offsets *o);
void rb_part_list_offsets_back(struct rb_part_shard *ps, struct rb_part_offsets *o);
void rb_part_trim(struct rb_part_shard *ps, struct rb_part_trim *t);
/* Owner: bytes the partition's log holds on disk; -ENOENT when not here. */
int rb_part_size_bytes(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t *bytes);
/* Owner: [log start, durable end) of key; -ENOENT when not here. */
int rb_part_durable_range(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t *start,
                          int64_t *end);
/* Owner: copy whole batches from offset below upto (at most max bytes, the first
 * whole) into buf; blocking reads of file bytes (loading internal topics). */
int rb_part_read_copy(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t offset,
                      int64_t upto, uint32_t max, uint8_t *buf, uint32_t cap, uint32_t *len);
/* Walk the whole batches at the start of buf (a copy as above): fn(arg, batch,
 * bytes, base_offset) for each, up to the first that does not parse. Returns the
 * offset after the last one walked, or -1 when none. Any thread. */
int64_t rb_part_batches_each(const uint8_t *buf, uint32_t len,
                             void (*fn)(void *arg, const uint8_t *batch, uint32_t bytes,
                                        int64_t base_offset),
                             void *arg);

#endif
