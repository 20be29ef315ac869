/*
 * tools/ringctl_zk.c - `ringctl topics ... --zookeeper h:p[/chroot]`: the
 * ZooKeeper-era kafka-topics.sh. It reads and writes the quorum directly, the
 * nodes and order Kafka 2.8's TopicCommand (AdminZkClient) uses:
 *   --create   /config/topics/<t> ({"version":1,"config":{...}}), then
 *              /brokers/topics/<t> with Kafka's replica assignment over the
 *              registered brokers (coord/kafka_zk.h rb_kzk_assign) or the given
 *              --replica-assignment, without a topic_id; the controller adds the
 *              topic_id and writes the partition states;
 *   --list     /brokers/topics children ("T - marked for deletion" when
 *              /admin/delete_topics/<t> exists);
 *   --describe the assignment, /config/topics/<t> and each partition's state
 *              ("Leader: none" while it has none);
 *   --alter --partitions N   /brokers/topics/<t> rewritten, conditional on the
 *              version read, with the new partitions assigned as Kafka's
 *              addPartitions does (the start index of partition 0's first replica);
 *   --delete   /admin/delete_topics/<t> (the controller deletes the topic).
 * --topic of --list, --describe and --delete is a regular expression, as Kafka's
 * (IncludeList: "a,b" and "te.*" work); --create and --alter take one name.
 * Output is kafka-topics.sh's; errors go to stderr with Kafka's wording.
 */
#include "tools/ringctl_zk.h"
#include "core/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MSG(a, ...) fprintf(stderr, "ringctl topics: " __VA_ARGS__)

static uint32_t rnd_random(void *ctx)
{
    (void)ctx;
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != sizeof(v))
        v = (uint32_t)random();
    return v;
}

/* Kafka's addPartitions: the start index is fixed (partition 0's first replica). */
static uint32_t rnd_fixed(void *ctx)
{
    return *(const uint32_t *)ctx;
}

static bool marked_for_deletion(struct ctl_zk *z, const char *topic)
{
    char path[512];
    snprintf(path, sizeof(path), "/admin/delete_topics/%s", topic);
    return ctl_zk_get(z, path, NULL, NULL) == 0;
}

/* 0 with the assignment and its version, -ENOENT, or another error. */
static int read_assignment(struct ctl_zk *z, const char *topic, struct rb_kzk_assignment *as,
                           int64_t *version)
{
    char path[512], *data = NULL;
    snprintf(path, sizeof(path), "/brokers/topics/%s", topic);
    int rc = ctl_zk_get(z, path, &data, version);
    if (rc < 0)
        return rc;
    rc = rb_kzk_parse_assignment(data, as);
    free(data);
    return rc;
}

/* The topics (/brokers/topics children) after --topic (Kafka's IncludeList: a
 * regular expression) and --exclude-internal. -EINVAL: a bad --topic (printed). */
static int topic_names(struct ctl_zk *z, const struct ctl_args *a, char ***names, int *n)
{
    regex_t re;
    char err[512];
    if (a->topic && ctl_topic_filter_compile(a->topic, &re, err, sizeof(err)) < 0) {
        MSG(a, "%s\n", err);
        return -EINVAL;
    }
    int rc = ctl_zk_children(z, "/brokers/topics", names, n);
    if (rc == -ENOENT) {
        *names = NULL;
        *n = 0;
        rc = 0;
    }
    int k = 0;
    for (int i = 0; rc == 0 && i < *n; i++) {
        if (a->topic && !ctl_topic_filter_match(&re, (*names)[i]))
            continue;
        if (a->exclude_internal && ctl_topic_internal((*names)[i]))
            continue;
        (*names)[k++] = (*names)[i];
    }
    if (a->topic)
        regfree(&re);
    if (rc < 0)
        return rc;
    *n = k;
    return 0;
}

