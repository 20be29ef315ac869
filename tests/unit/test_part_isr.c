/*
 * tests/unit/test_part_isr.c - part/isr.c on the simulated disk: the high
 * watermark from the ISR's positions, acks=all answered only once every ISR
 * member has the batch, min.insync.replicas before (NOT_ENOUGH_REPLICAS) and after
 * the append (NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank meanwhile), the
 * shrink proposed after replica.lag.time.max.ms, the expand once caught up, the
 * leadership lost answering waiters, the produce timeout (REQUEST_TIMED_OUT),
 * RF=1 unchanged, and the start from replication-offset-checkpoint's HW (clamped
 * to the log, once, leader and follower). This broker is id 0.
 */
#include "part_test_util.h"

TestSuite(part_isr, .init = pt_setup, .fini = pt_teardown);

static const int32_t rf3[3] = {0, 1, 2};

struct proposals {
    int n;
    int32_t isr[8][RB_PART_MAX_REPLICAS];
    int n_isr[8];
    int32_t add[8], remove[8], epoch[8];
};
static struct proposals props;

static void sink(void *arg, const struct rb_part_isr_change *c)
{
    struct proposals *pr = arg;
    cr_assert_lt(pr->n, 8);
    cr_assert_str_eq(c->topic, "t");
    memcpy(pr->isr[pr->n], c->isr, sizeof(int32_t) * (size_t)c->n_isr);
    pr->n_isr[pr->n] = c->n_isr;
    pr->add[pr->n] = c->add;
    pr->remove[pr->n] = c->remove;
    pr->epoch[pr->n] = c->leader_epoch;
    pr->n++;
}

static void set_isr(const int32_t *isr, int n_isr, int32_t min_insync)
{
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_set_isr(pt_ps, &k, rf3, 3, isr, n_isr, 7, min_insync), 0);
}

static int64_t hw(void)
{
    struct rb_part_key k = pt_key();
    int64_t h = -1;
    cr_assert_eq(rb_part_high_watermark(pt_ps, &k, &h), 0);
    return h;
}

static int64_t fetched(int32_t replica, int64_t offset)
{
    struct rb_part_key k = pt_key();
    int64_t h = -1;
    cr_assert_eq(rb_part_replica_fetched(pt_ps, &k, replica, offset, pt_shard.now_ms, &h), 0);
    cr_assert_eq(h, hw());
    return h;
}

static void leader(int32_t epoch)
{
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_set_role(pt_ps, &k, RB_PART_LEADER, epoch), 0);
}

static void setup_rf3(void)
{
    pt_setup();
    memset(&props, 0, sizeof(props));
    rb_part_set_isr_sink(pt_ps, sink, &props);
    leader(1);
}

TestSuite(part_isr3, .init = setup_rf3, .fini = pt_teardown);

Test(part_isr, rf1_acks_all_is_the_durable_append)
{
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(3, -1, -1, 1), -1);
    cr_assert_eq(aa.calls, 0);
    pt_flush();
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, 0);
    cr_assert_eq(hw(), 3);
    /* a replica set of one (RF=1 in a cluster) is the same */
    struct rb_part_key k = pt_key();
    const int32_t one[1] = {0};
    cr_assert_eq(rb_part_set_isr(pt_ps, &k, one, 1, one, 1, 0, 2), 0);
    pt_append(&a, &aa, pt_batch(2, -1, -1, 2), -1);
    pt_flush();
    cr_assert_eq(aa.calls, 2);
    cr_assert_eq(aa.error, 0, "min.insync.replicas does not apply without replicas");
    cr_assert_eq(hw(), 5);
    int64_t h;
    cr_assert_eq(rb_part_replica_fetched(pt_ps, &k, 1, 0, pt_shard.now_ms, &h), -ESRCH);
}

