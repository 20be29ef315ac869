/*
 * coord/cluster_admin.c - topic administration on a cluster broker, written to
 * the quorum as ZooKeeper-era Kafka's admin code writes it (coord/kafka_zk.h), so
 * a request sent to any broker takes effect on every broker:
 *   CreateTopics      /config/topics/<t>, then /brokers/topics/<t> with the replica
 *                     assignment (Kafka's, rack-aware) and a topic id; the
 *                     controller then writes the partition states;
 *   DeleteTopics      /admin/delete_topics/<t>: the controller deletes the topic;
 *   CreatePartitions  /brokers/topics/<t> rewritten with the new partitions'
 *                     replicas (conditional on the version read);
 *   AlterConfigs      /config/topics/<t> (a BROKER resource: /config/brokers/<id> or
 *                     /config/brokers/<default>), then a /config/changes/config_change_
 *                     notification every broker watches.
 * Each request is answered once this broker published the effect (the topic with
 * a leader for every partition, the topic gone, the new configs), or at its
 * deadline with REQUEST_TIMED_OUT (the change itself stays: it was written).
 * A replication factor above the live brokers is refused with
 * INVALID_REPLICATION_FACTOR and Kafka's message.
 */
#include "coord/cluster_int.h"
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"
#include "coord/producer_ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP    "cluster"
#define WAIT_MS 30000

#define SPEC_ERR(sp, code, ...)                                                                    \
    do {                                                                                           \
        snprintf((sp)->error_message, sizeof((sp)->error_message), __VA_ARGS__);                   \
        (sp)->error = (code);                                                                      \
    } while (0)

/* Write (create or replace) a node. */
static int put(struct rb_quorum *q, const char *path, const char *data)
{
    int r = rb_quorum_create(q, path, data, strlen(data), 0, NULL, 0);
    if (r == -EEXIST)
        r = rb_quorum_set(q, path, data, strlen(data), -1, NULL);
    return r;
}

static int16_t check_rf(struct rb_cluster *cl, int32_t rf, char *msg, size_t cap)
{
    if (rf <= 0) {
        snprintf(msg, cap, "Replication factor must be larger than 0.");
        return RB_KERR_INVALID_REPLICATION_FACTOR;
    }
    if (rf > cl->n_brokers) {
        snprintf(msg, cap, "Replication factor: %d larger than available brokers: %d.", rf,
                 cl->n_brokers);
        return RB_KERR_INVALID_REPLICATION_FACTOR;
    }
    return RB_KERR_NONE;
}