static int describe_one(struct ctl_zk *z, const char *t)
{
    struct rb_kzk_assignment as;
    int rc = read_assignment(z, t, &as, NULL);
    if (rc == -ENOENT)
        return 0; /* deleted since the listing */
    if (rc == -EINVAL) {
        printf("Topic: %s\tError: %s/brokers/topics/%s does not parse as an assignment\n", t,
               z->chroot, t);
        return 0;
    }
    if (rc < 0)
        return rc;
    struct rb_kzk_config cfg = {0};
    char path[512], *data = NULL;
    snprintf(path, sizeof(path), "/config/topics/%s", t);
    if (ctl_zk_get(z, path, &data, NULL) == 0 && rb_kzk_parse_config(data, &cfg) < 0)
        memset(&cfg, 0, sizeof(cfg));
    free(data);
    bool marked = marked_for_deletion(z, t);
    ctl_zk_fmt_topic(stdout, t, as.has_id ? as.topic_id : NULL, as.n_partitions, as.n_replicas[0],
                     &cfg, marked);
    rb_kzk_config_free(&cfg);
    for (int32_t p = 0; p < as.n_partitions; p++) {
        struct rb_kzk_state st;
        rc = ctl_zk_state(z, t, p, &st);
        if (rc < 0 && rc != -ENOENT && rc != -EINVAL)
            break;
        rc = 0;
        ctl_zk_fmt_partition(stdout, t, p, st.leader, as.replicas[p], as.n_replicas[p], st.isr,
                             st.n_isr, marked);
    }
    rb_kzk_assignment_free(&as);
    return rc;
}

static int list_or_describe(struct ctl_zk *z, const struct ctl_args *a)
{
    char **names = NULL;
    int n = 0;
    int rc = topic_names(z, a, &names, &n);
    if (rc == -EINVAL)
        return CTL_EXIT_USAGE;
    if (rc < 0)
        return ctl_zk_fail(a, "reading /brokers/topics", rc);
    if (a->topic && n == 0 && !a->if_exists && a->action == CTL_TOPICS_DESCRIBE) {
        MSG(a, "Topic '%s' does not exist as expected\n", a->topic);
        free(names);
        return CTL_EXIT_FAIL;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        if (a->action == CTL_TOPICS_LIST) {
            if (marked_for_deletion(z, names[i]))
                printf("%s - marked for deletion\n", names[i]);
            else
                printf("%s\n", names[i]);
        } else {
            rc = describe_one(z, names[i]);
        }
    }
    free(names);
    return rc < 0 ? ctl_zk_fail(a, "reading a topic", rc) : CTL_EXIT_OK;
}

/* The registered brokers, or an error naming the chroot when there are too few. */
static int brokers_for(struct ctl_zk *z, const struct ctl_args *a, int32_t rf,
                       struct rb_kzk_broker **bs, int *nb)
{
    int rc = ctl_zk_brokers(z, bs, nb);
    if (rc < 0)
        return ctl_zk_fail(a, "reading /brokers/ids", rc);
    int with_rack = 0;
    for (int i = 0; i < *nb; i++) {
        if (a->disable_rack_aware)
            (*bs)[i].rack[0] = 0;
        with_rack += (*bs)[i].rack[0] != 0;
    }
    if (with_rack && with_rack < *nb) { /* Kafka's RackAwareMode.Enforced */
        MSG(a,
            "Not all brokers have rack information. Add --disable-rack-aware in command line to "
            "make replica assignment without rack information. (%d of %d brokers have "
            "broker.rack)\n",
            with_rack, *nb);
        free(*bs);
        *bs = NULL;
        return CTL_EXIT_FAIL;
    }
    if (rf > *nb) {
        MSG(a, "Replication factor: %d larger than available brokers: %d.%s%s%s\n", rf, *nb,
            *nb ? "" : " (no broker is registered in ", *nb ? "" : z->chroot,
            *nb ? "" : "/brokers/ids: are the brokers up, with this chroot in zookeeper.connect?)");
        free(*bs);
        *bs = NULL;
        return CTL_EXIT_FAIL;
    }
    return 0;
}

