/*
 * tests/unit/part_test_util.h - a partition layer on a shard without a ring, for
 * the part/ tests (test_part_*.c): a zeroed struct rb_shard with its timers and a
 * runtime that is not stopping, one struct rb_part_shard, and partition "t"-0 on a
 * log over the simulated disk (storage/disk_sim.h), whose completions the test
 * delivers (rb_disk_sim_run). rb_part_turn's maintenance timers are marked armed so
 * that a turn only starts flushes.
 */
#ifndef RB_TESTS_PART_TEST_UTIL_H
#define RB_TESTS_PART_TEST_UTIL_H

#include "core/config.h"
#include "core/kerr.h"
#include "core/rb.h"
#include "part/part.h"
#include "part/part_int.h"
#include "storage/disk_sim.h"
#include "storage/log.h"
#include "storage_test_util.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char pt_dir[64];
static struct rb_disk_sim *pt_sim;
static struct rb_runtime pt_rt;
static struct rb_shard pt_shard;
static struct rb_broker_config pt_bc;
static struct rb_part_shard *pt_ps;
static uint8_t pt_buf[65536];
static const char *const pt_topic = "t";

static int pt_rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void pt_log_config(struct rb_log_config *c, int64_t flush_messages)
{
    rb_log_config_defaults(c);
    c->segment_bytes = 1 << 20;
    c->prealloc_bytes = 64 << 10;
    c->chunk_bytes = 16 << 10;
    c->max_dirty_bytes = 256 << 10;
    c->flush_messages = flush_messages;
}

static struct rb_log *pt_open_log(int64_t flush_messages)
{
    struct rb_log_config c;
    pt_log_config(&c, flush_messages);
    struct rb_log *log = NULL;
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/t-0", pt_dir);
    (void)mkdir(dir, 0755);
    cr_assert_eq(rb_log_open(&log, dir, &c, rb_disk_sim_disk(pt_sim), 1000), 0);
    return log;
}

static void pt_setup(void)
{
    snprintf(pt_dir, sizeof(pt_dir), "/tmp/rb-ut-part.XXXXXX");
    cr_assert_not_null(mkdtemp(pt_dir));
    cr_assert_eq(rb_disk_sim_new(&pt_sim), 0);
    memset(&pt_rt, 0, sizeof(pt_rt));
    memset(&pt_shard, 0, sizeof(pt_shard));
    pt_rt.n_shards = 1;
    pt_rt.n_threads = 2;
    pt_shard.rt = &pt_rt;
    pt_shard.now_ms = rb_mono_ms();
    rb_timers_init(&pt_shard.timers);
    memset(&pt_bc, 0, sizeof(pt_bc));
    pt_bc.log_tail_cache_bytes = 1 << 20;
    pt_bc.log_retention_check_interval_ms = 300000;
    pt_ps = rb_part_shard_new(&pt_shard, NULL, &pt_bc);
    cr_assert_not_null(pt_ps);
    pt_shard.part = pt_ps;
    pt_ps->maint.set = true; /* no maintenance timers in these tests */
    uint8_t id[16] = {1};
    cr_assert_eq(rb_part_add(pt_ps, pt_topic, id, 0, pt_open_log(1)), 0);
}

static void pt_teardown(void)
{
    pt_ps->maint.set = false;
    rb_part_finish(pt_ps);
    rb_part_shard_free(pt_ps);
    rb_timers_free(&pt_shard.timers);
    rb_disk_sim_free(pt_sim);
    nftw(pt_dir, pt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static struct rb_part_key pt_key(void)
{
    return (struct rb_part_key){pt_topic, 1, 0};
}

/* A batch of nrec records (producer_id -1: not idempotent); returns its size. */
static uint32_t pt_batch(int nrec, int64_t producer_id, int32_t base_seq, uint32_t seed)
{
    struct tu_batch_spec s = {.nrec = nrec,
                              .base_ts = rb_wall_ms(),
                              .producer_id = producer_id,
                              .base_seq = base_seq,
                              .value_bytes = 100,
                              .seed = seed};
    return (uint32_t)tu_build(pt_buf, &s);
}

struct pt_answer {
    int calls;
    int16_t error;
};

static void pt_answered(struct rb_shard *s, struct rb_part_item *it, void *arg)
{
    struct pt_answer *a = arg;
    (void)s;
    a->calls++;
    a->error = it->error;
}

/* a: an append of rec's len bytes to "t"-0; ans counts its answers. */
RB_UNUSED static void pt_append_init(struct rb_part_append *a, struct pt_answer *ans,
                                     const uint8_t *rec, uint32_t len, int16_t acks)
{
    memset(a, 0, sizeof(*a));
    a->it.key = pt_key();
    a->it.done = pt_answered;
    a->it.done_arg = ans;
    a->records = rec;
    a->len = len;
    a->acks = acks;
    a->max_bytes = 1 << 20;
}

/* Append the len bytes of pt_buf to "t"-0 as a; ans counts its answers. */
static void pt_append(struct rb_part_append *a, struct pt_answer *ans, uint32_t len, int16_t acks)
{
    pt_append_init(a, ans, pt_buf, len, acks);
    rb_part_append(pt_ps, a);
}

/* One loop turn's flush plus every disk completion it leads to. */
static void pt_flush(void)
{
    rb_part_turn(pt_ps);
    rb_disk_sim_run(pt_sim);
}

#endif
