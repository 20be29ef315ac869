/*
 * part/maint.c - per-shard log maintenance timers: checkpoint reports to the
 * coordination thread, retention, and segment file deletion off the shards (see
 * part/maint.h): given-up segments are renamed to *.deleted at once and unlinked
 * (or recycled) file.delete.delay.ms later (storage/log_retain.c), checked by the
 * delete timer at least once a second.
 *
 * Owns: the shard's three maintenance timers (struct rb_part_shard), and, on the
 * coordination thread, the latest checkpoint report of every shard.
 * Invariants: a report carries durable ends only (fdatasync'd), so a recovery point
 * never covers bytes that a crash can lose; the files are written only when every
 * shard has reported since startup, so no partition's entry goes missing. A
 * report also carries the leader epoch caches changed since the last one, written
 * (leader-epoch-checkpoint) before the recovery points: every epoch starting below
 * a recorded recovery point is in its file (storage/log_epoch.c walks batch
 * headers after a crash only from there); after a failed epoch write, recovery
 * points are no longer written until restart.
 * The high watermarks (replication-offset-checkpoint) ride on the same reports:
 * each partition's from its shard (rb_part_ckpt_hw), written at every complete
 * round, so deleted partitions leave the file at the next one.
 * Fault model: a checkpoint that cannot be written is logged and retried at the
 * next interval (the old file stays, which is safe: recovery points and high
 * watermarks only lag).
 */
#include "part/maint.h"

#include "core/config.h"
#include "core/file.h"
#include "core/logging.h"
#include "core/rb.h"
#include "core/shard.h"
#include "core/timer.h"
#include "part/part_int.h"
#include "storage/checkpoint.h"
#include "storage/epoch_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define COMP "logmaint"

struct maint_epochs {
    char *dir; /* the partition's */
    struct rb_epoch_cache c;
};

struct maint_report {
    int shard;
    const char *dir; /* the broker config's first log dir */
    struct rb_ckpt rp, ls, hw;
    bool full;               /* rp, ls and the epochs too (else the high watermarks only) */
    struct maint_epochs *ep; /* epoch caches changed since the last report */
    int n_ep, cap_ep;
    bool ep_lost; /* one could not be copied: the recovery points wait */
    bool cluster;
};

/* Coordination thread: an epoch file could not be written (logged once). */
static bool epochs_failed;

/* Coordination thread (and main thread after join): every shard's latest full
 * report, and its latest high watermarks (from any report). */
static struct maint_report *latest[RB_MAX_THREADS];
static struct maint_report *final_reports[RB_MAX_THREADS];
static struct rb_ckpt latest_hw[RB_MAX_THREADS];
static bool have_hw[RB_MAX_THREADS];

/* Checkpoint reports are never more frequent than this, whatever
 * log.flush.offset.checkpoint.interval.ms says (Kafka allows 1 ms): each report
 * makes the coordination thread write two files with fsyncs, and at 1 ms those
 * writes kept it busy enough to delay topic creation past clients' timeouts.
 * Recovery points only shorten recovery; 10 writes a second is plenty. */
#define CKPT_INTERVAL_MIN_MS 100

static int64_t cfg_ms(struct rb_part_shard *ps, const char *key, int64_t dflt)
{
    int64_t v;
    const char *s = ps->config ? rb_config_get(ps->config, key) : NULL;
    return s && !rb_parse_i64(s, 1, INT64_MAX / 4, &v) ? v : dflt;
}

static int64_t ckpt_interval_ms(struct rb_part_shard *ps)
{
    return RB_MAX((int64_t)CKPT_INTERVAL_MIN_MS,
                  cfg_ms(ps, "log.flush.offset.checkpoint.interval.ms", 60000));
}

/* replica.high.watermark.checkpoint.interval.ms (Kafka's 5000), same floor. */
static int64_t hw_interval_ms(struct rb_part_shard *ps)
{
    return RB_MAX((int64_t)CKPT_INTERVAL_MIN_MS,
                  cfg_ms(ps, "replica.high.watermark.checkpoint.interval.ms", 5000));
}

