/*
 * coord/offsets_log.c - __consumer_offsets record formats, batch building and
 * the records iterator (see coord/offsets_log.h for the formats and the fault
 * model). Invariant: a built batch passes rb_batch_validate.
 */
#include "coord/offsets_log.h"
#include "core/endian.h"
#include "core/rb.h"
#include "storage/batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OFFSET_KEY_VERSION   1
#define GROUP_KEY_VERSION    2
#define OFFSET_VALUE_VERSION 3
#define GROUP_VALUE_VERSION  3 /* what Kafka 2.3+ writes (4 is the flexible form) */

void rb_offkey_write(struct rb_writer *w, const char *group, const char *topic, int32_t partition)
{
    rb_write_i16(w, OFFSET_KEY_VERSION);
    rb_write_str(w, rb_str_c(group), false);
    rb_write_str(w, rb_str_c(topic), false);
    rb_write_i32(w, partition);
}

void rb_offval_write(struct rb_writer *w, int64_t offset, int32_t leader_epoch,
                     const char *metadata, int64_t commit_ts)
{
    rb_write_i16(w, OFFSET_VALUE_VERSION);
    rb_write_i64(w, offset);
    rb_write_i32(w, leader_epoch);
    rb_write_str(w, rb_str_c(metadata ? metadata : ""), false);
    rb_write_i64(w, commit_ts);
}

void rb_gmetakey_write(struct rb_writer *w, const char *group)
{
    rb_write_i16(w, GROUP_KEY_VERSION);
    rb_write_str(w, rb_str_c(group), false);
}

static struct rb_str opt_str(const char *s)
{
    return s ? rb_str_c(s) : RB_STR_NULL;
}

void rb_gmeta_write(struct rb_writer *w, const struct rb_group *g)
{
    rb_write_i16(w, GROUP_VALUE_VERSION);
    rb_write_str(w, rb_str_c(g->protocol_type ? g->protocol_type : ""), false);
    rb_write_i32(w, g->generation);
    rb_write_str(w, opt_str(g->protocol), false);
    rb_write_str(w, opt_str(g->leader), false);
    rb_write_i64(w, g->state_ts);
    rb_write_i32(w, g->n_members);
    for (const struct rb_gmember *m = g->members; m; m = m->next) {
        int32_t len = 0;
        const uint8_t *sub = rb_group_member_meta(g, m, &len);
        rb_write_str(w, rb_str_c(m->id), false);
        rb_write_str(w, opt_str(m->instance_id), false);
        rb_write_str(w, rb_str_c(m->client_id ? m->client_id : ""), false);
        rb_write_str(w, rb_str_c(m->client_host ? m->client_host : ""), false);
        rb_write_i32(w, m->rebalance_timeout_ms);
        rb_write_i32(w, m->session_timeout_ms);
        rb_write_bytes(w, (struct rb_bytes){sub ? sub : (const uint8_t *)"", sub ? len : 0}, false);
        rb_write_bytes(w,
                       (struct rb_bytes){m->assignment ? m->assignment : (const uint8_t *)"",
                                         m->assignment ? m->assignment_len : 0},
                       false);
    }
}

/* Copies of the decoded strings, NUL-terminated, in one pool: every encoded string
 * takes at least one length byte more than its text, so the value's size is enough. */
struct spool {
    char *p;
    size_t used, cap;
};

static const char *pool_str(struct spool *sp, struct rb_str s)
{
    if (s.len < 0)
        return NULL;
    size_t n = (size_t)s.len;
    if (sp->used + n + 1 > sp->cap)
        return NULL;
    char *d = sp->p + sp->used;
    if (n)
        memcpy(d, s.ptr, n);
    d[n] = 0;
    sp->used += n + 1;
    return d;
}

