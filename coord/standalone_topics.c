/*
 * coord/standalone_topics.c - topic creation (CreateTopics, auto-creation) and
 * deletion (DeleteTopics) for the standalone backend: the request checked whole
 * (names, partition and replication counts, configs, the broker's partition
 * limit), then run on the coordination thread, which opens or discards the
 * partitions' logs and publishes the next snapshot (coord/standalone.c) and
 * answers each topic with Kafka's error code.
 */
#include "coord/coord.h"
#include "coord/standalone_int.h"
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "coord"

static int16_t check_spec(struct rb_coord *c, struct rb_topic_spec *sp)
{
    size_t len = strlen(sp->name);
    if (!rb_topic_name_valid(sp->name, len)) {
        snprintf(sp->error_message, sizeof(sp->error_message),
                 "Topic name '%.200s' is illegal: it must be 1-249 characters of "
                 "[a-zA-Z0-9._-] and not '.' or '..'",
                 sp->name);
        return RB_KERR_INVALID_TOPIC_EXCEPTION;
    }
    if (rb_metadata_topic(c->md, sp->name, len)) {
        snprintf(sp->error_message, sizeof(sp->error_message), "Topic '%.200s' already exists.",
                 sp->name);
        return RB_KERR_TOPIC_ALREADY_EXISTS;
    }
    if (sp->n_partitions == -1)
        sp->n_partitions = c->bc->num_partitions;
    if (sp->replication_factor == -1)
        sp->replication_factor = c->bc->default_replication_factor;
    if (sp->replication_factor == RB_RF_OFFSETS_TOPIC)
        sp->replication_factor = 1; /* standalone: one broker, one replica */
    if (sp->n_partitions <= 0 || sp->n_partitions > c->bc->max_partitions_per_topic) {
        snprintf(sp->error_message, sizeof(sp->error_message),
                 "Number of partitions must be between 1 and %d (max.partitions.per.topic), "
                 "got %d.",
                 c->bc->max_partitions_per_topic, sp->n_partitions);
        return RB_KERR_INVALID_PARTITIONS;
    }
    if (sp->replication_factor <= 0 || sp->replication_factor > 1) {
        snprintf(sp->error_message, sizeof(sp->error_message),
                 "Replication factor: %d larger than available brokers: 1.",
                 sp->replication_factor);
        return sp->replication_factor <= 0 ? RB_KERR_INVALID_REPLICATION_FACTOR
                                           : RB_KERR_INVALID_REPLICATION_FACTOR;
    }
    for (int32_t k = 0; k < sp->n_configs; k++) {
        char why[128] = "";
        if (!sp->config_values[k]) {
            snprintf(sp->error_message, sizeof(sp->error_message),
                     "Null value not supported for topic configs: %.100s", sp->config_keys[k]);
            return RB_KERR_INVALID_CONFIG;
        }
        if (rb_topic_config_validate(sp->config_keys[k], sp->config_values[k], why, sizeof(why))) {
            snprintf(sp->error_message, sizeof(sp->error_message), "%s", why);
            return RB_KERR_INVALID_CONFIG;
        }
    }
    return RB_KERR_NONE;
}

/* Remove from next the topics of op that failed while their logs were opened, and
 * point the handoffs of the others at their topics' new places. */
static void drop_failed_topics(struct rb_metadata *next, struct rb_coord_op *op,
                               struct rb_partition_handoff *adopt, int n_adopt)
{
    const char **names = calloc((size_t)RB_MAX(n_adopt, 1), sizeof(char *));
    RB_ASSERT(names);
    for (int k = 0; k < n_adopt; k++)
        names[k] = adopt[k].topic->name; /* the string stays where it is */
    for (int i = 0; i < op->n; i++)
        if (op->specs[i].error == RB_KERR_KAFKA_STORAGE_ERROR &&
            rb_metadata_topic(next, op->specs[i].name, strlen(op->specs[i].name)))
            rb_coord_topic_remove(next, op->specs[i].name);
    for (int k = 0; k < n_adopt; k++) {
        adopt[k].topic = rb_metadata_topic(next, names[k], strlen(names[k]));
        RB_ASSERT(adopt[k].topic);
    }
    free(names);
}

