/*
 * tests/unit/test_kafka_zk_move.c - the reassignment JSON (coord/kafka_zk_move.c):
 * Kafka's file and node read, what Kafka writes round-trips, and every malformed
 * shape refused with a reason naming the entry.
 */
#include "coord/kafka_zk.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

Test(kafka_zk_move, from_kafka)
{
    /* what kafka-reassign-partitions.sh --generate prints (log_dirs ignored) */
    const char *js = "{\"version\":1,\"partitions\":[{\"topic\":\"a\",\"partition\":0,"
                     "\"replicas\":[2,3],\"log_dirs\":[\"any\",\"any\"]},{\"topic\":\"b\","
                     "\"partition\":4,\"replicas\":[1]}]}";
    struct rb_kzk_move *m = NULL;
    int n = 0;
    char err[256] = "";
    cr_assert_eq(rb_kzk_parse_moves(js, &m, &n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(m[0].topic, "a");
    cr_assert_eq(m[0].partition, 0);
    cr_assert_eq(m[0].n_replicas, 2);
    cr_assert_eq(m[0].replicas[1], 3);
    cr_assert_str_eq(m[1].topic, "b");
    cr_assert_eq(m[1].partition, 4);
    char *out = rb_kzk_moves_json(m, n);
    cr_assert_str_eq(out,
                     "{\"version\":1,\"partitions\":[{\"topic\":\"a\",\"partition\":0,"
                     "\"replicas\":[2,3]},{\"topic\":\"b\",\"partition\":4,\"replicas\":[1]}]}");
    struct rb_kzk_move *m2 = NULL;
    int n2 = 0;
    cr_assert_eq(rb_kzk_parse_moves(out, &m2, &n2, err, sizeof(err)), 0);
    cr_assert_eq(n2, 2);
    cr_assert_eq(memcmp(m, m2, sizeof(*m) * 2), 0);
    free(out);
    free(m);
    free(m2);
}

Test(kafka_zk_move, empty_list)
{
    struct rb_kzk_move *m = NULL;
    int n = -1;
    cr_assert_eq(rb_kzk_parse_moves("{\"version\":1,\"partitions\":[]}", &m, &n, NULL, 0), 0);
    cr_assert_eq(n, 0);
    free(m);
    char *out = rb_kzk_moves_json(NULL, 0);
    cr_assert_str_eq(out, "{\"version\":1,\"partitions\":[]}");
    free(out);
}

Test(kafka_zk_move, malformed)
{
    static const struct {
        const char *js, *why;
    } bad[] = {
        {"not json", "not JSON"},
        {"[1]", "not {"},
        {"{\"version\":1}", "not {"},
        {"{\"partitions\":[{\"partition\":0,\"replicas\":[1]}]}", "partitions[0]: no \"topic\""},
        {"{\"partitions\":[{\"topic\":\"\",\"partition\":0,\"replicas\":[1]}]}", "no \"topic\""},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":-1,\"replicas\":[1]}]}", "\"partition\""},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":\"0\",\"replicas\":[1]}]}",
         "\"partition\""},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[]}]}", "\"replicas\""},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":0}]}", "\"replicas\""},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,-2]}]}",
         "not a broker"},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,1]}]}",
         "broker 1 is named twice"},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1]},{\"topic\":\"u\","
         "\"partition\":0,\"replicas\":[1]},{\"topic\":\"t\",\"partition\":0,\"replicas\":[2]}]}",
         "partitions[2]: the partition is named twice"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rb_kzk_move *m = (void *)1;
        int n = -1;
        char err[256] = "";
        cr_assert_eq(rb_kzk_parse_moves(bad[i].js, &m, &n, err, sizeof(err)), -EINVAL, "%s",
                     bad[i].js);
        cr_assert_null(m);
        cr_assert_eq(n, 0);
        cr_assert(strstr(err, bad[i].why), "%s: '%s' has no '%s'", bad[i].js, err, bad[i].why);
    }
}
