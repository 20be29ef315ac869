/*
 * tests/unit/test_rb.c - core/rb.h's helpers: RB_PARTITION_POINT at the edges
 * (empty, all, none) and in the middle, on const and signed sizes.
 */
#include "core/rb.h"

#include <criterion/criterion.h>

Test(rb, partition_point_finds_the_first_failing_index)
{
    static const int v[] = {1, 3, 3, 5, 8};
    const uint32_t n = RB_ARRAY_LEN(v);
    cr_assert_eq(RB_PARTITION_POINT(n, i, v[i] <= 3), 3u);
    cr_assert_eq(RB_PARTITION_POINT(n, i, v[i] < 3), 1u);
    cr_assert_eq(RB_PARTITION_POINT(n, i, v[i] < 100), n);
    cr_assert_eq(RB_PARTITION_POINT(n, i, v[i] < 0), 0u);
    int none = 0;
    cr_assert_eq(RB_PARTITION_POINT(none, i, v[i] < 100), 0);
}

Test(rb, partition_point_matches_a_linear_scan)
{
    int v[257];
    for (int i = 0; i < 257; i++)
        v[i] = i / 3;
    for (int n = 0; n <= 257; n++)
        for (int key = -1; key <= 90; key++) {
            int want = 0;
            while (want < n && v[want] <= key)
                want++;
            cr_assert_eq(RB_PARTITION_POINT(n, i, v[i] <= key), want, "n %d key %d", n, key);
        }
}
