/*
 * tests/unit/test_group_join.c - the membership requests of coord/group_join.c
 * and the state machine they drive: the join phase (MEMBER_ID_REQUIRED, initial
 * delay, rebalance timeout, leader and protocol selection), sync, heartbeats and
 * their errors (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS,
 * INCONSISTENT_GROUP_PROTOCOL), session expiry, leave, static membership and a
 * dead group refusing joins. Time is a variable the test advances; timers run
 * with rb_timers_run.
 */
#include "group_test_fixture.h"
#include "coord/offsets_log.h"

TestSuite(group, .init = setup, .fini = teardown);

Test(group, member_id_required_then_join_sync_stable)
{
    struct w a, a2, s;
    join(&a, "g", "", NULL, 2, protos2, true);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.err, RB_KERR_MEMBER_ID_REQUIRED);
    cr_assert(strncmp(a.member, "cl-", 3) == 0, "member id %s", a.member);
    char id[400];
    strcpy(id, a.member);
    join(&a2, "g", id, NULL, 2, protos2, true);
    cr_assert_eq(a2.calls, 1, "a single member completes the join at once (no initial delay)");
    cr_assert_eq(a2.err, 0);
    cr_assert_eq(a2.gen, 1);
    cr_assert_str_eq(a2.leader, id);
    cr_assert_str_eq(a2.proto, "range");
    const char *who[] = {id}, *what[] = {"A0"};
    sync_(&s, "g", id, 1, 1, who, what);
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(s.err, 0);
    cr_assert_str_eq(s.assignment, "A0");
    struct rb_group *g = rb_group_find(&mgr, "g");
    cr_assert_eq(g->state, RB_GS_STABLE);
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 1, id, NULL), 0);
}

Test(group, rebalance_with_two_members)
{
    char id1[400], id2[400];
    two_members(id1, id2);
    cr_assert_eq(rb_group_find(&mgr, "g")->state, RB_GS_STABLE);
}

Test(group, errors_unknown_member_illegal_generation_protocol)
{
    char id1[400], id2[400];
    two_members(id1, id2);
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 2, "nobody", NULL), RB_KERR_UNKNOWN_MEMBER_ID);
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 1, id1, NULL), RB_KERR_ILLEGAL_GENERATION);
    cr_assert_eq(rb_group_heartbeat(&mgr, "nogroup", 1, id1, NULL), RB_KERR_UNKNOWN_MEMBER_ID);
    struct w s;
    sync_(&s, "g", id1, 7, 0, NULL, NULL);
    cr_assert_eq(s.err, RB_KERR_ILLEGAL_GENERATION);
    sync_(&s, "g", "nobody", 2, 0, NULL, NULL);
    cr_assert_eq(s.err, RB_KERR_UNKNOWN_MEMBER_ID);
    /* a protocol nobody in the group supports */
    const char *other[] = {"sticky"};
    struct w x;
    join(&x, "g", "", NULL, 1, other, false);
    cr_assert_eq(x.err, RB_KERR_INCONSISTENT_GROUP_PROTOCOL);
    /* wrong protocol type */
    struct rb_gjoin j = join_req("g", "connect", protos2, metas2, lens2);
    join_send(&x, &j);
    cr_assert_eq(x.err, RB_KERR_INCONSISTENT_GROUP_PROTOCOL);
    /* unknown member id on join, bad session timeout, empty group id */
    join(&x, "g", "ghost", NULL, 2, protos2, false);
    cr_assert_eq(x.err, RB_KERR_UNKNOWN_MEMBER_ID);
    join(&x, "", "", NULL, 2, protos2, false);
    cr_assert_eq(x.err, RB_KERR_INVALID_GROUP_ID);
    j.protocol_type = "consumer";
    j.session_timeout_ms = 10;
    rb_group_join(&mgr, &j, &x.w);
    cr_assert_eq(x.err, RB_KERR_INVALID_SESSION_TIMEOUT);
    cr_assert_eq(rb_group_find(&mgr, "g")->state, RB_GS_STABLE, "bad input changed nothing");
}

