/*
 * tests/unit/proto_gen_test_values.h - the test values the generated helpers of
 * tests/unit/proto_gen_test.h draw from (hand-written; the generator only emits
 * calls): tv_*() give the next non-default value of a kind from the counter *c,
 * te_bytes() compares two byte views. Included only by proto_gen_test.h.
 */
#ifndef RB_TESTS_PROTO_GEN_TEST_VALUES_H
#define RB_TESTS_PROTO_GEN_TEST_VALUES_H

#include "net/proto_gen.h"

#include <string.h>

static const char *const tv_strs[] = {"alpha", "bravo", "charlie-topic", "d", "echo.echo"};

static int64_t tv_int(int *c, int64_t def)
{
    int64_t x = 3 + (*c)++ % 100;
    return x == def ? x + 1 : x;
}

static struct rb_str tv_str(int *c)
{
    return rb_str_c(tv_strs[(*c)++ % 5]);
}

static struct rb_bytes tv_bytes(int *c)
{
    const char *s = tv_strs[(*c)++ % 5];
    return (struct rb_bytes){(const uint8_t *)s, (int32_t)strlen(s)};
}

static struct rb_uuid tv_uuid(int *c)
{
    struct rb_uuid u;
    for (int i = 0; i < 16; i++)
        u.b[i] = (uint8_t)(*c + i * 7 + 1);
    (*c)++;
    return u;
}

static bool te_bytes(struct rb_bytes x, struct rb_bytes y)
{
    if (x.len != y.len)
        return false;
    return x.len <= 0 || memcmp(x.ptr, y.ptr, (size_t)x.len) == 0;
}

#endif
