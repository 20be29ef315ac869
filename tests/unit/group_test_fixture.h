/*
 * tests/unit/group_test_fixture.h - the shared fixture of the group tests
 * (test_group.c, test_group_join.c, test_group_store.c): a group manager over a
 * timer wheel whose time is a variable the test advances (both clocks), a wait
 * that records how a request was answered, and helpers that send JoinGroup and
 * SyncGroup and bring two members to Stable. Everything is static inline or
 * RB_UNUSED so a test file that uses only part of it still builds under -Werror.
 */
#ifndef RB_TESTS_GROUP_TEST_FIXTURE_H
#define RB_TESTS_GROUP_TEST_FIXTURE_H

#include "core/rb.h"
#include "coord/group.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

RB_UNUSED static struct rb_timers timers;
RB_UNUSED static int64_t now;
RB_UNUSED static struct rb_group_mgr mgr;

struct w {
    struct rb_gwait w;
    int calls;
    int16_t err;
    char member[400];
    int32_t gen;
    char leader[400];
    char proto[64];
    int n_members; /* members the leader saw */
    char assignment[64];
    bool skip; /* skip_assignment */
};

static inline void on_done(struct rb_gwait *gw)
{
    struct w *x = (struct w *)gw;
    x->calls++;
    x->err = gw->err;
    x->skip = gw->skip_assignment;
    snprintf(x->member, sizeof(x->member), "%s", gw->member_id ? gw->member_id : "");
    if (gw->g && gw->m) {
        x->gen = gw->g->generation;
        snprintf(x->leader, sizeof(x->leader), "%s", gw->g->leader ? gw->g->leader : "");
        snprintf(x->proto, sizeof(x->proto), "%s", gw->g->protocol ? gw->g->protocol : "");
        x->n_members = gw->g->n_members;
        if (gw->m->assignment)
            snprintf(x->assignment, sizeof(x->assignment), "%.*s", gw->m->assignment_len,
                     (const char *)gw->m->assignment);
    }
}

static inline int64_t test_wall(void)
{
    return now;
}

static inline void setup(void)
{
    rb_timers_init(&timers);
    now = 1000;
    rb_group_mgr_init(&mgr, &timers, &now, 0, 50);
    mgr.wall_ms = test_wall;
}

static inline void teardown(void)
{
    rb_group_mgr_free(&mgr, 15);
    rb_timers_free(&timers);
}

static inline void advance(int64_t ms)
{
    now += ms;
    rb_timers_run(&timers, now);
}

RB_UNUSED static const char *protos2[] = {"range", "roundrobin"};
RB_UNUSED static const uint8_t *metas2[] = {(const uint8_t *)"m1", (const uint8_t *)"m2"};
RB_UNUSED static const int32_t lens2[] = {2, 2};

RB_UNUSED static bool join_v9; /* the next join() is JoinGroup v9+ */

static inline void join(struct w *x, const char *group, const char *member, const char *instance,
                        int n_protos, const char **protos, bool v4)
{
    memset(x, 0, sizeof(*x));
    x->w.done = on_done;
    struct rb_gjoin j = {
        .group_id = group,
        .member_id = member,
        .instance_id = instance,
        .client_id = "cl",
        .client_host = "/127.0.0.1",
        .protocol_type = "consumer",
        .session_timeout_ms = 10000,
        .rebalance_timeout_ms = 30000,
        .n_protocols = n_protos,
        .proto_names = protos,
        .proto_meta = metas2,
        .proto_meta_len = lens2,
        .require_known_member_id = v4,
        .supports_skip_assignment = join_v9,
    };
    join_v9 = false;
    rb_group_join(&mgr, &j, &x->w);
}

/* A JoinGroup request built by hand (one protocol, no instance id, both timeouts
 * 10 s) for the tests that vary its fields; join_send() sends it with x reset. */
static inline struct rb_gjoin join_req(const char *group, const char *protocol_type,
                                       const char *const *protos, const uint8_t *const *metas,
                                       const int32_t *lens)
{
    struct rb_gjoin j = {.group_id = group,
                         .member_id = "",
                         .client_id = "c",
                         .protocol_type = protocol_type,
                         .session_timeout_ms = 10000,
                         .rebalance_timeout_ms = 10000,
                         .n_protocols = 1,
                         .proto_names = protos,
                         .proto_meta = metas,
                         .proto_meta_len = lens};
    return j;
}

static inline void join_send(struct w *x, const struct rb_gjoin *j)
{
    memset(x, 0, sizeof(*x));
    x->w.done = on_done;
    rb_group_join(&mgr, j, &x->w);
}

static inline void sync_(struct w *x, const char *group, const char *member, int32_t gen, int n,
                         const char **who, const char **what)
{
    memset(x, 0, sizeof(*x));
    x->w.done = on_done;
    int32_t lens[8];
    for (int i = 0; i < n; i++)
        lens[i] = (int32_t)strlen(what[i]);
    struct rb_gsync s = {.group_id = group,
                         .member_id = member,
                         .generation = gen,
                         .n_assign = n,
                         .assign_member = who,
                         .assign = (const uint8_t *const *)what,
                         .assign_len = lens};
    rb_group_sync(&mgr, &s, &x->w);
}

static inline void two_members(char *id1, char *id2)
{
    struct w a, b, s1, s2;
    join(&a, "g", "", NULL, 2, protos2, false);
    cr_assert_eq(a.calls, 1);
    strcpy(id1, a.member);
    sync_(&s1, "g", id1, 1, 0, NULL, NULL);
    const char *who[] = {id1};
    const char *what[] = {"X"};
    sync_(&s1, "g", id1, 1, 1, who, what);
    cr_assert_eq(s1.err, 0);
    /* second member joins: rebalance; the first must rejoin */
    join(&b, "g", "", NULL, 1, protos2 + 1 - 1, false);
    cr_assert_eq(b.calls, 0, "parked until the first member rejoins");
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 1, id1, NULL), RB_KERR_REBALANCE_IN_PROGRESS);
    join(&a, "g", id1, NULL, 2, protos2, false);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(b.calls, 1);
    cr_assert_eq(a.gen, 2);
    cr_assert_eq(b.gen, 2);
    cr_assert_str_eq(a.leader, id1, "the old leader stays leader");
    cr_assert_eq(a.n_members, 2);
    strcpy(id2, b.member);
    /* follower syncs first and parks; the leader's sync releases both */
    sync_(&s2, "g", id2, 2, 0, NULL, NULL);
    cr_assert_eq(s2.calls, 0);
    const char *who2[] = {id1, id2};
    const char *what2[] = {"P0P1", "P2P3"};
    sync_(&s1, "g", id1, 2, 2, who2, what2);
    cr_assert_eq(s1.calls, 1);
    cr_assert_eq(s2.calls, 1);
    cr_assert_str_eq(s1.assignment, "P0P1");
    cr_assert_str_eq(s2.assignment, "P2P3");
}

#endif
