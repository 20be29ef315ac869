/*
 * net/log_maint.c - per-shard log maintenance timers: checkpoint reports to the
 * coordination thread, retention, and segment file deletion off the shards (see
 * log_maint.h): given-up segments are renamed to *.deleted at once and unlinked
 * (or recycled) file.delete.delay.ms later (storage/log_retain.c), checked by the
 * delete timer at least once a second.
 *
 * Owns: the shard's three maintenance timers (thread-local), and, on the
 * coordination thread, the latest checkpoint report of every shard.
 * Invariants: a report carries durable ends only (fdatasync'd), so a recovery point
 * never covers bytes that a crash can lose; the files are written only when every
 * shard has reported since startup, so no partition's entry goes missing.
 * Fault model: a checkpoint that cannot be written is logged and retried at the
 * next interval (the old file stays, which is safe: recovery points only lag).
 */
#include "net/log_maint.h"

#include "core/config.h"
#include "core/logging.h"
#include "core/rb.h"
#include "core/shard.h"
#include "core/timer.h"
#include "net/partition.h"
#include "storage/checkpoint.h"

#include <stdlib.h>
#include <string.h>

#define COMP "logmaint"

struct maint_report {
    int shard;
    const char *dir; /* the broker config's first log dir */
    struct rb_ckpt rp, ls;
};

static __thread struct rb_timer ckpt_timer, ret_timer, del_timer;
static __thread bool timers_set;

/* Coordination thread (and main thread after join). */
static struct maint_report *latest[RB_MAX_THREADS];
static struct maint_report *final_reports[RB_MAX_THREADS];

static int64_t cfg_ms(struct rb_net *n, const char *key, int64_t dflt)
{
    int64_t v;
    const char *s = rb_config_get(n->b->config, key);
    return s && !rb_parse_i64(s, 1, INT64_MAX / 4, &v) ? v : dflt;
}

static void report_one(void *arg, const char *topic, int32_t index, struct rb_log *log)
{
    struct maint_report *r = arg;
    /* An offline log reports what it last knew (or what it was opened with), so a
     * corrupt partition stays detectable across restarts. */
    (void)rb_ckpt_add(&r->rp, topic, index, rb_log_durable_end(log));
    (void)rb_ckpt_add(&r->ls, topic, index, rb_log_start_offset(log));
}

static struct maint_report *build_report(struct rb_net *n)
{
    struct maint_report *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->shard = n->shard->id;
    r->dir = n->b->bc->n_log_dirs > 0 ? n->b->bc->log_dirs[0] : ".";
    rb_ptable_each(&n->parts, report_one, r);
    return r;
}

static void report_free(struct maint_report *r)
{
    if (!r)
        return;
    rb_ckpt_free(&r->rp);
    rb_ckpt_free(&r->ls);
    free(r);
}

static int merge_into(struct rb_ckpt *dst, const struct rb_ckpt *src)
{
    for (int i = 0; i < src->n; i++) {
        int err = rb_ckpt_add(dst, src->e[i].topic, src->e[i].partition, src->e[i].offset);
        if (err)
            return err;
    }
    return 0;
}

static void write_files(struct maint_report **reps, int n_shards, const char *dir)
{
    struct rb_ckpt rp = {0}, ls = {0};
    int err = 0;
    for (int i = 0; i < n_shards && !err; i++) {
        if (!reps[i])
            goto out; /* not every shard has reported yet */
        err = merge_into(&rp, &reps[i]->rp);
        if (!err)
            err = merge_into(&ls, &reps[i]->ls);
    }
    if (!err)
        err = rb_ckpt_write(dir, RB_CKPT_RECOVERY_POINT, &rp);
    if (!err)
        err = rb_ckpt_write(dir, RB_CKPT_LOG_START, &ls);
    if (err)
        RB_WARN(COMP, "%s: cannot write checkpoints: %s", dir, strerror(-err));
out:
    rb_ckpt_free(&rp);
    rb_ckpt_free(&ls);
}

static void coord_take_report(struct rb_shard *cs, void *arg)
{
    struct maint_report *r = arg;
    report_free(latest[r->shard]);
    latest[r->shard] = r;
    write_files(latest, cs->rt->n_shards, r->dir);
}

static void ckpt_fire(struct rb_timer *t)
{
    struct rb_shard *s = rb_self();
    struct rb_net *n = s->net;
    /* Stopping: the coordination thread may have left its loop already (the post
     * would leak), and rb_log_maint_finish leaves the final report anyway. */
    if (atomic_load(&s->rt->stopping))
        return;
    struct maint_report *r = build_report(n);
    if (r)
        rb_post(s, s->rt->n_shards, coord_take_report, r);
    (void)rb_timer_arm(&s->timers, t,
                       s->now_ms + cfg_ms(n, "log.flush.offset.checkpoint.interval.ms", 60000));
}

