/*
 * net/partition.h - the partitions a shard owns, and per-partition work that
 * other shards (or this one) send it: appends waiting for durability, fetches
 * waiting for data, offset lookups.
 *
 * A struct rb_pop is one partition's share of a request; the pops of one request
 * that go to one shard form a struct rb_pgroup, sent over as a single message and
 * returned as a single message. Both live in the request's arena on the origin
 * shard; the owner shard fills in results and links pops into its own partition
 * lists while it holds the group, then posts the group back.
 *
 * Group states on the owner (written only by the owner thread):
 *   OWNER_RUNNING -> (all pops done) -> OWNER_RETURNED
 *   OWNER_RUNNING -> (fetch below min_bytes) -> OWNER_WAITING -> (data, deadline,
 *   cancel) -> OWNER_RETURNED
 */
#ifndef RB_NET_PARTITION_H
#define RB_NET_PARTITION_H

#include "net/net.h"
#include "storage/log.h"

enum rb_pop_kind { RB_POP_PRODUCE = 1, RB_POP_FETCH, RB_POP_LIST_OFFSETS, RB_POP_DELETE_RECORDS };
enum rb_owner_state { OWNER_IDLE = 0, OWNER_RUNNING, OWNER_WAITING, OWNER_RETURNED };

struct rb_pgroup;

/* Kafka's record timestamp rule for a topic (net/h_produce.c): with CreateTime,
 * every record timestamp other than -1 lies within [now - before_ms, now +
 * after_ms] (message.timestamp.before/after.max.ms), else INVALID_TIMESTAMP. */
struct rb_ts_rule {
    bool check; /* message.timestamp.type=CreateTime */
    int64_t before_ms, after_ms;
};

struct rb_pop {
    struct rb_pop *wnext, *wprev; /* owner: partition wait lists */
    struct rb_pgroup *group;
    const char *topic; /* NUL-terminated, in the request arena */
    size_t topic_len;
    int32_t partition;
    int16_t shard;
    uint8_t kind;
    bool waiting; /* linked on a partition list */
    int16_t error;
    union {
        struct {
            const uint8_t *records;
            uint32_t len;
            int16_t acks;
            int64_t base_offset;
            int64_t log_append_time;
            int64_t log_start_offset;
            int64_t wait_end;    /* durable_end needed before answering */
            uint32_t next_batch; /* byte position of the next batch to append */
            /* topic compression.type: batches of another codec are rebuilt with
             * codec by the owner (rb_produce_rebuild) */
            bool recompress;
            uint8_t codec;
            int32_t max_bytes;    /* max.message.bytes, for rebuilt batches */
            struct rb_ts_rule ts; /* for rebuilt batches */
        } produce;
        struct {
            int64_t offset;
            int32_t max_bytes;
            int64_t high_watermark;
            int64_t log_start_offset;
            /* The records: file_len bytes of file_fd at file_pos (a dup() the owner
             * took, when file_len > 0), then the bytes of data (malloc'd by the
             * owner from the tail cache); data_len counts both. Released with
             * rb_fetch_data_clear or handed to the response (net/fetch_data.c). */
            uint8_t *data;
            uint32_t data_len;
            uint32_t file_len;
            int file_fd;
            uint64_t file_pos;
        } fetch;
        struct {
            int64_t timestamp;
            int64_t offset;
            int64_t found_timestamp;
        } lo;
        struct {
            int64_t offset;        /* requested new log start (-1: high watermark) */
            int64_t low_watermark; /* answer */
        } dr;
    } u;
};

struct rb_pgroup {
    struct rb_request *req;
    int16_t origin;
    int16_t shard;
    struct rb_pop **pops;
    int n_pops;
    /* owner side */
    enum rb_owner_state owner_state;
    int pending;
    struct rb_timer timer;
    uint32_t bytes;
    /* fetch parameters */
    int64_t deadline_ms;
    int32_t min_bytes;
    int32_t max_bytes;
    /* origin side: called on the origin shard when the group is back */
    void (*back)(struct rb_shard *s, struct rb_pgroup *g);
    bool returned; /* origin: came back */
};

struct rb_partition;

/* Split pops[0..n) (NULL entries are skipped) into one group per owner shard,
 * allocated in req's arena, each with req and back set. Returns the number of
 * groups and stores them (in shard order) in *groups. */
