/*
 * core/wire.c - Kafka wire primitives (see core/wire.h).
 *
 * Owns: the bounds-checked reader, the growable writer and the bump arena.
 * Invariants:
 *  - reader: r->p <= r->end always; once r->err != 0 every read returns a zero
 *    value and consumes nothing (decoders test the error once at the end).
 *    The error is -EBADMSG for malformed input; the generated codecs may also
 *    store -ENOMEM there when the arena refuses an allocation.
 *  - every length read from the wire is compared with the bytes remaining
 *    before it is used; array counts must not exceed the bytes remaining (each
 *    element takes at least one byte), so no allocation is sized by a lie.
 *  - varints are at most 5 bytes (varlong 10); longer ones are malformed.
 *  - writer: w->len <= w->cap <= limit; on overflow or allocation failure
 *    w->err = -ENOMEM and all later writes are dropped.
 *  - arena: 8-byte aligned, zeroed memory; used_bytes never exceeds the limit.
 * Fault model: any byte sequence may arrive; nothing here asserts on input.
 */
#include "core/wire.h"

#include "core/endian.h"
#include "core/rb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RB_WRITER_MAX_DEFAULT  ((size_t)1 << 30)
#define RB_ARENA_LIMIT_DEFAULT ((size_t)64 << 20)
#define RB_ARENA_BLOCK_MIN     ((size_t)16 << 10)

bool rb_str_eq(struct rb_str a, const char *c)
{
    if (a.len < 0 || !c)
        return false;
    size_t n = strlen(c);
    return (size_t)a.len == n && (n == 0 || memcmp(a.ptr, c, n) == 0);
}

