/*
 * net/fanout.h - a request's per-partition work, sent to the shards that own the
 * partitions and gathered back on the connection's shard (the origin).
 *
 * A struct rb_pop is one partition's share of a request: a part/ work item (the
 * union: struct rb_part_append, rb_part_read, rb_part_offsets, rb_part_trim, each
 * starting with a struct rb_part_item: the key and the error). The pops of one
 * request that go to one shard form a struct rb_pgroup, sent over as a single
 * message and returned as a single message. Both live in the request's arena on
 * the origin; the owner runs each pop through part/ and posts the group back once
 * every pop is answered (part/ calls back through the items' done callbacks).
 *
 * Group states on the owner (written only by the owner thread):
 *   OWNER_RUNNING -> (all pops answered) -> OWNER_RETURNED
 *   OWNER_RUNNING -> (fetch below min_bytes: part/ parks the read set) ->
 *   (data, deadline, cancel) -> OWNER_RETURNED
 */
#ifndef RB_NET_FANOUT_H
#define RB_NET_FANOUT_H

#include "net/net.h"
#include "part/part.h"

enum rb_pop_kind { RB_POP_PRODUCE = 1, RB_POP_FETCH, RB_POP_LIST_OFFSETS, RB_POP_DELETE_RECORDS };
enum rb_owner_state { OWNER_IDLE = 0, OWNER_RUNNING, OWNER_RETURNED };

struct rb_pgroup;

struct rb_pop {
    struct rb_pgroup *group;
    int16_t shard;
    uint8_t kind;
    union {
        struct rb_part_item it; /* the common head of every member */
        struct rb_part_append produce;
        struct rb_part_read fetch;
        struct rb_part_offsets lo;
        struct rb_part_trim dr;
    } u;
};

/* A pop for partition index of topic (NUL-terminated, living as long as the
 * request) on shard, zeroed otherwise, in req's arena. */
struct rb_pop *rb_pop_new(struct rb_request *req, enum rb_pop_kind kind, const char *topic,
                          size_t topic_len, int32_t index, int16_t shard);

struct rb_pgroup {
    struct rb_request *req;
    int16_t origin;
    int16_t shard;
    struct rb_pop **pops;
    int n_pops;
    /* owner side */
    enum rb_owner_state owner_state;
    int pending;
    /* fetch: the reads as part/ sees them (deadline, min/max bytes set by the
     * handler; bytes read come back in rs.bytes) */
    struct rb_part_read_set rs;
    /* origin side: called on the origin shard when the group is back */
    void (*back)(struct rb_shard *s, struct rb_pgroup *g);
    bool returned; /* origin: came back */
};

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

/* ---- fetch responses (net/fetch_out.c) ---- */
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

/* Shard hooks (net/conn.c): every loop turn (group timers, part/'s flush turn,
 * pending drops); stopping: parked fetches answered, every group back (or 3 s
 * passed); after the loop: group state freed, logs closed. */
void rb_net_partitions_turn(struct rb_net *n);
bool rb_net_partitions_quiet(struct rb_net *n);
void rb_net_partitions_finish(struct rb_net *n);

/* Apply a metadata update on its shard (the coord's apply hook). */
void rb_net_apply_update(struct rb_shard *s, struct rb_md_update *u);

#endif