static void create_one(struct rb_cluster *cl, struct rb_coord_op *op, int i)
{
    struct rb_coord *c = cl->c;
    struct rb_topic_spec *sp = &op->specs[i];
    size_t len = strlen(sp->name);
    if (!rb_topic_name_valid(sp->name, len)) {
        SPEC_ERR(sp, RB_KERR_INVALID_TOPIC_EXCEPTION,
                 "Topic name '%.200s' is illegal: it must be 1-249 characters of [a-zA-Z0-9._-] "
                 "and not '.' or '..'",
                 sp->name);
        return;
    }
    for (int j = 0; j < i; j++)
        if (strcmp(op->specs[j].name, sp->name) == 0) {
            SPEC_ERR(sp, RB_KERR_INVALID_REQUEST,
                     "Topic '%.200s' appears more than once in the request", sp->name);
            return;
        }
    if (rb_cl_topic_find(cl, sp->name) || rb_metadata_topic(c->md, sp->name, len)) {
        SPEC_ERR(sp, RB_KERR_TOPIC_ALREADY_EXISTS, "Topic '%.200s' already exists.", sp->name);
        return;
    }
    if (sp->n_partitions == -1)
        sp->n_partitions = c->bc->num_partitions;
    if (sp->replication_factor == -1)
        sp->replication_factor = c->bc->default_replication_factor;
    if (sp->replication_factor == RB_RF_OFFSETS_TOPIC)
        sp->replication_factor = rb_coord_offsets_rf(c->bc, cl->n_brokers);
    sp->n_partitions_out = sp->n_partitions;
    sp->replication_factor_out = sp->replication_factor;
    if (sp->n_partitions <= 0 || sp->n_partitions > c->bc->max_partitions_per_topic) {
        SPEC_ERR(sp, RB_KERR_INVALID_PARTITIONS,
                 "Number of partitions must be between 1 and %d (max.partitions.per.topic), got "
                 "%d.",
                 c->bc->max_partitions_per_topic, sp->n_partitions);
        return;
    }
    sp->error = check_rf(cl, sp->replication_factor, sp->error_message, sizeof(sp->error_message));
    if (sp->error)
        return;
    struct rb_kzk_config cfg = {0};
    cfg.keys = calloc((size_t)sp->n_configs + 1, sizeof(char *));
    cfg.values = calloc((size_t)sp->n_configs + 1, sizeof(char *));
    RB_ASSERT(cfg.keys && cfg.values);
    for (int32_t k = 0; k < sp->n_configs; k++) {
        char why[128] = "";
        if (!sp->config_values[k]) {
            SPEC_ERR(sp, RB_KERR_INVALID_CONFIG,
                     "Null value not supported for topic configs: %.100s", sp->config_keys[k]);
            goto out;
        }
        if (rb_topic_config_validate(sp->config_keys[k], sp->config_values[k], why, sizeof(why))) {
            SPEC_ERR(sp, RB_KERR_INVALID_CONFIG, "%s", why);
            goto out;
        }
        cfg.keys[cfg.n] = strdup(sp->config_keys[k]);
        cfg.values[cfg.n++] = strdup(sp->config_values[k]);
    }
    if (op->validate_only)
        goto out;
    struct rb_kzk_assignment a;
    RB_ASSERT(rb_kzk_assignment_alloc(&a, sp->n_partitions) == 0);
    int r = rb_kzk_assign(cl->brokers, cl->n_brokers, sp->replication_factor, 0, sp->n_partitions,
                          &a, rb_cl_rand, cl);
    RB_ASSERT(r == 0);
    a.has_id = true;
    rb_uuid_random(a.topic_id);
    memcpy(sp->topic_id, a.topic_id, 16);
    char *cj = rb_kzk_config_json(&cfg), *aj = rb_kzk_assignment_json(&a, true);
    RB_ASSERT(cj && aj);
    /* The config and the topic in one multi (the config first, as Kafka writes it,
     * so a broker that sees the topic reads its config): an existing topic's config
     * is never touched; a config left without its topic is replaced. */
    char cpath[300], tpath[300];
    snprintf(cpath, sizeof(cpath), "/config/topics/%s", sp->name);
    snprintf(tpath, sizeof(tpath), "/brokers/topics/%s", sp->name);
    struct rb_qop ops[2] = {{.type = RB_QOP_CREATE, .path = cpath, .data = cj, .len = strlen(cj)},
                            {.type = RB_QOP_CREATE, .path = tpath, .data = aj, .len = strlen(aj)}};
    int failed = -1;
    r = rb_quorum_multi(cl->q, ops, 2, &failed);
    if (r == -EEXIST && failed == 0) {
        ops[0] = (struct rb_qop){
            .type = RB_QOP_SET, .path = cpath, .data = cj, .len = strlen(cj), .version = -1};
        r = rb_quorum_multi(cl->q, ops, 2, &failed);
    }
    free(cj);
    free(aj);
    rb_kzk_assignment_free(&a);
    if (r == -EEXIST) {
        SPEC_ERR(sp, RB_KERR_TOPIC_ALREADY_EXISTS, "Topic '%.200s' already exists.", sp->name);
    } else if (r) {
        rb_cl_quorum_error(cl, r);
        SPEC_ERR(sp, RB_KERR_NOT_CONTROLLER, "cannot write the topic to %s: %s", cl->backend,
                 rb_quorum_strerror(r));
    } else {
        RB_INFO(COMP, "created topic %s (%d partitions) in %s", sp->name, sp->n_partitions,
                cl->backend);
        cl->topics_dirty = true;
    }
out:
    rb_kzk_config_free(&cfg);
}