/* Reports go at the shorter of the two intervals; only one a
 * log.flush.offset.checkpoint.interval.ms is full (recovery points, log starts,
 * epoch caches): the others carry the high watermarks alone, so the epoch files
 * of new partitions are not written (one fsync each) every few seconds. */
static int64_t report_interval_ms(struct rb_part_shard *ps)
{
    return RB_MIN(ckpt_interval_ms(ps), hw_interval_ms(ps));
}

static bool in_cluster(const struct rb_part_shard *ps)
{
    return ps->bc && ps->bc->zookeeper_connect[0];
}

static void report_one(void *arg, struct rb_part *p)
{
    struct maint_report *r = arg;
    if (p->state == RB_PART_DROPPING)
        return;
    /* An offline log reports what it last knew (or what it was opened with), so a
     * corrupt partition stays detectable across restarts. */
    (void)rb_ckpt_add(&r->hw, p->topic, p->index, rb_part_ckpt_hw(p, r->cluster));
    if (!r->full)
        return;
    (void)rb_ckpt_add(&r->rp, p->topic, p->index, rb_log_durable_end(p->log));
    (void)rb_ckpt_add(&r->ls, p->topic, p->index, rb_log_start_offset(p->log));
    if (r->n_ep == r->cap_ep) {
        int cap = r->cap_ep ? r->cap_ep * 2 : 8;
        struct maint_epochs *ep = realloc(r->ep, (size_t)cap * sizeof(*ep));
        if (!ep) {
            r->ep_lost = true;
            return;
        }
        r->ep = ep;
        r->cap_ep = cap;
    }
    struct maint_epochs *e = &r->ep[r->n_ep];
    const char *dir;
    int got = rb_log_epochs_report(p->log, &e->c, &dir);
    if (got == 1 && (e->dir = strdup(dir))) {
        r->n_ep++;
    } else if (got != 0) {
        rb_epoch_cache_free(&e->c);
        r->ep_lost = true;
    }
}

static struct maint_report *build_report(struct rb_part_shard *ps, bool full)
{
    struct maint_report *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->shard = ps->shard->id;
    r->dir = ps->bc->n_log_dirs > 0 ? ps->bc->log_dirs[0] : ".";
    r->full = full;
    r->cluster = in_cluster(ps);
    rb_part_each(ps, report_one, r);
    return r;
}

