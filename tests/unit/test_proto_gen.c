/*
 * tests/unit/test_proto_gen.c - the generated codecs (net/proto_gen.c).
 *
 * Data-driven: tests/unit/proto_gen_test.h (generated next to the codecs) gives
 * for every message a fill-with-non-default-values and an equality function.
 * For every message, direction and covered version: encode, decode, compare,
 * re-encode and compare bytes; every strict prefix of the encoding must fail
 * to decode. Hand-written byte vectors pin the layout to the spec.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/proto_gen.h"
#include "tests/unit/proto_gen_test.h"

static int encode_case(const struct tg_case *tc, int16_t v, const void *m, struct rb_writer *w)
{
    rb_writer_init(w, 256);
    if (tc->req)
        rb_req_encode_any(w, tc->key, v, m);
    else
        rb_resp_encode_any(w, tc->key, v, m);
    return w->err;
}

static int decode_case(const struct tg_case *tc, int16_t v, const void *buf, size_t len,
                       struct rb_arena *a, void **out)
{
    struct rb_reader r;
    rb_reader_init(&r, buf, len);
    if (tc->req)
        return rb_req_decode_any(&r, a, tc->key, v, out);
    return rb_resp_decode_any(&r, a, tc->key, v, out);
}

static void round_trip(const struct tg_case *tc, int16_t v)
{
    const struct rb_api_info *ai = rb_api_info(tc->key);
    const char *dir = tc->req ? "request" : "response";
    struct rb_arena a;
    rb_arena_init(&a, 0);
    void *m = rb_arena_alloc(&a, tc->size);
    int c = (int)v;
    tc->init(m);
    tc->fill(m, v, &a, &c);

    struct rb_writer w1, w2;
    cr_assert_eq(encode_case(tc, v, m, &w1), 0, "%s %s v%d encode", ai->name, dir, v);

    void *d = NULL;
    int rc = decode_case(tc, v, w1.buf, w1.len, &a, &d);
    cr_assert_eq(rc, 0, "%s %s v%d decode rc=%d len=%zu", ai->name, dir, v, rc, w1.len);
    cr_expect(tc->eq(m, d), "%s %s v%d decoded struct differs", ai->name, dir, v);

    cr_assert_eq(encode_case(tc, v, d, &w2), 0);
    cr_expect_eq(w1.len, w2.len, "%s %s v%d re-encoded length", ai->name, dir, v);
    cr_expect(w1.len == w2.len && memcmp(w1.buf, w2.buf, w1.len) == 0,
              "%s %s v%d re-encoded bytes differ", ai->name, dir, v);

    /* Every truncation fails, and never reads past the prefix (ASan). */
    for (size_t cut = 0; cut < w1.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, w1.buf, cut);
        struct rb_arena ta;
        rb_arena_init(&ta, 0);
        void *td;
        int trc = decode_case(tc, v, copy, cut, &ta, &td);
        cr_expect_eq(trc, -EBADMSG, "%s %s v%d truncated to %zu of %zu: rc=%d", ai->name, dir, v,
                     cut, w1.len, trc);
        rb_arena_free(&ta);
        free(copy);
    }
    /* A trailing byte is rejected: bodies are consumed exactly. */
    uint8_t *longer = malloc(w1.len + 1);
    memcpy(longer, w1.buf, w1.len);
    longer[w1.len] = 0;
    cr_expect_eq(decode_case(tc, v, longer, w1.len + 1, &a, &d), -EBADMSG,
                 "%s %s v%d trailing byte accepted", ai->name, dir, v);
    free(longer);
    rb_writer_free(&w1);
    rb_writer_free(&w2);
    rb_arena_free(&a);
}

Test(proto_gen, round_trip_every_message_every_version)
{
    int versions = 0;
    for (size_t i = 0; i < (sizeof(tg_cases) / sizeof(tg_cases[0])); i++) {
        const struct rb_api_info *ai = rb_api_info(tg_cases[i].key);
        cr_assert_not_null(ai);
        for (int16_t v = ai->min_version; v <= ai->max_version; v++) {
            round_trip(&tg_cases[i], v);
            versions++;
        }
    }
    cr_expect_gt(versions, 100);
}

