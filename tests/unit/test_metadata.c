/*
 * tests/unit/test_metadata.c - coord/metadata.[ch]: Kafka's textual topic id
 * (URL-safe base64, no padding), topic name rules, lookup by name and id after
 * sorting, deep clone, reference counting.
 */
#include "coord/metadata.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* Under ASan freed memory is poisoned (quarantined): lets a test see a free. */
#define FREED(p) __asan_address_is_poisoned(p)
#else
#define FREED(p)      false
#define NO_FREE_CHECK 1
#endif

/* ---- UUID text ---- */

Test(metadata, uuid_zero_vector)
{
    uint8_t id[16] = {0};
    char s[23];
    memset(s, 'x', sizeof(s));
    rb_uuid_to_base64(id, s);
    cr_assert_str_eq(s, "AAAAAAAAAAAAAAAAAAAAAA");
    cr_assert_eq(strlen(s), 22);
    uint8_t back[16];
    memset(back, 0xee, sizeof(back));
    cr_assert_eq(rb_uuid_from_base64("AAAAAAAAAAAAAAAAAAAAAA", back), 0);
    cr_assert_arr_eq(back, id, 16);
}

Test(metadata, uuid_known_vectors)
{
    /* All-ones: 16 bytes of 0xff -> 21 '_' then 'w' (last 2 bits then 4 zero bits). */
    uint8_t ff[16];
    memset(ff, 0xff, sizeof(ff));
    char s[23];
    rb_uuid_to_base64(ff, s);
    cr_assert_str_eq(s, "_____________________w");
    /* 00 01 02 ... 0f, as base64url("\x00\x01...\x0f") without padding. */
    uint8_t seq[16];
    for (int i = 0; i < 16; i++)
        seq[i] = (uint8_t)i;
    rb_uuid_to_base64(seq, s);
    cr_assert_str_eq(s, "AAECAwQFBgcICQoLDA0ODw");
    /* Bytes that map onto the URL-safe characters '-' (62) and '_' (63). */
    uint8_t url[16] = {0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff};
    rb_uuid_to_base64(url, s);
    cr_assert_eq(strncmp(s, "----____AA", 10), 0, "got %s", s);
    cr_assert_null(strchr(s, '+'));
    cr_assert_null(strchr(s, '/'));
    cr_assert_null(strchr(s, '='));
    uint8_t back[16];
    cr_assert_eq(rb_uuid_from_base64(s, back), 0);
    cr_assert_arr_eq(back, url, 16);
}

