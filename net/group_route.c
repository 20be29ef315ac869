/*
 * net/group_route.c - group ops between shards (a request's ops routed to the
 * shards owning their groups, sent, gathered; the ops' memory), the appends of
 * group records to __consumer_offsets, and the lazy creation of the topic (see
 * net/group_route.h). The owner shard's side (its group state, the loading of
 * __consumer_offsets, group metadata records, offset expiry) is net/group_shard.c.
 */
#include "net/group_route_int.h"
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"

#include <stdlib.h>
#include <string.h>

#define COMP "groups"

struct rb_oblk {
    struct rb_oblk *next;
    max_align_t data[];
};

/* ---- op memory ---- */

void *rb_gop_alloc(struct rb_gop *op, size_t n)
{
    struct rb_oblk *b = calloc(1, sizeof(*b) + (n ? n : 1));
    RB_ASSERT(b);
    b->next = op->heap;
    op->heap = b;
    return b->data;
}

struct rb_str rb_gop_str(struct rb_gop *op, const char *s)
{
    if (!s)
        return RB_STR_NULL;
    size_t n = strlen(s);
    char *p = rb_gop_alloc(op, n + 1);
    memcpy(p, s, n);
    return (struct rb_str){p, (int32_t)n};
}

struct rb_bytes rb_gop_bytes(struct rb_gop *op, const uint8_t *p, int32_t len)
{
    if (!p || len < 0)
        return (struct rb_bytes){(const uint8_t *)"", 0};
    uint8_t *c = rb_gop_alloc(op, (size_t)len);
    if (len)
        memcpy(c, p, (size_t)len);
    return (struct rb_bytes){c, len};
}

static void gop_free_heap(struct rb_gop *op)
{
    while (op->heap) {
        struct rb_oblk *b = op->heap;
        op->heap = b->next;
        free(b);
    }
}

const struct rb_topic_meta *rb_groups_offsets_topic(struct rb_net *n)
{
    return rb_metadata_topic(n->md, RB_CONSUMER_OFFSETS, strlen(RB_CONSUMER_OFFSETS));
}

/* ---- ops ---- */

struct rb_gparent *rb_gparent_new(struct rb_request *req, void *msg, int n_ops,
                                  void (*finish)(struct rb_request *req, struct rb_gparent *p))
{
    struct rb_gparent *p = rb_req_alloc(req, 1, sizeof(*p));
    p->req = req;
    p->msg = msg;
    p->finish = finish;
    p->n_ops = n_ops;
    p->ops = rb_req_alloc(req, (size_t)RB_MAX(n_ops, 1), sizeof(*p->ops));
    for (int i = 0; i < n_ops; i++) {
        p->ops[i].parent = p;
        p->ops[i].fi.shard = -1;
        p->ops[i].fi.run = rb_gop_on_owner;
        p->ops[i].part = -1;
        p->ops[i].idx = i;
    }
    return p;
}

void rb_gop_route(struct rb_net *n, struct rb_gop *op, const char *group)
{
    op->group = group;
    const struct rb_topic_meta *t = rb_groups_offsets_topic(n);
    if (!t || t->n_partitions <= 0) {
        op->fi.shard = -1;
        op->err = RB_KERR_COORDINATOR_NOT_AVAILABLE;
        return;
    }
    op->part = rb_group_partition_for(group, strlen(group), t->n_partitions);
    const struct rb_partition_meta *pm = &t->partitions[op->part];
    if (pm->leader != n->b->bc->broker_id || pm->shard < 0) { /* another broker's group */
        op->fi.shard = -1;
        op->err = pm->leader < 0 ? RB_KERR_COORDINATOR_NOT_AVAILABLE : RB_KERR_NOT_COORDINATOR;
        return;
    }
    op->fi.shard = pm->shard;
}

static void parent_done(struct rb_request *req, struct rb_fan *f)
{
    struct rb_gparent *p = f->ctx;
    if (rb_fan_answerable(req))
        p->finish(req, p);
    for (int i = 0; i < p->n_ops; i++)
        gop_free_heap(&p->ops[i]);
}

void rb_gop_return(struct rb_shard *s, struct rb_gop *op)
{
    rb_fan_item_done(s, &op->fi);
}

/* Origin, stopping: the owner may have left its loop; it would answer this anyway. */
static void op_refuse(struct rb_fan_item *fi)
{
    RB_CONTAINER_OF(fi, struct rb_gop, fi)->err = RB_KERR_COORDINATOR_NOT_AVAILABLE;
}

static const struct rb_fan_ops gop_ops = {.refuse = op_refuse};

void rb_gparent_start(struct rb_shard *s, struct rb_gparent *p)
{
    (void)s;
    struct rb_request *req = p->req;
    struct rb_fan_item **items = rb_req_alloc(req, (size_t)RB_MAX(p->n_ops, 1), sizeof(*items));
    for (int i = 0; i < p->n_ops; i++)
        items[i] = &p->ops[i].fi;
    rb_fan_start(rb_fan_new(req, &gop_ops, parent_done, p), items, p->n_ops);
}

/* ---- appends ---- */

int rb_groups_append(struct rb_shard *s, int32_t part, const struct rb_orec *recs, int n,
                     rb_append_done_fn done, void *arg)
{
    struct rb_writer w;
    rb_writer_init(&w, 512);
    rb_orec_batch_build(&w, recs, n, rb_wall_ms());
    int r = w.err ? w.err
                  : rb_part_append_local(rb_part_of(s), RB_CONSUMER_OFFSETS, part, w.buf,
                                         (uint32_t)w.len, done, arg);
    rb_writer_free(&w);
    return r;
}

