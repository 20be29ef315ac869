/*
 * tests/unit/test_metrics.c - core/metrics.{c,h}: power-of-two histogram buckets,
 * Prometheus text rendering (HELP/TYPE, labels and their escapes, cumulative le
 * buckets, sum and count, scaling), and named counter sets (find-or-add, the
 * overflow slot past the capacity).
 */
#include "core/metrics.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(void (*fn)(struct rb_mbuf *b, void *arg), void *arg)
{
    struct rb_mbuf b = {0};
    fn(&b, arg);
    cr_assert(!b.oom);
    char *s = strndup(b.p ? b.p : "", b.len);
    rb_mbuf_free(&b);
    return s;
}

Test(metrics, bucket_is_bit_length)
{
    cr_assert_eq(rb_hist_bucket(0), 0);
    cr_assert_eq(rb_hist_bucket(1), 1);
    cr_assert_eq(rb_hist_bucket(2), 2);
    cr_assert_eq(rb_hist_bucket(3), 2);
    cr_assert_eq(rb_hist_bucket(4), 3);
    cr_assert_eq(rb_hist_bucket(1023), 10);
    cr_assert_eq(rb_hist_bucket(1024), 11);
    cr_assert_eq(rb_hist_bucket(UINT64_MAX), RB_HIST_BUCKETS - 1);
}

static void r_counter(struct rb_mbuf *b, void *arg)
{
    rb_metric_head(b, "kafka_x_total", "counter", "Things");
    rb_metric_u64(b, "kafka_x_total", "topic=\"t\"", 42);
    rb_metric_u64(b, "kafka_x_total", "", 7);
    rb_metric_double(b, "ratio", "", 0.25);
}

Test(metrics, counter_lines)
{
    char *s = render(r_counter, NULL);
    cr_assert_str_eq(s, "# HELP kafka_x_total Things\n"
                        "# TYPE kafka_x_total counter\n"
                        "kafka_x_total{topic=\"t\"} 42\n"
                        "kafka_x_total 7\n"
                        "ratio 0.25\n");
    free(s);
}

static void r_label(struct rb_mbuf *b, void *arg)
{
    rb_metric_label_value(b, arg);
}

Test(metrics, label_escapes)
{
    char *s = render(r_label, "a\\b\"c\nd");
    cr_assert_str_eq(s, "a\\\\b\\\"c\\nd");
    free(s);
}

static void r_hist(struct rb_mbuf *b, void *arg)
{
    rb_metric_hist(b, "lat", "request=\"Produce\"", arg, 1);
}

Test(metrics, histogram_is_cumulative_up_to_the_highest_bucket)
{
    struct rb_hist h = {0};
    rb_hist_add(&h, 0);
    rb_hist_add(&h, 1);
    rb_hist_add(&h, 3);
    rb_hist_add(&h, 3);
    rb_hist_add(&h, 5);
    char *s = render(r_hist, &h);
    cr_assert_str_eq(s, "lat_bucket{request=\"Produce\",le=\"0\"} 1\n"
                        "lat_bucket{request=\"Produce\",le=\"1\"} 2\n"
                        "lat_bucket{request=\"Produce\",le=\"3\"} 4\n"
                        "lat_bucket{request=\"Produce\",le=\"7\"} 5\n"
                        "lat_bucket{request=\"Produce\",le=\"+Inf\"} 5\n"
                        "lat_sum{request=\"Produce\"} 12\n"
                        "lat_count{request=\"Produce\"} 5\n");
    free(s);
}

static void r_hist_scaled(struct rb_mbuf *b, void *arg)
{
    rb_metric_hist(b, "sync_seconds", "", arg, 1e6);
}

Test(metrics, histogram_scaled_and_empty)
{
    struct rb_hist h = {0};
    char *s = render(r_hist_scaled, &h);
    cr_assert_str_eq(s, "sync_seconds_bucket{le=\"0\"} 0\n"
                        "sync_seconds_bucket{le=\"+Inf\"} 0\n"
                        "sync_seconds_sum 0\n"
                        "sync_seconds_count 0\n");
    free(s);
    rb_hist_add(&h, 1500); /* 1.5 ms: bucket 11, le 2047 us */
    s = render(r_hist_scaled, &h);
    cr_assert(strstr(s, "sync_seconds_bucket{le=\"0.001023\"} 0\n"), "%s", s);
    cr_assert(strstr(s, "sync_seconds_bucket{le=\"0.002047\"} 1\n"), "%s", s);
    cr_assert(strstr(s, "sync_seconds_sum 0.0015\n"), "%s", s);
    free(s);
}

Test(metrics, histogram_top_bucket_counts_only_in_inf)
{
    struct rb_hist h = {0};
    rb_hist_add(&h, UINT64_MAX);
    rb_hist_add(&h, 2);
    char *s = render(r_hist, &h);
    cr_assert(strstr(s, "le=\"+Inf\"} 2\n"), "%s", s);
    cr_assert(strstr(s, "lat_count{request=\"Produce\"} 2\n"), "%s", s);
    free(s);
}

Test(metrics, merge_sums)
{
    struct rb_hist a = {0}, b = {0}, m = {0};
    rb_hist_add(&a, 2);
    rb_hist_add(&b, 2);
    rb_hist_add(&b, 100);
    rb_hist_merge(&m, &a);
    rb_hist_merge(&m, &b);
    cr_assert_eq(rb_counter_get(&m.bucket[2]), 2);
    cr_assert_eq(rb_counter_get(&m.bucket[7]), 1);
    cr_assert_eq(rb_counter_get(&m.sum), 104);
}

Test(metrics, names_find_or_add)
{
    struct rb_mnames *m = rb_mnames_new();
    cr_assert(m);
    struct rb_mname *a = rb_mnames_get(m, "orders-xyz", 6);
    struct rb_mname *b = rb_mnames_get(m, "payments", 8);
    cr_assert_neq(a, b);
    cr_assert_str_eq(a->name, "orders");
    cr_assert_eq(rb_mnames_get(m, "orders", 6), a);
    cr_assert_eq(rb_mnames_count(m), 2);
    rb_counter_add(&a->v[1], 5);
    rb_counter_add(&a->v[1], 6);
    cr_assert_eq(rb_counter_get(&a->v[1]), 11);
    rb_mnames_free(m);
}

Test(metrics, names_past_capacity_share_the_overflow_slot)
{
    struct rb_mnames *m = rb_mnames_new();
    char name[32];
    struct rb_mname *first_over = NULL;
    for (int i = 0; i < RB_MNAMES_MAX + 10; i++) {
        int n = snprintf(name, sizeof(name), "t%d", i);
        struct rb_mname *s = rb_mnames_get(m, name, (size_t)n);
        if (i < RB_MNAMES_MAX - 1) {
            cr_assert_str_eq(s->name, name);
        } else {
            cr_assert_str_eq(s->name, "");
            if (!first_over)
                first_over = s;
            cr_assert_eq(s, first_over);
        }
    }
    cr_assert_eq(rb_mnames_count(m), RB_MNAMES_MAX);
    cr_assert_eq(rb_mnames_get(m, "t3", 2), &m->slot[3]); /* earlier names still found */
    rb_mnames_free(m);
}
