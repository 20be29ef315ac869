/*
 * tests/unit/test_standalone.c - coord/standalone.c on a real runtime (2 shards +
 * the coordination thread) with trivial coord hooks: the shards only record the
 * updates they apply, keep the logs they adopt and hand back the ones dropped.
 *
 * The test thread cannot post, so shard 0 polls a one-slot mailbox from a 2 ms
 * timer and issues the create/delete there; `done` (run back on shard 0) flips
 * an atomic the test waits for, with a bound.
 */
#include "coord/coord.h"
#include "coord/metadata.h"
#include "coord/standalone_int.h"
#include "core/kerr.h"
#include "core/logging.h"
#include "storage/log.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_SHARDS 2
#define WAIT_MS  15000
#define MAX_LOGS 64

struct held_log {
    char topic[256];
    int32_t index;
    struct rb_log *log;
};

struct shard_state {
    struct rb_metadata *md;
    struct held_log logs[MAX_LOGS];
    int n_logs;
    int applied;
    int reconfigured; /* updates that asked for a log reconfiguration */
};

static struct rb_runtime rt;
static struct rb_config *cfg;
static struct rb_coord *coord;
static struct shard_state st[N_SHARDS];
static char dir[64];
static atomic_int errors;
static char first_error[256];

static void note_error(const char *what, int a)
{
    if (atomic_fetch_add(&errors, 1) == 0)
        snprintf(first_error, sizeof(first_error), "%s (%d)", what, a);
}

/* ---- coord hooks ---- */

static void hold(struct shard_state *ss, const struct rb_topic_meta *t, int32_t index,
                 struct rb_log *log)
{
    if (ss->n_logs == MAX_LOGS) {
        note_error("too many logs", ss->n_logs);
        return;
    }
    struct held_log *h = &ss->logs[ss->n_logs++];
    snprintf(h->topic, sizeof(h->topic), "%s", t->name);
    h->index = index;
    h->log = log;
}

static void adopt_initial(void *ctx, int shard, const struct rb_topic_meta *t, int32_t index,
                          struct rb_log *log)
{
    if (shard < 0 || shard >= N_SHARDS || t->partitions[index].shard != shard)
        note_error("initial log for a bad shard", shard);
    hold(&st[shard], t, index, log);
}

static void install_initial(void *ctx, int shard, struct rb_metadata *md)
{
    rb_metadata_unref(st[shard].md);
    st[shard].md = md;
}

static void apply(struct rb_shard *s, struct rb_md_update *u)
{
    struct shard_state *ss = &st[s->id];
    if (s->is_coord || rb_self() != s)
        note_error("apply not on a shard thread", s->id);
    rb_metadata_unref(ss->md);
    ss->md = u->md;
    for (int k = 0; k < u->n_adopt; k++) {
        const struct rb_partition_handoff *a = &u->adopt[k];
        if (a->topic->partitions[a->index].shard != s->id || !a->log)
            note_error("adopt on the wrong shard or without log", s->id);
        hold(ss, a->topic, a->index, a->log);
    }
    for (int k = 0; k < u->n_drop; k++) {
        struct rb_partition_handoff *d = &u->drop[k];
        for (int i = 0; i < ss->n_logs; i++)
            if (strcmp(ss->logs[i].topic, d->topic->name) == 0 && ss->logs[i].index == d->index) {
                d->log = ss->logs[i].log;
                ss->logs[i] = ss->logs[--ss->n_logs];
                break;
            }
        if (!d->log)
            note_error("drop of a log this shard does not hold", s->id);
    }
    ss->applied++;
    ss->reconfigured += u->reconfigure;
    rb_coord_update_applied(s, u);
}

static void shard_finish(struct rb_shard *s)
{
    if (s->is_coord)
        return;
    struct shard_state *ss = &st[s->id];
    for (int i = 0; i < ss->n_logs; i++)
        rb_log_close(ss->logs[i].log);
    ss->n_logs = 0;
    rb_metadata_unref(ss->md);
    ss->md = NULL;
}

/* ---- mailbox on shard 0 ---- */