Test(group, session_timeout_expires_member_and_rebalances)
{
    char id1[400], id2[400];
    two_members(id1, id2);
    for (int i = 0; i < 5; i++) { /* id1 heartbeats, id2 goes silent */
        advance(3000);
        int16_t e = rb_group_heartbeat(&mgr, "g", 2, id1, NULL);
        cr_assert(e == 0 || (i >= 2 && e == RB_KERR_REBALANCE_IN_PROGRESS), "i=%d e=%d", i, e);
    }
    struct rb_group *g = rb_group_find(&mgr, "g");
    cr_assert_eq(g->n_members, 1, "the silent member expired");
    cr_assert_eq(g->state, RB_GS_PREPARING);
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 2, id1, NULL), RB_KERR_REBALANCE_IN_PROGRESS);
    struct w a;
    join(&a, "g", id1, NULL, 2, protos2, false);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.gen, 3);
    cr_assert_eq(a.n_members, 1);
}

Test(group, rebalance_timeout_drops_members_that_do_not_rejoin)
{
    char id1[400], id2[400];
    two_members(id1, id2);
    cr_assert_eq(rb_group_leave(&mgr, "g", "nobody", NULL), RB_KERR_UNKNOWN_MEMBER_ID);
    /* a third member joins; only it and id1 rejoin, id2 keeps heartbeating only */
    struct w c, a;
    join(&c, "g", "", NULL, 2, protos2, false);
    join(&a, "g", id1, NULL, 2, protos2, false);
    cr_assert_eq(c.calls + a.calls, 0);
    for (int i = 0; i < 11; i++) {
        advance(3000);
        int16_t e = rb_group_heartbeat(&mgr, "g", 2, id2, NULL);
        cr_assert(e == RB_KERR_REBALANCE_IN_PROGRESS || e == RB_KERR_UNKNOWN_MEMBER_ID);
    }
    cr_assert_eq(c.calls, 1, "completed by the rebalance timeout (30 s)");
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.gen, 3);
    cr_assert_eq(a.n_members, 2);
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 3, id2, NULL), RB_KERR_UNKNOWN_MEMBER_ID);
}

Test(group, leave_last_member_empties_group)
{
    char id1[400], id2[400];
    two_members(id1, id2);
    cr_assert_eq(rb_group_leave(&mgr, "g", id2, NULL), 0);
    struct rb_group *g = rb_group_find(&mgr, "g");
    cr_assert_eq(g->state, RB_GS_PREPARING);
    cr_assert_eq(rb_group_delete_check(&mgr, "g"), RB_KERR_NON_EMPTY_GROUP);
    rb_group_offset_put(g, "t", 0, 42, -1, "", now); /* keeps the Empty group alive */
    cr_assert_eq(rb_group_leave(&mgr, "g", id1, NULL), 0);
    g = rb_group_find(&mgr, "g");
    cr_assert_not_null(g);
    cr_assert_eq(g->state, RB_GS_EMPTY);
    cr_assert_eq(rb_group_delete_check(&mgr, "g"), 0);
    cr_assert_eq(rb_group_delete_check(&mgr, "nope"), RB_KERR_GROUP_ID_NOT_FOUND);
    rb_group_remove(&mgr, g);
    cr_assert_null(rb_group_find(&mgr, "g"));
}

Test(group, initial_delay_gathers_members)
{
    mgr.initial_delay_ms = 3000;
    struct w a, b;
    join(&a, "g", "", NULL, 2, protos2, false);
    advance(2000);
    join(&b, "g", "", NULL, 2, protos2, false);
    cr_assert_eq(a.calls + b.calls, 0, "parked during the initial delay");
    advance(1000);
    cr_assert_eq(a.calls + b.calls, 0, "extended by a new member");
    advance(3000);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(b.calls, 1);
    cr_assert_eq(a.gen, 1);
    cr_assert_eq(a.n_members, 2);
}

Test(group, protocol_selection_needs_all_members)
{
    const char *p1[] = {"roundrobin", "range"};
    const char *p2[] = {"range"};
    struct w a, b;
    join(&a, "g", "", NULL, 2, p1, false);
    strcpy(a.leader, a.member);
    char id1[400];
    strcpy(id1, a.member);
    join(&b, "g", "", NULL, 1, p2, false); /* supports range only */
    join(&a, "g", id1, NULL, 2, p1, false);
    cr_assert_eq(b.calls, 1);
    cr_assert_str_eq(b.proto, "range", "roundrobin is not supported by every member");
}

