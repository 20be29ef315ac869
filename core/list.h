/*
 * core/list.h - intrusive doubly linked list, kernel style.
 *
 * A list is a struct rb_list_node head whose next/prev point at itself when empty;
 * an element embeds a struct rb_list_node and is found back with rb_list_entry
 * (container_of). Every operation is O(1) and allocates nothing; the list owns
 * nothing: elements' lifetimes are their owners' business.
 *
 * Invariant: a node is either on exactly one list or detached (next == prev ==
 * itself, after rb_list_init or rb_list_del). rb_list_add_tail asserts the node
 * is detached and rb_list_del that it is attached, so a double insert or a double
 * removal fails loudly instead of corrupting two lists.
 */
#ifndef RB_CORE_LIST_H
#define RB_CORE_LIST_H

#include "core/rb.h"

#include <stdbool.h>

struct rb_list_node {
    struct rb_list_node *next, *prev;
};

#define RB_LIST_HEAD_INIT(name)                                                                    \
    {                                                                                              \
        &(name), &(name)                                                                           \
    }

static inline void rb_list_init(struct rb_list_node *n)
{
    n->next = n->prev = n;
}

static inline bool rb_list_empty(const struct rb_list_node *head)
{
    return head->next == head;
}

/* Whether n (initialised) is on a list. */
static inline bool rb_list_linked(const struct rb_list_node *n)
{
    return n->next != n;
}

static inline void rb_list_add_between(struct rb_list_node *n, struct rb_list_node *prev,
                                       struct rb_list_node *next)
{
    RB_ASSERT(n->next == n && n->prev == n); /* detached */
    n->prev = prev;
    n->next = next;
    prev->next = n;
    next->prev = n;
}

/* Insert n at the end (newest) of head's list. */
static inline void rb_list_add_tail(struct rb_list_node *head, struct rb_list_node *n)
{
    rb_list_add_between(n, head->prev, head);
}

/* Insert n at the front of head's list. */
static inline void rb_list_add_head(struct rb_list_node *head, struct rb_list_node *n)
{
    rb_list_add_between(n, head, head->next);
}

/* Take n off its list; n is detached afterwards. */
static inline void rb_list_del(struct rb_list_node *n)
{
    RB_ASSERT(n->next != n && n->next->prev == n && n->prev->next == n);
    n->prev->next = n->next;
    n->next->prev = n->prev;
    rb_list_init(n);
}

/* The first node of head's list, or NULL when empty. */
static inline struct rb_list_node *rb_list_first(const struct rb_list_node *head)
{
    return rb_list_empty(head) ? NULL : head->next;
}

#define rb_list_entry(node, type, member) RB_CONTAINER_OF(node, type, member)

/* The first element of head's list as type, or NULL when empty. */
#define rb_list_first_entry(head, type, member)                                                    \
    (rb_list_empty(head) ? NULL : rb_list_entry((head)->next, type, member))

/* Iterate over nodes; pos must not be removed (use _safe for that). */
#define rb_list_foreach(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

/* Iterate over nodes; pos may be removed (tmp holds its successor). */
#define rb_list_foreach_safe(pos, tmp, head)                                                       \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                               \
         (pos) = (tmp), (tmp) = (pos)->next)

/* Singly linked lists threaded through a `next`-style field, for structures whose
 * layout is shared with code that walks them by hand: remove elem from the list
 * at *headp (elem must be on it). */
#define RB_SLIST_REMOVE(headp, elem, field)                                                        \
    do {                                                                                           \
        __typeof__(elem) *pp_ = (headp);                                                           \
        while (*pp_ && *pp_ != (elem))                                                             \
            pp_ = &(*pp_)->field;                                                                  \
        RB_ASSERT(*pp_ == (elem));                                                                 \
        *pp_ = (elem)->field;                                                                      \
    } while (0)

#endif