Test(part_isr3, hw_is_the_minimum_of_the_isr_positions)
{
    set_isr(rf3, 3, 2);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(5, -1, -1, 1), 1);
    pt_flush();
    cr_assert_eq(aa.calls, 1, "acks=1: the leader's durable append");
    cr_assert_eq(aa.error, 0);
    cr_assert_eq(hw(), 0, "no follower has fetched yet");
    cr_assert_eq(fetched(1, 5), 0, "replica 2's position is unknown");
    cr_assert_eq(fetched(2, 3), 3);
    cr_assert_eq(fetched(2, 5), 5);
    cr_assert_eq(fetched(1, 5), 5);
    /* the HW never moves back, and stays <= the leader's written end */
    pt_append(&a, &aa, pt_batch(2, -1, -1, 2), 1);
    cr_assert_eq(fetched(1, 5), 5);
    struct rb_part_key k = pt_key();
    int64_t h;
    cr_assert_eq(rb_part_replica_fetched(pt_ps, &k, 1, 8, pt_shard.now_ms, &h), -ERANGE);
    cr_assert_eq(rb_part_replica_fetched(pt_ps, &k, 9, 5, pt_shard.now_ms, &h), -ESRCH);
    cr_assert_eq(rb_part_replica_fetched(pt_ps, &k, 0, 5, pt_shard.now_ms, &h), -ESRCH);
    pt_flush();
    cr_assert_eq(fetched(1, 7), 5);
    cr_assert_eq(fetched(2, 7), 7);
}

Test(part_isr3, acks_all_waits_for_every_isr_member)
{
    set_isr(rf3, 3, 2);
    struct rb_part_append a, b;
    struct pt_answer aa = {0}, ab = {0};
    pt_append(&a, &aa, pt_batch(2, -1, -1, 1), -1);
    pt_append(&b, &ab, pt_batch(3, -1, -1, 2), -1);
    pt_flush();
    cr_assert_eq(aa.calls + ab.calls, 0, "durable on the leader only");
    fetched(1, 5);
    cr_assert_eq(aa.calls + ab.calls, 0, "replica 2 has nothing yet");
    fetched(2, 2);
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, 0);
    cr_assert_eq(ab.calls, 0, "replica 2 has only the first batch");
    fetched(2, 5);
    cr_assert_eq(ab.calls, 1);
    cr_assert_eq(ab.error, 0);
    cr_assert_eq(b.base_offset, 2);
}

Test(part_isr3, not_enough_replicas_before_the_append)
{
    const int32_t isr1[1] = {0};
    set_isr(isr1, 1, 2);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(2, -1, -1, 1), -1);
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, RB_KERR_NOT_ENOUGH_REPLICAS);
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_log_end_offset(rb_part_get(pt_ps, &k)->log), 0, "appended although refused");
    pt_append(&a, &aa, pt_batch(2, -1, -1, 1), 1); /* acks=1 does not care */
    pt_flush();
    cr_assert_eq(aa.calls, 2);
    cr_assert_eq(aa.error, 0);
    cr_assert_eq(hw(), 2, "the ISR is the leader alone");
}

Test(part_isr3, isr_shrinking_while_waiting_is_not_enough_after_append)
{
    set_isr(rf3, 3, 2);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(2, -1, -1, 1), -1);
    pt_flush();
    fetched(1, 0);
    fetched(2, 0);
    cr_assert_eq(aa.calls, 0);
    const int32_t isr1[1] = {0};
    set_isr(isr1, 1, 2); /* both followers dropped out (applied from the quorum) */
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, RB_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    cr_assert_eq(hw(), 2);
}

Test(part_isr3, a_leader_stepping_down_answers_its_waiters)
{
    set_isr(rf3, 3, 2);
    struct rb_part_append a, b;
    struct pt_answer aa = {0}, ab = {0};
    pt_append(&a, &aa, pt_batch(2, -1, -1, 1), -1);
    pt_flush();
    pt_append(&b, &ab, pt_batch(2, -1, -1, 2), -1); /* not durable yet */
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_set_role(pt_ps, &k, RB_PART_FOLLOWER, 2), 0);
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, RB_KERR_NOT_LEADER_OR_FOLLOWER);
    pt_flush();
    cr_assert_eq(ab.calls, 1);
    cr_assert_eq(ab.error, RB_KERR_NOT_LEADER_OR_FOLLOWER);
    int64_t h;
    cr_assert_eq(rb_part_replica_fetched(pt_ps, &k, 1, 0, pt_shard.now_ms, &h), -EPERM);
}

