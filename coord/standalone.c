/*
 * coord/standalone.c - the standalone coordination backend: one broker, which is
 * its own controller; cluster metadata kept in <first log dir>/ringbroker-metadata
 * (its format and the other files the backend writes: standalone_file.c).
 * This file builds metadata snapshots, opens partitions' logs, and starts and
 * stops the backend; topic creation and deletion: standalone_topics.c; growth
 * and config changes: standalone_admin.c.
 *
 * Threads: open/close run on the main thread before/after the runtime; every
 * change runs on the coordination thread (which may block: it does the mkdir,
 * log creation and file syncs so shards never do).
 * Placement: each new partition goes to the shard with the fewest partitions;
 * placement is persisted, so it is stable across restarts (a shard index beyond
 * num.shards after a reconfiguration folds modulo num.shards).
 */
#include "coord/coord.h"
#include "coord/standalone_int.h"
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"
#include "storage/checkpoint.h"
#include "storage/disk_fault.h"
#include "storage/disk_uring.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMP "coord"

/* ---- building snapshots ---- */

struct rb_topic_meta *rb_coord_topic_append(struct rb_metadata *md, const char *name)
{
    struct rb_topic_meta *nt = realloc(md->topics, sizeof(*nt) * (size_t)(md->n_topics + 1));
    RB_ASSERT(nt);
    md->topics = nt;
    struct rb_topic_meta *t = &md->topics[md->n_topics++];
    memset(t, 0, sizeof(*t));
    t->name = strdup(name);
    RB_ASSERT(t->name);
    t->name_len = strlen(name);
    t->internal = rb_topic_name_internal(name, t->name_len);
    return t;
}

int16_t rb_coord_least_loaded_shard(const struct rb_coord *c)
{
    int16_t s = 0;
    for (int i = 1; i < c->rt->n_shards; i++)
        if (c->shard_load[i] < c->shard_load[s])
            s = (int16_t)i;
    return s;
}

void rb_coord_topic_set_partitions(struct rb_coord *c, struct rb_topic_meta *t, int32_t n,
                                   const int16_t *shards)
{
    t->n_partitions = n;
    t->partitions = calloc((size_t)RB_MAX(n, 1), sizeof(*t->partitions));
    RB_ASSERT(t->partitions);
    for (int32_t p = 0; p < n; p++) {
        struct rb_partition_meta *pm = &t->partitions[p];
        int16_t s = shards ? shards[p] : -1;
        if (s < 0) {
            s = rb_coord_least_loaded_shard(c);
        } else if (s >= c->rt->n_shards) {
            s = (int16_t)(s % c->rt->n_shards);
        }
        c->shard_load[s]++;
        pm->index = p;
        pm->shard = s;
        pm->leader = c->bc->broker_id;
        pm->leader_epoch = 0;
        pm->n_replicas = pm->n_isr = 1;
        pm->replicas = malloc(sizeof(int32_t));
        pm->isr = malloc(sizeof(int32_t));
        RB_ASSERT(pm->replicas && pm->isr);
        pm->replicas[0] = pm->isr[0] = c->bc->broker_id;
    }
}

void rb_coord_topic_add_config(struct rb_topic_meta *t, const char *k, const char *v)
{
    struct rb_topic_config_kv *kv = realloc(t->configs, sizeof(*kv) * (size_t)(t->n_configs + 1));
    RB_ASSERT(kv);
    t->configs = kv;
    kv[t->n_configs].key = strdup(k);
    kv[t->n_configs].value = strdup(v);
    RB_ASSERT(kv[t->n_configs].key && kv[t->n_configs].value);
    t->n_configs++;
}

void rb_coord_dyn_config_set(struct rb_metadata *md, int32_t broker, const char *k, const char *v)
{
    for (int32_t i = 0; i < md->n_dyn_configs; i++) {
        struct rb_dyn_config_kv *d = &md->dyn_configs[i];
        if (d->broker != broker || strcmp(d->key, k) != 0)
            continue;
        free(d->value);
        if (v) {
            d->value = strdup(v);
            RB_ASSERT(d->value);
            return;
        }
        free(d->key);
        *d = md->dyn_configs[--md->n_dyn_configs];
        return;
    }
    if (!v)
        return;
    struct rb_dyn_config_kv *nd =
        realloc(md->dyn_configs, sizeof(*nd) * (size_t)(md->n_dyn_configs + 1));
    RB_ASSERT(nd);
    md->dyn_configs = nd;
    nd[md->n_dyn_configs].broker = broker;
    nd[md->n_dyn_configs].key = strdup(k);
    nd[md->n_dyn_configs].value = strdup(v);
    RB_ASSERT(nd[md->n_dyn_configs].key && nd[md->n_dyn_configs].value);
    md->n_dyn_configs++;
}

