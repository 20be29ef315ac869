/*
 * tests/unit/test_logging.c - core/logging.c: level names and Kafka-shaped lines
 * (one line per call, level filter, truncation of long messages).
 */
#include "core/logging.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

Test(logging, parse_levels)
{
    enum rb_loglevel l;
    cr_assert_eq(rb_loglevel_parse("info", &l), 0);
    cr_assert_eq(l, RB_LL_INFO);
    cr_assert_eq(rb_loglevel_parse("DEBUG", &l), 0);
    cr_assert_eq(l, RB_LL_DEBUG);
    cr_assert_eq(rb_loglevel_parse("Error", &l), 0);
    cr_assert_eq(l, RB_LL_ERROR);
    cr_assert_eq(rb_loglevel_parse("verbose", &l), -EINVAL);
    cr_assert_eq(rb_loglevel_parse("", &l), -EINVAL);
}

/* Capture what rb_logf writes to stderr. */
static size_t capture(char *buf, size_t cap, void (*fn)(void))
{
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    int saved = dup(STDERR_FILENO);
    dup2(pfd[1], STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(pfd[1]);
    ssize_t n = read(pfd[0], buf, cap - 1);
    close(pfd[0]);
    buf[n > 0 ? n : 0] = 0;
    return n > 0 ? (size_t)n : 0;
}

static void log_two(void)
{
    rb_loglevel_max = RB_LL_INFO;
    RB_INFO("unit", "hello %d", 42);
    RB_DEBUG("unit", "not shown");
    RB_WARN("unit", "careful");
}

Test(logging, kafka_line_shape_and_filter)
{
    char out[4096];
    capture(out, sizeof(out), log_two);
    cr_assert(strstr(out, "] INFO hello 42 (unit)\n"), "got: %s", out);
    cr_assert(strstr(out, "] WARN careful (unit)\n"), "got: %s", out);
    cr_assert_null(strstr(out, "not shown"));
    cr_assert_eq(out[0], '[');
    cr_assert_eq(out[24], ']', "timestamp [YYYY-MM-DD HH:MM:SS,mmm]: %s", out);
}

static void log_long(void)
{
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    rb_loglevel_max = RB_LL_INFO;
    RB_ERROR("unit", "%s", big);
}

Test(logging, long_message_is_one_truncated_line)
{
    char out[8192];
    size_t n = capture(out, sizeof(out), log_long);
    cr_assert(n > 1000 && n <= 2048, "n=%zu", n);
    cr_assert_eq(out[n - 1], '\n');
    cr_assert_null(memchr(out, '\n', n - 1));
}