Test(part_isr3, shrink_after_the_lag_time)
{
    pt_ps->replica_lag_ms = 1000;
    set_isr(rf3, 3, 2);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(2, -1, -1, 1), -1);
    pt_flush();
    fetched(1, 2); /* caught up */
    fetched(2, 0); /* behind */
    int64_t t0 = pt_shard.now_ms;
    pt_shard.now_ms = t0 + 900;
    fetched(1, 2);
    rb_timers_run(&pt_shard.timers, pt_shard.now_ms);
    cr_assert_eq(props.n, 0, "within the lag time");
    pt_shard.now_ms = t0 + 1600;
    fetched(1, 2);
    rb_timers_run(&pt_shard.timers, pt_shard.now_ms);
    cr_assert_eq(props.n, 1, "replica 2 lagged for the lag time");
    cr_assert_eq(props.remove[0], 2);
    cr_assert_eq(props.add[0], -1);
    cr_assert_eq(props.epoch[0], 1);
    cr_assert_eq(props.n_isr[0], 2);
    cr_assert_eq(props.isr[0][0], 0);
    cr_assert_eq(props.isr[0][1], 1);
    cr_assert_eq(aa.calls, 0, "the HW waits for the shrink to be applied");
    pt_shard.now_ms = t0 + 2200;
    fetched(1, 2);
    rb_timers_run(&pt_shard.timers, pt_shard.now_ms);
    cr_assert_eq(props.n, 1, "proposed again while the first is in flight");
    const int32_t isr2[2] = {0, 1};
    set_isr(isr2, 2, 2); /* the quorum applied it */
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, 0);
    cr_assert_eq(hw(), 2);
}

Test(part_isr3, a_follower_that_keeps_reaching_the_previous_end_stays)
{
    pt_ps->replica_lag_ms = 1000;
    set_isr(rf3, 3, 1);
    int64_t t0 = pt_shard.now_ms;
    struct rb_part_append a;
    struct pt_answer aa = {0};
    for (int i = 1; i <= 6; i++) {
        /* new data between every fetch: never at the end, always at the previous one */
        pt_append(&a, &aa, pt_batch(1, -1, -1, (uint32_t)i), 1);
        pt_flush();
        pt_shard.now_ms = t0 + i * 400;
        fetched(1, i - 1);
        fetched(2, i - 1);
        rb_timers_run(&pt_shard.timers, pt_shard.now_ms);
    }
    cr_assert_eq(props.n, 0, "a follower keeping up with the previous fetch's end left");
}

Test(part_isr3, expand_once_caught_up_to_the_hw)
{
    const int32_t isr2[2] = {0, 1};
    set_isr(isr2, 2, 1);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(4, -1, -1, 1), -1);
    pt_flush();
    fetched(1, 4);
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(hw(), 4);
    fetched(2, 3);
    cr_assert_eq(props.n, 0, "behind the HW");
    fetched(2, 4);
    cr_assert_eq(props.n, 1);
    cr_assert_eq(props.add[0], 2);
    cr_assert_eq(props.remove[0], -1);
    cr_assert_eq(props.n_isr[0], 3);
    fetched(2, 4);
    cr_assert_eq(props.n, 1, "proposed twice");
    /* while the add is in flight the HW counts replica 2 already */
    pt_append(&a, &aa, pt_batch(1, -1, -1, 2), -1);
    pt_flush();
    fetched(1, 5);
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(hw(), 4);
    set_isr(rf3, 3, 1);
    fetched(2, 5);
    cr_assert_eq(aa.calls, 2);
    cr_assert_eq(hw(), 5);
}

Test(part_isr3, a_new_leader_forgets_the_positions)
{
    set_isr(rf3, 3, 1);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(2, -1, -1, 1), 1);
    pt_flush();
    fetched(1, 2);
    fetched(2, 2);
    cr_assert_eq(hw(), 2);
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_set_role(pt_ps, &k, RB_PART_FOLLOWER, 2), 0);
    leader(3);
    pt_append(&a, &aa, pt_batch(2, -1, -1, 2), 1);
    pt_flush();
    cr_assert_eq(fetched(1, 4), 2, "replica 2's position before the new epoch counted");
    cr_assert_eq(fetched(2, 4), 4);
}

Test(part_isr3, acks_all_not_replicated_in_time_is_request_timed_out)
{
    set_isr(rf3, 3, 2);
    struct rb_part_append a, b, c;
    struct pt_answer aa = {0}, ab = {0}, ac = {0};
    /* pt_append zeroes the item; the deadline starts when the flush parks it */
    pt_append(&a, &aa, pt_batch(1, -1, -1, 1), -1);
    a.timeout_ms = 5000;
    pt_append(&b, &ab, pt_batch(1, -1, -1, 2), -1);
    b.timeout_ms = 500;
    pt_append(&c, &ac, pt_batch(1, -1, -1, 3), -1);
    pt_flush(); /* all three durable: parked on the ISR list */
    cr_assert_eq(aa.calls + ab.calls + ac.calls, 0);
    int64_t t0 = pt_shard.now_ms;
    pt_shard.now_ms = t0 + 600;
    rb_timers_run(&pt_shard.timers, pt_shard.now_ms);
    cr_assert_eq(ab.calls, 1, "b's 500 ms passed");
    cr_assert_eq(ab.error, RB_KERR_REQUEST_TIMED_OUT);
    cr_assert_eq(aa.calls + ac.calls, 0, "a has 5 s, c no bound");
    fetched(1, 3);
    fetched(2, 1);
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, 0);
    pt_shard.now_ms = t0 + 6000;
    rb_timers_run(&pt_shard.timers, pt_shard.now_ms);
    cr_assert_eq(ac.calls, 0, "no timeout_ms: no bound");
    fetched(2, 3);
    cr_assert_eq(ac.calls, 1);
    cr_assert_eq(ac.error, 0);
    cr_assert_eq(ab.calls, 1, "answered twice");
}