static void topic_free_fields(struct rb_topic_meta *t)
{
    free(t->name);
    for (int32_t p = 0; p < t->n_partitions; p++) {
        free(t->partitions[p].replicas);
        free(t->partitions[p].isr);
    }
    free(t->partitions);
    for (int32_t q = 0; q < t->n_configs; q++) {
        free(t->configs[q].key);
        free(t->configs[q].value);
    }
    free(t->configs);
}

void rb_coord_topic_remove(struct rb_metadata *md, const char *name)
{
    for (int32_t k = 0; k < md->n_topics; k++) {
        if (strcmp(md->topics[k].name, name) == 0) {
            topic_free_fields(&md->topics[k]);
            md->topics[k] = md->topics[--md->n_topics];
            break;
        }
    }
    rb_metadata_sort(md);
}

int16_t rb_coord_check_broker_partitions(const struct rb_coord *c, const struct rb_metadata *md,
                                         int64_t pending, int32_t n_new, char *msg, size_t cap)
{
    int64_t have = pending;
    for (int32_t i = 0; i < md->n_topics; i++)
        have += md->topics[i].n_partitions;
    if (have + n_new <= c->bc->max_partitions)
        return RB_KERR_NONE;
    snprintf(msg, cap,
             "%d more partition(s) would make %lld on this broker, more than max.partitions=%d.",
             n_new, (long long)(have + n_new), c->bc->max_partitions);
    return RB_KERR_POLICY_VIOLATION;
}

int rb_coord_effective_config(struct rb_coord *c, const struct rb_metadata *md,
                              struct rb_config **out, char *err, size_t errlen)
{
    int n = 0;
    const char **keys = calloc((size_t)RB_MAX(md->n_dyn_configs, 1), sizeof(char *));
    const char **vals = calloc((size_t)RB_MAX(md->n_dyn_configs, 1), sizeof(char *));
    bool *per = calloc((size_t)RB_MAX(md->n_dyn_configs, 1), sizeof(bool));
    int r = -ENOMEM;
    if (keys && vals && per) {
        for (int32_t i = 0; i < md->n_dyn_configs; i++) {
            const struct rb_dyn_config_kv *d = &md->dyn_configs[i];
            if (d->broker >= 0 && d->broker != c->bc->broker_id)
                continue; /* another broker's: not ours to apply */
            keys[n] = d->key;
            vals[n] = d->value;
            per[n++] = d->broker >= 0;
        }
        r = rb_config_overlay(out, c->config, n, keys, vals, per, err, errlen);
    }
    free(keys);
    free(vals);
    free(per);
    return r;
}

static void set_brokers(struct rb_coord *c, struct rb_metadata *md)
{
    md->n_brokers = 1;
    md->brokers = calloc(1, sizeof(*md->brokers));
    RB_ASSERT(md->brokers);
    md->brokers[0].id = c->bc->broker_id;
    md->brokers[0].host = strdup(c->bc->advertised_host);
    md->brokers[0].port = c->bc->advertised_port;
    md->controller_id = c->bc->broker_id;
}

