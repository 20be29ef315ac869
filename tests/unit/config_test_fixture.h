/*
 * tests/unit/config_test_fixture.h - helpers shared by the configuration tests
 * (test_config.c, test_config_topic.c, test_config_dynamic.c): a temporary
 * .properties file per load, removed by the suite's fini, quiet logs, and a load
 * that must succeed. Static inline or RB_UNUSED so a test file that uses only part
 * of it still builds under -Werror.
 */
#ifndef RB_TESTS_CONFIG_TEST_FIXTURE_H
#define RB_TESTS_CONFIG_TEST_FIXTURE_H

#include "core/config.h"
#include "core/logging.h"
#include "core/rb.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

RB_UNUSED static char tmp_path[64];

static inline const char *write_props(const char *text)
{
    if (tmp_path[0])
        unlink(tmp_path);
    snprintf(tmp_path, sizeof(tmp_path), "/tmp/rb-test-config-XXXXXX");
    int fd = mkstemp(tmp_path);
    cr_assert(fd >= 0);
    size_t n = strlen(text);
    cr_assert_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
    return tmp_path;
}

static inline void cleanup_props(void)
{
    if (tmp_path[0])
        unlink(tmp_path);
    tmp_path[0] = 0;
}

/* Unknown keys in the syntax tests would log warnings; only one test checks them. */
static inline void quiet_logs(void)
{
    rb_loglevel_max = RB_LL_ERROR;
}

static inline struct rb_config *load_ok(const char *text, char *const *envp, int n, char *const *ov)
{
    struct rb_config *cfg = NULL;
    char err[512];
    int rc = rb_config_load(&cfg, text ? write_props(text) : NULL, envp, n, ov, err, sizeof(err));
    cr_assert_eq(rc, 0, "load failed: %s", err);
    cr_assert_not_null(cfg);
    return cfg;
}

#endif