Test(part_isr3, a_new_epoch_of_the_same_leader_keeps_the_positions)
{
    set_isr(rf3, 3, 1);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(4, -1, -1, 1), 1);
    pt_flush();
    fetched(1, 4);
    cr_assert_eq(fetched(2, 1), 1);
    leader(2); /* the controller bumped the epoch (a dead broker left the ISR) */
    cr_assert_eq(fetched(2, 4), 4, "replica 1's position was forgotten");
}

Test(part_isr3, joining_needs_the_epoch_start)
{
    const int32_t isr2[2] = {0, 1};
    set_isr(isr2, 2, 1);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(4, -1, -1, 1), 1);
    pt_flush();
    cr_assert_eq(fetched(1, 1), 1);
    leader(2); /* this epoch starts at offset 4 */
    cr_assert_eq(fetched(2, 2), 1);
    cr_assert_eq(props.n, 0, "past the HW but before the epoch start");
    fetched(2, 4);
    cr_assert_eq(props.n, 1);
    cr_assert_eq(props.add[0], 2);
    cr_assert_eq(props.epoch[0], 2);
}

Test(part_isr3, a_new_leader_starts_from_its_follower_hw_never_above_its_log)
{
    set_isr(rf3, 3, 1);
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_set_role(pt_ps, &k, RB_PART_FOLLOWER, 1), 0);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    leader(1); /* its records, written as a leader (follow.c appends for real) */
    pt_append(&a, &aa, pt_batch(5, -1, -1, 1), 1);
    pt_flush();
    cr_assert_eq(rb_part_set_role(pt_ps, &k, RB_PART_FOLLOWER, 2), 0);
    cr_assert_eq(rb_part_follower_hw(pt_ps, &k, 3), 0);
    cr_assert_eq(hw(), 3);
    cr_assert_eq(rb_part_follower_hw(pt_ps, &k, 9), 0);
    cr_assert_eq(hw(), 5, "above the follower's own log");
    cr_assert_eq(rb_part_follower_hw(pt_ps, &k, 2), 0);
    cr_assert_eq(hw(), 2, "a follower's HW follows the leader's, also back");
    rb_part_get(pt_ps, &k)->repl->hw = 9; /* as if its log was truncated below it */
    leader(3);
    cr_assert_eq(hw(), 5);
    pt_append(&a, &aa, pt_batch(4, -1, -1, 2), 1);
    pt_flush();
    cr_assert_eq(hw(), 5, "records no follower has are exposed");
    fetched(1, 9);
    cr_assert_eq(fetched(2, 9), 9);
    cr_assert_eq(rb_part_follower_hw(pt_ps, &k, 9), -EPERM, "the leader's HW is its own");
}

Test(part_isr3, stopping_answers_acks_all_waiters_retriable)
{
    set_isr(rf3, 3, 1);
    struct rb_part_append a, b;
    struct pt_answer aa = {0}, ab = {0};
    pt_append(&a, &aa, pt_batch(1, -1, -1, 1), -1);
    pt_flush();                                     /* parked on the ISR list */
    pt_append(&b, &ab, pt_batch(1, -1, -1, 2), -1); /* not durable yet */
    atomic_store(&pt_rt.stopping, true);
    rb_part_answer_waiters(pt_ps);
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, RB_KERR_NOT_LEADER_OR_FOLLOWER);
    cr_assert_eq(ab.calls, 0);
    pt_flush(); /* the last flush: not parked for followers that will not come */
    cr_assert_eq(ab.calls, 1);
    cr_assert_eq(ab.error, RB_KERR_NOT_LEADER_OR_FOLLOWER);
    atomic_store(&pt_rt.stopping, false);
}