Test(metadata, uuid_random_round_trip)
{
    for (int n = 0; n < 2000; n++) {
        uint8_t id[16], back[16];
        rb_uuid_random(id);
        char s[23];
        rb_uuid_to_base64(id, s);
        cr_assert_eq(strlen(s), 22);
        for (int i = 0; i < 22; i++) {
            char c = s[i];
            cr_assert((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_');
        }
        cr_assert_eq(rb_uuid_from_base64(s, back), 0);
        cr_assert_arr_eq(back, id, 16);
    }
}

Test(metadata, uuid_random_is_v4_and_varies)
{
    uint8_t a[16], b[16], zero[16] = {0};
    rb_uuid_random(a);
    rb_uuid_random(b);
    cr_assert_eq(a[6] >> 4, 4, "version nibble");
    cr_assert_eq(a[8] & 0xc0, 0x80, "variant bits");
    cr_assert_neq(memcmp(a, b, 16), 0);
    cr_assert_neq(memcmp(a, zero, 16), 0);
}

Test(metadata, uuid_invalid_strings_rejected)
{
    uint8_t id[16];
    const char *bad[] = {
        "",
        "AAAAAAAAAAAAAAAAAAAAA",    /* 21 */
        "AAAAAAAAAAAAAAAAAAAAAAA",  /* 23 */
        "AAAAAAAAAAAAAAAAAAAAAA==", /* padded */
        "AAAAAAAAAAAAAAAAAAAA+A",   /* standard (not URL-safe) alphabet */
        "AAAAAAAAAAAAAAAAAAAA/A",
        "AAAAAAAAAAA AAAAAAAAAA",
        "AAAAAAAAAAA=AAAAAAAAAA",
        "AAAAAAAAAAA\xc3\xa9"
        "AAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_lt(rb_uuid_from_base64(bad[i], id), 0, "accepted '%s'", bad[i]);
}

/* ---- topic names ---- */

static bool valid(const char *s)
{
    return rb_topic_name_valid(s, strlen(s));
}

Test(metadata, topic_name_rules)
{
    cr_assert(valid("a"));
    cr_assert(valid("orders"));
    cr_assert(valid("Orders.v2_eu-west"));
    cr_assert(valid("..."));
    cr_assert(valid(".a"));
    cr_assert(valid("__consumer_offsets"));
    cr_assert(valid("0123456789"));
    cr_assert(!valid(""));
    cr_assert(!valid("."));
    cr_assert(!valid(".."));
    cr_assert(!valid("a b"));
    cr_assert(!valid("a/b"));
    cr_assert(!valid("a:b"));
    cr_assert(!valid("a+b"));
    cr_assert(!valid("caf\xc3\xa9"));
    cr_assert(!valid("tab\there"));
    /* Only len bytes count: an embedded NUL is a bad character. */
    cr_assert(!rb_topic_name_valid("ab\0c", 4));
    cr_assert(rb_topic_name_valid("ab/c", 2));
    cr_assert(!rb_topic_name_valid("..x", 2));
}

Test(metadata, topic_name_length_limit)
{
    char name[300];
    memset(name, 'x', sizeof(name));
    cr_assert(rb_topic_name_valid(name, 249));
    cr_assert(!rb_topic_name_valid(name, 250));
    cr_assert(!rb_topic_name_valid(name, 0));
}

/* ---- snapshots ---- */

static struct rb_metadata *make_md(int n, const char *const *names)
{
    struct rb_metadata *md = calloc(1, sizeof(*md));
    atomic_init(&md->refs, 1);
    md->epoch = 7;
    strcpy(md->cluster_id, "clusterXYZ");
    md->controller_id = 3;
    md->n_brokers = 1;
    md->brokers = calloc(1, sizeof(*md->brokers));
    md->brokers[0].id = 3;
    md->brokers[0].host = strdup("host.example");
    md->brokers[0].port = 9092;
    md->brokers[0].rack = strdup("rack-a");
    md->n_topics = n;
    md->topics = calloc((size_t)n, sizeof(*md->topics));
    for (int i = 0; i < n; i++) {
        struct rb_topic_meta *t = &md->topics[i];
        t->name = strdup(names[i]);
        t->name_len = strlen(names[i]);
        memset(t->id, 0, 16);
        t->id[0] = (uint8_t)(i + 1);
        t->id[15] = 0xab;
        t->n_partitions = i + 1;
        t->partitions = calloc((size_t)t->n_partitions, sizeof(*t->partitions));
        for (int p = 0; p < t->n_partitions; p++) {
            struct rb_partition_meta *pm = &t->partitions[p];
            pm->index = p;
            pm->shard = (int16_t)(p % 2);
            pm->leader = 3;
            pm->n_replicas = pm->n_isr = 1;
            pm->replicas = malloc(sizeof(int32_t));
            pm->isr = malloc(sizeof(int32_t));
            pm->replicas[0] = pm->isr[0] = 3;
        }
        t->n_configs = 2;
        t->configs = calloc(2, sizeof(*t->configs));
        t->configs[0].key = strdup("retention.ms");
        t->configs[0].value = strdup("1000");
        t->configs[1].key = strdup("cleanup.policy");
        t->configs[1].value = strdup("delete");
    }
    return md;
}

static const char *const names5[] = {"zeta", "alpha", "mid", "alpha2", "Alpha"};

Test(metadata, lookup_by_name_after_sort)
{
    struct rb_metadata *md = make_md(5, names5);
    rb_metadata_sort(md);
    for (int i = 1; i < md->n_topics; i++)
        cr_assert_lt(strcmp(md->topics[i - 1].name, md->topics[i].name), 0);
    for (int i = 0; i < 5; i++) {
        const struct rb_topic_meta *t = rb_metadata_topic(md, names5[i], strlen(names5[i]));
        cr_assert_not_null(t, "%s not found", names5[i]);
        cr_assert_str_eq(t->name, names5[i]);
    }
    /* Absent names, prefixes and extensions of present ones, non-NUL-terminated input. */
    cr_assert_null(rb_metadata_topic(md, "alph", 4));
    cr_assert_null(rb_metadata_topic(md, "alpha3", 6));
    cr_assert_null(rb_metadata_topic(md, "zz", 2));
    cr_assert_null(rb_metadata_topic(md, "", 0));
    const struct rb_topic_meta *t = rb_metadata_topic(md, "alpha2xyz", 5);
    cr_assert_not_null(t);
    cr_assert_str_eq(t->name, "alpha");
    rb_metadata_free(md);
}

Test(metadata, lookup_empty_snapshot)
{
    struct rb_metadata *md = make_md(0, names5);
    rb_metadata_sort(md);
    cr_assert_null(rb_metadata_topic(md, "a", 1));
    uint8_t id[16] = {1};
    cr_assert_null(rb_metadata_topic_by_id(md, id));
    rb_metadata_free(md);
}

/* A fresh snapshot has topics == NULL: sort and lookups must cope (UBSan: qsort(NULL)). */
Test(metadata, sort_and_lookup_with_null_topics)
{
    struct rb_metadata *md = calloc(1, sizeof(*md));
    atomic_init(&md->refs, 1);
    rb_metadata_sort(md);
    cr_assert_null(rb_metadata_topic(md, "a", 1));
    uint8_t id[16] = {1};
    cr_assert_null(rb_metadata_topic_by_id(md, id));
    struct rb_metadata *cl = rb_metadata_clone(md);
    rb_metadata_sort(cl);
    cr_assert_eq(cl->n_topics, 0);
    rb_metadata_free(cl);
    rb_metadata_unref(md);
}

Test(metadata, lookup_by_id_and_config)
{
    struct rb_metadata *md = make_md(5, names5);
    rb_metadata_sort(md);
    for (int i = 0; i < 5; i++) {
        uint8_t id[16] = {0};
        id[0] = (uint8_t)(i + 1);
        id[15] = 0xab;
        const struct rb_topic_meta *t = rb_metadata_topic_by_id(md, id);
        cr_assert_not_null(t);
        cr_assert_str_eq(t->name, names5[i]);
        cr_assert_eq(t->n_partitions, i + 1);
    }
    uint8_t none[16] = {9};
    cr_assert_null(rb_metadata_topic_by_id(md, none));
    const struct rb_topic_meta *t = rb_metadata_topic(md, "mid", 3);
    cr_assert_str_eq(rb_topic_config(t, "retention.ms"), "1000");
    cr_assert_str_eq(rb_topic_config(t, "cleanup.policy"), "delete");
    cr_assert_null(rb_topic_config(t, "retention"));
    cr_assert_null(rb_topic_config(t, "segment.bytes"));
    rb_metadata_free(md);
}

Test(metadata, clone_is_deep)
{
    struct rb_metadata *md = make_md(5, names5);
    rb_metadata_sort(md);
    atomic_store(&md->refs, 4);
    struct rb_metadata *cl = rb_metadata_clone(md);
    cr_assert_eq(atomic_load(&cl->refs), 1);
    /* No pointer is shared. */
    cr_assert_neq(cl->brokers, md->brokers);
    cr_assert_neq(cl->brokers[0].host, md->brokers[0].host);
    cr_assert_neq(cl->topics, md->topics);
    for (int i = 0; i < 5; i++) {
        cr_assert_neq(cl->topics[i].name, md->topics[i].name);
        cr_assert_neq(cl->topics[i].partitions, md->topics[i].partitions);
        cr_assert_neq(cl->topics[i].configs, md->topics[i].configs);
        cr_assert_neq(cl->topics[i].configs[0].value, md->topics[i].configs[0].value);
        cr_assert_neq(cl->topics[i].partitions[0].replicas, md->topics[i].partitions[0].replicas);
    }
    /* Scribble over and free the original: the clone must be intact (ASan catches reuse). */
    for (int i = 0; i < 5; i++) {
        md->topics[i].name[0] = '#';
        md->topics[i].configs[0].value[0] = '#';
        md->topics[i].partitions[0].replicas[0] = -1;
    }
    rb_metadata_free(md);
    cr_assert_eq(cl->epoch, 7);
    cr_assert_str_eq(cl->cluster_id, "clusterXYZ");
    cr_assert_eq(cl->controller_id, 3);
    cr_assert_eq(cl->n_brokers, 1);
    cr_assert_str_eq(cl->brokers[0].host, "host.example");
    cr_assert_str_eq(cl->brokers[0].rack, "rack-a");
    cr_assert_eq(cl->brokers[0].port, 9092);
    cr_assert_eq(cl->n_topics, 5);
    for (int i = 0; i < 5; i++) {
        const struct rb_topic_meta *t = rb_metadata_topic(cl, names5[i], strlen(names5[i]));
        cr_assert_not_null(t);
        cr_assert_eq(t->name_len, strlen(names5[i]));
        cr_assert_eq(t->id[0], i + 1);
        cr_assert_eq(t->n_partitions, i + 1);
        for (int p = 0; p < t->n_partitions; p++) {
            cr_assert_eq(t->partitions[p].index, p);
            cr_assert_eq(t->partitions[p].shard, p % 2);
            cr_assert_eq(t->partitions[p].n_replicas, 1);
            cr_assert_eq(t->partitions[p].replicas[0], 3);
            cr_assert_eq(t->partitions[p].isr[0], 3);
        }
        cr_assert_str_eq(rb_topic_config(t, "retention.ms"), "1000");
    }
    rb_metadata_free(cl);
}

Test(metadata, clone_of_empty_and_null_rack)
{
    struct rb_metadata *md = make_md(0, names5);
    free(md->brokers[0].rack);
    md->brokers[0].rack = NULL;
    struct rb_metadata *cl = rb_metadata_clone(md);
    rb_metadata_free(md);
    cr_assert_eq(cl->n_topics, 0);
    cr_assert_null(cl->brokers[0].rack);
    cr_assert_null(rb_metadata_topic(cl, "x", 1));
    /* A clone can be extended by the writer (topics array is realloc-able). */
    rb_metadata_free(cl);
}

Test(metadata, refcount_frees_at_zero)
{
    struct rb_metadata *md = make_md(2, names5);
    rb_metadata_ref(md);
    rb_metadata_ref(md);
    cr_assert_eq(atomic_load(&md->refs), 3);
    rb_metadata_unref(md);
    rb_metadata_unref(md);
    /* Still alive: a read must be valid (ASan would flag a use after free). */
    cr_assert_eq(atomic_load(&md->refs), 1);
    cr_assert_str_eq(md->topics[0].name, "zeta");
    cr_assert(!FREED(md));
    char *name = md->topics[0].name;
    rb_metadata_unref(md); /* the last reference frees the snapshot and what it owns */
#ifndef NO_FREE_CHECK
    cr_assert(FREED(md), "snapshot not freed at refs 0");
    cr_assert(FREED(name), "topic name not freed at refs 0");
#else
    (void)name;
#endif
    rb_metadata_unref(NULL);
}
