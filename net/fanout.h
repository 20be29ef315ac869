/*
 * net/fanout.h - the one cross-shard scatter/gather of net/: a request's items
 * (partitions, groups, log dir entries) are sent to the shards that own them, run
 * there, and gathered back on the connection's shard (the origin), where finish
 * encodes the response.
 *
 * A struct rb_fan_item is one item of a request, with its owner shard and the
 * function that runs it there. rb_fan_start splits the items per owner into
 * struct rb_fan_batch es - one message out and one back per shard - all in the
 * request's arena. On the owner each item runs (or the whole batch, run_batch:
 * fetch's long poll) and ends with rb_fan_item_done (rb_fan_batch_done), now or
 * later; the batch goes back once every item is done. finish runs on the origin
 * once every batch is back. A parked batch can be cancelled (rb_fan_cancel).
 * Memory: what an owner writes lives in the items (allocated on the origin before
 * they leave); an owner never allocates from the arena (batches of one request run
 * on several shards at once).
 *
 * A struct rb_pop is the item of a partition request (produce, fetch, list
 * offsets, delete records, offset for leader epoch): a part/ work item (the union:
 * struct rb_part_append, rb_part_read, rb_part_offsets, rb_part_trim, each starting
 * with a struct rb_part_item: the key and the error) run on the owner through
 * part/, which calls back when it is answered.
 *
 * Batch on the owner:  sent -> running -> (parked: fetch) -> back (asserted once)
 */
#ifndef RB_NET_FANOUT_H
#define RB_NET_FANOUT_H

#include "net/net.h"
#include "part/part.h"

struct rb_fan;
struct rb_fan_batch;

struct rb_fan_item {
    struct rb_fan_batch *batch; /* set when sent */
    int16_t shard;              /* owner; -1: answered on the origin, not sent */
    /* owner: run the item; ends in rb_fan_item_done (now or later) */
    void (*run)(struct rb_shard *s, struct rb_fan_item *it);
    struct rb_fan_item *next_deferred; /* owner: queued for a later turn */
};

struct rb_fan_ops {
    /* owner, optional: run a whole batch instead of its items' run; ends in
     * rb_fan_batch_done */
    void (*run_batch)(struct rb_shard *s, struct rb_fan_batch *b);
    /* owner, optional: end a parked batch now (rb_fan_batch_done) */
    void (*cancel)(struct rb_shard *s, struct rb_fan_batch *b);
    /* origin, optional, before a batch leaves (arena allocations for the owner) */
    void (*prepare)(struct rb_fan *f, struct rb_fan_batch *b);
    /* origin, optional: the broker is stopping and the owner may have left its
     * loop: answer it here with a retriable error instead of sending it */
    void (*refuse)(struct rb_fan_item *it);
};

struct rb_fan_batch {
    struct rb_fan *fan;
    int16_t shard;
    struct rb_fan_item **items;
    int n;
    struct rb_shard *owner; /* owner: its shard, once the batch runs there */
    int pending;            /* owner: items not done (+1 while starting) */
    bool owner_back;        /* owner: posted back */
    bool returned;          /* origin: came back */
    /* fetch: the batch's reads as part/ sees them */
    struct rb_part_read_set rs;
};

struct rb_fan {
    struct rb_request *req;
    const struct rb_fan_ops *ops;
    /* origin: every batch is back (check rb_fan_answerable before answering) */
    void (*finish)(struct rb_request *req, struct rb_fan *f);
    /* origin, optional: one batch is back (before finish) */
    void (*back)(struct rb_shard *s, struct rb_fan_batch *b);
    void *ctx;
    /* fetch, while starting: deadline and byte limits of every batch's read set */
    const struct rb_part_read_set *read_limits;
    int16_t origin;
    struct rb_fan_batch **batches;
    int n_batches;
    int pending; /* origin: batches not back (+1 while starting) */
    bool cancelled;
};

/* Origin: a fan for req (in its arena); ops may be NULL (items run one by one). */
struct rb_fan *rb_fan_new(struct rb_request *req, const struct rb_fan_ops *ops,
                          void (*finish)(struct rb_request *req, struct rb_fan *f), void *ctx);
/* Origin: send items[0..n) (NULL entries and shard -1 are skipped), one batch per
 * owner shard; ops->finish runs once all are back (at once when none left). */
void rb_fan_start(struct rb_fan *f, struct rb_fan_item **items, int n);
/* Owner: the item is answered. */
void rb_fan_item_done(struct rb_shard *s, struct rb_fan_item *it);
/* Owner (run_batch): the batch is answered. */
void rb_fan_batch_done(struct rb_shard *s, struct rb_fan_batch *b);
/* Origin: ask every owner whose batch is not back to end it now (once). */
void rb_fan_cancel(struct rb_shard *s, struct rb_fan *f);
/* Origin: the request still wants a response (its connection is there). */
static inline bool rb_fan_answerable(const struct rb_request *req)
{
    return req->conn && req->state == RB_REQ_DISPATCHED;
}

