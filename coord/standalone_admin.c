/*
 * coord/standalone_admin.c - partition growth (CreatePartitions) and topic config
 * changes (AlterConfigs, IncrementalAlterConfigs) on TOPIC and BROKER resources for
 * the standalone backend. Both run on the coordination thread and publish a new
 * snapshot the way topic creation does (coord/standalone.c); a config change marks
 * the update `reconfigure` so each shard hands its logs their new settings.
 * Dynamic broker configs (core/config_dynamic.c) live in the snapshot
 * (md->dyn_configs, persisted with it) with the effective configuration built from
 * them (md->config); a change that would not build is refused whole.
 * Also the steps topic creation shares with growth: opening new partitions' logs
 * and the sync, persist and publish that end both.
 */
#include "coord/coord.h"
#include "coord/standalone_int.h"
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP RB_COORD_COMP

/* ---- CreatePartitions and topic config changes, on the coordination thread ---- */

static int16_t place_shard(struct rb_coord *c)
{
    int16_t s = 0;
    for (int i = 1; i < c->rt->n_shards; i++)
        if (c->shard_load[i] < c->shard_load[s])
            s = (int16_t)i;
    return s;
}

/* Grow t (in a snapshot not yet published) to n partitions on the least loaded shards. */
static void topic_grow(struct rb_coord *c, struct rb_topic_meta *t, int32_t n)
{
    struct rb_partition_meta *np = realloc(t->partitions, sizeof(*np) * (size_t)n);
    RB_ASSERT(np);
    t->partitions = np;
    for (int32_t p = t->n_partitions; p < n; p++) {
        struct rb_partition_meta *pm = &np[p];
        memset(pm, 0, sizeof(*pm));
        pm->index = p;
        pm->shard = place_shard(c);
        c->shard_load[pm->shard]++;
        pm->leader = c->bc->broker_id;
        pm->n_replicas = pm->n_isr = 1;
        pm->replicas = malloc(sizeof(int32_t));
        pm->isr = malloc(sizeof(int32_t));
        RB_ASSERT(pm->replicas && pm->isr);
        pm->replicas[0] = pm->isr[0] = c->bc->broker_id;
    }
    t->n_partitions = n;
}

/* Undo topic_grow: back to n partitions (their shards' loads are the caller's). */
static void topic_shrink(struct rb_topic_meta *t, int32_t n)
{
    for (int32_t p = n; p < t->n_partitions; p++) {
        free(t->partitions[p].replicas);
        free(t->partitions[p].isr);
    }
    t->n_partitions = n;
}