int rb_gmeta_decode(const uint8_t *value, int32_t len, struct rb_gmeta *out, char **pool)
{
    memset(out, 0, sizeof(*out));
    *pool = NULL;
    if (!value || len < 2)
        return -EBADMSG;
    struct rb_reader r;
    rb_reader_init(&r, value, (size_t)len);
    int16_t v = rb_read_i16(&r);
    if (v < 0 || v > 4)
        return -EBADMSG;
    bool flex = v >= 4;
    struct spool sp = {malloc((size_t)len + 1), 0, (size_t)len + 1};
    RB_ASSERT(sp.p);
    *pool = sp.p;
    const char *pt = pool_str(&sp, rb_read_str(&r, flex));
    out->protocol_type = pt ? pt : "";
    out->generation = rb_read_i32(&r);
    out->protocol = pool_str(&sp, rb_read_str(&r, flex));
    out->leader = pool_str(&sp, rb_read_str(&r, flex));
    out->state_ts = v >= 2 ? rb_read_i64(&r) : -1;
    int32_t n = rb_read_array_len(&r, flex);
    if (r.err || n < 0)
        return -EBADMSG;
    out->members = calloc((size_t)RB_MAX(n, 1), sizeof(*out->members));
    RB_ASSERT(out->members);
    for (int32_t i = 0; i < n && !r.err; i++) {
        struct rb_gmeta_member *m = &out->members[i];
        m->id = pool_str(&sp, rb_read_str(&r, flex));
        m->instance_id = v >= 3 ? pool_str(&sp, rb_read_str(&r, flex)) : NULL;
        m->client_id = pool_str(&sp, rb_read_str(&r, flex));
        m->client_host = pool_str(&sp, rb_read_str(&r, flex));
        m->rebalance_timeout_ms = v >= 1 ? rb_read_i32(&r) : -1;
        m->session_timeout_ms = rb_read_i32(&r);
        struct rb_bytes sub = rb_read_bytes(&r, flex), as = rb_read_bytes(&r, flex);
        m->subscription = sub.ptr;
        m->subscription_len = RB_MAX(sub.len, 0);
        m->assignment = as.ptr;
        m->assignment_len = RB_MAX(as.len, 0);
        if (flex)
            rb_skip_tagged_fields(&r);
        if (!m->id || !m->id[0])
            return -EBADMSG;
        out->n_members = i + 1;
    }
    if (flex)
        rb_skip_tagged_fields(&r);
    return r.err ? -EBADMSG : 0;
}

void rb_gmeta_free(struct rb_gmeta *meta, char *pool)
{
    free(meta->members);
    meta->members = NULL;
    free(pool);
}

void rb_orec_batch_build(struct rb_writer *w, const struct rb_orec *recs, int n, int64_t now_ms)
{
    size_t start = w->len;
    rb_write_i64(w, 0);  /* base offset (assigned by the log) */
    rb_write_i32(w, 0);  /* batch length, patched */
    rb_write_i32(w, -1); /* partition leader epoch */
    rb_write_i8(w, 2);   /* magic */
    rb_write_u32(w, 0);  /* crc, patched */
    rb_write_i16(w, 0);  /* attributes: no compression, CreateTime */
    rb_write_i32(w, n - 1);
    rb_write_i64(w, now_ms);
    rb_write_i64(w, now_ms);
    rb_write_i64(w, -1); /* producer id */
    rb_write_i16(w, -1); /* producer epoch */
    rb_write_i32(w, -1); /* base sequence */
    rb_write_i32(w, n);
    struct rb_writer r;
    for (int i = 0; i < n; i++) {
        rb_writer_init(&r, 128);
        rb_write_i8(&r, 0);      /* attributes */
        rb_write_varlong(&r, 0); /* timestamp delta */
        rb_write_varint(&r, i);  /* offset delta */
        rb_write_varint(&r, recs[i].key_len);
        rb_write_raw(&r, recs[i].key, (size_t)recs[i].key_len);
        if (recs[i].value) {
            rb_write_varint(&r, recs[i].value_len);
            rb_write_raw(&r, recs[i].value, (size_t)recs[i].value_len);
        } else {
            rb_write_varint(&r, -1);
        }
        rb_write_varint(&r, 0); /* headers */
        RB_ASSERT(!r.err);
        rb_write_varint(w, (int32_t)r.len);
        rb_write_raw(w, r.buf, r.len);
        rb_writer_free(&r);
    }
    RB_ASSERT(!w->err);
    uint8_t *b = w->buf + start;
    size_t total = w->len - start;
    rb_put_be32(b + RB_BATCH_OFF_LENGTH, (uint32_t)(total - RB_BATCH_LOG_OVERHEAD));
    uint32_t crc = rb_crc32c(0, b + RB_BATCH_OFF_ATTRIBUTES, total - RB_BATCH_OFF_ATTRIBUTES);
    rb_put_be32(b + RB_BATCH_OFF_CRC, crc);
}

/* Records of one uncompressed batch body. */
static int iterate_records(const uint8_t *p, size_t len, int32_t count, rb_orec_fn fn, void *arg)
{
    struct rb_reader r;
    rb_reader_init(&r, p, len);
    for (int32_t i = 0; i < count; i++) {
        int32_t rec_len = rb_read_varint(&r);
        if (r.err || rec_len < 0 || (size_t)rec_len > rb_reader_left(&r))
            return -EBADMSG;
        struct rb_reader rr;
        rb_reader_init(&rr, r.p, (size_t)rec_len);
        rb_read_skip(&r, (size_t)rec_len);
        rb_read_i8(&rr);
        rb_read_varlong(&rr);
        rb_read_varint(&rr);
        int32_t kl = rb_read_varint(&rr);
        const uint8_t *k = rr.p;
        if (rr.err || kl < -1 || (kl > 0 && (size_t)kl > rb_reader_left(&rr)))
            return -EBADMSG;
        rb_read_skip(&rr, kl > 0 ? (size_t)kl : 0);
        int32_t vl = rb_read_varint(&rr);
        const uint8_t *v = vl >= 0 ? rr.p : NULL;
        if (rr.err || vl < -1 || (vl > 0 && (size_t)vl > rb_reader_left(&rr)))
            return -EBADMSG;
        if (kl > 0)
            fn(arg, k, kl, v, vl);
    }
    return 0;
}

