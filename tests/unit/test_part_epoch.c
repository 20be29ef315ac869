/*
 * tests/unit/test_part_epoch.c - part/epoch.c: the leader's epoch stamped into
 * appended batches, OffsetForLeaderEpoch answers from the log's epoch cache,
 * KIP-320 fencing (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH) on OffsetForLeaderEpoch,
 * ListOffsets and Fetch reads, on leaders and followers, rb_part_truncate_to
 * (producer state rebuilt, high watermark, appends after it) and the follower's
 * truncation decision (rb_part_diverged).
 */
#include "core/endian.h"
#include "part_test_util.h"

TestSuite(part_epoch, .init = pt_setup, .fini = pt_teardown);

static struct rb_part *part(void)
{
    struct rb_part_key k = pt_key();
    return rb_part_get(pt_ps, &k);
}

/* acks=1 append of nrec records (producer pid from seq; -1: plain), flushed. */
static int64_t produce(int nrec, int64_t pid, int32_t seq, uint32_t seed)
{
    struct rb_part_append a;
    struct pt_answer ans = {0};
    pt_append(&a, &ans, pt_batch(nrec, pid, seq, seed), 1);
    pt_flush();
    cr_assert_eq(ans.calls, 1);
    cr_assert_eq(ans.error, 0, "append error %d", ans.error);
    return a.base_offset;
}

static int32_t epoch_of_batch_at(int64_t off)
{
    uint8_t buf[65536];
    uint32_t len = 0;
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_read_copy(pt_ps, &k, off, rb_log_end_offset(part()->log), 1 << 16, buf,
                                   sizeof(buf), &len),
                 0);
    cr_assert_gt(len, 12);
    return (int32_t)rb_get_be32(buf + 12);
}

static int16_t ole(int32_t current, int32_t epoch, int32_t *end_epoch, int64_t *end)
{
    struct rb_part_epoch_q q = {
        .it.key = pt_key(), .current_leader_epoch = current, .leader_epoch = epoch};
    rb_part_epoch_end(pt_ps, &q);
    *end_epoch = q.end_epoch;
    *end = q.end_offset;
    return q.it.error;
}

static void set_role(enum rb_part_role role, int32_t epoch)
{
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_set_role(pt_ps, &k, role, epoch), 0);
}

Test(part_epoch, leader_stamps_and_answers_offset_for_leader_epoch)
{
    produce(3, -1, -1, 1); /* standalone: epoch 0 */
    cr_assert_eq(epoch_of_batch_at(0), 0);
    set_role(RB_PART_LEADER, 5);
    int32_t e;
    int64_t o;
    /* the new epoch starts at the log end before its first batch */
    cr_assert_eq(ole(-1, 0, &e, &o), 0);
    cr_assert(e == 0 && o == 3, "epoch 0 ends where 5 starts: %d %ld", e, (long)o);
    produce(4, -1, -1, 2);
    cr_assert_eq(epoch_of_batch_at(3), 5, "stamped by the leader");
    cr_assert_eq(ole(5, 5, &e, &o), 0);
    cr_assert(e == 5 && o == 7, "the latest ends at the log end");
    cr_assert_eq(ole(5, 3, &e, &o), 0);
    cr_assert(e == 0 && o == 3, "a gap: the floor epoch");
    cr_assert_eq(ole(5, 6, &e, &o), 0);
    cr_assert(e == -1 && o == -1, "newer than ours: undefined, no error");
    cr_assert_eq(ole(-1, -1, &e, &o), 0);
    cr_assert(e == -1 && o == -1);
}

static void read_done(struct rb_shard *s, struct rb_part_read_set *set, void *arg)
{
    (void)s;
    (void)set;
    (*(int *)arg)++;
}

/* A fetch of offset 0 with current_leader_epoch; its error (answered at once). */
static int16_t fetch_with_epoch(bool check, int32_t current)
{
    int calls = 0;
    struct rb_part_read r = {.it.key = pt_key(), .offset = 0, .max_bytes = 1 << 20};
    r.check_epoch = check;
    r.current_leader_epoch = current;
    struct rb_part_read *items[1] = {&r};
    struct rb_part_read_set set = {.items = items, .n = 1, .max_bytes = 1 << 20, .min_bytes = 1};
    set.deadline_ms = pt_shard.now_ms + 1000;
    set.done = read_done;
    set.done_arg = &calls;
    rb_part_read_start(pt_ps, &set);
    cr_assert_eq(calls, 1, "answered at once");
    cr_assert(r.it.error || r.data.len > 0);
    cr_assert(!r.it.error || r.data.len == 0);
    rb_part_data_clear(&r.data);
    return r.it.error;
}