void rb_coord_log_config(const struct rb_broker_config *bc, const struct rb_topic_meta *t,
                         struct rb_log_config *out)
{
    rb_log_config_defaults(out);
    out->segment_bytes = (uint64_t)bc->log_segment_bytes;
    out->segment_ms = bc->log_roll_ms;
    out->index_interval_bytes = (uint32_t)bc->log_index_interval_bytes;
    out->segment_index_bytes = (uint32_t)bc->log_segment_index_bytes;
    out->prealloc_bytes = (uint64_t)bc->log_preallocate_step_bytes;
    out->chunk_bytes = (uint32_t)bc->log_chunk_bytes;
    out->max_dirty_bytes = (uint32_t)bc->log_max_dirty_bytes;
    out->log_append_time = bc->log_message_timestamp_log_append;
    out->retention_ms = bc->log_retention_ms;
    out->retention_bytes = bc->log_retention_bytes;
    out->flush_messages = bc->log_flush_interval_messages;
    out->flush_ms = bc->log_flush_interval_ms;
    out->file_delete_delay_ms = bc->log_segment_delete_delay_ms;
    if (!t)
        return;
    const char *v;
    int64_t x;
    if ((v = rb_topic_config(t, "segment.bytes")) && !rb_parse_i64(v, 14, INT32_MAX, &x))
        out->segment_bytes = (uint64_t)x;
    if ((v = rb_topic_config(t, "segment.ms")) && !rb_parse_i64(v, 1, INT64_MAX, &x))
        out->segment_ms = x;
    if ((v = rb_topic_config(t, "index.interval.bytes")) && !rb_parse_i64(v, 0, INT32_MAX, &x))
        out->index_interval_bytes = (uint32_t)x;
    if ((v = rb_topic_config(t, "segment.index.bytes")) && !rb_parse_i64(v, 4, INT32_MAX, &x))
        out->segment_index_bytes = (uint32_t)x;
    if ((v = rb_topic_config(t, "message.timestamp.type")))
        out->log_append_time = strcmp(v, "LogAppendTime") == 0;
    if ((v = rb_topic_config(t, "retention.ms")) && !rb_parse_i64(v, -1, INT64_MAX, &x))
        out->retention_ms = x;
    if ((v = rb_topic_config(t, "retention.bytes")) && !rb_parse_i64(v, -1, INT64_MAX, &x))
        out->retention_bytes = x;
    if ((v = rb_topic_config(t, "flush.messages")) && !rb_parse_i64(v, 1, INT64_MAX, &x))
        out->flush_messages = x;
    if ((v = rb_topic_config(t, "flush.ms")) && !rb_parse_i64(v, 0, INT64_MAX, &x))
        out->flush_ms = x;
    if ((v = rb_topic_config(t, "file.delete.delay.ms")) && !rb_parse_i64(v, 0, INT64_MAX, &x))
        out->file_delete_delay_ms = x;
}

static void partition_dir(const struct rb_coord *c, const char *topic, int32_t p, char *out,
                          size_t cap)
{
    snprintf(out, cap, "%s/%s-%d", c->dir, topic, p);
}

/* The disk a partition's log uses: its shard's ring, wrapped by the fault injector
 * when the testing aid test.fault.partition names this partition
 * (config/server.properties). */
static struct rb_disk partition_disk(struct rb_coord *c, const struct rb_topic_meta *t, int32_t p)
{
    struct rb_disk disk = rb_disk_uring(c->rt->t[t->partitions[p].shard]);
    const char *fp = rb_config_get(c->config, "test.fault.partition");
    const char *fa = rb_config_get(c->config, "test.fault.fsync.fail.after");
    char name[400];
    int64_t after;
    snprintf(name, sizeof(name), "%s-%d", t->name, p);
    if (!fp || !fa || strcmp(fp, name) != 0 || rb_parse_i64(fa, -1, INT64_MAX, &after) || after < 0)
        return disk;
    if (rb_disk_fault_wrap(disk, (long)after, &disk) == 0)
        RB_WARN(COMP, "TESTING AID: fdatasync of %s fails after %lld syncs", name,
                (long long)after);
    return disk;
}

/* Open (create or recover) the log of partition p of t for its shard. */
int rb_coord_open_partition(struct rb_coord *c, const struct rb_topic_meta *t, int32_t p,
                            bool create, struct rb_log **out)
{
    char dir[4400];
    partition_dir(c, t->name, p, dir, sizeof(dir));
    struct rb_log_config lc;
    rb_coord_log_config(rb_config_broker(c->md->config), t, &lc);
    if (!create) { /* recovery point, log start offset, HW (storage/checkpoint.h) */
        rb_ckpt_startup_lookup(c->dir, t->name, p, &lc.recovery_point, &lc.log_start_offset);
        lc.high_watermark = rb_ckpt_startup_hw(c->dir, t->name, p);
    }
    /* At startup one syncfs after all opens (below) replaces a directory fsync each. */
    lc.defer_dir_sync = !create;
    struct rb_disk disk = partition_disk(c, t, p);
    int r = rb_log_open(out, dir, &lc, disk, rb_wall_ms());
    if (r && !create && rb_log_open_offline(out, dir, &lc) == 0) {
        /* The broker starts without it: clients get KAFKA_STORAGE_ERROR. */
        RB_ERROR(COMP, "log %s: %s: partition offline", dir, strerror(-r));
        return 0;
    }
    if (r) {
        RB_ERROR(COMP, "cannot open log %s: %s", dir, strerror(-r));
        return r;
    }
    char pm[4500];
    snprintf(pm, sizeof(pm), "%s/partition.metadata", dir);
    if (create || access(pm, F_OK) != 0) {
        r = rb_coord_write_partition_metadata(dir, t->id);
        if (r && !create) { /* lost to a crash after creation: only Kafka's hint */
            RB_WARN(COMP, "cannot write %s/partition.metadata: %s", dir, strerror(-r));
            r = 0;
        } else if (r) {
            RB_ERROR(COMP, "cannot write %s/partition.metadata: %s", dir, strerror(-r));
            rb_log_destroy(*out);
            *out = NULL;
        }
    }
    return r;
}