/* Every --config k=v is a topic config Kafka knows with a valid value. */
static int configs_of(const struct ctl_args *a, struct rb_kzk_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    if (!a->n_configs)
        return 0;
    cfg->keys = calloc((size_t)a->n_configs, sizeof(char *));
    cfg->values = calloc((size_t)a->n_configs, sizeof(char *));
    if (!cfg->keys || !cfg->values) {
        rb_kzk_config_free(cfg);
        MSG(a, "out of memory\n");
        return CTL_EXIT_FAIL;
    }
    for (int i = 0; i < a->n_configs; i++) {
        const char *kv = a->configs[i], *eq = strchr(kv, '=');
        char key[256], err[256];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
        if (rb_topic_config_validate(key, eq + 1, err, sizeof(err)) < 0) {
            MSG(a, "--config %s: %s\n", kv, err);
            rb_kzk_config_free(cfg);
            return CTL_EXIT_USAGE;
        }
        int32_t k = 0; /* a key given twice: the last value wins */
        while (k < cfg->n && strcmp(cfg->keys[k], key) != 0)
            k++;
        if (k == cfg->n) {
            cfg->keys[k] = strdup(key);
            cfg->n++;
        }
        free(cfg->values[k]);
        cfg->values[k] = strdup(eq + 1);
        if (!cfg->keys[k] || !cfg->values[k]) {
            rb_kzk_config_free(cfg);
            MSG(a, "out of memory\n");
            return CTL_EXIT_FAIL;
        }
    }
    return 0;
}

/* Create path with data, or replace its data when it exists (setOrCreateEntityConfigs). */
static int put(struct ctl_zk *z, const char *rel, const char *data)
{
    char full[1536];
    ctl_zk_path(z, full, sizeof(full), "%s", rel);
    size_t len = strlen(data);
    int rc = rb_quorum_create(z->q, full, data, len, 0, NULL, 0);
    if (rc == -ENOENT) { /* no /config/topics yet: Kafka creates the parents */
        char parent[1536];
        snprintf(parent, sizeof(parent), "%s", full);
        *strrchr(parent, '/') = 0;
        rc = rb_quorum_create_parents(z->q, parent);
        if (rc == 0)
            rc = rb_quorum_create(z->q, full, data, len, 0, NULL, 0);
    }
    if (rc == -EEXIST)
        rc = rb_quorum_set(z->q, full, data, len, -1, NULL);
    return rc;
}

/* Checks of Kafka's validateTopicCreate: not there, not being deleted, no collision. */
static int check_new_topic(struct ctl_zk *z, const struct ctl_args *a)
{
    char **names = NULL;
    int n = 0, rc = ctl_zk_children(z, "/brokers/topics", &names, &n);
    if (rc < 0 && rc != -ENOENT)
        return ctl_zk_fail(a, "reading /brokers/topics", rc);
    int ret = 0;
    for (int i = 0; i < n && !ret; i++) {
        if (strcmp(names[i], a->topic) == 0) {
            if (!a->if_not_exists)
                MSG(a, "Topic '%s' already exists.\n", a->topic);
            ret = a->if_not_exists ? -1 : CTL_EXIT_FAIL;
        } else if (ctl_topic_collides(names[i], a->topic)) {
            MSG(a, "Topic '%s' collides with existing topics: %s\n", a->topic, names[i]);
            ret = CTL_EXIT_FAIL;
        }
    }
    free(names);
    if (!ret && marked_for_deletion(z, a->topic)) {
        MSG(a, "Topic '%s' is marked for deletion.\n", a->topic);
        ret = CTL_EXIT_FAIL;
    }
    return ret;
}