static void coord_create(struct rb_shard *cs, void *arg)
{
    struct rb_coord_op *op = arg;
    struct rb_coord *c = cs->coord;
    if (c->cl) {
        rb_cl_create_topics(cs, c, op);
        return;
    }
    struct rb_metadata *next = NULL;
    struct rb_partition_handoff *adopt = NULL;
    int n_adopt = 0;
    int64_t pending = 0; /* partitions accepted so far in this op */
    for (int i = 0; i < op->n; i++) {
        struct rb_topic_spec *sp = &op->specs[i];
        sp->error = check_spec(c, sp);
        if (!sp->error)
            sp->error = rb_coord_check_broker_partitions(
                c, c->md, pending, sp->n_partitions, sp->error_message, sizeof(sp->error_message));
        /* A duplicate name within one request: the second one fails. */
        for (int j = 0; !sp->error && j < i; j++)
            if (strcmp(op->specs[j].name, sp->name) == 0) {
                sp->error = RB_KERR_INVALID_REQUEST;
                snprintf(sp->error_message, sizeof(sp->error_message),
                         "Topic '%.200s' appears more than once in the request", sp->name);
            }
        sp->n_partitions_out = sp->n_partitions;
        sp->replication_factor_out = sp->replication_factor;
        if (sp->error)
            continue;
        pending += sp->n_partitions;
        if (op->validate_only)
            continue;
        if (!next)
            next = rb_metadata_clone(c->md);
        struct rb_topic_meta *t = rb_coord_topic_append(next, sp->name);
        rb_uuid_random(t->id);
        memcpy(sp->topic_id, t->id, 16);
        for (int32_t k = 0; k < sp->n_configs; k++)
            rb_coord_topic_add_config(t, sp->config_keys[k], sp->config_values[k]);
        rb_coord_topic_set_partitions(c, t, sp->n_partitions, NULL);
    }
    if (!next) {
        rb_coord_op_finish(cs, op);
        return;
    }
    rb_metadata_sort(next);
    /* Open the new partitions' logs; a topic whose logs cannot all be created
     * fails and is rolled back whole (its logs and directories removed). */
    bool removed = false;
    for (int i = 0; i < op->n; i++) {
        struct rb_topic_spec *sp = &op->specs[i];
        if (sp->error)
            continue;
        const struct rb_topic_meta *t = rb_metadata_topic(next, sp->name, strlen(sp->name));
        RB_ASSERT(t);
        int a0 = n_adopt;
        if (!rb_coord_open_new_partitions(c, t, 0, &adopt, &n_adopt, sp->error_message,
                                          sizeof(sp->error_message))) {
            RB_INFO(COMP, "created topic %s with %d partitions", t->name, t->n_partitions);
            continue;
        }
        sp->error = RB_KERR_KAFKA_STORAGE_ERROR;
        RB_ERROR(COMP, "creating topic %s: %s: rolled back", t->name, sp->error_message);
        for (int32_t p = 0; p < t->n_partitions; p++)
            rb_coord_discard_partition(c, t, p, p < n_adopt - a0 ? adopt[a0 + p].log : NULL);
        n_adopt = a0;
        removed = true; /* removed below: the handoffs point into next */
    }
    if (removed)
        drop_failed_topics(next, op, adopt, n_adopt);
    rb_coord_adopt_and_publish(cs, c, next, op, adopt, n_adopt);
}

const struct rb_topic_meta *rb_coord_delete_target(struct rb_coord *c, struct rb_topic_delete *d)
{
    const struct rb_topic_meta *t = d->name ? rb_metadata_topic(c->md, d->name, strlen(d->name))
                                            : rb_metadata_topic_by_id(c->md, d->topic_id);
    if (!t) {
        d->error = d->name ? RB_KERR_UNKNOWN_TOPIC_OR_PARTITION : RB_KERR_UNKNOWN_TOPIC_ID;
        return NULL;
    }
    if (!c->bc->delete_topic_enable) {
        d->error = RB_KERR_TOPIC_DELETION_DISABLED;
        return NULL;
    }
    if (t->internal) { /* only the broker owns it (Kafka's tools refuse too) */
        RB_WARN(COMP, "DeleteTopics: %s is an internal topic: refused", t->name);
        d->error = RB_KERR_INVALID_TOPIC_EXCEPTION;
        return NULL;
    }
    return t;
}