Test(group, static_member_rejoin_keeps_generation)
{
    struct w a, s, a2;
    join(&a, "g", "", "inst-1", 2, protos2, true);
    cr_assert_eq(a.err, 0, "static members get no MEMBER_ID_REQUIRED");
    char old[400];
    strcpy(old, a.member);
    const char *who[] = {old}, *what[] = {"A"};
    sync_(&s, "g", old, 1, 1, who, what);
    cr_assert_eq(s.err, 0);
    /* a second static member, then the first restarts with an empty member id */
    struct w b;
    join(&b, "g", "", "inst-2", 2, protos2, true);
    join(&a, "g", old, "inst-1", 2, protos2, true);
    cr_assert_eq(b.calls, 1);
    const char *who2[] = {old, b.member}, *what2[] = {"A", "B"};
    char bid[400];
    strcpy(bid, b.member);
    sync_(&s, "g", old, 2, 2, who2, what2);
    struct w sb;
    sync_(&sb, "g", bid, 2, 0, NULL, NULL);
    cr_assert_str_eq(sb.assignment, "B");
    join(&a2, "g", "", "inst-2", 2, protos2, true);
    cr_assert_eq(a2.calls, 1);
    cr_assert_eq(a2.err, 0);
    cr_assert_eq(a2.gen, 2, "no rebalance for a known static follower");
    cr_assert_str_neq(a2.member, bid);
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 2, bid, NULL), RB_KERR_UNKNOWN_MEMBER_ID,
                 "the old member id is gone");
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 2, a2.member, "inst-1"), RB_KERR_FENCED_INSTANCE_ID);
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 2, a2.member, "inst-2"), 0);
    struct w f;
    join(&f, "g", bid, "inst-2", 2, protos2, true);
    cr_assert_eq(f.err, RB_KERR_FENCED_INSTANCE_ID, "the old incarnation is fenced");
}

/* A stable group of static members inst-1 (leader) and inst-2; ids in l, f. */
static void static_pair(char *l, char *f)
{
    struct w a, b, s, sb;
    join(&a, "g", "", "inst-1", 2, protos2, true);
    strcpy(l, a.member);
    const char *who[] = {l}, *what[] = {"A"};
    sync_(&s, "g", l, 1, 1, who, what);
    join(&b, "g", "", "inst-2", 2, protos2, true);
    join(&a, "g", l, "inst-1", 2, protos2, true);
    cr_assert_eq(b.calls, 1);
    strcpy(f, b.member);
    const char *who2[] = {l, f}, *what2[] = {"A", "B"};
    sync_(&s, "g", l, 2, 2, who2, what2);
    sync_(&sb, "g", f, 2, 0, NULL, NULL);
    cr_assert_eq(rb_group_find(&mgr, "g")->state, RB_GS_STABLE);
}

Test(group, static_leader_rejoin_v9_skips_assignment)
{
    char l[400], f[400];
    static_pair(l, f);
    struct w a;
    join_v9 = true;
    join(&a, "g", "", "inst-1", 2, protos2, true);
    cr_assert_eq(a.calls, 1, "answered at once, no rebalance");
    cr_assert_eq(a.err, 0);
    cr_assert(a.skip, "the leader keeps the current assignment");
    cr_assert_eq(a.gen, 2);
    cr_assert_str_eq(a.leader, a.member, "the new id is the leader");
    cr_assert_eq(a.n_members, 2);
    cr_assert_eq(rb_group_find(&mgr, "g")->state, RB_GS_STABLE);
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 2, f, "inst-2"), 0, "the follower is undisturbed");
}

Test(group, static_leader_rejoin_before_v9_rebalances)
{
    char l[400], f[400];
    static_pair(l, f);
    static struct w a; /* still parked at teardown */
    join(&a, "g", "", "inst-1", 2, protos2, true);
    cr_assert_eq(a.calls, 0, "parked in a new join phase");
    cr_assert_eq(rb_group_find(&mgr, "g")->state, RB_GS_PREPARING);
    cr_assert_eq(rb_group_heartbeat(&mgr, "g", 2, f, "inst-2"), RB_KERR_REBALANCE_IN_PROGRESS);
}