static bool all_led(const struct rb_topic_meta *t, int32_t n)
{
    if (!t || t->n_partitions < n)
        return false;
    for (int32_t p = 0; p < t->n_partitions; p++)
        if (t->partitions[p].leader < 0)
            return false;
    return true;
}

static bool create_ready(struct rb_coord *c, struct rb_coord_op *op)
{
    for (int i = 0; i < op->n; i++) {
        struct rb_topic_spec *sp = &op->specs[i];
        if (sp->error)
            continue;
        const struct rb_topic_meta *t = rb_metadata_topic(c->md, sp->name, strlen(sp->name));
        if (!t || memcmp(t->id, sp->topic_id, 16) != 0 || !all_led(t, sp->n_partitions))
            return false;
    }
    return true;
}

static void create_timeout(struct rb_coord *c, struct rb_coord_op *op)
{
    for (int i = 0; i < op->n; i++) {
        struct rb_topic_spec *sp = &op->specs[i];
        const struct rb_topic_meta *t = rb_metadata_topic(c->md, sp->name, strlen(sp->name));
        if (!sp->error && !all_led(t, sp->n_partitions))
            SPEC_ERR(sp, RB_KERR_REQUEST_TIMED_OUT,
                     "Topic '%.150s' was created but not every partition has a leader yet",
                     sp->name);
    }
}

static void start_wait(struct rb_shard *cs, struct rb_cluster *cl, struct rb_coord_op *op,
                       bool wrote, bool (*ready)(struct rb_coord *, struct rb_coord_op *),
                       void (*timeout)(struct rb_coord *, struct rb_coord_op *))
{
    if (!wrote) {
        rb_coord_op_finish(cs, op);
        return;
    }
    rb_cl_sync(cs, cl);
    rb_cl_wait_add(cs, cl, op, WAIT_MS, ready, timeout);
}

void rb_cl_create_topics(struct rb_shard *cs, struct rb_coord *c, struct rb_coord_op *op)
{
    struct rb_cluster *cl = c->cl;
    bool wrote = false;
    for (int i = 0; i < op->n; i++) {
        struct rb_topic_spec *sp = &op->specs[i];
        sp->error = 0;
        if (!cl->q || cl->session_lost) {
            SPEC_ERR(sp, RB_KERR_NOT_CONTROLLER, "no session with %s", cl->backend);
            continue;
        }
        create_one(cl, op, i);
        wrote |= !sp->error && !op->validate_only;
    }
    start_wait(cs, cl, op, wrote, create_ready, create_timeout);
}

/* ---- deletion ---- */

static bool delete_ready(struct rb_coord *c, struct rb_coord_op *op)
{
    for (int i = 0; i < op->n; i++) {
        struct rb_topic_delete *d = &op->dels[i];
        if (d->error)
            continue;
        const struct rb_topic_meta *t = rb_metadata_topic(c->md, d->name_buf, strlen(d->name_buf));
        if (t && memcmp(t->id, d->topic_id, 16) == 0)
            return false;
    }
    return true;
}

static void delete_timeout(struct rb_coord *c, struct rb_coord_op *op)
{
    for (int i = 0; i < op->n; i++) {
        struct rb_topic_delete *d = &op->dels[i];
        const struct rb_topic_meta *t = rb_metadata_topic(c->md, d->name_buf, strlen(d->name_buf));
        if (!d->error && t && memcmp(t->id, d->topic_id, 16) == 0)
            d->error = RB_KERR_REQUEST_TIMED_OUT;
    }
}