Test(proto_gen, table_covers_phase1)
{
    static const int16_t keys[][3] = {{0, 0, 11}, {1, 4, 16}, {2, 1, 8},  {3, 0, 12},
                                      {18, 0, 4}, {19, 2, 7}, {20, 1, 6}, {32, 1, 4}};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct rb_api_info *ai = rb_api_info(keys[i][0]);
        cr_assert_not_null(ai, "key %d", keys[i][0]);
        cr_expect_eq(ai->min_version, keys[i][1], "%s", ai->name);
        cr_expect_eq(ai->max_version, keys[i][2], "%s", ai->name);
    }
    cr_expect_null(rb_api_info(999));
    cr_expect_eq(rb_api_info(0)->flexible_min, 9);
    cr_expect_eq(rb_api_info(18)->flexible_min, 3);
    cr_expect_eq(rb_api_table_n, (int)(sizeof(tg_cases) / sizeof(tg_cases[0])) / 2);
}

Test(proto_gen, decode_any_rejects_unknown)
{
    struct rb_arena a;
    rb_arena_init(&a, 0);
    struct rb_reader r;
    rb_reader_init(&r, "", 0);
    void *out;
    cr_expect_eq(rb_req_decode_any(&r, &a, 999, 0, &out), -EBADMSG);
    rb_reader_init(&r, "", 0);
    cr_expect_eq(rb_req_decode_any(&r, &a, 18, 99, &out), -EBADMSG);
    rb_arena_free(&a);
}

static void expect_bytes(const struct rb_writer *w, const void *want, size_t n)
{
    cr_assert_eq(w->err, 0);
    cr_assert_eq(w->len, n, "len %zu want %zu", w->len, n);
    cr_expect(memcmp(w->buf, want, n) == 0, "bytes differ");
}

/* ApiVersions v0 as librdkafka / kafka-python send it: header v1, empty body. */
Test(proto_gen, vector_api_versions_v0_request)
{
    static const uint8_t frame[] = {0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
                                    0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a'};
    struct rb_reader r;
    rb_reader_init(&r, frame, sizeof(frame));
    struct rb_req_header h;
    cr_assert_eq(rb_req_header_decode(&r, &h), 0);
    cr_expect_eq(h.api_key, 18);
    cr_expect_eq(h.api_version, 0);
    cr_expect_eq(h.correlation_id, 1);
    cr_expect(rb_str_eq(h.client_id, "rdkafka"));
    struct rb_arena a;
    rb_arena_init(&a, 0);
    struct rb_api_versions_req m;
    cr_expect_eq(rb_api_versions_req_decode(&r, &a, 0, &m), 0);
    struct rb_writer w;
    rb_writer_init(&w, 0);
    rb_req_header_encode(&w, &h);
    rb_api_versions_req_encode(&w, 0, &m);
    expect_bytes(&w, frame, sizeof(frame));
    rb_writer_free(&w);
    rb_arena_free(&a);
}

/* ApiVersions v3 as librdkafka 2.0.2 sends it: header v2 (client_id keeps its
 * int16 length, then an empty tag section), compact strings, tag sections. */
Test(proto_gen, vector_api_versions_v3_request)
{
    static const uint8_t frame[] = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00,
                                    0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a',  0x00,
                                    0x0b, 'l',  'i',  'b',  'r',  'd',  'k',  'a',  'f',
                                    'k',  'a',  0x06, '2',  '.',  '0',  '.',  '2',  0x00};
    struct rb_reader r;
    rb_reader_init(&r, frame, sizeof(frame));
    struct rb_req_header h;
    cr_assert_eq(rb_req_header_decode(&r, &h), 0);
    cr_expect_eq(h.api_version, 3);
    cr_expect_eq(h.correlation_id, 2);
    struct rb_arena a;
    rb_arena_init(&a, 0);
    struct rb_api_versions_req m;
    cr_assert_eq(rb_api_versions_req_decode(&r, &a, 3, &m), 0);
    cr_expect(rb_str_eq(m.client_software_name, "librdkafka"));
    cr_expect(rb_str_eq(m.client_software_version, "2.0.2"));
    struct rb_writer w;
    rb_writer_init(&w, 0);
    rb_req_header_encode(&w, &h);
    rb_api_versions_req_encode(&w, 3, &m);
    expect_bytes(&w, frame, sizeof(frame));
    rb_writer_free(&w);
    rb_arena_free(&a);
}