Test(group, static_follower_rejoin_while_completing_rebalances)
{
    char l[400], f[400];
    static_pair(l, f);
    static struct w a, b, x;                      /* parked at teardown */
    join(&a, "g", l, "inst-1", 1, protos2, true); /* changed protocols: rebalance */
    join(&b, "g", f, "inst-2", 2, protos2, true);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(rb_group_find(&mgr, "g")->state, RB_GS_COMPLETING);
    join_v9 = true;
    join(&x, "g", "", "inst-2", 2, protos2, true);
    cr_assert_eq(x.calls, 0, "the leader may be assigning to the old id: rebalance");
    cr_assert_eq(rb_group_find(&mgr, "g")->state, RB_GS_PREPARING);
}

Test(group, dead_group_refuses_joins)
{
    struct rb_group *g = rb_group_get_or_create(&mgr, "d");
    rb_group_offset_put(g, "t", 0, 1, -1, "", 0);
    g->state = RB_GS_DEAD; /* as during DeleteGroups */
    struct w a;
    join(&a, "d", "", NULL, 2, protos2, false);
    cr_assert_eq(a.err, RB_KERR_COORDINATOR_NOT_AVAILABLE);
    struct rb_group *out;
    cr_assert_eq(rb_group_commit_check(&mgr, "d", -1, "", NULL, &out),
                 RB_KERR_COORDINATOR_NOT_AVAILABLE);
    cr_assert_eq(rb_group_delete_check(&mgr, "d"), RB_KERR_GROUP_ID_NOT_FOUND);
}

/* ---- limits: group.max.size, session timeouts, the group record's size ---- */

Test(group, max_size_refuses_new_members_of_a_full_group)
{
    char id1[400], id2[400];
    two_members(id1, id2);
    mgr.max_size = 2;
    struct w c;
    join(&c, "g", "", NULL, 2, protos2, false);
    cr_assert_eq(c.calls, 1);
    cr_assert_eq(c.err, RB_KERR_GROUP_MAX_SIZE_REACHED);
    cr_assert_str_eq(c.member, "", "answered with no member id");
    struct rb_group *g = rb_group_find(&mgr, "g");
    cr_assert_eq(g->state, RB_GS_STABLE, "the refused join does not rebalance");
    cr_assert_eq(g->n_members, 2);
    /* an existing member may rejoin */
    struct w a;
    join(&a, "g", id1, NULL, 2, protos2, false);
    cr_assert_eq(a.calls, 0, "the leader's rejoin parks: a rebalance");
    cr_assert_eq(g->state, RB_GS_PREPARING);
    advance(31000); /* the other member does not rejoin */
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.err, 0);
}

Test(group, max_size_counts_awaiting_members_during_a_join_phase)
{
    mgr.max_size = 2;
    struct w a, b, c, d, a2;
    join(&a, "g", "", NULL, 2, protos2, false); /* completes at once: CompletingRebalance */
    cr_assert_eq(a.err, 0);
    char id1[400];
    strcpy(id1, a.member);
    join(&b, "g", "", NULL, 2, protos2, false); /* 1 member < 2: a rebalance */
    cr_assert_eq(b.calls, 0);
    join(&c, "g", "", NULL, 2, protos2, false); /* awaiting: b only */
    cr_assert_eq(c.calls, 0);
    join(&d, "g", "", NULL, 2, protos2, false); /* awaiting: b and c */
    cr_assert_eq(d.calls, 1);
    cr_assert_eq(d.err, RB_KERR_GROUP_MAX_SIZE_REACHED);
    /* The first member rejoins too late: Kafka drops it (the group is full). */
    join(&a2, "g", id1, NULL, 2, protos2, false);
    cr_assert_eq(a2.err, RB_KERR_GROUP_MAX_SIZE_REACHED);
    struct rb_group *g = rb_group_find(&mgr, "g");
    cr_assert_null(rb_group_member(g, id1));
    cr_assert_eq(b.calls, 1, "the phase completes without the dropped member");
    cr_assert_eq(c.calls, 1);
    cr_assert_eq(b.err, 0);
    cr_assert_eq(g->n_members, 2);
}

