/*
 * tests/unit/test_part_follow.c - part/follow.c on the simulated disk: a
 * follower appends the leader's batches at the leader's offsets byte for byte
 * (leader epoch kept), durably through the group commit; batches already here are
 * skipped, a gap or an overlap that does not start at the log end is refused with
 * nothing appended, so is a batch failing its CRC; a partial batch at the end is
 * left for later; only a follower appends; idempotent producers' state follows the
 * replicated batches (a retry after the follower became leader is a duplicate).
 * And the leader side of a replica fetch (part/read.c): a follower reads up to
 * the written end while consumers stop at the high watermark, and its fetch
 * offset moves the high watermark. The follower-written hook runs when a
 * follower's flush has written its bytes (and not for a leader's).
 */
#include "part_test_util.h"

#include "core/endian.h"

TestSuite(part_follow, .init = pt_setup, .fini = pt_teardown);

static uint8_t rbuf[65536];

/* Append a batch of nrec records to rbuf at pos as the leader stored it: base
 * offset base, leader epoch epoch. Returns the new end of rbuf. */
static uint32_t leader_batch(uint32_t pos, int64_t base, int32_t epoch, int nrec, int64_t pid,
                             int32_t seq, uint32_t seed)
{
    uint32_t len = pt_batch(nrec, pid, seq, seed);
    memcpy(rbuf + pos, pt_buf, len);
    rb_put_be64(rbuf + pos, (uint64_t)base);
    rb_put_be32(rbuf + pos + 12, (uint32_t)epoch); /* not under the CRC */
    return pos + len;
}

static void role(enum rb_part_role r, int32_t epoch)
{
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_set_role(pt_ps, &k, r, epoch), 0);
}

static int append(uint32_t from, uint32_t to, int *appended)
{
    struct rb_part_key k = pt_key();
    return rb_part_append_replica(pt_ps, &k, rbuf + from, to - from, -1, appended);
}

static struct rb_part_follow_pos pos(void)
{
    struct rb_part_key k = pt_key();
    struct rb_part_follow_pos fp;
    cr_assert_eq(rb_part_follow_pos(pt_ps, &k, &fp), 0);
    return fp;
}

/* The log's bytes [0, end) as stored. */
static uint32_t stored(uint8_t *out, uint32_t cap)
{
    struct rb_part_key k = pt_key();
    uint32_t len = 0;
    cr_assert_eq(rb_part_read_copy(pt_ps, &k, 0, rb_log_end_offset(rb_part_get(pt_ps, &k)->log),
                                   cap, out, cap, &len),
                 0);
    return len;
}

Test(part_follow, batches_land_at_the_leaders_offsets_byte_for_byte_and_durably)
{
    role(RB_PART_FOLLOWER, 4);
    uint32_t e = leader_batch(0, 0, 3, 3, -1, -1, 1);
    e = leader_batch(e, 3, 4, 2, -1, -1, 2);
    int n = 0;
    cr_assert_eq(append(0, e, &n), 0);
    cr_assert_eq(n, 2);
    struct rb_part_follow_pos fp = pos();
    cr_assert_eq(fp.fetch_offset, 5);
    cr_assert_eq(fp.role, RB_PART_FOLLOWER);
    cr_assert_eq(fp.leader_epoch, 4);
    cr_assert(fp.unwritten, "appended bytes are written by the next flush, not at once");
    pt_flush();
    fp = pos();
    cr_assert_not(fp.unwritten);
    struct rb_part_key k = pt_key();
    int64_t start, end;
    cr_assert_eq(rb_part_durable_range(pt_ps, &k, &start, &end), 0);
    cr_assert_eq(end, 5);
    static uint8_t back[65536];
    uint32_t len = stored(back, sizeof(back));
    cr_assert_eq(len, e);
    cr_assert_eq(memcmp(back, rbuf, e), 0, "the follower's log differs from the leader's batches");
    cr_assert_eq((int32_t)rb_get_be32(back + 12), 3, "leader epoch of the first batch lost");
}

