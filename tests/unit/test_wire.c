/*
 * tests/unit/test_wire.c - core/wire.c: primitives, varint edges, compact vs
 * classic lengths, truncation, lying counts, writer limit, arena limit.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"

static struct rb_reader rd(const void *p, size_t n)
{
    struct rb_reader r;
    rb_reader_init(&r, p, n);
    return r;
}

Test(wire, big_endian_primitives)
{
    static const uint8_t b[] = {0x81, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02,
                                0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xff, 0xfe, 0x02};
    struct rb_reader r = rd(b, sizeof(b));
    cr_expect_eq(rb_read_i8(&r), (int8_t)0x81);
    cr_expect_eq(rb_read_i16(&r), 0x1234);
    cr_expect_eq(rb_read_u32(&r), 0xdeadbeefu);
    cr_expect_eq(rb_read_i64(&r), 0x0102030405060708LL);
    cr_expect_eq(rb_read_u16(&r), 0xfffe);
    cr_expect_eq(rb_read_bool(&r), true);
    cr_expect_eq(r.err, 0);
    cr_expect_eq(rb_reader_left(&r), 0);
    cr_expect_eq(rb_read_i32(&r), 0);
    cr_expect_eq(r.err, -EBADMSG);
}

Test(wire, write_read_all_types)
{
    struct rb_writer w;
    rb_writer_init(&w, 4);
    struct rb_uuid u;
    for (int i = 0; i < 16; i++)
        u.b[i] = (uint8_t)i;
    rb_write_i8(&w, -5);
    rb_write_i16(&w, -300);
    rb_write_i32(&w, -70000);
    rb_write_i64(&w, INT64_MIN);
    rb_write_u16(&w, 65000);
    rb_write_u32(&w, 4000000000u);
    rb_write_f64(&w, 3.25);
    rb_write_bool(&w, true);
    rb_write_uuid(&w, u);
    rb_write_varint(&w, -1);
    rb_write_varlong(&w, INT64_MAX);
    rb_write_uvarint(&w, UINT32_MAX);
    cr_assert_eq(w.err, 0);
    struct rb_reader r = rd(w.buf, w.len);
    cr_expect_eq(rb_read_i8(&r), -5);
    cr_expect_eq(rb_read_i16(&r), -300);
    cr_expect_eq(rb_read_i32(&r), -70000);
    cr_expect_eq(rb_read_i64(&r), INT64_MIN);
    cr_expect_eq(rb_read_u16(&r), 65000);
    cr_expect_eq(rb_read_u32(&r), 4000000000u);
    cr_expect_eq(rb_read_f64(&r), 3.25);
    cr_expect_eq(rb_read_bool(&r), true);
    struct rb_uuid u2 = rb_read_uuid(&r);
    cr_expect(memcmp(u.b, u2.b, 16) == 0);
    cr_expect_eq(rb_read_varint(&r), -1);
    cr_expect_eq(rb_read_varlong(&r), INT64_MAX);
    cr_expect_eq(rb_read_uvarint(&r), UINT32_MAX);
    cr_expect_eq(r.err, 0);
    cr_expect_eq(rb_reader_left(&r), 0);
    rb_writer_free(&w);
}

Test(wire, varint_encodings)
{
    struct rb_writer w;
    rb_writer_init(&w, 0);
    rb_write_uvarint(&w, 0);
    rb_write_uvarint(&w, 127);
    rb_write_uvarint(&w, 128);
    rb_write_varint(&w, -1); /* zigzag 1 */
    rb_write_varint(&w, 1);  /* zigzag 2 */
    rb_write_varint(&w, INT32_MIN);
    static const uint8_t want[] = {0x00, 0x7f, 0x80, 0x01, 0x01, 0x02,
                                   0xff, 0xff, 0xff, 0xff, 0x0f};
    cr_assert_eq(w.len, sizeof(want));
    cr_expect(memcmp(w.buf, want, sizeof(want)) == 0);
    struct rb_reader r = rd(w.buf, w.len);
    cr_expect_eq(rb_read_uvarint(&r), 0u);
    cr_expect_eq(rb_read_uvarint(&r), 127u);
    cr_expect_eq(rb_read_uvarint(&r), 128u);
    cr_expect_eq(rb_read_varint(&r), -1);
    cr_expect_eq(rb_read_varint(&r), 1);
    cr_expect_eq(rb_read_varint(&r), INT32_MIN);
    cr_expect_eq(r.err, 0);
    rb_writer_free(&w);
}