/* Metadata v0 for topic "test" (kafka-python's probe). */
Test(proto_gen, vector_metadata_v0_request)
{
    static const uint8_t body[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 't', 'e', 's', 't'};
    struct rb_reader r;
    rb_reader_init(&r, body, sizeof(body));
    struct rb_arena a;
    rb_arena_init(&a, 0);
    struct rb_metadata_req m;
    cr_assert_eq(rb_metadata_req_decode(&r, &a, 0, &m), 0);
    cr_assert_eq(m.topics_n, 1);
    cr_expect(rb_str_eq(m.topics[0].name, "test"));
    cr_expect(m.allow_auto_topic_creation, "default true when absent");
    /* v0 has no null array: -1 is malformed; v1 accepts it. */
    static const uint8_t null_topics[] = {0xff, 0xff, 0xff, 0xff};
    rb_reader_init(&r, null_topics, 4);
    cr_expect_eq(rb_metadata_req_decode(&r, &a, 0, &m), -EBADMSG);
    rb_reader_init(&r, null_topics, 4);
    cr_expect_eq(rb_metadata_req_decode(&r, &a, 1, &m), 0);
    cr_expect_eq(m.topics_n, -1);
    rb_arena_free(&a);
}

/* ProduceResponse v3: one topic "t", partition 0, error 0, base offset 5,
 * log append time -1, throttle 0. */
Test(proto_gen, vector_produce_v3_response)
{
    static const uint8_t body[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0x00,
                                   0x00, 0x00, 0x01,                   /* topic, 1 part */
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* index, error */
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* base offset */
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log append */
                                   0x00, 0x00, 0x00, 0x00};                        /* throttle */
    struct rb_produce_resp_partition p;
    rb_produce_resp_partition_init(&p);
    p.base_offset = 5;
    cr_expect_eq(p.log_append_time_ms, -1);
    struct rb_produce_resp_topic t;
    rb_produce_resp_topic_init(&t);
    t.name = rb_str_c("t");
    t.partition_responses = &p;
    t.partition_responses_n = 1;
    struct rb_produce_resp m;
    rb_produce_resp_init(&m);
    m.responses = &t;
    m.responses_n = 1;
    struct rb_writer w;
    rb_writer_init(&w, 0);
    rb_produce_resp_encode(&w, 3, &m);
    expect_bytes(&w, body, sizeof(body));
    rb_writer_free(&w);
}

/* ApiVersions v3 response: tagged field FinalizedFeaturesEpoch (tag 1) is
 * written only when not default, after throttle_time_ms. */
