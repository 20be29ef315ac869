/*
 * tests/unit/test_group.c - coord/group.[ch]: Kafka's placement hash, the join
 * phase (MEMBER_ID_REQUIRED, initial delay, rebalance timeout, leader and
 * protocol selection), sync, heartbeats and their errors (UNKNOWN_MEMBER_ID,
 * ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, INCONSISTENT_GROUP_PROTOCOL), session
 * expiry, leave, static membership, commit checks, deletion checks, offsets,
 * offset expiry (Kafka's classic rules), group metadata persistence hooks and
 * restoring a group from its metadata record.
 * Time is a variable the test advances (both clocks); timers run with
 * rb_timers_run.
 */
#include "coord/group.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static struct rb_timers timers;
static int64_t now;
static struct rb_group_mgr mgr;

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

static void on_done(struct rb_gwait *gw)
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

static int64_t test_wall(void)
{
    return now;
}

static void setup(void)
{
    rb_timers_init(&timers);
    now = 1000;
    rb_group_mgr_init(&mgr, &timers, &now, 0, 50);
    mgr.wall_ms = test_wall;
}

static void teardown(void)
{
    rb_group_mgr_free(&mgr, 15);
    rb_timers_free(&timers);
}

static void advance(int64_t ms)
{
    now += ms;
    rb_timers_run(&timers, now);
}

static const char *protos2[] = {"range", "roundrobin"};
static const uint8_t *metas2[] = {(const uint8_t *)"m1", (const uint8_t *)"m2"};
static const int32_t lens2[] = {2, 2};

static bool join_v9; /* the next join() is JoinGroup v9+ */

