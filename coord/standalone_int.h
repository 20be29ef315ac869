/*
 * coord/standalone_int.h - state and helpers shared by the files of the
 * standalone coordination backend (coord/standalone.c: snapshots, startup,
 * publication; coord/standalone_topics.c: topic creation and deletion;
 * coord/standalone_file.c: the files it
 * keeps; coord/standalone_admin.c: partition growth and topic config changes). Not a public API:
 * everything here runs on the coordination thread, except at open/close on the main thread.
 */
#ifndef RB_COORD_STANDALONE_INT_H
#define RB_COORD_STANDALONE_INT_H

#include "coord/coord.h"

#include <stdio.h>

#define RB_COORD_COMP    "coord"
#define RB_COORD_MD_FILE "ringbroker-metadata" /* in the first log dir */

struct rb_coord {
    struct rb_config *config;
    const struct rb_broker_config *bc;
    struct rb_runtime *rt;
    struct rb_coord_hooks hooks;
    struct rb_metadata *md; /* current; the coord's own reference */
    int32_t *shard_load;    /* partitions per shard */
    char dir[4096];         /* first log dir */
    int lock_fds[RB_MAX_LOG_DIRS];
    struct rb_cluster *cl; /* cluster mode (coord/cluster_int.h); NULL: standalone */
};

struct rb_coord_op {
    int origin;
    bool is_delete;
    bool validate_only;
    struct rb_topic_spec *specs;
    struct rb_topic_delete *dels;
    struct rb_partitions_spec *pspecs; /* CreatePartitions (coord/standalone_admin.c) */
    struct rb_config_change *chs;      /* AlterConfigs */
    bool reconfigure;                  /* configs changed: shards reconfigure their logs */
    int n;
    rb_coord_done_fn done;
    void *arg;
    int pending;
    struct rb_metadata *old_md; /* kept alive while dropped partitions refer to it */
    void *cl_aux;               /* cluster mode: the op's own state (coord/cluster_admin.c) */
};

/* Open (create or recover) the log of partition p of t for its owning shard. */
int rb_coord_open_partition(struct rb_coord *c, const struct rb_topic_meta *t, int32_t p,
                            bool create, struct rb_log **out);
/* ---- standalone_file.c ---- */
/* Read the metadata file into md (-ENOENT: none yet; other errors: err says why). */
/* __consumer_offsets' replication factor (coord/standalone_admin.c):
 * offsets.topic.replication.factor, or n_live brokers when fewer (Kafka refuses to
 * create the topic then; a warning here). Cluster mode only. */
int16_t rb_coord_offsets_rf(const struct rb_broker_config *bc, int n_live);
int rb_coord_load_file(struct rb_coord *c, struct rb_metadata *md, char *err, size_t errlen);
/* Parse the metadata file's text from f (path names it in messages) into md:
 * 0, or -EINVAL with the line named in err. Uses c's shard count and loads. */
int rb_coord_parse_file(struct rb_coord *c, FILE *f, const char *path, struct rb_metadata *md,
                        char *err, size_t errlen);
/* md in the metadata file's format: *out (malloc'd, the caller frees), *out_len. */
int rb_coord_format_file(const struct rb_metadata *md, char **out, size_t *out_len);
/* Take the cluster id from meta.properties (or make one) and write meta.properties
 * into every log dir that lacks it; refuses a dir of another cluster. */
int rb_coord_ensure_cluster_id(struct rb_coord *c, struct rb_metadata *md, char *err,
                               size_t errlen);
/* partition.metadata in a partition's dir, not synced (see rb_coord_sync_logs). */
int rb_coord_write_partition_metadata(const char *dir, const uint8_t id[16]);
/* Write the metadata file (tmp + fsync + rename + fsync dir). */
int rb_coord_persist(struct rb_coord *c, const struct rb_metadata *md);
/* syncfs of the log dir's file system: new partitions' files durable (no per-file fsync). */
int rb_coord_sync_logs(struct rb_coord *c);
/* Make next the current snapshot and send every shard its update; the op
 * finishes once all shards applied it. */
void rb_coord_publish(struct rb_shard *cs, struct rb_coord *c, struct rb_metadata *next,
                      struct rb_coord_op *op, struct rb_partition_handoff *adopt, int n_adopt,
                      struct rb_partition_handoff *drop, int n_drop);
/* A new op over n entries (the caller sets which array), answered with done(arg)
 * on from's shard; validate_only: check, change nothing. */
struct rb_coord_op *rb_coord_op_new(struct rb_shard *from, int n, bool validate_only,
                                    rb_coord_done_fn done, void *arg);
/* Answer the op's caller on its shard and free the op. */
void rb_coord_op_finish(struct rb_shard *cs, struct rb_coord_op *op);
/* Fail (KAFKA_STORAGE_ERROR, why) every entry of specs[0..n) that has not failed
 * yet: the topic specs of CreateTopics and CreatePartitions alike. */
#define RB_COORD_FAIL_OK(specs, n, why)                                                            \
    do {                                                                                           \
        for (int i_ = 0; i_ < (n); i_++)                                                           \
            if (!(specs)[i_].error) {                                                              \
                (specs)[i_].error = RB_KERR_KAFKA_STORAGE_ERROR;                                   \
                snprintf((specs)[i_].error_message, sizeof((specs)[i_].error_message), "%s", why); \
            }                                                                                      \
    } while (0)