static int written_calls;
static void on_written(void *arg)
{
    cr_assert_eq(arg, &written_calls);
    /* called once the bytes are out: the position may be reported now */
    cr_assert_not(pos().unwritten, "the hook ran before the flush wrote the bytes");
    written_calls++;
}

Test(part_follow, the_written_hook_runs_when_a_followers_flush_is_done)
{
    rb_part_set_follower_written(pt_ps, on_written, &written_calls);
    role(RB_PART_FOLLOWER, 4);
    uint32_t e = leader_batch(0, 0, 4, 3, -1, -1, 1);
    int n = 0;
    cr_assert_eq(append(0, e, &n), 0);
    cr_assert_eq(written_calls, 0, "no flush yet");
    pt_flush();
    cr_assert_geq(written_calls, 1, "the follower's flush did not tell the fetchers");
    /* a leader's flush is none of the fetchers' business */
    role(RB_PART_LEADER, 5);
    int before = written_calls;
    struct rb_part_append a;
    struct pt_answer ans = {0};
    pt_append(&a, &ans, pt_batch(2, -1, -1, 7), 1);
    pt_flush();
    cr_assert_eq(ans.calls, 1, "the leader's append was not flushed and answered");
    cr_assert_eq(ans.error, 0);
    cr_assert_eq(written_calls, before, "called for a leader's flush");
    rb_part_set_follower_written(pt_ps, NULL, NULL);
}

