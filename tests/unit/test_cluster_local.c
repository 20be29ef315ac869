/*
 * tests/unit/test_cluster_local.c - coord/cluster_local.c: the file of a cluster
 * broker's local replicas round-trips (topic, partition, shard, topic id; only
 * partitions placed on a shard), a missing file is an empty set, a malformed one is
 * refused with its line named.
 */
#include "coord/cluster_int.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/rb-cl-local-XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(cluster_local, .init = setup, .fini = teardown);

Test(cluster_local, missing_is_empty)
{
    struct rb_cl_local *l = NULL;
    int n = -1;
    char err[128] = "";
    cr_assert_eq(rb_cl_local_load(dir, &l, &n, err, sizeof(err)), 0);
    cr_assert_eq(n, 0);
    cr_assert_null(l);
}

Test(cluster_local, round_trip)
{
    struct rb_metadata md = {0};
    struct rb_partition_meta parts[3] = {
        {.index = 0, .shard = 1}, {.index = 1, .shard = -1}, {.index = 2, .shard = 0}};
    struct rb_topic_meta t = {
        .name = "orders", .name_len = 6, .n_partitions = 3, .partitions = parts};
    memset(t.id, 0xab, 16);
    md.n_topics = 1;
    md.topics = &t;
    cr_assert_eq(rb_cl_local_save(dir, &md), 0);
    struct rb_cl_local *l = NULL;
    int n = 0;
    char err[128] = "";
    cr_assert_eq(rb_cl_local_load(dir, &l, &n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(n, 2); /* partition 1 is not placed here */
    cr_assert_str_eq(l[0].topic, "orders");
    cr_assert_eq(l[0].partition, 0);
    cr_assert_eq(l[0].shard, 1);
    cr_assert_eq(l[1].partition, 2);
    cr_assert_eq(l[1].shard, 0);
    cr_assert_eq(memcmp(l[1].id, t.id, 16), 0);
    free(l);
}

Test(cluster_local, malformed_refused)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/ringbroker-replicas", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("ringbroker-replicas 1\norders 0 1 AAAAAAAAAAAAAAAAAAAAAA\norders x 1 zz\n", f);
    fclose(f);
    struct rb_cl_local *l = NULL;
    int n = 0;
    char err[256] = "";
    cr_assert_eq(rb_cl_local_load(dir, &l, &n, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "line 3"), "%s", err);
    cr_assert_null(l);
    f = fopen(path, "w");
    fputs("something else\n", f);
    fclose(f);
    cr_assert_eq(rb_cl_local_load(dir, &l, &n, err, sizeof(err)), -EINVAL);
}