struct cmd {
    bool is_delete;
    struct rb_topic_spec *specs;
    struct rb_topic_delete *dels;
    struct rb_config_change *chs; /* AlterConfigs */
    int n;
    bool validate_only;
    atomic_int done;
    int done_on; /* thread that ran done */
};

static _Atomic(struct cmd *) mailbox;
static struct rb_timer poll_timer;

static void cmd_done(struct rb_shard *s, void *arg)
{
    struct cmd *c = arg;
    c->done_on = s->id;
    atomic_store(&c->done, 1);
}

static void poll_fire(struct rb_timer *t)
{
    struct rb_shard *s = rb_self();
    struct cmd *c = atomic_exchange(&mailbox, NULL);
    if (c && c->chs)
        rb_coord_alter_configs(s, c->chs, c->n, c->validate_only, cmd_done, c);
    else if (c && c->is_delete)
        rb_coord_delete_topics(s, c->dels, c->n, cmd_done, c);
    else if (c)
        rb_coord_create_topics(s, c->specs, c->n, c->validate_only, cmd_done, c);
    rb_timer_arm(&s->timers, t, s->now_ms + 2);
}

static int shard0_start(struct rb_shard *s)
{
    rb_timer_init(&poll_timer, poll_fire);
    return rb_timer_arm(&s->timers, &poll_timer, s->now_ms + 2);
}

static void run_cmd(struct cmd *c)
{
    atomic_store(&c->done, 0);
    c->done_on = -1;
    atomic_store(&mailbox, c);
    int64_t end = rb_mono_ms() + WAIT_MS;
    while (!atomic_load(&c->done) && rb_mono_ms() < end)
        usleep(1000);
    cr_assert(atomic_load(&c->done), "coord operation did not complete");
    cr_assert_eq(c->done_on, 0, "done ran on thread %d, not the calling shard", c->done_on);
}

static void create(struct rb_topic_spec *specs, int n)
{
    struct cmd c = {.specs = specs, .n = n};
    run_cmd(&c);
}

static void delete_topics(struct rb_topic_delete *dels, int n)
{
    struct cmd c = {.is_delete = true, .dels = dels, .n = n};
    run_cmd(&c);
}

/* ---- setup ---- */

static char *extra_ov[4]; /* more overrides for the next open_all */
static int n_extra;

static void open_all(void)
{
    char err[512] = "", o1[128];
    snprintf(o1, sizeof(o1), "log.dirs=%s", dir);
    char *ov[8] = {o1, "num.partitions=3", "log.preallocate.step.bytes=1048576",
                   "log.index.size.max.bytes=65536"};
    for (int i = 0; i < n_extra; i++)
        ov[4 + i] = extra_ov[i];
    cr_assert_eq(rb_config_load(&cfg, NULL, NULL, 4 + n_extra, ov, err, sizeof(err)), 0, "%s", err);
    memset(st, 0, sizeof(st));
    cr_assert_eq(rb_runtime_init(&rt, N_SHARDS, 256), 0);
    for (int i = 0; i < rt.n_threads; i++)
        rt.t[i]->hooks.finish = shard_finish;
    rt.t[0]->hooks.start = shard0_start;
    struct rb_coord_hooks h = {
        .adopt_initial = adopt_initial, .install_initial = install_initial, .apply = apply};
    int r = rb_coord_standalone_open(&coord, cfg, &rt, &h, err, sizeof(err));
    cr_assert_eq(r, 0, "open: %d %s", r, err);
    cr_assert_eq(rb_runtime_start(&rt), 0);
}