int64_t rb_orec_iterate(const uint8_t *buf, size_t len, rb_orec_fn fn, void *arg)
{
    size_t off = 0;
    while (off < len) {
        struct rb_batch_info bi;
        enum rb_batch_status st = rb_batch_parse(buf + off, len - off, &bi);
        if (st == RB_BATCH_TRUNCATED)
            break;
        if (st != RB_BATCH_OK)
            return -EBADMSG;
        uint32_t total = rb_batch_total_bytes(&bi);
        bool plain = (bi.attributes & RB_BATCH_ATTR_COMPRESSION_MASK) == 0 &&
                     !(bi.attributes & RB_BATCH_ATTR_CONTROL);
        if (plain && iterate_records(buf + off + RB_BATCH_HEADER_BYTES,
                                     total - RB_BATCH_HEADER_BYTES, bi.record_count, fn, arg))
            return -EBADMSG;
        off += total;
    }
    return (int64_t)off;
}

static char *str_copy(struct rb_str s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *p = malloc(n + 1);
    RB_ASSERT(p);
    if (n)
        memcpy(p, s.ptr, n);
    p[n] = 0;
    return p;
}

/* A group metadata record (key reader past the version). */
static int apply_group(struct rb_group_mgr *mgr, struct rb_reader *r, const uint8_t *value,
                       int32_t value_len)
{
    struct rb_str gs = rb_read_str(r, false);
    if (r->err || gs.len <= 0)
        return -EBADMSG;
    char *group = str_copy(gs);
    int rc = 0;
    if (!value) {
        rb_group_load_meta(mgr, group, NULL);
    } else {
        struct rb_gmeta meta;
        char *pool;
        rc = rb_gmeta_decode(value, value_len, &meta, &pool);
        if (!rc)
            rb_group_load_meta(mgr, group, &meta);
        rb_gmeta_free(&meta, pool);
    }
    free(group);
    return rc;
}

static int apply_one(struct rb_group_mgr *mgr, const uint8_t *key, int32_t key_len,
                     const uint8_t *value, int32_t value_len)
{
    struct rb_reader r;
    rb_reader_init(&r, key, (size_t)key_len);
    int16_t kv = rb_read_i16(&r);
    if (kv == GROUP_KEY_VERSION)
        return apply_group(mgr, &r, value, value_len);
    if (kv != 0 && kv != 1)
        return r.err ? -EBADMSG : 0;
    struct rb_str gs = rb_read_str(&r, false), ts = rb_read_str(&r, false);
    int32_t partition = rb_read_i32(&r);
    if (r.err || gs.len <= 0 || ts.len <= 0)
        return -EBADMSG;
    char *group = str_copy(gs), *topic = str_copy(ts);
    int rc = 0;
    if (!value) {
        struct rb_group *g = rb_group_find(mgr, group);
        if (g) {
            rb_group_offset_del(g, topic, partition);
            rb_group_gc(mgr, g);
        }
    } else {
        struct rb_reader v;
        rb_reader_init(&v, value, (size_t)value_len);
        int16_t vv = rb_read_i16(&v);
        int64_t offset = rb_read_i64(&v);
        int32_t epoch = vv >= 3 ? rb_read_i32(&v) : -1;
        struct rb_str md = rb_read_str(&v, false);
        int64_t ts_ms = rb_read_i64(&v);
        if (v.err || vv < 0 || vv > 3) {
            rc = -EBADMSG;
        } else {
            char *meta = str_copy(md);
            rb_group_offset_put(rb_group_get_or_create(mgr, group), topic, partition, offset, epoch,
                                meta, ts_ms);
            free(meta);
        }
    }
    free(group);
    free(topic);
    return rc;
}

int rb_orec_apply(struct rb_group_mgr *mgr, const uint8_t *key, int32_t key_len,
                  const uint8_t *value, int32_t value_len)
{
    bool was = mgr->loading;
    mgr->loading = true;
    int rc = apply_one(mgr, key, key_len, value, value_len);
    mgr->loading = was;
    return rc;
}