void rb_cl_delete_topics(struct rb_shard *cs, struct rb_coord *c, struct rb_coord_op *op)
{
    struct rb_cluster *cl = c->cl;
    bool wrote = false;
    for (int i = 0; i < op->n; i++) {
        struct rb_topic_delete *d = &op->dels[i];
        const struct rb_topic_meta *t = rb_coord_delete_target(c, d);
        if (!t)
            continue;
        snprintf(d->name_buf, sizeof(d->name_buf), "%s", t->name);
        d->name_out = d->name_buf;
        memcpy(d->topic_id, t->id, 16);
        char path[300];
        snprintf(path, sizeof(path), "/admin/delete_topics/%s", t->name);
        int r = cl->q ? rb_quorum_create(cl->q, path, NULL, 0, 0, NULL, 0) : -ENOTCONN;
        if (r && r != -EEXIST) {
            rb_cl_quorum_error(cl, r);
            d->error = RB_KERR_NOT_CONTROLLER;
            continue;
        }
        d->error = RB_KERR_NONE;
        wrote = true;
        RB_INFO(COMP, "topic %s marked for deletion", t->name);
    }
    start_wait(cs, cl, op, wrote, delete_ready, delete_timeout);
}

/* ---- more partitions ---- */

static void grow_one(struct rb_cluster *cl, struct rb_coord_op *op, struct rb_partitions_spec *ps)
{
    char path[300], *data = NULL;
    snprintf(path, sizeof(path), "/brokers/topics/%s", ps->name);
    int64_t ver = -1;
    int r = rb_quorum_get(cl->q, path, false, &data, NULL, &ver);
    if (r == -ENOENT) {
        SPEC_ERR(ps, RB_KERR_UNKNOWN_TOPIC_OR_PARTITION, "Topic '%.150s' does not exist.",
                 ps->name);
        return;
    }
    struct rb_kzk_assignment old, a;
    if (r || rb_kzk_parse_assignment(data, &old)) {
        free(data);
        if (r)
            rb_cl_quorum_error(cl, r);
        SPEC_ERR(ps, r ? RB_KERR_NOT_CONTROLLER : RB_KERR_INVALID_REQUEST, "cannot read %s: %s",
                 path, r ? rb_quorum_strerror(r) : "malformed");
        return;
    }
    free(data);
    if (ps->count <= old.n_partitions) {
        SPEC_ERR(ps, RB_KERR_INVALID_PARTITIONS,
                 "Topic currently has %d partitions, which is higher than the requested %d.",
                 old.n_partitions, ps->count);
    } else if (ps->count > cl->c->bc->max_partitions_per_topic) {
        SPEC_ERR(ps, RB_KERR_INVALID_PARTITIONS,
                 "Number of partitions must be at most %d (max.partitions.per.topic), got %d.",
                 cl->c->bc->max_partitions_per_topic, ps->count);
    } else if ((ps->error = check_rf(cl, old.n_replicas[0], ps->error_message,
                                     sizeof(ps->error_message))) == 0 &&
               !op->validate_only) {
        RB_ASSERT(rb_kzk_assignment_alloc(&a, ps->count) == 0);
        for (int32_t p = 0; p < old.n_partitions; p++) {
            a.n_replicas[p] = old.n_replicas[p];
            memcpy(a.replicas[p], old.replicas[p], sizeof(a.replicas[p]));
            a.n_adding[p] = old.n_adding[p]; /* a reassignment in progress goes on */
            memcpy(a.adding[p], old.adding[p], sizeof(a.adding[p]));
            a.n_removing[p] = old.n_removing[p];
            memcpy(a.removing[p], old.removing[p], sizeof(a.removing[p]));
        }
        a.has_id = old.has_id;
        memcpy(a.topic_id, old.topic_id, 16);
        r = rb_kzk_assign(cl->brokers, cl->n_brokers, old.n_replicas[0], old.n_partitions,
                          ps->count - old.n_partitions, &a, rb_cl_rand, cl);
        RB_ASSERT(r == 0);
        char *js = rb_kzk_assignment_json(&a, true);
        RB_ASSERT(js);
        r = rb_quorum_set(cl->q, path, js, strlen(js), ver, NULL);
        free(js);
        rb_kzk_assignment_free(&a);
        if (r) {
            rb_cl_quorum_error(cl, r);
            SPEC_ERR(ps, r == -ESTALE ? RB_KERR_INVALID_REQUEST : RB_KERR_NOT_CONTROLLER,
                     "cannot write %s: %s", path, rb_quorum_strerror(r));
        } else {
            RB_INFO(COMP, "topic %s grows to %d partitions", ps->name, ps->count);
        }
    }
    rb_kzk_assignment_free(&old);
}