void rb_coord_discard_partition(struct rb_coord *c, const struct rb_topic_meta *t, int32_t p,
                                struct rb_log *log)
{
    char dir[4400];
    partition_dir(c, t->name, p, dir, sizeof(dir));
    int r = log ? rb_log_destroy(log) : 0;
    DIR *d = opendir(dir); /* what a failed open left behind */
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlinkat(dirfd(d), de->d_name, 0);
    if (d) {
        closedir(d);
        if (rmdir(dir) < 0 && !r)
            r = -errno;
    }
    if (r && r != -ENOENT)
        RB_WARN(COMP, "rolling back %s: %s", dir, strerror(-r));
    c->shard_load[t->partitions[p].shard]--;
}

/* ---- startup ---- */

static int mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Kafka's .lock: one broker process per log dir (a second one would corrupt it). */
static int lock_dir(const char *dir, int *fd_out, char *err, size_t errlen)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -errno;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen,
                 "log dir %s is in use by another broker process (%s is locked); stop it or "
                 "choose another log.dirs",
                 dir, path);
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    *fd_out = fd;
    return 0;
}

static void unlock_dirs(struct rb_coord *c)
{
    for (int i = 0; i < RB_MAX_LOG_DIRS; i++)
        if (c->lock_fds[i] >= 0) {
            close(c->lock_fds[i]);
            c->lock_fds[i] = -1;
        }
}

int rb_coord_standalone_open(struct rb_coord **out, struct rb_config *config, struct rb_runtime *rt,
                             const struct rb_coord_hooks *hooks, char *err, size_t errlen)
{
    struct rb_coord *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->config = config;
    c->bc = rb_config_broker(config);
    c->rt = rt;
    c->hooks = *hooks;
    c->shard_load = calloc((size_t)rt->n_shards, sizeof(int32_t));
    snprintf(c->dir, sizeof(c->dir), "%s", c->bc->log_dirs[0]);
    int r;
    for (int i = 0; i < RB_MAX_LOG_DIRS; i++)
        c->lock_fds[i] = -1;
    for (int i = 0; i < c->bc->n_log_dirs; i++) {
        r = mkdir_p(c->bc->log_dirs[i]);
        if (r) {
            snprintf(err, errlen, "cannot create log dir %s: %s", c->bc->log_dirs[i], strerror(-r));
            goto out_free;
        }
        r = lock_dir(c->bc->log_dirs[i], &c->lock_fds[i], err, errlen);
        if (r)
            goto out_free;
    }
    struct rb_metadata *md = calloc(1, sizeof(*md));
    RB_ASSERT(md);
    atomic_init(&md->refs, 1);
    if (rb_coord_cluster_configured(config)) {
        c->md = md;
        rt->t[rt->n_shards]->coord = c;
        r = rb_coord_cluster_open(c, err, errlen);
        if (r) {
            rb_coord_cluster_close(c);
            rb_metadata_unref(c->md);
            rt->t[rt->n_shards]->coord = NULL;
            goto out_free;
        }
        *out = c;
        return 0;
    }
    set_brokers(c, md);
    r = rb_coord_load_file(c, md, err, errlen);
    if (r && r != -ENOENT) {
        if (!err[0])
            snprintf(err, errlen, "cannot read %s/%s: %s", c->dir, RB_COORD_MD_FILE, strerror(-r));
        rb_metadata_free(md);
        goto out_free;
    }
    rb_metadata_sort(md);
    r = rb_coord_ensure_cluster_id(c, md, err, errlen);
    if (!r)
        r = rb_coord_persist(c, md);
    if (r) {
        if (!err[0])
            snprintf(err, errlen, "cannot write metadata in %s: %s", c->dir, strerror(-r));
        rb_metadata_free(md);
        goto out_free;
    }
    md->epoch = 1;
    r = rb_coord_effective_config(c, md, &md->config, err, errlen);
    if (r) {
        if (!err[0])
            snprintf(err, errlen, "dynamic broker configs in %s/%s: %s", c->dir, RB_COORD_MD_FILE,
                     strerror(-r));
        rb_metadata_free(md);
        goto out_free;
    }
    if (md->n_dyn_configs)
        RB_INFO(COMP, "%d dynamic broker config(s) applied from %s/%s", md->n_dyn_configs, c->dir,
                RB_COORD_MD_FILE);
    c->md = md;
    int64_t t0 = rb_mono_ms();
    int n_parts = 0;
    for (int32_t i = 0; i < md->n_topics; i++) {
        const struct rb_topic_meta *t = &md->topics[i];
        for (int32_t p = 0; p < t->n_partitions; p++) {
            struct rb_log *log = NULL;
            r = rb_coord_open_partition(c, t, p, false, &log);
            if (r) {
                snprintf(err, errlen, "cannot open partition %s-%d: %s", t->name, p, strerror(-r));
                goto out_free;
            }
            c->hooks.adopt_initial(c->hooks.ctx, t->partitions[p].shard, t, p, log);
            n_parts++;
        }
    }
    /* The logs' deferred directory syncs (defer_dir_sync): before any append. */
    if (n_parts && (r = rb_coord_sync_logs(c))) {
        snprintf(err, errlen, "cannot sync the log dir %s: %s", c->dir, strerror(-r));
        goto out_free;
    }
    for (int i = 0; i < rt->n_shards; i++) {
        rb_metadata_ref(md);
        c->hooks.install_initial(c->hooks.ctx, i, md);
    }
    RB_INFO(COMP, "standalone metadata: cluster.id %s, %d topics, %d partitions loaded in %lld ms",
            md->cluster_id, md->n_topics, n_parts, (long long)(rb_mono_ms() - t0));
    rt->t[rt->n_shards]->coord = c;
    *out = c;
    return 0;
out_free:
    unlock_dirs(c);
    free(c->shard_load);
    free(c);
    return r;
}