Test(part_epoch, fencing_on_leader_and_follower)
{
    produce(2, -1, -1, 1);
    set_role(RB_PART_LEADER, 5);
    int32_t e;
    int64_t o;
    cr_assert_eq(ole(4, 0, &e, &o), RB_KERR_FENCED_LEADER_EPOCH);
    cr_assert(e == -1 && o == -1);
    cr_assert_eq(ole(6, 0, &e, &o), RB_KERR_UNKNOWN_LEADER_EPOCH);
    struct rb_part_offsets lo = {.it.key = pt_key(), .timestamp = -1};
    lo.check_epoch = true;
    lo.current_leader_epoch = 4;
    rb_part_list_offsets(pt_ps, &lo);
    cr_assert_eq(lo.it.error, RB_KERR_FENCED_LEADER_EPOCH);
    lo.current_leader_epoch = 9;
    rb_part_list_offsets(pt_ps, &lo);
    cr_assert_eq(lo.it.error, RB_KERR_UNKNOWN_LEADER_EPOCH);
    lo.current_leader_epoch = 5;
    rb_part_list_offsets(pt_ps, &lo);
    cr_assert_eq(lo.it.error, 0);
    cr_assert_eq(lo.offset, 2);
    cr_assert_eq(lo.found_epoch, 5, "latest: the leader's epoch");
    lo.timestamp = -2;
    rb_part_list_offsets(pt_ps, &lo);
    cr_assert_eq(lo.offset, 0);
    cr_assert_eq(lo.found_epoch, 0, "earliest: the epoch of the first batch");
    lo.timestamp = -1;
    lo.check_epoch = false; /* ListOffsets before v4 */
    lo.current_leader_epoch = 4;
    rb_part_list_offsets(pt_ps, &lo);
    cr_assert_eq(lo.it.error, 0);

    /* Fetch v9+: the read answers the fencing error, no bytes */
    cr_assert_eq(fetch_with_epoch(true, 3), RB_KERR_FENCED_LEADER_EPOCH);
    cr_assert_eq(fetch_with_epoch(true, 6), RB_KERR_UNKNOWN_LEADER_EPOCH);
    cr_assert_eq(fetch_with_epoch(true, 5), 0);
    cr_assert_eq(fetch_with_epoch(true, -1), 0);
    cr_assert_eq(fetch_with_epoch(false, 3), 0, "Fetch before v9: not checked");

    /* a follower: fencing first, then NOT_LEADER_OR_FOLLOWER */
    set_role(RB_PART_FOLLOWER, 7);
    struct rb_part_offsets fo = {.it.key = pt_key(), .timestamp = -1, .leader_only = true};
    fo.check_epoch = true;
    fo.current_leader_epoch = 6;
    rb_part_list_offsets(pt_ps, &fo);
    cr_assert_eq(fo.it.error, RB_KERR_FENCED_LEADER_EPOCH);
    fo.current_leader_epoch = 7;
    rb_part_list_offsets(pt_ps, &fo);
    cr_assert_eq(fo.it.error, RB_KERR_NOT_LEADER_OR_FOLLOWER, "a client asks the leader");
    fo.leader_only = false; /* the debugging replica id -2 may ask a follower */
    rb_part_list_offsets(pt_ps, &fo);
    cr_assert_eq(fo.it.error, 0);
    cr_assert_eq(ole(6, 0, &e, &o), RB_KERR_FENCED_LEADER_EPOCH);
    cr_assert_eq(ole(8, 0, &e, &o), RB_KERR_UNKNOWN_LEADER_EPOCH);
    cr_assert_eq(ole(7, 0, &e, &o), RB_KERR_NOT_LEADER_OR_FOLLOWER);
    cr_assert_eq(ole(-1, 0, &e, &o), RB_KERR_NOT_LEADER_OR_FOLLOWER);
    struct rb_part_epoch_q q = {.it.key = {"nope", 4, 0}, .current_leader_epoch = -1};
    rb_part_epoch_end(pt_ps, &q);
    cr_assert_eq(q.it.error, RB_KERR_NOT_LEADER_OR_FOLLOWER, "not a replica here");
}

