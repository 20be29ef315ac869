/*
 * tests/unit/test_fetch_dedup.c - net/fetch_dedup.c: a Fetch listing a partition
 * twice keeps it once, at its first place with the last values (Kafka's map);
 * topics left empty go; distinct partitions and topics are untouched.
 */
#include "net/fanout.h"
#include "net/handlers.h"

#include <criterion/criterion.h>
#include <string.h>

static struct rb_request req;

static void setup(void)
{
    memset(&req, 0, sizeof(req));
    rb_arena_init(&req.arena, 0);
}

static void teardown(void)
{
    rb_arena_free(&req.arena);
}

TestSuite(fetch_dedup, .init = setup, .fini = teardown);

static struct rb_fetch_req_topic topic(const char *name, int n, const int32_t *parts)
{
    struct rb_fetch_req_topic t = {.topic = {name, (int32_t)strlen(name)}, .partitions_n = n};
    t.partitions = rb_req_alloc(&req, (size_t)n, sizeof(*t.partitions));
    for (int i = 0; i < n; i++)
        t.partitions[i] = (struct rb_fetch_req_partition){.partition = parts[i], .fetch_offset = i};
    return t;
}

Test(fetch_dedup, one_partition_600_times_is_read_once)
{
    int32_t p[600] = {0};
    struct rb_fetch_req_topic t[1] = {topic("a", 600, p)};
    struct rb_fetch_req in = {.topics = t, .topics_n = 1};
    cr_assert_eq(rb_fetch_dedup(&req, &in, false), 599);
    cr_assert_eq(in.topics_n, 1);
    cr_assert_eq(in.topics[0].partitions_n, 1);
    cr_assert_eq(in.topics[0].partitions[0].fetch_offset, 599, "the last values win");
}

Test(fetch_dedup, distinct_entries_are_untouched_and_order_kept)
{
    int32_t pa[] = {2, 0, 1}, pb[] = {0, 1};
    struct rb_fetch_req_topic t[2] = {topic("a", 3, pa), topic("b", 2, pb)};
    struct rb_fetch_req in = {.topics = t, .topics_n = 2};
    cr_assert_eq(rb_fetch_dedup(&req, &in, false), 0);
    cr_assert_eq(in.topics_n, 2);
    cr_assert_eq(in.topics[0].partitions[0].partition, 2);
    cr_assert_eq(in.topics[0].partitions[2].partition, 1);
    cr_assert_eq(in.topics[1].partitions_n, 2);
}

Test(fetch_dedup, a_topic_listed_again_merges_into_the_first)
{
    int32_t pa[] = {0, 1}, pb[] = {5}, pc[] = {1, 0};
    struct rb_fetch_req_topic t[3] = {topic("a", 2, pa), topic("b", 1, pb), topic("a", 2, pc)};
    struct rb_fetch_req in = {.topics = t, .topics_n = 3};
    cr_assert_eq(rb_fetch_dedup(&req, &in, false), 2);
    cr_assert_eq(in.topics_n, 2, "the repeated topic entry is gone");
    cr_assert_eq(in.topics[0].partitions_n, 2);
    cr_assert_eq(in.topics[0].partitions[1].fetch_offset, 0, "a-1 took the later entry's values");
    cr_assert_eq(in.topics[1].partitions[0].partition, 5);
    cr_assert_str_eq(in.topics[1].topic.ptr, "b");
}

Test(fetch_dedup, topics_by_id)
{
    int32_t p[] = {0, 0};
    struct rb_fetch_req_topic t[2] = {topic("", 2, p), topic("", 2, p)};
    t[1].topic_id.b[0] = 1; /* another topic: same partitions, different id */
    struct rb_fetch_req in = {.topics = t, .topics_n = 2};
    cr_assert_eq(rb_fetch_dedup(&req, &in, true), 2);
    cr_assert_eq(in.topics_n, 2);
    cr_assert_eq(in.topics[0].partitions_n, 1);
    cr_assert_eq(in.topics[1].partitions_n, 1);
    cr_assert_eq(in.topics[1].topic_id.b[0], 1);
}

Test(fetch_dedup, list_offsets_flags_every_occurrence)
{
    struct rb_str t[5] = {{"a", 1}, {"b", 1}, {"a", 1}, {"a", 1}, {"ab", 2}};
    int32_t p[5] = {0, 0, 1, 0, 0};
    bool dup[5];
    cr_assert_eq(rb_part_dups(&req, 5, t, p, dup), 2);
    cr_assert(dup[0] && dup[3], "a-0 is listed twice: both answered INVALID_REQUEST");
    cr_assert(!dup[1] && !dup[2] && !dup[4]);
}