static bool grow_ready(struct rb_coord *c, struct rb_coord_op *op)
{
    for (int i = 0; i < op->n; i++) {
        struct rb_partitions_spec *ps = &op->pspecs[i];
        if (!ps->error && !all_led(rb_metadata_topic(c->md, ps->name, strlen(ps->name)), ps->count))
            return false;
    }
    return true;
}

static void grow_timeout(struct rb_coord *c, struct rb_coord_op *op)
{
    for (int i = 0; i < op->n; i++) {
        struct rb_partitions_spec *ps = &op->pspecs[i];
        if (!ps->error && !all_led(rb_metadata_topic(c->md, ps->name, strlen(ps->name)), ps->count))
            SPEC_ERR(ps, RB_KERR_REQUEST_TIMED_OUT,
                     "the new partitions were written but do not all have a leader yet");
    }
}

void rb_cl_create_partitions(struct rb_shard *cs, struct rb_coord *c, struct rb_coord_op *op)
{
    struct rb_cluster *cl = c->cl;
    bool wrote = false;
    for (int i = 0; i < op->n; i++) {
        struct rb_partitions_spec *ps = &op->pspecs[i];
        ps->error = 0;
        for (int j = 0; j < i && !ps->error; j++)
            if (strcmp(op->pspecs[j].name, ps->name) == 0)
                SPEC_ERR(ps, RB_KERR_INVALID_REQUEST, "Duplicate topic in request: %.150s",
                         ps->name);
        if (!ps->error && (!cl->q || cl->session_lost))
            SPEC_ERR(ps, RB_KERR_NOT_CONTROLLER, "no session with %s", cl->backend);
        if (!ps->error)
            grow_one(cl, op, ps);
        wrote |= !ps->error && !op->validate_only;
    }
    if (wrote)
        cl->topics_dirty = true;
    start_wait(cs, cl, op, wrote, grow_ready, grow_timeout);
}

/* ---- configs ---- */

static void entity_set(const struct rb_metadata *md, int32_t broker, struct rb_coord_kvs *l);
static bool same_set(const struct rb_coord_kvs *a, const struct rb_coord_kvs *b);

/* The configs a change wrote are those of the topic in c->md. */
static bool same_configs(const struct rb_topic_meta *t, const struct rb_coord_kvs *l)
{
    if (!t || t->n_configs != l->n)
        return false;
    for (int i = 0; i < l->n; i++) {
        const char *v = rb_topic_config(t, l->k[i]);
        if (!v || strcmp(v, l->v[i]) != 0)
            return false;
    }
    return true;
}

struct cfg_wait {
    struct rb_coord_kvs *want; /* [op->n] */
};

/* Whether change i's effect is in c->md. */
static bool change_seen(struct rb_coord *c, struct rb_coord_op *op, int i)
{
    struct rb_coord_kvs *want = op->cl_aux;
    struct rb_config_change *ch = &op->chs[i];
    if (ch->error)
        return true;
    if (!ch->broker)
        return same_configs(rb_metadata_topic(c->md, ch->topic, strlen(ch->topic)), &want[i]);
    struct rb_coord_kvs have = {0};
    entity_set(c->md, ch->broker_id, &have);
    bool same = same_set(&have, &want[i]);
    rb_coord_kvs_free(&have);
    return same;
}

