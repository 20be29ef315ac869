/*
 * core/wire.h - Kafka's primitive encodings (big-endian integers, varints,
 * strings, bytes, uuids): a bounds-checked reader, a growable writer, a
 * per-request arena, and the string/bytes/uuid views. They are the vocabulary of
 * both the wire protocol (net/proto_gen.h's generated codecs) and of records kept
 * in logs (coord/offsets_log.c's group records), so they live in core/, below
 * both; core/ still knows no request or API.
 *
 * Reader: every length read from the wire is checked against the bytes remaining
 * before anything is allocated or copied; the first error sticks in r->err
 * (-EBADMSG) and every later read returns zeros, so decoders check once at the end.
 * Views (rb_str, rb_bytes) point into the frame being decoded: valid as long as
 * the frame buffer is.
 * Writer: appends big-endian values into a buffer grown with realloc up to
 * w->max bytes; overflow sets w->err = -ENOMEM and further writes are dropped.
 * Arena: bump allocator for decoded structs and arrays; freed all at once.
 */
#ifndef RB_CORE_WIRE_H
#define RB_CORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rb_str {
    const char *ptr;
    int32_t len; /* < 0: null */
};

struct rb_bytes {
    const uint8_t *ptr;
    int32_t len; /* < 0: null */
};

struct rb_uuid {
    uint8_t b[16];
};

#define RB_STR_NULL   ((struct rb_str){NULL, -1})
#define RB_BYTES_NULL ((struct rb_bytes){NULL, -1})
static inline struct rb_str rb_str_c(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return (struct rb_str){s, (int32_t)n};
}
bool rb_str_eq(struct rb_str a, const char *c);
bool rb_str_eq2(struct rb_str a, struct rb_str b);

struct rb_reader {
    const uint8_t *p;
    const uint8_t *end;
    int err;
    /* Bytes left after a complete message body are an error unless this is set.
     * The broker sets it for request bodies, as Kafka ignores such bytes (librdkafka
     * 2.0.2 sends some after ListGroups v4 and OffsetFetch v7). */
    bool allow_trailing;
};

static inline void rb_reader_init(struct rb_reader *r, const void *buf, size_t len)
{
    r->p = buf;
    r->end = (const uint8_t *)buf + len;
    r->err = 0;
    r->allow_trailing = false;
}
static inline size_t rb_reader_left(const struct rb_reader *r)
{
    return (size_t)(r->end - r->p);
}

int8_t rb_read_i8(struct rb_reader *r);
int16_t rb_read_i16(struct rb_reader *r);
int32_t rb_read_i32(struct rb_reader *r);
int64_t rb_read_i64(struct rb_reader *r);
uint32_t rb_read_u32(struct rb_reader *r);
uint16_t rb_read_u16(struct rb_reader *r);
double rb_read_f64(struct rb_reader *r);
bool rb_read_bool(struct rb_reader *r);
uint32_t rb_read_uvarint(struct rb_reader *r);
int32_t rb_read_varint(struct rb_reader *r);
int64_t rb_read_varlong(struct rb_reader *r);
struct rb_uuid rb_read_uuid(struct rb_reader *r);
/* Strings and bytes: compact = unsigned varint length + 1 (0 = null); classic =
 * int16 (strings) / int32 (bytes) length, -1 = null. */
struct rb_str rb_read_str(struct rb_reader *r, bool compact);
struct rb_bytes rb_read_bytes(struct rb_reader *r, bool compact);
/* Array length: compact = uvarint - 1, classic = int32; -1 = null. A count larger
 * than the bytes remaining (each element needs at least one byte) is an error. */
int32_t rb_read_array_len(struct rb_reader *r, bool compact);
/* Skip a tagged-field section (flexible versions), keeping nothing. */
void rb_skip_tagged_fields(struct rb_reader *r);
void rb_read_skip(struct rb_reader *r, size_t n);

struct rb_writer {
    uint8_t *buf;
    size_t len;
    size_t cap;
    size_t max; /* hard limit; 0 = 1 GiB */
    int err;
    /* Deferred bytes (fetch data that goes out from files, net/fetch_out.c): a
     * rb_write_raw whose source lies in [defer_lo, defer_hi) copies nothing; it
     * calls defer_fn, which notes that those n bytes belong at w->len. */
    const uint8_t *defer_lo, *defer_hi;
    void (*defer_fn)(struct rb_writer *w, const uint8_t *p, size_t n, void *arg);
    void *defer_arg;
};

void rb_writer_init(struct rb_writer *w, size_t initial_cap);
void rb_writer_free(struct rb_writer *w);
/* Reserve n bytes at the end and return a pointer to them (NULL on overflow). */
uint8_t *rb_write_reserve(struct rb_writer *w, size_t n);
void rb_write_raw(struct rb_writer *w, const void *p, size_t n);
void rb_write_i8(struct rb_writer *w, int8_t v);
void rb_write_i16(struct rb_writer *w, int16_t v);
void rb_write_i32(struct rb_writer *w, int32_t v);
void rb_write_i64(struct rb_writer *w, int64_t v);
void rb_write_u32(struct rb_writer *w, uint32_t v);
void rb_write_u16(struct rb_writer *w, uint16_t v);
void rb_write_f64(struct rb_writer *w, double v);
void rb_write_bool(struct rb_writer *w, bool v);
void rb_write_uvarint(struct rb_writer *w, uint32_t v);
void rb_write_varint(struct rb_writer *w, int32_t v);
void rb_write_varlong(struct rb_writer *w, int64_t v);
void rb_write_uuid(struct rb_writer *w, struct rb_uuid u);
void rb_write_str(struct rb_writer *w, struct rb_str s, bool compact);
void rb_write_bytes(struct rb_writer *w, struct rb_bytes b, bool compact);
void rb_write_array_len(struct rb_writer *w, int32_t n, bool compact);
/* Patch a big-endian int32 at byte position pos (e.g. a frame size). */
void rb_write_patch_i32(struct rb_writer *w, size_t pos, int32_t v);

struct rb_arena_block;
struct rb_arena {
    struct rb_arena_block *head;
    size_t used_bytes;  /* total handed out */
    size_t limit_bytes; /* allocation fails (NULL) past this; 0 = 64 MiB */
};

void rb_arena_init(struct rb_arena *a, size_t limit_bytes);
/* Zeroed, 8-byte aligned memory; NULL when the limit is reached. */
void *rb_arena_alloc(struct rb_arena *a, size_t n);
/* Free everything but keep the first block for reuse. */
void rb_arena_reset(struct rb_arena *a);
void rb_arena_free(struct rb_arena *a);

#endif