static void report_free(struct maint_report *r)
{
    if (!r)
        return;
    rb_ckpt_free(&r->rp);
    rb_ckpt_free(&r->ls);
    rb_ckpt_free(&r->hw);
    for (int i = 0; i < r->n_ep; i++) {
        free(r->ep[i].dir);
        rb_epoch_cache_free(&r->ep[i].c);
    }
    free(r->ep);
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

/* The recovery points and log starts, once every shard made a full report. */
static void write_points(struct maint_report **reps, int n_shards, const char *dir)
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

/* r's high watermarks become its shard's latest (moved out of r). */
static void take_hw(struct maint_report *r)
{
    rb_ckpt_free(&latest_hw[r->shard]);
    latest_hw[r->shard] = r->hw;
    memset(&r->hw, 0, sizeof(r->hw));
    have_hw[r->shard] = true;
}

/* replication-offset-checkpoint, once every shard reported. Independent of the
 * epoch files (an old file only lags, which is safe). */
static void write_hw(int n_shards, const char *dir)
{
    struct rb_ckpt hw = {0};
    int err = 0;
    for (int i = 0; i < n_shards && !err; i++) {
        if (!have_hw[i])
            goto out;
        err = merge_into(&hw, &latest_hw[i]);
    }
    if (!err)
        err = rb_ckpt_write(dir, RB_CKPT_HIGH_WATERMARK, &hw);
    if (err)
        RB_WARN(COMP, "%s: cannot write %s: %s", dir, RB_CKPT_HIGH_WATERMARK, strerror(-err));
out:
    rb_ckpt_free(&hw);
}

/* Writes n changed epoch files durably, as a batch: every one as .tmp, one syncfs
 * per file system, the renames, one more syncfs (two syncs in all instead of two
 * fsyncs per file: 10,000 new partitions wrote for seconds). A partition deleted
 * meanwhile (-ENOENT) is skipped; any other failure is returned (the first) and
 * logged with its directory. Coordination thread or shutdown: blocking. */
static int write_epochs(struct maint_epochs *ep, int n)
{
    struct rb_fs_set fs = {0};
    int err = 0;
    for (int i = 0; i < n && !err; i++) {
        err = rb_fs_set_add(&fs, ep[i].dir);
        if (err == -ENOENT)
            err = 0;
        else if (err)
            RB_WARN(COMP, "%s: %s", ep[i].dir, strerror(-err));
    }
    for (int i = 0; i < n && !err; i++) {
        int e = rb_epoch_cache_write_tmp(&ep[i].c, ep[i].dir);
        if (e && e != -ENOENT) { /* -ENOENT: the partition was deleted meanwhile */
            RB_WARN(COMP, "%s: cannot write %s.tmp: %s", ep[i].dir, RB_EPOCH_CKPT_NAME,
                    strerror(-e));
            err = e;
        }
    }
    if (!err && n > 0)
        err = rb_fs_set_sync(&fs);
    for (int i = 0; i < n && !err; i++) {
        int e = rb_epoch_cache_publish_tmp(&ep[i].c, ep[i].dir);
        if (e && e != -ENOENT) {
            RB_WARN(COMP, "%s: cannot publish %s: %s", ep[i].dir, RB_EPOCH_CKPT_NAME, strerror(-e));
            err = e;
        }
    }
    if (!err && n > 0)
        err = rb_fs_set_sync(&fs);
    rb_fs_set_free(&fs);
    return err;
}

static void coord_take_report(struct rb_shard *cs, void *arg)
{
    struct maint_report *r = arg;
    take_hw(r);
    write_hw(cs->rt->n_shards, r->dir);
    /* Stopping: the shards' batched close writes every changed epoch file and the
     * shutdown the recovery points; an older copy published now could land over
     * the close's. */
    if (!r->full || atomic_load(&cs->rt->stopping)) {
        report_free(r);
        return;
    }
    if (!epochs_failed && r->n_ep > 0) {
        int err = write_epochs(r->ep, r->n_ep);
        if (err) {
            RB_WARN(COMP,
                    "%s: leader epoch files not written (%s): recovery points no "
                    "longer written",
                    r->dir, strerror(-err));
            epochs_failed = true;
        }
    }
    epochs_failed |= r->ep_lost;
    report_free(latest[r->shard]);
    latest[r->shard] = r;
    if (!epochs_failed)
        write_points(latest, cs->rt->n_shards, r->dir);
}

static void ckpt_fire(struct rb_timer *t)
{
    struct rb_part_shard *ps = RB_CONTAINER_OF(t, struct rb_part_shard, maint.ckpt);
    struct rb_shard *s = ps->shard;
    /* Stopping: the coordination thread may have left its loop already (the post
     * would leak), and rb_part_maint_finish leaves the final report anyway. */
    if (atomic_load(&s->rt->stopping))
        return;
    bool full = s->now_ms >= ps->maint.points_due_ms;
    if (full)
        ps->maint.points_due_ms = rb_deadline_after(s->now_ms, ckpt_interval_ms(ps));
    struct maint_report *r = build_report(ps, full);
    if (r)
        rb_post(s, s->rt->n_shards, coord_take_report, r);
    (void)rb_timer_arm(&s->timers, t, rb_deadline_after(s->now_ms, report_interval_ms(ps)));
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

void rb_part_maint_unlink(struct rb_part_shard *ps, struct rb_log_removed *rm)
{
    struct rb_shard *s = ps->shard;
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

static void retain_one(void *arg, struct rb_part *p)
{
    struct rb_log_removed rm;
    if (p->state == RB_PART_DROPPING || rb_part_check_offline(p) ||
        rb_log_retain(p->log, rb_wall_ms(), -1, &rm))
        return;
    rb_part_maint_unlink(arg, &rm);
}

static void ret_fire(struct rb_timer *t)
{
    struct rb_part_shard *ps = RB_CONTAINER_OF(t, struct rb_part_shard, maint.ret);
    struct rb_shard *s = ps->shard;
    rb_part_each(ps, retain_one, ps);
    (void)rb_timer_arm(&s->timers, t,
                       rb_deadline_after(s->now_ms, ps->bc->log_retention_check_interval_ms));
}

static int64_t del_period(struct rb_part_shard *ps)
{
    return RB_MIN((int64_t)1000, ps->bc->log_retention_check_interval_ms);
}

static void del_one(void *arg, struct rb_part *p)
{
    struct rb_log_removed rm;
    if (p->state == RB_PART_DROPPING)
        return;
    (void)rb_log_deleted_due(p->log, rb_wall_ms(), &rm); /* -ENOMEM: the rest waits */
    rb_part_maint_unlink(arg, &rm);
}

static void del_fire(struct rb_timer *t)
{
    struct rb_part_shard *ps = RB_CONTAINER_OF(t, struct rb_part_shard, maint.del);
    struct rb_shard *s = ps->shard;
    rb_part_each(ps, del_one, ps);
    (void)rb_timer_arm(&s->timers, t, rb_deadline_after(s->now_ms, del_period(ps)));
}

void rb_part_maint_turn(struct rb_part_shard *ps)
{
    struct rb_part_maint *m = &ps->maint;
    if (m->set)
        return;
    struct rb_shard *s = ps->shard;
    m->set = true;
    m->points_due_ms = rb_deadline_after(s->now_ms, ckpt_interval_ms(ps));
    rb_timer_init(&m->ckpt, ckpt_fire);
    rb_timer_init(&m->ret, ret_fire);
    rb_timer_init(&m->del, del_fire);
    (void)rb_timer_arm(&s->timers, &m->ckpt, rb_deadline_after(s->now_ms, report_interval_ms(ps)));
    (void)rb_timer_arm(&s->timers, &m->ret,
                       rb_deadline_after(s->now_ms, ps->bc->log_retention_check_interval_ms));
    (void)rb_timer_arm(&s->timers, &m->del, rb_deadline_after(s->now_ms, del_period(ps)));
}

void rb_part_maint_finish(struct rb_part_shard *ps)
{
    struct rb_part_maint *m = &ps->maint;
    struct rb_shard *s = ps->shard;
    if (m->set) {
        rb_timer_cancel(&s->timers, &m->ckpt);
        rb_timer_cancel(&s->timers, &m->ret);
        rb_timer_cancel(&s->timers, &m->del);
        m->set = false;
    }
    if (s->id >= 0 && s->id < RB_MAX_THREADS) {
        report_free(final_reports[s->id]);
        final_reports[s->id] = build_report(ps, true);
    }
}

void rb_part_maint_shutdown(struct rb_runtime *rt, const char *log_dir)
{
    struct maint_report *reps[RB_MAX_THREADS] = {0};
    for (int i = 0; i < rt->n_shards; i++)
        reps[i] = final_reports[i] ? final_reports[i] : latest[i];
    for (int i = 0; i < rt->n_shards; i++) /* the final reports' epochs, first */
        if (final_reports[i])
            (void)write_epochs(final_reports[i]->ep, final_reports[i]->n_ep);
    write_points(reps, rt->n_shards, log_dir);
    for (int i = 0; i < rt->n_shards; i++)
        if (final_reports[i])
            take_hw(final_reports[i]);
    write_hw(rt->n_shards, log_dir);
    for (int i = 0; i < RB_MAX_THREADS; i++) {
        report_free(final_reports[i]);
        report_free(latest[i]);
        final_reports[i] = latest[i] = NULL;
        rb_ckpt_free(&latest_hw[i]);
        have_hw[i] = false;
    }
}