Test(wire, varint_too_long_or_truncated)
{
    static const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    struct rb_reader r = rd(six, sizeof(six));
    rb_read_uvarint(&r);
    cr_expect_eq(r.err, -EBADMSG, "6-byte varint");
    static const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0x1f}; /* > 32 bits */
    r = rd(over, sizeof(over));
    rb_read_uvarint(&r);
    cr_expect_eq(r.err, -EBADMSG, "varint over 32 bits");
    static const uint8_t cut[] = {0x80, 0x80};
    r = rd(cut, sizeof(cut));
    rb_read_varint(&r);
    cr_expect_eq(r.err, -EBADMSG, "truncated varint");
    uint8_t eleven[11];
    memset(eleven, 0x80, 10);
    eleven[10] = 0;
    r = rd(eleven, sizeof(eleven));
    rb_read_varlong(&r);
    cr_expect_eq(r.err, -EBADMSG, "11-byte varlong");
    static const uint8_t ten_bad[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    r = rd(ten_bad, sizeof(ten_bad));
    rb_read_varlong(&r);
    cr_expect_eq(r.err, -EBADMSG, "varlong over 64 bits");
    static const uint8_t ten_ok[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    r = rd(ten_ok, sizeof(ten_ok));
    cr_expect_eq(rb_read_varlong(&r), INT64_MAX);
    cr_expect_eq(r.err, 0);
}

Test(wire, strings_classic_and_compact)
{
    struct rb_writer w;
    rb_writer_init(&w, 0);
    rb_write_str(&w, rb_str_c("abc"), false);
    rb_write_str(&w, RB_STR_NULL, false);
    rb_write_str(&w, rb_str_c("abc"), true);
    rb_write_str(&w, RB_STR_NULL, true);
    rb_write_str(&w, rb_str_c(""), true);
    static const uint8_t want[] = {0x00, 0x03, 'a', 'b', 'c',  0xff, 0xff,
                                   0x04, 'a',  'b', 'c', 0x00, 0x01};
    cr_assert_eq(w.len, sizeof(want));
    cr_expect(memcmp(w.buf, want, sizeof(want)) == 0);
    struct rb_reader r = rd(w.buf, w.len);
    cr_expect(rb_str_eq(rb_read_str(&r, false), "abc"));
    cr_expect_eq(rb_read_str(&r, false).len, -1);
    cr_expect(rb_str_eq(rb_read_str(&r, true), "abc"));
    cr_expect_eq(rb_read_str(&r, true).len, -1);
    struct rb_str e = rb_read_str(&r, true);
    cr_expect_eq(e.len, 0);
    cr_expect(rb_str_eq(e, ""));
    cr_expect_eq(r.err, 0);
    cr_expect(rb_str_eq2(RB_STR_NULL, RB_STR_NULL));
    cr_expect(!rb_str_eq2(RB_STR_NULL, rb_str_c("")));
    rb_writer_free(&w);
}

Test(wire, bytes_classic_and_compact)
{
    struct rb_writer w;
    rb_writer_init(&w, 0);
    static const uint8_t d[] = {1, 2, 3};
    rb_write_bytes(&w, (struct rb_bytes){d, 3}, false);
    rb_write_bytes(&w, RB_BYTES_NULL, false);
    rb_write_bytes(&w, (struct rb_bytes){d, 3}, true);
    static const uint8_t want[] = {0, 0, 0, 3, 1, 2, 3, 0xff, 0xff, 0xff, 0xff, 4, 1, 2, 3};
    cr_assert_eq(w.len, sizeof(want));
    cr_expect(memcmp(w.buf, want, sizeof(want)) == 0);
    struct rb_reader r = rd(w.buf, w.len);
    struct rb_bytes b = rb_read_bytes(&r, false);
    cr_expect_eq(b.len, 3);
    cr_expect_eq(b.ptr, w.buf + 4, "a view, not a copy");
    cr_expect_eq(rb_read_bytes(&r, false).len, -1);
    cr_expect_eq(rb_read_bytes(&r, true).len, 3);
    cr_expect_eq(r.err, 0);
    rb_writer_free(&w);
}

Test(wire, lengths_that_lie)
{
    static const uint8_t s[] = {0x00, 0x05, 'a', 'b'};
    struct rb_reader r = rd(s, sizeof(s));
    rb_read_str(&r, false);
    cr_expect_eq(r.err, -EBADMSG, "string longer than the buffer");
    static const uint8_t neg[] = {0xff, 0xfe};
    r = rd(neg, sizeof(neg));
    rb_read_str(&r, false);
    cr_expect_eq(r.err, -EBADMSG, "length -2");
    static const uint8_t cb[] = {0x0a, 'x'};
    r = rd(cb, sizeof(cb));
    rb_read_bytes(&r, true);
    cr_expect_eq(r.err, -EBADMSG, "compact bytes longer than the buffer");
    static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0};
    r = rd(huge, sizeof(huge));
    cr_expect_eq(rb_read_array_len(&r, false), 0);
    cr_expect_eq(r.err, -EBADMSG, "array count > bytes left");
    static const uint8_t chuge[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    r = rd(chuge, sizeof(chuge));
    rb_read_array_len(&r, true);
    cr_expect_eq(r.err, -EBADMSG, "compact array count > bytes left");
    static const uint8_t ok[] = {0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb};
    r = rd(ok, sizeof(ok));
    cr_expect_eq(rb_read_array_len(&r, false), 2);
    static const uint8_t nul[] = {0x00};
    r = rd(nul, 1);
    cr_expect_eq(rb_read_array_len(&r, true), -1);
    cr_expect_eq(r.err, 0);
}

Test(wire, error_is_sticky)
{
    static const uint8_t b[] = {0x00, 0x01, 0x02};
    struct rb_reader r = rd(b, sizeof(b));
    rb_read_i32(&r);
    cr_expect_eq(r.err, -EBADMSG);
    cr_expect_eq(rb_read_i8(&r), 0, "later reads return zero");
    cr_expect_eq(rb_read_str(&r, false).len, 0);
    cr_expect_eq(r.err, -EBADMSG);
}

Test(wire, skip_tagged_fields)
{
    static const uint8_t b[] = {0x02, 0x00, 0x01, 0xaa, 0x05, 0x02, 0xbb, 0xcc, 0x77};
    struct rb_reader r = rd(b, sizeof(b));
    rb_skip_tagged_fields(&r);
    cr_expect_eq(r.err, 0);
    cr_expect_eq(rb_read_i8(&r), 0x77);
    static const uint8_t bad[] = {0x01, 0x00, 0x09, 0xaa};
    r = rd(bad, sizeof(bad));
    rb_skip_tagged_fields(&r);
    cr_expect_eq(r.err, -EBADMSG, "tag size past the end");
}

Test(wire, writer_limit_and_patch)
{
    struct rb_writer w;
    rb_writer_init(&w, 2);
    w.max = 6;
    rb_write_i32(&w, 0);
    rb_write_i16(&w, 7);
    cr_expect_eq(w.err, 0);
    rb_write_patch_i32(&w, 0, 0x01020304);
    cr_expect_eq(w.buf[0], 1);
    cr_expect_eq(w.buf[3], 4);
    rb_write_i8(&w, 1);
    cr_expect_eq(w.err, -ENOMEM);
    cr_expect_eq(w.len, 6);
    rb_write_i8(&w, 1);
    cr_expect_eq(w.len, 6, "dropped after overflow");
    rb_writer_free(&w);
}

Test(wire, arena_limit_alignment_reset)
{
    struct rb_arena a;
    rb_arena_init(&a, 1024);
    uint8_t *p = rb_arena_alloc(&a, 3);
    uint8_t *q = rb_arena_alloc(&a, 5);
    cr_assert_not_null(p);
    cr_assert_not_null(q);
    cr_expect_eq((uintptr_t)q % 8, 0);
    cr_expect_eq(q[4], 0, "zeroed");
    cr_expect_null(rb_arena_alloc(&a, 2000), "over the limit");
    cr_expect_null(rb_arena_alloc(&a, SIZE_MAX), "size overflow");
    cr_expect_not_null(rb_arena_alloc(&a, 1000));
    cr_expect_null(rb_arena_alloc(&a, 16), "1016 + 16 > 1024");
    rb_arena_reset(&a);
    cr_expect_eq(a.used_bytes, 0);
    cr_expect_not_null(rb_arena_alloc(&a, 1000));
    rb_arena_free(&a);
    rb_arena_init(&a, 0);
    cr_expect_not_null(rb_arena_alloc(&a, 1 << 20), "big blocks beyond the block size");
    rb_arena_free(&a);
}
