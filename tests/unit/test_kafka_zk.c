/*
 * tests/unit/test_kafka_zk.c - coord/kafka_zk.[ch]: the JSON of ZooKeeper-era
 * Kafka's nodes read as Kafka 2.8 writes it (the samples are what Kafka 2.8.2
 * wrote, see ../shared/MACHINE.md), written so it reads back the same, malformed
 * input refused, and Kafka's replica assignment (spread, no duplicate replica,
 * racks spanned).
 */
#include "coord/kafka_zk.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

Test(kafka_zk, broker_from_kafka)
{
    struct rb_kzk_broker b;
    const char *js =
        "{\"features\":{},\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},"
        "\"endpoints\":[\"PLAINTEXT://127.0.0.1:36341\"],\"jmx_port\":-1,\"port\":36341,"
        "\"host\":\"127.0.0.1\",\"version\":5,\"timestamp\":\"1796498533804\"}";
    cr_assert_eq(rb_kzk_parse_broker(js, 1, &b), 0);
    cr_assert_eq(b.id, 1);
    cr_assert_str_eq(b.host, "127.0.0.1");
    cr_assert_eq(b.port, 36341);
    cr_assert_str_eq(b.rack, "");
}

Test(kafka_zk, broker_named_listener_and_rack)
{
    struct rb_kzk_broker b;
    const char *js =
        "{\"listener_security_protocol_map\":{\"INTERNAL\":\"PLAINTEXT\",\"EXT\":\"SSL\"},"
        "\"endpoints\":[\"EXT://h:1\",\"INTERNAL://[::1]:9093\"],\"rack\":\"r2\","
        "\"host\":\"x\",\"port\":5,\"version\":5}";
    cr_assert_eq(rb_kzk_parse_broker(js, 7, &b), 0);
    cr_assert_str_eq(b.host, "::1");
    cr_assert_eq(b.port, 9093);
    cr_assert_str_eq(b.rack, "r2");
}

Test(kafka_zk, broker_round_trip)
{
    struct rb_kzk_broker b = {.id = 3, .host = "10.0.0.5", .port = 9092, .rack = "a"}, out;
    char *js = rb_kzk_broker_json(&b, 1234);
    cr_assert(js);
    cr_assert(strstr(js, "\"endpoints\":[\"PLAINTEXT://10.0.0.5:9092\"]"));
    cr_assert(strstr(js, "\"timestamp\":\"1234\""));
    cr_assert(strstr(js, "\"version\":5"));
    cr_assert_eq(rb_kzk_parse_broker(js, 3, &out), 0);
    cr_assert_str_eq(out.host, "10.0.0.5");
    cr_assert_eq(out.port, 9092);
    cr_assert_str_eq(out.rack, "a");
    free(js);
}

Test(kafka_zk, broker_malformed)
{
    struct rb_kzk_broker b;
    cr_assert_eq(rb_kzk_parse_broker("", 1, &b), -EINVAL);
    cr_assert_eq(rb_kzk_parse_broker("[1]", 1, &b), -EINVAL);
    cr_assert_eq(rb_kzk_parse_broker("{\"endpoints\":[\"PLAINTEXT://h\"]}", 1, &b), -EINVAL);
    cr_assert_eq(rb_kzk_parse_broker("{\"endpoints\":[\"PLAINTEXT://h:99999\"]}", 1, &b), -EINVAL);
    cr_assert_eq(rb_kzk_parse_broker("{\"host\":\"h\",\"port\":0}", 1, &b), -EINVAL);
    cr_assert_eq(rb_kzk_parse_broker(NULL, 1, &b), -EINVAL);
}

Test(kafka_zk, assignment_from_kafka)
{
    struct rb_kzk_assignment a;
    const char *js = "{\"partitions\":{\"0\":[2],\"1\":[3],\"2\":[1]},\"adding_replicas\":{},"
                     "\"removing_replicas\":{},\"version\":3}";
    cr_assert_eq(rb_kzk_parse_assignment(js, &a), 0);
    cr_assert_eq(a.n_partitions, 3);
    cr_assert_not(a.has_id);
    cr_assert_eq(a.replicas[0][0], 2);
    cr_assert_eq(a.replicas[1][0], 3);
    cr_assert_eq(a.replicas[2][0], 1);
    cr_assert_eq(a.n_replicas[2], 1);
    a.has_id = true;
    memset(a.topic_id, 7, 16);
    char *out = rb_kzk_assignment_json(&a, true);
    cr_assert(out);
    cr_assert_str_eq(out, "{\"partitions\":{\"0\":[2],\"1\":[3],\"2\":[1]},\"topic_id\":"
                          "\"BwcHBwcHBwcHBwcHBwcHBw\",\"adding_replicas\":{},"
                          "\"removing_replicas\":{},\"version\":3}");
    struct rb_kzk_assignment b;
    cr_assert_eq(rb_kzk_parse_assignment(out, &b), 0);
    cr_assert(b.has_id);
    cr_assert_eq(memcmp(b.topic_id, a.topic_id, 16), 0);
    free(out);
    rb_kzk_assignment_free(&a);
    rb_kzk_assignment_free(&b);
}