Test(proto_gen, vector_api_versions_v3_response_tags)
{
    struct rb_api_versions_resp_api_key k = {18, 0, 4};
    struct rb_api_versions_resp m;
    rb_api_versions_resp_init(&m);
    cr_expect_eq(m.finalized_features_epoch, -1);
    m.api_keys = &k;
    m.api_keys_n = 1;
    static const uint8_t plain[] = {0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00,
                                    0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    struct rb_writer w;
    rb_writer_init(&w, 0);
    rb_api_versions_resp_encode(&w, 3, &m);
    expect_bytes(&w, plain, sizeof(plain));
    rb_writer_free(&w);

    m.finalized_features_epoch = 7;
    static const uint8_t tagged[] = {0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x04,
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x08, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07};
    rb_writer_init(&w, 0);
    rb_api_versions_resp_encode(&w, 3, &m);
    expect_bytes(&w, tagged, sizeof(tagged));

    /* Unknown tags are skipped; the known one is decoded. */
    uint8_t with_unknown[sizeof(tagged) + 3];
    memcpy(with_unknown, tagged, sizeof(tagged));
    with_unknown[14] = 0x02;                 /* two tagged fields */
    with_unknown[sizeof(tagged)] = 0x09;     /* tag 9 */
    with_unknown[sizeof(tagged) + 1] = 0x01; /* size 1 */
    with_unknown[sizeof(tagged) + 2] = 0x55;
    struct rb_reader r;
    rb_reader_init(&r, with_unknown, sizeof(with_unknown));
    struct rb_arena a;
    rb_arena_init(&a, 0);
    struct rb_api_versions_resp d;
    cr_assert_eq(rb_api_versions_resp_decode(&r, &a, 3, &d), 0);
    cr_expect_eq(d.finalized_features_epoch, 7);
    cr_expect_eq(d.api_keys_n, 1);
    cr_expect_eq(d.api_keys[0].max_version, 4);
    rb_writer_free(&w);
    rb_arena_free(&a);
}

Test(proto_gen, response_headers)
{
    cr_expect_eq(rb_resp_header_version(18, 3), 0);
    cr_expect_eq(rb_resp_header_version(3, 8), 0);
    cr_expect_eq(rb_resp_header_version(3, 9), 1);
    cr_expect_eq(rb_resp_header_version(999, 9), 0);
    struct rb_writer w;
    rb_writer_init(&w, 0);
    rb_resp_header_encode(&w, 3, 12, 42);
    static const uint8_t v1[] = {0, 0, 0, 42, 0};
    expect_bytes(&w, v1, sizeof(v1));
    struct rb_reader r;
    rb_reader_init(&r, w.buf, w.len);
    int32_t corr = 0;
    cr_expect_eq(rb_resp_header_decode(&r, 3, 12, &corr), 0);
    cr_expect_eq(corr, 42);
    cr_expect_eq(rb_reader_left(&r), 0);
    rb_writer_free(&w);
}

Test(proto_gen, unknown_key_header_is_v1)
{
    static const uint8_t frame[] = {0x03, 0xe7, 0x00, 0x05, 0x00, 0x00,
                                    0x00, 0x09, 0xff, 0xff, 0xaa};
    struct rb_reader r;
    rb_reader_init(&r, frame, sizeof(frame));
    struct rb_req_header h;
    cr_assert_eq(rb_req_header_decode(&r, &h), 0);
    cr_expect_eq(h.api_key, 999);
    cr_expect_eq(h.client_id.len, -1);
    cr_expect_eq(rb_reader_left(&r), 1, "no tag section consumed");
}

Test(proto_gen, defaults)
{
    struct rb_fetch_req f;
    rb_fetch_req_init(&f);
    cr_expect_eq(f.replica_id, -1);
    cr_expect_eq(f.max_bytes, INT32_MAX);
    cr_expect_eq(f.session_epoch, -1);
    cr_expect_eq(f.cluster_id.len, -1);
    cr_expect_eq(f.rack_id.len, 0);
    struct rb_produce_req p;
    rb_produce_req_init(&p);
    cr_expect_eq(p.transactional_id.len, -1);
    struct rb_metadata_resp_topic t;
    rb_metadata_resp_topic_init(&t);
    cr_expect_eq(t.topic_authorized_operations, INT32_MIN);
    struct rb_create_topics_req c;
    rb_create_topics_req_init(&c);
    cr_expect_eq(c.timeout_ms, 60000);
}

Test(proto_gen, arena_limit_gives_enomem)
{
    const struct tg_case *tc = &tg_cases[0]; /* Produce request */
    struct rb_arena a, small;
    rb_arena_init(&a, 0);
    void *m = rb_arena_alloc(&a, tc->size);
    int c = 0;
    tc->init(m);
    tc->fill(m, 9, &a, &c);
    struct rb_writer w;
    cr_assert_eq(encode_case(tc, 9, m, &w), 0);
    rb_arena_init(&small, 64);
    void *d;
    cr_expect_eq(decode_case(tc, 9, w.buf, w.len, &small, &d), -ENOMEM);
    rb_arena_free(&small);
    rb_arena_free(&a);
    rb_writer_free(&w);
}

/* Fetch v15 request body as the spec lays it out: no replica_id (v0-14 only),
 * topics by id (v13+), ReplicaState as tagged field 1 of the top level. */
Test(proto_gen, vector_fetch_v15_request_topic_id_and_replica_state)
{
    static const uint8_t body[] = {
        0x00, 0x00, 0x01, 0xf4,                         /* max_wait_ms 500 */
        0x00, 0x00, 0x00, 0x01,                         /* min_bytes 1 */
        0x00, 0x10, 0x00, 0x00,                         /* max_bytes 1 MiB */
        0x01,                                           /* isolation_level */
        0x00, 0x00, 0x00, 0x00,                         /* session_id */
        0xff, 0xff, 0xff, 0xff,                         /* session_epoch -1 */
        0x02,                                           /* topics: 1 */
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, /* topic_id */
        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, /* */
        0x02,                                           /* partitions: 1 */
        0x00, 0x00, 0x00, 0x03,                         /* partition 3 */
        0xff, 0xff, 0xff, 0xff,                         /* current_leader_epoch -1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* fetch_offset 42 */
        0xff, 0xff, 0xff, 0xff,                         /* last_fetched_epoch -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log_start_offset -1 */
        0x00, 0x00, 0x10, 0x00,                         /* partition_max_bytes */
        0x00,                                           /* partition tags */
        0x00,                                           /* topic tags */
        0x01,                                           /* forgotten: 0 */
        0x01,                                           /* rack_id "" */
        0x01,                                           /* 1 tagged field */
        0x01, 0x0d,                                     /* tag 1, 13 bytes */
        0x00, 0x00, 0x00, 0x07,                         /* replica_id 7 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, /* replica_epoch 9 */
        0x00,                                           /* ReplicaState tags */
    };
    struct rb_arena a;
    rb_arena_init(&a, 0);
    struct rb_reader r;
    rb_reader_init(&r, body, sizeof(body));
    struct rb_fetch_req f;
    cr_assert_eq(rb_fetch_req_decode(&r, &a, 15, &f), 0);
    cr_expect_eq(f.replica_id, -1, "not on the wire at v15");
    cr_expect_eq(f.replica_state.replica_id, 7);
    cr_expect_eq(f.replica_state.replica_epoch, 9);
    cr_expect_eq(f.max_wait_ms, 500);
    cr_assert_eq(f.topics_n, 1);
    cr_expect_eq(f.topics[0].topic_id.b[0], 0x10);
    cr_expect_eq(f.topics[0].topic_id.b[15], 0x1f);
    cr_expect_eq(f.topics[0].topic.len, 0, "no name at v13+");
    cr_assert_eq(f.topics[0].partitions_n, 1);
    cr_expect_eq(f.topics[0].partitions[0].partition, 3);
    cr_expect_eq(f.topics[0].partitions[0].fetch_offset, 42);
    struct rb_writer w;
    rb_writer_init(&w, 64);
    rb_fetch_req_encode(&w, 15, &f);
    expect_bytes(&w, body, sizeof(body));
    rb_writer_free(&w);
    rb_arena_free(&a);
}

/* Fetch v16 response: topic_id instead of the name, NodeEndpoints as top-level
 * tagged field 0 only when present. */
Test(proto_gen, vector_fetch_v16_response_topic_id)
{
    static const uint8_t head[] = {
        0x00, 0x00, 0x00, 0x00,                         /* throttle */
        0x00, 0x00,                                     /* error_code */
        0x00, 0x00, 0x00, 0x00,                         /* session_id */
        0x02,                                           /* responses: 1 */
        0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, /* topic_id */
        0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, /* */
        0x02,                                           /* partitions: 1 */
        0x00, 0x00, 0x00, 0x00,                         /* partition 0 */
        0x00, 0x64,                                     /* error 100 UNKNOWN_TOPIC_ID */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* high_watermark -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* last_stable_offset -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log_start_offset -1 */
        0x00,                                           /* aborted: null */
        0xff, 0xff, 0xff, 0xff,                         /* preferred_read_replica */
        0x01,                                           /* records: empty */
        0x00,                                           /* partition tags */
        0x00,                                           /* topic tags */
    };
    static const uint8_t no_tags[] = {0x00};
    static const uint8_t endpoint_tag[] = {
        0x01, 0x00, 0x0d,       /* 1 tag: tag 0, 13 bytes */
        0x02,                   /* node_endpoints: 1 */
        0x00, 0x00, 0x00, 0x01, /* node_id 1 */
        0x02, 'h',              /* host "h" */
        0x00, 0x00, 0x23, 0x84, /* port 9092 */
        0x00,                   /* rack null */
        0x00,                   /* endpoint tags */
    };
    struct rb_fetch_resp m;
    rb_fetch_resp_init(&m);
    struct rb_fetch_resp_topic t;
    rb_fetch_resp_topic_init(&t);
    for (int i = 0; i < 16; i++)
        t.topic_id.b[i] = (uint8_t)(0xa0 + i);
    t.topic = rb_str_c("ignored-at-v13");
    struct rb_fetch_resp_partition p;
    rb_fetch_resp_partition_init(&p);
    p.error_code = 100;
    p.high_watermark = -1;
    p.aborted_transactions_n = -1;
    p.records = (struct rb_bytes){(const uint8_t *)"", 0};
    t.partitions = &p;
    t.partitions_n = 1;
    m.responses = &t;
    m.responses_n = 1;
    uint8_t want[sizeof(head) + sizeof(endpoint_tag)];
    memcpy(want, head, sizeof(head));
    memcpy(want + sizeof(head), no_tags, sizeof(no_tags));
    struct rb_writer w;
    rb_writer_init(&w, 64);
    rb_fetch_resp_encode(&w, 16, &m);
    expect_bytes(&w, want, sizeof(head) + sizeof(no_tags));
    rb_writer_free(&w);
    struct rb_fetch_resp_node_endpoint ep;
    rb_fetch_resp_node_endpoint_init(&ep);
    ep.node_id = 1;
    ep.host = rb_str_c("h");
    ep.port = 9092;
    m.node_endpoints = &ep;
    m.node_endpoints_n = 1;
    memcpy(want + sizeof(head), endpoint_tag, sizeof(endpoint_tag));
    rb_writer_init(&w, 64);
    rb_fetch_resp_encode(&w, 16, &m);
    expect_bytes(&w, want, sizeof(want));
    rb_writer_free(&w);
    rb_writer_init(&w, 64);
    rb_fetch_resp_encode(&w, 15, &m); /* before v16 the endpoints are not sent */
    memcpy(want + sizeof(head), no_tags, sizeof(no_tags));
    expect_bytes(&w, want, sizeof(head) + sizeof(no_tags));
    rb_writer_free(&w);
}

/* ListOffsets v7 request (flexible): a MAX_TIMESTAMP (-3) query. */
Test(proto_gen, vector_list_offsets_v7_request)
{
    static const uint8_t body[] = {
        0xff, 0xff, 0xff, 0xff,                         /* replica_id -1 */
        0x00,                                           /* isolation_level */
        0x02, 0x02, 't',                                /* topics: 1, name "t" */
        0x02,                                           /* partitions: 1 */
        0x00, 0x00, 0x00, 0x00,                         /* partition 0 */
        0xff, 0xff, 0xff, 0xff,                         /* current_leader_epoch -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, /* timestamp -3 */
        0x00, 0x00, 0x00,                               /* partition, topic, body tags */
    };
    struct rb_arena a;
    rb_arena_init(&a, 0);
    struct rb_reader r;
    rb_reader_init(&r, body, sizeof(body));
    struct rb_list_offsets_req lo;
    cr_assert_eq(rb_list_offsets_req_decode(&r, &a, 7, &lo), 0);
    cr_assert_eq(lo.topics_n, 1);
    cr_assert_eq(lo.topics[0].partitions_n, 1);
    cr_expect_eq(lo.topics[0].partitions[0].timestamp, -3);
    struct rb_writer w;
    rb_writer_init(&w, 64);
    rb_list_offsets_req_encode(&w, 7, &lo);
    expect_bytes(&w, body, sizeof(body));
    rb_writer_free(&w);
    rb_arena_free(&a);
}