Test(group, session_timeout_bounds_from_the_config)
{
    mgr.min_session_ms = 7000;
    mgr.max_session_ms = 20000;
    const char *p[] = {"range"};
    const uint8_t *m[] = {(const uint8_t *)"x"};
    int32_t l[] = {1};
    struct rb_gjoin j = join_req("s", "consumer", p, m, l);
    struct w x;
    int32_t bad[] = {6999, 20001, 0, -1, INT32_MAX};
    for (size_t i = 0; i < RB_ARRAY_LEN(bad); i++) {
        j.session_timeout_ms = bad[i];
        join_send(&x, &j);
        cr_assert_eq(x.err, RB_KERR_INVALID_SESSION_TIMEOUT, "session %d", bad[i]);
    }
    cr_assert_null(rb_group_find(&mgr, "s"), "nothing created");
    j.session_timeout_ms = 7000;
    join_send(&x, &j);
    cr_assert_eq(x.err, 0);
    j.group_id = "s2";
    j.session_timeout_ms = 20000;
    join_send(&x, &j);
    cr_assert_eq(x.err, 0);
}

Test(group, record_bytes_is_the_encoded_size)
{
    char id1[400], id2[400];
    two_members(id1, id2);
    struct rb_group *g = rb_group_find(&mgr, "g");
    struct rb_writer w;
    rb_writer_init(&w, 64);
    rb_gmeta_write(&w, g);
    cr_assert_eq(rb_group_record_bytes(g, NULL), (int64_t)w.len);
    rb_writer_free(&w);
}

Test(group, join_refused_when_the_group_record_would_be_too_large)
{
    static uint8_t big[4096];
    const char *p[] = {"range"};
    const uint8_t *m[] = {big};
    int32_t l[] = {(int32_t)sizeof(big)};
    struct rb_gjoin j = join_req("r", "consumer", p, m, l);
    mgr.max_record_bytes = 4096; /* the metadata alone fits, the record does not */
    struct w x;
    join_send(&x, &j);
    cr_assert_eq(x.calls, 1);
    cr_assert_eq(x.err, RB_KERR_UNKNOWN_SERVER_ERROR);
    cr_assert_null(rb_group_find(&mgr, "r"), "the group was not created");
    mgr.max_record_bytes = 4096 + 200;
    join_send(&x, &j);
    cr_assert_eq(x.err, 0, "a record of %lld bytes fits",
                 (long long)rb_group_record_bytes(rb_group_find(&mgr, "r"), NULL));
    cr_assert_leq(rb_group_record_bytes(rb_group_find(&mgr, "r"), NULL), mgr.max_record_bytes);
}

Test(group, sync_refused_when_the_assignment_makes_the_record_too_large)
{
    char id1[400], id2[400];
    two_members(id1, id2);
    struct rb_group *g = rb_group_find(&mgr, "g");
    mgr.max_record_bytes = rb_group_record_bytes(g, NULL) + 16;
    struct w a, b, s1, s2;
    join(&a, "g", id1, NULL, 2, protos2, false);
    join(&b, "g", id2, NULL, 1, protos2, false);
    cr_assert_eq(a.err, 0);
    cr_assert_eq(b.err, 0);
    int32_t gen = a.gen;
    sync_(&s2, "g", id2, gen, 0, NULL, NULL);
    const char *who[] = {id1, id2};
    const char *what[] = {"a-very-long-assignment-0123456789", "P2"};
    sync_(&s1, "g", id1, gen, 2, who, what);
    cr_assert_eq(s1.err, RB_KERR_UNKNOWN_SERVER_ERROR);
    cr_assert_eq(s2.calls, 1);
    cr_assert_eq(s2.err, RB_KERR_UNKNOWN_SERVER_ERROR);
    cr_assert_eq(g->state, RB_GS_PREPARING, "the group rebalances, as Kafka");
    cr_assert_null(rb_group_member(g, id1)->assignment);
}