int16_t rb_groups_commit_error(int16_t e)
{
    switch (e) {
    case RB_KERR_NONE:
        return RB_KERR_NONE;
    case RB_KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case RB_KERR_NOT_ENOUGH_REPLICAS:
    case RB_KERR_REQUEST_TIMED_OUT:
    case RB_KERR_KAFKA_STORAGE_ERROR:
        return RB_KERR_COORDINATOR_NOT_AVAILABLE;
    case RB_KERR_NOT_LEADER_OR_FOLLOWER:
        return RB_GROUPS_NOT_COORD_ERR;
    case RB_KERR_MESSAGE_TOO_LARGE:
    case RB_KERR_RECORD_LIST_TOO_LARGE:
    case RB_KERR_INVALID_FETCH_SIZE:
        return RB_KERR_INVALID_COMMIT_OFFSET_SIZE;
    default:
        return RB_KERR_UNKNOWN_SERVER_ERROR;
    }
}

/* ---- record sets ---- */

void rb_recset_add(struct rb_recset *rs, const char *group, const char *topic, int32_t p, bool tomb,
                   int64_t off, int32_t epoch, const char *meta, int64_t ts)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 16;
        rs->r = realloc(rs->r, sizeof(*rs->r) * (size_t)rs->cap);
        RB_ASSERT(rs->r);
    }
    size_t k = rs->w.len;
    if (topic) {
        rb_offkey_write(&rs->w, group, topic, p);
    } else { /* group metadata key (version 2) */
        rb_write_i16(&rs->w, 2);
        rb_write_str(&rs->w, rb_str_c(group), false);
    }
    size_t v = rs->w.len;
    if (!tomb)
        rb_offval_write(&rs->w, off, epoch, meta, ts);
    rs->r[rs->n].k = k;
    rs->r[rs->n].kl = v - k;
    rs->r[rs->n].v = v;
    rs->r[rs->n].vl = rs->w.len - v;
    rs->r[rs->n].tomb = tomb;
    rs->n++;
}

/* Append rs to part (then free it); 0 or -errno. */
int rb_recset_append_part(struct rb_shard *s, int32_t part, struct rb_recset *rs,
                          rb_append_done_fn done, void *arg)
{
    struct rb_orec *recs = calloc((size_t)RB_MAX(rs->n, 1), sizeof(*recs));
    RB_ASSERT(recs);
    for (int i = 0; i < rs->n; i++) {
        recs[i].key = rs->w.buf + rs->r[i].k;
        recs[i].key_len = (int32_t)rs->r[i].kl;
        recs[i].value = rs->r[i].tomb ? NULL : rs->w.buf + rs->r[i].v;
        recs[i].value_len = (int32_t)rs->r[i].vl;
    }
    int r = rs->w.err ? rs->w.err : rb_groups_append(s, part, recs, rs->n, done, arg);
    free(recs);
    free(rs->r);
    rb_writer_free(&rs->w);
    return r;
}

/* Append rs (then free it); 0 or the error to answer. */
int16_t rb_recset_append(struct rb_shard *s, struct rb_gop *op, struct rb_recset *rs,
                         rb_append_done_fn done)
{
    return rb_recset_append_part(s, op->part, rs, done, op) ? RB_KERR_COORDINATOR_NOT_AVAILABLE : 0;
}

/* ---- lazy creation of __consumer_offsets ---- */

struct tcreate {
    struct rb_request *req;
    void *msg;
    void (*cont)(struct rb_request *req, void *msg);
    struct rb_topic_spec spec;
    const char *key, *value;
};

static void topic_created(struct rb_shard *s, void *arg)
{
    struct tcreate *tc = arg;
    struct rb_request *req = tc->req;
    if (tc->spec.error && tc->spec.error != RB_KERR_TOPIC_ALREADY_EXISTS)
        RB_WARN(COMP, "cannot create %s: %s", RB_CONSUMER_OFFSETS, tc->spec.error_message);
    else if (!tc->spec.error)
        RB_INFO(COMP, "created %s (%d partitions, cleanup.policy=compact)", RB_CONSUMER_OFFSETS,
                tc->spec.n_partitions_out);
    if (req->conn && req->state == RB_REQ_DISPATCHED)
        tc->cont(req, tc->msg); /* routes to COORDINATOR_NOT_AVAILABLE if it failed */
    rb_request_release(req);
}

void rb_groups_with_topic(struct rb_request *req, void *msg,
                          void (*cont)(struct rb_request *req, void *msg))
{
    struct rb_net *n = rb_req_net(req);
    if (rb_groups_offsets_topic(n)) {
        cont(req, msg);
        return;
    }
    struct tcreate *tc = rb_req_alloc(req, 1, sizeof(*tc));
    tc->req = req;
    tc->msg = msg;
    tc->cont = cont;
    tc->key = "cleanup.policy";
    tc->value = "compact";
    tc->spec.name = RB_CONSUMER_OFFSETS;
    tc->spec.n_partitions = RB_MAX(n->b->bc->offsets_topic_num_partitions, 1);
    tc->spec.replication_factor = RB_RF_OFFSETS_TOPIC;
    tc->spec.n_configs = 1;
    tc->spec.config_keys = &tc->key;
    tc->spec.config_values = &tc->value;
    rb_request_hold(req);
    rb_coord_create_topics(rb_req_shard(req), &tc->spec, 1, false, topic_created, tc);
}
