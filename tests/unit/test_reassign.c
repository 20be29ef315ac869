/*
 * tests/unit/test_reassign.c - coord/reassign.c's plan of a move (rb_ra_plan):
 * the replica set during a reassignment is the target followed by the original
 * replicas that leave, with Kafka 2.8's adding/removing lists; the original set is
 * the topic node's replicas minus its adding list, so a plan made again from the
 * node written by the first (a new controller resuming) is the same plan, and a
 * cancel (target = original) plans no move at all. The controller's steps over a
 * live quorum are tests/cluster/t_repl_reassign*.sh.
 */
#include "coord/cluster_int.h"

#include <criterion/criterion.h>
#include <string.h>

static void set_ids(int32_t *dst, int32_t *n, const int32_t *src, int32_t k)
{
    memcpy(dst, src, sizeof(int32_t) * (size_t)k);
    *n = k;
}

static struct rb_kzk_move move_to(const int32_t *ids, int32_t n)
{
    struct rb_kzk_move m = {.topic = "t", .partition = 0};
    set_ids(m.replicas, &m.n_replicas, ids, n);
    return m;
}

static void expect(const int32_t *got, int32_t n, const int32_t *want, int32_t k, const char *what)
{
    cr_assert_eq(n, k, "%s: %d ids, want %d", what, n, k);
    for (int32_t i = 0; i < k; i++)
        cr_assert_eq(got[i], want[i], "%s[%d]: %d, want %d", what, i, got[i], want[i]);
}

Test(reassign, plan_overlap_and_resume)
{
    struct rb_kzk_assignment a;
    cr_assert_eq(rb_kzk_assignment_alloc(&a, 1), 0);
    set_ids(a.replicas[0], &a.n_replicas[0], (int32_t[]){1, 2}, 2);
    struct rb_kzk_move m = move_to((int32_t[]){2, 3}, 2);
    struct rb_ra_moving mv;
    rb_ra_plan(&a, 0, &m, &mv);
    expect(mv.rs, mv.n_rs, (int32_t[]){2, 3, 1}, 3, "rs");
    expect(mv.add, mv.n_add, (int32_t[]){3}, 1, "adding");
    expect(mv.rem, mv.n_rem, (int32_t[]){1}, 1, "removing");
    /* the node as step 1 wrote it: planned again, the same (a controller resuming) */
    set_ids(a.replicas[0], &a.n_replicas[0], mv.rs, mv.n_rs);
    set_ids(a.adding[0], &a.n_adding[0], mv.add, mv.n_add);
    set_ids(a.removing[0], &a.n_removing[0], mv.rem, mv.n_rem);
    struct rb_ra_moving again;
    rb_ra_plan(&a, 0, &m, &again);
    cr_assert_eq(memcmp(&mv, &again, sizeof(mv)), 0);
    /* cancelled: the target is the original set, nothing added or removed */
    struct rb_kzk_move back = move_to((int32_t[]){1, 2}, 2);
    rb_ra_plan(&a, 0, &back, &mv);
    expect(mv.rs, mv.n_rs, (int32_t[]){1, 2}, 2, "rs after cancel");
    cr_assert_eq(mv.n_add, 0);
    cr_assert_eq(mv.n_rem, 0);
    rb_kzk_assignment_free(&a);
}

Test(reassign, plan_disjoint_and_rf_change)
{
    struct rb_kzk_assignment a;
    cr_assert_eq(rb_kzk_assignment_alloc(&a, 2), 0);
    set_ids(a.replicas[1], &a.n_replicas[1], (int32_t[]){1, 2}, 2);
    struct rb_kzk_move m = move_to((int32_t[]){3}, 1);
    m.partition = 1;
    struct rb_ra_moving mv;
    rb_ra_plan(&a, 1, &m, &mv);
    expect(mv.rs, mv.n_rs, (int32_t[]){3, 1, 2}, 3, "rs");
    expect(mv.add, mv.n_add, (int32_t[]){3}, 1, "adding");
    expect(mv.rem, mv.n_rem, (int32_t[]){1, 2}, 2, "removing");
    /* growing the replication factor: nothing removed */
    struct rb_kzk_move grow = move_to((int32_t[]){2, 1, 4}, 3);
    rb_ra_plan(&a, 1, &grow, &mv);
    expect(mv.rs, mv.n_rs, (int32_t[]){2, 1, 4}, 3, "rs");
    expect(mv.add, mv.n_add, (int32_t[]){4}, 1, "adding");
    cr_assert_eq(mv.n_rem, 0);
    /* the same set in another order: no copy, only the order changes */
    struct rb_kzk_move swap = move_to((int32_t[]){2, 1}, 2);
    rb_ra_plan(&a, 1, &swap, &mv);
    expect(mv.rs, mv.n_rs, (int32_t[]){2, 1}, 2, "rs");
    cr_assert_eq(mv.n_add + mv.n_rem, 0);
    rb_kzk_assignment_free(&a);
}