static bool configs_ready(struct rb_coord *c, struct rb_coord_op *op)
{
    struct rb_coord_kvs *want = op->cl_aux;
    for (int i = 0; i < op->n; i++)
        if (!change_seen(c, op, i))
            return false;
    for (int i = 0; i < op->n; i++)
        rb_coord_kvs_free(&want[i]);
    free(want);
    op->cl_aux = NULL;
    return true;
}

static void configs_timeout(struct rb_coord *c, struct rb_coord_op *op)
{
    struct rb_coord_kvs *want = op->cl_aux;
    for (int i = 0; i < op->n; i++) {
        struct rb_config_change *ch = &op->chs[i];
        if (!change_seen(c, op, i))
            SPEC_ERR(ch, RB_KERR_REQUEST_TIMED_OUT,
                     "the change was written but this broker has not applied it yet");
        rb_coord_kvs_free(&want[i]);
    }
    free(want);
    op->cl_aux = NULL;
}

/* The dynamic set of one broker entity (-1: <default>) in md. */
static void entity_set(const struct rb_metadata *md, int32_t broker, struct rb_coord_kvs *l)
{
    for (int32_t i = 0; i < md->n_dyn_configs; i++) {
        if (md->dyn_configs[i].broker != broker)
            continue;
        l->k = realloc(l->k, sizeof(char *) * (size_t)(l->n + 1));
        l->v = realloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
        RB_ASSERT(l->k && l->v);
        l->k[l->n] = strdup(md->dyn_configs[i].key);
        l->v[l->n++] = strdup(md->dyn_configs[i].value);
    }
}