/* ---- the high watermark from replication-offset-checkpoint ---- */

/* t-0 closed and opened again as after a restart, its checkpointed HW hw (-1:
 * none), adopted with no role yet (a cluster broker before its first snapshot). */
static void reopen_with_ckpt_hw(int64_t ckpt_hw)
{
    struct rb_log *log = NULL;
    cr_assert(rb_part_drop(pt_ps, "t", 1, 0, &log));
    rb_log_close(log);
    struct rb_log_config c;
    pt_log_config(&c, 1);
    c.high_watermark = ckpt_hw;
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/t-0", pt_dir);
    cr_assert_eq(rb_log_open(&log, dir, &c, rb_disk_sim_disk(pt_sim), 1000), 0);
    uint8_t id[16] = {1};
    cr_assert_eq(rb_part_add(pt_ps, pt_topic, id, 0, log), 0);
}

static struct rb_part *part(void)
{
    struct rb_part_key k = pt_key();
    return rb_part_get(pt_ps, &k);
}

static void five_records_then_restart(int64_t ckpt_hw)
{
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(5, -1, -1, 1), -1);
    pt_flush();
    cr_assert_eq(aa.calls, 1);
    reopen_with_ckpt_hw(ckpt_hw);
    cr_assert_eq(rb_log_end_offset(part()->log), 5);
}

Test(part_isr, restarted_leader_serves_the_checkpointed_hw_at_once)
{
    five_records_then_restart(3);
    /* before the snapshot the checkpoint keeps the old value, not the log end */
    cr_assert_eq(rb_part_ckpt_hw(part(), true), 3);
    cr_assert_eq(rb_part_ckpt_hw(part(), false), 5, "standalone: the written end");
    leader(2);
    set_isr(rf3, 3, 1);
    cr_assert_eq(hw(), 3, "no follower fetched yet: the checkpointed HW, not 0");
    cr_assert_eq(rb_part_ckpt_hw(part(), true), 3);
    cr_assert_eq(fetched(1, 5), 3, "replica 2's position is unknown");
    cr_assert_eq(fetched(2, 4), 4);
    cr_assert_eq(fetched(2, 5), 5);
    cr_assert_eq(rb_part_ckpt_hw(part(), true), 5);
}

Test(part_isr, checkpointed_hw_is_clamped_to_the_log)
{
    five_records_then_restart(99); /* the log lost its tail (or the file lies) */
    cr_assert_eq(rb_log_checkpoint_hw(part()->log), 5);
    cr_assert_eq(rb_part_ckpt_hw(part(), true), 5);
    leader(2);
    set_isr(rf3, 3, 1);
    cr_assert_eq(hw(), 5, "never above the log end");
}

Test(part_isr, no_checkpointed_hw_starts_at_the_log_start)
{
    five_records_then_restart(-1);
    cr_assert_eq(rb_log_checkpoint_hw(part()->log), -1);
    cr_assert_eq(rb_part_ckpt_hw(part(), true), 0, "a cluster partition: the log start");
    leader(2);
    set_isr(rf3, 3, 1);
    cr_assert_eq(hw(), 0, "as before: the ISR's first fetches move it");
}

Test(part_isr, follower_starts_from_the_checkpointed_hw_then_the_leaders)
{
    five_records_then_restart(4);
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_set_role(pt_ps, &k, RB_PART_FOLLOWER, 2), 0);
    const int32_t r102[3] = {1, 0, 2};
    cr_assert_eq(rb_part_set_isr(pt_ps, &k, r102, 3, r102, 3, 7, 1), 0);
    cr_assert_eq(hw(), 4);
    cr_assert_eq(rb_part_follower_hw(pt_ps, &k, 2), 0);
    cr_assert_eq(hw(), 2, "the leader's HW, as is");
}

Test(part_isr, checkpointed_hw_is_taken_once)
{
    five_records_then_restart(3);
    leader(2);
    set_isr(rf3, 3, 1);
    cr_assert_eq(hw(), 3);
    struct rb_part_key k = pt_key();
    const int32_t one[1] = {0};
    cr_assert_eq(rb_part_set_isr(pt_ps, &k, one, 1, one, 1, 8, 1), 0);
    cr_assert_eq(hw(), 5, "RF=1: the written end");
    cr_assert_eq(rb_part_ckpt_hw(part(), true), 5);
    cr_assert(part()->ckpt_hw_taken, "a later replica set starts from its own HW");
}
