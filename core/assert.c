/*
 * core/assert.c - the failure path of RB_ASSERT: print where and abort, so a
 * core dump or sanitizer report points at the broken invariant.
 */
#include "core/rb.h"

#include <stdio.h>
#include <stdlib.h>

void rb_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "ringbroker: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}