static void coord_delete(struct rb_shard *cs, void *arg)
{
    struct rb_coord_op *op = arg;
    struct rb_coord *c = cs->coord;
    if (c->cl) {
        rb_cl_delete_topics(cs, c, op);
        return;
    }
    struct rb_partition_handoff *drop = NULL;
    int n_drop = 0;
    bool any = false;
    for (int i = 0; i < op->n; i++) {
        struct rb_topic_delete *d = &op->dels[i];
        const struct rb_topic_meta *t = rb_coord_delete_target(c, d);
        if (!t)
            continue;
        snprintf(d->name_buf, sizeof(d->name_buf), "%s", t->name);
        d->name_out = d->name_buf;
        memcpy(d->topic_id, t->id, 16);
        d->error = RB_KERR_NONE;
        any = true;
    }
    if (!any) {
        rb_coord_op_finish(cs, op);
        return;
    }
    struct rb_metadata *next = rb_metadata_clone(c->md);
    for (int i = 0; i < op->n; i++) {
        struct rb_topic_delete *d = &op->dels[i];
        if (d->error)
            continue;
        const struct rb_topic_meta *old =
            rb_metadata_topic(c->md, d->name_buf, strlen(d->name_buf));
        if (!old)
            continue; /* named twice in one request */
        drop = realloc(drop, sizeof(*drop) * (size_t)(n_drop + old->n_partitions));
        RB_ASSERT(drop);
        for (int32_t p = 0; p < old->n_partitions; p++)
            drop[n_drop++] = (struct rb_partition_handoff){old, p, NULL};
        rb_coord_topic_remove(next, d->name_buf);
    }
    int r = rb_coord_persist(c, next);
    if (r) { /* nothing deleted: the metadata file still lists the topics */
        RB_ERROR(COMP, "DeleteTopics: cannot write the metadata file: %s", strerror(-r));
        for (int i = 0; i < op->n; i++)
            if (!op->dels[i].error)
                op->dels[i].error = RB_KERR_KAFKA_STORAGE_ERROR;
        rb_metadata_free(next);
        free(drop);
        rb_coord_op_finish(cs, op);
        return;
    }
    for (int i = 0; i < op->n; i++)
        if (!op->dels[i].error)
            RB_INFO(COMP, "deleted topic %s", op->dels[i].name_buf);
    rb_coord_publish(cs, c, next, op, NULL, 0, drop, n_drop);
    free(drop);
}

struct rb_coord_op *rb_coord_op_new(struct rb_shard *from, int n, bool validate_only,
                                    rb_coord_done_fn done, void *arg)
{
    struct rb_coord_op *op = calloc(1, sizeof(*op));
    RB_ASSERT(op);
    op->origin = from->id;
    op->n = n;
    op->validate_only = validate_only;
    op->done = done;
    op->arg = arg;
    return op;
}

void rb_coord_create_topics(struct rb_shard *from, struct rb_topic_spec *specs, int n,
                            bool validate_only, rb_coord_done_fn done, void *arg)
{
    struct rb_coord_op *op = rb_coord_op_new(from, n, validate_only, done, arg);
    op->specs = specs;
    rb_post(from, from->rt->n_shards, coord_create, op);
}

void rb_coord_delete_topics(struct rb_shard *from, struct rb_topic_delete *dels, int n,
                            rb_coord_done_fn done, void *arg)
{
    struct rb_coord_op *op = rb_coord_op_new(from, n, false, done, arg);
    op->is_delete = true;
    op->dels = dels;
    rb_post(from, from->rt->n_shards, coord_delete, op);
}