bool rb_str_eq2(struct rb_str a, struct rb_str b)
{
    if (a.len < 0 || b.len < 0)
        return a.len < 0 && b.len < 0;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

/* ---- reader ---- */

static const uint8_t *take(struct rb_reader *r, size_t n)
{
    if (r->err)
        return NULL;
    if ((size_t)(r->end - r->p) < n) {
        r->err = -EBADMSG;
        r->p = r->end;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

int8_t rb_read_i8(struct rb_reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? (int8_t)p[0] : 0;
}

/* The fixed-size big-endian readers: 0 once the reader is in error. */
#define RB_READ_BE(name, type, n)                                                                  \
    type name(struct rb_reader *r)                                                                 \
    {                                                                                              \
        const uint8_t *p = take(r, n / 8);                                                         \
        return p ? (type)rb_get_be##n(p) : 0;                                                      \
    }
RB_READ_BE(rb_read_i16, int16_t, 16)
RB_READ_BE(rb_read_u16, uint16_t, 16)
RB_READ_BE(rb_read_i32, int32_t, 32)
RB_READ_BE(rb_read_u32, uint32_t, 32)
RB_READ_BE(rb_read_i64, int64_t, 64)

double rb_read_f64(struct rb_reader *r)
{
    uint64_t u = (uint64_t)rb_read_i64(r);
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

bool rb_read_bool(struct rb_reader *r)
{
    /* Kafka reads any non-zero byte as true. */
    return rb_read_i8(r) != 0;
}

static uint64_t read_uvar(struct rb_reader *r, int max_bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        const uint8_t *p = take(r, 1);
        if (!p)
            return 0;
        v |= (uint64_t)(p[0] & 0x7f) << (7 * i);
        if (!(p[0] & 0x80)) {
            /* The last byte may only carry the bits that fit. */
            if (i == 9 && p[0] > 1)
                goto bad;
            return v;
        }
    }
bad:
    r->err = -EBADMSG;
    r->p = r->end;
    return 0;
}

uint32_t rb_read_uvarint(struct rb_reader *r)
{
    uint64_t v = read_uvar(r, 5);
    if (v > UINT32_MAX) {
        r->err = -EBADMSG;
        r->p = r->end;
        return 0;
    }
    return (uint32_t)v;
}

int32_t rb_read_varint(struct rb_reader *r)
{
    uint32_t u = rb_read_uvarint(r);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t rb_read_varlong(struct rb_reader *r)
{
    uint64_t u = read_uvar(r, 10);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

struct rb_uuid rb_read_uuid(struct rb_reader *r)
{
    struct rb_uuid u = {{0}};
    const uint8_t *p = take(r, 16);
    if (p)
        memcpy(u.b, p, 16);
    return u;
}

static void fail(struct rb_reader *r)
{
    if (!r->err)
        r->err = -EBADMSG;
    r->p = r->end;
}

/* Length prefix of a string/bytes: returns -1 for null, -2 on error. */
static int64_t read_len(struct rb_reader *r, bool compact, bool is_bytes)
{
    int64_t n;
    if (compact)
        n = (int64_t)rb_read_uvarint(r) - 1;
    else
        n = is_bytes ? rb_read_i32(r) : rb_read_i16(r);
    if (r->err)
        return -2;
    if (n < -1) {
        fail(r);
        return -2;
    }
    if (n > (int64_t)rb_reader_left(r)) {
        fail(r);
        return -2;
    }
    return n;
}

struct rb_str rb_read_str(struct rb_reader *r, bool compact)
{
    int64_t n = read_len(r, compact, false);
    if (n == -1)
        return RB_STR_NULL;
    if (n < 0)
        return (struct rb_str){"", 0};
    const uint8_t *p = take(r, (size_t)n);
    return (struct rb_str){(const char *)p, (int32_t)n};
}

struct rb_bytes rb_read_bytes(struct rb_reader *r, bool compact)
{
    int64_t n = read_len(r, compact, true);
    if (n == -1)
        return RB_BYTES_NULL;
    if (n < 0)
        return (struct rb_bytes){(const uint8_t *)"", 0};
    const uint8_t *p = take(r, (size_t)n);
    return (struct rb_bytes){p, (int32_t)n};
}

int32_t rb_read_array_len(struct rb_reader *r, bool compact)
{
    int64_t n = compact ? (int64_t)rb_read_uvarint(r) - 1 : rb_read_i32(r);
    if (r->err)
        return 0;
    if (n < -1 || n > (int64_t)rb_reader_left(r)) {
        fail(r);
        return 0;
    }
    return (int32_t)n;
}

void rb_read_skip(struct rb_reader *r, size_t n)
{
    take(r, n);
}

void rb_skip_tagged_fields(struct rb_reader *r)
{
    uint32_t n = rb_read_uvarint(r);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        (void)rb_read_uvarint(r); /* tag */
        uint32_t size = rb_read_uvarint(r);
        take(r, size);
    }
}

/* ---- writer ---- */

void rb_writer_init(struct rb_writer *w, size_t initial_cap)
{
    memset(w, 0, sizeof(*w));
    if (initial_cap) {
        w->buf = malloc(initial_cap);
        if (w->buf)
            w->cap = initial_cap;
        else
            w->err = -ENOMEM;
    }
}

void rb_writer_free(struct rb_writer *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

uint8_t *rb_write_reserve(struct rb_writer *w, size_t n)
{
    if (w->err)
        return NULL;
    size_t max = w->max ? w->max : RB_WRITER_MAX_DEFAULT;
    if (n > max || w->len > max - n) {
        w->err = -ENOMEM;
        return NULL;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->len + n)
            cap *= 2;
        if (cap > max)
            cap = max;
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) {
            w->err = -ENOMEM;
            return NULL;
        }
        w->buf = nb;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

void rb_write_raw(struct rb_writer *w, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (w->defer_fn && (const uint8_t *)p >= w->defer_lo && (const uint8_t *)p < w->defer_hi) {
        if (!w->err)
            w->defer_fn(w, p, n, w->defer_arg);
        return;
    }
    uint8_t *d = rb_write_reserve(w, n);
    if (d)
        memcpy(d, p, n);
}

void rb_write_i8(struct rb_writer *w, int8_t v)
{
    uint8_t *d = rb_write_reserve(w, 1);
    if (d)
        d[0] = (uint8_t)v;
}

/* The fixed-size big-endian writers: nothing once the writer is in error. */
#define RB_WRITE_BE(name, type, n)                                                                 \
    void name(struct rb_writer *w, type v)                                                         \
    {                                                                                              \
        uint8_t *d = rb_write_reserve(w, n / 8);                                                   \
        if (d)                                                                                     \
            rb_put_be##n(d, (uint##n##_t)v);                                                       \
    }
RB_WRITE_BE(rb_write_i16, int16_t, 16)
RB_WRITE_BE(rb_write_u16, uint16_t, 16)
RB_WRITE_BE(rb_write_i32, int32_t, 32)
RB_WRITE_BE(rb_write_u32, uint32_t, 32)
RB_WRITE_BE(rb_write_i64, int64_t, 64)

void rb_write_f64(struct rb_writer *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    rb_write_i64(w, (int64_t)u);
}

void rb_write_bool(struct rb_writer *w, bool v)
{
    rb_write_i8(w, v ? 1 : 0);
}

static void write_uvar(struct rb_writer *w, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    rb_write_raw(w, tmp, (size_t)n);
}

void rb_write_uvarint(struct rb_writer *w, uint32_t v)
{
    write_uvar(w, v);
}

void rb_write_varint(struct rb_writer *w, int32_t v)
{
    write_uvar(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void rb_write_varlong(struct rb_writer *w, int64_t v)
{
    write_uvar(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void rb_write_uuid(struct rb_writer *w, struct rb_uuid u)
{
    rb_write_raw(w, u.b, 16);
}

void rb_write_str(struct rb_writer *w, struct rb_str s, bool compact)
{
    if (s.len < 0) {
        if (compact)
            rb_write_uvarint(w, 0);
        else
            rb_write_i16(w, -1);
        return;
    }
    int32_t n = s.len > INT16_MAX && !compact ? INT16_MAX : s.len;
    if (compact)
        rb_write_uvarint(w, (uint32_t)n + 1);
    else
        rb_write_i16(w, (int16_t)n);
    rb_write_raw(w, s.ptr, (size_t)n);
}

void rb_write_bytes(struct rb_writer *w, struct rb_bytes b, bool compact)
{
    if (b.len < 0) {
        if (compact)
            rb_write_uvarint(w, 0);
        else
            rb_write_i32(w, -1);
        return;
    }
    if (compact)
        rb_write_uvarint(w, (uint32_t)b.len + 1);
    else
        rb_write_i32(w, b.len);
    rb_write_raw(w, b.ptr, (size_t)b.len);
}

void rb_write_array_len(struct rb_writer *w, int32_t n, bool compact)
{
    if (n < 0)
        n = -1;
    if (compact)
        rb_write_uvarint(w, (uint32_t)(n + 1));
    else
        rb_write_i32(w, n);
}

void rb_write_patch_i32(struct rb_writer *w, size_t pos, int32_t v)
{
    if (w->err || pos > w->len || w->len - pos < 4)
        return;
    rb_put_be32(w->buf + pos, (uint32_t)v);
}

/* ---- arena ---- */

struct rb_arena_block {
    struct rb_arena_block *next;
    size_t cap;
    size_t used;
    _Alignas(16) uint8_t data[];
};

void rb_arena_init(struct rb_arena *a, size_t limit_bytes)
{
    a->head = NULL;
    a->used_bytes = 0;
    a->limit_bytes = limit_bytes ? limit_bytes : RB_ARENA_LIMIT_DEFAULT;
}

void *rb_arena_alloc(struct rb_arena *a, size_t n)
{
    size_t need = (n + 7) & ~(size_t)7;
    if (n == 0)
        need = 8;
    if (need < n || need > a->limit_bytes || a->used_bytes > a->limit_bytes - need)
        return NULL;
    struct rb_arena_block *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = need > RB_ARENA_BLOCK_MIN ? need : RB_ARENA_BLOCK_MIN;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used_bytes += need;
    memset(p, 0, need);
    return p;
}

void rb_arena_reset(struct rb_arena *a)
{
    struct rb_arena_block *b = a->head;
    if (!b)
        return;
    /* Keep the oldest block (the last in the list): it is the usual size. */
    while (b->next) {
        struct rb_arena_block *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
    a->used_bytes = 0;
}

void rb_arena_free(struct rb_arena *a)
{
    struct rb_arena_block *b = a->head;
    while (b) {
        struct rb_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_bytes = 0;
}
