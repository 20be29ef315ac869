/*
 * core/logging.c - stderr log lines, one write(2) each (see core/logging.h).
 * Fault model: a failed write to stderr is ignored; logging never stops the broker.
 */
#include "core/logging.h"
#include "core/rb.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum rb_loglevel rb_loglevel_max = RB_LL_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

int rb_loglevel_parse(const char *s, enum rb_loglevel *out)
{
    for (size_t i = 0; i < RB_ARRAY_LEN(level_names); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum rb_loglevel)i;
            return 0;
        }
    }
    return -EINVAL;
}

void rb_vlogf(enum rb_loglevel lvl, const char *component, const char *fmt, va_list ap)
{
    if (lvl > rb_loglevel_max)
        return;
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof(line), "[%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ",%03d] %s ", (int)(tv.tv_usec / 1000),
                          level_names[lvl]);
    int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (m > 0)
        n = RB_MIN(n + (size_t)m, sizeof(line) - 1);
    if (component && n < sizeof(line) - 1)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " (%s)", component);
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w RB_UNUSED = write(STDERR_FILENO, line, n);
}

void rb_logf(enum rb_loglevel lvl, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rb_vlogf(lvl, component, fmt, ap);
    va_end(ap);
}