static int create_topic(struct ctl_zk *z, const struct ctl_args *a)
{
    char err[512];
    if (ctl_topic_name_check(a->topic, err, sizeof(err)) < 0) {
        MSG(a, "%s\n", err);
        return CTL_EXIT_FAIL;
    }
    if (strchr(a->topic, '.') || strchr(a->topic, '_'))
        printf("WARNING: Due to limitations in metric names, topics with a period ('.') or "
               "underscore ('_') could collide. To avoid issues it is best to use either, but "
               "not both.\n");
    struct rb_kzk_config cfg;
    int rc = configs_of(a, &cfg);
    if (rc)
        return rc;
    struct rb_kzk_assignment as = {0};
    struct rb_kzk_broker *bs = NULL;
    int nb = 0;
    rc = check_new_topic(z, a);
    if (rc) {
        rc = rc < 0 ? CTL_EXIT_OK : rc; /* -1: exists, --if-not-exists */
        goto out;
    }
    if (a->replica_assignment) {
        int32_t np, rf;
        if (ctl_parse_replica_assignment(a->replica_assignment, &as, &np, &rf, err, sizeof(err)) <
            0) {
            MSG(a, "--replica-assignment: %s\n", err);
            rc = CTL_EXIT_USAGE;
            goto out;
        }
    } else {
        rc = brokers_for(z, a, a->replication_factor, &bs, &nb);
        if (rc)
            goto out;
        if (rb_kzk_assignment_alloc(&as, a->partitions) < 0 ||
            rb_kzk_assign(bs, nb, a->replication_factor, 0, a->partitions, &as, rnd_random, NULL) <
                0) {
            MSG(a, "assigning %d partitions with replication factor %d to %d brokers failed\n",
                a->partitions, a->replication_factor, nb);
            rc = CTL_EXIT_FAIL;
            goto out;
        }
    }
    /* No topic_id: as TopicCommand, the controller adds it to the node. */
    char rel[512];
    char *cfg_json = rb_kzk_config_json(&cfg), *as_json = rb_kzk_assignment_json(&as, false);
    rc = cfg_json && as_json ? 0 : -ENOMEM;
    if (rc == 0) {
        snprintf(rel, sizeof(rel), "/config/topics/%s", a->topic);
        rc = put(z, rel, cfg_json);
    }
    if (rc == 0) {
        char full[1536];
        snprintf(rel, sizeof(rel), "/brokers/topics/%s", a->topic);
        ctl_zk_path(z, full, sizeof(full), "%s", rel);
        rc = rb_quorum_create(z->q, full, as_json, strlen(as_json), 0, NULL, 0);
        if (rc == -ENOENT) { /* no /brokers/topics yet: Kafka creates it */
            *strrchr(full, '/') = 0;
            rc = rb_quorum_create_parents(z->q, full);
            ctl_zk_path(z, full, sizeof(full), "%s", rel);
            if (rc == 0)
                rc = rb_quorum_create(z->q, full, as_json, strlen(as_json), 0, NULL, 0);
        }
    }
    free(cfg_json);
    free(as_json);
    if (rc == -EEXIST && a->if_not_exists) {
        rc = CTL_EXIT_OK;
    } else if (rc == -EEXIST) {
        MSG(a, "Topic '%s' already exists.\n", a->topic);
        rc = CTL_EXIT_FAIL;
    } else if (rc < 0) {
        rc = ctl_zk_fail(a, "writing the topic", rc);
    } else {
        printf("Created topic %s.\n", a->topic);
    }
out:
    rb_kzk_config_free(&cfg);
    rb_kzk_assignment_free(&as);
    free(bs);
    return rc;
}

/* --alter --partitions N: AdminZkClient.addPartitions. */
static int alter_topic(struct ctl_zk *z, const struct ctl_args *a)
{
    struct rb_kzk_assignment old, as = {0};
    int64_t version;
    int rc = read_assignment(z, a->topic, &old, &version);
    if (rc == -ENOENT) {
        if (a->if_exists)
            return CTL_EXIT_OK;
        MSG(a, "Topic '%s' does not exist as expected\n", a->topic);
        return CTL_EXIT_FAIL;
    }
    if (rc < 0)
        return ctl_zk_fail(a, "reading the topic's assignment", rc);
    struct rb_kzk_broker *bs = NULL;
    int nb = 0;
    char err[512];
    if (a->partitions <= old.n_partitions) {
        MSG(a,
            "The number of partitions for a topic can only be increased. Topic %s currently has "
            "%d partitions, %d would not be an increase.\n",
            a->topic, old.n_partitions, a->partitions);
        rc = CTL_EXIT_FAIL;
        goto out;
    }
    printf("WARNING: If partitions are increased for a topic that has a key, the partition logic "
           "or ordering of the messages will be affected\n");
    if (a->replica_assignment) {
        if (ctl_parse_replica_assignment(a->replica_assignment, &as, NULL, NULL, err, sizeof(err)) <
            0) {
            MSG(a, "--replica-assignment: %s\n", err);
            rc = CTL_EXIT_USAGE;
            goto out;
        }
    } else {
        rc = brokers_for(z, a, old.n_replicas[0], &bs, &nb);
        if (rc)
            goto out;
        /* the index of the first broker whose id >= partition 0's first replica */
        uint32_t start = 0;
        while ((int)start < nb && bs[start].id < old.replicas[0][0])
            start++;
        if ((int)start == nb)
            start = 0;
        if (rb_kzk_assignment_alloc(&as, a->partitions) < 0 ||
            rb_kzk_assign(bs, nb, old.n_replicas[0], old.n_partitions,
                          a->partitions - old.n_partitions, &as, rnd_fixed, &start) < 0) {
            MSG(a, "assigning the new partitions failed\n");
            rc = CTL_EXIT_FAIL;
            goto out;
        }
    }
    for (int32_t p = 0; p < old.n_partitions; p++) { /* the existing ones stay */
        as.n_replicas[p] = old.n_replicas[p];
        memcpy(as.replicas[p], old.replicas[p], sizeof(old.replicas[p]));
        as.n_adding[p] = old.n_adding[p]; /* a reassignment in progress goes on */
        memcpy(as.adding[p], old.adding[p], sizeof(old.adding[p]));
        as.n_removing[p] = old.n_removing[p];
        memcpy(as.removing[p], old.removing[p], sizeof(old.removing[p]));
    }
    as.has_id = old.has_id;
    memcpy(as.topic_id, old.topic_id, sizeof(as.topic_id));
    char *json = rb_kzk_assignment_json(&as, true), full[1536];
    rc = json ? rb_quorum_set(z->q,
                              ctl_zk_path(z, full, sizeof(full), "/brokers/topics/%s", a->topic),
                              json, strlen(json), version, NULL)
              : -ENOMEM;
    free(json);
    if (rc == -ESTALE) {
        MSG(a,
            "topic '%s' changed while its partitions were being added; nothing written, run "
            "again\n",
            a->topic);
        rc = CTL_EXIT_FAIL;
    } else if (rc < 0) {
        rc = ctl_zk_fail(a, "writing the new assignment", rc);
    } else {
        printf("Adding partitions succeeded!\n");
    }
out:
    rb_kzk_assignment_free(&old);
    rb_kzk_assignment_free(&as);
    free(bs);
    return rc;
}