/* ---- partition items ---- */

enum rb_pop_kind {
    RB_POP_PRODUCE = 1,
    RB_POP_FETCH,
    RB_POP_LIST_OFFSETS,
    RB_POP_DELETE_RECORDS,
    RB_POP_EPOCH_END, /* OffsetForLeaderEpoch */
};

struct rb_pop {
    struct rb_fan_item fi;
    uint8_t kind;
    union {
        struct rb_part_item it; /* the common head of every member */
        struct rb_part_append produce;
        struct rb_part_read fetch;
        struct rb_part_offsets lo;
        struct rb_part_trim dr;
        struct rb_part_epoch_q ep;
    } u;
};

/* A pop for partition index of topic (NUL-terminated, living as long as the
 * request) on shard, zeroed otherwise, in req's arena. */
struct rb_pop *rb_pop_new(struct rb_request *req, enum rb_pop_kind kind, const char *topic,
                          size_t topic_len, int32_t index, int16_t shard);
/* Origin: fan pops[0..n) out (NULL entries skipped; all of one kind);
 * finish(req, f) runs once all are back, with f->ctx = ctx. back, optional, runs
 * as each batch comes back. Fetches: limits gives the deadline, min_bytes and
 * max_bytes of every shard's read set (NULL otherwise). */
struct rb_fan *rb_pops_start(struct rb_request *req, struct rb_pop **pops, int n, void *ctx,
                             void (*finish)(struct rb_request *req, struct rb_fan *f),
                             void (*back)(struct rb_shard *s, struct rb_fan_batch *b),
                             const struct rb_part_read_set *limits);

/* ---- fetch responses (net/fetch_out.c) ---- */
/* Origin, encoding a fetch response: records of pops with bytes (file or memory) are left out
 * of req->out and become req->ext entries (net/net.h), sent in their place. Use:
 * fo = rb_fetch_out_new; records = rb_fetch_out_records(fo, op) per included pop;
 * rb_resp_begin; rb_fetch_out_encode_begin; encode; rb_fetch_out_encode_end. */
struct rb_fetch_out;
struct rb_fetch_out *rb_fetch_out_new(struct rb_request *req, int n_pops);
struct rb_bytes rb_fetch_out_records(struct rb_fetch_out *fo, struct rb_pop *op);
void rb_fetch_out_encode_begin(struct rb_fetch_out *fo);
void rb_fetch_out_encode_end(struct rb_fetch_out *fo);
/* net/fetch_dedup.c: collapse the partitions a Fetch lists twice, as Kafka does
 * (first position, last values); returns how many were dropped. */
int rb_fetch_dedup(struct rb_request *req, struct rb_fetch_req *in, bool by_id);
/* dup[i] = partition (topics[i], parts[i]) appears more than once among the n;
 * returns how many entries are flagged. */
int rb_part_dups(struct rb_request *req, int n, const struct rb_str *topics, const int32_t *parts,
                 bool *dup);
/* Connection shard: the file bytes of e could not be read: tell its owner (the
 * partition goes offline). */
void rb_fetch_read_failed(struct rb_shard *s, const struct rb_resp_ext *e, int err);

/* Shard hooks (net/conn.c): every loop turn (group timers, part/'s flush turn,
 * pending drops); stopping: parked fetches answered, every group back (or 3 s
 * passed); after the loop: group state freed, logs closed. */
void rb_net_partitions_turn(struct rb_net *n);
bool rb_net_partitions_quiet(struct rb_net *n);
/* Each loop turn: a new budget for owner items that decompress (ListOffsets by
 * time, produce rebuilds); idle: none waits for a later turn (a stopping shard
 * keeps turning until then). */
void rb_net_lo_turn(struct rb_net *n);
/* That budget (2 MiB decompressed); set once before the shards start (the
 * simulator draws 0: every such lookup on a later turn). */
extern int64_t rb_net_lookup_turn_bytes;
bool rb_net_lo_idle(const struct rb_net *n);
void rb_net_partitions_finish(struct rb_net *n);

/* Apply a metadata update on its shard (the coord's apply hook). */
void rb_net_apply_update(struct rb_shard *s, struct rb_md_update *u);

/* A cluster's snapshot md: give every partition on shard s its role (leader when
 * md names this broker, follower, or none) and leader epoch through part/. */
void rb_net_apply_roles(struct rb_shard *s, const struct rb_metadata *md, int32_t self);

#endif
