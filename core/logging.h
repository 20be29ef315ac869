/*
 * core/logging.h - log lines on stderr in Kafka's shape:
 *   [2026-11-25 09:30:00,123] INFO message (component)
 * One write(2) per line so lines from different threads never interleave.
 * Logging is for events (startup, topic creation, faults), never per message.
 */
#ifndef RB_CORE_LOGGING_H
#define RB_CORE_LOGGING_H

#include <stdarg.h>

enum rb_loglevel { RB_LL_ERROR = 0, RB_LL_WARN, RB_LL_INFO, RB_LL_DEBUG, RB_LL_TRACE };

/* Lines above this level are dropped. Set once at startup (log.level / RINGBROKER_LOG_LEVEL). */
extern enum rb_loglevel rb_loglevel_max;

/* Parse "error|warn|info|debug|trace"; returns 0 or -EINVAL. */
int rb_loglevel_parse(const char *s, enum rb_loglevel *out);

__attribute__((format(printf, 3, 4))) void rb_logf(enum rb_loglevel lvl, const char *component,
                                                   const char *fmt, ...);
void rb_vlogf(enum rb_loglevel lvl, const char *component, const char *fmt, va_list ap);

#define RB_ERROR(comp, ...) rb_logf(RB_LL_ERROR, comp, __VA_ARGS__)
#define RB_WARN(comp, ...)  rb_logf(RB_LL_WARN, comp, __VA_ARGS__)
#define RB_INFO(comp, ...)  rb_logf(RB_LL_INFO, comp, __VA_ARGS__)
#define RB_DEBUG(comp, ...)                                                                        \
    do {                                                                                           \
        if (rb_loglevel_max >= RB_LL_DEBUG)                                                        \
            rb_logf(RB_LL_DEBUG, comp, __VA_ARGS__);                                               \
    } while (0)

#endif
