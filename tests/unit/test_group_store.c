/*
 * tests/unit/test_group_store.c - what coord/group_store.c keeps for a group:
 * Kafka's placement hash, commit and deletion checks, committed offsets (put, get,
 * delete, gc), subscription parsing, offset expiry (Kafka's classic rules), the
 * group metadata persistence hook and restoring a group from its metadata record.
 * Time is a variable the test advances; timers run with rb_timers_run.
 */
#include "group_test_fixture.h"

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
    struct rb_gjoin j = join_req("sg", "consumer", pn, metas, lens);
    join_send(&a, &j);
    struct rb_group *g = rb_group_find(&mgr, "sg");
    cr_assert(rb_group_subscribed(g, "a"));
    cr_assert(rb_group_subscribed(g, "bcd"));
    cr_assert(!rb_group_subscribed(g, "bc"));
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
    struct rb_gjoin j = join_req("sg", "consumer", pn, metas, lens);
    join_send(&a, &j);
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