/* A reassignment in progress, as Kafka 2.8's controller writes it (version-2
 * fields): kept through a parse and a write. */
Test(kafka_zk, assignment_moving_round_trip)
{
    struct rb_kzk_assignment a;
    const char *js = "{\"partitions\":{\"0\":[2,3,1],\"1\":[3,2]},\"adding_replicas\":{\"0\":[3]},"
                     "\"removing_replicas\":{\"0\":[1]},\"version\":3}";
    cr_assert_eq(rb_kzk_parse_assignment(js, &a), 0);
    cr_assert_eq(a.n_adding[0], 1);
    cr_assert_eq(a.adding[0][0], 3);
    cr_assert_eq(a.n_removing[0], 1);
    cr_assert_eq(a.removing[0][0], 1);
    cr_assert_eq(a.n_adding[1], 0);
    cr_assert_eq(a.n_removing[1], 0);
    char *out = rb_kzk_assignment_json(&a, false);
    cr_assert_str_eq(out, js);
    free(out);
    rb_kzk_assignment_free(&a);
    /* written before version 2: no lists at all */
    cr_assert_eq(rb_kzk_parse_assignment("{\"partitions\":{\"0\":[1]},\"version\":1}", &a), 0);
    cr_assert_eq(a.n_adding[0], 0);
    cr_assert_eq(a.n_removing[0], 0);
    rb_kzk_assignment_free(&a);
    const char *bad[] = {
        "{\"partitions\":{\"0\":[1]},\"adding_replicas\":{\"1\":[2]}}",   /* no partition 1 */
        "{\"partitions\":{\"0\":[1]},\"adding_replicas\":{\"0\":[2,2]}}", /* twice */
        "{\"partitions\":{\"0\":[1]},\"removing_replicas\":[1]}",         /* not an object */
        "{\"partitions\":{\"0\":[1]},\"removing_replicas\":{\"0\":[-1]}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(rb_kzk_parse_assignment(bad[i], &a), -EINVAL, "%s", bad[i]);
}

Test(kafka_zk, assignment_malformed)
{
    struct rb_kzk_assignment a;
    const char *bad[] = {
        "{\"partitions\":{}}",                    /* none */
        "{\"partitions\":{\"0\":[1],\"2\":[1]}}", /* a gap */
        "{\"partitions\":{\"0\":[1,1]}}",         /* duplicate replica */
        "{\"partitions\":{\"0\":[]}}",            /* no replica */
        "{\"partitions\":{\"x\":[1]}}",           /* not a number */
        "{\"partitions\":{\"0\":[-1]}}",          /* negative id */
        "{\"partitions\":{\"0\":[\"1\"]}}",       /* string id */
        "{\"partitions\":{\"0\":[1],\"0\":[2]}}", /* duplicate key */
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(rb_kzk_parse_assignment(bad[i], &a), -EINVAL, "%s", bad[i]);
}

Test(kafka_zk, state_round_trip)
{
    struct rb_kzk_state s;
    const char *js = "{\"controller_epoch\":1,\"leader\":3,\"version\":1,\"leader_epoch\":0,"
                     "\"isr\":[3]}";
    cr_assert_eq(rb_kzk_parse_state(js, &s), 0);
    cr_assert_eq(s.leader, 3);
    cr_assert_eq(s.n_isr, 1);
    cr_assert_eq(s.isr[0], 3);
    char *out = rb_kzk_state_json(&s);
    cr_assert_str_eq(out, js);
    free(out);
    cr_assert_eq(rb_kzk_parse_state("{\"leader\":1}", &s), -EINVAL);
    cr_assert_eq(rb_kzk_parse_state("{\"leader\":1,\"leader_epoch\":0,\"isr\":[1,1]}", &s),
                 -EINVAL);
}

Test(kafka_zk, small_nodes)
{
    int32_t id;
    char buf[64];
    cr_assert_eq(rb_kzk_parse_controller("{\"version\":1,\"brokerid\":1,\"timestamp\":\"5\"}", &id),
                 0);
    cr_assert_eq(id, 1);
    char *js = rb_kzk_controller_json(2, 9);
    cr_assert_str_eq(js, "{\"version\":1,\"brokerid\":2,\"timestamp\":\"9\"}");
    free(js);
    js = rb_kzk_cluster_id_json("abc");
    cr_assert_str_eq(js, "{\"version\":\"1\",\"id\":\"abc\"}");
    cr_assert_eq(rb_kzk_parse_cluster_id(js, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "abc");
    free(js);
    js = rb_kzk_change_json("topics/t");
    cr_assert_str_eq(js, "{\"version\":2,\"entity_path\":\"topics/t\"}");
    cr_assert_eq(rb_kzk_parse_change(js, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "topics/t");
    free(js);
}

Test(kafka_zk, config_round_trip)
{
    struct rb_kzk_config c;
    cr_assert_eq(rb_kzk_parse_config("{\"version\":1,\"config\":{}}", &c), 0);
    cr_assert_eq(c.n, 0);
    rb_kzk_config_free(&c);
    cr_assert_eq(rb_kzk_parse_config("{\"version\":1,\"config\":{\"retention.ms\":\"1000\"}}", &c),
                 0);
    cr_assert_eq(c.n, 1);
    cr_assert_str_eq(c.keys[0], "retention.ms");
    cr_assert_str_eq(c.values[0], "1000");
    char *js = rb_kzk_config_json(&c);
    cr_assert_str_eq(js, "{\"version\":1,\"config\":{\"retention.ms\":\"1000\"}}");
    free(js);
    rb_kzk_config_free(&c);
    cr_assert_eq(rb_kzk_parse_config("{\"config\":{\"a\":1}}", &c), -EINVAL);
}

static uint32_t seq_rnd(void *ctx)
{
    uint32_t *x = ctx;
    return (*x)++;
}

Test(kafka_zk, assign_spreads_without_racks)
{
    struct rb_kzk_broker b[3] = {{.id = 3}, {.id = 1}, {.id = 2}};
    struct rb_kzk_assignment a;
    cr_assert_eq(rb_kzk_assignment_alloc(&a, 6), 0);
    uint32_t x = 0;
    cr_assert_eq(rb_kzk_assign(b, 3, 2, 0, 6, &a, seq_rnd, &x), 0);
    int leaders[4] = {0};
    for (int p = 0; p < 6; p++) {
        cr_assert_eq(a.n_replicas[p], 2);
        cr_assert_neq(a.replicas[p][0], a.replicas[p][1]);
        leaders[a.replicas[p][0]]++;
    }
    cr_assert_eq(leaders[1], 2);
    cr_assert_eq(leaders[2], 2);
    cr_assert_eq(leaders[3], 2);
    /* Kafka's order with start index 0: partition p's leader is broker p % 3 by id order. */
    cr_assert_eq(a.replicas[0][0], 1);
    cr_assert_eq(a.replicas[1][0], 2);
    cr_assert_eq(a.replicas[2][0], 3);
    cr_assert_eq(rb_kzk_assign(b, 3, 4, 0, 6, &a, seq_rnd, &x), -EINVAL);
    rb_kzk_assignment_free(&a);
}

Test(kafka_zk, assign_spans_racks)
{
    struct rb_kzk_broker b[4] = {{.id = 1, .rack = "a"},
                                 {.id = 2, .rack = "a"},
                                 {.id = 3, .rack = "b"},
                                 {.id = 4, .rack = "b"}};
    struct rb_kzk_assignment a;
    cr_assert_eq(rb_kzk_assignment_alloc(&a, 8), 0);
    uint32_t x = 5;
    cr_assert_eq(rb_kzk_assign(b, 4, 2, 0, 8, &a, seq_rnd, &x), 0);
    for (int p = 0; p < 8; p++) {
        int r0 = a.replicas[p][0], r1 = a.replicas[p][1];
        cr_assert_neq(r0, r1);
        bool rack_a0 = r0 <= 2, rack_a1 = r1 <= 2;
        cr_assert_neq(rack_a0, rack_a1, "partition %d on one rack: %d %d", p, r0, r1);
    }
    rb_kzk_assignment_free(&a);
}