static int16_t check_grow(struct rb_coord *c, struct rb_coord_op *op, int i, int64_t pending)
{
    struct rb_partitions_spec *sp = &op->pspecs[i];
    for (int j = 0; j < i; j++)
        if (strcmp(op->pspecs[j].name, sp->name) == 0) {
            snprintf(sp->error_message, sizeof(sp->error_message),
                     "Topic '%.120s' appears more than once in the request", sp->name);
            return RB_KERR_INVALID_REQUEST;
        }
    const struct rb_topic_meta *t = rb_metadata_topic(c->md, sp->name, strlen(sp->name));
    if (!t) {
        snprintf(sp->error_message, sizeof(sp->error_message), "The topic '%.120s' does not exist.",
                 sp->name);
        return RB_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (sp->count == t->n_partitions) {
        snprintf(sp->error_message, sizeof(sp->error_message), "Topic already has %d partitions.",
                 t->n_partitions);
        return RB_KERR_INVALID_PARTITIONS;
    }
    if (sp->count < t->n_partitions) {
        snprintf(sp->error_message, sizeof(sp->error_message),
                 "The topic %.100s currently has %d partitions, %d would not be an increase.",
                 sp->name, t->n_partitions, sp->count);
        return RB_KERR_INVALID_PARTITIONS;
    }
    if (sp->count > c->bc->max_partitions_per_topic) {
        snprintf(sp->error_message, sizeof(sp->error_message),
                 "The topic %.100s may have at most %d partitions (max.partitions.per.topic), "
                 "%d requested.",
                 sp->name, c->bc->max_partitions_per_topic, sp->count);
        return RB_KERR_INVALID_PARTITIONS;
    }
    return rb_coord_check_broker_partitions(c, c->md, pending, sp->count - t->n_partitions,
                                            sp->error_message, sizeof(sp->error_message));
}

int rb_coord_open_new_partitions(struct rb_coord *c, const struct rb_topic_meta *t, int32_t from,
                                 struct rb_partition_handoff **adopt, int *n_adopt, char *why,
                                 size_t why_cap)
{
    struct rb_partition_handoff *a =
        realloc(*adopt, sizeof(*a) * (size_t)(*n_adopt + t->n_partitions - from));
    RB_ASSERT(a);
    *adopt = a;
    for (int32_t p = from; p < t->n_partitions; p++) {
        struct rb_log *log = NULL;
        if (rb_coord_open_partition(c, t, p, true, &log)) {
            snprintf(why, why_cap, "cannot create the log of partition %d", p);
            return -EIO;
        }
        /* This broker leads it: its first epoch (the one the shard begins when it
         * adopts the log, part/epoch.c) goes to disk with the new files and the
         * caller's syncfs, so a stop before its first write has nothing to write
         * for it (10,000 new partitions: 10,000 files created at the stop). A
         * failure only leaves it to the close. */
        if (rb_log_begin_epoch(log, t->partitions[p].leader_epoch) == 0)
            (void)rb_log_epochs_save_nosync(log);
        a[(*n_adopt)++] = (struct rb_partition_handoff){t, p, log};
    }
    return 0;
}

/* Fail every entry of an op that adds partitions that has not failed yet. */
static void fail_ok(struct rb_coord_op *op, const char *why)
{
    RB_ASSERT(!op->specs != !op->pspecs);
    if (op->specs)
        RB_COORD_FAIL_OK(op->specs, op->n, why);
    else
        RB_COORD_FAIL_OK(op->pspecs, op->n, why);
}

void rb_coord_adopt_and_publish(struct rb_shard *cs, struct rb_coord *c, struct rb_metadata *next,
                                struct rb_coord_op *op, struct rb_partition_handoff *adopt,
                                int n_adopt)
{
    /* The new logs are durable before the metadata file names them, and the file
     * is durable before any client hears of them: when either fails, everything
     * this op created is removed and no snapshot is published. */
    const char *why = NULL;
    int r = n_adopt ? rb_coord_sync_logs(c) : 0;
    if (r)
        why = "cannot sync the new logs";
    else if ((r = rb_coord_persist(c, next)))
        why = "cannot write the metadata file";
    if (why) {
        RB_ERROR(COMP, "%s (%s): the change is rolled back", why, strerror(-r));
        fail_ok(op, why);
        for (int k = 0; k < n_adopt; k++)
            rb_coord_discard_partition(c, adopt[k].topic, adopt[k].index, adopt[k].log);
        free(adopt);
        rb_metadata_free(next);
        rb_coord_op_finish(cs, op);
        return;
    }
    rb_coord_publish(cs, c, next, op, adopt, n_adopt, NULL, 0);
    free(adopt);
}

static void coord_create_partitions(struct rb_shard *cs, void *arg)
{
    struct rb_coord_op *op = arg;
    struct rb_coord *c = cs->coord;
    if (c->cl) {
        rb_cl_create_partitions(cs, c, op);
        return;
    }
    struct rb_metadata *next = NULL;
    struct rb_partition_handoff *adopt = NULL;
    int n_adopt = 0;
    int64_t pending = 0; /* partitions accepted so far in this op */
    for (int i = 0; i < op->n; i++) {
        struct rb_partitions_spec *sp = &op->pspecs[i];
        sp->error = check_grow(c, op, i, pending);
        if (sp->error)
            continue;
        const struct rb_topic_meta *cur = rb_metadata_topic(c->md, sp->name, strlen(sp->name));
        pending += sp->count - cur->n_partitions;
        if (op->validate_only)
            continue;
        if (!next)
            next = rb_metadata_clone(c->md);
        struct rb_topic_meta *t =
            (struct rb_topic_meta *)rb_metadata_topic(next, sp->name, strlen(sp->name));
        RB_ASSERT(t);
        int32_t from = t->n_partitions;
        topic_grow(c, t, sp->count);
        RB_ASSERT(t->n_partitions == sp->count);
        int a0 = n_adopt;
        if (!rb_coord_open_new_partitions(c, t, from, &adopt, &n_adopt, sp->error_message,
                                          sizeof(sp->error_message))) {
            RB_INFO(COMP, "topic %s: partitions %d -> %d", t->name, from, sp->count);
            continue;
        }
        /* Rolled back: the topic keeps its partitions, the new ones are removed. */
        sp->error = RB_KERR_KAFKA_STORAGE_ERROR;
        RB_ERROR(COMP, "topic %s: growing to %d partitions: %s: rolled back", t->name, sp->count,
                 sp->error_message);
        for (int32_t p = from; p < sp->count; p++)
            rb_coord_discard_partition(c, t, p,
                                       p - from < n_adopt - a0 ? adopt[a0 + p - from].log : NULL);
        n_adopt = a0;
        topic_shrink(t, from);
    }
    if (!next) {
        rb_coord_op_finish(cs, op);
        return;
    }
    rb_coord_adopt_and_publish(cs, c, next, op, adopt, n_adopt);
}

void rb_coord_create_partitions(struct rb_shard *from, struct rb_partitions_spec *specs, int n,
                                bool validate_only, rb_coord_done_fn done, void *arg)
{
    struct rb_coord_op *op = rb_coord_op_new(from, n, validate_only, done, arg);
    op->pspecs = specs;
    rb_post(from, from->rt->n_shards, coord_create_partitions, op);
}

static int kvs_find(const struct rb_coord_kvs *l, const char *k)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->k[i], k) == 0)
            return i;
    return -1;
}

