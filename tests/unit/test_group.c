/*
 * tests/unit/test_group.c - the group manager and state machine of coord/group.c
 * on their own: shutdown answers parked waits, the transition checks of group
 * deletion (begin, abort, and the illegal edges that are bugs and abort), and the
 * unloading of one __consumer_offsets partition's groups when the broker stops
 * leading it. Joins, syncs and rebalances are in test_group_join.c; offsets,
 * expiry, persistence and restore in test_group_store.c.
 */
#include "group_test_fixture.h"

#include <signal.h>

TestSuite(group, .init = setup, .fini = teardown);

Test(group, shutdown_answers_parked_waits)
{
    mgr.initial_delay_ms = 3000;
    struct w a;
    join(&a, "g", "", NULL, 2, protos2, false);
    cr_assert_eq(a.calls, 0);
    rb_group_mgr_free(&mgr, RB_KERR_COORDINATOR_NOT_AVAILABLE);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.err, RB_KERR_COORDINATOR_NOT_AVAILABLE);
    cr_assert_eq(timers.n, 0, "no timer left armed");
}

/* ---- the state machine's own checks (coord/group.c transition()) ---- */

Test(group, delete_begin_then_abort_returns_to_empty)
{
    struct rb_group *g = rb_group_get_or_create(&mgr, "gd");
    cr_assert_eq(g->state, RB_GS_EMPTY);
    rb_group_delete_begin(g);
    cr_assert_eq(g->state, RB_GS_DEAD);
    struct w x;
    join(&x, "gd", "", NULL, 1, protos2, false);
    cr_assert_eq(x.calls, 1);
    cr_assert_eq(x.err, RB_KERR_COORDINATOR_NOT_AVAILABLE, "join while deleting: %d", x.err);
    rb_group_delete_abort(g);
    cr_assert_eq(g->state, RB_GS_EMPTY);
    join(&x, "gd", "", NULL, 1, protos2, false);
    advance(1);
    cr_assert_eq(x.err, RB_KERR_NONE);
    cr_assert_eq(g->state, RB_GS_COMPLETING);
}

Test(group, delete_abort_of_a_live_group_is_a_bug, .signal = SIGABRT)
{
    struct rb_group *g = rb_group_get_or_create(&mgr, "gl");
    rb_group_delete_abort(g); /* Empty -> Empty is no legal edge */
}

Test(group, delete_begin_of_a_group_with_members_is_a_bug, .signal = SIGABRT)
{
    struct w x;
    join(&x, "gm", "", NULL, 1, protos2, false);
    advance(1);
    cr_assert_eq(x.err, RB_KERR_NONE);
    rb_group_delete_begin(rb_group_find(&mgr, "gm"));
}

/* ---- leadership moves (net/group_shard.c unloads a partition it stopped leading) ---- */

Test(group, unload_drops_only_the_partitions_groups_and_answers_their_waits)
{
    mgr.initial_delay_ms = 3000;
    struct w a;
    join(&a, "ga", "", NULL, 2, protos2, false);
    struct rb_group *ga = rb_group_find(&mgr, "ga");
    cr_assert_not_null(ga);
    rb_group_offset_put(ga, "t", 0, 4242, -1, "", now);
    int32_t pa = ga->coord_partition;
    /* a second group on another partition of __consumer_offsets */
    char other[16] = "";
    for (int i = 0; i < 1000 && !other[0]; i++) {
        char id[16];
        snprintf(id, sizeof(id), "gb%d", i);
        if (rb_group_partition_for(id, strlen(id), mgr.n_partitions) != pa)
            snprintf(other, sizeof(other), "%s", id);
    }
    cr_assert(other[0]);
    struct rb_group *gb = rb_group_get_or_create(&mgr, other);
    rb_group_offset_put(gb, "t", 1, 7, -1, "", now);
    cr_assert_eq(a.calls, 0);

    cr_assert_eq(rb_group_mgr_unload(&mgr, pa, RB_KERR_NOT_COORDINATOR), 1);
    cr_assert_eq(a.calls, 1, "the parked join is answered");
    cr_assert_eq(a.err, RB_KERR_NOT_COORDINATOR);
    cr_assert_null(rb_group_find(&mgr, "ga"));
    cr_assert_eq(mgr.n_groups, 1);
    gb = rb_group_find(&mgr, other);
    cr_assert_not_null(gb);
    cr_assert_eq(rb_group_offset_get(gb, "t", 1)->offset, 7);
    cr_assert_eq(timers.n, 0, "the dropped group's timers are cancelled");
    cr_assert_eq(rb_group_mgr_unload(&mgr, pa, RB_KERR_NOT_COORDINATOR), 0);
}