Test(part_epoch, truncate_rebuilds_producer_state_and_allows_appends)
{
    for (int i = 0; i < 5; i++)
        produce(2, 77, i * 2, (uint32_t)i); /* offsets 0-9, sequences 0-9 */
    struct rb_part_key k = pt_key();
    struct rb_part_append a;
    struct pt_answer ans = {0};
    pt_append(&a, &ans, pt_batch(2, -1, -1, 9), -1); /* acks=all, not flushed yet */
    cr_assert_eq(rb_part_truncate_to(pt_ps, &k, 4), -EAGAIN, "an append waits");
    pt_flush();
    cr_assert_eq(ans.calls, 1);
    cr_assert_eq(rb_part_truncate_to(pt_ps, &k, 5), 0); /* inside the batch at 4 */
    cr_assert_eq(rb_log_end_offset(part()->log), 4);
    cr_assert_eq(rb_log_durable_end(part()->log), 4);
    struct rb_part_offsets lo = {.it.key = pt_key(), .timestamp = -1};
    rb_part_list_offsets(pt_ps, &lo);
    cr_assert_eq(lo.offset, 4, "the high watermark followed");
    /* the producer's state is back at sequence 3: 4 continues, 6 is a gap */
    struct pt_answer bad = {0};
    pt_append(&a, &bad, pt_batch(2, 77, 6, 20), 1);
    pt_flush();
    cr_assert_eq(bad.error, RB_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    cr_assert_eq(produce(2, 77, 4, 21), 4);
    cr_assert_eq(rb_part_truncate_to(pt_ps, &k, -1), -ERANGE);
    struct rb_part_key nope = {"nope", 4, 0};
    cr_assert_eq(rb_part_truncate_to(pt_ps, &nope, 0), -ENOENT);
}

Test(part_epoch, follower_decides_truncation_like_kafka)
{
    struct rb_part_key k = pt_key();
    set_role(RB_PART_LEADER, 1);
    produce(10, -1, -1, 1); /* epoch 1: 0-9 */
    set_role(RB_PART_LEADER, 2);
    produce(10, -1, -1, 2); /* epoch 2: 10-19 */
    set_role(RB_PART_LEADER, 4);
    produce(10, -1, -1, 3); /* epoch 4: 20-29 */
    set_role(RB_PART_FOLLOWER, 5);
    int32_t latest;
    int64_t leo, from;
    cr_assert_eq(rb_part_latest_epoch(pt_ps, &k, &latest, &leo), 0);
    cr_assert(latest == 4 && leo == 30);
    /* the new leader never had epoch 4: it answers its floor epoch 3, ending at 25
     * (it led epoch 3 from 15); we never had 3: cut to where our floor (2) ends
     * and ask again */
    cr_assert_eq(rb_part_diverged(pt_ps, &k, 3, 25, 0, &from), 1);
    cr_assert_eq(from, 20);
    cr_assert_eq(rb_part_latest_epoch(pt_ps, &k, &latest, &leo), 0);
    cr_assert(latest == 2 && leo == 20);
    /* asked again for epoch 2: the leader says it ended at 15 */
    cr_assert_eq(rb_part_diverged(pt_ps, &k, 2, 15, 0, &from), 0);
    cr_assert_eq(from, 10, "the batch holding 15 starts at 10");
    /* an answer beyond our end changes nothing */
    cr_assert_eq(rb_part_diverged(pt_ps, &k, 2, 40, 0, &from), 0);
    cr_assert_eq(from, 10);
    /* the leader knows nothing of the epoch: back to the high watermark */
    cr_assert_eq(rb_part_diverged(pt_ps, &k, -1, -1, 0, &from), 0);
    cr_assert_eq(from, 0);
    cr_assert_eq(rb_log_latest_epoch(part()->log, NULL), -1);
}

/* A follower's fetch (Fetch v12+) at offset with last_fetched_epoch. */
static struct rb_part_read fetch_last_epoch(int64_t offset, int32_t last)
{
    int calls = 0;
    struct rb_part_read r = {.it.key = pt_key(), .offset = offset, .max_bytes = 1 << 20};
    r.check_epoch = true;
    r.current_leader_epoch = -1;
    r.last_fetched_epoch = last;
    struct rb_part_read *items[1] = {&r};
    struct rb_part_read_set set = {.items = items, .n = 1, .max_bytes = 1 << 20, .min_bytes = 1};
    set.deadline_ms = pt_shard.now_ms + 1000;
    set.done = read_done;
    set.done_arg = &calls;
    rb_part_read_start(pt_ps, &set);
    if (calls == 0)
        rb_part_read_cancel(pt_ps, &set);
    cr_assert_eq(calls, 1);
    rb_part_data_clear(&r.data);
    return r;
}

/* A leader that began an epoch and appended nothing before the next leader came:
 * told it diverged at its log end, it drops that epoch, or it would announce it as
 * its last fetched epoch and be told so forever (found by sim(repl), seed 2258 of
 * an earlier draw: the broker never rejoined the ISR). */
Test(part_epoch, an_epoch_led_without_a_batch_goes_at_the_log_end)
{
    struct rb_part_key k = pt_key();
    set_role(RB_PART_LEADER, 2);
    produce(3, -1, -1, 1);
    set_role(RB_PART_LEADER, 3); /* epoch 3 begins at 3, nothing appended */
    set_role(RB_PART_FOLLOWER, 4);
    int32_t e = -1;
    int64_t leo = -1, from = -1;
    cr_assert_eq(rb_part_latest_epoch(pt_ps, &k, &e, &leo), 0);
    cr_assert_eq(e, 3);
    /* the new leader never had epoch 3: epoch 2 ends at 3 there */
    cr_assert_eq(rb_part_diverged(pt_ps, &k, 2, 3, 0, &from), 0);
    cr_assert_eq(from, 3);
    cr_assert_eq(rb_part_latest_epoch(pt_ps, &k, &e, &leo), 0);
    cr_assert_eq(e, 2, "the empty epoch 3 is still announced");
    cr_assert_eq(leo, 3);
    cr_assert_eq(epoch_of_batch_at(0), 2);
}

Test(part_epoch, fetch_with_last_fetched_epoch_reports_divergence)
{
    set_role(RB_PART_LEADER, 1);
    produce(10, -1, -1, 1); /* epoch 1: 0-9 */
    set_role(RB_PART_LEADER, 3);
    produce(10, -1, -1, 2); /* epoch 3: 10-19 */
    /* a follower that has epoch 1 up to 12 (it never saw epoch 3): diverged, told
     * epoch 1 ends at 10, answered at once despite min_bytes */
    struct rb_part_read r = fetch_last_epoch(12, 1);
    cr_assert_eq(r.it.error, 0);
    cr_assert(r.diverged);
    cr_assert_eq(r.diverging_epoch, 1);
    cr_assert_eq(r.diverging_end_offset, 10);
    cr_assert_eq(r.data.len, 0);
    /* epoch 2 (a leader we never had): the floor epoch 1 ends at 10 */
    r = fetch_last_epoch(10, 2);
    cr_assert(r.diverged);
    cr_assert(r.diverging_epoch == 1 && r.diverging_end_offset == 10);
    /* consistent: epoch 1 up to 10, or epoch 3 anywhere up to the end: records */
    r = fetch_last_epoch(10, 1);
    cr_assert(!r.diverged && r.it.error == 0);
    r = fetch_last_epoch(15, 3);
    cr_assert(!r.diverged && r.it.error == 0);
    /* an epoch older than anything here: Kafka answers it with the oldest start */
    r = fetch_last_epoch(5, 0);
    cr_assert(r.diverged && r.diverging_epoch == 0 && r.diverging_end_offset == 0);
    /* newer than ours: nothing to place it against */
    r = fetch_last_epoch(20, 4);
    cr_assert_eq(r.it.error, RB_KERR_OFFSET_OUT_OF_RANGE);
    /* the follower's side: truncation to the leader's answer */
    struct rb_part_key k = pt_key();
    int64_t from;
    set_role(RB_PART_FOLLOWER, 4);
    cr_assert_eq(rb_part_diverged(pt_ps, &k, 1, 5, 0, &from), 0);
    cr_assert_eq(from, 0, "the batch holding 5 starts at 0");
}