static bool same_set(const struct rb_coord_kvs *a, const struct rb_coord_kvs *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        bool found = false;
        for (int j = 0; j < b->n && !found; j++)
            found = strcmp(a->k[i], b->k[j]) == 0 && strcmp(a->v[i], b->v[j]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* A BROKER resource: checked as on a standalone broker, then written to
 * /config/brokers/<id|<default>> with a change notification. */
static bool broker_configs(struct rb_cluster *cl, struct rb_coord_op *op, int i,
                           struct rb_coord_kvs *want)
{
    struct rb_config_change *ch = &op->chs[i];
    struct rb_metadata *next = NULL;
    ch->error = rb_coord_broker_change(cl->c, op, i, &next);
    if (ch->error || op->validate_only) {
        rb_metadata_free(next);
        return false;
    }
    entity_set(next, ch->broker_id, want);
    rb_metadata_free(next);
    char entity[64], path[96];
    if (ch->broker_id < 0)
        snprintf(entity, sizeof(entity), "<default>");
    else
        snprintf(entity, sizeof(entity), "%d", ch->broker_id);
    struct rb_kzk_config cfg = {.n = want->n, .keys = want->k, .values = want->v};
    char *js = rb_kzk_config_json(&cfg), *cj;
    char ent[96];
    snprintf(ent, sizeof(ent), "brokers/%s", entity);
    cj = rb_kzk_change_json(ent);
    RB_ASSERT(js && cj);
    snprintf(path, sizeof(path), "/config/brokers/%s", entity);
    int r = cl->q ? put(cl->q, path, js) : -ENOTCONN;
    if (!r)
        r = rb_quorum_create(cl->q, "/config/changes/config_change_", cj, strlen(cj),
                             RB_QC_SEQUENTIAL, NULL, 0);
    free(js);
    free(cj);
    if (r) {
        rb_cl_quorum_error(cl, r);
        SPEC_ERR(ch, RB_KERR_NOT_CONTROLLER, "cannot write %s: %s", path, rb_quorum_strerror(r));
        return false;
    }
    RB_INFO(COMP, "dynamic broker configs of %s: %d set", entity, want->n);
    return true;
}

void rb_cl_alter_configs(struct rb_shard *cs, struct rb_coord *c, struct rb_coord_op *op)
{
    struct rb_cluster *cl = c->cl;
    bool wrote = false;
    struct rb_coord_kvs *want = calloc((size_t)RB_MAX(op->n, 1), sizeof(*want));
    RB_ASSERT(want);
    for (int i = 0; i < op->n; i++) {
        struct rb_config_change *ch = &op->chs[i];
        ch->error = 0;
        if (ch->broker) {
            wrote |= broker_configs(cl, op, i, &want[i]);
            continue;
        }
        ch->error = rb_coord_change_compute(c, op, i, &want[i]);
        if (ch->error || op->validate_only)
            continue;
        struct rb_kzk_config cfg = {.n = want[i].n, .keys = want[i].k, .values = want[i].v};
        char *js = rb_kzk_config_json(&cfg);
        char entity[300], path[320], *cj;
        snprintf(entity, sizeof(entity), "topics/%s", ch->topic);
        cj = rb_kzk_change_json(entity);
        RB_ASSERT(js && cj);
        snprintf(path, sizeof(path), "/config/topics/%s", ch->topic);
        int r = cl->q ? put(cl->q, path, js) : -ENOTCONN;
        if (!r)
            r = rb_quorum_create(cl->q, "/config/changes/config_change_", cj, strlen(cj),
                                 RB_QC_SEQUENTIAL, NULL, 0);
        free(js);
        free(cj);
        if (r) {
            rb_cl_quorum_error(cl, r);
            SPEC_ERR(ch, RB_KERR_NOT_CONTROLLER, "cannot write %s: %s", path,
                     rb_quorum_strerror(r));
            continue;
        }
        RB_INFO(COMP, "topic %s: %d explicit configs after change", ch->topic, want[i].n);
        wrote = true;
    }
    if (!wrote) {
        for (int i = 0; i < op->n; i++)
            rb_coord_kvs_free(&want[i]);
        free(want);
        rb_coord_op_finish(cs, op);
        return;
    }
    op->cl_aux = want;
    cl->configs_dirty = true;
    start_wait(cs, cl, op, true, configs_ready, configs_timeout);
}

/* ---- producer id blocks ---- */

int rb_cl_alloc_producer_id(struct rb_cluster *cl, int64_t *id)
{
    for (int tries = 0; cl->pid_next >= cl->pid_end && tries < 10; tries++) {
        if (!cl->q)
            return -ENOTCONN;
        char *data = NULL;
        int64_t ver = -1, start = 0;
        int r = rb_quorum_get(cl->q, "/latest_producer_id_block", false, &data, NULL, &ver);
        if (r && r != -ENOENT) {
            rb_cl_quorum_error(cl, r);
            return r;
        }
        if (r == 0) {
            const char *e = data ? strstr(data, "\"block_end\":\"") : NULL;
            char *end;
            long long last = e ? strtoll(e + 13, &end, 10) : -1;
            free(data);
            if (!e || last < -1 || last > INT64_MAX - 2 * RB_PID_BLOCK_SIZE) {
                RB_ERROR(COMP, "/latest_producer_id_block is not a block Kafka would read");
                return -EINVAL;
            }
            start = last + 1;
        }
        char js[200];
        snprintf(js, sizeof(js),
                 "{\"version\":1,\"broker\":%d,\"block_start\":\"%lld\",\"block_end\":\"%lld\"}",
                 cl->self, (long long)start, (long long)(start + RB_PID_BLOCK_SIZE - 1));
        r = r == -ENOENT
                ? rb_quorum_create(cl->q, "/latest_producer_id_block", js, strlen(js), 0, NULL, 0)
                : rb_quorum_set(cl->q, "/latest_producer_id_block", js, strlen(js), ver, NULL);
        if (r == -ESTALE || r == -EEXIST)
            continue; /* another broker took a block first */
        if (r) {
            rb_cl_quorum_error(cl, r);
            return r;
        }
        cl->pid_next = start;
        cl->pid_end = start + RB_PID_BLOCK_SIZE;
    }
    if (cl->pid_next >= cl->pid_end)
        return -EAGAIN;
    *id = cl->pid_next++;
    return 0;
}