Test(part_follow, batches_already_here_are_skipped)
{
    role(RB_PART_FOLLOWER, 1);
    uint32_t e1 = leader_batch(0, 0, 1, 3, -1, -1, 1);
    uint32_t e2 = leader_batch(e1, 3, 1, 2, -1, -1, 2);
    int n = 0;
    cr_assert_eq(append(0, e1, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(append(0, e2, &n), 0, "a fetch overlapping what is here");
    cr_assert_eq(n, 1);
    cr_assert_eq(pos().fetch_offset, 5);
    cr_assert_eq(append(0, e2, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(pos().fetch_offset, 5);
}

Test(part_follow, a_gap_or_a_straddling_batch_is_refused_whole)
{
    role(RB_PART_FOLLOWER, 1);
    uint32_t e1 = leader_batch(0, 0, 1, 3, -1, -1, 1);
    int n = 0;
    cr_assert_eq(append(0, e1, &n), 0);
    /* a gap: offsets 3, 4 missing */
    uint32_t g = leader_batch(e1, 5, 1, 2, -1, -1, 2);
    cr_assert_eq(append(e1, g, &n), -EILSEQ);
    cr_assert_eq(n, 0);
    cr_assert_eq(pos().fetch_offset, 3);
    /* a batch [2, 4) over the log end 3: the logs diverged */
    uint32_t s = leader_batch(g, 2, 1, 2, -1, -1, 3);
    cr_assert_eq(append(g, s, &n), -EILSEQ);
    cr_assert_eq(n, 0);
    cr_assert_eq(pos().fetch_offset, 3);
}

/* A response that does not line up with the log (it diverged) moves no high
 * watermark: the follower's own batches below it may not be the leader's. */
Test(part_follow, a_refused_response_moves_no_high_watermark)
{
    static const int32_t reps[2] = {1, 0};
    struct rb_part_key k = pt_key();
    role(RB_PART_FOLLOWER, 1);
    cr_assert_eq(rb_part_set_isr(pt_ps, &k, reps, 2, reps, 2, 0, 1), 0);
    uint32_t e1 = leader_batch(0, 0, 1, 3, -1, -1, 1);
    int n = 0;
    cr_assert_eq(append(0, e1, &n), 0);
    pt_flush();
    uint32_t s = leader_batch(e1, 2, 2, 2, -1, -1, 3); /* [2, 4) over the log end 3 */
    cr_assert_eq(rb_part_append_replica(pt_ps, &k, rbuf + e1, s - e1, 4, &n), -EILSEQ);
    int64_t hw = -1;
    cr_assert_eq(rb_part_high_watermark(pt_ps, &k, &hw), 0);
    cr_assert_eq(hw, 0, "the high watermark covers a log that diverged");
    uint32_t g = leader_batch(s, 3, 1, 2, -1, -1, 4); /* lines up */
    cr_assert_eq(rb_part_append_replica(pt_ps, &k, rbuf + s, g - s, 4, &n), 0);
    cr_assert_eq(rb_part_high_watermark(pt_ps, &k, &hw), 0);
    cr_assert_eq(hw, 3, "min(the leader's, the written end)");
}

Test(part_follow, a_bad_crc_appends_nothing_of_the_response)
{
    role(RB_PART_FOLLOWER, 1);
    uint32_t e1 = leader_batch(0, 0, 1, 3, -1, -1, 1);
    uint32_t e2 = leader_batch(e1, 3, 1, 2, -1, -1, 2);
    rbuf[e2 - 1] ^= 0x40;
    int n = 0;
    cr_assert_eq(append(0, e2, &n), -EBADMSG);
    cr_assert_eq(n, 0);
    cr_assert_eq(pos().fetch_offset, 0);
}

Test(part_follow, a_partial_batch_at_the_end_waits_for_the_next_fetch)
{
    role(RB_PART_FOLLOWER, 1);
    uint32_t e1 = leader_batch(0, 0, 1, 3, -1, -1, 1);
    uint32_t e2 = leader_batch(e1, 3, 1, 2, -1, -1, 2);
    int n = 0;
    cr_assert_eq(append(0, e2 - 10, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(pos().fetch_offset, 3);
    cr_assert_eq(append(e1, e2, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(pos().fetch_offset, 5);
}

Test(part_follow, only_a_follower_appends)
{
    uint32_t e1 = leader_batch(0, 0, 1, 3, -1, -1, 1);
    int n = 0;
    role(RB_PART_LEADER, 1);
    cr_assert_eq(append(0, e1, &n), -EPERM);
    role(RB_PART_NO_ROLE, 1);
    cr_assert_eq(append(0, e1, &n), -EPERM);
    struct rb_part_key other = {"other", 5, 0};
    cr_assert_eq(rb_part_append_replica(pt_ps, &other, rbuf, e1, -1, &n), -ENOENT);
    cr_assert_eq(pos().fetch_offset, 0);
}

Test(part_follow, idempotent_state_survives_becoming_leader)
{
    role(RB_PART_FOLLOWER, 1);
    uint32_t e1 = leader_batch(0, 0, 1, 3, 7, 0, 1);
    int n = 0;
    cr_assert_eq(append(0, e1, &n), 0);
    pt_flush();
    role(RB_PART_LEADER, 2);
    /* the producer retries its batch (seq 0..2) on the new leader */
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(3, 7, 0, 1), 1);
    pt_flush();
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, 0);
    cr_assert_eq(a.base_offset, 0, "the retry was not recognised as a duplicate");
    cr_assert_eq(pos().fetch_offset, 3, "the retry was appended again");
    /* the next sequence continues */
    struct rb_part_append b;
    struct pt_answer ab = {0};
    pt_append(&b, &ab, pt_batch(2, 7, 3, 2), 1);
    pt_flush();
    cr_assert_eq(ab.error, 0);
    cr_assert_eq(b.base_offset, 3);
}

/* ---- the leader side of a replica fetch ---- */

struct set_done {
    int calls;
};

static void read_done(struct rb_shard *s, struct rb_part_read_set *set, void *arg)
{
    (void)s;
    (void)set;
    ((struct set_done *)arg)->calls++;
}

static void read_at(struct rb_part_read *r, bool replica, int32_t id, int64_t offset)
{
    static struct rb_part_read *items[1];
    static struct rb_part_read_set set;
    static struct set_done sd;
    memset(r, 0, sizeof(*r));
    memset(&set, 0, sizeof(set));
    sd.calls = 0;
    r->it.key = pt_key();
    r->offset = offset;
    r->max_bytes = 1 << 20;
    r->replica = replica;
    r->replica_id = id;
    items[0] = r;
    set.items = items;
    set.n = 1;
    set.deadline_ms = pt_shard.now_ms; /* answer at once */
    set.min_bytes = 0;
    set.max_bytes = 1 << 20;
    set.done = read_done;
    set.done_arg = &sd;
    rb_part_read_start(pt_ps, &set);
    cr_assert_eq(sd.calls, 1);
}

Test(part_follow, a_follower_reads_past_the_high_watermark_and_moves_it)
{
    static const int32_t reps[2] = {0, 1};
    struct rb_part_key k = pt_key();
    role(RB_PART_LEADER, 1);
    cr_assert_eq(rb_part_set_isr(pt_ps, &k, reps, 2, reps, 2, 0, 1), 0);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(3, -1, -1, 1), 1);
    pt_flush();
    cr_assert_eq(aa.calls, 1);
    struct rb_part_read r;
    read_at(&r, false, 0, 0);
    cr_assert_eq(r.it.error, 0);
    cr_assert_eq(r.high_watermark, 0, "the HW moved before the follower had the batch");
    cr_assert_eq(r.data.len, 0, "a consumer read above the high watermark");
    read_at(&r, true, 1, 0);
    cr_assert_eq(r.it.error, 0);
    cr_assert_gt(r.data.len, 0, "the follower got nothing below the written end");
    cr_assert_eq(r.high_watermark, 0);
    rb_part_data_clear(&r.data);
    read_at(&r, true, 1, 3); /* the follower has it now */
    cr_assert_eq(r.it.error, 0);
    cr_assert_eq(r.high_watermark, 3);
    cr_assert_eq(r.data.len, 0);
    read_at(&r, true, 2, 3); /* not a replica */
    cr_assert_eq(r.it.error, RB_KERR_NOT_LEADER_OR_FOLLOWER);
    read_at(&r, true, 1, 9); /* beyond the leader's end */
    cr_assert_eq(r.it.error, RB_KERR_OFFSET_OUT_OF_RANGE);
    read_at(&r, false, 0, 0);
    cr_assert_eq(r.high_watermark, 3);
    cr_assert_gt(r.data.len, 0);
    rb_part_data_clear(&r.data);
}

Test(part_follow, the_log_start_follows_the_leaders_up_to_the_durable_end)
{
    struct rb_part_key k = pt_key();
    role(RB_PART_FOLLOWER, 1);
    uint32_t e = leader_batch(0, 0, 1, 3, -1, -1, 1);
    e = leader_batch(e, 3, 1, 2, -1, -1, 2);
    int n = 0;
    cr_assert_eq(append(0, e, &n), 0);
    cr_assert_eq(rb_part_follow_log_start(pt_ps, &k, 3), 0);
    cr_assert_eq(pos().log_start, 0, "moved past the durable end (nothing flushed yet)");
    pt_flush();
    cr_assert_eq(rb_part_follow_log_start(pt_ps, &k, 3), 0);
    cr_assert_eq(pos().log_start, 3);
    cr_assert_eq(rb_part_follow_log_start(pt_ps, &k, 1), 0);
    cr_assert_eq(pos().log_start, 3, "the log start moved back");
    cr_assert_eq(rb_part_follow_log_start(pt_ps, &k, 99), 0);
    cr_assert_eq(pos().log_start, 5, "not capped at the durable end");
    role(RB_PART_LEADER, 2);
    cr_assert_eq(rb_part_follow_log_start(pt_ps, &k, 5), -EPERM);
}
