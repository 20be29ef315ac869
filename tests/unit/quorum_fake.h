/*
 * tests/unit/quorum_fake.h - the node store of the unit tests' quorum doubles
 * (test_isr_change.c, test_liveness.c): an array of QF_MAX_NODES nodes (path,
 * data, version) with lookup, a slot for a path, and a read with the semantics of
 * rb_quorum_get. Each test keeps its own array and writes its own ops table.
 */
#ifndef RB_TESTS_QUORUM_FAKE_H
#define RB_TESTS_QUORUM_FAKE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QF_MAX_NODES 64

struct qf_node {
    char path[300];
    char data[512];
    int64_t version;
    bool used;
};

static inline struct qf_node *qf_find(struct qf_node *n, const char *path)
{
    for (int i = 0; i < QF_MAX_NODES; i++)
        if (n[i].used && strcmp(n[i].path, path) == 0)
            return &n[i];
    return NULL;
}

/* The node at path, or a new empty one there (version 0). */
static inline struct qf_node *qf_slot(struct qf_node *n, const char *path)
{
    struct qf_node *x = qf_find(n, path);
    for (int i = 0; !x && i < QF_MAX_NODES; i++)
        if (!n[i].used) {
            x = &n[i];
            memset(x, 0, sizeof(*x));
            x->used = true;
            snprintf(x->path, sizeof(x->path), "%s", path);
        }
    cr_assert_not_null(x, "the quorum double is full");
    return x;
}

/* rb_quorum_get on the array. */
static inline int qf_read(struct qf_node *n, const char *path, char **data, size_t *len,
                          int64_t *version)
{
    struct qf_node *x = qf_find(n, path);
    if (!x)
        return -ENOENT;
    if (data)
        *data = strdup(x->data);
    if (len)
        *len = strlen(x->data);
    if (version)
        *version = x->version;
    return 0;
}

#endif