/* Set k to v (copied), or remove k when v is NULL. */
static void kvs_set(struct rb_coord_kvs *l, const char *k, const char *v)
{
    int i = kvs_find(l, k);
    if (i >= 0) {
        free(l->v[i]);
        if (v) {
            l->v[i] = strdup(v);
            RB_ASSERT(l->v[i]);
            return;
        }
        free(l->k[i]);
        l->n--;
        l->k[i] = l->k[l->n];
        l->v[i] = l->v[l->n];
        return;
    }
    if (!v)
        return;
    l->k = realloc(l->k, sizeof(char *) * (size_t)(l->n + 1));
    l->v = realloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
    RB_ASSERT(l->k && l->v);
    l->k[l->n] = strdup(k);
    l->v[l->n] = strdup(v);
    RB_ASSERT(l->k[l->n] && l->v[l->n]);
    l->n++;
}

void rb_coord_kvs_free(struct rb_coord_kvs *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->k[i]);
        free(l->v[i]);
    }
    free(l->k);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static bool list_config(const char *k)
{
    return strcmp(k, "cleanup.policy") == 0 ||
           strcmp(k, "leader.replication.throttled.replicas") == 0 ||
           strcmp(k, "follower.replication.throttled.replicas") == 0;
}

static bool known_topic_key(const char *k)
{
    for (const char *const *p = rb_topic_config_keys(); *p; p++)
        if (strcmp(*p, k) == 0)
            return true;
    return false;
}