/* Mark one topic for deletion (ZookeeperTopicService.deleteTopic's body). */
static int delete_one(struct ctl_zk *z, const struct ctl_args *a, const char *topic)
{
    char full[1536];
    if (ctl_topic_internal(topic)) {
        MSG(a, "Topic %s is a kafka internal topic and is not allowed to be marked for deletion.\n",
            topic);
        return CTL_EXIT_FAIL;
    }
    ctl_zk_path(z, full, sizeof(full), "/admin/delete_topics/%s", topic);
    int rc = rb_quorum_create(z->q, full, "", 0, 0, NULL, 0);
    if (rc == -ENOENT)
        rc = rb_quorum_create_parents(z->q, full);
    if (rc == -EEXIST) {
        printf("Topic %s is already marked for deletion.\n", topic);
        return CTL_EXIT_OK;
    }
    if (rc < 0)
        return ctl_zk_fail(a, "writing the deletion request", rc);
    printf("Topic %s is marked for deletion.\n", topic);
    printf("Note: This will have no impact if delete.topic.enable is not set to true.\n");
    return CTL_EXIT_OK;
}

/* --delete --topic T: every topic T matches (a regular expression, as Kafka's). */
static int delete_topics(struct ctl_zk *z, const struct ctl_args *a)
{
    char **names = NULL;
    int n = 0;
    int rc = topic_names(z, a, &names, &n);
    if (rc == -EINVAL)
        return CTL_EXIT_USAGE;
    if (rc < 0)
        return ctl_zk_fail(a, "reading /brokers/topics", rc);
    if (n == 0 && !a->if_exists) {
        MSG(a, "Topic '%s' does not exist as expected\n", a->topic);
        rc = CTL_EXIT_FAIL;
    }
    for (int i = 0; i < n && rc == 0; i++)
        rc = delete_one(z, a, names[i]);
    free(names);
    return rc;
}

int ctl_zk_topics(const struct ctl_args *a)
{
    struct ctl_zk z;
    int rc = ctl_zk_open(&z, a);
    if (rc)
        return rc;
    switch (a->action) {
    case CTL_TOPICS_CREATE:
        rc = create_topic(&z, a);
        break;
    case CTL_TOPICS_ALTER:
        rc = alter_topic(&z, a);
        break;
    case CTL_TOPICS_DELETE:
        rc = delete_topics(&z, a);
        break;
    default:
        rc = list_or_describe(&z, a);
        break;
    }
    ctl_zk_close(&z);
    return rc;
}
