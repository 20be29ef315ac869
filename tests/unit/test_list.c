/*
 * tests/unit/test_list.c - core/list.h: order of insertion, O(1) removal from any
 * place, iteration that survives removal, and the assertions that catch a double
 * insert (death test in a child process).
 */
#include "core/list.h"

#include <criterion/criterion.h>
#include <signal.h>

struct item {
    int v;
    struct rb_list_node link;
};

/* The values of head's list, in order, into out; returns how many. */
static int collect(struct rb_list_node *head, int *out, int cap)
{
    int n = 0;
    struct rb_list_node *pos;
    rb_list_foreach(pos, head)
    {
        cr_assert_lt(n, cap);
        out[n++] = rb_list_entry(pos, struct item, link)->v;
    }
    return n;
}

Test(list, empty_after_init)
{
    struct rb_list_node head = RB_LIST_HEAD_INIT(head);
    cr_assert(rb_list_empty(&head));
    cr_assert_null(rb_list_first(&head));
    cr_assert_null(rb_list_first_entry(&head, struct item, link));
}

Test(list, add_tail_and_head_keep_order)
{
    struct rb_list_node head;
    struct item it[4] = {{.v = 0}, {.v = 1}, {.v = 2}, {.v = 3}};
    rb_list_init(&head);
    for (int i = 0; i < 4; i++)
        rb_list_init(&it[i].link);
    rb_list_add_tail(&head, &it[1].link);
    rb_list_add_tail(&head, &it[2].link);
    rb_list_add_head(&head, &it[0].link);
    rb_list_add_tail(&head, &it[3].link);
    int got[8];
    cr_assert_eq(collect(&head, got, 8), 4);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(got[i], i);
    cr_assert_eq(rb_list_first_entry(&head, struct item, link), &it[0]);
    cr_assert(rb_list_linked(&it[2].link));
}

Test(list, del_from_middle_ends_and_reinsert)
{
    struct rb_list_node head;
    struct item it[3] = {{.v = 10}, {.v = 11}, {.v = 12}};
    rb_list_init(&head);
    for (int i = 0; i < 3; i++) {
        rb_list_init(&it[i].link);
        rb_list_add_tail(&head, &it[i].link);
    }
    rb_list_del(&it[1].link);
    cr_assert(!rb_list_linked(&it[1].link));
    int got[4];
    cr_assert_eq(collect(&head, got, 4), 2);
    cr_assert_eq(got[0], 10);
    cr_assert_eq(got[1], 12);
    rb_list_del(&it[0].link);
    rb_list_del(&it[2].link);
    cr_assert(rb_list_empty(&head));
    rb_list_add_tail(&head, &it[1].link); /* a removed node can go back */
    cr_assert_eq(collect(&head, got, 4), 1);
    cr_assert_eq(got[0], 11);
}

Test(list, foreach_safe_removes_while_walking)
{
    struct rb_list_node head, *pos, *tmp;
    struct item it[6];
    rb_list_init(&head);
    for (int i = 0; i < 6; i++) {
        it[i].v = i;
        rb_list_init(&it[i].link);
        rb_list_add_tail(&head, &it[i].link);
    }
    rb_list_foreach_safe(pos, tmp, &head)
    {
        if (rb_list_entry(pos, struct item, link)->v % 2 == 0)
            rb_list_del(pos);
    }
    int got[8];
    cr_assert_eq(collect(&head, got, 8), 3);
    cr_assert_eq(got[0], 1);
    cr_assert_eq(got[1], 3);
    cr_assert_eq(got[2], 5);
}

/* head holding it, both initialised. */
static void one_item_list(struct rb_list_node *head, struct item *it)
{
    rb_list_init(head);
    rb_list_init(&it->link);
    rb_list_add_tail(head, &it->link);
}

Test(list, double_insert_asserts, .signal = SIGABRT)
{
    struct rb_list_node head;
    struct item it = {.v = 1};
    one_item_list(&head, &it);
    rb_list_add_tail(&head, &it.link);
}

Test(list, double_del_asserts, .signal = SIGABRT)
{
    struct rb_list_node head;
    struct item it = {.v = 1};
    one_item_list(&head, &it);
    rb_list_del(&it.link);
    rb_list_del(&it.link);
}

struct snode {
    int v;
    struct snode *next;
};

Test(list, slist_remove_head_middle_tail)
{
    struct snode c = {3, NULL}, b = {2, &c}, a = {1, &b}, *head = &a;
    RB_SLIST_REMOVE(&head, &b, next);
    cr_assert_eq(head, &a);
    cr_assert_eq(a.next, &c);
    RB_SLIST_REMOVE(&head, &a, next);
    cr_assert_eq(head, &c);
    RB_SLIST_REMOVE(&head, &c, next);
    cr_assert_null(head);
}

Test(list, slist_remove_absent_asserts, .signal = SIGABRT)
{
    struct snode b = {2, NULL}, a = {1, NULL}, *head = &a;
    RB_SLIST_REMOVE(&head, &b, next);
}