/* APPEND / SUBTRACT on a comma-separated list value; the result goes in out. */
static void list_edit(const char *cur, const char *items, bool append, char *out, size_t cap)
{
    char a[1024], b[1024];
    snprintf(a, sizeof(a), "%s", cur ? cur : "");
    snprintf(b, sizeof(b), "%s", items);
    size_t o = 0;
    out[0] = 0;
    char *save = NULL;
    for (char *x = strtok_r(a, ",", &save); x; x = strtok_r(NULL, ",", &save)) {
        bool in_b = false;
        char bb[1024], *s2 = NULL;
        snprintf(bb, sizeof(bb), "%s", items);
        for (char *y = strtok_r(bb, ",", &s2); y; y = strtok_r(NULL, ",", &s2))
            in_b |= strcmp(x, y) == 0;
        if (!append && in_b)
            continue;
        o += (size_t)snprintf(out + o, cap > o ? cap - o : 0, "%s%s", o ? "," : "", x);
    }
    if (!append)
        return;
    save = NULL;
    for (char *y = strtok_r(b, ",", &save); y; y = strtok_r(NULL, ",", &save)) {
        char aa[1024], *s2 = NULL;
        bool in_a = false;
        snprintf(aa, sizeof(aa), "%s", cur ? cur : "");
        for (char *x = strtok_r(aa, ",", &s2); x; x = strtok_r(NULL, ",", &s2))
            in_a |= strcmp(x, y) == 0;
        if (!in_a)
            o += (size_t)snprintf(out + o, cap > o ? cap - o : 0, "%s%s", o ? "," : "", y);
    }
}

#define CH_ERR(code, ...)                                                                          \
    do {                                                                                           \
        snprintf(ch->error_message, sizeof(ch->error_message), __VA_ARGS__);                       \
        return (code);                                                                             \
    } while (0)

/* One entry of a change applied to l; 0 or a Kafka error with a message in ch. */
static int16_t change_one(struct rb_coord *c, struct rb_config_change *ch, int i,
                          struct rb_coord_kvs *l)
{
    const char *k = ch->keys[i], *v = ch->values[i];
    int op = ch->replace ? RB_CFG_SET : ch->ops[i];
    for (int j = 0; j < i; j++)
        if (strcmp(ch->keys[j], k) == 0)
            CH_ERR(RB_KERR_INVALID_REQUEST, "Error due to duplicate config keys: %.100s", k);
    if (!known_topic_key(k))
        CH_ERR(RB_KERR_INVALID_CONFIG, "Unknown topic config name: %.100s", k);
    if (op == RB_CFG_DELETE) {
        kvs_set(l, k, NULL);
        return RB_KERR_NONE;
    }
    if (op < RB_CFG_SET || op > RB_CFG_SUBTRACT)
        CH_ERR(RB_KERR_INVALID_REQUEST, "Unknown config operation %d for %.100s", op, k);
    if (!v)
        CH_ERR(RB_KERR_INVALID_REQUEST, "Null value not supported for : %.100s", k);
    if (op == RB_CFG_SET) {
        kvs_set(l, k, v);
        return RB_KERR_NONE;
    }
    if (!list_config(k))
        CH_ERR(RB_KERR_INVALID_CONFIG,
               "Config value append is not allowed for config key: %.100s (not a list)", k);
    char dbuf[256], out[1024];
    int at = kvs_find(l, k);
    const char *cur =
        at >= 0 ? l->v[at] : rb_topic_config_default(c->config, k, dbuf, sizeof(dbuf));
    list_edit(cur, v, op == RB_CFG_APPEND, out, sizeof(out));
    kvs_set(l, k, out);
    return RB_KERR_NONE;
}

/* The resulting explicit config set of ch's topic in *l, validated. */
int16_t rb_coord_change_compute(struct rb_coord *c, struct rb_coord_op *op, int idx,
                                struct rb_coord_kvs *l)
{
    struct rb_config_change *ch = &op->chs[idx];
    for (int j = 0; j < idx; j++)
        if (!op->chs[j].broker && strcmp(op->chs[j].topic, ch->topic) == 0)
            CH_ERR(RB_KERR_INVALID_REQUEST, "Duplicate resource in the request: %.100s", ch->topic);
    const struct rb_topic_meta *t = rb_metadata_topic(c->md, ch->topic, strlen(ch->topic));
    if (!t)
        CH_ERR(RB_KERR_UNKNOWN_TOPIC_OR_PARTITION, "Topic '%.120s' does not exist.", ch->topic);
    if (!ch->replace)
        for (int32_t k = 0; k < t->n_configs; k++)
            kvs_set(l, t->configs[k].key, t->configs[k].value);
    for (int i = 0; i < ch->n; i++) {
        int16_t e = change_one(c, ch, i, l);
        if (e)
            return e;
    }
    for (int i = 0; i < l->n; i++) {
        char why[128] = "";
        if (rb_topic_config_validate(l->k[i], l->v[i], why, sizeof(why)))
            CH_ERR(RB_KERR_INVALID_CONFIG, "%s", why);
    }
    return RB_KERR_NONE;
}

