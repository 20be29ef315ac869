/*
 * core/rb.h - conventions every ringbroker file shares.
 *
 * Return convention (the one rule): commands return 0 on success or a negative
 * errno value (-ENOMEM, -EINVAL, ...); predicates return bool; functions that
 * produce a count return it as a non-negative value or -errno. Kafka error
 * codes are a separate type (int16_t, see net/) used only at the protocol
 * boundary.
 *
 * RB_ASSERT stays on in release builds: it catches our own bugs. Input from
 * the network or the disk must never reach an assertion; it gets a Kafka error
 * code or is reported and quarantined.
 */
#ifndef RB_CORE_RB_H
#define RB_CORE_RB_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RB_LIKELY(x)                       __builtin_expect(!!(x), 1)
#define RB_UNLIKELY(x)                     __builtin_expect(!!(x), 0)
#define RB_ARRAY_LEN(a)                    (sizeof(a) / sizeof((a)[0]))
#define RB_MIN(a, b)                       ((a) < (b) ? (a) : (b))
#define RB_MAX(a, b)                       ((a) > (b) ? (a) : (b))
#define RB_ALIGN_UP(x, a)                  (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define RB_ALIGN_DOWN(x, a)                ((x) & ~((__typeof__(x))(a)-1))
#define RB_UNUSED                          __attribute__((unused))
#define RB_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Binary search over [0, n): the number of leading indexes i for which pred (an
 * expression of i) holds, pred being true then false along the range (the first
 * index where it fails, or n). i is declared by the macro, of n's type. */
#define RB_PARTITION_POINT(n, i, pred)                                                             \
    ({                                                                                             \
        __typeof__((n) + 0) lo_ = 0, hi_ = (n);                                                    \
        while (lo_ < hi_) {                                                                        \
            __typeof__((n) + 0) i = lo_ + (hi_ - lo_) / 2;                                         \
            if (pred)                                                                              \
                lo_ = i + 1;                                                                       \
            else                                                                                   \
                hi_ = i;                                                                           \
        }                                                                                          \
        lo_;                                                                                       \
    })

__attribute__((noreturn, cold)) void rb_assert_fail(const char *expr, const char *file, int line);

#define RB_ASSERT(expr)                                                                            \
    do {                                                                                           \
        if (RB_UNLIKELY(!(expr)))                                                                  \
            rb_assert_fail(#expr, __FILE__, __LINE__);                                             \
    } while (0)

/* Disk and wire I/O is done in 4 KiB units under O_DIRECT. */
#define RB_BLOCK_BYTES 4096u

#endif