static void coord_unlink(struct rb_shard *cs, void *arg)
{
    struct rb_log_removed *rm = arg;
    (void)cs;
    if (rm->kind == RB_RM_UNLINK_DELETED)
        RB_INFO(COMP, "%s: removing %d deleted segment(s) after file.delete.delay.ms%s", rm->dir,
                rm->n, rm->keep_first_log ? " (one recycled)" : "");
    else
        RB_INFO(COMP, "%s: deleting %d segment(s) below the log start offset", rm->dir, rm->n);
    rb_log_removed_unlink(rm);
    free(rm);
}

void rb_log_maint_unlink(struct rb_shard *s, struct rb_log_removed *rm)
{
    if (rm->n == 0) {
        rb_log_removed_free(rm);
        return;
    }
    struct rb_log_removed *copy = malloc(sizeof(*copy));
    if (!copy) {
        rb_log_removed_free(rm); /* the files stay; a later open finds them again */
        return;
    }
    *copy = *rm;
    memset(rm, 0, sizeof(*rm));
    rb_post(s, s->rt->n_shards, coord_unlink, copy);
}

static void retain_one(void *arg, const char *topic, int32_t index, struct rb_log *log)
{
    struct rb_shard *s = arg;
    struct rb_log_removed rm;
    (void)topic;
    (void)index;
    if (rb_log_offline(log) || rb_log_retain(log, rb_wall_ms(), -1, &rm))
        return;
    rb_log_maint_unlink(s, &rm);
}

static void ret_fire(struct rb_timer *t)
{
    struct rb_shard *s = rb_self();
    struct rb_net *n = s->net;
    rb_ptable_each(&n->parts, retain_one, s);
    (void)rb_timer_arm(&s->timers, t, s->now_ms + n->b->bc->log_retention_check_interval_ms);
}

static int64_t del_period(struct rb_net *n)
{
    return RB_MIN((int64_t)1000, n->b->bc->log_retention_check_interval_ms);
}

static void del_one(void *arg, const char *topic, int32_t index, struct rb_log *log)
{
    struct rb_shard *s = arg;
    struct rb_log_removed rm;
    (void)topic;
    (void)index;
    (void)rb_log_deleted_due(log, rb_wall_ms(), &rm); /* -ENOMEM: the rest waits */
    rb_log_maint_unlink(s, &rm);
}

static void del_fire(struct rb_timer *t)
{
    struct rb_shard *s = rb_self();
    struct rb_net *n = s->net;
    rb_ptable_each(&n->parts, del_one, s);
    (void)rb_timer_arm(&s->timers, t, s->now_ms + del_period(n));
}

void rb_log_maint_turn(struct rb_net *n)
{
    if (timers_set)
        return;
    struct rb_shard *s = n->shard;
    timers_set = true;
    rb_timer_init(&ckpt_timer, ckpt_fire);
    rb_timer_init(&ret_timer, ret_fire);
    rb_timer_init(&del_timer, del_fire);
    (void)rb_timer_arm(&s->timers, &ckpt_timer,
                       s->now_ms + cfg_ms(n, "log.flush.offset.checkpoint.interval.ms", 60000));
    (void)rb_timer_arm(&s->timers, &ret_timer,
                       s->now_ms + n->b->bc->log_retention_check_interval_ms);
    (void)rb_timer_arm(&s->timers, &del_timer, s->now_ms + del_period(n));
}

void rb_log_maint_finish(struct rb_net *n)
{
    struct rb_shard *s = n->shard;
    if (timers_set) {
        rb_timer_cancel(&s->timers, &ckpt_timer);
        rb_timer_cancel(&s->timers, &ret_timer);
        rb_timer_cancel(&s->timers, &del_timer);
        timers_set = false;
    }
    if (s->id >= 0 && s->id < RB_MAX_THREADS) {
        report_free(final_reports[s->id]);
        final_reports[s->id] = build_report(n);
    }
}

void rb_log_maint_shutdown(struct rb_runtime *rt, const char *log_dir)
{
    struct maint_report *reps[RB_MAX_THREADS] = {0};
    for (int i = 0; i < rt->n_shards; i++)
        reps[i] = final_reports[i] ? final_reports[i] : latest[i];
    write_files(reps, rt->n_shards, log_dir);
    for (int i = 0; i < RB_MAX_THREADS; i++) {
        report_free(final_reports[i]);
        report_free(latest[i]);
        final_reports[i] = latest[i] = NULL;
    }
}