static void join(struct w *x, const char *group, const char *member, const char *instance,
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

static void sync_(struct w *x, const char *group, const char *member, int32_t gen, int n,
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

TestSuite(group, .init = setup, .fini = teardown);

Test(group, java_hash_and_placement)
{
    cr_assert_eq(rb_java_string_hash("", 0), 0);
    cr_assert_eq(rb_java_string_hash("a", 1), 97);
    cr_assert_eq(rb_java_string_hash("hello", 5), 99162322);
    /* "polygenelubricants".hashCode() == Integer.MIN_VALUE: Utils.abs -> 0 */
    cr_assert_eq(rb_java_string_hash("polygenelubricants", 18), INT32_MIN);
    cr_assert_eq(rb_group_partition_for("polygenelubricants", 18, 50), 0);
    /* negative hash: "console-consumer-12345" etc. must land in range */
    for (int i = 0; i < 1000; i++) {
        char g[32];
        int n = snprintf(g, sizeof(g), "grp-%d-xyzzy", i * 7919);
        int32_t p = rb_group_partition_for(g, (size_t)n, 50);
        cr_assert(p >= 0 && p < 50);
    }
    /* non-ASCII: "é" is one UTF-16 unit 0xE9; U+1F600 is a surrogate pair */
    cr_assert_eq(rb_java_string_hash("\xc3\xa9", 2), 0xE9);
    cr_assert_eq(rb_java_string_hash("\xf0\x9f\x98\x80", 4), 0xD83D * 31 + 0xDE00);
}

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

static void two_members(char *id1, char *id2)
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
    memset(&x, 0, sizeof(x));
    x.w.done = on_done;
    struct rb_gjoin j = {.group_id = "g",
                         .member_id = "",
                         .client_id = "c",
                         .protocol_type = "connect",
                         .session_timeout_ms = 10000,
                         .rebalance_timeout_ms = 10000,
                         .n_protocols = 1,
                         .proto_names = protos2,
                         .proto_meta = metas2,
                         .proto_meta_len = lens2};
    rb_group_join(&mgr, &j, &x.w);
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

Test(group, commit_checks)
{
    struct rb_group *g;
    cr_assert_eq(rb_group_commit_check(&mgr, "simple", -1, "", NULL, &g), 0);
    cr_assert_not_null(g);
    cr_assert_eq(rb_group_commit_check(&mgr, "nogroup", 3, "m", NULL, &g),
                 RB_KERR_ILLEGAL_GENERATION);
    char id1[400], id2[400];
    two_members(id1, id2);
    cr_assert_eq(rb_group_commit_check(&mgr, "g", 2, id1, NULL, &g), 0);
    cr_assert_eq(rb_group_commit_check(&mgr, "g", 1, id1, NULL, &g), RB_KERR_ILLEGAL_GENERATION);
    cr_assert_eq(rb_group_commit_check(&mgr, "g", 2, "x", NULL, &g), RB_KERR_UNKNOWN_MEMBER_ID);
    cr_assert_eq(rb_group_commit_check(&mgr, "g", -1, "", NULL, &g), RB_KERR_UNKNOWN_MEMBER_ID);
    /* during CompletingRebalance commits are refused */
    struct w c, a;
    join(&c, "g", "", NULL, 2, protos2, false);
    join(&a, "g", id1, NULL, 2, protos2, false);
    struct w b;
    join(&b, "g", id2, NULL, 1, protos2, false);
    cr_assert_eq(rb_group_find(&mgr, "g")->state, RB_GS_COMPLETING);
    cr_assert_eq(rb_group_commit_check(&mgr, "g", 3, id1, NULL, &g), RB_KERR_REBALANCE_IN_PROGRESS);
}

Test(group, offsets_put_get_delete_and_gc)
{
    struct rb_group *g = rb_group_get_or_create(&mgr, "og");
    rb_group_offset_put(g, "t", 1, 10, 3, "meta", 5);
    rb_group_offset_put(g, "t", 1, 11, 4, "m2", 6);
    rb_group_offset_put(g, "u", 0, 7, -1, NULL, 6);
    cr_assert_eq(g->n_offsets, 2);
    struct rb_goffset *o = rb_group_offset_get(g, "t", 1);
    cr_assert_eq(o->offset, 11);
    cr_assert_eq(o->leader_epoch, 4);
    cr_assert_str_eq(o->metadata, "m2");
    cr_assert_str_eq(rb_group_offset_get(g, "u", 0)->metadata, "");
    cr_assert_null(rb_group_offset_get(g, "t", 2));
    cr_assert(rb_group_offset_del(g, "t", 1));
    cr_assert(!rb_group_offset_del(g, "t", 1));
    cr_assert(rb_group_offset_del(g, "u", 0));
    rb_group_gc(&mgr, g);
    cr_assert_null(rb_group_find(&mgr, "og"), "an Empty group without offsets is dropped");
}

Test(group, subscription_parse)
{
    /* consumer protocol v0: version, [topics], userdata */
    static const uint8_t sub[] = {0, 0, 0,   0,   0,   2,    0,    1,    'a',
                                  0, 3, 'b', 'c', 'd', 0xff, 0xff, 0xff, 0xff};
    const uint8_t *metas[] = {sub};
    int32_t lens[] = {sizeof(sub)};
    const char *pn[] = {"range"};
    struct w a;
    memset(&a, 0, sizeof(a));
    a.w.done = on_done;
    struct rb_gjoin j = {.group_id = "sg",
                         .member_id = "",
                         .client_id = "c",
                         .protocol_type = "consumer",
                         .session_timeout_ms = 10000,
                         .rebalance_timeout_ms = 10000,
                         .n_protocols = 1,
                         .proto_names = pn,
                         .proto_meta = metas,
                         .proto_meta_len = lens};
    rb_group_join(&mgr, &j, &a.w);
    struct rb_group *g = rb_group_find(&mgr, "sg");
    cr_assert(rb_group_subscribed(g, "a"));
    cr_assert(rb_group_subscribed(g, "bcd"));
    cr_assert(!rb_group_subscribed(g, "bc"));
}

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

/* ---- offset expiry ---- */

#define RETENTION 60000

static int n_expired_seen;
static void saw_expired(void *arg, struct rb_group *g, const struct rb_goffset *o)
{
    (void)arg;
    cr_assert_not_null(g);
    cr_assert_not_null(o->topic);
    n_expired_seen++;
}

Test(group, offsets_expire_only_when_empty_and_after_retention)
{
    char id1[400], id2[400];
    two_members(id1, id2); /* Stable; subscriptions "m1"/"m2" do not parse */
    struct rb_group *g = rb_group_find(&mgr, "g");
    int64_t commit = now;
    rb_group_offset_put(g, "t", 0, 5, -1, "", commit);
    rb_group_offset_put(g, "u", 1, 6, -1, "", commit);
    cr_assert_eq(rb_group_expire_offsets(g, now + 100 * RETENTION, RETENTION, NULL, NULL), 0,
                 "a Stable group with unknown subscriptions keeps its offsets");
    advance(5000);
    cr_assert_eq(rb_group_leave(&mgr, "g", id2, NULL), 0);
    cr_assert_eq(g->state, RB_GS_PREPARING);
    cr_assert_eq(rb_group_expire_offsets(g, now + 100 * RETENTION, RETENTION, NULL, NULL), 0,
                 "a rebalancing group keeps its offsets");
    cr_assert_eq(rb_group_leave(&mgr, "g", id1, NULL), 0);
    cr_assert_eq(g->state, RB_GS_EMPTY);
    cr_assert_eq(g->state_ts, commit + 5000, "state time: when the group became Empty");
    n_expired_seen = 0;
    cr_assert_eq(rb_group_expire_offsets(g, commit + RETENTION, RETENTION, saw_expired, NULL), 0,
                 "retention counts from the time the group became Empty, not the commit");
    cr_assert_eq(rb_group_expire_offsets(g, g->state_ts + RETENTION - 1, RETENTION, NULL, NULL), 0);
    cr_assert_eq(g->n_offsets, 2);
    cr_assert_eq(rb_group_expire_offsets(g, g->state_ts + RETENTION, RETENTION, saw_expired, NULL),
                 2);
    cr_assert_eq(n_expired_seen, 2);
    cr_assert_eq(g->n_offsets, 0);
    cr_assert_null(rb_group_offset_get(g, "t", 0));
    rb_group_gc(&mgr, g);
    cr_assert_null(rb_group_find(&mgr, "g"), "Empty without offsets: the group is dropped");
}

Test(group, standalone_offsets_expire_by_commit_time)
{
    struct rb_group *g;
    cr_assert_eq(rb_group_commit_check(&mgr, "simple", -1, "", NULL, &g), 0);
    rb_group_offset_put(g, "t", 0, 1, -1, "", now);
    rb_group_offset_put(g, "t", 1, 1, -1, "", now + 5000);
    advance(50 * RETENTION);
    cr_assert_eq(rb_group_expire_offsets(g, 1000 + RETENTION - 1, RETENTION, NULL, NULL), 0);
    cr_assert_eq(rb_group_expire_offsets(g, 1000 + RETENTION, RETENTION, NULL, NULL), 1);
    cr_assert_not_null(rb_group_offset_get(g, "t", 1));
    cr_assert_eq(rb_group_expire_offsets(g, 6000 + RETENTION, RETENTION, NULL, NULL), 1);
    cr_assert_eq(rb_group_expire_offsets(g, INT64_MAX / 2, -1, NULL, NULL), 0);
}

static const uint8_t sub_a_bcd[] = {0, 0, 0,   0,   0,   2,    0,    1,    'a',
                                    0, 3, 'b', 'c', 'd', 0xff, 0xff, 0xff, 0xff};

/* One consumer member subscribed to a and bcd, group "sg" Stable; returns its id. */
static void stable_consumer(char *id)
{
    const uint8_t *metas[] = {sub_a_bcd};
    int32_t lens[] = {sizeof(sub_a_bcd)};
    const char *pn[] = {"range"};
    struct w a, s;
    memset(&a, 0, sizeof(a));
    a.w.done = on_done;
    struct rb_gjoin j = {.group_id = "sg",
                         .member_id = "",
                         .client_id = "c",
                         .protocol_type = "consumer",
                         .session_timeout_ms = 10000,
                         .rebalance_timeout_ms = 10000,
                         .n_protocols = 1,
                         .proto_names = pn,
                         .proto_meta = metas,
                         .proto_meta_len = lens};
    rb_group_join(&mgr, &j, &a.w);
    cr_assert_eq(a.err, 0);
    strcpy(id, a.member);
    const char *who[] = {id}, *what[] = {"A"};
    sync_(&s, "sg", id, 1, 1, who, what);
    cr_assert_eq(s.err, 0);
}

Test(group, stable_consumer_group_expires_only_unsubscribed_topics)
{
    char id[400];
    stable_consumer(id);
    struct rb_group *g = rb_group_find(&mgr, "sg");
    cr_assert_eq(g->state, RB_GS_STABLE);
    rb_group_offset_put(g, "a", 0, 1, -1, "", now);
    rb_group_offset_put(g, "gone", 0, 1, -1, "", now);
    cr_assert_eq(rb_group_expire_offsets(g, now + RETENTION - 1, RETENTION, NULL, NULL), 0);
    cr_assert_eq(rb_group_expire_offsets(g, now + RETENTION, RETENTION, NULL, NULL), 1);
    cr_assert_not_null(rb_group_offset_get(g, "a", 0), "a subscribed topic keeps its offset");
    cr_assert_null(rb_group_offset_get(g, "gone", 0));
}

/* ---- group metadata persistence ---- */

static int n_persist, n_tomb;
static enum rb_gstate persisted_state;
static int32_t persisted_gen;

static void on_persist(struct rb_group_mgr *m, struct rb_group *g, bool tombstone)
{
    cr_assert_eq(m, &mgr);
    if (tombstone) {
        n_tomb++;
        return;
    }
    n_persist++;
    persisted_state = g->state;
    persisted_gen = g->generation;
}

Test(group, persist_on_stable_and_empty_tombstone_on_drop)
{
    n_persist = n_tomb = 0;
    mgr.persist = on_persist;
    char id[400];
    stable_consumer(id);
    cr_assert_eq(n_persist, 1, "the leader's assignment makes the group Stable: one record");
    cr_assert_eq(persisted_state, RB_GS_STABLE);
    cr_assert_eq(persisted_gen, 1);
    struct rb_group *g = rb_group_find(&mgr, "sg");
    cr_assert(g->persisted);
    cr_assert_eq(rb_group_leave(&mgr, "sg", id, NULL), 0);
    cr_assert_eq(n_persist, 2, "the group became Empty: another record");
    cr_assert_eq(persisted_state, RB_GS_EMPTY);
    cr_assert_eq(persisted_gen, 2);
    cr_assert_eq(n_tomb, 1, "Empty without offsets: dropped, with a tombstone");
    cr_assert_null(rb_group_find(&mgr, "sg"));
    /* nothing is written back while records are loaded */
    mgr.loading = true;
    stable_consumer(id);
    mgr.loading = false;
    cr_assert_eq(n_persist, 2);
}

static struct rb_gmeta_member loaded_members[2] = {
    {.id = "m-1",
     .client_id = "c1",
     .client_host = "/10.0.0.1",
     .rebalance_timeout_ms = 30000,
     .session_timeout_ms = 10000,
     .subscription = sub_a_bcd,
     .subscription_len = sizeof(sub_a_bcd),
     .assignment = (const uint8_t *)"AS1",
     .assignment_len = 3},
    {.id = "m-2",
     .instance_id = "inst-2",
     .client_id = "c2",
     .client_host = "/10.0.0.2",
     .rebalance_timeout_ms = 30000,
     .session_timeout_ms = 20000,
     .subscription = sub_a_bcd,
     .subscription_len = sizeof(sub_a_bcd),
     .assignment = (const uint8_t *)"AS2",
     .assignment_len = 3},
};

Test(group, load_meta_restores_generation_members_and_sessions)
{
    struct rb_gmeta meta = {.protocol_type = "consumer",
                            .generation = 7,
                            .protocol = "range",
                            .leader = "m-2",
                            .state_ts = 777,
                            .n_members = 2,
                            .members = loaded_members};
    rb_group_load_meta(&mgr, "lg", &meta);
    struct rb_group *g = rb_group_find(&mgr, "lg");
    cr_assert_not_null(g);
    cr_assert_eq(g->state, RB_GS_STABLE);
    cr_assert_eq(g->generation, 7);
    cr_assert_str_eq(g->protocol, "range");
    cr_assert_str_eq(g->leader, "m-2");
    cr_assert_eq(g->state_ts, 777);
    cr_assert_eq(g->n_members, 2);
    cr_assert(g->persisted);
    struct rb_gmember *m2 = rb_group_member(g, "m-2");
    cr_assert_str_eq(m2->instance_id, "inst-2");
    cr_assert_str_eq(m2->client_host, "/10.0.0.2");
    cr_assert_eq(m2->assignment_len, 3);
    int32_t len;
    const uint8_t *sub = rb_group_member_meta(g, m2, &len);
    cr_assert_eq(len, (int32_t)sizeof(sub_a_bcd));
    cr_assert(memcmp(sub, sub_a_bcd, sizeof(sub_a_bcd)) == 0);
    cr_assert(rb_group_subscribed(g, "bcd"));
    /* members continue with their id and generation */
    cr_assert_eq(rb_group_heartbeat(&mgr, "lg", 7, "m-1", NULL), 0);
    cr_assert_eq(rb_group_heartbeat(&mgr, "lg", 6, "m-1", NULL), RB_KERR_ILLEGAL_GENERATION);
    cr_assert_eq(rb_group_heartbeat(&mgr, "lg", 7, "m-2", "other"), RB_KERR_FENCED_INSTANCE_ID);
    struct rb_group *cg;
    cr_assert_eq(rb_group_commit_check(&mgr, "lg", 7, "m-2", "inst-2", &cg), 0);
    /* a fresh session from the load: m-2 (20 s) outlives m-1 (10 s), which did not
     * heartbeat again and expires, starting a rebalance */
    advance(9000);
    cr_assert_eq(rb_group_heartbeat(&mgr, "lg", 7, "m-2", NULL), 0);
    advance(1001);
    cr_assert_null(rb_group_member(g, "m-1"));
    cr_assert_eq(g->state, RB_GS_PREPARING);
    /* a tombstone clears the membership; without offsets the group goes */
    rb_group_load_meta(&mgr, "lg", NULL);
    cr_assert_null(rb_group_find(&mgr, "lg"));
}

Test(group, load_meta_empty_group_keeps_offsets_and_state_time)
{
    struct rb_group *g = rb_group_get_or_create(&mgr, "eg");
    rb_group_offset_put(g, "t", 0, 9, -1, "", 100);
    struct rb_gmeta meta = {.protocol_type = "consumer", .generation = 3, .state_ts = 5000};
    rb_group_load_meta(&mgr, "eg", &meta);
    cr_assert_eq(g->state, RB_GS_EMPTY);
    cr_assert_eq(g->generation, 3);
    cr_assert_null(g->protocol);
    cr_assert_eq(rb_group_expire_offsets(g, 100 + RETENTION, RETENTION, NULL, NULL), 0);
    cr_assert_eq(rb_group_expire_offsets(g, 5000 + RETENTION, RETENTION, NULL, NULL), 1);
    /* a tombstone keeps a group that still has offsets (as Kafka) */
    rb_group_offset_put(g, "t", 0, 9, -1, "", 100);
    rb_group_load_meta(&mgr, "eg", NULL);
    g = rb_group_find(&mgr, "eg");
    cr_assert_not_null(g);
    cr_assert_eq(g->generation, 0);
    cr_assert_null(g->protocol_type);
    cr_assert_eq(rb_group_expire_offsets(g, 100 + RETENTION, RETENTION, NULL, NULL), 1,
                 "no protocol type: expiry by commit time");
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