static void topic_replace_configs(struct rb_topic_meta *t, const struct rb_coord_kvs *l)
{
    for (int32_t q = 0; q < t->n_configs; q++) {
        free(t->configs[q].key);
        free(t->configs[q].value);
    }
    free(t->configs);
    t->configs = NULL;
    t->n_configs = 0;
    for (int i = 0; i < l->n; i++)
        rb_coord_topic_add_config(t, l->k[i], l->v[i]);
}

/* ---- dynamic broker configs ---- */

/* One entry of a broker change applied to l (the entity's dynamic set). */
static int16_t broker_change_one(struct rb_coord *c, struct rb_config_change *ch, int i,
                                 struct rb_coord_kvs *l)
{
    const char *k = ch->keys[i], *v = ch->values[i];
    int op = ch->replace ? RB_CFG_SET : ch->ops[i];
    char out[1024];
    for (int j = 0; j < i; j++)
        if (strcmp(ch->keys[j], k) == 0)
            CH_ERR(RB_KERR_INVALID_REQUEST, "Error due to duplicate config keys: %.100s", k);
    if (op == RB_CFG_DELETE) {
        kvs_set(l, k, NULL);
        return RB_KERR_NONE;
    }
    if (op < RB_CFG_SET || op > RB_CFG_SUBTRACT)
        CH_ERR(RB_KERR_INVALID_REQUEST, "Unknown config operation %d for %.100s", op, k);
    if (op != RB_CFG_SET && v) {
        if (!rb_config_key_list(k))
            CH_ERR(RB_KERR_INVALID_CONFIG,
                   "Config value append is not allowed for config key: %.100s (not a list)", k);
        int at = kvs_find(l, k);
        list_edit(at >= 0 ? l->v[at] : rb_config_get(c->md->config, k), v, op == RB_CFG_APPEND, out,
                  sizeof(out));
        v = out;
    }
    if (rb_config_dynamic_check(k, v, ch->error_message, sizeof(ch->error_message)))
        return RB_KERR_INVALID_REQUEST;
    kvs_set(l, k, v);
    return RB_KERR_NONE;
}

/* A BROKER resource: the entity's new dynamic set, checked by building the
 * configuration it gives; on success (and not validate_only) it goes into *nextp. */
