/*
 * net/codec_rt.h - the hand-written part of the Kafka codecs: the API table's
 * type, request and response headers, the any-key entry points, and the small
 * inline helpers every generated read and write goes through (null handling
 * by version, array lengths, arena allocation, tagged fields).
 *
 * net/proto_gen.{c,h} (generated from net/protocol.def by tools/gen_codec.py)
 * include this and define rb_api_table, rb_api_info and the *_any functions;
 * net/codec_rt.c defines the header codecs. Errors stick in r->err / w->err as
 * core/wire.h describes: -EBADMSG for malformed input, -ENOMEM when the arena
 * refuses, -EINVAL for a version the description does not cover.
 */
#ifndef RB_NET_CODEC_RT_H
#define RB_NET_CODEC_RT_H

#include "core/wire.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rb_api_info {
    int16_t key;
    const char *name;
    int16_t min_version, max_version, flexible_min; /* flexible_min 32767: never */
};
extern const struct rb_api_info rb_api_table[];
extern const int rb_api_table_n;
/* NULL for an API the description does not cover. */
const struct rb_api_info *rb_api_info(int16_t key);

struct rb_req_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    struct rb_str client_id;
};
/* Header v2 (tagged fields after client_id) when the api is known and the
 * version is at or above its first flexible version (as Kafka does, also above
 * max_version); v1 otherwise, including unknown keys. Returns 0 or -EBADMSG. */
int rb_req_header_decode(struct rb_reader *r, struct rb_req_header *h);
void rb_req_header_encode(struct rb_writer *w, const struct rb_req_header *h);
/* 0 or 1; ApiVersions always 0. */
int rb_resp_header_version(int16_t api_key, int16_t api_version);
void rb_resp_header_encode(struct rb_writer *w, int16_t api_key, int16_t api_version,
                           int32_t correlation_id);
int rb_resp_header_decode(struct rb_reader *r, int16_t api_key, int16_t api_version,
                          int32_t *correlation_id);

/* Decode into a struct allocated in the arena (*out); -EBADMSG for an unknown
 * key or a version not covered. */
int rb_req_decode_any(struct rb_reader *r, struct rb_arena *a, int16_t key, int16_t version,
                      void **out);
int rb_resp_decode_any(struct rb_reader *r, struct rb_arena *a, int16_t key, int16_t version,
                       void **out);
/* Encode a struct of the type key names; unknown key: w->err = -EINVAL. */
void rb_req_encode_any(struct rb_writer *w, int16_t key, int16_t version, const void *in);
void rb_resp_encode_any(struct rb_writer *w, int16_t key, int16_t version, const void *in);

/* ---- helpers of the generated codecs ---- */

static inline struct rb_str rb_rd_str(struct rb_reader *r, bool flex, bool nullable)
{
    struct rb_str s = rb_read_str(r, flex);
    if (s.len < 0 && !nullable && !r->err)
        r->err = -EBADMSG;
    return s;
}

static inline struct rb_bytes rb_rd_bytes(struct rb_reader *r, bool flex, bool nullable)
{
    struct rb_bytes b = rb_read_bytes(r, flex);
    if (b.len < 0 && !nullable && !r->err)
        r->err = -EBADMSG;
    return b;
}

static inline int32_t rb_rd_alen(struct rb_reader *r, bool flex, bool nullable)
{
    int32_t n = rb_read_array_len(r, flex);
    if (n < 0 && !nullable && !r->err)
        r->err = -EBADMSG;
    return r->err ? 0 : n;
}

static inline void *rb_rd_alloc(struct rb_reader *r, struct rb_arena *a, int32_t n, size_t size)
{
    if (r->err)
        return NULL;
    void *p = rb_arena_alloc(a, (size_t)n * size);
    if (!p)
        r->err = -ENOMEM;
    return p;
}

/* Bounds of one tagged field's data: a sub-reader over the next size bytes. */
static inline bool rb_rd_tag(struct rb_reader *r, uint32_t *tag, struct rb_reader *sub)
{
    *tag = rb_read_uvarint(r);
    uint32_t size = rb_read_uvarint(r);
    if (r->err)
        return false;
    if (size > rb_reader_left(r)) {
        r->err = -EBADMSG;
        return false;
    }
    rb_reader_init(sub, r->p, size);
    rb_read_skip(r, size);
    return true;
}

static inline void rb_wr_str(struct rb_writer *w, struct rb_str s, bool flex, bool nullable)
{
    if (s.len < 0 && !nullable)
        s = (struct rb_str){"", 0};
    rb_write_str(w, s, flex);
}

static inline void rb_wr_bytes(struct rb_writer *w, struct rb_bytes b, bool flex, bool nullable)
{
    if (b.len < 0 && !nullable)
        b = (struct rb_bytes){NULL, 0};
    rb_write_bytes(w, b, flex);
}

static inline void rb_wr_alen(struct rb_writer *w, int32_t n, bool flex, bool nullable)
{
    rb_write_array_len(w, n < 0 && !nullable ? 0 : n, flex);
}

/* Write one tagged field whose data was encoded into t, and free t. */
static inline void rb_wr_tag(struct rb_writer *w, uint32_t tag, struct rb_writer *t)
{
    if (t->err && !w->err)
        w->err = t->err;
    rb_write_uvarint(w, tag);
    rb_write_uvarint(w, (uint32_t)t->len);
    if (t->len)
        rb_write_raw(w, t->buf, t->len);
    rb_writer_free(t);
}

static inline bool rb_wr_bad_version(struct rb_writer *w)
{
    if (!w->err)
        w->err = -EINVAL;
    return true;
}

#endif