void rb_coord_close(struct rb_coord *c)
{
    if (!c)
        return;
    rb_coord_cluster_close(c);
    rb_metadata_unref(c->md);
    unlock_dirs(c);
    free(c->shard_load);
    free(c);
}

/* ---- changes, on the coordination thread ---- */

void rb_coord_op_finish(struct rb_shard *cs, struct rb_coord_op *op)
{
    rb_metadata_unref(op->old_md);
    rb_post(cs, op->origin, op->done, op->arg);
    free(op);
}

/* Publish next as the current snapshot; adopt/drop lists go to their shards. */
void rb_coord_publish(struct rb_shard *cs, struct rb_coord *c, struct rb_metadata *next,
                      struct rb_coord_op *op, struct rb_partition_handoff *adopt, int n_adopt,
                      struct rb_partition_handoff *drop, int n_drop)
{
    next->epoch = c->md->epoch + 1;
    op->old_md = c->md; /* the coord's reference moves to the op */
    c->md = next;
    op->pending = c->rt->n_shards;
    for (int i = 0; i < c->rt->n_shards; i++) {
        struct rb_md_update *u = calloc(1, sizeof(*u));
        RB_ASSERT(u);
        rb_metadata_ref(next);
        u->md = next;
        u->op = op;
        u->reconfigure = op->reconfigure;
        u->adopt = calloc((size_t)RB_MAX(n_adopt, 1), sizeof(*u->adopt));
        u->drop = calloc((size_t)RB_MAX(n_drop, 1), sizeof(*u->drop));
        RB_ASSERT(u->adopt && u->drop);
        for (int k = 0; k < n_adopt; k++)
            if (adopt[k].topic->partitions[adopt[k].index].shard == i)
                u->adopt[u->n_adopt++] = adopt[k];
        for (int k = 0; k < n_drop; k++)
            if (drop[k].topic->partitions[drop[k].index].shard == i)
                u->drop[u->n_drop++] = drop[k];
        rb_post(cs, i, (rb_msg_fn)(void (*)(void))c->hooks.apply, u);
    }
}

static void update_applied_on_coord(struct rb_shard *cs, void *arg)
{
    struct rb_md_update *u = arg;
    struct rb_coord *c = cs->coord;
    struct rb_coord_op *op = u->op;
    for (int k = 0; k < u->n_drop; k++) {
        if (!u->drop[k].log)
            continue;
        int r = rb_log_destroy(u->drop[k].log);
        if (r)
            RB_WARN(COMP, "deleting the files of %s-%d: %s", u->drop[k].topic->name,
                    u->drop[k].index, strerror(-r));
        c->shard_load[u->drop[k].topic->partitions[u->drop[k].index].shard]--;
    }
    free(u->adopt);
    free(u->drop);
    free(u);
    if (--op->pending == 0)
        rb_coord_op_finish(cs, op);
}

void rb_coord_update_applied(struct rb_shard *s, struct rb_md_update *u)
{
    rb_post(s, s->rt->n_shards, update_applied_on_coord, u);
}
