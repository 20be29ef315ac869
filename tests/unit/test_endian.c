/*
 * tests/unit/test_endian.c - core/endian.h: byte order, unaligned addresses,
 * and that a store followed by a load gives the value back.
 */
#include "core/endian.h"

#include <criterion/criterion.h>
#include <string.h>

Test(endian, stores_most_significant_byte_first)
{
    uint8_t b[8];
    rb_put_be16(b, 0x0102);
    cr_assert_eq(memcmp(b, "\x01\x02", 2), 0);
    rb_put_be32(b, 0x01020304u);
    cr_assert_eq(memcmp(b, "\x01\x02\x03\x04", 4), 0);
    rb_put_be64(b, 0x0102030405060708ull);
    cr_assert_eq(memcmp(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8), 0);
}

Test(endian, loads_most_significant_byte_first)
{
    const uint8_t b[8] = {0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
    cr_assert_eq(rb_get_be16(b), 0xfedc);
    cr_assert_eq(rb_get_be32(b), 0xfedcba98u);
    cr_assert_eq(rb_get_be64(b), 0xfedcba9876543210ull);
}

Test(endian, unaligned_round_trip_and_neighbours_untouched)
{
    uint8_t b[16];
    memset(b, 0xaa, sizeof(b));
    rb_put_be64(b + 3, 0x8000000000000001ull);
    cr_assert_eq(rb_get_be64(b + 3), 0x8000000000000001ull);
    cr_assert_eq(b[2], 0xaa);
    cr_assert_eq(b[11], 0xaa);
    rb_put_be32(b + 1, 0xffffffffu);
    cr_assert_eq(rb_get_be32(b + 1), 0xffffffffu);
    cr_assert_eq((int16_t)rb_get_be16(b + 1), -1);
}