int16_t rb_coord_broker_change(struct rb_coord *c, struct rb_coord_op *op, int idx,
                               struct rb_metadata **nextp)
{
    struct rb_config_change *ch = &op->chs[idx];
    const struct rb_metadata *cur = *nextp ? *nextp : c->md;
    struct rb_coord_kvs l = {0};
    int16_t e = RB_KERR_NONE;
    for (int j = 0; j < idx && !e; j++)
        if (op->chs[j].broker && op->chs[j].broker_id == ch->broker_id) {
            snprintf(ch->error_message, sizeof(ch->error_message),
                     "Duplicate resource in the request: broker '%d'", ch->broker_id);
            e = RB_KERR_INVALID_REQUEST;
        }
    for (int32_t i = 0; !e && !ch->replace && i < cur->n_dyn_configs; i++)
        if (cur->dyn_configs[i].broker == ch->broker_id)
            kvs_set(&l, cur->dyn_configs[i].key, cur->dyn_configs[i].value);
    for (int i = 0; !e && i < ch->n; i++)
        e = broker_change_one(c, ch, i, &l);
    struct rb_metadata *trial = e ? NULL : rb_metadata_clone(cur);
    struct rb_config *cfg = NULL;
    if (trial) {
        for (int32_t i = trial->n_dyn_configs - 1; i >= 0; i--)
            if (trial->dyn_configs[i].broker == ch->broker_id)
                rb_coord_dyn_config_set(trial, ch->broker_id, trial->dyn_configs[i].key, NULL);
        for (int i = 0; i < l.n; i++)
            rb_coord_dyn_config_set(trial, ch->broker_id, l.k[i], l.v[i]);
        if (rb_coord_effective_config(c, trial, &cfg, ch->error_message, sizeof(ch->error_message)))
            e = RB_KERR_INVALID_REQUEST;
    }
    if (!e && !op->validate_only) {
        rb_metadata_set_config(trial, cfg);
        cfg = NULL;
        if (*nextp) { /* keep the topic changes made so far: move ours over */
            struct rb_metadata *n = *nextp;
            struct rb_dyn_config_kv *tmp = n->dyn_configs;
            int32_t tn = n->n_dyn_configs;
            n->dyn_configs = trial->dyn_configs;
            n->n_dyn_configs = trial->n_dyn_configs;
            trial->dyn_configs = tmp;
            trial->n_dyn_configs = tn;
            rb_metadata_set_config(n, rb_config_ref(trial->config));
            rb_metadata_free(trial);
        } else {
            *nextp = trial;
        }
        trial = NULL;
        if (ch->broker_id < 0)
            RB_INFO(COMP, "cluster-wide dynamic broker configs: %d set", l.n);
        else
            RB_INFO(COMP, "dynamic broker configs of broker %d: %d set", ch->broker_id, l.n);
    }
    rb_config_free(cfg);
    rb_metadata_free(trial);
    rb_coord_kvs_free(&l);
    return e;
}

static void coord_alter_configs(struct rb_shard *cs, void *arg)
{
    struct rb_coord_op *op = arg;
    struct rb_coord *c = cs->coord;
    if (c->cl) {
        rb_cl_alter_configs(cs, c, op);
        return;
    }
    struct rb_metadata *next = NULL;
    for (int i = 0; i < op->n; i++) {
        struct rb_config_change *ch = &op->chs[i];
        if (ch->broker) {
            ch->error = rb_coord_broker_change(c, op, i, &next);
            continue;
        }
        struct rb_coord_kvs l = {0};
        ch->error = rb_coord_change_compute(c, op, i, &l);
        if (!ch->error && !op->validate_only) {
            if (!next)
                next = rb_metadata_clone(c->md);
            struct rb_topic_meta *t =
                (struct rb_topic_meta *)rb_metadata_topic(next, ch->topic, strlen(ch->topic));
            RB_ASSERT(t);
            topic_replace_configs(t, &l);
            RB_INFO(COMP, "topic %s: %d explicit configs after change", t->name, t->n_configs);
        }
        rb_coord_kvs_free(&l);
    }
    if (!next) {
        rb_coord_op_finish(cs, op);
        return;
    }
    rb_coord_persist(c, next);
    op->reconfigure = true;
    rb_coord_publish(cs, c, next, op, NULL, 0, NULL, 0);
}
#undef CH_ERR

void rb_coord_alter_configs(struct rb_shard *from, struct rb_config_change *chs, int n,
                            bool validate_only, rb_coord_done_fn done, void *arg)
{
    struct rb_coord_op *op = rb_coord_op_new(from, n, validate_only, done, arg);
    op->chs = chs;
    rb_post(from, from->rt->n_shards, coord_alter_configs, op);
}

int16_t rb_coord_offsets_rf(const struct rb_broker_config *bc, int n_live)
{
    int32_t rf = bc->offsets_topic_replication_factor;
    if (rf > n_live) {
        RB_WARN("coord",
                "offsets.topic.replication.factor %d is more than the %d live broker(s): "
                "__consumer_offsets gets %d replica(s)",
                rf, n_live, RB_MAX(n_live, 1));
        rf = RB_MAX(n_live, 1);
    }
    return (int16_t)rf;
}