int rb_pgroups_split(struct rb_request *req, struct rb_pop **pops, int n,
                     void (*back)(struct rb_shard *s, struct rb_pgroup *g),
                     struct rb_pgroup ***groups);

/* Send g to its owner shard (holds a reference on g->req until it is back). */
void rb_pgroup_send(struct rb_shard *s, struct rb_pgroup *g);
/* Ask the owner to return a waiting fetch group now (holds a reference on
 * g->req until acknowledged). */
void rb_pgroup_cancel(struct rb_shard *s, struct rb_pgroup *g);

/* Append one batch (validated here, copied) to a partition this shard owns, as a
 * produce with acks=all: done(s, error, base_offset, arg) runs later on this shard
 * once the batch is durable (or failed). topic must stay valid until then.
 * Returns 0, -EINVAL (bad batch) or -ENOMEM. Used for internal topics. */
typedef void (*rb_append_done_fn)(struct rb_shard *s, int16_t err, int64_t base_offset, void *arg);
int rb_partition_append_local(struct rb_shard *s, const char *topic, int32_t partition,
                              const uint8_t *batch, uint32_t len, rb_append_done_fn done,
                              void *arg);

/* Owner side of topic compression.type (net/h_produce.c): when op asks for
 * recompression and batch b's codec differs, rebuild it in the shard's codec
 * scratch (decompress, deep-validate, recompress) and point *out and *obi at the new
 * batch, valid until the shard's next codec use; otherwise *out = b, *obi = *bi.
 * Returns a Kafka error (0 = append *out). */
int16_t rb_produce_rebuild(struct rb_net *n, const struct rb_pop *op, const uint8_t *b,
                           const struct rb_batch_info *bi, const uint8_t **out,
                           struct rb_batch_info *obi);

/* Partition table (owner shard). */
struct rb_partition *rb_ptable_get(struct rb_ptable *t, const char *topic, size_t len,
                                   int32_t partition);
int rb_ptable_add(struct rb_net *n, const char *topic, const uint8_t id[16], int32_t partition,
                  struct rb_log *log);
struct rb_log *rb_partition_log(struct rb_partition *p);
/* Call fn for every live (not dropped) partition of t. */
void rb_ptable_each(struct rb_ptable *t,
                    void (*fn)(void *arg, const char *topic, int32_t index, struct rb_log *log),
                    void *arg);
/* DeleteRecords on the owner (net/h_delete_records.c); log is NULL when the
 * partition is not here. Synchronous: fills op->error and op->u.dr. */
void rb_delete_records_exec(struct rb_shard *s, struct rb_pop *op, struct rb_log *log);

/* ---- fetch data (net/fetch_data.c) ---- */
/* Owner: take the bytes of a read for op (replacing nothing: clear first). Memory
 * pieces are copied, the file piece becomes a dup() of its descriptor. Returns 0,
 * -ENOMEM, -EMFILE (no descriptor) or -EIO (a slice it cannot describe). */
int rb_fetch_data_take(struct rb_pop *op, const struct rb_log_slice *sl);
/* Either shard: drop op's data (close the descriptor, free the bytes). */
void rb_fetch_data_clear(struct rb_pop *op);
/* Origin, encoding a fetch response: records of pops with file bytes are left out
 * of req->out and become req->ext entries (net/net.h), sent in their place. Use:
 * fo = rb_fetch_out_new; records = rb_fetch_out_records(fo, op) per included pop;
 * rb_resp_begin; rb_fetch_out_encode_begin; encode; rb_fetch_out_encode_end. */
struct rb_fetch_out;
struct rb_fetch_out *rb_fetch_out_new(struct rb_request *req, int n_pops);
struct rb_bytes rb_fetch_out_records(struct rb_fetch_out *fo, struct rb_pop *op);
void rb_fetch_out_encode_begin(struct rb_fetch_out *fo);
void rb_fetch_out_encode_end(struct rb_fetch_out *fo);
/* Connection shard: the file bytes of e could not be read: tell its owner (the
 * partition goes offline). */
void rb_fetch_read_failed(struct rb_shard *s, const struct rb_resp_ext *e, int err);

/* Apply a metadata update on its shard (the coord's apply hook). */
void rb_net_apply_update(struct rb_shard *s, struct rb_md_update *u);

#endif