static void close_all(void)
{
    rb_runtime_request_stop(&rt);
    rb_runtime_join(&rt); /* the suite's .timeout bounds this */
    rb_coord_close(coord);
    coord = NULL;
    rb_runtime_free(&rt);
    rb_config_free(cfg);
    cfg = NULL;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void setup(void)
{
    rb_loglevel_max = RB_LL_ERROR;
    n_extra = 0;
    snprintf(dir, sizeof(dir), "/tmp/rb-test-standalone-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(standalone, .init = setup, .fini = teardown, .timeout = 120);

static char *slurp(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return strdup(buf);
}

static bool exists(const char *name)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &sb) == 0;
}

static struct rb_topic_spec spec(const char *name, int32_t np, int16_t rf)
{
    struct rb_topic_spec s;
    memset(&s, 0, sizeof(s));
    s.name = name;
    s.n_partitions = np;
    s.replication_factor = rf;
    return s;
}

static void check_no_errors(void)
{
    cr_assert_eq(atomic_load(&errors), 0, "%s", first_error);
}

/* ---- tests ---- */

Test(standalone, fresh_dir_files)
{
    open_all();
    char *mp = slurp("meta.properties");
    cr_assert_not_null(mp);
    cr_assert_not_null(strstr(mp, "version=1\n"));
    cr_assert_not_null(strstr(mp, "node.id=0\n"));
    const char *cid = strstr(mp, "cluster.id=");
    cr_assert_not_null(cid);
    cr_assert_eq(strcspn(cid + 11, "\n"), 22, "cluster.id is not a 22-char id");
    cr_assert_not_null(strstr(mp, "directory.id="));
    char *md = slurp("ringbroker-metadata");
    cr_assert_not_null(md);
    cr_assert_eq(strncmp(md, "ringbroker-metadata 1\ncluster.id ", 33), 0, "%s", md);
    cr_assert_eq(strncmp(md + 33, cid + 11, 22), 0, "cluster ids differ");
    for (int i = 0; i < N_SHARDS; i++) {
        cr_assert_not_null(st[i].md);
        cr_assert_eq(st[i].md->n_topics, 0);
    }
    close_all();
    free(mp);
    free(md);
}

Test(standalone, create_topics_and_errors)
{
    open_all();
    const char *keys[] = {"retention.ms", "cleanup.policy"};
    const char *vals[] = {"3600000", "delete"};
    const char *bad_vals[] = {"not-a-number"};
    struct rb_topic_spec s[7];
    s[0] = spec("orders", -1, -1);
    s[0].n_configs = 2;
    s[0].config_keys = keys;
    s[0].config_values = vals;
    s[1] = spec("events", 5, 1);
    s[2] = spec("bad name", 1, 1);
    s[3] = spec("zero", 0, 1);
    s[4] = spec("rf3", 1, 3);
    s[5] = spec("badcfg", 1, 1);
    s[5].n_configs = 1;
    s[5].config_keys = keys;
    s[5].config_values = bad_vals;
    s[6] = spec("..", 1, 1);
    create(s, 7);
    cr_assert_eq(s[0].error, 0, "%s", s[0].error_message);
    cr_assert_eq(s[0].n_partitions_out, 3, "num.partitions default");
    cr_assert_eq(s[0].replication_factor_out, 1);
    cr_assert_eq(s[1].error, 0, "%s", s[1].error_message);
    cr_assert_eq(s[1].n_partitions_out, 5);
    cr_assert_eq(s[2].error, RB_KERR_INVALID_TOPIC_EXCEPTION);
    cr_assert_eq(s[3].error, RB_KERR_INVALID_PARTITIONS);
    cr_assert_eq(s[4].error, RB_KERR_INVALID_REPLICATION_FACTOR);
    cr_assert_eq(s[5].error, RB_KERR_INVALID_CONFIG);
    cr_assert_eq(s[6].error, RB_KERR_INVALID_TOPIC_EXCEPTION);
    for (int i = 2; i < 7; i++)
        cr_assert_neq(s[i].error_message[0], 0, "spec %d has no message", i);
    /* Ids: random, non-zero, distinct, version 4. */
    uint8_t zero[16] = {0};
    cr_assert_neq(memcmp(s[0].topic_id, zero, 16), 0);
    cr_assert_neq(memcmp(s[1].topic_id, zero, 16), 0);
    cr_assert_neq(memcmp(s[0].topic_id, s[1].topic_id, 16), 0);
    /* Every shard applied the new snapshot before done. */
    for (int i = 0; i < N_SHARDS; i++) {
        cr_assert_eq(st[i].applied, 1, "shard %d applied %d", i, st[i].applied);
        const struct rb_metadata *md = st[i].md;
        cr_assert_eq(md->n_topics, 2);
        cr_assert_null(rb_metadata_topic(md, "zero", 4));
        const struct rb_topic_meta *t = rb_metadata_topic(md, "orders", 6);
        cr_assert_not_null(t);
        cr_assert_arr_eq(t->id, s[0].topic_id, 16);
        cr_assert_str_eq(rb_topic_config(t, "retention.ms"), "3600000");
        cr_assert_str_eq(rb_topic_config(t, "cleanup.policy"), "delete");
    }
    /* Placement: 8 partitions spread evenly over 2 shards; logs adopted where placed. */
    int per_shard[N_SHARDS] = {0};
    const struct rb_metadata *md = st[0].md;
    for (int32_t i = 0; i < md->n_topics; i++)
        for (int32_t p = 0; p < md->topics[i].n_partitions; p++) {
            int sh = md->topics[i].partitions[p].shard;
            cr_assert(sh >= 0 && sh < N_SHARDS);
            per_shard[sh]++;
            cr_assert_eq(md->topics[i].partitions[p].leader, 0);
        }
    cr_assert_eq(per_shard[0], 4);
    cr_assert_eq(per_shard[1], 4);
    cr_assert_eq(st[0].n_logs, 4);
    cr_assert_eq(st[1].n_logs, 4);
    check_no_errors();

    /* Duplicate of an existing topic; a duplicate within one request. */
    struct rb_topic_spec d[3];
    d[0] = spec("orders", 1, 1);
    d[1] = spec("fresh", 1, 1);
    d[2] = spec("fresh", 1, 1);
    create(d, 3);
    cr_assert_eq(d[0].error, RB_KERR_TOPIC_ALREADY_EXISTS);
    cr_assert_eq(d[1].error, 0);
    cr_assert_neq(d[2].error, 0);
    cr_assert_eq(st[0].md->n_topics, 3);

    /* Partition dirs and their partition.metadata. */
    char b64[23], want[64], name[64];
    rb_uuid_to_base64(s[1].topic_id, b64);
    snprintf(want, sizeof(want), "version: 0\ntopic_id: %s\n", b64);
    for (int p = 0; p < 5; p++) {
        snprintf(name, sizeof(name), "events-%d/partition.metadata", p);
        char *pm = slurp(name);
        cr_assert_not_null(pm, "%s missing", name);
        cr_assert_str_eq(pm, want);
        free(pm);
    }
    cr_assert(!exists("events-5"));
    cr_assert(!exists("zero-0"));
    cr_assert(!exists("bad name-0"));
    /* The metadata file lists the topics with their ids and configs. */
    char *mf = slurp("ringbroker-metadata");
    cr_assert_not_null(mf);
    snprintf(want, sizeof(want), "topic events %s 5 ", b64);
    cr_assert_not_null(strstr(mf, want), "%s", mf);
    cr_assert_not_null(strstr(mf, "config orders retention.ms 3600000\n"), "%s", mf);
    cr_assert_null(strstr(mf, "badcfg"));
    free(mf);
    close_all();
}

Test(standalone, validate_only_changes_nothing)
{
    open_all();
    struct rb_topic_spec s[1] = {spec("dry", 2, 1)};
    struct cmd c = {.specs = s, .n = 1, .validate_only = true};
    run_cmd(&c);
    cr_assert_eq(s[0].error, 0);
    cr_assert_eq(s[0].n_partitions_out, 2);
    cr_assert_eq(st[0].md->n_topics, 0);
    cr_assert(!exists("dry-0"));
    close_all();
}

Test(standalone, reopen_restores_topics)
{
    open_all();
    const char *keys[] = {"retention.ms", "compression.type"};
    const char *vals[] = {"1000", "lz4"};
    struct rb_topic_spec s[2] = {spec("a.topic", 3, 1), spec("b_topic", 4, 1)};
    s[1].n_configs = 2;
    s[1].config_keys = keys;
    s[1].config_values = vals;
    create(s, 2);
    cr_assert_eq(s[0].error, 0, "%s", s[0].error_message);
    cr_assert_eq(s[1].error, 0, "%s", s[1].error_message);
    int16_t place[2][4];
    for (int i = 0; i < 2; i++) {
        const struct rb_topic_meta *t = rb_metadata_topic(st[0].md, s[i].name, strlen(s[i].name));
        for (int p = 0; p < t->n_partitions; p++)
            place[i][p] = t->partitions[p].shard;
    }
    char *mp1 = slurp("meta.properties");
    close_all();

    open_all();
    char *mp2 = slurp("meta.properties");
    cr_assert_str_eq(mp1, mp2, "meta.properties rewritten on reopen");
    free(mp1);
    free(mp2);
    cr_assert_eq(st[0].n_logs + st[1].n_logs, 7, "every partition log reopened");
    for (int sh = 0; sh < N_SHARDS; sh++) {
        const struct rb_metadata *md = st[sh].md;
        cr_assert_eq(md->n_topics, 2);
        for (int i = 0; i < 2; i++) {
            const struct rb_topic_meta *t = rb_metadata_topic(md, s[i].name, strlen(s[i].name));
            cr_assert_not_null(t);
            cr_assert_arr_eq(t->id, s[i].topic_id, 16);
            cr_assert_eq(t->n_partitions, i ? 4 : 3);
            for (int p = 0; p < t->n_partitions; p++)
                cr_assert_eq(t->partitions[p].shard, place[i][p], "%s-%d moved", t->name, p);
        }
        const struct rb_topic_meta *b = rb_metadata_topic(md, "b_topic", 7);
        cr_assert_str_eq(rb_topic_config(b, "retention.ms"), "1000");
        cr_assert_str_eq(rb_topic_config(b, "compression.type"), "lz4");
        cr_assert_null(rb_topic_config(rb_metadata_topic(md, "a.topic", 7), "retention.ms"));
    }
    for (int sh = 0; sh < N_SHARDS; sh++)
        for (int i = 0; i < st[sh].n_logs; i++) {
            const struct rb_topic_meta *t =
                rb_metadata_topic(st[sh].md, st[sh].logs[i].topic, strlen(st[sh].logs[i].topic));
            cr_assert_eq(t->partitions[st[sh].logs[i].index].shard, sh);
        }
    /* Still there: a new topic after reopen is a duplicate check against loaded ones. */
    struct rb_topic_spec d[1] = {spec("a.topic", 1, 1)};
    create(d, 1);
    cr_assert_eq(d[0].error, RB_KERR_TOPIC_ALREADY_EXISTS);
    check_no_errors();
    close_all();
}

Test(standalone, second_open_of_locked_dir_fails)
{
    open_all();
    struct rb_runtime rt2;
    cr_assert_eq(rb_runtime_init(&rt2, 1, 64), 0);
    struct rb_coord *c2 = NULL;
    char err[512] = "";
    struct rb_coord_hooks h = {
        .adopt_initial = adopt_initial, .install_initial = install_initial, .apply = apply};
    cr_assert_lt(rb_coord_standalone_open(&c2, cfg, &rt2, &h, err, sizeof(err)), 0);
    cr_assert_neq(err[0], 0);
    for (int i = 0; i < rt2.n_threads; i++) {
        close(rt2.t[i]->stop_efd);
        for (int j = 0; j < rt2.n_threads; j++)
            free(rt2.t[i]->inbox[j]);
        free(rt2.t[i]);
    }
    close_all();
}

Test(standalone, delete_topic_removes_it_and_its_dirs)
{
    open_all();
    struct rb_topic_spec s[2] = {spec("gone", 3, 1), spec("kept", 1, 1)};
    create(s, 2);
    cr_assert_eq(s[0].error, 0);
    cr_assert(exists("gone-0") && exists("gone-2"));
    struct rb_topic_delete d[3];
    memset(d, 0, sizeof(d));
    d[0].name = "gone";
    d[1].name = "never-was";
    d[2].name = NULL; /* by id: unknown */
    memset(d[2].topic_id, 0x5a, 16);
    delete_topics(d, 3);
    cr_assert_eq(d[0].error, 0);
    cr_assert_str_eq(d[0].name_out, "gone");
    cr_assert_arr_eq(d[0].topic_id, s[0].topic_id, 16);
    cr_assert_eq(d[1].error, RB_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_assert_eq(d[2].error, RB_KERR_UNKNOWN_TOPIC_ID);
    for (int sh = 0; sh < N_SHARDS; sh++) {
        cr_assert_null(rb_metadata_topic(st[sh].md, "gone", 4));
        cr_assert_not_null(rb_metadata_topic(st[sh].md, "kept", 4));
    }
    cr_assert_eq(st[0].n_logs + st[1].n_logs, 1);
    for (int p = 0; p < 3; p++) {
        char name[32];
        snprintf(name, sizeof(name), "gone-%d", p);
        cr_assert(!exists(name), "%s still exists", name);
    }
    cr_assert(exists("kept-0"));
    char *mf = slurp("ringbroker-metadata");
    cr_assert_null(strstr(mf, "topic gone "));
    cr_assert_not_null(strstr(mf, "topic kept "));
    free(mf);
    /* Delete by id. */
    struct rb_topic_delete d2[1];
    memset(d2, 0, sizeof(d2));
    memcpy(d2[0].topic_id, s[1].topic_id, 16);
    delete_topics(d2, 1);
    cr_assert_eq(d2[0].error, 0);
    cr_assert_str_eq(d2[0].name_out, "kept");
    cr_assert_eq(st[0].md->n_topics, 0);
    cr_assert(!exists("kept-0"));
    /* The name is free again. */
    struct rb_topic_spec again[1] = {spec("gone", 1, 1)};
    create(again, 1);
    cr_assert_eq(again[0].error, 0, "%s", again[0].error_message);
    cr_assert_neq(memcmp(again[0].topic_id, s[0].topic_id, 16), 0, "id reused");
    check_no_errors();
    close_all();
    /* And after a restart the deleted topics stay deleted. */
    open_all();
    cr_assert_eq(st[0].md->n_topics, 1);
    cr_assert_null(rb_metadata_topic(st[0].md, "kept", 4));
    close_all();
}

/* ---- dynamic broker configs ---- */

static struct rb_config_change broker_change(int32_t id, int n, const char **k, const char **v,
                                             int8_t *ops)
{
    return (struct rb_config_change){
        .topic = "", .broker = true, .broker_id = id, .n = n, .keys = k, .values = v, .ops = ops};
}

static void alter(struct rb_config_change *ch, int n, bool validate_only)
{
    struct cmd c = {.chs = ch, .n = n, .validate_only = validate_only};
    run_cmd(&c);
}

Test(standalone, dynamic_broker_configs_apply_persist_and_refuse)
{
    open_all();
    const char *k[] = {"log.retention.ms", "log.segment.bytes"}, *v[] = {"1000", "20000"};
    int8_t ops[] = {RB_CFG_SET, RB_CFG_SET};
    struct rb_config_change ch[1] = {broker_change(-1, 2, k, v, ops)};
    alter(ch, 1, true); /* validate_only: nothing changes */
    cr_assert_eq(ch[0].error, 0, "%s", ch[0].error_message);
    cr_assert_eq(st[0].md->n_dyn_configs, 0);
    alter(ch, 1, false);
    cr_assert_eq(ch[0].error, 0, "%s", ch[0].error_message);
    for (int sh = 0; sh < N_SHARDS; sh++) {
        const struct rb_metadata *md = st[sh].md;
        cr_assert_eq(st[sh].reconfigured, 1);
        cr_assert_str_eq(rb_metadata_dyn_config(md, -1, "log.retention.ms"), "1000");
        cr_assert_eq(rb_config_broker(md->config)->log_retention_ms, 1000);
        cr_assert_eq(rb_config_broker(md->config)->log_segment_bytes, 20000);
    }
    cr_assert_eq(rb_config_broker(cfg)->log_segment_bytes, 1073741824, "static config changed");
    /* per-broker value over the default; a read-only key refuses the whole resource */
    const char *k2[] = {"message.max.bytes", "num.partitions"}, *v2[] = {"7000", "4"};
    struct rb_config_change ch2[1] = {broker_change(0, 2, k2, v2, ops)};
    alter(ch2, 1, false);
    cr_assert_eq(ch2[0].error, RB_KERR_INVALID_REQUEST);
    cr_assert_str_eq(ch2[0].error_message,
                     "Cannot update these configs dynamically: [num.partitions]");
    cr_assert_null(rb_metadata_dyn_config(st[0].md, 0, "message.max.bytes"));
    ch2[0] = broker_change(0, 1, k2, v2, ops);
    alter(ch2, 1, false);
    cr_assert_eq(ch2[0].error, 0, "%s", ch2[0].error_message);
    cr_assert_eq(rb_config_broker(st[1].md->config)->message_max_bytes, 7000);
    /* DELETE of the default's segment size falls back to the static value */
    int8_t del[] = {RB_CFG_DELETE};
    const char *k3[] = {"log.segment.bytes"}, *v3[] = {NULL};
    struct rb_config_change ch3[1] = {broker_change(-1, 1, k3, v3, del)};
    alter(ch3, 1, false);
    cr_assert_eq(ch3[0].error, 0, "%s", ch3[0].error_message);
    cr_assert_eq(rb_config_broker(st[0].md->config)->log_segment_bytes, 1073741824);
    cr_assert_eq(rb_config_broker(st[0].md->config)->log_retention_ms, 1000);
    char *file = slurp("ringbroker-metadata");
    cr_assert(strstr(file, "broker-config default log.retention.ms 1000\n"), "%s", file);
    cr_assert(strstr(file, "broker-config 0 message.max.bytes 7000\n"), "%s", file);
    cr_assert_null(strstr(file, "log.segment.bytes"), "%s", file);
    free(file);
    check_no_errors();
    close_all();

    open_all(); /* the dynamic configs come back, applied */
    for (int sh = 0; sh < N_SHARDS; sh++) {
        cr_assert_eq(rb_config_broker(st[sh].md->config)->log_retention_ms, 1000);
        cr_assert_eq(rb_config_broker(st[sh].md->config)->message_max_bytes, 7000);
        cr_assert_str_eq(rb_config_source(st[sh].md->config, "message.max.bytes"),
                         "dynamic-broker");
    }
    check_no_errors();
    close_all();
}

/* ---- partition limits and rollback ---- */

Test(standalone, partition_limits_refuse_before_anything_is_created)
{
    extra_ov[0] = "max.partitions=10";
    extra_ov[1] = "max.partitions.per.topic=6";
    n_extra = 2;
    open_all();
    struct rb_topic_spec s[4];
    s[0] = spec("a", 6, 1);
    s[1] = spec("b", 7, 1);
    s[2] = spec("c", 5, 1);
    s[3] = spec("d", 4, 1);
    create(s, 4);
    cr_assert_eq(s[0].error, 0, "%s", s[0].error_message);
    cr_assert_eq(s[1].error, RB_KERR_INVALID_PARTITIONS, "over max.partitions.per.topic");
    cr_assert_not_null(strstr(s[1].error_message, "max.partitions.per.topic"), "%s",
                       s[1].error_message);
    cr_assert_eq(s[2].error, RB_KERR_POLICY_VIOLATION, "6 + 5 > max.partitions");
    cr_assert_not_null(strstr(s[2].error_message, "max.partitions=10"), "%s", s[2].error_message);
    cr_assert_eq(s[3].error, 0, "6 + 4 = max.partitions: %s", s[3].error_message);
    cr_assert(!exists("b-0") && !exists("c-0"), "nothing created for a refused topic");
    cr_assert(exists("a-5") && exists("d-3"));
    struct rb_topic_spec more = spec("e", 1, 1);
    create(&more, 1);
    cr_assert_eq(more.error, RB_KERR_POLICY_VIOLATION, "the broker is full");
    cr_assert(!exists("e-0"));
    cr_assert_eq(st[0].md->n_topics, 2);
    check_no_errors();
    close_all();
}

Test(standalone, failed_creation_is_rolled_back_whole)
{
    open_all();
    /* Partition 2 of "roll" cannot be created: a file sits where its dir goes. */
    char path[512];
    snprintf(path, sizeof(path), "%s/roll-2", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    struct rb_topic_spec s[2];
    s[0] = spec("roll", 4, 1);
    s[1] = spec("fine", 2, 1);
    create(s, 2);
    cr_assert_eq(s[0].error, RB_KERR_KAFKA_STORAGE_ERROR);
    cr_assert_neq(s[0].error_message[0], 0);
    cr_assert_eq(s[1].error, 0, "%s", s[1].error_message);
    cr_assert(!exists("roll-0") && !exists("roll-1") && !exists("roll-3"),
              "the partitions created before the failure are removed");
    cr_assert(exists("roll-2"), "not ours: left alone");
    cr_assert(exists("fine-0") && exists("fine-1"));
    for (int i = 0; i < N_SHARDS; i++) {
        cr_assert_null(rb_metadata_topic(st[i].md, "roll", 4));
        cr_assert_not_null(rb_metadata_topic(st[i].md, "fine", 4));
    }
    char *md = slurp("ringbroker-metadata");
    cr_assert_null(strstr(md, "topic roll "), "%s", md);
    cr_assert_not_null(strstr(md, "topic fine "), "%s", md);
    free(md);
    check_no_errors();
    close_all();
    open_all();
    cr_assert_null(rb_metadata_topic(st[0].md, "roll", 4), "gone after a restart too");
    cr_assert_not_null(rb_metadata_topic(st[0].md, "fine", 4));
    check_no_errors();
    close_all();
}

/* ---- the metadata file's text (fuzz_mdfile found these) ---- */

static struct rb_metadata *parse_text(const char *text, int *r, char *err, size_t errlen)
{
    struct rb_metadata *md = calloc(1, sizeof(*md));
    cr_assert_not_null(md);
    atomic_init(&md->refs, 1);
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    cr_assert_not_null(f);
    *r = rb_coord_parse_file(coord, f, "test", md, err, errlen);
    fclose(f);
    return md;
}

Test(standalone, long_config_values_survive_the_metadata_file)
{
    open_all();
    static char text[8192], value[2048];
    memset(value, '%', 1500); /* 4500 bytes once percent-encoded */
    snprintf(text, sizeof(text),
             "ringbroker-metadata 1\ncluster.id x\ntopic a AAAAAAAAAAAAAAAAAAAAAA 1 0\n"
             "config a k %s\nbroker-config default b %s\n",
             "%25%25", "%25");
    int r;
    char err[256] = "";
    struct rb_metadata *md = parse_text(text, &r, err, sizeof(err));
    cr_assert_eq(r, 0, "%s", err);
    free(md->topics[0].configs[0].value);
    md->topics[0].configs[0].value = strdup(value);
    free(md->dyn_configs[0].value);
    md->dyn_configs[0].value = strdup(value);
    char *out;
    size_t len;
    cr_assert_eq(rb_coord_format_file(md, &out, &len), 0);
    struct rb_metadata *md2 = parse_text(out, &r, err, sizeof(err));
    cr_assert_eq(r, 0, "%s", err);
    cr_assert_str_eq(md2->topics[0].configs[0].value, value, "the topic config was cut");
    cr_assert_str_eq(md2->dyn_configs[0].value, value, "the broker config was cut");
    free(out);
    rb_metadata_free(md);
    rb_metadata_free(md2);
    close_all();
}

Test(standalone, metadata_file_lines_that_would_misplace_partitions_are_refused)
{
    open_all();
    const char *bad[] = {
        "topic ../x AAAAAAAAAAAAAAAAAAAAAA 1 0\n",                                  /* a path */
        "topic a AAAAAAAAAAAAAAAAAAAAAA 1 0\ntopic a AAAAAAAAAAAAAAAAAAAAAA 1 0\n", /* twice */
        "topic a AAAAAAAAAAAAAAAAAAAAAA 2 0,x\n",                                   /* shard */
        "topic a AAAAAAAAAAAAAAAAAAAAAA 1 -3\n",
        "topic a AAAAAAAAAAAAAAAAAAAAAA 1 99999999999\n",
        "topic a AAAAAAAAAAAAAAAAAAAAAA 3x 0\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512], err[256] = "";
        snprintf(text, sizeof(text), "ringbroker-metadata 1\ncluster.id x\n%s", bad[i]);
        int r;
        struct rb_metadata *md = parse_text(text, &r, err, sizeof(err));
        cr_assert_eq(r, -EINVAL, "accepted: %s", bad[i]);
        cr_assert_not_null(strstr(err, "test:"), "%s", err);
        rb_metadata_free(md);
    }
    close_all();
}