/* ---- standalone_admin.c: adding partitions (CreateTopics, CreatePartitions) ---- */
/* Open the logs of t's partitions from `from` on for their shards, appending the
 * handoffs to *adopt (realloc'd; the caller frees). -EIO with the reason in why at
 * the first that cannot be created (those before it stay in *adopt). */
int rb_coord_open_new_partitions(struct rb_coord *c, const struct rb_topic_meta *t, int32_t from,
                                 struct rb_partition_handoff **adopt, int *n_adopt, char *why,
                                 size_t why_cap);
/* The end of an op that adds partitions (CreateTopics: op->specs, CreatePartitions:
 * op->pspecs): sync the new logs (failing every entry not failed yet when that
 * fails), persist next and publish it with the adopted logs; frees adopt. */
void rb_coord_adopt_and_publish(struct rb_shard *cs, struct rb_coord *c, struct rb_metadata *next,
                                struct rb_coord_op *op, struct rb_partition_handoff *adopt,
                                int n_adopt);
/* A topic's explicit configs while a change is computed (owns its strings). */
struct rb_coord_kvs {
    int n;
    char **k, **v;
};
void rb_coord_kvs_free(struct rb_coord_kvs *l);
/* The resulting explicit config set of op->chs[idx]'s topic in *l (from c->md),
 * validated; 0 or a Kafka error with the message in the change. */
int16_t rb_coord_change_compute(struct rb_coord *c, struct rb_coord_op *op, int idx,
                                struct rb_coord_kvs *l);

/* A BROKER resource's change (op->chs[idx]): its new dynamic set checked by building
 * the configuration it gives; on success (and not validate_only) the resulting
 * metadata goes into *nextp (a clone of c->md, or *nextp itself when set). */
int16_t rb_coord_broker_change(struct rb_coord *c, struct rb_coord_op *op, int idx,
                               struct rb_metadata **nextp);

/* ---- cluster mode (coord/cluster.c) ---- */
bool rb_coord_cluster_configured(struct rb_config *config);
/* With the log dirs locked and c->md holding an empty snapshot: connect, register,
 * read the cluster and open the local replicas. 0 or -errno with err set. */
int rb_coord_cluster_open(struct rb_coord *c, char *err, size_t errlen);
void rb_coord_cluster_close(struct rb_coord *c);
/* The cluster backend's entries for the coord ops (coord/cluster_admin.c). */
void rb_cl_create_topics(struct rb_shard *cs, struct rb_coord *c, struct rb_coord_op *op);
void rb_cl_delete_topics(struct rb_shard *cs, struct rb_coord *c, struct rb_coord_op *op);
void rb_cl_create_partitions(struct rb_shard *cs, struct rb_coord *c, struct rb_coord_op *op);
void rb_cl_alter_configs(struct rb_shard *cs, struct rb_coord *c, struct rb_coord_op *op);

/* ---- standalone_topics.c ---- */
/* The topic d names in c->md, or NULL with d->error set (unknown, deletion
 * disabled, internal): the checks of DeleteTopics in both backends. */
const struct rb_topic_meta *rb_coord_delete_target(struct rb_coord *c, struct rb_topic_delete *d);

/* ---- standalone.c ---- */
/* The shard with the fewest partitions (placement of a new partition). */
int16_t rb_coord_least_loaded_shard(const struct rb_coord *c);
/* Partition limits, checked before anything is created: n_new more partitions on
 * top of md's and `pending` others already accepted in the same op. Returns 0, or
 * POLICY_VIOLATION (max.partitions) with the reason in msg. */
int16_t rb_coord_check_broker_partitions(const struct rb_coord *c, const struct rb_metadata *md,
                                         int64_t pending, int32_t n_new, char *msg, size_t cap);
/* Undo the creation of partition p of t: destroy its log (NULL: none was opened)
 * and remove what is left of its directory; its shard's load drops. */
void rb_coord_discard_partition(struct rb_coord *c, const struct rb_topic_meta *t, int32_t p,
                                struct rb_log *log);
/* Remove topic name from md (not published yet) and free it; md is left sorted. */
void rb_coord_topic_remove(struct rb_metadata *md, const char *name);
/* Append an empty topic named name to md. */
struct rb_topic_meta *rb_coord_topic_append(struct rb_metadata *md, const char *name);
/* Give t n partitions, on the given shards (NULL or -1: least loaded shard). */
void rb_coord_topic_set_partitions(struct rb_coord *c, struct rb_topic_meta *t, int32_t n,
                                   const int16_t *shards);
void rb_coord_topic_add_config(struct rb_topic_meta *t, const char *k, const char *v);
/* Set (v NULL: remove) a dynamic broker config of broker (-1: cluster default). */
void rb_coord_dyn_config_set(struct rb_metadata *md, int32_t broker, const char *k, const char *v);
/* The effective broker config for md's dynamic configs (static config overlaid). */
int rb_coord_effective_config(struct rb_coord *c, const struct rb_metadata *md,
                              struct rb_config **out, char *err, size_t errlen);

#endif
